#!/usr/bin/env node
// The detection job, side by side in one run (issue 14 item 5): a YOLOv8-shaped model
// (tools/bench/yolo-model.mjs: [B, 3, 640, 640] → [B, 84, 8400], 7.9 GFLOPs, random weights
// calibrated on the clip so a frame has a handful of candidates) on a 1080p H.264 clip.
//
// Run: npx tsc -b packages/onnx packages/runtime packages/test-util && node tools/bench/detection-job.mjs [--frames 120] [--rounds 3] [--threads N] [--python /usr/bin/python3] [--no-python] [--variants A,B,…]
//
// Variants, all in this run, alternated each round (forward, then reversed), median of rounds:
//   A  model-only limit: session.run in a loop on a ready [1, 3, 640, 640] tensor, N = frames runs.
//   B  nv end to end: a Runtime feed on the file (block backpressure), stages [new OnnxDetector()],
//      default executor ('worker') and, when the option exists, executor: 'inline'; plus, when
//      FeedPipeline.builder().parallel exists, the same stage in a parallel(2) and a parallel(3)
//      head (started with concurrency = width: its own executor then has min(width, cores) workers
//      of cores ÷ workers threads; width 3 on 2 cores keeps both workers busy while a frame is
//      letterboxed).
//   A-w2  the model alone on 2 workers × (cores ÷ 2) threads, 2 runs in flight (B-par*'s own limit).
//   C  ffmpeg → Node pipe: ffmpeg scales to 640×360 rgb24 (bilinear), exact frame-size reads into
//      one preallocated Buffer, JS letterbox + /255 into one preallocated CHW Float32Array (padding
//      written once), session.run, best-class + threshold + class-aware NMS in JS.
//   D  Python: OpenCV VideoCapture + letterbox + blobFromImage + onnxruntime + NMSBoxesBatched
//      (tools/bench/detection-job.py, in a venv cached in $TMPDIR/nv-bench/venv; skipped with a
//      message when no venv/pip).
//   E  1, 2, 4 feeds sharing one OnnxBatchDetector (createBatch, maxBatchSize = feeds,
//      maxLatencyMs 20); also through a parallel(2) head when the builder has one.
//   G  (for the CPU arithmetic) nv decode + the detector's letterbox, no model: CPU ms per frame.
// Event-loop delay (monitorEventLoopDelay, resolution 10 ms; a 10 ms setInterval's ticks) is
// recorded during every in-process Node variant alike, and reported.
//
// Fixed costs, the same on every side: model load / session creation, one warm-up inference and
// the model's release are outside the timing everywhere (nv: the detector's onStart is called
// before addFeed — the runtime's own call is then a no-op — and its onStop is deferred until after
// feed.done; Python: interpreter start, imports, session creation and warm-up are outside its own
// timer). Decoder start-up is inside the timing everywhere (nv: the GStreamer pipeline from
// addFeed; ffmpeg: the process spawn; Python: VideoCapture open). A and C share one session
// (nv's session options: graph optimization 'all', the same intra-op threads).
// With the defaults a run takes ≈ 5–7 minutes on 2 cores (E4 alone decodes 4 × 120 frames a round).
// Prints Markdown for BENCHMARKS.md. Not a test: nothing here asserts a timing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { feedId } from '../../packages/core/dist/index.js';
import { LetterboxPreprocessor, OnnxBatchDetector, OnnxDetector } from '../../packages/onnx/dist/index.js';
import { WorkerExecutor } from '../../packages/inference/dist/index.js';
import { FeedPipeline, Runtime } from '../../packages/runtime/dist/index.js';
import { gradientFrame } from '../../packages/test-util/dist/index.js';
import { buildYoloModel } from './yolo-model.mjs';

const require = createRequire(join(import.meta.dirname, '../../packages/onnx/package.json'));
const ort = require('onnxruntime-node');
const ORT_VERSION = require('onnxruntime-node/package.json').version;

