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
import { RetimedFrame } from './retimed-frame.js';

/** Set by {@link RefCountedFrame}'s static block: the only writer of a frame's timeline fields. */
let assignTimeline: (f: RefCountedFrame, ts: MonotonicTs, seq: number) => void;

/**
 * Base class of the frame implementations (`OwnedFrame`, `DeviceFrame`, and `@nv/media`'s
 * native frames). The count starts at 1; the last {@link RefCountedFrame.release} calls
 * {@link RefCountedFrame.freeMemory} and then the header's `onRelease` hook, once.
 */
export abstract class RefCountedFrame implements FrameEnvelope {
  /** {@inheritDoc FrameEnvelope.feedId} */
  readonly feedId: FeedId;
  /** {@inheritDoc FrameEnvelope.seq} */
  get seq(): number { return this.#seq; }
  /** {@inheritDoc FrameEnvelope.ts} */
  get ts(): MonotonicTs { return this.#ts; }
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
  #seq: number;
  #ts: MonotonicTs;
  readonly #onRelease: (() => void) | undefined;

  static {
    assignTimeline = (f, ts, seq) => { f.#ts = ts; f.#seq = seq; };
  }

  /** @param header - validated identity, timing and geometry (see `validateHeader`) */
  protected constructor(header: FrameHeader) {
    this.feedId = header.feedId;
    this.#seq = header.seq;
    this.#ts = header.ts;
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

/**
 * Puts a frame on its feed's timeline: the frame that stages, outputs and the temporal store see
 * gets `ts` and `seq` from the feed (monotonic for the feed's whole life, see the runtime's feed
 * timeline) instead of the source's per-session values. Zero copy and the reference count are
 * untouched: a {@link RefCountedFrame} (owned, device and native frames) is updated in place and
 * returned itself; any other {@link FrameEnvelope} implementation is wrapped in a thin view that
 * forwards everything else (pixels, `retain`/`release`, metadata) to it.
 *
 * Only the frame's owner calls this, before handing the frame on (the runtime does, right after
 * `FrameSource.next()`); the source's raw values are the caller's to keep (the runtime keeps them
 * in provenance).
 *
 * @param frame - a live frame the caller owns
 * @param ts - the timeline timestamp (ns)
 * @param seq - the timeline frame counter
 * @returns the frame to hand on: `frame` itself, or a view over it
 * @example
 * ```ts
 * const raw = await source.next();
 * const frame = retimeFrame(raw, timeline.ts, timeline.seq); // frame.ts is now the feed's
 * ```
 */
export function retimeFrame(frame: FrameEnvelope, ts: MonotonicTs, seq: number): FrameEnvelope {
  if (frame instanceof RefCountedFrame) {
    assignTimeline(frame, ts, seq);
    return frame;
  }
  if (frame instanceof RetimedFrame) return new RetimedFrame(frame.inner, ts, seq);
  return new RetimedFrame(frame, ts, seq);
}
