/**
 * Checks both one-frame encoders (`JpegEncoder`, `H264Encoder`) make: the input shape at open,
 * and each frame and timestamp at encode.
 *
 * @internal
 */
import { InvalidArgumentError, type MonotonicTs } from '@nv/core';
import type { FrameEnvelope, PixelFormat } from '@nv/frame';
import { NV_FORMAT_TO_GST } from './pipeline.js';

/** The largest input side (`@nv/frame`'s `MAX_FRAME_DIMENSION`). */
const MAX_IN = 65_536;

/**
 * Validates an encoder's input size and format.
 * @throws {InvalidArgumentError} naming `options`, `width`, `height` or `format`
 */
export function checkInputShape(options: unknown, what: string): { width: number; height: number; format: PixelFormat } {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', `a ${what} object`, options);
  const { width, height, format } = options as { width?: unknown; height?: unknown; format?: unknown };
  if (!Number.isInteger(width) || (width as number) < 1 || (width as number) > MAX_IN) throw new InvalidArgumentError('width', 'an integer in [1, 65536]', width);
  if (!Number.isInteger(height) || (height as number) < 1 || (height as number) > MAX_IN) throw new InvalidArgumentError('height', 'an integer in [1, 65536]', height);
  if (typeof format !== 'string' || !Object.prototype.hasOwnProperty.call(NV_FORMAT_TO_GST, format)) {
    throw new InvalidArgumentError('format', `one of ${Object.keys(NV_FORMAT_TO_GST).join(', ')}`, format);
  }
  return { width: width as number, height: height as number, format: format as PixelFormat };
}

/**
 * Validates a frame and timestamp given to an encoder of shape `o`.
 * @throws {InvalidArgumentError} naming `frame` or `ts`
 */
export function checkFrameAndTs(frame: FrameEnvelope, o: { readonly width: number; readonly height: number; readonly format: PixelFormat }, ts: MonotonicTs | number | undefined): void {
  if (typeof frame !== 'object' || frame === null) throw new InvalidArgumentError('frame', 'a frame', frame);
  if (frame.width !== o.width || frame.height !== o.height || frame.format !== o.format) {
    throw new InvalidArgumentError('frame', `a ${o.width}x${o.height} ${o.format} frame`, `${String(frame.width)}x${String(frame.height)} ${String(frame.format)}`);
  }
  if (ts !== undefined && !(typeof ts === 'number' && Number.isFinite(ts) && ts >= 0 && ts <= Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError('ts', 'a finite number of nanoseconds >= 0', ts);
  }
}
