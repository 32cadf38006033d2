#!/usr/bin/env node
// @nv/media throughput, side by side in one run (issue 15 items 5 and 6): nv (MediaSource) vs
// bare GStreamer (the same decode and caps), node-av (FFmpeg's N-API bindings, the Node peer)
// and an ffmpeg → Node pipe, on a moving 1080p30 H.264 clip and a High 4:4:4 10-bit one; then
// "detection preprocessing without the model" (nv vs Python OpenCV + numpy) and an RSS sample.
//
// Run: npx tsc -b packages/media packages/onnx packages/runtime && node tools/bench/media-throughput.mjs
//        [--frames 600] [--rounds 5] [--cases native,rgb,rgb360,bgr444] [--variants nv,gst,node-av,pipe,gst-launch]
//        [--threads 2] [--no-node-av] [--no-python] [--no-preprocess] [--rss-frames 30000] [--python /usr/bin/python3]
//
// What is timed — the same on every side: from the FIRST frame delivered to JS (or, for bare
// GStreamer, reaching the fakesink) to the LAST one; frames/s = (frames − 1) ÷ that time. Fixed
// costs (process start, plugin-registry / addon load, pipeline or decoder set-up, the decoder's
// first-frame latency) are outside it on every side. The whole job (set-up → end of stream,
// without process start) is printed too. For gst-launch-1.0 the bench also checks what the
// fixed cost is: a 1-frame run of the same pipeline (`identity eos-after=1`) subtracted from the
// full run gives a rate that should agree with the first→last rate of the in-process baseline.
//
// Sides (every frame decoded and delivered as pixels; nothing copied that the API does not need):
//   nv       MediaSource (file, block backpressure, depth 4) → for await … of frames(): reads one
//            byte of every plane (zero-copy views of the mapped GstBuffer), release().
//   gst      bare GStreamer in-process: tools/bench/media-gst.py (/usr/bin/python3 + gi):
//            filesrc ! decodebin ! videoconvertscale n-threads=T ! CAPS ! fakesink sync=false,
//            timestamps from a buffer probe on the fakesink's pad (first and last buffer).
//   node-av  node-av (pinned, installed into $TMPDIR/nv-bench/node-av at bench time, not a
//            dependency): Demuxer.openSync → Decoder.createSync (threadCount 0 = FFmpeg's auto, as
//            avdec_h264's default) → framesSync; for converted cases FilterAPI (threads T) with the
//            scale done in YUV before the conversion (`scale=640:360:flags=bilinear,format=rgb24`);
//            reads one byte of every plane of frame.data (external Buffers over the AVFrame), free().
//   pipe     ffmpeg → Node pipe: ffmpeg decodes/scales/converts (-filter_threads T), rawvideo on
//            stdout, frames assembled into one preallocated Buffer (the copy a pipe needs).
//   gst-launch (native case only) the gst-launch-1.0 process's wall time, full run and 1-frame run.
//
// Rounds: all (case, side) pairs run once per round, forward then reversed order on alternate
// rounds; medians of rounds; ratios are medians of per-round ratios. No forced GC anywhere
// (never run with --expose-gc). Prints Markdown for BENCHMARKS.md. Not a test: nothing asserts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MediaSource, mediaDiagnostics } from '../../packages/media/dist/index.js';

const argv = process.argv.slice(2);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const FRAMES = Number(arg('frames', 600));
const ROUNDS = Number(arg('rounds', 5));
const THREADS = Number(arg('threads', 2));
const RSS_FRAMES = Number(arg('rss-frames', 30_000));
const PYTHON = arg('python', '/usr/bin/python3');
const NODE_AV_VERSION = '6.1.1'; // the version these numbers were taken with
const W = 1920, H = 1080;
const command = `node tools/bench/media-throughput.mjs ${argv.join(' ')}`.trim();
const log = (...a) => console.error(...a);
const now = () => performance.now();
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const has = (cmd, args = ['-version']) => { try { execFileSync(cmd, args, { stdio: 'ignore' }); return true; } catch { return false; } };

