import { describe, expect, it } from 'vitest';
import {
  AffineTransform2D, BBox, ConfigError, InvalidArgumentError, monotonicTs, NS_PER_MS, NS_PER_SEC, trackId, TypedMetadata,
  metadataKey, type MonotonicTs, type RetentionPolicy, type TrackId,
} from '@nv/core';
import { createObservation, createTrack, type Track, type TrackState } from '@nv/perception';
import { viewEpoch, type ViewEpoch } from '@nv/view';
import { SegmentBoundary, type SegmentBoundaryKind } from './segment-boundary.js';
import { TemporalStore } from './store.js';

const E = (n: number): ViewEpoch => viewEpoch(n);
const T = (sec: number): MonotonicTs => monotonicTs(Math.round(sec * NS_PER_SEC));
const id = (n: number): TrackId => trackId(n);

function mk(n: number, state: TrackState, sec: number, x = 0.5, y = 0.5, confidence = 0.9): Track {
  const bbox = BBox.of(x - 0.05, y - 0.05, x + 0.05, y + 0.05);
  return createTrack({ id: id(n), classId: 2, state, current: createObservation({ ts: T(sec), bbox, confidence, state }) });
}

function store(retention: Partial<RetentionPolicy> = {}): TemporalStore {
  return new TemporalStore({ retention });
}

describe('TemporalStore construction', () => {
  it('uses the reference defaults', () => {
    expect(new TemporalStore().retention).toEqual({ maxTrackAgeMs: 30_000, maxObservationsPerTrack: 100, maxConcurrentTracks: 500, maxTrajectoryPointsPerTrack: 1000 });
    expect(new TemporalStore().viewEpoch).toBe(0);
    expect(new TemporalStore({ initialEpoch: E(4) }).viewEpoch).toBe(4);
  });
  it('rejects an invalid policy, epoch or threshold', () => {
    expect(() => store({ maxConcurrentTracks: 0 })).toThrow(ConfigError);
    expect(() => new TemporalStore({ initialEpoch: -1 as ViewEpoch })).toThrow(InvalidArgumentError);
    expect(() => new TemporalStore({ motion: { stationarySpeedThreshold: -1 } })).toThrow(InvalidArgumentError);
  });
});

