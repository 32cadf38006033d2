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
  readonly ts: MonotonicTs;
  readonly bbox: BBox;
  /** In [0, 1]. */
  readonly confidence: number;
  readonly state: TrackState;
  /** The detection it was matched to, if any (absent when coasting). */
  readonly detectionId: DetectionId | undefined;
  readonly metadata: TypedMetadata;
}

/** A track as reported by a tracker stage for the current frame. */
export interface Track {
  readonly id: TrackId;
  readonly classId: number;
  readonly state: TrackState;
  /** This frame's observation. */
  readonly current: TrackObservation;
  readonly metadata: TypedMetadata;
}

/** Input for {@link createObservation}. */
export interface TrackObservationInit {
  readonly ts: MonotonicTs;
  readonly bbox: BBox;
  readonly confidence: number;
  readonly state: TrackState;
  readonly detectionId?: DetectionId;
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
  readonly id: TrackId;
  readonly classId: number;
  readonly state: TrackState;
  readonly current: TrackObservation;
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
