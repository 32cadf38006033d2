/**
 * A controllable monotonic clock for deterministic tests.
 */
import { InvalidArgumentError, NS_PER_MS, NS_PER_SEC, monotonicTs, type MonotonicTs } from '@nv/core';

/**
 * A clock that only moves when told to. Times are nanoseconds, like frame timestamps.
 *
 * @example
 * ```ts
 * const clock = new TestClock();
 * const ts = clock.tickAtFps(25); // 0, then 40 ms, 80 ms… on each call
 * clock.advanceMs(500);
 * ```
 */
export class TestClock {
  #now: number;
  #lastTick: number | undefined;

  /** @param startNs - initial time (default 0) */
  constructor(startNs = 0) {
    if (!Number.isFinite(startNs) || startNs < 0) throw new InvalidArgumentError('startNs', 'finite nanoseconds >= 0', startNs);
    this.#now = startNs;
  }
  /** Current time. */
  now(): MonotonicTs { return monotonicTs(this.#now); }
  /** A function reading this clock in ns, e.g. for `runStages({ clock })`. */
  readonly nowNs = (): number => this.#now;
  /** Moves forward by `ns`. @throws {InvalidArgumentError} when negative */
  advanceNs(ns: number): MonotonicTs {
    if (!Number.isFinite(ns) || ns < 0) throw new InvalidArgumentError('ns', 'finite nanoseconds >= 0 (clocks do not go back)', ns);
    this.#now += ns;
    return this.now();
  }
  /** Moves forward by `ms` milliseconds. */
  advanceMs(ms: number): MonotonicTs { return this.advanceNs(ms * NS_PER_MS); }
  /** Moves forward by `s` seconds. */
  advanceSecs(s: number): MonotonicTs { return this.advanceNs(s * NS_PER_SEC); }
  /**
   * The timestamp of the next frame at `fps`: the current time on the first call, then one
   * frame interval later on each further call.
   * @throws {InvalidArgumentError} when `fps` is not positive
   */
  tickAtFps(fps: number): MonotonicTs {
    if (!(fps > 0) || !Number.isFinite(fps)) throw new InvalidArgumentError('fps', 'a positive number', fps);
    if (this.#lastTick !== undefined) this.advanceNs(NS_PER_SEC / fps);
    this.#lastTick = this.#now;
    return this.now();
  }
}
