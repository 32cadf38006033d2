/**
 * Shared helpers for this package's tests (not exported from the package).
 *
 * @packageDocumentation
 * @internal
 */
import { BBox, detectionId, type MonotonicTs, type TypedMetadata } from '@nv/core';
import { createDetection, type Detection } from '@nv/perception';

/** A small deterministic PRNG (mulberry32) so tests never depend on luck. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller) from a uniform source. */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12), v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Frame timestamps (ns) at 30 fps. */
export const FRAME_NS = 1e9 / 30;

/** The timestamp of frame `i` at 30 fps. */
export function tsOf(i: number): MonotonicTs { return Math.round(i * FRAME_NS) as MonotonicTs; }

let nextDet = 1;

/** A detection centred at (cx, cy) with size w×h (clamped to the frame). */
export function det(cx: number, cy: number, w = 0.08, h = 0.12, opts: { classId?: number; confidence?: number; metadata?: TypedMetadata } = {}): Detection {
  const c = (v: number): number => Math.min(1, Math.max(0, v));
  return createDetection({
    id: detectionId(nextDet++), classId: opts.classId ?? 0, confidence: opts.confidence ?? 0.9,
    bbox: BBox.of(c(cx - w / 2), c(cy - h / 2), c(cx + w / 2), c(cy + h / 2)),
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
  });
}
