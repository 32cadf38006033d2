/**
 * `FrameEnvelope` over a frame decoded by GStreamer: planes are external ArrayBuffers over
 * the mapped `GstBuffer` (zero copy). Release is deterministic: at the last `release()` the
 * native handle detaches every plane buffer and returns the GstBuffer to its pool at once.
 * A released frame leaves only plain JS garbage behind (nothing that waits for a full GC); a
 * frame dropped without `release()` is freed when the GC collects its plane buffers, and counted
 * in `mediaDiagnostics().leakedFrames`.
 */
import {
  FrameAccessError, InvalidArgumentError, TypedMetadata, feedId as toFeedId, monotonicTs, wallTs as toWallTs, type FeedId,
} from '@nv/core';
import { DataAccess, RefCountedFrame, Residency, isPixelFormat, type FrameHeader, type FramePlane, type LetterboxIntoRequest, type ResampleIntoRequest } from '@nv/frame';
import { loadBinding, type RawFrame, type RawFrameHandle } from './binding.js';
import { withCallerStack } from './caller-stack.js';

function headerOf(raw: RawFrame, feed: FeedId | number, onRelease: (() => void) | undefined): FrameHeader {
  if (!isPixelFormat(raw.format)) {
    raw.handle.release();
    throw new InvalidArgumentError('frame.format', 'one of the nv pixel formats', raw.format);
  }
  return {
    feedId: toFeedId(feed), seq: raw.seq, ts: monotonicTs(Math.max(0, raw.ts)), wallTs: toWallTs(raw.wallTs),
    width: raw.width, height: raw.height, format: raw.format, metadata: new TypedMetadata(), onRelease,
  };
}

/** A frame from a media source. Create through {@link MediaSource}; never directly. */
export class NativeFrame extends RefCountedFrame {
  /** {@inheritDoc FrameEnvelope.planes} */
  readonly planes: readonly FramePlane[];
  /** Always `'host'`: GStreamer system memory, mapped. */
  readonly residency = Residency.Host;
  /** Always `'hostReadable'`. */
  readonly dataAccess = DataAccess.HostReadable;
  /** Always `undefined` (CUDA frames are not implemented yet). */
  readonly deviceHandle = undefined;
  /** Planes live in separate mapped buffers as far as JS is concerned. */
  readonly isContiguous: boolean;
  /** Frame duration in ns, or -1 when unknown. */
  readonly durationNs: number;
  readonly #handle: RawFrameHandle;
  readonly #views: Uint8Array[];
  /** Native calls reading the planes on a worker thread right now. */
  #inflight = 0;
  /** The last release came while {@link NativeFrame.#inflight} > 0: free when they settle. */
  #freeDeferred = false;

  /** @internal */
  constructor(raw: RawFrame, feed: FeedId | number, onRelease?: () => void) {
    super(headerOf(raw, feed, onRelease));
    this.durationNs = raw.duration;
    this.#handle = raw.handle;
    const bpsample = this.format === 'NV12' ? [1, 2] : this.format === 'I420' ? [1, 1, 1] : [this.format === 'RGBA8' || (this.format as string) === 'BGRA8' ? 4 : this.format === 'GRAY8' ? 1 : 3];
    this.planes = Object.freeze(raw.planes.map((p, i) => Object.freeze({
      width: p.rowBytes / (bpsample[i] ?? 1), height: p.rows, stride: p.stride, rowBytes: p.rowBytes, offset: 0, size: p.stride * p.rows,
    })));
    this.#views = raw.planes.map((p) => new Uint8Array(p.buffer, 0, p.stride * p.rows));
    this.isContiguous = this.planes.length === 1;
    // No FinalizationRegistry: a frame dropped without release() is freed natively when its
    // plane ArrayBuffers (held only through #views) are collected, and counted there as a leak
    // (`mediaDiagnostics().leakedFrames`, native/src/native_frame.h "Lifetime model").
  }

  /**
   * Detaches every plane buffer and returns the GstBuffer to GStreamer — after the native
   * letterbox/resample calls in flight, which read the planes on a worker thread (a frame
   * released too many times while one runs must not be freed under it).
   */
  protected freeMemory(): void {
    if (this.#inflight > 0) { this.#freeDeferred = true; return; }
    this.#handle.release();
  }

  /** {@inheritDoc FrameEnvelope.plane} */
  plane(index: number): Uint8Array {
    this.checkAccess(index);
    return this.#views[index]!;
  }

  /** {@inheritDoc FrameEnvelope.hostData} */
  hostData(): Uint8Array {
    this.checkAccess();
    if (!this.isContiguous) throw FrameAccessError.invalidLayout(`${this.format} planes are exposed separately; use plane(i)`);
    return this.#views[0]!;
  }

  /**
   * {@inheritDoc FrameEnvelope.letterboxInto}
   * NV12 and I420 frames: the plan (a letterbox, or `@nv/ocr`'s resample) runs on a libuv
   * worker thread (native/src/letterbox.cc) while this frame is retained; other formats reject
   * with `UnsupportedConversion`.
   */
  async letterboxInto(request: LetterboxIntoRequest | ResampleIntoRequest): Promise<void> {
    const caller = new Error(); // synchronously: a rejection from the worker thread shows who asked
    this.checkAccess();
    const format = this.format;
    if (format !== 'NV12' && format !== 'I420') throw FrameAccessError.unsupportedConversion(format, 'native letterbox (NV12 or I420 only)');
    // The worker thread writes through a raw pointer: a buffer that can shrink under it is refused.
    const outBuffer = request.out.buffer as ArrayBuffer & { resizable?: boolean; growable?: boolean };
    if (outBuffer.resizable === true || outBuffer.growable === true) {
      throw new InvalidArgumentError('request.out', 'a Float32Array over a fixed-length ArrayBuffer or SharedArrayBuffer', 'a resizable buffer');
    }
    this.retain();
    this.#inflight++;
    try {
      const strides = this.planes.map((p) => p.stride);
      if (request.kind === 'resample') {
        const l = this.planes[0]!, c = this.planes[1]!;
        await withCallerStack(loadBinding().letterbox({
          kind: 'resample', format, planes: this.#views, strides, planeSizes: [l.width, l.height, c.width, c.height],
          width: request.width, height: request.height, rowStride: request.rowStride, sampling: request.sampling,
          k: request.k, norm: request.norm, out: request.out, oR: request.oR, oG: request.oG, oB: request.oB,
        }), caller);
        return;
      }
      await withCallerStack(loadBinding().letterbox({
        format, planes: this.#views, strides, frameHeight: this.height,
        plan: request.plan, k: request.k, norm: request.norm, W: request.W, H: request.H,
        padLeft: request.plan.padLeft, padTop: request.plan.padTop, out: request.out, oR: request.oR, oG: request.oG, oB: request.oB,
      }), caller);
    } finally {
      this.#inflight--;
      if (this.#inflight === 0 && this.#freeDeferred) {
        this.#freeDeferred = false;
        this.#handle.release();
      }
      if (!this.isReleased) this.release(); // (an over-release already consumed our reference)
    }
  }

  /** @internal Test hook: the native handle. */
  get _handle(): RawFrameHandle { return this.#handle; }
}
