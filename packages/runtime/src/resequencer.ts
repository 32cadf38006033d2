/**
 * The resequencing buffer of an ordered parallel section: a stateless head (stages, a batch
 * point) works on up to `capacity` frames of a feed at once and settles them in any order; the
 * serial tail (tracker, temporal commit, output) receives them strictly in frame order.
 *
 * - **Dense seqs**: {@link Resequencer.reserve} hands out 0, 1, 2, … (or from `firstSeq`);
 *   numbering continues across {@link Resequencer.reset} unless `nextSeq` is given there.
 * - **Hard bound**: at most `capacity` entries in the window — reserved and not settled
 *   ({@link Resequencer.inFlight}) plus settled and waiting for delivery
 *   ({@link Resequencer.depth}). When full, `reserve()` returns `undefined` and the head must
 *   take no new frame (the caller applies the source queue's backpressure, and may await
 *   {@link Resequencer.whenNotFull}). An item leaves the window when it is handed to the tail.
 * - **Delivery** is synchronous: the `complete()`/`tombstone()` call (or gap timer) that makes
 *   the next seq ready calls `deliver` for it and for every ready item after it, before
 *   returning. A `deliver` that returns a promise makes the tail asynchronous: the next item
 *   is delivered (from that promise's continuation) only after it settles, so the tail is
 *   strictly serial while completions keep arriving and buffer up to the bound. A `deliver`
 *   may reenter (`complete`, `reserve`, `reset`…): the running delivery loop picks the change
 *   up, never recursing. A `deliver` that throws or rejects is reported to `onError`; the
 *   item counts as delivered and the next one follows.
 * - **Gap deadline**: the lowest unsettled seq is given up when it has not settled
 *   `gapTimeoutMs` after a later seq settled (something waits behind it) — or, while a
 *   {@link Resequencer.drain} that covers it is pending, `gapTimeoutMs` after that drain began.
 *   It is delivered in order as a `gap` item (counted in `gapTimeouts`); its value, should it
 *   still come, goes to `discard` (counted in `discardedLate`), a late tombstone's reason to `discardReason`.
 *   Given-up seqs leave the window (they no longer hold capacity) even if the head is still
 *   working on them; {@link ResequencerStats.stale} counts those whose late settle is due.
 *
 * Allocation-light: fixed rings indexed by `seq mod capacity`; every operation is O(1)
 * (amortized for the gap bookkeeping); one item object per delivery.
 *
 * @example
 * ```ts
 * const rs = new Resequencer<Frame>({ capacity: 4, gapTimeoutMs: 500, deliver: (it) => tail(it), discard: (f) => f.release() });
 * const seq = rs.reserve();            // undefined: full, take no frame now
 * if (seq !== undefined) head(frame).then((out) => rs.complete(seq, out), (e) => rs.tombstone(seq, e));
 * ```
 */
import { InvalidArgumentError, realClock, type Clock, type ClockTimer } from '@nv/core';

/** One item handed to the tail, in seq order. */
export type ResequencedItem<T, R = unknown> =
  /** The head's result for this seq. */
  | { readonly seq: number; readonly kind: 'value'; readonly value: T }
  /** The head dropped or failed this seq ({@link Resequencer.tombstone}). */
  | { readonly seq: number; readonly kind: 'tombstone'; readonly reason: R }
  /** The seq was given up at its gap deadline (a typed drop). */
  | { readonly seq: number; readonly kind: 'gap' };

/** Options of {@link Resequencer}. */
export interface ResequencerOptions<T, R = unknown> {
  /** Most entries in the window (in flight + waiting); an integer ≥ 1. */
  readonly capacity: number;
  /**
   * The serial tail: called once per seq, in seq order. Return a promise to make the next
   * delivery wait for it. Errors (thrown or rejected) go to `onError`.
   */
  readonly deliver: (item: ResequencedItem<T, R>) => void | PromiseLike<void>;
  /**
   * Receives every value that will never be delivered: one that settles after its seq was
   * given up or made stale by {@link Resequencer.reset}, and every value buffered at a reset
   * (so the caller can release frames). Default: nothing.
   */
  readonly discard?: (value: T, seq: number) => void;
  /**
   * Like `discard`, for tombstone reasons that will never be delivered: a tombstone that comes
   * after its seq was given up or made stale, and every tombstone buffered at a reset (so a
   * reason that holds a frame can release it). Default: nothing.
   */
  readonly discardReason?: (reason: R, seq: number) => void;
  /** The gap deadline in ms (≥ 0, `Infinity` never gives up). Default 5000. */
  readonly gapTimeoutMs?: number;
  /** Time of the gap deadline and the reorder-wait metric. Default {@link realClock}. */
  readonly clock?: Clock;
  /** The first seq `reserve()` hands out (a non-negative safe integer). Default 0. */
  readonly firstSeq?: number;
  /** Receives what `deliver` or `discard` threw or rejected with, and the seq concerned. Default: counted only. */
  readonly onError?: (error: unknown, seq: number) => void;
}

