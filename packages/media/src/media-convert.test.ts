/**
 * The addon's libyuv converter (native/src/convert.h): every path's pixel values against
 * hand-computed BT.601 / BT.709 / BT.2020, limited / full range values, scaling, borders, odd
 * sizes, bands; then end to end through real decoding (H.264 files made at test time, lossless,
 * from raw Y'CbCr bytes written here), including a 10-bit 4:4:4 file that reaches BGR8 through
 * libyuv alone, and the fallbacks GStreamer still converts.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { monotonicTs } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { loadBinding, type RawTestConvert } from './binding.js';
import { MediaSource, mediaDiagnostics, type MediaEvent } from './index.js';
import type { NativeFrame } from './native-frame.js';
import { carriedFormats } from './pipeline.js';
import { h264Clip, scratch } from './test-fixtures.js';

type Yuv = readonly [number, number, number];
type Matrix = 'bt601' | 'bt709' | 'bt2020';
const KR: Record<Matrix, [number, number]> = { bt601: [0.299, 0.114], bt709: [0.2126, 0.0722], bt2020: [0.2627, 0.0593] };

/** Expected R, G, B of 8-bit Y'CbCr from the ITU equations (limited: Y' 16–235, C 16–240; full: 0–255). */
function rgbOf([Y, U, V]: Yuv, matrix: Matrix, full: boolean): [number, number, number] {
  const [kr, kb] = KR[matrix];
  const kg = 1 - kr - kb;
  const y = full ? Y / 255 : (Y - 16) / 219;
  const pb = (U - 128) / (full ? 255 : 224), pr = (V - 128) / (full ? 255 : 224);
  const r = y + 2 * (1 - kr) * pr, b = y + 2 * (1 - kb) * pb, g = (y - kr * r - kb * b) / kg;
  return [r, g, b].map((c) => Math.min(255, Math.max(0, Math.round(c * 255)))) as [number, number, number];
}
/** Expected GRAY8 of 8-bit luma: full-range luma (limited stretched with @nv/frame's 16.16 arithmetic). */
function grayOf(Y: number, full: boolean): number {
  return full ? Y : Math.min(255, Math.max(0, ((Y - 16) * 76309 + 32768) >> 16));
}

/** Caps colorimetry strings: [name, matrix, full range]. */
const COLORIMETRIES: readonly [string, Matrix, boolean][] = [
  ['bt601', 'bt601', false], ['bt709', 'bt709', false], ['1:4:0:0', 'bt601', true], ['1:3:0:0', 'bt709', true],
  ['bt2020', 'bt2020', false], ['1:6:0:0', 'bt2020', true],
];
const SOURCES = ['I420', 'NV12', 'Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE'] as const;
type Source = (typeof SOURCES)[number];

const hook = (): RawTestConvert => {
  const f = loadBinding().NativeSource.__testConvert;
  if (!f) throw new Error('the addon was built without NV_TEST_HOOKS');
  return f;
};

/**
 * A `format` frame of w×h whose pixel (x, y) has 8-bit Y'CbCr `px(x, y)` (10-bit formats hold
 * the same value × 4, P010 MSB-aligned). Chroma of 4:2:0 formats is taken at each block's
 * top-left pixel. Rows are padded (stride > row) to check strides are honoured.
 */
function frameOf(format: Source, w: number, h: number, px: (x: number, y: number) => Yuv, colorimetry: string) {
  const sub = format === 'I420' || format === 'NV12' || format === 'I420_10LE' || format === 'P010_10LE';
  const bytes = format.includes('10') ? 2 : 1;
  const cw = sub ? Math.ceil(w / 2) : w, ch = sub ? Math.ceil(h / 2) : h;
  const put = (a: Uint8Array, i: number, v: number) => {
    if (bytes === 1) a[i] = v;
    else new DataView(a.buffer).setUint16(i * 2, format === 'P010_10LE' ? v << 8 : v << 2, true);
  };
  const pad = 8 * bytes;
  const ys = w * bytes + pad, y = new Uint8Array(ys * h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) put(y, (r * ys) / bytes + c, px(c, r)[0]);
  const at = (c: number, r: number) => (sub ? px(c * 2, r * 2) : px(c, r));
  if (format === 'NV12' || format === 'P010_10LE') {
    const s = cw * 2 * bytes + pad, uv = new Uint8Array(s * ch);
    for (let r = 0; r < ch; r++) for (let c = 0; c < cw; c++) { put(uv, (r * s) / bytes + c * 2, at(c, r)[1]); put(uv, (r * s) / bytes + c * 2 + 1, at(c, r)[2]); }
    return { format, width: w, height: h, colorimetry, planes: [y, uv], strides: [ys, s] };
  }
  const s = cw * bytes + pad, u = new Uint8Array(s * ch), v = new Uint8Array(s * ch);
  for (let r = 0; r < ch; r++) for (let c = 0; c < cw; c++) { put(u, (r * s) / bytes + c, at(c, r)[1]); put(v, (r * s) / bytes + c, at(c, r)[2]); }
  return { format, width: w, height: h, colorimetry, planes: [y, u, v], strides: [ys, s, s] };
}
const solid = (format: Source, w: number, h: number, yuv: Yuv, colorimetry: string) => frameOf(format, w, h, () => yuv, colorimetry);

