/**
 * Parity: the same stage list through `@nv/test-util`'s `PipelineHarness` and through a real
 * runtime feed (a synthetic `FrameSource`, no media) gives the same outputs — artifacts,
 * per-stage outcomes, view decisions, epochs, trajectory segments, frame inclusion and the
 * frame path's health events (timings aside). Both run `@nv/pipeline`'s `FrameStep`; this test is
 * the alarm if a caller's own code starts to differ again.
 */
import { BBox, realClock, type HealthEvent } from '@nv/core';
import type { FrameEnvelope, FrameSource } from '@nv/frame';
import type { ReadonlyArtifacts, Stage, StageContext, StageRecord } from '@nv/perception';
import { MockDetectorStage, MockStage, MockTrackerStage, PipelineHarness, frameSequence } from '@nv/test-util';
import type { TemporalStore } from '@nv/temporal';
import type { EpochDecision, MotionReport, ViewSnapshot, ViewStateProvider } from '@nv/view';
import { describe, expect, it } from 'vitest';
import { resolveFeedConfig, type FeedConfig } from './config.js';
import { Feed } from './feed.js';
import type { OutputEnvelope } from './output.js';

const FRAMES = 12;
const FPS = 10;
/** seq 2: a StageError; seq 4: a panic (restart: epoch 1); seq 6: a preset recall (segment: epoch 2); seq 8: the provider throws. */
const ERROR_AT = 2, PANIC_AT = 4, RECALL_AT = 6, PROVIDER_FAILS_AT = 8;

const mover = { classId: 0, at: (t: number) => BBox.of(0.1 + 0.05 * t, 0.4, 0.2 + 0.05 * t, 0.5) };

/** What a stage saw of the temporal snapshot, per frame. */
type Seen = { seq: number; epoch: number; tracks: { id: number; segments: number; points: number }[] };

function stages(seen: Seen[]): Stage[] {
  const hookFails: Stage = { id: 'hook', process: () => undefined, onViewEpochChange: () => { throw new Error('epoch hook bug'); } };
  const temporalProbe: Stage = {
    id: 'probe',
    process: (ctx: StageContext) => {
      const t = ctx.temporal;
      seen.push({ seq: ctx.frame.seq, epoch: t.viewEpoch, tracks: t.trackIds().map((id) => ({ id, segments: t.trajectorySegmentCount(id), points: t.trajectoryPointCount(id) })) });
    },
  };
  return [
    new MockDetectorStage('det', [mover]),
    hookFails,
    new MockTrackerStage('trk'),
    new MockStage({ id: 'async', async: true }),
    new MockStage({ id: 'flaky', failWhen: (c) => c.frame.seq === ERROR_AT }),
    new MockStage({ id: 'boom', panicWhen: (c) => c.frame.seq === PANIC_AT }),
    temporalProbe,
  ];
}

const provider = (): ViewStateProvider<FrameEnvelope> => ({
  poll: ({ frame, ts }): MotionReport => {
    if (frame.seq === PROVIDER_FAILS_AT) throw new Error('camera API down');
    return { ptz: { pan: 10, tilt: 0, zoom: 0.2, ts }, ...(frame.seq === RECALL_AT ? { ptzEvents: [{ kind: 'presetRecall', presetId: 2, ts }] } : {}) } as MotionReport;
  },
});

/** A source over a shared queue: a restarted session continues where the last one stopped. */
class QueueSource implements FrameSource {
  readonly specificationVersion = 'v1' as const;
  constructor(readonly queue: FrameEnvelope[]) {}
  async next(): Promise<FrameEnvelope | undefined> { return this.queue.shift(); }
  stop(): void {}
}

