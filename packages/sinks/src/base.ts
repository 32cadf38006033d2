/**
 * What every sink shares: validation and one-time encoding at `publish`, the bounded queue and
 * its drop policy, counters, connection state and its health events, throttled drop reports,
 * and the deadline-bound `close()`.
 *
 * @packageDocumentation
 */
import { ConfigError } from '@nv/core';
import { nonNegative, positiveInt } from './options.js';
import { Deque } from './deque.js';
import { SinkError, scrubSecrets, type SinkErrorKind } from './errors.js';
import type {
  CloseOptions, CloseResult, MessageSink, MessageSinkStats, SinkCommonOptions, SinkDropReason, SinkHealthEvent, SinkKind, SinkMessage,
} from './types.js';

/** Default `queueSize` of every sink. */
export const DEFAULT_QUEUE_SIZE = 1000;
/** Default `close()` deadline of every sink (ms). */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/** At most one `SinkDropped` per reason per this many ms. */
const DROP_REPORT_MS = 1000;
/** How long the transport's teardown may take after `close()`'s deadline (ms). */
const TEARDOWN_SLACK_MS = 1000;
/** Longest accepted message id (characters). */
const MAX_ID_LENGTH = 1024;

/** A message accepted by `publish`, encoded once. @internal */
export interface Pending {
  /** Acceptance order (1, 2, …). */
  readonly seq: number;
  readonly id: string;
  readonly subject: string | undefined;
  /** The wire body: `{"id":…,"subject":…,"payload":…}` as UTF-8. */
  readonly body: Buffer<ArrayBuffer>;
  /** Delivery attempts so far. */
  attempts: number;
}

const SUBJECT_TOKEN = /^[^\s./+#*>\u0000]+$/;

/**
 * Checks a message subject: dot-separated tokens, each non-empty, without whitespace or
 * `/ + # * >`.
 * @param subject - the subject
 * @returns what is wrong with it, or `undefined` when it is fine
 * @example
 * ```ts
 * subjectProblem('events.lineCrossed') // undefined
 * subjectProblem('events..x')          // 'empty token in subject'
 * ```
 */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return 'empty subject';
  if (subject.length > 512) return 'subject longer than 512 characters';
  for (const t of subject.split('.')) {
    if (t.length === 0) return 'empty token in subject';
    if (!SUBJECT_TOKEN.test(t)) return `invalid token '${t.slice(0, 40)}' in subject (no whitespace, '/', '+', '#', '*', '>')`;
  }
  return undefined;
}

interface DropReport { pending: number; nextAt: number; timer: NodeJS.Timeout | undefined }

/**
 * The base of every sink. Subclasses implement {@link QueuedSink.onWake} (called, on a
 * microtask, whenever there may be work: a message was queued, the connection came up, close
 * began) and {@link QueuedSink.teardown}, and move messages with {@link QueuedSink.take},
 * {@link QueuedSink.settleDelivered}, {@link QueuedSink.requeue} and {@link QueuedSink.settleFailed}.
 *
 * @internal
 */
export abstract class QueuedSink implements MessageSink {
  readonly name: string;
  readonly kind: SinkKind;
  readonly target: string;
  /** The sink's credentials, scrubbed from every error message. */
  protected readonly secrets: readonly string[];
  readonly #queue: Deque<Pending>;
  readonly #overflow: 'dropOldest' | 'dropNewest';
  readonly #onHealth: ((e: SinkHealthEvent) => void) | undefined;
  readonly #closeTimeoutMs: number;
  readonly #inFlight = new Set<Pending>();
  #seq = 0;
  #accepted = 0;
  #delivered = 0;
  #retries = 0;
  readonly #dropped: Record<SinkDropReason, number> = { overflow: 0, failed: 0, shutdown: 0, rejected: 0 };
  readonly #dropReports = new Map<SinkDropReason, DropReport>();
  #state: 'open' | 'closing' | 'closed' = 'open';
  #abandoned = false;
  #connected = false;
  #downReported = false;
  #downSince = 0;
  #reconnects = 0;
  #lastError: string | undefined;
  #wakeScheduled = false;
  #loop: Promise<void> | undefined;
  readonly #drainWaiters = new Set<() => void>();
  readonly #sleepers = new Set<() => void>();
  #closePromise: Promise<CloseResult> | undefined;

