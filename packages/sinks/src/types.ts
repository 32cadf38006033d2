/**
 * The contract every sink implements: messages in, bounded queue, counted drops, typed health
 * events, a close that delivers what it can within a deadline and never hangs.
 *
 * @packageDocumentation
 */
import type { SinkError } from './errors.js';

/** Which transport a sink uses. */
export type SinkKind = 'webhook' | 'mqtt' | 'nats' | 'file';

/**
 * One message for a sink.
 *
 * @example
 * ```ts
 * sink.publish({ id: `${feedId}:${seq}:0`, subject: 'events.lineCrossed', payload: { trackId: 7, lineId: 'door' } });
 * ```
 */
export interface SinkMessage {
  /**
   * Idempotency / dedupe key, unique per message (e.g. `feed:seq:index`): the webhook's
   * `Idempotency-Key` header, the JetStream `Nats-Msg-Id`, and `id` in every wire body. A retry
   * or a redelivery after reconnect carries the same id.
   */
  readonly id: string;
  /**
   * Appended to the sink's base topic / subject: dot-separated tokens (`events.lineCrossed`),
   * each non-empty, without whitespace or `/ + # * >`. MQTT turns the dots into topic levels
   * (`base/topic/events/lineCrossed`), NATS keeps them (`base.subject.events.lineCrossed`);
   * webhooks send it as the `Nv-Subject` header, files as a field. Optional when the sink has a
   * base topic / subject.
   */
  readonly subject?: string | undefined;
  /** Any JSON-serializable value (encoded once, with `JSON.stringify`, when published). */
  readonly payload: unknown;
}

/**
 * Why messages were dropped:
 * - `overflow`: the sink's queue was full (see {@link SinkCommonOptions.overflow});
 * - `failed`: a permanent failure, or retries exhausted;
 * - `shutdown`: still queued or unconfirmed when `close()`'s deadline passed;
 * - `rejected`: refused by `publish` (sink closing or closed, invalid id or subject, payload not
 *   JSON-serializable).
 */
export type SinkDropReason = 'overflow' | 'failed' | 'shutdown' | 'rejected';

/** Drop counters by reason (see {@link SinkDropReason}). */
export interface SinkDropCounts {
  readonly overflow: number;
  readonly failed: number;
  readonly shutdown: number;
  readonly rejected: number;
  /** The sum of the four. */
  readonly total: number;
}

/**
 * A sink's counters and state. Every valid message given to `publish` (all but the `rejected`
 * ones) is, at any time, exactly one of: queued, in flight, delivered, or dropped (`overflow`,
 * `failed`, `shutdown`), so
 * `accepted = queued + inFlight + delivered + dropped.overflow + dropped.failed + dropped.shutdown`.
 */
export interface MessageSinkStats {
  /** The sink's name. */
  readonly name: string;
  /** Its transport. */
  readonly kind: SinkKind;
  /** Where it delivers, credentials redacted. */
  readonly target: string;
  /** Valid messages given to `publish`: all but the `rejected` ones (a `dropNewest` overflow refusal included). */
  readonly accepted: number;
  /** Waiting in the sink's queue. */
  readonly queued: number;
  /** Handed to the transport, not yet confirmed (HTTP answer, PUBACK, JetStream ack, flush, write). */
  readonly inFlight: number;
  /** Confirmed delivered (a JetStream duplicate ack counts: the stream has the message). */
  readonly delivered: number;
  /** Dropped, by reason. */
  readonly dropped: SinkDropCounts;
  /** Delivery attempts repeated after a failure. */
  readonly retries: number;
  /** Whether the transport is up now (webhook: the last attempt reached the server; file: the file is open). */
  readonly connected: boolean;
  /** Times the connection came back after being lost. */
  readonly reconnects: number;
  /** The last error, as a sanitized one-line message (never a credential). */
  readonly lastError: string | undefined;
  /** `close()` was called. */
  readonly closed: boolean;
}

