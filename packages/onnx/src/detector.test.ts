/**
 * The detector end to end on real onnxruntime sessions. Every model is built here with
 * onnx-proto: its output is a known tensor K (plus, where a test needs image-dependent
 * output, G × mean(image)), so the expected detections follow from K by hand.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { feedId, StageError, type BBox } from '@nv/core';
import { createDeviceFrame, type FrameEnvelope } from '@nv/frame';
import type { BatchEntry, Detection, StageContext } from '@nv/perception';
import { InferenceError, InlineExecutor, WorkerExecutor } from '@nv/inference';
import { FeedPipeline, Runtime, type OutputEnvelope } from '@nv/runtime';
import { PipelineHarness, SyntheticSource, solidFrame, gradientFrame } from '@nv/test-util';
import { onnx } from 'onnx-proto';
import { InferenceSession } from 'onnxruntime-node';
import { CLASS_NAME_KEY } from './detector-core.js';
import { OnnxBatchDetector, OnnxDetector } from './detector.js';
import { readOnnxMetadata } from './model-metadata.js';
import type { OnnxDetectorOptions } from './options.js';

// ----------------------------------------------------------------------------------------------
// Building models

type Dim = number | string;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

interface ModelSpec {
  /** Declared input shape. Default [1, 3, 64, 64]. */
  readonly input?: readonly Dim[];
  /** Shape of K (and G); its first dimension is 1 and broadcasts over the batch. */
  readonly shape: readonly number[];
  /** Declared output shape. Default `shape` with a batch dim matching the input's. */
  readonly output?: readonly Dim[];
  /** The known output K. */
  readonly values: Float32Array;
  /** Output = K + G × mean(image) (default G = 0). */
  readonly gain?: Float32Array;
  /** metadata_props */
  readonly metadata?: Record<string, string>;
  /** Reshape the output through a data-dependent shape, so no dimension is known before a run. */
  readonly opaqueShape?: boolean;
}

/** Output = K + G × mean over all but the batch axis of the image input. */
function buildModel(spec: ModelSpec): Uint8Array {
  const input = spec.input ?? [1, 3, 64, 64];
  const rank = input.length;
  const outRank = spec.shape.length;
  const output = spec.output ?? [input[0]!, ...spec.shape.slice(1)];
  const gain = spec.gain ?? new Float32Array(spec.values.length);
  const reshapeTo = [-1, ...new Array<number>(outRank - 1).fill(1)];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nv-onnx-test',
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'known-output',
      input: [valueInfo('images', input)],
      output: [valueInfo('output0', output)],
      initializer: [
        { name: 'K', dims: [...spec.shape], dataType: FLOAT, floatData: Array.from(spec.values) },
        { name: 'G', dims: [...spec.shape], dataType: FLOAT, floatData: Array.from(gain) },
        { name: 'shape', dims: [outRank], dataType: INT64, int64Data: reshapeTo },
      ],
      node: [
        {
          opType: 'ReduceMean', input: ['images'], output: ['mean'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: Array.from({ length: rank - 1 }, (_, i) => i + 1) },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
          ],
        },
        { opType: 'Reshape', input: ['mean', 'shape'], output: ['mean_b'] },
        { opType: 'Mul', input: ['mean_b', 'G'], output: ['scaled'] },
        { opType: 'Add', input: ['K', 'scaled'], output: [spec.opaqueShape ? 'sum' : 'output0'] },
        ...(spec.opaqueShape ? opaqueReshape('images', 'sum', 'output0', spec.shape, rank) : []),
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** out = Reshape(x, shape + 0 × max(image)): the same shape, but only known at run time. */
function opaqueReshape(image: string, x: string, out: string, shape: readonly number[], rank: number): onnx.INodeProto[] {
  const t = (name: string, dims: number[], floatData: number[]): onnx.INodeProto => ({
    opType: 'Constant', output: [name], attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims, dataType: FLOAT, floatData } }],
  });
  return [
    { opType: 'ReduceMax', input: [image], output: ['mx'], attribute: [
      { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: Array.from({ length: rank }, (_, i) => i) },
      { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
    ] },
    t('zero', [], [0]),
    t('dims_f', [shape.length], [...shape]),
    { opType: 'Mul', input: ['mx', 'zero'], output: ['mx0'] },
    { opType: 'Add', input: ['dims_f', 'mx0'], output: ['dims_sum'] },
    { opType: 'Cast', input: ['dims_sum'], output: ['dims'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: INT64 }] },
    { opType: 'Reshape', input: [x, 'dims'], output: [out] },
  ];
}

let dir = '';
let counter = 0;
async function writeModel(spec: ModelSpec): Promise<string> {
  const path = join(dir, `model-${counter++}.onnx`);
  await writeFile(path, buildModel(spec));
  return path;
}

beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'nv-onnx-test-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

