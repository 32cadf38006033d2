/**
 * Per-track history: latest state, a bounded ring of recent observations, the trajectory,
 * and first/last-seen times.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, type MonotonicTs, type TrackId } from '@nv/core';
import type { Track, TrackObservation, TrackState } from '@nv/perception';
import { viewEpoch, type ViewEpoch } from '@nv/view';
import { AppendWindow } from './append-window.js';
import { freezeObservation, freezeTrack, publishedObservations, publishTrack, type SealedTrack } from './frozen-track.js';
import type { MotionOptions } from './motion.js';
import { Trajectory, TrajectoryView, type ReadonlyTrajectory, type SegmentCapture, type TrajectorySegment } from './trajectory.js';

/** Input for {@link TrackHistory}. */
export interface TrackHistoryInit {
  /** The track as first committed (its `current` observation is not pushed automatically). */
  readonly track: Track;
  /** When it was first seen. */
  readonly firstSeen: MonotonicTs;
  /** The view epoch it was created in. */
  readonly viewEpochAtCreation: ViewEpoch;
  /** Observation ring depth (integer ≥ 1). */
  readonly maxObservations: number;
  /** Motion options of the trajectory. */
  readonly motion?: MotionOptions;
}

function checkTs(name: string, ts: unknown): asserts ts is MonotonicTs {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) throw new InvalidArgumentError(name, 'finite nanoseconds >= 0', ts);
}

function checkDepth(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('maxObservations', 'an integer >= 1', n);
}

/**
 * Frozen view of one track's history at the moment it was taken (what snapshots hold).
 * Nothing reachable from it can be mutated, and later store changes do not show through.
 */
export class TrackHistorySnapshot {
  readonly #id: TrackId;
  readonly #track: Track;
  readonly #firstSeen: MonotonicTs;
  readonly #lastSeen: MonotonicTs;
  readonly #viewEpochAtCreation: ViewEpoch;
  readonly #buf: readonly TrackObservation[];
  readonly #start: number;
  readonly #end: number;
  readonly #closedSegments: readonly TrajectorySegment[];
  readonly #activeSegment: SegmentCapture | undefined;
  readonly #totalPoints: number;
  #observations: readonly TrackObservation[] | undefined;
  #trajectory: ReadonlyTrajectory | undefined;

  /**
   * @internal built by {@link TrackHistory}; frozen when first handed out ({@link TrackHistorySnapshot.publish}),
   * because most per-frame captures are never read and freezing costs more than capturing
   */
  constructor(h: TrackHistory, track: Track, buf: readonly TrackObservation[], start: number) {
    this.#id = track.id;
    this.#track = track;
    this.#firstSeen = h.firstSeen;
    this.#lastSeen = h.lastSeen;
    this.#viewEpochAtCreation = h.viewEpochAtCreation;
    this.#buf = buf;
    this.#start = start;
    this.#end = buf.length;
    this.#closedSegments = h.trajectory.closedSegmentViews();
    this.#activeSegment = h.trajectory.captureActive();
    this.#totalPoints = h.trajectory.totalPoints;
  }

  /**
   * Freezes this view (once) before it is handed out.
   * @internal
   */
  publish(): this {
    if (!Object.isFrozen(this)) {
      Object.freeze(this);
    }
    return this;
  }

