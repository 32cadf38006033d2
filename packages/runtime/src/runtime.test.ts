import { BBox, ConfigError, MediaError, type HealthEvent, type HealthEventOf } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { MediaSource, mediaDiagnostics } from '@nv/media';
import type { Stage } from '@nv/perception';
import {
  MockDetectorStage, MockStage, MockTrackerStage, SyntheticSource, frameSequence, readSeqMarker,
} from '@nv/test-util';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Runtime, type OutputEnvelope } from './index.js';

const mover = { classId: 0, at: (t: number) => BBox.of(0.1 + 0.05 * t, 0.4, 0.2 + 0.05 * t, 0.5) };
const collector = (delayMs = 0) => {
  const outs: OutputEnvelope[] = [];
  return { outs, sink: { emit: async (o: OutputEnvelope) => { if (delayMs) await new Promise((r) => setTimeout(r, delayMs)); outs.push(o); } } };
};
const types = (evs: HealthEvent[]) => evs.map((e) => e.type);

describe('Runtime with synthetic sources', () => {
  it('runs stages in order per frame, commits tracks, emits one provenanced output per frame in order, stops at end of stream', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const { outs, sink } = collector();
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(20, { fps: 10 })), cameraMode: 'fixed',
      stages: [new MockDetectorStage('det', [mover]), new MockTrackerStage('trk')], sink,
    });
    await feed.done;
    expect(outs.map((o) => o.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const last = outs.at(-1)!;
    expect(last.artifacts.tracks).toHaveLength(1);
    expect(last.provenance.stages.map((s) => [s.stageId, s.outcome.kind])).toEqual([['det', 'ok'], ['trk', 'ok']]);
    expect(last.provenance.totalLatencyNs).toBeGreaterThan(0);
    expect(last.provenance.view).toMatchObject({ epoch: 0, motionSource: { kind: 'none' } });
    expect(feed.metrics()).toMatchObject({ framesReceived: 20, framesProcessed: 20, outputsEmitted: 20, tracksActive: 1 });
    expect(types(health).slice(-2)).toEqual(['SourceEos', 'FeedStopped']);
    expect(health.at(-1)).toMatchObject({ reason: { kind: 'EndOfStream' } });
    await rt.shutdown();
  });

  it('a StageError drops that frame only (health event, no output); the feed continues', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const { outs, sink } = collector();
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(6)), cameraMode: 'fixed', sink,
      stages: [new MockStage({ id: 'flaky', failWhen: (c) => c.frame.seq % 3 === 1 })],
    });
    await feed.done;
    expect(outs.map((o) => o.seq)).toEqual([0, 2, 3, 5]);
    expect(health.filter((e) => e.type === 'StageError')).toHaveLength(2);
    expect(feed.metrics()).toMatchObject({ framesFailed: 2, restarts: 0 });
    await rt.shutdown();
  });

  it('a panic restarts the feed in the documented order; the source is re-created; epoch + 1 on a fixed camera', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    let sessions = 0;
    const p = new MockStage({ id: 'p', panicWhen: (c) => sessions === 1 && c.frame.seq === 2 });
    const { outs, sink } = collector();
    const feed = rt.addFeed({
      source: () => { sessions++; return new SyntheticSource(frameSequence(4)); }, cameraMode: 'fixed', stages: [p], sink,
      restart: { restartDelayMs: 10 },
    });
    await feed.done;
    expect(sessions).toBe(2);
    expect(p.lifecycle).toEqual(['start', 'stop', 'epoch:1', 'start', 'stop']);
    expect(types(health)).toEqual(['StagePanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'SourceDiscontinuity', 'SourceEos', 'FeedStopped']);
    // One timeline for the feed: the new session (a source that cannot resume, so it starts over
    // at raw ts 0) continues one frame after the frame that panicked; seq continues too.
    expect(outs.map((o) => [o.seq, o.view.epoch, o.provenance.source.mediaSeq, o.provenance.source.session])).toEqual([
      [0, 0, 0, 1], [1, 0, 1, 1], [3, 1, 0, 2], [4, 1, 1, 2], [5, 1, 2, 2], [6, 1, 3, 2],
    ]);
    const frame = 1e9 / 30;
    expect(outs.map((o) => Math.abs(o.ts / frame - Math.round(o.ts / frame)) < 1e-6 ? Math.round(o.ts / frame) : o.ts)).toEqual([0, 1, 3, 4, 5, 6]);
    expect(health.find((e) => e.type === 'FrameDropped')).toMatchObject({ seq: 2, mediaTs: Math.round(2 * frame), cause: 'panic', at: 'p' });
    expect(health.find((e) => e.type === 'SourceDiscontinuity')).toMatchObject({ kind: 'reconnect', rawBefore: Math.round(2 * frame), rawAfter: 0, ts: outs[2]!.ts, count: 1 });
    expect(feed.metrics().restarts).toBe(1);
    await rt.shutdown();
  });

  it('restarts are bounded: a feed that always panics stops with RestartLimitExceeded', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [new MockStage({ panicWhen: () => true })],
      restart: { maxRestarts: 2, restartDelayMs: 1 },
    });
    await feed.done;
    expect(health.filter((e) => e.type === 'FeedRestarting')).toHaveLength(2);
    expect(health.at(-1)).toMatchObject({ type: 'FeedStopped', reason: { kind: 'RestartLimitExceeded', restartCount: 2 } });
    await rt.shutdown();
  });

  it('a source failure restarts per policy and reports the disconnection', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    let n = 0;
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(3), n++ === 0 ? { failAt: 1 } : {}), cameraMode: 'fixed', stages: [new MockStage()],
      restart: { restartDelayMs: 1 },
    });
    await feed.done;
    const disc = health.find((e) => e.type === 'SourceDisconnected');
    expect(disc && MediaError.isInstance((disc as { reason: unknown }).reason)).toBe(true);
    expect(types(health)).toContain('FeedRestarting');
    expect(feed.metrics().framesProcessed).toBe(4); // 1 before the failure + 3 after the restart
    await rt.shutdown();
  });

  it.each([
    ['observed without a provider', { cameraMode: 'observed' as const }, 'CameraModeConflict'],
    ['fixed with a provider', { cameraMode: 'fixed' as const, viewProvider: { poll: () => ({}) } }, 'CameraModeConflict'],
    ['sink capacity 0', { cameraMode: 'fixed' as const, sinkQueueCapacity: 0 }, 'InvalidCapacity'],
    ['missing camera mode', { cameraMode: undefined as never }, 'MissingRequired'],
  ])('config conflicts are typed errors at addFeed: %s', (_n, cfg, kind) => {
    const rt = new Runtime();
    const add = () => rt.addFeed({ source: () => new SyntheticSource([]), stages: [], ...cfg });
    expect(add).toThrow(expect.objectContaining({ kind }));
    try { add(); } catch (e) { expect(ConfigError.isInstance(e)).toBe(true); }
  });

  it('an observed feed with an empty provider report is Unknown/Degraded, never Stable', async () => {
    const rt = new Runtime();
    const { outs, sink } = collector();
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'observed', viewProvider: { poll: () => ({}) }, stages: [], sink });
    await feed.done;
    for (const o of outs) {
      expect(o.view.motion.kind).toBe('unknown');
      expect(o.view.validity.kind).toBe('degraded');
    }
    await rt.shutdown();
  });

  it('a slow sink never slows the stages: outputs beyond the queue bound are dropped and counted', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const { outs, sink } = collector(20);
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(50)), cameraMode: 'fixed', stages: [new MockStage()], sink, sinkQueueCapacity: 2 });
    await feed.done;
    const m = feed.metrics();
    expect(m.framesProcessed).toBe(50);
    expect(m.outputsDropped).toBeGreaterThan(0);
    expect(m.outputsEmitted + m.outputsDropped).toBe(50);
    expect(outs.map((o) => o.seq)).toEqual([...outs.map((o) => o.seq)].sort((a, b) => a - b)); // still in frame order
    // Throttled: the first drop at once, the rest summed (≤ 1 event per second, the remainder when the feed stops).
    const events = health.filter((e): e is HealthEventOf<'SinkBackpressure'> => e.type === 'SinkBackpressure');
    expect(events[0]!.outputsDropped).toBe(1);
    expect(events.reduce((n, e) => n + e.outputsDropped, 0)).toBe(m.outputsDropped);
    expect(events.length).toBeLessThan(m.outputsDropped);
    await rt.shutdown();
  });

  it('shutdown() delivers every buffered output when the sink keeps up (0 drops)', async () => {
    const rt = new Runtime();
    const { outs, sink } = collector(2);
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(30, {}), { intervalMs: 1 }), cameraMode: 'fixed', stages: [new MockStage()], sink, sinkQueueCapacity: 64 });
    await new Promise((r) => setTimeout(r, 15));
    await rt.shutdown();
    const m = feed.metrics();
    expect(m.outputsDropped).toBe(0);
    expect(outs.length).toBe(m.framesProcessed);
    expect(m.outputsEmitted).toBe(m.framesProcessed);
    expect(feed.state()).toBe('stopped');
  });

  it('one feed that throws every frame does not change another feed\'s output count', async () => {
    const rt = new Runtime();
    const good = collector();
    const bad = rt.addFeed({ source: () => new SyntheticSource(frameSequence(40)), cameraMode: 'fixed', stages: [new MockStage({ failWhen: () => true })] });
    const ok = rt.addFeed({ source: () => new SyntheticSource(frameSequence(40)), cameraMode: 'fixed', stages: [new MockStage({ async: true })], sink: good.sink });
    await Promise.all([bad.done, ok.done]);
    expect(good.outs).toHaveLength(40);
    expect(bad.metrics().framesFailed).toBe(40);
    await rt.shutdown();
  });

  it('a sink that throws is reported and never kills the feed; included frames are released after emit', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const seen: FrameEnvelope[] = [];
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(6)), cameraMode: 'fixed', stages: [], frameInclusion: { everyNth: 2 },
      sink: { emit: (o) => { if (o.frame) { expect(readSeqMarker(o.frame)).toBe(o.seq); seen.push(o.frame); } if (o.seq === 3) throw new Error('sink bug'); } },
    });
    await feed.done;
    expect(seen.map((f) => f.seq)).toEqual([1, 3, 5]); // everyNth: 2 → the 2nd, 4th, 6th output (as the reference)
    expect(seen.every((f) => f.isReleased)).toBe(true);
    expect(health.filter((e) => e.type === 'SinkPanic')).toHaveLength(1);
    expect(feed.metrics()).toMatchObject({ outputsEmitted: 5, sinkErrors: 1 });
    await rt.shutdown();
  });

  it('health events are available as a bounded async iterator', async () => {
    const rt = new Runtime({ healthCapacity: 2 });
    const sub = rt.health();
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', stages: [new MockStage({ failWhen: () => true })] });
    await feed.done;
    const got: string[] = [];
    await rt.shutdown(); // closes subscriptions
    for await (const e of sub) got.push(e.type);
    expect(got).toEqual(['SourceEos', 'FeedStopped']);
    expect(sub.lost).toBe(5); // 5 StageErrors fell out of the 2-slot buffer
  });
});

