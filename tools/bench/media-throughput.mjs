#!/usr/bin/env node
// @nv/media throughput vs bare gst-launch (identical decode + caps, same run) and vs a
// well-written ffmpeg→Node pipe (preallocated frame buffer), plus RSS/live-frame bounds.
//
// Run: pnpm run build && node --expose-gc tools/bench/media-throughput.mjs [--frames 600] [--rss-frames 10000]
// Prints Markdown for BENCHMARKS.md. Not a test: nothing here asserts a timing.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MediaSource, mediaDiagnostics } from '../../packages/media/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FRAMES = arg('frames', 600);
const RSS_FRAMES = arg('rss-frames', 10_000);
const dir = join(tmpdir(), 'nv-bench');
mkdirSync(dir, { recursive: true });
const clip = join(dir, `h264-1080p-${FRAMES}.mp4`);
if (!existsSync(clip)) {
  console.error(`generating ${clip} …`);
  execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', `num-buffers=${FRAMES}`, 'pattern=smpte', '!',
    'video/x-raw,format=I420,width=1920,height=1080,framerate=30/1', '!', 'x264enc', 'speed-preset=ultrafast', 'key-int-max=60', '!',
    'mp4mux', '!', 'filesink', `location=${clip}`], { stdio: 'inherit' });
}

const CASES = [
  { name: 'native format (I420), 1920×1080', output: {}, caps: 'video/x-raw,format=(string){I420,NV12,GRAY8,RGBA,RGB,BGR}' },
  { name: 'RGB 1920×1080', output: { format: 'RGB8' }, caps: 'video/x-raw,format=RGB' },
  { name: 'RGB 640×360', output: { format: 'RGB8', width: 640, height: 360 }, caps: 'video/x-raw,format=RGB,width=640,height=360,pixel-aspect-ratio=1/1' },
];

function gstLaunch(caps) {
  const t0 = performance.now();
  execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${clip}`, '!', 'decodebin', '!', 'videoconvertscale', 'n-threads=2', '!', caps, '!', 'fakesink', 'sync=false'], { stdio: 'ignore' });
  return (performance.now() - t0) / 1000;
}

async function nv(output) {
  const t0 = performance.now();
  const src = new MediaSource({ kind: 'file', path: clip }, { output, backpressure: { kind: 'block', queueDepth: 4 } });
  let n = 0;
  for await (const f of src.frames()) { f.release(); n++; }
  await src.stop();
  const s = (performance.now() - t0) / 1000;
  if (n !== FRAMES) throw new Error(`nv delivered ${n} of ${FRAMES} frames`);
  return s;
}

function ffmpegPipe() {
  return new Promise((resolve, reject) => {
    const frameBytes = 1920 * 1080 * 3;
    const frame = Buffer.allocUnsafe(frameBytes);
    let filled = 0, frames = 0;
    const t0 = performance.now();
    const p = spawn('ffmpeg', ['-v', 'error', '-i', clip, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - off);
        chunk.copy(frame, filled, off, off + n);
        filled += n; off += n;
        if (filled === frameBytes) { frames++; filled = 0; }
      }
    });
    p.on('error', reject);
    p.on('close', () => (frames === FRAMES ? resolve((performance.now() - t0) / 1000) : reject(new Error(`ffmpeg gave ${frames} frames`))));
  });
}

const fps = (s) => FRAMES / s;
const rows = [];
for (const c of CASES) {
  // Alternate runs to spread machine noise; best of 3 each.
  const g = [], v = [];
  for (let i = 0; i < 3; i++) { g.push(gstLaunch(c.caps)); v.push(await nv(c.output)); }
  const gs = Math.min(...g), vs = Math.min(...v);
  rows.push([c.name, fps(gs), fps(vs), fps(vs) / fps(gs)]);
}
let ff;
if (spawnSyncOk('ffmpeg')) {
  const f = [];
  for (let i = 0; i < 3; i++) f.push(await ffmpegPipe());
  ff = fps(Math.min(...f));
}

function spawnSyncOk(cmd) { try { execFileSync(cmd, ['-version'], { stdio: 'ignore' }); return true; } catch { return false; } }

// RSS and live frames over a long run (test pattern at 1280×720 I420, dropOldest depth 4, consumer releases each frame).
const depth = 4;
const src = new MediaSource({ kind: 'testPattern', width: 1280, height: 720, frames: RSS_FRAMES }, { output: { format: 'I420' }, backpressure: { kind: 'block', queueDepth: depth } });
const rss = [];
let n = 0, maxLive = 0;
for await (const f of src.frames()) {
  const live = mediaDiagnostics().liveFrames;
  if (live > maxLive) maxLive = live;
  f.release();
  n++;
  if (n % 1000 === 0) { globalThis.gc?.(); rss.push(process.memoryUsage().rss); }
}
await src.stop();
const steady = rss.slice(1);
const mean = steady.reduce((a, b) => a + b, 0) / steady.length;
const dev = Math.max(...steady.map((r) => Math.abs(r - mean) / mean));

console.log(`@nv/media throughput, ${FRAMES} frames of 1080p H.264 (x264 ultrafast), decodebin (${'avdec_h264'}), n-threads=2, best of 3; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
console.log('');
console.log('| output | gst-launch frames/s | nv frames/s | nv / gst-launch |');
console.log('|---|---:|---:|---:|');
for (const [name, g, v, r] of rows) console.log(`| ${name} | ${g.toFixed(1)} | ${v.toFixed(1)} | ${(r * 100).toFixed(1)} % |`);
console.log('');
if (ff) {
  const nvRgb = rows[1][2];
  console.log(`ffmpeg → Node pipe (rgb24 1080p, preallocated frame buffer): ${ff.toFixed(1)} frames/s; nv RGB 1080p / ffmpeg pipe = ${(nvRgb / ff).toFixed(2)}×`);
}
console.log(`RSS over ${n} frames (1280×720 I420, block, depth ${depth}): samples every 1000 frames after the first: max deviation from mean ${(dev * 100).toFixed(1)} % (mean ${(mean / 2 ** 20).toFixed(0)} MiB); max live native frames ${maxLive} (bound: depth ${depth} + 1 in flight)`);
