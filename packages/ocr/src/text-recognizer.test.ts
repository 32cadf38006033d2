import { beforeAll, describe, expect, it } from 'vitest';
import { BBox, detectionId } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { MediaSource } from '@nv/media';
import { createDetection, type Stage, type StageContext, type StageOutput } from '@nv/perception';
import { MockTrackerStage, PipelineHarness, makeTextClip, type TextClipGroundTruth } from '@nv/test-util';
import { TEXT, TEXT_READINGS } from './metadata.js';
import { TextRecognizer, type TextRecognizerOptions } from './text-recognizer.js';

const FRAMES = 12;
let clip: { path: string; groundTruth: TextClipGroundTruth };

/** Detections straight from the clip's ground truth (the plate boxes), so these tests need no detector. */
class GroundTruthDetector implements Stage {
  readonly id = 'gt-detector';
  readonly capabilities = { producesDetections: true };
  #next = 1;
  constructor(private readonly truth: TextClipGroundTruth) {}
  process(ctx: StageContext): StageOutput {
    const f = this.truth.perFrame[ctx.frame.seq]!;
    const W = this.truth.width, H = this.truth.height;
    return {
      detections: f.plates.map((p) => createDetection({
        id: detectionId(this.#next++), classId: 0, confidence: 0.9, bbox: BBox.of(p.x / W, p.y / H, (p.x + p.w) / W, (p.y + p.h) / H),
      })),
    };
  }
}

async function decode(n: number): Promise<FrameEnvelope[]> {
  const src = new MediaSource({ kind: 'file', path: clip.path }, { backpressure: { kind: 'block' } });
  const out: FrameEnvelope[] = [];
  for await (const f of src.frames()) {
    if (out.length < n) out.push(f); else f.release();
  }
  await src.stop();
  return out;
}

async function run(opts: TextRecognizerOptions, tracker: Stage | undefined) {
  const rec = new TextRecognizer({ intraOpNumThreads: 2, ...opts });
  const stages: Stage[] = [new GroundTruthDetector(clip.groundTruth), ...(tracker ? [tracker] : []), rec];
  const h = new PipelineHarness({ stages, cameraMode: 'fixed' });
  await h.start();
  const results = await h.run(await decode(FRAMES));
  await h.stop();
  for (const r of results) expect(r.outcome.kind).toBe('ok');
  return { rec, results };
}

const texts = () => clip.groundTruth.plates.map((p) => p.text).sort();

describe('TextRecognizer reading policy (ground-truth boxes, real model)', () => {
  beforeAll(async () => { clip = await makeTextClip({ frames: 30 }); }, 60_000);

  it('with a tracker, reads each confident track once and carries the reading on every later frame', async () => {
    const { rec, results } = await run({ minConfidence: 0.5 }, new MockTrackerStage('tracker', { confirmHits: 1 }));
    expect(rec.readCount).toBe(3);
    for (const [i, r] of results.entries()) {
      const read = r.artifacts.tracks.map((t) => t.metadata.get(TEXT)?.text).sort();
      expect(read).toEqual(texts());
      const entries = r.artifacts.stageArtifacts.get(TEXT_READINGS)!;
      expect(entries).toHaveLength(3);
      expect(entries.every((e) => e.kind === 'track' && e.readThisFrame === (i === 0))).toBe(true);
      for (const t of r.artifacts.tracks) expect(t.metadata.get(TEXT)!.frameSeq).toBe(0);
    }
  }, 60_000);

  it('re-reads an unconfident track every N frames, up to the attempt cap, keeping the best reading', async () => {
    // 0.9999 is out of reach for these crops: every track stays "unconfident"
    const every4 = await run({ minConfidence: 0.9999, retryEveryFrames: 4 }, new MockTrackerStage('tracker', { confirmHits: 1 }));
    expect(every4.rec.readCount).toBe(3 * Math.ceil(FRAMES / 4));
    const last = every4.results.at(-1)!;
    for (const t of last.artifacts.tracks) {
      const r = t.metadata.get(TEXT)!;
      expect(r.confidence).toBeLessThan(0.9999);
      expect([1, 2, 3]).toContain(r.attempt);
      expect(r.frameSeq % 4).toBe(0);
    }
    const capped = await run({ minConfidence: 0.9999, retryEveryFrames: 4, maxAttemptsPerTrack: 2 }, new MockTrackerStage('tracker', { confirmHits: 1 }));
    expect(capped.rec.readCount).toBe(3 * 2);
  }, 60_000);

  it('does not read tentative tracks by default', async () => {
    const { rec, results } = await run({ minConfidence: 0.5 }, new MockTrackerStage('tracker', { confirmHits: 3 }));
    expect(rec.readCount).toBe(3);
    expect(results[1]!.artifacts.tracks.every((t) => t.state === 'tentative' && !t.metadata.has(TEXT))).toBe(true);
    expect(results[2]!.artifacts.tracks.every((t) => t.state === 'confirmed' && t.metadata.get(TEXT)!.frameSeq === 2)).toBe(true);
  }, 60_000);

  it('without a tracker, reads every detection on every frame and re-emits detections with text', async () => {
    const { rec, results } = await run({}, undefined);
    expect(rec.readCount).toBe(3 * FRAMES);
    for (const r of results) {
      expect(r.artifacts.tracks).toHaveLength(0);
      expect(r.artifacts.detections.map((d) => d.metadata.get(TEXT)?.text).sort()).toEqual(texts());
      expect(r.artifacts.stageArtifacts.get(TEXT_READINGS)!.every((e) => e.kind === 'detection' && e.readThisFrame)).toBe(true);
    }
  }, 60_000);
});
