import { BBox, detectionId, InvalidArgumentError, StageError, type TrackId } from '@nv/core';
import { createDetection, type Detection, type Stage, type StageCapabilities, type StageContext, type StageOutput } from '@nv/perception';
import { frameSequence, MockDetectorStage, MockTrackerStage, PipelineHarness, type HarnessFrameResult, type PipelineHarnessOptions } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { TrackerStage } from './stage.js';
import { TRACKER_INFO } from './keys.js';
import { gaussian, rng } from './test-fixtures.js';

interface Obj { x: number; y: number; vx: number; vy: number; w: number; h: number; classId: number; hiddenFor: number }

/** Scene parameters of {@link NoisyDetector}. */
interface Scene {
  readonly objects: number;
  /** Speed range, normalized units per frame. */
  readonly minSpeed: number;
  readonly maxSpeed: number;
  /** Standard deviation of the centre jitter. */
  readonly noise: number;
  /** Probability that a visible object is not detected in a frame. */
  readonly missRate: number;
  /** Probability per frame that a visible object becomes occluded for 3–10 frames. */
  readonly occlusionRate: number;
}

/**
 * A detector stand-in: objects bouncing around the frame (their paths cross), reported with
 * Gaussian jitter on position and size, missed detections, occlusions lasting several frames,
 * and weak false positives. Remembers which object each detection came from.
 */
/** The end-to-end scene: 10 objects of two classes whose paths cross, noisy, with misses and occlusions. */
const SCENE: Scene = { objects: 10, minSpeed: 0.003, maxSpeed: 0.008, noise: 0.003, missRate: 0.05, occlusionRate: 0.005 };

class NoisyDetector implements Stage {
  readonly id = 'noisy-detector';
  readonly capabilities: StageCapabilities = { producesDetections: true };
  /** Detection id → object index (false positives are absent). */
  readonly owner = new Map<number, number>();
  readonly #objs: Obj[];
  readonly #rand: () => number;
  #next = 1;