describe('Runtime end to end with @nv/media', () => {
  it('a generated video file → stages → sink: frame count exact, every frame released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nv-rt-'));
    const path = join(dir, 'clip.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=90', '!', 'video/x-raw,format=I420,width=320,height=240,framerate=30/1', '!',
      'x264enc', 'speed-preset=ultrafast', '!', 'mp4mux', '!', 'filesink', `location=${path}`], { timeout: 60_000 });
    const before = mediaDiagnostics();
    const rt = new Runtime();
    const { outs, sink } = collector();
    const sizes = new Set<string>();
    const probe: Stage = { id: 'probe', process: (ctx) => { sizes.add(`${ctx.frame.width}x${ctx.frame.height}:${ctx.frame.format}`); } };
    const feed = rt.addFeed({
      source: () => new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8', width: 160, height: 120 }, backpressure: { kind: 'block' } }),
      cameraMode: 'fixed', stages: [probe, new MockDetectorStage('det', [mover]), new MockTrackerStage()], sink,
    });
    await feed.done;
    await rt.shutdown();
    expect(outs).toHaveLength(90);
    expect(outs.map((o) => o.seq)).toEqual(Array.from({ length: 90 }, (_, i) => i));
    expect([...sizes]).toEqual(['160x120:RGB8']);
    const after = mediaDiagnostics();
    expect(after.liveFrames).toBe(before.liveFrames);
    expect(after.leakedFrames).toBe(before.leakedFrames);
  }, 60_000);
});

