// A YOLOv8-shaped ONNX detection model for benchmarks, built with onnx-proto (nothing is
// downloaded): input `images` [batch (dynamic), 3, 640, 640] float32, output `output0`
// [batch, 84, 8400] — cx, cy, w, h in input pixels and 80 sigmoid class scores per anchor;
// 8400 = 80² + 40² + 20² anchors of strides 8 / 16 / 32, concatenated in that order (the
// Ultralytics export layout, so `@nv/onnx` resolves it as a `yolov8` head).
//
// Graph: a backbone of 3×3 Conv + SiLU (stride-2 steps to P3 80², P4 40², P5 20²) and per scale
// YOLOv8's decoupled head — box branch 3×3 → 3×3 → 1×1 to 4, class branch 3×3 → 3×3 → 1×1 to
// 80 — then Sigmoid, grid decoding of the boxes (cx = (gx − 0.5 + 2·s)·stride, w = 8·s·stride;
// YOLOv8 uses DFL here, which is a few kFLOPs) and the concatenation.
//
// Weights: random (fixed seed), then normalized the way a trained network's folded BatchNorm
// leaves them: every convolution's output gets zero mean per channel and unit variance per layer
// on a calibration image (data-dependent init, one onnxruntime run per depth level, 1–3 s):
// the caller's (letterboxed frames of the content it will run), else a fixed synthetic one.
// Without that, random SiLU stacks either fade to a constant or blow up to saturation. The class
// logits then get a low bias, chosen so that `candidates` (12; ties can add a few) anchors of
// the calibration image score ≥ 0.25: NMS sees few boxes — the postprocessing of a quiet scene,
// not of a degenerate one. Content unlike the calibration image can give far more candidates.
//
// FLOPs are 2 × the convolutions' multiply-accumulates (the Ultralytics/thop convention);
// activations, sigmoid and decoding are not counted (< 1 %). Default: 7.9 GFLOPs per image.
//
// Use:
//   import { buildYoloModel } from './yolo-model.mjs';
//   const { bytes, gflops, convs } = await buildYoloModel(); // bytes: the .onnx file
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(import.meta.dirname, '../../packages/onnx/package.json'));
const { onnx } = require('onnx-proto');
const ort = require('onnxruntime-node');

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INTS = onnx.AttributeProto.AttributeType.INTS;
const INT = onnx.AttributeProto.AttributeType.INT;
const STRIDES = [8, 16, 32];

/** The convolutions, in topological order: { name, input, cin, cout, k, stride, act, final }. */
function plan(width) {
  const c = (n) => Math.max(1, Math.round(n * width));
  const L = [];
  const add = (name, input, cin, cout, k, stride, act = true, final) => L.push({ name, input, cin, cout, k, stride, act, final });
  add('b0', 'images', 3, c(16), 3, 2); // 320²
  add('b1', 'b0', c(16), c(32), 3, 2); // 160²
  add('b2', 'b1', c(32), c(32), 3, 1);
  add('b3', 'b2', c(32), c(64), 3, 2); // 80² (P3)
  add('b4', 'b3', c(64), c(64), 3, 1);
  add('b5', 'b4', c(64), c(64), 3, 1);
  add('b6', 'b5', c(64), c(128), 3, 2); // 40² (P4)
  add('b7', 'b6', c(128), c(128), 3, 1);
  add('b8', 'b7', c(128), c(128), 3, 1);
  add('b9', 'b8', c(128), c(256), 3, 2); // 20² (P5)
  add('b10', 'b9', c(256), c(256), 3, 1);
  add('b11', 'b10', c(256), c(256), 3, 1);
  const box = c(64), cls = c(80);
  const scales = [['p3', 'b5', c(64)], ['p4', 'b8', c(128)], ['p5', 'b11', c(256)]].map(([tag, from, ch], i) => ({ tag, from, ch, stride: STRIDES[i] }));
  for (const s of scales) {
    add(`${s.tag}_box0`, s.from, s.ch, box, 3, 1);
    add(`${s.tag}_box1`, `${s.tag}_box0`, box, box, 3, 1);
    add(`${s.tag}_box`, `${s.tag}_box1`, box, 4, 1, 1, false, 'box');
    add(`${s.tag}_cls0`, s.from, s.ch, cls, 3, 1);
    add(`${s.tag}_cls1`, `${s.tag}_cls0`, cls, cls, 3, 1);
    add(`${s.tag}_cls`, `${s.tag}_cls1`, cls, 80, 1, 1, false, 'cls');
  }
  return { layers: L, scales };
}

