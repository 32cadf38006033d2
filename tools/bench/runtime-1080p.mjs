#!/usr/bin/env node
// A real 1080p H.264 file through the whole runtime (MediaSource → feed executor → one no-op
// stage → output queue → sink) vs bare gst-launch decoding the same file with the same caps,
// alternating in one run. Reports frames/s of each and the ratio (goal ≥ 0.95).
//
// Run: pnpm run build && node tools/bench/runtime-1080p.mjs [--frames 600] [--rounds 3]
// Prints Markdown for BENCHMARKS.md. Not a test: nothing here asserts a timing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Runtime } from '../../packages/runtime/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FRAMES = arg('frames', 600);
const ROUNDS = arg('rounds', 3);
const dir = join(tmpdir(), 'nv-bench');
mkdirSync(dir, { recursive: true });
const clip = join(dir, `h264-1080p-${FRAMES}.mp4`);
if (!existsSync(clip)) {
  console.error(`generating ${clip} …`);
  execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${FRAMES}`, 'pattern=smpte', '!',
    'video/x-raw,format=I420,width=1920,height=1080,framerate=30/1', '!', 'x264enc', 'speed-preset=ultrafast', 'key-int-max=60', '!',
    'mp4mux', '!', 'filesink', `location=${clip}`], { stdio: 'inherit' });
}

function gstLaunch() {
  const t0 = performance.now();
  execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${clip}`, '!', 'decodebin', '!', 'videoconvertscale', 'n-threads=2', '!',
    'video/x-raw,format=(string){I420,NV12,GRAY8,RGBA,RGB,BGR}', '!', 'fakesink', 'sync=false'], { stdio: 'ignore' });
  return (performance.now() - t0) / 1000;
}

async function runtime() {
  const t0 = performance.now();
  const rt = new Runtime();
  let outputs = 0;
  const feed = rt.addFeed({
    source: { kind: 'file', path: clip }, backpressure: { kind: 'block', queueDepth: 4 }, cameraMode: 'fixed',
    stages: [{ id: 'noop', process: () => undefined }], sink: { emit: () => { outputs++; } },
  });
  await feed.done;
  await rt.shutdown();
  const s = (performance.now() - t0) / 1000;
  if (outputs !== FRAMES) throw new Error(`runtime emitted ${outputs} of ${FRAMES} outputs`);
  return s;
}

await runtime(); // warm-up (addon load, page cache)
const g = [], r = [];
for (let i = 0; i < ROUNDS; i++) { g.push(gstLaunch()); r.push(await runtime()); }
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const gf = FRAMES / med(g), rf = FRAMES / med(r);
console.log(`Runtime on a real 1080p H.264 file (${FRAMES} frames), one no-op stage, block backpressure; median of ${ROUNDS} alternating rounds; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
console.log('');
console.log('| pipeline | frames/s |');
console.log('|---|---:|');
console.log(`| bare gst-launch-1.0 (decodebin → videoconvertscale → native caps → fakesink) | ${gf.toFixed(1)} |`);
console.log(`| nv runtime (MediaSource → executor → no-op stage → sink) | ${rf.toFixed(1)} |`);
console.log(`| ratio runtime ÷ gst-launch | ${(rf / gf).toFixed(3)} |`);
