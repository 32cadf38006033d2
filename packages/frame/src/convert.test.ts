import { describe, it, expect } from 'vitest';
import { FrameAccessError, InvalidArgumentError, TypedMetadata, metadataKey } from '@nv/core';
import { convertFrame } from './convert.js';
import type { ConvertOptions, YuvMatrix, YuvRange } from './convert.js';
import { createDeviceFrame } from './device-frame.js';
import { createOwnedFrame } from './owned-frame.js';
import type { OwnedFrame } from './owned-frame.js';
import { PIXEL_FORMATS, planeLayout } from './pixel-format.js';
import type { PixelFormat } from './pixel-format.js';

type Rgb = readonly [number, number, number];
const hdr = { feedId: 2, seq: 41, ts: 5_000_000, wallTs: 1_700_000_000_000_000 } as const;

function solidRgb(w: number, h: number, [r, g, b]: Rgb): OwnedFrame {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set([r, g, b], i * 3);
  return createOwnedFrame({ ...hdr, width: w, height: h, format: 'RGB8', data });
}
function rgbFrom(w: number, h: number, px: (x: number, y: number) => Rgb): OwnedFrame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(px(x, y), (y * w + x) * 3);
  return createOwnedFrame({ ...hdr, width: w, height: h, format: 'RGB8', data });
}
/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
/** Y, U, V of pixel (0,0) of a 4:2:0 frame. */
function yuvAt0(f: OwnedFrame): [number, number, number] {
  if (f.format === 'NV12') return [f.plane(0)[0]!, f.plane(1)[0]!, f.plane(1)[1]!];
  return [f.plane(0)[0]!, f.plane(1)[0]!, f.plane(2)[0]!];
}

describe('RGB → YUV known values (2×2 solid colour, so the chroma block is that colour)', () => {
  // Hand-computed from the BT.601 / BT.709 Y'CbCr equations (see the table in convert.ts docs):
  //   limited: Y' = 16 + 219·(Kr R + Kg G + Kb B)/255, Cb = 128 + 224·(B − Y)/(2(1 − Kb))/255, Cr likewise.
  //   full:    Y' = Kr R + Kg G + Kb B,                 Cb = 128 + (B − Y)/(2(1 − Kb)),         Cr likewise.
  it.each<[YuvMatrix, YuvRange, string, Rgb, Rgb]>([
    ['bt601', 'limited', 'red', [255, 0, 0], [81, 90, 240]],
    ['bt601', 'limited', 'green', [0, 255, 0], [145, 54, 34]],
    ['bt601', 'limited', 'blue', [0, 0, 255], [41, 240, 110]],
    ['bt601', 'limited', 'white', [255, 255, 255], [235, 128, 128]],
    ['bt601', 'limited', 'black', [0, 0, 0], [16, 128, 128]],
    ['bt601', 'limited', 'mid-gray', [128, 128, 128], [126, 128, 128]],
    ['bt601', 'full', 'red', [255, 0, 0], [76, 85, 255]],
    ['bt601', 'full', 'green', [0, 255, 0], [150, 44, 21]],
    ['bt601', 'full', 'blue', [0, 0, 255], [29, 255, 107]],
    ['bt601', 'full', 'white', [255, 255, 255], [255, 128, 128]],
    ['bt601', 'full', 'black', [0, 0, 0], [0, 128, 128]],
    ['bt601', 'full', 'mid-gray', [128, 128, 128], [128, 128, 128]],
    ['bt709', 'limited', 'red', [255, 0, 0], [63, 102, 240]],
    ['bt709', 'limited', 'green', [0, 255, 0], [173, 42, 26]],
    ['bt709', 'limited', 'blue', [0, 0, 255], [32, 240, 118]],
    ['bt709', 'limited', 'white', [255, 255, 255], [235, 128, 128]],
    ['bt709', 'limited', 'black', [0, 0, 0], [16, 128, 128]],
    ['bt709', 'limited', 'mid-gray', [128, 128, 128], [126, 128, 128]],
    ['bt709', 'full', 'red', [255, 0, 0], [54, 99, 255]],
    ['bt709', 'full', 'blue', [0, 0, 255], [18, 255, 116]],
  ])('%s %s %s', (matrix, range, _name, rgb, [ey, eu, ev]) => {
    for (const target of ['NV12', 'I420'] as const) {
      const out = convertFrame(solidRgb(2, 2, rgb), target, { matrix, range });
      const [y, u, v] = yuvAt0(out);
      expect(Math.abs(y - ey)).toBeLessThanOrEqual(1);
      expect(Math.abs(u - eu)).toBeLessThanOrEqual(1);
      expect(Math.abs(v - ev)).toBeLessThanOrEqual(1);
      // every luma sample is the same for a solid frame
      expect(new Set(out.plane(0))).toEqual(new Set([y]));
    }
  });

  it.each<[YuvRange, Rgb, Rgb]>([
    ['limited', [255, 255, 255], [235, 128, 128]],
    ['limited', [0, 0, 0], [16, 128, 128]],
    ['limited', [128, 128, 128], [126, 128, 128]],
    ['full', [255, 255, 255], [255, 128, 128]],
    ['full', [0, 0, 0], [0, 128, 128]],
    ['full', [77, 77, 77], [77, 128, 128]],
  ])('greys are exact (%s %j → %j) under both matrices', (range, rgb, expected) => {
    for (const matrix of ['bt601', 'bt709'] as const) {
      expect(yuvAt0(convertFrame(solidRgb(2, 2, rgb), 'I420', { matrix, range }))).toEqual(expected);
    }
  });

  it('defaults to BT.709 limited range', () => {
    expect(yuvAt0(convertFrame(solidRgb(2, 2, [255, 0, 0]), 'NV12'))).toEqual(
      yuvAt0(convertFrame(solidRgb(2, 2, [255, 0, 0]), 'NV12', { matrix: 'bt709', range: 'limited' })),
    );
    const [y] = yuvAt0(convertFrame(solidRgb(2, 2, [255, 0, 0]), 'NV12'));
    expect(Math.abs(y - 63)).toBeLessThanOrEqual(1);
  });
});

