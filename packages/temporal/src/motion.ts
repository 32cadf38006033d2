/**
 * Motion features of a trajectory segment: path length, net displacement, speeds, heading
 * and a stationary flag, in normalized frame units (and normalized units per second).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, NS_PER_SEC } from '@nv/core';
import { STRIDE, TS, X, Y } from './point-columns.js';
import type { TrajectoryPoint } from './trajectory-point.js';

/**
 * Summary of how an object moved over a run of trajectory points.
 *
 * Distances are in normalized coordinates (fractions of the frame); speeds are normalized
 * units per second. Computed from point positions (bbox centres) and timestamps.
 */
export interface MotionFeatures {
  /** Path length: the sum of the distances between consecutive points. */
  readonly displacement: number;
  /** Straight-line distance from the first point to the last. */
  readonly netDisplacement: number;
  /** `displacement` divided by the elapsed time first → last in seconds; 0 when no time elapsed. */
  readonly meanSpeed: number;
  /** Largest speed between two consecutive points (pairs with no elapsed time are skipped). */
  readonly maxSpeed: number;
  /**
   * Heading of the net displacement, `atan2(dy, dx)` in radians (image axes: +y points down).
   * `undefined` when the net displacement is below {@link DIRECTION_EPSILON}.
   */
  readonly direction: number | undefined;
  /** Whether `meanSpeed` is below the stationary threshold. */
  readonly isStationary: boolean;
}

/** Options for {@link computeMotionFeatures} and for trajectories. */
export interface MotionOptions {
  /**
   * Mean speed (normalized units per second) below which a segment counts as stationary.
   * Finite and > 0. Default {@link DEFAULT_STATIONARY_SPEED_THRESHOLD}.
   */
  readonly stationarySpeedThreshold?: number;
}

/** Default stationary threshold: 0.005 normalized units per second. */
export const DEFAULT_STATIONARY_SPEED_THRESHOLD = 0.005;

/** Net displacements below this (normalized units) have no defined direction. */
export const DIRECTION_EPSILON = 1e-6;

/** Features of a run with fewer than two points (nothing moved). */
export const STATIONARY_MOTION: MotionFeatures = Object.freeze({
  displacement: 0,
  netDisplacement: 0,
  meanSpeed: 0,
  maxSpeed: 0,
  direction: undefined,
  isStationary: true,
});

/**
 * Validates and resolves the stationary threshold.
 * @throws {InvalidArgumentError} when not a finite number > 0
 * @internal
 */
export function resolveStationaryThreshold(opts: MotionOptions | undefined): number {
  const t = opts?.stationarySpeedThreshold;
  if (t === undefined) return DEFAULT_STATIONARY_SPEED_THRESHOLD;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new InvalidArgumentError('stationarySpeedThreshold', 'a finite number > 0', t);
  }
  return t;
}

/** Builds the frozen features from accumulated path length / max speed and the end points. @internal */
export function finishMotion(
  displacement: number, maxSpeed: number, firstTs: number, firstX: number, firstY: number, lastTs: number, lastX: number, lastY: number,
  threshold: number,
): MotionFeatures {
  const dx = lastX - firstX;
  const dy = lastY - firstY;
  const netDisplacement = Math.sqrt(dx * dx + dy * dy);
  const elapsed = (lastTs - firstTs) / NS_PER_SEC;
  const meanSpeed = elapsed > 0 ? displacement / elapsed : 0;
  return Object.freeze({
    displacement,
    netDisplacement,
    meanSpeed,
    maxSpeed,
    direction: netDisplacement >= DIRECTION_EPSILON ? Math.atan2(dy, dx) : undefined,
    isStationary: meanSpeed < threshold,
  });
}

/**
 * Motion features of rows `[start, end)` of a point buffer with at least two rows. @internal
 */
export function motionOfRows(data: Float64Array, start: number, end: number, displacement: number, maxSpeed: number, threshold: number): MotionFeatures {
  const f = start * STRIDE, l = (end - 1) * STRIDE;
  return finishMotion(displacement, maxSpeed, data[f + TS]!, data[f + X]!, data[f + Y]!, data[l + TS]!, data[l + X]!, data[l + Y]!, threshold);
}

/**
 * Computes motion features of `points` (oldest first) from scratch, O(n).
 *
 * @param points - trajectory points, oldest first; fewer than two give {@link STATIONARY_MOTION}
 * @param opts - stationary threshold
 * @returns frozen features
 * @throws {InvalidArgumentError} on a bad threshold
 * @example
 * ```ts
 * const f = computeMotionFeatures([p(0 s, 0.1, 0.5), p(1 s, 0.4, 0.5)]);
 * f.displacement // 0.3; f.meanSpeed // 0.3 per s; f.direction // 0 (moving right)
 * ```
 */
export function computeMotionFeatures(points: readonly TrajectoryPoint[], opts?: MotionOptions): MotionFeatures {
  const threshold = resolveStationaryThreshold(opts);
  if (points.length < 2) return STATIONARY_MOTION;
  const rows = new Float64Array(points.length * STRIDE);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    rows[i * STRIDE + TS] = p.ts;
    rows[i * STRIDE + X] = p.position.x;
    rows[i * STRIDE + Y] = p.position.y;
  }
  const acc = new MotionAccumulator(threshold);
  acc.recompute(rows, 0, points.length);
  return motionOfRows(rows, 0, points.length, acc.displacement, acc.maxSpeed, threshold);
}

