import { ManualClock, type HealthEvent, type HealthEventOf } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { Stage, StageOutput } from '@nv/perception';
import { MockStage, SyntheticSource, frameSequence } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { FeedPipeline, Runtime, type OutputEnvelope } from './index.js';

const never = <T>(): Promise<T> => new Promise<T>(() => { /* never settles */ });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const collect = () => {
  const health: HealthEvent[] = [];
  const outs: OutputEnvelope[] = [];
  return { health, outs, sink: { emit: (o: OutputEnvelope) => { outs.push(o); } } };
};
const ofType = <T extends HealthEvent['type']>(evs: HealthEvent[], t: T) => evs.filter((e): e is HealthEventOf<T> => e.type === t);

describe('stage deadlines', () => {
  it('a stage past its deadline drops that frame (StageTimeout, FrameDropped); its late result is discarded and the frame it held is released when it settles', async () => {
    const rt = new Runtime();
    const { health, outs, sink } = collect();
    rt.onHealth((e) => health.push(e));
    let late: { frame: FrameEnvelope; settle: () => void } | undefined;
    const slow: Stage = {
      id: 'slow',
      process: (ctx) => {
        if (ctx.frame.seq !== 2) return undefined;
        return new Promise<StageOutput>((resolve) => {
          late = { frame: ctx.frame, settle: () => resolve({ signals: [{ name: 'late', value: 1 }] } as unknown as StageOutput) };
        });
      },
    };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', stages: [slow, new MockStage({ id: 'after' })], sink,
      deadlines: { stageTimeoutMs: 60_000, stages: { slow: 20 } },
    });
    await feed.done;
    expect(outs.map((o) => o.seq)).toEqual([0, 1, 3, 4]);
    expect(ofType(health, 'StageTimeout')).toEqual([{ type: 'StageTimeout', feedId: feed.id, stageId: 'slow', timeoutMs: 20, consecutive: 1 }]);
    expect(ofType(health, 'FrameDropped')).toMatchObject([{ seq: 2, cause: 'timeout', at: 'slow' }]);
    expect(feed.metrics()).toMatchObject({ framesFailed: 1, framesTimedOut: 1, framesProcessed: 4, restarts: 0 });
    expect(feed.metrics().stages['after']!.framesProcessed).toBe(4); // the stage after it never saw the dropped frame
    // The frame stayed alive for the late call while its session ran; the session end released it.
    expect(late!.frame.isReleased).toBe(true);
    late!.settle(); // a late result goes nowhere
    await sleep(1);
    expect(outs).toHaveLength(4);
    await rt.shutdown();
  });

  it('a late call that settles while the feed runs releases the frame it held at once', async () => {
    const rt = new Runtime();
    const { health, sink } = collect();
    rt.onHealth((e) => health.push(e));
    let held: FrameEnvelope | undefined;
    let settleLate: (() => void) | undefined;
    const seen: [boolean, boolean][] = [];
    const stage: Stage = {
      id: 'slow',
      process: async (ctx) => {
        if (ctx.frame.seq === 0) { held = ctx.frame; await new Promise<void>((r) => { settleLate = r; }); return undefined; }
        if (ctx.frame.seq === 1) {
          const before = held!.isReleased;
          settleLate!();
          await new Promise((r) => setImmediate(r));
          seen.push([before, held!.isReleased]);
        }
        return undefined;
      },
    };
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [stage], sink, deadlines: { stages: { slow: 30 } } });
    await feed.done;
    expect(ofType(health, 'StageTimeout').map((e) => [e.stageId, e.consecutive])).toEqual([['slow', 1]]);
    expect(seen).toEqual([[false, true]]); // held for the late call, released as soon as it settled
    expect(feed.metrics().framesProcessed).toBe(2);
    await rt.shutdown();
  });

  it('timeouts in a row (default 3) restart the feed per its policy; a completed frame resets the count', async () => {
    const rt = new Runtime();
    const { health, sink } = collect();
    rt.onHealth((e) => health.push(e));
    let sessions = 0;
    const hang: Stage = { id: 'hang', process: (ctx) => (sessions === 1 && ctx.frame.seq !== 1 ? never() : undefined) };
    const feed = rt.addFeed({
      source: () => { sessions++; return new SyntheticSource(frameSequence(5)); }, cameraMode: 'fixed', stages: [hang], sink,
      deadlines: { stageTimeoutMs: 10 }, restart: { restartDelayMs: 0 },
    });
    await feed.done;
    expect(sessions).toBe(2);
    // seq 0 times out, seq 1 completes (count reset), seq 2, 3, 4 time out: the third in a row restarts.
    expect(ofType(health, 'StageTimeout').map((e) => e.consecutive)).toEqual([1, 1, 2, 3]);
    const panic = ofType(health, 'StagePanic');
    expect(panic).toMatchObject([{ stageId: 'hang', detail: expect.stringContaining('3 timeouts in a row') }]);
    expect(health.map((e) => e.type)).toContain('FeedRestarting');
    expect(feed.metrics()).toMatchObject({ restarts: 1, framesTimedOut: 4, framesProcessed: 1 + 5 });
    await rt.shutdown();
  });

  it('a synchronous stage that overran its deadline is caught when it returns (it cannot be interrupted): the frame is dropped', async () => {
    // Fake time: the stage "takes" 5 ms of the runtime's clock on frame 1 and none on the others.
    const clock = new ManualClock();
    const rt = new Runtime({ clock });
    const { health, outs, sink } = collect();
    rt.onHealth((e) => health.push(e));
    const busy: Stage = { id: 'busy', process: (ctx) => { if (ctx.frame.seq === 1) clock.advance(5); } };
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [busy], sink, deadlines: { stages: { busy: 1 } } });
    await feed.done;
    expect(outs.map((o) => o.seq)).toEqual([0, 2]);
    expect(ofType(health, 'StageTimeout')).toMatchObject([{ stageId: 'busy', timeoutMs: 1 }]);
    expect(outs[1]!.provenance.stages[0]!.latencyNs).toBe(0); // provenance reads the same clock
    await rt.shutdown();
  });

  it('the batch point\'s deadline drops the frame with a StageTimeout naming the processor', async () => {
    const rt = new Runtime();
    const { health, outs, sink } = collect();
    rt.onHealth((e) => health.push(e));
    let calls = 0;
    const det = await rt.createBatch({ id: 'det', process: async () => { if (calls++ === 1) await sleep(80); } }, { maxBatchSize: 1, maxLatencyMs: 1, responseTimeoutMs: 20 });
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(2)), cameraMode: 'fixed', pipeline: FeedPipeline.builder().batch(det).build(), sink });
    await feed.done;
    expect(ofType(health, 'StageTimeout')).toMatchObject([{ stageId: 'det', timeoutMs: 21, consecutive: 1 }]);
    expect(ofType(health, 'FrameDropped')).toMatchObject([{ seq: 1, cause: 'timeout', at: 'det' }]);
    expect(ofType(health, 'BatchTimeout')).toMatchObject([{ processorId: 'det', timedOutCount: 1 }]);
    expect(outs.map((o) => o.seq)).toEqual([0]);
    await rt.shutdown();
  });
});

