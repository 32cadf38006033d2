/**
 * The frame contract shared by every frame implementation: owned frames over plain memory
 * (this package), and native frames over mapped GStreamer memory (`@nv/media`).
 *
 * @packageDocumentation
 */
import type { FeedId, MonotonicTs, TypedMetadata, WallTs } from '@nv/core';
import type { FramePlane, PixelFormat } from './pixel-format.js';

/** Where a frame's pixels physically live. */
export const Residency = Object.freeze({
  /** CPU memory. */
  Host: 'host',
  /** CUDA device memory. */
  Cuda: 'cuda',
} as const);
/** One of the {@link Residency} literals. */
export type Residency = (typeof Residency)[keyof typeof Residency];

/** What host access a frame's pixels allow. */
export const DataAccess = Object.freeze({
  /** Pixels are in host memory; `plane()` / `hostData()` return views over them without copying. */
  HostReadable: 'hostReadable',
  /**
   * Pixels live on a device; the first host access runs a materializer (a device→host copy)
   * once and caches its result — or its failure — for the frame's lifetime.
   */
  MappableToHost: 'mappableToHost',
  /** Pixels live on a device and cannot be read from the host; host access throws `NotHostAccessible`. */
  Opaque: 'opaque',
} as const);
/** One of the {@link DataAccess} literals. */
export type DataAccess = (typeof DataAccess)[keyof typeof DataAccess];

/**
 * Handle to a frame's pixels in CUDA device memory. Type only: the native addon fills it in.
 * Plane `i` starts at `devicePtr + planeOffsets[i]` with row pitch `pitches[i]` bytes.
 */
export interface CudaFrameHandle {
  /** Device address of the buffer (`CUdeviceptr`). */
  readonly devicePtr: bigint;
  /** Row pitch in bytes of each plane, in plane order. */
  readonly pitches: readonly number[];
  /** Byte offset of each plane from `devicePtr`, in plane order. */
  readonly planeOffsets: readonly number[];
  /** Bytes of device memory the buffer spans from `devicePtr`. */
  readonly size: number;
  /** CUDA device ordinal. */
  readonly deviceId: number;
  /** `cudaStream_t` the buffer is ordered on; `0n` is the legacy default stream. */
  readonly stream: bigint;
}

/**
 * A decoded video frame: a library-owned, reference-counted, read-only view of pixels plus
 * their description and per-frame metadata.
 *
 * **Lifecycle.** A frame starts with one reference, held by whoever produced it (the
 * runtime, for frames from a feed). Code that keeps a frame beyond the call that handed it
 * over calls {@link FrameEnvelope.retain} and later {@link FrameEnvelope.release}. When the
 * count reaches zero the memory is freed at once — not at garbage collection — and every
 * `Uint8Array` previously returned by {@link FrameEnvelope.plane} / {@link FrameEnvelope.hostData}
 * is detached (reads as length 0), so stale views can never reach freed or recycled memory.
 *
 * **Pixels.** `planes` describes each plane's geometry. Implementations may keep all planes
 * in one buffer (`isContiguous`) or each in its own buffer, with arbitrary strides and
 * offsets. Views are over the frame's own memory: never write through them.
 *
 * @example
 * ```ts
 * function keepForLater(frame: FrameEnvelope, cache: FrameEnvelope[]): void {
 *   cache.push(frame.retain());            // our own reference
 * }
 * function dropLater(frame: FrameEnvelope): void {
 *   frame.release();                       // memory freed when the last holder releases
 * }
 * const y = frame.plane(0);                // Uint8Array view, no copy
 * const row10 = y.subarray(10 * frame.planes[0]!.stride, 10 * frame.planes[0]!.stride + frame.planes[0]!.rowBytes);
 * ```
 */
