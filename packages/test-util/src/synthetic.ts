/**
 * Synthetic frames with known content. Every generator documents the exact value of each
 * pixel, so tests can assert on pixels (see {@link readPixel}) and on which frame a stage
 * received (see {@link readSeqMarker}).
 */
import { InvalidArgumentError, feedId as toFeedId, type FeedId, type MonotonicTs, NS_PER_SEC } from '@nv/core';
import { convertFrame, createOwnedFrame, packedFrameSize, planeLayout, type FrameEnvelope, type OwnedFrame, type PixelFormat } from '@nv/frame';

/** Common options of the generators. */
export interface SyntheticFrameOptions {
  /** Default 64. */
  readonly width?: number;
  /** Default 48. */
  readonly height?: number;
  /** Default `'RGB8'`. YUV formats are produced by converting the RGB pattern (BT.709, limited range). */
  readonly format?: PixelFormat;
  /** Default feed 1. */
  readonly feedId?: FeedId | number;
  /** Default 0. */
  readonly seq?: number;
  /** Default 0 ns. */
  readonly ts?: MonotonicTs | number;
}

type Rgb = readonly [number, number, number];

function fromRgb(opts: SyntheticFrameOptions, fill: (rgb: Uint8Array, w: number, h: number) => void): OwnedFrame {
  const width = opts.width ?? 64, height = opts.height ?? 48;
  const data = new Uint8Array(width * height * 3);
  fill(data, width, height);
  const rgb = createOwnedFrame({
    feedId: opts.feedId ?? 1, seq: opts.seq ?? 0, ts: opts.ts ?? 0, width, height, format: 'RGB8', data, transferOwnership: true,
  });
  const format = opts.format ?? 'RGB8';
  if (format === 'RGB8') return rgb;
  try {
    return convertFrame(rgb, format);
  } finally {
    rgb.release();
  }
}

function checkRgb(rgb: Rgb): void {
  rgb.forEach((v, i) => { if (!Number.isInteger(v) || v < 0 || v > 255) throw new InvalidArgumentError(`rgb[${i}]`, 'an integer in [0, 255]', v); });
}

/**
 * Every pixel is `rgb` (in RGB8; other formats are converted from it).
 * @example `solidFrame({ rgb: [255, 0, 0], format: 'NV12' })`
 */
export function solidFrame(opts: SyntheticFrameOptions & { readonly rgb?: Rgb } = {}): OwnedFrame {
  const rgb = opts.rgb ?? [128, 128, 128];
  checkRgb(rgb);
  return fromRgb(opts, (d) => { for (let i = 0; i < d.length; i += 3) { d[i] = rgb[0]; d[i + 1] = rgb[1]; d[i + 2] = rgb[2]; } });
}

/**
 * Pixel (x, y) is R = x mod 256, G = y mod 256, B = (x + y) mod 256 (in RGB8).
 * Use {@link gradientPixel} for the expected value.
 */
export function gradientFrame(opts: SyntheticFrameOptions = {}): OwnedFrame {
  return fromRgb(opts, (d, w, h) => {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      d[i] = x & 255; d[i + 1] = y & 255; d[i + 2] = (x + y) & 255;
    }
  });
}

/** The RGB value {@link gradientFrame} puts at (x, y). */
export function gradientPixel(x: number, y: number): Rgb { return [x & 255, y & 255, (x + y) & 255]; }

/**
 * A checkerboard of `cell`-pixel squares: white (255) where ⌊x/cell⌋ + ⌊y/cell⌋ is even, black (0) elsewhere.
 */
export function checkerFrame(opts: SyntheticFrameOptions & { readonly cell?: number } = {}): OwnedFrame {
  const cell = opts.cell ?? 8;
  if (!Number.isInteger(cell) || cell < 1) throw new InvalidArgumentError('cell', 'a positive integer', cell);
  return fromRgb(opts, (d, w, h) => {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const v = ((Math.floor(x / cell) + Math.floor(y / cell)) & 1) === 0 ? 255 : 0;
      const i = (y * w + x) * 3;
      d[i] = v; d[i + 1] = v; d[i + 2] = v;
    }
  });
}

/**
 * A filled rectangle (`rgb`) on a background (`background`), at normalized coordinates —
 * a stand-in for an object a detector should find.
 */
export function boxFrame(opts: SyntheticFrameOptions & {
  readonly box: { readonly xMin: number; readonly yMin: number; readonly xMax: number; readonly yMax: number };
  readonly rgb?: Rgb; readonly background?: Rgb;
}): OwnedFrame {
  const fg = opts.rgb ?? [255, 255, 255], bg = opts.background ?? [0, 0, 0];
  checkRgb(fg); checkRgb(bg);
  return fromRgb(opts, (d, w, h) => {
    const x0 = Math.round(opts.box.xMin * w), x1 = Math.round(opts.box.xMax * w);
    const y0 = Math.round(opts.box.yMin * h), y1 = Math.round(opts.box.yMax * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const c = x >= x0 && x < x1 && y >= y0 && y < y1 ? fg : bg;
      const i = (y * w + x) * 3;
      d[i] = c[0]; d[i + 1] = c[1]; d[i + 2] = c[2];
    }
  });
}

