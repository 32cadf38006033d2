#!/usr/bin/env node
// Per-frame runtime overhead: a synthetic source (frames made on demand), 3 trivial stages — one
// reporting 50 live tracks every frame, so the temporal commit is included — provenance on,
// a sink that does nothing. Compared in the same run with calling the same 3 stages directly
// in a loop (no view, no temporal, no provenance, no queues): the difference is nv's overhead.
//
// Run: pnpm run build && node tools/bench/runtime-overhead.mjs [--frames 10000] [--rounds 3] [--tracks 50]
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { BBox, trackId } from '../../packages/core/dist/index.js';
import { createObservation, createTrack } from '../../packages/perception/dist/index.js';
import { Runtime } from '../../packages/runtime/dist/index.js';
import { frameSequence } from '../../packages/test-util/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FRAMES = arg('frames', 10000);
const TRACKS = arg('tracks', 50);

const tracksFor = (ts) => Array.from({ length: TRACKS }, (_, i) => {
  const x = (i % 10) / 10, y = Math.floor(i / 10) / 10;
  const bbox = BBox.of(x, y, x + 0.05, y + 0.05);
  return createTrack({ id: trackId(i + 1), classId: 0, state: 'confirmed', current: createObservation({ ts, bbox, confidence: 0.9, state: 'confirmed' }) });
});
const stages = () => [
  { id: 'a', process: () => undefined },
  { id: 'tracks', process: (ctx) => ({ tracks: tracksFor(ctx.frame.ts) }) },
  { id: 'c', process: () => undefined },
];

/** A source that makes each frame when asked, like a real one (no 10,000 frames held in memory). */
const frameAt = (seq) => frameSequence(1, { width: 16, height: 16, startSeq: seq })[0];
class LazySource {
  specificationVersion = 'v1';
  #next = 0;
  async next() { return this.#next < FRAMES ? frameAt(this.#next++) : undefined; }
  stop() {}
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pct = (a, q) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * q)]; };

// Baseline: the same stages called directly, timed per frame like the runtime times a frame.
function baseline() {
  const st = stages();
  const us = new Array(FRAMES);
  for (let i = 0; i < FRAMES; i++) {
    const f = frameAt(i);
    const t0 = performance.now();
    for (const s of st) s.process({ frame: f });
    us[i] = (performance.now() - t0) * 1000;
    f.release();
  }
  return median(us);
}

// nv: the full feed path. Per frame: total latency (provenance) and nv's own share of it
// (total minus the time spent inside the three stages).
async function feedRun() {
  const lat = [], own = [];
  const rt = new Runtime();
  const feed = rt.addFeed({
    source: () => new LazySource(), cameraMode: 'fixed', stages: stages(),
    sink: {
      emit: (o) => {
        const p = o.provenance;
        let inStages = 0;
        for (const r of p.stages) inStages += r.latencyNs;
        lat.push(p.totalLatencyNs / 1000);
        own.push((p.totalLatencyNs - inStages) / 1000);
      },
    },
    sinkQueueCapacity: 1024,
  });
  const t0 = performance.now();
  await feed.done;
  const wallUs = ((performance.now() - t0) * 1000) / FRAMES;
  await rt.shutdown();
  return { med: median(lat), p95: pct(lat, 0.95), own: median(own), ownP95: pct(own, 0.95), wallUs };
}

const ROUNDS = arg('rounds', 3);
const rows = [];
for (let r = 0; r < ROUNDS; r++) {
  const base = baseline();
  const nv = await feedRun();
  rows.push({ base, ...nv });
}
const f = (x) => x.toFixed(1);
console.log(`Runtime per-frame overhead, ${FRAMES} frames × ${ROUNDS} rounds, 3 trivial stages (one reports ${TRACKS} tracks), provenance on; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
console.log('');
console.log('| round | stages called directly, median µs | nv latency median µs | nv latency p95 µs | nv − direct µs | nv own time (latency − time in stages), median µs | own p95 µs | wall µs/frame |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
rows.forEach((r, i) => console.log(`| ${i + 1} | ${f(r.base)} | ${f(r.med)} | ${f(r.p95)} | ${f(r.med - r.base)} | ${f(r.own)} | ${f(r.ownP95)} | ${f(r.wallUs)} |`));
const m = (k) => median(rows.map(k));
console.log(`| median of rounds | ${f(m((r) => r.base))} | ${f(m((r) => r.med))} | ${f(m((r) => r.p95))} | ${f(m((r) => r.med - r.base))} | ${f(m((r) => r.own))} | ${f(m((r) => r.ownP95))} | ${f(m((r) => r.wallUs))} |`);