export interface FrameEnvelope {
  /** The feed the frame came from. */
  readonly feedId: FeedId;
  /**
   * Frame counter. From a `FrameSource`: per media session (may restart at 0 on a reconnect or
   * a new session). On a feed's frames — what stages, outputs and the temporal store see — it is
   * the feed's: it continues across sessions and restarts, and a gap means frames were dropped.
   */
  readonly seq: number;
  /**
   * Timestamp in nanoseconds. From a `FrameSource`: the media PTS of its session (may restart at 0
   * or jump). On a feed's frames it is the feed timeline: strictly increasing for the feed's whole
   * life (see the runtime's `SourceDiscontinuity` events; the raw PTS is kept in provenance).
   */
  readonly ts: MonotonicTs;
  /** Host wall-clock time when the frame was received (µs since epoch); 0 when unknown. */
  readonly wallTs: WallTs;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixel format. */
  readonly format: PixelFormat;
  /** One descriptor per plane, in plane order (frozen). */
  readonly planes: readonly FramePlane[];
  /** Per-frame typed metadata. */
  readonly metadata: TypedMetadata;
  /** Where the pixels live. */
  readonly residency: Residency;
  /** What host access the pixels allow. */
  readonly dataAccess: DataAccess;
  /** Whether every plane is in one host buffer, so that {@link FrameEnvelope.hostData} can return it. */
  readonly isContiguous: boolean;
  /** Outstanding references; 0 once released. */
  readonly refCount: number;
  /** Whether the last reference was released (pixels are gone). */
  readonly isReleased: boolean;
  /** Device memory handle, for CUDA-resident frames; `undefined` otherwise. */
  readonly deviceHandle?: CudaFrameHandle | undefined;

  /**
   * Adds a reference. Pair every call with one {@link FrameEnvelope.release}.
   * @returns this frame
   * @throws {FrameAccessError} (`Released`) when the frame was already released
   */
  retain(): this;

  /**
   * Drops a reference. At zero the pixels are freed immediately and all views handed out
   * become detached (length 0).
   * @throws {FrameAccessError} (`Released`) when the frame was already fully released
   */
  release(): void;

  /**
   * A view of plane `index` in host memory (`planes[index].size` bytes starting at the
   * plane's first row). For `mappableToHost` frames the first call runs the materializer.
   * @param index - plane index in `[0, planes.length)`
   * @returns a read-only-by-contract `Uint8Array` over the frame's memory
   * @throws {FrameAccessError} `Released` after release; `NotHostAccessible` for opaque
   *   device frames; `MaterializationFailed` when the (cached) materialization failed
   * @throws {InvalidArgumentError} for an index out of range
   */
  plane(index: number): Uint8Array;

  /**
   * The whole host buffer holding every plane at its described offset (for packed formats
   * that is plane 0).
   * @returns a read-only-by-contract `Uint8Array` over the frame's memory
   * @throws {FrameAccessError} `Released`, `NotHostAccessible`, `MaterializationFailed` as for
   *   {@link FrameEnvelope.plane}; `InvalidLayout` when the planes are not in one buffer
   *   (`isContiguous` is false) — use `plane(i)` then
   */
  hostData(): Uint8Array;

  /**
   * Optional capability (media frames in NV12 or I420): replays a letterbox sampling plan built
   * by a preprocessor — the content rows of a letterboxed float32 tensor — on a native worker
   * thread, off the JS thread, into `request.out` (which may be a `SharedArrayBuffer` slot). The
   * frame stays retained until the promise settles. Gives the same floats as the JavaScript
   * path that built the plan (`@nv/onnx`'s `LetterboxPreprocessor`). Frames without it (owned,
   * synthetic) are preprocessed in JavaScript.
   *
   * A {@link ResampleIntoRequest} (`kind: 'resample'`) instead replays `@nv/ocr`'s resample
   * (each plane sampled bilinearly at its own resolution, then converted in double precision),
   * again with the same floats as that package's JavaScript path.
   * @param request - the plan, conversion, normalization and destination
   * @returns a promise that settles when the rows are written
   * @throws {FrameAccessError} (rejects) `Released` when the frame was released, `UnsupportedConversion` for another format
   */
  letterboxInto?(request: LetterboxIntoRequest | ResampleIntoRequest): Promise<void>;
}

