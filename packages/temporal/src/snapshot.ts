/**
 * The per-frame, read-only snapshot of a temporal store handed to stages.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, type MonotonicTs, type TrackId } from '@nv/core';
import type { TemporalAccess, Track, TrackObservation, TrackState } from '@nv/perception';
import type { ViewEpoch } from '@nv/view';
import type { TrackHistorySnapshot } from './track-history.js';
import type { ReadonlyTrajectory } from './trajectory.js';

const EMPTY_OBSERVATIONS: readonly TrackObservation[] = Object.freeze([]);

/** Construction token: only the store builds snapshots. */
const TOKEN: unique symbol = Symbol('TemporalSnapshot');
/** @internal */
export const SNAPSHOT_TOKEN: typeof TOKEN = TOKEN;

/**
 * An immutable view of a feed's temporal state at a frame boundary. Implements
 * {@link TemporalAccess} for stages, plus trajectory access.
 *
 * Everything reachable from it is frozen (tracks, observations, metadata — whose mutators
 * throw —, trajectories, segments, points, motion features), and it never changes after it
 * was taken: commits, evictions, compensations and epoch changes made to the store later are
 * not visible through it. Unchanged per-track data is shared between consecutive snapshots,
 * so taking one costs O(tracks) small allocations only for tracks that changed.
 *
 * @example
 * ```ts
 * const snap = store.snapshot();
 * for (const id of snap.trackIds()) {
 *   const seg = snap.trajectory(id)?.activeSegment;
 *   if (seg && !seg.motion.isStationary) console.log(id, seg.motion.meanSpeed);
 * }
 * ```
 */
export class TemporalSnapshot implements TemporalAccess {
  /** The store's view epoch when the snapshot was taken. */
  readonly viewEpoch: ViewEpoch;
  /** Number of tracks held. */
  readonly trackCount: number;
  readonly #ids: readonly TrackId[];
  readonly #index: ReadonlyMap<TrackId, number>;
  readonly #entries: TrackHistorySnapshot[];

  /**
   * @internal built by `TemporalStore.snapshot()`: `ids` (frozen) and `index` (id → position)
   * are shared between snapshots while membership is unchanged and never mutated; `entries`
   * is owned by this snapshot.
   */
  constructor(
    token: typeof SNAPSHOT_TOKEN, ids: readonly TrackId[], index: ReadonlyMap<TrackId, number>, entries: TrackHistorySnapshot[],
    epoch: ViewEpoch,
  ) {
    if (token !== TOKEN) throw new InvalidArgumentError('TemporalSnapshot', 'construction through TemporalStore.snapshot()', 'a direct constructor call');
    this.#ids = ids;
    this.#index = index;
    this.#entries = entries;
    this.viewEpoch = epoch;
    this.trackCount = entries.length;
    Object.freeze(this);
  }

  #get(id: TrackId): TrackHistorySnapshot | undefined {
    const i = this.#index.get(id);
    return i === undefined ? undefined : this.#entries[i];
  }

  /** Ids of all tracks held, in admission order (frozen). */
  trackIds(): readonly TrackId[] { return this.#ids; }

  /** Whether the track is held. */
  has(id: TrackId): boolean { return this.#index.has(id); }

  /** Latest committed state of the track (frozen). */
  getTrack(id: TrackId): Track | undefined { return this.#get(id)?.track; }

  /** Lifecycle state of the track's latest commit. */
  trackState(id: TrackId): TrackState | undefined { return this.#get(id)?.state; }

  /** Retained observations, oldest first (frozen; empty for an unknown track). */
  recentObservations(id: TrackId): readonly TrackObservation[] {
    return this.#get(id)?.observations ?? EMPTY_OBSERVATIONS;
  }

  /** When the track was first committed. */
  firstSeen(id: TrackId): MonotonicTs | undefined { return this.#get(id)?.firstSeen; }

  /** When the track was last committed. */
  lastSeen(id: TrackId): MonotonicTs | undefined { return this.#get(id)?.lastSeen; }

  /** View epoch the track was created in. */
  trackCreationEpoch(id: TrackId): ViewEpoch | undefined { return this.#get(id)?.viewEpochAtCreation; }

  /** Total trajectory points retained (0 for an unknown track). */
  trajectoryPointCount(id: TrackId): number { return this.#get(id)?.trajectoryPointCount ?? 0; }

  /** Trajectory segments retained (0 for an unknown track). */
  trajectorySegmentCount(id: TrackId): number { return this.#get(id)?.trajectorySegmentCount ?? 0; }

  /** The track's trajectory (read-only), with segments, points and motion features. */
  trajectory(id: TrackId): ReadonlyTrajectory | undefined { return this.#get(id)?.trajectory; }

  /** The track's full history view. */
  history(id: TrackId): TrackHistorySnapshot | undefined { return this.#get(id)?.publish(); }

  /** All track histories, in admission order (frozen). */
  histories(): readonly TrackHistorySnapshot[] {
    if (!Object.isFrozen(this.#entries)) {
      for (const h of this.#entries) h.publish();
      Object.freeze(this.#entries);
    }
    return this.#entries;
  }
}
