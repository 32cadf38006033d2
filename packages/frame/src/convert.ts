/**
 * Opt-in pixel format conversions. Nothing in nv converts frames on its own; a stage that
 * needs another format calls {@link convertFrame} and pays for one allocation and one pass.
 *
 * ## Colour model
 *
 * - YUV ↔ RGB uses the Y'CbCr equations of ITU-R BT.601 or BT.709 (`matrix`, default
 *   `'bt709'`), with either limited ("video"/"TV") range — Y' in [16, 235], Cb/Cr in
 *   [16, 240] — or full range, all in [0, 255] (`range`, default `'limited'`). Arithmetic is
 *   16-bit fixed point, rounded to nearest and clamped to [0, 255].
 * - RGB → NV12/I420: one Cb/Cr sample per 2×2 block, computed from the block's average
 *   colour (blocks on the right/bottom edge of odd-sized frames average the pixels they have).
 * - NV12/I420 → RGB: each chroma sample is reused for its 2×2 block (nearest neighbour).
 * - GRAY8 is full-range luma. RGB → GRAY8 is Y' = Kr·R + Kg·G + Kb·B with the `matrix`
 *   weights, always full range (`range` is ignored). GRAY8 → RGB replicates the value.
 *   NV12/I420 → GRAY8 takes Y' and, for limited range, stretches [16, 235] to [0, 255];
 *   GRAY8 → NV12/I420 does the reverse and sets Cb = Cr = 128.
 * - NV12 ↔ I420, RGB8 ↔ BGR8, RGBA8 ↔ BGRA8 (alpha kept), RGBA8/BGRA8 → RGB8/BGR8 (alpha
 *   dropped), RGB8/BGR8 → RGBA8/BGRA8 (alpha 255) are exact byte shuffles. The same format gives
 *   a tightly packed copy. BGRA8 is B, G, R, A in memory (libyuv's and Windows' "ARGB").
 * - GRAY8 → RGBA8/BGRA8 replicates the value and sets alpha to 255.
 *
 * @packageDocumentation
 */
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import type { FrameEnvelope } from './frame-envelope.js';
import { validateHeader } from './frame-header.js';
import { ownedFrameFromParts } from './owned-frame.js';
import type { OwnedFrame } from './owned-frame.js';
import { checkPixelFormat, layoutByteLength, planeLayout } from './pixel-format.js';
import type { PixelFormat } from './pixel-format.js';

/** Y'CbCr coefficient set: ITU-R BT.601 (SD) or BT.709 (HD). */
export type YuvMatrix = 'bt601' | 'bt709';
/** Y'CbCr quantization range: `limited` (Y' 16–235, C 16–240) or `full` (0–255). */
export type YuvRange = 'limited' | 'full';

/** Options of {@link convertFrame}. */
export interface ConvertOptions {
  /** Coefficients for YUV ↔ RGB and RGB → GRAY8. Default `'bt709'`. */
  readonly matrix?: YuvMatrix;
  /** Range of the YUV side (input or output) of a conversion. Default `'limited'`. */
  readonly range?: YuvRange;
}

/** Default options of {@link convertFrame}. */
export const DEFAULT_CONVERT_OPTIONS: Readonly<Required<ConvertOptions>> = Object.freeze({ matrix: 'bt709', range: 'limited' });

/** Luma weights (Kr, Kb) per matrix; Kg = 1 − Kr − Kb. */
export const YUV_MATRIX_WEIGHTS: Readonly<Record<YuvMatrix, Readonly<{ kr: number; kb: number }>>> = Object.freeze({
  bt601: Object.freeze({ kr: 0.299, kb: 0.114 }),
  bt709: Object.freeze({ kr: 0.2126, kb: 0.0722 }),
});

const SHIFT = 16;
const ONE = 1 << SHIFT;
const HALF = 1 << (SHIFT - 1);

/** Fixed-point (×2^16) coefficients for one matrix + range. */
interface Coefficients {
  // RGB → Y'CbCr
  readonly yr: number; readonly yg: number; readonly yb: number; readonly yOffset: number;
  readonly ur: number; readonly ug: number; readonly ub: number;
  readonly vr: number; readonly vg: number; readonly vb: number;
  // Y'CbCr → RGB
  readonly iy: number; readonly rv: number; readonly gu: number; readonly gv: number; readonly bu: number;
  /** Y' offset: 16 limited, 0 full. */
  readonly y0: number;
  /** Fixed-point scale from full-range luma to this range's luma span. */
  readonly ySpan: number;
}