describe('commitTrack', () => {
  it('creates a history with a trackCreated segment and records observation and point', () => {
    const s = store();
    expect(s.commitTrack(mk(1, 'tentative', 1, 0.3, 0.4), T(1))).toBe(true);
    const h = s.history(id(1))!;
    expect(h.firstSeen).toBe(T(1));
    expect(h.lastSeen).toBe(T(1));
    expect(h.viewEpochAtCreation).toBe(0);
    expect(h.observationCount).toBe(1);
    expect(h.trajectory.segments[0]!.openedBy).toEqual({ kind: 'trackCreated' });
    expect(h.trajectory.activeSegment!.points[0]!.position.x).toBeCloseTo(0.3, 12);
    expect(h.trajectory.activeSegment!.points[0]!.ts).toBe(T(1));
    s.commitTrack(mk(1, 'confirmed', 2, 0.4, 0.4), T(2));
    const h2 = s.history(id(1))!;
    expect([h2.firstSeen, h2.lastSeen, h2.state, h2.observationCount, h2.trajectory.totalPoints]).toEqual([T(1), T(2), 'confirmed', 2, 2]);
    expect(h2.trajectory.activeSegment!.motion.meanSpeed).toBeCloseTo(0.1, 9);
  });

  it('keeps a lost track that is reported lost again without adding points, and re-opens on re-acquisition', () => {
    const s = store();
    s.commitTrack(mk(1, 'confirmed', 0, 0.2), T(0));
    s.commitTrack(mk(1, 'lost', 1, 0.3), T(1));
    s.commitTrack(mk(1, 'lost', 2, 0.4), T(2));
    let h = s.history(id(1))!;
    expect([h.observationCount, h.trajectory.totalPoints, h.trajectory.segmentCount, h.lastSeen]).toEqual([3, 2, 1, T(2)]);
    expect(h.trajectory.activeSegment).toBeUndefined();
    s.commitTrack(mk(1, 'confirmed', 3, 0.5), T(3));
    h = s.history(id(1))!;
    expect(h.trajectory.segmentCount).toBe(2);
    const [a, b] = h.trajectory.segments;
    expect([a!.openedBy.kind, a!.closedBy?.kind, a!.pointCount]).toEqual(['trackCreated', 'trackLost', 2]);
    expect([b!.openedBy.kind, b!.isActive, b!.pointCount]).toEqual(['trackLost', true, 1]);
  });

  it('snapshots the committed track: later changes to the producer metadata do not show', () => {
    const s = store();
    const key = metadataKey<number>('k');
    const md = new TypedMetadata();
    md.set(key, 1);
    const t = createTrack({ id: id(1), classId: 0, state: 'confirmed', current: createObservation({ ts: T(0), bbox: BBox.of(0, 0, 0.1, 0.1), confidence: 0.5, state: 'confirmed' }), metadata: md });
    s.commitTrack(t, T(0));
    md.set(key, 2);
    expect(s.history(id(1))!.track.metadata.get(key)).toBe(1);
  });

  it.each([
    ['time going backwards', (s: TemporalStore) => s.commitTrack(mk(1, 'confirmed', 1), T(1))],
    ['a stale epoch', (s: TemporalStore) => s.commitTrack(mk(1, 'confirmed', 6), T(6), E(1))],
    ['a negative time', (s: TemporalStore) => s.commitTrack(mk(1, 'confirmed', 6), -5 as MonotonicTs)],
    ['a bad state', (s: TemporalStore) => s.commitTrack({ ...mk(1, 'confirmed', 6), state: 'gone' as TrackState }, T(6))],
    ['a plain-object bbox', (s: TemporalStore) => s.commitTrack({ ...mk(1, 'confirmed', 6), current: { ...mk(1, 'confirmed', 6).current, bbox: { xMin: 0 } as BBox } }, T(6))],
    ['a non-track', (s: TemporalStore) => s.commitTrack(null as unknown as Track, T(6))],
  ])('rejects %s with InvalidArgumentError and changes nothing', (_n, act) => {
    const s = store();
    s.onEpochChange(E(0), E(2));
    s.commitTrack(mk(9, 'confirmed', 5), T(5));
    const before = s.snapshot();
    expect(() => act(s)).toThrow(InvalidArgumentError);
    expect(s.snapshot()).toBe(before);
  });
});

