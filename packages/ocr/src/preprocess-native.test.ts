/**
 * The native resample (media frames' `letterboxInto` with a `ResampleIntoRequest`,
 * native/src/letterbox.cc) against the JavaScript `sampleToTensor`, on real decoded NV12 and I420
 * frames of the OCR text clip: the detector's whole-frame resize (separable tables, non-uniform
 * scales), the recognizer's crops (axis-aligned sub-rectangles, rotated and turned quads, into a
 * batch slot with row padding in a SharedArrayBuffer), both colour matrices and ranges.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResampleIntoRequest } from '@nv/frame';
import { MediaSource, type NativeFrame } from '@nv/media';
import { makeTextClip } from '@nv/test-util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Quad } from './db.js';
import { DET_NORMALIZATION, REC_NORMALIZATION, frameQuad, sampleToTensor, sampleToTensorAsync, type Normalization, type TensorTarget, type YuvColorOptions } from './preprocess.js';
import { detInputSize } from './text-detector.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-ocr-resample-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two decoded frames of the text clip in `format`, optionally scaled. */
async function frames(format: 'NV12' | 'I420', size?: { width: number; height: number }): Promise<NativeFrame[]> {
  const { path } = await makeTextClip({ frames: 20, dir });
  const src = new MediaSource({ kind: 'file', path }, { output: { format, ...(size ?? {}) } });
  const out: NativeFrame[] = [];
  for await (const f of src.frames()) { if (out.length < 2 && f.seq >= 5) out.push(f); else f.release(); }
  await src.stop();
  return out;
}

/** Largest |a − b|; a value left unwritten (NaN) on one side only counts as Infinity. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) { if (Number.isNaN(x) !== Number.isNaN(y)) m = Infinity; continue; }
    m = Math.max(m, Math.abs(x - y));
  }
  return m;
}

/** JS and native into two NaN-filled copies of a target; both results. */
async function both(f: NativeFrame, quad: Quad, w: number, h: number, t: Omit<TensorTarget, 'data'> & { length: number; shared?: boolean }, norm: Normalization, color?: YuvColorOptions) {
  const mk = () => new Float32Array(t.shared ? new SharedArrayBuffer(t.length * 4) : new ArrayBuffer(t.length * 4)).fill(Number.NaN);
  const js = mk(), nat = mk();
  sampleToTensor(f, quad, w, h, { ...t, data: js }, norm, color);
  await sampleToTensorAsync(f, quad, w, h, { ...t, data: nat }, norm, color);
  return { js, nat };
}

describe('native OCR resample (media frames) = the JavaScript sampleToTensor', () => {
  for (const format of ['NV12', 'I420'] as const) {
    it(`${format}: the detector's resize (1280×720 → 960×544, and → 640×352), identical floats`, async () => {
      const fs = await frames(format);
      expect(fs).toHaveLength(2);
      for (const f of fs) {
        expect(typeof f.letterboxInto).toBe('function');
        for (const limit of [960, 640]) {
          const { width: w, height: h } = detInputSize(f.width, f.height, limit);
          const { js, nat } = await both(f, frameQuad(f.width, f.height), w, h, { offset: 0, rowStride: w, planeStride: w * h, length: 3 * w * h, shared: true }, DET_NORMALIZATION);
          expect(nat.some(Number.isNaN)).toBe(false);
          expect(maxDiff(js, nat), `${format} → ${w}×${h}`).toBe(0);
        }
        f.release();
      }
    });

    it(`${format}: recognizer crops (sub-rectangles, rotated and turned quads) into a padded batch slot, identical floats`, async () => {
      const [f, g] = await frames(format);
      const H = 48, W = 400, plane = H * W;
      const crops: [Quad, number][] = [
        [[{ x: 200.5, y: 300.25 }, { x: 520, y: 300.25 }, { x: 520, y: 360.75 }, { x: 200.5, y: 360.75 }], 254], // axis-aligned: tables
        [[{ x: 210, y: 290 }, { x: 530, y: 305 }, { x: 527, y: 365 }, { x: 207, y: 350 }], 256], // rotated: per-pixel quad
        [[{ x: 530, y: 305 }, { x: 527, y: 365 }, { x: 207, y: 350 }, { x: 210, y: 290 }], 20], // turned 90°
        [[{ x: -30, y: -10 }, { x: 1300, y: -5 }, { x: 1310, y: 730 }, { x: -20, y: 725 }], 320], // past the frame: edge replication
      ];
      for (const [k, [quad, w]] of crops.entries()) {
        const t = { offset: (k % 2) * 3 * plane, rowStride: W, planeStride: plane, length: 2 * 3 * plane, shared: k % 2 === 0 };
        const { js, nat } = await both(f!, quad, w, H, t, REC_NORMALIZATION);
        expect(maxDiff(js, nat), `crop ${k}`).toBe(0);
        // Nothing outside the crop's rows written (row padding and the other slot stay NaN).
        let written = 0;
        for (const v of nat) if (!Number.isNaN(v)) written++;
        expect(written).toBe(3 * w * H);
      }
      f!.release();
      g!.release();
    });
  }

  it('BT.601 full range and RGB order on a 320×240 upscale, identical floats', async () => {
    const [f, g] = await frames('NV12', { width: 320, height: 240 });
    expect([f!.width, f!.height]).toEqual([320, 240]);
    const norm: Normalization = { mean: [0.1, 0.2, 0.3], std: [0.3, 0.2, 0.1], order: 'rgb' };
    for (const color of [{}, { matrix: 'bt709', range: 'full' }] as const) {
      const { width: w, height: h } = detInputSize(320, 240, 480, 'min');
      const { js, nat } = await both(f!, frameQuad(320, 240), w, h, { offset: 0, rowStride: w, planeStride: w * h, length: 3 * w * h }, norm, color);
      expect(maxDiff(js, nat)).toBe(0);
    }
    f!.release();
    g!.release();
  });

  it('a released frame rejects (typed); a bad target rejects before any native work', async () => {
    const [f, g] = await frames('I420');
    g!.release();
    const data = new Float32Array(3 * 32 * 32);
    await expect(sampleToTensorAsync(g!, frameQuad(g!.width, g!.height), 32, 32, { data, offset: 0, rowStride: 32, planeStride: 1024 }, DET_NORMALIZATION))
      .rejects.toMatchObject({ kind: 'Released' });
    await expect(sampleToTensorAsync(f!, frameQuad(f!.width, f!.height), 32, 32, { data, offset: 1, rowStride: 32, planeStride: 1024 }, DET_NORMALIZATION))
      .rejects.toMatchObject({ category: 'argument' });
    f!.release();
  });
});