if (argv.includes('--rss-only')) {
  const depth = 4;
  const src = new MediaSource({ kind: 'testPattern', width: 1280, height: 720, frames: RSS_FRAMES }, { output: { format: 'I420' }, backpressure: { kind: 'block', queueDepth: depth } });
  const samples = [];
  let n = 0, maxLive = 0;
  for await (const f of src.frames()) {
    const live = mediaDiagnostics().liveFrames;
    if (live > maxLive) maxLive = live;
    f.release();
    n++;
    if (n % 1000 === 0) samples.push(process.memoryUsage().rss);
  }
  await src.stop();
  const steady = samples.slice(2);
  const mean = steady.reduce((a, b) => a + b, 0) / steady.length;
  const dev = Math.max(...steady.map((x) => Math.abs(x - mean) / mean));
  console.log(JSON.stringify({ n, depth, mean, dev, maxLive, first: steady[0], last: steady[steady.length - 1] }));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Clips (generated once, cached): moving content (FFmpeg's testsrc2: scrolling/rotating patterns,
// a moving counter), x264 ultrafast, GOP 60, like the clip the other benches use.
const dir = join(tmpdir(), 'nv-bench');
mkdirSync(dir, { recursive: true });
const hasFfmpeg = has('ffmpeg');
const ffmpegVersion = hasFfmpeg ? spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/ Copyright.*/, '') : 'absent';
function makeClip(path, pixFmt, profile) {
  if (existsSync(path)) return true;
  log(`generating ${path} …`);
  const tmp = `${path}.part.mp4`;
  if (hasFfmpeg) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=30`, '-frames:v', String(FRAMES),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', pixFmt, ...(profile ? ['-profile:v', profile] : []), tmp], { stdio: 'inherit' });
  } else if (pixFmt === 'yuv420p') {
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${FRAMES}`, 'pattern=ball', 'motion=sweep', '!',
      `video/x-raw,format=I420,width=${W},height=${H},framerate=30/1`, '!', 'x264enc', 'speed-preset=ultrafast', 'key-int-max=60', '!',
      'mp4mux', '!', 'filesink', `location=${tmp}`], { stdio: 'inherit' });
  } else return false;
  renameSync(tmp, path);
  return true;
}
const clip420 = join(dir, `motion-1080p30-${FRAMES}.mp4`);
const clip444 = join(dir, `motion-1080p30-444p10-${FRAMES}.mp4`);
makeClip(clip420, 'yuv420p');
const has444 = makeClip(clip444, 'yuv444p10le', 'high444');

// ---------------------------------------------------------------------------------------------
// Cases
const NATIVE_CAPS = 'video/x-raw,format=(string){I420,NV12,GRAY8,RGBA,RGB,BGR}'; // nv's caps for output: native (its list grew with the libyuv change; for this 8-bit 4:2:0 clip the decoder's I420 passes through either way)
const ALL_CASES = [
  { key: 'native', name: 'native format (I420), 1920×1080', clip: clip420, nv: {}, caps: NATIVE_CAPS, vf: undefined, pixFmt: 'yuv420p', bytes: (W * H * 3) / 2 },
  { key: 'rgb', name: 'RGB8 1920×1080', clip: clip420, nv: { format: 'RGB8' }, caps: 'video/x-raw,format=RGB', vf: 'format=rgb24', pixFmt: 'rgb24', bytes: W * H * 3 },
  { key: 'rgb360', name: 'RGB8 640×360 (scaled before conversion)', clip: clip420, nv: { format: 'RGB8', width: 640, height: 360 },
    caps: 'video/x-raw,format=RGB,width=640,height=360,pixel-aspect-ratio=1/1', vf: 'scale=640:360:flags=bilinear,format=rgb24', pixFmt: 'rgb24', bytes: 640 * 360 * 3 },
  { key: 'bgr444', name: 'BGR8 1920×1080 from High 4:4:4 10-bit', clip: clip444, nv: { format: 'BGR8' }, caps: 'video/x-raw,format=BGR', vf: 'format=bgr24', pixFmt: 'bgr24', bytes: W * H * 3 },
];
const caseArg = arg('cases', undefined);
const CASES = ALL_CASES.filter((c) => (caseArg ? caseArg.split(',').includes(c.key) : true) && (c.key !== 'bgr444' || has444));
const variantArg = arg('variants', undefined);
const want = (v) => (variantArg ? variantArg.split(',').includes(v) : true);