describe('segment boundaries produced by the store', () => {
  it.each<[string, SegmentBoundaryKind, (s: TemporalStore) => { opened: SegmentBoundary[]; closed: (SegmentBoundary | undefined)[] }]>([
    ['trackCreated (new track)', 'trackCreated', (s) => {
      s.commitTrack(mk(1, 'tentative', 0), T(0));
      const segs = s.trajectory(id(1))!.segments;
      return { opened: segs.map((x) => x.openedBy), closed: segs.map((x) => x.closedBy) };
    }],
    ['epochChange (commit in a later epoch)', 'epochChange', (s) => {
      s.commitTrack(mk(1, 'confirmed', 0), T(0));
      s.commitTrack(mk(1, 'confirmed', 1), T(1), E(1));
      const segs = s.trajectory(id(1))!.segments;
      return { opened: segs.map((x) => x.openedBy), closed: segs.map((x) => x.closedBy) };
    }],
    ['epochChange (onEpochChange)', 'epochChange', (s) => {
      s.commitTrack(mk(1, 'confirmed', 0), T(0));
      s.onEpochChange(E(0), E(1));
      const segs = s.trajectory(id(1))!.segments;
      return { opened: segs.map((x) => x.openedBy), closed: segs.map((x) => x.closedBy) };
    }],
    ['feedRestart (clear)', 'feedRestart', (s) => {
      s.commitTrack(mk(1, 'confirmed', 0), T(0));
      const [h] = s.clear();
      expect(s.trackCount).toBe(0);
      const segs = h!.trajectory.segments;
      return { opened: segs.map((x) => x.openedBy), closed: segs.map((x) => x.closedBy) };
    }],
    ['trackLost (state lost)', 'trackLost', (s) => {
      s.commitTrack(mk(1, 'confirmed', 0), T(0));
      s.commitTrack(mk(1, 'lost', 1), T(1));
      const segs = s.trajectory(id(1))!.segments;
      return { opened: segs.map((x) => x.openedBy), closed: segs.map((x) => x.closedBy) };
    }],
    ['trackEnded (endTrack)', 'trackEnded', (s) => {
      s.commitTrack(mk(1, 'confirmed', 0), T(0));
      const h = s.endTrack(id(1))!;
      expect(s.has(id(1))).toBe(false);
      const segs = h.trajectory.segments;
      return { opened: segs.map((x) => x.openedBy), closed: segs.map((x) => x.closedBy) };
    }],
    ['sourceDiscontinuity (onSourceDiscontinuity)', 'sourceDiscontinuity', (s) => {
      s.commitTrack(mk(1, 'confirmed', 0), T(0));
      expect(s.onSourceDiscontinuity()).toBe(1);
      const segs = s.trajectory(id(1))!.segments;
      expect(segs[1]!.openedBy).toEqual({ kind: 'sourceDiscontinuity' });
      return { opened: segs.map((x) => x.openedBy), closed: segs.filter((x) => x.closedBy).map((x) => x.closedBy) };
    }],
  ])('%s', (_n, kind, run) => {
    const { opened, closed } = run(store());
    const all = [...opened, ...closed].filter((b): b is SegmentBoundary => b !== undefined);
    expect(all.some((b) => b.kind === kind)).toBe(true);
    expect(opened[0]).toEqual({ kind: 'trackCreated' });
    if (kind === 'epochChange') {
      expect(closed[0]).toEqual({ kind: 'epochChange', fromEpoch: 0, toEpoch: 1 });
      expect(opened[1]).toEqual(closed[0]);
    } else if (kind !== 'trackCreated') {
      expect(closed[closed.length - 1]).toEqual({ kind });
    }
  });

  it('onSourceDiscontinuity splits live tracks in the same epoch, keeps tracks and the clock, and coalesces', () => {
    const s = store();
    s.onEpochChange(E(0), E(3));
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'lost', 0)], T(0));
    expect(s.onSourceDiscontinuity()).toBe(1); // the lost track has no open segment
    expect(s.onSourceDiscontinuity()).toBe(0); // nothing recorded since: no second empty segment
    expect(s.trackCount).toBe(2);
    expect(() => s.beginFrame(T(0))).not.toThrow(); // the clock was kept, not reset
    s.commitFrame([mk(1, 'confirmed', 1, 0.6)], T(1));
    const segs = s.trajectory(id(1))!.segments;
    expect(segs.map((x) => [x.viewEpoch, x.openedBy.kind, x.closedBy?.kind, x.pointCount])).toEqual([
      [3, 'trackCreated', 'sourceDiscontinuity', 1],
      [3, 'sourceDiscontinuity', undefined, 1],
    ]);
    expect(s.history(id(1))!.observations).toHaveLength(2);
  });

  it('onEpochChange segments live tracks only, coalesces, and validates epochs', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'lost', 0)], T(0));
    expect(s.onEpochChange(E(0), E(1))).toBe(1);
    expect(s.onEpochChange(E(1), E(2))).toBe(1);
    expect(s.viewEpoch).toBe(2);
    expect(s.trajectory(id(1))!.segments.map((x) => [x.viewEpoch, x.openedBy, x.closedBy])).toEqual([
      [0, { kind: 'trackCreated' }, { kind: 'epochChange', fromEpoch: 0, toEpoch: 2 }],
      [2, { kind: 'epochChange', fromEpoch: 0, toEpoch: 2 }, undefined],
    ]);
    expect(s.trajectory(id(2))!.segmentCount).toBe(1);
    s.commitFrame([mk(1, 'confirmed', 1)], T(1));
    expect(s.trajectory(id(1))!.activeSegment!.pointCount).toBe(1);
    expect(() => s.onEpochChange(E(3), E(4))).toThrow(InvalidArgumentError);
    expect(() => s.onEpochChange(E(2), E(2))).toThrow(InvalidArgumentError);
    expect(() => s.onEpochChange(E(2), E(1))).toThrow(InvalidArgumentError);
  });

  it('setViewEpoch segments lazily at the next commit and never goes back', () => {
    const s = store();
    s.commitTrack(mk(1, 'confirmed', 0), T(0));
    s.setViewEpoch(E(3));
    expect(s.trajectory(id(1))!.segmentCount).toBe(1);
    s.commitTrack(mk(1, 'confirmed', 1), T(1));
    expect(s.trajectory(id(1))!.segments[1]!.openedBy).toEqual({ kind: 'epochChange', fromEpoch: 0, toEpoch: 3 });
    expect(() => s.setViewEpoch(E(2))).toThrow(InvalidArgumentError);
  });
});

