/**
 * The straightforward letterbox: convert the whole frame to RGB8 with `convertFrame`, then
 * resize, then normalize, one step after the other. Slow (a full-size RGB copy and a float
 * per-pixel loop); kept as the definition the fused {@link LetterboxPreprocessor} is tested
 * against and as the baseline of the benchmark.
 *
 * @packageDocumentation
 */
import { convertFrame, type FrameEnvelope } from '@nv/frame';
import { letterboxGeometry, type LetterboxGeometry } from './letterbox.js';
import { resolvePreprocessOptions, type PreprocessOptions } from './preprocess-options.js';

/**
 * Letterboxes a frame into a new `[3, inputHeight, inputWidth]` float32 array, the slow and
 * obvious way. Same sampling rule and options as {@link LetterboxPreprocessor}.
 * @param frame - a host-readable frame in any nv pixel format
 * @param inputWidth - model input width in pixels
 * @param inputHeight - model input height in pixels
 * @param options - see {@link PreprocessOptions}
 * @returns the tensor data and the geometry
 * @throws {InvalidArgumentError} on invalid sizes or options
 * @throws {FrameAccessError} when the frame cannot be read
 * @example
 * ```ts
 * const { data, geometry } = letterboxReference(frame, 640, 640);
 * ```
 */
export function letterboxReference(
  frame: FrameEnvelope, inputWidth: number, inputHeight: number, options?: PreprocessOptions,
): { data: Float32Array; geometry: LetterboxGeometry } {
  const o = resolvePreprocessOptions(options);
  const g = letterboxGeometry(frame.width, frame.height, inputWidth, inputHeight);
  // 1. Full-size colour conversion.
  const rgbFrame = convertFrame(frame, 'RGB8', { matrix: o.yuvMatrix, range: o.yuvRange });
  try {
    const rgb = rgbFrame.plane(0);
    const stride = rgbFrame.planes[0]!.stride;
    const fw = frame.width, fh = frame.height;
    // 2. Resize onto a padded 8-bit-valued float canvas.
    const canvas = new Float64Array(3 * inputWidth * inputHeight).fill(o.padValue);
    const hw = inputWidth * inputHeight;
    const px = (x: number, y: number, c: number): number => rgb[y * stride + x * 3 + c]!;
    for (let i = 0; i < g.contentHeight; i++) {
      for (let j = 0; j < g.contentWidth; j++) {
        const dst = (g.padTop + i) * inputWidth + g.padLeft + j;
        for (let c = 0; c < 3; c++) {
          let v: number;
          if (o.interpolation === 'nearest') {
            const sx = Math.min(fw - 1, Math.floor(((j + 0.5) * fw) / g.contentWidth));
            const sy = Math.min(fh - 1, Math.floor(((i + 0.5) * fh) / g.contentHeight));
            v = px(sx, sy, c);
          } else {
            const sx = Math.min(fw - 1, Math.max(0, ((j + 0.5) * fw) / g.contentWidth - 0.5));
            const sy = Math.min(fh - 1, Math.max(0, ((i + 0.5) * fh) / g.contentHeight - 0.5));
            const x0 = Math.floor(sx), y0 = Math.floor(sy);
            const x1 = Math.min(fw - 1, x0 + 1), y1 = Math.min(fh - 1, y0 + 1);
            const fx = sx - x0, fy = sy - y0;
            const top = px(x0, y0, c) * (1 - fx) + px(x1, y0, c) * fx;
            const bottom = px(x0, y1, c) * (1 - fx) + px(x1, y1, c) * fx;
            v = top * (1 - fy) + bottom * fy;
          }
          canvas[c * hw + dst] = v;
        }
      }
    }
    // 3. Normalize, in the requested plane order.
    const data = new Float32Array(3 * hw);
    const planeOf = o.channelOrder === 'rgb' ? [0, 1, 2] : [2, 1, 0];
    for (let c = 0; c < 3; c++) {
      const dstPlane = planeOf[c]!;
      const mean = o.mean[c as 0 | 1 | 2], std = o.std[c as 0 | 1 | 2];
      for (let k = 0; k < hw; k++) data[dstPlane * hw + k] = (canvas[c * hw + k]! / 255 - mean) / std;
    }
    return { data, geometry: g };
  } finally {
    rgbFrame.release();
  }
}
