/**
 * The feed timeline: maps each frame's raw source timestamp and counter (per media session,
 * restarting at 0 on a reconnect, sometimes going backwards or repeating) onto one timeline
 * per feed that strictly increases for the feed's whole life.
 *
 * Rules (raw = the source's `ts`, last = the previous frame, interval = the median of the last
 * 8 positive raw steps, or 1 ms before there are any):
 * - first frame of the feed: ts = raw;
 * - normal step (0 < raw − lastRaw ≤ gap threshold): ts = raw + offset (the source's own spacing);
 * - `forwardGap` (step > gap threshold = max(`forwardGapMs`, 8 × interval)): ts = raw + offset —
 *   time really passed, the timeline keeps the gap;
 * - `duplicate` (step = 0), `backwardJump` (step < 0), `reconnect` (first frame of a new media
 *   session that does not continue the last one): ts = lastTs + interval, and the offset is
 *   re-based so the following frames keep the source's spacing from there.
 * A new session whose first raw timestamp does continue the last one (0 < step ≤ threshold —
 * a file resumed after the frame that made the feed restart) keeps the offset: no jump.
 * `seq` continues likewise: gaps within a session are kept (they are drops), and wherever the
 * raw counter does not move forward the feed's continues at last + 1.
 *
 * @internal
 */
import { InvalidArgumentError, NS_PER_MS, monotonicTs, type DiscontinuityKind, type MonotonicTs } from '@nv/core';

/** Positive raw steps remembered for the interval estimate. */
const RING = 8;
/** A forward step is a gap when longer than this many estimated intervals (and than `forwardGapMs`). */
const GAP_INTERVALS = 8;

/** @internal See the module comment. */
export class FeedTimeline {
  /** Feed-timeline ts of the frame last mapped. */
  ts: MonotonicTs = monotonicTs(0);
  /** Feed-timeline seq of the frame last mapped. */
  seq = 0;
  /** Raw ts of the frame before the last one mapped (the "before" of a discontinuity). */
  rawBefore = 0;
  /** Raw ts of the frame last mapped. */
  rawTs = 0;
  /** Raw seq of the frame last mapped. */
  rawSeq = 0;
  /** Media sessions so far (0 before the first frame). */
  session = 0;
  readonly #gapNs: number;
  readonly #steps = new Float64Array(RING);
  readonly #scratch = new Float64Array(RING);
  #stepCount = 0;
  #offset = 0;
  #seqOffset = 0;
  #started = false;
  #newSession = false;
  #reconnect = false;

  /** @param forwardGapMs - the smallest forward step reported as a `forwardGap` */
  constructor(forwardGapMs: number) {
    this.#gapNs = forwardGapMs * NS_PER_MS;
  }