const argv = process.argv.slice(2);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const FRAMES = Number(arg('frames', 120));
const ROUNDS = Number(arg('rounds', 3));
const THREADS = Number(arg('threads', availableParallelism()));
// The system Python (Debian's; its venv module comes with python3-venv): a pyenv python3 on PATH is not a bootstrap package.
const PYTHON = arg('python', '/usr/bin/python3');
const NO_PYTHON = argv.includes('--no-python');
const CORES = availableParallelism();
const W = 1920, H = 1080, S = 640; // clip size, model input
const SCORE = 0.25, IOU = 0.45; // nv's defaults, used by every variant

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const log = (...a) => console.error(...a);
const command = `node tools/bench/detection-job.mjs ${argv.join(' ')}`.trim();

// ---------------------------------------------------------------------------------------------
// Clip (shared with runtime-1080p.mjs) and model
const dir = join(tmpdir(), 'nv-bench');
mkdirSync(dir, { recursive: true });
const clip = join(dir, `h264-1080p-${FRAMES}.mp4`);
if (!existsSync(clip)) {
  log(`generating ${clip} …`);
  execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${FRAMES}`, 'pattern=smpte', '!',
    `video/x-raw,format=I420,width=${W},height=${H},framerate=30/1`, '!', 'x264enc', 'speed-preset=ultrafast', 'key-int-max=60', '!',
    'mp4mux', '!', 'filesink', `location=${clip}`], { stdio: 'inherit' });
}
const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).status === 0;
const ffmpegVersion = hasFfmpeg ? spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/ Copyright.*/, '') : 'absent';

// Letterbox geometry of the clip (as nv, OpenCV and Ultralytics compute it): 1920×1080 → 640×360 at (0, 140).
const R = Math.min(S / W, S / H), NW = Math.round(W * R), NH = Math.round(H * R), TOP = Math.floor((S - NH) / 2), LEFT = Math.floor((S - NW) / 2);
const PLANE = S * S, FRAME_BYTES = NW * NH * 3;
const LUT = Float32Array.from({ length: 256 }, (_, i) => i / 255);
/** The pipe's letterbox: NW×NH rgb24 → the content rows of a CHW float tensor whose padding is already 114/255. */
function letterboxRgb(src, dst) {
  for (let y = 0; y < NH; y++) {
    let i = y * NW * 3, o = (y + TOP) * S + LEFT;
    for (let x = 0; x < NW; x++, i += 3, o++) { dst[o] = LUT[src[i]]; dst[o + PLANE] = LUT[src[i + 1]]; dst[o + 2 * PLANE] = LUT[src[i + 2]]; }
  }
}
const paddedTensor = () => new Float32Array(3 * PLANE).fill(114 / 255);

// Calibrate the model's weights on the clip's first frame as nv letterboxes it (nv is the system
// under test; the other pipelines' tensors differ by rounding and colorimetry, and their
// detections per frame are reported), so a frame has a handful of candidates.
const calibration = { data: paddedTensor(), width: S, height: S };
{
  const pre = new LetterboxPreprocessor(S, S);
  let first = true;
  const rt = new Runtime();
  const feed = rt.addFeed({
    source: { kind: 'file', path: clip }, backpressure: { kind: 'block' }, cameraMode: 'fixed',
    stages: [{ id: 'calibration', process: (ctx) => { if (first) pre.run(ctx.frame, calibration.data); first = false; return undefined; } }],
  });
  await feed.done;
  await rt.shutdown();
}
const t0Model = performance.now();
const model = await buildYoloModel({ calibration });
const modelDir = mkdtempSync(join(tmpdir(), 'nv-bench-detection-job-'));
const modelPath = join(modelDir, 'yolov8-shaped.onnx');
writeFileSync(modelPath, model.bytes);
process.on('exit', () => rmSync(modelDir, { recursive: true, force: true }));
log(`model: ${model.gflops.toFixed(2)} GFLOPs, ${model.convs.length} convolutions, class bias ${model.classBias.toFixed(2)}, ${(model.bytes.length / 2 ** 20).toFixed(1)} MiB, built in ${((performance.now() - t0Model) / 1000).toFixed(1)} s`);

// ---------------------------------------------------------------------------------------------
// Python venv (outside the timing)
function setupPython() {
  if (NO_PYTHON) return { skip: '--no-python' };
  const venv = join(dir, 'venv'), py = join(venv, 'bin', 'python');
  const probe = () => spawnSync(py, ['-c', 'import cv2, onnxruntime, numpy'], { encoding: 'utf8' });
  if (existsSync(py) && probe().status === 0) return { py };
  log(`creating the Python venv ${venv} (${PYTHON} -m venv; pip install onnxruntime opencv-python-headless numpy) …`);
  const mk = spawnSync(PYTHON, ['-m', 'venv', '--clear', venv], { encoding: 'utf8' });
  if (mk.error || mk.status !== 0) return { skip: `\`${PYTHON} -m venv\` failed: ${(mk.error?.message ?? mk.stderr).trim().split('\n').pop()}` };
  const pip = (pkgs) => spawnSync(join(venv, 'bin', 'pip'), ['install', '-q', ...pkgs], { encoding: 'utf8', timeout: 900_000 });
  // The same onnxruntime as onnxruntime-node when the index has it (same kernels on both sides).
  let r = pip([`onnxruntime==${ORT_VERSION}`, 'opencv-python-headless', 'numpy']);
  if (r.status !== 0) r = pip(['onnxruntime', 'opencv-python-headless', 'numpy']);
  if (r.status !== 0 || probe().status !== 0) return { skip: `pip install failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()}` };
  return { py };
}
const python = setupPython();
if (python.skip) log(`Python variant skipped: ${python.skip}`);

