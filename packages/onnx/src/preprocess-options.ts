/**
 * Options shared by the fused and the reference letterbox preprocessing, and the sampling
 * rule both follow.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { YuvMatrix, YuvRange } from '@nv/frame';

/** How the frame is resampled onto the canvas. */
export type Interpolation = 'bilinear' | 'nearest';

/** Order of the three colour planes in the model input tensor. */
export type ChannelOrder = 'rgb' | 'bgr';

/**
 * How a frame becomes the model's `[3, H, W]` float input.
 *
 * Each tensor value is `(p / 255 − mean[c]) / std[c]` where `p` is the resampled 8-bit
 * colour value (or `padValue` in the padding) and `c` the colour (R, G, B).
 *
 * @example
 * ```ts
 * const opts: PreprocessOptions = { interpolation: 'nearest', channelOrder: 'rgb', yuvMatrix: 'bt601' };
 * ```
 */
export interface PreprocessOptions {
  /**
   * `bilinear` (default): 2×2 taps at half-pixel centres (`sx = (x + 0.5) × frameWidth /
   * contentWidth − 0.5`, clamped to the frame), like OpenCV's `INTER_LINEAR`.
   * `nearest`: the source pixel `floor((x + 0.5) × frameWidth / contentWidth)`.
   */
  readonly interpolation?: Interpolation;
  /** 8-bit grey level of the padding, in [0, 255]. Default 114 (the Ultralytics value). */
  readonly padValue?: number;
  /** Per-colour mean (R, G, B) subtracted after dividing by 255. Default `[0, 0, 0]`. */
  readonly mean?: readonly [number, number, number];
  /** Per-colour divisor (R, G, B) applied after the mean. Default `[1, 1, 1]`. */
  readonly std?: readonly [number, number, number];
  /** Plane order of the tensor. Default `'rgb'` (YOLO models). */
  readonly channelOrder?: ChannelOrder;
  /** Y'CbCr matrix used to read NV12/I420 frames. Default `'bt709'` (same as `convertFrame`). */
  readonly yuvMatrix?: YuvMatrix;
  /** Y'CbCr range used to read NV12/I420 frames. Default `'limited'` (same as `convertFrame`). */
  readonly yuvRange?: YuvRange;
}

/** {@link PreprocessOptions} with every default filled in. */
export type ResolvedPreprocessOptions = Readonly<Required<PreprocessOptions>>;

/** The defaults of {@link PreprocessOptions}. */
export const DEFAULT_PREPROCESS_OPTIONS: ResolvedPreprocessOptions = Object.freeze({
  interpolation: 'bilinear',
  padValue: 114,
  mean: Object.freeze([0, 0, 0]) as readonly [number, number, number],
  std: Object.freeze([1, 1, 1]) as readonly [number, number, number],
  channelOrder: 'rgb',
  yuvMatrix: 'bt709',
  yuvRange: 'limited',
});

function triple(name: string, v: unknown, positive: boolean): readonly [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
    throw new InvalidArgumentError(name, `an array of 3 finite${positive ? ' positive' : ''} numbers`, v);
  }
  return Object.freeze([v[0] as number, v[1] as number, v[2] as number]);
}

/**
 * Validates options and fills in defaults.
 * @param opts - user options (may be `undefined`)
 * @returns frozen, complete options
 * @throws {InvalidArgumentError} naming the offending field
 * @example
 * ```ts
 * resolvePreprocessOptions({ padValue: 0 }).interpolation // 'bilinear'
 * ```
 */
export function resolvePreprocessOptions(opts: PreprocessOptions | undefined): ResolvedPreprocessOptions {
  if (opts === undefined) return DEFAULT_PREPROCESS_OPTIONS;
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('preprocess', 'an options object', opts);
  const d = DEFAULT_PREPROCESS_OPTIONS;
  const interpolation = opts.interpolation ?? d.interpolation;
  if (interpolation !== 'bilinear' && interpolation !== 'nearest') throw new InvalidArgumentError('preprocess.interpolation', "'bilinear' or 'nearest'", interpolation);
  const padValue = opts.padValue ?? d.padValue;
  if (typeof padValue !== 'number' || !(padValue >= 0 && padValue <= 255)) throw new InvalidArgumentError('preprocess.padValue', 'a number in [0, 255]', padValue);
  const channelOrder = opts.channelOrder ?? d.channelOrder;
  if (channelOrder !== 'rgb' && channelOrder !== 'bgr') throw new InvalidArgumentError('preprocess.channelOrder', "'rgb' or 'bgr'", channelOrder);
  const yuvMatrix = opts.yuvMatrix ?? d.yuvMatrix;
  if (yuvMatrix !== 'bt601' && yuvMatrix !== 'bt709') throw new InvalidArgumentError('preprocess.yuvMatrix', "'bt601' or 'bt709'", yuvMatrix);
  const yuvRange = opts.yuvRange ?? d.yuvRange;
  if (yuvRange !== 'limited' && yuvRange !== 'full') throw new InvalidArgumentError('preprocess.yuvRange', "'limited' or 'full'", yuvRange);
  return Object.freeze({
    interpolation, padValue, channelOrder, yuvMatrix, yuvRange,
    mean: opts.mean === undefined ? d.mean : triple('preprocess.mean', opts.mean, false),
    std: opts.std === undefined ? d.std : triple('preprocess.std', opts.std, true),
  });
}
