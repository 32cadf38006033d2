import { BBox, ConfigError, StageError, detectionId, feedId, type HealthEvent, type Straggler } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { createDetection, type PerceptionArtifacts, type Stage, type StageRecord } from '@nv/perception';
import { TemporalStore } from '@nv/temporal';
import { ViewSystem, type MotionReport, type ViewSnapshot, type ViewStateProvider } from '@nv/view';
import { describe, expect, it } from 'vitest';
import { ABANDONED, FrameSampler, FrameStep, panicEvents, type BatchPoint, type BatchPointResult, type FrameStepOptions, type FrameStepResult } from './index.js';
import { Probe, Tracker, detector, frames as frameSequence } from './test-fixtures.js';

const FEED = feedId(1);

function fixedStep(opts: Partial<FrameStepOptions> & Pick<FrameStepOptions, 'stages'>) {
  const events: HealthEvent[] = [];
  const view = new ViewSystem<FrameEnvelope>({ mode: 'fixed' });
  const temporal = new TemporalStore();
  const step = new FrameStep({ feedId: FEED, view, temporal, ...opts, hooks: { emit: (e) => events.push(e), ...opts.hooks } });
  return { step, events, view, temporal };
}

async function run<J>(step: FrameStep<J>, frames: FrameEnvelope[], job: J): Promise<FrameStepResult<J>[]> {
  const out: FrameStepResult<J>[] = [];
  for (const f of frames) { out.push(await step.process(f, job)); f.release(); }
  return out;
}

/** A batch point that adds one detection per frame, synchronously or not. */
function batchPoint(id: string, opts: { async?: boolean; fail?: (seq: number) => BatchPointResult['outcome'] | undefined; throwAt?: number } = {}): BatchPoint & { frames: number[] } {
  const frames: number[] = [];
  return {
    id, frames,
    run(frame: FrameEnvelope, _view: ViewSnapshot, artifacts: PerceptionArtifacts) {
      frames.push(frame.seq);
      if (opts.throwAt === frame.seq) throw new TypeError('batch wiring broke');
      const failed = opts.fail?.(frame.seq);
      if (!failed) artifacts.merge({ detections: [createDetection({ id: detectionId(frame.seq + 1), classId: 0, confidence: 0.9, bbox: BBox.of(0.1, 0.1, 0.2, 0.2) })] });
      const rec: StageRecord = { stageId: id, startNs: 0, endNs: 1, latencyNs: 1, outcome: failed && failed.kind === 'error' ? { kind: 'error', error: failed.error, category: 'processingFailed' } : { kind: 'ok' } };
      const res: BatchPointResult = { record: rec, outcome: failed ?? { kind: 'ok' } };
      return opts.async ? Promise.resolve(res) : res;
    },
  };
}

const ids = (r: FrameStepResult<unknown>) => r.records.map((x) => [x.stageId, x.outcome.kind]);

describe('FrameStep: the synchronous fast path', () => {
  it('a fixed camera with synchronous stages returns its result directly: no promise, committed, output recorded', () => {
    const outputs: FrameStepResult<string>[] = [];
    const events: HealthEvent[] = [];
    const temporal = new TemporalStore();
    const step = new FrameStep<string>({
      feedId: FEED, stages: [detector('det'), new Tracker('trk')],
      view: new ViewSystem<FrameEnvelope>({ mode: 'fixed' }), temporal, hooks: { emit: (e) => events.push(e), output: (r) => outputs.push(r) },
    });
    const [f] = frameSequence(1);
    const r = step.process(f!, 'job-0');
    expect(r).not.toBeInstanceOf(Promise);
    const res = r as FrameStepResult<string>;
    expect(res.outcome).toEqual({ kind: 'ok' });
    expect(res.job).toBe('job-0');
    expect(ids(res)).toEqual([['det', 'ok'], ['trk', 'ok']]);
    expect(res.commit?.admitted).toBe(1);
    expect(temporal.trackCount).toBe(1);
    expect(outputs).toEqual([res]);
    expect(res.step).toBe('output');
    expect(events).toEqual([]);
    f!.release();
  });

  it('a synchronous batch point keeps the frame synchronous; an async stage anywhere makes it a promise, same result', async () => {
    const sync = fixedStep({ stages: [new Probe('a')], batch: batchPoint('b'), post: [new Probe('c')] });
    const [f0, f1] = frameSequence(2);
    const r0 = sync.step.process(f0!, undefined);
    expect(r0).not.toBeInstanceOf(Promise);
    const a = fixedStep({ stages: [new Probe('a')], batch: batchPoint('b'), post: [new Probe('c', { async: true })] });
    const r1 = a.step.process(f1!, undefined);
    expect(r1).toBeInstanceOf(Promise);
    const res1 = await r1;
    expect(ids(res1)).toEqual(ids(r0 as FrameStepResult));
    expect(res1.artifacts.detections).toHaveLength(1);
  });
});