describe('admission at the cap (pre-eviction)', () => {
  // Held tracks: [id, state, lastSeen seconds]; a new track 99 arrives at t = 10.
  it.each<[string, [number, TrackState, number][], number | 'refused']>([
    ['lost before coasted and tentative', [[1, 'tentative', 0], [2, 'coasted', 0], [3, 'lost', 5]], 3],
    ['oldest lost first', [[1, 'lost', 4], [2, 'lost', 2], [3, 'confirmed', 0]], 2],
    ['coasted before tentative', [[1, 'tentative', 0], [2, 'coasted', 6], [3, 'confirmed', 0]], 2],
    ['oldest coasted first', [[1, 'coasted', 6], [2, 'coasted', 3], [3, 'tentative', 0]], 2],
    ['tentative when nothing else', [[1, 'confirmed', 0], [2, 'tentative', 7], [3, 'tentative', 5]], 3],
    ['confirmed never: refused', [[1, 'confirmed', 0], [2, 'confirmed', 1], [3, 'confirmed', 2]], 'refused'],
  ])('%s', (_n, held, expected) => {
    const s = store({ maxConcurrentTracks: 3 });
    for (const [n, st, sec] of [...held].sort((a, b) => a[2] - b[2])) s.commitTrack(mk(n, st, sec), T(sec));
    const ok = s.commitTrack(mk(99, 'tentative', 10), T(10));
    expect(s.trackCount).toBe(3);
    if (expected === 'refused') {
      expect(ok).toBe(false);
      expect(s.has(id(99))).toBe(false);
    } else {
      expect(ok).toBe(true);
      expect(s.has(id(99))).toBe(true);
      expect(s.has(id(expected))).toBe(false);
    }
  });

  it('updates of held tracks are always accepted at the cap', () => {
    const s = store({ maxConcurrentTracks: 1 });
    s.commitTrack(mk(1, 'confirmed', 0), T(0));
    expect(s.commitTrack(mk(1, 'confirmed', 1), T(1))).toBe(true);
  });

  it('commitFrame reports evictions and rejections and does not evict tracks admitted in the same frame', () => {
    const s = store({ maxConcurrentTracks: 3 });
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'lost', 0)], T(0));
    const r = s.commitFrame([mk(1, 'confirmed', 1), mk(3, 'tentative', 1), mk(4, 'tentative', 1), mk(5, 'tentative', 1)], T(1));
    expect(r).toEqual({ admitted: 3, rejected: 1, rejectedIds: [id(5)], ended: [], evicted: [id(2)] });
    expect(s.trackIds().sort()).toEqual([1, 3, 4]);
  });
});

