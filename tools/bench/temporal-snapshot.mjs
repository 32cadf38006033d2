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

// Naive baseline: the clone-the-whole-map strategy. A plain shadow copy of the same data
// (per track: 50 observations, up to 1000 trajectory points) is kept alongside, and deep-copied
// each sampled frame, so the baseline measures the copying strategy, not our accessors.
const shadow = new Map();
function shadowCommit(tracks, maxObs, maxPts) {
  for (const t of tracks) {
    let h = shadow.get(t.id);
    if (!h) { h = { track: t, observations: [], points: [] }; shadow.set(t.id, h); }
    h.track = t;
    h.observations.push(t.current);
    if (h.observations.length > maxObs) h.observations.shift();
    const b = t.current.bbox;
    h.points.push({ ts: t.current.ts, position: { x: (b.xMin + b.xMax) / 2, y: (b.yMin + b.yMax) / 2 }, bbox: b });
    if (h.points.length > maxPts) h.points.shift();
  }
}
function naiveSnapshot() {
  const copy = new Map();
  for (const [id, h] of shadow) {
    copy.set(id, {
      track: { ...h.track },
      observations: h.observations.map((o) => ({ ...o })),
      points: h.points.map((p) => ({ ts: p.ts, position: { ...p.position }, bbox: p.bbox })),
    });
  }
  return copy;
}

const store = new TemporalStore({ retention: { maxObservationsPerTrack: OBS } });
// Warm up until every observation ring is full and trajectories are long.
const WARM = OBS + 10;
for (let f = 0; f < WARM; f++) {
  const tracks = tracksAt(f);
  store.beginFrame(f * FRAME_NS);
  store.snapshot();
  store.commitFrame(tracks, f * FRAME_NS, store.viewEpoch, { authoritative: true });
  shadowCommit(tracks, OBS, 1000);
}

// Phase 1: the store alone (inputs built per frame outside the timed region, as a tracker would).
const tBegin = [], tSnap = [], tCommit = [], tTotal = [], tNaive = [];
let sink = 0;
for (let f = WARM; f < WARM + FRAMES; f++) {
  const tracks = tracksAt(f);
  const now = f * FRAME_NS;
  const a = performance.now();
  store.beginFrame(now);
  const b = performance.now();
  const snap = store.snapshot();
  sink += snap.trackCount;
  const c = performance.now();
  store.commitFrame(tracks, now, store.viewEpoch, { authoritative: true });
  const d = performance.now();
  tBegin.push((b - a) * 1000); tSnap.push((c - b) * 1000); tCommit.push((d - c) * 1000); tTotal.push((d - a) * 1000);
}
const firstId = tracksAt(0)[0].id;
if (store.history(firstId).observations.length !== OBS) throw new Error('observation ring not full: benchmark set-up is wrong');

// Phase 2: the naive baseline on the same amount of data.
for (let f = WARM; f < WARM + FRAMES; f++) shadowCommit(tracksAt(f), OBS, 1000);
for (let i = 0; i < 50; i++) {
  const n0 = performance.now();
  sink += naiveSnapshot().size;
  tNaive.push((performance.now() - n0) * 1000);
}

const rows = [
  ['beginFrame (retention)', stats(tBegin)],
  ['snapshot()', stats(tSnap)],
  [`commitFrame (${TRACKS} tracks)`, stats(tCommit)],
  ['total per frame', stats(tTotal)],
  ['naive deep-copy snapshot (baseline, 50 runs)', stats(tNaive)],
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
