/**
 * The ordered parallel section through a real runtime feed: a head working on up to N frames at
 * once with random latencies, and a serial tail that sees every frame in order.
 */
import { BBox, ConfigError, StageError, detectionId, monotonicTs, trackId, type HealthEvent } from '@nv/core';
import { retimeFrame, type FrameEnvelope } from '@nv/frame';
import { createDetection, type Stage, type StageContext } from '@nv/perception';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockTrackerStage, SyntheticSource, frameSequence, seededRandom as prng } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { FeedPipeline, Runtime, feedConfigFromSettings, type BatchHandle, type OutputEnvelope } from './index.js';


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A stateless head stage: a random delay, then one detection tagged with the frame's seq. */
function randomHead(seed: number, maxMs: number, watch: { now: number; max: number }, fail?: (seq: number) => unknown): Stage {
  const rand = prng(seed);
  return {
    id: 'head',
    process: async (ctx: StageContext) => {
      watch.now++;
      watch.max = Math.max(watch.max, watch.now);
      try {
        await sleep(Math.floor(rand() * maxMs));
        const err = fail?.(ctx.frame.seq);
        if (err !== undefined) throw err;
        return { detections: [createDetection({ id: detectionId(ctx.frame.seq + 1), classId: ctx.frame.seq % 7, confidence: 0.9, bbox: BBox.of(0.1, 0.1, 0.2, 0.2) })] };
      } finally {
        watch.now--;
      }
    },
  };
}

/** A stateful tail stage: records the seqs it sees and the detection the head made for each. */
function orderedTail(seen: number[], mismatches: number[]): Stage {
  return {
    id: 'tail',
    process: (ctx: StageContext) => {
      seen.push(ctx.frame.seq);
      const d = ctx.artifacts.detections[0];
      if (d === undefined || d.classId !== ctx.frame.seq % 7) mismatches.push(ctx.frame.seq);
      return undefined;
    },
  };
}

function collect(rt: Runtime): { outs: OutputEnvelope[]; health: HealthEvent[]; sink: { emit: (o: OutputEnvelope) => void } } {
  const outs: OutputEnvelope[] = [];
  const health: HealthEvent[] = [];
  rt.onHealth((e) => health.push(e));
  return { outs, health, sink: { emit: (o) => { outs.push(o); } } };
}

