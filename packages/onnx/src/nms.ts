/**
 * Greedy non-maximum suppression over axis-aligned boxes, class-aware by default.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';

/** Options of {@link nonMaxSuppression}. */
export interface NmsOptions {
  /** A box is suppressed when its IoU with a kept, higher-scoring box exceeds this (in [0, 1]). */
  readonly iouThreshold: number;
  /** Stop after keeping this many boxes. Default: no limit. */
  readonly maxDetections?: number;
  /** Suppress across classes too (default `false`: only boxes of the same class suppress each other). */
  readonly classAgnostic?: boolean;
  /** Consider only this many boxes, the best-scoring ones. Default: all. */
  readonly maxCandidates?: number;
}

/**
 * Indices of the `limit` best scores, best first (ties keep index order).
 * @param scores - scores
 * @param count - number of scores to consider
 * @param limit - how many indices to return at most
 * @returns the indices
 * @example
 * ```ts
 * topScores(Float32Array.of(0.1, 0.9, 0.5), 3, 2) // Int32Array [1, 2]
 * ```
 */
export function topScores(scores: ArrayLike<number>, count: number, limit: number): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return limit < count ? order.slice(0, Math.max(0, limit)) : order;
}

/**
 * Greedy NMS: visits boxes from the highest score down (ties keep input order) and keeps a
 * box unless it overlaps an already kept box of the same class (any class when
 * `classAgnostic`) with IoU > `iouThreshold`.
 *
 * @param boxes - `count × 4` values `x1, y1, x2, y2` (any unit, x1 ≤ x2, y1 ≤ y2)
 * @param scores - `count` scores
 * @param classes - `count` class ids
 * @param count - number of boxes to consider (the arrays may be longer)
 * @param options - IoU threshold, maximum kept, class-agnostic switch
 * @returns indices of the kept boxes, highest score first
 * @throws {InvalidArgumentError} on a bad threshold, maximum or count
 * @example
 * ```ts
 * const keep = nonMaxSuppression(
 *   Float32Array.of(0, 0, 10, 10, 1, 1, 11, 11), Float32Array.of(0.9, 0.8), Int32Array.of(0, 0), 2,
 *   { iouThreshold: 0.5 },
 * ); // Int32Array [0]
 * ```
 */
export function nonMaxSuppression(
  boxes: ArrayLike<number>, scores: ArrayLike<number>, classes: ArrayLike<number>, count: number, options: NmsOptions,
): Int32Array {
  const { iouThreshold, classAgnostic = false } = options;
  const maxDetections = options.maxDetections ?? Infinity;
  if (typeof iouThreshold !== 'number' || !(iouThreshold >= 0 && iouThreshold <= 1)) {
    throw new InvalidArgumentError('iouThreshold', 'a number in [0, 1]', iouThreshold);
  }
  if (!(maxDetections >= 0)) throw new InvalidArgumentError('maxDetections', 'a non-negative number', maxDetections);
  if (!Number.isInteger(count) || count < 0 || boxes.length < 4 * count || scores.length < count || classes.length < count) {
    throw new InvalidArgumentError('count', 'a non-negative integer no larger than the arrays', count);
  }
  const maxCandidates = options.maxCandidates ?? count;
  if (!(maxCandidates >= 0)) throw new InvalidArgumentError('maxCandidates', 'a non-negative number', maxCandidates);
  const order = topScores(scores, count, maxCandidates);
  const area = new Float64Array(count);
  for (const i of order) area[i] = Math.max(0, boxes[4 * i + 2]! - boxes[4 * i]!) * Math.max(0, boxes[4 * i + 3]! - boxes[4 * i + 1]!);
  const kept = new Int32Array(Math.min(order.length, maxDetections));
  let n = 0;
  for (let o = 0; o < order.length && n < kept.length; o++) {
    const i = order[o]!;
    const x1 = boxes[4 * i]!, y1 = boxes[4 * i + 1]!, x2 = boxes[4 * i + 2]!, y2 = boxes[4 * i + 3]!, c = classes[i]!;
    let keep = true;
    for (let k = 0; k < n; k++) {
      const j = kept[k]!;
      if (!classAgnostic && classes[j] !== c) continue;
      const iw = Math.min(x2, boxes[4 * j + 2]!) - Math.max(x1, boxes[4 * j]!);
      if (iw <= 0) continue;
      const ih = Math.min(y2, boxes[4 * j + 3]!) - Math.max(y1, boxes[4 * j + 1]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const union = area[i]! + area[j]! - inter;
      if (union > 0 && inter / union > iouThreshold) { keep = false; break; }
    }
    if (keep) kept[n++] = i;
  }
  return kept.slice(0, n);
}
