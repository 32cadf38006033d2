/**
 * View epoch and view version counters.
 *
 * - {@link ViewEpoch} counts view *discontinuities*: it moves forward when the epoch policy
 *   segments (a large camera move, a preset recall) and on every feed restart. Data bound to
 *   an older epoch describes a different scene layout and must not be compared spatially.
 * - {@link ViewVersion} counts view-state *updates*: it moves forward whenever any field of
 *   the view state changes, including within one epoch. Comparing versions is a cheap
 *   staleness test that avoids deep comparison of view states.
 *
 * Both are non-negative safe integers at run time, branded so they cannot be mixed up.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { Brand } from '@nv/core';

/** Monotonic counter of view discontinuities (segmentations and feed restarts). Starts at 0. */
export type ViewEpoch = Brand<number, 'ViewEpoch'>;
/** Monotonic counter of view-state updates, incremented even within one epoch. Starts at 0. */
export type ViewVersion = Brand<number, 'ViewVersion'>;

function checkCounter(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(name, 'a non-negative safe integer', n);
}

/**
 * Validating constructor for {@link ViewEpoch}.
 * @param n - non-negative safe integer
 * @returns `n` as a {@link ViewEpoch}
 * @throws {InvalidArgumentError} when `n` is not a non-negative safe integer
 * @example `nextEpoch(viewEpoch(2)) // 3`
 */
export function viewEpoch(n: number): ViewEpoch {
  checkCounter('viewEpoch', n);
  return n as ViewEpoch;
}

/**
 * Validating constructor for {@link ViewVersion}.
 * @param n - non-negative safe integer
 * @returns `n` as a {@link ViewVersion}
 * @throws {InvalidArgumentError} when `n` is not a non-negative safe integer
 * @example `versionsSince(viewVersion(5), viewVersion(2)) // 3`
 */
export function viewVersion(n: number): ViewVersion {
  checkCounter('viewVersion', n);
  return n as ViewVersion;
}

/** The epoch a feed session starts in (0). */
export const INITIAL_VIEW_EPOCH: ViewEpoch = 0 as ViewEpoch;
/** The view version a feed session starts at (0). */
export const INITIAL_VIEW_VERSION: ViewVersion = 0 as ViewVersion;

/**
 * The epoch following `e`.
 * @param e - current epoch
 * @returns the epoch after `e`
 * @throws {InvalidArgumentError} when `e` is not a valid epoch or `e + 1` would exceed the safe-integer range
 */
export function nextEpoch(e: ViewEpoch): ViewEpoch {
  return viewEpoch(e + 1);
}

/**
 * The version following `v`.
 * @param v - current version
 * @returns the version after `v`
 * @throws {InvalidArgumentError} when `v` is not a valid version or `v + 1` would exceed the safe-integer range
 */
export function nextVersion(v: ViewVersion): ViewVersion {
  return viewVersion(v + 1);
}

/**
 * Number of version increments from `earlier` to `current`, saturating at 0 (a `current`
 * that is not after `earlier` gives 0).
 *
 * @param current - the newer version (typically the live view's)
 * @param earlier - the older version (typically the one data was bound at)
 * @returns `max(0, current - earlier)`
 * @example `versionsSince(viewVersion(5), viewVersion(2)) // 3; versionsSince(viewVersion(2), viewVersion(5)) // 0`
 */
export function versionsSince(current: ViewVersion, earlier: ViewVersion): number {
  return Math.max(0, current - earlier);
}

/**
 * Number of epoch increments from `earlier` to `current`, saturating at 0.
 *
 * @param current - the newer epoch
 * @param earlier - the older epoch
 * @returns `max(0, current - earlier)`
 */
export function epochsSince(current: ViewEpoch, earlier: ViewEpoch): number {
  return Math.max(0, current - earlier);
}

/** `epoch-N` */
export function formatViewEpoch(e: ViewEpoch): string { return `epoch-${e}`; }
/** `vN` */
export function formatViewVersion(v: ViewVersion): string { return `v${v}`; }

/**
 * Companion namespace for {@link ViewEpoch} (`ViewEpoch.INITIAL`, `ViewEpoch.of(n)`, `ViewEpoch.next(e)`).
 * Same functions as the free-standing exports.
 */
export const ViewEpoch = Object.freeze({
  /** The initial epoch (0). */
  INITIAL: INITIAL_VIEW_EPOCH,
  /** See {@link viewEpoch}. */
  of: viewEpoch,
  /** See {@link nextEpoch}. */
  next: nextEpoch,
});

/**
 * Companion namespace for {@link ViewVersion} (`ViewVersion.INITIAL`, `ViewVersion.of(n)`,
 * `ViewVersion.next(v)`, `ViewVersion.since(current, earlier)`).
 */
export const ViewVersion = Object.freeze({
  /** The initial version (0). */
  INITIAL: INITIAL_VIEW_VERSION,
  /** See {@link viewVersion}. */
  of: viewVersion,
  /** See {@link nextVersion}. */
  next: nextVersion,
  /** See {@link versionsSince}. */
  since: versionsSince,
});