  /**
   * @param kind - the transport
   * @param target - where it delivers, already redacted
   * @param secrets - credentials to scrub from error messages
   * @param options - the common options
   * @throws {ConfigError} for a bad `queueSize`, `overflow` or `closeTimeoutMs`
   */
  protected constructor(kind: SinkKind, target: string, secrets: readonly string[], options: SinkCommonOptions) {
    this.kind = kind;
    this.target = target;
    this.secrets = secrets.filter((s) => s.length > 0);
    this.name = options.name ?? kind;
    this.#queue = new Deque<Pending>(positiveInt(options.queueSize, DEFAULT_QUEUE_SIZE, 'queueSize'));
    const overflow = options.overflow ?? 'dropOldest';
    if (overflow !== 'dropOldest' && overflow !== 'dropNewest') {
      throw ConfigError.invalidConfig('sink options', [{ field: 'overflow', message: `must be 'dropOldest' or 'dropNewest' (got ${String(overflow)})` }]);
    }
    this.#overflow = overflow;
    this.#onHealth = options.onHealth;
    this.#closeTimeoutMs = nonNegative(options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs');
  }

  // ---------------------------------------------------------------------------------------------
  // MessageSink

  publish(message: SinkMessage): boolean {
    if (this.#state !== 'open') return this.#reject('sink is closed');
    if (typeof message !== 'object' || message === null) return this.#reject('message is not an object');
    const { id, subject } = message;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return this.#reject(`id must be a string of 1–${MAX_ID_LENGTH} characters`);
    if (subject !== undefined) {
      if (typeof subject !== 'string') return this.#reject('subject must be a string');
      const problem = subjectProblem(subject);
      if (problem !== undefined) return this.#reject(problem);
    }
    const topicProblem = this.checkSubject(subject);
    if (topicProblem !== undefined) return this.#reject(topicProblem);
    let payload: string | undefined;
    try {
      payload = JSON.stringify(message.payload);
    } catch (e) {
      return this.#reject(`payload is not JSON-serializable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (payload === undefined) return this.#reject('payload is not JSON-serializable (undefined, a function or a symbol)');
    const body = Buffer.from(`{"id":${JSON.stringify(id)}${subject === undefined ? '' : `,"subject":${JSON.stringify(subject)}`},"payload":${payload}}`, 'utf8');
    this.#accepted++;
    if (this.#queue.full) {
      if (this.#overflow === 'dropNewest') {
        this.#drop('overflow', 1);
        return false;
      }
      this.#queue.shift();
      this.#drop('overflow', 1);
    }
    this.#queue.push({ seq: ++this.#seq, id, subject, body, attempts: 0 });
    this.wake();
    return true;
  }

  stats(): MessageSinkStats {
    const d = this.#dropped;
    return {
      name: this.name,
      kind: this.kind,
      target: this.target,
      accepted: this.#accepted,
      queued: this.#queue.size,
      inFlight: this.#inFlight.size,
      delivered: this.#delivered,
      dropped: { overflow: d.overflow, failed: d.failed, shutdown: d.shutdown, rejected: d.rejected, total: d.overflow + d.failed + d.shutdown + d.rejected },
      retries: this.#retries,
      connected: this.#connected,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
      closed: this.#state !== 'open',
    };
  }

  close(options: CloseOptions = {}): Promise<CloseResult> {
    if (this.#closePromise) return this.#closePromise;
    const timeoutMs = options.timeoutMs === undefined ? this.#closeTimeoutMs : Math.max(0, Number.isFinite(options.timeoutMs) ? options.timeoutMs : this.#closeTimeoutMs);
    this.#state = 'closing';
    this.#closePromise = this.#close(timeoutMs);
    return this.#closePromise;
  }

  // ---------------------------------------------------------------------------------------------
  // For subclasses

  /** Called on a microtask after {@link QueuedSink.wake}, unless the sink was abandoned: do the work there is. */
  protected abstract onWake(): void;

  /**
   * Tears the transport down (after everything was delivered when `graceful`, else after the
   * deadline: then as fast as possible). Bounded by the base: it may not finish.
   */
  protected abstract teardown(graceful: boolean): Promise<void>;

  /**
   * A transport-specific check of a message's (already well-formed) subject.
   * @returns what is wrong, or `undefined`
   */
  protected checkSubject(_subject: string | undefined): string | undefined { return undefined; }

  /** `close()` was called: no more messages are accepted; what is queued is still delivered. */
  protected get closing(): boolean { return this.#state !== 'open'; }
  /** The close deadline passed (or close finished): stop all work, settle nothing more. */
  protected get abandoned(): boolean { return this.#abandoned; }
  /** Messages waiting. */
  protected get queuedCount(): number { return this.#queue.size; }
  /** Messages taken and not yet settled. */
  protected get inFlightCount(): number { return this.#inFlight.size; }
  /** Whether the transport is up, as last set with {@link QueuedSink.setConnected}. */
  protected get isConnected(): boolean { return this.#connected; }

  /**
   * Runs `run` as this sink's one delivery loop: while it runs, a call does nothing; when it
   * settles with messages still queued (and `again()` agrees), the sink wakes again. Loops handle
   * failures per message, so a rejection is only swallowed.
   */
  protected runLoop(run: () => Promise<void>, again: () => boolean = () => true): void {
    if (this.#loop !== undefined) return;
    this.#loop = run().catch(() => { /* handled per message */ }).finally(() => {
      this.#loop = undefined;
      if (this.queuedCount > 0 && again()) this.wake();
    });
  }

  /** The delivery loop in progress, if any (a teardown waits for it). */
  protected get loop(): Promise<void> | undefined { return this.#loop; }

  /** Asks for {@link QueuedSink.onWake} on a microtask (coalesced). */
  protected wake(): void {
    if (this.#wakeScheduled || this.#abandoned) return;
    this.#wakeScheduled = true;
    queueMicrotask(() => {
      this.#wakeScheduled = false;
      if (!this.#abandoned) this.onWake();
    });
  }

  /** Takes the oldest queued message; it is in flight until settled. */
  protected take(): Pending | undefined {
    if (this.#abandoned) return undefined;
    const p = this.#queue.shift();
    if (p !== undefined) this.#inFlight.add(p);
    return p;
  }

  /** The oldest queued message, without taking it. */
  protected peek(): Pending | undefined { return this.#queue.peek(); }

  /** A taken message was delivered. Ignored when it is no longer in flight (abandoned at close). */
  protected settleDelivered(p: Pending): void {
    if (!this.#inFlight.delete(p)) return;
    this.#delivered++;
    this.#checkDrained();
  }

  /**
   * Taken messages go back to the head of the queue, to be retried (each counts as a retry).
   * Ignored for those no longer in flight. A full queue drops per the overflow policy (under
   * `dropOldest` the put-back messages, being the oldest, are the ones dropped).
   * @param items - in the order they should be retried
   */
  protected requeue(items: readonly Pending[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      const p = items[i]!;
      if (!this.#inFlight.delete(p)) continue;
      this.#retries++;
      if (this.#queue.full) {
        if (this.#overflow === 'dropOldest') { this.#drop('overflow', 1); continue; }
        this.#queue.pop();
        this.#drop('overflow', 1);
      }
      this.#queue.unshift(p);
    }
    this.#checkDrained();
  }

  /** Counts a retry made in place (the message stays in flight). */
  protected countRetry(): void { this.#retries++; }

  /** A taken message failed for good: counted (`failed`), reported (`SinkDeliveryFailed`). */
  protected settleFailed(p: Pending, error: SinkError): void {
    if (!this.#inFlight.delete(p)) return;
    this.#lastError = error.message;
    this.#emit({ type: 'SinkDeliveryFailed', sink: this.name, target: this.target, id: p.id, error, attempts: p.attempts });
    this.#drop('failed', 1);
    this.#checkDrained();
  }

  /**
   * Records the transport's state; emits `SinkDisconnected` when it goes down (or first fails to
   * come up) and `SinkReconnected` when it comes back.
   * @param up - whether it is up now
   * @param error - why it is down
   */
  protected setConnected(up: boolean, error?: SinkError): void {
    if (error !== undefined) this.#lastError = error.message;
    if (up) {
      if (this.#connected) return;
      this.#connected = true;
      if (this.#downReported) {
        this.#downReported = false;
        this.#reconnects++;
        this.#emit({ type: 'SinkReconnected', sink: this.name, target: this.target, reconnects: this.#reconnects, downMs: Math.round(performance.now() - this.#downSince) });
      }
      this.wake();
      return;
    }
    this.#connected = false;
    if (this.#downReported) return;
    this.#downReported = true;
    this.#downSince = performance.now();
    this.#emit({ type: 'SinkDisconnected', sink: this.name, target: this.target, error });
  }

  /** Records an error as `lastError` (no event). */
  protected noteError(error: SinkError): void { this.#lastError = error.message; }

  /**
   * A {@link SinkError} for this sink, its detail scrubbed of the sink's secrets.
   * @param kind - the variant
   * @param detail - free text (e.g. a transport's error message)
   * @param status - HTTP status
   */
  protected error(kind: SinkErrorKind, detail: string, status?: number): SinkError {
    return new SinkError(kind, this.name, this.target, scrubSecrets(detail, this.secrets), status);
  }

  /** Waits `ms`, or less when the sink is abandoned meanwhile. */
  protected sleep(ms: number): Promise<void> {
    if (this.#abandoned) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => { clearTimeout(t); this.#sleepers.delete(done); resolve(); };
      const t = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  #reject(why: string): false {
    this.#lastError = this.error('Rejected', `publish refused: ${why}`).message;
    this.#drop('rejected', 1);
    return false;
  }

  #drop(reason: SinkDropReason, n: number): void {
    if (n <= 0) return;
    this.#dropped[reason] += n;
    let r = this.#dropReports.get(reason);
    if (r === undefined) { r = { pending: 0, nextAt: 0, timer: undefined }; this.#dropReports.set(reason, r); }
    r.pending += n;
    const now = performance.now();
    if (now >= r.nextAt) {
      this.#reportDrops(reason, r);
    } else if (r.timer === undefined) {
      const report = r;
      report.timer = setTimeout(() => { report.timer = undefined; this.#reportDrops(reason, report); }, report.nextAt - now);
      report.timer.unref();
    }
  }

  #reportDrops(reason: SinkDropReason, r: DropReport): void {
    if (r.pending === 0) return;
    const count = r.pending;
    r.pending = 0;
    r.nextAt = performance.now() + DROP_REPORT_MS;
    this.#emit({ type: 'SinkDropped', sink: this.name, target: this.target, reason, count });
  }

  #flushDropReports(): void {
    for (const [reason, r] of this.#dropReports) {
      if (r.timer !== undefined) { clearTimeout(r.timer); r.timer = undefined; }
      this.#reportDrops(reason, r);
    }
  }

  #emit(e: SinkHealthEvent): void {
    if (this.#onHealth === undefined) return;
    try { this.#onHealth(e); } catch { /* a listener must never break a sink */ }
  }

  #checkDrained(): void {
    if (this.#queue.size > 0 || this.#inFlight.size > 0) return;
    for (const w of [...this.#drainWaiters]) w();
  }

  /** Resolves `true` once nothing is queued or in flight, `false` at the deadline. */
  #waitDrained(timeoutMs: number): Promise<boolean> {
    if (this.#queue.size === 0 && this.#inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => { clearTimeout(t); this.#drainWaiters.delete(onDrained); resolve(ok); };
      const onDrained = (): void => done(true);
      const t = setTimeout(() => done(false), timeoutMs);
      this.#drainWaiters.add(onDrained);
    });
  }

  async #close(timeoutMs: number): Promise<CloseResult> {
    const deliveredBefore = this.#delivered;
    this.wake();
    const drained = await this.#waitDrained(timeoutMs);
    let abandoned = 0;
    if (!drained) {
      abandoned = this.#queue.size + this.#inFlight.size;
      this.#queue.drain();
      this.#inFlight.clear();
      this.#drop('shutdown', abandoned);
    }
    this.#abandoned = true;
    for (const s of [...this.#sleepers]) s();
    let slack: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.teardown(drained).catch(() => { /* best effort */ }),
        new Promise<void>((r) => { slack = setTimeout(r, TEARDOWN_SLACK_MS); }),
      ]);
    } finally {
      clearTimeout(slack);
    }
    this.#connected = false;
    this.#state = 'closed';
    this.#flushDropReports();
    return { delivered: this.#delivered - deliveredBefore, abandoned, timedOut: !drained };
  }
}