function coefficients(matrix: YuvMatrix, range: YuvRange): Coefficients {
  const { kr, kb } = YUV_MATRIX_WEIGHTS[matrix];
  const kg = 1 - kr - kb;
  const limited = range === 'limited';
  const ys = limited ? 219 / 255 : 1;
  const cs = limited ? 224 / 255 : 1;
  const y0 = limited ? 16 : 0;
  const ySpan = Math.round(ys * ONE);
  const yr = Math.round(kr * ys * ONE);
  const yb = Math.round(kb * ys * ONE);
  const cb = cs / (2 * (1 - kb));
  const cr = cs / (2 * (1 - kr));
  const ur = Math.round(-kr * cb * ONE);
  const ub = Math.round((1 - kb) * cb * ONE);
  const vr = Math.round((1 - kr) * cr * ONE);
  const vb = Math.round(-kb * cr * ONE);
  return {
    // Weights sum exactly to the luma span and chroma weights to 0, so greys map to C = 128 exactly.
    yr, yb, yg: ySpan - yr - yb, yOffset: (y0 << SHIFT) + HALF,
    ur, ub, ug: -ur - ub,
    vr, vb, vg: -vr - vb,
    iy: Math.round(ONE / ys),
    rv: Math.round((2 * (1 - kr) / cs) * ONE),
    bu: Math.round((2 * (1 - kb) / cs) * ONE),
    gu: Math.round(((2 * kb * (1 - kb)) / kg / cs) * ONE),
    gv: Math.round(((2 * kr * (1 - kr)) / kg / cs) * ONE),
    y0,
    ySpan,
  };
}

const COEFFICIENTS = new Map<string, Coefficients>();
function coefficientsFor(matrix: YuvMatrix, range: YuvRange): Coefficients {
  const key = `${matrix}/${range}`;
  let c = COEFFICIENTS.get(key);
  if (c === undefined) COEFFICIENTS.set(key, (c = coefficients(matrix, range)));
  return c;
}

/** Byte positions of the channels in a packed RGB-family pixel. */
interface Packed { readonly bpp: number; readonly r: number; readonly g: number; readonly b: number; readonly a: number }
const PACKED: Partial<Record<PixelFormat, Packed>> = {
  RGB8: { bpp: 3, r: 0, g: 1, b: 2, a: -1 },
  BGR8: { bpp: 3, r: 2, g: 1, b: 0, a: -1 },
  RGBA8: { bpp: 4, r: 0, g: 1, b: 2, a: 3 },
  BGRA8: { bpp: 4, r: 2, g: 1, b: 0, a: 3 },
};

/** A readable or writable plane: bytes plus row stride, indices relative to `base`. */
interface Plane { readonly data: Uint8Array; readonly base: number; readonly stride: number }
/** Where Y, Cb and Cr samples of a 4:2:0 frame are. Chroma sample (cx, cy) of U is at `u.base + cy·u.stride + cx·step`. */
interface Yuv { readonly y: Plane; readonly u: Plane; readonly v: Plane; readonly step: number }

function yuvPlanes(format: PixelFormat, planes: readonly Plane[]): Yuv {
  const [y, p1, p2] = planes as [Plane, Plane, Plane | undefined];
  if (format === 'NV12') return { y, u: p1, v: { ...p1, base: p1.base + 1 }, step: 2 };
  return { y, u: p1, v: p2!, step: 1 };
}

function checkOptions(opts: unknown): Required<ConvertOptions> {
  if (opts === undefined) return DEFAULT_CONVERT_OPTIONS;
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('opts', 'a ConvertOptions object', opts);
  const o = opts as ConvertOptions;
  const matrix = o.matrix ?? DEFAULT_CONVERT_OPTIONS.matrix;
  const range = o.range ?? DEFAULT_CONVERT_OPTIONS.range;
  if (matrix !== 'bt601' && matrix !== 'bt709') throw new InvalidArgumentError('opts.matrix', "'bt601' or 'bt709'", matrix);
  if (range !== 'limited' && range !== 'full') throw new InvalidArgumentError('opts.range', "'limited' or 'full'", range);
  return { matrix, range };
}

