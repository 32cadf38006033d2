#!/usr/bin/env node
// @nv/onnx detector benchmark.
//
// 1. Letterbox preprocessing, µs per frame, from synthetic 1080p (and 720p) NV12 / I420 frames
//    to a 640×640 float32 CHW tensor: the fused JS preprocessor versus the straightforward
//    reference (convertFrame → RGB8, then resize, then normalize), in one run, with ratios.
// 2. Detector throughput, ms per frame, on a generated YOLO-shaped model of realistic compute
//    (5 convolutions over a 640×640 input, ≈1.1 GFLOP per image, output [B, 84, 6400]):
//    the per-frame stage (one session.run per frame) versus the batch processor (4 entries
//    stacked into one [4, 3, 640, 640] run), plus inference alone on a prepared tensor.
//
// Run: pnpm exec tsc -b packages/onnx packages/test-util && node tools/bench/detector.mjs [--threads 2] [--rounds 8]
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { feedId } from '../../packages/core/dist/index.js';
import { LetterboxPreprocessor, OnnxBatchDetector, OnnxDetector, letterboxReference } from '../../packages/onnx/dist/index.js';
import { PipelineHarness, boxFrame, checkerFrame, gradientFrame } from '../../packages/test-util/dist/index.js';

const require = createRequire(join(import.meta.dirname, '../../packages/onnx/package.json'));
const { onnx } = require('onnx-proto');
const ort = require('onnxruntime-node');

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const THREADS = arg('threads', Math.min(4, cpus().length));
const ROUNDS = arg('rounds', 8);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

/** Median µs of `fn` over `reps` timed calls (after `warm` untimed ones). */
function timeUs(fn, reps, warm) {
  for (let i = 0; i < warm; i++) fn();
  const t = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); fn(); t.push((performance.now() - t0) * 1000); }
  return median(t);
}

console.log(`@nv/onnx detector benchmark — Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}, onnxruntime-node ${ort.env.versions?.common ?? ''}`);
console.log('');

// ---------------------------------------------------------------------------------------------
// 1. Preprocessing
console.log('Letterbox preprocessing to a 640×640 float32 CHW tensor (bilinear, pad 114, /255), median µs per frame:');
console.log('');
console.log('| source | fused JS | reference (convert → resize → normalize) | speed-up |');
console.log('|---|---:|---:|---:|');
for (const [w, h] of [[1920, 1080], [1280, 720]]) {
  for (const format of ['NV12', 'I420']) {
    const frame = gradientFrame({ width: w, height: h, format });
    const pre = new LetterboxPreprocessor(640, 640);
    const out = new Float32Array(pre.tensorSize);
    const fused = timeUs(() => pre.run(frame, out), 60, 20);
    const ref = timeUs(() => letterboxReference(frame, 640, 640), 7, 2);
    const note = w === 1920 ? ' (3× downscale: one tap per output pixel)' : ' (2× downscale: four taps)';
    console.log(`| ${w}×${h} ${format}${note} | ${fused.toFixed(0)} | ${ref.toFixed(0)} | ${(ref / fused).toFixed(1)}× |`);
    frame.release();
  }
}
console.log('');

// ---------------------------------------------------------------------------------------------
// 2. Detector throughput on a generated model
const FLOAT = onnx.TensorProto.DataType.FLOAT;
let seed = 12345;
const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff - 0.5; };
const conv = (name, input, cin, cout, k, stride, relu, bias = 0) => {
  const fan = cin * k * k, scale = 5 / Math.sqrt(fan); // ≈ He initialization (uniform)
  return {
    init: [
      { name: `${name}_w`, dims: [cout, cin, k, k], dataType: FLOAT, floatData: Array.from({ length: cout * fan }, () => rand() * scale) },
      { name: `${name}_b`, dims: [cout], dataType: FLOAT, floatData: Array.from({ length: cout }, (_, i) => (typeof bias === 'function' ? bias(i) : bias)) },
    ],
    node: [
      { opType: 'Conv', input: [input, `${name}_w`, `${name}_b`], output: [relu ? `${name}_c` : name], attribute: [
        { name: 'kernel_shape', type: 7, ints: [k, k] }, { name: 'strides', type: 7, ints: [stride, stride] },
        { name: 'pads', type: 7, ints: [k >> 1, k >> 1, k >> 1, k >> 1] },
      ] },
      ...(relu ? [{ opType: 'Relu', input: [`${name}_c`], output: [name] }] : []),
    ],
  };
};
const layers = [
  conv('c1', 'images', 3, 16, 3, 2, true),
  conv('c2', 'c1', 16, 32, 3, 2, true),
  conv('c3', 'c2', 32, 64, 3, 2, true),
  conv('c4', 'c3', 64, 64, 3, 1, true),
  conv('head', 'c4', 64, 84, 1, 1, false, (i) => (i < 4 ? 0 : -3)), // class logits biased low: tens of candidates per image
];
const dim = (d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d });
const vi = (name, dims) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map(dim) } } } });
const model = onnx.ModelProto.create({
  irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'nv-bench',
  metadataProps: [{ key: 'names', value: JSON.stringify(Array.from({ length: 80 }, (_, i) => `class${i}`)) }],
  graph: {
    name: 'bench-yolo', input: [vi('images', ['batch', 3, 640, 640])], output: [vi('output0', ['batch', 84, 6400])],
    initializer: [
      ...layers.flatMap((l) => l.init),
      { name: 'shape', dims: [3], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, 84, 6400] },
      { name: 'scale', dims: [1, 84, 1], dataType: FLOAT, floatData: Array.from({ length: 84 }, (_, i) => (i < 2 ? 640 : i < 4 ? 96 : 1)) },
    ],
    node: [
      ...layers.flatMap((l) => l.node),
      { opType: 'Sigmoid', input: ['head'], output: ['sig'] },
      { opType: 'Reshape', input: ['sig', 'shape'], output: ['flat'] },
      { opType: 'Mul', input: ['flat', 'scale'], output: ['output0'] },
    ],
  },
});
const dir = mkdtempSync(join(tmpdir(), 'nv-bench-detector-'));
const modelPath = join(dir, 'bench-yolo.onnx');
writeFileSync(modelPath, onnx.ModelProto.encode(model).finish());

