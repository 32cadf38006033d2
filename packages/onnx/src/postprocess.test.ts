import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { Candidates, decodeHead, resolveHead } from './heads.js';
import { parseClassNames, parseImageSize, readOnnxMetadata } from './model-metadata.js';
import { nonMaxSuppression, topScores } from './nms.js';

describe('nonMaxSuppression', () => {
  // Boxes: 0 and 1 overlap with IoU 81/119 ≈ 0.68; 2 is far away; 3 equals 0 but another class.
  const boxes = Float32Array.of(0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60, 0, 0, 10, 10);
  const scores = Float32Array.of(0.8, 0.9, 0.3, 0.7);
  const classes = Int32Array.of(0, 0, 0, 1);

  it('keeps the best of overlapping same-class boxes, keeps other classes, best first', () => {
    expect([...nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 0.5 })]).toEqual([1, 3, 2]);
  });
  it('suppresses only above the IoU threshold', () => {
    expect([...nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 0.69 })]).toEqual([1, 0, 3, 2]);
    expect([...nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 0.68 })]).toEqual([1, 3, 2]);
  });
  it('class-agnostic mode suppresses across classes', () => {
    expect([...nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 0.5, classAgnostic: true })]).toEqual([1, 2]);
  });
  it('maxDetections and maxCandidates bound the work and the result', () => {
    expect([...nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 0.5, maxDetections: 2 })]).toEqual([1, 3]);
    // Only the best 2 candidates (1 and 0) are considered: 0 is suppressed by 1.
    expect([...nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 0.5, maxCandidates: 2 })]).toEqual([1]);
    expect([...nonMaxSuppression(boxes, scores, classes, 0, { iouThreshold: 0.5 })]).toEqual([]);
  });
  it('ties keep input order; bad arguments are typed errors', () => {
    expect([...topScores(Float32Array.of(0.5, 0.9, 0.5, 0.1), 4, 3)]).toEqual([1, 0, 2]);
    expect(() => nonMaxSuppression(boxes, scores, classes, 4, { iouThreshold: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => nonMaxSuppression(boxes, scores, classes, 5, { iouThreshold: 0.5 })).toThrow(InvalidArgumentError);
  });
});

describe('resolveHead', () => {
  const auto = { head: 'auto', layout: 'auto' } as const;
  it('auto-detects YOLO heads and layouts from the shape and the class count', () => {
    expect(resolveHead([1, 84, 8400], { ...auto, numClasses: 80 })).toEqual({ status: 'ok', head: { head: 'yolov8', layout: 'channelsFirst', channels: 84, numClasses: 80 } });
    expect(resolveHead([1, 8400, 84], { ...auto, numClasses: 80 })).toMatchObject({ status: 'ok', head: { head: 'yolov8', layout: 'channelsLast' } });
    expect(resolveHead([1, 25200, 85], { ...auto, numClasses: 80 })).toMatchObject({ status: 'ok', head: { head: 'yolov5', layout: 'channelsLast' } });
    expect(resolveHead(['batch', 85, 'anchors'], { ...auto, numClasses: 80 })).toMatchObject({ status: 'ok', head: { head: 'yolov5', layout: 'channelsFirst' } });
    expect(resolveHead([1, 300, 6], { ...auto, numClasses: 80 })).toMatchObject({ status: 'ok', head: { head: 'end2end', layout: 'channelsLast' } });
  });
  it('with a fixed head and no class count, the smaller dimension is the channels', () => {
    expect(resolveHead([1, 8400, 84], { head: 'yolov8', layout: 'auto', numClasses: undefined })).toMatchObject({ status: 'ok', head: { layout: 'channelsLast', numClasses: 80 } });
    expect(resolveHead([1, 300, 6], { head: 'end2end', layout: 'auto', numClasses: undefined })).toMatchObject({ status: 'ok', head: { layout: 'channelsLast', numClasses: undefined } });
  });
  it('reports ambiguity, misfits and unknown shapes', () => {
    expect(resolveHead([1, 84, 8400], { ...auto, numClasses: undefined })).toMatchObject({ status: 'error', detail: expect.stringMatching(/ambiguous.*set numClasses/) });
    expect(resolveHead([1, 300, 6], { ...auto, numClasses: 2 })).toMatchObject({ status: 'error', detail: expect.stringMatching(/end2end\/channelsLast.*yolov8\/channelsLast/) });
    expect(resolveHead([1, 84, 8400], { head: 'yolov5', layout: 'auto', numClasses: 80 })).toMatchObject({ status: 'error', detail: expect.stringMatching(/fits no supported head 'yolov5'/) });
    expect(resolveHead([1, 84], { ...auto, numClasses: 80 })).toMatchObject({ status: 'error', detail: expect.stringMatching(/rank 2/) });
    expect(resolveHead(['b', 'c', 'n'], { ...auto, numClasses: 80 })).toEqual({ status: 'deferred' });
  });
});

describe('decodeHead', () => {
  it('channels-first and channels-last give the same candidates; cx,cy,w,h become corners', () => {
    // 3 boxes, 2 classes, yolov8: cx, cy, w, h, s0, s1
    const rows = [[10, 20, 4, 6, 0.1, 0.8], [30, 30, 10, 10, 0.6, 0.2], [5, 5, 2, 2, 0.1, 0.2]];
    const first = new Float32Array(18), last = new Float32Array(18);
    rows.forEach((r, n) => r.forEach((v, c) => { first[c * 3 + n] = v; last[n * 6 + c] = v; }));
    const a = new Candidates(), b = new Candidates();
    decodeHead(first, 0, { head: 'yolov8', layout: 'channelsFirst', channels: 6, numClasses: 2 }, 3, 0.25, a);
    decodeHead(last, 0, { head: 'yolov8', layout: 'channelsLast', channels: 6, numClasses: 2 }, 3, 0.25, b);
    const dump = (c: Candidates) => Array.from({ length: c.count }, (_, i) => [...c.boxes.subarray(4 * i, 4 * i + 4), Number(c.scores[i]!.toFixed(4)), c.classes[i]]);
    expect(dump(a)).toEqual([[8, 17, 12, 23, 0.8, 1], [25, 25, 35, 35, 0.6, 0]]);
    expect(dump(b)).toEqual(dump(a));
  });
});

describe('model metadata', () => {
  it('parses class-name lists in the forms exporters write', () => {
    expect(parseClassNames("{0: 'person', 1: 'bicycle', 2: \"traffic light\"}")).toEqual(['person', 'bicycle', 'traffic light']);
    expect(parseClassNames("{0: 'it\\'s', 1: 'b'}")).toEqual(["it's", 'b']);
    expect(parseClassNames('["a", "b"]')).toEqual(['a', 'b']);
    expect(parseClassNames('{"1": "b", "0": "a"}')).toEqual(['a', 'b']);
    expect(parseClassNames("{0: 'a', 2: 'c'}")).toBeUndefined(); // gap
    expect(parseClassNames('nothing here')).toBeUndefined();
    expect(parseImageSize('[480, 640]')).toEqual({ height: 480, width: 640 });
    expect(parseImageSize('640')).toEqual({ height: 640, width: 640 });
  });
  it('reads nothing from bytes that are not a protobuf message', () => {
    expect(readOnnxMetadata(new TextEncoder().encode('definitely not protobuf'))).toBeUndefined();
    expect(readOnnxMetadata(new Uint8Array(0))?.size).toBe(0);
  });
});
