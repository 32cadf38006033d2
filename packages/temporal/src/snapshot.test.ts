import { describe, expect, it } from 'vitest';
import {
  AffineTransform2D, BBox, InvalidArgumentError, metadataKey, monotonicTs, NS_PER_SEC, trackId, TypedMetadata,
  type MonotonicTs, type TrackId,
} from '@nv/core';
import { createObservation, createTrack, type TemporalAccess, type Track, type TrackState } from '@nv/perception';
import { viewEpoch } from '@nv/view';
import { SegmentBoundary } from './segment-boundary.js';
import { SNAPSHOT_TOKEN, TemporalSnapshot } from './snapshot.js';
import { TemporalStore } from './store.js';

const T = (sec: number): MonotonicTs => monotonicTs(Math.round(sec * NS_PER_SEC));
const id = (n: number): TrackId => trackId(n);
const KEY = metadataKey<string>('label');

function mk(n: number, state: TrackState, sec: number, x = 0.5): Track {
  const md = new TypedMetadata();
  md.set(KEY, `t${n}`);
  const bbox = BBox.of(x - 0.05, 0.45, x + 0.05, 0.55);
  return createTrack({ id: id(n), classId: 1, state, current: createObservation({ ts: T(sec), bbox, confidence: 0.8, state, metadata: md }), metadata: md });
}

function populated(): TemporalStore {
  const s = new TemporalStore();
  for (let f = 0; f < 3; f++) s.commitFrame([mk(1, 'confirmed', f, 0.2 + f * 0.1), mk(2, 'tentative', f, 0.5)], T(f));
  return s;
}

describe('TemporalSnapshot implements TemporalAccess', () => {
  it('answers every TemporalAccess query', () => {
    const snap: TemporalAccess = populated().snapshot();
    expect(snap.viewEpoch).toBe(0);
    expect(snap.trackCount).toBe(2);
    expect(snap.trackIds()).toEqual([id(1), id(2)]);
    expect(snap.getTrack(id(1))!.state).toBe('confirmed');
    expect(snap.recentObservations(id(1)).map((o) => o.ts)).toEqual([T(0), T(1), T(2)]);
    expect(snap.firstSeen(id(1))).toBe(T(0));
    expect(snap.lastSeen(id(1))).toBe(T(2));
    expect(snap.trajectoryPointCount(id(1))).toBe(3);
    expect(snap.trajectorySegmentCount(id(1))).toBe(1);
    expect(snap.getTrack(id(9))).toBeUndefined();
    expect(snap.recentObservations(id(9))).toEqual([]);
    expect(snap.firstSeen(id(9))).toBeUndefined();
    expect(snap.trajectoryPointCount(id(9))).toBe(0);
    expect(snap.trajectorySegmentCount(id(9))).toBe(0);
  });

  it('adds trajectory, history, state and creation-epoch access', () => {
    const s = populated();
    s.onEpochChange(viewEpoch(0), viewEpoch(1));
    s.commitFrame([mk(3, 'tentative', 3)], T(3));
    const snap = s.snapshot();
    expect(snap.trajectory(id(1))!.activeSegment!.viewEpoch).toBe(1);
    expect(snap.trajectory(id(1))!.segments[0]!.motion.meanSpeed).toBeCloseTo(0.1, 9);
    expect(snap.trackState(id(2))).toBe('tentative');
    expect(snap.trackCreationEpoch(id(3))).toBe(1);
    expect(snap.trackCreationEpoch(id(1))).toBe(0);
    expect(snap.history(id(1))!.observationCount).toBe(3);
    expect(snap.histories().map((h) => h.id)).toEqual([id(1), id(2), id(3)]);
    expect(snap.has(id(3)) && !snap.has(id(4))).toBe(true);
  });

  it('cannot be constructed outside the store', () => {
    expect(() => new TemporalSnapshot(Symbol('x') as unknown as typeof SNAPSHOT_TOKEN, [], new Map(), [], viewEpoch(0))).toThrow(InvalidArgumentError);
  });
});