/**
 * Per-box rows → the `[1, channels, N]` or `[1, N, channels]` data, padded with all-zero
 * boxes to `n` (default 20, so that N differs from the channel count as in real models).
 */
function layout(rows: readonly (readonly number[])[], channelsLast: boolean, n = 20): { values: Float32Array; shape: number[] } {
  const ch = rows[0]!.length;
  n = Math.max(n, rows.length);
  const values = new Float32Array(ch * n);
  rows.forEach((r, b) => r.forEach((v, c) => { values[channelsLast ? b * ch + c : c * n + b] = v; }));
  return { values, shape: channelsLast ? [1, n, ch] : [1, ch, n] };
}

const detectors: { onStop(): Promise<void> }[] = [];
afterEach(async () => { for (const d of detectors.splice(0)) await d.onStop(); });
function stage(opts: OnnxDetectorOptions): OnnxDetector {
  const d = new OnnxDetector({ intraOpNumThreads: 1, ...opts });
  detectors.push(d);
  return d;
}
/**
 * The batch detector runs inline here: these tests count `InferenceSession.prototype.run`
 * calls (and their input shapes) to see how a batch was split, which only works on this
 * thread. The per-frame stage above runs on the default worker executor, so every batch
 * test also compares the inline results with the worker's.
 */
function batchDetector(opts: OnnxDetectorOptions): OnnxBatchDetector {
  const d = new OnnxBatchDetector({ intraOpNumThreads: 1, executor: 'inline', ...opts });
  detectors.push(d);
  return d;
}

/** Runs one frame through a detector stage in the test harness, as a feed would. */
async function detectOne(det: OnnxDetector, frame: FrameEnvelope, feed = 1): Promise<readonly Detection[]> {
  const h = new PipelineHarness({ stages: [det], cameraMode: 'fixed', feedId: feed });
  const r = await h.process(frame);
  if (r.outcome.kind !== 'ok') throw r.outcome.kind === 'error' ? r.outcome.error : new Error(String(r.outcome.error));
  return r.artifacts.detections;
}

const box = (b: BBox): number[] => [b.xMin, b.yMin, b.xMax, b.yMax];
const summary = (ds: readonly Detection[]) => ds.map((d) => ({ classId: d.classId, confidence: Number(d.confidence.toFixed(6)), bbox: box(d.bbox) }));

// A 128×64 frame on a 64×64 input: scale 0.5, content 64×32 at (0, 16). Input pixel (x, y)
// is frame point (x / 64, (y − 16) / 32).
const frame128x64 = () => solidFrame({ width: 128, height: 64, rgb: [90, 120, 200] });

// yolov8 rows: cx, cy, w, h, then 3 class scores (input pixels).
const V8_ROWS = [
  [32, 32, 32, 16, 0.9, 0.1, 0.0], //  A: 16..48 × 24..40 → (0.25, 0.25, 0.75, 0.75), class 0
  [33, 32, 32, 16, 0.8, 0.0, 0.0], //  A shifted 1 px, same class, lower score → suppressed
  [33, 32, 32, 16, 0.0, 0.7, 0.0], //  same place, class 1 → kept
  [8, 20, 8, 8, 0.0, 0.0, 0.6], //     4..12 × 16..24 → (0.0625, 0, 0.1875, 0.25), class 2
  [40, 40, 10, 10, 0.2, 0.2, 0.2], //  under the threshold
  [32, 8, 8, 8, 0.95, 0.0, 0.0], //    entirely in the top padding → not an object
  [60, 32, 16, 8, 0.0, 0.5, 0.0], //   52..68 × 28..36 → right edge clamped: (0.8125, 0.375, 1, 0.625)
];
const V8_EXPECTED = [
  { classId: 0, confidence: 0.9, bbox: [0.25, 0.25, 0.75, 0.75] },
  { classId: 1, confidence: 0.7, bbox: [0.265625, 0.25, 0.765625, 0.75] },
  { classId: 2, confidence: 0.6, bbox: [0.0625, 0, 0.1875, 0.25] },
  { classId: 1, confidence: 0.5, bbox: [0.8125, 0.375, 1, 0.625] },
];

