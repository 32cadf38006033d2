/**
 * `FrameEnvelope` over a frame decoded by GStreamer: planes are external ArrayBuffers over
 * the mapped `GstBuffer` (zero copy). Release is deterministic: at the last `release()` the
 * native handle detaches every plane buffer and returns the GstBuffer to its pool at once.
 */
import {
  FrameAccessError, InvalidArgumentError, TypedMetadata, feedId as toFeedId, monotonicTs, wallTs as toWallTs, type FeedId,
} from '@nv/core';
import { DataAccess, RefCountedFrame, Residency, isPixelFormat, type FrameHeader, type FramePlane, type LetterboxIntoRequest } from '@nv/frame';
import { loadBinding, type RawFrame, type RawFrameHandle } from './binding.js';

/** Frames the GC had to free because nobody released them (a leak in user code). */
const registry = new FinalizationRegistry<RawFrameHandle>((handle) => {
  if (!handle.isReleased()) handle.release();
});

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
    registry.register(this, raw.handle, this);
  }

  /** Detaches every plane buffer and returns the GstBuffer to GStreamer. */
  protected freeMemory(): void {
    registry.unregister(this);
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
   * NV12 and I420 frames: the plan runs on a libuv worker thread (native/src/letterbox.cc) while
   * this frame is retained; other formats reject with `UnsupportedConversion`.
   */
  async letterboxInto(request: LetterboxIntoRequest): Promise<void> {
    this.checkAccess();
    const format = this.format;
    if (format !== 'NV12' && format !== 'I420') throw FrameAccessError.unsupportedConversion(format, 'native letterbox (NV12 or I420 only)');
    this.retain();
    try {
      await loadBinding().letterbox({
        format, planes: this.#views, strides: this.planes.map((p) => p.stride), frameHeight: this.height,
        plan: request.plan, k: request.k, norm: request.norm, W: request.W, H: request.H,
        padLeft: request.plan.padLeft, padTop: request.plan.padTop, out: request.out, oR: request.oR, oG: request.oG, oB: request.oB,
      });
    } finally {
      this.release();
    }
  }

  /** @internal Test hook: the native handle. */
  get _handle(): RawFrameHandle { return this.#handle; }
}
