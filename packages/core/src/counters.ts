/**
 * Counter samples a component reports about its own work (a stage's `counters()`, a process's
 * event sinks), and the rules that keep them safe to export: a bad entry is left out, never
 * thrown, so a buggy reporter cannot break a metrics collection or flood it with series.
 */

/** One number a component reports (see `Stage.counters()` in `@nv/perception`). */
export interface CounterSample {
  /** Lower-case dotted name, e.g. `analytics.zone.entered` (`[a-z][a-z0-9_.]*`, at most 64 characters). */
  readonly name: string;
  /** `counter`: a cumulative total that never goes down; `gauge`: a level. */
  readonly kind: 'counter' | 'gauge';
  /** Extra attributes: at most 4, keys `[a-z][a-z0-9_]*` (not `feed_id`, `feed_name`, `stage_id`, `processor_id`, `counter`), string values ≤ 128 characters. */
  readonly labels?: Readonly<Record<string, string>>;
  /** A finite number (≥ 0 for a counter). */
  readonly value: number;
}

const NAME = /^[a-z][a-z0-9_.]{0,63}$/;
const LABEL_KEY = /^[a-z][a-z0-9_]{0,63}$/;
const RESERVED = new Set(['feed_id', 'feed_name', 'stage_id', 'processor_id', 'counter']);
/** At most this many samples are taken from one report. */
export const MAX_COUNTER_SAMPLES = 256;

function valid(c: unknown): c is CounterSample {
  if (typeof c !== 'object' || c === null) return false;
  const { name, kind, value, labels } = c as Partial<CounterSample>;
  if (typeof name !== 'string' || !NAME.test(name)) return false;
  if (kind !== 'counter' && kind !== 'gauge') return false;
  if (typeof value !== 'number' || !Number.isFinite(value) || (kind === 'counter' && value < 0)) return false;
  if (labels === undefined) return true;
  if (typeof labels !== 'object' || labels === null) return false;
  const keys = Object.keys(labels);
  if (keys.length > 4) return false;
  for (const k of keys) {
    const v = (labels as Record<string, unknown>)[k];
    if (!LABEL_KEY.test(k) || RESERVED.has(k) || typeof v !== 'string' || v.length > 128) return false;
  }
  return true;
}

/**
 * The samples of a report that keep the rules, as frozen copies, at most
 * {@link MAX_COUNTER_SAMPLES}; empty when `read` throws or returns something else than an array.
 * @param read - returns the report (e.g. `() => stage.counters()`)
 * @returns the valid samples, in the reporter's order
 * @example
 * ```ts
 * validCounterSamples(() => [{ name: 'sink.messages.dropped', kind: 'counter', labels: { sink: 'mqtt' }, value: 3 }, { name: 'Bad', kind: 'gauge', value: 1 }])
 * // [{ name: 'sink.messages.dropped', … }]
 * ```
 */
export function validCounterSamples(read: () => unknown): readonly CounterSample[] {
  let list: unknown;
  try { list = read(); } catch { return []; }
  if (!Array.isArray(list)) return [];
  const out: CounterSample[] = [];
  for (const c of list as unknown[]) {
    if (out.length >= MAX_COUNTER_SAMPLES) break;
    if (!valid(c)) continue;
    out.push(Object.freeze({ name: c.name, kind: c.kind, value: c.value, ...(c.labels ? { labels: Object.freeze({ ...c.labels }) } : {}) }));
  }
  return Object.freeze(out);
}