  /**
   * The next frame starts a new media session.
   * @param reconnect - the source itself said it reconnected: the next frame is a `reconnect` even if its timestamps happen to continue
   */
  newSession(reconnect: boolean): void {
    if (!this.#started) return;
    this.#newSession = true;
    if (reconnect) this.#reconnect = true;
  }

  /** The estimated frame interval in ns: median of the recent positive raw steps, else 1 ms. */
  interval(): number {
    const n = Math.min(this.#stepCount, RING);
    if (n === 0) return NS_PER_MS;
    const a = this.#scratch.subarray(0, n);
    a.set(this.#steps.subarray(0, n));
    a.sort();
    return a[n >> 1]!;
  }

  /**
   * Maps one frame; afterwards {@link FeedTimeline.ts} and {@link FeedTimeline.seq} are its
   * feed-timeline values.
   * @param raw - the source's timestamp (ns)
   * @param rawSeq - the source's frame counter
   * @returns the discontinuity this frame follows, or undefined
   */
  map(raw: number, rawSeq: number): DiscontinuityKind | undefined {
    if (typeof raw !== 'number' || !(raw >= 0) || raw === Infinity) throw new InvalidArgumentError('frame.ts', 'finite nanoseconds >= 0 from the source', raw);
    if (typeof rawSeq !== 'number' || !Number.isSafeInteger(rawSeq) || rawSeq < 0) throw new InvalidArgumentError('frame.seq', 'a non-negative safe integer from the source', rawSeq);
    this.rawBefore = this.rawTs;
    this.rawTs = raw;
    this.rawSeq = rawSeq;
    if (!this.#started) {
      this.#started = true;
      this.session = 1;
      this.ts = monotonicTs(raw);
      this.seq = rawSeq;
      return undefined;
    }
    const lastTs = this.ts;
    const lastSeq = this.seq;
    const step = raw - this.rawBefore;
    let kind: DiscontinuityKind | undefined;
    let rebase = false;
    if (this.#newSession) {
      this.session++;
      const continues = !this.#reconnect && step > 0 && !this.#isGap(step);
      this.#newSession = false;
      this.#reconnect = false;
      if (!continues) { kind = 'reconnect'; rebase = true; }
    } else if (step === 0) {
      kind = 'duplicate'; rebase = true;
    } else if (step < 0) {
      kind = 'backwardJump'; rebase = true;
    } else if (this.#isGap(step)) {
      kind = 'forwardGap';
    }
    if (step > 0 && (kind === undefined || kind === 'forwardGap')) this.#pushStep(step);
    let ts = rebase ? lastTs + this.interval() : raw + this.#offset;
    if (!(ts > lastTs)) ts = lastTs + this.interval(); // float rounding, or a rebase that lands on lastTs
    this.#offset = ts - raw;
    this.ts = ts as MonotonicTs;
    let seq = rawSeq + this.#seqOffset;
    if (rebase || !(seq > lastSeq)) {
      seq = lastSeq + 1;
      this.#seqOffset = seq - rawSeq;
    }
    this.seq = seq;
    return kind;
  }

  /** Whether a forward step is a gap (the median is only computed for steps over `forwardGapMs`). */
  #isGap(step: number): boolean {
    if (step <= this.#gapNs) return false;
    return this.#stepCount === 0 || step > GAP_INTERVALS * this.interval();
  }

  #pushStep(step: number): void {
    this.#steps[this.#stepCount % RING] = step;
    this.#stepCount++;
  }
}

/** Jumps of one kind waiting to be reported. */
interface PendingJump { count: number; rawBefore: number; rawAfter: number; ts: MonotonicTs }

/**
 * Rate limit of `SourceDiscontinuity` events, per kind: the first at once, then at most one per
 * second carrying how many jumps it stands for and the raw values of the latest. `reconnect`s are
 * rare and each matters: never limited.
 * @internal
 */
export class DiscontinuityReporter {
  readonly #emit: (kind: DiscontinuityKind, j: PendingJump) => void;
  readonly #last = new Map<DiscontinuityKind, number>();
  readonly #pending = new Map<DiscontinuityKind, PendingJump>();

  /** @param emit - called with each event to emit */
  constructor(emit: (kind: DiscontinuityKind, j: PendingJump) => void) { this.#emit = emit; }

  /** Records one jump at `nowMs` (performance.now()). */
  report(kind: DiscontinuityKind, rawBefore: number, rawAfter: number, ts: MonotonicTs, nowMs: number): void {
    const p = this.#pending.get(kind);
    const j: PendingJump = { count: (p?.count ?? 0) + 1, rawBefore, rawAfter, ts };
    if (kind === 'reconnect' || nowMs - (this.#last.get(kind) ?? -Infinity) >= 1000) {
      this.#pending.delete(kind);
      this.#last.set(kind, nowMs);
      this.#emit(kind, j);
    } else {
      this.#pending.set(kind, j);
    }
  }

  /** Emits what is pending: all of it when `force`, else the kinds whose second is over. */
  flush(nowMs: number, force = false): void {
    for (const [kind, j] of [...this.#pending]) {
      if (!force && nowMs - (this.#last.get(kind) ?? -Infinity) < 1000) continue;
      this.#pending.delete(kind);
      this.#last.set(kind, nowMs);
      this.#emit(kind, j);
    }
  }
}