  /** The track id. */
  get id(): TrackId { return this.#id; }
  /** Latest committed state of the track (frozen). */
  get track(): Track { return publishTrack(this.#track); }
  /** When the track was first committed. */
  get firstSeen(): MonotonicTs { return this.#firstSeen; }
  /** When it was last committed. */
  get lastSeen(): MonotonicTs { return this.#lastSeen; }
  /** The view epoch it was created in. */
  get viewEpochAtCreation(): ViewEpoch { return this.#viewEpochAtCreation; }
  /** Its trajectory (frozen; built on first access). */
  get trajectory(): ReadonlyTrajectory {
    return (this.#trajectory ??= new TrajectoryView(this.#closedSegments, this.#activeSegment, this.#totalPoints));
  }
  /** Trajectory points retained (no materialization). */
  get trajectoryPointCount(): number { return this.#totalPoints; }
  /** Trajectory segments retained (no materialization). */
  get trajectorySegmentCount(): number { return this.#closedSegments.length + (this.#activeSegment === undefined ? 0 : 1); }

  /** Lifecycle state of the latest commit. */
  get state(): TrackState { return this.#track.state; }
  /** Retained observations, oldest first (frozen; materialized on first access, then shared). */
  get observations(): readonly TrackObservation[] {
    return (this.#observations ??= publishedObservations(this.#buf, this.#start, this.#end));
  }
  /** Number of retained observations. */
  get observationCount(): number { return this.#end - this.#start; }

  /** Plain-object form (for logging / JSON). */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id, track: this.track, firstSeen: this.firstSeen, lastSeen: this.lastSeen, viewEpochAtCreation: this.viewEpochAtCreation,
      observations: this.observations, trajectory: this.trajectory,
    };
  }
}

/**
 * Mutable history of one track, owned by a {@link TemporalStore} (which never hands it out;
 * readers get {@link TrackHistorySnapshot}s). Every mutation bumps {@link TrackHistory.generation},
 * so an unchanged history's snapshot is reused from one frame to the next.
 *
 * Tracks and observations are stored as frozen copies with read-only metadata.
 */
export class TrackHistory {
  #track: SealedTrack;
  readonly #observations = new AppendWindow<TrackObservation>();
  #maxObservations: number;
  /** The track's trajectory. */
  readonly trajectory: Trajectory;
  /** When the track was first seen. */
  readonly firstSeen: MonotonicTs;
  #lastSeen: MonotonicTs;
  /** The view epoch the track was created in. */
  readonly viewEpochAtCreation: ViewEpoch;
  #gen = 0;
  #snap: TrackHistorySnapshot | undefined;
  #snapGen = -1;
  #snapTrajGen = -1;
  /** Sequence number of the store's last commitFrame that included this track. @internal */
  commitSeq = 0;

  /**
   * @param init - first state, creation time and epoch, ring depth
   * @throws {InvalidArgumentError} on a malformed track, time, epoch or depth
   */
  constructor(init: TrackHistoryInit) {
    checkTs('firstSeen', init.firstSeen);
    viewEpoch(init.viewEpochAtCreation);
    checkDepth(init.maxObservations);
    this.#track = freezeTrack(init.track);
    this.firstSeen = init.firstSeen;
    this.#lastSeen = init.firstSeen;
    this.viewEpochAtCreation = init.viewEpochAtCreation;
    this.#maxObservations = init.maxObservations;
    this.trajectory = new Trajectory(init.motion);
  }

  /** The track id. */
  get id(): TrackId { return this.#track.id; }
  /** Latest committed state (frozen). */
  get track(): Track { return publishTrack(this.#track); }
  /** Lifecycle state of the latest commit. */
  get state(): TrackState { return this.#track.state; }
  /** When the track was last committed. */
  get lastSeen(): MonotonicTs { return this.#lastSeen; }
  /** Incremented on every change of this history (the trajectory has its own counter). */
  get generation(): number { return this.#gen; }
  /** Number of retained observations. */
  get observationCount(): number { return this.#observations.length; }
  /** Retained observations, oldest first (a frozen copy). */
  get observations(): readonly TrackObservation[] {
    const w = this.#observations;
    return publishedObservations(w.buffer, w.start, w.buffer.length);
  }

  /** Ring depth. */
  get maxObservations(): number { return this.#maxObservations; }
  /**
   * Changes the ring depth, dropping the oldest observations beyond it.
   * @throws {InvalidArgumentError} when not an integer ≥ 1
   */
  set maxObservations(n: number) {
    checkDepth(n);
    this.#maxObservations = n;
    this.#trim();
  }

  #trim(): void {
    const excess = this.#observations.length - this.#maxObservations;
    if (excess > 0) {
      this.#observations.dropFront(excess);
      this.#gen++;
    }
  }

  /**
   * Replaces the latest state and last-seen time (the observation is not pushed; see
   * {@link TrackHistory.pushObservation}).
   * @param track - the new state; same id
   * @param now - commit time, not before the previous one
   * @throws {InvalidArgumentError} on a malformed track, another id, or a time going backwards
   */
  update(track: Track, now: MonotonicTs): void {
    checkTs('now', now);
    const t = freezeTrack(track);
    if (t.id !== this.#track.id) throw new InvalidArgumentError('track.id', `the history's id (${this.#track.id})`, t.id);
    if (now < this.#lastSeen) throw new InvalidArgumentError('now', `a timestamp >= last seen (${this.#lastSeen})`, now);
    this.#track = t;
    this.#lastSeen = now;
    this.#gen++;
  }

  /**
   * Appends an observation, dropping the oldest beyond the ring depth.
   * @throws {InvalidArgumentError} on a malformed observation
   */
  pushObservation(obs: TrackObservation): void {
    this.#observations.push(freezeObservation(obs));
    this.#gen++;
    this.#trim();
  }

  /** Removes and returns the oldest observation. */
  popObservationFront(): TrackObservation | undefined {
    const first = this.#observations.first();
    if (first !== undefined) {
      this.#observations.dropFront(1);
      this.#gen++;
    }
    return first;
  }

  /** Removes all observations. */
  clearObservations(): void {
    if (this.#observations.length === 0) return;
    this.#observations.clear();
    this.#gen++;
  }

  /**
   * The store's per-frame update in one call, for a track it already validated and copied:
   * replaces the state and last-seen time and pushes the track's observation (ring capped).
   * The caller guarantees the same id and a time not before the previous one.
   * @internal
   */
  commit(track: SealedTrack, now: MonotonicTs): void {
    this.#track = track;
    this.#lastSeen = now;
    this.#observations.push(track.current);
    this.#gen++;
    this.#trim();
  }

  /**
   * A frozen view of the current state: O(1) (plus O(segments) for a changed trajectory);
   * reused as long as neither this history nor its trajectory changed.
   */
  snapshot(): TrackHistorySnapshot {
    return this.capture().publish();
  }

  /**
   * {@link TrackHistory.snapshot} without freezing (the store's per-frame capture; whoever
   * hands it out publishes it).
   * @internal
   */
  capture(): TrackHistorySnapshot {
    const tg = this.trajectory.generation;
    if (this.#snap === undefined || this.#snapGen !== this.#gen || this.#snapTrajGen !== tg) {
      this.#snap = new TrackHistorySnapshot(this, this.#track, this.#observations.buffer, this.#observations.start);
      this.#snapGen = this.#gen;
      this.#snapTrajGen = tg;
    }
    return this.#snap;
  }
}
