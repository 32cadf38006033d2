import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { angularDistance, checkPtzEvent, ptzDeltas, ptzPoseEquals, ptzTelemetry } from './ptz.js';

describe('angularDistance', () => {
  it.each([
    [0, 0, 0],
    [10, 0, 10],
    [0, 10, 10],
    [350, 10, 20],
    [10, 350, 20],
    [-170, 170, 20],
    [180, 0, 180],
    [720, 0, 0],
    [725, -5, 10],
  ])('(%d, %d) = %d', (a, b, want) => {
    expect(angularDistance(a, b)).toBeCloseTo(want, 9);
  });
  it('rejects NaN', () => { expect(() => angularDistance(Number.NaN, 0)).toThrow(InvalidArgumentError); });
});

describe('PtzTelemetry', () => {
  it('builds frozen samples and computes deltas', () => {
    const a = ptzTelemetry(355, 10, 0.2, 0);
    const b = ptzTelemetry(5, 4, 0.5, 33_000_000);
    expect(Object.isFrozen(a)).toBe(true);
    const d = ptzDeltas(a, b);
    expect(d.pan).toBeCloseTo(10, 9);
    expect(d.tilt).toBeCloseTo(6, 9);
    expect(d.zoom).toBeCloseTo(0.3, 9);
  });
  it.each([
    ['pan NaN', () => ptzTelemetry(Number.NaN, 0, 0, 0)],
    ['tilt ∞', () => ptzTelemetry(0, Number.POSITIVE_INFINITY, 0, 0)],
    ['zoom > 1', () => ptzTelemetry(0, 0, 1.01, 0)],
    ['zoom < 0', () => ptzTelemetry(0, 0, -0.1, 0)],
    ['ts < 0', () => ptzTelemetry(0, 0, 0, -1)],
  ])('rejects %s', (_n, f) => { expect(f).toThrow(InvalidArgumentError); });
  it('pose equality ignores ts', () => {
    expect(ptzPoseEquals(ptzTelemetry(1, 2, 0.3, 0), ptzTelemetry(1, 2, 0.3, 99))).toBe(true);
    expect(ptzPoseEquals(ptzTelemetry(1, 2, 0.3, 0), ptzTelemetry(1, 2, 0.4, 0))).toBe(false);
    expect(ptzPoseEquals(undefined, undefined)).toBe(true);
    expect(ptzPoseEquals(ptzTelemetry(1, 2, 0.3, 0), undefined)).toBe(false);
  });
});

describe('checkPtzEvent', () => {
  it('accepts the three kinds', () => {
    expect(checkPtzEvent('e', { kind: 'presetRecall', presetId: 3, ts: 5 })).toEqual({ kind: 'presetRecall', presetId: 3, ts: 5 });
    expect(checkPtzEvent('e', { kind: 'moveStart', ts: 0 }).kind).toBe('moveStart');
    expect(checkPtzEvent('e', { kind: 'moveStop', ts: 0 }).kind).toBe('moveStop');
  });
  it.each([
    [{ kind: 'zoomed', ts: 0 }],
    [{ kind: 'presetRecall', presetId: -1, ts: 0 }],
    [{ kind: 'presetRecall', presetId: 1.5, ts: 0 }],
    [{ kind: 'moveStart', ts: Number.NaN }],
    [null],
  ])('rejects %j', (v) => { expect(() => checkPtzEvent('e', v)).toThrow(InvalidArgumentError); });
});
