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
  return makePoint(ts, point2Unbounded((bbox.xMin + bbox.xMax) / 2, (bbox.yMin + bbox.yMax) / 2), bbox).publish();
}

/**
 * A point as a trajectory stores it: never mutated, frozen (with its position) when it is
 * first handed out — see {@link publishPoint}. Freezing on every append would cost more than
 * the rest of the append.
 * @internal
 */
export class StoredPoint implements TrajectoryPoint {
  constructor(readonly ts: MonotonicTs, readonly position: Point2, readonly bbox: BBox) {}

  /** Freezes the point and its position (once). @returns this */
  publish(): this {
    if (!Object.isFrozen(this)) {
      Object.freeze(this.position);
      Object.freeze(this);
    }
    return this;
  }
}

/** Unchecked constructor for already-validated parts (the point is frozen when published). @internal */
export function makePoint(ts: MonotonicTs, position: Point2, bbox: BBox): StoredPoint {
  return new StoredPoint(ts, position, bbox);
}

/** Freezes a stored point before it leaves the package (points given frozen are returned as they are). @internal */
export function publishPoint<P extends TrajectoryPoint | undefined>(p: P): P {
  if (p instanceof StoredPoint) p.publish();
  return p;
}