/** Host views of the source planes, checked against the format's geometry. */
function sourcePlanes(frame: FrameEnvelope): Plane[] {
  const expected = planeLayout(frame.format, frame.width, frame.height);
  const described = frame.planes;
  if (!Array.isArray(described) || described.length !== expected.length) {
    throw FrameAccessError.invalidLayout(`${frame.format} frame describes ${Array.isArray(described) ? described.length : 'no'} planes, expected ${expected.length}`);
  }
  return expected.map((e, i) => {
    const data = frame.plane(i);
    const stride = described[i]!.stride;
    const need = (e.height - 1) * stride + e.rowBytes;
    if (!Number.isSafeInteger(stride) || stride < e.rowBytes || data.length < need) {
      throw FrameAccessError.invalidLayout(`${frame.format} plane ${i}: stride ${stride} and ${data.length} bytes cannot hold ${e.height} rows of ${e.rowBytes} bytes`);
    }
    return { data, base: 0, stride };
  });
}

/**
 * Converts a frame to another pixel format, into a new, tightly packed {@link OwnedFrame}.
 *
 * Every pair of the seven formats is supported (see the module notes for the colour model);
 * converting to the same format returns a tightly packed copy. The input's strides are
 * honoured and its padding bytes ignored. The result keeps `feedId`, `seq`, `ts` and
 * `wallTs`, gets a clone of the metadata map, and has its own reference count (1): release
 * it when done. The input is not released.
 *
 * @param frame - the frame to read; must be host-accessible (a `mappableToHost` frame is materialized)
 * @param target - the pixel format of the result
 * @param opts - `matrix` (default `'bt709'`) and `range` (default `'limited'`) for YUV ↔ RGB
 * @returns a new frame in `target` format
 * @throws {InvalidArgumentError} for a non-frame, an unknown target format or bad options
 * @throws {FrameAccessError} `Released`, `NotHostAccessible`, `MaterializationFailed` from
 *   reading the input; `InvalidLayout` when the input's planes cannot hold its geometry
 * @example
 * ```ts
 * const rgb = convertFrame(nv12Frame, 'RGB8', { matrix: 'bt601', range: 'limited' });
 * try { runModel(rgb.plane(0), rgb.width, rgb.height); } finally { rgb.release(); }
 * ```
 */
export function convertFrame(frame: FrameEnvelope, target: PixelFormat, opts?: ConvertOptions): OwnedFrame {
  if (typeof frame !== 'object' || frame === null || typeof (frame as Partial<FrameEnvelope>).plane !== 'function') {
    throw new InvalidArgumentError('frame', 'a FrameEnvelope', frame);
  }
  checkPixelFormat(target, 'target');
  const { matrix, range } = checkOptions(opts);
  const header = validateHeader({
    feedId: frame.feedId, seq: frame.seq, ts: frame.ts, wallTs: frame.wallTs,
    width: frame.width, height: frame.height, format: target, metadata: frame.metadata.clone(),
  });
  const { width: w, height: h } = header;
  const from = frame.format;
  const src = sourcePlanes(frame);

  const outLayout = planeLayout(target, w, h);
  const out = new Uint8Array(layoutByteLength(outLayout));
  const dst: Plane[] = outLayout.map((p) => ({ data: out, base: p.offset, stride: p.stride }));
  const clamped = new Uint8ClampedArray(out.buffer);
  const dstClamped: Plane[] = outLayout.map((p) => ({ data: clamped as unknown as Uint8Array, base: p.offset, stride: p.stride }));

  const srcPacked = PACKED[from];
  const dstPacked = PACKED[target];
  const srcYuv = from === 'NV12' || from === 'I420';
  const dstYuv = target === 'NV12' || target === 'I420';

  if (from === target) {
    const expected = planeLayout(from, w, h);
    expected.forEach((p, i) => copyRows(src[i]!, dst[i]!, p.rowBytes, p.height));
  } else if (srcPacked && dstPacked) {
    packedToPacked(src[0]!, srcPacked, dst[0]!, dstPacked, w, h);
  } else if (srcPacked && target === 'GRAY8') {
    packedToGray(src[0]!, srcPacked, dst[0]!, coefficientsFor(matrix, 'full'), w, h);
  } else if (from === 'GRAY8' && dstPacked) {
    grayToPacked(src[0]!, dst[0]!, dstPacked, w, h);
  } else if (srcPacked && dstYuv) {
    packedToYuv(src[0]!, srcPacked, yuvPlanes(target, dstClamped), coefficientsFor(matrix, range), w, h);
  } else if (srcYuv && dstPacked) {
    yuvToPacked(yuvPlanes(from, src), dst[0]!, dstClamped[0]!, dstPacked, coefficientsFor(matrix, range), w, h);
  } else if (srcYuv && dstYuv) {
    copyRows(src[0]!, dst[0]!, w, h);
    yuvChroma(yuvPlanes(from, src), yuvPlanes(target, dst), Math.ceil(w / 2), Math.ceil(h / 2));
  } else if (srcYuv && target === 'GRAY8') {
    lumaToGray(src[0]!, dstClamped[0]!, coefficientsFor(matrix, range), w, h);
  } else {
    // GRAY8 → NV12/I420 (the only pair left)
    grayToYuv(src[0]!, yuvPlanes(target, dst), coefficientsFor(matrix, range), w, h);
  }
  return ownedFrameFromParts({ header, planes: outLayout, buffers: [out] });
}