describe('heads: known output tensors → exact boxes', () => {
  for (const channelsLast of [false, true]) {
    it(`yolov8 ${channelsLast ? '[1, N, 4+C]' : '[1, 4+C, N]'}: threshold, class-aware NMS, padding, clamping (auto-detected)`, async () => {
      const path = await writeModel(layout(V8_ROWS, channelsLast));
      const det = stage({ modelPath: path, numClasses: 3 });
      await det.onStart();
      expect(det.modelInfo?.head).toEqual({ head: 'yolov8', layout: channelsLast ? 'channelsLast' : 'channelsFirst', channels: 7, numClasses: 3 });
      const dets = await detectOne(det, frame128x64());
      expect(summary(dets)).toEqual(V8_EXPECTED);
      expect(dets.map((d) => d.id)).toEqual([1, 2, 3, 4]);
    });
  }

  it('class-agnostic NMS and the IoU threshold change what is suppressed', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const agnostic = stage({ modelPath: path, numClasses: 3, classAgnosticNms: true });
    await agnostic.onStart();
    expect(summary(await detectOne(agnostic, frame128x64())).map((d) => d.confidence)).toEqual([0.9, 0.6, 0.5]); // class 1 twin now suppressed
    const loose = stage({ modelPath: path, numClasses: 3, iouThreshold: 0.95, maxDetections: 3 });
    await loose.onStart();
    // IoU(A, A shifted) = 31·16 / (2·32·16 − 31·16) ≈ 0.94 < 0.95: both kept; then only the best 3.
    expect(summary(await detectOne(loose, frame128x64())).map((d) => d.confidence)).toEqual([0.9, 0.8, 0.7]);
  });

  for (const channelsLast of [false, true]) {
    it(`yolov5 ${channelsLast ? '[1, N, 5+C]' : '[1, 5+C, N]'}: score = objectness × class score`, async () => {
      // cx, cy, w, h, objectness, 2 class scores
      const rows = [
        [32, 32, 32, 16, 0.5, 0.9, 0.1], // 0.45, class 0
        [33, 32, 32, 16, 1.0, 0.4, 0.0], // 0.40, class 0, overlaps the first → suppressed
        [33, 32, 32, 16, 0.8, 0.0, 0.5], // 0.40, class 1 → kept
        [16, 30, 8, 4, 0.2, 0.0, 1.0], //   0.20 → below 0.25
        [48, 30, 8, 4, 0.9, 0.2, 0.1], //   0.18 → below
      ];
      const path = await writeModel(layout(rows, channelsLast));
      const det = stage({ modelPath: path, classNames: ['cat', 'dog'] });
      await det.onStart();
      expect(det.modelInfo?.head?.head).toBe('yolov5');
      const dets = await detectOne(det, frame128x64());
      expect(summary(dets)).toEqual([
        { classId: 0, confidence: 0.45, bbox: [0.25, 0.25, 0.75, 0.75] },
        { classId: 1, confidence: 0.4, bbox: [0.265625, 0.25, 0.765625, 0.75] },
      ]);
      expect(dets.map((d) => d.metadata.get(CLASS_NAME_KEY))).toEqual(['cat', 'dog']);
    });
  }

  it('end-to-end [1, N, 6] (x1, y1, x2, y2, score, class): no NMS, threshold, best first, max detections', async () => {
    const rows = [
      [16, 24, 48, 40, 0.6, 0],
      [17, 24, 49, 40, 0.8, 0], // overlaps the first, same class: an NMS-free head keeps both
      [0, 16, 64, 48, 0.1, 2], // under the threshold
      [8, 16, 24, 32, 0.7, 5],
      [30, 30, 40, 40, 0.3, 1],
    ];
    const path = await writeModel(layout(rows, true));
    const det = stage({ modelPath: path, numClasses: 80, maxDetections: 3, graphOptimizationLevel: 'disabled', interOpNumThreads: 1 });
    await det.onStart();
    expect(det.modelInfo?.head).toMatchObject({ head: 'end2end', layout: 'channelsLast' });
    expect(summary(await detectOne(det, frame128x64()))).toEqual([
      { classId: 0, confidence: 0.8, bbox: [17 / 64, 0.25, 49 / 64, 0.75] },
      { classId: 5, confidence: 0.7, bbox: [0.125, 0, 0.375, 0.5] },
      { classId: 0, confidence: 0.6, bbox: [0.25, 0.25, 0.75, 0.75] },
    ]);
  });

  it('reads class names from the model metadata (Ultralytics form) and exposes them as a lookup and per detection', async () => {
    const spec = { ...layout(V8_ROWS, false), metadata: { names: "{0: 'person', 1: 'bicycle', 2: 'car'}", stride: '32' } };
    const path = await writeModel(spec);
    expect(readOnnxMetadata(buildModel(spec))?.get('stride')).toBe('32');
    const det = stage({ modelPath: path }); // no numClasses: the 3 names make the head unambiguous
    await det.onStart();
    expect(det.modelInfo?.classNames).toEqual(['person', 'bicycle', 'car']);
    expect(det.className(2)).toBe('car');
    expect(det.className(3)).toBeUndefined();
    const dets = await detectOne(det, frame128x64());
    expect(dets.map((d) => d.metadata.get(CLASS_NAME_KEY))).toEqual(['person', 'bicycle', 'car', 'bicycle']);
  });

  it('resolves a symbolic output shape from the first real output', async () => {
    const { values, shape } = layout(V8_ROWS, true);
    const path = await writeModel({ values, shape, output: ['batch', 'boxes', 'channels'], opaqueShape: true });
    const det = stage({ modelPath: path, numClasses: 3 });
    await det.onStart();
    expect(det.modelInfo?.head).toBeUndefined();
    expect(summary(await detectOne(det, frame128x64()))).toEqual(V8_EXPECTED);
    expect(det.modelInfo?.head).toMatchObject({ head: 'yolov8', layout: 'channelsLast' });
  });

  it('an explicit head/layout overrides auto-detection, and a mismatch is a typed error', async () => {
    const path = await writeModel(layout(V8_ROWS, false, 7)); // [1, 7, 7]: square, so the layout is ambiguous by shape alone
    const ambiguous = stage({ modelPath: path, numClasses: 3 });
    await expect(ambiguous.onStart()).rejects.toThrow(/ambiguous.*set head and\/or layout/);
    const ok = stage({ modelPath: path, numClasses: 3, layout: 'channelsFirst' });
    await ok.onStart();
    expect(summary(await detectOne(ok, frame128x64()))).toEqual(V8_EXPECTED);
    const wrong = stage({ modelPath: path, numClasses: 3, head: 'end2end' });
    await expect(wrong.onStart()).rejects.toThrow(/fits no supported head 'end2end'/);
  });
});