// ---------------------------------------------------------------------------------------------
// node-av: installed at bench time into a cache dir (not a dependency of the repo)
async function setupNodeAv() {
  if (argv.includes('--no-node-av') || !want('node-av')) return { skip: '--no-node-av' };
  const prefix = join(dir, 'node-av');
  const pkgDir = join(prefix, 'node_modules', 'node-av');
  const binPkg = `@seydx/node-av-${process.platform}-${process.arch}`;
  const binDir = join(prefix, 'node_modules', ...binPkg.split('/'));
  const installed = () => {
    try { return JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version === NODE_AV_VERSION && existsSync(join(binDir, 'package.json')); } catch { return false; }
  };
  if (!installed()) {
    log(`installing node-av@${NODE_AV_VERSION} into ${prefix} (npm i --ignore-scripts; its binary comes in ${binPkg}) …`);
    mkdirSync(prefix, { recursive: true });
    const r = spawnSync('npm', ['i', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', `node-av@${NODE_AV_VERSION}`], { encoding: 'utf8', timeout: 600_000 });
    if (r.error || r.status !== 0) return { skip: `npm i node-av@${NODE_AV_VERSION} failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()}` };
    if (!installed()) return { skip: `node-av@${NODE_AV_VERSION} installed without its binary package ${binPkg} (unsupported platform?)` };
  }
  // node-av uses Promise.withResolvers (Node ≥ 22); polyfill it on Node 20 before importing.
  if (typeof Promise.withResolvers !== 'function') {
    Promise.withResolvers = function withResolvers() { let resolve, reject; const promise = new this((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };
  }
  try {
    const api = await import(pathToFileURL(join(pkgDir, 'dist', 'api', 'index.js')).href);
    let ffv = '?';
    try { ffv = (await import(pathToFileURL(join(pkgDir, 'dist', 'ffmpeg', 'version.js')).href)).FFMPEG_VERSION; } catch { /* optional */ }
    return { api, version: `node-av ${NODE_AV_VERSION} (FFmpeg ${ffv}, ${binPkg})` };
  } catch (e) {
    return { skip: `import node-av failed: ${e.message}` };
  }
}
const nodeAv = await setupNodeAv();
if (nodeAv.skip) log(`node-av skipped: ${nodeAv.skip}`);
const hasGi = want('gst') && spawnSync('/usr/bin/python3', ['-c', "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst"], { encoding: 'utf8' }).status === 0;
if (!hasGi && want('gst')) log('bare GStreamer (in-process) skipped: /usr/bin/python3 with gi and python3-gst-1.0 not available');

// ---------------------------------------------------------------------------------------------
// Sides. Each returns { frames, firstToLast (s), whole (s) }.
let nvDecoder = '?';
async function nvRun(c) {
  const t0 = now();
  const src = new MediaSource({ kind: 'file', path: c.clip }, { output: c.nv, backpressure: { kind: 'block', queueDepth: 4 } });
  src.on('streamStarted', (e) => { nvDecoder = e.decoder ?? '?'; });
  let n = 0, tFirst = 0, tLast = 0, sink = 0;
  for await (const f of src.frames()) {
    if (n === 0) tFirst = now();
    for (let i = 0; i < f.planes.length; i++) sink += f.plane(i)[0];
    f.release();
    n++;
    tLast = now();
  }
  await src.stop();
  return { frames: n, firstToLast: (tLast - tFirst) / 1000, whole: (now() - t0) / 1000, sink };
}

function gstRun(c) {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/python3', [join(import.meta.dirname, 'media-gst.py'), '--clip', c.clip, '--caps', c.caps, '--threads', String(THREADS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`media-gst.py exited with ${code}`)); return; }
      const r = JSON.parse(text.trim().split('\n').pop());
      resolve({ frames: r.frames, firstToLast: r.first_to_last_s, whole: r.build_to_eos_s, gst: r.gst });
    });
  });
}