describe('snapshot immutability', () => {
  const s = populated();
  s.applyCompensation(AffineTransform2D.translation(0.01, 0));
  const snap = s.snapshot();
  const seg = snap.trajectory(id(1))!.activeSegment!;
  const obs = snap.recentObservations(id(1));
  const track = snap.getTrack(id(1))!;
  const p = seg.points[0]!;

  it.each<[string, () => unknown]>([
    ['assign snapshot field', () => { (snap as unknown as { trackCount: number }).trackCount = 0; }],
    ['add snapshot property', () => { (snap as unknown as Record<string, unknown>).extra = 1; }],
    ['push to trackIds', () => { (snap.trackIds() as TrackId[]).push(id(5)); }],
    ['push to observations', () => { (obs as unknown[]).push(obs[0]); }],
    ['assign observation confidence', () => { (obs[0] as { confidence: number }).confidence = 0; }],
    ['assign track state', () => { (track as { state: string }).state = 'lost'; }],
    ['assign current observation', () => { (track as { current: unknown }).current = null; }],
    ['splice segments', () => { (snap.trajectory(id(1))!.segments as unknown[]).splice(0, 1); }],
    ['assign totalPoints', () => { (snap.trajectory(id(1)) as { totalPoints: number }).totalPoints = 0; }],
    ['push to points', () => { (seg.points as unknown[]).push(p); }],
    ['assign point position x', () => { (p.position as { x: number }).x = 9; }],
    ['assign point bbox', () => { (p as { bbox: unknown }).bbox = null; }],
    ['assign motion', () => { (seg.motion as { meanSpeed: number }).meanSpeed = 9; }],
    ['assign segment closedBy', () => { (seg as { closedBy: unknown }).closedBy = { kind: 'trackLost' }; }],
    ['assign boundary kind', () => { (seg.openedBy as { kind: string }).kind = 'trackLost'; }],
    ['assign compensation coefficients', () => { (seg.compensation!.m as unknown as number[])[0] = 2; }],
    ['assign history lastSeen', () => { (snap.history(id(1)) as { lastSeen: number }).lastSeen = 0; }],
  ])('%s throws (frozen)', (_n, mutate) => {
    expect(mutate).toThrow(TypeError);
  });

  it.each<[string, () => unknown]>([
    ['set', () => track.metadata.set(KEY, 'x')],
    ['delete', () => track.metadata.delete(KEY)],
    ['merge', () => obs[0]!.metadata.merge(new TypedMetadata())],
  ])('metadata %s throws InvalidArgumentError (read-only)', (_n, mutate) => {
    expect(mutate).toThrow(InvalidArgumentError);
    expect(track.metadata.get(KEY)).toBe('t1');
  });

  it('metadata can be read and cloned into a mutable copy', () => {
    const c = track.metadata.clone();
    c.set(KEY, 'mine');
    expect(c.get(KEY)).toBe('mine');
    expect(track.metadata.get(KEY)).toBe('t1');
  });

  it('nothing above changed the store', () => {
    const now = s.snapshot();
    expect(now.trackCount).toBe(2);
    expect(now.trajectory(id(1))!.activeSegment!.points[0]!.position.x).toBeCloseTo(0.21, 12);
    expect(now.getTrack(id(1))!.state).toBe('confirmed');
  });
});

describe('snapshot isolation', () => {
  it.each<[string, (s: TemporalStore) => void, (snap: TemporalSnapshot) => unknown]>([
    ['commit (observations, lastSeen, points)', (s) => s.commitFrame([mk(1, 'confirmed', 5, 0.9), mk(2, 'lost', 5)], T(5)),
      (snap) => [snap.recentObservations(id(1)).length, snap.lastSeen(id(1)), snap.trajectoryPointCount(id(1)), snap.getTrack(id(2))!.state, snap.trajectory(id(1))!.activeSegment!.lastPoint!.position.x]],
    ['new track', (s) => s.commitTrack(mk(7, 'tentative', 5), T(5)), (snap) => [snap.trackCount, snap.trackIds().length, snap.has(id(7))]],
    ['authoritative ending', (s) => s.commitFrame([], T(5), undefined, { authoritative: true }), (snap) => [snap.trackCount, snap.trajectory(id(1))?.activeSegment?.isActive]],
    ['compensation', (s) => s.applyCompensation(AffineTransform2D.translation(0.2, 0.2)),
      (snap) => [snap.trajectory(id(1))!.activeSegment!.points.map((q) => q.position.x), snap.trajectory(id(1))!.activeSegment!.compensationCount]],
    ['epoch change', (s) => s.onEpochChange(viewEpoch(0), viewEpoch(1)), (snap) => [snap.viewEpoch, snap.trajectorySegmentCount(id(1))]],
    ['retention', (s) => { s.setRetentionPolicy({ maxConcurrentTracks: 1, maxTrajectoryPointsPerTrack: 1 }); s.beginFrame(T(9)); },
      (snap) => [snap.trackCount, snap.trajectoryPointCount(id(1))]],
    ['clear', (s) => s.clear(), (snap) => [snap.trackCount, snap.trajectory(id(1))?.activeSegment?.openedBy]],
  ])('a snapshot taken before a %s does not see it', (_n, change, read) => {
    const s = populated();
    const snap = s.snapshot();
    const before = JSON.stringify(read(snap));
    // materialize nothing else before the change: the lazily materialized arrays must still be the old state
    const lazy = s.snapshot();
    change(s);
    expect(JSON.stringify(read(snap))).toBe(before);
    expect(JSON.stringify(read(lazy))).toBe(before);
    expect(JSON.stringify(read(s.snapshot()))).not.toBe(before);
  });

  it('lazily materialized observations reflect the snapshot moment even when read after many commits', () => {
    const s = new TemporalStore({ retention: { maxObservationsPerTrack: 4 } });
    s.commitTrack(mk(1, 'confirmed', 0), T(0));
    s.commitTrack(mk(1, 'confirmed', 1), T(1));
    const snap = s.snapshot();
    for (let f = 2; f < 200; f++) s.commitTrack(mk(1, 'confirmed', f), T(f)); // forces ring compaction
    expect(snap.recentObservations(id(1)).map((o) => o.ts)).toEqual([T(0), T(1)]);
    expect(s.snapshot().recentObservations(id(1)).map((o) => o.ts)).toEqual([T(196), T(197), T(198), T(199)]);
  });
});

