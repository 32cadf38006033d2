import { describe, it, expect } from 'vitest';
import { AffineTransform2D, InvalidArgumentError } from '@nv/core';
import { viewEpoch, viewVersion } from './epoch.js';
import { ptzTelemetry } from './ptz.js';
import { globalTransformEstimate } from './transform.js';
import type { ViewState } from './view-state.js';
import { ViewSnapshot, fixedInitialViewState, observedInitialViewState, viewStateContentEquals } from './view-state.js';

describe('initial view states', () => {
  it('fixed: stable / none / settled / valid / 1.0 at epoch 0, version 0', () => {
    expect(fixedInitialViewState()).toEqual({
      epoch: 0, version: 0, motion: { kind: 'stable' }, motionSource: { kind: 'none' }, transition: 'settled',
      ptz: undefined, globalTransform: undefined, validity: { kind: 'valid' }, stabilityScore: 1,
    });
  });
  it('observed: unknown / none / settled / degraded{unknown} / 0.0', () => {
    expect(observedInitialViewState({ epoch: viewEpoch(3), version: viewVersion(9) })).toEqual({
      epoch: 3, version: 9, motion: { kind: 'unknown' }, motionSource: { kind: 'none' }, transition: 'settled',
      ptz: undefined, globalTransform: undefined, validity: { kind: 'degraded', reason: 'unknown' }, stabilityScore: 0,
    });
  });
});

describe('ViewSnapshot', () => {
  const state: ViewState = {
    ...observedInitialViewState(),
    motion: { kind: 'moving', displacement: 0.1 },
    ptz: ptzTelemetry(1, 2, 0.3, 0),
    globalTransform: globalTransformEstimate(AffineTransform2D.translation(0.1, 0), 0.9, 'featureMatching', 0),
  };

  it('exposes every field through getters and is deep-frozen', () => {
    const s = ViewSnapshot.of(state);
    expect([s.epoch, s.version, s.transition, s.stabilityScore]).toEqual([0, 0, 'settled', 0]);
    expect(s.motion).toEqual({ kind: 'moving', displacement: 0.1 });
    expect(s.motionSource).toEqual({ kind: 'none' });
    expect(s.validity).toEqual({ kind: 'degraded', reason: 'unknown' });
    expect(s.ptz?.pan).toBe(1);
    expect(s.globalTransform?.confidence).toBe(0.9);
    for (const o of [s, s.state, s.motion, s.ptz, s.globalTransform, s.validity, s.motionSource]) expect(Object.isFrozen(o)).toBe(true);
    expect(() => { (s.state as { stabilityScore: number }).stabilityScore = 1; }).toThrow(TypeError);
    expect(JSON.parse(JSON.stringify(s)).globalTransform.transform).toEqual([1, 0, 0.1, 0, 1, 0]);
  });

  it('copies its input, so later mutation of the input does not leak in', () => {
    const mutable = { ...state, motion: { kind: 'moving' as const, displacement: 0.1 } };
    const s = ViewSnapshot.of(mutable);
    mutable.motion.displacement = 0.9;
    expect(s.motion).toEqual({ kind: 'moving', displacement: 0.1 });
  });

  it.each<[string, Partial<Record<keyof ViewState, unknown>>, RegExp]>([
    ['stability above 1', { stabilityScore: 1.5 }, /stabilityScore/],
    ['NaN stability', { stabilityScore: Number.NaN }, /stabilityScore/],
    ['negative epoch', { epoch: -1 }, /epoch/],
    ['fractional version', { version: 1.5 }, /version/],
    ['unknown transition', { transition: 'drifting' }, /transition/],
    ['unknown validity', { validity: { kind: 'meh' } }, /validity/],
    ['unknown degradation reason', { validity: { kind: 'degraded', reason: 'rain' } }, /validity\.reason/],
    ['bad motion source', { motionSource: { kind: 'inferred', confidence: 2 } }, /motionSource\.confidence/],
    ['bad ptz', { ptz: { pan: 0, tilt: 0, zoom: 3, ts: 0 } }, /ptz\.zoom/],
  ])('rejects %s', (_n, patch, field) => {
    expect(() => ViewSnapshot.of({ ...state, ...patch } as ViewState)).toThrow(InvalidArgumentError);
    expect(() => ViewSnapshot.of({ ...state, ...patch } as ViewState)).toThrow(field);
  });
});

describe('viewStateContentEquals', () => {
  const base = fixedInitialViewState();
  it.each<[string, Partial<ViewState>, boolean]>([
    ['only the version differs', { version: viewVersion(5) }, true],
    ['epoch differs', { epoch: viewEpoch(1) }, false],
    ['stability differs', { stabilityScore: 0.5 }, false],
    ['transition differs', { transition: 'moveStart' }, false],
    ['motion displacement differs', { motion: { kind: 'moving', displacement: 0.2 } }, false],
    ['source confidence differs', { motionSource: { kind: 'inferred', confidence: 0.4 } }, false],
    ['validity reason differs', { validity: { kind: 'degraded', reason: 'largeJump' } }, false],
  ])('%s → %s', (_n, patch, equal) => {
    expect(viewStateContentEquals(base, { ...base, ...patch })).toBe(equal);
  });
  it('ignores ptz.ts and globalTransform.computedAt', () => {
    const t = AffineTransform2D.translation(0.1, 0);
    const a = { ...base, ptz: ptzTelemetry(1, 1, 0.1, 0), globalTransform: globalTransformEstimate(t, 0.9, 'external', 1) };
    const b = { ...base, ptz: ptzTelemetry(1, 1, 0.1, 99), globalTransform: globalTransformEstimate(t, 0.9, 'external', 4) };
    expect(viewStateContentEquals(a, b)).toBe(true);
    expect(viewStateContentEquals(a, { ...b, ptz: ptzTelemetry(1, 1.5, 0.1, 0) })).toBe(false);
  });
});
