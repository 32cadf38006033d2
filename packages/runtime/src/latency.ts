/**
 * Fixed-bucket latency histograms: recorded on every frame without allocation, read as
 * plain snapshots by diagnostics and `@nv/metrics`.
 */

/**
 * Upper bounds of the histogram buckets, in milliseconds (an implicit last bucket holds
 * everything above the last bound). Chosen to cover a 0.05 ms no-op stage up to a 10 s stall.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
]);

/** A point-in-time copy of a {@link LatencyHistogram}. All times in milliseconds. */
export interface LatencySnapshot {
  /** Upper bounds of the finite buckets ({@link LATENCY_BUCKETS_MS}). */
  readonly boundsMs: readonly number[];
  /** Per-bucket counts (not cumulative); one more entry than `boundsMs` (the overflow bucket). */
  readonly counts: readonly number[];
  /** Number of recorded values. */
  readonly count: number;
  /** Sum of recorded values, ms. */
  readonly sumMs: number;
  /** Smallest recorded value (0 when empty), ms. */
  readonly minMs: number;
  /** Largest recorded value (0 when empty), ms. */
  readonly maxMs: number;
  /** Estimated quantiles (linear within a bucket; 0 when empty), ms. */
  readonly p50Ms: number;
  /** See `p50Ms`. */
  readonly p95Ms: number;
  /** See `p50Ms`. */
  readonly p99Ms: number;
  /** The most recent value (0 when empty), ms. */
  readonly lastMs: number;
}

/**
 * A cumulative latency histogram with fixed buckets. `record` is O(log buckets) and
 * allocates nothing.
 *
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * h.recordNs(1_500_000);
 * h.snapshot().p50Ms; // ≈ 1.5
 * ```
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;
  #last = 0;

  /** Records one value given in nanoseconds (negative and NaN values are ignored). */
  recordNs(ns: number): void { this.recordMs(ns / 1e6); }

  /** Records one value given in milliseconds (negative and NaN values are ignored). */
  recordMs(ms: number): void {
    if (!(ms >= 0)) return;
    const b = LATENCY_BUCKETS_MS;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ms <= b[mid]!) hi = mid; else lo = mid + 1;
    }
    this.#counts[lo]!++;
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    this.#last = ms;
  }

  /** Number of recorded values. */
  get count(): number { return this.#count; }

  /** Forgets everything. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0; this.#sum = 0; this.#min = Infinity; this.#max = 0; this.#last = 0;
  }

  /** A copy of the current state, with estimated quantiles. */
  snapshot(): LatencySnapshot {
    return Object.freeze({
      boundsMs: LATENCY_BUCKETS_MS,
      counts: Object.freeze(Array.from(this.#counts)),
      count: this.#count,
      sumMs: this.#sum,
      minMs: this.#count ? this.#min : 0,
      maxMs: this.#max,
      p50Ms: this.#quantile(0.5),
      p95Ms: this.#quantile(0.95),
      p99Ms: this.#quantile(0.99),
      lastMs: this.#last,
    });
  }

  #quantile(q: number): number {
    if (this.#count === 0) return 0;
    const target = q * this.#count;
    let acc = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      const c = this.#counts[i]!;
      if (c > 0 && acc + c >= target) {
        const lower = Math.max(i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!, this.#min);
        const upper = Math.min(i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : this.#max, this.#max);
        if (upper <= lower) return upper;
        return lower + ((target - acc) / c) * (upper - lower);
      }
      acc += c;
    }
    return this.#max;
  }
}