// ---------------------------------------------------------------------------------------------
// Measurement helpers
/** Runs `fn` with the event-loop monitors on; returns its result with seconds, CPU and loop delay. */
async function measured(fn) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  let ticks = 0;
  const iv = setInterval(() => { ticks++; }, 10);
  h.enable();
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  const r = await fn(() => performance.now() - t0);
  const ms = performance.now() - t0, cpu = process.cpuUsage(cpu0);
  h.disable();
  clearInterval(iv);
  return { ...r, s: ms / 1000, cpuMs: (cpu.user + cpu.system) / 1000, lag: { p99: h.percentile(99) / 1e6, max: h.max / 1e6, ticks, expected: Math.floor(ms / 10) } };
}

const warmFrame = gradientFrame({ width: W, height: H, format: 'I420', feedId: 1 });

// A and C share one session, with the options nv gives its own (graph optimization 'all', T intra-op threads).
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: THREADS, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
const readyTensor = new ort.Tensor('float32', calibration.data, [1, 3, S, S]); // the clip's first frame, letterboxed by nv
await session.run({ images: readyTensor }); // warm-up

/** A: the model alone. */
const modelOnly = () => measured(async () => {
  for (let i = 0; i < FRAMES; i++) await session.run({ images: readyTensor });
  return { frames: FRAMES, dets: undefined };
});

/** A-w2: the model alone on 2 workers × (cores / 2) threads, 2 runs in flight (the limit of B-par2-w2). */
const modelOnlyWorkers = async () => {
  const ex = new WorkerExecutor({ workers: 2 });
  const m = await ex.load({ model: modelPath, session: { intraOpNumThreads: ex.intraOpNumThreads, graphOptimizationLevel: 'all' } });
  const one = async () => {
    const lease = await ex.pool.acquire(3 * S * S);
    lease.data.set(calibration.data);
    await m.run({ images: lease.input([1, 3, S, S]) });
  };
  await Promise.all([one(), one()]); // warm-up, both workers
  const r = await measured(async () => {
    let next = 0;
    const lane = async () => { while (next < FRAMES) { next++; await one(); } };
    await Promise.all([lane(), lane()]);
    return { frames: FRAMES, dets: undefined };
  });
  await ex.release();
  return r;
};

/** Feature-detects `executor: 'inline'`: constructing with it must not throw and the started core must report an executor. */
let inlineExecutor = 'absent';
try {
  const d = new OnnxDetector({ modelPath, intraOpNumThreads: THREADS, executor: 'inline' });
  await d.onStart();
  inlineExecutor = d.core.executor ? d.core.executor.constructor.name : 'absent (option ignored)';
  await d.onStop();
} catch (e) { inlineExecutor = `absent (${e.message})`; }
const hasInline = !inlineExecutor.startsWith('absent');
const hasParallel = typeof FeedPipeline.builder().parallel === 'function';
let defaultExecutor = '?';

