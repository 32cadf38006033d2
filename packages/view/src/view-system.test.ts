import { describe, it, expect } from 'vitest';
import { AffineTransform2D, ConfigError, InvalidArgumentError, ManualClock, ViewError, monotonicTs } from '@nv/core';
import type { MonotonicTs } from '@nv/core';
import type { EpochPolicy, EpochPolicyContext } from './epoch-policy.js';
import { DefaultEpochPolicy, continueDecision, segmentDecision } from './epoch-policy.js';
import type { MotionReport } from './motion-report.js';
import { ptzTelemetry } from './ptz.js';
import { globalTransformEstimate } from './transform.js';
import type { TransitionPhase } from './transition.js';
import { nextTransitionPhase } from './transition.js';
import type { MotionPollContext, ViewStateProvider, ViewUpdate } from './view-system.js';
import { DEFAULT_POLL_TIMEOUT_MS, ViewSystem } from './view-system.js';

const FRAME_NS = 33_000_000;
const ts = (i: number): MonotonicTs => monotonicTs(i * FRAME_NS);
const deg = (d: number): number => (d * Math.PI) / 180;
const ptzAt = (i: number, pan: number, tilt = 0, zoom = 0.5) => ptzTelemetry(pan, tilt, zoom, i * FRAME_NS);
const est = (t: AffineTransform2D, confidence = 0.9, method: 'featureMatching' | 'external' | 'ptzModel' = 'featureMatching') =>
  globalTransformEstimate(t, confidence, method);

type Step = MotionReport | Error | (() => Promise<MotionReport>);

/** A provider that returns one scripted entry per poll and records what it was given. */
function scripted(steps: Step[]): ViewStateProvider<string> & { calls: MotionPollContext<string>[] } {
  const calls: MotionPollContext<string>[] = [];
  return {
    calls,
    poll(ctx) {
      calls.push(ctx);
      const s = steps[calls.length - 1];
      if (s === undefined) throw new Error(`script exhausted at poll ${calls.length}`);
      if (s instanceof Error) throw s;
      if (typeof s === 'function') return s();
      return s;
    },
  };
}

async function runAll(view: ViewSystem<string>, n: number, from = 0): Promise<ViewUpdate[]> {
  const out: ViewUpdate[] = [];
  for (let i = from; i < from + n; i++) out.push(await view.update(ts(i), `frame-${i}`));
  return out;
}

describe('ViewSystem construction', () => {
  it.each<[string, () => unknown, string, string]>([
    ['observed without a provider', () => new ViewSystem({ mode: 'observed' }), 'config', 'CameraModeConflict'],
    ['fixed with a provider', () => new ViewSystem({ mode: 'fixed', provider: scripted([]) }), 'config', 'CameraModeConflict'],
    ['an unknown mode', () => new ViewSystem({ mode: 'ptz' as never, provider: scripted([]) }), 'config', 'InvalidConfig'],
    ['a provider without poll', () => new ViewSystem({ mode: 'observed', provider: {} as never }), 'argument', 'InvalidArgument'],
    ['a policy without decide', () => new ViewSystem({ mode: 'fixed', policy: {} as never }), 'argument', 'InvalidArgument'],
    ['bad motion options', () => new ViewSystem({ mode: 'fixed', motion: { ptzDeadband: -1 } }), 'argument', 'InvalidArgument'],
    ['bad stability options', () => new ViewSystem({ mode: 'fixed', stability: { settlingFrames: -2 } }), 'argument', 'InvalidArgument'],
    ['no options object', () => new ViewSystem(undefined as never), 'argument', 'InvalidArgument'],
  ])('rejects %s', (_n, make, category, kind) => {
    let caught: unknown;
    try { make(); } catch (e) { caught = e; }
    expect(caught).toMatchObject({ category, kind });
    if (category === 'config') expect(ConfigError.isInstance(caught)).toBe(true);
  });
});