const dimOf = (d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d });
const valueInfo = (name, dims) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map(dimOf) } } } });
const f32 = (name, dims, data) => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });

/** Conv (+ SiLU / ReLU) nodes and initializers of one layer; the pre-activation is `<name>_pre`. */
function layerGraph(l, activation) {
  const pre = `${l.name}_pre`;
  const node = [{ opType: 'Conv', input: [l.input, `${l.name}_w`, `${l.name}_b`], output: [pre], attribute: [
    { name: 'kernel_shape', type: INTS, ints: [l.k, l.k] }, { name: 'strides', type: INTS, ints: [l.stride, l.stride] },
    { name: 'pads', type: INTS, ints: Array(4).fill(l.k >> 1) },
  ] }];
  if (!l.act) node.push({ opType: 'Identity', input: [pre], output: [l.name] });
  else if (activation === 'relu') node.push({ opType: 'Relu', input: [pre], output: [l.name] });
  else { // SiLU = x · sigmoid(x), as in YOLOv8 (onnxruntime does not fuse it into the Conv the way it fuses Relu)
    node.push({ opType: 'Sigmoid', input: [pre], output: [`${l.name}_sig`] });
    node.push({ opType: 'Mul', input: [pre, `${l.name}_sig`], output: [l.name] });
  }
  return { node, init: [f32(`${l.name}_w`, [l.cout, l.cin, l.k, l.k], l.w), f32(`${l.name}_b`, [l.cout], l.b)] };
}

/** A deterministic 320×320 letterboxed calibration image: gradients, bars and noise, pad 114. */
function calibrationImage(seed) {
  const W = 320, H = 320, top = 70, bottom = 250;
  const x = new Float32Array(3 * W * H).fill(114 / 255);
  let s = seed ^ 0x9e3779b9;
  const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  for (let y = top; y < bottom; y++) {
    for (let xx = 0; xx < W; xx++) {
      for (let c = 0; c < 3; c++) {
        const bar = ((Math.floor(xx / 40) * 5 + c * 3) % 7) / 6; // saturated colour bars
        const grad = (xx + y * (c + 1)) / (W + H * 3);
        const v = y < 160 ? bar : grad * 0.8 + rnd() * 0.2;
        x[c * W * H + y * W + xx] = v;
      }
    }
  }
  return new ort.Tensor('float32', x, [1, 3, H, W]);
}

/**
 * Builds the model (async: the weight normalization runs onnxruntime).
 * @param {object} [o]
 * @param {number} [o.width] - channel multiplier (default 1 → 7.9 GFLOPs per 640×640 image)
 * @param {number} [o.candidates] - anchors of the calibration image whose best class scores
 *   ≥ 0.25 (default 12): sets the class logits' bias
 * @param {number} [o.classBias] - a fixed bias of the normalized class logits instead
 * @param {number} [o.seed] - weight seed
 * @param {'silu' | 'relu'} [o.activation] - default `'silu'` (YOLOv8's)
 * @param {{ data: Float32Array, width: number, height: number }} [o.calibration] - the image the
 *   weights are normalized on (float32 CHW, RGB in [0, 1], letterboxed like the detector's input);
 *   default a synthetic 320×320 one. Calibrate on the content you will run to get a known number
 *   of candidates per frame.
 * @returns {Promise<{ bytes: Uint8Array, gflops: number, anchors: number, classBias: number, convs: { name: string, cin: number, cout: number, k: number, out: number, gflop: number }[] }>}
 */
