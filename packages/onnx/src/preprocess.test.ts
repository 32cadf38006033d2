import { describe, expect, it } from 'vitest';
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import { convertFrame, createDeviceFrame, createOwnedFrame, PIXEL_FORMATS, type OwnedFrame, type PixelFormat } from '@nv/frame';
import { boxFrame, checkerFrame, gradientFrame } from '@nv/test-util';
import { LetterboxPreprocessor } from './preprocess.js';
import { letterboxReference } from './preprocess-reference.js';
import { frameToInput, inputToFrame, letterboxGeometry } from './letterbox.js';
import type { PreprocessOptions } from './preprocess-options.js';

function fused(frame: OwnedFrame, w: number, h: number, opts?: PreprocessOptions): Float32Array {
  const pre = new LetterboxPreprocessor(w, h, opts);
  const out = new Float32Array(pre.tensorSize).fill(Number.NaN);
  pre.run(frame, out);
  return out;
}

/** Largest |a − b| in 8-bit units (tensor values × 255 / std, here std = 1). */
function maxDiff255(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) * 255;
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** The same pixels in a layout with wide strides, garbage in the padding, and shuffled plane offsets. */
function restride(src: OwnedFrame): OwnedFrame {
  const extra = 13;
  const strides = src.planes.map((p) => p.rowBytes + extra);
  const sizes = src.planes.map((p, i) => strides[i]! * p.height);
  // Planes in reverse order, after a 7-byte lead.
  const offsets: number[] = new Array(src.planes.length);
  let at = 7;
  for (let i = src.planes.length - 1; i >= 0; i--) { offsets[i] = at; at += sizes[i]! + 5; }
  const data = new Uint8Array(at).fill(0xab);
  src.planes.forEach((p, i) => {
    const s = src.plane(i);
    for (let r = 0; r < p.height; r++) data.set(s.subarray(r * p.stride, r * p.stride + p.rowBytes), offsets[i]! + r * strides[i]!);
  });
  return createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: src.width, height: src.height, format: src.format, data, strides, offsets });
}