/** A started detector whose lifecycle stays outside the timing: onStart now (+ one warm-up frame), onStop after. */
async function startedDetector(Cls, options, warmBatch = 1, startContext = undefined) {
  const det = new Cls({ modelPath, intraOpNumThreads: THREADS, ...options });
  await det.onStart(startContext);
  await det.core.detect(Array.from({ length: warmBatch }, (_, i) => ({ feedId: feedId(i + 1), frame: warmFrame })));
  const stop = det.onStop.bind(det);
  det.onStop = async () => undefined; // the runtime's call at feed end; the real one runs after the timing
  return { det, stop };
}
const counter = () => {
  const c = { outputs: 0, dets: 0 };
  c.sink = { emit: (out) => { c.outputs++; c.dets += out.artifacts.detections.length; } };
  return c;
};

/** B: one feed, the stage (optionally in a parallel head). */
async function nvJob({ executor, parallel } = {}) {
  // In a parallel head the detector is started as the feed starts it (concurrency = width): its own
  // executor then has `width` workers of cores ÷ width threads, so no intra-op threads are forced.
  const { det, stop } = await startedDetector(OnnxDetector, { ...(executor ? { executor } : {}), ...(parallel ? { intraOpNumThreads: undefined } : {}) }, 1, parallel ? { concurrency: parallel } : undefined);
  defaultExecutor = executor ? defaultExecutor : det.core.executor?.constructor.name ?? '?';
  const rt = new Runtime();
  const c = counter();
  const r = await measured(async () => {
    const feed = rt.addFeed({
      source: { kind: 'file', path: clip }, backpressure: { kind: 'block' }, cameraMode: 'fixed', sink: c.sink,
      ...(parallel ? { pipeline: FeedPipeline.builder().parallel(parallel, (h) => h.addStage(det)).build() } : { stages: [det] }),
    });
    await feed.done;
    return { frames: c.outputs, dets: c.dets };
  });
  await rt.shutdown();
  await stop();
  if (c.outputs !== FRAMES) log(`warning: nv${executor ? ` (${executor})` : ''} emitted ${c.outputs} of ${FRAMES} outputs`);
  return r;
}

/** G: nv decode + the detector's letterbox (same preprocessor, same options), no model. */
async function nvLetterboxOnly() {
  const pre = new LetterboxPreprocessor(S, S);
  const out = new Float32Array(pre.tensorSize);
  const rt = new Runtime();
  const c = counter();
  const r = await measured(async () => {
    const feed = rt.addFeed({
      source: { kind: 'file', path: clip }, backpressure: { kind: 'block' }, cameraMode: 'fixed', sink: c.sink,
      stages: [{ id: 'letterbox', process: (ctx) => { pre.run(ctx.frame, out); return undefined; } }],
    });
    await feed.done;
    return { frames: c.outputs, dets: undefined };
  });
  await rt.shutdown();
  return r;
}

/** E: `feeds` feeds sharing one batch detector (optionally each through a parallel head). */
async function nvFeeds(feeds, parallel) {
  const rt = new Runtime();
  const { det } = await startedDetector(OnnxBatchDetector, { id: 'shared-detector' }, feeds);
  delete det.onStop; // createBatch calls onStart (a no-op now); rt.shutdown() stops it, after the timing
  const batch = await rt.createBatch(det, { maxBatchSize: feeds, maxLatencyMs: 20, ...(parallel ? { maxInFlightPerFeed: parallel } : {}) });
  const cs = Array.from({ length: feeds }, counter);
  const r = await measured(async () => {
    const handles = cs.map((c) => rt.addFeed({
      source: { kind: 'file', path: clip }, backpressure: { kind: 'block' }, cameraMode: 'fixed', sink: c.sink,
      pipeline: parallel ? FeedPipeline.builder().parallel(parallel, (h) => h.batch(batch)).build() : FeedPipeline.builder().batch(batch).build(),
    }));
    await Promise.all(handles.map((f) => f.done));
    return { frames: cs.reduce((a, c) => a + c.outputs, 0), dets: cs.reduce((a, c) => a + c.dets, 0) };
  });
  await rt.shutdown();
  if (r.frames !== feeds * FRAMES) log(`warning: ${feeds} feeds${parallel ? ` (parallel ${parallel})` : ''} emitted ${r.frames} of ${feeds * FRAMES} outputs`);
  return r;
}

