import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { convexHull, dbPostProcess, minAreaRect, rectCorners, unclipRect, type Quad } from './db.js';

/** A map with filled axis-aligned rectangles `[x0, y0, x1, y1)` at probability `p`. */
function mapWith(w: number, h: number, rects: readonly (readonly [number, number, number, number, number])[]): Float32Array {
  const m = new Float32Array(w * h);
  for (const [x0, y0, x1, y1, p] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = p;
  return m;
}

function bounds(q: Quad) {
  const xs = q.map((p) => p.x), ys = q.map((p) => p.y);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

describe('dbPostProcess', () => {
  it('turns each known rectangle into one box, unclipped by area × ratio / perimeter', () => {
    const prob = mapWith(200, 100, [[10, 20, 50, 30, 0.9], [100, 60, 180, 80, 0.7]]);
    const boxes = dbPostProcess(prob, 200, 100);
    expect(boxes).toHaveLength(2);
    const [a, b] = boxes as [NonNullable<(typeof boxes)[0]>, NonNullable<(typeof boxes)[0]>];
    // 40 × 10 core → d = 400 × 1.5 / 100 = 6
    expect(bounds(a.core)).toEqual({ x0: 10, y0: 20, x1: 50, y1: 30 });
    const ga = bounds(a.quad);
    expect(ga.x0).toBeCloseTo(4, 6); expect(ga.y0).toBeCloseTo(14, 6); expect(ga.x1).toBeCloseTo(56, 6); expect(ga.y1).toBeCloseTo(36, 6);
    expect(a.score).toBeCloseTo(0.9, 6);
    // 80 × 20 core → d = 1600 × 1.5 / 200 = 12
    const gb = bounds(b.quad);
    expect(gb.x0).toBeCloseTo(88, 6); expect(gb.y0).toBeCloseTo(48, 6); expect(gb.x1).toBeCloseTo(192, 6); expect(gb.y1).toBeCloseTo(92, 6);
    expect(b.score).toBeCloseTo(0.7, 6);
    // corners in PaddleOCR order: tl, tr, br, bl
    expect(a.quad[0].x).toBeLessThan(a.quad[1].x);
    expect(a.quad[0].y).toBeLessThan(a.quad[3].y);
    expect(a.quad[2].x).toBeGreaterThan(a.quad[3].x);
  });

  it('binarizes at the threshold and scores by the mean probability inside the box', () => {
    // A 30 × 8 block at 0.5 with a 10 × 8 hot part at 0.95: mean (20·0.5 + 10·0.95)/30 = 0.65
    const prob = mapWith(64, 32, [[10, 10, 40, 18, 0.5], [30, 10, 40, 18, 0.95]]);
    expect(dbPostProcess(prob, 64, 32)[0]!.score).toBeCloseTo(0.65, 5);
    expect(dbPostProcess(prob, 64, 32, { boxThreshold: 0.7 })).toHaveLength(0);
    // At threshold 0.6 only the hot part is text
    const hot = dbPostProcess(prob, 64, 32, { threshold: 0.6 });
    expect(hot).toHaveLength(1);
    expect(bounds(hot[0]!.core)).toEqual({ x0: 30, y0: 10, x1: 40, y1: 18 });
  });

  it('drops regions below the box threshold and below the minimum size', () => {
    const prob = mapWith(100, 50, [[5, 5, 40, 15, 0.5], [60, 10, 62, 40, 0.99], [60, 45, 90, 47, 0.99]]);
    // 0.5 < 0.6 box threshold; 2 px wide; 2 px high
    expect(dbPostProcess(prob, 100, 50)).toEqual([]);
    expect(dbPostProcess(prob, 100, 50, { boxThreshold: 0.4 })).toHaveLength(1);
    expect(dbPostProcess(prob, 100, 50, { minSize: 1 })).toHaveLength(2);
  });

  it('keeps 8-connected pixels together and separates components split by a gap', () => {
    const prob = new Float32Array(40 * 40);
    // A diagonal staircase of 4 × 4 blocks touching only at corners: one component.
    for (let k = 0; k < 4; k++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) prob[(4 + 4 * k + y) * 40 + 4 + 4 * k + x] = 0.9;
    expect(dbPostProcess(prob, 40, 40, { boxThreshold: 0.3 })).toHaveLength(1);
    const two = mapWith(40, 20, [[2, 5, 15, 12, 0.9], [16, 5, 30, 12, 0.9]]);
    expect(dbPostProcess(two, 40, 20)).toHaveLength(2);
  });

  it('finds rotated text as a rotated rectangle', () => {
    const w = 200, h = 200, angle = (20 * Math.PI) / 180, cx = 100, cy = 100, hw = 60, hh = 10;
    const prob = new Float32Array(w * h);
    const ux = Math.cos(angle), uy = Math.sin(angle);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      if (Math.abs(dx * ux + dy * uy) <= hw && Math.abs(-dx * uy + dy * ux) <= hh) prob[y * w + x] = 0.9;
    }
    const boxes = dbPostProcess(prob, w, h);
    expect(boxes).toHaveLength(1);
    const q = boxes[0]!.core;
    const top = Math.atan2(q[1].y - q[0].y, q[1].x - q[0].x);
    expect((top * 180) / Math.PI).toBeCloseTo(20, 0);
    expect(Math.hypot(q[1].x - q[0].x, q[1].y - q[0].y)).toBeGreaterThan(118);
    expect(Math.hypot(q[1].x - q[0].x, q[1].y - q[0].y)).toBeLessThan(124);
    expect(Math.hypot(q[3].x - q[0].x, q[3].y - q[0].y)).toBeGreaterThan(18);
    expect(Math.hypot(q[3].x - q[0].x, q[3].y - q[0].y)).toBeLessThan(23);
    const c = q.reduce((s, p) => ({ x: s.x + p.x / 4, y: s.y + p.y / 4 }), { x: 0, y: 0 });
    expect(c.x).toBeCloseTo(100, 0);
    expect(c.y).toBeCloseTo(100, 0);
  });

  it('returns nothing for an empty map and caps the candidates', () => {
    expect(dbPostProcess(new Float32Array(64 * 64), 64, 64)).toEqual([]);
    const many = mapWith(100, 20, Array.from({ length: 10 }, (_, i) => [i * 10, 2, i * 10 + 8, 12, 0.9] as const));
    expect(dbPostProcess(many, 100, 20)).toHaveLength(10);
    expect(dbPostProcess(many, 100, 20, { maxCandidates: 3 })).toHaveLength(3);
  });

  it('rejects bad sizes and options with InvalidArgumentError', () => {
    expect(() => dbPostProcess(new Float32Array(10), 4, 4)).toThrow(InvalidArgumentError);
    expect(() => dbPostProcess(new Float32Array(16), 0, 4)).toThrow(InvalidArgumentError);
    expect(() => dbPostProcess(new Float32Array(16), 4, 4, { threshold: 2 })).toThrow(/db\.threshold/);
    expect(() => dbPostProcess(new Float32Array(16), 4, 4, { maxCandidates: 0 })).toThrow(/db\.maxCandidates/);
  });
});

describe('geometry helpers', () => {
  it('convexHull drops interior and collinear points', () => {
    const hull = convexHull([{ x: 0, y: 0 }, { x: 2, y: 0 }, { x: 4, y: 0 }, { x: 4, y: 4 }, { x: 0, y: 4 }, { x: 2, y: 2 }]);
    expect(hull).toHaveLength(4);
  });

  it('minAreaRect of a rotated square recovers its side and angle', () => {
    const a = Math.PI / 6;
    const pts = [[-5, -5], [5, -5], [5, 5], [-5, 5]].map(([x, y]) => ({ x: 50 + x! * Math.cos(a) - y! * Math.sin(a), y: 50 + x! * Math.sin(a) + y! * Math.cos(a) }));
    const r = minAreaRect(pts);
    expect(r.width).toBeCloseTo(10, 6);
    expect(r.height).toBeCloseTo(10, 6);
    expect(r.width * r.height).toBeCloseTo(100, 6);
    expect(r.center.x).toBeCloseTo(50, 6);
  });

  it('unclipRect grows every side by area × ratio / perimeter', () => {
    const r = unclipRect({ center: { x: 0, y: 0 }, width: 40, height: 10, angle: 0 }, 1.5);
    expect(r.width).toBeCloseTo(52, 9);
    expect(r.height).toBeCloseTo(22, 9);
    const q = rectCorners(r);
    expect(q[0]).toEqual({ x: -26, y: -11 });
    expect(q[2]).toEqual({ x: 26, y: 11 });
  });
});
