/**
 * Fused resample + colour conversion + normalization from a frame in its own pixel format
 * straight into a float NCHW tensor: no intermediate RGB frame, one pass over the output.
 *
 * The output image is the frame's content inside a quadrilateral (the whole frame for the
 * detector, a text region for the recognizer), mapped bilinearly onto an `outW × outH` grid.
 * Output pixel `(u, v)` samples the frame at the quad's bilinear point for
 * `((u + 0.5) / outW, (v + 0.5) / outH)` — for an axis-aligned quad that is exactly the
 * half-pixel-centre mapping of OpenCV's `INTER_LINEAR` resize, which PaddleOCR uses. Each
 * plane is sampled bilinearly at its own resolution (4:2:0 chroma at half size), with edge
 * replication outside the frame; YUV is converted to RGB with BT.601 or BT.709 coefficients,
 * limited or full range.
 *
 * {@link sampleToTensorAsync} runs the same sampling on a native worker thread for media frames
 * in NV12/I420 (`FrameEnvelope.letterboxInto` with a `ResampleIntoRequest`), with the same floats.
 */
import { InvalidArgumentError, StageError } from '@nv/core';
import type { FrameEnvelope, PixelFormat, ResampleIntoRequest } from '@nv/frame';
import type { PixelPoint, Quad } from './db.js';

/** Colour interpretation of YUV frames. */
export interface YuvColorOptions {
  /** `auto` (default): BT.709 for frames at least 720 rows high, else BT.601 (GStreamer's defaults). */
  readonly matrix?: 'auto' | 'bt601' | 'bt709';
  /** Default `limited` (video range). */
  readonly range?: 'limited' | 'full';
}

/** Per-channel normalization `(value / 255 − mean) / std` and the tensor's channel order. */
export interface Normalization {
  /** Mean per output channel, in output channel order. */
  readonly mean: readonly [number, number, number];
  /** Standard deviation per output channel, in output channel order. */
  readonly std: readonly [number, number, number];
  /** Channel order of the tensor (PaddleOCR models take `bgr`). */
  readonly order: 'bgr' | 'rgb';
}

/** PaddleOCR's detector normalization (ImageNet statistics applied to BGR channels in order). */
export const DET_NORMALIZATION: Normalization = Object.freeze({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'bgr' } as const);
/** PaddleOCR's recognizer normalization: `(x / 255 − 0.5) / 0.5`, BGR. */
export const REC_NORMALIZATION: Normalization = Object.freeze({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: 'bgr' } as const);

/** Where one image goes in a float NCHW tensor. */
export interface TensorTarget {
  /** The tensor's data. */
  readonly data: Float32Array;
  /** Index of this image's first value (`n × 3 × H × W`). */
  readonly offset: number;
  /** Tensor width (row length); may exceed the written width (padding is left untouched). */
  readonly rowStride: number;
  /** Values per channel plane (`H × W`). */
  readonly planeStride: number;
}

interface Plane { readonly data: Uint8Array; readonly stride: number; readonly w: number; readonly h: number }

const PACKED: Partial<Record<PixelFormat, { bpp: number; r: number; g: number; b: number }>> = {
  RGB8: { bpp: 3, r: 0, g: 1, b: 2 },
  BGR8: { bpp: 3, r: 2, g: 1, b: 0 },
  RGBA8: { bpp: 4, r: 0, g: 1, b: 2 },
  BGRA8: { bpp: 4, r: 2, g: 1, b: 0 },
};

function planesOf(frame: FrameEnvelope): Plane[] {
  const n = frame.format === 'NV12' ? 2 : frame.format === 'I420' ? 3 : 1;
  const out: Plane[] = [];
  for (let i = 0; i < n; i++) {
    const p = frame.planes[i];
    if (!p) throw new InvalidArgumentError(`frame.planes[${i}]`, `a plane of a ${frame.format} frame`, p);
    out.push({ data: frame.plane(i), stride: p.stride, w: p.width, h: p.height });
  }
  return out;
}

/** A quad covering the whole frame (continuous pixel coordinates). */
export function frameQuad(width: number, height: number): Quad {
  return [{ x: 0, y: 0 }, { x: width, y: 0 }, { x: width, y: height }, { x: 0, y: height }];
}