  constructor(seed: number, readonly scene: Scene) {
    this.#rand = rng(seed);
    const r = this.#rand;
    this.#objs = Array.from({ length: scene.objects }, (_, i) => {
      const speed = scene.minSpeed + (scene.maxSpeed - scene.minSpeed) * r(), angle = 2 * Math.PI * r();
      return {
        x: 0.1 + 0.8 * r(), y: 0.1 + 0.8 * r(), vx: speed * Math.cos(angle), vy: speed * Math.sin(angle),
        w: 0.05 + 0.05 * r(), h: 0.08 + 0.1 * r(), classId: i % 2, hiddenFor: 0,
      };
    });
  }

  process(_ctx: StageContext): StageOutput {
    const r = this.#rand, sc = this.scene;
    const detections: Detection[] = [];
    this.#objs.forEach((o, i) => {
      o.x += o.vx; o.y += o.vy;
      if (o.x < o.w / 2 || o.x > 1 - o.w / 2) o.vx = -o.vx;
      if (o.y < o.h / 2 || o.y > 1 - o.h / 2) o.vy = -o.vy;
      if (o.hiddenFor > 0) { o.hiddenFor--; return; }
      if (r() < sc.occlusionRate) { o.hiddenFor = 2 + Math.floor(8 * r()); return; }
      if (r() < sc.missRate) return;
      const cx = o.x + sc.noise * gaussian(r), cy = o.y + sc.noise * gaussian(r);
      const w = o.w * (1 + 0.03 * gaussian(r)), h = o.h * (1 + 0.03 * gaussian(r));
      const c = (v: number): number => Math.min(1, Math.max(0, v));
      const d = createDetection({
        id: detectionId(this.#next++), classId: o.classId, confidence: 0.6 + 0.4 * r(),
        bbox: BBox.of(c(cx - w / 2), c(cy - h / 2), c(cx + w / 2), c(cy + h / 2)),
      });
      this.owner.set(d.id, i);
      detections.push(d);
    });
    if (r() < 0.05) {
      const x = 0.05 + 0.85 * r(), y = 0.05 + 0.85 * r();
      detections.push(createDetection({ id: detectionId(this.#next++), classId: 0, confidence: 0.3 + 0.2 * r(), bbox: BBox.of(x, y, x + 0.05, y + 0.08) }));
    }
    return { detections };
  }
}

describe('TrackerStage', () => {
  it('declares what it is', () => {
    const s = new TrackerStage();
    expect(s.id).toBe('tracker');
    expect(s.category).toBe('association');
    expect(s.capabilities).toEqual({ consumesDetections: true, producesTracks: true });
    expect(new TrackerStage({ id: 'trk', minHits: 1 }).id).toBe('trk');
    expect(new TrackerStage({ id: 'trk', minHits: 1 }).tracker.options.minHits).toBe(1);
    expect(() => new TrackerStage({ id: '' })).toThrow(InvalidArgumentError);
    expect(() => new TrackerStage({ minHits: -1 })).toThrow(/Expected a positive integer for tracker.minHits/);
  });

  /** Runs the scene through detector + `tracker` in the harness; returns the harness, results and identity stats. */
  async function runScene(seed: number, tracker: Stage): Promise<{
    h: PipelineHarness; results: HarnessFrameResult[]; idsOf: Map<number, TrackId[]>; coverage: number;
  }> {
    const detector = new NoisyDetector(seed, SCENE);
    const h = new PipelineHarness({ stages: [detector, tracker], cameraMode: 'fixed' });
    const results = await h.run(frameSequence(300, { fps: 30, width: 16, height: 16 }));
    // Identity: the sequence of confirmed-track ids each object's detections were given.
    const idsOf = new Map<number, TrackId[]>();
    const falsePositivesOf = new Map<TrackId, number>();
    let matched = 0, truthDetections = 0;
    for (const r of results) {
      truthDetections += r.artifacts.detections.filter((d) => detector.owner.has(d.id)).length;
      for (const t of r.artifacts.tracks) {
        const d = t.current.detectionId;
        if (d === undefined || t.state !== 'confirmed') continue;
        const obj = detector.owner.get(d);
        if (obj === undefined) { falsePositivesOf.set(t.id, (falsePositivesOf.get(t.id) ?? 0) + 1); continue; }
        matched++;
        const l = idsOf.get(obj!) ?? [];
        if (l.at(-1) !== t.id) l.push(t.id);
        idsOf.set(obj!, l);
      }
    }
    // A weak false positive may land on a real object's track now and then; it never makes a track of its own.
    const realTracks = new Set([...idsOf.values()].flat());
    for (const [id, n] of falsePositivesOf) {
      expect(realTracks.has(id), `track ${id} was confirmed on false positives only`).toBe(true);
      expect(n).toBeLessThanOrEqual(2);
    }
    return { h, results, idsOf, coverage: matched / truthDetections };
  }
  const worstSwitches = (idsOf: Map<number, TrackId[]>): number => Math.max(...[...idsOf.values()].map((l) => l.length - 1));

  it('end to end in PipelineHarness: ≤ 1 id switch per object over 300 noisy frames, tracks reach the temporal store', async () => {
    for (const seed of [1, 2, 3]) {
      const { h, results, idsOf, coverage } = await runScene(seed, new TrackerStage({ minHits: 3, maxCoastFrames: 20 }));
      expect(results.every((r) => r.outcome.kind === 'ok')).toBe(true);
      expect(idsOf.size).toBe(SCENE.objects);
      for (const [obj, ids] of idsOf) expect(ids.length - 1, `seed ${seed}, id switches of object ${obj}: ${ids.join(' → ')}`).toBeLessThanOrEqual(1);
      // Nearly every true detection ends up on a confirmed track (misses only while confirming).
      expect(coverage).toBeGreaterThan(0.97);

      // The temporal store received the tracks: one history per live track, with its observations.
      const live = results.at(-1)!.artifacts.tracks.map((t) => t.id);
      expect(h.temporal.trackCount).toBe(live.length);
      for (const id of live) {
        const hist = h.temporal.history(id)!;
        expect(hist).toBeDefined();
        // Committed every frame since it started: one observation (ring of 100) and one trajectory point per frame.
        const frames = hist.track.metadata.get(TRACKER_INFO)!.ageFrames + 1;
        expect(hist.lastSeen).toBe(Math.round((299 * 1e9) / 30));
        expect(hist.observations.at(-1)!.ts).toBe(hist.lastSeen);
        expect(hist.observations.length).toBe(Math.min(frames, 100));
        expect(hist.trajectoryPointCount).toBe(frames);
      }
      await h.stop();
    }
    // The scene is hard enough to matter: a greedy IoU tracker without a motion model breaks the bound.
    let greedyWorst = 0;
    for (const seed of [1, 2, 3]) {
      greedyWorst = Math.max(greedyWorst, worstSwitches((await runScene(seed, new MockTrackerStage('greedy', { confirmHits: 3, lostAfterMisses: 20 }))).idsOf));
      if (greedyWorst > 1) break;
    }
    expect(greedyWorst).toBeGreaterThan(1);
  });

  it('malformed input becomes a typed StageError (the frame is dropped, no feed restart)', () => {
    const stage = new TrackerStage({ id: 'trk' });
    const ctx = (detections: unknown, ts: number): StageContext => ({ artifacts: { detections }, frame: { ts } }) as unknown as StageContext;
    for (const [d, ts] of [[[], Number.NaN], ['not an array', 0]] as const) {
      let err: unknown;
      try { stage.process(ctx(d, ts)); } catch (e) { err = e; }
      expect(StageError.isInstance(err)).toBe(true);
      expect((err as StageError).stageId).toBe('trk');
    }
    // Still usable afterwards.
    expect(stage.process(ctx([], 0)).tracks).toEqual([]);
  });

  it('a view epoch change (PTZ preset recall) resets the tracks; ids are never reused', async () => {
    let recall = false;
    const provider: NonNullable<PipelineHarnessOptions['viewProvider']> = {
      poll: ({ ts }) => ({
        ptz: { pan: 10, tilt: 0, zoom: 0.2, ts },
        ...(recall ? { ptzEvents: [{ kind: 'presetRecall' as const, presetId: 3, ts }] } : {}),
      }),
    };
    const still = { classId: 0, at: () => BBox.of(0.4, 0.4, 0.5, 0.55) };
    const tracker = new TrackerStage({ minHits: 1 });
    const h = new PipelineHarness({ stages: [new MockDetectorStage('det', [still]), tracker], cameraMode: 'observed', viewProvider: provider });
    const ids: number[][] = [];
    for (const [i, f] of frameSequence(8, { fps: 10 }).entries()) {
      recall = i === 4;
      const r = await h.process(f);
      ids.push(r.artifacts.tracks.map((t) => t.id));
      if (i === 4) expect(r.view.epoch).toBe(1);
    }
    expect(ids).toEqual([[1], [1], [1], [1], [2], [2], [2], [2]]);
    await h.stop();
  });

  it('a feed restart (onStop → onViewEpochChange → onStart) starts from an empty track set', async () => {
    const still = { classId: 0, at: () => BBox.of(0.1, 0.1, 0.2, 0.2) };
    const other = { classId: 1, at: () => BBox.of(0.6, 0.6, 0.7, 0.7) };
    const tracker = new TrackerStage({ minHits: 2 });
    const h = new PipelineHarness({ stages: [new MockDetectorStage('det', [still, other]), tracker], cameraMode: 'fixed' });
    const frames = frameSequence(6, { fps: 10 });
    for (const f of frames.slice(0, 3)) await h.process(f);
    expect(tracker.tracker.size).toBe(2);
    await h.restart();
    expect(tracker.tracker.size).toBe(0);
    const r = await h.process(frames[3]!);
    expect(r.artifacts.tracks.map((t) => `${t.id}:${t.state}`)).toEqual(['3:tentative', '4:tentative']);
    await h.stop();
    expect(tracker.tracker.size).toBe(0);
  });
});