/** Options of {@link Resequencer.reset}. */
export interface ResequencerResetOptions {
  /**
   * The seq the next `reserve()` hands out (default: numbering continues). It must be above
   * every stale seq whose late settle is still due, so that no seq is ever live twice.
   */
  readonly nextSeq?: number;
}

/** A metrics snapshot of a {@link Resequencer}. */
export interface ResequencerStats {
  /** The bound. */
  readonly capacity: number;
  /** The seq the next `reserve()` hands out. */
  readonly nextSeq: number;
  /** Reserved, not settled, not given up. */
  readonly inFlight: number;
  /** Settled (or given up) and waiting for delivery. `inFlight + depth ≤ capacity`. */
  readonly depth: number;
  /** The highest `depth` so far (sampled after each settle or gap has been delivered as far as it can be). */
  readonly maxDepthSeen: number;
  /** Items handed to the tail, of every kind. */
  readonly delivered: number;
  /** `tombstone` items handed to the tail. */
  readonly tombstones: number;
  /** Seqs given up at their gap deadline (each delivered as a `gap` item). */
  readonly gapTimeouts: number;
  /** Values that settled after their seq was given up or made stale by a reset. */
  readonly discardedLate: number;
  /** Values buffered and discarded by a reset. */
  readonly discardedOnReset: number;
  /** Given-up or reset seqs whose late settle has not come yet (the head may still hold them). */
  readonly stale: number;
  /** Errors thrown or rejected by `deliver` or `discard`. */
  readonly callbackErrors: number;
  /** How long delivered values waited in the buffer, from their settle to their delivery. */
  readonly reorderWait: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
}

const EMPTY = 0;
const PENDING = 1;
const VALUE = 2;
const TOMB = 3;
const GAP = 4;

interface DrainWaiter {
  /** Resolved once every seq below this is delivered and the tail is idle. */
  target: number;
  /** When the drain began (its gap deadline base). */
  readonly since: number;
  readonly resolve: () => void;
}

function checkSeq(name: string, v: unknown): asserts v is number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new InvalidArgumentError(name, 'a non-negative safe integer', v);
}

function isThenable(v: unknown): v is PromiseLike<void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** See the module comment. `T` is the head's value, `R` a tombstone's reason. */
export class Resequencer<T, R = unknown> {
  readonly #cap: number;
  readonly #deliver: (item: ResequencedItem<T, R>) => void | PromiseLike<void>;
  readonly #discard: ((value: T, seq: number) => void) | undefined;
  readonly #discardReason: ((reason: R, seq: number) => void) | undefined;
  readonly #onError: ((error: unknown, seq: number) => void) | undefined;
  readonly #gapMs: number;
  readonly #clock: Clock;
  // Window slots, indexed by seq mod capacity.
  readonly #state: Uint8Array;
  readonly #values: (T | undefined)[];
  readonly #reasons: (R | undefined)[];
  readonly #settledAt: Float64Array;
  // Seqs in settle order (their settle times are non-decreasing): the earliest settled seq
  // above #low is the front once entries ≤ #low are popped. Never holds more than 2 × capacity.
  readonly #order: Float64Array;
  #orderHead = 0;
  #orderLen = 0;
  /** Lowest seq not yet handed to the tail. */
  #head: number;
  /** Lowest seq ≥ #head not settled (= #next when none). */
  #low: number;
  /** The seq the next reserve() hands out. */
  #next: number;
  #inFlight = 0;
  #busy = false;
  #pumping = false;
  #timer: ClockTimer | undefined;
  #timerAt = NaN;
  readonly #stale = new Set<number>();
  readonly #drains: DrainWaiter[] = [];
  #space: { promise: Promise<void>; resolve: () => void } | undefined;
  #m = { maxDepth: 0, delivered: 0, tombstones: 0, gaps: 0, late: 0, onReset: 0, errors: 0, waitCount: 0, waitTotal: 0, waitMax: 0 };