/** Everything one sampling needs, derived once from the frame, the quad and the options. */
interface Setup {
  readonly outW: number; readonly outH: number;
  readonly W: number; readonly H: number;
  readonly planes: Plane[];
  readonly quad: readonly [PixelPoint, PixelPoint, PixelPoint, PixelPoint];
  readonly axisAligned: boolean;
  readonly yuv: boolean;
  readonly packed: { bpp: number; r: number; g: number; b: number } | undefined;
  /** Y'CbCr → RGB, doubles (identity for RGB formats). */
  readonly ky0: number; readonly kiy: number; readonly krv: number; readonly kgu: number; readonly kgv: number; readonly kbu: number;
  /** Output channel k's scale and bias (tensor order), its RGB source channel, and the same per colour. */
  readonly s0n: number; readonly s1n: number; readonly s2n: number; readonly b0: number; readonly b1: number; readonly b2: number;
  readonly c0: number; readonly c2: number;
  readonly sR: number; readonly bR: number; readonly sB: number; readonly bB: number;
  /** First value of tensor planes 0, 1, 2 and of the R and B planes; floats per row. */
  readonly o0: number; readonly o1: number; readonly o2: number; readonly oR: number; readonly oB: number; readonly rs: number;
  /** Chroma plane size in samples (1 × 1 for other formats), and chroma per frame pixel. */
  readonly cw: number; readonly ch: number; readonly sxC: number; readonly syC: number;
}

function setup(
  frame: FrameEnvelope, quad: Quad, outW: number, outH: number, target: TensorTarget, norm: Normalization, color: YuvColorOptions,
): Setup {
  if (!Number.isInteger(outW) || outW < 1 || !Number.isInteger(outH) || outH < 1) throw new InvalidArgumentError('output size', 'positive integers', `${outW}x${outH}`);
  if (target.rowStride < outW || target.planeStride < target.rowStride * outH || target.offset + 3 * target.planeStride > target.data.length) {
    throw new InvalidArgumentError('target', `room for 3 × ${outW}x${outH} values`, `${target.data.length} values`);
  }
  const W = frame.width, H = frame.height;
  const planes = planesOf(frame);
  // Output channel k (in tensor order) comes from RGB channel src[k].
  const src = norm.order === 'bgr' ? [2, 1, 0] : [0, 1, 2]; // the middle channel is G either way
  const scale = [0, 1, 2].map((k) => 1 / (255 * norm.std[k]!));
  const bias = [0, 1, 2].map((k) => -norm.mean[k]! / norm.std[k]!);
  const s0n = scale[0]!, s1n = scale[1]!, s2n = scale[2]!, b0 = bias[0]!, b1 = bias[1]!, b2 = bias[2]!;
  const c0 = src[0]!, c2 = src[2]!;
  const o0 = target.offset, o1 = o0 + target.planeStride, o2 = o1 + target.planeStride;
  const [tl, tr, br, bl] = quad as [PixelPoint, PixelPoint, PixelPoint, PixelPoint];
  const yuv = frame.format === 'NV12' || frame.format === 'I420';
  let ky0 = 0, kiy = 1, krv = 0, kgu = 0, kgv = 0, kbu = 0;
  if (yuv) {
    const matrix = color.matrix === undefined || color.matrix === 'auto' ? (H >= 720 ? 'bt709' : 'bt601') : color.matrix;
    const limited = (color.range ?? 'limited') === 'limited';
    const [kr, kb] = matrix === 'bt709' ? [0.2126, 0.0722] : [0.299, 0.114];
    const kg = 1 - kr - kb;
    const cs = limited ? 255 / 224 : 1;
    ky0 = limited ? 16 : 0;
    kiy = limited ? 255 / 219 : 1;
    krv = 2 * (1 - kr) * cs;
    kbu = 2 * (1 - kb) * cs;
    kgu = ((2 * kb * (1 - kb)) / kg) * cs;
    kgv = ((2 * kr * (1 - kr)) / kg) * cs;
  }
  const cu = planes[1];
  const cw = cu?.w ?? 1, ch = cu?.h ?? 1;
  return {
    outW, outH, W, H, planes, quad: [tl, tr, br, bl], yuv, packed: PACKED[frame.format],
    axisAligned: tl.y === tr.y && bl.y === br.y && tl.x === bl.x && tr.x === br.x,
    ky0, kiy, krv, kgu, kgv, kbu, s0n, s1n, s2n, b0, b1, b2, c0, c2,
    // Output plane of R and B, with scale and bias.
    sR: c0 === 0 ? s0n : s2n, sB: c0 === 0 ? s2n : s0n, bR: c0 === 0 ? b0 : b2, bB: c0 === 0 ? b2 : b0,
    o0, o1, o2, oR: c0 === 0 ? o0 : o2, oB: c0 === 0 ? o2 : o0, rs: target.rowStride,
    cw, ch, sxC: cw / W, syC: ch / H,
  };
}

