/**
 * Reading a stage's own counters (`Stage.counters()`) for diagnostics: only entries that keep
 * `StageCounter`'s rules get through, so a buggy stage cannot break a metrics collection or
 * flood it with series.
 */
import type { Stage, StageCounter } from '@nv/perception';

const NAME = /^[a-z][a-z0-9_.]{0,63}$/;
const LABEL_KEY = /^[a-z][a-z0-9_]{0,63}$/;
/** Label keys the exporter sets itself: a stage may not override them. */
const RESERVED = new Set(['feed_id', 'feed_name', 'stage_id', 'processor_id', 'counter']);
/** At most this many entries per stage per read. */
export const MAX_STAGE_COUNTERS = 256;

function valid(c: unknown): c is StageCounter {
  if (typeof c !== 'object' || c === null) return false;
  const { name, kind, value, labels } = c as Partial<StageCounter>;
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
 * The valid counters a stage reports now: plain frozen copies, at most
 * {@link MAX_STAGE_COUNTERS}; empty when it has no `counters()` or it throws.
 * @param stage - the stage
 * @returns the entries that keep the rules, in the stage's order
 */
export function stageCounters(stage: Stage): readonly StageCounter[] {
  if (typeof stage.counters !== 'function') return [];
  let list: unknown;
  try { list = stage.counters(); } catch { return []; }
  if (!Array.isArray(list)) return [];
  const out: StageCounter[] = [];
  for (const c of list as unknown[]) {
    if (out.length >= MAX_STAGE_COUNTERS) break;
    if (!valid(c)) continue;
    out.push(Object.freeze({ name: c.name, kind: c.kind, value: c.value, ...(c.labels ? { labels: Object.freeze({ ...c.labels }) } : {}) }));
  }
  return Object.freeze(out);
}