function gstLaunchRun(c, oneFrame = false) {
  const t0 = now();
  execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${c.clip}`, '!', 'decodebin', '!', ...(oneFrame ? ['identity', 'eos-after=1', '!'] : []),
    'videoconvertscale', `n-threads=${THREADS}`, '!', c.caps, '!', 'fakesink', 'sync=false'], { stdio: 'ignore' });
  return { frames: oneFrame ? 1 : FRAMES, whole: (now() - t0) / 1000 };
}

function nodeAvRun(c) {
  const { Demuxer, Decoder, FilterAPI } = nodeAv.api;
  const t0 = now();
  const input = Demuxer.openSync(c.clip);
  const dec = Decoder.createSync(input.video(), { threadCount: 0 });
  const filter = c.vf ? FilterAPI.create(c.vf, { threads: THREADS }) : undefined;
  let n = 0, tFirst = 0, tLast = 0, sink = 0;
  const use = (f) => {
    if (n === 0) tFirst = now();
    const planes = f.data;
    for (let i = 0; i < planes.length; i++) sink += planes[i][0];
    n++;
  };
  const drain = () => { for (let o = filter.receiveSync(); o && typeof o === 'object'; o = filter.receiveSync()) { use(o); o.free(); tLast = now(); } };
  for (const f of dec.framesSync(input.packetsSync())) {
    if (f === null) break;
    if (filter) { filter.processSync(f); f.free(); drain(); } else { use(f); f.free(); tLast = now(); }
  }
  if (filter) { filter.processSync(null); drain(); filter.close(); }
  dec.close();
  input.closeSync();
  return { frames: n, firstToLast: (tLast - tFirst) / 1000, whole: (now() - t0) / 1000, sink };
}

function pipeRun(c) {
  return new Promise((resolve, reject) => {
    const frameBytes = c.bytes;
    const frame = Buffer.allocUnsafe(frameBytes);
    let filled = 0, n = 0, tFirst = 0, tLast = 0, sink = 0;
    const t0 = now();
    const p = spawn('ffmpeg', ['-v', 'error', '-nostdin', '-filter_threads', String(THREADS), '-i', c.clip, ...(c.vf ? ['-vf', c.vf] : []), '-f', 'rawvideo', '-pix_fmt', c.pixFmt, '-'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        const k = Math.min(frameBytes - filled, chunk.length - off);
        chunk.copy(frame, filled, off, off + k);
        filled += k; off += k;
        if (filled === frameBytes) {
          const t = now();
          if (n === 0) tFirst = t;
          sink += frame[0];
          n++; filled = 0; tLast = t;
        }
      }
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve({ frames: n, firstToLast: (tLast - tFirst) / 1000, whole: (now() - t0) / 1000, sink }) : reject(new Error(`ffmpeg exited with ${code}`))));
  });
}

// ---------------------------------------------------------------------------------------------
// Detection preprocessing without the model: nv (Runtime feed: OnnxDetector's LetterboxPreprocessor
// on the frame, native path for media frames, + the real head decoder and NMS of @nv/onnx on a
// fixed synthetic [84, 8400] output) vs Python (OpenCV + numpy, tools/bench/preprocess-job.py).
const S = 640, ANCHORS = 8400, CLASSES = 80, SCORE = 0.25, IOU = 0.45;
let pre;
if (!argv.includes('--no-preprocess')) {
  const onnx = await import('../../packages/onnx/dist/index.js');
  const heads = await import('../../packages/onnx/dist/heads.js'); // Candidates / decodeHead: @internal, what OnnxDetectorCore uses
  const { Runtime } = await import('../../packages/runtime/dist/index.js');
  // A fixed YOLOv8-shaped output: background anchors with low scores everywhere, and 6 objects in
  // the letterboxed content area, each seen by 12 overlapping anchors of its class (a handful of
  // detections after NMS, ~70 candidates before, as a real detector produces).
  const out = new Float32Array((4 + CLASSES) * ANCHORS);
  let seed = 0x2545f491;
  const rnd = () => { seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  for (let a = 0; a < ANCHORS; a++) {
    out[a] = rnd() * S; out[ANCHORS + a] = rnd() * S; out[2 * ANCHORS + a] = 8 + rnd() * 120; out[3 * ANCHORS + a] = 8 + rnd() * 120;
    for (let c = 0; c < CLASSES; c++) out[(4 + c) * ANCHORS + a] = rnd() * 0.05;
  }
  for (let o = 0; o < 6; o++) {
    const cls = Math.floor(rnd() * CLASSES), cx = 60 + rnd() * 520, cy = 170 + rnd() * 300, w = 30 + rnd() * 90, h = 30 + rnd() * 90;
    for (let k = 0; k < 12; k++) {
      const a = Math.floor(rnd() * ANCHORS);
      out[a] = cx + (rnd() - 0.5) * 6; out[ANCHORS + a] = cy + (rnd() - 0.5) * 6; out[2 * ANCHORS + a] = w * (0.95 + rnd() * 0.1); out[3 * ANCHORS + a] = h * (0.95 + rnd() * 0.1);
      out[(4 + cls) * ANCHORS + a] = 0.3 + rnd() * 0.6;
    }
  }
  const outFile = join(dir, `synthetic-yolov8-output-${4 + CLASSES}x${ANCHORS}.f32`);
  writeFileSync(outFile, Buffer.from(out.buffer));
  const head = onnx.resolveHead([1, 4 + CLASSES, ANCHORS], { head: 'auto', layout: 'auto', numClasses: CLASSES });
  if (head.status !== 'ok') throw new Error(`resolveHead: ${JSON.stringify(head)}`);
  const d = onnx.ONNX_DETECTOR_DEFAULTS;
  const nvPre = async () => {
    const lb = new onnx.LetterboxPreprocessor(S, S);
    const tensor = new Float32Array(lb.tensorSize);
    const cand = new heads.Candidates();
    let frames = 0, dets = 0;
    const rt = new Runtime();
    const t0 = now();
    const feed = rt.addFeed({
      source: { kind: 'file', path: clip420 }, backpressure: { kind: 'block' }, cameraMode: 'fixed',
      stages: [{
        id: 'preprocess',
        process: async (ctx) => {
          const g = await lb.runAsync(ctx.frame, tensor, 0); // as OnnxDetectorCore letterboxes a media frame
          // (the model would run on `tensor` here)
          heads.decodeHead(out, 0, head.head, ANCHORS, d.scoreThreshold, cand);
          const x0 = g.padLeft, x1 = g.padLeft + g.contentWidth, y0 = g.padTop, y1 = g.padTop + g.contentHeight;
          cand.retain((a, b, c2, e) => Math.min(c2, x1) > Math.max(a, x0) && Math.min(e, y1) > Math.max(b, y0));
          const keep = onnx.nonMaxSuppression(cand.boxes, cand.scores, cand.classes, cand.count, { iouThreshold: d.iouThreshold, maxDetections: d.maxDetections, maxCandidates: d.maxCandidates });
          const bx = cand.boxes, cw = g.contentWidth, ch = g.contentHeight;
          for (const k of keep) { // to frame coordinates, as the detector maps them
            const nx1 = Math.max(0, (bx[4 * k] - x0) / cw), nx2 = Math.min(1, (bx[4 * k + 2] - x0) / cw);
            const ny1 = Math.max(0, (bx[4 * k + 1] - y0) / ch), ny2 = Math.min(1, (bx[4 * k + 3] - y0) / ch);
            if (nx2 > nx1 && ny2 > ny1) dets++;
          }
          frames++;
          return undefined;
        },
      }],
    });
    await feed.done;
    const s = (now() - t0) / 1000;
    await rt.shutdown();
    return { frames, dets, s };
  };
  // Python: the venv of detection-job.mjs ($TMPDIR/nv-bench/venv), created here when missing.
  const setupPython = () => {
    if (argv.includes('--no-python')) return { skip: '--no-python' };
    const venv = join(dir, 'venv'), py = join(venv, 'bin', 'python');
    const probe = () => spawnSync(py, ['-c', 'import cv2, numpy'], { encoding: 'utf8' });
    if (existsSync(py) && probe().status === 0) return { py };
    log(`creating the Python venv ${venv} (${PYTHON} -m venv; pip install opencv-python-headless numpy) …`);
    const mk = spawnSync(PYTHON, ['-m', 'venv', ...(existsSync(py) ? [] : ['--clear']), venv], { encoding: 'utf8' });
    if (mk.error || mk.status !== 0) return { skip: `\`${PYTHON} -m venv\` failed: ${(mk.error?.message ?? mk.stderr).trim().split('\n').pop()}` };
    const r = spawnSync(join(venv, 'bin', 'pip'), ['install', '-q', 'opencv-python-headless', 'numpy'], { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0 || probe().status !== 0) return { skip: `pip install failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()}` };
    return { py };
  };
  const python = setupPython();
  if (python.skip) log(`Python preprocessing skipped: ${python.skip}`);
  const pyPre = () => new Promise((resolve, reject) => {
    const p = spawn(python.py, [join(import.meta.dirname, 'preprocess-job.py'), '--clip', clip420, '--output', outFile, '--size', String(S), '--classes', String(CLASSES), '--score', String(SCORE), '--iou', String(IOU)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (x) => { text += x; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`preprocess-job.py exited with ${code}`)); return; }
      const r = JSON.parse(text.trim().split('\n').pop());
      pre.pyVersions = r.versions;
      resolve({ frames: r.frames, dets: r.detections, s: r.seconds });
    });
  });
  pre = { nvPre, pyPre: python.py ? pyPre : undefined, skip: python.skip, res: { nv: [], py: [] } };
}