/**
 * Samples the frame inside `quad` onto an `outW × outH` grid and writes it, normalized, into
 * the tensor target (3 channel planes), on the calling thread.
 *
 * @param frame - a host-readable frame in any {@link PixelFormat}
 * @param quad - `[tl, tr, br, bl]` in frame pixel coordinates (may extend past the frame)
 * @param outW - output width in pixels
 * @param outH - output height in pixels
 * @param target - where to write
 * @param norm - normalization and channel order
 * @param color - YUV interpretation
 * @throws {FrameAccessError} when the frame's pixels cannot be read on the host
 * @throws {InvalidArgumentError} on a bad size or a target too small
 */
export function sampleToTensor(
  frame: FrameEnvelope, quad: Quad, outW: number, outH: number, target: TensorTarget, norm: Normalization, color: YuvColorOptions = {},
): void {
  const S = setup(frame, quad, outW, outH, target, norm, color);
  const { W, H, planes, packed, yuv, ky0, kiy, krv, kgu, kgv, kbu, s0n, s1n, s2n, b0, b1, b2, c0, c2, o0, o1, o2, rs, cw, ch, sxC, syC } = S;
  const out = target.data;
  const [tl, tr, br, bl] = S.quad;
  const py = planes[0]!;
  const pd = py.data, pstride = py.stride, pw = py.w, ph = py.h;
  // Chroma planes (YUV only).
  const cu = planes[1], cv = frame.format === 'I420' ? planes[2] : planes[1];
  const cstep = frame.format === 'NV12' ? 2 : 1;
  const vOff = frame.format === 'NV12' ? 1 : 0;
  const ud = cu?.data ?? pd, vd = cv?.data ?? pd, us = cu?.stride ?? 0, vs = cv?.stride ?? 0;
  const bpp = packed?.bpp ?? 1, cr = packed?.r ?? 0, cg = packed?.g ?? 0, cb = packed?.b ?? 0;

  if (S.axisAligned) {
    // Axis-aligned (the detector's whole-frame resize): separable sampling tables built once,
    // and one tight loop per plane layout.
    const X = axisTable(outW, tl.x, tr.x, pw / W, pw), Yt = axisTable(outH, tl.y, bl.y, ph / H, ph);
    const xi0 = X.i0, xi1 = X.i1, xw = X.w;
    const { oR, oB, sR, sB, bR, bB } = S;
    if (packed) {
      for (let v = 0; v < outH; v++) {
        const ra = Yt.i0[v]! * pstride, rb = Yt.i1[v]! * pstride, ay = Yt.w[v]!;
        const row = v * rs;
        for (let u = 0; u < outW; u++) {
          const ax = xw[u]!, xa = xi0[u]! * bpp, xb = xi1[u]! * bpp;
          const a0 = ra + xa, a1 = ra + xb, c0i = rb + xa, c1i = rb + xb;
          let t0 = pd[a0 + cr]!, t1 = pd[c0i + cr]!;
          t0 += (pd[a1 + cr]! - t0) * ax; t1 += (pd[c1i + cr]! - t1) * ax;
          const r = t0 + (t1 - t0) * ay;
          t0 = pd[a0 + cg]!; t1 = pd[c0i + cg]!;
          t0 += (pd[a1 + cg]! - t0) * ax; t1 += (pd[c1i + cg]! - t1) * ax;
          const g = t0 + (t1 - t0) * ay;
          t0 = pd[a0 + cb]!; t1 = pd[c0i + cb]!;
          t0 += (pd[a1 + cb]! - t0) * ax; t1 += (pd[c1i + cb]! - t1) * ax;
          const b = t0 + (t1 - t0) * ay;
          const idx = row + u;
          out[oR + idx] = r * sR + bR;
          out[o1 + idx] = g * s1n + b1;
          out[oB + idx] = b * sB + bB;
        }
      }
    } else if (!yuv) {
      for (let v = 0; v < outH; v++) {
        const ra = Yt.i0[v]! * pstride, rb = Yt.i1[v]! * pstride, ay = Yt.w[v]!;
        const row = v * rs;
        for (let u = 0; u < outW; u++) {
          const ax = xw[u]!, xa = xi0[u]!, xb = xi1[u]!;
          let t0 = pd[ra + xa]!, t1 = pd[rb + xa]!;
          t0 += (pd[ra + xb]! - t0) * ax; t1 += (pd[rb + xb]! - t1) * ax;
          const y = t0 + (t1 - t0) * ay;
          const idx = row + u;
          out[oR + idx] = y * sR + bR;
          out[o1 + idx] = y * s1n + b1;
          out[oB + idx] = y * sB + bB;
        }
      }
    } else {
      const XC = chromaAxisTable(outW, tl.x, tr.x, sxC, cw, cstep), YC = axisTable(outH, tl.y, bl.y, syC, ch);
      const ci0 = XC.i0, ci1 = XC.i1, cwt = XC.w;
      for (let v = 0; v < outH; v++) {
        const ra = Yt.i0[v]! * pstride, rb = Yt.i1[v]! * pstride, ay = Yt.w[v]!;
        const ua = YC.i0[v]! * us, ub = YC.i1[v]! * us, va = YC.i0[v]! * vs + vOff, vb = YC.i1[v]! * vs + vOff, by = YC.w[v]!;
        const row = v * rs;
        for (let u = 0; u < outW; u++) {
          const ax = xw[u]!, xa = xi0[u]!, xb = xi1[u]!;
          let t0 = pd[ra + xa]!, t1 = pd[rb + xa]!;
          t0 += (pd[ra + xb]! - t0) * ax; t1 += (pd[rb + xb]! - t1) * ax;
          const Yn = (t0 + (t1 - t0) * ay - ky0) * kiy;
          const bx = cwt[u]!, ca = ci0[u]!, cz = ci1[u]!;
          let p0 = ud[ua + ca]!, p1 = ud[ub + ca]!;
          p0 += (ud[ua + cz]! - p0) * bx; p1 += (ud[ub + cz]! - p1) * bx;
          const U = p0 + (p1 - p0) * by - 128;
          p0 = vd[va + ca]!; p1 = vd[vb + ca]!;
          p0 += (vd[va + cz]! - p0) * bx; p1 += (vd[vb + cz]! - p1) * bx;
          const V = p0 + (p1 - p0) * by - 128;
          let r = Yn + krv * V, g = Yn - kgu * U - kgv * V, b = Yn + kbu * U;
          r = r < 0 ? 0 : r > 255 ? 255 : r;
          g = g < 0 ? 0 : g > 255 ? 255 : g;
          b = b < 0 ? 0 : b > 255 ? 255 : b;
          const idx = row + u;
          out[oR + idx] = r * sR + bR;
          out[o1 + idx] = g * s1n + b1;
          out[oB + idx] = b * sB + bB;
        }
      }
    }
    return;
  }

  for (let v = 0; v < outH; v++) {
    const t = (v + 0.5) / outH;
    const lx = tl.x + (bl.x - tl.x) * t, ly = tl.y + (bl.y - tl.y) * t;
    const rx = tr.x + (br.x - tr.x) * t, ry = tr.y + (br.y - tr.y) * t;
    const row = v * rs;
    for (let u = 0; u < outW; u++) {
      const s = (u + 0.5) / outW;
      const x = lx + (rx - lx) * s, y = ly + (ry - ly) * s;
      // Luma / packed plane sample position (plane pixel centres at i + 0.5).
      let fx = x - 0.5, fy = y - 0.5;
      if (fx < 0) fx = 0; else if (fx > pw - 1) fx = pw - 1;
      if (fy < 0) fy = 0; else if (fy > ph - 1) fy = ph - 1;
      const x0 = fx | 0, y0 = fy | 0;
      const ax = fx - x0, ay = fy - y0;
      const x1 = x0 + 1 < pw ? x0 + 1 : x0, y1 = y0 + 1 < ph ? y0 + 1 : y0;
      const w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
      let r: number, g: number, b: number;
      if (packed) {
        const r0 = y0 * pstride, r1 = y1 * pstride;
        const i00 = r0 + x0 * bpp, i10 = r0 + x1 * bpp, i01 = r1 + x0 * bpp, i11 = r1 + x1 * bpp;
        r = pd[i00 + cr]! * w00 + pd[i10 + cr]! * w10 + pd[i01 + cr]! * w01 + pd[i11 + cr]! * w11;
        g = pd[i00 + cg]! * w00 + pd[i10 + cg]! * w10 + pd[i01 + cg]! * w01 + pd[i11 + cg]! * w11;
        b = pd[i00 + cb]! * w00 + pd[i10 + cb]! * w10 + pd[i01 + cb]! * w01 + pd[i11 + cb]! * w11;
      } else {
        const r0 = y0 * pstride, r1 = y1 * pstride;
        const Y = pd[r0 + x0]! * w00 + pd[r0 + x1]! * w10 + pd[r1 + x0]! * w01 + pd[r1 + x1]! * w11;
        if (!yuv) {
          r = Y; g = Y; b = Y;
        } else {
          let gx = x * sxC - 0.5, gy = y * syC - 0.5;
          if (gx < 0) gx = 0; else if (gx > cw - 1) gx = cw - 1;
          if (gy < 0) gy = 0; else if (gy > ch - 1) gy = ch - 1;
          const cx0 = gx | 0, cy0 = gy | 0;
          const bx = gx - cx0, by = gy - cy0;
          const cx1 = cx0 + 1 < cw ? cx0 + 1 : cx0, cy1 = cy0 + 1 < ch ? cy0 + 1 : cy0;
          const v00 = (1 - bx) * (1 - by), v10 = bx * (1 - by), v01 = (1 - bx) * by, v11 = bx * by;
          const a00 = cx0 * cstep, a10 = cx1 * cstep;
          const U = ud[cy0 * us + a00]! * v00 + ud[cy0 * us + a10]! * v10 + ud[cy1 * us + a00]! * v01 + ud[cy1 * us + a10]! * v11 - 128;
          const V = vd[cy0 * vs + a00 + vOff]! * v00 + vd[cy0 * vs + a10 + vOff]! * v10 + vd[cy1 * vs + a00 + vOff]! * v01 + vd[cy1 * vs + a10 + vOff]! * v11 - 128;
          const Yn = (Y - ky0) * kiy;
          r = Yn + krv * V; g = Yn - kgu * U - kgv * V; b = Yn + kbu * U;
          r = r < 0 ? 0 : r > 255 ? 255 : r;
          g = g < 0 ? 0 : g > 255 ? 255 : g;
          b = b < 0 ? 0 : b > 255 ? 255 : b;
        }
      }
      // Output channel k takes RGB channel src[k] (BGR order: b, g, r).
      const idx = row + u;
      const k0 = c0 === 0 ? r : c0 === 1 ? g : b;
      const k2 = c2 === 0 ? r : c2 === 1 ? g : b;
      out[o0 + idx] = k0 * s0n + b0;
      out[o1 + idx] = g * s1n + b1;
      out[o2 + idx] = k2 * s2n + b2;
    }
  }
}

