#!/usr/bin/env node
// Temporal store per-frame cost: beginFrame (retention) + snapshot + commitFrame, with
// 200 live tracks × 50 retained observations each, as the executor does once per frame.
// Side by side in the same run: a naive "deep-copy every history" snapshot, the strategy the
// reference's design text describes, so the ratio shows what structural sharing buys.
//
// Run: pnpm run build && node tools/bench/temporal-snapshot.mjs [--frames N] [--tracks N] [--obs N]
// Prints a Markdown table for BENCHMARKS.md. Not a test: nothing here asserts a timing.
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { BBox, detectionId, trackId } from '../../packages/core/dist/index.js';
import { createObservation, createTrack } from '../../packages/perception/dist/index.js';
import { TemporalStore } from '../../packages/temporal/dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const FRAMES = arg('frames', 2000);
const TRACKS = arg('tracks', 200);
const OBS = arg('obs', 50);
const FRAME_NS = 40_000_000; // 25 fps

function tracksAt(frame) {
  const out = new Array(TRACKS);
  for (let i = 0; i < TRACKS; i++) {
    const x = ((i % 20) / 20 + frame * 0.0001) % 0.9;
    const y = (Math.floor(i / 20) / 10) % 0.9;
    const bbox = BBox.of(x, y, x + 0.05, y + 0.08);
    const ts = frame * FRAME_NS;
    const current = createObservation({ ts, bbox, confidence: 0.9, state: 'confirmed', detectionId: detectionId(frame * TRACKS + i) });
    out[i] = createTrack({ id: trackId(i + 1), classId: i % 3, state: 'confirmed', current });
  }
  return out;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

// Naive baseline: materialize a fresh deep copy of every track's observations and trajectory
// points each frame (what "clone the whole map" costs).
function naiveSnapshot(store) {
  const copy = new Map();
  for (const id of store.trackIds()) {
    const h = store.history(id);
    const t = store.trajectory(id);
    copy.set(id, {
      track: { ...h.track },
      observations: h.observations.map((o) => ({ ...o })),
      segments: t.segments.map((s) => ({ ...s, points: s.points.map((p) => ({ ...p })) })),
    });
  }
  return copy;
}

const store = new TemporalStore({ retention: { maxObservationsPerTrack: OBS } });
// Pre-generate inputs so track construction is not timed.
const WARM = OBS + 10;
const inputs = Array.from({ length: WARM + FRAMES }, (_, f) => tracksAt(f));
for (let f = 0; f < WARM; f++) {
  store.beginFrame(f * FRAME_NS);
  store.snapshot();
  store.commitFrame(inputs[f], f * FRAME_NS, store.viewEpoch, { authoritative: true });
}

const tBegin = [], tSnap = [], tCommit = [], tTotal = [], tNaive = [];
let sink = 0;
for (let f = WARM; f < WARM + FRAMES; f++) {
  const now = f * FRAME_NS;
  const a = performance.now();
  store.beginFrame(now);
  const b = performance.now();
  const snap = store.snapshot();
  sink += snap.trackCount + snap.recentObservations(inputs[f][0].id).length;
  const c = performance.now();
  store.commitFrame(inputs[f], now, store.viewEpoch, { authoritative: true });
  const d = performance.now();
  tBegin.push((b - a) * 1000); tSnap.push((c - b) * 1000); tCommit.push((d - c) * 1000); tTotal.push((d - a) * 1000);
  if (f % 10 === 0) {
    const n0 = performance.now();
    sink += naiveSnapshot(store).size;
    tNaive.push((performance.now() - n0) * 1000);
  }
}
if (store.history(inputs[0][0].id).observations.length !== OBS) throw new Error('observation ring not full: benchmark set-up is wrong');

const rows = [
  ['beginFrame (retention)', stats(tBegin)],
  ['snapshot()', stats(tSnap)],
  ['commitFrame (200 tracks)', stats(tCommit)],
  ['total per frame', stats(tTotal)],
  ['naive deep-copy snapshot (baseline)', stats(tNaive)],
];
const fmt = (v) => v.toFixed(1);
console.log(`Temporal store, ${TRACKS} tracks × ${OBS} observations, ${FRAMES} frames, Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}`);
console.log('');
console.log('| step | median µs | p95 µs | mean µs |');
console.log('|---|---:|---:|---:|');
for (const [name, s] of rows) console.log(`| ${name} | ${fmt(s.median)} | ${fmt(s.p95)} | ${fmt(s.mean)} |`);
console.log('');
console.log(`snapshot() vs naive deep copy, median: ${(stats(tNaive).median / stats(tSnap).median).toFixed(0)}× cheaper`);
if (sink === -1) console.log(sink);
