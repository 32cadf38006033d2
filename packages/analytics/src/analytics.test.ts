/**
 * The analytics engine on hand-made track sequences: line crossings with direction, hysteresis
 * against jitter, zones with dwell, coasting, track ends, resets, memory bound, filters.
 */
import { InvalidArgumentError, feedId, type MonotonicTs, type WallTs } from '@nv/core';
import type { Track } from '@nv/perception';
import { describe, expect, it } from 'vitest';
import { TrackAnalytics } from './analytics.js';
import { eventToJson, type AnalyticsEvent } from './events.js';
import { trackAt, tsOf } from './test-fixtures.js';

const FEED = feedId(1);
const MID = { id: 'mid', from: [0.5, 0] as [number, number], to: [0.5, 1] as [number, number] };
const DOOR = { id: 'door', polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.9], [0.1, 0.9]] as [number, number][], dwellSeconds: 1 };

/** Runs frames (one list of tracks per frame, 10 fps) and returns every event with the frame index that emitted it. */
function run(a: TrackAnalytics, frames: readonly (readonly Track[])[], start = 0): { at: number; e: AnalyticsEvent }[] {
  const out: { at: number; e: AnalyticsEvent }[] = [];
  frames.forEach((tracks, i) => {
    for (const e of a.update({ feedId: FEED, ts: tsOf(start + i), tracks })) out.push({ at: start + i, e });
  });
  return out;
}
/** One track (id 1, centre anchor) along the given x positions at y = 0.5. */
const along = (xs: readonly number[], y = 0.5, id = 1) => xs.map((x) => [trackAt(id, x, y)]);
const types = (evs: readonly { e: AnalyticsEvent }[]) => evs.map(({ e }) => e.type);
const frameOf = (ts: MonotonicTs) => Math.round(Number(ts) / 1e8);

