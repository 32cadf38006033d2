import { BBox, ConfigError, RuntimeError, StageError, detectionId, type HealthEvent } from '@nv/core';
import { createDetection, type BatchEntry, type BatchProcessor } from '@nv/perception';
import { MockStage, MockTrackerStage, SyntheticSource, frameSequence, readSeqMarker } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { FeedPipeline, Runtime, resolveBatchConfig, type OutputEnvelope } from './index.js';

/** A processor that records its batches and emits one detection per frame, at x = seq/100. */
class RecordingProcessor implements BatchProcessor {
  readonly batches: { feed: number; seq: number }[][] = [];
  started = 0;
  stopped = 0;
  constructor(readonly id = 'det', readonly delayMs = 0, readonly fail?: (entries: BatchEntry[]) => unknown) {}
  onStart() { this.started++; }
  onStop() { this.stopped++; }
  async process(entries: BatchEntry[]) {
    this.batches.push(entries.map((e) => ({ feed: e.feedId, seq: e.frame.seq })));
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const f = this.fail?.(entries);
    if (f) throw f;
    for (const e of entries) {
      const x = (e.frame.seq % 90) / 100;
      e.output = { detections: [createDetection({ id: detectionId(e.frame.seq + 1), classId: 0, confidence: 0.9, bbox: BBox.of(x, 0.1, x + 0.05, 0.2) })] };
      expect(readSeqMarker(e.frame)).toBe(e.frame.seq); // the frame is readable during process
    }
  }
}

const collector = () => {
  const outs: OutputEnvelope[] = [];
  return { outs, sink: { emit: (o: OutputEnvelope) => { outs.push(o); } } };
};

describe('batch config', () => {
  it('applies the reference defaults', () => {
    expect(resolveBatchConfig()).toEqual({
      maxBatchSize: 4, maxLatencyMs: 50, queueCapacity: 16, responseTimeoutMs: 5000, maxInFlightPerFeed: 1, startupTimeoutMs: 30_000,
    });
    expect(resolveBatchConfig({ maxBatchSize: 1 }).queueCapacity).toBe(4);
  });
  it.each([
    [{ maxBatchSize: 0 }, 'batch.maxBatchSize'],
    [{ maxLatencyMs: 0 }, 'batch.maxLatencyMs'],
    [{ maxBatchSize: 8, queueCapacity: 4 }, 'batch.queueCapacity'],
    [{ maxInFlightPerFeed: 0 }, 'batch.maxInFlightPerFeed'],
    [{ bogus: 1 }, 'batch.bogus'],
  ])('refuses %j naming the field', (cfg, field) => {
    try { resolveBatchConfig(cfg as never); expect.unreachable(); } catch (e) {
      expect(ConfigError.isInstance(e)).toBe(true);
      expect(JSON.stringify((e as ConfigError).toJSON())).toContain(field);
    }
  });
});

