/**
 * One point of a trajectory.
 *
 * @packageDocumentation
 */
import { BBox, InvalidArgumentError, point2Unbounded, type MonotonicTs, type Point2 } from '@nv/core';

/** A track's position at one instant: the bbox and its centre. Frozen. */
export interface TrajectoryPoint {
  /** When the position was observed (feed media clock, ns). */
  readonly ts: MonotonicTs;
  /** Centre of `bbox`, normalized (may leave [0,1] after compensation). */
  readonly position: Point2;
  /** The observed box (may leave [0,1] after compensation). */
  readonly bbox: BBox;
}

/**
 * Builds a frozen {@link TrajectoryPoint} whose position is the centre of `bbox`.
 *
 * @param ts - observation time (finite ns ≥ 0)
 * @param bbox - the observed box
 * @returns the frozen point
 * @throws {InvalidArgumentError} on a bad timestamp or a `bbox` that is not a {@link BBox}
 * @example
 * ```ts
 * trajectoryPoint(monotonicTs(0), BBox.of(0.1, 0.2, 0.3, 0.4)).position // { x: 0.2, y: 0.3 }
 * ```
 */
export function trajectoryPoint(ts: MonotonicTs, bbox: BBox): TrajectoryPoint {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) throw new InvalidArgumentError('point.ts', 'finite nanoseconds >= 0', ts);
  if (!(bbox instanceof BBox)) throw new InvalidArgumentError('point.bbox', 'a BBox', bbox);
  return makePoint(ts, point2Unbounded((bbox.xMin + bbox.xMax) / 2, (bbox.yMin + bbox.yMax) / 2), bbox);
}

/** Unchecked constructor for already-validated parts. @internal */
export function makePoint(ts: MonotonicTs, position: Point2, bbox: BBox): TrajectoryPoint {
  return Object.freeze({ ts, position, bbox });
}
