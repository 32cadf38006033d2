/**
 * Remote inference through the runtime: an OnnxDetector on a RemoteExecutor in an ordered
 * parallel head (width 3), against worker processes on a real nats-server — the head decoded and
 * NMS'd on the worker (compact replies) and, for comparison, fetched raw.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StageError, type HealthEvent } from '@nv/core';
import { createOwnedFrame, type OwnedFrame } from '@nv/frame';
import { InferenceError } from '@nv/inference';
import { OnnxDetector } from '@nv/onnx';
import { FeedPipeline, Runtime, type OutputEnvelope } from '@nv/runtime';
import type { Stage } from '@nv/perception';
import { SyntheticSource } from '@nv/test-util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteExecutor } from './index.js';
import { NATS_SERVER, distBuilt, imageModel, removeScratch, scratch, startNatsServer, startWorkerProcess, waitFor, type NatsTestServer, type TestProcess } from './test-fixtures.js';

// 192×144 → 64×64 is a 3× downscale, as 1920×1080 → 640×640: one tap per pixel, so the tensor holds k/255 values and travels as unorm8.
const W = 192, H = 144, FRAMES = 30;

/** Frames whose content moves with seq (so every frame has its own detections). */
function frames(n: number): OwnedFrame[] {
  return Array.from({ length: n }, (_, seq) => {
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      data[i] = (x * 3 + seq * 17) & 255; data[i + 1] = (y * 5 + seq * 29) & 255; data[i + 2] = ((x ^ y) + seq * 7) & 255;
    }
    return createOwnedFrame({ feedId: 1, seq, ts: seq * 33_333_333, width: W, height: H, format: 'RGB8', data, transferOwnership: true });
  });
}

type Det = { classId: number; confidence: number; bbox: unknown };
const detsOf = (o: OutputEnvelope): Det[] => o.artifacts.detections.map((d) => ({ classId: d.classId, confidence: d.confidence, bbox: d.bbox }));

async function runFeed(detector: OnnxDetector, onOutput?: (o: OutputEnvelope) => void): Promise<{ outs: OutputEnvelope[]; health: HealthEvent[] }> {
  const rt = new Runtime();
  const outs: OutputEnvelope[] = [];
  const health: HealthEvent[] = [];
  rt.onHealth((e) => health.push(e));
  const tail: Stage = { id: 'tail', process: () => undefined };
  const feed = rt.addFeed({
    source: () => new SyntheticSource(frames(FRAMES)), cameraMode: 'fixed',
    sink: { emit: (o) => { outs.push(o); onOutput?.(o); } },
    deadlines: { stageTimeoutMs: 30_000 },
    pipeline: FeedPipeline.builder().parallel(3, (h) => h.addStage(detector)).addStage(tail).build(),
  });
  await feed.done;
  await rt.shutdown();
  return { outs, health };
}

