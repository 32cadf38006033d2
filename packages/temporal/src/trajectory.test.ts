import { describe, expect, it } from 'vitest';
import { AffineTransform2D, BBox, InvalidArgumentError, monotonicTs } from '@nv/core';
import { viewEpoch, type ViewEpoch } from '@nv/view';
import { computeMotionFeatures } from './motion.js';
import { SegmentBoundary } from './segment-boundary.js';
import { Trajectory } from './trajectory.js';
import { trajectoryPoint, type TrajectoryPoint } from './trajectory-point.js';

const E = (n: number): ViewEpoch => viewEpoch(n);

function pt(ms: number, x: number, y: number, half = 0.05): TrajectoryPoint {
  return trajectoryPoint(monotonicTs(ms * 1e6), BBox.unbounded(x - half, y - half, x + half, y + half));
}

/** A trajectory whose segments hold `sizes[i]` points; all but the last closed by epochChange. */
function build(sizes: number[], lastClosed = false): Trajectory {
  const tr = new Trajectory();
  let ts = 0;
  sizes.forEach((n, i) => {
    if (i === 0) tr.openSegment(E(0), SegmentBoundary.trackCreated);
    else tr.openSegment(E(i), SegmentBoundary.epochChange(E(i - 1), E(i)), SegmentBoundary.epochChange(E(i - 1), E(i)));
    for (let k = 0; k < n; k++) tr.pushPoint(pt(ts++, 0.1 + 0.01 * ts, 0.5));
  });
  if (lastClosed) tr.closeActiveSegment(SegmentBoundary.trackLost);
  return tr;
}

describe('trajectoryPoint', () => {
  it('uses the bbox centre as position and freezes the point', () => {
    const p = trajectoryPoint(monotonicTs(5), BBox.of(0.1, 0.2, 0.3, 0.6));
    expect(p.position.x).toBeCloseTo(0.2, 15);
    expect(p.position.y).toBeCloseTo(0.4, 15);
    expect(Object.isFrozen(p) && Object.isFrozen(p.position)).toBe(true);
  });
  it.each([
    ['negative ts', -1, BBox.of(0, 0, 1, 1)],
    ['NaN ts', Number.NaN, BBox.of(0, 0, 1, 1)],
    ['plain object bbox', 0, { xMin: 0, yMin: 0, xMax: 1, yMax: 1 }],
  ])('rejects %s', (_n, ts, b) => {
    expect(() => trajectoryPoint(ts as never, b as BBox)).toThrow(InvalidArgumentError);
  });
});

