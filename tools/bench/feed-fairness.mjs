#!/usr/bin/env node
// Fair scheduling on the JS thread: 4 feeds in one runtime. One "heavy" feed has a source whose
// frames are always ready and a 5 ms synchronous (busy-wait) stage; the 3 "light" feeds have live
// sources (a frame every 1 ms, on a timer, bounded queue) and a trivial stage. A 10 ms
// setInterval counts ticks. Reports, over the heavy feed's frames: frames processed per light
// feed vs the heavy feed, and the interval's ticks per second (ideal: 100/s).
//
// Run: pnpm exec turbo run build --filter @nv/runtime... && node tools/bench/feed-fairness.mjs [--frames 200] [--rounds 3]
import { performance } from 'node:perf_hooks';
import { Runtime } from '../../packages/runtime/dist/index.js';
import { SyntheticSource, frameSequence } from '../../packages/test-util/dist/index.js';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const FRAMES = arg('frames', 200);
const ROUNDS = arg('rounds', 3);
function* camera() { for (let i = 0; ; i++) yield frameSequence(1, { startSeq: i, fps: 1000, width: 8, height: 8 })[0]; }

async function round() {
  const rt = new Runtime();
  let ticks = 0;
  const iv = setInterval(() => { ticks++; }, 10);
  const busy = { id: 'busy', process: () => { const end = performance.now() + 5; while (performance.now() < end) { /* busy */ } } };
  const t0 = performance.now();
  const heavy = rt.addFeed({ source: () => new SyntheticSource(frameSequence(FRAMES, { width: 8, height: 8 })), cameraMode: 'fixed', stages: [busy] });
  const lights = [1, 2, 3].map(() => rt.addFeed({
    source: () => new SyntheticSource(camera(), { live: { intervalMs: 1, queueDepth: 2 } }), cameraMode: 'fixed', stages: [{ id: 'light', process: () => undefined }],
  }));
  // Bounded: with no fairness the light feeds and the interval never run while the heavy feed has frames.
  await heavy.done;
  const secs = (performance.now() - t0) / 1000;
  clearInterval(iv);
  const light = lights.map((l) => l.metrics().framesProcessed);
  await rt.shutdown({ timeoutMs: 2000 });
  return { heavy: heavy.metrics().framesProcessed, light, ticksPerSec: ticks / secs, secs };
}

console.log(`Feed fairness: 1 heavy feed (5 ms sync stage, frames always ready, ${FRAMES} frames) + 3 live feeds (1 ms timer source); Node ${process.version}`);
console.log('');
console.log('| round | heavy frames | light feed frames (each) | light / heavy | 10 ms interval ticks/s | wall s |');
console.log('|---|---:|---|---:|---:|---:|');
for (let r = 0; r < ROUNDS; r++) {
  const x = await round();
  const minRatio = Math.min(...x.light) / x.heavy;
  console.log(`| ${r + 1} | ${x.heavy} | ${x.light.join(', ')} | ${minRatio.toFixed(2)} | ${x.ticksPerSec.toFixed(1)} | ${x.secs.toFixed(2)} |`);
}
