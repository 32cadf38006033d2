/**
 * The job's event and output sinks (`--mqtt`, `--nats`, `--webhook`, `sinks:` in a config):
 * each feed's analytics events (and, if asked, its outputs) as messages, published without ever
 * waiting (every sink has a bounded queue; drops are counted and reported).
 */
import { ANALYTICS_EVENTS, eventToJson } from '@nv/analytics';
import type { CounterSample } from '@nv/core';
import type { OutputEnvelope } from '@nv/runtime';
import { createSink, messageId, type MessageSink, type MessageSinkStats, type SinkHealthEvent, type SinkMessage } from '@nv/sinks';
import { outputToJson } from './jsonl.js';

/** What a sink publishes. */
export type PublishWhat = 'events' | 'outputs' | 'both';

/** One sink of a job. */
export interface SinkPlan {
  /** `mqtt://…/topic`, `mqtts://…`, `nats://…/subject`, `http(s)://…` (webhook), a `.jsonl` path. */
  readonly url: string;
  /** `events` (default): one message per analytics event; `outputs`: one per frame's output; `both`. */
  readonly publish?: PublishWhat | undefined;
  /** The sink's queue bound (default 1000 messages). */
  readonly queueSize?: number | undefined;
}

/** A token of a subject (MQTT topic level, NATS token): the feed's name, made safe. */
function feedToken(o: OutputEnvelope): string {
  const name = o.feedName !== undefined ? o.feedName.replace(/[^A-Za-z0-9_-]/g, '_') : '';
  return name !== '' ? name : `feed${o.feedId}`;
}

/**
 * This process's run: part of every message id, so a second run over the same file (seq from 0
 * again) is not taken for duplicates by JetStream's dedupe window or a webhook's idempotency keys.
 */
const RUN = `${Date.now().toString(36)}${process.pid.toString(36)}`;

/**
 * The messages of one output: one per analytics event (subject `<feed>.events.<type>`, id
 * `<run>-<feed id>:<seq>:<n>`, payload the event's JSON line with `feedName`) and, for
 * `outputs`, the output's JSON line (subject `<feed>.outputs`, id `<run>-<feed id>:<seq>:out`).
 * Ids are the same for the same message on every retry, and unique across feeds and runs.
 * @param o - a feed's output
 * @param what - events, outputs or both
 * @param classNames - the detector's class names (for output lines)
 * @param extra - fields added to every payload (`nv node`: the feed's `fence`)
 * @returns the messages (possibly none)
 */
export function messagesOf(o: OutputEnvelope, what: PublishWhat, classNames?: readonly string[], extra?: Record<string, unknown>): SinkMessage[] {
  const token = feedToken(o);
  const key = `${RUN}-${o.feedId}`;
  const out: SinkMessage[] = [];
  if (what !== 'outputs') {
    const events = o.artifacts.stageArtifacts.get(ANALYTICS_EVENTS) ?? [];
    events.forEach((e, i) => {
      out.push({
        id: messageId(key, o.seq, i), subject: `${token}.events.${e.type}`,
        payload: { ...eventToJson(e), ...(o.feedName !== undefined ? { feedName: o.feedName } : {}), ...extra },
      });
    });
  }
  if (what !== 'events') out.push({ id: `${key}:${o.seq}:out`, subject: `${token}.outputs`, payload: { ...outputToJson(o, classNames), ...extra } });
  return out;
}

/** The job's sinks. */
export class Publisher {
  readonly #sinks: { readonly sink: MessageSink; readonly what: PublishWhat }[] = [];
  readonly #decorate: ((o: OutputEnvelope) => Record<string, unknown> | undefined) | undefined;