describe('YUV → RGB known values', () => {
  function yuvFrame(format: 'NV12' | 'I420', [y, u, v]: Rgb): OwnedFrame {
    const data = format === 'NV12' ? Uint8Array.of(y, y, y, y, u, v) : Uint8Array.of(y, y, y, y, u, v);
    return createOwnedFrame({ ...hdr, width: 2, height: 2, format, data });
  }
  it.each<[YuvMatrix, YuvRange, Rgb, Rgb, number]>([
    ['bt601', 'limited', [235, 128, 128], [255, 255, 255], 0],
    ['bt601', 'limited', [16, 128, 128], [0, 0, 0], 0],
    ['bt601', 'limited', [126, 128, 128], [128, 128, 128], 0],
    ['bt601', 'limited', [81, 90, 240], [255, 0, 0], 2],
    ['bt601', 'limited', [145, 54, 34], [0, 255, 0], 2],
    ['bt601', 'limited', [41, 240, 110], [0, 0, 255], 2],
    ['bt709', 'limited', [63, 102, 240], [255, 0, 0], 2],
    ['bt709', 'limited', [173, 42, 26], [0, 255, 0], 2],
    ['bt709', 'limited', [32, 240, 118], [0, 0, 255], 2],
    ['bt601', 'full', [76, 85, 255], [255, 0, 0], 2],
    ['bt601', 'full', [255, 128, 128], [255, 255, 255], 0],
    ['bt709', 'full', [0, 128, 128], [0, 0, 0], 0],
    // luma outside [16, 235] clamps instead of wrapping
    ['bt709', 'limited', [0, 128, 128], [0, 0, 0], 0],
    ['bt709', 'limited', [255, 128, 128], [255, 255, 255], 0],
    // out-of-gamut chroma clamps per channel: R' = −200 → 0, G' = 35.8, B' = 236.6
    ['bt709', 'limited', [16, 240, 16], [0, 36, 237], 1],
  ])('%s %s %j → %j (±%i)', (matrix, range, yuv, [er, eg, eb], tol) => {
    for (const format of ['NV12', 'I420'] as const) {
      const rgb = convertFrame(yuvFrame(format, yuv), 'RGB8', { matrix, range }).plane(0);
      for (let i = 0; i < 4; i++) {
        expect(Math.abs(rgb[i * 3]! - er)).toBeLessThanOrEqual(tol);
        expect(Math.abs(rgb[i * 3 + 1]! - eg)).toBeLessThanOrEqual(tol);
        expect(Math.abs(rgb[i * 3 + 2]! - eb)).toBeLessThanOrEqual(tol);
      }
    }
  });
});