describe('snapshot sharing', () => {
  it('returns the same snapshot when nothing changed', () => {
    const s = populated();
    expect(s.snapshot()).toBe(s.snapshot());
  });

  it('shares unchanged tracks between snapshots and re-materializes changed ones', () => {
    const s = populated();
    const a = s.snapshot();
    const obs1 = a.recentObservations(id(1));
    const obs2 = a.recentObservations(id(2));
    s.commitTrack(mk(1, 'confirmed', 3, 0.6), T(3));
    const b = s.snapshot();
    expect(b).not.toBe(a);
    expect(b.history(id(2))).toBe(a.history(id(2)));
    expect(b.recentObservations(id(2))).toBe(obs2);
    expect(b.trajectory(id(2))).toBe(a.trajectory(id(2)));
    expect(b.history(id(1))).not.toBe(a.history(id(1)));
    expect(b.recentObservations(id(1))).not.toBe(obs1);
    expect(b.recentObservations(id(1)).length).toBe(4);
    expect(b.recentObservations(id(1))[0]).toBe(obs1[0]); // observation objects themselves are shared
  });

  it('closed segments are shared across snapshots', () => {
    const s = populated();
    s.onEpochChange(viewEpoch(0), viewEpoch(1));
    s.commitFrame([mk(1, 'confirmed', 3)], T(3));
    const a = s.snapshot();
    s.commitFrame([mk(1, 'confirmed', 4)], T(4));
    const b = s.snapshot();
    expect(b.trajectory(id(1))!.segments[0]).toBe(a.trajectory(id(1))!.segments[0]);
    expect(b.trajectory(id(1))!.segments[1]).not.toBe(a.trajectory(id(1))!.segments[1]);
  });
});

describe('freezing deferred to hand-out', () => {
  it('every object reachable from a snapshot, a history or a trajectory is frozen when read', () => {
    const s = populated();
    s.closeAllSegments(SegmentBoundary.trackLost);
    s.commitFrame([mk(1, 'confirmed', 3, 0.6)], T(3));
    const snap = s.snapshot();
    const reached: unknown[] = [];
    for (const h of snap.histories()) {
      reached.push(h, h.track, h.track.current, h.track.metadata, ...h.observations, h.trajectory, h.trajectory.segments);
      for (const seg of h.trajectory.segments) {
        reached.push(seg, seg.points, seg.motion, seg.firstPoint, seg.lastPoint, seg.pointAt(0), seg.originalPoint(0));
        for (const p of seg.points) reached.push(p, p.position, p.bbox);
      }
    }
    reached.push(snap.getTrack(id(2)), snap.getTrack(id(2))!.current, ...snap.recentObservations(id(2)), snap.history(id(1)));
    reached.push(s.history(id(1)), s.history(id(1))!.track, ...s.history(id(1))!.observations);
    const notFrozen = reached.filter((o) => o !== undefined && !Object.isFrozen(o));
    expect(notFrozen).toEqual([]);
    expect(reached.length).toBeGreaterThan(40);
  });

  it('what the store holds internally is never changed by reading or by later commits', () => {
    const s = populated();
    const before = s.snapshot();
    const track = before.getTrack(id(1))!;
    const first = before.trajectory(id(1))!.activeSegment!.points[0]!;
    for (let f = 3; f < 40; f++) s.commitFrame([mk(1, 'confirmed', f, 0.2 + f * 0.01)], T(f));
    expect(before.getTrack(id(1))).toBe(track);
    expect(track.current.ts).toBe(T(2));
    expect(before.trajectory(id(1))!.activeSegment!.points[0]).toBe(first);
    expect(first.position.x).toBeCloseTo(0.2, 12);
    expect(s.snapshot().getTrack(id(1))!.current.ts).toBe(T(39));
  });
});