describe('Trajectory segments', () => {
  it('opens, pushes into and closes the active segment', () => {
    const tr = new Trajectory();
    expect(tr.pushPoint(pt(0, 0.1, 0.1))).toBe(false);
    expect(tr.closeActiveSegment(SegmentBoundary.trackLost)).toBe(false);
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    expect(tr.pushPoint(pt(0, 0.1, 0.1))).toBe(true);
    expect(tr.pushPoint(pt(1000, 0.3, 0.1))).toBe(true);
    expect(tr.totalPoints).toBe(2);
    const seg = tr.activeSegment!;
    expect(seg.isActive).toBe(true);
    expect(seg.duration).toBe(1e9);
    expect(seg.pointCount).toBe(2);
    expect(seg.motion.meanSpeed).toBeCloseTo(0.2, 12);
    expect(tr.closeActiveSegment(SegmentBoundary.trackLost)).toBe(true);
    expect(tr.activeSegment).toBeUndefined();
    expect(tr.segments[0]!.closedBy).toEqual({ kind: 'trackLost' });
    expect(tr.pushPoint(pt(2000, 0.4, 0.1))).toBe(false);
    expect(tr.totalPoints).toBe(2);
  });

  it('duration is undefined with fewer than two points', () => {
    const tr = build([1]);
    expect(tr.activeSegment!.duration).toBeUndefined();
  });

  it('opening a segment closes the open one with the given reason; it is required', () => {
    const tr = build([2]);
    expect(() => tr.openSegment(E(1), SegmentBoundary.epochChange(E(0), E(1)))).toThrow(InvalidArgumentError);
    tr.openSegment(E(1), SegmentBoundary.epochChange(E(0), E(1)), SegmentBoundary.epochChange(E(0), E(1)));
    expect(tr.segments.map((s) => [s.viewEpoch, s.isActive, s.pointCount])).toEqual([[0, false, 2], [1, true, 0]]);
    expect(SegmentBoundary.equals(tr.segments[0]!.closedBy!, tr.segments[1]!.openedBy)).toBe(true);
  });

  it.each([
    ['unknown kind', { kind: 'bogus' }],
    ['null', null],
    ['epochChange with equal epochs', { kind: 'epochChange', fromEpoch: 1, toEpoch: 1 }],
    ['epochChange with negative epoch', { kind: 'epochChange', fromEpoch: -1, toEpoch: 1 }],
  ])('rejects a malformed boundary: %s', (_n, b) => {
    expect(() => new Trajectory().openSegment(E(0), b as SegmentBoundary)).toThrow(InvalidArgumentError);
  });

  it('rejects points going back in time within a segment', () => {
    const tr = build([2]);
    expect(() => tr.pushPoint(pt(0, 0.1, 0.1))).toThrow(InvalidArgumentError);
    expect(tr.totalPoints).toBe(2);
    expect(() => tr.pushPoint({ ts: 5, position: { x: Number.NaN, y: 0 }, bbox: BBox.of(0, 0, 1, 1) } as never)).toThrow(InvalidArgumentError);
  });

  it('views are frozen and do not change when the trajectory does', () => {
    const tr = build([2]);
    const before = tr.view();
    const seg = before.activeSegment!;
    tr.pushPoint(pt(100, 0.9, 0.9));
    expect(seg.pointCount).toBe(2);
    expect(seg.points.length).toBe(2);
    expect(before.totalPoints).toBe(2);
    expect(tr.activeSegment!.pointCount).toBe(3);
    expect(Object.isFrozen(before) && Object.isFrozen(before.segments) && Object.isFrozen(seg) && Object.isFrozen(seg.points)).toBe(true);
    expect(() => (seg.points as TrajectoryPoint[]).push(pt(0, 0, 0))).toThrow(TypeError);
    expect(tr.view()).toBe(tr.view());
  });

  it('changeEpoch splits, and coalesces repeated changes with no point in between', () => {
    const tr = build([2]);
    expect(tr.changeEpoch(E(0))).toBe(false);
    expect(tr.changeEpoch(E(1))).toBe(true);
    expect(tr.changeEpoch(E(2))).toBe(true);
    expect(tr.changeEpoch(E(3))).toBe(true);
    expect(tr.segmentCount).toBe(2);
    const [a, b] = tr.segments;
    expect(a!.closedBy).toEqual({ kind: 'epochChange', fromEpoch: 0, toEpoch: 3 });
    expect(b!.openedBy).toEqual({ kind: 'epochChange', fromEpoch: 0, toEpoch: 3 });
    expect(b!.viewEpoch).toBe(3);
    tr.pushPoint(pt(50, 0.2, 0.2));
    tr.changeEpoch(E(4));
    expect(tr.segmentCount).toBe(3);
    expect(tr.segments[2]!.openedBy).toEqual({ kind: 'epochChange', fromEpoch: 3, toEpoch: 4 });
  });
});

describe('Trajectory.pruneOldestPoints order', () => {
  it.each([
    // [segment sizes (last active), max, expected remaining sizes, removed]
    [[3, 3, 3], 9, [3, 3, 3], 0],
    [[3, 3, 3], 7, [1, 3, 3], 2],
    [[3, 3, 3], 6, [3, 3], 3],
    [[3, 3, 3], 4, [1, 3], 5],
    [[3, 3, 3], 3, [3], 6],
    [[3, 3, 3], 2, [2], 7],
    [[3, 3, 3], 0, [0], 9],
    [[0, 2, 3], 4, [1, 3], 1],
    [[10], 3, [3], 7],
  ])('sizes %j pruned to %i → %j', (sizes, max, expected, removed) => {
    const tr = build(sizes);
    const lastTs = tr.activeSegment!.lastPoint?.ts;
    expect(tr.pruneOldestPoints(max)).toBe(removed);
    expect(tr.segments.map((s) => s.pointCount)).toEqual(expected);
    expect(tr.totalPoints).toBe(expected.reduce((a, b) => a + b, 0));
    expect(tr.activeSegment).toBeDefined();
    if (max > 0) expect(tr.activeSegment!.lastPoint?.ts).toBe(lastTs); // newest points survive
    for (const s of tr.segments) expect(s.motion).toEqual(expect.objectContaining({ netDisplacement: computeMotionFeatures(s.points).netDisplacement }));
  });

  it('keeps the newest points of the trimmed segment', () => {
    const tr = build([10]);
    tr.pruneOldestPoints(3);
    expect(tr.activeSegment!.points.map((p) => p.ts)).toEqual([7e6, 8e6, 9e6]);
  });

  it('a fully closed trajectory is pruned too', () => {
    const tr = build([2, 2], true);
    tr.pruneOldestPoints(1);
    expect(tr.segments.map((s) => [s.pointCount, s.isActive])).toEqual([[1, false]]);
  });

  it.each([-1, 1.5, Number.NaN])('rejects max %s', (m) => {
    expect(() => build([1]).pruneOldestPoints(m)).toThrow(InvalidArgumentError);
  });
});