  /**
   * @param options - see {@link ResequencerOptions}
   * @throws {InvalidArgumentError} when `capacity` is not an integer ≥ 1, `gapTimeoutMs` is negative or NaN, or `firstSeq` is not a non-negative safe integer
   */
  constructor(options: ResequencerOptions<T, R>) {
    const { capacity, gapTimeoutMs = 5000, firstSeq = 0 } = options;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x1000000) throw new InvalidArgumentError('capacity', 'an integer >= 1', capacity);
    if (typeof gapTimeoutMs !== 'number' || !(gapTimeoutMs >= 0)) throw new InvalidArgumentError('gapTimeoutMs', 'milliseconds >= 0 (or Infinity)', gapTimeoutMs);
    if (typeof options.deliver !== 'function') throw new InvalidArgumentError('deliver', 'a function', options.deliver);
    checkSeq('firstSeq', firstSeq);
    this.#cap = capacity;
    this.#deliver = options.deliver;
    this.#discard = options.discard;
    this.#discardReason = options.discardReason;
    this.#onError = options.onError;
    this.#gapMs = gapTimeoutMs;
    this.#clock = options.clock ?? realClock;
    this.#state = new Uint8Array(capacity);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#reasons = new Array<R | undefined>(capacity).fill(undefined);
    this.#settledAt = new Float64Array(capacity);
    this.#order = new Float64Array(2 * capacity);
    this.#head = this.#low = this.#next = firstSeq;
  }

  /** The bound: most entries in the window. */
  get capacity(): number { return this.#cap; }
  /** The seq the next successful {@link Resequencer.reserve} hands out. */
  get nextSeq(): number { return this.#next; }
  /** Whether the window is full (`reserve()` would return `undefined`). */
  get isFull(): boolean { return this.#next - this.#head >= this.#cap; }
  /** Seqs reserved and neither settled nor given up. */
  get inFlight(): number { return this.#inFlight; }
  /** Seqs settled (or given up) and waiting for delivery. */
  get depth(): number { return this.#next - this.#head - this.#inFlight; }

  /**
   * Takes the next seq for a frame entering the head.
   * @returns the seq, or `undefined` when the window is full (take no frame now)
   */
  reserve(): number | undefined {
    if (this.#next - this.#head >= this.#cap) return undefined;
    const seq = this.#next++;
    this.#state[seq % this.#cap] = PENDING;
    this.#inFlight++;
    return seq;
  }

  /**
   * The head's result for `seq`. Delivers at once (see the module comment) when it is next.
   * A seq already given up or made stale by a reset: `value` goes to `discard` instead.
   * @param seq - a seq from {@link Resequencer.reserve}
   * @param value - the result
   * @throws {InvalidArgumentError} (argument `seq`) when `seq` was never reserved or is already settled
   */
  complete(seq: number, value: T): void {
    if (this.#stale.delete(seq)) {
      this.#m.late++;
      this.#callDiscard(value, seq);
      return;
    }
    const i = this.#pendingSlot(seq);
    this.#values[i] = value;
    this.#settle(seq, i, VALUE);
  }

  /**
   * The head dropped or failed `seq`: it is delivered in order as a `tombstone` item, never
   * waited for. For a seq already given up or made stale, nothing happens.
   * @param seq - a seq from {@link Resequencer.reserve}
   * @param reason - why (handed to the tail)
   * @throws {InvalidArgumentError} (argument `seq`) when `seq` was never reserved or is already settled
   */
  tombstone(seq: number, reason: R): void {
    if (this.#stale.delete(seq)) { this.#callDiscardReason(reason, seq); return; }
    const i = this.#pendingSlot(seq);
    this.#reasons[i] = reason;
    this.#settle(seq, i, TOMB);
  }

  /**
   * Resolves when every seq reserved before this call has been delivered (as a value,
   * tombstone or gap) and the tail's last delivery has settled; at once when that is already
   * so. While it is pending, a seq it covers that has not settled `gapTimeoutMs` after the
   * call is given up, so a drain ends within `gapTimeoutMs` plus the tail's time (never with
   * `gapTimeoutMs: Infinity` and a head that never settles). Nothing buffered is lost. A
   * {@link Resequencer.reset} meanwhile resolves it once the tail is idle. Never rejects.
   */
  drain(): Promise<void> {
    if (!this.#busy && this.#head >= this.#next) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#drains.push({ target: this.#next, since: this.#clock.now(), resolve });
      this.#rearm();
      this.#pump();
    });
  }

  /**
   * Resolves when the window is not full (at once when it is not); never rejects.
   */
  whenNotFull(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    if (!this.#space) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => { resolve = r; });
      this.#space = { promise, resolve };
    }
    return this.#space.promise;
  }

  /**
   * For a feed restart: every value buffered is passed to `discard`, every seq in flight
   * becomes stale (its later value goes to `discard`, its later tombstone is dropped), the
   * gap timer is cleared and the window is empty. Seq numbering continues (seq is dense per
   * feed) unless `options.nextSeq` says otherwise. A delivery the tail is running is not
   * cancelled; the next one waits for it as usual. Pending drains resolve once the tail is idle.
   * @param options - see {@link ResequencerResetOptions}
   * @throws {InvalidArgumentError} (argument `nextSeq`) when `nextSeq` is not a non-negative safe integer or is at or below a stale seq still due
   */
  reset(options: ResequencerResetOptions = {}): void {
    const from = this.#head;
    const to = this.#next;
    const cap = this.#cap;
    let nextSeq = to;
    if (options.nextSeq !== undefined) {
      checkSeq('nextSeq', options.nextSeq);
      nextSeq = options.nextSeq;
      if (nextSeq < to) {
        let maxStale = -1;
        for (const s of this.#stale) if (s > maxStale) maxStale = s;
        for (let s = from; s < to; s++) if (this.#state[s % cap] === PENDING) maxStale = Math.max(maxStale, s);
        if (maxStale >= nextSeq) throw new InvalidArgumentError('nextSeq', `a seq above the stale seq ${maxStale} still due`, nextSeq);
      }
    }
    let dropped: [T, number][] | undefined;
    let droppedReasons: [R, number][] | undefined;
    for (let s = from; s < to; s++) {
      const i = s % cap;
      const st = this.#state[i];
      if (st === PENDING) this.#stale.add(s);
      else if (st === VALUE) (dropped ??= []).push([this.#values[i] as T, s]);
      else if (st === TOMB) (droppedReasons ??= []).push([this.#reasons[i] as R, s]);
      this.#state[i] = EMPTY;
      this.#values[i] = undefined;
      this.#reasons[i] = undefined;
    }
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#orderHead = this.#orderLen = 0;
    this.#inFlight = 0;
    this.#head = this.#low = this.#next = nextSeq;
    for (const d of this.#drains) d.target = Math.min(d.target, nextSeq);
    if (dropped) {
      this.#m.onReset += dropped.length;
      for (const [v, s] of dropped) this.#callDiscard(v, s);
    }
    if (droppedReasons) for (const [r, s] of droppedReasons) this.#callDiscardReason(r, s);
    this.#pump();
  }

  /** @returns a metrics snapshot */
  stats(): ResequencerStats {
    const m = this.#m;
    return {
      capacity: this.#cap, nextSeq: this.#next, inFlight: this.#inFlight, depth: this.depth, maxDepthSeen: m.maxDepth,
      delivered: m.delivered, tombstones: m.tombstones, gapTimeouts: m.gaps, discardedLate: m.late, discardedOnReset: m.onReset,
      stale: this.#stale.size, callbackErrors: m.errors,
      reorderWait: { count: m.waitCount, totalMs: m.waitTotal, maxMs: m.waitMax },
    };
  }

  /** The slot of a reserved, unsettled seq; throws otherwise. */
  #pendingSlot(seq: number): number {
    checkSeq('seq', seq);
    if (seq < this.#head || seq >= this.#next) {
      throw new InvalidArgumentError('seq', seq >= this.#next ? `a reserved seq (next is ${this.#next})` : 'a seq not yet settled (this one was delivered)', seq);
    }
    const i = seq % this.#cap;
    if (this.#state[i] !== PENDING) throw new InvalidArgumentError('seq', 'a seq not yet settled (this one is settled)', seq);
    return i;
  }

  #settle(seq: number, i: number, state: number): void {
    this.#state[i] = state;
    const now = this.#clock.now();
    this.#settledAt[i] = now;
    this.#inFlight--;
    this.#popOrder();
    const cap2 = this.#order.length;
    this.#order[(this.#orderHead + this.#orderLen) % cap2] = seq;
    this.#orderLen++;
    if (seq === this.#low) this.#advanceLow();
    this.#rearm();
    this.#pump();
  }

  #advanceLow(): void {
    const cap = this.#cap;
    while (this.#low < this.#next && this.#state[this.#low % cap] !== PENDING) this.#low++;
  }

  /** Drops settle-order entries at or below #low (delivered or irrelevant to the gap deadline). */
  #popOrder(): void {
    const cap2 = this.#order.length;
    while (this.#orderLen > 0 && this.#order[this.#orderHead]! <= this.#low) {
      this.#orderHead = (this.#orderHead + 1) % cap2;
      this.#orderLen--;
    }
  }

  /** When #low is to be given up, or undefined when nothing waits behind it. */
  #gapDeadline(): number | undefined {
    if (this.#gapMs === Infinity || this.#low >= this.#next) return undefined;
    this.#popOrder();
    let since = this.#orderLen > 0 ? this.#settledAt[this.#order[this.#orderHead]! % this.#cap]! : Infinity;
    for (const d of this.#drains) {
      if (d.target > this.#low) { if (d.since < since) since = d.since; break; }
    }
    return since === Infinity ? undefined : since + this.#gapMs;
  }

  /** Gives up whatever is due now and (re)sets the one gap timer for the next deadline. */
  #rearm(): void {
    for (;;) {
      const at = this.#gapDeadline();
      if (at === undefined) {
        this.#clock.clearTimeout(this.#timer);
        this.#timer = undefined;
        return;
      }
      const now = this.#clock.now();
      if (at <= now) { this.#giveUp(); continue; }
      if (this.#timer !== undefined && this.#timerAt === at) return;
      this.#clock.clearTimeout(this.#timer);
      this.#timerAt = at;
      this.#timer = this.#clock.setTimeout(this.#onTimer, at - now);
      return;
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#rearm();
    this.#pump();
  };

  #giveUp(): void {
    const seq = this.#low;
    this.#state[seq % this.#cap] = GAP;
    this.#stale.add(seq);
    this.#inFlight--;
    this.#m.gaps++;
    this.#advanceLow();
  }

  /** Hands ready items to the tail in order while it is idle. Never recurses. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const cap = this.#cap;
      while (!this.#busy && this.#head < this.#low) {
        const seq = this.#head;
        const i = seq % cap;
        const st = this.#state[i];
        let item: ResequencedItem<T, R>;
        if (st === VALUE) {
          item = { seq, kind: 'value', value: this.#values[i] as T };
          const w = this.#clock.now() - this.#settledAt[i]!;
          this.#m.waitCount++;
          this.#m.waitTotal += w;
          if (w > this.#m.waitMax) this.#m.waitMax = w;
        } else if (st === TOMB) {
          item = { seq, kind: 'tombstone', reason: this.#reasons[i] as R };
          this.#m.tombstones++;
        } else {
          item = { seq, kind: 'gap' };
        }
        this.#state[i] = EMPTY;
        this.#values[i] = undefined;
        this.#reasons[i] = undefined;
        this.#head = seq + 1;
        this.#m.delivered++;
        let r: void | PromiseLike<void>;
        try { r = this.#deliver(item); } catch (e) { this.#fail(e, seq); continue; }
        if (isThenable(r)) {
          this.#busy = true;
          r.then(this.#tailDone, (e: unknown) => { this.#fail(e, seq); this.#tailDone(); });
        }
      }
    } finally {
      this.#pumping = false;
    }
    const depth = this.depth;
    if (depth > this.#m.maxDepth) this.#m.maxDepth = depth;
    if (this.#space && !this.isFull) {
      const { resolve } = this.#space;
      this.#space = undefined;
      resolve();
    }
    if (!this.#busy) {
      while (this.#drains.length > 0 && this.#drains[0]!.target <= this.#head) this.#drains.shift()!.resolve();
    }
  }

  readonly #tailDone = (): void => {
    this.#busy = false;
    this.#pump();
  };

  #fail(e: unknown, seq: number): void {
    this.#m.errors++;
    try { this.#onError?.(e, seq); } catch { /* an error handler that throws has nowhere left to report */ }
  }

  #callDiscardReason(reason: R, seq: number): void {
    if (!this.#discardReason) return;
    try { this.#discardReason(reason, seq); } catch (e) { this.#fail(e, seq); }
  }

  #callDiscard(value: T, seq: number): void {
    if (!this.#discard) return;
    try { this.#discard(value, seq); } catch (e) { this.#fail(e, seq); }
  }
}