// ----------------------------------------------------------------------------------------------

describe('bad models and providers → StageError ModelLoadFailed naming the file, no crash', () => {
  async function expectLoadError(opts: Partial<OnnxDetectorOptions> & { modelPath: string }, pattern: RegExp): Promise<void> {
    const det = stage({ id: 'yolo', ...opts });
    const err: unknown = await det.onStart().then(() => undefined, (e: unknown) => e);
    expect(StageError.isInstance(err), String(err)).toBe(true);
    const e = err as StageError;
    expect(e.kind).toBe('ModelLoadFailed');
    expect(e.stageId).toBe('yolo');
    expect(e.message).toContain(opts.modelPath);
    expect(e.message).toMatch(pattern);
    // Still usable as a (failing) stage: frames get a typed error, not a crash.
    await expect(det.process({ feedId: feedId(1), frame: frame128x64() } as never)).rejects.toMatchObject({ kind: 'ProcessingFailed' });
  }
  const v8 = () => layout(V8_ROWS, false);

  it('missing file', async () => {
    await expectLoadError({ modelPath: join(dir, 'nope.onnx') }, /does not exist \(expected an ONNX model file\)/);
  });
  it('garbage bytes and an empty file', async () => {
    const garbage = join(dir, 'garbage.onnx');
    await writeFile(garbage, Buffer.from('this is not a protobuf \u0000\u0001\u00ff\u00fe at all'));
    await expectLoadError({ modelPath: garbage }, /is not a loadable ONNX model \(expected an ONNX ModelProto\)/);
    const empty = join(dir, 'empty.onnx');
    await writeFile(empty, new Uint8Array(0));
    await expectLoadError({ modelPath: empty }, /is empty/);
    await expectLoadError({ modelPath: dir }, /is a directory/);
  });
  it('wrong input rank or channel count', async () => {
    await expectLoadError({ modelPath: await writeModel({ ...v8(), input: [1, 3, 64] }), numClasses: 3 }, /shape \[1, 3, 64\] \(rank 3\); expected rank 4 \[batch, 3, height, width\]/);
    await expectLoadError({ modelPath: await writeModel({ ...v8(), input: [1, 1, 64, 64] }), numClasses: 3 }, /expected 3 channels/);
  });
  it('dynamic spatial size without inputSize, or an inputSize that contradicts the model', async () => {
    await expectLoadError({ modelPath: await writeModel({ ...v8(), input: [1, 3, 'h', 'w'] }), numClasses: 3, layout: 'channelsFirst' }, /dynamic spatial dimensions.*set inputSize/);
    await expectLoadError({ modelPath: await writeModel(v8()), numClasses: 3, layout: 'channelsFirst', inputSize: { width: 640, height: 640 } }, /fixed at 64x64 but inputSize asks for 640x640/);
  });
  it('unsupported output shapes', async () => {
    const rank4 = await writeModel({ values: new Float32Array(24), shape: [1, 2, 3, 4] });
    await expectLoadError({ modelPath: rank4 }, /rank 4; expected rank 3/);
    const noHead = await writeModel({ values: new Float32Array(9 * 10), shape: [1, 9, 10] });
    await expectLoadError({ modelPath: noHead, numClasses: 80 }, /\[1, 9, 10\] fits no supported head \(expected for 80 classes: yolov8 84 channels, yolov5 85, end2end 6\)/);
    await expectLoadError({ modelPath: noHead }, /ambiguous.*set numClasses or classNames/);
  });
  it('cuda is used only when asked and available: here it is a typed error, never a silent CPU fallback', async () => {
    await expectLoadError({ modelPath: await writeModel(v8()), numClasses: 3, layout: 'channelsFirst', executionProvider: 'cuda' }, /execution provider 'cuda'/);
  });
  it('invalid options are rejected at construction', () => {
    expect(() => new OnnxDetector({ modelPath: '' })).toThrow(/modelPath/);
    expect(() => new OnnxDetector({ modelPath: 'm.onnx', scoreThreshold: 2 })).toThrow(/scoreThreshold/);
    expect(() => new OnnxDetector({ modelPath: 'm.onnx', numClasses: 2, classNames: ['a'] })).toThrow(/classNames/);
    expect(() => new OnnxDetector({ modelPath: 'm.onnx', executionProvider: 'tpu' as never })).toThrow(/executionProvider/);
  });
  it('per-frame failures are typed (frame dropped, feed continues): unreadable device frame', async () => {
    const det = stage({ modelPath: await writeModel(v8()), numClasses: 3, layout: 'channelsFirst' });
    const h = new PipelineHarness({ stages: [det], cameraMode: 'fixed' });
    const opaque = createDeviceFrame({
      feedId: 1, seq: 0, ts: 0, width: 8, height: 8, format: 'NV12',
      handle: { devicePtr: 4096n, pitches: [8, 8], planeOffsets: [0, 64], size: 96, deviceId: 0, stream: 0n },
    });
    const r = await h.process(opaque);
    expect(r.outcome.kind).toBe('error');
    expect(r.outcome.kind === 'error' && r.outcome.error.kind).toBe('ProcessingFailed');
    expect(r.outcome.kind === 'error' && r.outcome.error.message).toMatch(/NotHostAccessible/);
    const next = await h.process(frame128x64());
    expect(next.outcome.kind).toBe('ok');
    expect(next.artifacts.detections).toHaveLength(4);
  });
});