describe('TrackAnalytics: lines', () => {
  it('counts a crossing once, in the direction of the side it ends on, dated to the first frame on that side', () => {
    const a = new TrackAnalytics({ anchor: 'center', lines: [MID] });
    // frames 0–4 left of the line, 5–9 right of it, then back left at 10–14
    const evs = run(a, along([0.3, 0.34, 0.38, 0.42, 0.46, 0.54, 0.58, 0.62, 0.66, 0.7, 0.46, 0.42, 0.38, 0.34, 0.3]));
    const crossings = evs.filter(({ e }) => e.type === 'lineCrossed');
    expect(crossings.map(({ at, e }) => [at, frameOf(e.ts), e.type === 'lineCrossed' && e.direction])).toEqual([
      [7, 5, 'positive'], // minFrames 3: emitted on frame 7, happened on frame 5
      [12, 10, 'negative'],
    ]);
    expect(a.counters().lines).toEqual([{ id: 'mid', positive: 1, negative: 1 }]);
    expect(eventToJson(crossings[0]!.e)).toEqual({ type: 'lineCrossed', feedId: 1, trackId: 1, classId: 0, ts: 500_000_000, line: 'mid', direction: 'positive' });
  });

  it('jitter across the line that never holds minFrames frames makes no event; holding it does', () => {
    const a = new TrackAnalytics({ anchor: 'center', lines: [MID], minFrames: 3 });
    const jitter = [0.45, 0.45, 0.45, 0.55, 0.45, 0.55, 0.55, 0.45, 0.55, 0.55, 0.45, 0.45];
    expect(run(a, along(jitter)).filter(({ e }) => e.type === 'lineCrossed')).toEqual([]);
    const held = run(a, along([0.55, 0.55, 0.55]), jitter.length);
    expect(held.filter(({ e }) => e.type === 'lineCrossed').map(({ at, e }) => [at, frameOf(e.ts)])).toEqual([[14, 12]]);
    // minFrames 1: every side change that passes through the segment counts
    const b = new TrackAnalytics({ anchor: 'center', lines: [MID], minFrames: 1 });
    expect(run(b, along([0.45, 0.55, 0.45, 0.55])).filter(({ e }) => e.type === 'lineCrossed').length).toBe(3);
  });

  it('only the segment counts: passing beyond its end is no crossing', () => {
    const a = new TrackAnalytics({ anchor: 'center', lines: [{ id: 'top', from: [0.5, 0], to: [0.5, 0.4] }] });
    expect(run(a, along([0.3, 0.35, 0.4, 0.45, 0.55, 0.6, 0.65, 0.7], 0.8)).filter(({ e }) => e.type === 'lineCrossed')).toEqual([]);
    expect(run(a, along([0.3, 0.35, 0.4, 0.45, 0.55, 0.6, 0.65, 0.7], 0.2, 2)).filter(({ e }) => e.type === 'lineCrossed').length).toBe(1);
  });

  it('a track that appears on one side has not crossed; a crossing inside its first minFrames frames is not counted', () => {
    const a = new TrackAnalytics({ anchor: 'center', lines: [MID] });
    expect(run(a, along([0.6, 0.62, 0.64, 0.66])).filter(({ e }) => e.type === 'lineCrossed')).toEqual([]);
    const b = new TrackAnalytics({ anchor: 'center', lines: [MID] });
    expect(run(b, along([0.45, 0.55, 0.6, 0.65, 0.7])).filter(({ e }) => e.type === 'lineCrossed')).toEqual([]);
  });

  it('the anchor is per class (bottom centre by default): a box straddling a horizontal line crosses by its feet', () => {
    const horizon = { id: 'h', from: [0, 0.5] as [number, number], to: [1, 0.5] as [number, number] };
    // boxes 0.02 tall centred at y; the bottom edge is y + 0.01: at 0.495 the feet are past 0.5, the centre is not
    const ys = [0.3, 0.4, 0.45, 0.495, 0.495, 0.495, 0.495];
    const byFeet = new TrackAnalytics({ lines: [horizon] });
    const feet = run(byFeet, ys.map((y) => [trackAt(1, 0.5, y)]));
    expect(feet.filter(({ e }) => e.type === 'lineCrossed').map(({ e }) => e.type === 'lineCrossed' && [frameOf(e.ts), e.direction])).toEqual([[3, 'negative']]);
    const byCentre = new TrackAnalytics({ lines: [horizon], anchors: { 0: 'center' } });
    expect(run(byCentre, ys.map((y) => [trackAt(1, 0.5, y)])).filter(({ e }) => e.type === 'lineCrossed')).toEqual([]);
  });
});