// ---------------------------------------------------------------------------------------------
// Rounds
const sides = [
  ['nv', 'nv (MediaSource)', nvRun, () => true],
  ['gst', 'bare GStreamer (in-process, gi)', gstRun, () => hasGi],
  ['node-av', 'node-av', nodeAvRun, () => !!nodeAv.api],
  ['pipe', 'ffmpeg → Node pipe', pipeRun, () => hasFfmpeg],
  ['gst-launch', 'gst-launch-1.0 process, full run', (c) => gstLaunchRun(c), (c) => c.key === 'native'],
  ['gst-launch-1', 'gst-launch-1.0 process, 1-frame run (identity eos-after=1)', (c) => gstLaunchRun(c, true), (c) => c.key === 'native'],
].filter(([k]) => want(k === 'gst-launch-1' ? 'gst-launch' : k));
const jobs = [];
for (const c of CASES) for (const [k, label, fn, ok] of sides) if (ok(c)) jobs.push({ c, k, label, fn, key: `${c.key}/${k}` });
const res = Object.fromEntries(jobs.map((j) => [j.key, []]));

// Warm-up (untimed): the addons' first load and the JIT, one short run of each in-process side.
if (CASES.length) {
  const c = CASES.find((x) => x.key === 'rgb360') ?? CASES[0];
  await nvRun(c);
  if (nodeAv.api) nodeAvRun(c);
}
log(`${jobs.length} runs × ${ROUNDS} rounds (${FRAMES} frames each)${pre ? ', then the preprocessing pair' : ''} …`);
const tBench = now();
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...jobs].reverse() : jobs;
  for (const j of order) {
    try {
      const m = await j.fn(j.c);
      if (m.frames !== (j.k === 'gst-launch-1' ? 1 : FRAMES)) log(`warning: ${j.key} delivered ${m.frames} of ${FRAMES} frames`);
      res[j.key].push({ ...m, fps: m.firstToLast ? (m.frames - 1) / m.firstToLast : undefined, wholeFps: m.frames / m.whole });
      log(`round ${r + 1} ${j.key}: ${m.firstToLast ? `${((m.frames - 1) / m.firstToLast).toFixed(1)} frames/s first→last, ` : ''}${(m.frames / m.whole).toFixed(1)} whole`);
    } catch (e) {
      log(`round ${r + 1} ${j.key}: failed: ${e.stack ?? e}`);
      res[j.key].push({ error: String(e.message ?? e) });
    }
  }
  if (pre) {
    for (const k of r % 2 ? ['py', 'nv'] : ['nv', 'py']) {
      const fn = k === 'nv' ? pre.nvPre : pre.pyPre;
      if (!fn) continue;
      try {
        const m = await fn();
        pre.res[k].push({ ...m, fps: m.frames / m.s });
        log(`round ${r + 1} preprocess/${k}: ${(m.frames / m.s).toFixed(1)} frames/s, ${(m.dets / m.frames).toFixed(1)} detections/frame`);
      } catch (e) {
        log(`round ${r + 1} preprocess/${k}: failed: ${e.stack ?? e}`);
        pre.res[k].push({ error: String(e.message ?? e) });
      }
    }
  }
}
const benchS = (now() - tBench) / 1000;