describe('chroma subsampling', () => {
  /** Reference chroma (Cb, Cr) of a colour, floating point, BT.601 full range. */
  function refChroma([r, g, b]: readonly number[]): [number, number] {
    const y = 0.299 * r! + 0.587 * g! + 0.114 * b!;
    return [128 + (b! - y) / 1.772, 128 + (r! - y) / 1.402];
  }

  it('averages the 2×2 block', () => {
    // block: red, blue / black, white → average (127.5, 63.75, 127.5)
    const px: Rgb[] = [[255, 0, 0], [0, 0, 255], [0, 0, 0], [255, 255, 255]];
    const f = rgbFrom(2, 2, (x, y) => px[y * 2 + x]!);
    const out = convertFrame(f, 'I420', { matrix: 'bt601', range: 'full' });
    const [cb, cr] = refChroma([127.5, 63.75, 127.5]);
    expect(Math.abs(out.plane(1)[0]! - cb)).toBeLessThanOrEqual(0.51);
    expect(Math.abs(out.plane(2)[0]! - cr)).toBeLessThanOrEqual(0.51);
    // luma stays per pixel
    expect([...out.plane(0)]).toEqual([76, 29, 0, 255]);
  });

  it('odd sizes: edge blocks average only the pixels they have', () => {
    // 3×3: column 2 and row 2 are partial blocks.
    const colours: Rgb[] = [[200, 30, 30], [30, 200, 30], [30, 30, 200]];
    const f = rgbFrom(3, 3, (x, y) => colours[(x + y) % 3]!);
    const out = convertFrame(f, 'NV12', { matrix: 'bt601', range: 'full' });
    expect(out.planes.map((p) => [p.width, p.height])).toEqual([[3, 3], [2, 2]]);
    const c = (x: number, y: number) => colours[(x + y) % 3]!;
    const avg = (ps: Rgb[]) => [0, 1, 2].map((k) => ps.reduce((s, p) => s + p[k]!, 0) / ps.length);
    const blocks: [number, number, Rgb[]][] = [
      [0, 0, [c(0, 0), c(1, 0), c(0, 1), c(1, 1)]],
      [1, 0, [c(2, 0), c(2, 1)]],
      [0, 1, [c(0, 2), c(1, 2)]],
      [1, 1, [c(2, 2)]],
    ];
    for (const [cx, cy, ps] of blocks) {
      const [cb, cr] = refChroma(avg(ps));
      const uv = out.plane(1);
      expect(Math.abs(uv[cy * 4 + cx * 2]! - cb)).toBeLessThanOrEqual(0.51);
      expect(Math.abs(uv[cy * 4 + cx * 2 + 1]! - cr)).toBeLessThanOrEqual(0.51);
    }
  });
});

