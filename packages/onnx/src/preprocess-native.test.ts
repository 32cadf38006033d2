/**
 * The native letterbox path (media frames' `letterboxInto`, native/src/letterbox.cc) against the
 * JavaScript path, on real decoded NV12 and I420 frames: the same floats, at the downscales the
 * sampling plan treats differently (1080p: one tap per column; 720p: 2×2 blocks, which the JS path
 * averages directly while native replays the generic blend; 320×240: an upscale), with padding, with normalization and BGR order, into a SharedArrayBuffer slot.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LetterboxIntoRequest } from '@nv/frame';
import { MediaSource, type NativeFrame } from '@nv/media';
import { afterAll, describe, expect, it } from 'vitest';
import { LetterboxPreprocessor } from './preprocess.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-letterbox-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two decoded frames of a moving, colourful clip in `format` at `width`×`height`. */
async function frames(width: number, height: number, format: 'NV12' | 'I420'): Promise<NativeFrame[]> {
  const path = join(dir, `clip-${width}x${height}.mp4`);
  execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=3', 'pattern=ball', 'background-color=0xff3060a0', '!',
    `video/x-raw,format=I420,width=${width},height=${height},framerate=30/1`, '!', 'x264enc', 'speed-preset=ultrafast', '!', 'mp4mux', '!',
    'filesink', `location=${path}`], { stdio: 'pipe', timeout: 60_000 });
  const src = new MediaSource({ kind: 'file', path }, { output: { format } });
  const out: NativeFrame[] = [];
  for await (const f of src.frames()) { if (out.length < 2) out.push(f); else f.release(); }
  await src.stop();
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('native letterbox (media frames) = the JavaScript letterbox', () => {
  for (const [w, h] of [[1920, 1080], [1280, 720], [320, 240]] as const) {
    for (const format of ['NV12', 'I420'] as const) {
      it(`${w}×${h} ${format} → 640×640: identical floats, padding included`, async () => {
        const fs = await frames(w, h, format);
        expect(fs).toHaveLength(2);
        const pre = new LetterboxPreprocessor(640, 640);
        for (const f of fs) {
          expect(f.format).toBe(format);
          expect(typeof f.letterboxInto).toBe('function');
          const js = new Float32Array(pre.tensorSize).fill(Number.NaN);
          const nat = new Float32Array(pre.tensorSize).fill(Number.NaN);
          const g1 = pre.run(f, js);
          const g2 = await pre.runAsync(f, nat);
          expect(g2).toEqual(g1);
          expect(nat.some(Number.isNaN)).toBe(false); // every float written (content natively, padding in JS)
          expect(maxDiff(js, nat)).toBe(0);
          f.release();
        }
      });
    }
  }

  it('even-integer downscales (the JS path averages 2×2 blocks; native replays the generic blend): identical floats', async () => {
    for (const format of ['NV12', 'I420'] as const) {
      const fs = await frames(1280, 720, format);
      for (const [w, h] of [[640, 640], [320, 320], [320, 180]] as const) { // 2×, 4× (blocks straddle chroma), 4× without padding
        const pre = new LetterboxPreprocessor(w, h, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'bgr' });
        for (const f of fs) {
          const js = new Float32Array(pre.tensorSize).fill(Number.NaN), nat = new Float32Array(pre.tensorSize).fill(Number.NaN);
          pre.run(f, js);
          await pre.runAsync(f, nat);
          expect(maxDiff(js, nat), `${format} → ${w}×${h}`).toBe(0);
        }
      }
      for (const f of fs) f.release();
    }
  });

  it('normalization, BGR order, nearest sampling, a slot at an offset of a SharedArrayBuffer: identical to JS', async () => {
    const [f, g] = await frames(1280, 720, 'NV12');
    const pre = new LetterboxPreprocessor(416, 320, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'bgr', interpolation: 'nearest', padValue: 0 });
    const size = pre.tensorSize;
    const shared = new Float32Array(new SharedArrayBuffer(3 * size * 4));
    const js = new Float32Array(size);
    pre.run(f!, js);
    await pre.runAsync(f!, shared, size);
    expect(maxDiff(js, shared.subarray(size, 2 * size))).toBe(0);
    expect(shared[0]).toBe(0); // the slots around it untouched
    expect(shared[2 * size]).toBe(0);
    f!.release();
    g!.release();
  });

  it('a released frame rejects (typed), and the frame stays retained while the native work runs', async () => {
    const [f, g] = await frames(320, 240, 'I420');
    const pre = new LetterboxPreprocessor(64, 64);
    const out = new Float32Array(pre.tensorSize);
    const p = pre.runAsync(f!, out);
    expect(f!.refCount).toBe(2); // retained by the native call
    f!.release(); // the caller lets go early: the native work still reads mapped memory
    await p;
    expect(f!.isReleased).toBe(true);
    g!.release();
    await expect(pre.runAsync(g!, out)).rejects.toMatchObject({ kind: 'Released' });
  });
});

describe('native letterbox: a bad plan is an error, never an out-of-bounds read or write', () => {
  it('rejects out-of-range geometry, taps, rows and slots', async () => {
    const [f, g] = await frames(320, 240, 'NV12');
    const pre = new LetterboxPreprocessor(64, 64);
    const out = new Float32Array(pre.tensorSize);
    const good = new Float32Array(pre.tensorSize);
    await pre.runAsync(f!, good);
    // Capture the request the preprocessor builds, then break one field at a time.
    let req: LetterboxIntoRequest | undefined;
    const capture = { ...f!, format: 'NV12', width: f!.width, height: f!.height, letterboxInto: async (r: never) => { req = r; } };
    await pre.runAsync(capture as never, out);
    expect(req).toBeDefined();
    const bad = (patch: (r: NonNullable<typeof req>) => object) => f!.letterboxInto(patch(req!) as never);
    await expect(bad((r) => ({ ...r, plan: { ...r.plan, padTop: -1 } }))).rejects.toThrow(/padTop/);
    await expect(bad((r) => ({ ...r, W: 2 ** 62 }))).rejects.toThrow(/W must be an integer/);
    await expect(bad((r) => ({ ...r, oR: Number.NaN }))).rejects.toThrow(/oR/);
    await expect(bad((r) => ({ ...r, plan: { ...r.plan, padLeft: 64 } }))).rejects.toThrow(/geometry/);
    await expect(bad((r) => ({ ...r, oB: out.length }))).rejects.toThrow(/output slot/);
    await expect(bad((r) => ({ ...r, plan: { ...r.plan, rowY0: new Int32Array(r.plan.rowY0.length).fill(10_000) } }))).rejects.toThrow(/source row/);
    await expect(bad((r) => ({ ...r, plan: { ...r.plan, colT1: new Int32Array(r.plan.colT1.length).fill(1 << 20) } }))).rejects.toThrow(/column tap/);
    await expect(bad((r) => ({ ...r, plan: { ...r.plan, tapX: new Int32Array(r.plan.tapX.length).fill(1 << 20) } }))).rejects.toThrow(/plane too small/);
    f!.release();
    g!.release();
  });
});