describe('Trajectory compensation', () => {
  const original = [pt(0, 0.2, 0.3, 0.05), pt(1000, 0.25, 0.32, 0.04), pt(2000, 0.31, 0.35, 0.06)];
  function seeded(): Trajectory {
    const tr = new Trajectory();
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    original.forEach((p) => tr.pushPoint(p));
    return tr;
  }

  it.each([
    ['translations', [AffineTransform2D.translation(0.1, -0.05), AffineTransform2D.translation(-0.03, 0.2), AffineTransform2D.translation(0.5, 0.5)], true],
    ['translation + scale', [AffineTransform2D.translation(0.02, 0.01), AffineTransform2D.scale(1.08, 1.08, { x: 0.5, y: 0.5 }), AffineTransform2D.scale(0.95)], true],
    ['with small rotations', [AffineTransform2D.rotation(0.05, { x: 0.5, y: 0.5 }), AffineTransform2D.translation(0.01, 0), AffineTransform2D.rotation(-0.03)], false],
  ])('recovers the original coordinates through the inverse of the cumulative transform (%s)', (_n, ts, boxesExact) => {
    const tr = seeded();
    for (const t of ts) expect(tr.applyCompensation(t)).toBe(true);
    const seg = tr.activeSegment!;
    expect(seg.compensationCount).toBe(ts.length);
    const expectedCum = ts.reduce((acc, t) => acc.then(t));
    seg.compensation!.m.forEach((v, i) => expect(v).toBeCloseTo(expectedCum.m[i]!, 12));
    const inv = seg.compensation!.invert();
    seg.points.forEach((p, i) => {
      const o = original[i]!;
      expect(p.ts).toBe(o.ts);
      const back = inv.apply(p.position);
      expect(Math.abs(back.x - o.position.x)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(back.y - o.position.y)).toBeLessThanOrEqual(1e-9);
      const box = inv.applyToBBox(p.bbox);
      if (boxesExact) expect(box.equals(o.bbox, 1e-9)).toBe(true);
      else {
        // rotation: the re-bounded envelope grows but still contains the original box
        expect(box.xMin).toBeLessThanOrEqual(o.bbox.xMin + 1e-9);
        expect(box.yMax).toBeGreaterThanOrEqual(o.bbox.yMax - 1e-9);
        expect(box.area).toBeGreaterThan(o.bbox.area);
      }
    });
    expect(seg.motion).toEqual(computeMotionFeatures(seg.points));
  });

  it('transforms boxes by re-bounding their corners and lets them leave the frame', () => {
    const tr = seeded();
    tr.applyCompensation(AffineTransform2D.translation(-0.3, 0));
    const p = tr.activeSegment!.points[0]!;
    expect(p.bbox.isInFrame).toBe(false);
    expect(p.bbox.xMin).toBeCloseTo(-0.15, 12);
    expect(p.position.x).toBeCloseTo(-0.1, 12);
    const rot = seeded();
    rot.applyCompensation(AffineTransform2D.rotation(Math.PI / 4, { x: 0.2, y: 0.3 }));
    const b = rot.activeSegment!.points[0]!.bbox;
    expect(b.width).toBeCloseTo(0.1 * Math.SQRT2, 12); // 45° re-bound of a 0.1 square
  });

  it('leaves closed segments and other epochs alone, and old views unchanged', () => {
    const closed = seeded();
    closed.closeActiveSegment(SegmentBoundary.trackLost);
    expect(closed.applyCompensation(AffineTransform2D.translation(0.1, 0))).toBe(false);
    expect(closed.segments[0]!.compensation).toBeUndefined();
    const tr = seeded();
    const before = tr.activeSegment!;
    expect(tr.applyCompensation(AffineTransform2D.translation(0.1, 0), E(5))).toBe(false);
    expect(tr.applyCompensation(AffineTransform2D.translation(0.1, 0), E(0))).toBe(true);
    expect(before.points[0]!.position.x).toBeCloseTo(0.2, 15);
    expect(before.compensationCount).toBe(0);
    expect(tr.activeSegment!.points[0]!.position.x).toBeCloseTo(0.3, 12);
  });

  it('is all-or-nothing when the transformed geometry is not finite', () => {
    const tr = seeded();
    const huge = new AffineTransform2D([1e308, 0, 1.7e308, 0, 1, 0]); // finite, but overflows at x = 0.3
    expect(() => tr.applyCompensation(huge)).toThrow(InvalidArgumentError);
    expect(tr.activeSegment!.compensationCount).toBe(0);
    expect(tr.activeSegment!.points[0]).toEqual(original[0]);
    expect(() => tr.applyCompensation({ m: [1, 0, 0, 0, 1, 0] } as never)).toThrow(InvalidArgumentError);
  });
});

