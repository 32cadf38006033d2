// Remote inference (issue 18 item 1): the same YOLOv8-shaped model (tools/bench/yolo-model.mjs:
// [1, 3, 640, 640] → [1, 84, 8400], 7.9 GFLOPs, random weights) with the same intra-op threads,
// run by a local WorkerExecutor in this process vs a RemoteExecutor talking to one
// InferenceService (what `nv worker` runs) in a separate Node process, through a local
// nats-server (max_payload 8MB, as deploy/nats/nats-server.conf).
//
// Run: npx tsc -b packages/remote && node tools/bench/remote-inference.mjs [--runs 30] [--rounds 3] [--threads N] [--max-batch 1] [--score 0.25]
//
// What is measured, per side and per in-flight level (1 and 3):
//   frames/s   runs ÷ wall time, with `in-flight` runs outstanding at all times (each run
//              acquires a pool slot, fills it with the same letterboxed image — k/255 values, so
//              the remote side sends unorm8, 1.2 MB — and runs; the output [1, 84, 8400] float32,
//              2.8 MB, comes back).
//   latency    per run, from model.run() to its result: p50, p95; "added" = remote − local.
// Fixed costs, the same on both sides: model load / session creation and one warm-up run are
// outside the timing; the slot fill is inside on both. The worker process uses a WorkerExecutor
// with the same threads as the local one. The worker runs with maxBatch 1 by default (like for
// like: the local side never batches); --max-batch 8 shows its cross-request batching.
// Sides alternate (local, remote, local, …); each number is the median of the rounds. No forced GC.
//
// Each run is what OnnxDetector does per frame: the model, then the head decoded and NMS'd
// (reduceDetections, nv's default thresholds: score 0.25, IoU 0.45, ≤ 300 kept, ≤ 30,000
// candidates). `local` and `remote raw` (reduceOnWorker false: the 2.8 MB head comes back) decode
// on this thread; `remote` (the default) has the worker decode and NMS, and gets K × 6 floats back.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { WorkerExecutor } from '../../packages/inference/dist/index.js';
import { RemoteExecutor } from '../../packages/remote/dist/index.js';
import { reduceDetections } from '../../packages/onnx/dist/index.js';
import { buildYoloModel } from './yolo-model.mjs';

const argv = process.argv.slice(2);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const RUNS = Number(arg('runs', 30));
const ROUNDS = Number(arg('rounds', 3));
const THREADS = Number(arg('threads', availableParallelism()));
const MAX_BATCH = Number(arg('max-batch', 1));
const LEVELS = [1, 3];
const S = 640;
const command = `node tools/bench/remote-inference.mjs ${argv.join(' ')}`.trim();
const log = (...a) => console.error(...a);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

const NATS = ['/usr/sbin/nats-server'].find((p) => existsSync(p)); // Debian's nats-server
if (!NATS) { console.error('nats-server is not installed'); process.exit(1); }

const dir = mkdtempSync(join(tmpdir(), 'nv-bench-remote-'));
const children = [];
process.on('exit', () => { for (const c of children) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } } rmSync(dir, { recursive: true, force: true }); });

const freePort = () => new Promise((resolve, reject) => { const s = createServer(); s.once('error', reject); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
function startChild(bin, args, ready) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    let out = '';
    const t = setTimeout(() => reject(new Error(`${bin} not ready: ${out.slice(-1000)}`)), 60_000);
    const on = (d) => { out += d.toString(); if (ready.test(out)) { clearTimeout(t); resolve(p); } };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.once('exit', (c) => { clearTimeout(t); reject(new Error(`${bin} exited ${c}: ${out.slice(-1000)}`)); });
  });
}

// Model: the benchmark's YOLOv8-shaped one.
const t0 = performance.now();
const model = await buildYoloModel();
const modelPath = join(dir, 'yolov8-shaped.onnx');
writeFileSync(modelPath, model.bytes);
log(`model: ${model.gflops.toFixed(2)} GFLOPs, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// A letterboxed-like input: k/255 values (what nv's letterbox writes for a 3× downscale).
const image = new Float32Array(3 * S * S);
for (let i = 0, s = 1; i < image.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; image[i] = ((s >>> 16) & 255) / 255; }

// nats-server (max_payload 8MB) and the worker process.
const port = await freePort();
const conf = join(dir, 'nats.conf');
writeFileSync(conf, `listen: 127.0.0.1:${port}\nmax_payload: 8MB\n`);
await startChild(NATS, ['-c', conf], /Server is ready/);
const url = `nats://127.0.0.1:${port}`;
const remoteDist = pathToFileURL(join(import.meta.dirname, '../../packages/remote/dist/index.js')).href;
const workerScript = `
  const { InferenceService } = await import(${JSON.stringify(remoteDist)});
  const s = await InferenceService.start({ servers: ${JSON.stringify(url)}, model: ${JSON.stringify(modelPath)}, intraOpNumThreads: ${THREADS}, maxBatch: ${MAX_BATCH}, batchWindowMs: ${MAX_BATCH > 1 ? 2 : 0} });
  console.log('ready');
  process.on('SIGTERM', async () => { await s.close(); console.log('stats ' + JSON.stringify(s.stats())); process.exit(0); });
  setInterval(() => {}, 1 << 30);
`;
const worker = await startChild(process.execPath, ['--input-type=module', '-e', workerScript], /^ready/m);

// The two sides: the same load call, the same slot fill, the same runs.
const local = new WorkerExecutor({ workers: 1, intraOpNumThreads: THREADS, pool: { slots: Math.max(...LEVELS) + 1 } });
const remote = new RemoteExecutor({ servers: url, maxInFlight: Math.max(...LEVELS), timeoutMs: 60_000 });
const remoteRaw = new RemoteExecutor({ servers: url, maxInFlight: Math.max(...LEVELS), timeoutMs: 60_000, reduceOnWorker: false });
const SPEC = {
  output: 'output0', head: 'yolov8', layout: 'channelsFirst', numClasses: 80, scoreThreshold: Number(arg('score', 0.25)), iouThreshold: 0.45,
  maxDetections: 300, maxCandidates: 30_000, classAgnostic: false, content: [[0, 0, S, S]],
};
const SIDES = ['local', 'remote-raw', 'remote'];
const sides = {};
for (const [name, ex] of [['local', local], ['remote-raw', remoteRaw], ['remote', remote]]) {
  const m = await ex.load({ model: modelPath, session: { intraOpNumThreads: THREADS, graphOptimizationLevel: 'all' } });
  const slot = await ex.pool.acquire(image.length);
  slot.data.set(image);
  await m.run({ images: slot.input([1, 3, S, S]) }, ['output0'], m.reductions?.includes('detections') ? { detections: SPEC } : undefined); // warm-up
  sides[name] = { ex, m };
}

/** CPU ms of process `pid` so far (Linux /proc: utime + stime, in clock ticks of 10 ms). */
const procCpuMs = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; } catch { return NaN; } };