describe('ordered parallel section (FeedPipeline.parallel)', () => {
  it("onStart is told each stage's concurrency: the head's width in the head, 1 in the tail and in a serial pipeline", async () => {
    const told: Record<string, unknown> = {};
    const probe = (id: string): Stage => ({ id, process: () => undefined, onStart: (ctx) => { told[id] = ctx; } });
    const rt = new Runtime();
    const frames = () => new SyntheticSource(frameSequence(3, { width: 8, height: 8 }));
    const a = rt.addFeed({
      source: frames, cameraMode: 'fixed', sink: { emit: () => undefined },
      pipeline: FeedPipeline.builder().parallel(3, (h) => h.addStage(probe('head1')).addStage(probe('head2'))).addStage(probe('tail')).build(),
    });
    const b = rt.addFeed({ source: frames, cameraMode: 'fixed', sink: { emit: () => undefined }, stages: [probe('serial')] });
    await Promise.all([a.done, b.done]);
    await rt.shutdown();
    expect(told).toEqual({ head1: { concurrency: 3 }, head2: { concurrency: 3 }, tail: { concurrency: 1 }, serial: { concurrency: 1 } });
  });

  it('random head latencies: the head reaches its width and never exceeds it; tail and outputs see every frame in exact order with its own head result', async () => {
    const rt = new Runtime();
    const { outs, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    const seen: number[] = [];
    const mismatches: number[] = [];
    const N = 120;
    const frames = frameSequence(N, { width: 8, height: 8 });
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frames), cameraMode: 'fixed', sink,
      pipeline: FeedPipeline.builder().parallel(4, (h) => h.addStage(randomHead(7, 6, watch))).addStage(orderedTail(seen, mismatches)).build(),
    });
    await feed.done;
    await rt.shutdown();
    const order = Array.from({ length: N }, (_, i) => i);
    expect(seen).toEqual(order);
    expect(outs.map((o) => o.seq)).toEqual(order);
    expect(mismatches).toEqual([]);
    expect(watch.max).toBe(4);
    const d = feed.diagnostics();
    expect(d.parallel).toMatchObject({ width: 4, capacity: 4, inFlight: 0, depth: 0, delivered: N, tombstones: 0, gapTimeouts: 0 });
    expect(d.parallel!.maxDepthSeen).toBeGreaterThan(0); // something did finish out of order and waited
    expect(d.parallel!.maxDepthSeen).toBeLessThanOrEqual(4);
    expect(d.parallel!.reorderWait.count).toBe(N);
    expect(outs.map((o) => o.provenance.stages.map((r) => r.stageId))).toEqual(outs.map(() => ['head', 'tail']));
    expect(d.stopReason).toEqual({ kind: 'EndOfStream' });
  });

  it('is bounded: the feed never takes more frames from the source than the head plus the buffer can hold', async () => {
    const rt = new Runtime();
    const { outs, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    let worst = 0;
    let feedRef: { metrics(): { framesReceived: number; framesProcessed: number; framesFailed: number } } | undefined;
    const probe: Stage = {
      id: 'probe',
      process: () => {
        const m = feedRef!.metrics();
        // Received but not yet through the tail (this frame is in the tail now, so it counts once).
        worst = Math.max(worst, m.framesReceived - m.framesProcessed - m.framesFailed);
        return undefined;
      },
    };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(60, { width: 8, height: 8 })), cameraMode: 'fixed', sink,
      pipeline: FeedPipeline.builder().parallel(3, (h) => h.addStage(randomHead(3, 4, watch))).addStage(probe).build(),
    });
    feedRef = feed;
    await feed.done;
    expect(outs).toHaveLength(60);
    expect(worst).toBeGreaterThan(1);
    expect(worst).toBeLessThanOrEqual(3);
    await rt.shutdown();
  });

  it('a frame dropped or failed in the head is a tombstone: StageError reported, no output, and the tail never waits for it', async () => {
    const rt = new Runtime();
    const { outs, health, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    const seen: number[] = [];
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(50, { width: 8, height: 8 })), cameraMode: 'fixed', sink,
      pipeline: FeedPipeline.builder()
        .parallel(4, (h) => h.addStage(randomHead(11, 5, watch, (seq) => (seq % 10 === 3 ? StageError.processingFailed('head', `bad frame ${seq}`) : undefined))))
        .addStage(orderedTail(seen, [])).build(),
    });
    await feed.done;
    await rt.shutdown();
    const kept = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 10 !== 3);
    expect(seen).toEqual(kept);
    expect(outs.map((o) => o.seq)).toEqual(kept);
    expect(health.filter((e) => e.type === 'StageError').map((e) => (e as { error: StageError }).error.message)).toHaveLength(5);
    expect(feed.metrics()).toMatchObject({ framesProcessed: 45, framesFailed: 5, restarts: 0 });
    expect(feed.diagnostics().parallel).toMatchObject({ tombstones: 5, delivered: 50, gapTimeouts: 0 });
  });

  it('a hung head frame is dropped at its stage deadline (StageTimeout, FrameDropped), in order; later frames flow', async () => {
    const rt = new Runtime();
    const { outs, health, sink } = collect(rt);
    const hang: Stage = { id: 'head', process: (ctx) => (ctx.frame.seq === 5 ? new Promise<never>(() => {}) : sleep(1).then(() => undefined)) };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(20, { width: 8, height: 8 })), cameraMode: 'fixed', sink,
      deadlines: { stageTimeoutMs: 150 },
      pipeline: FeedPipeline.builder().parallel(3, (h) => h.addStage(hang)).addStage({ id: 'tail', process: () => undefined }).build(),
    });
    await feed.done;
    await rt.shutdown();
    expect(outs.map((o) => o.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 5));
    const types = health.filter((e) => 'feedId' in e && e.feedId === feed.id).map((e) => e.type);
    expect(types.filter((t) => t === 'StageTimeout')).toHaveLength(1);
    expect(health.find((e) => e.type === 'FrameDropped')).toMatchObject({ seq: 5, cause: 'timeout', at: 'head' });
  });

  it('stop() drains: every frame already admitted reaches the sink, in order; nothing is left in flight', async () => {
    const rt = new Runtime();
    const { outs, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    function* endless(): Generator<FrameEnvelope> { for (let i = 0; ; i++) yield frameSequence(1, { startSeq: i, width: 8, height: 8 })[0]!; }
    const feed = rt.addFeed({
      source: () => new SyntheticSource(endless(), { live: { intervalMs: 1, queueDepth: 2 } }), cameraMode: 'fixed', sink,
      pipeline: FeedPipeline.builder().parallel(4, (h) => h.addStage(randomHead(5, 8, watch))).addStage({ id: 'tail', process: () => undefined }).build(),
    });
    while (outs.length < 30) await sleep(5);
    await feed.stop();
    const m = feed.metrics();
    expect(m.framesReceived).toBe(m.framesProcessed + m.framesFailed);
    expect(m.framesFailed).toBe(0);
    // (The live source's own queue drops frames, so seq has gaps; the order is strict.)
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.seq).toBeGreaterThan(outs[i - 1]!.seq);
    expect(outs.length).toBe(m.framesProcessed);
    expect(feed.diagnostics().parallel).toMatchObject({ inFlight: 0, depth: 0 });
    await rt.shutdown();
  });

  it('a panic in the head restarts the feed in order: frames after it in flight are discarded (released), seq goes on, the poisoned frame is dropped once', async () => {
    const rt = new Runtime();
    const { outs, health, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    let panicked = false;
    const made: FrameEnvelope[] = [];
    const feed = rt.addFeed({
      source: () => {
        const frames = frameSequence(30, { width: 8, height: 8 });
        made.push(...frames);
        return new SyntheticSource(frames);
      },
      cameraMode: 'fixed', sink, restart: { maxRestarts: 2, restartDelayMs: 0 },
      pipeline: FeedPipeline.builder()
        .parallel(4, (h) => h.addStage(randomHead(9, 4, watch, (seq) => {
          if (seq === 10 && !panicked) { panicked = true; return new TypeError('boom'); }
          return undefined;
        })))
        .addStage({ id: 'tail', process: () => undefined }).build(),
    });
    await feed.done;
    await rt.shutdown();
    const seqs = outs.map((o) => o.seq);
    expect(seqs.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(seqs).not.toContain(10);
    expect(health.filter((e) => e.type === 'StagePanic')).toHaveLength(1);
    expect(health.find((e) => e.type === 'FrameDropped')).toMatchObject({ seq: 10, cause: 'panic', at: 'head' });
    expect(feed.metrics().restarts).toBe(1);
    expect(made.every((f) => f.isReleased)).toBe(true); // nothing discarded at the reset leaked
  });

  it('a panic in the head of a file feed: every frame of the file is either output once or reported dropped once; received = processed + failed; the restart resumes after the frames already admitted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nv-parallel-'));
    const path = join(dir, 'clip.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=40', '!', 'video/x-raw,width=64,height=48,framerate=30/1', '!',
      'x264enc', 'speed-preset=ultrafast', 'key-int-max=10', '!', 'mp4mux', '!', 'filesink', `location=${path}`], { stdio: 'pipe', timeout: 30_000 });
    const rt = new Runtime();
    const { outs, health, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    let panicked = false;
    const feed = rt.addFeed({
      source: { kind: 'file', path }, cameraMode: 'fixed', sink, restart: { maxRestarts: 2, restartDelayMs: 0 },
      pipeline: FeedPipeline.builder()
        .parallel(4, (h) => h.addStage(randomHead(13, 6, watch, (seq) => {
          if (seq === 12 && !panicked) { panicked = true; return new TypeError('boom'); }
          return undefined;
        })))
        .addStage({ id: 'tail', process: () => undefined }).build(),
    });
    await feed.done;
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
    const raw = (o: OutputEnvelope) => o.provenance.source.mediaTs;
    const dropped = health.filter((e) => e.type === 'FrameDropped') as Extract<HealthEvent, { type: 'FrameDropped' }>[];
    expect(dropped[0]).toMatchObject({ seq: 12, cause: 'panic', at: 'head' });
    expect(dropped.slice(1).every((d) => d.cause === 'panic' && d.seq > 12)).toBe(true);
    // Each of the 40 frames of the file exactly once: as an output or as a reported drop.
    const seen = [...outs.map(raw), ...dropped.map((d) => d.mediaTs)].sort((a, b) => a - b);
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    const m = feed.metrics();
    expect(m.framesReceived).toBe(m.framesProcessed + m.framesFailed);
    expect(m).toMatchObject({ framesProcessed: outs.length, framesFailed: dropped.length, restarts: 1 });
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.seq).toBeGreaterThan(outs[i - 1]!.seq);
    const types = health.filter((e) => 'feedId' in e && e.feedId === feed.id).map((e) => e.type);
    expect(types.indexOf('StagePanic')).toBeLessThan(types.indexOf('FrameDropped'));
    expect(types.indexOf('FrameDropped')).toBeLessThan(types.indexOf('FeedRestarting'));
  });

  it('a source discontinuity inside the parallel section splits trajectories in frame order (the frames ahead of it commit into the old segment first)', async () => {
    // Frames 0..9 at 10 ms, then the source restarts its clock (a backward jump) at frame 10.
    const frames = [...frameSequence(10, { width: 8, height: 8, fps: 100 }), ...frameSequence(10, { width: 8, height: 8, fps: 100, startSeq: 10 }).map((f) => f)];
    const rt = new Runtime();
    const { outs, sink } = collect(rt);
    const rand = prng(17);
    const segmentsSeen: number[] = [];
    const head: Stage = {
      id: 'head',
      process: async () => {
        await sleep(Math.floor(rand() * 5));
        return { detections: [createDetection({ id: detectionId(1), classId: 0, confidence: 0.9, bbox: BBox.of(0.1, 0.1, 0.3, 0.3) })] };
      },
    };
    const reader: Stage = { id: 'reader', process: (ctx) => { segmentsSeen.push(ctx.temporal.trajectorySegmentCount(trackId(1))); return undefined; } };
    const tracker = new MockTrackerStage('tracker');
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frames.map((f, i) => (i >= 10 ? retimeFrame(f, monotonicTs((i - 10) * 10_000_000), f.seq) : f))),
      cameraMode: 'fixed', sink,
      pipeline: FeedPipeline.builder().parallel(4, (h) => h.addStage(head)).addStage(tracker).addStage(reader).build(),
    });
    await feed.done;
    await rt.shutdown();
    expect(outs).toHaveLength(20);
    // The track exists from frame 1 on (the reader sees the store before its frame's commit): one
    // segment until the jump; the jump frame's tail splits it, so frames 10.. see two.
    expect(segmentsSeen.slice(2, 10)).toEqual(Array(8).fill(1));
    expect(segmentsSeen.slice(10)).toEqual(Array(10).fill(2));
  });

  it('with a shared batch point in the head: N feeds, each in frame order', async () => {
    const rt = new Runtime();
    let maxBatch = 0;
    const batch: BatchHandle = await rt.createBatch({
      id: 'det',
      process: async (entries) => {
        maxBatch = Math.max(maxBatch, entries.length);
        await sleep(2);
        for (const e of entries) e.output = { detections: [createDetection({ id: detectionId(1), classId: e.frame.seq % 7, confidence: 1, bbox: BBox.of(0, 0, 0.5, 0.5) })] };
      },
    }, { maxBatchSize: 8, maxLatencyMs: 5, maxInFlightPerFeed: 4 });
    const results = [1, 2].map(() => ({ seen: [] as number[], mismatches: [] as number[], outs: [] as number[] }));
    const feeds = results.map((r) => rt.addFeed({
      source: () => new SyntheticSource(frameSequence(40, { width: 8, height: 8 })), cameraMode: 'fixed',
      sink: { emit: (o) => { r.outs.push(o.seq); } },
      pipeline: FeedPipeline.builder().parallel(4, (h) => h.batch(batch)).addStage(orderedTail(r.seen, r.mismatches)).build(),
    }));
    await Promise.all(feeds.map((f) => f.done));
    await rt.shutdown();
    const order = Array.from({ length: 40 }, (_, i) => i);
    for (const r of results) {
      expect(r.seen).toEqual(order);
      expect(r.outs).toEqual(order);
      expect(r.mismatches).toEqual([]);
    }
    expect(maxBatch).toBeGreaterThan(1); // frames of the same feed shared batches: the head was parallel
  });

  it('JSON settings: parallel { width, headStages } splits the code\'s stages into head and tail; errors name the field', async () => {
    const rt = new Runtime();
    const { outs, sink } = collect(rt);
    const watch = { now: 0, max: 0 };
    const seen: number[] = [];
    const cfg = feedConfigFromSettings(
      { source: { kind: 'testPattern', frames: 1 }, cameraMode: 'fixed', parallel: { width: 3 } },
      { stages: [randomHead(21, 5, watch), orderedTail(seen, [])], sink },
    );
    expect(cfg.pipeline?.parallel).toMatchObject({ width: 3 });
    expect(cfg.pipeline?.pre.map((st) => st.id)).toEqual(['head']);
    const feed = rt.addFeed({ ...cfg, source: () => new SyntheticSource(frameSequence(30, { width: 8, height: 8 })) });
    await feed.done;
    await rt.shutdown();
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(outs).toHaveLength(30);
    expect(watch.max).toBe(3);
    const s: Stage = { id: 's', process: () => undefined };
    const field = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return (e as ConfigError).field; } return undefined; };
    expect(field(() => feedConfigFromSettings({ source: { kind: 'testPattern' }, cameraMode: 'fixed', parallel: { width: 2, headStages: 3 } }, { stages: [s] }))).toBe('parallel.headStages');
    expect(field(() => feedConfigFromSettings({ source: { kind: 'testPattern' }, cameraMode: 'fixed', parallel: { width: 2 } }, { pipeline: FeedPipeline.of([s]) }))).toBe('parallel');
    expect(field(() => feedConfigFromSettings({ source: { kind: 'testPattern' }, cameraMode: 'fixed', parallel: { width: 0 } }, { stages: [s] }))).toBe('parallel.width');
  });

  it('config: a batch point in a parallel head must take width frames per feed in flight (ConfigError naming the width)', async () => {
    const rt = new Runtime();
    const batch = await rt.createBatch({ id: 'det', process: () => undefined }, { maxInFlightPerFeed: 2 });
    const make = (width: number) => () => rt.addFeed({
      source: () => new SyntheticSource(frameSequence(2, { width: 8, height: 8 })), cameraMode: 'fixed',
      pipeline: FeedPipeline.builder().parallel(width, (h) => h.batch(batch)).build(),
    });
    let err: unknown;
    try { make(3)(); } catch (e) { err = e; }
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as ConfigError).field).toBe('pipeline.parallel.width');
    expect((err as Error).message).toMatch(/maxInFlightPerFeed >= 3/);
    await make(2)().done;
    await rt.shutdown();
  });

  it('config: width in [1, 64], first and once, batch point only in the head, no empty head, fixed cameras only', () => {
    const s: Stage = { id: 's', process: () => undefined };
    const fails = (f: () => unknown, field: string) => {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(ConfigError.isInstance(err), String(err)).toBe(true);
      expect((err as ConfigError).field).toBe(field);
    };
    fails(() => FeedPipeline.builder().parallel(0, (h) => h.addStage(s)), 'pipeline.parallel.width');
    fails(() => FeedPipeline.builder().parallel(65, (h) => h.addStage(s)), 'pipeline.parallel.width');
    fails(() => FeedPipeline.builder().parallel(1.5, (h) => h.addStage(s)), 'pipeline.parallel.width');
    fails(() => FeedPipeline.builder().addStage(s).parallel(2, (h) => h.addStage(s)), 'pipeline.parallel');
    fails(() => FeedPipeline.builder().parallel(2, (h) => h.addStage(s)).parallel(2, (h) => h.addStage(s)), 'pipeline.parallel');
    fails(() => FeedPipeline.builder().parallel(2, () => undefined), 'pipeline.parallel');
    const fake = { processorId: 'b' } as unknown as BatchHandle;
    fails(() => FeedPipeline.builder().parallel(2, (h) => h.addStage(s)).batch(fake), 'pipeline.batch');
    const p = FeedPipeline.builder().parallel(2, (h) => h.addStage(s)).addStage({ id: 't', process: () => undefined }).build();
    expect(p.parallel).toMatchObject({ width: 2 });
    expect(p.stageCount).toBe(2);
    const rt = new Runtime();
    fails(() => rt.addFeed({
      source: () => new SyntheticSource([]), cameraMode: 'observed', pipeline: p,
      viewProvider: { id: 'v', poll: () => ({}) } as never,
    }), 'cameraMode');
  });
});