/** C's postprocessing: best class per anchor, threshold, class-aware greedy NMS, frame coordinates. */
const N_ANCHORS = model.anchors;
const candBox = new Float32Array(4 * 4096), candScore = new Float32Array(4096), candCls = new Int32Array(4096), order = new Int32Array(4096), kept = new Uint8Array(4096);
const bestScore = new Float32Array(N_ANCHORS), bestCls = new Int32Array(N_ANCHORS);
function postprocess(d) {
  // Walk each class plane in memory order, keeping the best per anchor (as nv's decoder does).
  bestScore.set(d.subarray(4 * N_ANCHORS, 5 * N_ANCHORS));
  bestCls.fill(0);
  for (let c = 1; c < 80; c++) {
    const p = (4 + c) * N_ANCHORS;
    for (let a = 0; a < N_ANCHORS; a++) { const v = d[p + a]; if (v > bestScore[a]) { bestScore[a] = v; bestCls[a] = c; } }
  }
  let n = 0;
  for (let a = 0; a < N_ANCHORS && n < 4096; a++) {
    const best = bestScore[a];
    if (!(best >= SCORE)) continue;
    const cx = d[a], cy = d[N_ANCHORS + a], hw = d[2 * N_ANCHORS + a] / 2, hh = d[3 * N_ANCHORS + a] / 2;
    candBox[4 * n] = cx - hw; candBox[4 * n + 1] = cy - hh; candBox[4 * n + 2] = cx + hw; candBox[4 * n + 3] = cy + hh;
    candScore[n] = best; candCls[n] = bestCls[a]; order[n] = n; n++;
  }
  const idx = Array.from(order.subarray(0, n)).sort((x, y) => candScore[y] - candScore[x]);
  kept.fill(0, 0, n);
  let out = 0;
  for (let i = 0; i < idx.length && out < 300; i++) {
    const p = idx[i];
    let ok = true;
    for (let j = 0; j < i && ok; j++) {
      const q = idx[j];
      if (!kept[q] || candCls[q] !== candCls[p]) continue;
      const iw = Math.min(candBox[4 * p + 2], candBox[4 * q + 2]) - Math.max(candBox[4 * p], candBox[4 * q]);
      const ih = Math.min(candBox[4 * p + 3], candBox[4 * q + 3]) - Math.max(candBox[4 * p + 1], candBox[4 * q + 1]);
      if (iw <= 0 || ih <= 0) continue;
      const inter = iw * ih;
      const ap = (candBox[4 * p + 2] - candBox[4 * p]) * (candBox[4 * p + 3] - candBox[4 * p + 1]);
      const aq = (candBox[4 * q + 2] - candBox[4 * q]) * (candBox[4 * q + 3] - candBox[4 * q + 1]);
      if (inter / (ap + aq - inter) > IOU) ok = false;
    }
    if (!ok) continue;
    // frame coordinates (normalized), clamped; a box with no area in the frame is not kept
    const x1 = Math.max(0, (candBox[4 * p] - LEFT) / NW), y1 = Math.max(0, (candBox[4 * p + 1] - TOP) / NH);
    const x2 = Math.min(1, (candBox[4 * p + 2] - LEFT) / NW), y2 = Math.min(1, (candBox[4 * p + 3] - TOP) / NH);
    if (x2 > x1 && y2 > y1) { kept[p] = 1; out++; }
  }
  return out;
}