async function measure(side, inFlight) {
  const { ex, m } = sides[side];
  const cpu0 = process.cpuUsage(), w0 = procCpuMs(worker.pid);
  const lat = [];
  let started = 0;
  const one = async () => {
    while (started < RUNS) {
      started++;
      const slot = await ex.pool.acquire(image.length);
      slot.data.set(image);
      const t = performance.now();
      const reduce = m.reductions?.includes('detections') === true;
      const out = await m.run({ images: slot.input([1, 3, S, S]) }, ['output0'], reduce ? { detections: SPEC } : undefined);
      const dets = reduce ? out.output0 : reduceDetections(out.output0, SPEC);
      lat.push(performance.now() - t);
      kept.push(dets.dims[1]);
      if (dets.dims[2] !== 6) throw new Error('unexpected output');
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, one));
  const s = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { fps: RUNS / s, p50: pct(lat, 50), p95: pct(lat, 95), cpu: (cpu.user + cpu.system) / 1000 / RUNS, wcpu: (procCpuMs(worker.pid) - w0) / RUNS };
}

const results = {};
const kept = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const level of LEVELS) {
    for (const side of r % 2 === 0 ? SIDES : [...SIDES].reverse()) {
      const x = await measure(side, level);
      (results[`${side}-${level}`] ??= []).push(x);
      log(`round ${r + 1} ${side} in-flight ${level}: ${x.fps.toFixed(2)} frames/s, p50 ${x.p50.toFixed(1)} ms, p95 ${x.p95.toFixed(1)} ms`);
    }
  }
}
const rs = remote.stats(), rr = remoteRaw.stats();
for (const s of Object.values(sides)) await s.m.release();
await local.release();
await remote.release();
await remoteRaw.release();
worker.kill('SIGTERM');
const workerStats = await new Promise((resolve) => { let o = ''; worker.stdout.on('data', (d) => { o += d; }); worker.once('exit', () => resolve(/stats (.*)/.exec(o)?.[1] ?? '{}')); });

const med = (k, f) => median(results[k].map((x) => x[f]));
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpus().length} (availableParallelism ${availableParallelism()}), ${THREADS} intra-op threads on both sides; ` +
  `model YOLOv8-shaped ${model.gflops.toFixed(2)} GFLOPs, [1,3,640,640] → [1,84,8400]; nats-server ${spawnSync(NATS, ['--version'], { encoding: 'utf8' }).stdout.trim()} on 127.0.0.1 (max_payload 8MB); ` +
  `worker maxBatch ${MAX_BATCH}; ${RUNS} runs per measurement, median of ${ROUNDS} rounds.`);
console.log(`Command: \`${command}\``);
console.log('');
console.log('| in flight | side | frames/s | ÷ local | p50 / p95 ms | added p50 / p95 ms | CPU ms/run: this process + worker process |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const level of LEVELS) {
  const lf = med(`local-${level}`, 'fps'), l50 = med(`local-${level}`, 'p50'), l95 = med(`local-${level}`, 'p95');
  for (const side of SIDES) {
    const k = `${side}-${level}`;
    const f = med(k, 'fps'), p50 = med(k, 'p50'), p95 = med(k, 'p95'), c = med(k, 'cpu'), w = med(k, 'wcpu');
    const label = side === 'local' ? 'local WorkerExecutor, decode here' : side === 'remote-raw' ? 'remote, raw head back, decode here' : 'remote, decoded + NMS on the worker';
    console.log(`| ${level} | ${label} | ${f.toFixed(2)} | ${(f / lf).toFixed(3)} | ${p50.toFixed(1)} / ${p95.toFixed(1)} | ${side === 'local' ? '—' : `${(p50 - l50).toFixed(1)} / ${(p95 - l95).toFixed(1)}`} | ${c.toFixed(1)}${side === 'local' ? '' : ` + ${w.toFixed(1)}`} |`);
  }
}
console.log('');
console.log(`Per run: ${(rs.bytesSent / rs.runs / 1e6).toFixed(2)} MB sent (unorm8; ${rs.float32Fallbacks} float32 fallbacks); received ${(rr.bytesReceived / rr.runs / 1e6).toFixed(2)} MB raw vs ${(rs.bytesReceived / rs.runs / 1e3).toFixed(2)} kB decoded (${median(kept)} detections kept, median); worker: ${workerStats}.`);
process.exit(0);