describe('commitFrame', () => {
  it('authoritative: held tracks absent from the set end (trackEnded) and are removed', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'confirmed', 0), mk(3, 'coasted', 0)], T(0));
    const r = s.commitFrame([mk(1, 'confirmed', 1), mk(4, 'tentative', 1)], T(1), undefined, { authoritative: true });
    expect(r.ended).toEqual([id(2), id(3)]);
    expect(r.admitted).toBe(2);
    expect(s.trackIds()).toEqual([id(1), id(4)]);
  });

  it.each([
    ['authoritative', true, { admitted: 2, rejected: 0, ended: [2] }],
    ['not authoritative', false, { admitted: 1, rejected: 1, ended: [] }],
  ])('%s ending frees capacity before admission', (_n, authoritative, expected) => {
    const s = store({ maxConcurrentTracks: 2 });
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'confirmed', 0)], T(0));
    const r = s.commitFrame([mk(1, 'confirmed', 1), mk(3, 'tentative', 1)], T(1), undefined, { authoritative });
    expect({ admitted: r.admitted, rejected: r.rejected, ended: [...r.ended] }).toEqual(expected);
  });

  it('an empty authoritative set ends everything', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'lost', 0)], T(0));
    expect(s.commitFrame([], T(1), undefined, { authoritative: true }).ended).toEqual([id(1), id(2)]);
    expect(s.trackCount).toBe(0);
  });

  it('rejects duplicate ids atomically', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0)], T(0));
    expect(() => s.commitFrame([mk(2, 'confirmed', 1), mk(2, 'confirmed', 1)], T(1), undefined, { authoritative: true })).toThrow(InvalidArgumentError);
    expect(s.trackIds()).toEqual([id(1)]);
    expect(() => s.commitFrame('x' as never, T(1))).toThrow(InvalidArgumentError);
  });

  it('results are frozen', () => {
    const r = store().commitFrame([mk(1, 'confirmed', 0)], T(0));
    expect(Object.isFrozen(r) && Object.isFrozen(r.ended)).toBe(true);
  });
});

describe('observation ring', () => {
  it.each([1, 5, 100])('holds at most %i observations, newest last', (cap) => {
    const s = store({ maxObservationsPerTrack: cap });
    for (let f = 0; f < 250; f++) s.commitTrack(mk(1, 'confirmed', f / 30), T(f / 30));
    const obs = s.snapshot().recentObservations(id(1));
    expect(obs.length).toBe(cap);
    expect(obs[obs.length - 1]!.ts).toBe(T(249 / 30));
    expect(obs[0]!.ts).toBe(T((250 - cap) / 30));
  });

  it('lowering the depth truncates at once', () => {
    const s = store({ maxObservationsPerTrack: 10 });
    for (let f = 0; f < 10; f++) s.commitTrack(mk(1, 'confirmed', f), T(f));
    s.setRetentionPolicy({ maxObservationsPerTrack: 3 });
    expect(s.snapshot().recentObservations(id(1)).map((o) => o.ts)).toEqual([T(7), T(8), T(9)]);
  });
});

describe('retention', () => {
  const AGE_MS = 1000;
  // [state, seconds since last seen at the retention pass, evicted?]
  it.each<[TrackState, number, boolean]>([
    ['lost', AGE_MS / 1000 - 1e-9, false],
    ['lost', AGE_MS / 1000, true],
    ['lost', 50, true],
    ['coasted', 50, false],
    ['tentative', 50, false],
    ['confirmed', 50, false],
  ])('age: a %s track last seen %f s ago → evicted %s', (state, ago, evicted) => {
    const s = store({ maxTrackAgeMs: AGE_MS });
    s.commitTrack(mk(1, state, 1), T(1));
    const now = monotonicTs(T(1) + Math.round(ago * NS_PER_SEC));
    const r = s.beginFrame(now);
    expect(s.has(id(1))).toBe(!evicted);
    expect(r.evictedByAge).toEqual(evicted ? [id(1)] : []);
  });

  it('age is measured in ms from the policy', () => {
    const s = store({ maxTrackAgeMs: 5 });
    s.commitTrack(mk(1, 'lost', 0), T(0));
    s.beginFrame(monotonicTs(4 * NS_PER_MS));
    expect(s.has(id(1))).toBe(true);
    s.beginFrame(monotonicTs(5 * NS_PER_MS));
    expect(s.has(id(1))).toBe(false);
  });

  // Held: [id, state, lastSeen]; cap lowered to `cap`; expected survivors.
  it.each<[string, [number, TrackState, number][], number, number[]]>([
    ['lost first, oldest first', [[1, 'lost', 2], [2, 'lost', 1], [3, 'confirmed', 0], [4, 'coasted', 0]], 3, [1, 3, 4]],
    ['then coasted', [[1, 'lost', 2], [2, 'coasted', 1], [3, 'confirmed', 0], [4, 'coasted', 0]], 2, [2, 3]],
    ['then tentative; confirmed never', [[1, 'tentative', 2], [2, 'coasted', 1], [3, 'confirmed', 0], [4, 'confirmed', 0]], 1, [3, 4]],
  ])('cap: %s', (_n, held, cap, survivors) => {
    const s = store({ maxTrackAgeMs: 1_000_000 });
    for (const [n, st, sec] of [...held].sort((a, b) => a[2] - b[2])) s.commitTrack(mk(n, st, sec), T(sec));
    s.setRetentionPolicy({ maxTrackAgeMs: 1_000_000, maxConcurrentTracks: cap });
    const r = s.enforceRetention(T(3));
    expect(s.trackIds().sort()).toEqual(survivors);
    expect(r.evictedByCap.length).toBe(held.length - survivors.length);
  });

  it('prunes trajectory points to the cap, oldest closed segments first', () => {
    const s = store({ maxTrajectoryPointsPerTrack: 5 });
    for (let f = 0; f < 4; f++) s.commitTrack(mk(1, 'confirmed', f), T(f));
    s.onEpochChange(E(0), E(1));
    for (let f = 4; f < 7; f++) s.commitTrack(mk(1, 'confirmed', f), T(f));
    expect(s.trajectory(id(1))!.segments.map((x) => x.pointCount)).toEqual([2, 3]);
    s.setRetentionPolicy({ maxTrajectoryPointsPerTrack: 3 });
    expect(s.beginFrame(T(8)).prunedPoints).toBe(2);
    expect(s.trajectory(id(1))!.segments.map((x) => [x.viewEpoch, x.pointCount])).toEqual([[1, 3]]);
  });

  it('rejects time going backwards', () => {
    const s = store();
    s.beginFrame(T(5));
    expect(() => s.beginFrame(T(4))).toThrow(InvalidArgumentError);
    s.clear();
    expect(() => s.beginFrame(T(0))).not.toThrow();
  });
});