describe('FrameStep: stages around a batch point (every branch runs)', () => {
  it('pre → batch → post: post stages see the batch output, sync or async', async () => {
    for (const async of [false, true]) {
      const seen = new Probe('post', { async });
      const trk = new Tracker('trk');
      const b = batchPoint('det', { async });
      const { step, temporal } = fixedStep({ stages: [new Probe('pre')], batch: b, post: [trk, seen] });
      const rs = await run(step, frameSequence(3), undefined);
      expect(rs.map((r) => r.outcome.kind)).toEqual(['ok', 'ok', 'ok']);
      expect(ids(rs[0]!)).toEqual([['pre', 'ok'], ['det', 'ok'], ['trk', 'ok'], ['post', 'ok']]);
      expect(seen.calls.map((c) => [c.detections, c.tracks])).toEqual([[1, 1], [1, 1], [1, 1]]);
      expect(temporal.trackCount).toBe(1);
      expect(b.frames).toEqual([0, 1, 2]);
    }
  });

  it('a batch point with no pre stages, and one with no post stages', async () => {
    const post = new Probe('post');
    const first = fixedStep({ stages: [], batch: batchPoint('det'), post: [post] });
    const [r] = await run(first.step, frameSequence(1), undefined);
    expect(ids(r!)).toEqual([['det', 'ok'], ['post', 'ok']]);
    expect(post.calls[0]!.detections).toBe(1);
    const last = fixedStep({ stages: [new Probe('pre')], batch: batchPoint('det') });
    const [q] = await run(last.step, frameSequence(1), undefined);
    expect(ids(q!)).toEqual([['pre', 'ok'], ['det', 'ok']]);
    expect(last.step.plan).toEqual([{ kind: 'stages', stageIds: ['pre'] }, { kind: 'batch', processorId: 'det' }]);
  });

  it('a pre stage StageError skips the batch point and the post stages (recorded), StageError reported, nothing committed', async () => {
    const b = batchPoint('det');
    const post = new Probe('post');
    const { step, events, temporal } = fixedStep({ stages: [new Probe('pre', { fail: () => true })], batch: b, post: [post] });
    const [r] = await run(step, frameSequence(1), undefined);
    expect(r!.outcome).toMatchObject({ kind: 'error', stageId: 'pre' });
    expect(ids(r!)).toEqual([['pre', 'error'], ['det', 'skipped'], ['post', 'skipped']]);
    expect(b.frames).toEqual([]);
    expect(post.calls).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['StageError']);
    expect(r!.commit).toBeUndefined();
    expect(temporal.latestTs).toBe(0);
  });

  it('a failing batch point drops the frame, skips the post stages, and reports nothing itself (the runner does)', async () => {
    const err = StageError.resourceExhausted('det', 'queue full');
    const post = new Probe('post');
    const { step, events } = fixedStep({ stages: [], batch: batchPoint('det', { async: true, fail: (s) => (s === 1 ? { kind: 'error', stageId: 'det', error: err } : undefined) }), post: [post] });
    const rs = await run(step, frameSequence(3), undefined);
    expect(rs.map((r) => r.outcome.kind)).toEqual(['ok', 'error', 'ok']);
    expect(ids(rs[1]!)).toEqual([['det', 'error'], ['post', 'skipped']]);
    expect(post.calls.map((c) => c.seq)).toEqual([0, 2]);
    expect(events).toEqual([]);
  });

  it('a StageError and a panic in a post stage; a throwing batch point is a feedPanic at step batch', async () => {
    const { step, events } = fixedStep({
      stages: [], batch: batchPoint('det', { throwAt: 2 }),
      post: [new Probe('flaky', { fail: (c) => c.frame.seq === 0 }), new Probe('boom', { panic: (c) => c.frame.seq === 1 })],
    });
    const rs = await run(step, frameSequence(3), undefined);
    expect(rs.map((r) => r.outcome.kind)).toEqual(['error', 'panic', 'feedPanic']);
    expect(ids(rs[0]!)).toEqual([['det', 'ok'], ['flaky', 'error'], ['boom', 'skipped']]);
    expect(rs[1]!.outcome).toMatchObject({ kind: 'panic', stageId: 'boom' });
    expect(rs[2]!.outcome).toMatchObject({ kind: 'feedPanic', step: 'batch' });
    expect(events.map((e) => e.type)).toEqual(['StageError']);
  });

  it('head and tail run separately give the same result as one run (the seam of a parallel section)', async () => {
    const mk = () => fixedStep({ stages: [detector('det')], batch: batchPoint('b'), post: [new Tracker('trk'), new Probe('x', { async: true })] });
    const whole = mk();
    const split = mk();
    for (const [f, g] of frameSequence(4, { fps: 10 }).map((f, i) => [f, frameSequence(1, { fps: 10, startSeq: i })[0]!] as const)) {
      const a = await whole.step.process(f, undefined);
      const p = split.step.prepare(g, undefined) as FrameStepResult;
      const head = await split.step.runStages(p, 0, 1);
      const b = split.step.finish(await split.step.runStages(head, 1));
      expect(ids(b)).toEqual(ids(a));
      expect(b.artifacts.tracks.map((t) => t.id)).toEqual(a.artifacts.tracks.map((t) => t.id));
      f.release(); g.release();
    }
    expect(split.temporal.trackCount).toBe(whole.temporal.trackCount);
  });
});

