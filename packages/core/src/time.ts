/**
 * Timestamps and durations.
 *
 * - {@link MonotonicTs}: nanoseconds since the feed (session) started, from the media clock
 *   (buffer PTS). Monotonic within a session; never compared across feeds.
 * - {@link WallTs}: microseconds since the Unix epoch, from the host clock, for display and
 *   correlation with the outside world.
 * - {@link DurationNs}: a span in nanoseconds.
 *
 * All are plain numbers at run time. A double holds integer nanoseconds exactly up to
 * 2^53 ns ≈ 104 days of continuous session time; past that, precision degrades to 2 ns,
 * then 4 ns…, which is still far below a frame interval.
 */
import type { Brand } from './ids.js';
import { InvalidArgumentError } from './errors.js';

/** Nanoseconds since feed start (media clock). */
export type MonotonicTs = Brand<number, 'MonotonicTs'>;
/** Microseconds since the Unix epoch (host clock). */
export type WallTs = Brand<number, 'WallTs'>;
/** A duration in nanoseconds. */
export type DurationNs = Brand<number, 'DurationNs'>;

/** Nanoseconds per unit. */
export const NS_PER_US = 1_000;
/** Nanoseconds per millisecond. */
export const NS_PER_MS = 1_000_000;
/** Nanoseconds per second. */
export const NS_PER_SEC = 1_000_000_000;

/**
 * @param ns - non-negative finite nanoseconds
 * @returns a {@link MonotonicTs}
 * @throws {InvalidArgumentError} for negative, NaN or infinite values
 */
export function monotonicTs(ns: number): MonotonicTs {
  if (!Number.isFinite(ns) || ns < 0) throw new InvalidArgumentError('monotonicTs', 'finite nanoseconds >= 0', ns);
  return ns as MonotonicTs;
}
/** The start of a feed. */
export const MONOTONIC_ZERO = 0 as MonotonicTs;

/**
 * @param us - finite microseconds since the Unix epoch
 * @throws {InvalidArgumentError} for NaN or infinite values
 */
export function wallTs(us: number): WallTs {
  if (!Number.isFinite(us)) throw new InvalidArgumentError('wallTs', 'finite microseconds since epoch', us);
  return us as WallTs;
}
/** Wall clock now, in microseconds since the Unix epoch. */
export function wallNow(): WallTs { return Math.round((performance.timeOrigin + performance.now()) * 1000) as WallTs; }

/**
 * @param ns - non-negative finite nanoseconds
 * @throws {InvalidArgumentError} for negative, NaN or infinite values
 */
export function durationNs(ns: number): DurationNs {
  if (!Number.isFinite(ns) || ns < 0) throw new InvalidArgumentError('duration', 'finite nanoseconds >= 0', ns);
  return ns as DurationNs;
}
/** @param ms - milliseconds @returns the same span in ns */
export function durationMs(ms: number): DurationNs { return durationNs(ms * NS_PER_MS); }
/** @param s - seconds @returns the same span in ns */
export function durationSecs(s: number): DurationNs { return durationNs(s * NS_PER_SEC); }

/** `later - earlier`, or `undefined` when `earlier` is after `later`. */
export function checkedSince(later: MonotonicTs, earlier: MonotonicTs): DurationNs | undefined {
  return later >= earlier ? ((later - earlier) as DurationNs) : undefined;
}
/** `later - earlier`, clamped at 0. */
export function saturatingSince(later: MonotonicTs, earlier: MonotonicTs): DurationNs {
  return Math.max(0, later - earlier) as DurationNs;
}
/** `ts + d`. */
export function addDuration(ts: MonotonicTs, d: DurationNs): MonotonicTs { return (ts + d) as MonotonicTs; }
/** ns → seconds. */
export function nsToSecs(ns: number): number { return ns / NS_PER_SEC; }

/** Human-readable duration: `1.5s`, `12.3ms`, `40µs`, `7ns`. */
export function formatDuration(ns: number): string {
  if (ns >= NS_PER_SEC) return `${+(ns / NS_PER_SEC).toFixed(3)}s`;
  if (ns >= NS_PER_MS) return `${+(ns / NS_PER_MS).toFixed(3)}ms`;
  if (ns >= NS_PER_US) return `${+(ns / NS_PER_US).toFixed(3)}µs`;
  return `${ns}ns`;
}