  /**
   * Opens every sink (each connects in the background; nothing waits for a broker).
   * @param plans - the sinks
   * @param onHealth - a sink's health events (disconnected, reconnected, drops, failed deliveries)
   * @param decorate - fields added to every message of an output (`nv node`: the feed's `fence`)
   * @throws {ConfigError} a bad URL or option, naming the flag or field
   */
  constructor(plans: readonly (SinkPlan & { readonly field: string })[], onHealth: (e: SinkHealthEvent) => void, decorate?: (o: OutputEnvelope) => Record<string, unknown> | undefined) {
    this.#decorate = decorate;
    try {
      for (const p of plans) {
        this.#sinks.push({ sink: createSink(p.url, { field: p.field, onHealth, ...(p.queueSize !== undefined ? { queueSize: p.queueSize } : {}) }), what: p.publish ?? 'events' });
      }
    } catch (e) {
      for (const s of this.#sinks) void s.sink.close({ timeoutMs: 0 });
      throw e;
    }
  }

  /** Whether there is any sink. */
  get active(): boolean { return this.#sinks.length > 0; }

  /**
   * Publishes what each sink takes of an output. Never waits: each sink queues (bounded) or
   * drops and counts.
   * @param o - the output
   * @param classNames - the detector's class names
   */
  publish(o: OutputEnvelope, classNames?: readonly string[]): void {
    const extra = this.#decorate?.(o);
    for (const { sink, what } of this.#sinks) for (const m of messagesOf(o, what, classNames, extra)) sink.publish(m);
  }

  /** Every sink's counters. */
  stats(): MessageSinkStats[] { return this.#sinks.map((s) => s.sink.stats()); }

  /**
   * The sinks' counters for `@nv/metrics` (`nv.component.counter` / `nv.component.gauge`):
   * `sink.messages.delivered`, `sink.messages.dropped` (label `reason`), `sink.retries`,
   * `sink.reconnects` (counters), `sink.queue.depth`, `sink.connected` (gauges); each with
   * `sink` (its name) and `target` (its URL, credentials redacted).
   * @returns a new list
   */
  counters(): CounterSample[] {
    const out: CounterSample[] = [];
    for (const st of this.stats()) {
      const l = { sink: st.name.slice(0, 128), target: st.target.slice(0, 128) };
      out.push(
        { name: 'sink.messages.delivered', kind: 'counter', labels: l, value: st.delivered },
        ...(['overflow', 'failed', 'shutdown', 'rejected'] as const).map((reason): CounterSample => ({ name: 'sink.messages.dropped', kind: 'counter', labels: { ...l, reason }, value: st.dropped[reason] })),
        { name: 'sink.retries', kind: 'counter', labels: l, value: st.retries },
        { name: 'sink.reconnects', kind: 'counter', labels: l, value: st.reconnects },
        { name: 'sink.queue.depth', kind: 'gauge', labels: l, value: st.queued },
        { name: 'sink.connected', kind: 'gauge', labels: l, value: st.connected ? 1 : 0 },
      );
    }
    return out;
  }

  /**
   * Delivers what is queued (each sink within `timeoutMs`), then disconnects.
   * @param timeoutMs - per sink
   * @returns the final counters
   */
  async close(timeoutMs = 5000): Promise<MessageSinkStats[]> {
    await Promise.all(this.#sinks.map((s) => s.sink.close({ timeoutMs })));
    return this.stats();
  }
}

/**
 * One line for a sink's health event (credentials are already redacted by the sink).
 * @param e - the event
 * @returns e.g. `sink mqtt (mqtt://***@broker/nv): disconnected: connect ECONNREFUSED`
 */
export function sinkEventLine(e: SinkHealthEvent): string {
  const who = `sink ${e.sink} (${e.target})`;
  switch (e.type) {
    case 'SinkDisconnected': return `${who}: disconnected${e.error ? `: ${e.error.message}` : ''}; messages wait in its queue`;
    case 'SinkReconnected': return `${who}: reconnected after ${(e.downMs / 1000).toFixed(1)} s`;
    case 'SinkDropped': return `${who}: dropped ${e.count} message${e.count === 1 ? '' : 's'} (${e.reason})`;
    case 'SinkDeliveryFailed': return `${who}: message ${e.id} failed after ${e.attempts} attempt${e.attempts === 1 ? '' : 's'}: ${e.error.message}`;
  }
}


/**
 * A `nats://` sink URL split into the server to connect to (credentials kept, query dropped)
 * and the base subject (its path with dots, `''` when none).
 * @param url - e.g. `nats://nv:pw@host:4222/nv.site1`
 * @returns `{ server: 'nats://nv:pw@host:4222', base: 'nv.site1' }`
 */
export function natsServerAndBase(url: string): { server: string; base: string } {
  const u = new URL(url.split('?')[0]!);
  const creds = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return { server: `nats://${creds}${u.host}`, base: u.pathname.replace(/^\/+|\/+$/g, '') };
}