/**
 * What {@link FrameEnvelope.letterboxInto} replays: for each of the content's output columns two
 * source taps (`colT0`/`colT1`, as byte offsets into a row of converted RGB taps) and a weight
 * (`colW1`); for each output row two source rows and a weight; the distinct source columns
 * (`tapX`) and their chroma byte offsets (`cOff`: `(x >> 1) × 2` for NV12, `x >> 1` for I420).
 */
export interface LetterboxIntoRequest {
  /** Absent or `'letterbox'` (tells this request from a {@link ResampleIntoRequest}). */
  readonly kind?: 'letterbox';
  readonly plan: {
    readonly tapX: Int32Array; readonly cOff: Int32Array;
    readonly colT0: Int32Array; readonly colT1: Int32Array; readonly colW1: Float64Array;
    readonly rowY0: Int32Array; readonly rowY1: Int32Array; readonly rowW1: Float64Array;
    /** Every `colW1` is 0. */
    readonly singleColumn: boolean;
    readonly padLeft: number; readonly padTop: number;
  };
  /** Y'CbCr → RGB in 16.16 fixed point: `Y = (y − y0) × iy + 32768`, `R = (Y + rv·V) >> 16`, `G = (Y − gu·U − gv·V) >> 16`, `B = (Y + bu·U) >> 16`. */
  readonly k: { readonly iy: number; readonly rv: number; readonly gu: number; readonly gv: number; readonly bu: number; readonly y0: number };
  /** `value = p × s + b` per colour. */
  readonly norm: { readonly sR: number; readonly bR: number; readonly sG: number; readonly bG: number; readonly sB: number; readonly bB: number };
  /** Tensor width and height (`W × H` floats per plane). */
  readonly W: number;
  readonly H: number;
  /** Destination and the first float of the R, G and B planes in it. */
  readonly out: Float32Array;
  readonly oR: number;
  readonly oG: number;
  readonly oB: number;
}

/** One axis of a separable {@link ResampleIntoRequest}: per output sample, two source indices and the second one's weight. */
export interface ResampleAxis {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w: Float32Array;
}

/**
 * What {@link FrameEnvelope.letterboxInto} replays for `@nv/ocr` (NV12/I420): an
 * `width × height` grid sampled bilinearly from each plane at its own resolution — luma at full
 * size, 4:2:0 chroma at half size — then `Y' = (y − y0) × iy`, `R = Y' + rv·V`,
 * `G = Y' − gu·U − gv·V`, `B = Y' + bu·U` in double precision, clamped to 0..255 and normalized
 * (`value = c × s + b`). Output pixel `(u, v)` of colour C goes to `out[oC + v × rowStride + u]`.
 */
export interface ResampleIntoRequest {
  readonly kind: 'resample';
  /** Output grid size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Floats between two output rows (at least `width`). */
  readonly rowStride: number;
  /**
   * Where each output pixel samples: separable tables (`axes`: luma `x`/`y` indices in
   * samples, chroma `cx` as byte offsets into a chroma row — index × 2 for NV12 — and `cy` in
   * rows), or a quad (`quad`: `[tl.x, tl.y, tr.x, tr.y, br.x, br.y, bl.x, bl.y]` in frame pixels,
   * pixel `(u, v)` sampling its bilinear point at `((u + ½) / width, (v + ½) / height)`, chroma
   * at that point × (`sxC`, `syC`)).
   */
  readonly sampling:
    | { readonly kind: 'axes'; readonly x: ResampleAxis; readonly y: ResampleAxis; readonly cx: ResampleAxis; readonly cy: ResampleAxis }
    | { readonly kind: 'quad'; readonly quad: Float64Array; readonly sxC: number; readonly syC: number };
  /** Y'CbCr → RGB coefficients (doubles). */
  readonly k: { readonly y0: number; readonly iy: number; readonly rv: number; readonly gu: number; readonly gv: number; readonly bu: number };
  /** `value = c × s + b` per colour. */
  readonly norm: { readonly sR: number; readonly bR: number; readonly sG: number; readonly bG: number; readonly sB: number; readonly bB: number };
  /** Destination and the first float of the R, G and B planes in it. */
  readonly out: Float32Array;
  readonly oR: number;
  readonly oG: number;
  readonly oB: number;
}
