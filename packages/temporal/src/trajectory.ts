/**
 * Trajectories: a track's path, split into segments that each stay within one view epoch.
 *
 * @packageDocumentation
 */
import {
  AffineTransform2D, BBox, InvalidArgumentError, point2Unbounded, type DurationNs, type MonotonicTs, type Point2,
} from '@nv/core';
import { viewEpoch, type ViewEpoch } from '@nv/view';
import {
  MotionAccumulator, motionOfRows, resolveStationaryThreshold, STATIONARY_MOTION, type MotionFeatures, type MotionOptions,
} from './motion.js';
import { SEGMENT_BOUNDARY_KINDS, SegmentBoundary } from './segment-boundary.js';
import { PointColumns, STAMP, STRIDE, TS, X, X_MAX, X_MIN, Y, Y_MAX, Y_MIN } from './point-columns.js';
import { makePoint, type TrajectoryPoint } from './trajectory-point.js';

/**
 * A contiguous run of trajectory points within one view epoch. Read-only: every value
 * handed out (this object, `points`, each point, `motion`, boundaries, `compensation`) is
 * frozen, and describes the segment as it was when the object was obtained.
 */
export interface TrajectorySegment {
  /** The view epoch all points belong to. */
  readonly viewEpoch: ViewEpoch;
  /** The points, oldest first (frozen; materialized on first access). */
  readonly points: readonly TrajectoryPoint[];
  /** Number of points (no materialization). */
  readonly pointCount: number;
  /** Point `i` (0 = oldest), or undefined when out of range (no materialization). */
  pointAt(i: number): TrajectoryPoint | undefined;
  /** Oldest point, if any. */
  readonly firstPoint: TrajectoryPoint | undefined;
  /** Newest point, if any. */
  readonly lastPoint: TrajectoryPoint | undefined;
  /** Motion features of the points. */
  readonly motion: MotionFeatures;
  /** Why the segment was opened. */
  readonly openedBy: SegmentBoundary;
  /** Why it was closed; undefined while active. */
  readonly closedBy: SegmentBoundary | undefined;
  /**
   * The composition, in order, of every compensation applied to this segment so far
   * (`c1.then(c2)…then(cn)`); undefined when never compensated. It maps the segment's
   * coordinate frame as it was when the segment opened to its current frame.
   *
   * Its inverse recovers the as-recorded coordinates only of points appended before the
   * first compensation ({@link TrajectorySegment.compensationIndexAt} `=== 0`): a point
   * appended after compensation `k` was recorded in the already-compensated frame and has
   * since been transformed only by compensations `k+1…n`. Use
   * {@link TrajectorySegment.originalPosition} / {@link TrajectorySegment.originalPoint} /
   * {@link TrajectorySegment.restoreTransformAt} for any point.
   */
  readonly compensation: AffineTransform2D | undefined;
  /** How many compensations were applied (boxes grow under rotation with each). */
  readonly compensationCount: number;
  /**
   * How many of the segment's compensations had already been applied when point `i` was
   * appended (0…`compensationCount`); compensations after that one were applied to the point.
   *
   * @param i - point index (0 = oldest surviving point)
   * @returns the count, or undefined when `i` is out of range
   */
  compensationIndexAt(i: number): number | undefined;
  /**
   * The transform taking point `i`'s current coordinates back to the coordinates it was
   * recorded in: the inverse of the compensations applied after the point was appended
   * (`k` = {@link TrajectorySegment.compensationIndexAt}, `n` = `compensationCount`; the
   * result is `cₙ⁻¹.then(…).then(cₖ₊₁⁻¹)`, i.e. `x ↦ cum_k(cum_n⁻¹(x))`). Identity when no
   * compensation was applied after the point was appended.
   *
   * @param i - point index (0 = oldest surviving point)
   * @returns the transform, or undefined when `i` is out of range
   */
  restoreTransformAt(i: number): AffineTransform2D | undefined;
  /**
   * Point `i`'s position in the coordinates it was recorded in (exact up to rounding).
   *
   * @param i - point index (0 = oldest surviving point)
   * @returns the frozen position, or undefined when `i` is out of range
   * @example
   * ```ts
   * // commit x = 0.2; compensate translation(+0.1); commit x = 0.5
   * seg.points.map((p) => p.position.x)          // [0.3, 0.5]
   * [0, 1].map((i) => seg.originalPosition(i)!.x) // [0.2, 0.5]
   * ```
   */
  originalPosition(i: number): Point2 | undefined;
  /**
   * Point `i` in the coordinates it was recorded in: same timestamp, position as
   * {@link TrajectorySegment.originalPosition}, box mapped back through
   * {@link TrajectorySegment.restoreTransformAt} (exact for translations and scales; under
   * rotation the box is the re-bounded envelope of the compensated envelope, so it contains
   * the recorded box but is larger). The point itself when nothing was applied after it.
   *
   * @param i - point index (0 = oldest surviving point)
   * @returns the frozen point, or undefined when `i` is out of range
   */
  originalPoint(i: number): TrajectoryPoint | undefined;
  /** Whether the segment is still open. */
  readonly isActive: boolean;
  /** Time from the first to the last point; undefined with fewer than two points. */
  readonly duration: DurationNs | undefined;
}

