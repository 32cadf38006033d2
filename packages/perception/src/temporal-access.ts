/**
 * Read-only access to a feed's temporal state, as stages see it.
 *
 * Defined here (not in `@nv/temporal`) so that stage code depends only on
 * `@nv/perception`; `@nv/temporal`'s per-frame snapshot implements it.
 */
import type { MonotonicTs, TrackId } from '@nv/core';
import type { ViewEpoch } from '@nv/view';
import type { Track, TrackObservation } from './track.js';

/**
 * A frozen, per-frame view of the temporal store (taken before the first stage runs,
 * unchanged until the frame's stages have all finished).
 */
export interface TemporalAccess {
  /** The view epoch the store is in. */
  readonly viewEpoch: ViewEpoch;
  /** Number of tracks held. */
  readonly trackCount: number;
  /** Ids of all tracks held. */
  trackIds(): readonly TrackId[];
  /** The latest committed state of a track. */
  getTrack(id: TrackId): Track | undefined;
  /** Retained observations of a track, oldest first (empty for an unknown track). */
  recentObservations(id: TrackId): readonly TrackObservation[];
  /** When the track was first committed. */
  firstSeen(id: TrackId): MonotonicTs | undefined;
  /** When the track was last committed. */
  lastSeen(id: TrackId): MonotonicTs | undefined;
  /** Total trajectory points retained for the track (0 for an unknown track). */
  trajectoryPointCount(id: TrackId): number;
  /** Number of trajectory segments retained for the track (0 for an unknown track). */
  trajectorySegmentCount(id: TrackId): number;
}