/** Sampling positions along one axis: `n` outputs over [a, b) of a plane `size` samples long. */
function axisTable(n: number, a: number, b: number, scale: number, size: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const i0 = new Int32Array(n), i1 = new Int32Array(n), w = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let f = (a + ((b - a) * (k + 0.5)) / n) * scale - 0.5;
    if (f < 0) f = 0; else if (f > size - 1) f = size - 1;
    const j = f | 0;
    i0[k] = j;
    i1[k] = j + 1 < size ? j + 1 : j;
    w[k] = f - j;
  }
  return { i0, i1, w };
}

/** {@link axisTable} for a chroma row: indices as byte offsets (× `step`: 2 for NV12's interleaved UV, 1 for I420). */
function chromaAxisTable(n: number, a: number, b: number, scale: number, size: number, step: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const t = axisTable(n, a, b, scale, size);
  for (let k = 0; k < n; k++) { t.i0[k] = t.i0[k]! * step; t.i1[k] = t.i1[k]! * step; }
  return t;
}

/**
 * Like {@link sampleToTensor}, off the JS thread when the frame can: a media frame in NV12 or
 * I420 (one with `FrameEnvelope.letterboxInto`) replays this sampling on a native worker thread
 * — the same tables or quad mapping, the same double-precision conversion and normalization in
 * the same order, so the same floats (tested bit-exact on decoded frames). Any other frame is
 * sampled here, synchronously.
 *
 * @param frame - a host-readable frame in any {@link PixelFormat}
 * @param quad - `[tl, tr, br, bl]` in frame pixel coordinates (may extend past the frame)
 * @param outW - output width in pixels
 * @param outH - output height in pixels
 * @param target - where to write (may be a `SharedArrayBuffer` slot)
 * @param norm - normalization and channel order
 * @param color - YUV interpretation
 * @returns a promise that settles when the values are written
 * @throws {FrameAccessError} (rejects) when the frame's pixels cannot be read (released meanwhile included)
 * @throws {InvalidArgumentError} (rejects) on a bad size or a target too small
 */