describe('store compensation', () => {
  it('transforms active segments of the epoch only; observations, confidences and closed segments untouched', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0, 0.2, 0.2, 0.7), mk(2, 'confirmed', 0, 0.6, 0.6)], T(0));
    s.commitFrame([mk(1, 'confirmed', 1, 0.3, 0.2, 0.7), mk(2, 'lost', 1, 0.6, 0.6)], T(1));
    const t = AffineTransform2D.translation(0.1, -0.1);
    expect(s.applyCompensation(t)).toBe(1);
    const seg1 = s.trajectory(id(1))!.activeSegment!;
    expect(seg1.points.map((p) => [p.position.x, p.position.y].map((v) => Math.round(v * 1e9) / 1e9))).toEqual([[0.3, 0.1], [0.4, 0.1]]);
    expect(seg1.compensationCount).toBe(1);
    expect(seg1.compensation).toBe(t);
    const obs = s.snapshot().recentObservations(id(1));
    expect(obs.map((o) => o.bbox.center.x)).toEqual([expect.closeTo(0.2, 12), expect.closeTo(0.3, 12)]);
    expect(obs.map((o) => o.confidence)).toEqual([0.7, 0.7]);
    expect(s.trajectory(id(2))!.segments[0]!.compensationCount).toBe(0);
    expect(s.applyCompensation(t, E(3))).toBe(0);
  });

  it('recovers recorded positions through the inverse cumulative transform after three compensations', () => {
    const s = store();
    const xs = [0.2, 0.25, 0.33];
    xs.forEach((x, f) => s.commitTrack(mk(1, 'confirmed', f, x, 0.4), T(f)));
    const ts = [AffineTransform2D.translation(0.05, 0.02), AffineTransform2D.scale(1.05, 1.05, { x: 0.5, y: 0.5 }), AffineTransform2D.translation(-0.1, 0)];
    ts.forEach((t) => s.applyCompensation(t));
    const seg = s.trajectory(id(1))!.activeSegment!;
    expect(seg.compensationCount).toBe(3);
    const inv = seg.compensation!.invert(); // all points predate every compensation here
    expect(seg.points.map((_p, i) => seg.compensationIndexAt(i))).toEqual([0, 0, 0]);
    seg.points.forEach((p, i) => {
      const back = inv.apply(p.position);
      expect(Math.abs(back.x - xs[i]!)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(back.y - 0.4)).toBeLessThanOrEqual(1e-9);
      expect(inv.applyToBBox(p.bbox).equals(BBox.of(xs[i]! - 0.05, 0.35, xs[i]! + 0.05, 0.45), 1e-9)).toBe(true);
    });
  });
});