describe('ViewSystem — fixed camera', () => {
  it('is stable / valid / epoch 0 forever, never changes version, never decides', async () => {
    const view = new ViewSystem<string>({ mode: 'fixed' });
    const first = view.snapshot;
    const updates = await runAll(view, 5);
    for (const u of updates) {
      expect(u.snapshot).toBe(first);
      expect(u).toMatchObject({ decision: undefined, motionSource: { kind: 'none' }, events: [], changed: false });
    }
    expect(first.state).toMatchObject({
      epoch: 0, version: 0, motion: { kind: 'stable' }, transition: 'settled', validity: { kind: 'valid' }, stabilityScore: 1,
    });
  });

  it('restart increments the epoch and version even for a fixed camera', async () => {
    const view = new ViewSystem<string>({ mode: 'fixed' });
    const r = view.restart();
    expect(r.snapshot.state).toMatchObject({ epoch: 1, version: 1, motion: { kind: 'stable' }, transition: 'settled', stabilityScore: 1 });
    expect(r.events).toEqual([{ type: 'epochChanged', epoch: 1, previousEpoch: 0, cause: 'restart' }]);
    const [u] = await runAll(view, 1);
    expect(u!.snapshot).toBe(r.snapshot);
  });

  it('rejects a bad timestamp', async () => {
    const view = new ViewSystem<string>({ mode: 'fixed' });
    await expect(view.update(-1 as MonotonicTs, 'f')).rejects.toSatisfy(InvalidArgumentError.isInstance);
    expect(() => view.updateSync(-1 as MonotonicTs)).toThrow(InvalidArgumentError);
  });

  it('updateSync answers without a promise, with the same frozen update until a restart', async () => {
    const view = new ViewSystem<string>({ mode: 'fixed' });
    const a = view.updateSync(ts(1))!;
    expect(a).not.toBeInstanceOf(Promise);
    expect(view.updateSync(ts(2))).toBe(a);
    expect(await view.update(ts(3), 'f')).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.events)).toBe(true);
    expect(a).toMatchObject({ snapshot: view.snapshot, decision: undefined, motionSource: { kind: 'none' }, events: [], changed: false });
    const r = view.restart();
    const b = view.updateSync(ts(4))!;
    expect(b).not.toBe(a);
    expect(b.snapshot).toBe(r.snapshot);
  });

  it('updateSync leaves observed cameras to update (their provider is polled)', () => {
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{}]) });
    expect(view.updateSync(ts(1))).toBeUndefined();
  });
});