/** C: ffmpeg → Node pipe. */
const pipeInput = paddedTensor();
const pipeTensor = new ort.Tensor('float32', pipeInput, [1, 3, S, S]);
const frameBuf = Buffer.allocUnsafe(FRAME_BYTES);
const pipeJob = () => measured(async () => {
  const ff = spawn('ffmpeg', ['-v', 'error', '-nostdin', '-i', clip, '-vf', `scale=${NW}:${NH}:flags=bilinear`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve, reject) => { ff.on('error', reject); ff.on('close', resolve); });
  let fill = 0, frames = 0, dets = 0, postMs = 0;
  for await (const chunk of ff.stdout) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(FRAME_BYTES - fill, chunk.length - off);
      chunk.copy(frameBuf, fill, off, off + n);
      fill += n; off += n;
      if (fill < FRAME_BYTES) break;
      fill = 0;
      letterboxRgb(frameBuf, pipeInput);
      const out = await session.run({ images: pipeTensor });
      const tp = performance.now();
      dets += postprocess(out.output0.data);
      postMs += performance.now() - tp;
      frames++;
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}`);
  return { frames, dets, postMs };
});

/** D: Python, in its own process; its own timer excludes interpreter start, imports, session creation and warm-up. */
function pythonJob() {
  return new Promise((resolve, reject) => {
    const p = spawn(python.py, [join(import.meta.dirname, 'detection-job.py'), '--model', modelPath, '--clip', clip, '--threads', String(THREADS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`detection-job.py exited with ${code}`)); return; }
      const r = JSON.parse(text.trim().split('\n').pop());
      python.versions = r.versions;
      resolve({ frames: r.frames, dets: r.detections, s: r.seconds });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Rounds
const variants = [
  ['A', 'model only: session.run on a ready [1,3,640,640] tensor', modelOnly],
  ['B', 'nv end to end, OnnxDetector, default executor', () => nvJob()],
  ...(hasInline ? [['B-inline', "nv end to end, OnnxDetector, executor: 'inline'", () => nvJob({ executor: 'inline' })]] : []),
  ...(hasParallel ? [['B-par2', 'nv end to end, OnnxDetector in a parallel(2) head (its executor: 2 workers × cores ÷ 2 threads)', () => nvJob({ parallel: 2 })]] : []),
  ...(hasParallel ? [['B-par3', 'nv end to end, OnnxDetector in a parallel(3) head (its executor: 2 workers on 2 cores)', () => nvJob({ parallel: 3 })]] : []),
  ['A-w2', 'model only: 2 workers × (cores ÷ 2) threads, 2 runs in flight', modelOnlyWorkers],
  ...(hasFfmpeg ? [['C', 'ffmpeg → Node pipe (scale 640×360 rgb24, JS letterbox, session.run, JS NMS)', pipeJob]] : []),
  ...(python.py ? [['D', 'Python: OpenCV VideoCapture + letterbox + onnxruntime + NMSBoxesBatched', pythonJob]] : []),
  ['G', 'nv decode + letterbox, no model (CPU arithmetic)', nvLetterboxOnly],
  ...[1, 2, 4].map((n) => [`E${n}`, `${n} feed${n > 1 ? 's' : ''}, one OnnxBatchDetector (createBatch, maxBatchSize ${n})`, () => nvFeeds(n)]),
  ...(hasParallel ? [1, 2, 4].map((n) => [`E${n}-par2`, `${n} feed${n > 1 ? 's' : ''}, one OnnxBatchDetector, parallel(2) head`, () => nvFeeds(n, 2)]) : []),
];
// `--variants A,B,…`: run only these (a quicker look; the report leaves the others out).
const onlyArg = arg('variants', undefined);
if (onlyArg !== undefined) {
  const keep = new Set(String(onlyArg).split(','));
  for (let i = variants.length - 1; i >= 0; i--) if (!keep.has(variants[i][0])) variants.splice(i, 1);
}
const res = Object.fromEntries(variants.map(([k]) => [k, []]));
log(`${variants.length} variants × ${ROUNDS} rounds, ${FRAMES} frames each …`);
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...variants].reverse() : variants;
  for (const [k, , fn] of order) {
    try {
      const m = await fn();
      res[k].push({ ...m, fps: m.frames / m.s });
      log(`round ${r + 1} ${k}: ${(m.frames / m.s).toFixed(1)} frames/s`);
    } catch (e) {
      log(`round ${r + 1} ${k}: failed: ${e.stack ?? e}`);
      res[k].push({ error: String(e.message ?? e) });
    }
  }
}
warmFrame.release();
await session.release();

// ---------------------------------------------------------------------------------------------
// Report
const ok = (k) => (res[k] ?? []).filter((m) => m.error === undefined);
const fps = (k) => (ok(k).length ? median(ok(k).map((m) => m.fps)) : NaN);
const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '—');
const f3 = (v) => (Number.isFinite(v) ? v.toFixed(3) : '—');
/** Median over rounds of the per-round ratio a ÷ b (each round's pair ran back to back). */
const ratio = (a, b) => {
  const v = [];
  for (let r = 0; r < ROUNDS; r++) { const x = res[a]?.[r], y = res[b]?.[r]; if (x?.fps && y?.fps) v.push(x.fps / y.fps); }
  return v.length ? median(v) : NaN;
};

const cpu0 = cpus()[0]?.model ?? '?';
console.log(`# Detection job — ${command}`);
console.log('');
console.log(`Node ${process.version}, ${cpu0} ×${cpus().length} (availableParallelism ${CORES}), onnxruntime-node ${ORT_VERSION}, ${THREADS} intra-op threads everywhere; ${ffmpegVersion}; ` +
  `clip ${W}×${H} H.264 (x264 ultrafast, smpte), ${FRAMES} frames; median of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}, variants alternated (forward, then reversed).`);
console.log(`Model: YOLOv8-shaped (tools/bench/yolo-model.mjs), [B,3,640,640] → [B,84,${model.anchors}], ${model.gflops.toFixed(2)} GFLOPs per image (2 × MACs of ${model.convs.length} convolutions), ` +
  `random weights normalized on the clip's first frame, class bias ${model.classBias.toFixed(2)}; nv's executor: default '${defaultExecutor}', inline ${hasInline ? `'${inlineExecutor}'` : inlineExecutor}; parallel head ${hasParallel ? 'present' : 'absent (FeedPipeline.builder().parallel is not a function)'}.`);
console.log('');
console.log('| variant | frames/s | ms/frame | per round (frames/s) | detections/frame |');
console.log('|---|---:|---:|---|---:|');
for (const [k, label] of variants) {
  const m = ok(k);
  const dets = m.length && m[0].dets !== undefined ? median(m.map((x) => x.dets / x.frames)) : NaN;
  const err = res[k].find((x) => x.error)?.error;
  console.log(`| ${k}: ${label}${err ? ` (failed: ${err})` : ''} | ${f1(fps(k))} | ${f1(1000 / fps(k))} | ${res[k].map((x) => (x.fps ? x.fps.toFixed(1) : '×')).join(' / ')} | ${Number.isFinite(dets) ? dets.toFixed(1) : '—'} |`);
}
if (!python.py) console.log(`| D: Python OpenCV + onnxruntime | skipped: ${python.skip} | | | |`);
if (python.versions) console.log(`\nPython: ${python.versions}.`);

console.log('');
console.log('| ratio (median of per-round ratios) | value | goal |');
console.log('|---|---:|---|');
console.log(`| B ÷ A: nv end to end (default executor) ÷ model-only limit | ${f3(ratio('B', 'A'))} | ≥ 0.9 on 2 cores (≥ 0.95 with spare cores) |`);
if (hasInline) console.log(`| B-inline ÷ A | ${f3(ratio('B-inline', 'A'))} | |`);
if (hasParallel) console.log(`| B-par2 ÷ A | ${f3(ratio('B-par2', 'A'))} | |`);
if (hasParallel && res['A-w2']) console.log(`| B-par2 ÷ A-w2 (its own configuration's limit) | ${f3(ratio('B-par2', 'A-w2'))} | |`);
if (hasParallel && res['B-par3']) {
  console.log(`| B-par3 ÷ A (parallel(3): 2 workers kept busy) | ${f3(ratio('B-par3', 'A'))} | ≥ 0.9 |`);
  if (res['A-w2']) console.log(`| B-par3 ÷ A-w2 | ${f3(ratio('B-par3', 'A-w2'))} | |`);
  if (res.C) console.log(`| B-par3 ÷ C (nv ÷ ffmpeg pipe) | ${f3(ratio('B-par3', 'C'))} | |`);
  if (res.D) console.log(`| B-par3 ÷ D (nv ÷ Python) | ${f3(ratio('B-par3', 'D'))} | |`);
}
if (hasFfmpeg) {
  console.log(`| B ÷ C: nv ÷ ffmpeg pipe | ${f3(ratio('B', 'C'))} | |`);
  console.log(`| C ÷ A: ffmpeg pipe ÷ limit | ${f3(ratio('C', 'A'))} | |`);
}
if (python.py) {
  console.log(`| B ÷ D: nv ÷ Python OpenCV + onnxruntime | ${f3(ratio('B', 'D'))} | |`);
  console.log(`| D ÷ A: Python ÷ limit | ${f3(ratio('D', 'A'))} | |`);
}

// CPU arithmetic of the limit
const I = 1000 / fps('A');
const Icpu = median(ok('A').map((m) => m.cpuMs / m.frames));
const D = median(ok('G').map((m) => m.cpuMs / m.frames));
const Dw = 1000 / fps('G');
const P = ok('C').length ? median(ok('C').map((m) => m.postMs / m.frames)) : NaN;
const busy = Math.min(THREADS, CORES); // cores inference keeps busy while it runs (compute-bound convolutions)
const demand = busy * I + D + (Number.isFinite(P) ? P : 0);
const ceilMs = Math.max(I, demand / CORES);
console.log('');
console.log(`CPU arithmetic of the limit: inference alone ${f1(I)} ms/frame on ${THREADS} threads, i.e. ${f1(busy * I)} ms of CPU per frame on ${busy} busy cores ` +
  `(measured: process CPU ${f1(Icpu)} ms/frame during A = ${f2(Icpu / I)} cores; below ${busy} means the machine was not quiet or onnxruntime's threads idled); ` +
  `decode + letterbox ${f1(D)} ms of CPU per frame (G: an nv feed with the detector's LetterboxPreprocessor and no model, process CPU time ÷ frames; ${f1(Dw)} ms/frame wall)` +
  `${Number.isFinite(P) ? `; head decoding + NMS ${f2(P)} ms/frame (JS, timed inside C)` : ''}. ` +
  `On ${CORES} cores the end-to-end ceiling is max(${f1(I)}, (${busy} × ${f1(I)} + ${f1(D)}${Number.isFinite(P) ? ` + ${f2(P)}` : ''}) / ${CORES}) = ${f1(ceilMs)} ms/frame ` +
  `→ ${f1(1000 / ceilMs)} frames/s = ${f3(I / ceilMs)} × the limit${THREADS >= CORES ? ' (inference takes every core, so decode and preprocessing take cores from it)' : ' (decode and preprocessing can use the cores inference leaves idle)'}; ` +
  `measured B ÷ A = ${f3(ratio('B', 'A'))}.`);

console.log('');
console.log('| feeds sharing one detector | total frames/s | per feed | total ÷ 1 feed | detections/frame |');
console.log('|---|---:|---:|---:|---:|');
for (const suffix of ['', ...(hasParallel ? ['-par2'] : [])]) {
  for (const n of [1, 2, 4]) {
    const k = `E${n}${suffix}`, m = ok(k);
    const dets = m.length ? median(m.map((x) => x.dets / x.frames)) : NaN;
    console.log(`| ${n}${suffix ? ', parallel(2) head (maxInFlightPerFeed 2)' : ', batch point'} (maxBatchSize ${n}, maxLatencyMs 20) | ${f1(fps(k))} | ${f1(fps(k) / n)} | ${f2(ratio(k, `E1${suffix}`))} | ${Number.isFinite(dets) ? dets.toFixed(1) : '—'} |`);
  }
}
if (!hasParallel) console.log('\nParallel head: absent (FeedPipeline.builder().parallel is not a function); rows skipped.');

console.log('');
console.log('Event loop during each in-process variant (monitorEventLoopDelay, resolution 10 ms: a value is the interval between two 10 ms checks, so 10 means no delay; p99 = median of rounds, max = max of rounds). Goal for the detection job (B): ≤ 15 ms.');
console.log('');
console.log('| variant | p99 ms | max ms | 10 ms interval ticks / expected |');
console.log('|---|---:|---:|---:|');
for (const [k] of variants) {
  const m = ok(k).filter((x) => x.lag);
  if (!m.length) continue;
  const ticks = m.reduce((a, x) => a + x.lag.ticks, 0), exp = m.reduce((a, x) => a + x.lag.expected, 0);
  console.log(`| ${k} | ${f1(median(m.map((x) => x.lag.p99)))} | ${f1(Math.max(...m.map((x) => x.lag.max)))} | ${ticks} / ${exp} (${(100 * ticks / exp).toFixed(0)} %) |`);
}
