import { describe, expect, it } from 'vitest';
import { AffineTransform2D, BBox, InvalidArgumentError, Polygon, ViewError, point2, point2Unbounded } from './index.js';

describe('BBox construction', () => {
  it.each([
    ['NaN xMin', [Number.NaN, 0, 1, 1], 'bbox.xMin'],
    ['Infinity yMax', [0, 0, 1, Number.POSITIVE_INFINITY], 'bbox.yMax'],
    ['xMin > xMax', [0.6, 0, 0.5, 1], 'bbox.xMin'],
    ['yMin > yMax', [0, 0.7, 1, 0.2], 'bbox.yMin'],
    ['negative', [-0.1, 0, 0.5, 0.5], 'bbox.xMin'],
    ['above 1', [0, 0, 1.01, 0.5], 'bbox.xMax'],
  ] as const)('rejects %s with a typed error naming the field', (_name, c, field) => {
    const err = (() => { try { BBox.of(c[0], c[1], c[2], c[3]); } catch (e) { return e; } })();
    expect(InvalidArgumentError.isInstance(err)).toBe(true);
    expect((err as InvalidArgumentError).argument).toBe(field);
    expect((err as Error).message).toMatch(/^Expected .* for bbox\./);
  });

  it('unbounded accepts out-of-frame but still rejects NaN and inverted boxes', () => {
    expect(BBox.unbounded(-0.2, -0.1, 1.3, 0.5).isInFrame).toBe(false);
    expect(() => BBox.unbounded(Number.NaN, 0, 1, 1)).toThrow(/finite/);
    expect(() => BBox.unbounded(2, 0, 1, 1)).toThrow(/xMin/);
  });

  it('computes width, height, area, center, iou', () => {
    const a = BBox.of(0, 0, 0.5, 0.5);
    const b = BBox.of(0.25, 0.25, 0.75, 0.75);
    expect(a.width).toBe(0.5);
    expect(a.area).toBe(0.25);
    expect(a.center).toEqual({ x: 0.25, y: 0.25 });
    expect(a.iou(b)).toBeCloseTo(0.0625 / (0.25 + 0.25 - 0.0625), 12);
    expect(a.iou(BBox.of(0.6, 0.6, 0.7, 0.7))).toBe(0);
    expect(BBox.of(0.1, 0.1, 0.1, 0.1).iou(BBox.of(0.1, 0.1, 0.1, 0.1))).toBe(0);
  });

  it('converts from pixels and clamps to the frame', () => {
    const b = BBox.fromPixels(-10, 540, 1000, 1000, 1920, 1080);
    expect(b.toJSON()).toEqual({ xMin: 0, yMin: 0.5, xMax: 990 / 1920, yMax: 1 });
    expect(() => BBox.fromPixels(0, 0, 1, 1, 0, 1080)).toThrow(InvalidArgumentError);
  });

  it('is immutable', () => {
    const b = BBox.of(0, 0, 1, 1);
    expect(() => { (b as unknown as { xMin: number }).xMin = 0.5; }).toThrow(TypeError);
  });
});

describe('Point2 and Polygon', () => {
  it('validates points', () => {
    expect(point2(0.5, 1)).toEqual({ x: 0.5, y: 1 });
    expect(() => point2(1.5, 0)).toThrow(InvalidArgumentError);
    expect(() => point2Unbounded(Number.NaN, 0)).toThrow(InvalidArgumentError);
    expect(point2Unbounded(-3, 4)).toEqual({ x: -3, y: 4 });
  });
  it('polygon area, containment, bbox', () => {
    const sq = new Polygon([point2(0.2, 0.2), point2(0.6, 0.2), point2(0.6, 0.6), point2(0.2, 0.6)]);
    expect(sq.area).toBeCloseTo(0.16, 12);
    expect(sq.contains({ x: 0.4, y: 0.4 })).toBe(true);
    expect(sq.contains({ x: 0.7, y: 0.4 })).toBe(false);
    expect(sq.bbox().toJSON()).toEqual({ xMin: 0.2, yMin: 0.2, xMax: 0.6, yMax: 0.6 });
    expect(() => new Polygon([point2(0, 0), point2(1, 1)])).toThrow(InvalidArgumentError);
  });
});

describe('AffineTransform2D', () => {
  const p = { x: 0.3, y: 0.7 };
  it.each([
    ['identity', AffineTransform2D.IDENTITY, { x: 0.3, y: 0.7 }],
    ['translation', AffineTransform2D.translation(0.1, -0.2), { x: 0.4, y: 0.5 }],
    ['scale about origin', AffineTransform2D.scale(2), { x: 0.6, y: 1.4 }],
    ['scale about center', AffineTransform2D.scale(2, 2, { x: 0.5, y: 0.5 }), { x: 0.1, y: 0.9 }],
    ['rotation 90°', AffineTransform2D.rotation(Math.PI / 2), { x: -0.7, y: 0.3 }],
  ])('apply: %s', (_n, t, expected) => {
    const r = t.apply(p);
    expect(r.x).toBeCloseTo(expected.x, 12);
    expect(r.y).toBeCloseTo(expected.y, 12);
  });

  it('then applies left to right and compose is its mirror', () => {
    const a = AffineTransform2D.translation(0.1, 0);
    const b = AffineTransform2D.scale(2);
    const ab = a.then(b);
    expect(ab.apply(p).x).toBeCloseTo(b.apply(a.apply(p)).x, 12);
    expect(b.compose(a).m).toEqual(ab.m);
  });

  it('invert round-trips and refuses singular transforms with ViewError', () => {
    const t = AffineTransform2D.rotation(0.3, { x: 0.5, y: 0.5 }).then(AffineTransform2D.translation(0.05, 0.02)).then(AffineTransform2D.scale(1.1));
    const back = t.invert().apply(t.apply(p));
    expect(back.x).toBeCloseTo(p.x, 12);
    expect(back.y).toBeCloseTo(p.y, 12);
    expect(t.then(t.invert()).isIdentity(1e-12)).toBe(true);
    const singular = new AffineTransform2D([1, 2, 0, 2, 4, 0]);
    expect(() => singular.invert()).toThrow(expect.objectContaining({ kind: 'TransformFailed' }));
    try { singular.invert(); } catch (e) { expect(ViewError.isInstance(e)).toBe(true); }
  });

  it('re-bounds boxes from transformed corners', () => {
    const b = BBox.of(0.4, 0.4, 0.6, 0.6);
    const r = AffineTransform2D.rotation(Math.PI / 4, { x: 0.5, y: 0.5 }).applyToBBox(b);
    const half = Math.SQRT2 * 0.1;
    expect(r.xMin).toBeCloseTo(0.5 - half, 12);
    expect(r.yMax).toBeCloseTo(0.5 + half, 12);
    expect(AffineTransform2D.translation(0.7, 0).applyToBBox(b).xMax).toBeCloseTo(1.3, 12);
  });

  it('reports rotation, scale, translation', () => {
    const t = AffineTransform2D.rotation((10 * Math.PI) / 180).then(AffineTransform2D.scale(1.2)).then(AffineTransform2D.translation(0.3, 0.4));
    expect(t.rotationDegrees).toBeCloseTo(10, 9);
    expect(t.scaleFactors.sx).toBeCloseTo(1.2, 9);
    expect(t.translationMagnitude).toBeCloseTo(0.5, 12);
    expect(() => new AffineTransform2D([1, 0, Number.NaN, 0, 1, 0])).toThrow(InvalidArgumentError);
  });
});
