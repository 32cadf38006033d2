/**
 * Fused letterbox preprocessing: from a frame in its own pixel format straight into the
 * model's CHW float32 input, in one pass — resize, colour conversion, normalization and
 * padding together, with no full-size RGB intermediate.
 *
 * How it is fast in plain JavaScript:
 * - per frame size, the sampling is planned once and cached: which source columns are read
 *   (each at most once per source row), per output column the two taps and their weights,
 *   per output row the two source rows and their weight;
 * - per source row that the output needs, only the needed columns are converted to RGB
 *   (the same integer Y'CbCr → RGB arithmetic as `convertFrame`)
 *   into a small row buffer that stays in L1 cache; consecutive output rows reuse it;
 * - the output rows are blended from those row buffers, normalized with one multiply-add
 *   per value, and written to the three planes of a caller-provided, reused tensor;
 * - when every output column has its own single tap (nearest, or a downscale whose taps all
 *   have zero weight, such as 1920 → 640 bilinear) rows are converted straight into the
 *   tensor, without the row buffer;
 * - when every output pixel is the mean of a 2×2 block (an even-integer bilinear downscale,
 *   such as 1280 → 640 or 2560 → 640: every weight is exactly ½), blocks are converted and
 *   averaged straight into the tensor too, a 4:2:0 block's shared chroma computed once — the
 *   same floats as the two-row blend, which is exact at weights of ½. (Through the row buffers
 *   that case read and converted four taps per output pixel plus a blend: 4–5× the time of the
 *   3× downscale from 1080p, where every sample lands on a pixel centre.)
 *
 * The result equals {@link letterboxReference} (convert to RGB, then resize, then normalize)
 * to float rounding, because both read the same RGB values at the same taps.
 *
 * @packageDocumentation
 */
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import { planeLayout, type FrameEnvelope, type PixelFormat } from '@nv/frame';
import { letterboxGeometry, type LetterboxGeometry } from './letterbox.js';
import { resolvePreprocessOptions, type PreprocessOptions, type ResolvedPreprocessOptions } from './preprocess-options.js';
import { yuvCoefficients, type YuvCoefficients } from './yuv-coefficients.js';

/** Sampling plan for one frame size on one canvas. */
interface Plan {
  readonly g: LetterboxGeometry;
  /** Distinct source columns read, ascending. */
  readonly tapX: Int32Array;
  /** Per output column: index × 3 of its left/right tap in a row buffer. */
  readonly colT0: Int32Array;
  readonly colT1: Int32Array;
  /** Per output column: weight of the right tap. */
  readonly colW1: Float64Array;
  /** Every `colW1` is 0. */
  readonly singleColumn: boolean;
  /** Per output row: top/bottom source row and the bottom weight. */
  readonly rowY0: Int32Array;
  readonly rowY1: Int32Array;
  readonly rowW1: Float64Array;
  /** Byte offset of each tap's chroma sample, per chroma step (1: I420, 2: NV12). */
  readonly chromaOffsets: Map<number, Int32Array>;
  /** Byte offset of each tap's pixel, per bytes-per-pixel (3, 4). */
  readonly packedOffsets: Map<number, Int32Array>;
  /**
   * Every output pixel is the plain mean of a 2×2 block of adjacent source pixels — every
   * column and row weight is exactly ½ with adjacent taps, as at any even-integer bilinear
   * downscale (1280×720 → 640×360: sample points fall midway between source pixels).
   */
  readonly box2: boolean;
  /** With `box2`: source x of each output column's left tap. */
  readonly box2X: Int32Array;
  /** With `box2`: every block's left column and top row are even, so its four pixels share one 4:2:0 chroma sample. */
  readonly box2SharedChroma: boolean;
  /** Two RGB row buffers (3 bytes per tap) and which source row each holds. */
  readonly bufs: [Uint8Array, Uint8Array];
  readonly rows: [number, number];
}

const PLAN_CACHE_SIZE = 8;

/** One axis of the sampling: for each of `n` outputs over `size` sources, two taps and a weight. */
function axis(n: number, size: number, bilinear: boolean): { i0: Int32Array; i1: Int32Array; w1: Float64Array } {
  const i0 = new Int32Array(n), i1 = new Int32Array(n), w1 = new Float64Array(n);
  const ratio = size / n;
  for (let i = 0; i < n; i++) {
    if (bilinear) {
      const s = Math.min(size - 1, Math.max(0, (i + 0.5) * ratio - 0.5));
      const a = Math.floor(s);
      const w = s - a;
      i0[i] = a;
      i1[i] = w > 0 ? Math.min(a + 1, size - 1) : a;
      w1[i] = i1[i] === a ? 0 : w;
    } else {
      const a = Math.min(size - 1, Math.floor((i + 0.5) * ratio));
      i0[i] = a; i1[i] = a; w1[i] = 0;
    }
  }
  return { i0, i1, w1 };
}