describe('ViewSystem — observed camera', () => {
  it('an empty report is unknown motion and degraded{unknown}, never stable; version moves only on change', async () => {
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{}, {}, {}, {}]) });
    const us = await runAll(view, 4);
    for (const u of us) {
      expect(u.snapshot.motion).toEqual({ kind: 'unknown' });
      expect(u.snapshot.validity).toEqual({ kind: 'degraded', reason: 'unknown' });
      expect(u.motionSource).toEqual({ kind: 'none' });
      expect(u.decision).toEqual({ kind: 'continue' });
      expect(u.snapshot.stabilityScore).toBe(0);
    }
    expect(us.map((u) => u.snapshot.transition)).toEqual(['moveStart', 'moving', 'moving', 'moving']);
    expect(us.map((u) => u.snapshot.version)).toEqual([1, 2, 2, 2]);
    expect(us.map((u) => u.changed)).toEqual([true, true, false, false]);
    expect(us[3]!.snapshot).toBe(us[2]!.snapshot);
    // validity was already degraded{unknown} in the initial observed state: no event
    expect(us.flatMap((u) => u.events)).toEqual([]);
  });

  it('passes ts, frame and the previous snapshot to the provider', async () => {
    const provider = scripted([{}, {}]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const before = view.snapshot;
    const [u0] = await runAll(view, 2);
    expect(provider.calls[0]).toEqual({ ts: ts(0), frame: 'frame-0', previousView: before });
    expect(provider.calls[1]!.previousView).toBe(u0!.snapshot);
  });

  it('a confident near-identity transform gives stable / valid / inferred and recovers stability', async () => {
    const steps = Array.from({ length: 5 }, () => ({ frameTransform: est(AffineTransform2D.translation(0.001, 0), 0.9) }));
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted(steps), stability: { settlingFrames: 4 } });
    const us = await runAll(view, 5);
    expect(us[0]!.motionSource).toEqual({ kind: 'inferred', confidence: 0.9 });
    expect(us.map((u) => u.snapshot.transition)).toEqual(['settled', 'settled', 'settled', 'settled', 'settled']);
    expect(us.map((u) => u.snapshot.validity.kind)).toEqual(['valid', 'valid', 'valid', 'valid', 'valid']);
    expect(us.map((u) => u.snapshot.stabilityScore)).toEqual([0.25, 0.5, 0.75, 1, 1]);
    expect(us[4]!.changed).toBe(false);
  });

  it('segment: epoch + 1, phase per the table, validity valid, stability 0, epochChanged event', async () => {
    const provider = scripted([{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzAt(2, 20) }, { ptz: ptzAt(3, 20) }, { ptz: ptzAt(4, 20) }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider, stability: { settlingFrames: 2 } });
    const us = await runAll(view, 5);
    const seg = us[2]!;
    expect(seg.decision).toEqual({ kind: 'segment' });
    expect(seg.snapshot.state).toMatchObject({
      epoch: 1, transition: 'moveStart', validity: { kind: 'valid' }, stabilityScore: 0, motionSource: { kind: 'telemetry' },
    });
    expect(seg.snapshot.motion.kind).toBe('moving');
    expect(seg.events).toEqual([{ type: 'epochChanged', epoch: 1, previousEpoch: 0, cause: 'segment' }]);
    expect(us.map((u) => u.snapshot.transition)).toEqual(['moveStart', 'moveEnd', 'moveStart', 'moveEnd', 'settled']);
    expect(us.map((u) => u.snapshot.epoch)).toEqual([0, 0, 1, 1, 1]);
    expect(us[4]!.snapshot.stabilityScore).toBe(1);
  });

  it('a preset recall on a still camera segments without leaving settled', async () => {
    const preset = [{ kind: 'presetRecall' as const, presetId: 3, ts: ts(3) }];
    const provider = scripted([{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzAt(2, 0) }, { ptz: ptzAt(3, 0), ptzEvents: preset }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const us = await runAll(view, 4);
    expect(us.map((u) => u.snapshot.transition)).toEqual(['moveStart', 'moveEnd', 'settled', 'settled']);
    const seg = us[3]!;
    expect(seg.decision).toEqual({ kind: 'segment' });
    expect(seg.changed).toBe(true);
    expect(seg.snapshot.state).toMatchObject({ epoch: 1, motion: { kind: 'stable' }, transition: 'settled', validity: { kind: 'valid' }, stabilityScore: 0 });
    expect(seg.snapshot.version).toBe(us[2]!.snapshot.version + 1);
    expect(seg.events).toEqual([{ type: 'epochChanged', epoch: 1, previousEpoch: 0, cause: 'segment' }]);
  });

  const STABLE_HINT: MotionReport = { motionHint: { kind: 'stable' } };
  const MOVING_HINT: MotionReport = { motionHint: { kind: 'moving', displacement: 0.05 } };
  const UNKNOWN_HINT: MotionReport = { motionHint: { kind: 'unknown' } };
  // prefixes of hints that leave the view in a given phase (from the initial `settled`)
  const REACH: Record<TransitionPhase, MotionReport[]> = {
    settled: [STABLE_HINT], moveStart: [MOVING_HINT], moving: [MOVING_HINT, MOVING_HINT], moveEnd: [MOVING_HINT, STABLE_HINT],
  };
  it.each<[TransitionPhase, string, MotionReport, TransitionPhase]>([
    ['settled', 'stable', STABLE_HINT, 'settled'],
    ['settled', 'moving', MOVING_HINT, 'moveStart'],
    ['settled', 'unknown', UNKNOWN_HINT, 'moveStart'],
    ['moveStart', 'moving', MOVING_HINT, 'moving'],
    ['moveStart', 'unknown', UNKNOWN_HINT, 'moving'],
    ['moveStart', 'stable', STABLE_HINT, 'moveEnd'],
    ['moving', 'moving', MOVING_HINT, 'moving'],
    ['moving', 'unknown', UNKNOWN_HINT, 'moving'],
    ['moving', 'stable', STABLE_HINT, 'moveEnd'],
    ['moveEnd', 'stable', STABLE_HINT, 'settled'],
    ['moveEnd', 'moving', MOVING_HINT, 'moveStart'],
    ['moveEnd', 'unknown', UNKNOWN_HINT, 'moveStart'],
  ])('a segment decision keeps the table phase: %s + %s → %s', async (prevPhase, _m, last, want) => {
    const prefix = REACH[prevPhase];
    let calls = 0; // segment on the last frame only
    const policy: EpochPolicy = { decide: () => (++calls === prefix.length + 1 ? segmentDecision() : continueDecision()) };
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([...prefix, last]), policy });
    const us = await runAll(view, prefix.length + 1);
    const before = us[prefix.length - 1]!, seg = us[prefix.length]!;
    expect(before.snapshot.transition).toBe(prevPhase);
    expect(before.snapshot.epoch).toBe(0);
    expect(seg.decision).toEqual({ kind: 'segment' });
    expect(seg.snapshot.transition).toBe(want);
    expect(seg.snapshot.transition).toBe(nextTransitionPhase(prevPhase, seg.snapshot.motion));
    expect(seg.snapshot.epoch).toBe(1);
    expect(seg.events[0]).toEqual({ type: 'epochChanged', epoch: 1, previousEpoch: 0, cause: 'segment' });
  });

  it('compensate: same epoch, degraded{reason}, transform handed back and announced', async () => {
    const T = AffineTransform2D.translation(-0.1, 0);
    const provider = scripted([{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzAt(2, 20), frameTransform: est(T, 0.9, 'ptzModel') }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const us = await runAll(view, 3);
    const c = us[2]!;
    expect(c.decision).toEqual({ kind: 'compensate', reason: 'ptzMoving', transform: T });
    expect(c.compensation).toBe(T);
    expect(c.snapshot.epoch).toBe(0);
    expect(c.snapshot.validity).toEqual({ kind: 'degraded', reason: 'ptzMoving' });
    expect(c.events).toEqual([
      { type: 'compensationApplied', epoch: 0, reason: 'ptzMoving', transform: T },
      { type: 'degraded', reason: 'ptzMoving', stabilityScore: c.snapshot.stabilityScore },
    ]);
    expect(c.snapshot.globalTransform).toMatchObject({ transform: T, method: 'ptzModel', computedAt: c.snapshot.version });
  });

  it('compensation ceiling: a large rotation segments instead of compensating', async () => {
    const T = AffineTransform2D.rotation(deg(10), { x: 0.5, y: 0.5 });
    const provider = scripted([{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 20), frameTransform: est(T, 0.99, 'ptzModel') }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const us = await runAll(view, 2);
    expect(us[1]!.decision).toEqual({ kind: 'segment' });
    expect(us[1]!.compensation).toBeUndefined();
  });

  it('small PTZ moves degrade; the degraded event fires once per change of reason', async () => {
    const provider = scripted([
      { ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzAt(2, 2) }, { ptz: ptzAt(3, 4) }, { ptz: ptzAt(4, 4, 0, 0.55) }, { ptz: ptzAt(5, 4, 0, 0.55) },
    ]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const us = await runAll(view, 6);
    expect(us.map((u) => u.decision?.kind)).toEqual(['continue', 'continue', 'degrade', 'degrade', 'degrade', 'continue']);
    expect(us.map((u) => u.snapshot.validity)).toEqual([
      { kind: 'degraded', reason: 'unknown' }, { kind: 'valid' }, { kind: 'degraded', reason: 'ptzMoving' },
      { kind: 'degraded', reason: 'ptzMoving' }, { kind: 'degraded', reason: 'zoomChange' }, { kind: 'valid' },
    ]);
    expect(us.map((u) => u.events.map((e) => e.type))).toEqual([[], [], ['degraded'], [], ['degraded'], []]);
    const m = us[2]!.snapshot.motion;
    expect(m.kind === 'moving' && m.angularVelocity).toBeCloseTo(2 / (FRAME_NS / 1e9), 6);
  });

  it('opted in (segmentOnAccumulatedMotion), a slow pan that never crosses the per-frame threshold segments when it ends', async () => {
    // frames 0-2 establish a settled PTZ baseline (0: no baseline → unknown, 1: moveEnd, 2: settled)
    const steps: MotionReport[] = [{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzAt(2, 0) }];
    for (let i = 1; i <= 10; i++) steps.push({ ptz: ptzAt(i + 2, 2 * i) }); // frames 3-12: 2°/frame → 20°
    steps.push({ ptz: ptzAt(13, 20) }, { ptz: ptzAt(14, 20) }); // 13: moveEnd, 14: after the segment
    const seen: EpochPolicyContext[] = [];
    const base = new DefaultEpochPolicy({ segmentOnAccumulatedMotion: true });
    const spy: EpochPolicy = { decide: (ctx) => { seen.push(ctx); return base.decide(ctx); } };
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted(steps), policy: spy });
    const us = await runAll(view, 15);
    const kinds = us.map((u) => u.decision?.kind);
    expect(us[2]!.snapshot.transition).toBe('settled');
    expect(kinds.slice(3, 13)).toEqual(Array(10).fill('degrade'));
    expect(kinds[13]).toBe('segment');
    expect(us.map((u) => u.snapshot.epoch)).toEqual([...Array(13).fill(0), 1, 1]);
    expect(seen[13]!.transition).toBe('moveEnd');
    expect(seen[13]!.accumulated?.ptz?.pan).toBeCloseTo(20, 9);
    expect(seen[13]!.accumulated?.frames).toBe(11);
    expect(seen[2]!.accumulated).toBeUndefined();
    // the segment does not touch the phase: 13 stays moveEnd, 14 (stable) settles per the table
    expect(us[13]!.snapshot.transition).toBe('moveEnd');
    expect(us[14]!.snapshot.transition).toBe('settled');
  });

  it.each([
    ['the default policy', undefined],
    ['segmentOnAccumulatedMotion: false', new DefaultEpochPolicy({ segmentOnAccumulatedMotion: false })],
  ])('with %s the same slow pan keeps its epoch (as in the reference)', async (_n, policy) => {
    const steps: MotionReport[] = [{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzAt(2, 0) }];
    for (let i = 1; i <= 10; i++) steps.push({ ptz: ptzAt(i + 2, 2 * i) });
    steps.push({ ptz: ptzAt(13, 20) });
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted(steps), ...(policy ? { policy } : {}) });
    const us = await runAll(view, 14);
    expect(us.slice(3, 13).map((u) => u.decision?.kind)).toEqual(Array(10).fill('degrade'));
    expect(us[13]!.decision).toEqual({ kind: 'continue' });
    expect(us.map((u) => u.snapshot.epoch)).toEqual(Array(14).fill(0));
  });

  it('keeps ptz and globalTransform when a report omits them; ts-only changes do not bump the version', async () => {
    const T = AffineTransform2D.translation(0.002, 0);
    const provider = scripted([
      { ptz: ptzAt(0, 5), frameTransform: est(T, 0.9) }, { ptz: ptzAt(1, 5) }, { ptz: ptzAt(2, 5) }, { ptz: ptzAt(3, 5) }, { ptz: ptzAt(4, 6) },
    ]);
    const view = new ViewSystem<string>({ mode: 'observed', provider, stability: { settlingFrames: 0 } });
    const us = await runAll(view, 5);
    // frame 0: no PTZ baseline, the near-identity transform says stable → settled/valid/1.0 at once
    expect(us.map((u) => u.snapshot.version)).toEqual([1, 1, 1, 1, 2]);
    expect(us.map((u) => u.changed)).toEqual([true, false, false, false, true]);
    expect(us[3]!.snapshot).toBe(us[0]!.snapshot);
    expect(us[3]!.snapshot.ptz?.ts).toBe(ts(0)); // pose unchanged since frame 0
    expect(us[4]!.snapshot.ptz).toEqual(ptzAt(4, 6));
    expect(us[4]!.snapshot.globalTransform).toMatchObject({ transform: T, computedAt: 1 });
  });

  it('a low-confidence transform is unknown motion with degraded{inferredMotionLowConfidence}', async () => {
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{ frameTransform: est(AffineTransform2D.IDENTITY, 0.2) }]) });
    const [u] = await runAll(view, 1);
    expect(u!.snapshot.motion).toEqual({ kind: 'unknown' });
    expect(u!.snapshot.validity).toEqual({ kind: 'degraded', reason: 'inferredMotionLowConfidence' });
    expect(u!.motionSource).toEqual({ kind: 'inferred', confidence: 0.2 });
    expect(u!.events).toEqual([{ type: 'degraded', reason: 'inferredMotionLowConfidence', stabilityScore: 0 }]);
  });

  it('a preset recall segments; with no motion data the new epoch is still degraded{unknown}', async () => {
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{ ptzEvents: [{ kind: 'presetRecall', presetId: 4, ts: ts(0) }] }]) });
    const [u] = await runAll(view, 1);
    expect(u!.decision).toEqual({ kind: 'segment' });
    expect(u!.snapshot.epoch).toBe(1);
    expect(u!.snapshot.validity).toEqual({ kind: 'degraded', reason: 'unknown' });
  });

  it('a ptzModel transform without telemetry warns and counts as external', async () => {
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{ frameTransform: est(AffineTransform2D.IDENTITY, 0.9, 'ptzModel') }]) });
    const [u] = await runAll(view, 1);
    expect(u!.motionSource).toEqual({ kind: 'external' });
    expect(u!.events[0]).toMatchObject({ type: 'motionSourceWarning', warning: { kind: 'ptzModelWithoutTelemetry' } });
  });

  it.each<[string, Step]>([
    ['a throwing provider', new Error('camera offline')],
    ['a rejected promise', () => Promise.reject(new Error('timeout'))],
    ['an invalid report', { ptz: { pan: 0, tilt: 0, zoom: 2, ts: 0 } as never }],
    ['a non-object report', 7 as never],
  ])('%s is reported and treated as an empty report', async (_n, step) => {
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{ frameTransform: est(AffineTransform2D.IDENTITY) }, step]) });
    const us = await runAll(view, 2);
    expect(us[0]!.snapshot.validity.kind).toBe('valid');
    const u = us[1]!;
    expect(u.snapshot.motion).toEqual({ kind: 'unknown' });
    expect(u.snapshot.validity).toEqual({ kind: 'degraded', reason: 'unknown' });
    expect(u.events[0]).toMatchObject({ type: 'providerError' });
    const err = (u.events[0] as { error: unknown }).error;
    expect(ViewError.isInstance(err)).toBe(true);
    expect((err as ViewError).kind).toBe('InvalidMotionReport');
  });

  it('async providers work and updates are serialized in call order', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const provider = scripted([
      async () => { await gate; return { frameTransform: est(AffineTransform2D.translation(0.1, 0)) }; },
      { frameTransform: est(AffineTransform2D.IDENTITY) },
    ]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const p0 = view.update(ts(0), 'a');
    const p1 = view.update(ts(1), 'b');
    await Promise.resolve();
    expect(provider.calls).toHaveLength(1);
    release();
    const [u0, u1] = await Promise.all([p0, p1]);
    expect(u0.snapshot.motion.kind).toBe('moving');
    expect(provider.calls[1]!.previousView).toBe(u0.snapshot);
    expect(u1.snapshot.transition).toBe('moveEnd');
  });

  it('passes the phase, accumulated motion and media-clock state duration to the policy', async () => {
    const seen: EpochPolicyContext[] = [];
    const policy: EpochPolicy = { decide: (ctx) => { seen.push(ctx); return continueDecision(); } };
    const T = AffineTransform2D.translation(0.05, 0);
    const provider = scripted([{ frameTransform: est(T) }, { frameTransform: est(T) }, { frameTransform: est(T) }, { frameTransform: est(AffineTransform2D.IDENTITY) }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider, policy });
    await runAll(view, 4);
    expect(seen.map((c) => c.transition)).toEqual(['moveStart', 'moving', 'moving', 'moveEnd']);
    expect(seen.map((c) => c.stateDuration)).toEqual([0, FRAME_NS, 2 * FRAME_NS, 0]);
    expect(seen.map((c) => c.accumulated?.frames)).toEqual([1, 2, 3, 4]);
    expect(seen[3]!.accumulated?.displacement).toBeCloseTo(0.15, 9);
    expect(seen[0]!.previousView.version).toBe(0);
  });

  it('a singular frame transform never compensates: the default policy segments instead', async () => {
    const SING = new AffineTransform2D([1, 1, 0.3, 0, 0, 0]);
    const provider = scripted([{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 20), frameTransform: est(SING, 0.99, 'ptzModel') }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const us = await runAll(view, 2);
    expect(us[1]!.decision).toEqual({ kind: 'segment' });
    expect(us[1]!.compensation).toBeUndefined();
    expect(us[1]!.snapshot.epoch).toBe(1);
  });

  it('a policy returning a singular compensation rejects the update and leaves the view untouched', async () => {
    const bad: EpochPolicy = { decide: () => ({ kind: 'compensate', reason: 'largeJump', transform: AffineTransform2D.scale(0, 1) }) };
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{ frameTransform: est(AffineTransform2D.translation(0.3, 0)) }]), policy: bad });
    const before = view.snapshot;
    await expect(view.update(ts(0), 'f')).rejects.toSatisfy(InvalidArgumentError.isInstance);
    expect(view.snapshot).toBe(before);
  });

  it('a policy returning an invalid decision rejects the update and leaves the view untouched', async () => {
    const bad: EpochPolicy = { decide: () => ({ kind: 'explode' }) as never };
    const view = new ViewSystem<string>({ mode: 'observed', provider: scripted([{}, {}]), policy: bad });
    const before = view.snapshot;
    await expect(view.update(ts(0), 'f')).rejects.toSatisfy(InvalidArgumentError.isInstance);
    expect(view.snapshot).toBe(before);
    await expect(view.update(ts(1), 'g')).rejects.toThrow(/decision\.kind/);
  });

  it('restart on an observed camera: epoch + 1, version + 1, initial observed state, PTZ history cleared', async () => {
    const provider = scripted([{ ptz: ptzAt(0, 0) }, { ptz: ptzAt(1, 0) }, { ptz: ptzTelemetry(90, 0, 0.5, 0) }]);
    const view = new ViewSystem<string>({ mode: 'observed', provider });
    const us = await runAll(view, 2);
    const r = view.restart();
    expect(r.snapshot.state).toMatchObject({
      epoch: 1, version: us[1]!.snapshot.version + 1, motion: { kind: 'unknown' }, transition: 'settled',
      validity: { kind: 'degraded', reason: 'unknown' }, stabilityScore: 0, ptz: undefined,
    });
    expect(r.events).toEqual([{ type: 'epochChanged', epoch: 1, previousEpoch: 0, cause: 'restart' }]);
    // after the restart the 90° pose has no baseline: unknown, not a 90° jump
    const u = await view.update(monotonicTs(0), 'after');
    expect(u.decision).toEqual({ kind: 'continue' });
    expect(u.snapshot.epoch).toBe(1);
    expect(u.snapshot.motion).toEqual({ kind: 'unknown' });
  });
});