describe('Trajectory compensation: points appended after a compensation', () => {
  it('recovers a point recorded in the already-compensated frame (reviewer repro)', () => {
    const tr = new Trajectory();
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    tr.pushPoint(pt(0, 0.2, 0.5));
    tr.applyCompensation(AffineTransform2D.translation(0.1, 0));
    tr.pushPoint(pt(1, 0.5, 0.5));
    const seg = tr.activeSegment!;
    expect(seg.points.map((p) => p.position.x)).toEqual([expect.closeTo(0.3, 12), 0.5]);
    expect([0, 1].map((i) => seg.compensationIndexAt(i))).toEqual([0, 1]);
    expect(seg.originalPosition(0)!.x).toBeCloseTo(0.2, 12);
    expect(seg.originalPosition(1)!.x).toBe(0.5);
    expect(seg.originalPoint(1)).toBe(seg.points[1]);
    expect(seg.restoreTransformAt(1)!.isIdentity()).toBe(true);
    // the cumulative transform only inverts points appended before the first compensation
    expect(seg.compensation!.invert().apply(seg.points[1]!.position).x).toBeCloseTo(0.4, 12);
    expect([-1, 2, 0.5].map((i) => [seg.compensationIndexAt(i), seg.restoreTransformAt(i), seg.originalPosition(i), seg.originalPoint(i)]))
      .toEqual([[undefined, undefined, undefined, undefined], [undefined, undefined, undefined, undefined], [undefined, undefined, undefined, undefined]]);
  });

  type Op = readonly ['add', number, number] | readonly ['comp', AffineTransform2D] | readonly ['prune', number];
  const tr01 = AffineTransform2D.translation(0.1, -0.04);
  const sc = AffineTransform2D.scale(1.07, 0.94, { x: 0.5, y: 0.5 });
  const rot = AffineTransform2D.rotation(0.04, { x: 0.5, y: 0.5 });
  it.each<[string, Op[], boolean]>([
    ['translate between adds', [['add', 0.2, 0.3], ['comp', tr01], ['add', 0.5, 0.3], ['add', 0.55, 0.35]], true],
    ['translate, scale, interleaved', [['add', 0.2, 0.3], ['comp', tr01], ['add', 0.5, 0.3], ['comp', sc], ['add', 0.6, 0.1], ['add', 0.62, 0.12]], true],
    ['translate, scale, rotate, interleaved', [
      ['add', 0.2, 0.3], ['add', 0.21, 0.31], ['comp', tr01], ['add', 0.5, 0.3], ['comp', sc], ['add', 0.6, 0.1],
      ['comp', rot], ['add', 0.7, 0.8],
    ], false],
    ['compensations before any add, and back to back', [['comp', sc], ['add', 0.4, 0.4], ['comp', rot], ['comp', tr01], ['add', 0.9, 0.1], ['comp', sc]], false],
    ['with pruning of the oldest points in between', [
      ['add', 0.1, 0.1], ['comp', tr01], ['add', 0.2, 0.2], ['add', 0.3, 0.3], ['comp', sc], ['prune', 2], ['add', 0.4, 0.4], ['comp', tr01],
    ], true],
  ])('recovers every recorded point to 1e-9 (%s)', (_n, ops, boxesExact) => {
    const tr = new Trajectory();
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    const recorded: { p: TrajectoryPoint; k: number }[] = [];
    const comps: AffineTransform2D[] = [];
    let ms = 0;
    for (const op of ops) {
      if (op[0] === 'add') {
        const p = pt(ms++, op[1], op[2]);
        tr.pushPoint(p);
        recorded.push({ p, k: comps.length });
      } else if (op[0] === 'comp') {
        expect(tr.applyCompensation(op[1])).toBe(true);
        comps.push(op[1]);
      } else {
        tr.pruneOldestPoints(recorded.length - op[1]);
        recorded.splice(0, op[1]);
      }
    }
    const seg = tr.activeSegment!;
    expect(seg.pointCount).toBe(recorded.length);
    expect(seg.compensationCount).toBe(comps.length);
    const cum = comps.reduce((a, t) => a.then(t));
    seg.compensation!.m.forEach((v, j) => expect(v).toBeCloseTo(cum.m[j]!, 12));
    recorded.forEach(({ p: o, k }, i) => {
      expect(seg.compensationIndexAt(i)).toBe(k);
      // the current point is the recorded one moved by exactly the compensations after it
      const fwd = comps.slice(k).reduce((q, t) => t.apply(q), o.position);
      expect(Math.abs(seg.points[i]!.position.x - fwd.x)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(seg.points[i]!.position.y - fwd.y)).toBeLessThanOrEqual(1e-9);
      const back = seg.originalPosition(i)!;
      expect(Object.isFrozen(back)).toBe(true);
      expect(Math.abs(back.x - o.position.x)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(back.y - o.position.y)).toBeLessThanOrEqual(1e-9);
      const op = seg.originalPoint(i)!;
      expect(Object.isFrozen(op)).toBe(true);
      expect(op.ts).toBe(o.ts);
      expect(op.position).toEqual(back);
      if (boxesExact || k === comps.length) expect(op.bbox.equals(o.bbox, 1e-9)).toBe(true);
      else {
        expect(op.bbox.xMin).toBeLessThanOrEqual(o.bbox.xMin + 1e-9);
        expect(op.bbox.xMax).toBeGreaterThanOrEqual(o.bbox.xMax - 1e-9);
        expect(op.bbox.yMin).toBeLessThanOrEqual(o.bbox.yMin + 1e-9);
        expect(op.bbox.yMax).toBeGreaterThanOrEqual(o.bbox.yMax - 1e-9);
      }
    });
  });

  it('a view taken before a later compensation keeps recovering with its own state', () => {
    const tr = new Trajectory();
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    tr.pushPoint(pt(0, 0.2, 0.3));
    tr.applyCompensation(AffineTransform2D.translation(0.1, 0));
    tr.pushPoint(pt(1, 0.5, 0.3));
    const before = tr.activeSegment!;
    tr.applyCompensation(AffineTransform2D.scale(2));
    tr.pushPoint(pt(2, 0.7, 0.3));
    const after = tr.activeSegment!;
    expect([0, 1].map((i) => before.originalPosition(i)!.x)).toEqual([expect.closeTo(0.2, 12), 0.5]);
    expect(before.compensationCount).toBe(1);
    expect(after.points.map((p) => p.position.x)).toEqual([expect.closeTo(0.6, 12), expect.closeTo(1, 12), 0.7]);
    expect([0, 1, 2].map((i) => after.originalPosition(i)!.x)).toEqual([expect.closeTo(0.2, 12), expect.closeTo(0.5, 12), 0.7]);
    expect([0, 1, 2].map((i) => after.compensationIndexAt(i))).toEqual([0, 1, 2]);
  });

  it.each<[string, AffineTransform2D]>([
    ['zero scale', AffineTransform2D.scale(0, 1)],
    ['rank-one matrix', new AffineTransform2D([1, 2, 0.1, 2, 4, 0])],
    ['near-singular scale (det 1e-10)', AffineTransform2D.scale(1e-5, 1e-5)],
    ['near-singular shear (det 5e-10)', new AffineTransform2D([1, 1, 0, 1, 1 + 5e-10, 0])],
  ])('refuses a singular transform before changing anything (%s)', (_n, t) => {
    const tr = new Trajectory();
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    const p = pt(0, 0.2, 0.3);
    tr.pushPoint(p);
    const gen = tr.generation;
    expect(() => tr.applyCompensation(t)).toThrow(InvalidArgumentError);
    expect(tr.generation).toBe(gen);
    const seg = tr.activeSegment!;
    expect(seg.compensationCount).toBe(0);
    expect(seg.compensation).toBeUndefined();
    expect(seg.points[0]).toEqual(p);
    // also refused with nothing to compensate
    expect(() => new Trajectory().applyCompensation(t)).toThrow(InvalidArgumentError);
  });

  it('accepts a transform with |det| exactly at the 1e-9 limit', () => {
    const tr = new Trajectory();
    tr.openSegment(E(0), SegmentBoundary.trackCreated);
    tr.pushPoint(pt(0, 0.2, 0.3));
    expect(tr.applyCompensation(AffineTransform2D.scale(1e-9, 1))).toBe(true);
    expect(tr.activeSegment!.originalPosition(0)!.x).toBeCloseTo(0.2, 9);
  });
});