function copyRows(s: Plane, d: Plane, rowBytes: number, rows: number): void {
  if (s.stride === rowBytes && d.stride === rowBytes) {
    d.data.set(s.data.subarray(s.base, s.base + rowBytes * rows), d.base);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const so = s.base + r * s.stride;
    d.data.set(s.data.subarray(so, so + rowBytes), d.base + r * d.stride);
  }
}

function packedToPacked(s: Plane, sp: Packed, d: Plane, dp: Packed, w: number, h: number): void {
  const sd = s.data, dd = d.data;
  const sb = sp.bpp, db = dp.bpp, sr = sp.r, sg = sp.g, sbl = sp.b, sa = sp.a, dr = dp.r, dg = dp.g, dbl = dp.b, da = dp.a;
  for (let y = 0; y < h; y++) {
    let si = s.base + y * s.stride;
    let di = d.base + y * d.stride;
    for (let x = 0; x < w; x++, si += sb, di += db) {
      dd[di + dr] = sd[si + sr]!;
      dd[di + dg] = sd[si + sg]!;
      dd[di + dbl] = sd[si + sbl]!;
      if (da >= 0) dd[di + da] = sa >= 0 ? sd[si + sa]! : 255;
    }
  }
}

function packedToGray(s: Plane, sp: Packed, d: Plane, c: Coefficients, w: number, h: number): void {
  const sd = s.data, dd = d.data, sb = sp.bpp, sr = sp.r, sg = sp.g, sbl = sp.b;
  const { yr, yg, yb } = c;
  for (let y = 0; y < h; y++) {
    let si = s.base + y * s.stride;
    let di = d.base + y * d.stride;
    for (let x = 0; x < w; x++, si += sb, di++) {
      dd[di] = (yr * sd[si + sr]! + yg * sd[si + sg]! + yb * sd[si + sbl]! + HALF) >> SHIFT;
    }
  }
}

function grayToPacked(s: Plane, d: Plane, dp: Packed, w: number, h: number): void {
  const sd = s.data, dd = d.data, db = dp.bpp, dr = dp.r, dg = dp.g, dbl = dp.b, da = dp.a;
  for (let y = 0; y < h; y++) {
    let si = s.base + y * s.stride;
    let di = d.base + y * d.stride;
    for (let x = 0; x < w; x++, si++, di += db) {
      const v = sd[si]!;
      dd[di + dr] = v;
      dd[di + dg] = v;
      dd[di + dbl] = v;
      if (da >= 0) dd[di + da] = 255;
    }
  }
}

function packedToYuv(s: Plane, sp: Packed, d: Yuv, c: Coefficients, w: number, h: number): void {
  const sd = s.data, sb = sp.bpp, sr = sp.r, sg = sp.g, sbl = sp.b;
  const { yr, yg, yb, yOffset, ur, ug, ub, vr, vg, vb } = c;
  // Luma, per pixel. Within [y0, y0 + span] by construction.
  const yd = d.y.data;
  for (let y = 0; y < h; y++) {
    let si = s.base + y * s.stride;
    let di = d.y.base + y * d.y.stride;
    for (let x = 0; x < w; x++, si += sb, di++) {
      yd[di] = (yr * sd[si + sr]! + yg * sd[si + sg]! + yb * sd[si + sbl]! + yOffset) >> SHIFT;
    }
  }
  // Chroma, per 2×2 block from the block's summed colour; n ∈ {1, 2, 4} pixels → shift by 0, 1, 2.
  const cw = Math.ceil(w / 2), ch = Math.ceil(h / 2), step = d.step;
  const ud = d.u.data, vd = d.v.data;
  for (let cy = 0; cy < ch; cy++) {
    const r0 = s.base + 2 * cy * s.stride;
    const twoRows = 2 * cy + 1 < h;
    const r1 = twoRows ? r0 + s.stride : r0;
    let ui = d.u.base + cy * d.u.stride;
    let vi = d.v.base + cy * d.v.stride;
    for (let cx = 0; cx < cw; cx++, ui += step, vi += step) {
      const a = r0 + 2 * cx * sb;
      const b = r1 + 2 * cx * sb;
      let rs = sd[a + sr]!, gs = sd[a + sg]!, bs = sd[a + sbl]!;
      let shift = 0;
      if (2 * cx + 1 < w) {
        rs += sd[a + sb + sr]!; gs += sd[a + sb + sg]!; bs += sd[a + sb + sbl]!;
        shift = 1;
        if (twoRows) {
          rs += sd[b + sr]! + sd[b + sb + sr]!; gs += sd[b + sg]! + sd[b + sb + sg]!; bs += sd[b + sbl]! + sd[b + sb + sbl]!;
          shift = 2;
        }
      } else if (twoRows) {
        rs += sd[b + sr]!; gs += sd[b + sg]!; bs += sd[b + sbl]!;
        shift = 1;
      }
      const off = ((128 << SHIFT) + HALF) << shift;
      ud[ui] = (ur * rs + ug * gs + ub * bs + off) >> (SHIFT + shift);
      vd[vi] = (vr * rs + vg * gs + vb * bs + off) >> (SHIFT + shift);
    }
  }
}

