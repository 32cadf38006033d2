/**
 * The analytics stage through the real runtime on a generated H.264 clip with known motion:
 * MediaSource → a bright-square detector → TrackerStage (@nv/tracking) → AnalyticsStage. A
 * white square walks right across a vertical line, into a bay and stays there: the crossing,
 * the entry and the dwell come at the frames the motion puts them (± the tracker's lag and
 * the hysteresis), once each; the counters reach the metrics snapshot. Also: view epoch
 * changes reset per-track state, malformed tracks are a typed stage error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageError, feedId, type MonotonicTs, type TypedMetadata } from '@nv/core';
import { MediaSource, VideoWriter } from '@nv/media';
import type { StageContext } from '@nv/perception';
import { Runtime, type OutputEnvelope } from '@nv/runtime';
import { boxFrame } from '@nv/test-util';
import { TrackerStage } from '@nv/tracking';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipResult } from '@nv/media';
import { EventClipStage } from './clip-stage.js';
import { ANALYTICS_EVENTS, eventToJson, type AnalyticsEvent } from './events.js';
import { AnalyticsStage } from './stage.js';
import { BrightSquareDetector, trackAt } from './test-fixtures.js';

const W = 320, H = 240, FPS = 10, FRAMES = 50;
const SIDE = 0.08;
/** Square centre x on frame i: walks right 0.032 a frame from 0.1, stops at 0.804 (frame 22). */
const cx = (i: number) => Math.min(0.1 + i * 0.032, 0.804);
const CY = 0.5;
/** First frame whose centre is right of x = 0.5 (the line), and inside the bay (x > 0.6). */
const CROSS_FRAME = 13, ENTER_FRAME = 16, DWELL_S = 1.5;

