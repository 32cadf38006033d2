/**
 * Letterbox geometry: how a frame is scaled (aspect ratio kept) and centred on the model's
 * input canvas, and the exact mapping between frame and input coordinates.
 *
 * The frame is scaled by `scale = min(inputWidth / frameWidth, inputHeight / frameHeight)`;
 * the scaled content is `contentWidth = round(frameWidth × scale)` by
 * `contentHeight = round(frameHeight × scale)` pixels, placed at `(padLeft, padTop)` with
 * `padLeft = floor((inputWidth − contentWidth) / 2)` (same for the top). Everything else on the
 * canvas is padding.
 *
 * Mapping uses the content size, not `scale`, on each axis, so the content rectangle
 * `[padLeft, padLeft + contentWidth] × [padTop, padTop + contentHeight]` maps exactly onto
 * the frame `[0, 1]²` and back (the preprocessor samples with the same per-axis ratios).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';

/**
 * Where a frame lands on the model input canvas.
 * @example
 * ```ts
 * const g = letterboxGeometry(1920, 1080, 640, 640);
 * // g.contentWidth 640, g.contentHeight 360, g.padLeft 0, g.padTop 140
 * ```
 */
export interface LetterboxGeometry {
  /** Frame width in pixels. */
  readonly frameWidth: number;
  /** Frame height in pixels. */
  readonly frameHeight: number;
  /** Model input (canvas) width in pixels. */
  readonly inputWidth: number;
  /** Model input (canvas) height in pixels. */
  readonly inputHeight: number;
  /** Uniform scale factor `min(inputWidth / frameWidth, inputHeight / frameHeight)`. */
  readonly scale: number;
  /** Width of the scaled frame on the canvas, in pixels (≥ 1). */
  readonly contentWidth: number;
  /** Height of the scaled frame on the canvas, in pixels (≥ 1). */
  readonly contentHeight: number;
  /** Padding columns left of the content. */
  readonly padLeft: number;
  /** Padding rows above the content. */
  readonly padTop: number;
}

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(name, 'a positive integer', v);
}

/**
 * Computes the letterbox placement of a `frameWidth × frameHeight` frame on an
 * `inputWidth × inputHeight` canvas.
 * @param frameWidth - frame width in pixels
 * @param frameHeight - frame height in pixels
 * @param inputWidth - model input width in pixels
 * @param inputHeight - model input height in pixels
 * @returns the frozen geometry
 * @throws {InvalidArgumentError} when a size is not a positive integer
 * @example
 * ```ts
 * letterboxGeometry(1280, 720, 640, 640).padTop // 140
 * ```
 */
export function letterboxGeometry(frameWidth: number, frameHeight: number, inputWidth: number, inputHeight: number): LetterboxGeometry {
  checkSize('frameWidth', frameWidth);
  checkSize('frameHeight', frameHeight);
  checkSize('inputWidth', inputWidth);
  checkSize('inputHeight', inputHeight);
  const scale = Math.min(inputWidth / frameWidth, inputHeight / frameHeight);
  const contentWidth = Math.min(inputWidth, Math.max(1, Math.round(frameWidth * scale)));
  const contentHeight = Math.min(inputHeight, Math.max(1, Math.round(frameHeight * scale)));
  return Object.freeze({
    frameWidth, frameHeight, inputWidth, inputHeight, scale, contentWidth, contentHeight,
    padLeft: Math.floor((inputWidth - contentWidth) / 2),
    padTop: Math.floor((inputHeight - contentHeight) / 2),
  });
}

/**
 * Maps a point on the input canvas (pixels) to normalized frame coordinates. Not clamped:
 * points in the padding map outside `[0, 1]`.
 * @param g - the geometry
 * @param x - canvas x in pixels
 * @param y - canvas y in pixels
 * @returns `{ x, y }` as fractions of the frame
 * @example
 * ```ts
 * inputToFrame(letterboxGeometry(1920, 1080, 640, 640), 320, 320) // { x: 0.5, y: 0.5 }
 * ```
 */
export function inputToFrame(g: LetterboxGeometry, x: number, y: number): { x: number; y: number } {
  return { x: (x - g.padLeft) / g.contentWidth, y: (y - g.padTop) / g.contentHeight };
}

/**
 * Maps normalized frame coordinates to a point on the input canvas (pixels); the inverse of
 * {@link inputToFrame}.
 * @param g - the geometry
 * @param x - frame x as a fraction of the width
 * @param y - frame y as a fraction of the height
 * @returns `{ x, y }` in canvas pixels
 * @example
 * ```ts
 * frameToInput(letterboxGeometry(1920, 1080, 640, 640), 0, 0) // { x: 0, y: 140 }
 * ```
 */
export function frameToInput(g: LetterboxGeometry, x: number, y: number): { x: number; y: number } {
  return { x: g.padLeft + x * g.contentWidth, y: g.padTop + y * g.contentHeight };
}
