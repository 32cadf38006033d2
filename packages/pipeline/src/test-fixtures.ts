/**
 * Test fixtures of `@nv/pipeline` (not shipped). `@nv/test-util` depends on this package, so its
 * tests cannot use test-util's frames and mock stages; these are the few they need.
 * @internal
 */
import { BBox, NS_PER_SEC, StageError, detectionId, trackId } from '@nv/core';
import { createOwnedFrame, type OwnedFrame } from '@nv/frame';
import { createDetection, createObservation, createTrack, type Stage, type StageContext, type StageOutput } from '@nv/perception';
import type { ViewEpoch } from '@nv/view';

/** @internal `count` 8×8 GRAY8 frames, seq from `startSeq`, ts = seq / fps. */
export function frames(count: number, opts: { readonly fps?: number; readonly startSeq?: number } = {}): OwnedFrame[] {
  const fps = opts.fps ?? 30;
  return Array.from({ length: count }, (_, i) => {
    const seq = (opts.startSeq ?? 0) + i;
    return createOwnedFrame({ feedId: 1, seq, ts: Math.round((seq * NS_PER_SEC) / fps), width: 8, height: 8, format: 'GRAY8', data: new Uint8Array(64) });
  });
}

/** @internal Options of {@link Probe}. */
export interface ProbeOptions {
  readonly async?: boolean;
  readonly fail?: (ctx: StageContext) => boolean;
  readonly panic?: (ctx: StageContext) => boolean;
  readonly output?: (ctx: StageContext) => StageOutput;
}

/** @internal A stage that records what it saw and fails, panics or waits on request. */
export class Probe implements Stage {
  readonly calls: { seq: number; epoch: number; detections: number; tracks: number }[] = [];
  readonly lifecycle: string[] = [];
  constructor(readonly id: string, readonly opts: ProbeOptions = {}) {}
  process(ctx: StageContext): StageOutput | Promise<StageOutput> {
    this.calls.push({ seq: ctx.frame.seq, epoch: ctx.view.epoch, detections: ctx.artifacts.detections.length, tracks: ctx.artifacts.tracks.length });
    const run = (): StageOutput => {
      if (this.opts.panic?.(ctx)) throw new Error(`panic in ${this.id}`);
      if (this.opts.fail?.(ctx)) throw StageError.processingFailed(this.id, `failure at ${ctx.frame.seq}`);
      return this.opts.output?.(ctx) ?? {};
    };
    return this.opts.async ? Promise.resolve().then(run) : run();
  }
  onViewEpochChange(epoch: ViewEpoch): void { this.lifecycle.push(`epoch:${epoch}`); }
}

/** @internal One detection per frame, moving right 0.01 per frame. */
export const detector = (id = 'det'): Stage => ({
  id, capabilities: { producesDetections: true },
  process: (ctx) => {
    const x = 0.1 + 0.01 * ctx.frame.seq;
    return { detections: [createDetection({ id: detectionId(ctx.frame.seq + 1), classId: 0, confidence: 0.9, bbox: BBox.of(x, 0.4, x + 0.1, 0.5) })] };
  },
});

/** @internal One confirmed track per detection; a new id after each epoch change. */
export class Tracker implements Stage {
  readonly capabilities = { consumesDetections: true, producesTracks: true };
  #base = 0;
  constructor(readonly id = 'trk') {}
  process(ctx: StageContext): StageOutput {
    return {
      tracks: ctx.artifacts.detections.map((d, i) => createTrack({
        id: trackId(this.#base + i + 1), classId: d.classId, state: 'confirmed',
        current: createObservation({ ts: ctx.frame.ts, bbox: d.bbox, confidence: d.confidence, state: 'confirmed', detectionId: d.id }),
      })),
    };
  }
  onViewEpochChange(): void { this.#base += 100; }
}
