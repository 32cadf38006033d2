/**
 * Timestamps of nv feed outputs for cross-feed joins.
 *
 * @packageDocumentation
 */
import type { WallTs } from '@nv/core';

/**
 * Anything stamped with a wall-clock time the way nv feed outputs (`OutputEnvelope` of
 * `@nv/runtime`) and frames are: `wallTs`, µs since the Unix epoch, 0 when unknown.
 */
export interface WallClockStamped {
  /** Wall-clock time, µs since the Unix epoch (0: unknown). */
  readonly wallTs: WallTs | number;
}

/**
 * The wall-clock time of a feed output (or frame), in ms since the Unix epoch — the timestamp
 * to join **different feeds** on. An output's `ts` is its feed's own timeline (ns from that
 * feed's first frame, each feed starting at 0), so two feeds' `ts` values cannot be compared;
 * their `wallTs`, stamped by the host clock when the frame was handed over, can. Outputs of one
 * feed have non-decreasing wall clocks unless the host clock is stepped; an output that goes back
 * is dropped by the synchronizer (`outOfOrder`), never thrown.
 *
 * @param output - a value with `wallTs` (µs since the epoch)
 * @returns ms since the epoch, or `NaN` when `wallTs` is 0 (unknown, e.g. synthetic frames) or
 *   not finite — the synchronizer drops such items as `invalid`
 *
 * @example
 * ```ts
 * import { synchronize, outputWallClockMs } from '@nv/sync';
 *
 * const joined = synchronize(
 *   { front: runtime.outputs({ feeds: [front.id] }), back: runtime.outputs({ feeds: [back.id] }) },
 *   { policy: { kind: 'realTime', toleranceMs: 20 }, timestamp: outputWallClockMs },
 * );
 * ```
 */
export function outputWallClockMs(output: WallClockStamped): number {
  const us = output.wallTs;
  return typeof us === 'number' && Number.isFinite(us) && us !== 0 ? us / 1000 : Number.NaN;
}
