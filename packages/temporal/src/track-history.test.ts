import { describe, expect, it } from 'vitest';
import { BBox, InvalidArgumentError, monotonicTs, trackId, TypedMetadata, metadataKey, type MonotonicTs } from '@nv/core';
import { createObservation, createTrack, type Track, type TrackState } from '@nv/perception';
import { viewEpoch } from '@nv/view';
import { ReadonlyTypedMetadata } from './frozen-track.js';
import { SEGMENT_BOUNDARY_KINDS, SegmentBoundary } from './segment-boundary.js';
import { TrackHistory } from './track-history.js';

const T = (n: number): MonotonicTs => monotonicTs(n);

function mk(n: number, ts: number, state: TrackState = 'confirmed'): Track {
  return createTrack({ id: trackId(n), classId: 0, state, current: createObservation({ ts: T(ts), bbox: BBox.of(0.1, 0.1, 0.2, 0.2), confidence: 0.5, state }) });
}

function history(depth = 3): TrackHistory {
  return new TrackHistory({ track: mk(1, 0), firstSeen: T(0), viewEpochAtCreation: viewEpoch(2), maxObservations: depth });
}

describe('TrackHistory', () => {
  it('starts with the given creation data and no observations', () => {
    const h = history();
    expect([h.id, h.state, h.firstSeen, h.lastSeen, h.viewEpochAtCreation, h.observationCount]).toEqual([1, 'confirmed', 0, 0, 2, 0]);
    expect(h.trajectory.segmentCount).toBe(0);
  });

  it('keeps a bounded ring of observations, oldest first, bumping the generation on each change', () => {
    const h = history(3);
    let g = h.generation;
    for (let i = 1; i <= 5; i++) {
      h.pushObservation(mk(1, i).current);
      expect(h.generation).toBeGreaterThan(g);
      g = h.generation;
    }
    expect(h.observations.map((o) => o.ts)).toEqual([3, 4, 5]);
    expect(h.popObservationFront()!.ts).toBe(3);
    expect(h.observationCount).toBe(2);
    h.maxObservations = 1;
    expect(h.observations.map((o) => o.ts)).toEqual([5]);
    h.clearObservations();
    expect(h.observationCount).toBe(0);
    expect(h.popObservationFront()).toBeUndefined();
  });

  it('update replaces state and last-seen time, and validates', () => {
    const h = history();
    h.update(mk(1, 5, 'coasted'), T(5));
    expect([h.state, h.lastSeen]).toEqual(['coasted', 5]);
    expect(() => h.update(mk(2, 6), T(6))).toThrow(InvalidArgumentError);
    expect(() => h.update(mk(1, 4), T(4))).toThrow(InvalidArgumentError);
    expect(() => { h.maxObservations = 0; }).toThrow(InvalidArgumentError);
  });

  it.each([
    ['depth 0', { maxObservations: 0 }],
    ['negative firstSeen', { firstSeen: -1 }],
    ['bad epoch', { viewEpochAtCreation: 1.5 }],
    ['bad track', { track: { id: 1 } }],
  ])('rejects %s', (_n, patch) => {
    expect(() => new TrackHistory({ track: mk(1, 0), firstSeen: T(0), viewEpochAtCreation: viewEpoch(0), maxObservations: 3, ...patch } as never)).toThrow(InvalidArgumentError);
  });

  it('snapshots are reused until the history or its trajectory changes', () => {
    const h = history();
    h.trajectory.openSegment(viewEpoch(2), SegmentBoundary.trackCreated);
    const a = h.snapshot();
    expect(h.snapshot()).toBe(a);
    h.trajectory.closeActiveSegment(SegmentBoundary.trackEnded);
    const b = h.snapshot();
    expect(b).not.toBe(a);
    expect(a.trajectory.activeSegment).toBeDefined();
    expect(b.trajectory.activeSegment).toBeUndefined();
    h.pushObservation(mk(1, 1).current);
    expect(h.snapshot()).not.toBe(b);
    expect(b.observationCount).toBe(0);
  });

  it('stores read-only copies of track metadata', () => {
    const key = metadataKey<number>('n');
    const md = new TypedMetadata();
    md.set(key, 1);
    const t = createTrack({ ...mk(1, 0), metadata: md });
    const h = new TrackHistory({ track: t, firstSeen: T(0), viewEpochAtCreation: viewEpoch(0), maxObservations: 2 });
    expect(h.track).not.toBe(t);
    expect(h.track.metadata).toBeInstanceOf(ReadonlyTypedMetadata);
    expect(() => h.track.metadata.set(key, 2)).toThrow(InvalidArgumentError);
    expect(h.track.current.metadata).toBe(ReadonlyTypedMetadata.EMPTY);
    expect(() => ReadonlyTypedMetadata.EMPTY.set(key, 1)).toThrow(InvalidArgumentError);
  });
});

describe('SegmentBoundary helpers', () => {
  it('lists all six kinds', () => {
    expect(SEGMENT_BOUNDARY_KINDS).toEqual(['trackCreated', 'epochChange', 'feedRestart', 'trackLost', 'trackEnded', 'sourceDiscontinuity']);
  });
  it.each([
    [SegmentBoundary.trackCreated, 'trackCreated'],
    [SegmentBoundary.epochChange(viewEpoch(1), viewEpoch(3)), 'epochChange(epoch-1→epoch-3)'],
    [SegmentBoundary.feedRestart, 'feedRestart'],
    [SegmentBoundary.trackLost, 'trackLost'],
    [SegmentBoundary.trackEnded, 'trackEnded'],
    [SegmentBoundary.sourceDiscontinuity, 'sourceDiscontinuity'],
  ])('formats %j as %s and is frozen', (b, text) => {
    expect(SegmentBoundary.format(b)).toBe(text);
    expect(Object.isFrozen(b)).toBe(true);
  });
  it('compares structurally', () => {
    const e = (a: number, b: number) => SegmentBoundary.epochChange(viewEpoch(a), viewEpoch(b));
    expect(SegmentBoundary.equals(e(1, 2), e(1, 2))).toBe(true);
    expect(SegmentBoundary.equals(e(1, 2), e(1, 3))).toBe(false);
    expect(SegmentBoundary.equals(SegmentBoundary.trackLost, SegmentBoundary.trackEnded)).toBe(false);
    expect(() => e(2, 2)).toThrow(InvalidArgumentError);
  });
});