describe('stop() and shutdown() always return', () => {
  it('a hung async stage (never settles, no stage deadline): stop returns at its timeout, names the stage, and the feed is stopped', async () => {
    const rt = new Runtime();
    const { health, sink } = collect();
    rt.onHealth((e) => health.push(e));
    const watch = new MockStage({ id: 'watch' });
    const hang: Stage = { id: 'hang', process: (ctx) => (ctx.frame.seq === 1 ? never() : undefined) };
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', stages: [watch, hang], sink, deadlines: { stageTimeoutMs: 0 } });
    while (feed.metrics().framesReceived < 2) await sleep(1);
    await feed.stop({ timeoutMs: 30 });
    expect(feed.state()).toBe('stopped');
    expect(ofType(health, 'StopTimeout')).toEqual([{ type: 'StopTimeout', feedId: feed.id, stragglers: [{ kind: 'stage', stageId: 'hang', call: 'process' }] }]);
    expect(health.some((e) => e.type === 'SinkTimeout')).toBe(false); // the sink was not the straggler
    expect(health.at(-1)).toMatchObject({ type: 'FeedStopped', reason: { kind: 'UserRequested' } });
    expect(watch.lifecycle).toEqual(['start', 'stop']); // stages were still told to stop
    await rt.shutdown();
  });

  it('a hung onStop and a sink that never settles: shutdown returns at its timeout, naming each straggler correctly', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const stuckStop: Stage = { id: 'stuck', process: () => undefined, onStop: () => never() };
    const a = rt.addFeed({ source: () => new SyntheticSource(frameSequence(2)), cameraMode: 'fixed', stages: [stuckStop] });
    const b = rt.addFeed({ source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [], sink: { emit: () => never() } });
    while (a.metrics().framesReceived < 2 || b.metrics().framesProcessed < 3) await sleep(1);
    await rt.shutdown({ timeoutMs: 30 });
    expect([a.state(), b.state()]).toEqual(['stopped', 'stopped']);
    const st = ofType(health, 'StopTimeout');
    expect(st.find((e) => e.feedId === a.id)?.stragglers).toEqual([{ kind: 'stage', stageId: 'stuck', call: 'onStop' }]);
    expect(st.find((e) => e.feedId === b.id)?.stragglers).toEqual([{ kind: 'sink', pendingOutputs: 3 }]);
    expect(ofType(health, 'SinkTimeout').map((e) => e.feedId)).toEqual([b.id]);
    expect(b.metrics()).toMatchObject({ outputsEmitted: 0, outputsDropped: 3 }); // the abandoned outputs are counted
    expect(health.filter((e) => e.type === 'FeedStopped')).toHaveLength(2);
  });
});