describe('TrackAnalytics: zones and dwell', () => {
  it('enter, dwell once per stay after dwellSeconds, exit with the time inside; occupancy follows', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR] });
    // outside 0–2, inside 3–19 (1.7 s), outside from 20
    const xs = [0.6, 0.55, 0.5, ...Array.from({ length: 17 }, () => 0.25), 0.6, 0.6, 0.6, 0.6];
    const evs = run(a, along(xs));
    const z = evs.filter(({ e }) => e.type !== 'trackStarted');
    expect(z.map(({ at, e }) => [e.type, at, frameOf(e.ts)])).toEqual([
      ['zoneEntered', 5, 3],
      ['dwell', 13, 13], // 1 s after frame 3
      ['zoneExited', 22, 20],
    ]);
    const exit = z[2]!.e;
    expect(exit.type === 'zoneExited' && [exit.reason, exit.durationNs]).toEqual(['left', 1_700_000_000]);
    const dwell = z[1]!.e;
    expect(dwell.type === 'dwell' && dwell.durationNs).toBe(1_000_000_000);
    expect(a.counters().zones).toEqual([{ id: 'door', entered: 1, exited: 1, exitedOnTrackEnd: 0, occupancy: 0, dwell: 1 }]);
  });

  it('a track that appears inside enters; a second stay dwells again', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [{ ...DOOR, dwellSeconds: 0.3 }] });
    const xs = [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.7, 0.7, 0.7, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25];
    const evs = run(a, along(xs)).filter(({ e }) => e.type !== 'trackStarted');
    expect(evs.map(({ e }) => [e.type, frameOf(e.ts)])).toEqual([
      ['zoneEntered', 0], ['dwell', 3], ['zoneExited', 6], ['zoneEntered', 9], ['dwell', 12],
    ]);
    expect(a.counters().zones[0]!.occupancy).toBe(1);
  });

  it('coasting freezes a track: no exit/enter flap while coasted, and a line step is measured from its last observed anchor', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR], lines: [MID] });
    const obs = (x: number) => [trackAt(1, x, 0.5)];
    const coast = (x: number) => [trackAt(1, x, 0.5, { state: 'coasted' })];
    // inside the door (x 0.25), coasting with a predicted box far outside, back inside: no zone events besides the first enter
    const evs = run(a, [obs(0.25), obs(0.25), obs(0.25), coast(0.7), coast(0.8), coast(0.9), obs(0.25), obs(0.25), obs(0.25)]);
    expect(types(evs)).toEqual(['trackStarted', 'zoneEntered']);
    // then walks right, is lost exactly over the line, and reappears on the far side: one crossing
    const more = run(a, [obs(0.42), obs(0.46), coast(0.5), [trackAt(1, 0.52, 0.5, { state: 'lost' })], obs(0.58), obs(0.62), obs(0.66)], 9);
    expect(more.filter(({ e }) => e.type === 'lineCrossed').map(({ e }) => e.type === 'lineCrossed' && [frameOf(e.ts), e.direction])).toEqual([[13, 'positive']]);
    expect(more.filter(({ e }) => e.type === 'zoneExited').map(({ e }) => frameOf(e.ts))).toEqual([9]);
  });

  it('a track that ends inside exits with reason trackEnded, then ends; times are its last observation', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR] });
    const evs = run(a, [[trackAt(1, 0.25, 0.5)], [trackAt(1, 0.25, 0.5)], [trackAt(1, 0.25, 0.5)], [trackAt(1, 0.25, 0.5, { state: 'coasted' })], []]);
    expect(evs.map(({ at, e }) => [e.type, at])).toEqual([['trackStarted', 0], ['zoneEntered', 2], ['zoneExited', 4], ['trackEnded', 4]]);
    const [exit, end] = [evs[2]!.e, evs[3]!.e];
    expect(exit.type === 'zoneExited' && [exit.reason, exit.durationNs]).toEqual(['trackEnded', 200_000_000]);
    expect(end.type === 'trackEnded' && [frameOf(end.lastSeenTs), end.durationNs]).toEqual([2, 200_000_000]);
    expect(a.counters()).toMatchObject({ zones: [{ entered: 1, exited: 1, exitedOnTrackEnd: 1, occupancy: 0 }], tracks: { active: 0, started: 1, ended: 1 } });
  });

  it('a non-authoritative track set ends nobody', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR] });
    run(a, along([0.25, 0.25, 0.25]));
    expect(a.update({ feedId: FEED, ts: tsOf(3), tracks: [], authoritative: false })).toEqual([]);
    expect(a.trackCount).toBe(1);
    expect(a.update({ feedId: FEED, ts: tsOf(4), tracks: [] }).map((e) => e.type)).toEqual(['zoneExited', 'trackEnded']);
  });
});