// ----------------------------------------------------------------------------------------------

describe('batch processor: one session for many feeds, same detections as the per-frame stage', () => {
  // Image-dependent output: box A moves right and gains score with the image's mean (normalized) value m.
  //   A: cx = 20 + 24 m, cy = 32, w = 16, h = 16, class 0 score 0.1 + 0.8 m
  //   B: fixed box, class 1 score 0.05 + 0.5 m (over the 0.45 threshold only when m > 0.8)
  //   (class 2 is never scored)
  const rows = [[20, 32, 16, 16, 0.1, 0, 0], [40, 24, 8, 8, 0, 0.05, 0]];
  const gains = [[24, 0, 0, 0, 0.8, 0, 0], [0, 0, 0, 0, 0, 0.5, 0]];
  const model = (input: readonly Dim[]) => {
    const k = layout(rows, false), g = layout(gains, false);
    return writeModel({ values: k.values, gain: g.values, shape: k.shape, input });
  };
  // Two feeds, different formats, sizes and brightness: m = 1 (white, square: no padding),
  // m ≈ 0.54 (grey 150 with 114 padding at the sides), m ≈ 0.16 (dark, square).
  const frames = (): FrameEnvelope[] => [
    solidFrame({ width: 96, height: 96, format: 'NV12', rgb: [255, 255, 255], feedId: 1 }),
    solidFrame({ width: 64, height: 96, format: 'I420', rgb: [150, 150, 150], feedId: 2 }),
    gradientFrame({ width: 80, height: 80, format: 'RGB8', feedId: 1, seq: 1 }),
  ];
  const opts = { numClasses: 3, scoreThreshold: 0.45 } as const;

  async function perFrame(path: string): Promise<Detection[][]> {
    const det = stage({ modelPath: path, ...opts });
    const out: Detection[][] = [];
    const harness = new Map([1, 2].map((f) => [f, new PipelineHarness({ stages: [det], cameraMode: 'fixed', feedId: f })]));
    for (const f of frames()) {
      const r = await harness.get(f.feedId)!.process(f);
      expect(r.outcome.kind).toBe('ok');
      out.push([...r.artifacts.detections]);
    }
    return out;
  }

  async function batched(path: string): Promise<{ dets: Detection[][]; runs: number[][] }> {
    const det = batchDetector({ modelPath: path, ...opts });
    await det.onStart();
    const view = new PipelineHarness({ stages: [], cameraMode: 'fixed' }).view;
    const fs = frames();
    const entries: BatchEntry[] = fs.map((frame) => ({ feedId: frame.feedId, frame, view, output: undefined }));
    // Every session.run call, to see how the batch was split (the class is exported as a value with a prototype).
    const proto = (InferenceSession as unknown as { prototype: InferenceSession }).prototype;
    const spy = vi.spyOn(proto, 'run');
    try {
      await det.process(entries);
      const runs = spy.mock.calls.map((c) => [...(Object.values(c[0])[0] as { dims: readonly number[] }).dims]);
      return { dets: entries.map((e) => [...(e.output?.detections ?? [])]), runs };
    } finally {
      spy.mockRestore();
      fs.forEach((f) => f.release());
    }
  }

  const comparable = (sets: Detection[][]) => sets.map((ds) => ds.map((d) => ({ id: d.id, classId: d.classId, confidence: d.confidence.toFixed(5), bbox: box(d.bbox).map((v) => v.toFixed(6)) })));

  it('dynamic batch: all entries stacked into one [B, 3, H, W] run', async () => {
    const path = await model(['batch', 3, 64, 64]);
    const expected = await perFrame(path);
    // Sanity: the outputs differ per frame (bright: both classes; grey: A only, further left; dark: none).
    expect(expected.map((d) => d.map((x) => x.classId))).toEqual([[0, 1], [0], []]);
    expect(expected[0]![0]!.bbox.xMin).toBeGreaterThan(expected[1]![0]!.bbox.xMin);
    const { dets, runs } = await batched(path);
    expect(runs).toEqual([[3, 3, 64, 64]]);
    expect(comparable(dets)).toEqual(comparable(expected));
  });

  it('fixed batch 1: one run per entry; fixed batch 2: chunks of 2, the last one padded', async () => {
    for (const [batch, expectedRuns] of [[1, [[1, 3, 64, 64], [1, 3, 64, 64], [1, 3, 64, 64]]], [2, [[2, 3, 64, 64], [2, 3, 64, 64]]]] as const) {
      const path = await model([batch, 3, 64, 64]);
      const expected = await perFrame(path);
      const { dets, runs } = await batched(path);
      expect(runs).toEqual(expectedRuns);
      expect(comparable(dets)).toEqual(comparable(expected));
    }
  });

  it('through the runtime batch coordinator: 2 feeds share one session and get the per-frame detections', async () => {
    const path = await model(['batch', 3, 64, 64]);
    // Each feed: 3 frames of different brightness (and so different detections).
    const feedFrames = (feed: number): FrameEnvelope[] => [
      solidFrame({ width: 96, height: 96, format: 'NV12', rgb: [255, 255, 255], feedId: feed, seq: 0 }),
      solidFrame({ width: 64, height: 96, format: 'I420', rgb: [150 + 20 * feed, 150, 150], feedId: feed, seq: 1 }),
      gradientFrame({ width: 80, height: 80, format: 'RGB8', feedId: feed, seq: 2 }),
    ];
    const single = stage({ modelPath: path, ...opts });
    const expected: Detection[][][] = [];
    for (const feed of [1, 2]) {
      const h = new PipelineHarness({ stages: [single], cameraMode: 'fixed', feedId: feed });
      const sets: Detection[][] = [];
      for (const f of feedFrames(feed)) sets.push([...(await h.process(f)).artifacts.detections]);
      expected.push(sets);
    }
    expect(expected.flat().reduce((n, d) => n + d.length, 0)).toBeGreaterThanOrEqual(4);

    const rt = new Runtime();
    const proto = (InferenceSession as unknown as { prototype: InferenceSession }).prototype;
    const spy = vi.spyOn(proto, 'run');
    try {
      const handle = await rt.createBatch(batchDetector({ modelPath: path, ...opts }), { maxBatchSize: 2, maxLatencyMs: 1000 });
      const outs: OutputEnvelope[][] = [[], []];
      const feeds = [1, 2].map((feed) => rt.addFeed({
        source: () => new SyntheticSource(feedFrames(feed)), cameraMode: 'fixed',
        pipeline: FeedPipeline.builder().batch(handle).build(), sink: { emit: (o: OutputEnvelope) => { outs[feed - 1]!.push(o); } },
      }));
      await Promise.all(feeds.map((f) => f.done));
      expect(handle.metrics()).toMatchObject({ itemsProcessed: 6, itemsRejected: 0 });
      const runs = spy.mock.calls.map((c) => (Object.values(c[0])[0] as { dims: readonly number[] }).dims[0]);
      expect(runs).toContain(2); // frames of both feeds in one inference
      expect(outs.map((o) => o.map((x) => x.seq))).toEqual([[0, 1, 2], [0, 1, 2]]);
      expect(comparable(outs[0]!.map((o) => [...o.artifacts.detections]))).toEqual(comparable(expected[0]!));
      expect(comparable(outs[1]!.map((o) => [...o.artifacts.detections]))).toEqual(comparable(expected[1]!));
    } finally {
      spy.mockRestore();
      await rt.shutdown();
    }
  });

  it('fails the whole batch with a typed error when not started', async () => {
    const det = batchDetector({ modelPath: await model(['batch', 3, 64, 64]), ...opts });
    const f = frame128x64();
    const view = new PipelineHarness({ stages: [], cameraMode: 'fixed' }).view;
    await expect(det.process([{ feedId: feedId(1), frame: f, view, output: undefined }])).rejects.toMatchObject({ kind: 'ProcessingFailed', stageId: 'onnx-detector' });
    f.release();
  });
});

