/**
 * Pixel formats and plane layouts.
 *
 * A frame's pixels live in one or more *planes*. Packed formats (RGB8, BGR8, RGBA8, BGRA8, GRAY8)
 * have one plane; NV12 has a full-size luma plane plus one interleaved U/V plane; I420 has
 * a luma plane plus separate U and V planes. Chroma planes of the 4:2:0 formats have
 * `ceil(width / 2) × ceil(height / 2)` samples, the way GStreamer sizes them, so odd frame
 * sizes are allowed.
 *
 * @packageDocumentation
 */
import { FrameAccessError, InvalidArgumentError } from '@nv/core';

/**
 * The pixel formats nv understands. Use the constants (`PixelFormat.RGB8`) or the string
 * literals (`'RGB8'`) interchangeably.
 *
 * | format | planes | layout |
 * |---|---|---|
 * | `RGB8`  | 1 | R, G, B — 3 bytes per pixel |
 * | `BGR8`  | 1 | B, G, R — 3 bytes per pixel |
 * | `RGBA8` | 1 | R, G, B, A — 4 bytes per pixel |
 * | `BGRA8` | 1 | B, G, R, A — 4 bytes per pixel |
 * | `NV12`  | 2 | Y plane; interleaved U,V plane at half resolution (4:2:0) |
 * | `I420`  | 3 | Y plane; U plane; V plane, both at half resolution (4:2:0) |
 * | `GRAY8` | 1 | one luma byte per pixel |
 */
export const PixelFormat = Object.freeze({
  RGB8: 'RGB8',
  BGR8: 'BGR8',
  RGBA8: 'RGBA8',
  BGRA8: 'BGRA8',
  NV12: 'NV12',
  I420: 'I420',
  GRAY8: 'GRAY8',
} as const);

/** One of the {@link PixelFormat} string literals. */
export type PixelFormat = (typeof PixelFormat)[keyof typeof PixelFormat];

/** Every pixel format, in a fixed order. */
export const PIXEL_FORMATS: readonly PixelFormat[] = Object.freeze([
  PixelFormat.RGB8,
  PixelFormat.BGR8,
  PixelFormat.RGBA8,
  PixelFormat.BGRA8,
  PixelFormat.NV12,
  PixelFormat.I420,
  PixelFormat.GRAY8,
]);

/**
 * Description of one plane of a frame, in bytes.
 *
 * `width` and `height` count the plane's samples: for the NV12 U/V plane one sample is an
 * interleaved (U, V) pair, so `rowBytes = 2 × width` there. Row `r` of the plane starts at
 * byte `offset + r × stride`; its meaningful bytes are the first `rowBytes`, the rest of the
 * stride is padding with unspecified content.
 */
export interface FramePlane {
  /** Samples per row in this plane. */
  readonly width: number;
  /** Rows in this plane. */
  readonly height: number;
  /** Bytes between the starts of two consecutive rows (≥ `rowBytes`). */
  readonly stride: number;
  /** Meaningful bytes per row: `width × bytes per sample`. */
  readonly rowBytes: number;
  /**
   * Byte offset of the plane's first row in the buffer that holds it (the frame's host
   * buffer for contiguous frames; the plane's own buffer otherwise).
   */
  readonly offset: number;
  /** Bytes the plane occupies: `stride × height`. */
  readonly size: number;
}

/** Options of {@link planeLayout}. */
export interface PlaneLayoutOptions {
  /** Per-plane row strides in bytes; each must be ≥ the plane's `rowBytes`. Default: tightly packed. */
  readonly strides?: readonly number[];
  /**
   * Per-plane byte offsets; planes must not overlap. Default: planes follow each other
   * without gaps, in plane order, starting at 0.
   */
  readonly offsets?: readonly number[];
}

/** The largest width or height nv accepts. */
export const MAX_FRAME_DIMENSION = 65_536;

interface PlaneShape {
  /** divisor of the frame width/height (1 = full, 2 = 4:2:0 chroma, rounded up) */
  readonly sub: 1 | 2;
  /** bytes per sample */
  readonly bps: number;
}

const SHAPES: Readonly<Record<PixelFormat, readonly PlaneShape[]>> = {
  RGB8: [{ sub: 1, bps: 3 }],
  BGR8: [{ sub: 1, bps: 3 }],
  RGBA8: [{ sub: 1, bps: 4 }],
  BGRA8: [{ sub: 1, bps: 4 }],
  GRAY8: [{ sub: 1, bps: 1 }],
  NV12: [{ sub: 1, bps: 1 }, { sub: 2, bps: 2 }],
  I420: [{ sub: 1, bps: 1 }, { sub: 2, bps: 1 }, { sub: 2, bps: 1 }],
};

/**
 * @param value - anything
 * @returns whether `value` is one of the {@link PixelFormat} literals
 */
export function isPixelFormat(value: unknown): value is PixelFormat {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(SHAPES, value);
}

/** @internal Throws unless `format` is a pixel format. */
export function checkPixelFormat(format: unknown, argument = 'format'): asserts format is PixelFormat {
  if (!isPixelFormat(format)) throw new InvalidArgumentError(argument, `one of ${PIXEL_FORMATS.join(', ')}`, format);
}

/**
 * Bytes per pixel of a packed (single-plane) format.
 * @param format - a pixel format
 * @returns 3 for RGB8/BGR8, 4 for RGBA8/BGRA8, 1 for GRAY8, `undefined` for the planar NV12/I420
 * @throws {InvalidArgumentError} when `format` is not a pixel format
 */
