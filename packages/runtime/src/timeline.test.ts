import { BBox, MediaError, NS_PER_MS, SOURCE_DISCONTINUITY, trackId, type HealthEvent, type HealthEventOf, type SourceDiscontinuityInfo } from '@nv/core';
import type { FrameEnvelope, FrameSource, FrameSourceEvent } from '@nv/frame';
import { createTrack, createObservation, type Stage } from '@nv/perception';
import { solidFrame } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { Runtime, type OutputEnvelope } from './index.js';
import { DiscontinuityReporter, FeedTimeline } from './timeline.js';

const MS = NS_PER_MS;

describe('FeedTimeline', () => {
  /** Maps `[raw ms, raw seq]` pairs; `'session'`/`'reconnect'` start a new media session first. */
  const run = (steps: readonly ([number, number] | 'session' | 'reconnect')[], gapMs = 1000) => {
    const tl = new FeedTimeline(gapMs);
    const out: [number, number, string | undefined][] = [];
    for (const s of steps) {
      if (s === 'session' || s === 'reconnect') { tl.newSession(s === 'reconnect'); continue; }
      const kind = tl.map(s[0] * MS, s[1]);
      out.push([tl.ts / MS, tl.seq, kind]);
    }
    return out;
  };

  it.each<[string, readonly ([number, number] | 'session' | 'reconnect')[], [number, number, string | undefined][]]>([
    ['keeps the source spacing and gaps in seq (drops)', [[0, 0], [40, 1], [120, 3]], [[0, 0, undefined], [40, 1, undefined], [120, 3, undefined]]],
    ['a restart at 0 in a new session continues one interval on', [[0, 0], [40, 1], [80, 2], 'session', [0, 0], [40, 1]],
      [[0, 0, undefined], [40, 1, undefined], [80, 2, undefined], [120, 3, 'reconnect'], [160, 4, undefined]]],
    ['a new session that continues the old one (a resumed file) is no jump', [[0, 0], [40, 1], 'session', [80, 2], [120, 3]],
      [[0, 0, undefined], [40, 1, undefined], [80, 2, undefined], [120, 3, undefined]]],
    ['a reconnect the source reported is a reconnect even when its timestamps continue', [[0, 0], [40, 1], 'reconnect', [80, 2]],
      [[0, 0, undefined], [40, 1, undefined], [80, 2, 'reconnect']]],
    ['backwards within a session: re-based, never below the last', [[1000, 10], [1040, 11], [500, 12], [540, 13]],
      [[1000, 10, undefined], [1040, 11, undefined], [1080, 12, 'backwardJump'], [1120, 13, undefined]]],
    ['a duplicate: one interval on', [[0, 0], [40, 1], [40, 1], [80, 2]], [[0, 0, undefined], [40, 1, undefined], [80, 2, 'duplicate'], [120, 3, undefined]]],
    ['a forward gap is kept (time passed) and reported', [[0, 0], [40, 1], [5040, 2], [5080, 3]],
      [[0, 0, undefined], [40, 1, undefined], [5040, 2, 'forwardGap'], [5080, 3, undefined]]],
    ['without an interval estimate the step is 1 ms', [[7, 0], [7, 0]], [[7, 0, undefined], [8, 1, 'duplicate']]],
  ])('%s', (_n, steps, expected) => {
    const got = run(steps);
    expect(got.map(([ts, seq, k]) => [Math.round(ts * 1000) / 1000, seq, k])).toEqual(expected);
  });

  it('a slow source (one frame per 2 s) is not a stream of gaps once the interval is known', () => {
    const got = run(Array.from({ length: 12 }, (_, i) => [i * 2000, i] as [number, number]));
    expect(got.filter(([, , k]) => k === 'forwardGap').length).toBeLessThanOrEqual(5);
    expect(got.slice(-6).every(([, , k]) => k === undefined)).toBe(true);
  });

  it('refuses a non-finite or negative raw timestamp (a broken source)', () => {
    const tl = new FeedTimeline(1000);
    expect(() => tl.map(Number.NaN, 0)).toThrow(/frame\.ts/);
    expect(() => tl.map(-1, 0)).toThrow(/frame\.ts/);
    expect(() => tl.map(0, -1)).toThrow(/frame\.seq/);
  });
});

