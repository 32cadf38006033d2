import { describe, it, expect } from 'vitest';
import { AffineTransform2D, InvalidArgumentError } from '@nv/core';
import type { MotionReport } from './motion-report.js';
import { computeMotionState, resolveMotionStateOptions } from './motion-state.js';
import type { PtzTelemetry } from './ptz.js';
import { ptzTelemetry } from './ptz.js';
import { globalTransformEstimate } from './transform.js';

const MS = 1_000_000;
const prevPtz = ptzTelemetry(0, 0, 0.5, 0);
const est = (t: AffineTransform2D, confidence = 0.9) => globalTransformEstimate(t, confidence, 'featureMatching');

describe('computeMotionState', () => {
  it.each<[string, MotionReport, PtzTelemetry | undefined, unknown, string, string | undefined]>([
    ['hint wins over ptz and transform',
      { motionHint: { kind: 'stable' }, ptz: ptzTelemetry(40, 0, 0.5, 100 * MS), frameTransform: est(AffineTransform2D.translation(0.3, 0)) },
      prevPtz, { kind: 'stable' }, 'hint', undefined],
    ['unknown hint carries the unknown reason', { motionHint: { kind: 'unknown' } }, prevPtz, { kind: 'unknown' }, 'hint', 'unknown'],
    ['ptz pan move: angular velocity = max delta / dt, no displacement',
      { ptz: ptzTelemetry(2, 1, 0.5, 100 * MS) }, prevPtz, { kind: 'moving', angularVelocity: 20 }, 'ptz', undefined],
    ['ptz wraps at 360° (359° → 1° is 2°)', { ptz: ptzTelemetry(1, 0, 0.5, 500 * MS) }, ptzTelemetry(359, 0, 0.5, 0), { kind: 'moving', angularVelocity: 4 }, 'ptz', undefined],
    ['same angle written differently is no motion', { ptz: ptzTelemetry(-1, 0, 0.5, 500 * MS) }, ptzTelemetry(359, 0, 0.5, 0), { kind: 'stable' }, 'ptz', undefined],
    ['ptz zoom-only move', { ptz: ptzTelemetry(0, 0, 0.6, 100 * MS) }, prevPtz, { kind: 'moving', angularVelocity: 0 }, 'ptz', undefined],
    ['ptz move with dt 0 omits angular velocity', { ptz: ptzTelemetry(3, 0, 0.5, 0) }, prevPtz, { kind: 'moving' }, 'ptz', undefined],
    ['ptz within deadband is stable', { ptz: ptzTelemetry(0.005, -0.01, 0.505, 100 * MS) }, prevPtz, { kind: 'stable' }, 'ptz', undefined],
    ['ptz has priority over transform', { ptz: ptzTelemetry(0, 0, 0.5, 100 * MS), frameTransform: est(AffineTransform2D.translation(0.2, 0)) },
      prevPtz, { kind: 'stable' }, 'ptz', undefined],
    ['ptz without a previous sample falls through to the transform',
      { ptz: prevPtz, frameTransform: est(AffineTransform2D.translation(0.1, 0)) }, undefined, { kind: 'moving', displacement: 0.1 }, 'frameTransform', undefined],
    ['ptz without a previous sample and nothing else is unknown', { ptz: prevPtz }, undefined, { kind: 'unknown' }, 'none', 'unknown'],
    ['transform above deadband moves with its displacement', { frameTransform: est(AffineTransform2D.translation(0.03, 0.04)) },
      undefined, { kind: 'moving', displacement: 0.05 }, 'frameTransform', undefined],
    ['transform at deadband is stable', { frameTransform: est(AffineTransform2D.translation(0.005, 0)) }, undefined, { kind: 'stable' }, 'frameTransform', undefined],
    ['low-confidence transform is unknown', { frameTransform: est(AffineTransform2D.translation(0.2, 0), 0.49) },
      undefined, { kind: 'unknown' }, 'frameTransform', 'inferredMotionLowConfidence'],
    ['confidence exactly at the minimum is used', { frameTransform: est(AffineTransform2D.IDENTITY, 0.5) }, undefined, { kind: 'stable' }, 'frameTransform', undefined],
    ['empty report is unknown', {}, prevPtz, { kind: 'unknown' }, 'none', 'unknown'],
  ])('%s', (_n, report, prev, motion, basis, reason) => {
    const r = computeMotionState(report, prev);
    if (r.motion.kind === 'moving' && r.motion.angularVelocity !== undefined) {
      const want = motion as { angularVelocity: number };
      expect(r.motion.angularVelocity).toBeCloseTo(want.angularVelocity, 9);
      expect(r.motion.displacement).toBeUndefined();
    } else if (r.motion.kind === 'moving' && r.motion.displacement !== undefined) {
      expect(r.motion.displacement).toBeCloseTo((motion as { displacement: number }).displacement, 9);
    } else {
      expect(r.motion).toEqual(motion);
    }
    expect(r.basis).toBe(basis);
    expect(r.unknownReason).toBe(reason);
  });

  it('a pure rotation counts as motion', () => {
    const r = computeMotionState({ frameTransform: est(AffineTransform2D.rotation(Math.PI / 36, { x: 0.5, y: 0.5 })) }, undefined);
    expect(r.motion.kind).toBe('moving');
  });

  it('honours custom thresholds', () => {
    const report = { frameTransform: est(AffineTransform2D.translation(0.05, 0), 0.6) };
    expect(computeMotionState(report, undefined, { displacementDeadband: 0.1 }).motion).toEqual({ kind: 'stable' });
    expect(computeMotionState(report, undefined, { minTransformConfidence: 0.7 }).motion).toEqual({ kind: 'unknown' });
  });

  it.each([
    [{ ptzDeadband: -1 }],
    [{ displacementDeadband: Number.NaN }],
    [{ minTransformConfidence: 1.5 }],
    [{ bogus: 1 }],
  ])('rejects options %j', (o) => {
    expect(() => resolveMotionStateOptions(o as never)).toThrow(InvalidArgumentError);
  });
});