describe('round trips', () => {
  const gradient = (x: number, y: number): Rgb => [Math.min(255, 20 + x * 3), Math.min(255, 30 + y * 4), Math.min(255, 10 + (x + y) * 2)];

  it.each<[YuvMatrix, YuvRange, 'NV12' | 'I420']>([
    ['bt709', 'limited', 'I420'],
    ['bt601', 'limited', 'I420'],
    ['bt601', 'full', 'NV12'],
    ['bt709', 'full', 'NV12'],
  ])('RGB → %s %s → RGB on a smooth gradient stays close', (matrix, range, via) => {
    const src = rgbFrom(64, 48, gradient);
    const back = convertFrame(convertFrame(src, via, { matrix, range }), 'RGB8', { matrix, range });
    const a = src.plane(0), b = back.plane(0);
    let max = 0, sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    expect(max).toBeLessThanOrEqual(5);
    expect(sum / a.length).toBeLessThan(1.5);
  });

  it('RGB → I420 → RGB is within quantization error when each 2×2 block is one colour', () => {
    const src = rgbFrom(16, 16, (x, y) => {
      const v = bytes(3, (x >> 1) * 31 + (y >> 1) * 7 + 1);
      return [v[0]!, v[1]!, v[2]!];
    });
    const back = convertFrame(convertFrame(src, 'I420', { range: 'full' }), 'RGB8', { range: 'full' }).plane(0);
    const a = src.plane(0);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - back[i]!)).toBeLessThanOrEqual(2);
  });

  it('NV12 ↔ I420 is exact', () => {
    const w = 7, h = 5;
    const nv12 = createOwnedFrame({ ...hdr, width: w, height: h, format: 'NV12', data: bytes(35 + 4 * 3 * 2, 9) });
    const i420 = convertFrame(nv12, 'I420');
    expect([...i420.plane(0)]).toEqual([...nv12.plane(0)]);
    const uv = nv12.plane(1);
    expect([...i420.plane(1)]).toEqual([...uv].filter((_, i) => i % 2 === 0));
    expect([...i420.plane(2)]).toEqual([...uv].filter((_, i) => i % 2 === 1));
    expect([...convertFrame(i420, 'NV12').hostData()]).toEqual([...nv12.hostData()]);
  });

  it('RGB8 ↔ BGR8 is exact', () => {
    const data = bytes(5 * 3 * 3, 4);
    const rgb = createOwnedFrame({ ...hdr, width: 5, height: 3, format: 'RGB8', data });
    const bgr = convertFrame(rgb, 'BGR8').plane(0);
    for (let i = 0; i < 15; i++) expect([bgr[i * 3], bgr[i * 3 + 1], bgr[i * 3 + 2]]).toEqual([data[i * 3 + 2], data[i * 3 + 1], data[i * 3]]);
    const back = convertFrame(createOwnedFrame({ ...hdr, width: 5, height: 3, format: 'BGR8', data: bgr }), 'RGB8');
    expect([...back.plane(0)]).toEqual([...data]);
  });

  it('RGBA8 → RGB8 drops alpha; RGB8 → RGBA8 sets alpha to 255', () => {
    const rgba = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'RGBA8', data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
    expect([...convertFrame(rgba, 'RGB8').plane(0)]).toEqual([1, 2, 3, 5, 6, 7]);
    expect([...convertFrame(rgba, 'BGR8').plane(0)]).toEqual([3, 2, 1, 7, 6, 5]);
    const rgb = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'RGB8', data: Uint8Array.of(1, 2, 3, 5, 6, 7) });
    expect([...convertFrame(rgb, 'RGBA8').plane(0)]).toEqual([1, 2, 3, 255, 5, 6, 7, 255]);
  });
});

describe('BGRA8', () => {
  it('is B, G, R, A in memory: RGBA8 ↔ BGRA8 swaps R and B and keeps alpha', () => {
    const rgba = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'RGBA8', data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
    const bgra = convertFrame(rgba, 'BGRA8');
    expect([...bgra.plane(0)]).toEqual([3, 2, 1, 4, 7, 6, 5, 8]);
    expect([...convertFrame(bgra, 'RGBA8').plane(0)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('BGRA8 → RGB8/BGR8 drops alpha; RGB8/BGR8 → BGRA8 sets alpha to 255', () => {
    const bgra = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'BGRA8', data: Uint8Array.of(3, 2, 1, 9, 7, 6, 5, 9) });
    expect([...convertFrame(bgra, 'RGB8').plane(0)]).toEqual([1, 2, 3, 5, 6, 7]);
    expect([...convertFrame(bgra, 'BGR8').plane(0)]).toEqual([3, 2, 1, 7, 6, 5]);
    const rgb = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'RGB8', data: Uint8Array.of(1, 2, 3, 5, 6, 7) });
    expect([...convertFrame(rgb, 'BGRA8').plane(0)]).toEqual([3, 2, 1, 255, 7, 6, 5, 255]);
    const bgr = createOwnedFrame({ ...hdr, width: 1, height: 1, format: 'BGR8', data: Uint8Array.of(3, 2, 1) });
    expect([...convertFrame(bgr, 'BGRA8').plane(0)]).toEqual([3, 2, 1, 255]);
  });

  it('GRAY8 → BGRA8 replicates and sets alpha', () => {
    const f = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'GRAY8', data: Uint8Array.of(9, 200) });
    expect([...convertFrame(f, 'BGRA8').plane(0)]).toEqual([9, 9, 9, 255, 200, 200, 200, 255]);
  });

  it.each<[YuvMatrix, YuvRange, Rgb, Rgb]>([
    ['bt601', 'limited', [81, 90, 240], [255, 0, 0]],
    ['bt709', 'limited', [32, 240, 118], [0, 0, 255]],
    ['bt709', 'full', [255, 128, 128], [255, 255, 255]],
  ])('YUV → BGRA8 (%s %s) %j → B, G, R of %j, alpha 255', (matrix, range, [y, u, v], [r, g, b]) => {
    for (const format of ['NV12', 'I420'] as const) {
      const src = createOwnedFrame({ ...hdr, width: 2, height: 2, format, data: Uint8Array.of(y, y, y, y, u, v) });
      const px = convertFrame(src, 'BGRA8', { matrix, range }).plane(0);
      for (let i = 0; i < 4; i++) {
        expect(Math.abs(px[i * 4]! - b)).toBeLessThanOrEqual(2);
        expect(Math.abs(px[i * 4 + 1]! - g)).toBeLessThanOrEqual(2);
        expect(Math.abs(px[i * 4 + 2]! - r)).toBeLessThanOrEqual(2);
        expect(px[i * 4 + 3]).toBe(255);
      }
    }
  });

  it('BGRA8 → YUV and GRAY8 read the same colour as RGB8', () => {
    const rgb = rgbFrom(6, 4, (x, y) => [20 + x * 30, 200 - y * 40, 90 + x * y * 5]);
    const bgra = convertFrame(rgb, 'BGRA8');
    for (const target of ['NV12', 'I420', 'GRAY8'] as const) {
      expect([...convertFrame(bgra, target, { matrix: 'bt601' }).hostData()], target).toEqual([...convertFrame(rgb, target, { matrix: 'bt601' }).hostData()]);
    }
  });
});