describe('FrameStep: hooks', () => {
  it('wrapStage wraps process only; classify turns a wrapper error into a timeout (no StageError); vet drops an overrun before the commit', async () => {
    const tagged = new WeakSet<object>();
    const epochs: number[] = [];
    const stage: Stage = { id: 's', process: () => undefined, onViewEpochChange: (e) => { epochs.push(e); } };
    const { step, events, temporal } = fixedStep({
      stages: [stage],
      hooks: {
        wrapStage: (s) => ({ id: s.id, process: (ctx) => { if (ctx.frame.seq === 0) { const e = StageError.tagged(s.id, 'timeout', 'late'); tagged.add(e); throw e; } return s.process(ctx); } }),
        classify: (stageId, e) => (tagged.has(e) ? { kind: 'timeout', stageId, timeoutMs: 5 } : undefined),
        vet: (records) => (records[0]!.stageId === 's' && records.length === 1 && temporal.latestTs === 33_333_333 ? { kind: 'timeout', stageId: 's', timeoutMs: 7 } : undefined),
      },
    });
    const rs = await run(step, frameSequence(3), undefined);
    expect(rs.map((r) => r.outcome)).toEqual([{ kind: 'timeout', stageId: 's', timeoutMs: 5 }, { kind: 'timeout', stageId: 's', timeoutMs: 7 }, { kind: 'ok' }]);
    expect(rs[1]!.commit).toBeUndefined();
    expect(events).toEqual([]);
    await step.restart();
    expect(epochs).toEqual([1]); // the original stage's lifecycle hook, not the wrapper's
  });

  it('bound: an observed camera whose view update is given up ends the frame abandoned at view', async () => {
    const waits: Straggler[] = [];
    const provider: ViewStateProvider<FrameEnvelope> = { poll: () => new Promise<MotionReport>(() => {}) };
    const step = new FrameStep({
      feedId: FEED, stages: [new Probe('probe')], view: new ViewSystem<FrameEnvelope>({ mode: 'observed', provider, pollTimeoutMs: 0 }), temporal: new TemporalStore(),
      hooks: { bound: (_p, wait) => { waits.push(wait); return Promise.resolve(ABANDONED); } },
    });
    const [r] = await run(step, frameSequence(1), undefined);
    expect(r!.outcome).toEqual({ kind: 'abandoned', at: 'view' });
    expect(waits).toEqual([{ kind: 'view' }]);
    expect(r!.temporal).toBeUndefined();
  });

  it('panicEvents: StagePanic or FeedPanic, then FrameDropped', () => {
    const f = { seq: 4, ts: 9 as never, mediaTs: 3 };
    expect(panicEvents(FEED, { kind: 'panic', stageId: 'x', error: new Error('boom') }, f)).toEqual([
      { type: 'StagePanic', feedId: FEED, stageId: 'x', detail: 'boom' },
      { type: 'FrameDropped', feedId: FEED, seq: 4, ts: 9, mediaTs: 3, cause: 'panic', at: 'x', detail: 'boom' },
    ]);
    expect(panicEvents(FEED, { kind: 'feedPanic', step: 'temporal', error: 'dup' }, f)[0]).toEqual({ type: 'FeedPanic', feedId: FEED, step: 'temporal', detail: 'dup' });
  });
});