try {
  const opts = { modelPath, intraOpNumThreads: THREADS };
  const stage = new OnnxDetector(opts);
  const batch = new OnnxBatchDetector(opts);
  await stage.onStart();
  await batch.onStart();
  const view = new PipelineHarness({ stages: [], cameraMode: 'fixed' }).view;
  const frames = [
    gradientFrame({ width: 1920, height: 1080, format: 'NV12', feedId: 1 }),
    checkerFrame({ width: 1920, height: 1080, format: 'NV12', feedId: 2, cell: 40 }),
    boxFrame({ width: 1920, height: 1080, format: 'NV12', feedId: 3, box: { xMin: 0.2, yMin: 0.3, xMax: 0.6, yMax: 0.8 } }),
    gradientFrame({ width: 1920, height: 1080, format: 'I420', feedId: 4 }),
  ];
  const B = frames.length;
  let dets = 0;
  const perFrame = async () => {
    for (const f of frames) dets += (await stage.core.detect([{ feedId: feedId(f.feedId), frame: f }]))[0].length;
  };
  const batched = async () => {
    const entries = frames.map((frame) => ({ feedId: feedId(frame.feedId), frame, view, output: undefined }));
    await batch.process(entries);
  };
  // Inference alone on prepared tensors.
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: THREADS });
  const t1 = new ort.Tensor('float32', new Float32Array(3 * 640 * 640).fill(0.45), [1, 3, 640, 640]);
  const t4 = new ort.Tensor('float32', new Float32Array(B * 3 * 640 * 640).fill(0.45), [B, 3, 640, 640]);

  const timeMsPerFrame = async (fn, framesPerCall) => {
    await fn(); await fn(); // warm-up
    const t = [];
    for (let r = 0; r < ROUNDS; r++) { const t0 = performance.now(); await fn(); t.push((performance.now() - t0) / framesPerCall); }
    return median(t);
  };
  // Interleave the variants round by round so machine load hits them alike.
  const res = { perFrame: [], batched: [], inf1: [], inf4: [] };
  for (let k = 0; k < 3; k++) {
    res.perFrame.push(await timeMsPerFrame(perFrame, B));
    res.batched.push(await timeMsPerFrame(batched, B));
    res.inf1.push(await timeMsPerFrame(() => session.run({ images: t1 }), 1));
    res.inf4.push(await timeMsPerFrame(() => session.run({ images: t4 }), B));
  }
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  await perFrame();
  lag.disable();
  const perCall = (ROUNDS + 2) * 3 * B + B;

  console.log(`Detector on a generated YOLO-shaped model (5 convs over 640×640 ≈ 1.1 GFLOP/image, output [B, 84, 6400], ${THREADS} intra-op threads, CPU), 1080p NV12/I420 frames, median ms per frame:`);
  console.log('');
  console.log('| path | ms per frame | frames/s |');
  console.log('|---|---:|---:|');
  const row = (name, v) => console.log(`| ${name} | ${median(v).toFixed(1)} | ${(1000 / median(v)).toFixed(1)} |`);
  row('OnnxDetector, per frame (preprocess + run [1,3,640,640] + decode + NMS)', res.perFrame);
  row(`OnnxBatchDetector, ${B} entries stacked into one [${B},3,640,640] run`, res.batched);
  row('session.run alone, [1,3,640,640]', res.inf1);
  row(`session.run alone, [${B},3,640,640], per image`, res.inf4);
  console.log('');
  console.log(`Detections per frame (average): ${(dets / perCall).toFixed(1)}. Event loop: longest block during one per-frame pass ${(lag.max / 1e6).toFixed(1)} ms — onnxruntime-node 1.30 runs session.run on the JS thread.`);
  await stage.onStop();
  await batch.onStop();
  await session.release();
  frames.forEach((f) => f.release());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