export async function sampleToTensorAsync(
  frame: FrameEnvelope, quad: Quad, outW: number, outH: number, target: TensorTarget, norm: Normalization, color: YuvColorOptions = {},
): Promise<void> {
  const fmt = frame.format;
  if (typeof frame.letterboxInto !== 'function' || (fmt !== 'NV12' && fmt !== 'I420')) {
    sampleToTensor(frame, quad, outW, outH, target, norm, color);
    return;
  }
  await frame.letterboxInto(resampleRequest(frame, setup(frame, quad, outW, outH, target, norm, color), target));
}

/** The native replay of {@link sampleToTensor} for a 4:2:0 frame (see `ResampleIntoRequest`). */
function resampleRequest(frame: FrameEnvelope, S: Setup, target: TensorTarget): ResampleIntoRequest {
  const { outW, outH, W, H, cw, ch, sxC, syC } = S;
  const [tl, tr, br, bl] = S.quad;
  const py = S.planes[0]!;
  let sampling: ResampleIntoRequest['sampling'];
  if (S.axisAligned) {
    // The very tables sampleToTensor builds.
    sampling = {
      kind: 'axes',
      x: axisTable(outW, tl.x, tr.x, py.w / W, py.w), y: axisTable(outH, tl.y, bl.y, py.h / H, py.h),
      cx: chromaAxisTable(outW, tl.x, tr.x, sxC, cw, frame.format === 'NV12' ? 2 : 1), cy: axisTable(outH, tl.y, bl.y, syC, ch),
    };
  } else {
    sampling = { kind: 'quad', quad: Float64Array.of(tl.x, tl.y, tr.x, tr.y, br.x, br.y, bl.x, bl.y), sxC, syC };
  }
  return {
    kind: 'resample', width: outW, height: outH, rowStride: S.rs, sampling,
    k: { y0: S.ky0, iy: S.kiy, rv: S.krv, gu: S.kgu, gv: S.kgv, bu: S.kbu },
    norm: { sR: S.sR, bR: S.bR, sG: S.s1n, bG: S.b1, sB: S.sB, bB: S.bB },
    out: target.data, oR: S.oR, oG: S.o1, oB: S.oB,
  };
}

/** Maps a frame-access or argument failure to `ProcessingFailed`; anything else is rethrown as is. */
function toStageError(stageId: string, e: unknown): unknown {
  if (StageError.isInstance(e)) return e;
  const name = (e as { category?: unknown } | null)?.category;
  if (name === 'frame' || name === 'argument') return StageError.processingFailed(stageId, `cannot read the frame: ${(e as Error).message}`, e);
  return e;
}

/**
 * {@link withFrameAccess} for an asynchronous `fn` (a rejection is mapped the same way).
 * @internal
 */
export async function withFrameAccessAsync<T>(stageId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toStageError(stageId, e);
  }
}

/**
 * Runs `fn` and turns a frame-access failure (released, not host-accessible, failed
 * materialization, bad layout) into a {@link StageError} `ProcessingFailed`, so that only
 * this frame is dropped.
 * @internal
 */
export function withFrameAccess<T>(stageId: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toStageError(stageId, e);
  }
}