describe('GRAY8', () => {
  it.each<[YuvMatrix, Rgb, number]>([
    ['bt601', [255, 0, 0], 76],
    ['bt601', [0, 255, 0], 150],
    ['bt601', [0, 0, 255], 29],
    ['bt709', [255, 0, 0], 54],
    ['bt709', [0, 255, 0], 182],
    ['bt709', [0, 0, 255], 18],
    ['bt709', [255, 255, 255], 255],
    ['bt601', [128, 128, 128], 128],
  ])('RGB → GRAY8 with %s: %j → %i (full-range luma, range option ignored)', (matrix, rgb, expected) => {
    for (const range of ['limited', 'full'] as const) {
      expect([...convertFrame(solidRgb(2, 1, rgb), 'GRAY8', { matrix, range }).plane(0)]).toEqual([expected, expected]);
    }
    const [r, g, b] = rgb;
    const bgr = createOwnedFrame({ ...hdr, width: 1, height: 1, format: 'BGR8', data: Uint8Array.of(b, g, r) });
    expect(convertFrame(bgr, 'GRAY8', { matrix }).plane(0)[0]).toBe(expected);
  });

  it.each<[YuvRange, number, number]>([
    ['limited', 16, 0],
    ['limited', 235, 255],
    ['limited', 126, 128],
    ['limited', 5, 0], // below black clamps
    ['limited', 250, 255], // above white clamps
    ['full', 77, 77],
  ])('NV12 → GRAY8 (%s): Y %i → %i', (range, y, gray) => {
    const f = createOwnedFrame({ ...hdr, width: 2, height: 2, format: 'NV12', data: Uint8Array.of(y, y, y, y, 60, 200) });
    expect([...convertFrame(f, 'GRAY8', { range }).plane(0)]).toEqual([gray, gray, gray, gray]);
  });

  it.each<[YuvRange, number, number]>([
    ['limited', 0, 16],
    ['limited', 255, 235],
    ['limited', 128, 126],
    ['full', 200, 200],
  ])('GRAY8 → I420 (%s): %i → Y %i, chroma 128', (range, gray, y) => {
    const f = createOwnedFrame({ ...hdr, width: 3, height: 3, format: 'GRAY8', data: new Uint8Array(9).fill(gray) });
    const out = convertFrame(f, 'I420', { range });
    expect(new Set(out.plane(0))).toEqual(new Set([y]));
    expect(new Set([...out.plane(1), ...out.plane(2)])).toEqual(new Set([128]));
  });

  it('GRAY8 → RGBA8 replicates and sets alpha', () => {
    const f = createOwnedFrame({ ...hdr, width: 2, height: 1, format: 'GRAY8', data: Uint8Array.of(9, 200) });
    expect([...convertFrame(f, 'RGBA8').plane(0)]).toEqual([9, 9, 9, 255, 200, 200, 200, 255]);
  });
});

