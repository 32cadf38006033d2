/**
 * Tracks: objects followed across frames, and their per-frame observations.
 */
import { BBox, InvalidArgumentError, TypedMetadata, type DetectionId, type MonotonicTs, type TrackId } from '@nv/core';

/**
 * Track lifecycle state.
 * - `tentative`: newly started, not yet confirmed by enough observations;
 * - `confirmed`: matched this frame;
 * - `coasted`: not matched this frame, position predicted;
 * - `lost`: coasted too long; pending deletion (evicted by retention after `maxTrackAgeMs`).
 */
export type TrackState = 'tentative' | 'confirmed' | 'coasted' | 'lost';

/** The four states, in lifecycle order. */
export const TRACK_STATES: readonly TrackState[] = Object.freeze(['tentative', 'confirmed', 'coasted', 'lost']);

/** One observation of a track in one frame. */
export interface TrackObservation {
  /** Timestamp of the frame this observation belongs to. */
  readonly ts: MonotonicTs;
  /** Where the track was (or was predicted to be), in normalized coordinates. */
  readonly bbox: BBox;
  /** In [0, 1]. */
  readonly confidence: number;
  /** The track's lifecycle state at this observation. */
  readonly state: TrackState;
  /** The detection it was matched to, if any (absent when coasting). */
  readonly detectionId: DetectionId | undefined;
  /** Free-form typed extras for this observation. */
  readonly metadata: TypedMetadata;
}

/** A track as reported by a tracker stage for the current frame. */
export interface Track {
  /** Unique within the feed; stable across frames. */
  readonly id: TrackId;
  /** Model class index of the tracked object. */
  readonly classId: number;
  /** Current lifecycle state. */
  readonly state: TrackState;
  /** This frame's observation. */
  readonly current: TrackObservation;
  /** Free-form typed extras for the track. */
  readonly metadata: TypedMetadata;
}

/** Input for {@link createObservation}. */
export interface TrackObservationInit {
  /** Timestamp of the frame this observation belongs to. */
  readonly ts: MonotonicTs;
  /** Where, in normalized coordinates; must be a BBox. */
  readonly bbox: BBox;
  /** Clamped to [0, 1]; NaN becomes 0. */
  readonly confidence: number;
  /** Lifecycle state at this observation; must be one of {@link TRACK_STATES}. */
  readonly state: TrackState;
  /** The detection it was matched to; omit when coasting. */
  readonly detectionId?: DetectionId;
  /** Free-form typed extras; defaults to empty metadata. */
  readonly metadata?: TypedMetadata;
}

function checkState(s: unknown): asserts s is TrackState {
  if (!TRACK_STATES.includes(s as TrackState)) throw new InvalidArgumentError('track.state', `one of ${TRACK_STATES.join(', ')}`, s);
}

/**
 * Builds a {@link TrackObservation}; confidence is clamped to [0,1] (NaN → 0).
 * @throws {InvalidArgumentError} on an unknown state or a bbox that is not a BBox
 */
export function createObservation(init: TrackObservationInit): TrackObservation {
  checkState(init.state);
  if (!(init.bbox instanceof BBox)) throw new InvalidArgumentError('observation.bbox', 'a BBox', init.bbox);
  const c = Number.isNaN(init.confidence) ? 0 : Math.min(1, Math.max(0, init.confidence));
  return Object.freeze({ ts: init.ts, bbox: init.bbox, confidence: c, state: init.state, detectionId: init.detectionId, metadata: init.metadata ?? new TypedMetadata() });
}

/** Input for {@link createTrack}. */
export interface TrackInit {
  /** Unique within the feed; stable across frames. */
  readonly id: TrackId;
  /** Model class index; must be a non-negative integer. */
  readonly classId: number;
  /** Current lifecycle state; must be one of {@link TRACK_STATES}. */
  readonly state: TrackState;
  /** This frame's observation (see {@link createObservation}). */
  readonly current: TrackObservation;
  /** Free-form typed extras; defaults to empty metadata. */
  readonly metadata?: TypedMetadata;
}

/**
 * Builds a {@link Track}.
 * @throws {InvalidArgumentError} on a bad class id or state
 * @example
 * ```ts
 * const obs = createObservation({ ts, bbox, confidence: 0.8, state: 'confirmed' });
 * const t = createTrack({ id: trackId(7), classId: 0, state: 'confirmed', current: obs });
 * ```
 */
export function createTrack(init: TrackInit): Track {
  checkState(init.state);
  if (!Number.isInteger(init.classId) || init.classId < 0) throw new InvalidArgumentError('track.classId', 'a non-negative integer', init.classId);
  return Object.freeze({ id: init.id, classId: init.classId, state: init.state, current: init.current, metadata: init.metadata ?? new TypedMetadata() });
}
