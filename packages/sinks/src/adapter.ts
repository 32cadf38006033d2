/**
 * Sinks as a feed's output sink: a runtime `OutputSink` that maps each output to messages and
 * publishes them, without ever waiting.
 *
 * @packageDocumentation
 */
import type { OutputEnvelope, OutputSink } from '@nv/runtime';
import type { MessageSink, SinkMessage } from './types.js';

/**
 * Maps one output to the messages it yields: one, several, or none (`undefined` or `[]`).
 * @param output - a feed's output (its `frame`, when attached, is released by the runtime after `emit` returns)
 */
export type OutputToMessages = (output: OutputEnvelope) => SinkMessage | readonly SinkMessage[] | undefined;

/**
 * The conventional message id of the `index`-th message of output `seq` of a feed:
 * `<feedId>:<seq>:<index>` — unique per feed for the feed's life (seq never repeats), the same
 * for the same output on every retry.
 * @param feedId - the feed
 * @param seq - the output's `seq`
 * @param index - which message of that output (default 0)
 * @returns the id
 * @example
 * ```ts
 * messageId(o.feedId, o.seq, 2) // '1:420:2'
 * ```
 */
export function messageId(feedId: number | string, seq: number, index = 0): string {
  return `${feedId}:${seq}:${index}`;
}

/**
 * A runtime `OutputSink` that publishes what `toMessages` makes of each output to every given
 * sink. `emit` is synchronous: it encodes and queues (each sink's queue is bounded and drops
 * are counted), so a slow or unreachable broker never holds a feed back. Closing the sinks is
 * the caller's job (after `runtime.shutdown()`, so the last outputs are in their queues).
 * An exception thrown by `toMessages` propagates to the runtime (which reports it for the feed).
 *
 * @param sinks - one sink or several
 * @param toMessages - see {@link OutputToMessages}
 * @returns the output sink
 * @example
 * ```ts
 * const mqtt = createSink('mqtt://broker/site1');
 * const cfg = feedConfig().source(source).cameraMode('fixed')
 *   .sink(toOutputSink(mqtt, (o) => ({ id: messageId(o.feedId, o.seq), subject: 'outputs', payload: { seq: o.seq, tracks: o.artifacts.tracks.length } })))
 *   .build();
 * ```
 */
export function toOutputSink(sinks: MessageSink | readonly MessageSink[], toMessages: OutputToMessages): OutputSink {
  const list: readonly MessageSink[] = Array.isArray(sinks) ? sinks : [sinks as MessageSink];
  return {
    emit(output: OutputEnvelope): void {
      const m = toMessages(output);
      if (m === undefined) return;
      const msgs: readonly SinkMessage[] = Array.isArray(m) ? m : [m as SinkMessage];
      for (const s of list) for (const msg of msgs) s.publish(msg);
    },
  };
}