describe('ViewSystem — poll deadline', () => {
  /** Lets promise continuations (and the view's own chain) run. */
  const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r)); };
  const stable = (): MotionReport => ({ frameTransform: est(AffineTransform2D.IDENTITY) });

  it('a poll that never settles: past pollTimeoutMs the frame gets an empty report (Unknown/Degraded), a PollTimeout providerError, and a count', async () => {
    const clock = new ManualClock();
    let settleLate: ((r: MotionReport) => void) | undefined;
    const provider = scripted([stable(), () => new Promise<MotionReport>((r) => { settleLate = r; }), stable()]);
    const view = new ViewSystem<string>({ mode: 'observed', provider, pollTimeoutMs: 500, clock });
    const [first] = await runAll(view, 1);
    expect(first!.snapshot.validity.kind).toBe('valid');
    expect(clock.pendingTimers).toBe(0); // a poll that answered in time leaves no timer behind

    let result: ViewUpdate | undefined;
    void view.update(ts(1), 'frame-1').then((u) => { result = u; });
    await settle();
    clock.advance(499);
    await settle();
    expect(result).toBeUndefined(); // still waiting: the deadline is not over
    clock.advance(1);
    await settle();
    expect(result!.snapshot.motion).toEqual({ kind: 'unknown' });
    expect(result!.snapshot.validity).toEqual({ kind: 'degraded', reason: 'unknown' });
    const err = (result!.events.find((e) => e.type === 'providerError') as { error: ViewError } | undefined)?.error;
    expect(ViewError.isInstance(err)).toBe(true);
    expect(err!.kind).toBe('PollTimeout');
    expect(err!.message).toContain('500 ms');
    expect(result!.events.some((e) => e.type === 'degraded')).toBe(true);
    expect(view.pollTimeouts).toBe(1);

    // While the late poll is out, the provider is not called again: the next frame is empty at once (no time passes).
    const u2 = await view.update(ts(2), 'frame-2');
    expect(provider.calls).toHaveLength(2);
    expect(u2.snapshot.motion).toEqual({ kind: 'unknown' });
    expect(view.pollTimeouts).toBe(2);

    // The late result arrives: it is discarded (the view does not change), and the provider is polled again.
    const before = view.snapshot;
    settleLate!(stable());
    await settle();
    expect(view.snapshot).toBe(before);
    const u3 = await view.update(ts(3), 'frame-3');
    expect(provider.calls).toHaveLength(3);
    expect(provider.calls[2]!.frame).toBe('frame-3');
    expect(u3.snapshot.motion.kind).not.toBe('unknown');
    expect(view.pollTimeouts).toBe(2);
  });

  it('a provider that rejects late is discarded the same way; pollTimeoutMs 0 means no deadline', async () => {
    const clock = new ManualClock();
    let rejectLate: ((e: Error) => void) | undefined;
    const view = new ViewSystem<string>({
      mode: 'observed', clock, pollTimeoutMs: 10,
      provider: scripted([() => new Promise<MotionReport>((_, reject) => { rejectLate = reject; }), stable()]),
    });
    const p = view.update(ts(0), 'a');
    await settle();
    clock.advance(10);
    expect((await p).events.map((e) => e.type === 'providerError' && e.error.kind)).toContain('PollTimeout');
    rejectLate!(new Error('too late'));
    await settle();
    expect((await view.update(ts(1), 'b')).events.filter((e) => e.type === 'providerError')).toEqual([]);

    let answer: ((r: MotionReport) => void) | undefined;
    const patient = new ViewSystem<string>({ mode: 'observed', clock, pollTimeoutMs: 0, provider: scripted([() => new Promise<MotionReport>((r) => { answer = r; })]) });
    let done = false;
    const q = patient.update(ts(0), 'c').then((u) => { done = true; return u; });
    await settle();
    clock.advance(3_600_000);
    await settle();
    expect(done).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    answer!(stable());
    expect((await q).snapshot.validity.kind).toBe('valid');
    expect(patient.pollTimeouts).toBe(0);
  });

  it('the default deadline is 1000 ms; a bad pollTimeoutMs or clock is refused', async () => {
    expect(DEFAULT_POLL_TIMEOUT_MS).toBe(1000);
    const clock = new ManualClock();
    const view = new ViewSystem<string>({ mode: 'observed', clock, provider: scripted([() => new Promise<MotionReport>(() => { /* never */ })]) });
    let result: ViewUpdate | undefined;
    void view.update(ts(0), 'a').then((u) => { result = u; });
    await settle();
    clock.advance(999);
    await settle();
    expect(result).toBeUndefined();
    clock.advance(1);
    await settle();
    expect(result!.snapshot.motion).toEqual({ kind: 'unknown' });
    for (const bad of [-1, Number.NaN, Infinity, '5' as never]) {
      expect(() => new ViewSystem({ mode: 'observed', provider: scripted([]), pollTimeoutMs: bad })).toThrow(InvalidArgumentError);
    }
    expect(() => new ViewSystem({ mode: 'observed', provider: scripted([]), clock: { now: () => 0 } as never })).toThrow(/clock/);
  });
});
