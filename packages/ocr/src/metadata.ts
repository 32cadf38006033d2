/**
 * Typed metadata keys and values that the OCR stages attach to detections, tracks and
 * per-frame artifacts.
 */
import { metadataKey, type BBox, type DetectionId, type MonotonicTs, type Polygon, type TrackId } from '@nv/core';

/** Where a text region is, as found by {@link TextDetector}. */
export interface TextRegion {
  /**
   * The region's rotated rectangle, normalized, clamped to the frame: 4 vertices in the order
   * top-left, top-right, bottom-right, bottom-left of the text.
   */
  readonly quad: Polygon;
  /** Mean text probability inside the region (DB box score), in [0, 1]. */
  readonly score: number;
}

/** A recognized string. */
export interface TextReading {
  /** The text, as decoded (spaces included). */
  readonly text: string;
  /** Mean of the per-character maximum probabilities, in [0, 1] (0 for an empty string). */
  readonly confidence: number;
  /** Sequence number of the frame the text was read on. */
  readonly frameSeq: number;
  /** Timestamp of the frame the text was read on. */
  readonly ts: MonotonicTs;
  /** Which read attempt of this object produced the reading (1 = the first; always 1 for detections without a tracker). */
  readonly attempt: number;
}

/** One entry of the per-frame {@link TEXT_READINGS} artifact. */
export interface TextReadingEntry {
  /** `track` when the reading belongs to a track, `detection` otherwise. */
  readonly kind: 'track' | 'detection';
  /** The track's id (`kind === 'track'`). */
  readonly trackId?: TrackId;
  /** The detection's id (`kind === 'detection'`). */
  readonly detectionId?: DetectionId;
  /** Where the object is in this frame. */
  readonly bbox: BBox;
  /** The best reading so far. */
  readonly reading: TextReading;
  /** Whether the text was (re)read on this frame, rather than carried over. */
  readonly readThisFrame: boolean;
}

/** On detections from {@link TextDetector}: the text region's quad and score. */
export const TEXT_REGION = metadataKey<TextRegion>('ocr.textRegion');

/**
 * On tracks (track-level metadata) and on detections when no tracker runs: the best reading
 * so far, set by {@link TextRecognizer}.
 */
export const TEXT = metadataKey<TextReading>('ocr.text');

/** Per-frame typed artifact from {@link TextRecognizer}: every object that has a reading. */
export const TEXT_READINGS = metadataKey<readonly TextReadingEntry[]>('ocr.readings');
