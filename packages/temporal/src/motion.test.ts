import { describe, expect, it } from 'vitest';
import { BBox, InvalidArgumentError, monotonicTs, NS_PER_SEC } from '@nv/core';
import { viewEpoch } from '@nv/view';
import { computeMotionFeatures, DEFAULT_STATIONARY_SPEED_THRESHOLD, STATIONARY_MOTION } from './motion.js';
import { SegmentBoundary } from './segment-boundary.js';
import { Trajectory } from './trajectory.js';
import { trajectoryPoint, type TrajectoryPoint } from './trajectory-point.js';

/** A point at `sec` seconds whose bbox centre is exactly (x, y) (box half-size 1/16 is exact in binary). */
function pt(sec: number, x: number, y: number): TrajectoryPoint {
  const h = 0.0625;
  return trajectoryPoint(monotonicTs(sec * NS_PER_SEC), BBox.unbounded(x - h, y - h, x + h, y + h));
}

describe('computeMotionFeatures (hand-computed)', () => {
  it('computes path length, net displacement, speeds and heading of a 3-4-5 walk', () => {
    // (0,0) -1s-> (0.3,0.4): step 0.5 at 0.5/s; -2s-> (0.3,0): step 0.4 at 0.2/s.
    const f = computeMotionFeatures([pt(0, 0, 0), pt(1, 0.3, 0.4), pt(3, 0.3, 0)]);
    expect(f.displacement).toBeCloseTo(0.9, 12);
    expect(f.netDisplacement).toBeCloseTo(0.3, 12);
    expect(f.meanSpeed).toBeCloseTo(0.3, 12);
    expect(f.maxSpeed).toBeCloseTo(0.5, 12);
    expect(f.direction).toBeCloseTo(0, 12);
    expect(f.isStationary).toBe(false);
    expect(Object.isFrozen(f)).toBe(true);
  });

  it.each([
    ['+x (right)', [0.5, 0], 0],
    ['+y (down in image axes)', [0, 0.5], Math.PI / 2],
    ['-x (left)', [-0.5, 0], Math.PI],
    ['-y (up)', [0, -0.5], -Math.PI / 2],
    ['diagonal', [0.25, 0.25], Math.PI / 4],
  ] as const)('direction for motion %s is atan2(dy, dx)', (_n, [dx, dy], expected) => {
    const f = computeMotionFeatures([pt(0, 0.5, 0.5), pt(2, 0.5 + dx, 0.5 + dy)]);
    expect(f.direction).toBeCloseTo(expected, 12);
    expect(f.meanSpeed).toBeCloseTo(Math.hypot(dx, dy) / 2, 12);
  });

  it.each([
    ['no points', [] as TrajectoryPoint[]],
    ['one point', [pt(0, 0.2, 0.2)]],
  ])('%s gives the stationary default', (_n, pts) => {
    expect(computeMotionFeatures(pts)).toBe(STATIONARY_MOTION);
    expect(STATIONARY_MOTION).toEqual({ displacement: 0, netDisplacement: 0, meanSpeed: 0, maxSpeed: 0, direction: undefined, isStationary: true });
  });

  it('a back-and-forth path has no direction but is not stationary', () => {
    const f = computeMotionFeatures([pt(0, 0.25, 0.5), pt(1, 0.75, 0.5), pt(2, 0.25, 0.5)]);
    expect(f.displacement).toBeCloseTo(1, 12);
    expect(f.netDisplacement).toBe(0);
    expect(f.direction).toBeUndefined();
    expect(f.meanSpeed).toBeCloseTo(0.5, 12);
    expect(f.isStationary).toBe(false);
  });

  it('direction is undefined below a net displacement of 1e-6 and defined at it', () => {
    expect(computeMotionFeatures([pt(0, 0.5, 0.5), pt(1, 0.5 + 5e-7, 0.5)]).direction).toBeUndefined();
    expect(computeMotionFeatures([pt(0, 0.5, 0.5), pt(1, 0.5 + 2e-6, 0.5)]).direction).toBeCloseTo(0, 12);
  });

  it('skips zero-duration steps for max speed and reports 0 mean speed without elapsed time', () => {
    const same = computeMotionFeatures([pt(1, 0.1, 0.1), pt(1, 0.4, 0.5)]);
    expect(same.displacement).toBeCloseTo(0.5, 12);
    expect(same.maxSpeed).toBe(0);
    expect(same.meanSpeed).toBe(0);
    const mixed = computeMotionFeatures([pt(0, 0, 0), pt(0, 0.5, 0), pt(1, 0.75, 0)]);
    expect(mixed.maxSpeed).toBeCloseTo(0.25, 12);
    expect(mixed.meanSpeed).toBeCloseTo(0.75, 12);
  });

  it.each([
    ['default, 0.004/s', undefined, 0.004, true],
    ['default, 0.006/s', undefined, 0.006, false],
    ['threshold 0.001, 0.004/s', 0.001, 0.004, false],
    ['threshold 0.1, 0.05/s', 0.1, 0.05, true],
  ])('stationary flag: %s', (_n, threshold, speed, stationary) => {
    const f = computeMotionFeatures([pt(0, 0.5, 0.5), pt(10, 0.5 + speed * 10, 0.5)], threshold === undefined ? undefined : { stationarySpeedThreshold: threshold });
    expect(f.meanSpeed).toBeCloseTo(speed, 12);
    expect(f.isStationary).toBe(stationary);
  });

  it('default threshold is 0.005 per second', () => {
    expect(DEFAULT_STATIONARY_SPEED_THRESHOLD).toBe(0.005);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '0.1'])('rejects threshold %s', (t) => {
    expect(() => computeMotionFeatures([], { stationarySpeedThreshold: t as number })).toThrow(InvalidArgumentError);
    expect(() => new Trajectory({ stationarySpeedThreshold: t as number })).toThrow(InvalidArgumentError);
  });
});

