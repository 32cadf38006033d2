/**
 * Test and benchmark fixtures of `@nv/server` (not part of the published package): a live
 * source that burns the wall clock into each frame (for glass-to-glass latency, read back by
 * the page with `?probe=timecode`), and a bright-blob detector stage.
 */
import { BBox, detectionId, feedId as toFeedId, monotonicTs, wallTs, type FeedId } from '@nv/core';
import { createOwnedFrame, type FrameEnvelope, type FrameSource } from '@nv/frame';
import { createDetection, type Stage, type StageContext } from '@nv/perception';

/** Bits of the burned-in timecode (ms since the epoch, most significant first). Matches the page's `readTimecode`. */
export const TIMECODE_BITS = 44;

/**
 * A live RGB8 source: `fps` frames a second, each stamped when it is made (`wallTs`) with
 * the same instant burned into its top band as {@link TIMECODE_BITS} black/white blocks, and a
 * white square moving on a dark background below (for a detector to find).
 * @param opts - size, rate, frame count (default unbounded)
 * @returns a factory for `FeedConfig.source`
 */
export function timecodeSource(opts: { width?: number; height?: number; fps?: number; frames?: number; feedId?: FeedId } = {}): () => FrameSource {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const fps = opts.fps ?? 30;
  return () => {
    let seq = 0;
    let stopped = false;
    let paused = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    const start = performance.now();
    const make = (): FrameEnvelope => {
      const data = new Uint8Array(W * H * 3).fill(24);
      const now = Date.now();
      const band = Math.max(2, Math.floor(H / 20));
      for (let i = 0; i < TIMECODE_BITS; i++) {
        const bit = Math.floor(now / 2 ** (TIMECODE_BITS - 1 - i)) % 2;
        const x0 = Math.floor((i * W) / TIMECODE_BITS);
        const x1 = Math.floor(((i + 1) * W) / TIMECODE_BITS);
        const v = bit ? 255 : 0;
        for (let y = 0; y < band; y++) data.fill(v, (y * W + x0) * 3, (y * W + x1) * 3);
      }
      const s = Math.floor(H / 5);
      const x = Math.floor(((seq * 4) % (W - s)));
      const y = Math.floor(H / 2 - s / 2);
      for (let r = y; r < y + s; r++) data.fill(255, (r * W + x) * 3, (r * W + x + s) * 3);
      const f = createOwnedFrame({
        feedId: opts.feedId ?? toFeedId(1), seq, ts: monotonicTs(Math.round((seq * 1e9) / fps)), wallTs: wallTs(now * 1000),
        width: W, height: H, format: 'RGB8', data, transferOwnership: true,
      });
      seq++;
      return f;
    };
    return {
      specificationVersion: 'v1',
      next: async () => {
        if (stopped || (opts.frames !== undefined && seq >= opts.frames)) return undefined;
        const due = start + (seq * 1000) / fps;
        do {
          await new Promise<void>((r) => { wake = r; timer = setTimeout(r, Math.max(0, due - performance.now())); });
        } while (paused && !stopped);
        return stopped ? undefined : make();
      },
      stop: () => { stopped = true; clearTimeout(timer); wake?.(); },
      pause: () => { paused = true; },
      resume: () => { paused = false; },
    };
  };
}

/**
 * Finds the bright object of a frame (pixels with every channel ≥ 200 below the top band) and
 * reports its bounding box as one detection (class 0). Reads RGB8/RGBA8/BGRA8 or the Y plane
 * of I420/NV12/GRAY8 frames.
 */
export class BrightBlobDetector implements Stage {
  readonly id = 'blob';
  readonly capabilities = { producesDetections: true };
  #next = 0;
  process(ctx: StageContext) {
    const f = ctx.frame;
    const bpp = f.format === 'RGB8' ? 3 : f.format === 'RGBA8' || f.format === 'BGRA8' ? 4 : 1;
    const p = f.planes[0]!;
    const px = f.plane(0);
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let y = Math.floor(f.height / 10); y < f.height; y += 2) {
      const row = y * p.stride;
      for (let x = 0; x < f.width; x += 2) {
        const o = row + x * bpp;
        if (px[o]! >= 200 && (bpp === 1 || (px[o + 1]! >= 200 && px[o + 2]! >= 200))) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) return { detections: [] };
    return { detections: [createDetection({ id: detectionId(this.#next++), bbox: BBox.of(x0 / f.width, y0 / f.height, Math.min(1, (x1 + 2) / f.width), Math.min(1, (y1 + 2) / f.height)), classId: 0, confidence: 0.99 })] };
  }
}
