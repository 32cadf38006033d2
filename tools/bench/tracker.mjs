#!/usr/bin/env node
// Tracker cost per frame: MultiObjectTracker.update (predict, IoU + momentum association with the
// Hungarian solver, Kalman updates, building the Track objects) for scenes of 10, 50 and 200
// objects moving with noisy, sometimes missing detections and a few weak false positives.
// Detections are generated before timing, so only the tracker is measured. Side by side: the
// default configuration and a plain SORT-like one (no momentum, no recovery, no re-update), so the
// cost of the OC-SORT additions is visible.
//
// Run: pnpm exec tsc -b packages/tracking && node tools/bench/tracker.mjs [--frames N] [--objects 10,50,200]
// Prints a Markdown table. Not a test: nothing here asserts a timing.
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { BBox, detectionId } from '../../packages/core/dist/index.js';
import { createDetection } from '../../packages/perception/dist/index.js';
import { MultiObjectTracker } from '../../packages/tracking/dist/index.js';
import { seededRandom } from '../../packages/test-util/dist/index.js';

const argv = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const FRAMES = Number(argv('frames', '1000'));
const WARMUP = Math.min(200, Math.floor(FRAMES / 5));
const COUNTS = String(argv('objects', '10,50,200')).split(',').map(Number);
const FRAME_NS = 1e9 / 30;

const rng = seededRandom; // deterministic (mulberry32)
const gauss = (r) => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
const clamp = (v) => Math.min(1, Math.max(0, v));

/** Per-frame detection lists for `n` bouncing objects (sizes shrink as n grows so they fit). */
function scene(n, frames, seed) {
  const r = rng(seed);
  const scale = Math.min(1, Math.sqrt(20 / n));
  let next = 1;
  const objs = Array.from({ length: n }, (_, i) => {
    const speed = 0.001 + 0.004 * r(), a = 2 * Math.PI * r();
    return { x: 0.05 + 0.9 * r(), y: 0.05 + 0.9 * r(), vx: speed * Math.cos(a), vy: speed * Math.sin(a), w: (0.04 + 0.04 * r()) * scale, h: (0.08 + 0.08 * r()) * scale, cls: i % 3 };
  });
  const out = [];
  for (let f = 0; f < frames; f++) {
    const dets = [];
    for (const o of objs) {
      o.x += o.vx; o.y += o.vy;
      if (o.x < o.w / 2 || o.x > 1 - o.w / 2) o.vx = -o.vx;
      if (o.y < o.h / 2 || o.y > 1 - o.h / 2) o.vy = -o.vy;
      if (r() < 0.05) continue;
      const cx = o.x + 0.002 * gauss(r), cy = o.y + 0.002 * gauss(r);
      dets.push(createDetection({
        id: detectionId(next++), classId: o.cls, confidence: 0.5 + 0.5 * r(),
        bbox: BBox.of(clamp(cx - o.w / 2), clamp(cy - o.h / 2), clamp(cx + o.w / 2), clamp(cy + o.h / 2)),
      }));
    }
    for (let k = 0; k < Math.max(1, n / 20); k++) {
      if (r() < 0.2) {
        const x = 0.9 * r(), y = 0.9 * r();
        dets.push(createDetection({ id: detectionId(next++), classId: 0, confidence: 0.3 + 0.2 * r(), bbox: BBox.of(x, y, x + 0.03, y + 0.05) }));
      }
    }
    out.push(dets);
  }
  return out;
}

function measure(frames, options) {
  const t = new MultiObjectTracker(options);
  const us = [];
  let tracks = 0;
  for (let f = 0; f < frames.length; f++) {
    const t0 = performance.now();
    const out = t.update(frames[f], Math.round(f * FRAME_NS));
    const dt = (performance.now() - t0) * 1000;
    if (f >= WARMUP) { us.push(dt); tracks += out.length; }
  }
  us.sort((a, b) => a - b);
  const mean = us.reduce((a, b) => a + b, 0) / us.length;
  return { mean, median: us[us.length >> 1], p95: us[Math.floor(us.length * 0.95)], tracks: tracks / us.length };
}

const SORT_LIKE = { momentumWeight: 0, lastObservationRecovery: false, observationCentricReupdate: false };
console.log(`Tracker per-frame cost, ${FRAMES} frames per scene (first ${WARMUP} not timed), 30 fps timestamps; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
console.log('');
console.log('| objects | detections/frame | tracks/frame | default: mean µs | median µs | p95 µs | SORT-like: mean µs | median µs | p95 µs |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const n of COUNTS) {
  const frames = scene(n, FRAMES, 7 + n);
  const dets = frames.slice(WARMUP).reduce((a, d) => a + d.length, 0) / (FRAMES - WARMUP);
  measure(frames, {}); // JIT warm-up pass
  const a = measure(frames, {});
  const b = measure(frames, SORT_LIKE);
  const f = (v) => v.toFixed(1);
  console.log(`| ${n} | ${dets.toFixed(1)} | ${a.tracks.toFixed(1)} | ${f(a.mean)} | ${f(a.median)} | ${f(a.p95)} | ${f(b.mean)} | ${f(b.median)} | ${f(b.p95)} |`);
}
