/**
 * JpegEncoder against real GStreamer (no mocks): decoded frames by reference and host frames
 * by copy, every input format, scaling, releasing the frame during the encode, refusals, busy
 * and close semantics, and a lifecycle check of the native counters. Every JPEG is checked by
 * decoding it back with a `file` MediaSource. The waits are hang guards, not timing assertions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameAccessError, InvalidArgumentError, MediaError } from '@nv/core';
import { createOwnedFrame, type FrameEnvelope, type PixelFormat } from '@nv/frame';
import { describe, expect, it } from 'vitest';
import { loadBinding } from './binding.js';
import { JpegEncoder, MediaSource, type JpegEncoderOptions } from './index.js';
import type { NativeFrame } from './native-frame.js';
import { scratch } from './test-fixtures.js';

let fileNo = 0;

/** A decoded image: size and RGB at a pixel. */
interface Decoded {
  readonly width: number;
  readonly height: number;
  px(x: number, y: number): [number, number, number];
}

/** Writes `bytes` to a temp .jpg and decodes it with a `file` MediaSource into RGB8. */
async function decodeJpeg(bytes: Uint8Array): Promise<Decoded> {
  expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]); // SOI
  expect([bytes[bytes.length - 2], bytes[bytes.length - 1]]).toEqual([0xff, 0xd9]); // EOI
  const path = join(scratch, `jpeg-${process.pid}-${fileNo++}.jpg`);
  writeFileSync(path, bytes);
  const src = new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8' }, backpressure: { kind: 'block' } });
  let out: Decoded | undefined;
  try {
    for await (const f of src.frames()) {
      try {
        if (out) continue;
        const p = f.plane(0).slice(), s = f.planes[0]!.stride;
        out = { width: f.width, height: f.height, px: (x, y) => [p[y * s + x * 3]!, p[y * s + x * 3 + 1]!, p[y * s + x * 3 + 2]!] };
      } finally {
        f.release();
      }
    }
  } finally {
    await src.stop();
  }
  if (!out) throw new Error('the JPEG decoded to no frame');
  return out;
}

function expectNear(got: readonly number[], want: readonly number[], tol: number, what: string): void {
  const ok = got.length === want.length && got.every((v, i) => Math.abs(v - want[i]!) <= tol);
  if (!ok) expect(got, `${what}: ${JSON.stringify(got)} vs ${JSON.stringify(want)} ±${tol}`).toEqual(want);
}

/** The first frame of a test pattern, still held (the source is stopped by `done`). */
async function firstDecodedFrame(pattern: 'white' | 'smpte', width = 320, height = 240): Promise<{ frame: NativeFrame; done: () => Promise<void> }> {
  const src = new MediaSource({ kind: 'testPattern', pattern, width, height, frames: 3 }, { output: { format: 'I420' }, backpressure: { kind: 'block' } });
  const frame = await src.next();
  if (!frame) throw new Error('no frame from the test pattern');
  return { frame, done: () => src.stop() };
}

/** An RGB8 frame: left half red, right half blue. */
function redBlue(width: number, height: number): FrameEnvelope {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (x < width / 2) data[i] = 255;
      else data[i + 2] = 255;
    }
  }
  return createOwnedFrame({ feedId: 0, seq: 0, ts: 0, width, height, format: 'RGB8', data });
}

/** A uniform mid-grey frame (R = G = B = 128, Y' 128 full range / chroma 128) in `format`. */
function grey(format: PixelFormat, width: number, height: number): FrameEnvelope {
  const chroma = 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  const size = format === 'I420' || format === 'NV12' ? width * height + chroma : width * height * { RGB8: 3, BGR8: 3, RGBA8: 4, BGRA8: 4, GRAY8: 1 }[format];
  const data = new Uint8Array(size).fill(128);
  if (format === 'RGBA8' || format === 'BGRA8') for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return createOwnedFrame({ feedId: 0, seq: 0, ts: 0, width, height, format, data });
}

/** Settles `p` or fails the test after `ms` (a hang guard). */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms); });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