// RSS and live frames over a long run, no forced GC, in a fresh child process (so the heap the
// rounds above left behind does not move the numbers): test pattern 1280×720 I420, block, depth 4,
// the consumer releases each frame; RSS sampled every 1000 frames; the first 2 samples are warm-up.
let rss;
if (RSS_FRAMES > 0) {
  const r = spawnSync(process.execPath, [import.meta.filename, '--rss-only', '--rss-frames', String(RSS_FRAMES)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  try { rss = JSON.parse(r.stdout.trim().split('\n').pop()); } catch { log(`RSS child failed (status ${r.status})`); }
}

// ---------------------------------------------------------------------------------------------
// Report
const ok = (key) => (res[key] ?? []).filter((m) => m.error === undefined);
const med = (key, f = (m) => m.fps) => { const v = ok(key).map(f).filter((x) => Number.isFinite(x)); return v.length ? median(v) : NaN; };
const perRound = (key, f = (m) => m.fps) => (res[key] ?? []).map((m) => (Number.isFinite(f(m)) ? f(m).toFixed(0) : '×')).join(' / ');
/** Median over rounds of the per-round ratio a ÷ b (each round's pair ran in the same round). */
const ratio = (a, b, fa = (m) => m.fps, fb = fa) => {
  const v = [];
  for (let r = 0; r < ROUNDS; r++) { const x = res[a]?.[r], y = res[b]?.[r]; if (x && y && Number.isFinite(fa(x)) && Number.isFinite(fb(y))) v.push(fa(x) / fb(y)); }
  return v.length ? median(v) : NaN;
};
const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '—');
const gstVersion = ok(jobs.find((j) => j.k === 'gst')?.key ?? '')[0]?.gst ?? spawnSync('gst-launch-1.0', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[1] ?? '?';

console.log(`# Media throughput — \`${command}\``);
console.log('');
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpus().length} (availableParallelism ${availableParallelism()}), load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}; ${gstVersion}; ${ffmpegVersion}; ` +
  `${nodeAv.api ? nodeAv.version : `node-av skipped (${nodeAv.skip})`}. nv's decoder: ${nvDecoder}.`);