export function bytesPerPixel(format: PixelFormat): number | undefined {
  checkPixelFormat(format);
  const shapes = SHAPES[format];
  return shapes.length === 1 ? shapes[0]!.bps : undefined;
}

/**
 * @param format - a pixel format
 * @returns how many planes a frame of this format has (1, 2 for NV12, 3 for I420)
 * @throws {InvalidArgumentError} when `format` is not a pixel format
 */
export function planeCount(format: PixelFormat): number {
  checkPixelFormat(format);
  return SHAPES[format].length;
}

/**
 * @param format - a pixel format
 * @returns whether the format has more than one plane (NV12, I420)
 * @throws {InvalidArgumentError} when `format` is not a pixel format
 */
export function isPlanar(format: PixelFormat): boolean {
  return planeCount(format) > 1;
}

/** @internal Throws unless `n` is an integer dimension in [1, MAX_FRAME_DIMENSION]. */
export function checkDimension(argument: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_FRAME_DIMENSION) {
    throw new InvalidArgumentError(argument, `an integer in [1, ${MAX_FRAME_DIMENSION}]`, n);
  }
}

function checkIntArray(argument: string, arr: unknown, length: number, min: number): readonly number[] {
  if (!Array.isArray(arr) || arr.length !== length) {
    throw new InvalidArgumentError(argument, `an array of ${length} integer(s)`, arr);
  }
  for (let i = 0; i < arr.length; i++) {
    const v: unknown = arr[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new InvalidArgumentError(`${argument}[${i}]`, `a safe integer >= ${min}`, v);
    }
  }
  return arr as readonly number[];
}

/**
 * Computes the plane layout of a frame.
 *
 * Without options the layout is tightly packed: each stride equals the plane's `rowBytes`
 * and the planes follow each other in order from offset 0. Chroma planes of NV12/I420 are
 * `ceil(width / 2) × ceil(height / 2)` samples.
 *
 * @param format - the pixel format
 * @param width - frame width in pixels (integer in [1, {@link MAX_FRAME_DIMENSION}])
 * @param height - frame height in pixels (integer in [1, {@link MAX_FRAME_DIMENSION}])
 * @param opts - explicit strides and/or offsets
 * @returns one frozen {@link FramePlane} per plane
 * @throws {InvalidArgumentError} for an unknown format, bad dimensions, or stride/offset
 *   arrays of the wrong length or with non-integer / negative entries
 * @throws {FrameAccessError} (`InvalidLayout`) when a stride is smaller than its plane's
 *   row or planes overlap
 * @example
 * ```ts
 * const [y, uv] = planeLayout('NV12', 1920, 1080);
 * // y:  { width: 1920, height: 1080, stride: 1920, rowBytes: 1920, offset: 0,       size: 2073600 }
 * // uv: { width: 960,  height: 540,  stride: 1920, rowBytes: 1920, offset: 2073600, size: 1036800 }
 * ```
 */
export function planeLayout(format: PixelFormat, width: number, height: number, opts: PlaneLayoutOptions = {}): readonly FramePlane[] {
  checkPixelFormat(format);
  checkDimension('width', width);
  checkDimension('height', height);
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('opts', 'an options object', opts);
  const shapes = SHAPES[format];
  const strides = opts.strides === undefined ? undefined : checkIntArray('strides', opts.strides, shapes.length, 1);
  const offsets = opts.offsets === undefined ? undefined : checkIntArray('offsets', opts.offsets, shapes.length, 0);
  const planes: FramePlane[] = [];
  let next = 0;
  for (let i = 0; i < shapes.length; i++) {
    const shape = shapes[i]!;
    const w = Math.ceil(width / shape.sub);
    const h = Math.ceil(height / shape.sub);
    const rowBytes = w * shape.bps;
    const stride = strides?.[i] ?? rowBytes;
    if (stride < rowBytes) {
      throw FrameAccessError.invalidLayout(`${format} plane ${i}: stride ${stride} is smaller than its row of ${rowBytes} bytes`);
    }
    const offset = offsets?.[i] ?? next;
    const size = stride * h;
    if (!Number.isSafeInteger(offset + size)) throw FrameAccessError.invalidLayout(`${format} plane ${i}: end offset is not a safe integer`);
    planes.push(Object.freeze({ width: w, height: h, stride, rowBytes, offset, size }));
    next = offset + size;
  }
  if (offsets !== undefined) {
    const sorted = [...planes].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      if (sorted[i]!.offset < prev.offset + prev.size) {
        throw FrameAccessError.invalidLayout(`${format}: planes overlap (offsets ${offsets.join(', ')})`);
      }
    }
  }
  return Object.freeze(planes);
}

/**
 * @param planes - a plane layout
 * @returns the number of bytes a single buffer needs to hold every plane: the largest `offset + size`
 */
export function layoutByteLength(planes: readonly FramePlane[]): number {
  let end = 0;
  for (const p of planes) end = Math.max(end, p.offset + p.size);
  return end;
}

/**
 * Bytes of a tightly packed frame.
 * @param format - the pixel format
 * @param width - frame width in pixels
 * @param height - frame height in pixels
 * @returns e.g. `width × height × 3` for RGB8, `width × height + 2 × ceil(w/2) × ceil(h/2)` for NV12/I420
 * @throws {InvalidArgumentError} for an unknown format or bad dimensions
 */
export function packedFrameSize(format: PixelFormat, width: number, height: number): number {
  return layoutByteLength(planeLayout(format, width, height));
}
