/**
 * `FrameEnvelope` over a frame decoded by GStreamer: planes are external ArrayBuffers over
 * the mapped `GstBuffer` (zero copy). Release is deterministic: at the last `release()` the
 * native handle detaches every plane buffer and returns the GstBuffer to its pool at once.
 */
import {
  FrameAccessError, InvalidArgumentError, TypedMetadata, feedId as toFeedId, monotonicTs, wallTs as toWallTs,
  type FeedId, type MonotonicTs, type WallTs,
} from '@nv/core';
import { DataAccess, Residency, isPixelFormat, type FrameEnvelope, type FramePlane, type PixelFormat } from '@nv/frame';
import type { RawFrame, RawFrameHandle } from './binding.js';

/** Frames the GC had to free because nobody released them (a leak in user code). */
const registry = new FinalizationRegistry<RawFrameHandle>((handle) => {
  if (!handle.isReleased()) handle.release();
});

/** A frame from a media source. Create through {@link MediaSource}; never directly. */
export class NativeFrame implements FrameEnvelope {
  readonly feedId: FeedId;
  readonly seq: number;
  readonly ts: MonotonicTs;
  readonly wallTs: WallTs;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly planes: readonly FramePlane[];
  readonly metadata = new TypedMetadata();
  readonly residency = Residency.Host;
  readonly dataAccess = DataAccess.HostReadable;
  readonly deviceHandle = undefined;
  /** Planes live in separate mapped buffers as far as JS is concerned. */
  readonly isContiguous: boolean;
  /** Frame duration in ns, or -1 when unknown. */
  readonly durationNs: number;
  #refs = 1;
  readonly #handle: RawFrameHandle;
  readonly #views: Uint8Array[];
  readonly #onRelease: (() => void) | undefined;

  /** @internal */
  constructor(raw: RawFrame, feed: FeedId | number, onRelease?: () => void) {
    if (!isPixelFormat(raw.format)) {
      raw.handle.release();
      throw new InvalidArgumentError('frame.format', 'one of the nv pixel formats', raw.format);
    }
    this.feedId = toFeedId(feed);
    this.seq = raw.seq;
    this.ts = monotonicTs(Math.max(0, raw.ts));
    this.wallTs = toWallTs(raw.wallTs);
    this.width = raw.width;
    this.height = raw.height;
    this.format = raw.format;
    this.durationNs = raw.duration;
    this.#handle = raw.handle;
    this.#onRelease = onRelease;
    const bpsample = this.format === 'NV12' ? [1, 2] : this.format === 'I420' ? [1, 1, 1] : [this.format === 'RGBA8' ? 4 : this.format === 'GRAY8' ? 1 : 3];
    this.planes = Object.freeze(raw.planes.map((p, i) => Object.freeze({
      width: p.rowBytes / (bpsample[i] ?? 1), height: p.rows, stride: p.stride, rowBytes: p.rowBytes, offset: 0, size: p.stride * p.rows,
    })));
    this.#views = raw.planes.map((p) => new Uint8Array(p.buffer, 0, p.stride * p.rows));
    this.isContiguous = this.planes.length === 1;
    registry.register(this, raw.handle, this);
  }

  get refCount(): number { return this.#refs; }
  get isReleased(): boolean { return this.#refs === 0; }

  /** {@inheritDoc FrameEnvelope.retain} */
  retain(): this {
    if (this.#refs === 0) throw FrameAccessError.released();
    this.#refs++;
    return this;
  }

  /** {@inheritDoc FrameEnvelope.release} */
  release(): void {
    if (this.#refs === 0) throw FrameAccessError.released('frame was already released');
    if (--this.#refs === 0) {
      registry.unregister(this);
      this.#handle.release();
      this.#onRelease?.();
    }
  }

  /** {@inheritDoc FrameEnvelope.plane} */
  plane(index: number): Uint8Array {
    if (this.#refs === 0) throw FrameAccessError.released();
    const v = this.#views[index];
    if (!Number.isInteger(index) || v === undefined) throw new InvalidArgumentError('plane index', `an integer in [0, ${this.#views.length})`, index);
    return v;
  }

  /** {@inheritDoc FrameEnvelope.hostData} */
  hostData(): Uint8Array {
    if (this.#refs === 0) throw FrameAccessError.released();
    if (!this.isContiguous) throw FrameAccessError.invalidLayout(`${this.format} planes are exposed separately; use plane(i)`);
    return this.#views[0]!;
  }

  /** @internal Test hook: the native handle. */
  get _handle(): RawFrameHandle { return this.#handle; }
}
