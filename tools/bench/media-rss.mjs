#!/usr/bin/env node
// RSS drift of @nv/media under steady decode, without any forced GC: a small H.264 clip looped
// (`{ kind: 'file', loop: true }`), every frame released at once, memory sampled every
// `--every` frames. What it checks: a released frame leaves nothing behind that only a full GC
// would free — RSS should stay flat (±5 % after warm-up) at full decode speed.
//
// Run: pnpm run build && node tools/bench/media-rss.mjs [--frames 30000] [--every 1000]
//        [--warmup 500] [--width 320] [--height 240] [--format I420|RGB8|…] [--drop 0]
// `--drop N`: also drop every Nth frame without releasing it (a deliberate leak in user code),
// to see the GC path and the `leakedFrames` counter at work.
// Do not pass --expose-gc: the point is to measure without it. Not a test: nothing here
// asserts a timing; it exits 1 only when the drift is outside ±5 % (or frames are missing).
//
// Two baselines are printed. `--warmup` frames (default 500) is the one asked for. The process
// also has a one-off climb that is not per-frame growth: V8's young generation grows to its
// final size (16 MB here) and its pages are touched for the first time as allocation cycles
// through them, and glibc's per-thread arenas of the streaming threads fill up. It ends once
// the young generation has kept its size across a few scavenges ("settled"); the drift after
// that is what frames leave behind. With `node --max-semi-space-size=1` most of the climb goes.
// The GC counts (perf_hooks) show whether anything needed a full mark-compact.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { MediaSource, mediaDiagnostics } from '../../packages/media/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1] : d; };
const FRAMES = Number(arg('frames', 30_000));
const EVERY = Number(arg('every', 1000));
const WARMUP = Number(arg('warmup', 500));
const W = Number(arg('width', 320));
const H = Number(arg('height', 240));
const FORMAT = arg('format', undefined);
const DROP = Number(arg('drop', 0));
if (typeof globalThis.gc === 'function') console.error('note: --expose-gc is set; this script never calls gc() anyway');

const dir = join(tmpdir(), 'nv-bench');
mkdirSync(dir, { recursive: true });
const clip = join(dir, `h264-${W}x${H}-300.mp4`);
if (!existsSync(clip)) {
  execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=300', 'pattern=ball', '!',
    `video/x-raw,format=I420,width=${W},height=${H},framerate=30/1`, '!', 'x264enc', 'speed-preset=ultrafast', 'key-int-max=30', '!',
    'mp4mux', '!', 'filesink', `location=${clip}`], { stdio: 'inherit' });
}

const MB = (b) => (b / 1048576).toFixed(1);
const sample = (n) => {
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  const d = mediaDiagnostics();
  return { n, t: performance.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
    extV8: h.external_memory, live: d.liveFrames, leaked: d.leakedFrames };
};

// GC counts: scavenges and full mark-compacts during the run (observed, never forced).
const gcs = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail?.kind ?? e.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++;
    else if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
  }
}).observe({ entryTypes: ['gc'] });
const newSpace = () => v8.getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')?.space_size ?? 0;
let gcsAtBase = { minor: 0, major: 0 };
let settled; // first sample once new space kept its size over 3 scavenges
let nsSize = -1, nsSince = 0;

const src = new MediaSource({ kind: 'file', path: clip, loop: true }, {
  output: FORMAT ? { format: FORMAT } : {}, backpressure: { kind: 'block', queueDepth: 4 },
});
const rows = [];
let base;
let n = 0;
let dropped = 0;
const t0 = performance.now();
const leaked0 = mediaDiagnostics().leakedFrames;
for await (const f of src.frames()) {
  n++;
  if (DROP > 0 && n % DROP === 0) dropped++; else f.release();
  if (n === WARMUP) { base = sample(n); gcsAtBase = { ...gcs }; }
  if (n % 100 === 0 && !settled) {
    const ns = newSpace();
    if (ns !== nsSize) { nsSize = ns; nsSince = gcs.minor; }
  }
  if (n % EVERY === 0) {
    const r = sample(n);
    rows.push(r);
    if (!settled && n >= WARMUP && gcs.minor - nsSince >= 3) settled = r;
  }
  if (n >= FRAMES) break;
}
await src.stop();
const secs = (performance.now() - t0) / 1000;
if (!base) base = rows[0];

console.log(`# media RSS drift: ${n} frames of ${W}×${H} ${FORMAT ?? 'native format'} (looped 300-frame H.264 clip), no gc(); ${(n / secs).toFixed(0)} fps`);
console.log(`baseline after ${base.n} frames: rss ${MB(base.rss)} MB, heapUsed ${MB(base.heapUsed)} MB, external ${MB(base.external)} MB`);
console.log(`GCs after the baseline (observed, none forced): ${gcs.minor - gcsAtBase.minor} scavenges, ${gcs.major - gcsAtBase.major} mark-compacts`);
console.log('');
console.log('| frames | RSS MB | Δ RSS | heapUsed MB | heapTotal MB | external MB | arrayBuffers MB | liveFrames | leakedFrames |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const d = ((r.rss / base.rss - 1) * 100).toFixed(1);
  console.log(`| ${r.n} | ${MB(r.rss)} | ${d} % | ${MB(r.heapUsed)} | ${MB(r.heapTotal)} | ${MB(r.external)} | ${MB(r.arrayBuffers)} | ${r.live} | ${r.leaked - leaked0} |`);
}
const last = rows[rows.length - 1];
const drift = (last.rss / base.rss - 1) * 100;
const peak = (Math.max(...rows.map((r) => r.rss)) / base.rss - 1) * 100;
console.log('');
console.log(`RSS drift ${base.n} → ${last.n} frames: ${drift.toFixed(1)} % (peak ${peak.toFixed(1)} %)`);
let settledDrift;
if (settled && settled !== last) {
  settledDrift = (last.rss / settled.rss - 1) * 100;
  const settledPeak = (Math.max(...rows.filter((r) => r.n >= settled.n).map((r) => r.rss)) / settled.rss - 1) * 100;
  console.log(`RSS drift ${settled.n} → ${last.n} frames (young generation settled at ${MB(nsSize)} MB): ${settledDrift.toFixed(1)} % (peak ${settledPeak.toFixed(1)} %)`);
} else {
  console.log('the young generation did not settle during the run: use more --frames');
}
if (DROP > 0) console.log(`dropped without release: ${dropped}; leakedFrames counted so far: ${mediaDiagnostics().leakedFrames - leaked0} (collected ones only)`);
process.exitCode = n < FRAMES || Math.abs(settledDrift ?? drift) > 5 ? 1 : 0;