describe('AnalyticsStage through the runtime on a clip with known motion', () => {
  let dir: string;
  let outs: OutputEnvelope[] = [];
  let counters: readonly { name: string; labels?: Readonly<Record<string, string>>; value: number }[] | undefined;
  let clipCounters: typeof counters;
  const clips: ClipResult[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nv-analytics-'));
    const path = join(dir, 'walk.mp4');
    const w = VideoWriter.open({ path, width: W, height: H, format: 'I420', fps: FPS, speedPreset: 'ultrafast' });
    for (let i = 0; i < FRAMES; i++) {
      const x = cx(i);
      const f = boxFrame({ width: W, height: H, format: 'I420', seq: i, ts: (i * 1e9) / FPS, box: { xMin: x - SIDE / 2, yMin: CY - SIDE / 2, xMax: x + SIDE / 2, yMax: CY + SIDE / 2 } });
      try { await w.write(f); } finally { f.release(); }
    }
    await w.close();
    const analytics = new AnalyticsStage({
      lines: [{ id: 'mid', from: [0.5, 0], to: [0.5, 1] }],
      zones: [{ id: 'bay', polygon: [[0.6, 0.2], [0.95, 0.2], [0.95, 0.9], [0.6, 0.9]], dwellSeconds: DWELL_S }],
    });
    const rt = new Runtime();
    const feed = rt.addFeed({
      // Paced like a camera (10 fps): the clip encoder is never outrun, as on a live feed.
      source: () => new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' }, output: { pacing: 'realtime' } }),
      cameraMode: 'fixed',
      stages: [
        new BrightSquareDetector(), new TrackerStage({ minHits: 2 }), analytics,
        new EventClipStage({ dir: join(dir, 'clips'), prefix: 'walk', preSeconds: 1, postSeconds: 1, keyframeSeconds: 0.5, maxFps: FPS, onClip: (c) => clips.push(c) }),
      ],
      sink: { emit(o) { outs.push(o); } },
    });
    await feed.done;
    counters = feed.metrics().stages['analytics']!.counters;
    clipCounters = feed.metrics().stages['event-clips']!.counters;
    await rt.shutdown();
  }, 60_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const events = () => outs.flatMap((o) => (o.artifacts.stageArtifacts.get(ANALYTICS_EVENTS) ?? []).map((e) => ({ seq: o.seq, e })));
  const frameOf = (e: AnalyticsEvent) => Math.round((Number(e.ts) * FPS) / 1e9);

  it('every frame has an output carrying the events list; one track, started once', () => {
    expect(outs.map((o) => o.seq)).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
    expect(outs.every((o) => Array.isArray(o.artifacts.stageArtifacts.get(ANALYTICS_EVENTS)))).toBe(true);
    const started = events().filter(({ e }) => e.type === 'trackStarted');
    expect(started).toHaveLength(1);
  });

  it('the line crossing is positive, once, at the frame the square crosses (± 2 frames of tracker lag), emitted minFrames − 1 frames later', () => {
    const crossings = events().filter(({ e }) => e.type === 'lineCrossed');
    expect(crossings).toHaveLength(1);
    const { seq, e } = crossings[0]!;
    expect(e.type === 'lineCrossed' && e.direction).toBe('positive');
    expect(Math.abs(frameOf(e) - CROSS_FRAME)).toBeLessThanOrEqual(2);
    expect(seq - frameOf(e)).toBe(2); // minFrames 3
    expect(eventToJson(e)).toMatchObject({ type: 'lineCrossed', line: 'mid', direction: 'positive', feedId: outs[0]!.feedId });
  });

  it('enters the bay once, dwells once 1.5 s later, and never leaves', () => {
    const z = events().filter(({ e }) => e.type === 'zoneEntered' || e.type === 'dwell' || e.type === 'zoneExited');
    expect(z.map(({ e }) => e.type)).toEqual(['zoneEntered', 'dwell']);
    const enter = z[0]!.e, dwell = z[1]!.e;
    expect(Math.abs(frameOf(enter) - ENTER_FRAME)).toBeLessThanOrEqual(2);
    expect(frameOf(dwell) - frameOf(enter)).toBe(DWELL_S * FPS);
    expect(dwell.type === 'dwell' && dwell.durationNs).toBe(DWELL_S * 1e9);
  });

  it('the counters reach the feed diagnostics (for nv.stage.counter / nv.stage.gauge)', () => {
    const get = (name: string, labels: Record<string, string> = {}) => counters?.find((c) => c.name === name && JSON.stringify(c.labels ?? {}) === JSON.stringify(labels))?.value;
    expect(get('analytics.line.crossed', { line: 'mid', direction: 'positive' })).toBe(1);
    expect(get('analytics.line.crossed', { line: 'mid', direction: 'negative' })).toBe(0);
    expect(get('analytics.zone.entered', { zone: 'bay' })).toBe(1);
    expect(get('analytics.zone.dwell', { zone: 'bay' })).toBe(1);
    expect(get('analytics.tracks.started')).toBe(1);
  });

  it('EventClipStage: events carry their clip; events a second apart share one; each clip decodes and covers its events ± pre/post', async () => {
    const evs = events().map(({ e }) => e).filter((e) => e.type === 'lineCrossed' || e.type === 'zoneEntered' || e.type === 'dwell');
    expect(evs.every((e) => e.clip !== undefined)).toBe(true);
    const [cross, enter, dwell] = evs as [AnalyticsEvent, AnalyticsEvent, AnalyticsEvent];
    expect(enter.clip!.path).toBe(cross.clip!.path); // 0.3 s apart: one clip
    expect(dwell.clip!.path).not.toBe(cross.clip!.path); // the first was written at 2.6 s
    expect(events().filter(({ e }) => e.type === 'trackStarted').every(({ e }) => e.clip === undefined)).toBe(true);
    expect(eventToJson(cross).clip).toEqual({ path: cross.clip!.path, fromTs: cross.clip!.fromTs, toTs: cross.clip!.toTs });
    expect(clips.map((c) => [c.path, c.ok, c.events])).toEqual([[cross.clip!.path, true, 2], [dwell.clip!.path, true, 1]]);
    for (const [c, first, last] of [[clips[0]!, cross, enter], [clips[1]!, dwell, dwell]] as const) {
      expect(c.firstTs).toBeLessThanOrEqual(Number(first.ts) - 1e9);
      expect(c.lastTs).toBeGreaterThanOrEqual(Math.min(Number(last.ts) + 1e9, ((FRAMES - 1) * 1e9) / FPS) - 2e8);
      const src = new MediaSource({ kind: 'file', path: c.path }, { backpressure: { kind: 'block' } });
      let n = 0;
      for await (const f of src.frames()) { n++; f.release(); }
      await src.stop();
      expect(n).toBe(c.frames);
      expect(n).toBeGreaterThanOrEqual(0.8 * ((c.lastTs - c.firstTs) / 1e8 + 1));
    }
    const get = (name: string) => clipCounters?.find((c) => c.name === name)?.value;
    expect([get('clips.written'), get('clips.failed'), get('clips.pending')]).toEqual([2, 0, 0]);
  });
});

describe('AnalyticsStage on its own', () => {
  const ctx = (seq: number, tracks: unknown, epoch = 0): StageContext => ({
    feedId: feedId(3), frame: { ts: (seq * 1e8) as MonotonicTs, wallTs: 0, seq },
    view: { epoch }, artifacts: { tracks, tracksAuthoritative: true, stageArtifacts: { get: () => undefined } as unknown as TypedMetadata },
  }) as unknown as StageContext;

  it('a view epoch change resets per-track state with no events; the track starts again', () => {
    const s = new AnalyticsStage({ anchor: 'center', zones: [{ id: 'z', polygon: [[0, 0], [1, 0], [1, 1], [0, 1]] }] });
    const run = (seq: number, epoch: number) => (s.process(ctx(seq, [trackAt(1, 0.5, 0.5)], epoch)).artifacts!.get(ANALYTICS_EVENTS) ?? []).map((e) => e.type);
    expect([0, 1, 2].flatMap((i) => run(i, 0))).toEqual(['trackStarted', 'zoneEntered']);
    expect(run(3, 1)).toEqual(['trackStarted']); // new epoch: no exit, no end for the old state
    expect(s.snapshot()).toMatchObject({ resets: 1, zones: [{ entered: 1, exited: 0 }] });
    s.onViewEpochChange(2 as never);
    expect(s.snapshot().resets).toBe(2);
  });

  it('malformed tracks are a typed StageError (the frame is dropped, the feed goes on)', () => {
    const s = new AnalyticsStage();
    expect(() => s.process(ctx(0, 'nope'))).toThrow(StageError);
    expect(s.snapshot().tracks.started).toBe(0);
  });
});