describe('strided input', () => {
  it('RGB8 with padded rows (garbage in the padding) converts as if tightly packed', () => {
    const w = 5, h = 3, stride = 20;
    const tight = bytes(w * h * 3, 77);
    const padded = new Uint8Array(stride * h).fill(0xab);
    for (let y = 0; y < h; y++) padded.set(tight.subarray(y * w * 3, (y + 1) * w * 3), y * stride);
    const a = createOwnedFrame({ ...hdr, width: w, height: h, format: 'RGB8', data: tight });
    const b = createOwnedFrame({ ...hdr, width: w, height: h, format: 'RGB8', data: padded, strides: [stride] });
    for (const target of PIXEL_FORMATS) {
      const ca = convertFrame(a, target);
      const cb = convertFrame(b, target);
      expect([...cb.hostData()], target).toEqual([...ca.hostData()]);
      expect(cb.planes, target).toEqual(planeLayout(target, w, h));
    }
    expect([...convertFrame(b, 'RGB8').plane(0)]).toEqual([...tight]);
  });

  it('NV12 with padded planes and a gap between them converts like the tight frame', () => {
    const w = 6, h = 4;
    const y = bytes(w * h, 3), uv = bytes(w * (h / 2), 5);
    const tight = createOwnedFrame({ ...hdr, width: w, height: h, format: 'NV12', planes: [y, uv] });
    const data = new Uint8Array(200).fill(0xcd);
    for (let r = 0; r < h; r++) data.set(y.subarray(r * w, (r + 1) * w), r * 8);
    for (let r = 0; r < h / 2; r++) data.set(uv.subarray(r * w, (r + 1) * w), 64 + r * 16);
    const strided = createOwnedFrame({ ...hdr, width: w, height: h, format: 'NV12', data, strides: [8, 16], offsets: [0, 64] });
    for (const target of PIXEL_FORMATS) {
      expect([...convertFrame(strided, target).hostData()], target).toEqual([...convertFrame(tight, target).hostData()]);
    }
  });

  it('I420 planes with their own strides', () => {
    const w = 3, h = 2;
    const tight = createOwnedFrame({ ...hdr, width: w, height: h, format: 'I420', data: Uint8Array.of(1, 2, 3, 4, 5, 6, 100, 110, 150, 160) });
    const strided = createOwnedFrame({
      ...hdr, width: w, height: h, format: 'I420', strides: [4, 3, 3],
      planes: [Uint8Array.of(1, 2, 3, 99, 4, 5, 6, 99), Uint8Array.of(100, 110, 99), Uint8Array.of(150, 160, 99)],
    });
    expect([...convertFrame(strided, 'I420').hostData()]).toEqual([...tight.hostData()]);
    expect([...convertFrame(strided, 'RGB8').hostData()]).toEqual([...convertFrame(tight, 'RGB8').hostData()]);
  });
});

describe('every pair of formats', () => {
  /** A mid-grey frame in `format` (RGB 128 / limited Y' 126 / GRAY 128). */
  function grey(format: PixelFormat, w: number, h: number): OwnedFrame {
    const layout = planeLayout(format, w, h);
    const planes = layout.map((p, i) => {
      const fill = format === 'NV12' || format === 'I420' ? (i === 0 ? 126 : 128) : 128;
      const a = new Uint8Array(p.size).fill(fill);
      if (format === 'RGBA8' || format === 'BGRA8') for (let k = 3; k < a.length; k += 4) a[k] = 255;
      return a;
    });
    return createOwnedFrame({ ...hdr, width: w, height: h, format, planes });
  }
  const pairs = PIXEL_FORMATS.flatMap((from) => PIXEL_FORMATS.map((to) => [from, to] as const));

  it.each(pairs)('%s → %s: tightly packed, header kept, grey stays grey', (from, to) => {
    const src = grey(from, 5, 3);
    const Tag = metadataKey<number>('tag');
    src.metadata.set(Tag, 1);
    const out = convertFrame(src, to);
    expect(out).toMatchObject({ feedId: 2, seq: 41, ts: 5_000_000, wallTs: 1_700_000_000_000_000, width: 5, height: 3, format: to, refCount: 1 });
    expect(out.planes).toEqual(planeLayout(to, 5, 3));
    expect(out.metadata.get(Tag)).toBe(1);
    expect(out.metadata).not.toBe(src.metadata);
    const gray = convertFrame(out, 'GRAY8').plane(0);
    for (const v of gray) expect(Math.abs(v - 128)).toBeLessThanOrEqual(1);
    // the input is neither released nor modified
    expect(src.refCount).toBe(1);
    expect([...src.hostData()]).toEqual([...grey(from, 5, 3).hostData()]);
  });

  it('same format gives an independent copy', () => {
    const src = grey('NV12', 4, 4);
    const copy = convertFrame(src, 'NV12');
    expect([...copy.hostData()]).toEqual([...src.hostData()]);
    expect(copy.hostData().buffer).not.toBe(src.hostData().buffer);
    src.release();
    expect(copy.hostData()).toHaveLength(24);
  });

  it('metadata is cloned: the copy does not write through', () => {
    const Tag = metadataKey<string>('t');
    const meta = TypedMetadata.empty();
    const src = createOwnedFrame({ ...hdr, width: 1, height: 1, format: 'GRAY8', data: Uint8Array.of(1), metadata: meta });
    const out = convertFrame(src, 'RGB8');
    out.metadata.set(Tag, 'x');
    expect(meta.has(Tag)).toBe(false);
  });
});