describe('JpegEncoder', () => {
  it('encodes a decoded MediaSource frame (by reference) to a JPEG that decodes back white, at the output size', async () => {
    const { frame, done } = await firstDecodedFrame('white');
    try {
      const enc = JpegEncoder.open({ width: 320, height: 240, format: 'I420', outWidth: 160 });
      expect(enc.options).toEqual({ width: 320, height: 240, format: 'I420', outWidth: 160, outHeight: 120, quality: 75 });
      const bytes = await enc.encode(frame);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(enc.framesEncoded).toBe(1);
      expect(frame.isReleased).toBe(false); // the caller's reference is untouched
      const img = await decodeJpeg(bytes);
      expect([img.width, img.height]).toEqual([160, 120]);
      // White I420 from videotestsrc is limited range (Y' 235): the encoder range-expands it.
      for (const [x, y] of [[0, 0], [80, 60], [159, 119]] as const) expectNear(img.px(x, y), [255, 255, 255], 3, `white at ${x},${y}`);
      // The default output size is the input size (videoconvertscale passes the decoded buffer
      // through; the range expansion writes into a copy, never into the caller's frame).
      const full = JpegEncoder.open({ width: 320, height: 240, format: 'I420', quality: 90 });
      const y0 = frame.plane(0)[0];
      const fimg = await decodeJpeg(await full.encode(frame));
      expect([fimg.width, fimg.height]).toEqual([320, 240]);
      expectNear(fimg.px(160, 120), [255, 255, 255], 3, 'white, full size');
      expect(frame.plane(0)[0]).toBe(y0);
      expect(y0).toBe(235); // limited range, as decoded
      full.close();
      enc.close();
    } finally {
      frame.release();
      await done();
    }
  }, 30_000);

  it('encodes an owned host frame (copied): colours survive, downscaling and the aspect default work', async () => {
    const frame = redBlue(128, 96);
    const enc = JpegEncoder.open({ width: 128, height: 96, format: 'RGB8', outWidth: 64, quality: 95 });
    expect([enc.options.outWidth, enc.options.outHeight]).toEqual([64, 48]);
    const img = await decodeJpeg(await enc.encode(frame));
    expect([img.width, img.height]).toEqual([64, 48]);
    expectNear(img.px(8, 24), [255, 0, 0], 24, 'red half');
    expectNear(img.px(56, 24), [0, 0, 255], 24, 'blue half');
    // outHeight alone: the width keeps the aspect (rounded to even).
    const byHeight = JpegEncoder.open({ width: 128, height: 96, format: 'RGB8', outHeight: 30 });
    expect([byHeight.options.outWidth, byHeight.options.outHeight]).toEqual([40, 30]);
    const small = await decodeJpeg(await byHeight.encode(frame));
    expect([small.width, small.height]).toEqual([40, 30]);
    byHeight.close();
    // Another aspect: the picture keeps its aspect inside black borders (16 columns each side).
    const wide = JpegEncoder.open({ width: 128, height: 96, format: 'RGB8', outWidth: 96, outHeight: 48 });
    const wimg = await decodeJpeg(await wide.encode(frame));
    expect([wimg.width, wimg.height]).toEqual([96, 48]);
    expectNear(wimg.px(2, 24), [0, 0, 0], 24, 'left border');
    expectNear(wimg.px(26, 24), [255, 0, 0], 24, 'red inside the borders');
    expectNear(wimg.px(70, 24), [0, 0, 255], 24, 'blue inside the borders');
    wide.close();
    expect(frame.isReleased).toBe(false);
    frame.release();
    enc.close();
  }, 30_000);

  it('takes every pixel format, including frames with one buffer per plane', async () => {
    for (const format of ['RGB8', 'BGR8', 'RGBA8', 'BGRA8', 'GRAY8', 'I420', 'NV12'] as const) {
      const enc = JpegEncoder.open({ width: 48, height: 32, format });
      const img = await decodeJpeg(await enc.encode(grey(format, 48, 32)));
      expect([img.width, img.height]).toEqual([48, 32]);
      expectNear(img.px(24, 16), [128, 128, 128], 6, format);
      enc.close();
    }
    // Odd and tiny inputs: the default output is the size rounded down to even, at least 16.
    const odd = JpegEncoder.open({ width: 33, height: 9, format: 'I420' });
    expect([odd.options.outWidth, odd.options.outHeight]).toEqual([32, 16]);
    expectNear((await decodeJpeg(await odd.encode(grey('I420', 33, 9)))).px(16, 8), [130, 130, 130], 6, 'odd I420');
    odd.close();
    // I420 with separate, padded planes: packed into one buffer by the host-frame path.
    const [w, h] = [48, 32];
    const y = new Uint8Array(64 * h).fill(200), u = new Uint8Array(32 * (h / 2)).fill(128), v = new Uint8Array(32 * (h / 2)).fill(128);
    const planar = createOwnedFrame({ feedId: 0, seq: 0, ts: 0, width: w, height: h, format: 'I420', planes: [y, u, v], strides: [64, 32, 32] });
    const enc = JpegEncoder.open({ width: w, height: h, format: 'I420' });
    // Owned I420 is read as limited range (BT.601): Y' 200 → (200 − 16) × 255 / 219 ≈ 214.
    expectNear((await decodeJpeg(await enc.encode(planar))).px(10, 10), [214, 214, 214], 6, 'planar I420');
    enc.close();
  }, 60_000);

  it('a frame released right after encode() returns is still encoded right (the encoder holds its own reference)', async () => {
    const { frame, done } = await firstDecodedFrame('white');
    const enc = JpegEncoder.open({ width: 320, height: 240, format: 'I420', outWidth: 64 });
    const pending = enc.encode(frame);
    frame.release();
    await done(); // the source and its buffer pool go too
    expect(frame.isReleased).toBe(true);
    const img = await decodeJpeg(await bounded(pending, 10_000, 'encode'));
    expect([img.width, img.height]).toEqual([64, 48]);
    expectNear(img.px(32, 24), [255, 255, 255], 3, 'white after release');
    // A host frame released (and its bytes overwritten) at once: it was copied before the call returned.
    const data = new Uint8Array(32 * 32 * 3).fill(255);
    const owned = createOwnedFrame({ feedId: 0, seq: 0, ts: 0, width: 32, height: 32, format: 'RGB8', data, transferOwnership: true });
    const hostEnc = JpegEncoder.open({ width: 32, height: 32, format: 'RGB8' });
    const hostPending = hostEnc.encode(owned);
    owned.release();
    expectNear((await decodeJpeg(await hostPending)).px(16, 16), [255, 255, 255], 3, 'host frame after release');
    hostEnc.close();
    enc.close();
  }, 30_000);

  it('refuses bad options and frames with InvalidArgumentError; a refused frame leaves the encoder usable', async () => {
    const base: JpegEncoderOptions = { width: 64, height: 48, format: 'RGB8' };
    const bad: unknown[] = [
      null, 'x', { ...base, width: 0 }, { ...base, width: -2 }, { ...base, height: 1.5 }, { ...base, width: 70_000 }, { ...base, format: 'YUY2' },
      { ...base, format: 'toString' }, { ...base, outWidth: 33 }, { ...base, outWidth: 8 }, { ...base, outHeight: 70_000 }, { ...base, outWidth: Number.NaN },
      { ...base, quality: 0 }, { ...base, quality: 101 }, { ...base, quality: 50.5 }, { ...base, quality: '80' },
    ];
    for (const o of bad) expect(() => JpegEncoder.open(o as JpegEncoderOptions), JSON.stringify(o)).toThrow(InvalidArgumentError);
    const enc = JpegEncoder.open(base);
    expect(() => enc.encode(null as unknown as FrameEnvelope)).toThrow(InvalidArgumentError);
    expect(() => enc.encode(redBlue(32, 48))).toThrow(InvalidArgumentError); // size
    expect(() => enc.encode(grey('BGR8', 64, 48))).toThrow(InvalidArgumentError); // format
    expect(() => enc.encode(redBlue(64, 48), -1)).toThrow(InvalidArgumentError);
    expect(() => enc.encode(redBlue(64, 48), Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
    // A frame whose planes lie about their layout.
    const liar = { ...redBlue(64, 48), width: 64, height: 48, format: 'RGB8' as const, isContiguous: true, planes: [{ offset: 0, stride: 10, rowBytes: 192, height: 48, width: 64, size: 0 }], hostData: () => new Uint8Array(64 * 48 * 3) };
    expect(() => enc.encode(liar as unknown as FrameEnvelope)).toThrow(FrameAccessError);
    const released = redBlue(64, 48);
    released.release();
    expect(() => enc.encode(released)).toThrow(FrameAccessError);
    expect(enc.busy).toBe(false);
    expect((await decodeJpeg(await enc.encode(redBlue(64, 48)))).width).toBe(64);
    enc.close();
  }, 30_000);

  it('one encode at a time: a second concurrent encode throws; busy says so', async () => {
    const enc = JpegEncoder.open({ width: 64, height: 48, format: 'RGB8' });
    const first = enc.encode(redBlue(64, 48));
    expect(enc.busy).toBe(true);
    expect(() => enc.encode(redBlue(64, 48))).toThrow(/encoder busy/);
    await first;
    expect(enc.busy).toBe(false);
    // Timestamps out of order are fine (moved past the previous one).
    await enc.encode(redBlue(64, 48), 5_000_000);
    await enc.encode(redBlue(64, 48), 1);
    expect(enc.framesEncoded).toBe(3);
    enc.close();
  }, 30_000);

  it('close(): idempotent; encode after close throws MediaError; an encode in flight settles', async () => {
    const enc = JpegEncoder.open({ width: 64, height: 48, format: 'RGB8' });
    enc.close();
    enc.close();
    let thrown: unknown;
    try { void enc.encode(redBlue(64, 48)); } catch (e) { thrown = e; }
    expect(MediaError.isInstance(thrown) && thrown.kind).toBe('InvalidMedia');
    expect((thrown as Error).stack).toContain('jpeg-encoder.test.ts');

    // In flight: a large frame, closed at once. It either finished first or rejects with MediaError.
    const big = redBlue(1920, 1080);
    for (let i = 0; i < 5; i++) {
      const e = JpegEncoder.open({ width: 1920, height: 1080, format: 'RGB8', quality: 100 });
      const p = e.encode(big);
      e.close();
      const outcome = await bounded(p.then(() => 'resolved', (err: unknown) => err), 10_000, 'encode after close');
      if (outcome !== 'resolved') {
        expect(MediaError.isInstance(outcome) && outcome.kind).toBe('InvalidMedia');
        expect((outcome as Error).stack).toContain('jpeg-encoder.test.ts'); // the caller's stack
      }
      expect(e.busy).toBe(false);
    }
    big.release();
  }, 60_000);

  it('100 open/encode/close cycles leave no live frames or jpeg encoders', async () => {
    const binding = loadBinding();
    const base = binding.counters();
    const { frame, done } = await firstDecodedFrame('white', 64, 48);
    const host = grey('NV12', 64, 48);
    for (let i = 0; i < 100; i++) {
      const enc = JpegEncoder.open({ width: 64, height: 48, format: i % 2 ? 'I420' : 'NV12', outWidth: 32 });
      const bytes = await enc.encode(i % 2 ? frame : host);
      expect(bytes.length).toBeGreaterThan(100);
      if (i % 10 === 0) {
        const e2 = JpegEncoder.open({ width: 64, height: 48, format: 'NV12' });
        const p = e2.encode(host);
        e2.close(); // closed in flight
        await bounded(p.catch(() => undefined), 10_000, 'encode after close');
      }
      enc.close();
    }
    frame.release();
    await done();
    host.release();
    const after = binding.counters();
    expect(after.liveFrames).toBe(base.liveFrames);
    expect(after.liveJpegEncoders).toBe(base.liveJpegEncoders);
    expect(after.liveJpegEncoders).toBe(0); // every encoder of this file was closed
  }, 60_000);
});
