/**
 * Trajectories: a track's path, split into segments that each stay within one view epoch.
 *
 * @packageDocumentation
 */
import {
  AffineTransform2D, BBox, InvalidArgumentError, point2Unbounded, type DurationNs,
} from '@nv/core';
import { viewEpoch, type ViewEpoch } from '@nv/view';
import { AppendWindow, frozenSlice } from './append-window.js';
import {
  finishMotion, MotionAccumulator, resolveStationaryThreshold, STATIONARY_MOTION, type MotionFeatures, type MotionOptions,
} from './motion.js';
import { SEGMENT_BOUNDARY_KINDS, SegmentBoundary } from './segment-boundary.js';
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
   * Cumulative compensation applied to the segment's geometry (all compensations composed
   * in order: `first.then(second)…`); undefined when never compensated. Its inverse maps the
   * points back to the coordinates they were recorded in.
   */
  readonly compensation: AffineTransform2D | undefined;
  /** How many compensations were applied (boxes grow under rotation with each). */
  readonly compensationCount: number;
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

/** Mutable state of one segment (owned by a {@link Trajectory}). */
class SegmentState {
  readonly viewEpoch: ViewEpoch;
  readonly openedBy: SegmentBoundary;
  closedBy: SegmentBoundary | undefined;
  compensation: AffineTransform2D | undefined;
  compensationCount = 0;
  readonly points = new AppendWindow<TrajectoryPoint>();
  readonly motion: MotionAccumulator;
  #view: SegmentView | undefined;

  constructor(epoch: ViewEpoch, openedBy: SegmentBoundary, threshold: number) {
    this.viewEpoch = epoch;
    this.openedBy = openedBy;
    this.motion = new MotionAccumulator(threshold);
  }

  get isActive(): boolean { return this.closedBy === undefined; }

  changed(): void { this.#view = undefined; }

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
  readonly viewEpoch: ViewEpoch;
  readonly openedBy: SegmentBoundary;
  readonly closedBy: SegmentBoundary | undefined;
  readonly compensation: AffineTransform2D | undefined;
  readonly compensationCount: number;
  readonly buf: readonly TrajectoryPoint[];
  readonly start: number;
  readonly end: number;
  readonly displacement: number;
  readonly maxSpeed: number;
  readonly threshold: number;

  constructor(s: SegmentState) {
    this.viewEpoch = s.viewEpoch;
    this.openedBy = s.openedBy;
    this.closedBy = s.closedBy;
    this.compensation = s.compensation;
    this.compensationCount = s.compensationCount;
    this.buf = s.points.buffer;
    this.start = s.points.start;
    this.end = this.buf.length;
    this.displacement = s.motion.displacement;
    this.maxSpeed = s.motion.maxSpeed;
    this.threshold = s.motion.threshold;
  }
}

/** Frozen view of a captured segment; points and motion features are materialized on first access and cached. */
class SegmentView implements TrajectorySegment {
  readonly #c: SegmentCapture;
  #points: readonly TrajectoryPoint[] | undefined;
  #motion: MotionFeatures | undefined;

  constructor(c: SegmentCapture) {
    this.#c = c;
    Object.freeze(this);
  }