/** Read-only view of a {@link Trajectory} (what snapshots hand out). */
export interface ReadonlyTrajectory {
  /** Segments, oldest first (frozen). The last one is active unless the track was lost or ended. */
  readonly segments: readonly TrajectorySegment[];
  /** The open segment, if any (always the last). */
  readonly activeSegment: TrajectorySegment | undefined;
  /** Points across all segments. */
  readonly totalPoints: number;
  /** Number of segments, open and closed. */
  readonly segmentCount: number;
}

const KINDS = new Set<string>(SEGMENT_BOUNDARY_KINDS);

/**
 * Validates a boundary and returns the canonical frozen value.
 * @throws {InvalidArgumentError} on anything that is not a {@link SegmentBoundary}
 * @internal
 */
export function canonicalBoundary(name: string, b: unknown): SegmentBoundary {
  const kind = typeof b === 'object' && b !== null ? (b as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw new InvalidArgumentError(name, 'a SegmentBoundary', b);
  switch (kind) {
    case 'trackCreated': return SegmentBoundary.trackCreated;
    case 'feedRestart': return SegmentBoundary.feedRestart;
    case 'trackLost': return SegmentBoundary.trackLost;
    case 'trackEnded': return SegmentBoundary.trackEnded;
    case 'sourceDiscontinuity': return SegmentBoundary.sourceDiscontinuity;
    default: {
      const e = b as { fromEpoch: ViewEpoch; toEpoch: ViewEpoch };
      return SegmentBoundary.epochChange(e.fromEpoch, e.toEpoch);
    }
  }
}

function checkPoint(p: unknown): asserts p is TrajectoryPoint {
  const q = p as Partial<TrajectoryPoint> | null;
  if (typeof q !== 'object' || q === null) throw new InvalidArgumentError('point', 'a TrajectoryPoint', p);
  if (typeof q.ts !== 'number' || !Number.isFinite(q.ts) || q.ts < 0) throw new InvalidArgumentError('point.ts', 'finite nanoseconds >= 0', q.ts);
  if (!(q.bbox instanceof BBox)) throw new InvalidArgumentError('point.bbox', 'a BBox', q.bbox);
  const pos = q.position;
  if (typeof pos !== 'object' || pos === null || !Number.isFinite(pos.x) || !Number.isFinite(pos.y)) {
    throw new InvalidArgumentError('point.position', 'a finite Point2', pos);
  }
}

/**
 * The compensation state of a segment between two compensations: how many had been applied
 * and their composition. Each point row records the count current when it was appended; the
 * segment keeps one stamp per count, so recovering a point's recorded coordinates costs one
 * float per point.
 */
interface CompensationStamp {
  /** Compensations applied so far. */
  readonly count: number;
  /** Their composition in order; undefined when none. */
  readonly cumulative: AffineTransform2D | undefined;
}

const NO_COMPENSATION: CompensationStamp = Object.freeze({ count: 0, cumulative: undefined });

/** Smallest |determinant| accepted for a compensation transform. */
const MIN_COMPENSATION_DETERMINANT = 1e-9;

/**
 * Validates a compensation transform: an {@link AffineTransform2D} whose linear part is
 * invertible (|determinant| ≥ 1e-9).
 * @throws {InvalidArgumentError} otherwise
 * @internal
 */
export function checkCompensation(transform: unknown): asserts transform is AffineTransform2D {
  if (!(transform instanceof AffineTransform2D)) throw new InvalidArgumentError('transform', 'an AffineTransform2D', transform);
  const det = transform.determinant;
  if (!(Math.abs(det) >= MIN_COMPENSATION_DETERMINANT)) {
    throw new InvalidArgumentError('transform', `an invertible transform (|determinant| >= ${MIN_COMPENSATION_DETERMINANT})`, `determinant ${det}`);
  }
}

/** Pruned rows whose steps are subtracted from the motion sums in one pass (see {@link SegmentState.motion}). */
const MOTION_TRIM_BATCH = 32;

/** Mutable state of one segment (owned by a {@link Trajectory}). */
class SegmentState {
  readonly viewEpoch: ViewEpoch;
  readonly openedBy: SegmentBoundary;
  closedBy: SegmentBoundary | undefined;
  /** Current compensation state (count and cumulative transform). */
  stamp: CompensationStamp = NO_COMPENSATION;
  /**
   * Every stamp the segment has had, indexed by count (append-only: a capture reads only the
   * indices up to its own count, so sharing the array is safe).
   */
  readonly stamps: CompensationStamp[] = [NO_COMPENSATION];
  /** Inverse of `stamp.cumulative`, composed from the inverses of the individual compensations. */
  inverse: AffineTransform2D | undefined;
  /** The points, one row each (the STAMP column is the count current at append). */
  readonly points = new PointColumns();
  /**
   * Motion sums over rows `[motionFrom, points.end)`. Pruning only advances `points.start`;
   * the steps it removed are subtracted in batches ({@link SegmentState.settle}), because
   * reading a row written ~1000 frames earlier is a cache miss that costs more than the rest
   * of a commit. Readers settle a copy (see {@link SegmentView.motion}).
   */
  readonly motion: MotionAccumulator;
  motionFrom = 0;
  #view: SegmentView | undefined;

  constructor(epoch: ViewEpoch, openedBy: SegmentBoundary, threshold: number) {
    this.viewEpoch = epoch;
    this.openedBy = openedBy;
    this.motion = new MotionAccumulator(threshold);
  }

  get isActive(): boolean { return this.closedBy === undefined; }

  changed(): void { this.#view = undefined; }

  /** Appends a point row and adds its step to the motion sums. */
  append(ts: number, x: number, y: number, b: BBox): void {
    const cols = this.points;
    if (cols.full) this.settle(); // growing copies only the live rows
    if (cols.length > 0) {
      const o = (cols.end - 1) * STRIDE, d = cols.data;
      this.motion.push(d[o + TS]!, d[o + X]!, d[o + Y]!, ts, x, y);
    }
    const before = cols.data;
    cols.push(ts, x, y, b.xMin, b.yMin, b.xMax, b.yMax, this.stamp.count);
    if (cols.data !== before) this.motionFrom = cols.start;
  }

  /** Drops the `n` oldest rows; their steps leave the motion sums in batches. */
  dropFront(n: number): void {
    this.points.dropFront(n);
    if (this.points.start - this.motionFrom >= MOTION_TRIM_BATCH) this.settle();
  }

  /** Subtracts the steps of rows dropped since the last settle. */
  settle(): void {
    const cols = this.points;
    if (this.motionFrom < cols.start) {
      this.motion.trimFront(cols.data, this.motionFrom, cols.end, cols.start - this.motionFrom);
      this.motionFrom = cols.start;
    }
  }

  view(): SegmentView {
    return (this.#view ??= new SegmentView(new SegmentCapture(this)));
  }
}

/**
 * The state of a segment at one moment, in O(1): scalar fields, the append-only point buffer
 * with its bounds, and the running motion sums. Internal (never handed out, so not frozen).
 * @internal
 */
export class SegmentCapture {
  /** The segment's view epoch. */
  readonly viewEpoch: ViewEpoch;
  /** Why the segment was opened. */
  readonly openedBy: SegmentBoundary;
  /** Why it was closed; undefined while active. */
  readonly closedBy: SegmentBoundary | undefined;
  /** Compensation count and cumulative transform at capture time. */
  readonly stamp: CompensationStamp;
  /** The segment's stamps by count (entries up to `stamp.count` never change). */
  readonly stamps: readonly CompensationStamp[];
  /** Inverse of the cumulative compensation at capture time; undefined when never compensated. */
  readonly inverse: AffineTransform2D | undefined;
  /** Point rows (rows below `end` never change). */
  readonly data: Float64Array;
  /** Row of the oldest captured point in `data`. */
  readonly start: number;
  /** One past the newest captured point's row. */
  readonly end: number;
  /** Running path length of the captured points. */
  readonly displacement: number;
  /** Running maximum step speed of the captured points. */
  readonly maxSpeed: number;
  /** Stationary speed threshold of the segment's motion features. */
  readonly threshold: number;
  /** The motion sums cover rows `[motionFrom, end)`; rows before `start` are subtracted on first read. */
  readonly motionFrom: number;
  /** Accumulator state (with the sums above) to settle pending rows from. */
  readonly maxCount: number;
  readonly trims: number;

  /** @param s - the segment to capture */
  constructor(s: SegmentState) {
    this.viewEpoch = s.viewEpoch;
    this.openedBy = s.openedBy;
    this.closedBy = s.closedBy;
    this.stamp = s.stamp;
    this.stamps = s.stamps;
    this.inverse = s.inverse;
    this.data = s.points.data;
    this.start = s.points.start;
    this.end = s.points.end;
    const m = s.motion;
    this.threshold = m.threshold;
    this.motionFrom = s.motionFrom;
    this.displacement = m.displacement;
    this.maxSpeed = m.maxSpeed;
    this.maxCount = m.maxCount;
    this.trims = m.trims;
  }
}

/** Builds the frozen point of row `r` (absolute) of `data`. */
function pointOfRow(data: Float64Array, r: number): TrajectoryPoint {
  const o = r * STRIDE;
  const bbox = BBox.unbounded(data[o + X_MIN]!, data[o + Y_MIN]!, data[o + X_MAX]!, data[o + Y_MAX]!);
  return makePoint(data[o + TS]! as MonotonicTs, point2Unbounded(data[o + X]!, data[o + Y]!), bbox);
}

/**
 * Frozen view of a captured segment. Points are built from their rows on first access (each
 * point once per view, so repeated reads return the same object); motion features likewise.
 */
class SegmentView implements TrajectorySegment {
  readonly #c: SegmentCapture;
  #cache: Array<TrajectoryPoint | undefined> | undefined;
  #points: readonly TrajectoryPoint[] | undefined;
  #motion: MotionFeatures | undefined;

  constructor(c: SegmentCapture) {
    this.#c = c;
    Object.freeze(this);
  }

  get viewEpoch(): ViewEpoch { return this.#c.viewEpoch; }
  get openedBy(): SegmentBoundary { return this.#c.openedBy; }
  get closedBy(): SegmentBoundary | undefined { return this.#c.closedBy; }
  get compensation(): AffineTransform2D | undefined { return this.#c.stamp.cumulative; }
  get compensationCount(): number { return this.#c.stamp.count; }
  get points(): readonly TrajectoryPoint[] {
    if (this.#points === undefined) {
      const n = this.pointCount;
      const out = new Array<TrajectoryPoint>(n);
      for (let i = 0; i < n; i++) out[i] = this.#point(i);
      this.#points = n === 0 ? NO_POINTS : Object.freeze(out);
    }
    return this.#points;
  }
  get pointCount(): number { return this.#c.end - this.#c.start; }
  #point(i: number): TrajectoryPoint {
    const cache = (this.#cache ??= new Array<TrajectoryPoint | undefined>(this.pointCount));
    return (cache[i] ??= pointOfRow(this.#c.data, this.#c.start + i));
  }
  #inRange(i: number): boolean { return Number.isInteger(i) && i >= 0 && i < this.#c.end - this.#c.start; }
  pointAt(i: number): TrajectoryPoint | undefined {
    return this.#inRange(i) ? this.#point(i) : undefined;
  }
  #stampAt(i: number): CompensationStamp | undefined {
    const c = this.#c;
    return this.#inRange(i) ? c.stamps[c.data[(c.start + i) * STRIDE + STAMP]!] : undefined;
  }
  compensationIndexAt(i: number): number | undefined { return this.#stampAt(i)?.count; }
  restoreTransformAt(i: number): AffineTransform2D | undefined {
    const s = this.#stampAt(i);
    if (s === undefined) return undefined;
    const c = this.#c;
    if (s.count === c.stamp.count || c.inverse === undefined) return AffineTransform2D.IDENTITY;
    return s.cumulative === undefined ? c.inverse : c.inverse.then(s.cumulative);
  }
  originalPosition(i: number): Point2 | undefined {
    const p = this.pointAt(i);
    if (p === undefined) return undefined;
    const t = this.restoreTransformAt(i)!;
    if (t === AffineTransform2D.IDENTITY) return p.position;
    const q = t.apply(p.position);
    return point2Unbounded(q.x, q.y);
  }
  originalPoint(i: number): TrajectoryPoint | undefined {
    const p = this.pointAt(i);
    if (p === undefined) return undefined;
    const t = this.restoreTransformAt(i)!;
    if (t === AffineTransform2D.IDENTITY) return p;
    const q = t.apply(p.position);
    return makePoint(p.ts, point2Unbounded(q.x, q.y), t.applyToBBox(p.bbox));
  }
  get firstPoint(): TrajectoryPoint | undefined { return this.pointAt(0); }
  get lastPoint(): TrajectoryPoint | undefined { return this.pointAt(this.pointCount - 1); }
  get motion(): MotionFeatures {
    if (this.#motion === undefined) {
      const c = this.#c;
      if (c.end - c.start < 2) this.#motion = STATIONARY_MOTION;
      else if (c.motionFrom === c.start) this.#motion = motionOfRows(c.data, c.start, c.end, c.displacement, c.maxSpeed, c.threshold);
      else {
        const acc = MotionAccumulator.restore(c.threshold, c.displacement, c.maxSpeed, c.maxCount, c.trims);
        acc.trimFront(c.data, c.motionFrom, c.end, c.start - c.motionFrom);
        this.#motion = motionOfRows(c.data, c.start, c.end, acc.displacement, acc.maxSpeed, c.threshold);
      }
    }
    return this.#motion;
  }
  get isActive(): boolean { return this.#c.closedBy === undefined; }
  get duration(): DurationNs | undefined {
    const c = this.#c;
    if (c.end - c.start < 2) return undefined;
    return (c.data[(c.end - 1) * STRIDE + TS]! - c.data[c.start * STRIDE + TS]!) as DurationNs;
  }
  /** Plain-object form (for logging / JSON). */
  toJSON(): Record<string, unknown> {
    return {
      viewEpoch: this.viewEpoch, openedBy: this.openedBy, closedBy: this.closedBy, compensation: this.compensation,
      compensationCount: this.compensationCount, motion: this.motion, points: this.points,
    };
  }
}

const NO_POINTS: readonly TrajectoryPoint[] = Object.freeze([]);
const NO_SEGMENTS: readonly SegmentView[] = Object.freeze([]);

/**
 * Frozen view of a whole trajectory at one moment, built from the (cached, frozen) views of
 * the closed segments and a capture of the active one; the active segment's view and the
 * `segments` array are built on first access.
 * @internal
 */
export class TrajectoryView implements ReadonlyTrajectory {
  readonly #closed: readonly TrajectorySegment[];
  readonly #capture: SegmentCapture | undefined;
  readonly #total: number;
  #active: TrajectorySegment | undefined;
  #segments: readonly TrajectorySegment[] | undefined;

  /**
   * @param closed - frozen views of the closed segments, oldest first
   * @param active - the open segment (a capture, viewed on first access, or a ready view), if any
   * @param total - points across all segments
   */
  constructor(closed: readonly TrajectorySegment[], active: SegmentCapture | SegmentView | undefined, total: number) {
    this.#closed = closed;
    if (active instanceof SegmentView) this.#active = active;
    else this.#capture = active;
    this.#total = total;
    Object.freeze(this);
  }

  /** The open segment's view (built on first access), if one was open. */
  get activeSegment(): TrajectorySegment | undefined {
    if (this.#active === undefined && this.#capture !== undefined) this.#active = new SegmentView(this.#capture);
    return this.#active;
  }
  /** All segments, oldest first, the open one last (frozen; built on first access). */
  get segments(): readonly TrajectorySegment[] {
    if (this.#segments === undefined) {
      const a = this.activeSegment;
      this.#segments = a === undefined ? this.#closed : Object.freeze(this.#closed.length === 0 ? [a] : [...this.#closed, a]);
    }
    return this.#segments;
  }
  /** Points across all segments. */
  get totalPoints(): number { return this.#total; }
  /** Number of segments, open and closed. */
  get segmentCount(): number { return this.#closed.length + (this.#capture !== undefined || this.#active !== undefined ? 1 : 0); }
  /** Plain-object form (for logging / JSON). */
  toJSON(): Record<string, unknown> { return { totalPoints: this.totalPoints, segments: this.segments }; }
}

/**
 * A track's spatial path as an ordered list of segments. The last segment is the active one
 * (unless closed); each segment stays within one view epoch and records the boundaries that
 * opened and closed it. Motion features are maintained per segment: O(1) per appended point,
 * recomputed from the points after compensation, updated incrementally (with exact
 * recomputation when needed) after pruning.
 *
 * Reading (`segments`, `activeSegment`, {@link Trajectory.view}) returns frozen views that do
 * not change when the trajectory is later mutated.
 *
 * @example
 * ```ts
 * const t = new Trajectory();
 * t.openSegment(viewEpoch(0), SegmentBoundary.trackCreated);
 * t.pushPoint(trajectoryPoint(monotonicTs(0), BBox.of(0.1, 0.1, 0.2, 0.2)));
 * t.pushPoint(trajectoryPoint(monotonicTs(1e9), BBox.of(0.3, 0.1, 0.4, 0.2)));
 * t.activeSegment?.motion.meanSpeed // 0.2 per second
 * t.closeActiveSegment(SegmentBoundary.trackLost);
 * ```
 */
export class Trajectory implements ReadonlyTrajectory {
  readonly #segs: SegmentState[] = [];
  #total = 0;
  #gen = 0;
  #view: TrajectoryView | undefined;
  #closedViews: readonly TrajectorySegment[] | undefined = NO_SEGMENTS;
  /** Stationary threshold used for every segment's motion features. */
  readonly stationarySpeedThreshold: number;

  /**
   * @param opts - motion options (stationary threshold)
   * @throws {InvalidArgumentError} on a bad threshold
   */
  constructor(opts?: MotionOptions) {
    this.stationarySpeedThreshold = resolveStationaryThreshold(opts);
  }

  /** Incremented on every mutation (used to share unchanged views between snapshots). */
  get generation(): number { return this.#gen; }

  /** Frozen segment views, oldest first. */
  get segments(): readonly TrajectorySegment[] { return this.view().segments; }

  /** The open segment, if any. */
  get activeSegment(): TrajectorySegment | undefined { return this.view().activeSegment; }

  /** Points across all segments. */
  get totalPoints(): number { return this.#total; }

  /** Number of segments. */
  get segmentCount(): number { return this.#segs.length; }

  /** Whether there is an open segment. */
  get hasActiveSegment(): boolean { return this.#active() !== undefined; }

  /** Frozen view of the current state (cached until the next mutation). */
  view(): ReadonlyTrajectory {
    return (this.#view ??= new TrajectoryView(this.closedSegmentViews(), this.#active()?.view(), this.#total));
  }

  /**
   * O(1) capture of the open segment for snapshots (undefined when none is open).
   * @internal
   */
  captureActive(): SegmentCapture | undefined {
    const a = this.#active();
    return a === undefined ? undefined : new SegmentCapture(a);
  }

  /**
   * Frozen views of the closed segments (all but an open last one), cached until one changes.
   * @internal
   */
  closedSegmentViews(): readonly TrajectorySegment[] {
    if (this.#closedViews === undefined) {
      const n = this.#segs.length - (this.#active() === undefined ? 0 : 1);
      this.#closedViews = n === 0 ? NO_SEGMENTS : Object.freeze(this.#segs.slice(0, n).map((x) => x.view()));
    }
    return this.#closedViews;
  }

  #active(): SegmentState | undefined {
    const s = this.#segs[this.#segs.length - 1];
    return s?.isActive ? s : undefined;
  }

  /** Records a mutation; `structural` when the closed segments (set or content) changed. */
  #changed(seg?: SegmentState, structural = true): void {
    this.#gen++;
    this.#view = undefined;
    if (structural) this.#closedViews = undefined;
    seg?.changed();
  }

  /**
   * Opens a new, empty segment; the active one, if any, is closed with `closeReason` first.
   *
   * @param epoch - view epoch of the new segment
   * @param openedBy - why it opens
   * @param closeReason - how to close the active segment (required when one is open)
   * @returns the new segment's view
   * @throws {InvalidArgumentError} on a bad epoch or boundary, or when a segment is open and no `closeReason` is given
   */
  openSegment(epoch: ViewEpoch, openedBy: SegmentBoundary, closeReason?: SegmentBoundary): TrajectorySegment {
    viewEpoch(epoch);
    const opened = canonicalBoundary('openedBy', openedBy);
    const active = this.#active();
    if (active !== undefined) {
      if (closeReason === undefined) throw new InvalidArgumentError('closeReason', 'a boundary to close the active segment with', closeReason);
      active.closedBy = canonicalBoundary('closeReason', closeReason);
      active.changed();
    }
    const seg = new SegmentState(epoch, opened, this.stationarySpeedThreshold);
    this.#segs.push(seg);
    this.#changed();
    return seg.view();
  }

  /**
   * Closes the active segment.
   * @param reason - why it closes
   * @returns whether a segment was open
   * @throws {InvalidArgumentError} on a bad boundary
   */
  closeActiveSegment(reason: SegmentBoundary): boolean {
    const r = canonicalBoundary('reason', reason);
    const active = this.#active();
    if (active === undefined) return false;
    active.closedBy = r;
    this.#changed(active);
    return true;
  }

  /**
   * Splits the trajectory at a view-epoch change: the active segment (if open and of another
   * epoch) is closed with `epochChange{from: its epoch, to}` and a new segment is opened with
   * the same boundary.
   *
   * Coalescing: when the active segment is still empty and was itself opened by an epoch
   * change (`a → b`, no point recorded in `b`), it is replaced rather than closed, and both
   * the previous segment's closing boundary and the new segment's opening boundary become
   * `epochChange{a → to}`. Repeated epoch changes between two points of a track therefore
   * never accumulate empty segments.
   *
   * @param to - the new epoch
   * @returns whether a new segment was opened
   * @throws {InvalidArgumentError} on a bad epoch
   */
  changeEpoch(to: ViewEpoch): boolean {
    viewEpoch(to);
    const active = this.#active();
    if (active === undefined || active.viewEpoch === to) return false;
    let from = active.viewEpoch;
    if (active.points.length === 0 && active.openedBy.kind === 'epochChange' && active.openedBy.fromEpoch !== to) {
      from = active.openedBy.fromEpoch;
      this.#segs.pop();
      const prev = this.#segs[this.#segs.length - 1];
      const b = SegmentBoundary.epochChange(from, to);
      if (prev !== undefined && prev.closedBy?.kind === 'epochChange') {
        prev.closedBy = b;
        prev.changed();
      }
      this.#segs.push(new SegmentState(to, b, this.stationarySpeedThreshold));
    } else {
      const b = SegmentBoundary.epochChange(from, to);
      active.closedBy = b;
      active.changed();
      this.#segs.push(new SegmentState(to, b, this.stationarySpeedThreshold));
    }
    this.#changed();
    return true;
  }

  /**
   * Splits the trajectory at a source discontinuity: the active segment (if open) is closed with
   * `sourceDiscontinuity` and a new segment of the same epoch is opened with the same boundary.
   * An active segment that is still empty and was itself opened by a discontinuity is kept (two
   * discontinuities with no point in between leave one empty segment, not two).
   * @returns whether a new segment was opened
   */
  splitAtDiscontinuity(): boolean {
    const active = this.#active();
    if (active === undefined) return false;
    if (active.points.length === 0 && active.openedBy.kind === 'sourceDiscontinuity') return false;
    const b = SegmentBoundary.sourceDiscontinuity;
    active.closedBy = b;
    active.changed();
    this.#segs.push(new SegmentState(active.viewEpoch, b, this.stationarySpeedThreshold));
    this.#changed();
    return true;
  }

  /** Epoch of the active segment, if one is open. */
  get activeViewEpoch(): ViewEpoch | undefined { return this.#active()?.viewEpoch; }

  /**
   * Appends a point to the active segment and updates its motion features in O(1).
   * @param point - the point; its timestamp must not precede the segment's last point
   * @returns false when no segment is open (nothing is recorded)
   * @throws {InvalidArgumentError} on a malformed point or a timestamp going backwards
   */
  pushPoint(point: TrajectoryPoint): boolean {
    checkPoint(point);
    const active = this.#active();
    if (active === undefined) return false;
    const prevTs = active.points.lastTs();
    if (prevTs !== undefined && point.ts < prevTs) {
      throw new InvalidArgumentError('point.ts', `a timestamp >= the segment's last point (${prevTs})`, point.ts);
    }
    const b = point.bbox;
    this.#append(active, point.ts, point.position.x, point.position.y, b);
    return true;
  }

  /**
   * The store's per-frame commit, in one call: moves the active segment to `epoch` (or, when
   * none is open and the track is not lost, opens one with `trackLost` — a re-acquisition),
   * appends the point (bbox centre, bbox, `now`), closes the segment with `trackLost` when
   * `lost`, and prunes to `maxPoints`. The caller guarantees a valid epoch, a validated bbox
   * and a timestamp not before the active segment's last point.
   * @internal
   */
  commitObservation(now: MonotonicTs, bbox: BBox, epoch: ViewEpoch, lost: boolean, maxPoints: number): void {
    let active = this.#active();
    if (active !== undefined) {
      if (active.viewEpoch !== epoch) {
        this.changeEpoch(epoch);
        active = this.#active();
      }
    } else if (!lost) {
      this.openSegment(epoch, SegmentBoundary.trackLost);
      active = this.#active();
    }
    if (active !== undefined) {
      this.#append(active, now, (bbox.xMin + bbox.xMax) / 2, (bbox.yMin + bbox.yMax) / 2, bbox);
      if (lost) this.closeActiveSegment(SegmentBoundary.trackLost);
    }
    if (this.#total > maxPoints) this.pruneOldestPoints(maxPoints);
  }

  #append(active: SegmentState, ts: number, x: number, y: number, b: BBox): void {
    active.append(ts, x, y, b);
    this.#total++;
    this.#changed(active, false);
  }

  /**
   * Drops the oldest points until at most `maxPoints` remain: whole closed segments first
   * (oldest first), then the front of the oldest surviving segment. The active segment is
   * never removed (it may be left empty).
   *
   * @param maxPoints - non-negative integer
   * @returns number of points removed
   * @throws {InvalidArgumentError} when `maxPoints` is not a non-negative integer
   */
  pruneOldestPoints(maxPoints: number): number {
    if (!Number.isSafeInteger(maxPoints) || maxPoints < 0) throw new InvalidArgumentError('maxPoints', 'a non-negative integer', maxPoints);
    if (this.#total <= maxPoints) return 0;
    let toRemove = this.#total - maxPoints;
    const first = this.#segs[0]!;
    if (first.points.length > toRemove) {
      // The common case (a track at its cap): the oldest segment alone covers the excess.
      first.dropFront(toRemove);
      first.changed();
      this.#total = maxPoints;
      this.#changed(undefined, !first.isActive);
      return toRemove;
    }
    let drop = 0;
    for (const seg of this.#segs) {
      if (seg.isActive || seg.points.length > toRemove) break;
      toRemove -= seg.points.length;
      drop++;
    }
    let structural = drop > 0;
    if (drop > 0) this.#segs.splice(0, drop);
    for (const seg of this.#segs) {
      if (toRemove === 0) break;
      const len = seg.points.length;
      const n = Math.min(toRemove, len);
      if (n === 0) continue;
      seg.dropFront(n);
      seg.changed();
      if (!seg.isActive) structural = true;
      toRemove -= n;
    }
    const removed = this.#total - maxPoints - toRemove;
    this.#total -= removed;
    this.#changed(undefined, structural);
    return removed;
  }

  /**
   * Transforms every point of the active segment through `transform` (positions directly,
   * boxes re-bounded from their transformed corners, possibly leaving the frame), composes
   * the segment's cumulative compensation (`previous.then(transform)`), increments its
   * compensation count and recomputes its motion features. Timestamps are unchanged. Points
   * appended later are not transformed by it; each point remembers how many compensations
   * preceded it, so {@link TrajectorySegment.originalPosition} can undo exactly the ones
   * applied after it.
   *
   * @param transform - the compensation; its linear part must be invertible (|determinant| ≥ 1e-9)
   * @param epoch - when given, only a segment of this epoch is compensated
   * @returns whether a segment was compensated
   * @throws {InvalidArgumentError} on a transform that is not an {@link AffineTransform2D} or is
   *   (near-)singular, or when transformed geometry is not finite (nothing is changed then)
   * @example
   * ```ts
   * t.pushPoint(trajectoryPoint(monotonicTs(0), BBox.of(0.15, 0.1, 0.25, 0.2))); // x = 0.2
   * t.applyCompensation(AffineTransform2D.translation(0.1, 0));
   * t.pushPoint(trajectoryPoint(monotonicTs(1e9), BBox.of(0.45, 0.1, 0.55, 0.2))); // x = 0.5
   * t.activeSegment!.originalPosition(0)!.x // 0.2
   * t.activeSegment!.originalPosition(1)!.x // 0.5 (recorded after the compensation)
   * ```
   */
  applyCompensation(transform: AffineTransform2D, epoch?: ViewEpoch): boolean {
    const commit = this.prepareCompensation(transform, epoch);
    if (commit === undefined) return false;
    commit();
    return true;
  }

  /**
   * First half of {@link Trajectory.applyCompensation}: validates the transform and computes
   * the transformed points and compensation state without changing anything, so a caller can
   * compensate many trajectories atomically.
   *
   * @returns a function that installs the result, or undefined when there is nothing to compensate
   * @throws {InvalidArgumentError} on a bad or (near-)singular transform, or non-finite results
   * @internal
   */
  prepareCompensation(transform: AffineTransform2D, epoch?: ViewEpoch): (() => void) | undefined {
    checkCompensation(transform);
    const active = this.#active();
    if (active === undefined || (epoch !== undefined && active.viewEpoch !== epoch)) return undefined;
    const cols = active.points;
    const n = cols.length;
    const next = new Float64Array(Math.max(8, n * 2) * STRIDE);
    const src = cols.data;
    for (let i = 0; i < n; i++) {
      const o = (cols.start + i) * STRIDE, w = i * STRIDE;
      const q = transform.apply({ x: src[o + X]!, y: src[o + Y]! });
      const pos = point2Unbounded(q.x, q.y); // throws on non-finite results, before anything changes
      const b = transform.applyToBBox(BBox.unbounded(src[o + X_MIN]!, src[o + Y_MIN]!, src[o + X_MAX]!, src[o + Y_MAX]!));
      next[w + TS] = src[o + TS]!;
      next[w + X] = pos.x;
      next[w + Y] = pos.y;
      next[w + X_MIN] = b.xMin;
      next[w + Y_MIN] = b.yMin;
      next[w + X_MAX] = b.xMax;
      next[w + Y_MAX] = b.yMax;
      next[w + STAMP] = src[o + STAMP]!;
    }
    const prev = active.stamp;
    const stamp: CompensationStamp = Object.freeze({
      count: prev.count + 1,
      cumulative: prev.cumulative === undefined ? transform : prev.cumulative.then(transform),
    });
    // (c1…cn)⁻¹ = cn⁻¹.then((c1…cn−1)⁻¹), built from well-conditioned single inverses.
    const inv = transform.invert();
    const inverse = active.inverse === undefined ? inv : inv.then(active.inverse);
    return () => {
      cols.replace(next, n);
      active.motion.recompute(next, 0, n);
      active.motionFrom = 0;
      active.stamps.push(stamp);
      active.stamp = stamp;
      active.inverse = inverse;
      this.#changed(active, false);
    };
  }
}
