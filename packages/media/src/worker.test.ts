import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadBinding } from './binding.js';

// The addon keeps its per-environment state (class constructors) in napi instance data, so it
// must load and decode inside worker threads too — concurrently with the main thread.
const addonPath = join(dirname(createRequire(import.meta.url).resolve('@nv/native/package.json')), 'build', 'Release', 'nv_native.node');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const b = require(workerData.addonPath);
let frames = 0, bytes = 0;
const src = new b.NativeSource({
  elements: [
    { factory: 'videotestsrc', props: { 'num-buffers': '20', pattern: 'white' } },
    { factory: 'capsfilter', props: { caps: 'video/x-raw,format=GRAY8,width=64,height=48' } },
  ],
  queue: { depth: 2, policy: 'block' },
  onWake() {
    let f;
    while ((f = src.pull())) { bytes = new Uint8Array(f.planes[0].buffer)[0]; f.handle.release(); frames++; }
    for (const e of src.pollEvents()) if (e.type === 'eos' || e.type === 'error') { src.dispose(); parentPort.postMessage({ frames, first: bytes, ev: e.type }); }
  },
});
src.start();
`;

describe('native addon in worker_threads', () => {
  it('two workers and the main thread decode at the same time', async () => {
    loadBinding(); // main-thread instance loaded too
    const run = () => new Promise<{ frames: number; first: number; ev: string }>((resolve, reject) => {
      const w = new Worker(workerSource, { eval: true, workerData: { addonPath } });
      w.once('message', (m) => { resolve(m); void w.terminate(); });
      w.once('error', reject);
    });
    const results = await Promise.all([run(), run()]);
    for (const r of results) expect(r).toEqual({ frames: 20, first: 235, ev: 'eos' }); // white in GRAY8 (limited range)
  }, 30_000);
});