  get viewEpoch(): ViewEpoch { return this.#c.viewEpoch; }
  get openedBy(): SegmentBoundary { return this.#c.openedBy; }
  get closedBy(): SegmentBoundary | undefined { return this.#c.closedBy; }
  get compensation(): AffineTransform2D | undefined { return this.#c.compensation; }
  get compensationCount(): number { return this.#c.compensationCount; }
  get points(): readonly TrajectoryPoint[] { return (this.#points ??= frozenSlice(this.#c.buf, this.#c.start, this.#c.end)); }
  get pointCount(): number { return this.#c.end - this.#c.start; }
  pointAt(i: number): TrajectoryPoint | undefined {
    const c = this.#c;
    return Number.isInteger(i) && i >= 0 && i < c.end - c.start ? c.buf[c.start + i] : undefined;
  }
  get firstPoint(): TrajectoryPoint | undefined { const c = this.#c; return c.start < c.end ? c.buf[c.start] : undefined; }
  get lastPoint(): TrajectoryPoint | undefined { const c = this.#c; return c.start < c.end ? c.buf[c.end - 1] : undefined; }
  get motion(): MotionFeatures {
    if (this.#motion === undefined) {
      const c = this.#c;
      this.#motion = c.end - c.start < 2
        ? STATIONARY_MOTION
        : finishMotion(c.displacement, c.maxSpeed, c.buf[c.start]!, c.buf[c.end - 1]!, c.threshold);
    }
    return this.#motion;
  }
  get isActive(): boolean { return this.#c.closedBy === undefined; }
  get duration(): DurationNs | undefined {
    const c = this.#c;
    if (c.end - c.start < 2) return undefined;
    return (c.buf[c.end - 1]!.ts - c.buf[c.start]!.ts) as DurationNs;
  }
  /** Plain-object form (for logging / JSON). */
  toJSON(): Record<string, unknown> {
    return {
      viewEpoch: this.viewEpoch, openedBy: this.openedBy, closedBy: this.closedBy, compensation: this.compensation,
      compensationCount: this.compensationCount, motion: this.motion, points: this.points,
    };
  }
}

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

  constructor(closed: readonly TrajectorySegment[], active: SegmentCapture | SegmentView | undefined, total: number) {
    this.#closed = closed;
    if (active instanceof SegmentView) this.#active = active;
    else this.#capture = active;
    this.#total = total;
    Object.freeze(this);
  }

  get activeSegment(): TrajectorySegment | undefined {
    if (this.#active === undefined && this.#capture !== undefined) this.#active = new SegmentView(this.#capture);
    return this.#active;
  }
  get segments(): readonly TrajectorySegment[] {
    if (this.#segments === undefined) {
      const a = this.activeSegment;
      this.#segments = a === undefined ? this.#closed : Object.freeze(this.#closed.length === 0 ? [a] : [...this.#closed, a]);
    }
    return this.#segments;
  }
  get totalPoints(): number { return this.#total; }
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
    const prev = active.points.last();
    if (prev !== undefined && point.ts < prev.ts) {
      throw new InvalidArgumentError('point.ts', `a timestamp >= the segment's last point (${prev.ts})`, point.ts);
    }
    const p = Object.isFrozen(point) && Object.isFrozen(point.position) ? point : makePoint(point.ts, point2Unbounded(point.position.x, point.position.y), point.bbox);
    this.#append(active, prev, p);
    return true;
  }

  /**
   * {@link Trajectory.pushPoint} for a point the caller built frozen and validated, with a
   * timestamp not before the active segment's last point (the store's commit path).
   * @internal
   */
  appendTrustedPoint(point: TrajectoryPoint): boolean {
    const active = this.#active();
    if (active === undefined) return false;
    this.#append(active, active.points.last(), point);
    return true;
  }

  #append(active: SegmentState, prev: TrajectoryPoint | undefined, p: TrajectoryPoint): void {
    active.points.push(p);
    active.motion.push(prev, p);
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
      seg.motion.trimFront(seg.points.buffer, seg.points.start, seg.points.buffer.length, n);
      seg.points.dropFront(n);
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
   * compensation count and recomputes its motion features. Timestamps are unchanged.
   *
   * @param transform - the compensation
   * @param epoch - when given, only a segment of this epoch is compensated
   * @returns whether a segment was compensated
   * @throws {InvalidArgumentError} on a bad transform, or when transformed geometry is not finite (nothing is changed then)
   */
  applyCompensation(transform: AffineTransform2D, epoch?: ViewEpoch): boolean {
    const commit = this.prepareCompensation(transform, epoch);
    if (commit === undefined) return false;
    commit();
    return true;
  }

  /**
   * First half of {@link Trajectory.applyCompensation}: computes the transformed points
   * without changing anything, so a caller can compensate many trajectories atomically.
   *
   * @returns a function that installs the result, or undefined when there is nothing to compensate
   * @throws {InvalidArgumentError} on a bad transform or non-finite transformed geometry
   * @internal
   */
  prepareCompensation(transform: AffineTransform2D, epoch?: ViewEpoch): (() => void) | undefined {
    if (!(transform instanceof AffineTransform2D)) throw new InvalidArgumentError('transform', 'an AffineTransform2D', transform);
    const active = this.#active();
    if (active === undefined || (epoch !== undefined && active.viewEpoch !== epoch)) return undefined;
    const n = active.points.length;
    const next = new Array<TrajectoryPoint>(n);
    for (let i = 0; i < n; i++) {
      const p = active.points.at(i);
      const q = transform.apply(p.position);
      next[i] = makePoint(p.ts, point2Unbounded(q.x, q.y), transform.applyToBBox(p.bbox));
    }
    return () => {
      active.points.replace(next);
      active.motion.recompute(next, 0, n);
      active.compensation = active.compensation === undefined ? transform : active.compensation.then(transform);
      active.compensationCount++;
      this.#changed(active, false);
    };
  }
}