const viewOf = (v: ViewSnapshot) => ({
  epoch: v.epoch, version: v.version, motion: v.motion.kind, validity: v.validity, transition: v.transition, stability: v.stabilityScore, source: v.motionSource.kind,
});
const artifactsOf = (a: ReadonlyArtifacts) => ({
  detections: a.detections.map((d) => [d.classId, d.bbox.xMin, d.bbox.xMax]),
  tracks: a.tracks.map((t) => [t.id, t.state, t.current.bbox.xMin]),
  signals: a.signals.length,
});
const recordsOf = (rs: readonly StageRecord[]) => rs.map((r) => [r.stageId, r.outcome.kind, r.outcome.kind === 'error' ? r.outcome.category : '']);
/** One ok frame, as both sides report it. */
const frameOf = (seq: number, a: ReadonlyArtifacts, rs: readonly StageRecord[], v: ViewSnapshot, decision: EpochDecision | undefined, included: boolean) => ({
  seq, artifacts: artifactsOf(a), stages: recordsOf(rs), view: viewOf(v), decision, included,
});
/** The frame path's health events (not the feed's own: source, stop, timeline). */
const FRAME_PATH = new Set(['StageError', 'StagePanic', 'FeedPanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'ViewDegraded', 'ViewCompensationApplied', 'ViewProviderFailed', 'StageHookFailed', 'TrackAdmissionRejected']);
const eventOf = (e: HealthEvent) => {
  const { feedId: _f, ...rest } = e as HealthEvent & { feedId?: unknown };
  if ('error' in rest) return { ...rest, error: (rest as { error: { kind: string } }).error.kind };
  return rest;
};
const segmentsOf = (t: TemporalStore) => t.trackIds().map((id) => ({
  id, segments: t.trajectory(id)!.segments.map((s) => [s.viewEpoch, s.openedBy.kind, s.closedBy?.kind, s.pointCount]),
}));

describe('one frame step: the harness and a runtime feed agree', () => {
  it('async stage, StageError, panic + restart, observed camera with a segment, throwing onViewEpochChange and provider: identical outputs', async () => {
    // Through the harness.
    const hSeen: Seen[] = [];
    const h = new PipelineHarness({ stages: stages(hSeen), cameraMode: 'observed', viewProvider: provider(), frameInclusion: { everyNth: 3 } });
    const results = await h.run(frameSequence(FRAMES, { fps: FPS }));
    await h.stop();

    // Through a feed.
    const fSeen: Seen[] = [];
    const outs: OutputEnvelope[] = [];
    const health: HealthEvent[] = [];
    const queue = frameSequence(FRAMES, { fps: FPS });
    const cfg: FeedConfig = {
      source: () => new QueueSource(queue), cameraMode: 'observed', viewProvider: provider(), stages: stages(fSeen),
      sink: { emit: (o) => { outs.push(o); } }, restart: { restartDelayMs: 0 }, frameInclusion: { everyNth: 3 },
    };
    const feed = new Feed(1, resolveFeedConfig(cfg), (e) => health.push(e), realClock);
    await feed.done;

    // Every frame was seen (the assertions below cannot pass on zero frames).
    expect(results).toHaveLength(FRAMES);
    expect(results.map((r) => r.outcome.kind)).toEqual(['ok', 'ok', 'error', 'ok', 'panic', ...Array(FRAMES - 5).fill('ok')]);
    expect(feed.metrics()).toMatchObject({ framesReceived: FRAMES, framesProcessed: FRAMES - 2, framesFailed: 2, restarts: 1 });

    // Outputs: same frames, artifacts, per-stage outcomes, views, decisions, frame inclusion.
    const fromHarness = results.filter((r) => r.outcome.kind === 'ok').map((r) => frameOf(r.seq, r.artifacts, r.records, r.view, r.decision, r.frameIncluded));
    const fromFeed = outs.map((o) => frameOf(o.seq, o.artifacts, o.provenance.stages, o.view, o.provenance.view.decision, o.provenance.frameIncluded));
    expect(fromFeed).toEqual(fromHarness);
    expect(fromFeed).toHaveLength(FRAMES - 2);
    expect(outs.filter((o) => o.provenance.frameIncluded).map((o) => o.seq)).toEqual([3, 7, 10]); // the 3rd, 6th, 9th output

    // Epochs: the restart (1) and the preset recall (2); the provider's failure: Unknown/Degraded, the frame goes on.
    const byseq = new Map(outs.map((o) => [o.seq, o]));
    expect(outs.map((o) => [o.seq, o.view.epoch])).toEqual([[0, 0], [1, 0], [3, 0], [5, 1], [6, 2], [7, 2], [8, 2], [9, 2], [10, 2], [11, 2]]);
    expect(byseq.get(RECALL_AT)!.provenance.view.decision).toEqual({ kind: 'segment' });
    expect([byseq.get(PROVIDER_FAILS_AT)!.view.motion.kind, byseq.get(PROVIDER_FAILS_AT)!.view.validity.kind]).toEqual(['unknown', 'degraded']);

    // What stages saw of the temporal state, frame by frame; trajectory segments at the end.
    expect(fSeen).toEqual(hSeen);
    expect(segmentsOf(feed.temporal)).toEqual(segmentsOf(h.temporal));
    expect(segmentsOf(h.temporal).some((t) => t.segments.some(([epoch]) => epoch === 2))).toBe(true);

    // The frame path's health events, in order.
    const hEvents = results.flatMap((r) => r.health).map(eventOf);
    const fEvents = health.filter((e) => FRAME_PATH.has(e.type)).map(eventOf);
    expect(fEvents).toEqual(hEvents);
    expect(hEvents.map((e) => e.type)).toEqual([
      // (seq 0 and seq 5, after the restart: no PTZ baseline yet — Unknown/Degraded, as the initial view already is)
      'StageError', // seq 2
      'StagePanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'StageHookFailed', // seq 4 and the restart
      'ViewEpochChanged', 'StageHookFailed', // seq 6: segment
      'ViewProviderFailed', 'ViewDegraded', // seq 8
    ]);
    expect(hEvents.filter((e) => e.type === 'StageHookFailed')).toEqual([
      { type: 'StageHookFailed', stageId: 'hook', hook: 'onViewEpochChange', epoch: 1, detail: 'epoch hook bug' },
      { type: 'StageHookFailed', stageId: 'hook', hook: 'onViewEpochChange', epoch: 2, detail: 'epoch hook bug' },
    ]);

    // Per-stage counters.
    const counts = (m: Map<string, { framesProcessed: number; errors: number }>) => [...m].map(([id, c]) => [id, c.framesProcessed, c.errors]).sort();
    const fm = feed.metrics().stages;
    expect(Object.entries(fm).map(([id, s]) => [id, s.framesProcessed, s.errors]).sort()).toEqual(counts(h.counters));
  });
});
