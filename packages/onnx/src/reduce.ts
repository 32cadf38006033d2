/**
 * A detection head reduced to its detections where the model ran: what an inference worker does
 * for a {@link DetectionReduction} (so a reply carries K × 6 floats per frame instead of the head's
 * N × (4 + C)), with the very steps the detector takes locally.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { DetectionReduction } from '@nv/inference';
import { Candidates, decodeHead, resolveHead, type ResolvedHead } from './heads.js';
import { nonMaxSuppression, topScores } from './nms.js';

/** Channels of a reduced output row: x1, y1, x2, y2, score, class. */
export const REDUCED_CHANNELS = 6;

/**
 * Decodes each item of a detection output, drops boxes with no area inside the item's content
 * rectangle, applies NMS (an end-to-end head: keeps the best scores) and returns the kept boxes
 * as `[B, K, 6]` rows `x1, y1, x2, y2, score, class` (input pixels, best first; K the most any
 * item kept, shorter items padded with zero rows — a zero row has no area, so a reader that
 * applies the content filter drops it).
 * @param output - the output tensor, `[B, channels, N]` or `[B, N, channels]`
 * @param spec - head, thresholds and per-item content (see {@link DetectionReduction})
 * @param candidates - scratch reused across calls (optional)
 * @returns the reduced tensor
 * @throws {InvalidArgumentError} when the shape fits no head, or `content` has fewer rows than the batch
 * @example
 * ```ts
 * const r = reduceDetections({ dims: [1, 84, 8400], data }, {
 *   output: 'output0', head: 'auto', layout: 'auto', numClasses: 80, scoreThreshold: 0.25, iouThreshold: 0.45,
 *   maxDetections: 100, maxCandidates: 3000, classAgnostic: false, content: [[0, 80, 640, 560]],
 * }); // r.dims: [1, K, 6]
 * ```
 */
export function reduceDetections(
  output: { readonly dims: readonly number[]; readonly data: Float32Array }, spec: DetectionReduction, candidates: Candidates = new Candidates(),
): { dims: number[]; data: Float32Array } {
  const dims = output.dims;
  const r = resolveHead(dims, { head: spec.head, layout: spec.layout, numClasses: spec.numClasses });
  if (r.status !== 'ok') throw new InvalidArgumentError('output', r.status === 'error' ? r.detail : 'a detection output with known dimensions', `[${dims.join(', ')}]`);
  const head: ResolvedHead = r.head;
  const batch = dims[0]!;
  if (spec.content.length < batch) throw new InvalidArgumentError('content', `a rectangle per batch item (${batch})`, spec.content.length);
  const chIdx = head.layout === 'channelsFirst' ? 1 : 2;
  const boxes = dims[3 - chIdx]!;
  const per = boxes * head.channels;
  if (output.data.length < batch * per) throw new InvalidArgumentError('output', `${batch * per} values for shape [${dims.join(', ')}]`, output.data.length);
  const rows: Float32Array[] = [];
  let most = 0;
  const cand = candidates;
  for (let b = 0; b < batch; b++) {
    decodeHead(output.data, b * per, head, boxes, spec.scoreThreshold, cand);
    const c = spec.content[b]!;
    const x0 = c[0]!, y0 = c[1]!, x1 = c[2]!, y1 = c[3]!;
    cand.retain((a, y, d, e) => Math.min(d, x1) > Math.max(a, x0) && Math.min(e, y1) > Math.max(y, y0));
    const keep = head.head === 'end2end'
      ? topScores(cand.scores, cand.count, spec.maxDetections)
      : nonMaxSuppression(cand.boxes, cand.scores, cand.classes, cand.count, {
        iouThreshold: spec.iouThreshold, maxDetections: spec.maxDetections, maxCandidates: spec.maxCandidates, classAgnostic: spec.classAgnostic,
      });
    const row = new Float32Array(keep.length * REDUCED_CHANNELS);
    keep.forEach((k, j) => {
      const o = j * REDUCED_CHANNELS;
      row[o] = cand.boxes[4 * k]!; row[o + 1] = cand.boxes[4 * k + 1]!; row[o + 2] = cand.boxes[4 * k + 2]!; row[o + 3] = cand.boxes[4 * k + 3]!;
      row[o + 4] = cand.scores[k]!; row[o + 5] = cand.classes[k]!;
    });
    rows.push(row);
    if (keep.length > most) most = keep.length;
  }
  const data = new Float32Array(batch * most * REDUCED_CHANNELS);
  rows.forEach((row, b) => data.set(row, b * most * REDUCED_CHANNELS));
  return { dims: [batch, most, REDUCED_CHANNELS], data };
}