export async function buildYoloModel({ width = 1, candidates = 12, classBias, seed = 12345, activation = 'silu', calibration } = {}) {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 0x1000000 - 0.5; }; // uniform [−0.5, 0.5)
  const { layers, scales } = plan(width);
  const size = { images: 640 };
  const byName = new Map();
  for (const l of layers) {
    const fan = l.cin * l.k * l.k, scale = 2 * Math.sqrt(6 / fan); // uniform ±sqrt(6/fan): He variance (rescaled below anyway)
    l.w = new Float32Array(l.cout * fan);
    for (let i = 0; i < l.w.length; i++) l.w[i] = rand() * scale;
    l.b = new Float32Array(l.cout);
    l.out = Math.ceil(size[l.input] / l.stride);
    size[l.name] = l.out;
    byName.set(l.name, l);
  }

  // Data-dependent normalization, one depth level at a time (a level's layers take only
  // already-normalized inputs): w /= σ, b = (b − μ_channel) / σ.
  const calib = calibration
    ? new ort.Tensor('float32', calibration.data, [1, 3, calibration.height, calibration.width])
    : calibrationImage(seed);
  const done = new Set(['images']);
  const bestLogits = [];
  while (done.size <= layers.length) {
    const level = layers.filter((l) => !done.has(l.name) && done.has(l.input));
    const need = new Set();
    const visit = (n) => { if (n === 'images' || need.has(n)) return; need.add(n); visit(byName.get(n).input); };
    level.forEach((l) => visit(l.name));
    const parts = layers.filter((l) => need.has(l.name)).map((l) => layerGraph(l, activation));
    const model = onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'nv-bench-calibration',
      graph: {
        name: 'calibration', input: [valueInfo('images', [1, 3, 'h', 'w'])],
        output: level.map((l) => valueInfo(`${l.name}_pre`, [1, l.cout, `${l.name}_h`, `${l.name}_w`])),
        initializer: parts.flatMap((p) => p.init), node: parts.flatMap((p) => p.node),
      },
    });
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), { logSeverityLevel: 3 });
    const out = await session.run({ images: calib });
    await session.release();
    for (const l of level) {
      // Per channel the mean goes into the bias; the scale is one per layer (the RMS over all
      // channels): per-channel scales would blow near-constant channels of the calibration
      // image up by orders of magnitude on other content.
      const t = out[`${l.name}_pre`], hw = t.dims[2] * t.dims[3], fan = l.cin * l.k * l.k;
      const mean = new Float64Array(l.cout);
      let sq = 0;
      for (let c = 0; c < l.cout; c++) {
        let sum = 0;
        for (let i = c * hw; i < (c + 1) * hw; i++) sum += t.data[i];
        mean[c] = sum / hw;
        for (let i = c * hw; i < (c + 1) * hw; i++) sq += (t.data[i] - mean[c]) ** 2;
      }
      const sd = Math.sqrt(Math.max(sq / (hw * l.cout), 1e-12));
      for (let i = 0; i < l.w.length; i++) l.w[i] /= sd;
      for (let c = 0; c < l.cout; c++) l.b[c] = (l.b[c] - mean[c]) / sd;
      if (l.final === 'cls') { // each anchor's best normalized class logit
        for (let i = 0; i < hw; i++) {
          let best = -Infinity;
          for (let c = 0; c < l.cout; c++) best = Math.max(best, (t.data[c * hw + i] - mean[c]) / sd);
          bestLogits.push(best);
        }
      }
      done.add(l.name);
    }
  }

  // The class bias: the `candidates`-th best anchor of the calibration image scores just above
  // 0.25 (= sigmoid(−ln 3)); ties (repetitive content) can add a few more.
  bestLogits.sort((a, b) => b - a);
  const k = Math.min(Math.max(1, Math.round(candidates)), bestLogits.length);
  const bias = classBias ?? -Math.log(3) - bestLogits[k - 1] + 0.02;
  for (const l of layers) if (l.final === 'cls') for (let c = 0; c < l.cout; c++) l.b[c] += bias;

  // The full graph: convolutions, per-scale [B, 84, H·W], concatenation, sigmoid, box decoding.
  const anchors = scales.reduce((a, sc) => a + size[sc.from] ** 2, 0);
  const parts = layers.map((l) => layerGraph(l, activation));
  const node = parts.flatMap((p) => p.node), init = parts.flatMap((p) => p.init);
  for (const sc of scales) {
    node.push({ opType: 'Concat', input: [`${sc.tag}_box`, `${sc.tag}_cls`], output: [`${sc.tag}_cat`], attribute: [{ name: 'axis', type: INT, i: 1 }] });
    node.push({ opType: 'Reshape', input: [`${sc.tag}_cat`, 'flat_shape'], output: [`${sc.tag}_flat`] });
  }
  // Box decoding constants, [1, 4, anchors] in scale order: cx = (gx − 0.5 + 2·s)·stride, cy
  // likewise, w = h = 8·s·stride (s: the sigmoid of the raw output).
  const mul = new Float32Array(4 * anchors), add = new Float32Array(4 * anchors);
  let off = 0;
  for (const sc of scales) {
    const n = size[sc.from];
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const a = off + y * n + x;
        mul[a] = mul[anchors + a] = 2 * sc.stride;
        add[a] = (x - 0.5) * sc.stride;
        add[anchors + a] = (y - 0.5) * sc.stride;
        mul[2 * anchors + a] = mul[3 * anchors + a] = 8 * sc.stride;
      }
    }
    off += n * n;
  }
  init.push({ name: 'flat_shape', dims: [3], dataType: INT64, int64Data: [0, 84, -1] });
  init.push({ name: 'split', dims: [2], dataType: INT64, int64Data: [4, 80] });
  init.push(f32('box_mul', [1, 4, anchors], mul), f32('box_add', [1, 4, anchors], add));
  node.push(
    { opType: 'Concat', input: scales.map((sc) => `${sc.tag}_flat`), output: ['raw'], attribute: [{ name: 'axis', type: INT, i: 2 }] },
    { opType: 'Sigmoid', input: ['raw'], output: ['sig'] },
    { opType: 'Split', input: ['sig', 'split'], output: ['box_s', 'cls_s'], attribute: [{ name: 'axis', type: INT, i: 1 }] },
    { opType: 'Mul', input: ['box_s', 'box_mul'], output: ['box_m'] },
    { opType: 'Add', input: ['box_m', 'box_add'], output: ['box_xywh'] },
    { opType: 'Concat', input: ['box_xywh', 'cls_s'], output: ['output0'], attribute: [{ name: 'axis', type: INT, i: 1 }] },
  );
  const model = onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'nv-bench',
    metadataProps: [
      { key: 'names', value: JSON.stringify(Object.fromEntries(Array.from({ length: 80 }, (_, i) => [i, `class${i}`]))) },
      { key: 'imgsz', value: '[640, 640]' },
    ],
    graph: {
      name: 'bench-yolov8-shaped', input: [valueInfo('images', ['batch', 3, 640, 640])], output: [valueInfo('output0', ['batch', 84, anchors])],
      initializer: init, node,
    },
  });
  const convs = layers.map((l) => ({ name: l.name, cin: l.cin, cout: l.cout, k: l.k, out: l.out, gflop: (2 * l.out * l.out * l.cout * l.cin * l.k * l.k) / 1e9 }));
  return { bytes: onnx.ModelProto.encode(model).finish(), gflops: convs.reduce((a, c) => a + c.gflop, 0), anchors, classBias: bias, convs };
}