function buildPlan(g: LetterboxGeometry, bilinear: boolean): Plan {
  const cols = axis(g.contentWidth, g.frameWidth, bilinear);
  const rows = axis(g.contentHeight, g.frameHeight, bilinear);
  // Distinct source columns, in order; map each to its slot in the row buffer.
  const used = new Int32Array(g.frameWidth).fill(-1);
  for (let j = 0; j < g.contentWidth; j++) { used[cols.i0[j]!] = 0; if (cols.w1[j]! > 0) used[cols.i1[j]!] = 0; }
  let count = 0;
  for (let x = 0; x < g.frameWidth; x++) if (used[x] === 0) used[x] = count++;
  const tapX = new Int32Array(count);
  for (let x = 0; x < g.frameWidth; x++) if (used[x]! >= 0) tapX[used[x]!] = x;
  const colT0 = new Int32Array(g.contentWidth), colT1 = new Int32Array(g.contentWidth);
  let singleColumn = true;
  for (let j = 0; j < g.contentWidth; j++) {
    colT0[j] = used[cols.i0[j]!]! * 3;
    colT1[j] = cols.w1[j]! > 0 ? used[cols.i1[j]!]! * 3 : colT0[j]!;
    if (cols.w1[j]! > 0) singleColumn = false;
  }
  // 2×2 box blocks: the sampling points of an even-integer downscale sit midway between pixels.
  const box2X = new Int32Array(g.contentWidth);
  let box2 = g.contentWidth > 0 && g.contentHeight > 0, even = true;
  for (let j = 0; j < g.contentWidth && box2; j++) {
    box2X[j] = cols.i0[j]!;
    if (cols.w1[j] !== 0.5 || cols.i1[j] !== cols.i0[j]! + 1) box2 = false;
    if ((cols.i0[j]! & 1) !== 0) even = false;
  }
  for (let i = 0; i < g.contentHeight && box2; i++) {
    if (rows.w1[i] !== 0.5 || rows.i1[i] !== rows.i0[i]! + 1) box2 = false;
    if ((rows.i0[i]! & 1) !== 0) even = false;
  }
  return {
    g, tapX, colT0, colT1, colW1: cols.w1, singleColumn, rowY0: rows.i0, rowY1: rows.i1, rowW1: rows.w1,
    box2, box2X, box2SharedChroma: box2 && even,
    chromaOffsets: new Map(), packedOffsets: new Map(),
    bufs: [new Uint8Array(count * 3), new Uint8Array(count * 3)], rows: [-1, -1],
  };
}

function chromaOffsets(p: Plan, step: number): Int32Array {
  let o = p.chromaOffsets.get(step);
  if (!o) {
    o = new Int32Array(p.tapX.length);
    for (let t = 0; t < o.length; t++) o[t] = (p.tapX[t]! >> 1) * step;
    p.chromaOffsets.set(step, o);
  }
  return o;
}

function packedOffsets(p: Plan, bpp: number): Int32Array {
  let o = p.packedOffsets.get(bpp);
  if (!o) {
    o = new Int32Array(p.tapX.length);
    for (let t = 0; t < o.length; t++) o[t] = p.tapX[t]! * bpp;
    p.packedOffsets.set(bpp, o);
  }
  return o;
}

/** Host views and strides of the frame's planes, checked against its geometry. */
function hostPlanes(frame: FrameEnvelope): { data: Uint8Array[]; strides: number[] } {
  const expected = planeLayout(frame.format, frame.width, frame.height);
  if (frame.planes.length !== expected.length) {
    throw FrameAccessError.invalidLayout(`${frame.format} frame describes ${frame.planes.length} planes, expected ${expected.length}`);
  }
  const data: Uint8Array[] = [], strides: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const d = frame.plane(i);
    const stride = frame.planes[i]!.stride;
    if (!Number.isSafeInteger(stride) || stride < e.rowBytes || d.length < (e.height - 1) * stride + e.rowBytes) {
      throw FrameAccessError.invalidLayout(`${frame.format} plane ${i}: stride ${stride} and ${d.length} bytes cannot hold ${e.height} rows of ${e.rowBytes} bytes`);
    }
    data.push(d);
    strides.push(stride);
  }
  return { data, strides };
}

/** Channel byte positions of the packed RGB formats. */
const PACKED: Partial<Record<PixelFormat, { bpp: number; r: number; g: number; b: number }>> = {
  RGB8: { bpp: 3, r: 0, g: 1, b: 2 },
  BGR8: { bpp: 3, r: 2, g: 1, b: 0 },
  RGBA8: { bpp: 4, r: 0, g: 1, b: 2 },
  BGRA8: { bpp: 4, r: 2, g: 1, b: 0 },
};