type Result = ReturnType<RawTestConvert>;
/** R, G, B (, A) of pixel (x, y) of a converted RGB-family frame, whatever its byte order. */
function rgbAt(r: Result, x: number, y: number): number[] {
  const p = r.planes![0]!;
  const d = p.data;
  switch (r.format) {
    case 'RGB': { const i = y * p.stride + x * 3; return [d[i]!, d[i + 1]!, d[i + 2]!]; }
    case 'BGR': { const i = y * p.stride + x * 3; return [d[i + 2]!, d[i + 1]!, d[i]!]; }
    case 'RGBA': { const i = y * p.stride + x * 4; return [d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!]; }
    case 'BGRA': { const i = y * p.stride + x * 4; return [d[i + 2]!, d[i + 1]!, d[i]!, d[i + 3]!]; }
    default: throw new Error(`not RGB: ${r.format}`);
  }
}
/** Y, U, V of pixel (x, y) of a converted I420/NV12 frame. */
function yuvAt(r: Result, x: number, y: number): number[] {
  const [py, p1, p2] = r.planes!;
  const Y = py!.data[y * py!.stride + x]!;
  if (r.format === 'NV12') return [Y, p1!.data[(y >> 1) * p1!.stride + (x >> 1) * 2]!, p1!.data[(y >> 1) * p1!.stride + (x >> 1) * 2 + 1]!];
  return [Y, p1!.data[(y >> 1) * p1!.stride + (x >> 1)]!, p2!.data[(y >> 1) * p2!.stride + (x >> 1)]!];
}
function expectNear(actual: readonly number[], expected: readonly number[], tol: number, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tol) throw new Error(`${what}: got [${actual.join(', ')}], expected [${expected.join(', ')}] ±${tol}`);
  }
}
/** Every pixel of the frame (visible columns only). */
function forEachPixel(r: Result, fn: (x: number, y: number) => void): void {
  for (let y = 0; y < r.height!; y++) for (let x = 0; x < r.width!; x++) fn(x, y);
}

// Colours inside the RGB gamut of every matrix (no clamping), plus the greys.
const COLOURS: readonly Yuv[] = [[120, 100, 160], [180, 150, 110], [60, 140, 128], [126, 128, 128], [200, 120, 135]];
const RGB_TARGETS = ['RGB', 'BGR', 'RGBA', 'BGRA'] as const;