/**
 * A sink's health events (`onHealth`). `sink` is the sink's name, `target` its redacted target.
 * - `SinkDisconnected`: the transport went down (or could not come up), with why;
 * - `SinkReconnected`: it is up again after a `SinkDisconnected`; `downMs` is how long it was down;
 * - `SinkDropped`: messages dropped — the first of a reason at once, then at most one per second
 *   per reason carrying the count since the previous one, and the rest at `close()`: over a
 *   sink's life the `count`s of a reason add up to `stats().dropped[reason]`;
 * - `SinkDeliveryFailed`: a message failed for good (permanent refusal, or retries exhausted);
 *   it is also counted in a `SinkDropped` with reason `failed`.
 */
export type SinkHealthEvent =
  | { readonly type: 'SinkDisconnected'; readonly sink: string; readonly target: string; readonly error: SinkError | undefined }
  | { readonly type: 'SinkReconnected'; readonly sink: string; readonly target: string; readonly reconnects: number; readonly downMs: number }
  | { readonly type: 'SinkDropped'; readonly sink: string; readonly target: string; readonly reason: SinkDropReason; readonly count: number }
  | {
      readonly type: 'SinkDeliveryFailed';
      readonly sink: string;
      readonly target: string;
      /** The message's id. */
      readonly id: string;
      readonly error: SinkError;
      /** Attempts made. */
      readonly attempts: number;
    };

/** The `type` tag of every {@link SinkHealthEvent}. */
export type SinkHealthEventType = SinkHealthEvent['type'];

/** What `close()` reports. */
export interface CloseResult {
  /** Messages confirmed delivered during `close()` (buffered when it was called). */
  readonly delivered: number;
  /** Messages still queued or unconfirmed at the deadline, abandoned (counted as dropped `shutdown`). */
  readonly abandoned: number;
  /** Whether the deadline passed before everything was delivered. */
  readonly timedOut: boolean;
}

/** Options of `close()`. */
export interface CloseOptions {
  /**
   * How long to keep delivering what is buffered (ms; default: the sink's `closeTimeoutMs`,
   * 5000). Then the rest is abandoned and the transport is torn down; `close()` returns shortly
   * after the deadline even when the broker is down.
   */
  readonly timeoutMs?: number;
}

/**
 * A message sink: `publish` is synchronous and never blocks or throws — it encodes the message
 * and puts it in a bounded queue; one delivery loop per sink, off the caller, sends it (in
 * order, except that a message retried after a failure may land after ones sent meanwhile).
 *
 * @example
 * ```ts
 * const sink = createSink('mqtt://broker:1883/nv/events');
 * sink.publish({ id: 'cam1:42:0', subject: 'lineCrossed', payload: { trackId: 3 } });
 * const { abandoned } = await sink.close({ timeoutMs: 2000 });
 * ```
 */
export interface MessageSink {
  /** A name for logs and health events (default: the kind). */
  readonly name: string;
  /** Its transport. */
  readonly kind: SinkKind;
  /** Where it delivers, credentials redacted. */
  readonly target: string;
  /**
   * Queues a message. Never blocks, never throws.
   * @param message - the message
   * @returns `true` when queued; `false` when refused (closing or closed, invalid id/subject,
   *   payload not JSON-serializable, or a full queue under `overflow: 'dropNewest'`), counted
   */
  publish(message: SinkMessage): boolean;
  /** Counters and state now. */
  stats(): MessageSinkStats;
  /**
   * Stops accepting, delivers what is buffered within the deadline, abandons the rest (counted),
   * disconnects. Idempotent: later calls return the first call's promise. Never rejects.
   */
  close(options?: CloseOptions): Promise<CloseResult>;
}

/** Options every sink takes. */
export interface SinkCommonOptions {
  /** A name for logs, stats and health events (default: the kind, e.g. `'mqtt'`). */
  readonly name?: string;
  /** Messages the queue holds, at most (default 1000; a positive integer). In-flight ones are bounded separately. */
  readonly queueSize?: number;
  /**
   * What a full queue does: `dropOldest` (default) evicts the oldest queued message to make room
   * (the caller's stays current); `dropNewest` refuses the new one (`publish` returns `false`).
   * Either way the drop is counted (`overflow`).
   */
  readonly overflow?: 'dropOldest' | 'dropNewest';
  /** Health events (see {@link SinkHealthEvent}); a throwing listener is ignored. */
  readonly onHealth?: (event: SinkHealthEvent) => void;
  /** Default deadline of `close()` in ms (default 5000). */
  readonly closeTimeoutMs?: number;
}