describe('Runtime.createBatch', () => {
  it('3 feeds share one processor: FIFO batches of one frame per feed (fill ratio 1), same detections as per frame, tracker after the batch point', async () => {
    const rt = new Runtime();
    const proc = new RecordingProcessor();
    const batch = await rt.createBatch(proc, { maxBatchSize: 3, maxLatencyMs: 1000 });
    expect(proc.started).toBe(1);
    const cols = [collector(), collector(), collector()];
    const feeds = cols.map((c, i) => rt.addFeed({
      source: () => new SyntheticSource(frameSequence(30, { feedId: i + 1 })), cameraMode: 'fixed', sink: c.sink,
      pipeline: FeedPipeline.builder().batch(batch).addStage(new MockTrackerStage(`trk`)).build(),
    }));
    await Promise.all(feeds.map((f) => f.done));
    for (const c of cols) {
      expect(c.outs.map((o) => o.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      for (const o of c.outs) {
        expect(o.artifacts.detections.map((d) => d.bbox.xMin)).toEqual([(o.seq % 90) / 100]);
        expect(o.artifacts.tracks).toHaveLength(1); // the post-batch tracker saw the batch's detections
        expect(o.provenance.stages.map((s) => [s.stageId, s.outcome.kind])).toEqual([['det', 'ok'], ['trk', 'ok']]);
      }
    }
    const m = batch.metrics();
    expect(m).toMatchObject({ itemsSubmitted: 90, itemsProcessed: 90, itemsRejected: 0, itemsTimedOut: 0, pendingItems: 0, consecutiveErrors: 0 });
    // Each feed has at most one frame in flight, so every batch holds one frame of each feed.
    for (const b of proc.batches) expect(new Set(b.map((x) => x.feed)).size).toBe(b.length);
    expect(m.avgFillRatio).toBeGreaterThanOrEqual(0.9);
    expect(m.batchesDispatched).toBeLessThanOrEqual(34);
    const d = rt.diagnostics();
    expect(d.batches).toHaveLength(1);
    expect(d.batches[0]).toMatchObject({ processorId: 'det', maxBatchSize: 3, queueCapacity: 12 });
    expect(d.feeds.every((f) => f.batchProcessorId === 'det')).toBe(true);
    expect(d.feeds[0]!.metrics.stages['det']!.framesProcessed).toBe(30);
    await rt.shutdown();
    expect(proc.stopped).toBe(1);
  });

  it('stages after the batch point: async ones run, a StageError there drops the frame, a failed batch skips them, a failed pre stage skips both', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const proc = new RecordingProcessor('det', 0, (es) => (es.some((e) => e.frame.seq === 3) ? StageError.processingFailed('det', 'bad batch') : undefined));
    const batch = await rt.createBatch(proc, { maxBatchSize: 1, maxLatencyMs: 1 });
    const pre = new MockStage({ id: 'pre', failWhen: (c) => c.frame.seq === 1 });
    const post = new MockStage({ id: 'post', async: true, failWhen: (c) => c.frame.seq === 2 });
    const { outs, sink } = collector();
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', sink, validation: 'off',
      pipeline: FeedPipeline.builder().addStage(pre).batch(batch).addStage(new MockTrackerStage('trk')).addStage(post).build(),
    });
    await feed.done;
    expect(outs.map((o) => o.seq)).toEqual([0, 4]);
    expect(outs[0]!.provenance.stages.map((s) => [s.stageId, s.outcome.kind])).toEqual([['pre', 'ok'], ['det', 'ok'], ['trk', 'ok'], ['post', 'ok']]);
    expect(outs[0]!.artifacts.tracks).toHaveLength(1);
    // seq 1 failed before the batch point (never submitted); seq 3's batch failed (post stages not called)
    expect(proc.batches.flat().map((b) => b.seq)).toEqual([0, 2, 3, 4]);
    expect(post.calls.map((c) => [c.seq, c.detectionsSeen, c.tracksSeen])).toEqual([[0, 1, 1], [2, 1, 1], [4, 1, 1]]);
    expect(health.filter((e) => e.type === 'StageError').map((e) => e.type === 'StageError' && e.stageId)).toEqual(['pre', 'post']);
    expect(feed.metrics()).toMatchObject({ framesProcessed: 2, framesFailed: 3 });
    expect(feed.metrics().stages['post']).toMatchObject({ framesProcessed: 3, errors: 1 });
    await rt.shutdown();
  });

  it('a partial batch is dispatched after maxLatencyMs', async () => {
    const rt = new Runtime();
    const proc = new RecordingProcessor();
    const batch = await rt.createBatch(proc, { maxBatchSize: 8, maxLatencyMs: 20 });
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', pipeline: FeedPipeline.builder().batch(batch).build() });
    await feed.done;
    expect(proc.batches.map((b) => b.length)).toEqual([1, 1, 1, 1, 1]);
    expect(batch.metrics().avgFillRatio).toBeCloseTo(1 / 8);
    expect(batch.metrics().avgFormationMs).toBeGreaterThanOrEqual(15);
    await rt.shutdown();
  });

  it('a slow processor: the feed times out (typed, BatchTimeout), then the in-flight cap refuses its next frames until the item drains', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const proc = new RecordingProcessor('slow', 250);
    const batch = await rt.createBatch(proc, { maxBatchSize: 1, maxLatencyMs: 1, responseTimeoutMs: 30 });
    const { outs, sink } = collector();
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(6), { intervalMs: 20 }), cameraMode: 'fixed', sink,
      pipeline: FeedPipeline.builder().batch(batch).build(),
    });
    await feed.done;
    const m = batch.metrics();
    expect(m.itemsTimedOut).toBeGreaterThanOrEqual(1);
    expect(m.itemsRejected).toBeGreaterThanOrEqual(1); // in-flight cap while the timed-out item is still being processed
    expect(m.itemsTimedOut + m.itemsRejected + outs.length).toBe(6);
    expect(health.some((e) => e.type === 'BatchTimeout')).toBe(true);
    expect(health.some((e) => e.type === 'BatchInFlightExceeded')).toBe(true);
    const fm = feed.metrics();
    expect(fm.framesFailed).toBe(6 - outs.length);
    expect(fm.stages['slow']!.errors).toBe(6 - outs.length);
    await rt.shutdown();
    expect(batch.metrics().pendingItems).toBe(0);
  });

  it('a full queue rejects submissions (BatchSubmissionRejected), never blocks', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const proc = new RecordingProcessor('q', 60);
    const batch = await rt.createBatch(proc, { maxBatchSize: 1, maxLatencyMs: 1, queueCapacity: 1 });
    const feeds = [1, 2, 3, 4].map((i) => rt.addFeed({
      source: () => new SyntheticSource(frameSequence(4, { feedId: i })), cameraMode: 'fixed', pipeline: FeedPipeline.builder().batch(batch).build(),
    }));
    await Promise.all(feeds.map((f) => f.done));
    const m = batch.metrics();
    expect(m.itemsRejected).toBeGreaterThan(0);
    expect(m.itemsProcessed + m.itemsRejected).toBe(16);
    expect(health.filter((e) => e.type === 'BatchSubmissionRejected').length).toBeGreaterThan(0);
    await rt.shutdown();
  });

  it('a processor error fails every frame of that batch (BatchError, frames dropped, feeds continue)', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const proc = new RecordingProcessor('flaky', 0, (es) => (es.some((e) => e.frame.seq === 2) ? StageError.processingFailed('flaky', 'bad batch') : undefined));
    const batch = await rt.createBatch(proc, { maxBatchSize: 2, maxLatencyMs: 200 });
    const cols = [collector(), collector()];
    const feeds = cols.map((c, i) => rt.addFeed({
      source: () => new SyntheticSource(frameSequence(5, { feedId: i + 1 })), cameraMode: 'fixed', sink: c.sink, pipeline: FeedPipeline.builder().batch(batch).build(),
    }));
    await Promise.all(feeds.map((f) => f.done));
    for (const c of cols) expect(c.outs.map((o) => o.seq)).not.toContain(2);
    expect(cols.reduce((n, c) => n + c.outs.length, 0)).toBeGreaterThanOrEqual(8);
    expect(health.filter((e) => e.type === 'BatchError').length).toBeGreaterThanOrEqual(1);
    expect(feeds.every((f) => f.metrics().restarts === 0)).toBe(true);
    await rt.shutdown();
  });

  it('duplicate ids, failing and slow onStart are typed errors; a batch from another runtime is refused', async () => {
    const rt = new Runtime();
    await rt.createBatch(new RecordingProcessor('a'));
    await expect(rt.createBatch(new RecordingProcessor('a'))).rejects.toMatchObject({ kind: 'DuplicateBatchProcessorId' });
    const bad: BatchProcessor = { id: 'b', process: () => {}, onStart: () => { throw new Error('no model'); } };
    const e = await rt.createBatch(bad).catch((x: unknown) => x);
    expect(RuntimeError.isInstance(e) && e.kind).toBe('WorkerStartFailed');
    const slow: BatchProcessor = { id: 'c', process: () => {}, onStart: () => new Promise((r) => setTimeout(r, 500)) };
    await expect(rt.createBatch(slow, { startupTimeoutMs: 20 })).rejects.toMatchObject({ kind: 'WorkerStartFailed' });
    const other = await new Runtime().createBatch(new RecordingProcessor('z'));
    expect(() => rt.addFeed({ source: () => new SyntheticSource([]), cameraMode: 'fixed', pipeline: FeedPipeline.builder().batch(other).build() }))
      .toThrow(expect.objectContaining({ kind: 'InvalidPolicy' }));
    expect(() => FeedPipeline.builder().batch(other).batch(other)).toThrow(expect.objectContaining({ kind: 'InvalidPolicy' }));
    await rt.shutdown();
    await expect(rt.createBatch(new RecordingProcessor('late'))).rejects.toMatchObject({ kind: 'ShutdownInProgress' });
  });
});