/** An integer clamped to 0..255. */
const c8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Converts the taps of one row of a 4:2:0 frame to RGB (multiplies beat table lookups here). */
function yuvRow(
  yd: Uint8Array, yr: number, ud: Uint8Array, ur: number, vd: Uint8Array, vr: number,
  tapX: Int32Array, cOff: Int32Array, k: YuvCoefficients, out: Uint8Array,
): void {
  const iy = k.iy, rv = k.rv, gu = k.gu, gv = k.gv, bu = k.bu, y0 = k.y0;
  const n = tapX.length;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const c = cOff[i]!;
    const Y = (yd[yr + tapX[i]!]! - y0) * iy + 32768;
    const U = ud[ur + c]! - 128;
    const V = vd[vr + c]! - 128;
    const r = (Y + rv * V) >> 16, g = (Y - gu * U - gv * V) >> 16, b = (Y + bu * U) >> 16;
    out[o] = r < 0 ? 0 : r > 255 ? 255 : r;
    out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    out[o + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
}
/** Gathers the taps of one row of a packed RGB-family frame. */
function packedRow(sd: Uint8Array, row: number, off: Int32Array, r: number, g: number, b: number, out: Uint8Array): void {
  const n = off.length;
  for (let i = 0, k = 0; i < n; i++, k += 3) {
    const s = row + off[i]!;
    out[k] = sd[s + r]!;
    out[k + 1] = sd[s + g]!;
    out[k + 2] = sd[s + b]!;
  }
}

/** Gathers the taps of one row of a GRAY8 frame (grey replicated to R, G, B). */
function grayRow(sd: Uint8Array, row: number, tapX: Int32Array, out: Uint8Array): void {
  const n = tapX.length;
  for (let i = 0, k = 0; i < n; i++, k += 3) {
    const v = sd[row + tapX[i]!]!;
    out[k] = v; out[k + 1] = v; out[k + 2] = v;
  }
}

/*
 * Direct writers: when every output column has its own single tap (a downscale whose taps all
 * have zero weight — nearest, or e.g. 1920 → 640 bilinear), a row is converted straight into
 * the tensor without the row buffer.
 */

/** 4:2:0 row → tensor, one tap per output column. */
function yuvDirect(
  yd: Uint8Array, yr: number, ud: Uint8Array, ur: number, vd: Uint8Array, vr: number,
  tapX: Int32Array, cOff: Int32Array, k: YuvCoefficients, out: Float32Array, oR: number, oG: number, oB: number, nm: Norm,
): void {
  const iy = k.iy, rv = k.rv, gu = k.gu, gv = k.gv, bu = k.bu, y0 = k.y0;
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = tapX.length;
  for (let i = 0; i < n; i++) {
    const c = cOff[i]!;
    const Y = (yd[yr + tapX[i]!]! - y0) * iy + 32768;
    const U = ud[ur + c]! - 128;
    const V = vd[vr + c]! - 128;
    const r = (Y + rv * V) >> 16, g = (Y - gu * U - gv * V) >> 16, b = (Y + bu * U) >> 16;
    out[oR + i] = (r < 0 ? 0 : r > 255 ? 255 : r) * sR + bR;
    out[oG + i] = (g < 0 ? 0 : g > 255 ? 255 : g) * sG + bG;
    out[oB + i] = (b < 0 ? 0 : b > 255 ? 255 : b) * sB + bB;
  }
}

/** Packed RGB-family row → tensor, one tap per output column. */
function packedDirect(
  sd: Uint8Array, row: number, off: Int32Array, r: number, g: number, b: number, out: Float32Array, oR: number, oG: number, oB: number, nm: Norm,
): void {
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = off.length;
  for (let i = 0; i < n; i++) {
    const s = row + off[i]!;
    out[oR + i] = sd[s + r]! * sR + bR;
    out[oG + i] = sd[s + g]! * sG + bG;
    out[oB + i] = sd[s + b]! * sB + bB;
  }
}

/** GRAY8 row → tensor, one tap per output column. */
function grayDirect(sd: Uint8Array, row: number, tapX: Int32Array, out: Float32Array, oR: number, oG: number, oB: number, nm: Norm): void {
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = tapX.length;
  for (let i = 0; i < n; i++) {
    const v = sd[row + tapX[i]!]!;
    out[oR + i] = v * sR + bR;
    out[oG + i] = v * sG + bG;
    out[oB + i] = v * sB + bB;
  }
}

/*
 * 2×2 box writers (plans with `box2`): each output pixel is the mean of four adjacent source
 * pixels, written straight into the tensor. The generic two-row blend computes exactly that for
 * such a plan — with weights of ½ every intermediate (half, then quarter of an integer sum) is
 * exact in a double — so the integer sum of the four values times ¼ is the same double, hence the
 * same float, as `blend2` (and as native/src/letterbox.cc, which replays the generic plan). What it
 * saves: no row buffers, and for 4:2:0 frames the chroma terms are computed once per block (its
 * four pixels share one chroma sample) instead of once per pixel.
 */

/** Two 4:2:0 rows (`ya`, `yb` = `ya` + one row; chroma row `ur`/`vr`) → tensor, one 2×2 block per output column. */
function yuvBox2(
  yd: Uint8Array, ya: number, yb: number, ud: Uint8Array, ur: number, vd: Uint8Array, vr: number,
  xs: Int32Array, cStep: number, k: YuvCoefficients, out: Float32Array, oR: number, oG: number, oB: number, nm: Norm,
): void {
  const iy = k.iy, rv = k.rv, gu = k.gu, gv = k.gv, bu = k.bu, y0 = k.y0;
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = xs.length;
  for (let j = 0; j < n; j++) {
    const x = xs[j]!, c = (x >> 1) * cStep;
    const U = ud[ur + c]! - 128, V = vd[vr + c]! - 128;
    // (Y + rv·V) >> 16 with Y = (y − y0)·iy + 32768, regrouped: all exact integers below 2^31.
    const cr = rv * V + 32768, cg = 32768 - gu * U - gv * V, cb = bu * U + 32768;
    const l0 = (yd[ya + x]! - y0) * iy, l1 = (yd[ya + x + 1]! - y0) * iy;
    const l2 = (yd[yb + x]! - y0) * iy, l3 = (yd[yb + x + 1]! - y0) * iy;
    const r = c8((l0 + cr) >> 16) + c8((l1 + cr) >> 16) + c8((l2 + cr) >> 16) + c8((l3 + cr) >> 16);
    const g = c8((l0 + cg) >> 16) + c8((l1 + cg) >> 16) + c8((l2 + cg) >> 16) + c8((l3 + cg) >> 16);
    const b = c8((l0 + cb) >> 16) + c8((l1 + cb) >> 16) + c8((l2 + cb) >> 16) + c8((l3 + cb) >> 16);
    out[oR + j] = r * 0.25 * sR + bR;
    out[oG + j] = g * 0.25 * sG + bG;
    out[oB + j] = b * 0.25 * sB + bB;
  }
}

/** Like {@link yuvBox2} for blocks whose pixels straddle chroma samples: each pixel's own chroma (rows `uA`/`vA`, `uB`/`vB`). */
function yuvBox2Split(
  yd: Uint8Array, ya: number, yb: number, ud: Uint8Array, uA: number, uB: number, vd: Uint8Array, vA: number, vB: number,
  xs: Int32Array, cStep: number, k: YuvCoefficients, out: Float32Array, oR: number, oG: number, oB: number, nm: Norm,
): void {
  const iy = k.iy, rv = k.rv, gu = k.gu, gv = k.gv, bu = k.bu, y0 = k.y0;
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = xs.length;
  for (let j = 0; j < n; j++) {
    const x = xs[j]!, c0 = (x >> 1) * cStep, c1 = ((x + 1) >> 1) * cStep;
    const U0 = ud[uA + c0]! - 128, V0 = vd[vA + c0]! - 128, U1 = ud[uA + c1]! - 128, V1 = vd[vA + c1]! - 128;
    const U2 = ud[uB + c0]! - 128, V2 = vd[vB + c0]! - 128, U3 = ud[uB + c1]! - 128, V3 = vd[vB + c1]! - 128;
    const l0 = (yd[ya + x]! - y0) * iy + 32768, l1 = (yd[ya + x + 1]! - y0) * iy + 32768;
    const l2 = (yd[yb + x]! - y0) * iy + 32768, l3 = (yd[yb + x + 1]! - y0) * iy + 32768;
    const r = c8((l0 + rv * V0) >> 16) + c8((l1 + rv * V1) >> 16) + c8((l2 + rv * V2) >> 16) + c8((l3 + rv * V3) >> 16);
    const g = c8((l0 - gu * U0 - gv * V0) >> 16) + c8((l1 - gu * U1 - gv * V1) >> 16)
      + c8((l2 - gu * U2 - gv * V2) >> 16) + c8((l3 - gu * U3 - gv * V3) >> 16);
    const b = c8((l0 + bu * U0) >> 16) + c8((l1 + bu * U1) >> 16) + c8((l2 + bu * U2) >> 16) + c8((l3 + bu * U3) >> 16);
    out[oR + j] = r * 0.25 * sR + bR;
    out[oG + j] = g * 0.25 * sG + bG;
    out[oB + j] = b * 0.25 * sB + bB;
  }
}

/** Two packed RGB-family rows → tensor, one 2×2 block per output column. */
function packedBox2(
  sd: Uint8Array, ra: number, rb: number, xs: Int32Array, bpp: number, r: number, g: number, b: number,
  out: Float32Array, oR: number, oG: number, oB: number, nm: Norm,
): void {
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = xs.length;
  for (let j = 0; j < n; j++) {
    const x = xs[j]! * bpp, a0 = ra + x, a1 = a0 + bpp, b0 = rb + x, b1 = b0 + bpp;
    out[oR + j] = (sd[a0 + r]! + sd[a1 + r]! + sd[b0 + r]! + sd[b1 + r]!) * 0.25 * sR + bR;
    out[oG + j] = (sd[a0 + g]! + sd[a1 + g]! + sd[b0 + g]! + sd[b1 + g]!) * 0.25 * sG + bG;
    out[oB + j] = (sd[a0 + b]! + sd[a1 + b]! + sd[b0 + b]! + sd[b1 + b]!) * 0.25 * sB + bB;
  }
}

/** Two GRAY8 rows → tensor, one 2×2 block per output column. */
function grayBox2(sd: Uint8Array, ra: number, rb: number, xs: Int32Array, out: Float32Array, oR: number, oG: number, oB: number, nm: Norm): void {
  const { sR, bR, sG, bG, sB, bB } = nm;
  const n = xs.length;
  for (let j = 0; j < n; j++) {
    const x = xs[j]!;
    const v = (sd[ra + x]! + sd[ra + x + 1]! + sd[rb + x]! + sd[rb + x + 1]!) * 0.25;
    out[oR + j] = v * sR + bR;
    out[oG + j] = v * sG + bG;
    out[oB + j] = v * sB + bB;
  }
}

/** Per-plane affine normalization `value = p × s + b` and where each colour goes. */
interface Norm {
  readonly sR: number; readonly bR: number; readonly sG: number; readonly bG: number; readonly sB: number; readonly bB: number;
  /** Plane index (0..2) of R, G and B in the tensor. */
  readonly pR: number; readonly pG: number; readonly pB: number;
}

/**
 * The fused letterbox preprocessor. One instance per model input size; it caches a sampling
 * plan per frame size (a few), so keep it for the life of the detector.
 *
 * Supported frame formats: NV12, I420, RGB8, BGR8, RGBA8, BGRA8, GRAY8 — each read in place,
 * honouring every plane's stride and offset.
 *
 * @example
 * ```ts
 * const pre = new LetterboxPreprocessor(640, 640);
 * const input = new Float32Array(pre.tensorSize);      // allocate once, reuse per frame
 * const geometry = pre.run(frame, input);              // fills [3, 640, 640]
 * ```
 */
export class LetterboxPreprocessor {
  /** Model input width in pixels. */
  readonly inputWidth: number;
  /** Model input height in pixels. */
  readonly inputHeight: number;
  /** The resolved options. */
  readonly options: ResolvedPreprocessOptions;
  /** Floats per image: `3 × inputWidth × inputHeight`. */
  readonly tensorSize: number;
  readonly #plans = new Map<string, Plan>();
  readonly #norm: Norm;
  readonly #yuv: YuvCoefficients;

  /**
   * @param inputWidth - model input width in pixels
   * @param inputHeight - model input height in pixels
   * @param options - interpolation, padding, normalization, channel order, YUV colorimetry
   * @throws {InvalidArgumentError} on a non-positive size or invalid options
   */
  constructor(inputWidth: number, inputHeight: number, options?: PreprocessOptions) {
    if (!Number.isInteger(inputWidth) || inputWidth < 1) throw new InvalidArgumentError('inputWidth', 'a positive integer', inputWidth);
    if (!Number.isInteger(inputHeight) || inputHeight < 1) throw new InvalidArgumentError('inputHeight', 'a positive integer', inputHeight);
    this.inputWidth = inputWidth;
    this.inputHeight = inputHeight;
    this.options = resolvePreprocessOptions(options);
    this.tensorSize = 3 * inputWidth * inputHeight;
    const { mean, std, channelOrder } = this.options;
    const s = (c: 0 | 1 | 2) => 1 / (255 * std[c]);
    const b = (c: 0 | 1 | 2) => -mean[c] / std[c];
    const rgb = channelOrder === 'rgb';
    this.#norm = { sR: s(0), bR: b(0), sG: s(1), bG: b(1), sB: s(2), bB: b(2), pR: rgb ? 0 : 2, pG: 1, pB: rgb ? 2 : 0 };
    this.#yuv = yuvCoefficients(this.options.yuvMatrix, this.options.yuvRange);
  }

  /**
   * The letterbox geometry a frame of this size gets.
   * @param frameWidth - frame width in pixels
   * @param frameHeight - frame height in pixels
   * @returns the geometry (see {@link letterboxGeometry})
   */
  geometry(frameWidth: number, frameHeight: number): LetterboxGeometry {
    return this.#plan(frameWidth, frameHeight).g;
  }

  /**
   * Writes one image — `[3, inputHeight, inputWidth]`, planes in `channelOrder` — into
   * `out` starting at `offset`. Every value of that slot is written (content and padding),
   * so `out` can be reused across frames without clearing.
   * @param frame - a host-readable frame (a `mappableToHost` frame is materialized)
   * @param out - the destination tensor data
   * @param offset - first float of the slot (default 0); use `i × tensorSize` for batch item `i`
   * @returns the geometry, for mapping boxes back ({@link inputToFrame})
   * @throws {InvalidArgumentError} when the slot does not fit in `out`
   * @throws {FrameAccessError} `Released`, `NotHostAccessible`, `MaterializationFailed` from
   *   reading the frame; `InvalidLayout` when its planes cannot hold its geometry
   * @example
   * ```ts
   * const batch = new Float32Array(2 * pre.tensorSize);
   * pre.run(frameA, batch, 0);
   * pre.run(frameB, batch, pre.tensorSize);
   * ```
   */
  run(frame: FrameEnvelope, out: Float32Array, offset = 0): LetterboxGeometry {
    this.#checkSlot(out, offset);
    const { data, strides } = hostPlanes(frame);
    const p = this.#plan(frame.width, frame.height);
    this.#fillPadding(p.g, out, offset);
    const rows = p.rows, bufs = p.bufs;
    rows[0] = -1; rows[1] = -1;
    const { convert, direct, box2 } = this.#rowConverter(frame.format, p, data, strides, out);
    const oneTapPerColumn = p.singleColumn && p.tapX.length === p.g.contentWidth;
    const getRow = (y: number, keep: number): 0 | 1 => {
      if (rows[0] === y) return 0;
      if (rows[1] === y) return 1;
      const s: 0 | 1 = keep === 0 ? 1 : keep === 1 ? 0 : rows[0] < rows[1] ? 0 : 1;
      convert(y, bufs[s]);
      rows[s] = y;
      return s;
    };
    const { inputWidth: W, inputHeight: H } = this;
    const hw = W * H;
    const n = this.#norm;
    const oR = offset + n.pR * hw, oG = offset + n.pG * hw, oB = offset + n.pB * hw;
    const g = p.g;
    if (box2) {
      for (let i = 0; i < g.contentHeight; i++) {
        const row = (g.padTop + i) * W + g.padLeft;
        box2(p.rowY0[i]!, oR + row, oG + row, oB + row);
      }
      return g;
    }
    for (let i = 0; i < g.contentHeight; i++) {
      const wy = p.rowW1[i]!;
      const row = (g.padTop + i) * W + g.padLeft;
      if (wy === 0 && oneTapPerColumn) {
        direct(p.rowY0[i]!, oR + row, oG + row, oB + row);
        continue;
      }
      const a = getRow(p.rowY0[i]!, -1);
      if (wy > 0) {
        const b = getRow(p.rowY1[i]!, a);
        blend2(bufs[a], bufs[b], wy, p, out, oR + row, oG + row, oB + row, n);
      } else if (p.singleColumn) {
        copy1(bufs[a], p, out, oR + row, oG + row, oB + row, n);
      } else {
        blend1(bufs[a], p, out, oR + row, oG + row, oB + row, n);
      }
    }
    return g;
  }

  /**
   * Like {@link LetterboxPreprocessor.run}, off the JS thread when the frame can: a media frame in
   * NV12 or I420 (`FrameEnvelope.letterboxInto`) replays this preprocessor's sampling plan on a
   * native worker thread — the same plan, conversion and arithmetic, so the same floats — while
   * the padding is filled here. Any other frame runs {@link LetterboxPreprocessor.run}.
   * @param frame - a host-readable frame
   * @param out - the destination tensor data (may be a `SharedArrayBuffer` slot)
   * @param offset - first float of the slot (default 0)
   * @returns where the content landed
   * @throws {FrameAccessError} when the frame cannot be read; {@link InvalidArgumentError} when the slot does not fit
   */
  async runAsync(frame: FrameEnvelope, out: Float32Array, offset = 0): Promise<LetterboxGeometry> {
    const fmt = frame.format;
    if (typeof frame.letterboxInto !== 'function' || (fmt !== 'NV12' && fmt !== 'I420')) return this.run(frame, out, offset);
    this.#checkSlot(out, offset);
    const p = this.#plan(frame.width, frame.height);
    this.#fillPadding(p.g, out, offset);
    const W = this.inputWidth, H = this.inputHeight, hw = W * H, n = this.#norm;
    await frame.letterboxInto({
      plan: {
        tapX: p.tapX, cOff: chromaOffsets(p, fmt === 'NV12' ? 2 : 1), colT0: p.colT0, colT1: p.colT1, colW1: p.colW1,
        rowY0: p.rowY0, rowY1: p.rowY1, rowW1: p.rowW1, singleColumn: p.singleColumn, padLeft: p.g.padLeft, padTop: p.g.padTop,
      },
      k: this.#yuv, norm: n, W, H, out, oR: offset + n.pR * hw, oG: offset + n.pG * hw, oB: offset + n.pB * hw,
    });
    return p.g;
  }

  /**
   * Fills a whole slot with the padding value (for unused items of a fixed-size batch).
   * @param out - the destination tensor data
   * @param offset - first float of the slot (default 0)
   * @throws {InvalidArgumentError} when the slot does not fit in `out`
   */
  fillSlot(out: Float32Array, offset = 0): void {
    this.#checkSlot(out, offset);
    const hw = this.inputWidth * this.inputHeight, n = this.#norm, v = this.options.padValue;
    out.fill(v * n.sR + n.bR, offset + n.pR * hw, offset + (n.pR + 1) * hw);
    out.fill(v * n.sG + n.bG, offset + n.pG * hw, offset + (n.pG + 1) * hw);
    out.fill(v * n.sB + n.bB, offset + n.pB * hw, offset + (n.pB + 1) * hw);
  }

  #checkSlot(out: Float32Array, offset: number): void {
    if (!(out instanceof Float32Array)) throw new InvalidArgumentError('out', 'a Float32Array', out);
    if (!Number.isInteger(offset) || offset < 0 || offset + this.tensorSize > out.length) {
      throw new InvalidArgumentError('offset', `an integer slot start with ${this.tensorSize} floats inside ${out.length}`, offset);
    }
  }

  #plan(frameWidth: number, frameHeight: number): Plan {
    const key = `${frameWidth}x${frameHeight}`;
    let p = this.#plans.get(key);
    if (p) {
      this.#plans.delete(key); // keep most recently used last
    } else {
      p = buildPlan(letterboxGeometry(frameWidth, frameHeight, this.inputWidth, this.inputHeight), this.options.interpolation === 'bilinear');
      if (this.#plans.size >= PLAN_CACHE_SIZE) this.#plans.delete(this.#plans.keys().next().value!);
    }
    this.#plans.set(key, p);
    return p;
  }

  #fillPadding(g: LetterboxGeometry, out: Float32Array, offset: number): void {
    const W = this.inputWidth, H = this.inputHeight, hw = W * H, n = this.#norm, v = this.options.padValue;
    const planes: [number, number][] = [[offset + n.pR * hw, v * n.sR + n.bR], [offset + n.pG * hw, v * n.sG + n.bG], [offset + n.pB * hw, v * n.sB + n.bB]];
    const top = g.padTop, bottom = g.padTop + g.contentHeight, left = g.padLeft, right = g.padLeft + g.contentWidth;
    for (const [o, val] of planes) {
      if (top > 0) out.fill(val, o, o + top * W);
      if (bottom < H) out.fill(val, o + bottom * W, o + hw);
      if (left > 0 || right < W) {
        for (let y = top; y < bottom; y++) {
          const r = o + y * W;
          if (left > 0) out.fill(val, r, r + left);
          if (right < W) out.fill(val, r + right, r + W);
        }
      }
    }
  }

  #rowConverter(format: PixelFormat, p: Plan, data: Uint8Array[], strides: number[], t: Float32Array): {
    convert: (y: number, out: Uint8Array) => void;
    direct: (y: number, oR: number, oG: number, oB: number) => void;
    /** Set when the plan is `box2`: writes one output row from source rows `y` and `y + 1`. */
    box2: ((y: number, oR: number, oG: number, oB: number) => void) | undefined;
  } {
    const tapX = p.tapX, nm = this.#norm, xs = p.box2X;
    switch (format) {
      case 'NV12': {
        const yd = data[0]!, uv = data[1]!, ys = strides[0]!, cs = strides[1]!, c = chromaOffsets(p, 2), k = this.#yuv;
        return {
          convert: (y, out) => { const cr = (y >> 1) * cs; yuvRow(yd, y * ys, uv, cr, uv, cr + 1, tapX, c, k, out); },
          direct: (y, oR, oG, oB) => { const cr = (y >> 1) * cs; yuvDirect(yd, y * ys, uv, cr, uv, cr + 1, tapX, c, k, t, oR, oG, oB, nm); },
          box2: !p.box2 ? undefined : p.box2SharedChroma
            ? (y, oR, oG, oB) => { const cr = (y >> 1) * cs; yuvBox2(yd, y * ys, y * ys + ys, uv, cr, uv, cr + 1, xs, 2, k, t, oR, oG, oB, nm); }
            : (y, oR, oG, oB) => {
              const ca = (y >> 1) * cs, cb = ((y + 1) >> 1) * cs;
              yuvBox2Split(yd, y * ys, y * ys + ys, uv, ca, cb, uv, ca + 1, cb + 1, xs, 2, k, t, oR, oG, oB, nm);
            },
        };
      }
      case 'I420': {
        const yd = data[0]!, ud = data[1]!, vd = data[2]!, ys = strides[0]!, us = strides[1]!, vs = strides[2]!;
        const c = chromaOffsets(p, 1), k = this.#yuv;
        return {
          convert: (y, out) => { const cy = y >> 1; yuvRow(yd, y * ys, ud, cy * us, vd, cy * vs, tapX, c, k, out); },
          direct: (y, oR, oG, oB) => { const cy = y >> 1; yuvDirect(yd, y * ys, ud, cy * us, vd, cy * vs, tapX, c, k, t, oR, oG, oB, nm); },
          box2: !p.box2 ? undefined : p.box2SharedChroma
            ? (y, oR, oG, oB) => { const cy = y >> 1; yuvBox2(yd, y * ys, y * ys + ys, ud, cy * us, vd, cy * vs, xs, 1, k, t, oR, oG, oB, nm); }
            : (y, oR, oG, oB) => {
              const ca = y >> 1, cb = (y + 1) >> 1;
              yuvBox2Split(yd, y * ys, y * ys + ys, ud, ca * us, cb * us, vd, ca * vs, cb * vs, xs, 1, k, t, oR, oG, oB, nm);
            },
        };
      }
      case 'GRAY8': {
        const sd = data[0]!, s = strides[0]!;
        return {
          convert: (y, out) => grayRow(sd, y * s, tapX, out),
          direct: (y, oR, oG, oB) => grayDirect(sd, y * s, tapX, t, oR, oG, oB, nm),
          box2: p.box2 ? (y, oR, oG, oB) => grayBox2(sd, y * s, y * s + s, xs, t, oR, oG, oB, nm) : undefined,
        };
      }
      default: {
        const pk = PACKED[format];
        if (!pk) throw FrameAccessError.unsupportedConversion(String(format), 'letterboxed RGB tensor');
        const sd = data[0]!, s = strides[0]!, off = packedOffsets(p, pk.bpp);
        return {
          convert: (y, out) => packedRow(sd, y * s, off, pk.r, pk.g, pk.b, out),
          direct: (y, oR, oG, oB) => packedDirect(sd, y * s, off, pk.r, pk.g, pk.b, t, oR, oG, oB, nm),
          box2: p.box2 ? (y, oR, oG, oB) => packedBox2(sd, y * s, y * s + s, xs, pk.bpp, pk.r, pk.g, pk.b, t, oR, oG, oB, nm) : undefined,
        };
      }
    }
  }
}