/**
 * Incremental trims allowed per point of the window before an exact recomputation: bounds the
 * rounding drift of the running path length (≈ 1e-13 absolute at 4 × 1000 trims) while keeping
 * full passes over old, uncached points rare.
 * @internal
 */
export const DRIFT_TRIMS_PER_POINT = 4;

/**
 * Running motion state of one segment over rows `[start, end)` of its point buffer: O(1) per
 * appended point, O(1) amortized per point trimmed from the front, exact recomputation when
 * needed.
 *
 * Appending adds the new step in the same order as a full computation, so an append-only run
 * gives bit-identical results. Trimming subtracts the removed steps; when the last step
 * carrying the maximum speed leaves, or after {@link DRIFT_TRIMS_PER_POINT} times as many
 * incremental trims as there are points (bounding rounding drift), the state is recomputed
 * exactly (a pass over every point of the window).
 *
 * @internal
 */
export class MotionAccumulator {
  #displacement = 0;
  #maxSpeed = 0;
  /** Steps in the window whose speed equals `#maxSpeed`. */
  #maxCount = 0;
  #trims = 0;
  /** Stationary speed threshold (normalized units per second) used when finishing the features. */
  readonly threshold: number;

  /** @param threshold - stationary speed threshold (already validated) */
  constructor(threshold: number) {
    this.threshold = threshold;
  }

  /**
   * An accumulator in the given running state (what {@link MotionAccumulator.maxCount} and
   * {@link MotionAccumulator.trims} report, with the sums): a capture settles its pending trims on one.
   */
  static restore(threshold: number, displacement: number, maxSpeed: number, maxCount: number, trims: number): MotionAccumulator {
    const c = new MotionAccumulator(threshold);
    c.#displacement = displacement;
    c.#maxSpeed = maxSpeed;
    c.#maxCount = maxCount;
    c.#trims = trims;
    return c;
  }

  /** Resets to the empty state. */
  reset(): void {
    this.#displacement = 0;
    this.#maxSpeed = 0;
    this.#maxCount = 0;
    this.#trims = 0;
  }

  /** Accounts for the step from point (prevTs, prevX, prevY) to the appended point (ts, x, y). */
  push(prevTs: number, prevX: number, prevY: number, ts: number, x: number, y: number): void {
    const dx = x - prevX, dy = y - prevY;
    const d = Math.sqrt(dx * dx + dy * dy);
    this.#displacement += d;
    const dt = (ts - prevTs) / NS_PER_SEC;
    if (dt > 0) {
      const v = d / dt;
      if (v > this.#maxSpeed) {
        this.#maxSpeed = v;
        this.#maxCount = 1;
      } else if (v === this.#maxSpeed && v > 0) this.#maxCount++;
    }
  }

  /** Accounts for removing rows `[start, start + n)` from the window `[start, end)` of `data`. */
  trimFront(data: Float64Array, start: number, end: number, n: number): void {
    const remaining = end - start - n;
    if (remaining < 2) {
      this.reset();
      return;
    }
    let exact = false;
    for (let i = start; i < start + n; i++) {
      const a = i * STRIDE, b = a + STRIDE;
      const d = stepLength(data, a, b);
      this.#displacement -= d;
      const dt = (data[b + TS]! - data[a + TS]!) / NS_PER_SEC;
      if (dt > 0 && this.#maxSpeed > 0 && d / dt === this.#maxSpeed && --this.#maxCount === 0) exact = true;
    }
    this.#trims += n;
    if (exact || this.#trims >= DRIFT_TRIMS_PER_POINT * remaining) this.recompute(data, start + n, end);
    else if (this.#displacement < 0) this.#displacement = 0;
  }

  /** Recomputes exactly from rows `[start, end)` of `data`. */
  recompute(data: Float64Array, start: number, end: number): void {
    this.#trims = 0;
    let displacement = 0;
    let maxSpeed = 0;
    let maxCount = 0;
    for (let i = start + 1; i < end; i++) {
      const b = i * STRIDE, a = b - STRIDE;
      const d = stepLength(data, a, b);
      displacement += d;
      const dt = (data[b + TS]! - data[a + TS]!) / NS_PER_SEC;
      if (dt > 0) {
        const v = d / dt;
        if (v > maxSpeed) {
          maxSpeed = v;
          maxCount = 1;
        } else if (v === maxSpeed && v > 0) maxCount++;
      }
    }
    this.#displacement = displacement;
    this.#maxSpeed = maxSpeed;
    this.#maxCount = maxCount;
  }

  /** Path length of the window. */
  get displacement(): number { return this.#displacement; }
  /** Maximum step speed of the window. */
  get maxSpeed(): number { return this.#maxSpeed; }
  /** Steps whose speed equals the maximum. */
  get maxCount(): number { return this.#maxCount; }
  /** Incremental trims since the last exact recomputation. */
  get trims(): number { return this.#trims; }
}

/** Distance between the positions of the rows at float offsets `a` and `b` (sqrt: faster than Math.hypot; no overflow at these magnitudes). */
function stepLength(data: Float64Array, a: number, b: number): number {
  const dx = data[b + X]! - data[a + X]!, dy = data[b + Y]! - data[a + Y]!;
  return Math.sqrt(dx * dx + dy * dy);
}
