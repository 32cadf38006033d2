#!/usr/bin/env node
// End-to-end OCR throughput through the runtime on a 720p H.264 clip of moving plate-like text
// (made by makeTextClip): MediaSource (native format, block backpressure) → TextDetector (DB,
// PP-OCRv4) → TrackerStage → TextRecognizer (PP-OCRv4 rec, read once per track until
// confident). For comparison, the same clip with OCR on every detection of every frame (no
// tracker). Reports frames/s (first output → last output, so model loading is excluded), the
// mean per-stage latency from provenance, and how many crops the recognizer ran.
//
// Run: pnpm run build && node tools/bench/ocr.mjs [--frames 150] [--limit 960] [--threads 2] [--no-compare]
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MediaSource } from '../../packages/media/dist/index.js';
import { TextDetector, TextRecognizer, TEXT } from '../../packages/ocr/dist/index.js';
import { Runtime } from '../../packages/runtime/dist/index.js';
import { makeTextClip } from '../../packages/test-util/dist/index.js';
import { TrackerStage } from '../../packages/tracking/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FRAMES = arg('frames', 150);
const LIMIT = arg('limit', 960);
const THREADS = arg('threads', 2);
const COMPARE = !process.argv.includes('--no-compare');

const { path, groundTruth } = await makeTextClip({ frames: FRAMES });
const loadBefore = loadavg()[0];

async function run(label, withTracker) {
  const detector = new TextDetector({ limitSideLen: LIMIT, intraOpNumThreads: THREADS });
  const recognizer = new TextRecognizer({ intraOpNumThreads: THREADS });
  const stages = withTracker ? [detector, new TrackerStage(), recognizer] : [detector, recognizer];
  const perStage = new Map();
  let first = 0, last = 0, n = 0, texts = new Set();
  const rt = new Runtime();
  const t0 = performance.now();
  const feed = rt.addFeed({
    source: () => new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } }),
    cameraMode: 'fixed', stages, sinkQueueCapacity: 1024,
    sink: {
      emit(out) {
        const now = performance.now();
        if (n === 0) first = now;
        last = now;
        n++;
        for (const r of out.provenance.stages) perStage.set(r.stageId, (perStage.get(r.stageId) ?? 0) + r.latencyNs / 1e6);
        for (const o of withTracker ? out.artifacts.tracks : out.artifacts.detections) {
          const t = o.metadata.get(TEXT);
          if (t) texts.add(t.text);
        }
      },
    },
  });
  await feed.done;
  const total = performance.now() - t0;
  const m = feed.metrics();
  await rt.shutdown();
  if (m.framesProcessed !== FRAMES || m.outputsDropped !== 0) throw new Error(`${label}: processed ${m.framesProcessed}/${FRAMES}, dropped ${m.outputsDropped}`);
  return {
    label, fps: (n - 1) / ((last - first) / 1000), totalFps: n / (total / 1000), reads: recognizer.readCount,
    stages: [...perStage].map(([id, ms]) => `${id} ${(ms / n).toFixed(1)}`).join(', '),
    texts: [...texts].sort(),
  };
}

const rows = [await run('detect + track + OCR once per track', true)];
if (COMPARE) rows.push(await run('detect + OCR every detection, every frame (no tracker)', false));

console.log(`OCR end to end through the runtime: ${FRAMES} frames of ${groundTruth.width}x${groundTruth.height} H.264, ${groundTruth.plates.length} moving strings; ` +
  `detector input limit ${LIMIT}, onnxruntime intra-op threads ${THREADS}; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}; ` +
  `1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after (other processes on the machine skew the numbers)`);
console.log('');
console.log('| pipeline | frames/s (steady) | frames/s (incl. model load) | recognizer crops | mean stage latency, ms |');
console.log('|---|---:|---:|---:|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.fps.toFixed(2)} | ${r.totalFps.toFixed(2)} | ${r.reads} | ${r.stages} |`);
console.log('');
console.log(`strings read: ${rows.map((r) => `${r.label.split(' (')[0]}: ${JSON.stringify(r.texts)}`).join('; ')}`);