describe.skipIf(NATS_SERVER === undefined || !distBuilt())('OnnxDetector on a RemoteExecutor in a parallel head', () => {
  let dir = '';
  let nats: NatsTestServer;
  let modelPath = '';
  let want = new Map<number, Det[]>();
  const procs: TestProcess[] = [];

  beforeAll(async () => {
    dir = scratch('runtime');
    nats = await startNatsServer(dir);
    modelPath = join(dir, 'yolo-shaped.onnx');
    // [batch, 3, 64, 64] → [batch, 84, 1024]: a YOLOv8-shaped head (4 box + 80 class rows).
    writeFileSync(modelPath, imageModel({ size: 64, channels: 84, seed: 21, boxes: true }));
    const local = await runFeed(new OnnxDetector({ modelPath, executor: 'inline', inputSize: { width: 64, height: 64 }, head: 'yolov8', layout: 'channelsFirst' }));
    want = new Map(local.outs.map((o) => [o.seq, detsOf(o)]));
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await nats?.stop();
    removeScratch(dir);
  }, 30_000);

  it('outputs in frame order with the detections of a local run; a worker killed mid-run: its frames fail with a typed stage error, later frames continue', async () => {
    expect(want.size).toBe(FRAMES);
    expect([...want.values()].some((d) => d.length > 0)).toBe(true);

    // 1. One healthy worker: every frame, in order, the same detections as locally.
    const healthy = await startWorkerProcess(nats.url, modelPath, { subject: 'nv.rt' });
    procs.push(healthy);
    const executor = new RemoteExecutor({ servers: nats.url, subject: 'nv.rt', timeoutMs: 1000 });
    const ok = await runFeed(new OnnxDetector({ modelPath, executor, inputSize: { width: 64, height: 64 }, head: 'yolov8', layout: 'channelsFirst' }));
    expect(ok.outs.map((o) => o.seq)).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
    for (const o of ok.outs) expect(detsOf(o), `frame ${o.seq}`).toEqual(want.get(o.seq));
    expect(executor.stats()).toMatchObject({ runs: FRAMES, failedRuns: 0, float32Fallbacks: 0, connected: false });
    // Decoded and NMS'd on the worker: a reply is a few rows of 6 floats, not the 84 × 1024 head.
    const rawBytes = 84 * 1024 * 4;
    const maxKept = Math.max(...[...want.values()].map((d) => d.length));
    expect(executor.stats().bytesReceived).toBeLessThanOrEqual(FRAMES * maxKept * 6 * 4);
    // The same with raw outputs (reduceOnWorker false): identical detections, the whole head per frame.
    const rawExecutor = new RemoteExecutor({ servers: nats.url, subject: 'nv.rt', timeoutMs: 1000, reduceOnWorker: false });
    const raw = await runFeed(new OnnxDetector({ modelPath, executor: rawExecutor, inputSize: { width: 64, height: 64 }, head: 'yolov8', layout: 'channelsFirst' }));
    for (const o of raw.outs) expect(detsOf(o), `frame ${o.seq} (raw)`).toEqual(want.get(o.seq));
    expect(rawExecutor.stats()).toMatchObject({ runs: FRAMES, bytesReceived: FRAMES * rawBytes });
    await rawExecutor.release();

    // 2. A second worker that hangs on every run; killed with SIGKILL once a frame has failed on it.
    const victim = await startWorkerProcess(nats.url, modelPath, { subject: 'nv.rt', holdRuns: true });
    procs.push(victim);
    let killed = false;
    let outputsAtKill = -1;
    const withKill = runFeed(new OnnxDetector({ modelPath, executor, inputSize: { width: 64, height: 64 }, head: 'yolov8', layout: 'channelsFirst' }), () => {
      if (!killed && executor.stats().timedOut > 0) { killed = true; outputsAtKill = 0; process.kill(victim.pid!, 'SIGKILL'); }
      else if (killed) outputsAtKill++;
    });
    const r = await withKill;
    await waitFor(() => killed, 'the victim to be killed', 1000);
    const seqs = r.outs.map((o) => o.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    for (const o of r.outs) expect(detsOf(o), `frame ${o.seq}`).toEqual(want.get(o.seq));
    const errors = r.health.filter((e) => e.type === 'StageError').map((e) => (e as { error: StageError }).error);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length + r.outs.length).toBe(FRAMES);
    for (const e of errors) {
      expect(StageError.isInstance(e)).toBe(true);
      const cause = (e as { cause?: unknown }).cause;
      expect(InferenceError.isInstance(cause) && cause.kind).toBe('TimedOut');
    }
    const stats = executor.stats();
    expect(stats.timedOut).toBe(errors.length);
    expect(stats.pool.inUse).toBe(0);
    // After the kill nothing hangs any more: the last frames all came out.
    expect(outputsAtKill).toBeGreaterThan(0);
    expect(seqs.slice(-5)).toEqual([FRAMES - 5, FRAMES - 4, FRAMES - 3, FRAMES - 2, FRAMES - 1]);
    await executor.release();
  }, 90_000);
});
