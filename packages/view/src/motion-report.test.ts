import { describe, it, expect, vi } from 'vitest';
import { AffineTransform2D, ViewError } from '@nv/core';
import type { MotionSource } from './camera-motion.js';
import type { MotionReport } from './motion-report.js';
import { deriveMotionSource, isEmptyMotionReport, validateMotionReport } from './motion-report.js';
import { ptzTelemetry } from './ptz.js';
import type { TransformEstimationMethod } from './transform.js';
import { globalTransformEstimate } from './transform.js';

const ptz = ptzTelemetry(10, 0, 0.5, 0);
const tf = (method: TransformEstimationMethod, confidence = 0.7) =>
  globalTransformEstimate(AffineTransform2D.translation(0.02, 0), confidence, method);

describe('deriveMotionSource', () => {
  // The 7 rows of the spec table.
  it.each<[string, MotionReport, MotionSource, boolean]>([
    ['ptz present', { ptz }, { kind: 'telemetry' }, false],
    ['no ptz, featureMatching transform', { frameTransform: tf('featureMatching', 0.7) }, { kind: 'inferred', confidence: 0.7 }, false],
    ['no ptz, external transform', { frameTransform: tf('external') }, { kind: 'external' }, false],
    ['no ptz, ptzModel transform (provider bug)', { frameTransform: tf('ptzModel') }, { kind: 'external' }, true],
    ['ptz and transform both present', { ptz, frameTransform: tf('featureMatching') }, { kind: 'telemetry' }, false],
    ['only motionHint', { motionHint: { kind: 'stable' } }, { kind: 'external' }, false],
    ['all empty', {}, { kind: 'none' }, false],
  ])('%s', (_name, report, want, warns) => {
    const onWarning = vi.fn();
    expect(deriveMotionSource(validateMotionReport(report), onWarning)).toEqual(want);
    expect(onWarning).toHaveBeenCalledTimes(warns ? 1 : 0);
    if (warns) expect(onWarning.mock.calls[0]![0]).toMatchObject({ kind: 'ptzModelWithoutTelemetry' });
  });

  it('ptzModel together with ptz is telemetry and does not warn', () => {
    const onWarning = vi.fn();
    expect(deriveMotionSource({ ptz, frameTransform: tf('ptzModel') }, onWarning)).toEqual({ kind: 'telemetry' });
    expect(onWarning).not.toHaveBeenCalled();
  });

  it('ptzEvents alone leave the report empty', () => {
    const r = validateMotionReport({ ptzEvents: [{ kind: 'presetRecall', presetId: 1, ts: 0 }] });
    expect(isEmptyMotionReport(r)).toBe(true);
    expect(deriveMotionSource(r)).toEqual({ kind: 'none' });
  });
});

describe('validateMotionReport', () => {
  it('returns a frozen copy with absent fields left absent', () => {
    const r = validateMotionReport({ ptz: { pan: 1, tilt: 2, zoom: 0.5, ts: 3 } });
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.ptz)).toBe(true);
    expect('frameTransform' in r).toBe(false);
    expect(validateMotionReport({})).toEqual({});
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', 42, /report/],
    ['an array', [], /report/],
    ['pan NaN', { ptz: { pan: Number.NaN, tilt: 0, zoom: 0, ts: 0 } }, /ptz\.pan/],
    ['zoom above 1', { ptz: { pan: 0, tilt: 0, zoom: 1.5, ts: 0 } }, /ptz\.zoom/],
    ['zoom below 0', { ptz: { pan: 0, tilt: 0, zoom: -0.01, ts: 0 } }, /ptz\.zoom/],
    ['negative ts', { ptz: { pan: 0, tilt: 0, zoom: 0, ts: -5 } }, /ptz\.ts/],
    ['confidence above 1', { frameTransform: { transform: AffineTransform2D.IDENTITY, confidence: 1.1, method: 'external', computedAt: 0 } }, /frameTransform\.confidence/],
    ['confidence below 0', { frameTransform: { transform: AffineTransform2D.IDENTITY, confidence: -0.1, method: 'external', computedAt: 0 } }, /frameTransform\.confidence/],
    ['confidence NaN', { frameTransform: { transform: AffineTransform2D.IDENTITY, confidence: Number.NaN, method: 'external', computedAt: 0 } }, /frameTransform\.confidence/],
    ['NaN transform', { frameTransform: { transform: { m: [1, 0, Number.NaN, 0, 1, 0] }, confidence: 1, method: 'external', computedAt: 0 } }, /frameTransform\.transform/],
    ['unknown method', { frameTransform: { transform: AffineTransform2D.IDENTITY, confidence: 1, method: 'magic', computedAt: 0 } }, /frameTransform\.method/],
    ['unknown hint kind', { motionHint: { kind: 'wobbly' } }, /motionHint\.kind/],
    ['NaN hint displacement', { motionHint: { kind: 'moving', displacement: Number.NaN } }, /motionHint\.displacement/],
    ['negative hint angular velocity', { motionHint: { kind: 'moving', angularVelocity: -3 } }, /motionHint\.angularVelocity/],
    ['ptzEvents not an array', { ptzEvents: { kind: 'moveStart', ts: 0 } }, /ptzEvents/],
    ['bad preset id', { ptzEvents: [{ kind: 'presetRecall', presetId: -2, ts: 0 }] }, /ptzEvents\[0\]\.presetId/],
  ])('rejects %s with ViewError.InvalidMotionReport', (_n, report, field) => {
    let caught: unknown;
    try { validateMotionReport(report); } catch (e) { caught = e; }
    expect(ViewError.isInstance(caught)).toBe(true);
    expect((caught as ViewError).kind).toBe('InvalidMotionReport');
    expect((caught as ViewError).message).toMatch(field);
  });
});