describe('DiscontinuityReporter', () => {
  it('emits the first of a kind at once, then at most one per second with the count; reconnects always', () => {
    const got: [string, number, number][] = [];
    const r = new DiscontinuityReporter((kind, j) => got.push([kind, j.count, j.rawAfter]));
    r.report('duplicate', 0, 1, 1 as never, 0);
    r.report('duplicate', 0, 2, 2 as never, 10);
    r.report('duplicate', 0, 3, 3 as never, 20);
    r.report('reconnect', 3, 0, 4 as never, 30);
    r.report('reconnect', 3, 0, 5 as never, 40);
    expect(got).toEqual([['duplicate', 1, 1], ['reconnect', 1, 0], ['reconnect', 1, 0]]);
    r.flush(500);
    expect(got).toHaveLength(3); // not due yet
    r.flush(1000);
    expect(got.at(-1)).toEqual(['duplicate', 2, 3]);
    r.report('duplicate', 0, 9, 9 as never, 1100);
    r.flush(1200, true);
    expect(got.at(-1)).toEqual(['duplicate', 1, 9]);
  });
});

type Step = readonly [rawMs: number, rawSeq: number] | { readonly event: FrameSourceEvent };

/** A source that plays a script of frames (raw ts/seq) and source events, then ends. */
class ScriptedSource implements FrameSource {
  readonly specificationVersion = 'v1' as const;
  stopped = false;
  readonly #steps: readonly Step[];
  readonly #listeners = new Set<(e: FrameSourceEvent) => void>();
  #i = 0;
  constructor(steps: readonly Step[]) { this.#steps = steps; }
  async next(): Promise<FrameEnvelope | undefined> {
    while (!this.stopped && this.#i < this.#steps.length) {
      const s = this.#steps[this.#i++]!;
      if ('event' in s) { for (const l of this.#listeners) l(s.event); continue; }
      return solidFrame({ width: 8, height: 8, ts: s[0] * MS, seq: s[1] });
    }
    return undefined;
  }
  stop(): void { this.stopped = true; }
  onEvent(l: (e: FrameSourceEvent) => void): () => void { this.#listeners.add(l); return () => this.#listeners.delete(l); }
}

describe('one timeline per feed, through the runtime', () => {
  it('a camera that reboots (ts back to 0 after a reconnect), goes backwards, repeats and jumps: the feed lives on, ts strictly increases, events carry the raw values in order', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const outs: OutputEnvelope[] = [];
    const marks: (SourceDiscontinuityInfo | undefined)[] = [];
    const segments: number[] = [];
    const tid = trackId(1);
    // One track the whole time (a tracker reporting the same id), to see trajectory segments split.
    const tracker: Stage = {
      id: 'trk',
      process: (ctx) => {
        marks.push(ctx.frame.metadata.get(SOURCE_DISCONTINUITY));
        segments.push(ctx.temporal.trajectorySegmentCount(tid));
        const bbox = BBox.of(0.1, 0.1, 0.2, 0.2);
        return { tracks: [createTrack({ id: tid, classId: 0, state: 'confirmed', current: createObservation({ ts: ctx.frame.ts, bbox, confidence: 0.9, state: 'confirmed' }) })] };
      },
    };
    const src = new ScriptedSource([
      [0, 0], [40, 1], [80, 2],
      { event: { type: 'disconnected', error: MediaError.connectionFailed('rtsp://cam', 'camera rebooted') } },
      { event: { type: 'reconnecting', attempt: 1, delayMs: 0 } },
      { event: { type: 'connected' } },
      [0, 0], [40, 1], // the reboot: timestamps restart at 0
      [20, 2], // backwards within the session
      [20, 3], // duplicate
      [5020, 4], [5060, 5], // forward gap of 5 s
    ]);
    const feed = rt.addFeed({ source: () => src, cameraMode: 'fixed', stages: [tracker], sink: { emit: (o) => { outs.push(o); } } });
    await feed.done;
    expect(feed.diagnostics().stopReason).toEqual({ kind: 'EndOfStream' });
    expect(src.stopped).toBe(true);
    expect(outs).toHaveLength(9);
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.ts).toBeGreaterThan(outs[i - 1]!.ts);
    expect(outs.map((o) => o.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(outs.map((o) => o.provenance.source.mediaTs / MS)).toEqual([0, 40, 80, 0, 40, 20, 20, 5020, 5060]);
    expect(outs.map((o) => o.provenance.source.discontinuity)).toEqual([undefined, undefined, undefined, 'reconnect', undefined, 'backwardJump', 'duplicate', 'forwardGap', undefined]);
    expect(outs.map((o) => o.provenance.source.session)).toEqual([1, 1, 1, 2, 2, 2, 2, 2, 2]);
    // The timeline: 40 ms steps, re-based at the reboot, the backward jump and the duplicate; the 5 s gap kept.
    expect(outs.map((o) => Math.round(o.ts / MS))).toEqual([0, 40, 80, 120, 160, 200, 240, 5240, 5280]);
    const jumps = health.filter((e): e is HealthEventOf<'SourceDiscontinuity'> => e.type === 'SourceDiscontinuity');
    expect(jumps.map((e) => [e.kind, e.rawBefore / MS, e.rawAfter / MS, Math.round(e.ts / MS), e.count])).toEqual([
      ['reconnect', 80, 0, 120, 1], ['backwardJump', 40, 20, 200, 1], ['duplicate', 20, 20, 240, 1], ['forwardGap', 20, 5020, 5240, 1],
    ]);
    // Stages see the jump on the frame after it; trajectories split where the media clock broke (reconnect, backwards),
    // not at a duplicate nor at a gap shorter than the track max age (30 s).
    expect(marks.map((m) => m && [m.kind, m.segmented])).toEqual([
      undefined, undefined, undefined, ['reconnect', true], undefined, ['backwardJump', true], ['duplicate', false], ['forwardGap', false], undefined,
    ]);
    expect(segments).toEqual([0, 1, 1, 2, 2, 3, 3, 3, 3]);
    expect(health.some((e) => e.type === 'FeedStopped' && e.reason.kind === 'Fatal')).toBe(false);
    expect(health.some((e) => e.type === 'FeedRestarting')).toBe(false);
    await rt.shutdown();
  });

  it('a gap longer than the track max age splits trajectories (like an epoch change); repeated jumps are rate-limited with a count', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const segments: number[] = [];
    const tid = trackId(7);
    const tracker: Stage = {
      id: 'trk',
      process: (ctx) => {
        segments.push(ctx.temporal.trajectorySegmentCount(tid));
        return { tracks: [createTrack({ id: tid, classId: 0, state: 'confirmed', current: createObservation({ ts: ctx.frame.ts, bbox: BBox.of(0, 0, 0.1, 0.1), confidence: 0.9, state: 'confirmed' }) })] };
      },
    };
    const steps: Step[] = [[0, 0], [40, 1], [3040, 2]];
    for (let i = 0; i < 6; i++) steps.push([3040, 3 + i]); // six duplicates in a row
    const feed = rt.addFeed({
      source: () => new ScriptedSource(steps), cameraMode: 'fixed', stages: [tracker], retention: { maxTrackAgeMs: 2000 },
    });
    await feed.done;
    expect(feed.metrics().framesProcessed).toBe(9);
    expect(segments.slice(0, 4)).toEqual([0, 1, 2, 2]); // split before the frame after the 3 s gap (max age 2 s)
    const jumps = health.filter((e): e is HealthEventOf<'SourceDiscontinuity'> => e.type === 'SourceDiscontinuity');
    expect(jumps.map((e) => [e.kind, e.count])).toEqual([['forwardGap', 1], ['duplicate', 1], ['duplicate', 5]]);
    expect(jumps.reduce((n, e) => n + (e.kind === 'duplicate' ? e.count : 0), 0)).toBe(6);
    await rt.shutdown();
  });
});