describe('native OCR resample: a bad request is an error, never an out-of-bounds read or write', () => {
  it('rejects out-of-range tables, quads, strides and slots', async () => {
    const [f, g] = await frames('NV12');
    const data = new Float32Array(3 * 64 * 32);
    // Capture the requests sampleToTensorAsync builds (tables, and a quad), then break one field at a time.
    const reqs: ResampleIntoRequest[] = [];
    const capture = { format: f!.format, width: f!.width, height: f!.height, planes: f!.planes, plane: (i: number) => f!.plane(i), letterboxInto: async (r: ResampleIntoRequest) => { reqs.push(r); } };
    const target = { data, offset: 0, rowStride: 64, planeStride: 64 * 32 };
    await sampleToTensorAsync(capture as never, frameQuad(f!.width, f!.height), 64, 32, target, DET_NORMALIZATION);
    await sampleToTensorAsync(capture as never, [{ x: 10, y: 10 }, { x: 300, y: 20 }, { x: 290, y: 80 }, { x: 5, y: 70 }], 64, 32, target, REC_NORMALIZATION);
    const [axes, quad] = reqs as [ResampleIntoRequest, ResampleIntoRequest];
    await f!.letterboxInto(axes); // the captured requests themselves are fine
    await f!.letterboxInto(quad);
    const bad = (r: object) => f!.letterboxInto(r as never);
    const s = axes.sampling as Extract<ResampleIntoRequest['sampling'], { kind: 'axes' }>;
    await expect(bad({ ...axes, sampling: { ...s, x: { ...s.x, i1: new Int32Array(64).fill(1280) } } })).rejects.toThrow(/table out of range/);
    await expect(bad({ ...axes, sampling: { ...s, cx: { ...s.cx, i0: new Int32Array(64).fill(-1) } } })).rejects.toThrow(/table out of range/);
    await expect(bad({ ...axes, sampling: { ...s, cy: { ...s.cy, i0: new Int32Array(31) } } })).rejects.toThrow(/differ in length|table out of range/);
    await expect(bad({ ...axes, sampling: { ...s, x: { ...s.x, w: new Float64Array(64) } } })).rejects.toThrow(/element type/);
    await expect(bad({ ...axes, oB: data.length - 10 })).rejects.toThrow(/output slot/);
    await expect(bad({ ...axes, rowStride: 63 })).rejects.toThrow(/geometry/);
    await expect(bad({ ...axes, width: 2 ** 40 })).rejects.toThrow(/width must be an integer/);
    await expect(bad({ ...axes, sampling: { kind: 'other' } })).rejects.toThrow(/sampling.kind/);
    await expect(bad({ ...quad, sampling: { ...quad.sampling, quad: Float64Array.of(0, 0, 1, Number.NaN, 1, 1, 0, 1) } })).rejects.toThrow(/finite/);
    await expect(bad({ ...quad, sampling: { ...quad.sampling, quad: new Float64Array(7) } })).rejects.toThrow(/8 numbers/);
    await expect(bad({ ...quad, k: { ...quad.k, iy: Number.POSITIVE_INFINITY } })).rejects.toThrow(/finite/);
    f!.release();
    g!.release();
  });
});