describe('store compensation with interleaved commits', () => {
  it('recovers points committed before, between and after compensations', () => {
    const s = store();
    const script: Array<['commit', number] | ['comp', AffineTransform2D]> = [
      ['commit', 0.2], ['comp', AffineTransform2D.translation(0.1, 0)], ['commit', 0.5],
      ['comp', AffineTransform2D.scale(1.1, 1.1, { x: 0.5, y: 0.5 })], ['commit', 0.6], ['comp', AffineTransform2D.rotation(0.02, { x: 0.5, y: 0.4 })],
    ];
    const xs: number[] = [];
    let f = 0;
    for (const [op, v] of script) {
      if (op === 'commit') {
        s.commitTrack(mk(1, 'confirmed', f, v, 0.4), T(f));
        f++;
        xs.push(v);
      } else expect(s.applyCompensation(v)).toBe(1);
    }
    const seg = s.trajectory(id(1))!.activeSegment!;
    expect(seg.compensationCount).toBe(3);
    expect(xs.map((_x, i) => seg.compensationIndexAt(i))).toEqual([0, 1, 2]);
    xs.forEach((x, i) => {
      const back = seg.originalPosition(i)!;
      expect(Math.abs(back.x - x)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(back.y - 0.4)).toBeLessThanOrEqual(1e-9);
    });
  });

  it.each<[string, AffineTransform2D]>([
    ['singular', AffineTransform2D.scale(1, 0)],
    ['near-singular', new AffineTransform2D([2e-5, 0, 0.1, 0, 2e-5, 0])],
  ])('refuses a %s transform before changing anything', (_n, t) => {
    const s = store();
    expect(() => s.applyCompensation(t)).toThrow(InvalidArgumentError); // empty store too
    s.commitTrack(mk(1, 'confirmed', 0, 0.3, 0.4), T(0));
    const snap = s.snapshot();
    expect(() => s.applyCompensation(t)).toThrow(InvalidArgumentError);
    expect(s.snapshot()).toBe(snap);
    const seg = s.trajectory(id(1))!.activeSegment!;
    expect(seg.compensationCount).toBe(0);
    expect(seg.points[0]!.position.x).toBeCloseTo(0.3, 12);
  });
});

describe('cap with only confirmed tracks over it', () => {
  it('never evicts confirmed tracks; the store stays over the cap and refuses (and reports) admissions', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'confirmed', 0), mk(3, 'confirmed', 0)], T(0));
    s.setRetentionPolicy({ maxConcurrentTracks: 2 });
    const r = s.enforceRetention(T(1));
    expect(r.evictedByCap).toEqual([]);
    expect(s.trackCount).toBe(3);
    const c = s.commitFrame([mk(1, 'confirmed', 2), mk(2, 'confirmed', 2), mk(3, 'confirmed', 2), mk(4, 'tentative', 2)], T(2));
    expect(c.rejectedIds).toEqual([id(4)]);
    expect(c.evicted).toEqual([]);
    expect(s.trackCount).toBe(3);
    expect(s.commitTrack(mk(5, 'tentative', 3), T(3))).toBe(false);
    // room appears only once a confirmed track leaves
    s.endTrack(id(1));
    s.endTrack(id(2));
    expect(s.commitTrack(mk(5, 'tentative', 4), T(4))).toBe(true);
    expect(s.trackIds()).toEqual([id(3), id(5)]);
  });
});

describe('closeAllSegments', () => {
  it('closes open segments with the boundary and validates it', () => {
    const s = store();
    s.commitFrame([mk(1, 'confirmed', 0), mk(2, 'lost', 0)], T(0));
    expect(s.closeAllSegments(SegmentBoundary.trackEnded)).toBe(1);
    expect(s.trajectory(id(1))!.segments[0]!.closedBy).toEqual({ kind: 'trackEnded' });
    expect(() => s.closeAllSegments({ kind: 'nope' } as never)).toThrow(InvalidArgumentError);
    expect(s.endTrack(id(77))).toBeUndefined();
  });
});