describe('TrackAnalytics: lifecycle, reset, bounds, filters, input', () => {
  it('events of one frame come per track in a fixed order, with the wall clock when stamped', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR], lines: [MID], minFrames: 1 });
    a.update({ feedId: FEED, ts: tsOf(0), tracks: [trackAt(1, 0.45, 0.5), trackAt(2, 0.7, 0.5)] });
    const evs = a.update({ feedId: FEED, ts: tsOf(1), wallTs: 1_700_000_000_000_000 as WallTs, tracks: [trackAt(1, 0.55, 0.5), trackAt(3, 0.25, 0.5)] });
    expect(evs.map((e) => [e.type, Number(e.trackId)])).toEqual([['lineCrossed', 1], ['trackStarted', 3], ['zoneEntered', 3], ['trackEnded', 2]]);
    expect(evs.every((e) => e.wallTs === 1_700_000_000_000_000)).toBe(true);
    expect(Object.isFrozen(evs)).toBe(true);
  });

  it('reset (a view epoch change) drops per-track state with no events; counters stay, occupancy is 0, tracks start again', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR], lines: [MID] });
    run(a, along([0.25, 0.25, 0.25]));
    expect(a.counters().zones[0]!.occupancy).toBe(1);
    a.reset();
    expect(a.counters()).toMatchObject({ zones: [{ entered: 1, exited: 0, occupancy: 0 }], tracks: { active: 0, started: 1, ended: 0 }, resets: 1 });
    // the same track id after the reset is new and nothing is synthesised for the old one
    const after = run(a, along([0.25, 0.25, 0.25, 0.25]), 3);
    expect(types(after)).toEqual(['trackStarted', 'zoneEntered']);
  });

  it('tentative tracks take part only with includeTentative', () => {
    const tentative = Array.from({ length: 4 }, () => [trackAt(1, 0.25, 0.5, { state: 'tentative' })]);
    expect(run(new TrackAnalytics({ anchor: 'center', zones: [DOOR] }), tentative)).toEqual([]);
    expect(types(run(new TrackAnalytics({ anchor: 'center', zones: [DOOR], includeTentative: true }), tentative))).toEqual(['trackStarted', 'zoneEntered']);
  });

  it('holds at most maxTracks tracks: the least recently seen is evicted silently and counted', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR], maxTracks: 2, minFrames: 1 });
    a.update({ feedId: FEED, ts: tsOf(0), tracks: [trackAt(1, 0.25, 0.5), trackAt(2, 0.25, 0.6)], authoritative: false });
    const evs = a.update({ feedId: FEED, ts: tsOf(1), tracks: [trackAt(2, 0.25, 0.6), trackAt(3, 0.25, 0.7)], authoritative: false });
    expect(evs.map((e) => [e.type, Number(e.trackId)])).toEqual([['trackStarted', 3], ['zoneEntered', 3]]);
    expect(a.counters()).toMatchObject({ zones: [{ entered: 3, occupancy: 2 }], tracks: { active: 2, evicted: 1 } });
  });

  it('zones and lines with classes see only those classes', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [{ ...DOOR, classes: [2] }], minFrames: 1 });
    const evs = a.update({ feedId: FEED, ts: tsOf(0), tracks: [trackAt(1, 0.25, 0.5, { classId: 0 }), trackAt(2, 0.25, 0.5, { classId: 2 })] });
    expect(evs.filter((e) => e.type === 'zoneEntered').map((e) => Number(e.trackId))).toEqual([2]);
  });

  it('malformed input is a typed error and changes nothing', () => {
    const a = new TrackAnalytics({ anchor: 'center', zones: [DOOR] });
    expect(() => a.update({ feedId: FEED, ts: Number.NaN as MonotonicTs, tracks: [] })).toThrow(InvalidArgumentError);
    expect(() => a.update({ feedId: FEED, ts: tsOf(0), tracks: null as unknown as Track[] })).toThrow(InvalidArgumentError);
    // a good track before a malformed one: neither is taken
    const broken = { ...trackAt(2, 0.3, 0.5), current: { bbox: { xMin: Number.NaN } } } as unknown as Track;
    expect(() => a.update({ feedId: FEED, ts: tsOf(0), tracks: [trackAt(1, 0.25, 0.5), broken] })).toThrow(/tracks\[1\]/);
    expect(a.trackCount).toBe(0);
    expect(a.counters().tracks.started).toBe(0);
  });
});
