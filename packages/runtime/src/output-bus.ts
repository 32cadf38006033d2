/**
 * The runtime-wide output channel: every feed's outputs fanned out to synchronous listeners
 * (`runtime.onOutput`) and to bounded async-iterator subscribers (`runtime.outputs()`).
 *
 * Where it sits: a feed publishes each output the moment it has built it, before its own sink
 * queue (a main-thread feed in its executor; an isolated feed when the output arrives from its
 * worker, before the main-side sink queue). Publishing never waits and never throws, so neither a
 * slow subscriber nor a throwing listener can hold back a feed or its sink, and a slow sink does
 * not delay subscribers. With no listener and no subscription, publishing is one counter test.
 *
 * What is published: the envelope the sink gets, as a shallow frozen copy without its frame
 * (`frame: undefined`; `provenance.frameIncluded` still says whether the sink's copy carries one):
 * the runtime releases frames after the sink, so subscribers are pixel-free.
 *
 * Lag: each subscription buffers at most `capacity` outputs; when one more arrives the oldest is
 * dropped and counted (`lost`). The loss is reported as one `OutputLagged` health event per lag
 * episode — see {@link OutputSubscription} for exactly when — and the `messagesLost` of a
 * subscription's events always add up to its `lost` once it has ended.
 */
import type { Clock, FeedId, HealthEvent } from '@nv/core';
import type { OutputEnvelope } from './output.js';

/** Default buffer of an output subscription (outputs). */
export const DEFAULT_OUTPUT_CAPACITY = 256;

/** While a subscription keeps losing outputs without reading, at most one `OutputLagged` per this many ms. */
const LAG_REPORT_MS = 1000;

/** Options of `runtime.outputs()`. */
export interface OutputSubscriptionOptions {
  /**
   * Outputs buffered for this subscriber, at most (default 256; a positive integer). When the
   * buffer is full the oldest output is dropped to make room, and counted.
   */
  readonly capacity?: number;
  /** Only these feeds' outputs (default: every feed's, feeds added later included). */
  readonly feeds?: readonly FeedId[];
  /** A name for this subscriber, carried by its `OutputLagged` events as `subscriber`. */
  readonly name?: string;
}

/**
 * A bounded async iterator over the outputs of the runtime's feeds (see `runtime.outputs()`),
 * in frame order per feed, interleaved across feeds as they are produced. Each output is the
 * sink's envelope without its frame (`frame` is always `undefined`).
 *
 * **Lag.** When the buffer is full the oldest buffered output is dropped and counted in
 * {@link OutputSubscription.lost}. The runtime then emits an `OutputLagged` health event
 * (`messagesLost`: outputs lost since the previous one; `subscriber`: the subscription's `name`)
 * once per lag episode: when the subscriber next calls `next()` after losing some (like tokio's
 * broadcast `Lagged(n)`); while it keeps losing without reading, at most once a second (checked
 * as outputs arrive, with the runtime's clock), so a stalled subscriber still shows; and, for
 * what is still unreported, when the subscription ends (`close()` or shutdown). Over a
 * subscription's life the events' `messagesLost` add up exactly to `lost`.
 *
 * **End.** `close()` (or `return()`, as `break` in a `for await` calls it) ends the iterator at
 * once; outputs still buffered are discarded (not counted as lost). `runtime.shutdown()` ends
 * every subscription after every feed has drained: outputs buffered then are still delivered,
 * then the iterator is done.
 */
export interface OutputSubscription extends AsyncIterableIterator<OutputEnvelope> {
  /** Outputs this subscriber lost because its buffer was full (oldest dropped first), so far. */
  readonly lost: number;
  /** The `name` it was created with, if any. */
  readonly name: string | undefined;
  /** Ends the subscription now: the iterator is done, buffered outputs are discarded. Idempotent. */
  close(): void;
}

/**
 * @internal The runtime's output fan-out. Feeds call {@link OutputBus.publish}; the runtime calls
 * {@link OutputBus.end} once its feeds have drained at shutdown.
 */
export class OutputBus {
  readonly #listeners = new Set<(o: OutputEnvelope) => void>();
  readonly #subs = new Set<OutputSub>();
  /** Listeners plus subscriptions: publishing tests only this. */
  #count = 0;
  #closedLost = 0;
  #ended = false;
  readonly #emit: (e: HealthEvent) => void;
  readonly #clock: Clock;

  /**
   * @param emit - where `OutputLagged` events go (the runtime's health bus)
   * @param clock - the runtime clock (lag report throttle)
   */
  constructor(emit: (e: HealthEvent) => void, clock: Clock) {
    this.#emit = emit;
    this.#clock = clock;
  }