console.log(`Clips: ${FRAMES} frames of ${W}×${H} 30 fps H.264 with motion (FFmpeg testsrc2, x264 ultrafast, GOP 60): yuv420p (High) and yuv444p10le (High 4:4:4). ` +
  `Median of ${ROUNDS} rounds, every (case, side) pair once per round, forward then reversed order; ratios = median of per-round ratios. ` +
  `Conversion threads ${THREADS} everywhere (videoconvertscale n-threads, FFmpeg filter threads); decoders on their automatic thread count. Rounds took ${benchS.toFixed(0)} s.`);
console.log('');
console.log('**frames/s from the first frame to the last** ((frames − 1) ÷ time; process start, registry/addon load and pipeline set-up excluded on every side), and the whole job in parentheses (set-up → end of stream, process start excluded):');
console.log('');
const shown = sides.filter(([k]) => k !== 'gst-launch' && k !== 'gst-launch-1');
console.log(`| output | ${shown.map(([, label]) => label).join(' | ')} |`);
console.log(`|---|${shown.map(() => '---:').join('|')}|`);
for (const c of CASES) {
  const cells = shown.map(([k, , , okc]) => {
    const key = `${c.key}/${k}`;
    if (!okc(c) || !res[key]) return 'skipped';
    return `${f1(med(key))} (${f1(med(key, (m) => m.wholeFps))})`;
  });
  console.log(`| ${c.name} | ${cells.join(' | ')} |`);
}
console.log('');
console.log('Per round (first→last frames/s):');
console.log('');
for (const j of jobs.filter((x) => !x.k.startsWith('gst-launch'))) console.log(`- ${j.key}: ${perRound(j.key)}`);
console.log('');
console.log('| ratio (median of per-round ratios, first→last) | value | goal |');
console.log('|---|---:|---|');
const goal = { 'rgb/node-av': '≥ 1.3', 'rgb360/node-av': '≥ 1.2', 'native/node-av': '≥ 1.0', 'native/gst': '≥ 0.95' };
for (const c of CASES) {
  for (const [k, label] of shown) {
    if (k === 'nv' || !res[`${c.key}/${k}`]) continue;
    console.log(`| ${c.name}: nv ÷ ${label} | ${f2(ratio(`${c.key}/nv`, `${c.key}/${k}`))} | ${goal[`${c.key}/${k}`] ?? ''} |`);
  }
}
if (res['native/gst-launch'] && res['native/gst-launch-1']) {
  // The fixed-cost check: full − 1-frame gst-launch runs, per round.
  const sub = [], fixed = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = res['native/gst-launch'][r], b = res['native/gst-launch-1'][r];
    if (a?.whole && b?.whole) { sub.push((FRAMES - 1) / (a.whole - b.whole)); fixed.push(b.whole); }
  }
  console.log('');
  console.log(`Fixed-cost check (native case): gst-launch-1.0 whole process ${f1(med('native/gst-launch', (m) => m.wholeFps))} frames/s; its 1-frame run (process start, registry, pipeline set-up, first frame) took ${f1(median(fixed) * 1000)} ms ` +
    `(${f1((100 * median(fixed)) / median(ok('native/gst-launch').map((m) => m.whole)))} % of the full run); full − 1-frame = ${f1(median(sub))} frames/s, ` +
    `vs the in-process first→last ${f1(med('native/gst'))} frames/s (agreement shows that what the first→last measure leaves out is the fixed cost). nv ÷ gst-launch whole process = ${f2(ratio('native/nv', 'native/gst-launch', (m) => m.fps, (m) => m.wholeFps))} (the old, flattering measure).`);
}
if (pre) {
  const p = pre.res;
  const okp = (k) => p[k].filter((m) => !m.error);
  const fp = (k) => (okp(k).length ? median(okp(k).map((m) => m.fps)) : NaN);
  const rp = []; for (let r = 0; r < ROUNDS; r++) if (p.nv[r]?.fps && p.py[r]?.fps) rp.push(p.nv[r].fps / p.py[r].fps);
  const dpf = (k) => (okp(k).length ? (okp(k)[0].dets / okp(k)[0].frames).toFixed(1) : '—');
  console.log('');
  console.log(`**Detection preprocessing without the model** (the moving 1080p clip, ${FRAMES} frames; decode → letterbox to a 640×640 float32 CHW tensor → decode a fixed synthetic [1, 84, 8400] YOLOv8 output (${CLASSES} classes, ~70 candidates ≥ ${SCORE}) → class-aware NMS (IoU ${IOU}) → boxes in frame coordinates; ` +
    'whole job, decoder start-up included on both sides; Python interpreter start and imports excluded):');
  console.log('');
  console.log('| side | frames/s | per round | detections/frame |');
  console.log('|---|---:|---|---:|');
  console.log(`| nv: Runtime feed, \`LetterboxPreprocessor.runAsync\` (native for media frames) + \`decodeHead\` + \`nonMaxSuppression\` (@nv/onnx) | ${f1(fp('nv'))} | ${p.nv.map((m) => (m.fps ? m.fps.toFixed(0) : '×')).join(' / ')} | ${dpf('nv')} |`);
  if (pre.pyPre) console.log(`| Python: cv2.VideoCapture + cv2.resize + cv2.dnn.blobFromImage + numpy decode + cv2.dnn.NMSBoxesBatched (${pre.pyVersions ?? '?'}) | ${f1(fp('py'))} | ${p.py.map((m) => (m.fps ? m.fps.toFixed(0) : '×')).join(' / ')} | ${dpf('py')} |`);
  else console.log(`| Python | skipped: ${pre.skip} | | |`);
  console.log('');
  console.log(`nv ÷ Python (median of per-round ratios): **${f2(rp.length ? median(rp) : NaN)}** (goal ≥ 2)`);
}
if (rss) {
  console.log('');
  console.log(`RSS over ${rss.n} frames without forced GC, fresh process (1280×720 I420 test pattern, block, depth ${rss.depth}), sampled every 1000 frames after 2000 of warm-up: ` +
    `max deviation from the mean ${(rss.dev * 100).toFixed(1)} % (goal ±5 %; mean ${(rss.mean / 2 ** 20).toFixed(0)} MiB, first ${(rss.first / 2 ** 20).toFixed(0)} → last ${(rss.last / 2 ** 20).toFixed(0)} MiB); ` +
    `max live native frames ${rss.maxLive} (bound: depth ${rss.depth} + 1 in flight).${existsSync(join(import.meta.dirname, 'media-rss.mjs')) ? ' The full 30,000-frame measurement: `node tools/bench/media-rss.mjs`.' : ''}`);
}
