import { describe, it, expect } from 'vitest';
import { AffineTransform2D, InvalidArgumentError } from '@nv/core';
import {
  MIN_COMPENSATION_DETERMINANT, absRotationDegrees, checkAffineTransform, checkCompensationTransform, isCompensableTransform, displacementMagnitude, globalTransformEstimate, maxFrameDisplacement, scaleChange,
  transformEstimateContentEquals,
} from './transform.js';

const deg = (d: number): number => (d * Math.PI) / 180;

describe('transform measures', () => {
  it('displacementMagnitude is the translation length', () => {
    expect(displacementMagnitude(globalTransformEstimate(AffineTransform2D.translation(0.03, 0.04), 1, 'external'))).toBeCloseTo(0.05, 12);
  });
  it.each([
    ['identity', AffineTransform2D.IDENTITY, 0],
    ['translation (0.03, 0.04)', AffineTransform2D.translation(0.03, 0.04), 0.05],
    // a corner at distance √0.5 from the centre moves by 2·r·sin(θ/2)
    ['rotation 10° about centre', AffineTransform2D.rotation(deg(10), { x: 0.5, y: 0.5 }), 2 * Math.SQRT1_2 * Math.sin(deg(5))],
    ['scale 1.2 about centre', AffineTransform2D.scale(1.2, 1.2, { x: 0.5, y: 0.5 }), 0.2 * Math.SQRT1_2],
    ['scale 1.2 about origin', AffineTransform2D.scale(1.2), 0.2 * Math.SQRT2],
  ])('maxFrameDisplacement(%s)', (_n, t, want) => {
    expect(maxFrameDisplacement(t)).toBeCloseTo(want, 9);
  });
  it.each([
    ['identity', AffineTransform2D.IDENTITY, 0, 0],
    ['rotation -7°', AffineTransform2D.rotation(deg(-7)), 7, 0],
    ['scale 0.85', AffineTransform2D.scale(0.85), 0, 0.15],
    ['anisotropic scale', AffineTransform2D.scale(1.02, 1.12), 0, 0.12],
    ['shear 0.5', new AffineTransform2D([1, 0.5, 0, 0, 1, 0]), 0, Math.hypot(0.5, 1) - 1],
  ])('rotation / scale change of %s', (_n, t, rot, sc) => {
    expect(absRotationDegrees(t)).toBeCloseTo(rot, 9);
    expect(scaleChange(t)).toBeCloseTo(sc, 9);
  });
});

describe('GlobalTransformEstimate validation', () => {
  it.each([
    ['confidence > 1', () => globalTransformEstimate(AffineTransform2D.IDENTITY, 1.2, 'external')],
    ['confidence NaN', () => globalTransformEstimate(AffineTransform2D.IDENTITY, Number.NaN, 'external')],
    ['bad method', () => globalTransformEstimate(AffineTransform2D.IDENTITY, 1, 'guess' as 'external')],
    ['bad computedAt', () => globalTransformEstimate(AffineTransform2D.IDENTITY, 1, 'external', -1)],
  ])('rejects %s', (_n, f) => { expect(f).toThrow(InvalidArgumentError); });
  it('accepts a transform-like object from another package copy, rejects NaN coefficients', () => {
    expect(checkAffineTransform('t', { m: [1, 0, 0.1, 0, 1, 0] }).translationMagnitude).toBeCloseTo(0.1, 12);
    expect(() => checkAffineTransform('t', { m: [1, 0, Number.NaN, 0, 1, 0] })).toThrow(InvalidArgumentError);
    expect(() => checkAffineTransform('t', [1, 0, 0, 0, 1, 0])).toThrow(InvalidArgumentError);
  });
  it.each<[string, AffineTransform2D, boolean]>([
    ['identity', AffineTransform2D.IDENTITY, true],
    ['rotation 30°', AffineTransform2D.rotation(deg(30)), true],
    ['reflection', new AffineTransform2D([-1, 0, 1, 0, 1, 0]), true],
    ['determinant exactly the minimum', new AffineTransform2D([1, 0, 0, 0, MIN_COMPENSATION_DETERMINANT, 0]), true],
    ['determinant just below the minimum', new AffineTransform2D([1, 0, 0, 0, 0.99 * MIN_COMPENSATION_DETERMINANT, 0]), false],
    ['negative determinant just below the minimum in size', new AffineTransform2D([1, 0, 0, 0, -0.99 * MIN_COMPENSATION_DETERMINANT, 0]), false],
    ['rank-1 with unit columns', new AffineTransform2D([1, 1, 0.3, 0, 0, 0]), false],
    ['scale 0 on one axis', AffineTransform2D.scale(0, 1), false],
  ])('compensation invertibility of %s', (_n, t, ok) => {
    expect(MIN_COMPENSATION_DETERMINANT).toBe(1e-9);
    expect(isCompensableTransform(t)).toBe(ok);
    if (ok) expect(checkCompensationTransform('t', t)).toBe(t);
    else expect(() => checkCompensationTransform('t', t)).toThrow(InvalidArgumentError);
  });
  it('a singular frame-transform estimate is still a valid estimate (only compensation refuses it)', () => {
    expect(globalTransformEstimate(AffineTransform2D.scale(0, 1), 0.9, 'featureMatching').transform.determinant).toBe(0);
    expect(() => checkCompensationTransform('t', { m: [1, 0, Number.NaN, 0, 1, 0] })).toThrow(InvalidArgumentError);
  });
  it('content equality ignores computedAt', () => {
    const a = globalTransformEstimate(AffineTransform2D.translation(0.1, 0), 0.9, 'featureMatching', 1);
    const b = globalTransformEstimate(AffineTransform2D.translation(0.1, 0), 0.9, 'featureMatching', 7);
    const c = globalTransformEstimate(AffineTransform2D.translation(0.1, 0), 0.8, 'featureMatching', 1);
    expect(transformEstimateContentEquals(a, b)).toBe(true);
    expect(transformEstimateContentEquals(a, c)).toBe(false);
    expect(transformEstimateContentEquals(a, undefined)).toBe(false);
  });
});