describe('FrameStep: settled semantics (as the reference)', () => {
  /** Preset recall at seq 2 (segment); the provider throws at seq 4. */
  const provider: ViewStateProvider<FrameEnvelope> = {
    poll: ({ frame, ts }) => {
      if (frame.seq === 4) throw new Error('camera API down');
      return { ptz: { pan: 10, tilt: 0, zoom: 0.2, ts }, ...(frame.seq === 2 ? { ptzEvents: [{ kind: 'presetRecall', presetId: 1, ts }] } : {}) } as MotionReport;
    },
  };

  it('a throwing onViewEpochChange is reported (StageHookFailed) and the frame, the other hooks and the feed go on', async () => {
    const events: HealthEvent[] = [];
    const bad: Stage = { id: 'bad', process: () => undefined, onViewEpochChange: () => { throw new Error('epoch hook bug'); } };
    const rejects: Stage = { id: 'rejects', process: () => undefined, onViewEpochChange: () => Promise.reject(StageError.processingFailed('rejects', 'nope')) };
    const after = new Probe('after');
    const temporal = new TemporalStore();
    const step = new FrameStep({
      feedId: FEED, stages: [bad, rejects, after], view: new ViewSystem<FrameEnvelope>({ mode: 'observed', provider }), temporal, hooks: { emit: (e) => events.push(e) },
    });
    const rs = await run(step, frameSequence(4, { fps: 10 }), undefined);
    expect(rs.map((r) => r.outcome.kind)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(rs.map((r) => r.view?.snapshot.epoch)).toEqual([0, 0, 1, 1]);
    expect(rs[2]!.view?.decision).toEqual({ kind: 'segment' });
    expect(after.lifecycle).toEqual(['epoch:1']);
    expect(events.filter((e) => e.type === 'StageHookFailed')).toEqual([
      { type: 'StageHookFailed', feedId: FEED, stageId: 'bad', hook: 'onViewEpochChange', epoch: 1, detail: 'epoch hook bug' },
      { type: 'StageHookFailed', feedId: FEED, stageId: 'rejects', hook: 'onViewEpochChange', epoch: 1, detail: expect.stringContaining('nope') },
    ]);
    expect(temporal.viewEpoch).toBe(1);
    // a restart reports the same way
    events.length = 0;
    await step.restart();
    expect(events.map((e) => e.type)).toEqual(['ViewEpochChanged', 'StageHookFailed', 'StageHookFailed']);
  });

  it('a throwing motion provider is reported (ViewProviderFailed): that frame is Unknown motion / Degraded and goes on', async () => {
    const events: HealthEvent[] = [];
    const seen = new Probe('seen');
    const step = new FrameStep({ feedId: FEED, stages: [seen], view: new ViewSystem<FrameEnvelope>({ mode: 'observed', provider }), temporal: new TemporalStore(), hooks: { emit: (e) => events.push(e) } });
    const rs = await run(step, frameSequence(6, { fps: 10 }), undefined);
    expect(rs.map((r) => r.outcome.kind)).toEqual(Array(6).fill('ok'));
    expect(seen.calls).toHaveLength(6);
    expect([rs[4]!.view!.snapshot.motion.kind, rs[4]!.view!.snapshot.validity.kind]).toEqual(['unknown', 'degraded']);
    expect(events.filter((e) => e.type === 'ViewProviderFailed')).toEqual([
      { type: 'ViewProviderFailed', feedId: FEED, kind: 'InvalidMotionReport', detail: expect.stringContaining('camera API down'), count: 1 },
    ]);
  });

  it('a throwing epoch policy is a feedPanic at view', async () => {
    const step = new FrameStep({
      feedId: FEED, stages: [new Probe('probe')], temporal: new TemporalStore(),
      view: new ViewSystem<FrameEnvelope>({ mode: 'observed', provider: { poll: () => ({}) }, policy: { decide: () => { throw new TypeError('policy bug'); } } }),
    });
    const [r] = await run(step, frameSequence(1), undefined);
    expect(r!.outcome).toMatchObject({ kind: 'feedPanic', step: 'view' });
  });
});

describe('FrameSampler', () => {
  const ts = (i: number, fps = 30) => Math.round((i * 1e9) / fps);
  const kept = (s: FrameSampler, n: number, fps = 30) => Array.from({ length: n }, (_, i) => i).filter((i) => s.include(ts(i, fps)));

  it('everyNth: N keeps the N-th, 2N-th… output (1-based, as the reference), not the first', () => {
    expect(kept(new FrameSampler({ everyNth: 3 }), 10)).toEqual([2, 5, 8]);
    expect(kept(new FrameSampler({ everyNth: 1 }), 4)).toEqual([0, 1, 2, 3]);
    expect(kept(new FrameSampler('never'), 4)).toEqual([]);
    expect(kept(new FrameSampler('always'), 4)).toEqual([0, 1, 2, 3]);
  });

  it('targetFps decides by ts: 30 fps in, 10 out → one frame per 100 ms after the first; slow sources are not bursted', () => {
    expect(kept(new FrameSampler({ targetFps: 10 }), 13)).toEqual([3, 6, 9, 12]);
    expect(kept(new FrameSampler({ targetFps: 12 }), 31).length).toBe(12); // the average rate holds where the ratio is not whole
    expect(kept(new FrameSampler({ targetFps: 60 }), 5)).toEqual([1, 2, 3, 4]);
    const gap = new FrameSampler({ targetFps: 10 });
    expect([0, 5e9, 5.01e9, 5.1e9].map((t) => gap.include(t))).toEqual([false, true, false, true]);
  });

  it('refuses an invalid rule, naming frameInclusion', () => {
    for (const bad of [{ everyNth: 0 }, { targetFps: 0 }, { targetFps: -1 }, { everyNth: 1.5 }, 'sometimes']) {
      expect(() => new FrameSampler(bad as never)).toThrow(expect.objectContaining({ kind: 'InvalidConfig' }));
      try { new FrameSampler(bad as never); } catch (e) { expect(ConfigError.isInstance(e)).toBe(true); expect(JSON.stringify(e)).toContain('frameInclusion'); }
    }
  });

  it('through the step: only committed frames count, in order', async () => {
    const { step } = fixedStep({ stages: [new Probe('probe', { fail: (c) => c.frame.seq === 1 })], frameInclusion: { everyNth: 2 } });
    const rs = await run(step, frameSequence(6), undefined);
    expect(rs.filter((r) => r.frameIncluded).map((r) => r.frame.seq)).toEqual([2, 4]); // outputs 0, 2, 3, 4, 5: the 2nd and 4th
  });
});
