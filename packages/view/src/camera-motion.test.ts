import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import {
  checkCameraMotionState, checkMotionSource, countsAsMoving, inferredSource, motionSourceEquals, motionStateEquals, movingMotion,
  stableMotion, unknownMotion,
} from './camera-motion.js';
import { checkContextValidity, degradedValidity, validityEquals, validValidity } from './validity.js';

describe('CameraMotionState / MotionSource', () => {
  it('moving omits absent fields and validates present ones', () => {
    expect(movingMotion()).toEqual({ kind: 'moving' });
    expect('displacement' in movingMotion({ angularVelocity: 3 })).toBe(false);
    expect(() => movingMotion({ displacement: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => movingMotion({ angularVelocity: Number.NaN })).toThrow(InvalidArgumentError);
  });
  it.each([
    [stableMotion(), false],
    [movingMotion({ displacement: 0 }), true],
    [unknownMotion(), true],
  ])('countsAsMoving(%j) = %s', (m, want) => { expect(countsAsMoving(m)).toBe(want); });
  it('equality is structural', () => {
    expect(motionStateEquals(movingMotion({ displacement: 0.1 }), { kind: 'moving', displacement: 0.1 })).toBe(true);
    expect(motionStateEquals(movingMotion({ displacement: 0.1 }), movingMotion({ displacement: 0.2 }))).toBe(false);
    expect(motionStateEquals(stableMotion(), unknownMotion())).toBe(false);
    expect(motionSourceEquals(inferredSource(0.5), { kind: 'inferred', confidence: 0.5 })).toBe(true);
    expect(motionSourceEquals(inferredSource(0.5), inferredSource(0.6))).toBe(false);
  });
  it.each([
    ['inferred confidence 1.2', () => inferredSource(1.2)],
    ['unknown source kind', () => checkMotionSource('s', { kind: 'gps' })],
    ['unknown motion kind', () => checkCameraMotionState('m', { kind: 'shaky' })],
    ['null motion', () => checkCameraMotionState('m', null)],
  ])('rejects %s', (_n, f) => { expect(f).toThrow(InvalidArgumentError); });
});

describe('ContextValidity', () => {
  it('builds, checks and compares', () => {
    expect(degradedValidity('zoomChange')).toEqual({ kind: 'degraded', reason: 'zoomChange' });
    expect(validityEquals(degradedValidity('zoomChange'), degradedValidity('ptzMoving'))).toBe(false);
    expect(validityEquals(validValidity(), { kind: 'valid' })).toBe(true);
    expect(checkContextValidity('v', { kind: 'invalid' })).toEqual({ kind: 'invalid' });
    expect(() => degradedValidity('fog' as never)).toThrow(InvalidArgumentError);
  });
});
