import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { convertFrame, createOwnedFrame, type FrameEnvelope } from '@nv/frame';
import { gradientFrame } from '@nv/test-util';
import { DET_NORMALIZATION, REC_NORMALIZATION, frameQuad, sampleToTensor, type Normalization } from './preprocess.js';

const RAW: Normalization = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255], order: 'rgb' }; // identity: out = value

function sample(frame: FrameEnvelope, w: number, h: number, norm: Normalization = RAW, quad = frameQuad(frame.width, frame.height)): Float32Array {
  const data = new Float32Array(3 * w * h);
  sampleToTensor(frame, quad, w, h, { data, offset: 0, rowStride: w, planeStride: w * h }, norm, { matrix: 'bt709', range: 'limited' });
  return data;
}

/** A random RGB8 frame with its bytes. */
function randomRgb(w: number, h: number, seed = 1): { frame: FrameEnvelope; px: Uint8Array } {
  let s = seed;
  const px = new Uint8Array(w * h * 3).map(() => { s = (s * 1103515245 + 12345) & 0x7fffffff; return s & 255; });
  return { frame: createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: w, height: h, format: 'RGB8', data: px }), px };
}

describe('sampleToTensor', () => {
  it('at the same size copies pixels exactly into CHW planes', () => {
    const { frame, px } = randomRgb(16, 8);
    const t = sample(frame, 16, 8);
    for (let i = 0; i < 16 * 8; i++) {
      expect(t[i]).toBeCloseTo(px[i * 3]!, 3);
      expect(t[128 + i]).toBeCloseTo(px[i * 3 + 1]!, 3);
      expect(t[256 + i]).toBeCloseTo(px[i * 3 + 2]!, 3);
    }
  });

  it('halving the size averages 2 × 2 blocks (OpenCV INTER_LINEAR centres)', () => {
    const { frame, px } = randomRgb(20, 10, 7);
    const t = sample(frame, 10, 5);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 10; x++) for (let c = 0; c < 3; c++) {
      const at = (xx: number, yy: number) => px[(yy * 20 + xx) * 3 + c]!;
      const mean = (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1)) / 4;
      expect(t[c * 50 + y * 10 + x]).toBeCloseTo(mean, 3);
    }
  });

  it('applies PaddleOCR normalization in BGR order', () => {
    const frame = createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: 1, height: 1, format: 'RGB8', data: Uint8Array.of(255, 0, 51) });
    const det = sample(frame, 1, 1, DET_NORMALIZATION);
    expect(det[0]).toBeCloseTo((0.2 - 0.485) / 0.229, 5); // B
    expect(det[1]).toBeCloseTo((0 - 0.456) / 0.224, 5); // G
    expect(det[2]).toBeCloseTo((1 - 0.406) / 0.225, 5); // R
    const rec = sample(frame, 1, 1, REC_NORMALIZATION);
    expect([...rec].map((v) => Number(v.toFixed(5)))).toEqual([-0.6, -1, 1]);
  });

  it('reads BGR8, RGBA8, BGRA8 and GRAY8 frames and honours row strides', () => {
    const { frame, px } = randomRgb(8, 4, 3);
    const ref = sample(frame, 8, 4);
    for (const f of ['BGR8', 'RGBA8', 'BGRA8'] as const) {
      const conv = convertFrame(frame, f);
      expect([...sample(conv, 8, 4)]).toEqual([...ref]);
    }
    // the same RGB with 5 bytes of padding per row
    const stride = 8 * 3 + 5;
    const padded = new Uint8Array(stride * 4).fill(200);
    for (let y = 0; y < 4; y++) padded.set(px.subarray(y * 24, y * 24 + 24), y * stride);
    const strided = createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: 8, height: 4, format: 'RGB8', data: padded, strides: [stride] });
    expect([...sample(strided, 8, 4)]).toEqual([...ref]);
    const gray = createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: 2, height: 1, format: 'GRAY8', data: Uint8Array.of(10, 90) });
    expect([...sample(gray, 2, 1)]).toEqual([10, 90, 10, 90, 10, 90]);
  });

  it('BGRA8 bytes (B, G, R, A) read as RGB with alpha ignored, on every path', () => {
    const { frame, px } = randomRgb(9, 7, 11);
    const bgra = new Uint8Array(9 * 7 * 4);
    for (let i = 0; i < 9 * 7; i++) { bgra[4 * i] = px[3 * i + 2]!; bgra[4 * i + 1] = px[3 * i + 1]!; bgra[4 * i + 2] = px[3 * i]!; bgra[4 * i + 3] = (i * 37) & 255; }
    const f = createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: 9, height: 7, format: 'BGRA8', data: bgra });
    const quads = [frameQuad(9, 7), [{ x: 1, y: 0.5 }, { x: 8, y: 1 }, { x: 7.5, y: 6 }, { x: 0.5, y: 5.5 }] as const];
    for (const q of quads) for (const [w, h] of [[9, 7], [4, 3], [13, 11]] as const) {
      expect([...sample(f, w, h, DET_NORMALIZATION, q as never)]).toEqual([...sample(frame, w, h, DET_NORMALIZATION, q as never)]);
    }
  });

  it('NV12 and I420 give the RGB result up to YUV rounding and chroma subsampling', () => {
    const rgb = gradientFrame({ width: 64, height: 48 });
    const ref = sample(rgb, 32, 24);
    for (const f of ['NV12', 'I420'] as const) {
      const yuv = convertFrame(rgb, f, { matrix: 'bt709', range: 'limited' });
      const t = sample(yuv, 32, 24);
      let worst = 0;
      for (let i = 0; i < t.length; i++) worst = Math.max(worst, Math.abs(t[i]! - ref[i]!));
      expect(worst).toBeLessThan(6);
    }
  });

  it('crops along a quad: a sub-rectangle and its 90° turn', () => {
    const { frame, px } = randomRgb(12, 10, 5);
    const at = (x: number, y: number, c: number) => px[(y * 12 + x) * 3 + c]!;
    // columns 2..6, rows 3..5 at native scale
    const crop = sample(frame, 5, 3, RAW, [{ x: 2, y: 3 }, { x: 7, y: 3 }, { x: 7, y: 6 }, { x: 2, y: 6 }]);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) expect(crop[y * 5 + x]).toBeCloseTo(at(2 + x, 3 + y, 0), 3);
    // the same region, read with tl = old tr (counter-clockwise turn): output (u, v) = input (6 - v, 3 + u)
    const turned = sample(frame, 3, 5, RAW, [{ x: 7, y: 3 }, { x: 7, y: 6 }, { x: 2, y: 6 }, { x: 2, y: 3 }]);
    for (let v = 0; v < 5; v++) for (let u = 0; u < 3; u++) expect(turned[v * 3 + u]).toBeCloseTo(at(6 - v, 3 + u, 0), 3);
  });

  it('the axis-aligned fast path and the general quad path agree, for every format', () => {
    const rgb = gradientFrame({ width: 64, height: 48 });
    for (const f of ['RGB8', 'BGR8', 'RGBA8', 'BGRA8', 'GRAY8', 'NV12', 'I420'] as const) {
      const frame = convertFrame(rgb, f);
      const quad = [{ x: 3.5, y: 2 }, { x: 61, y: 2 }, { x: 61, y: 45.25 }, { x: 3.5, y: 45.25 }] as const;
      const nudged = [quad[0], quad[1], { x: 61 + 1e-9, y: 45.25 }, quad[3]] as const; // not axis-aligned: general path
      const a = sample(frame, 23, 17, DET_NORMALIZATION, quad);
      const b = sample(frame, 23, 17, DET_NORMALIZATION, nudged);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${f} value ${i}`).toBeLessThan(1e-4);
      frame.release();
    }
  });

  it('replicates edges outside the frame', () => {
    const frame = createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: 2, height: 1, format: 'GRAY8', data: Uint8Array.of(10, 90) });
    const t = sample(frame, 4, 1, RAW, [{ x: -10, y: 0 }, { x: 12, y: 0 }, { x: 12, y: 1 }, { x: -10, y: 1 }]);
    expect(t[0]).toBe(10);
    expect(t[3]).toBe(90);
  });

  it('rejects a target that is too small and bad sizes', () => {
    const { frame } = randomRgb(4, 4);
    const small = { data: new Float32Array(10), offset: 0, rowStride: 4, planeStride: 16 };
    expect(() => sampleToTensor(frame, frameQuad(4, 4), 4, 4, small, RAW)).toThrow(InvalidArgumentError);
    expect(() => sample(frame, 0, 4)).toThrow(InvalidArgumentError);
  });
});