  /** Listeners and open subscriptions now. */
  get subscribers(): number { return this.#count; }

  /** Outputs dropped by full subscriber buffers, over all subscriptions (ended ones included). */
  get lost(): number {
    let n = this.#closedLost;
    for (const s of this.#subs) n += s.lost;
    return n;
  }

  /**
   * Hands a feed's output to every listener and matching subscription (a frameless copy).
   * Never throws; costs one counter test when nobody listens. Ignored after {@link OutputBus.end}.
   */
  readonly publish = (out: OutputEnvelope): void => {
    if (this.#count === 0) return;
    const copy: OutputEnvelope = Object.freeze({ ...out, frame: undefined });
    for (const l of this.#listeners) {
      try { l(copy); } catch { /* a listener must never break a feed */ }
    }
    for (const s of this.#subs) s.push(copy);
  };

  /** Adds a synchronous listener. @returns unsubscribe (idempotent) */
  on(listener: (o: OutputEnvelope) => void): () => void {
    if (this.#ended) return () => {};
    // Wrapped, so that the same function added twice is called twice and unsubscribes once each.
    const wrapped = (o: OutputEnvelope): void => listener(o);
    this.#listeners.add(wrapped);
    this.#count++;
    return () => { if (this.#listeners.delete(wrapped)) this.#count--; };
  }

  /** A new subscription (an already-ended one after {@link OutputBus.end}). */
  subscribe(capacity: number, feeds: readonly FeedId[] | undefined, name: string | undefined): OutputSubscription {
    const s = new OutputSub(capacity, feeds ? new Set(feeds) : undefined, name, this.#emit, this.#clock, () => {
      if (this.#subs.delete(s)) { this.#closedLost += s.lost; this.#count--; }
    });
    if (this.#ended) { s.end(); return s; }
    this.#subs.add(s);
    this.#count++;
    return s;
  }

  /**
   * The runtime's feeds have drained: every subscription ends (keeping what it buffered for its
   * reader, reporting what it lost), listeners are dropped, and later publishes are ignored.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const s of [...this.#subs]) s.end();
    this.#count -= this.#listeners.size;
    this.#listeners.clear();
  }
}

/** One subscription: a ring buffer of `capacity`; readers waiting (concurrent `next()` calls) in order. */
class OutputSub implements OutputSubscription {
  readonly #ring: (OutputEnvelope | undefined)[];
  #head = 0;
  #size = 0;
  readonly #waiters: ((r: IteratorResult<OutputEnvelope>) => void)[] = [];
  /** No more outputs are accepted; buffered ones are still read. */
  #ended = false;
  /** Ended by `close()`: nothing more is read either. */
  #closed = false;
  #lost = 0;
  /** Lost since the last `OutputLagged`. */
  #unreported = 0;
  /** When a still-lagging, not-reading subscriber is reported next (clock ms). */
  #reportAt = 0;
  readonly #feeds: ReadonlySet<FeedId> | undefined;
  readonly #emit: (e: HealthEvent) => void;
  readonly #clock: Clock;
  readonly #detach: () => void;
  readonly name: string | undefined;

  constructor(capacity: number, feeds: ReadonlySet<FeedId> | undefined, name: string | undefined, emit: (e: HealthEvent) => void, clock: Clock, detach: () => void) {
    this.#ring = new Array<OutputEnvelope | undefined>(capacity);
    this.#feeds = feeds;
    this.name = name;
    this.#emit = emit;
    this.#clock = clock;
    this.#detach = detach;
  }

  get lost(): number { return this.#lost; }

  push(o: OutputEnvelope): void {
    if (this.#ended) return;
    if (this.#feeds !== undefined && !this.#feeds.has(o.feedId)) return;
    const w = this.#waiters.shift();
    if (w) { w({ value: o, done: false }); return; }
    const ring = this.#ring;
    const cap = ring.length;
    if (this.#size === cap) {
      // Full: the oldest goes, the new one takes its slot.
      ring[this.#head] = o;
      this.#head = (this.#head + 1) % cap;
      this.#lost++;
      const now = this.#clock.now();
      if (this.#unreported++ === 0) this.#reportAt = now + LAG_REPORT_MS;
      else if (now >= this.#reportAt) this.#report();
      return;
    }
    ring[(this.#head + this.#size) % cap] = o;
    this.#size++;
  }

  next(): Promise<IteratorResult<OutputEnvelope>> {
    if (this.#unreported > 0) this.#report();
    if (this.#size > 0) {
      const ring = this.#ring;
      const o = ring[this.#head]!;
      ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % ring.length;
      this.#size--;
      return Promise.resolve({ value: o, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((r) => { this.#waiters.push(r); });
  }

  return(): Promise<IteratorResult<OutputEnvelope>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    this.end();
  }

  /** No more outputs: report what is unreported, detach, tell waiting readers it is done. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#unreported > 0) this.#report();
    this.#detach();
    // Waiting readers exist only when the buffer is empty.
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this { return this; }

  #report(): void {
    const n = this.#unreported;
    this.#unreported = 0;
    this.#emit(this.name !== undefined ? { type: 'OutputLagged', messagesLost: n, subscriber: this.name } : { type: 'OutputLagged', messagesLost: n });
  }
}
