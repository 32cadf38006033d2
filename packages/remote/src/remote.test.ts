/**
 * Remote inference end to end on real nats-server processes and real onnxruntime sessions:
 * results equal to local runs, batching across requesters, every failure typed and bounded.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceError, InlineExecutor, WorkerExecutor, type InferenceOutputs } from '@nv/inference';
import { reduceDetections } from '@nv/onnx';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceService, RemoteExecutor } from './index.js';
import {
  GatedExecutor, NATS_SERVER, distBuilt, imageModel, removeScratch, scratch, startNatsServer, startWorkerProcess, unormInput, waitFor,
  type NatsTestServer, type TestProcess,
} from './test-fixtures.js';
import { REPLY_HEADER, dequantizeUnorm8, modelSubject, quantizeUnorm8, sha256Hex } from './wire.js';

const SIZE = 32;
const ITEM = 3 * SIZE * SIZE;

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function expectSameOutputs(got: InferenceOutputs, want: InferenceOutputs): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const k of Object.keys(want)) {
    expect(got[k]!.dims).toEqual(want[k]!.dims);
    expect(bitsEqual(got[k]!.data, want[k]!.data), `output ${k} bit-identical`).toBe(true);
  }
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'resolved'; } catch (e) { return InferenceError.isInstance(e) ? e.kind : `untyped: ${String(e)}`; }
}

describe.skipIf(NATS_SERVER === undefined)('remote inference over NATS', () => {
  let dir = '';
  let nats: NatsTestServer;
  let dynamicBytes: Uint8Array;
  let staticBytes: Uint8Array;
  let local: InlineExecutor;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = scratch('remote');
    nats = await startNatsServer(dir);
    dynamicBytes = imageModel({ size: SIZE });
    staticBytes = imageModel({ size: SIZE, batch: 1, seed: 9 });
    writeFileSync(join(dir, 'dynamic.onnx'), dynamicBytes);
    writeFileSync(join(dir, 'static.onnx'), staticBytes);
    local = new InlineExecutor();
  }, 30_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await local?.release();
    await nats?.stop();
    removeScratch(dir);
  }, 30_000);

  const service = async (o: Partial<Parameters<typeof InferenceService.start>[0]> = {}): Promise<InferenceService> => {
    const s = await InferenceService.start({ servers: nats.url, model: dynamicBytes, name: 'dynamic.onnx', ...o });
    cleanups.push(() => s.close());
    return s;
  };
  const client = (o: Partial<ConstructorParameters<typeof RemoteExecutor>[0]> = {}): RemoteExecutor => {
    const c = new RemoteExecutor({ servers: nats.url, ...o });
    cleanups.push(() => c.release());
    return c;
  };

  it('unorm8 quantization is exact for k/255 and refuses other values', () => {
    const x = unormInput(1000, 3);
    const q = new Uint8Array(x.length);
    expect(quantizeUnorm8(x, q)).toBe(true);
    const back = new Float32Array(x.length);
    dequantizeUnorm8(q, back);
    expect(bitsEqual(back, x)).toBe(true);
    // Every k/255 as nv's letterbox computes it (p × (1/255) in double, stored as float32).
    const all = Float32Array.from({ length: 256 }, (_, k) => k * (1 / 255));
    const qa = new Uint8Array(256);
    expect(quantizeUnorm8(all, qa)).toBe(true);
    expect([...qa]).toEqual(Array.from({ length: 256 }, (_, k) => k));
    expect(quantizeUnorm8(Float32Array.of(0.5), new Uint8Array(1))).toBe(false);
    expect(quantizeUnorm8(Float32Array.of(Number.NaN), new Uint8Array(1))).toBe(false);
  });

  it('runs give the same outputs as a local InlineExecutor and a local WorkerExecutor (bit-identical with unorm8 for k/255 inputs, and with float32)', async () => {
    const s = await service();
    const lm = await local.load({ model: dynamicBytes });
    const worker = new WorkerExecutor({ workers: 1, intraOpNumThreads: 1 });
    cleanups.push(() => worker.release());
    const wm = await worker.load({ model: dynamicBytes });
    for (const enc of ['unorm8', 'float32'] as const) {
      const c = client({ inputEncoding: enc });
      const m = await c.load({ model: dynamicBytes, name: 'dynamic.onnx', session: { intraOpNumThreads: 7 } });
      expect(m.inputs.map((i) => [i.name, i.shape])).toEqual([['images', ['batch', 3, SIZE, SIZE]]]);
      expect(m.outputs.map((o) => o.name)).toEqual(['output0', 'aux']);
      for (const batch of [1, 2]) {
        const data = unormInput(batch * ITEM, 11 + batch);
        const slot = await c.pool.acquire(data.length);
        slot.data.set(data);
        const got = await m.run({ images: slot.input([batch, 3, SIZE, SIZE]) });
        expect(slot.released).toBe(true);
        const want = await lm.run({ images: { dims: [batch, 3, SIZE, SIZE], data } });
        expectSameOutputs(got, want);
        expectSameOutputs(got, await wm.run({ images: { dims: [batch, 3, SIZE, SIZE], data } }));
      }
      // Only the outputs asked for travel.
      const only = await m.run({ images: { dims: [1, 3, SIZE, SIZE], data: unormInput(ITEM, 5) } }, ['aux']);
      expect(Object.keys(only)).toEqual(['aux']);
      expect(c.stats()).toMatchObject({ kind: 'remote', runs: 3, failedRuns: 0, running: 0, queued: 0, timedOut: 0, float32Fallbacks: 0, pool: { inUse: 0 } });
    }
    // Values that are not k/255 go as float32 under unorm8 (counted), still exact.
    const c = client();
    const m = await c.load({ model: dynamicBytes });
    const odd = Float32Array.from({ length: ITEM }, (_, i) => Math.sin(i) * 3);
    expectSameOutputs(await m.run({ images: { dims: [1, 3, SIZE, SIZE], data: odd } }), await lm.run({ images: { dims: [1, 3, SIZE, SIZE], data: odd } }));
    expect(c.stats().float32Fallbacks).toBe(1);
    // Unorm8 sends a quarter of the bytes.
    expect(c.stats().bytesSent).toBe(ITEM * 4);
    expect(s.stats().errors).toBe(0);
  });

  it('stacks requests of two clients into one batch, splits the outputs back (equal to local runs), and runs a static-batch model one request at a time', async () => {
    const gated = new GatedExecutor(new InlineExecutor());
    const s = await service({ executor: gated, batchWindowMs: 0, maxBatch: 8, subject: 'nv.batch' });
    const a = client({ subject: 'nv.batch' }), b = client({ subject: 'nv.batch' });
    const ma = await a.load({ model: dynamicBytes }), mb = await b.load({ model: dynamicBytes });
    const lm = await local.load({ model: dynamicBytes });
    const inputs = [1, 2, 3, 4].map((i) => unormInput(ITEM, 100 + i));
    // The first run holds the session; the next three (two clients, one with batch 2 … all batch 1 here) gather.
    const p0 = ma.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[0]! } });
    await waitFor(() => gated.started === 1, 'the first run to start');
    const p1 = ma.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[1]! } });
    const p2 = mb.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[2]! } });
    const p3 = mb.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[3]! } });
    await waitFor(() => s.stats().queueDepth === 3, 'three requests waiting');
    gated.open();
    const outs = await Promise.all([p0, p1, p2, p3]);
    for (let i = 0; i < 4; i++) expectSameOutputs(outs[i]!, await lm.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[i]! } }));
    expect(s.stats()).toMatchObject({ requests: 4, batches: 2, batchedRequests: 4, maxBatchSize: 3, meanBatchSize: 2, errors: 0, replies: 4, queueDepth: 0 });

    // A static batch-1 model never stacks.
    const g2 = new GatedExecutor(new InlineExecutor());
    const st = await InferenceService.start({ servers: nats.url, model: staticBytes, executor: g2, batchWindowMs: 0, subject: 'nv.static' });
    cleanups.push(() => st.close());
    expect(st.dynamicBatch).toBe(false);
    const c = client({ subject: 'nv.static' });
    const m = await c.load({ model: staticBytes });
    const q0 = m.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[0]! } });
    await waitFor(() => g2.started === 1, 'the first static run to start');
    const q1 = m.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[1]! } });
    const q2 = m.run({ images: { dims: [1, 3, SIZE, SIZE], data: inputs[2]! } });
    await waitFor(() => st.stats().queueDepth === 2, 'two static requests waiting');
    g2.open();
    await Promise.all([q0, q1, q2]);
    expect(st.stats()).toMatchObject({ requests: 3, batches: 3, maxBatchSize: 1 });
  });

  it('reduces a detection head on the worker when asked: the same rows as reduceDetections on a local run, a fraction of the bytes; a bad request is typed', async () => {
    // A YOLOv8-shaped head with boxes of positive size around the centre.
    const boxesBytes = imageModel({ size: SIZE, boxes: true, seed: 5 });
    await service({ subject: 'nv.reduce', model: boxesBytes });
    const c = client({ subject: 'nv.reduce' });
    const m = await c.load({ model: boxesBytes });
    expect(m.reductions).toEqual(['detections']);
    const lm = await local.load({ model: boxesBytes });
    const half = SIZE / 2;
    const spec = {
      output: 'output0', head: 'yolov8', layout: 'channelsFirst', numClasses: 80, scoreThreshold: 0.05, iouThreshold: 0.5,
      maxDetections: 20, maxCandidates: 300, classAgnostic: false, content: [[0, 4, SIZE, SIZE - 4], [0, 0, SIZE, SIZE]],
    } as const;
    const input = { images: { dims: [2, 3, SIZE, SIZE], data: Float32Array.from({ length: 2 * ITEM }, (_, i) => ((i * 7) % 256) / 255) } };
    const before = c.stats().bytesReceived;
    const got = await m.run(input, ['output0'], { detections: spec });
    const raw = (await lm.run({ images: { dims: input.images.dims, data: input.images.data.slice() } }, ['output0']))['output0']!;
    expect(raw.dims).toEqual([2, 84, half * half]);
    const want = reduceDetections(raw, spec);
    expect(want.dims[1]).toBeGreaterThan(0);
    expect(got['output0']!.dims).toEqual(want.dims);
    expect(bitsEqual(got['output0']!.data, want.data)).toBe(true);
    expect(c.stats().bytesReceived - before).toBe(want.data.byteLength);
    // A spec the worker cannot use is a typed refusal, never a hang or a crash.
    const bad = await m.run(input, ['output0'], { detections: { ...spec, content: [[0, 0, 1, 1]] } }).catch((x: unknown) => x);
    expect(InferenceError.isInstance(bad) && [bad.kind, bad.remoteKind]).toEqual(['RemoteFailed', 'BadRequest']);
    expect((bad as Error).message).toContain('content');
    const wrongHead = await m.run(input, ['output0'], { detections: { ...spec, head: 'end2end' } }).catch((x: unknown) => x);
    expect(InferenceError.isInstance(wrongHead) && [wrongHead.kind, wrongHead.remoteKind]).toEqual(['RemoteFailed', 'RunFailed']);
    // An older worker (it lists the reduction but answers raw, as during a rolling upgrade): the client reduces.
    const sha = sha256Hex(boxesBytes);
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const real = await InferenceService.start({ servers: nats.url, model: boxesBytes, executor: new InlineExecutor(), subject: 'nv.old-info' });
    cleanups.push(() => real.close());
    nc.subscribe(modelSubject('nv.old', sha), {
      callback: (_e, msg) => {
        const h = natsHeaders();
        if (msg.headers?.get('Nv-Op') === 'info') {
          h.set(REPLY_HEADER, JSON.stringify({ v: 1, ok: true, sha, name: 'old', inputs: real.inputs, outputs: real.outputs, dynamicBatch: true, maxBatch: 8, reductions: ['detections'] }));
          msg.respond(new Uint8Array(0), { headers: h });
          return;
        }
        const id = (JSON.parse(msg.headers!.get('Nv-Run')) as { id: string }).id;
        h.set(REPLY_HEADER, JSON.stringify({ v: 1, id, ok: true, outputs: [{ name: 'output0', dims: raw.dims }], batch: 1 }));
        msg.respond(new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), { headers: h });
      },
    });
    const oldClient = client({ subject: 'nv.old' });
    const om = await oldClient.load({ model: boxesBytes });
    const fell = await om.run(input, ['output0'], { detections: spec });
    expect(fell['output0']!.dims).toEqual(want.dims);
    expect(bitsEqual(fell['output0']!.data, want.data)).toBe(true);
    expect(oldClient.stats().reducedHere).toBe(1);
    expect(c.stats().reducedHere).toBe(0);
    // A client that wants raw outputs never asks.
    const rawClient = client({ subject: 'nv.reduce', reduceOnWorker: false });
    const rm = await rawClient.load({ model: boxesBytes });
    expect(rm.reductions).toEqual([]);
    expect(await kindOf(rm.run(input, ['output0'], { detections: spec }))).toBe('RunFailed');
  });

  it('no worker for the model: load fails with NoResponders at once, naming the sha prefix, the server without credentials and the fix', async () => {
    const c = new RemoteExecutor({ servers: `nats://someone:s3cret@127.0.0.1:${nats.port}`, subject: 'nv.nobody', timeoutMs: 60_000 });
    cleanups.push(() => c.release());
    const other = imageModel({ size: SIZE, seed: 1234 });
    const t0 = performance.now();
    const err = await c.load({ model: other, name: 'other.onnx' }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(30_000); // not the 60 s timeout
    expect(InferenceError.isInstance(err) && err.kind).toBe('NoResponders');
    const msg = (err as Error).message;
    expect(msg).toContain(sha256Hex(other).slice(0, 16));
    expect(msg).toContain(`nats://127.0.0.1:${nats.port}`);
    expect(msg).toContain('nv worker --model other.onnx --nats');
    expect(msg).not.toContain('s3cret');
    expect(c.stats()).toMatchObject({ noResponders: 1, servers: `nats://127.0.0.1:${nats.port}` });
    expect(JSON.stringify(c.stats())).not.toContain('s3cret');
  });

  it('a request over the server\'s max_payload fails with PayloadTooLarge (size, limit and fix); the same 640×640 image fits 8MB as unorm8', async () => {
    const small = await startNatsServer(dir, { maxPayload: null });
    cleanups.push(() => small.stop());
    const big = imageModel({ size: 640, channels: 2 });
    const s = await InferenceService.start({ servers: small.url, model: big, executor: new InlineExecutor() });
    cleanups.push(() => s.close());
    const c = new RemoteExecutor({ servers: small.url });
    cleanups.push(() => c.release());
    const m = await c.load({ model: big });
    const slot = await c.pool.acquire(3 * 640 * 640);
    slot.data.set(unormInput(3 * 640 * 640, 2));
    const err = await m.run({ images: slot.input([1, 3, 640, 640]) }).catch((e: unknown) => e);
    expect(InferenceError.isInstance(err) && err.kind).toBe('PayloadTooLarge');
    expect((err as Error).message).toMatch(/1228800|1\.17 MiB/);
    expect((err as Error).message).toContain('max_payload 1048576');
    expect((err as Error).message).toContain('deploy/nats/nats-server.conf');
    expect(slot.released).toBe(true);
    expect(c.stats()).toMatchObject({ payloadTooLarge: 1, failedRuns: 1, pool: { inUse: 0 } });
    // On the 8MB server it fits (1.2 MB request; the reply is 2 × 320² floats = 800 KB).
    const s8 = await InferenceService.start({ servers: nats.url, model: big, executor: new InlineExecutor(), subject: 'nv.big' });
    cleanups.push(() => s8.close());
    const c8 = client({ subject: 'nv.big' });
    const m8 = await c8.load({ model: big });
    const out = await m8.run({ images: { dims: [1, 3, 640, 640], data: unormInput(3 * 640 * 640, 2) } }, ['output0']);
    expect(out['output0']!.dims).toEqual([1, 2, 320 * 320]);
  });

  it('a worker that does not answer: TimedOut, the slot back in the pool, the late reply dropped and counted', async () => {
    const sha = sha256Hex(dynamicBytes);
    const subject = modelSubject('nv.mute', sha);
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const held: { respond: (d: Uint8Array, o: { headers: ReturnType<typeof natsHeaders> }) => boolean }[] = [];
    // A fake worker: answers info like a real one, holds every run.
    const real = await InferenceService.start({ servers: nats.url, model: dynamicBytes, executor: new InlineExecutor(), subject: 'nv.mute-info' });
    cleanups.push(() => real.close());
    nc.subscribe(subject, {
      callback: (_e, msg) => {
        if (msg.headers?.get('Nv-Op') === 'info') {
          const h = natsHeaders();
          h.set(REPLY_HEADER, JSON.stringify({ v: 1, ok: true, sha, name: 'mute', inputs: real.inputs, outputs: real.outputs, dynamicBatch: true, maxBatch: 8 }));
          msg.respond(new Uint8Array(0), { headers: h });
        } else {
          held.push(msg);
        }
      },
    });
    await nc.flush();
    const c = client({ subject: 'nv.mute', timeoutMs: 300 });
    const m = await c.load({ model: dynamicBytes });
    const slot = await c.pool.acquire(ITEM);
    slot.data.set(unormInput(ITEM, 4));
    const err = await m.run({ images: slot.input([1, 3, SIZE, SIZE]) }).catch((e: unknown) => e);
    expect(InferenceError.isInstance(err) && err.kind).toBe('TimedOut');
    expect((err as Error).message).toContain('within 300 ms');
    expect(slot.released).toBe(true);
    expect(c.stats()).toMatchObject({ timedOut: 1, failedRuns: 1, running: 0, pool: { inUse: 0 } });
    // The reply comes late: dropped, counted.
    expect(held).toHaveLength(1);
    const h = natsHeaders();
    h.set(REPLY_HEADER, JSON.stringify({ v: 1, id: 'x', ok: true, outputs: [], batch: 1 }));
    held[0]!.respond(new Uint8Array(0), { headers: h });
    await waitFor(() => c.stats().lateResponses === 1, 'the late reply to be counted');
  });

  it('queues are bounded: the client refuses beyond maxInFlight + maxQueuedRuns, the worker answers QueueFull beyond maxQueued', async () => {
    const gated = new GatedExecutor(new InlineExecutor());
    const s = await service({ executor: gated, batchWindowMs: 0, maxQueued: 1, subject: 'nv.full', maxBatch: 1 });
    // Client side: 1 on the wire, 1 waiting, the third refused at once.
    const c = client({ subject: 'nv.full', maxInFlight: 1, maxQueuedRuns: 1 });
    const m = await c.load({ model: dynamicBytes });
    const run = () => m.run({ images: { dims: [1, 3, SIZE, SIZE], data: unormInput(ITEM, 6) } });
    const r1 = run(), r2 = run();
    expect(await kindOf(run())).toBe('QueueFull');
    expect(c.stats()).toMatchObject({ running: 1, queued: 1 });
    // Worker side: one running (held), one waiting, the next refused.
    await waitFor(() => gated.started === 1, 'the held run');
    const d = client({ subject: 'nv.full', maxInFlight: 4 });
    const md = await d.load({ model: dynamicBytes });
    const runD = () => md.run({ images: { dims: [1, 3, SIZE, SIZE], data: unormInput(ITEM, 7) } });
    // r2 is queued on the client; d's first request takes the worker's one queue place.
    const d1 = runD();
    await waitFor(() => s.stats().queueDepth === 1, 'a request waiting on the worker');
    const refused = runD().catch((e: unknown) => e);
    const e = await refused;
    expect(InferenceError.isInstance(e) && e.kind).toBe('QueueFull');
    expect((e as Error).message).toContain('refused');
    expect(s.stats().refused).toBe(1);
    gated.open();
    expect(await kindOf(r1)).toBe('resolved');
    expect(await kindOf(r2)).toBe('resolved');
    expect(await kindOf(d1)).toBe('resolved');
    expect(d.stats().pool.inUse).toBe(0);
  });

  it('bad inputs are typed errors, never a hang', async () => {
    await service({ subject: 'nv.bad' });
    const c = client({ subject: 'nv.bad' });
    const m = await c.load({ model: dynamicBytes });
    await expect(m.run({ nope: { dims: [1], data: new Float32Array(1) } })).rejects.toThrow(/inputs\.nope/);
    await expect(m.run({ images: { dims: [1, 3, SIZE, SIZE], data: new Float32Array(5) } })).rejects.toThrow(/product/);
    await expect(m.run({ images: { dims: [1, 3, SIZE, SIZE], data: new Float32Array(ITEM) } }, ['missing'])).rejects.toThrow(/unknown output 'missing'/);
    // A shape onnxruntime refuses comes back as RemoteFailed with the worker's kind.
    const e = await m.run({ images: { dims: [1, 3, SIZE / 2, SIZE * 2], data: new Float32Array(ITEM) } }).catch((x: unknown) => x);
    expect(InferenceError.isInstance(e) && [e.kind, e.remoteKind]).toEqual(['RemoteFailed', 'RunFailed']);
    expect(() => new RemoteExecutor({ servers: 'http://x' })).toThrow(/servers/);
    expect(() => new RemoteExecutor({ servers: 'nats://u:hunter2@h:1/path' })).toThrow(/servers/);
    expect(() => new RemoteExecutor({ servers: 'nats://u:hunter2@h:1/path' })).not.toThrow(/hunter2/);
    expect(() => new RemoteExecutor({ servers: nats.url, subject: 'a.*' })).toThrow(/subject/);
    expect(() => new RemoteExecutor({ servers: nats.url, maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(await kindOf(c.load({ model: join(dir, 'missing.onnx') }))).toBe('ModelLoadFailed');
    const closed = new RemoteExecutor({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 500 });
    expect(await kindOf(closed.load({ model: dynamicBytes }))).toBe('ConnectionFailed');
    await closed.release();
    await m.release();
    expect(await kindOf(m.run({ images: { dims: [1, 3, SIZE, SIZE], data: new Float32Array(ITEM) } }))).toBe('Released');
  });

  it('close() drains: waiting requests still get their replies', async () => {
    const gated = new GatedExecutor(new InlineExecutor());
    const s = await InferenceService.start({ servers: nats.url, model: dynamicBytes, executor: gated, batchWindowMs: 0, maxBatch: 1, subject: 'nv.drain' });
    const c = client({ subject: 'nv.drain' });
    const m = await c.load({ model: dynamicBytes });
    const runs = [1, 2, 3].map((i) => m.run({ images: { dims: [1, 3, SIZE, SIZE], data: unormInput(ITEM, i) } }));
    await waitFor(() => s.stats().queueDepth === 2, 'two waiting');
    const closing = s.close();
    gated.open();
    await closing;
    expect(await Promise.all(runs.map(kindOf))).toEqual(['resolved', 'resolved', 'resolved']);
    expect(s.stats()).toMatchObject({ replies: 3, queueDepth: 0, running: 0 });
    // Nobody serves it any more.
    expect(await kindOf(m.run({ images: { dims: [1, 3, SIZE, SIZE], data: unormInput(ITEM, 9) } }))).toBe('NoResponders');
  });

  describe.skipIf(!distBuilt())('worker processes', () => {
    let procs: TestProcess[] = [];
    afterAll(async () => { for (const p of procs) await p.stop('SIGKILL'); procs = []; });

    it('two worker processes, one killed with SIGKILL mid-run: its runs in flight are TimedOut drops, the other serves every later run', async () => {
      const path = join(dir, 'dynamic.onnx');
      // The victim holds every run (it is "mid-run" whenever it is killed); it starts first, so the first runs go to it.
      const victim = await startWorkerProcess(nats.url, path, { holdRuns: true, subject: 'nv.procs' });
      procs.push(victim);
      const c = client({ timeoutMs: 1500, maxInFlight: 8, subject: 'nv.procs' });
      const m = await c.load({ model: path });
      const lm = await local.load({ model: dynamicBytes });
      const input = (i: number) => unormInput(ITEM, 500 + i);
      const onVictim = [0, 1, 2].map((i) => m.run({ images: { dims: [1, 3, SIZE, SIZE], data: input(i) } }));
      await waitFor(() => c.stats().running === 3, 'three runs in flight');
      const healthy = await startWorkerProcess(nats.url, path, { subject: 'nv.procs' });
      procs.push(healthy);
      process.kill(victim.pid!, 'SIGKILL');
      await victim.exited;
      expect(await Promise.all(onVictim.map(kindOf))).toEqual(['TimedOut', 'TimedOut', 'TimedOut']);
      for (let i = 10; i < 16; i++) {
        const out = await m.run({ images: { dims: [1, 3, SIZE, SIZE], data: input(i) } });
        expectSameOutputs(out, await lm.run({ images: { dims: [1, 3, SIZE, SIZE], data: input(i) } }));
      }
      expect(c.stats()).toMatchObject({ timedOut: 3, runs: 6, failedRuns: 3, lateResponses: 0, pool: { inUse: 0 } });
      await healthy.stop();
      expect(healthy.log()).toMatch(/stats .*"replies":6/);
    }, 60_000);
  });
});