// ----------------------------------------------------------------------------------------------

describe('where inference runs: a worker thread by default, inline on request, or a shared executor', () => {
  it('the default is the detector\'s own worker executor (frames letterboxed into shared pool slots); inline and shared give the same detections', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const own = stage({ modelPath: path, numClasses: 3 });
    await own.onStart();
    const executor = own.core.executor!;
    expect(executor.kind).toBe('worker');
    expect(executor.pool.shared).toBe(true);
    expect(summary(await detectOne(own, frame128x64()))).toEqual(V8_EXPECTED);
    expect(executor.stats()).toMatchObject({ workers: 1, runs: 1, pool: { inUse: 0, highWater: 1 } });
    await own.onStop();
    expect(executor.stats().workers).toBe(0); // its own executor: released with the stage

    const inline = stage({ modelPath: path, numClasses: 3, executor: 'inline' });
    await inline.onStart();
    expect(inline.core.executor!.kind).toBe('inline');
    expect(summary(await detectOne(inline, frame128x64()))).toEqual(V8_EXPECTED);

    const shared = new WorkerExecutor({ intraOpNumThreads: 1 });
    try {
      const a = stage({ modelPath: path, numClasses: 3, executor: shared, id: 'a' });
      const b = stage({ modelPath: path, numClasses: 3, executor: shared, id: 'b' });
      await a.onStart();
      await b.onStart();
      expect(shared.stats().models).toBe(2);
      expect(summary(await detectOne(a, frame128x64()))).toEqual(V8_EXPECTED);
      await a.onStop();
      expect(shared.stats()).toMatchObject({ workers: 1, models: 1 }); // not the stage's to release
      expect(summary(await detectOne(b, frame128x64()))).toEqual(V8_EXPECTED);
    } finally {
      await shared.release();
    }
    expect(() => new OnnxDetector({ modelPath: path, executor: 'gpu' as never })).toThrow(/executor/);
  });

  it('a worker that dies mid-frame drops that frame with ProcessingFailed; the replacement serves the next one', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const shared = new WorkerExecutor({ intraOpNumThreads: 1 });
    try {
      const det = stage({ modelPath: path, numClasses: 3, executor: shared });
      const h = new PipelineHarness({ stages: [det], cameraMode: 'fixed' });
      await det.onStart();
      shared.__testNextRun('exit');
      const r = await h.process(frame128x64());
      expect(r.outcome.kind).toBe('error');
      const err = r.outcome.kind === 'error' ? r.outcome.error : undefined;
      expect(err?.kind).toBe('ProcessingFailed');
      expect(err?.message).toMatch(/WorkerExited/);
      expect(InferenceError.isInstance((err as { cause?: unknown } | undefined)?.cause)).toBe(true);
      const next = await h.process(frame128x64());
      expect(next.outcome.kind).toBe('ok');
      expect(summary(next.artifacts.detections)).toEqual(V8_EXPECTED);
      expect(shared.stats()).toMatchObject({ workerRestarts: 1, pool: { inUse: 0 } });
    } finally {
      await shared.release();
    }
  });
});