describe('access and argument errors', () => {
  const handle = { devicePtr: 1n, pitches: [4], planeOffsets: [0], size: 16, deviceId: 0, stream: 0n };

  it('reads a mappable device frame through its materializer', () => {
    const f = createDeviceFrame({ ...hdr, width: 2, height: 2, format: 'GRAY8', handle, materialize: () => Uint8Array.of(16, 235, 16, 235) });
    expect([...convertFrame(f, 'GRAY8').plane(0)]).toEqual([16, 235, 16, 235]);
  });

  it.each<[string, string, () => unknown]>([
    ['released frame', 'Released', () => { const f = solidRgb(2, 2, [1, 2, 3]); f.release(); return convertFrame(f, 'BGR8'); }],
    ['opaque device frame', 'NotHostAccessible', () => convertFrame(createDeviceFrame({ ...hdr, width: 2, height: 2, format: 'GRAY8', handle }), 'RGB8')],
    ['failing materializer', 'MaterializationFailed', () => convertFrame(createDeviceFrame({ ...hdr, width: 2, height: 2, format: 'GRAY8', handle, materialize: () => new Uint8Array(1) }), 'RGB8')],
  ])('%s → FrameAccessError %s', (_name, kind, fn) => {
    try {
      fn();
      expect.unreachable();
    } catch (e) {
      expect(FrameAccessError.isInstance(e)).toBe(true);
      expect((e as FrameAccessError).kind).toBe(kind);
    }
  });

  it.each<[string, () => unknown]>([
    ['unknown target', () => convertFrame(solidRgb(1, 1, [0, 0, 0]), 'YUY2' as PixelFormat)],
    ['bad matrix', () => convertFrame(solidRgb(1, 1, [0, 0, 0]), 'NV12', { matrix: 'bt2020' } as unknown as ConvertOptions)],
    ['bad range', () => convertFrame(solidRgb(1, 1, [0, 0, 0]), 'NV12', { range: 'tv' } as unknown as ConvertOptions)],
    ['options not an object', () => convertFrame(solidRgb(1, 1, [0, 0, 0]), 'NV12', 3 as unknown as ConvertOptions)],
    ['not a frame', () => convertFrame({} as OwnedFrame, 'RGB8')],
    ['null frame', () => convertFrame(null as unknown as OwnedFrame, 'RGB8')],
  ])('%s → InvalidArgumentError', (_name, fn) => {
    expect(fn).toThrow(InvalidArgumentError);
  });
});

describe('performance', () => {
  it('1080p conversions take milliseconds, not seconds', () => {
    const w = 1920, h = 1080;
    const rgb = createOwnedFrame({ ...hdr, width: w, height: h, format: 'RGB8', data: bytes(w * h * 3, 11), transferOwnership: true });
    const t0 = performance.now();
    const nv12 = convertFrame(rgb, 'NV12');
    const t1 = performance.now();
    const back = convertFrame(nv12, 'RGB8');
    const t2 = performance.now();
    const i420 = convertFrame(nv12, 'I420');
    const t3 = performance.now();
    expect(back.width).toBe(w);
    expect(i420.planes).toHaveLength(3);
    // Generous bounds (a few × the expected time on a slow CI machine).
    expect(t1 - t0).toBeLessThan(1000);
    expect(t2 - t1).toBeLessThan(1000);
    expect(t3 - t2).toBeLessThan(500);
    for (const f of [rgb, nv12, back, i420]) f.release();
  });
});
