/**
 * {@link RetimedFrame}: a frame seen on another timeline. Used by `retimeFrame` for frame
 * implementations it cannot update in place.
 *
 * @packageDocumentation
 */
import type { FeedId, MonotonicTs, TypedMetadata, WallTs } from '@nv/core';
import type { CudaFrameHandle, DataAccess, FrameEnvelope, Residency } from './frame-envelope.js';
import type { FramePlane, PixelFormat } from './pixel-format.js';

/**
 * A view of another frame with its own `ts` and `seq`; everything else — pixels (no copy),
 * metadata, the reference count — is the inner frame's. `retain()` returns this view, and the
 * count it raises is the inner frame's, so every reference still pairs with one `release()`.
 * Create through `retimeFrame`.
 */
export class RetimedFrame implements FrameEnvelope {
  /** The frame this view forwards to. */
  readonly inner: FrameEnvelope;
  /** {@inheritDoc FrameEnvelope.ts} */
  readonly ts: MonotonicTs;
  /** {@inheritDoc FrameEnvelope.seq} */
  readonly seq: number;

  /**
   * @param inner - the frame to view
   * @param ts - this view's timestamp
   * @param seq - this view's frame counter
   */
  constructor(inner: FrameEnvelope, ts: MonotonicTs, seq: number) {
    this.inner = inner;
    this.ts = ts;
    this.seq = seq;
  }

  /** {@inheritDoc FrameEnvelope.feedId} */
  get feedId(): FeedId { return this.inner.feedId; }
  /** {@inheritDoc FrameEnvelope.wallTs} */
  get wallTs(): WallTs { return this.inner.wallTs; }
  /** {@inheritDoc FrameEnvelope.width} */
  get width(): number { return this.inner.width; }
  /** {@inheritDoc FrameEnvelope.height} */
  get height(): number { return this.inner.height; }
  /** {@inheritDoc FrameEnvelope.format} */
  get format(): PixelFormat { return this.inner.format; }
  /** {@inheritDoc FrameEnvelope.planes} */
  get planes(): readonly FramePlane[] { return this.inner.planes; }
  /** {@inheritDoc FrameEnvelope.metadata} */
  get metadata(): TypedMetadata { return this.inner.metadata; }
  /** {@inheritDoc FrameEnvelope.residency} */
  get residency(): Residency { return this.inner.residency; }
  /** {@inheritDoc FrameEnvelope.dataAccess} */
  get dataAccess(): DataAccess { return this.inner.dataAccess; }
  /** {@inheritDoc FrameEnvelope.isContiguous} */
  get isContiguous(): boolean { return this.inner.isContiguous; }
  /** {@inheritDoc FrameEnvelope.refCount} */
  get refCount(): number { return this.inner.refCount; }
  /** {@inheritDoc FrameEnvelope.isReleased} */
  get isReleased(): boolean { return this.inner.isReleased; }
  /** {@inheritDoc FrameEnvelope.deviceHandle} */
  get deviceHandle(): CudaFrameHandle | undefined { return this.inner.deviceHandle; }

  /** {@inheritDoc FrameEnvelope.retain} */
  retain(): this {
    this.inner.retain();
    return this;
  }
  /** {@inheritDoc FrameEnvelope.release} */
  release(): void { this.inner.release(); }
  /** {@inheritDoc FrameEnvelope.plane} */
  plane(index: number): Uint8Array { return this.inner.plane(index); }
  /** {@inheritDoc FrameEnvelope.hostData} */
  hostData(): Uint8Array { return this.inner.hostData(); }
  /** A description without pixels (for logs and JSON output). */
  toJSON(): Record<string, unknown> {
    return {
      feedId: this.feedId, seq: this.seq, ts: this.ts, wallTs: this.wallTs, width: this.width, height: this.height, format: this.format,
      residency: this.residency, dataAccess: this.dataAccess, refCount: this.refCount,
    };
  }
}
