#!/usr/bin/env node
// Per-frame runtime overhead: a synthetic source (pre-built frames), 3 trivial stages — one
// reporting 50 live tracks every frame, so the temporal commit is included — provenance on,
// a sink that does nothing. Compared in the same run with calling the same 3 stages directly
// in a loop (no view, no temporal, no provenance, no queues): the difference is nv's overhead.
//
// Run: pnpm run build && node tools/bench/runtime-overhead.mjs [--frames 5000]
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { BBox, trackId } from '../../packages/core/dist/index.js';
import { createObservation, createTrack } from '../../packages/perception/dist/index.js';
import { Runtime } from '../../packages/runtime/dist/index.js';
import { SyntheticSource, frameSequence } from '../../packages/test-util/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FRAMES = arg('frames', 5000);
const TRACKS = 50;

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

// Baseline: the same stages called directly.
const frames0 = frameSequence(FRAMES, { width: 16, height: 16 });
const base = stages();
let t0 = performance.now();
for (const f of frames0) { for (const s of base) s.process({ frame: f }); f.release(); }
const baseUs = ((performance.now() - t0) * 1000) / FRAMES;

// nv: the full feed path.
const lat = [];
const rt = new Runtime();
const feed = rt.addFeed({
  source: () => new SyntheticSource(frameSequence(FRAMES, { width: 16, height: 16 })), cameraMode: 'fixed', stages: stages(),
  sink: { emit: (o) => { lat.push(o.provenance.totalLatencyNs / 1000); } }, sinkQueueCapacity: 1024,
});
t0 = performance.now();
await feed.done;
const wallUs = ((performance.now() - t0) * 1000) / FRAMES;
await rt.shutdown();
lat.sort((a, b) => a - b);
const med = lat[Math.floor(lat.length / 2)], p95 = lat[Math.floor(lat.length * 0.95)];
console.log(`Runtime per-frame overhead, ${FRAMES} frames, 3 trivial stages (one reports ${TRACKS} tracks), provenance on; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
console.log('');
console.log('| measure | µs per frame |');
console.log('|---|---:|');
console.log(`| stages called directly (baseline, incl. building ${TRACKS} tracks) | ${baseUs.toFixed(1)} |`);
console.log(`| nv feed, per-frame latency (view → temporal → stages → commit), median | ${med.toFixed(1)} |`);
console.log(`| nv feed, per-frame latency, p95 | ${p95.toFixed(1)} |`);
console.log(`| nv feed, wall time per frame (incl. source, output queue, sink loop) | ${wallUs.toFixed(1)} |`);
console.log(`| overhead ≈ median latency − baseline | ${(med - baseUs).toFixed(1)} |`);
