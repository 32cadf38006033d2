/**
 * `reduceDetections`: a head turned into NMS'd rows per item, the content filter, zero-row
 * padding, and refusals.
 */
import { describe, expect, it } from 'vitest';
import { reduceDetections } from './reduce.js';

/** A yolov8 channels-last output: per box cx, cy, w, h, then 2 class scores. */
function head(items: number[][][]): { dims: number[]; data: Float32Array } {
  const boxes = Math.max(...items.map((b) => b.length));
  const data = new Float32Array(items.length * boxes * 6);
  items.forEach((bs, b) => bs.forEach((row, n) => data.set(row, (b * boxes + n) * 6)));
  return { dims: [items.length, boxes, 6], data };
}

const spec = (content: number[][], o: Partial<Parameters<typeof reduceDetections>[1]> = {}) => ({
  output: 'out', head: 'yolov8', layout: 'channelsLast', numClasses: 2, scoreThreshold: 0.3, iouThreshold: 0.5,
  maxDetections: 10, maxCandidates: 100, classAgnostic: false, content, ...o,
} as const);

describe('reduceDetections', () => {
  it('keeps the best of overlapping boxes per class, drops boxes outside the content, pads shorter items with zero rows', () => {
    const out = head([
      [
        [50, 50, 20, 20, 0.9, 0.1], // kept
        [51, 50, 20, 20, 0.8, 0.1], // suppressed by the first (same class, IoU > 0.5)
        [52, 50, 20, 20, 0.1, 0.7], // another class: kept
        [5, 2, 4, 2, 0.95, 0], // entirely above the content (y < 10): dropped before NMS
      ],
      [[20, 20, 10, 10, 0.6, 0]],
    ]);
    const r = reduceDetections(out, spec([[0, 10, 100, 90], [0, 0, 100, 100]]));
    expect(r.dims).toEqual([2, 2, 6]);
    expect([...r.data.subarray(0, 6)]).toEqual([40, 40, 60, 60, Math.fround(0.9), 0]);
    expect([...r.data.subarray(6, 12)]).toEqual([42, 40, 62, 60, Math.fround(0.7), 1]);
    expect([...r.data.subarray(12, 18)]).toEqual([15, 15, 25, 25, Math.fround(0.6), 0]);
    expect([...r.data.subarray(18, 24)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('an end-to-end head keeps the best scores; nothing above the threshold gives K = 0', () => {
    const e2e = { dims: [1, 3, 6], data: Float32Array.of(0, 0, 10, 10, 0.2, 1, 0, 0, 20, 20, 0.9, 0, 5, 5, 15, 15, 0.5, 1) };
    const r = reduceDetections(e2e, spec([[0, 0, 100, 100]], { head: 'end2end', maxDetections: 1 }));
    expect(r.dims).toEqual([1, 1, 6]);
    expect([...r.data]).toEqual([0, 0, 20, 20, Math.fround(0.9), 0]);
    expect(reduceDetections(e2e, spec([[0, 0, 100, 100]], { head: 'end2end', scoreThreshold: 0.95 })).dims).toEqual([1, 0, 6]);
  });

  it('refuses a shape that fits no head and too few content rectangles', () => {
    expect(() => reduceDetections({ dims: [1, 7, 4], data: new Float32Array(28) }, spec([[0, 0, 1, 1]]))).toThrow(/fits no supported head/);
    expect(() => reduceDetections(head([[[1, 1, 1, 1, 1, 1]], [[1, 1, 1, 1, 1, 1]]]), spec([[0, 0, 1, 1]]))).toThrow(/content/);
  });
});
