/**
 * Integer Y'CbCr → RGB coefficients. The arithmetic is the same 16-bit fixed point as
 * `convertFrame` in `@nv/frame` (same coefficients, same rounding), so a pixel converted here
 * equals the pixel `convertFrame(frame, 'RGB8')` produces, bit for bit.
 *
 * @internal
 * @packageDocumentation
 */
import { YUV_MATRIX_WEIGHTS, type YuvMatrix, type YuvRange } from '@nv/frame';

const SHIFT = 16;
const ONE = 1 << SHIFT;

/**
 * Fixed-point (×2^16) Y'CbCr → RGB coefficients, identical to `convertFrame`'s:
 * with Y = (Y' − y0) × iy + 2^15, U = Cb − 128, V = Cr − 128:
 * R = (Y + rv × V) >> 16, G = (Y − gu × U − gv × V) >> 16, B = (Y + bu × U) >> 16, each clamped to [0, 255].
 * @internal
 */
export interface YuvCoefficients {
  readonly iy: number;
  readonly rv: number;
  readonly gu: number;
  readonly gv: number;
  readonly bu: number;
  /** Y' offset: 16 limited, 0 full. */
  readonly y0: number;
}

const CACHE = new Map<string, YuvCoefficients>();

/**
 * @internal
 * @param matrix - BT.601 or BT.709
 * @param range - limited or full
 * @returns the shared, frozen coefficients for this matrix and range
 */
export function yuvCoefficients(matrix: YuvMatrix, range: YuvRange): YuvCoefficients {
  const key = `${matrix}/${range}`;
  const hit = CACHE.get(key);
  if (hit) return hit;
  const { kr, kb } = YUV_MATRIX_WEIGHTS[matrix];
  const kg = 1 - kr - kb;
  const limited = range === 'limited';
  const ys = limited ? 219 / 255 : 1;
  const cs = limited ? 224 / 255 : 1;
  const c: YuvCoefficients = Object.freeze({
    iy: Math.round(ONE / ys),
    rv: Math.round((2 * (1 - kr) / cs) * ONE),
    bu: Math.round((2 * (1 - kb) / cs) * ONE),
    gu: Math.round(((2 * kb * (1 - kb)) / kg / cs) * ONE),
    gv: Math.round(((2 * kr * (1 - kr)) / kg / cs) * ONE),
    y0: limited ? 16 : 0,
  });
  CACHE.set(key, c);
  return c;
}
