/**
 * {@link RefCountedFrame}: what every frame implementation shares — the header fields, the
 * reference count, and the released/plane-index checks. Subclasses supply the pixels and
 * free them in {@link RefCountedFrame.freeMemory}.
 *
 * @packageDocumentation
 */
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import type { FeedId, MonotonicTs, TypedMetadata, WallTs } from '@nv/core';
import type { CudaFrameHandle, DataAccess, FrameEnvelope, Residency } from './frame-envelope.js';
import { describeFrame } from './frame-header.js';
import type { FrameHeader } from './frame-header.js';
import type { FramePlane, PixelFormat } from './pixel-format.js';

/**
 * Base class of the frame implementations (`OwnedFrame`, `DeviceFrame`, and `@nv/media`'s
 * native frames). The count starts at 1; the last {@link RefCountedFrame.release} calls
 * {@link RefCountedFrame.freeMemory} and then the header's `onRelease` hook, once.
 */
export abstract class RefCountedFrame implements FrameEnvelope {
  /** {@inheritDoc FrameEnvelope.feedId} */
  readonly feedId: FeedId;
  /** {@inheritDoc FrameEnvelope.seq} */
  readonly seq: number;
  /** {@inheritDoc FrameEnvelope.ts} */
  readonly ts: MonotonicTs;
  /** {@inheritDoc FrameEnvelope.wallTs} */
  readonly wallTs: WallTs;
  /** {@inheritDoc FrameEnvelope.width} */
  readonly width: number;
  /** {@inheritDoc FrameEnvelope.height} */
  readonly height: number;
  /** {@inheritDoc FrameEnvelope.format} */
  readonly format: PixelFormat;
  /** {@inheritDoc FrameEnvelope.metadata} */
  readonly metadata: TypedMetadata;
  /** {@inheritDoc FrameEnvelope.planes} */
  abstract readonly planes: readonly FramePlane[];
  /** {@inheritDoc FrameEnvelope.residency} */
  abstract readonly residency: Residency;
  /** {@inheritDoc FrameEnvelope.dataAccess} */
  abstract readonly dataAccess: DataAccess;
  /** {@inheritDoc FrameEnvelope.isContiguous} */
  abstract readonly isContiguous: boolean;
  /** {@inheritDoc FrameEnvelope.deviceHandle} */
  abstract readonly deviceHandle: CudaFrameHandle | undefined;

  #refs = 1;
  readonly #onRelease: (() => void) | undefined;

  /** @param header - validated identity, timing and geometry (see `validateHeader`) */
  protected constructor(header: FrameHeader) {
    this.feedId = header.feedId;
    this.seq = header.seq;
    this.ts = header.ts;
    this.wallTs = header.wallTs;
    this.width = header.width;
    this.height = header.height;
    this.format = header.format;
    this.metadata = header.metadata;
    this.#onRelease = header.onRelease;
  }

  /** {@inheritDoc FrameEnvelope.refCount} */
  get refCount(): number { return this.#refs; }
  /** {@inheritDoc FrameEnvelope.isReleased} */
  get isReleased(): boolean { return this.#refs === 0; }

  /** {@inheritDoc FrameEnvelope.retain} */
  retain(): this {
    if (this.#refs === 0) throw FrameAccessError.released();
    this.#refs++;
    return this;
  }

  /** {@inheritDoc FrameEnvelope.release} */
  release(): void {
    if (this.#refs === 0) throw FrameAccessError.released('release() on a frame that was already released');
    if (--this.#refs > 0) return;
    this.freeMemory();
    this.#onRelease?.();
  }

  /** {@inheritDoc FrameEnvelope.plane} */
  abstract plane(index: number): Uint8Array;
  /** {@inheritDoc FrameEnvelope.hostData} */
  abstract hostData(): Uint8Array;

  /** A description without pixels (for logs and JSON output). */
  toJSON(): Record<string, unknown> { return describeFrame(this); }

  /** Frees the pixels and detaches every view handed out. Called once, at the last release. */
  protected abstract freeMemory(): void;

  /**
   * Throws unless the frame is live and, when given, `index` names a plane.
   * @throws {FrameAccessError} `Released`
   * @throws {InvalidArgumentError} for a bad plane index
   */
  protected checkAccess(index?: number): void {
    if (this.#refs === 0) throw FrameAccessError.released();
    if (index !== undefined && (!Number.isInteger(index) || index < 0 || index >= this.planes.length)) {
      throw new InvalidArgumentError('plane index', `an integer in [0, ${this.planes.length})`, index);
    }
  }
}