function yuvToPacked(s: Yuv, d: Plane, dc: Plane, dp: Packed, c: Coefficients, w: number, h: number): void {
  const { iy, rv, gu, gv, bu, y0 } = c;
  const yd = s.y.data, ud = s.u.data, vd = s.v.data, step = s.step;
  const dd = dc.data, db = dp.bpp, dr = dp.r, dg = dp.g, dbl = dp.b, da = dp.a;
  const alpha = d.data;
  for (let y = 0; y < h; y++) {
    let yi = s.y.base + y * s.y.stride;
    const cy = y >> 1;
    const ur = s.u.base + cy * s.u.stride;
    const vr = s.v.base + cy * s.v.stride;
    let di = d.base + y * d.stride;
    for (let x = 0; x < w; x++, yi++, di += db) {
      const cx = (x >> 1) * step;
      const Y = (yd[yi]! - y0) * iy + HALF;
      const U = ud[ur + cx]! - 128;
      const V = vd[vr + cx]! - 128;
      dd[di + dr] = (Y + rv * V) >> SHIFT;
      dd[di + dg] = (Y - gu * U - gv * V) >> SHIFT;
      dd[di + dbl] = (Y + bu * U) >> SHIFT;
      if (da >= 0) alpha[di + da] = 255;
    }
  }
}

function yuvChroma(s: Yuv, d: Yuv, cw: number, ch: number): void {
  const sud = s.u.data, svd = s.v.data, dud = d.u.data, dvd = d.v.data, ss = s.step, ds = d.step;
  for (let cy = 0; cy < ch; cy++) {
    let su = s.u.base + cy * s.u.stride, sv = s.v.base + cy * s.v.stride;
    let du = d.u.base + cy * d.u.stride, dv = d.v.base + cy * d.v.stride;
    for (let cx = 0; cx < cw; cx++, su += ss, sv += ss, du += ds, dv += ds) {
      dud[du] = sud[su]!;
      dvd[dv] = svd[sv]!;
    }
  }
}

function lumaToGray(s: Plane, dc: Plane, c: Coefficients, w: number, h: number): void {
  if (c.y0 === 0) {
    copyRows(s, dc, w, h);
    return;
  }
  const sd = s.data, dd = dc.data, { iy, y0 } = c;
  for (let y = 0; y < h; y++) {
    let si = s.base + y * s.stride;
    let di = dc.base + y * dc.stride;
    for (let x = 0; x < w; x++, si++, di++) dd[di] = ((sd[si]! - y0) * iy + HALF) >> SHIFT;
  }
}

function grayToYuv(s: Plane, d: Yuv, c: Coefficients, w: number, h: number): void {
  const sd = s.data, yd = d.y.data, { ySpan, yOffset } = c;
  for (let y = 0; y < h; y++) {
    let si = s.base + y * s.stride;
    let di = d.y.base + y * d.y.stride;
    for (let x = 0; x < w; x++, si++, di++) yd[di] = (sd[si]! * ySpan + yOffset) >> SHIFT;
  }
  const cw = Math.ceil(w / 2), ch = Math.ceil(h / 2), step = d.step;
  for (let cy = 0; cy < ch; cy++) {
    let ui = d.u.base + cy * d.u.stride, vi = d.v.base + cy * d.v.stride;
    for (let cx = 0; cx < cw; cx++, ui += step, vi += step) {
      d.u.data[ui] = 128;
      d.v.data[vi] = 128;
    }
  }
}
