/**
 * Typed metadata keys the tracker writes on the tracks it reports.
 *
 * @packageDocumentation
 */
import { metadataKey, type MetadataKey } from '@nv/core';
import type { Detection } from '@nv/perception';

/** Tracker bookkeeping for one track at one frame (see {@link TRACKER_INFO}). */
export interface TrackerInfo {
  /** Frames in which the track was matched to a detection, in total. */
  readonly hits: number;
  /** Frame steps since the track was started (0 on its first frame). */
  readonly ageFrames: number;
  /** Frame steps since the track's last matched detection (0 when matched this frame). */
  readonly framesSinceObservation: number;
  /** Filtered velocity of the box centre in normalized units per frame step. */
  readonly velocity: { readonly x: number; readonly y: number };
}

/**
 * On `track.metadata`: the tracker's {@link TrackerInfo} for this frame.
 * @example
 * ```ts
 * const info = track.metadata.get(TRACKER_INFO);
 * if (info && info.framesSinceObservation > 5) console.log(`track ${track.id} is predicted`);
 * ```
 */
export const TRACKER_INFO: MetadataKey<TrackerInfo> = metadataKey<TrackerInfo>('tracking.info');

/**
 * On `track.metadata`: the last detection the track was matched to (this frame's when it was
 * matched, an earlier one while it coasts). Its `metadata` carries whatever the detector
 * attached (e.g. attributes that a later OCR stage needs). A matched observation also gets a
 * copy of that detection's metadata in `track.current.metadata`.
 * @example
 * ```ts
 * const det = track.metadata.get(LAST_DETECTION);
 * const crop = det?.bbox ?? track.current.bbox;
 * ```
 */
export const LAST_DETECTION: MetadataKey<Detection> = metadataKey<Detection>('tracking.lastDetection');