/**
 * `count` frames, seq 0…count−1, timestamps `i / fps` seconds. Each frame carries its seq in
 * the first 4 bytes of plane 0 (little-endian; read it back with {@link readSeqMarker}); the
 * rest of plane 0 is the seq modulo 256, other planes 128.
 */
export function frameSequence(count: number, opts: Omit<SyntheticFrameOptions, 'seq' | 'ts'> & { readonly fps?: number; readonly startSeq?: number } = {}): OwnedFrame[] {
  if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError('count', 'a non-negative integer', count);
  const fps = opts.fps ?? 30;
  if (!(fps > 0)) throw new InvalidArgumentError('fps', 'a positive number', fps);
  const width = opts.width ?? 64, height = opts.height ?? 48, format = opts.format ?? 'GRAY8';
  if (width * height < 4) throw new InvalidArgumentError('width x height', 'at least 4 pixels (the seq marker needs 4 bytes)', `${width}x${height}`);
  const layout = planeLayout(format, width, height);
  const size = packedFrameSize(format, width, height);
  const p0 = layout[0]!;
  const out: OwnedFrame[] = [];
  for (let i = 0; i < count; i++) {
    const seq = (opts.startSeq ?? 0) + i;
    const data = new Uint8Array(size).fill(128);
    data.fill(seq & 255, p0.offset, p0.offset + p0.size);
    new DataView(data.buffer).setUint32(p0.offset, seq >>> 0, true);
    out.push(createOwnedFrame({
      feedId: opts.feedId ?? 1, seq, ts: Math.round((seq * NS_PER_SEC) / fps), width, height, format, data, transferOwnership: true,
    }));
  }
  return out;
}

/** The seq written by {@link frameSequence}. */
export function readSeqMarker(frame: FrameEnvelope): number {
  const p = frame.plane(0);
  return new DataView(p.buffer, p.byteOffset, 4).getUint32(0, true);
}

/**
 * The pixel at (x, y) as stored: `[r, g, b]` for RGB8, `[r, g, b, a]` for RGBA8 (BGR8 and BGRA8
 * are returned as `[r, g, b]` / `[r, g, b, a]` too), `[y]` for GRAY8, `[y, u, v]` for NV12/I420. Honours strides.
 * @throws {InvalidArgumentError} when (x, y) is outside the frame
 */
export function readPixel(frame: FrameEnvelope, x: number, y: number): number[] {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= frame.width || y >= frame.height) {
    throw new InvalidArgumentError('pixel', `integer coordinates inside ${frame.width}x${frame.height}`, `(${x}, ${y})`);
  }
  const pl = frame.planes;
  const p0 = frame.plane(0), s0 = pl[0]!.stride;
  switch (frame.format) {
    case 'RGB8': { const i = y * s0 + x * 3; return [p0[i]!, p0[i + 1]!, p0[i + 2]!]; }
    case 'BGR8': { const i = y * s0 + x * 3; return [p0[i + 2]!, p0[i + 1]!, p0[i]!]; }
    case 'RGBA8': { const i = y * s0 + x * 4; return [p0[i]!, p0[i + 1]!, p0[i + 2]!, p0[i + 3]!]; }
    case 'BGRA8': { const i = y * s0 + x * 4; return [p0[i + 2]!, p0[i + 1]!, p0[i]!, p0[i + 3]!]; }
    case 'GRAY8': return [p0[y * s0 + x]!];
    case 'NV12': {
      const uv = frame.plane(1), s1 = pl[1]!.stride, j = (y >> 1) * s1 + (x >> 1) * 2;
      return [p0[y * s0 + x]!, uv[j]!, uv[j + 1]!];
    }
    case 'I420': {
      const u = frame.plane(1), v = frame.plane(2), j1 = (y >> 1) * pl[1]!.stride + (x >> 1), j2 = (y >> 1) * pl[2]!.stride + (x >> 1);
      return [p0[y * s0 + x]!, u[j1]!, v[j2]!];
    }
  }
}

/**
 * Whether two frames have the same format, size and pixel content (strides may differ).
 * @returns `true` when equal, otherwise a description of the first difference
 */
export function compareFrames(a: FrameEnvelope, b: FrameEnvelope): true | string {
  if (a.format !== b.format) return `format ${a.format} != ${b.format}`;
  if (a.width !== b.width || a.height !== b.height) return `size ${a.width}x${a.height} != ${b.width}x${b.height}`;
  for (let p = 0; p < a.planes.length; p++) {
    const pa = a.planes[p]!, pb = b.planes[p]!;
    const da = a.plane(p), db = b.plane(p);
    for (let row = 0; row < pa.height; row++) {
      for (let i = 0; i < pa.rowBytes; i++) {
        if (da[row * pa.stride + i] !== db[row * pb.stride + i]) return `plane ${p} row ${row} byte ${i}: ${da[row * pa.stride + i]} != ${db[row * pb.stride + i]}`;
      }
    }
  }
  return true;
}

/** Feed id helper re-exported for convenience in tests. */
export const testFeedId: FeedId = toFeedId(1);