describe('incremental motion features', () => {
  function walk(n: number, seed: number): TrajectoryPoint[] {
    let s = seed;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const out: TrajectoryPoint[] = [];
    let x = 0.5, y = 0.5, t = 0;
    for (let i = 0; i < n; i++) {
      t += rnd() < 0.1 ? 0 : 1 / 30 + rnd() / 100; // occasional zero-duration step
      x += (rnd() - 0.5) * 0.02;
      y += (rnd() - 0.5) * 0.02;
      out.push(pt(t, x, y));
    }
    return out;
  }

  it('O(1) updates on push equal the full computation exactly', () => {
    const pts = walk(300, 7);
    const tr = new Trajectory();
    tr.openSegment(viewEpoch(0), SegmentBoundary.trackCreated);
    pts.forEach((p, i) => {
      tr.pushPoint(p);
      if (i % 37 === 0 || i === pts.length - 1) expect(tr.activeSegment!.motion).toEqual(computeMotionFeatures(pts.slice(0, i + 1)));
    });
  });

  it.each([
    ['sliding window of 50', 50, 1],
    ['sliding window of 10, trimming 3 at a time', 10, 3],
    ['window of 2', 2, 1],
  ])('pruning keeps features equal to a full recomputation (%s)', (_n, max, every) => {
    const pts = walk(400, 11);
    const tr = new Trajectory();
    tr.openSegment(viewEpoch(0), SegmentBoundary.trackCreated);
    pts.forEach((p, i) => {
      tr.pushPoint(p);
      if (i % every === 0) tr.pruneOldestPoints(max);
      const seg = tr.activeSegment!;
      const full = computeMotionFeatures(seg.points);
      expect(seg.motion.displacement).toBeCloseTo(full.displacement, 12);
      expect(seg.motion.maxSpeed).toBeCloseTo(full.maxSpeed, 12);
      expect(seg.motion.meanSpeed).toBeCloseTo(full.meanSpeed, 10);
      expect(seg.motion.netDisplacement).toBe(full.netDisplacement);
      expect(seg.motion.direction).toBe(full.direction);
    });
  });

  it('drops the max speed when the fast step leaves the window', () => {
    const tr = new Trajectory();
    tr.openSegment(viewEpoch(0), SegmentBoundary.trackCreated);
    [pt(0, 0, 0), pt(1, 0.5, 0), pt(2, 0.51, 0), pt(3, 0.52, 0)].forEach((p) => tr.pushPoint(p));
    expect(tr.activeSegment!.motion.maxSpeed).toBeCloseTo(0.5, 12);
    tr.pruneOldestPoints(3);
    expect(tr.activeSegment!.motion.maxSpeed).toBeCloseTo(0.01, 12);
    expect(tr.activeSegment!.motion.displacement).toBeCloseTo(0.02, 12);
  });
});

describe('motion features with pruning deferred in batches', () => {
  const pt = (i: number, x: number): TrajectoryPoint => trajectoryPoint(monotonicTs(i * 40_000_000), BBox.of(x, 0.4, x + 0.02, 0.42));

  it('a view captured with rows pending keeps its features after the live segment grows, prunes and moves on', () => {
    const tr = new Trajectory();
    tr.openSegment(viewEpoch(0), SegmentBoundary.trackCreated);
    // A fast step first (the max speed), then slow steps; prune to 20 points every frame.
    for (let i = 0; i < 45; i++) {
      tr.pushPoint(pt(i, i === 1 ? 0.5 : 0.5 + 0.001 * i));
      tr.pruneOldestPoints(20);
    }
    const view = tr.activeSegment!;
    const points = view.points;
    const expected = computeMotionFeatures(points);
    for (let i = 45; i < 300; i++) {
      tr.pushPoint(pt(i, 0.3 + 0.002 * i));
      tr.pruneOldestPoints(20);
    }
    expect(view.points).toEqual(points);
    expect(view.motion.displacement).toBeCloseTo(expected.displacement, 12);
    expect(view.motion.maxSpeed).toBeCloseTo(expected.maxSpeed, 12);
    expect(view.motion.netDisplacement).toBe(expected.netDisplacement);
    const live = tr.activeSegment!;
    const full = computeMotionFeatures(live.points);
    expect(live.pointCount).toBe(20);
    expect(live.motion.displacement).toBeCloseTo(full.displacement, 12);
    expect(live.motion.maxSpeed).toBeCloseTo(full.maxSpeed, 12);
  });

  it('the max speed leaves the window even when its step is pruned lazily', () => {
    const tr = new Trajectory();
    tr.openSegment(viewEpoch(0), SegmentBoundary.trackCreated);
    tr.pushPoint(pt(0, 0));
    tr.pushPoint(pt(1, 0.5)); // the only fast step
    for (let i = 2; i < 12; i++) tr.pushPoint(pt(i, 0.5 + 0.001 * i));
    expect(tr.activeSegment!.motion.maxSpeed).toBeCloseTo(0.5 / 0.04, 9);
    tr.pruneOldestPoints(10); // drops the first two points: fewer than a batch, so pending
    const m = tr.activeSegment!.motion;
    expect(m.maxSpeed).toBeCloseTo(computeMotionFeatures(tr.activeSegment!.points).maxSpeed, 12);
    expect(m.maxSpeed).toBeLessThan(1);
  });
});
