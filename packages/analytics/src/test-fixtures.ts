/**
 * Shared helpers for this package's tests (not exported from the package).
 *
 * @packageDocumentation
 * @internal
 */
import { BBox, detectionId, trackId, type MonotonicTs } from '@nv/core';
import { createDetection, createObservation, createTrack, type Stage, type StageCapabilities, type StageContext, type StageOutput, type Track, type TrackState } from '@nv/perception';

/** Nanoseconds per frame at 10 fps. */
export const FRAME_NS = 100_000_000;

/** The timestamp of frame `i` at 10 fps. */
export function tsOf(i: number): MonotonicTs { return (i * FRAME_NS) as MonotonicTs; }

/**
 * A track whose box is centred at (x, y) (so its `center` anchor is exactly (x, y)), 0.02 on a side.
 * @param id - track id
 * @param x - centre x
 * @param y - centre y
 * @param opts - state (default `confirmed`) and class (default 0)
 */
export function trackAt(id: number, x: number, y: number, opts: { state?: TrackState; classId?: number; ts?: MonotonicTs } = {}): Track {
  const state = opts.state ?? 'confirmed';
  const h = 0.01;
  const bbox = BBox.of(Math.max(0, x - h), Math.max(0, y - h), Math.min(1, x + h), Math.min(1, y + h));
  return createTrack({ id: trackId(id), classId: opts.classId ?? 0, state, current: createObservation({ ts: opts.ts ?? (0 as MonotonicTs), bbox, confidence: 0.9, state }) });
}

/**
 * A detector for synthetic clips: reports the bounding box of all bright pixels (every channel
 * ≥ 200 in an RGB8 frame; the luma for a single-plane grey frame) as one class-0 detection, or
 * nothing on a dark frame. Exact to the pixel: `boxFrame`'s box comes back as drawn.
 */
export class BrightSquareDetector implements Stage {
  /** Stage id. */
  readonly id = 'bright-square';
  /** Produces detections. */
  readonly capabilities: StageCapabilities = { producesDetections: true };
  #next = 1;

  /** Finds the bright pixels' bounding box. */
  process(ctx: StageContext): StageOutput {
    const f = ctx.frame;
    const bpp = f.format === 'RGB8' ? 3 : 1;
    const stride = f.planes[0]!.stride;
    const px = f.plane(0);
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) {
        const o = y * stride + x * bpp;
        if (px[o]! >= 200 && (bpp === 1 || (px[o + 1]! >= 200 && px[o + 2]! >= 200))) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) return { detections: [] };
    const bbox = BBox.of(x0 / f.width, y0 / f.height, (x1 + 1) / f.width, (y1 + 1) / f.height);
    return { detections: [createDetection({ id: detectionId(this.#next++), bbox, classId: 0, confidence: 0.95 })] };
  }
}
