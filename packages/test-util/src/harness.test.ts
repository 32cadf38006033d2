import { AffineTransform2D, BBox, ConfigError, StageError } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { Stage, StageContext } from '@nv/perception';
import type { MotionReport, ViewStateProvider } from '@nv/view';
import { describe, expect, it } from 'vitest';
import {
  CountingSinkStage, MockDetectorStage, MockStage, MockTrackerStage, PipelineHarness, frameSequence, readSeqMarker,
} from './index.js';

// An object moving right at 0.1 of the frame per second.
const mover = { classId: 0, at: (t: number) => BBox.of(0.1 + 0.1 * t, 0.4, 0.2 + 0.1 * t, 0.5) };

describe('PipelineHarness', () => {
  it('detector + tracker over 10 frames: tracks confirmed, committed, trajectories grow', async () => {
    const sink = new CountingSinkStage();
    const h = new PipelineHarness({ stages: [new MockDetectorStage('det', [mover]), new MockTrackerStage(), sink], cameraMode: 'fixed' });
    const results = await h.run(frameSequence(10, { fps: 10 }));
    expect(results.every((r) => r.outcome.kind === 'ok')).toBe(true);
    const last = results.at(-1)!;
    expect(last.artifacts.tracks).toHaveLength(1);
    expect(last.artifacts.tracks[0]!.state).toBe('confirmed');
    expect(h.temporal.trackCount).toBe(1);
    const id = last.artifacts.tracks[0]!.id;
    expect(h.temporal.snapshot().trajectoryPointCount(id)).toBe(10);
    expect(h.temporal.snapshot().recentObservations(id)).toHaveLength(10);
    // The snapshot stages saw on the last frame predates its commit.
    expect(last.temporalBefore.trajectoryPointCount(id)).toBe(9);
    expect(sink.framesSeen).toBe(10);
    await h.stop();
  });

  it('a StageError drops only that frame; the feed continues', async () => {
    const flaky = new MockStage({ id: 'flaky', failWhen: (ctx) => ctx.frame.seq === 2 });
    const after = new MockStage({ id: 'after' });
    const h = new PipelineHarness({ stages: [flaky, after], cameraMode: 'fixed' });
    const rs = await h.run(frameSequence(5));
    expect(rs.map((r) => r.outcome.kind)).toEqual(['ok', 'ok', 'error', 'ok', 'ok']);
    expect(after.calls.map((c) => c.seq)).toEqual([0, 1, 3, 4]);
    expect(rs[2]!.health).toEqual([expect.objectContaining({ type: 'StageError', stageId: 'flaky' })]);
    expect(StageError.isInstance((rs[2]!.health[0] as { error: unknown }).error)).toBe(true);
    expect(h.restarts).toBe(0);
  });

  it('a panic restarts the pipeline: onStop, temporal cleared, epoch + 1 even for a fixed camera, onStart', async () => {
    const p = new MockStage({ id: 'p', panicWhen: (ctx) => ctx.frame.seq === 3 });
    const h = new PipelineHarness({ stages: [new MockDetectorStage('det', [mover]), new MockTrackerStage(), p], cameraMode: 'fixed' });
    const rs = await h.run(frameSequence(6, { fps: 10 }));
    expect(rs[3]!.outcome.kind).toBe('panic');
    expect(rs[3]!.health.map((e) => e.type)).toEqual(['StagePanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged']);
    expect(rs[3]!.health[1]).toMatchObject({ type: 'FrameDropped', cause: 'panic', at: 'p', seq: 3 });
    expect(p.lifecycle).toEqual(['start', 'stop', 'epoch:1', 'start']);
    expect(h.view.epoch).toBe(1);
    expect(p.calls.map((c) => c.epoch)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(h.restarts).toBe(1);
    expect(h.temporal.viewEpoch).toBe(1);
  });

  it('without restartOnPanic the harness stops accepting frames', async () => {
    const h = new PipelineHarness({ stages: [new MockStage({ panicWhen: () => true })], cameraMode: 'fixed', restartOnPanic: false });
    const [f0, f1] = frameSequence(2);
    expect((await h.process(f0!)).outcome.kind).toBe('panic');
    await expect(h.process(f1!)).rejects.toThrow(/running harness/);
  });

  it('async stages with latency still run strictly in order, one frame at a time', async () => {
    const order: string[] = [];
    const mk = (id: string, ms: number): Stage => ({
      id, process: async (ctx: StageContext) => { order.push(`${id}>${ctx.frame.seq}`); await new Promise((r) => setTimeout(r, ms)); order.push(`${id}<${ctx.frame.seq}`); },
    });
    const h = new PipelineHarness({ stages: [mk('a', 3), mk('b', 1)], cameraMode: 'fixed' });
    await h.run(frameSequence(2));
    expect(order).toEqual(['a>0', 'a<0', 'b>0', 'b<0', 'a>1', 'a<1', 'b>1', 'b<1']);
  });

  it('releases frames after processing; a stage that retains keeps access', async () => {
    const kept: FrameEnvelope[] = [];
    const unretained: FrameEnvelope[] = [];
    const h = new PipelineHarness({
      stages: [{ id: 'keep', process: (ctx) => { kept.push(ctx.frame.retain()); } }, { id: 'peek', process: (ctx) => { unretained.push(ctx.frame); } }],
      cameraMode: 'fixed',
    });
    await h.run(frameSequence(3));
    expect(kept.map(readSeqMarker)).toEqual([0, 1, 2]);
    expect(unretained.every((f) => f.refCount === 1)).toBe(true);
    kept.forEach((f) => f.release());
    expect(unretained.every((f) => f.isReleased)).toBe(true);
    expect(() => readSeqMarker(unretained[0]!)).toThrow(/Released/);
  });

  it('observed camera with an empty provider: unknown motion, degraded, never stable', async () => {
    const provider: ViewStateProvider<FrameEnvelope> = { poll: () => ({}) };
    const seen = new MockStage({ id: 'seen' });
    const h = new PipelineHarness({ stages: [seen], cameraMode: 'observed', viewProvider: provider });
    const [r] = await h.run(frameSequence(1));
    expect(r!.view.motion.kind).toBe('unknown');
    expect(r!.view.validity.kind).toBe('degraded');
    expect(r!.view.motionSource.kind).toBe('none');
  });

  it('observed camera: a PTZ preset recall segments — epoch + 1, trajectories segmented, stages notified', async () => {
    let recall = false;
    const provider: ViewStateProvider<FrameEnvelope> = {
      poll: ({ ts }): MotionReport => ({
        ptz: { pan: 10, tilt: 0, zoom: 0.2, ts },
        ...(recall ? { ptzEvents: [{ kind: 'presetRecall', presetId: 3, ts }] } : {}),
      } as MotionReport),
    };
    const tracker = new MockTrackerStage();
    const watcher = new MockStage({ id: 'watch' });
    const h = new PipelineHarness({ stages: [new MockDetectorStage('det', [mover]), tracker, watcher], cameraMode: 'observed', viewProvider: provider });
    const frames = frameSequence(6, { fps: 10 });
    const rs = [];
    for (const [i, f] of frames.entries()) { recall = i === 3; rs.push(await h.process(f)); }
    expect(rs[3]!.decision?.kind).toBe('segment');
    expect(rs[3]!.health.map((e) => e.type)).toContain('ViewEpochChanged');
    expect(watcher.lifecycle).toContain('epoch:1');
    // The tracker resets on an epoch change, so frames 3+ belong to a new track in epoch 1.
    const ids = h.temporal.trackIds();
    const epochs = ids.map((id) => h.temporal.trajectory(id)!.segments.map((s) => s.viewEpoch));
    expect(epochs.flat()).toContain(1);
  });

  it('observed camera: a confident small transform compensates active trajectories', async () => {
    let t: AffineTransform2D | undefined;
    const provider: ViewStateProvider<FrameEnvelope> = {
      poll: () => (t ? { frameTransform: { transform: t, confidence: 0.95, method: 'featureMatching' } } as MotionReport : {
        frameTransform: { transform: AffineTransform2D.IDENTITY, confidence: 0.95, method: 'featureMatching' },
      } as MotionReport),
    };
    const h = new PipelineHarness({ stages: [new MockDetectorStage('det', [mover]), new MockTrackerStage()], cameraMode: 'observed', viewProvider: provider });
    const frames = frameSequence(6, { fps: 10 });
    const rs = [];
    // A confident 0.3 shift: above the segment displacement threshold (0.25), no rotation or
    // scale, so the default policy compensates instead of segmenting.
    for (const [i, f] of frames.entries()) { t = i === 4 ? AffineTransform2D.translation(0.3, 0) : undefined; rs.push(await h.process(f)); }
    const decisions = rs.map((r) => r.decision?.kind);
    expect(decisions[4]).toBe('compensate');
    expect(rs[4]!.health.map((e) => e.type)).toContain('ViewCompensationApplied');
    const id = rs[3]!.artifacts.tracks[0]!.id;
    const seg = h.temporal.trajectory(id)!.segments[0]!;
    expect(seg.compensationCount).toBe(1);
    expect(seg.compensation?.m[2]).toBeCloseTo(0.3, 12);
    expect(decisions.slice(0, 4).every((d) => d !== 'segment')).toBe(true);
  });

  it('a throwing onViewEpochChange is reported (StageHookFailed) and the frame goes on — at a segment and at a restart', async () => {
    const provider: ViewStateProvider<FrameEnvelope> = {
      poll: ({ ts, frame }): MotionReport => ({ ptz: { pan: 10, tilt: 0, zoom: 0.2, ts }, ...(frame.seq === 2 ? { ptzEvents: [{ kind: 'presetRecall', presetId: 1, ts }] } : {}) } as MotionReport),
    };
    const bad: Stage = { id: 'bad', process: () => undefined, onViewEpochChange: () => { throw new Error('hook bug'); } };
    const watch = new MockStage({ id: 'watch' });
    const h = new PipelineHarness({ stages: [bad, watch], cameraMode: 'observed', viewProvider: provider });
    const rs = await h.run(frameSequence(4));
    expect(rs.map((r) => r.outcome.kind)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(rs[2]!.health.map((e) => e.type)).toEqual(['ViewEpochChanged', 'StageHookFailed']);
    expect(rs[2]!.health[1]).toMatchObject({ stageId: 'bad', hook: 'onViewEpochChange', epoch: 1, detail: 'hook bug' });
    expect(watch.lifecycle).toEqual(['start', 'epoch:1']);
    expect((await h.restart()).map((e) => e.type)).toEqual(['FeedRestarting', 'ViewEpochChanged', 'StageHookFailed']);
    expect(watch.lifecycle).toEqual(['start', 'epoch:1', 'stop', 'epoch:2', 'start']);
  });

  it('a throwing motion provider is reported (ViewProviderFailed): that frame is Unknown/Degraded, the next ones recover', async () => {
    const still = { frameTransform: { transform: AffineTransform2D.IDENTITY, confidence: 0.95, method: 'featureMatching' } } as MotionReport;
    const provider: ViewStateProvider<FrameEnvelope> = { poll: ({ frame }) => { if (frame.seq === 1) throw new Error('PTZ API down'); return still; } };
    const h = new PipelineHarness({ stages: [new MockStage()], cameraMode: 'observed', viewProvider: provider });
    const rs = await h.run(frameSequence(3));
    expect(rs.map((r) => [r.outcome.kind, r.view.motion.kind, r.view.validity.kind])).toEqual([['ok', 'stable', 'valid'], ['ok', 'unknown', 'degraded'], ['ok', 'stable', 'valid']]);
    expect(rs[1]!.health).toEqual([
      expect.objectContaining({ type: 'ViewProviderFailed', kind: 'InvalidMotionReport', detail: expect.stringContaining('PTZ API down'), count: 1 }),
      expect.objectContaining({ type: 'ViewDegraded', reason: 'unknown' }),
    ]);
  });

  it('an exception outside the stages (a throwing epoch policy) is a feed panic: reported and restarted like a stage panic', async () => {
    let broken = true;
    const h = new PipelineHarness({
      stages: [new MockStage({ id: 'watch' })], cameraMode: 'observed', viewProvider: { poll: () => ({}) },
      epochPolicy: { decide: () => { if (broken) { broken = false; throw new TypeError('policy bug'); } return { kind: 'continue' }; } },
    });
    const rs = await h.run(frameSequence(2));
    expect(rs[0]!.outcome).toMatchObject({ kind: 'feedPanic', step: 'view' });
    expect(rs[0]!.health.map((e) => e.type)).toEqual(['FeedPanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged']);
    expect(rs[1]!.outcome.kind).toBe('ok');
    expect(h.restarts).toBe(1);
  });

  it('frameInclusion: everyNth keeps the N-th, 2N-th… result; targetFps decides by ts', async () => {
    const every = new PipelineHarness({ stages: [], cameraMode: 'fixed', frameInclusion: { everyNth: 2 } });
    expect((await every.run(frameSequence(6))).filter((r) => r.frameIncluded).map((r) => r.seq)).toEqual([1, 3, 5]);
    const fps = new PipelineHarness({ stages: [], cameraMode: 'fixed', frameInclusion: { targetFps: 10 } });
    expect((await fps.run(frameSequence(10, { fps: 30 }))).filter((r) => r.frameIncluded).map((r) => r.seq)).toEqual([3, 6, 9]);
  });

  it('retention caps tracks and reports refused admissions', async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ classId: 0, at: () => BBox.of(i * 0.2, 0, i * 0.2 + 0.1, 0.1) }));
    const h = new PipelineHarness({
      stages: [new MockDetectorStage('det', many), new MockTrackerStage('trk', { confirmHits: 1 })], cameraMode: 'fixed',
      retention: { maxConcurrentTracks: 3 },
    });
    const [r] = await h.run(frameSequence(1));
    expect(h.temporal.trackCount).toBe(3);
    expect(r!.commit?.rejected).toBe(2);
    expect(r!.health).toEqual([expect.objectContaining({ type: 'TrackAdmissionRejected', rejectedCount: 2 })]);
  });

  it.each([
    ['observed without provider', { stages: [], cameraMode: 'observed' as const }],
    ['fixed with provider', { stages: [], cameraMode: 'fixed' as const, viewProvider: { poll: () => ({}) } }],
  ])('camera mode conflict: %s → ConfigError', (_n, opts) => {
    expect(() => new PipelineHarness(opts)).toThrow(expect.objectContaining({ kind: 'CameraModeConflict' }));
    try { new PipelineHarness(opts); } catch (e) { expect(ConfigError.isInstance(e)).toBe(true); }
  });

  it('mis-ordered pipelines are refused by default', () => {
    expect(() => new PipelineHarness({ stages: [new MockTrackerStage(), new MockDetectorStage()], cameraMode: 'fixed' })).toThrow(/consumes detections/);
  });

  it('onStart failures surface from start()', async () => {
    const h = new PipelineHarness({ stages: [new MockStage({ failOnStart: true })], cameraMode: 'fixed' });
    await expect(h.start()).rejects.toThrow(/ModelLoadFailed/);
  });
});
