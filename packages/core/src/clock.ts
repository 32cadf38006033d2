/**
 * Host time, injectable: what the runtime's watchdogs, throttles, restart windows and delays,
 * deadlines and the view poll deadline read and schedule with. Production uses
 * {@link realClock}; tests pass a {@link ManualClock} and move time themselves, so a watchdog,
 * a one-per-second throttle or a 2 s restart delay is tested in microseconds and never depends
 * on how loaded the machine is.
 *
 * This is the host's monotonic clock (milliseconds, like `performance.now()`), never media
 * time: frame timestamps (`MonotonicTs`) come from the source.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from './errors.js';

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type ClockTimer = object;

/** Options of {@link Clock.setTimeout}. */
export interface ClockTimerOptions {
  /**
   * The timer does not keep the process alive by itself (Node's `timer.unref()`), for
   * housekeeping timers. Ignored by clocks that have no such notion. Default false.
   */
  readonly unref?: boolean;
}

/**
 * A monotonic clock with one-shot timers.
 *
 * @example
 * ```ts
 * const rt = new Runtime({ clock: new ManualClock() }); // tests: time moves only when told to
 * ```
 */
export interface Clock {
  /**
   * The current time in milliseconds (monotonic; the origin is the clock's own).
   * @returns milliseconds, never less than a value returned before
   */
  now(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now (at once-ish for `ms <= 0`, never synchronously).
   * @param fn - what to call
   * @param ms - delay in milliseconds
   * @param options - see {@link ClockTimerOptions}
   * @returns a handle for {@link Clock.clearTimeout}
   */
  setTimeout(fn: () => void, ms: number, options?: ClockTimerOptions): ClockTimer;
  /**
   * Cancels a timer (no effect when it already fired, was cancelled, or is `undefined`).
   * @param timer - a handle from {@link Clock.setTimeout}
   */
  clearTimeout(timer: ClockTimer | undefined): void;
}

/**
 * Real time: `performance.now()` and the host's timers.
 * @example
 * ```ts
 * const t = realClock.setTimeout(() => console.log('1 s later'), 1000);
 * realClock.clearTimeout(t);
 * ```
 */
export const realClock: Clock = Object.freeze({
  now: (): number => performance.now(),
  setTimeout: (fn: () => void, ms: number, options?: ClockTimerOptions): ClockTimer => {
    const t = setTimeout(fn, Math.max(0, ms));
    if (options?.unref) (t as { unref?: () => void }).unref?.();
    return t as unknown as ClockTimer;
  },
  clearTimeout: (timer: ClockTimer | undefined): void => {
    if (timer !== undefined) clearTimeout(timer as unknown as ReturnType<typeof setTimeout>);
  },
});

interface ManualTimer {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
}

/**
 * A {@link Clock} that only moves when told to: {@link ManualClock.advance} moves the time
 * forward and runs, synchronously and in due order, every timer that falls due on the way
 * (each seeing `now()` equal to its own due time; timers set meanwhile run too if they fall
 * due before the target). Promise continuations of what they wake run afterwards, as usual.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.setTimeout(() => console.log('fired at', clock.now()), 1000);
 * clock.advance(999); // nothing
 * clock.advance(1);   // "fired at 1000"
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  readonly #timers = new Map<ClockTimer, ManualTimer>();

  /**
   * @param startMs - the initial time (default 0)
   * @throws {InvalidArgumentError} when `startMs` is not a finite number ≥ 0
   */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs) || startMs < 0) throw new InvalidArgumentError('startMs', 'finite milliseconds >= 0', startMs);
    this.#now = startMs;
  }

  /** {@inheritDoc Clock.now} */
  now(): number { return this.#now; }

  /** {@inheritDoc Clock.setTimeout} */
  setTimeout(fn: () => void, ms: number, _options?: ClockTimerOptions): ClockTimer {
    const handle: ClockTimer = Object.freeze({});
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.set(handle, { at: this.#now + delay, order: this.#order++, fn });
    return handle;
  }

  /** {@inheritDoc Clock.clearTimeout} */
  clearTimeout(timer: ClockTimer | undefined): void {
    if (timer !== undefined) this.#timers.delete(timer);
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number { return this.#timers.size; }

  /** When the next timer falls due (ms), or `undefined` when none is set. */
  nextDue(): number | undefined {
    return this.#next()?.[1].at;
  }

  /**
   * Moves the time forward by `ms`, running every timer that falls due meanwhile (in due order).
   * A timer that throws does not stop the others; the first error is rethrown at the end.
   * @param ms - milliseconds (≥ 0)
   * @returns the new time
   * @throws {InvalidArgumentError} when `ms` is negative or not finite
   */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('ms', 'finite milliseconds >= 0 (clocks do not go back)', ms);
    const target = this.#now + ms;
    let failed = false;
    let first: unknown;
    for (;;) {
      const n = this.#next();
      if (!n || n[1].at > target) break;
      this.#timers.delete(n[0]);
      this.#now = Math.max(this.#now, n[1].at);
      try { n[1].fn(); } catch (e) { if (!failed) { failed = true; first = e; } }
    }
    this.#now = target;
    if (failed) throw first;
    return target;
  }

  /**
   * Moves the time to the next timer's due time and runs the timers due then.
   * @returns the new time, or `undefined` when no timer is set (time unchanged)
   */
  advanceToNext(): number | undefined {
    const at = this.nextDue();
    if (at === undefined) return undefined;
    return this.advance(Math.max(0, at - this.#now));
  }

  #next(): [ClockTimer, ManualTimer] | undefined {
    let best: [ClockTimer, ManualTimer] | undefined;
    for (const e of this.#timers) {
      if (!best || e[1].at < best[1].at || (e[1].at === best[1].at && e[1].order < best[1].order)) best = e;
    }
    return best;
  }
}