describe('fused letterbox preprocessing equals the reference (convertFrame → resize → normalize) within ±1', () => {
  const sizes: [number, number, number, number][] = [
    [97, 61, 64, 64], // odd frame, downscale, pad top/bottom
    [40, 90, 64, 48], // portrait, pad left/right
    [30, 20, 80, 80], // upscale
    [160, 90, 64, 64],
    [1920, 1080, 64, 64], // 30× bilinear: one tap per column → rows written straight into the tensor
    [50, 96, 32, 32], // rows exactly 3× (one tap), columns fractional (two taps)
    [128, 72, 64, 64], // exactly 2×: every output pixel the mean of a 2×2 block sharing one 4:2:0 chroma sample
    [256, 144, 64, 64], // exactly 4×: 2×2 blocks that straddle chroma samples
  ];
  for (const format of PIXEL_FORMATS) {
    for (const interpolation of ['bilinear', 'nearest'] as const) {
      it(`${format}, ${interpolation}`, () => {
        for (const [fw, fh, w, h] of sizes) for (const pattern of [gradientFrame, (o: { width: number; height: number; format: PixelFormat }) => checkerFrame({ ...o, cell: 3 })]) {
          // Smooth (gradient) and sharp-edged (3-pixel checker) content: the latter catches any shift of the sampling grid.
          const frame = pattern({ width: fw, height: fh, format });
          const a = fused(frame, w, h, { interpolation });
          const b = letterboxReference(frame, w, h, { interpolation }).data;
          // The requirement is ±1 (8-bit units); both read the same integer RGB at the same taps,
          // so they in fact agree to float rounding — asserting that catches off-by-one bugs too.
          expect(maxDiff255(a, b), `${fw}x${fh} → ${w}x${h}`).toBeLessThanOrEqual(1e-3);
          // Strides, offsets and padding bytes are honoured: same result from a re-laid-out copy.
          const wide = restride(frame);
          expect(maxDiff255(fused(wide, w, h, { interpolation }), a)).toBe(0);
          frame.release(); wide.release();
        }
      });
    }
  }

  it('even-integer downscales (2×2 blocks) give exactly the floats of the generic two-tap blend', () => {
    // The generic path's arithmetic, spelled out: blend the RGB taps with weights ½, normalize.
    const opts: PreprocessOptions = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'bgr' };
    for (const [fw, fh, w, h] of [[128, 72, 64, 64], [256, 144, 64, 64], [90, 60, 45, 45]] as const) {
      for (const format of PIXEL_FORMATS) {
        const frame = checkerFrame({ width: fw, height: fh, format, cell: 3 });
        const pre = new LetterboxPreprocessor(w, h, opts);
        const got = new Float32Array(pre.tensorSize);
        const g = pre.run(frame, got);
        const rgb = convertFrame(frame, 'RGB8');
        const px = rgb.plane(0), stride = rgb.planes[0]!.stride;
        const want = new Float32Array(pre.tensorSize);
        pre.fillSlot(want);
        const hw = w * h, ratio = fw / g.contentWidth;
        for (let i = 0; i < g.contentHeight; i++) for (let j = 0; j < g.contentWidth; j++) {
          const y0 = Math.floor((i + 0.5) * ratio - 0.5), x0 = Math.floor((j + 0.5) * ratio - 0.5);
          for (let c = 0; c < 3; c++) {
            const A = (x: number, y: number) => px[y * stride + x * 3 + c]!;
            const rt = A(x0, y0) + (A(x0 + 1, y0) - A(x0, y0)) * 0.5, rl = A(x0, y0 + 1) + (A(x0 + 1, y0 + 1) - A(x0, y0 + 1)) * 0.5;
            const s = 1 / (255 * opts.std![c as 0 | 1 | 2]), b = -opts.mean![c as 0 | 1 | 2] / opts.std![c as 0 | 1 | 2];
            want[(2 - c) * hw + (g.padTop + i) * w + g.padLeft + j] = (rt + (rl - rt) * 0.5) * s + b;
          }
        }
        expect(maxDiff255(got, want), `${format} ${fw}x${fh} → ${w}x${h}`).toBe(0);
        rgb.release();
        frame.release();
      }
    }
  });

  it('BGRA8 (B, G, R, A bytes) samples like RGBA8 with R and B swapped, alpha ignored', () => {
    let seed = 5;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 255; };
    const [w, h] = [37, 23];
    const rgba = new Uint8Array(w * h * 4).map(rnd);
    const bgra = new Uint8Array(rgba.length);
    for (let i = 0; i < rgba.length; i += 4) { bgra[i] = rgba[i + 2]!; bgra[i + 1] = rgba[i + 1]!; bgra[i + 2] = rgba[i]!; bgra[i + 3] = rnd(); }
    const mk = (format: 'RGBA8' | 'BGRA8', data: Uint8Array) => createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: w, height: h, format, data });
    const a = mk('RGBA8', rgba), b = mk('BGRA8', bgra);
    for (const opts of [{}, { interpolation: 'nearest', channelOrder: 'bgr' }] as const) {
      for (const [cw, ch] of [[64, 64], [18, 11], [16, 16]]) expect(maxDiff255(fused(b, cw!, ch!, opts), fused(a, cw!, ch!, opts))).toBe(0);
    }
    // 2× (2×2 blocks), and a strided BGRA8 frame
    const big = gradientFrame({ width: 128, height: 72, format: 'BGRA8' }), bigRgb = gradientFrame({ width: 128, height: 72, format: 'RGB8' });
    expect(maxDiff255(fused(big, 64, 64), fused(bigRgb, 64, 64))).toBe(0);
    expect(maxDiff255(fused(restride(big), 64, 64), fused(bigRgb, 64, 64))).toBe(0);
    for (const f of [a, b, big, bigRgb]) f.release();
  });

  it('honours pad value, mean/std, BGR order and BT.601 full-range YUV', () => {
    const opts: PreprocessOptions = { padValue: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'bgr', yuvMatrix: 'bt601', yuvRange: 'full' };
    for (const format of ['NV12', 'I420', 'RGBA8'] as const) {
      const frame = checkerFrame({ width: 75, height: 50, cell: 5, format });
      const a = fused(frame, 64, 64, opts), b = letterboxReference(frame, 64, 64, opts).data;
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
      expect(m * 255 * 0.229).toBeLessThanOrEqual(1e-3); // back in 8-bit units (smallest std)
      // BGR: plane 0 is blue. Padding (value 0) in plane 0 is (0 − mean_B) / std_B.
      expect(a[0]).toBeCloseTo((0 - 0.406) / 0.225, 5);
      frame.release();
    }
  });

  it('writes every value of its slot: a reused buffer carries nothing over between frame sizes', () => {
    const pre = new LetterboxPreprocessor(48, 48);
    const buf = new Float32Array(2 * pre.tensorSize).fill(Number.NaN);
    const wide = gradientFrame({ width: 96, height: 30, format: 'NV12' });
    const tall = gradientFrame({ width: 20, height: 90, format: 'I420' });
    pre.run(wide, buf, pre.tensorSize);
    pre.run(tall, buf, pre.tensorSize); // same slot, different geometry
    const fresh = fused(tall, 48, 48);
    expect(maxDiff255(buf.subarray(pre.tensorSize), fresh)).toBe(0);
    expect(buf.subarray(0, pre.tensorSize).every((v) => Number.isNaN(v))).toBe(true); // other slot untouched
    pre.fillSlot(buf, 0);
    expect(buf.subarray(0, pre.tensorSize).every((v) => Math.abs(v - 114 / 255) < 1e-7)).toBe(true);
    wide.release(); tall.release();
  });

  it('rejects a slot that does not fit and frames it cannot read, with typed errors', () => {
    const pre = new LetterboxPreprocessor(16, 16);
    const f = gradientFrame({ width: 8, height: 8 });
    expect(() => pre.run(f, new Float32Array(pre.tensorSize - 1))).toThrow(InvalidArgumentError);
    expect(() => pre.run(f, new Float32Array(pre.tensorSize), 1)).toThrow(InvalidArgumentError);
    f.release();
    expect(() => pre.run(f, new Float32Array(pre.tensorSize))).toThrow(expect.objectContaining({ kind: 'Released' }));
    const opaque = createDeviceFrame({
      feedId: 1, seq: 0, ts: 0, width: 8, height: 8, format: 'NV12',
      handle: { devicePtr: 4096n, pitches: [8, 8], planeOffsets: [0, 64], size: 96, deviceId: 0, stream: 0n },
    });
    try {
      pre.run(opaque, new Float32Array(pre.tensorSize));
      expect.unreachable();
    } catch (e) {
      expect(FrameAccessError.isInstance(e) && e.kind).toBe('NotHostAccessible');
    }
    opaque.release();
  });
});