describe('addon converter: pixel values of every path (NativeSource.__testConvert)', () => {
  it.each(SOURCES.flatMap((src) => COLORIMETRIES.map(([c, m, f]) => [src, c, m, f] as const)))(
    '%s (%s) → RGB8, BGR8, RGBA8, BGRA8: BT equations ±2, alpha 255, unscaled and scaled, 1 and 3 bands',
    (src, colorimetry, matrix, full) => {
      const convert = hook();
      for (const yuv of COLOURS) {
        const expected = rgbOf(yuv, matrix, full);
        // 30×18 → 30×18, 15×9 (odd, same aspect: no borders) and 48×64 → 48×64 in bands.
        for (const [w, h, ow, oh, threads] of [[30, 18, 0, 0, 2], [30, 18, 15, 9, 2], [48, 66, 0, 0, 3], [48, 67, 0, 0, 3]] as const) {
          for (const format of RGB_TARGETS) {
            const r = convert(solid(src, w, h, yuv, colorimetry), { format, threads, ...(ow ? { width: ow, height: oh } : {}) });
            expect(r.passthrough).toBe(false);
            expect([r.format, r.width, r.height]).toEqual([format, ow || w, oh || h]);
            forEachPixel(r, (x, y) => {
              const px = rgbAt(r, x, y);
              expectNear(px.slice(0, 3), expected, 2, `${src} ${colorimetry} ${yuv.join(',')} → ${format} ${r.width}x${r.height} at ${x},${y}`);
              if (px.length === 4) expect(px[3]).toBe(255);
            });
          }
        }
      }
    },
  );

  it.each(SOURCES.flatMap((src) => [['bt601', false], ['bt709', false], ['1:3:0:0', true]].map(([c, f]) => [src, c as string, f as boolean] as const)))(
    '%s (%s) → GRAY8 is full-range luma; → I420 and NV12 keep the values (10 bits: the top 8)',
    (src, colorimetry, full) => {
      const convert = hook();
      for (const yuv of [...COLOURS, [16, 128, 128], [235, 128, 128], [5, 128, 128], [250, 128, 128]] as Yuv[]) {
        for (const [w, h, ow, oh] of [[30, 18, 0, 0], [31, 17, 0, 0], [30, 18, 20, 12]] as const) {
          const size = ow ? { width: ow, height: oh } : {};
          const g = convert(solid(src, w, h, yuv, colorimetry), { format: 'GRAY8', ...size });
          forEachPixel(g, (x, y) => expectNear([g.planes![0]!.data[y * g.planes![0]!.stride + x]!], [grayOf(yuv[0], full)], 1, `${src} → GRAY8`));
          for (const format of ['I420', 'NV12'] as const) {
            const r = convert(solid(src, w, h, yuv, colorimetry), { format, ...size });
            if (r.passthrough) { expect(src).toBe(format); continue; }
            expect([r.format, r.width, r.height]).toEqual([format, ow || w, oh || h]);
            forEachPixel(r, (x, y) => expectNear(yuvAt(r, x, y), yuv, 0, `${src} ${w}x${h} → ${format} ${r.width}x${r.height} at ${x},${y}`));
          }
        }
      }
    },
  );

  it('the same format and size is passed through (no conversion); native Y444 and 10-bit become I420', () => {
    const convert = hook();
    for (const f of ['I420', 'NV12'] as const) {
      expect(convert(solid(f, 16, 8, [100, 110, 120], 'bt601'), { format: f }).passthrough).toBe(true);
      expect(convert(solid(f, 16, 8, [100, 110, 120], 'bt601'), { format: 'native' }).passthrough).toBe(true);
    }
    for (const f of ['Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE'] as const) {
      const r = convert(solid(f, 16, 8, [100, 110, 120], 'bt601'), { format: 'native' });
      expect([r.passthrough, r.format, r.width, r.height]).toEqual([false, 'I420', 16, 8]);
      forEachPixel(r, (x, y) => expectNear(yuvAt(r, x, y), [100, 110, 120], 0, `${f} native`));
    }
  });

  it('4:4:4 → 4:2:0 averages each 2×2 chroma block (odd edges: the samples they have), 8 and 10 bits', () => {
    const convert = hook();
    // U = 40 + 10x + 3y, V = 200 − 5x − 7y: each block's average is exact (or .5, rounded up).
    const px = (x: number, y: number): Yuv => [100 + x, 40 + 10 * x + 3 * y, 200 - 5 * x - 7 * y];
    for (const src of ['Y444', 'Y444_10LE'] as const) {
      for (const format of ['I420', 'NV12'] as const) {
        const r = convert(frameOf(src, 7, 5, px, 'bt709'), { format, threads: 2 });
        for (let cy = 0; cy < 3; cy++) {
          for (let cx = 0; cx < 4; cx++) {
            const xs = [2 * cx, 2 * cx + 1].filter((x) => x < 7), ys = [2 * cy, 2 * cy + 1].filter((y) => y < 5);
            const avg = (k: 1 | 2) => Math.round(xs.flatMap((x) => ys.map((y) => px(x, y)[k])).reduce((a, b) => a + b, 0) / (xs.length * ys.length) + 1e-9);
            expect(yuvAt(r, 2 * cx, 2 * cy).slice(1), `${src} → ${format} block ${cx},${cy}`).toEqual([avg(1), avg(2)]);
          }
        }
        forEachPixel(r, (x, y) => expect(yuvAt(r, x, y)[0]).toBe(100 + x));
      }
    }
  });

  it('scaling: a smooth gradient stays monotonic (down and up, every source, RGB and YUV targets)', () => {
    const convert = hook();
    const ramp = (x: number, y: number): Yuv => [30 + 2 * x + y, 90 + x, 170 - x];
    for (const src of SOURCES) {
      for (const [ow, oh] of [[40, 20], [150, 75], [33, 16]] as const) {
        for (const format of ['RGB', 'BGRA', 'I420', 'NV12', 'GRAY8'] as const) {
          const r = convert(frameOf(src, 90, 45, ramp, 'bt709'), { format, width: ow, height: oh, threads: 2 });
          expect([r.width, r.height]).toEqual([ow, oh]);
          const value = (x: number, y: number) => (format === 'I420' || format === 'NV12' ? yuvAt(r, x, y)[0]! : format === 'GRAY8'
            ? r.planes![0]!.data[y * r.planes![0]!.stride + x]! : rgbAt(r, x, y)[1]! /* G rises with Y', falls with chroma */);
          // Luma rises along x and y; G of this ramp rises along both too (±1 of RGB rounding).
          const slack = format === 'RGB' || format === 'BGRA' ? 1 : 0;
          const falls: string[] = [];
          for (let y = 0; y < oh; y++) {
            for (let x = 0; x < ow; x++) {
              if (x > 0 && value(x, y) < value(x - 1, y) - slack) falls.push(`x ${x - 1}→${x} row ${y}`);
              if (y > 0 && value(x, y) < value(x, y - 1) - slack) falls.push(`y ${y - 1}→${y} column ${x}`);
            }
          }
          expect(falls, `${src} → ${format} ${ow}x${oh}`).toEqual([]);
          expect(value(ow - 1, oh - 1)).toBeGreaterThan(value(0, 0) + 20);
        }
      }
    }
  });

  it("a different aspect keeps the picture's and adds black borders (GStreamer's add-borders rectangle)", () => {
    const convert = hook();
    const white: Yuv = [235, 128, 128];
    // 64×48 (4:3) → 32×32: picture 32×24 at y = 4.
    const rgb = convert(solid('I420', 64, 48, white, 'bt601'), { format: 'RGBA', width: 32, height: 32 });
    forEachPixel(rgb, (x, y) => expect(rgbAt(rgb, x, y), `${x},${y}`).toEqual(y >= 4 && y < 28 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    // 320×240 → 64×16: picture 21×16 at x = 21 (measured with videoconvertscale: the same).
    const gray = convert(solid('NV12', 320, 240, white, 'bt601'), { format: 'RGB', width: 64, height: 16 });
    forEachPixel(gray, (x, y) => expect(rgbAt(gray, x, y)[0], `${x},${y}`).toBe(x >= 21 && x < 42 ? 255 : 0));
    // Y'CbCr targets: black is Y' 16 (limited) / 0 (full), C 128; the picture starts at an even column.
    for (const [colorimetry, black] of [['bt601', 16], ['1:4:0:0', 0]] as const) {
      const yuv = convert(solid('I420', 320, 240, [200, 90, 160], colorimetry), { format: 'NV12', width: 64, height: 16 });
      forEachPixel(yuv, (x, y) => expect(yuvAt(yuv, x, y), `${x},${y}`).toEqual(x >= 20 && x < 41 ? [200, 90, 160] : x === 41 ? [black, 90, 160] : [black, 128, 128]));
    }
    // A non-square source pixel aspect counts: 32×32 at 2:1 is 2:1 on screen → 64×32 fills 64×32.
    const par = convert({ ...solid('I420', 32, 32, white, 'bt601'), par: [2, 1] }, { format: 'GRAY8', width: 64, height: 32 });
    expect(par.plan).not.toMatch(/borders/);
  });

  it('packed RGB sources: reordered and scaled by libyuv into every RGB target; alpha kept between 4-byte formats', () => {
    const convert = hook();
    const w = 6, h = 4;
    const make = (format: 'RGB' | 'BGR' | 'RGBA' | 'BGRA') => {
      const bpp = format.length === 4 ? 4 : 3, stride = w * bpp + 4, d = new Uint8Array(stride * h);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [r, g, b, a] = [10 + x * 20, 200 - y * 30, 50 + x * y, 99];
          const o = y * stride + x * bpp;
          d.set(format === 'RGB' ? [r, g, b] : format === 'BGR' ? [b, g, r] : format === 'RGBA' ? [r, g, b, a] : [b, g, r, a], o);
        }
      }
      return { format, width: w, height: h, planes: [d], strides: [stride] };
    };
    for (const from of RGB_TARGETS) {
      for (const to of RGB_TARGETS) {
        const r = convert(make(from), { format: to });
        if (from === to) { expect(r.passthrough).toBe(true); continue; }
        forEachPixel(r, (x, y) => {
          const alpha = to.length === 4 ? [from.length === 4 ? 99 : 255] : [];
          expect(rgbAt(r, x, y), `${from} → ${to} ${x},${y}`).toEqual([10 + x * 20, 200 - y * 30, 50 + x * y, ...alpha]);
        });
      }
      const s = convert(make(from), { format: 'BGR', width: 12, height: 8 });
      expect([s.width, s.height, s.format]).toEqual([12, 8, 'BGR']);
      expect(rgbAt(s, 0, 0)).toEqual([10, 200, 50]);
    }
    expect(() => convert(make('RGB'), { format: 'I420' })).toThrow(/no conversion from RGB to I420/);
  });

  it('rejects bad output options (every number validated)', () => {
    const convert = hook();
    const f = solid('I420', 16, 8, [100, 110, 120], 'bt601');
    expect(() => convert(f, { format: 'YUY2' })).toThrow(/output.format/);
    expect(() => convert(f, { format: 'RGB', width: 16 })).toThrow(/together/);
    expect(() => convert(f, { format: 'RGB', width: 0, height: 8 })).toThrow(/output.width/);
    expect(() => convert(f, { format: 'RGB', width: 16.5, height: 8 })).toThrow(/output.width/);
    expect(() => convert(f, { format: 'RGB', width: 16, height: 1e9 })).toThrow(/output.height/);
    expect(() => convert(f, { format: 'RGB', threads: -1 })).toThrow(/output.threads/);
    expect(() => convert(f, { format: 'RGB', threads: Number.NaN })).toThrow(/output.threads/);
    expect(() => new (loadBinding().NativeSource)({ elements: [], appsink: { sync: false }, queue: { depth: 4, policy: 'block' }, loop: false, onWake: () => {}, output: { format: 'RGB', threads: 65 } })).toThrow(/output.threads/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: files decoded by GStreamer, converted by the addon.

const hasFfmpeg = (() => { try { execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

/**
 * A lossless H.264 MP4 of `frames` frames of raw Y'CbCr (ffmpeg `-qp 0`), with the given VUI
 * colorimetry, so the decoder gives back exactly `px`. `pixFmt`: yuv420p, yuv444p, yuv420p10le,
 * yuv444p10le.
 */
function losslessClip(name: string, pixFmt: string, w: number, h: number, px: (x: number, y: number) => Yuv, vui: { space: string; range: 'tv' | 'pc' }, frames = 3): string {
  const deep = pixFmt.endsWith('10le'), sub = pixFmt.startsWith('yuv420');
  const cw = sub ? Math.ceil(w / 2) : w, ch = sub ? Math.ceil(h / 2) : h, bytes = deep ? 2 : 1;
  const frame = Buffer.alloc((w * h + 2 * cw * ch) * bytes);
  const put = (i: number, v: number) => { if (deep) frame.writeUInt16LE(v << 2, i * 2); else frame[i] = v; };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) put(y * w + x, px(x, y)[0]);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const p = sub ? px(2 * x, 2 * y) : px(x, y);
      put(w * h + y * cw + x, p[1]);
      put(w * h + cw * ch + y * cw + x, p[2]);
    }
  }
  const raw = join(scratch, `${name}.yuv`), out = join(scratch, `${name}.mp4`);
  writeFileSync(raw, Buffer.concat(Array.from({ length: frames }, () => frame)));
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${w}x${h}`, '-r', '10', '-i', raw,
    '-c:v', 'libx264', '-qp', '0', '-preset', 'ultrafast', '-colorspace', vui.space, '-color_range', vui.range, out], { stdio: 'pipe', timeout: 60_000 });
  return out;
}

async function firstFrames(src: MediaSource, check: (f: NativeFrame) => void): Promise<{ n: number; started: MediaEvent | undefined }> {
  let started: MediaEvent | undefined;
  src.on('streamStarted', (e) => { started = e; });
  let n = 0;
  try {
    for await (const f of src.frames()) {
      try { check(f); } finally { f.release(); }
      n++;
    }
  } finally {
    await src.stop();
  }
  return { n, started };
}
/** R, G, B (, A) at (x, y) of a delivered RGB-family frame. */
function framePx(f: NativeFrame, x: number, y: number): number[] {
  const p = f.plane(0), s = f.planes[0]!.stride;
  switch (f.format) {
    case 'RGB8': { const i = y * s + x * 3; return [p[i]!, p[i + 1]!, p[i + 2]!]; }
    case 'BGR8': { const i = y * s + x * 3; return [p[i + 2]!, p[i + 1]!, p[i]!]; }
    case 'RGBA8': { const i = y * s + x * 4; return [p[i]!, p[i + 1]!, p[i + 2]!, p[i + 3]!]; }
    case 'BGRA8': { const i = y * s + x * 4; return [p[i + 2]!, p[i + 1]!, p[i]!, p[i + 3]!]; }
    case 'GRAY8': return [p[y * s + x]!];
    case 'NV12': { const uv = f.plane(1), s1 = f.planes[1]!.stride; return [p[y * s + x]!, uv[(y >> 1) * s1 + (x >> 1) * 2]!, uv[(y >> 1) * s1 + (x >> 1) * 2 + 1]!]; }
    case 'I420': { const u = f.plane(1), v = f.plane(2); return [p[y * s + x]!, u[(y >> 1) * f.planes[1]!.stride + (x >> 1)]!, v[(y >> 1) * f.planes[2]!.stride + (x >> 1)]!]; }
  }
}

describe.skipIf(!hasFfmpeg)('MediaSource end to end: decoded by GStreamer, converted by libyuv in the addon', () => {
  const colour: Yuv = [120, 100, 160];
  const VUI = [
    ['smpte170m', 'tv', 'bt601', false], ['bt709', 'tv', 'bt709', false], ['smpte170m', 'pc', 'bt601', true], ['bt709', 'pc', 'bt709', true],
  ] as const;

  it.each(VUI)('I420 H.264 with colorimetry %s/%s → every target, unscaled and scaled, values per that matrix and range', async (space, range, matrix, full) => {
    const path = losslessClip(`conv-420-${space}-${range}`, 'yuv420p', 64, 48, () => colour, { space, range });
    const rgb = rgbOf(colour, matrix, full);
    const expected: Record<string, number[]> = {
      RGB8: rgb, BGR8: rgb, RGBA8: [...rgb, 255], BGRA8: [...rgb, 255], GRAY8: [grayOf(colour[0], full)], NV12: [...colour], I420: [...colour],
    };
    for (const format of ['RGB8', 'BGR8', 'RGBA8', 'BGRA8', 'GRAY8', 'NV12', 'I420'] as const) {
      for (const size of [{}, { width: 32, height: 24 }, { width: 48, height: 36 }]) {
        const src = new MediaSource({ kind: 'file', path }, { output: { format, ...size }, backpressure: { kind: 'block' } });
        const { n, started } = await firstFrames(src, (f) => {
          expect([f.format, f.width, f.height]).toEqual([format, size.width ?? 64, size.height ?? 48]);
          for (const [x, y] of [[0, 0], [f.width - 1, f.height - 1], [f.width >> 1, f.height >> 1]] as const) {
            expectNear(framePx(f, x, y), expected[format]!, format === 'I420' || format === 'NV12' ? 0 : 2, `${space}/${range} → ${format} ${f.width}x${f.height}`);
          }
        });
        expect(n).toBe(3);
        expect(started).toMatchObject({ type: 'streamStarted', format, width: size.width ?? 64, height: size.height ?? 48 });
        const stats = src.stats();
        expect(stats.decodedFormat).toBe('I420');
        expect(stats.conversion).toBe(format === 'I420' && size.width === undefined ? 'none' : 'libyuv');
      }
    }
  }, 60_000);

  it('H.264 High 4:4:4 10-bit decodes to Y444_10LE and reaches BGR8 through libyuv alone (no GStreamer conversion)', async () => {
    const px = (x: number, y: number): Yuv => [60 + x * 2, 100 + y, 150 - x];
    const path = losslessClip('conv-444p10', 'yuv444p10le', 48, 32, px, { space: 'bt709', range: 'tv' });
    for (const size of [{}, { width: 24, height: 16 }]) {
      const src = new MediaSource({ kind: 'file', path }, { output: { format: 'BGR8', ...size }, backpressure: { kind: 'block' } });
      const { n } = await firstFrames(src, (f) => {
        expect(f.format).toBe('BGR8');
        if (size.width === undefined) {
          for (const [x, y] of [[0, 0], [47, 31], [20, 9]] as const) expectNear(framePx(f, x, y), rgbOf(px(x, y), 'bt709', false), 2, `444p10 ${x},${y}`);
        }
      });
      expect(n).toBe(3);
      expect(src.stats()).toMatchObject({ decodedFormat: 'Y444_10LE', carriedFormat: 'Y444_10LE', conversion: 'libyuv', convertedFrames: 3 });
    }
    // `native`: nv has no 4:4:4 or 10-bit format, so the addon delivers I420 (8-bit).
    const nat = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } });
    const { started } = await firstFrames(nat, (f) => {
      expect(f.format).toBe('I420');
      // Y' of (10, 10); chroma: the 2×2 block's average, 10 → 8 bits, rounded (110.5 → 111, 139.5 → 140).
      expect(framePx(f, 10, 10)).toEqual([80, 111, 140]);
    });
    expect(started).toMatchObject({ format: 'I420', width: 48, height: 32 });
    expect(nat.stats()).toMatchObject({ decodedFormat: 'Y444_10LE', conversion: 'libyuv' });
  }, 60_000);

  it.each([['yuv444p', 'Y444'], ['yuv420p10le', 'I420_10LE']] as const)('%s H.264 (decoded %s) → RGBA8 and NV12, odd size for 4:4:4', async (pixFmt, decoded) => {
    const [w, h] = pixFmt === 'yuv444p' ? [33, 17] : [34, 18];
    const path = losslessClip(`conv-${pixFmt}`, pixFmt, w, h, () => colour, { space: 'smpte170m', range: 'tv' });
    for (const format of ['RGBA8', 'NV12', 'GRAY8'] as const) {
      const src = new MediaSource({ kind: 'file', path }, { output: { format }, backpressure: { kind: 'block' } });
      const { n } = await firstFrames(src, (f) => {
        expect([f.width, f.height]).toEqual([w, h]);
        const want = format === 'RGBA8' ? [...rgbOf(colour, 'bt601', false), 255] : format === 'NV12' ? [...colour] : [grayOf(colour[0], false)];
        for (const [x, y] of [[0, 0], [w - 1, h - 1]] as const) expectNear(framePx(f, x, y), want, format === 'RGBA8' ? 2 : 0, `${pixFmt} → ${format}`);
      });
      expect(n).toBe(3);
      expect(src.stats()).toMatchObject({ decodedFormat: decoded, conversion: 'libyuv' });
    }
  }, 60_000);

  it('NV12 and P010 from a (trusted) custom pipeline: converted values match the native frame read back', async () => {
    for (const fmt of ['NV12', 'P010_10LE']) {
      const pipeline = `videotestsrc num-buffers=2 pattern=solid-color foreground-color=0xff3366cc ! capsfilter caps=video/x-raw,format=${fmt},width=64,height=48`;
      // The decoded values, as nv sees them (NV12 as is; P010 via the addon's 10 → 8-bit I420).
      let yuv: number[] = [];
      await firstFrames(new MediaSource({ kind: 'custom', pipeline }, { customPipelinePolicy: 'allowTrusted', backpressure: { kind: 'block' } }), (f) => {
        expect(f.format).toBe(fmt === 'NV12' ? 'NV12' : 'I420');
        yuv = framePx(f, 5, 5);
      });
      for (const format of ['RGB8', 'BGRA8'] as const) {
        const src = new MediaSource({ kind: 'custom', pipeline }, { customPipelinePolicy: 'allowTrusted', output: { format, width: 32, height: 24 }, backpressure: { kind: 'block' } });
        const { n } = await firstFrames(src, (f) => expectNear(framePx(f, 5, 5).slice(0, 3), rgbOf(yuv as unknown as Yuv, 'bt601', false), 2, `${fmt} → ${format}`));
        expect(n).toBe(2);
        expect(src.stats()).toMatchObject({ carriedFormat: fmt, conversion: 'libyuv' });
      }
    }
  }, 60_000);

  it('fallback: a GRAY8 decode (grey JPEG) to RGB8 is converted by GStreamer; to GRAY8 it is untouched', async () => {
    const path = join(scratch, 'conv-gray.jpg');
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=1', 'pattern=solid-color', 'foreground-color=0xff808080', '!',
      'video/x-raw,format=GRAY8,width=64,height=48', '!', 'jpegenc', 'quality=100', '!', 'filesink', `location=${path}`], { stdio: 'pipe', timeout: 30_000 });
    const rgb = new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8' }, backpressure: { kind: 'block' } });
    const { n } = await firstFrames(rgb, (f) => { expect(f.format).toBe('RGB8'); expect(Math.abs(framePx(f, 10, 10)[0]! - framePx(f, 10, 10)[2]!)).toBeLessThanOrEqual(1); });
    expect(n).toBe(1);
    expect(rgb.stats().decodedFormat).toBe('GRAY8');
    expect(rgb.stats().conversion).toMatch(/^gstreamer/);
    const gray = new MediaSource({ kind: 'file', path }, { output: { format: 'GRAY8' }, backpressure: { kind: 'block' } });
    await firstFrames(gray, (f) => expect(f.format).toBe('GRAY8'));
    expect(gray.stats()).toMatchObject({ decodedFormat: 'GRAY8', conversion: 'none' });
  }, 60_000);

  it('test patterns are generated in the target format (no conversion), as before', async () => {
    for (const format of ['RGB8', 'BGRA8', 'NV12', 'GRAY8'] as const) {
      const src = new MediaSource({ kind: 'testPattern', pattern: 'white', width: 64, height: 48, frames: 2 }, { output: { format }, backpressure: { kind: 'block' } });
      const { n } = await firstFrames(src, (f) => expect(f.format).toBe(format));
      expect(n).toBe(2);
      expect(src.stats().conversion).toBe('none');
    }
    const native = new MediaSource({ kind: 'testPattern', width: 64, height: 48, frames: 1 }, { backpressure: { kind: 'block' } });
    await firstFrames(native, (f) => expect(f.format).toBe('RGBA8'));
  }, 30_000);
});

describe('carried formats (pipeline.ts)', () => {
  it('lists what the addon converts, target first; leaves out what only GStreamer can convert', () => {
    expect(carriedFormats('RGB8')).toEqual(['RGB', 'I420', 'NV12', 'Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE', 'BGR', 'RGBA', 'BGRA']);
    expect(carriedFormats('I420')).toEqual(['I420', 'NV12', 'Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE']);
    expect(carriedFormats('GRAY8')).toEqual(['GRAY8', 'I420', 'NV12', 'Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE']);
    expect(carriedFormats('native')).toContain('BGRA');
  });
});

describe('addon converter in worker_threads', () => {
  // Workers use the same process-wide conversion pool; a worker terminated while its frames are
  // being converted must leave the pool and the other decoders working.
  const addonPath = join(dirname(createRequire(import.meta.url).resolve('@nv/native/package.json')), 'build', 'Release', 'nv_native.node');
  const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const b = require(workerData.addonPath);
let frames = 0, px = -1;
const src = new b.NativeSource({
  elements: [
    { factory: 'videotestsrc', props: { 'num-buffers': String(workerData.frames), pattern: 'white' } },
    { factory: 'capsfilter', props: { caps: 'video/x-raw,format=I420,width=320,height=240' } },
  ],
  queue: { depth: 2, policy: 'block' },
  output: { format: 'RGB', width: 160, height: 120, threads: 3 },
  onWake() {
    let f;
    while ((f = src.pull())) { px = new Uint8Array(f.planes[0].buffer)[0]; f.handle.release(); frames++; if (frames === 1) parentPort.postMessage({ first: true }); }
    for (const e of src.pollEvents()) if (e.type === 'eos' || e.type === 'error') { src.dispose(); parentPort.postMessage({ frames, px, ev: e.type }); }
  },
});
src.start();
`;
  it('two workers convert at the same time as the main thread; terminating one mid-stream harms nothing', async () => {
    // The worker that is terminated has an endless source (num-buffers -1), so it is always
    // mid-stream when terminate() lands, however loaded the machine is.
    const run = (frames: number, terminateEarly: boolean) => new Promise<{ frames: number; px: number; ev: string } | 'terminated'>((resolve, reject) => {
      const w = new Worker(workerSource, { eval: true, workerData: { addonPath, frames } });
      w.on('message', (m: { first?: boolean; frames: number; px: number; ev: string }) => {
        if (m.first) { if (terminateEarly) void w.terminate().then(() => resolve('terminated')); return; }
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    const main = new MediaSource({ kind: 'testPattern', pattern: 'white', width: 320, height: 240, frames: 40 }, { output: { format: 'BGRA8', width: 100, height: 75 }, backpressure: { kind: 'block' } });
    const [a, b, c, m] = await Promise.all([run(40, false), run(-1, true), run(40, false), firstFrames(main, (f) => expect(f.format).toBe('BGRA8'))]);
    expect(a).toEqual({ frames: 40, px: 255, ev: 'eos' });
    expect(b).toBe('terminated');
    expect(c).toEqual({ frames: 40, px: 255, ev: 'eos' });
    expect(m.n).toBe(40);
  }, 60_000);
});

describe('conversion and resume', () => {
  it('frames skipped by a resume are never converted', async () => {
    const path = h264Clip('conv-resume', 30);
    const all: number[] = [];
    await firstFrames(new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8', width: 160, height: 120 }, backpressure: { kind: 'block' } }), (f) => all.push(f.ts));
    const src = new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8', width: 160, height: 120 }, backpressure: { kind: 'block' } });
    src.resumeAfter(monotonicTs(all[19]!));
    const ts: number[] = [];
    await firstFrames(src, (f) => ts.push(f.ts));
    expect(ts).toEqual(all.slice(20));
    const stats = src.stats();
    expect(stats.resumeSkipped).toBeGreaterThanOrEqual(1);
    expect(stats.convertedFrames).toBe(10); // only the delivered ones
  });
});

describe('conversion memory', () => {
  it('pooled output blocks outlive the source only as long as its frames; none is leaked', async () => {
    const blocks = () => (loadBinding().NativeSource as unknown as { __testConvertBuffers(): number }).__testConvertBuffers();
    const before = mediaDiagnostics().liveFrames;
    const src = new MediaSource({ kind: 'file', path: h264Clip('conv-memory', 12) }, { output: { format: 'RGBA8', width: 160, height: 120 }, backpressure: { kind: 'block' } });
    const held: NativeFrame[] = [];
    for await (const f of src.frames()) {
      if (held.length < 3) held.push(f); else f.release();
    }
    await src.stop();
    expect(blocks()).toBe(3); // the source's free list went with it; the held frames keep theirs
    expect(held.map((f) => [f.format, f.width, f.plane(0)[3]])).toEqual([['RGBA8', 160, 255], ['RGBA8', 160, 255], ['RGBA8', 160, 255]]);
    for (const f of held) f.release();
    expect(blocks()).toBe(0);
    expect(mediaDiagnostics().liveFrames).toBe(before);
  });
});