function copy1(A: Uint8Array, p: Plan, out: Float32Array, oR: number, oG: number, oB: number, n: Norm): void {
  const t0 = p.colT0, cw = p.g.contentWidth;
  const { sR, bR, sG, bG, sB, bB } = n;
  for (let j = 0; j < cw; j++) {
    const a = t0[j]!;
    out[oR + j] = A[a]! * sR + bR;
    out[oG + j] = A[a + 1]! * sG + bG;
    out[oB + j] = A[a + 2]! * sB + bB;
  }
}

function blend1(A: Uint8Array, p: Plan, out: Float32Array, oR: number, oG: number, oB: number, n: Norm): void {
  const t0 = p.colT0, t1 = p.colT1, w = p.colW1, cw = p.g.contentWidth;
  const { sR, bR, sG, bG, sB, bB } = n;
  for (let j = 0; j < cw; j++) {
    const a = t0[j]!, b = t1[j]!, w1 = w[j]!;
    const r0 = A[a]!, g0 = A[a + 1]!, b0 = A[a + 2]!;
    out[oR + j] = (r0 + (A[b]! - r0) * w1) * sR + bR;
    out[oG + j] = (g0 + (A[b + 1]! - g0) * w1) * sG + bG;
    out[oB + j] = (b0 + (A[b + 2]! - b0) * w1) * sB + bB;
  }
}

function blend2(A: Uint8Array, B: Uint8Array, wy: number, p: Plan, out: Float32Array, oR: number, oG: number, oB: number, n: Norm): void {
  const t0 = p.colT0, t1 = p.colT1, w = p.colW1, cw = p.g.contentWidth;
  const { sR, bR, sG, bG, sB, bB } = n;
  for (let j = 0; j < cw; j++) {
    const a = t0[j]!, b = t1[j]!, w1 = w[j]!;
    const ra = A[a]!, ga = A[a + 1]!, ba = A[a + 2]!;
    const rb = B[a]!, gb = B[a + 1]!, bb = B[a + 2]!;
    const rt = ra + (A[b]! - ra) * w1, gt = ga + (A[b + 1]! - ga) * w1, bt = ba + (A[b + 2]! - ba) * w1;
    const rl = rb + (B[b]! - rb) * w1, gl = gb + (B[b + 1]! - gb) * w1, bl = bb + (B[b + 2]! - bb) * w1;
    out[oR + j] = (rt + (rl - rt) * wy) * sR + bR;
    out[oG + j] = (gt + (gl - gt) * wy) * sG + bG;
    out[oB + j] = (bt + (bl - bt) * wy) * sB + bB;
  }
}