describe('letterbox round trip is exact to the pixel', () => {
  it('frame pixel → canvas → frame pixel, for many sizes', () => {
    const cases: [number, number, number, number][] = [
      [1920, 1080, 640, 640], [1280, 720, 640, 640], [640, 480, 640, 640], [333, 517, 320, 320], [1080, 1920, 640, 384], [7, 3, 640, 640],
    ];
    for (const [fw, fh, w, h] of cases) {
      const g = letterboxGeometry(fw, fh, w, h);
      expect(g.padLeft * 2 + g.contentWidth === w || g.padLeft * 2 + g.contentWidth === w - 1).toBe(true);
      for (const px of [0, 1, Math.floor(fw / 3), fw - 1, fw]) {
        for (const py of [0, 1, Math.floor(fh / 2), fh - 1, fh]) {
          const c = frameToInput(g, px / fw, py / fh);
          const back = inputToFrame(g, c.x, c.y);
          expect(Math.abs(back.x * fw - px)).toBeLessThan(1e-9);
          expect(Math.abs(back.y * fh - py)).toBeLessThan(1e-9);
        }
      }
      // The content rectangle is exactly the frame.
      expect(inputToFrame(g, g.padLeft, g.padTop)).toEqual({ x: 0, y: 0 });
      expect(inputToFrame(g, g.padLeft + g.contentWidth, g.padTop + g.contentHeight)).toEqual({ x: 1, y: 1 });
    }
  });

  // A white box on black: find its edges in the tensor, map them back, get the box's pixels.
  const cases: { fw: number; fh: number; box: [number, number, number, number]; format: PixelFormat; interpolation: 'bilinear' | 'nearest' }[] = [
    { fw: 1280, fh: 720, box: [320, 180, 640, 540], format: 'RGB8', interpolation: 'bilinear' },
    { fw: 1280, fh: 720, box: [320, 180, 640, 540], format: 'NV12', interpolation: 'nearest' },
    { fw: 1920, fh: 1080, box: [300, 120, 960, 630], format: 'I420', interpolation: 'bilinear' },
    { fw: 720, fh: 1280, box: [180, 320, 540, 640], format: 'BGR8', interpolation: 'nearest' },
  ];
  for (const c of cases) {
    it(`box edges in the tensor map back to the frame's pixels (${c.fw}x${c.fh} ${c.format} ${c.interpolation})`, () => {
      const [x0, y0, x1, y1] = c.box;
      const frame = boxFrame({ width: c.fw, height: c.fh, format: c.format, box: { xMin: x0 / c.fw, yMin: y0 / c.fh, xMax: x1 / c.fw, yMax: y1 / c.fh } });
      const pre = new LetterboxPreprocessor(640, 640, { interpolation: c.interpolation });
      const t = new Float32Array(pre.tensorSize);
      const g = pre.run(frame, t);
      let cx0 = Infinity, cy0 = Infinity, cx1 = -Infinity, cy1 = -Infinity;
      for (let y = 0; y < 640; y++) for (let x = 0; x < 640; x++) {
        if (t[y * 640 + x]! > 0.75) { cx0 = Math.min(cx0, x); cy0 = Math.min(cy0, y); cx1 = Math.max(cx1, x + 1); cy1 = Math.max(cy1, y + 1); }
      }
      const a = inputToFrame(g, cx0, cy0), b = inputToFrame(g, cx1, cy1);
      expect([a.x * c.fw, a.y * c.fh, b.x * c.fw, b.y * c.fh].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([x0, y0, x1, y1]);
      frame.release();
    });
  }
});