// ----------------------------------------------------------------------------------------------

describe('lifecycle and frames under concurrency', () => {
  const ctxOf = (frame: FrameEnvelope, signal = new AbortController().signal): StageContext =>
    ({ feedId: feedId(1), frame, signal }) as unknown as StageContext;
  const settle = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

  it('started for a parallel head of width N, the own executor has min(N, cores) workers of cores ÷ workers threads, and N frames infer at once', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const cores = availableParallelism();
    const det = stage({ modelPath: path, numClasses: 3 });
    await det.onStart({ concurrency: 2 });
    try {
      const ex = det.core.executor as WorkerExecutor;
      const workers = Math.min(2, cores);
      expect(ex.stats()).toMatchObject({ workers, models: 1 });
      expect(ex.intraOpNumThreads).toBe(Math.max(1, Math.floor(cores / workers)));
      const [x, y] = await Promise.all([detectOne(det, frame128x64()), detectOne(det, frame128x64())]);
      expect(summary(x)).toEqual(V8_EXPECTED);
      expect(summary(y)).toEqual(V8_EXPECTED);
    } finally {
      await det.onStop();
    }
  });

  it('two concurrent onStart calls (one detector shared by two feeds) start one executor and one model; stop releases it', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const load = vi.spyOn(WorkerExecutor.prototype, 'load');
    try {
      const det = stage({ modelPath: path, numClasses: 3 });
      await Promise.all([det.onStart(), det.onStart()]);
      expect(load).toHaveBeenCalledTimes(1); // with an unguarded start: 2 executors, the first leaked
      const executor = load.mock.contexts[0] as WorkerExecutor;
      expect(det.core.executor).toBe(executor);
      expect(executor.stats()).toMatchObject({ workers: 1, models: 1 });
      await det.onStart(); // started: nothing new
      expect(load).toHaveBeenCalledTimes(1);
      expect(summary(await detectOne(det, frame128x64()))).toEqual(V8_EXPECTED);
      await det.onStop();
      expect(executor.stats()).toMatchObject({ workers: 0, models: 0 });
    } finally {
      load.mockRestore();
    }
  });

  it('a stop during a pending start releases what that start loads (the start fails); a failed start can be retried', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const load = vi.spyOn(WorkerExecutor.prototype, 'load');
    try {
      const det = stage({ modelPath: path, numClasses: 3 });
      const starting = settle(det.onStart());
      await det.onStop();
      const err = await starting;
      expect(StageError.isInstance(err) && err.kind).toBe('ModelLoadFailed');
      expect((err as StageError).message).toMatch(/stopped before its start completed/);
      expect(det.core.started).toBe(false);
      const first = load.mock.contexts[0] as WorkerExecutor;
      expect(first.stats()).toMatchObject({ workers: 0, models: 0 }); // nothing outlived the stop
      await det.onStart(); // the failed start was forgotten: this one loads afresh
      expect(load).toHaveBeenCalledTimes(2);
      expect(summary(await detectOne(det, frame128x64()))).toEqual(V8_EXPECTED);
    } finally {
      load.mockRestore();
    }
    // A start that failed (no file yet) is not memoized either.
    const later = join(dir, `later-${counter++}.onnx`);
    const det = stage({ modelPath: later, numClasses: 3 });
    expect(((await settle(det.onStart())) as StageError).kind).toBe('ModelLoadFailed');
    await writeFile(later, buildModel(layout(V8_ROWS, false)));
    await det.onStart();
    expect(summary(await detectOne(det, frame128x64()))).toEqual(V8_EXPECTED);
  });

  it('a frame released while its call waits for a tensor slot fails that frame (ProcessingFailed) and returns the slot; the signal aborts the wait', async () => {
    const path = await writeModel(layout(V8_ROWS, false));
    const shared = new WorkerExecutor({ intraOpNumThreads: 1, pool: { slots: 1 } });
    try {
      const det = stage({ modelPath: path, numClasses: 3, executor: shared });
      await det.onStart();
      // The first call takes the only slot (synchronously) and is in inference; the second waits.
      const first = det.process(ctxOf(frame128x64()));
      const late = frame128x64();
      const second = settle(det.process(ctxOf(late)));
      expect(shared.pool.stats()).toMatchObject({ inUse: 1, waiting: 1 });
      late.release(); // dropped meanwhile (a deadline abandoned the call, the feed stopped)
      expect(summary((await first).detections!)).toEqual(V8_EXPECTED);
      const err = await second;
      expect(StageError.isInstance(err)).toBe(true);
      expect(err).toMatchObject({ kind: 'ProcessingFailed' });
      expect((err as StageError).message).toContain('frame was released while waiting for a tensor slot');
      expect(shared.pool.stats()).toMatchObject({ inUse: 0, waiting: 0 });
      expect(shared.stats().runs).toBe(1); // the released frame never reached the model

      // An aborted ctx.signal ends the wait without touching the frame.
      const held = await shared.pool.acquire(4);
      const ac = new AbortController();
      const waiting = settle(det.process(ctxOf(frame128x64(), ac.signal)));
      expect(shared.pool.stats().waiting).toBe(1);
      ac.abort(new Error('feed stopping'));
      const aborted = await waiting;
      expect(aborted).toMatchObject({ kind: 'ProcessingFailed' });
      expect((aborted as StageError).message).toMatch(/no input tensor slot: feed stopping/);
      expect(shared.pool.stats()).toMatchObject({ inUse: 1, waiting: 0 });
      held.release();
      expect(summary(await detectOne(det, frame128x64()))).toEqual(V8_EXPECTED); // the slot is back in service
    } finally {
      await shared.release();
    }
  });

  it('the batch processor fails a batch whose frame was released while it waited for a slot, and returns the slot', async () => {
    const path = await writeModel({ ...layout(V8_ROWS, false), input: ['batch', 3, 64, 64], output: ['batch', 7, 20] });
    const inline = new InlineExecutor({ pool: { slots: 1 } });
    try {
      const det = batchDetector({ modelPath: path, numClasses: 3, executor: inline });
      await det.onStart();
      const held = await inline.pool.acquire(4);
      const a = frame128x64(), b = frame128x64();
      const entries = [a, b].map((frame, i) => ({ feedId: feedId(i + 1), frame, view: undefined, output: undefined }) as unknown as BatchEntry);
      const p = settle(det.process(entries));
      b.release();
      held.release();
      const err = await p;
      expect(err).toMatchObject({ kind: 'ProcessingFailed' });
      expect((err as StageError).message).toContain('frame was released while waiting for a tensor slot');
      expect(inline.pool.stats()).toMatchObject({ inUse: 0, waiting: 0 });
      a.release();
    } finally {
      await inline.release();
    }
  });
});
