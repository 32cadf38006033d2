/**
 * Detections: what a detector found in one frame.
 */
import { BBox, InvalidArgumentError, TypedMetadata, type DetectionId } from '@nv/core';

/** One object found in one frame. Immutable once built. */
export interface Detection {
  /** Unique within the feed. */
  readonly id: DetectionId;
  /** Model class index. */
  readonly classId: number;
  /** Confidence in [0, 1]. */
  readonly confidence: number;
  /** Where, in normalized coordinates. */
  readonly bbox: BBox;
  /** Re-identification / feature vector, when the model produces one. */
  readonly embedding: Float32Array | undefined;
  /** Free-form typed extras (e.g. OCR text, attributes). */
  readonly metadata: TypedMetadata;
}

/** Input for {@link createDetection}. */
export interface DetectionInit {
  /** Unique within the feed. */
  readonly id: DetectionId;
  /** Model class index; must be a non-negative integer. */
  readonly classId: number;
  /** Clamped to [0, 1]; NaN becomes 0. */
  readonly confidence: number;
  /** Where, in normalized [0,1] coordinates. */
  readonly bbox: BBox;
  /** Optional re-identification / feature vector (copied into a Float32Array if given as numbers). */
  readonly embedding?: Float32Array | readonly number[];
  /** Free-form typed extras; defaults to empty metadata. */
  readonly metadata?: TypedMetadata;
}

/**
 * Builds a {@link Detection}. Confidence is clamped to [0,1] (NaN → 0), as detectors
 * commonly emit raw logits or slightly-out-of-range scores.
 * @throws {InvalidArgumentError} when `classId` is not a non-negative integer or `bbox` is not a BBox
 * @example
 * ```ts
 * const d = createDetection({ id: detectionId(1), classId: 0, confidence: 0.9, bbox: BBox.of(0.1, 0.1, 0.2, 0.3) });
 * ```
 */
export function createDetection(init: DetectionInit): Detection {
  if (!Number.isInteger(init.classId) || init.classId < 0) throw new InvalidArgumentError('detection.classId', 'a non-negative integer', init.classId);
  if (!(init.bbox instanceof BBox)) throw new InvalidArgumentError('detection.bbox', 'a BBox', init.bbox);
  const c = Number.isNaN(init.confidence) ? 0 : Math.min(1, Math.max(0, init.confidence));
  const emb = init.embedding === undefined ? undefined : init.embedding instanceof Float32Array ? init.embedding : Float32Array.from(init.embedding);
  return Object.freeze({ id: init.id, classId: init.classId, confidence: c, bbox: init.bbox, embedding: emb, metadata: init.metadata ?? new TypedMetadata() });
}

/** All detections of one frame, as set by the last stage that produced detections. */
export type DetectionSet = readonly Detection[];
