import { FrameAccessError, InvalidArgumentError, MediaError } from '@nv/core';
import { createOwnedFrame, type FrameEnvelope, type FramePlane, type PixelFormat } from '@nv/frame';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBinding, type RawEncoder, type RawEncoderOptions } from './binding.js';
import { adoptCallerStack, withCallerStack } from './caller-stack.js';
import { MediaSource, NativeFrame, VideoWriter } from './index.js';
import { h264Clip, scratch } from './test-fixtures.js';

// Hostile host frames (planes whose numbers do not fit their buffer) must be typed refusals,
// in JS (VideoWriter) and again in the addon (NativeEncoder.push), never an out-of-bounds read;
// and rejections from the addon's async work carry the caller's stack.

const W = 64, H = 48;
const RGB_ROW = W * 3;

/** Frames decoded from `path`. */
async function countFrames(path: string): Promise<number> {
  const src = new MediaSource({ kind: 'file', path }, { output: { format: 'GRAY8' }, backpressure: { kind: 'block' } });
  let n = 0;
  for await (const f of src.frames()) { n++; f.release(); }
  await src.stop();
  return n;
}

const goodFrame = (seq: number) => createOwnedFrame({ feedId: 1, seq, ts: 0, width: W, height: H, format: 'RGB8', data: new Uint8Array(W * H * 3).fill(90 + seq) });

/**
 * A frame that is not an OwnedFrame/NativeFrame: whatever `planes` and buffers it is given,
 * contiguous (`data`) or one buffer per plane (`perPlane`).
 */
function fakeFrame(init: { format?: PixelFormat; width?: number; height?: number; planes: unknown; data?: unknown; perPlane?: unknown[] }): FrameEnvelope {
  const contiguous = init.perPlane === undefined;
  return {
    feedId: 1, seq: 0, ts: 0, wallTs: 0, width: init.width ?? W, height: init.height ?? H, format: init.format ?? 'RGB8',
    planes: init.planes as FramePlane[], metadata: {}, residency: 'host', dataAccess: 'hostReadable', isContiguous: contiguous,
    refCount: 1, isReleased: false,
    hostData: () => init.data as Uint8Array,
    plane: (i: number) => init.perPlane![i] as Uint8Array,
    retain() { return this; }, release() {},
  } as unknown as FrameEnvelope;
}

/** One RGB8 plane descriptor, with overrides. */
const rgbPlane = (o: Partial<Record<keyof FramePlane, unknown>> = {}) => ({ width: W, height: H, stride: RGB_ROW, rowBytes: RGB_ROW, offset: 0, size: RGB_ROW * H, ...o });
const tight = () => new Uint8Array(RGB_ROW * H);

describe('VideoWriter with hostile host frames', () => {
  const cases: { name: string; frame: () => FrameEnvelope; error: 'argument' | 'layout' }[] = [
    { name: 'stride smaller than rowBytes', frame: () => fakeFrame({ planes: [rgbPlane({ stride: RGB_ROW - 1 })], data: tight() }), error: 'layout' },
    { name: 'stride of 2^40 (rows far past the buffer)', frame: () => fakeFrame({ planes: [rgbPlane({ stride: 2 ** 40 })], data: tight() }), error: 'layout' },
    { name: 'offset past the end', frame: () => fakeFrame({ planes: [rgbPlane({ offset: RGB_ROW * H + 1 })], data: tight() }), error: 'layout' },
    { name: 'offset 1: the last row ends one byte past the buffer', frame: () => fakeFrame({ planes: [rgbPlane({ offset: 1 })], data: tight() }), error: 'layout' },
    { name: 'plane height 2^30 (rows not those of the format)', frame: () => fakeFrame({ planes: [rgbPlane({ height: 2 ** 30 })], data: tight() }), error: 'layout' },
    { name: 'rowBytes not those of the format', frame: () => fakeFrame({ planes: [rgbPlane({ rowBytes: 10, stride: 10 })], data: tight() }), error: 'layout' },
    { name: 'frame height 2^30', frame: () => fakeFrame({ height: 2 ** 30, planes: [rgbPlane()], data: tight() }), error: 'argument' },
    { name: 'negative offset', frame: () => fakeFrame({ planes: [rgbPlane({ offset: -RGB_ROW })], data: tight() }), error: 'argument' },
    { name: 'negative stride', frame: () => fakeFrame({ planes: [rgbPlane({ stride: -RGB_ROW })], data: tight() }), error: 'argument' },
    { name: 'NaN stride', frame: () => fakeFrame({ planes: [rgbPlane({ stride: Number.NaN })], data: tight() }), error: 'argument' },
    { name: 'Infinity offset', frame: () => fakeFrame({ planes: [rgbPlane({ offset: Number.POSITIVE_INFINITY })], data: tight() }), error: 'argument' },
    { name: 'fractional stride', frame: () => fakeFrame({ planes: [rgbPlane({ stride: RGB_ROW + 0.5 })], data: tight() }), error: 'argument' },
    { name: 'string offset', frame: () => fakeFrame({ planes: [rgbPlane({ offset: '0' })], data: tight() }), error: 'argument' },
    { name: 'buffer shorter than declared', frame: () => fakeFrame({ planes: [rgbPlane()], data: new Uint8Array(100) }), error: 'layout' },
    { name: 'one buffer per plane, shorter than declared', frame: () => fakeFrame({ planes: [rgbPlane()], perPlane: [new Uint8Array(RGB_ROW * (H - 1))] }), error: 'layout' },
    { name: 'hostData() not a Uint8Array', frame: () => fakeFrame({ planes: [rgbPlane()], data: new Float64Array(RGB_ROW * H) }), error: 'layout' },
    { name: 'wrong plane count (two for RGB8)', frame: () => fakeFrame({ planes: [rgbPlane(), rgbPlane()], data: tight() }), error: 'argument' },
    { name: 'no plane array', frame: () => fakeFrame({ planes: 'planes', data: tight() }), error: 'argument' },
    { name: 'a null plane', frame: () => fakeFrame({ planes: [null], data: tight() }), error: 'argument' },
  ];

  it('each one is a typed rejection that writes nothing; the writer stays usable and the file has only the good frames', async () => {
    const out = join(scratch, 'hostile.mp4');
    const w = VideoWriter.open({ path: out, width: W, height: H, format: 'RGB8', fps: 10, speedPreset: 'ultrafast' });
    await w.write(goodFrame(0));
    for (const c of cases) {
      const e = await w.write(c.frame()).then(() => undefined, (x: unknown) => x);
      if (c.error === 'argument') expect(InvalidArgumentError.isInstance(e), `${c.name}: ${String(e)}`).toBe(true);
      else expect(FrameAccessError.isInstance(e) && e.kind, `${c.name}: ${String(e)}`).toBe('InvalidLayout');
    }
    // Bad timestamps and annotations are refused the same way.
    for (const ts of [Number.NaN, -1, Number.POSITIVE_INFINITY]) await expect(w.write(goodFrame(1), [], ts)).rejects.toSatisfy(InvalidArgumentError.isInstance);
    const bbox = (await import('@nv/core')).BBox.of(0.1, 0.1, 0.5, 0.5);
    for (const ann of [{ bbox, color: [Number.NaN, 0, 0] }, { bbox, color: [0, 0, 999] }, { bbox, lineWidth: -1 }, { bbox, label: 7 }, null]) {
      await expect(w.write(goodFrame(1), [ann as never])).rejects.toSatisfy(InvalidArgumentError.isInstance);
    }
    expect(w.framesWritten).toBe(1);
    // Still usable: a padded layout (stride > row, offset > 0) and a per-plane frame are fine.
    const padded = new Uint8Array(16 + 200 * (H - 1) + RGB_ROW).fill(120);
    await w.write(fakeFrame({ planes: [rgbPlane({ stride: 200, offset: 16 })], data: padded }));
    await w.write(fakeFrame({ planes: [rgbPlane()], perPlane: [tight().fill(60)] }));
    await w.write(goodFrame(2));
    await w.close();
    expect(w.framesWritten).toBe(4);
    expect(await countFrames(out)).toBe(4);
  });

  it('I420: a wrong plane count and a chroma plane that does not fit are refused', async () => {
    const w = VideoWriter.open({ path: join(scratch, 'hostile-i420.mp4'), width: W, height: H, format: 'I420', speedPreset: 'ultrafast' });
    const y = { width: W, height: H, stride: W, rowBytes: W, offset: 0, size: W * H };
    const u = { width: W / 2, height: H / 2, stride: W / 2, rowBytes: W / 2, offset: W * H, size: (W / 2) * (H / 2) };
    const v = { ...u, offset: W * H + u.size };
    const bytes = new Uint8Array(W * H * 1.5);
    await expect(w.write(fakeFrame({ format: 'I420', planes: [y, u], data: bytes }))).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(w.write(fakeFrame({ format: 'I420', planes: [y, u, { ...v, offset: v.offset + 1 }], data: bytes }))).rejects.toMatchObject({ kind: 'InvalidLayout' });
    await expect(w.write(fakeFrame({ format: 'I420', planes: [y, { ...u, stride: 31 }, v], data: bytes }))).rejects.toMatchObject({ kind: 'InvalidLayout' });
    await w.write(fakeFrame({ format: 'I420', planes: [y, u, v], data: bytes }));
    expect(w.framesWritten).toBe(1);
    await w.close();
  });

  it('bad bitrateKbps and fontPx are refused at open', () => {
    for (const bitrateKbps of [0, 1.5, Number.NaN, 3_000_000]) {
      expect(() => VideoWriter.open({ path: join(scratch, 'x.mp4'), width: W, height: H, format: 'RGB8', bitrateKbps })).toThrow(/for bitrateKbps/);
    }
    for (const fontPx of [0, Number.NaN, 1e9]) {
      expect(() => VideoWriter.open({ path: join(scratch, 'x.mp4'), width: W, height: H, format: 'RGB8', fontPx })).toThrow(/for fontPx/);
    }
  });
});

describe('NativeEncoder (the addon) checks every number itself', () => {
  const opts = (o: Partial<Record<keyof RawEncoderOptions, unknown>> = {}) => ({
    path: join(scratch, 'raw.mp4'), width: W, height: H, format: 'RGB', fpsN: 10, fpsD: 1, bitrateKbps: 1000, speedPreset: 1, fontPx: 12,
    keyIntMax: 10, fragmentMs: 1000, ...o,
  }) as RawEncoderOptions;

  it('refuses bad constructor options with TypeError/RangeError', () => {
    const { NativeEncoder } = loadBinding();
    const make = (o: unknown) => () => new NativeEncoder(o as RawEncoderOptions);
    expect(make(undefined)).toThrow(TypeError);
    expect(make(opts({ width: Number.NaN }))).toThrow(RangeError);
    expect(make(opts({ height: 1e9 }))).toThrow(RangeError);
    expect(make(opts({ width: 64.5 }))).toThrow(RangeError);
    expect(make(opts({ fpsD: 0 }))).toThrow(RangeError);
    expect(make(opts({ bitrateKbps: -1 }))).toThrow(RangeError);
    expect(make(opts({ fragmentMs: '1000' }))).toThrow(TypeError);
    expect(make(opts({ fontPx: Number.POSITIVE_INFINITY }))).toThrow(RangeError);
    expect(make(opts({ format: 'YUY2' }))).toThrow(TypeError);
    expect(make(opts({ path: `${join(scratch, 'a.mp4')}\0/elsewhere.mp4` }))).toThrow(TypeError);
  });

  it('refuses hostile host frames synchronously (nothing queued); the encoder then still writes a good frame', async () => {
    const enc: RawEncoder = new (loadBinding().NativeEncoder)(opts({ path: join(scratch, 'raw-hostile.mp4') }));
    const data = new Uint8Array(RGB_ROW * H);
    const push = (frame: unknown, pts: unknown = 0, dur: unknown = 1e8, anns?: unknown) => () =>
      enc.push(frame as never, pts as number, dur as number, anns as never);
    const host = (offsets: unknown, strides: unknown, d: unknown = data) => ({ data: d, offsets, strides });
    // The exact cases that were unchecked: stride 2^20 read ~50 MB past a 9 KiB buffer (SIGSEGV),
    // and a 100-byte array was read as a whole frame (valgrind: invalid reads in videoconvert).
    for (const [offsets, strides, d] of [
      [[0], [2 ** 20]], [[0], [RGB_ROW - 1]], [[RGB_ROW * H], [RGB_ROW]], [[1], [RGB_ROW]], [[2 ** 60], [RGB_ROW]],
      [[-1], [RGB_ROW]], [[0], [-RGB_ROW]], [[Number.NaN], [RGB_ROW]], [[0], [Number.NaN]], [[0], [RGB_ROW + 0.5]],
      [[Number.POSITIVE_INFINITY], [RGB_ROW]], [[0], [2 ** 31]], [[0], [RGB_ROW], new Uint8Array(100)], [[0, 0], [RGB_ROW, RGB_ROW]], [[], []],
    ] as [unknown, unknown, unknown?][]) {
      expect(push(host(offsets, strides, d)), JSON.stringify([offsets, strides])).toThrow(RangeError);
    }
    for (const frame of [host([0], ['192']), host([0], [RGB_ROW], new Float32Array(RGB_ROW * H)), host([0], [RGB_ROW], [1, 2, 3]), host(0, [RGB_ROW]), null, 42]) {
      expect(push(frame)).toThrow(TypeError);
    }
    const ok = host([0], [RGB_ROW]);
    for (const pts of [Number.NaN, -1, 2 ** 60, 0.5]) expect(push(ok, pts)).toThrow(RangeError);
    expect(push(ok, '0')).toThrow(TypeError);
    expect(push(ok, 0, Number.NaN)).toThrow(RangeError);
    const box = { x1: 1, y1: 1, x2: 10, y2: 10, r: 0, g: 1, b: 0, lineWidth: 2 };
    expect(push(ok, 0, 1e8, {})).toThrow(TypeError);
    expect(push(ok, 0, 1e8, [null])).toThrow(TypeError);
    expect(push(ok, 0, 1e8, [{ ...box, x1: Number.NaN }])).toThrow(RangeError);
    expect(push(ok, 0, 1e8, [{ ...box, r: 2 }])).toThrow(RangeError);
    expect(push(ok, 0, 1e8, [{ ...box, lineWidth: undefined }])).toThrow(TypeError);
    expect(push(ok, 0, 1e8, [{ ...box, label: 5 }])).toThrow(TypeError);
    // A detached array reads as 0 bytes.
    const detached = new Uint8Array(RGB_ROW * H);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(push(host([0], [RGB_ROW], detached))).toThrow(RangeError);

    // Only what the planes reach is copied; a padded layout in a larger array is fine.
    const big = new Uint8Array(1 << 20).fill(77);
    await enc.push({ data: big, offsets: [1000], strides: [RGB_ROW + 8] }, 0, 1e8, [box]);
    await enc.push(ok as never, 1e8, 1e8);
    await enc.finish();
    expect(await countFrames(join(scratch, 'raw-hostile.mp4'))).toBe(2);
  });

  it('refuses a decoded frame of another size or format by reference (RangeError), and takes a matching one', async () => {
    const input = h264Clip('writer-hostile-in', 2, W, H);
    const src = new MediaSource({ kind: 'file', path: input }, { output: { format: 'I420' }, backpressure: { kind: 'block' } });
    const { NativeEncoder } = loadBinding();
    const larger: RawEncoder = new NativeEncoder(opts({ path: join(scratch, 'raw-ref-a.mp4'), format: 'I420', width: 320, height: 240 }));
    const otherFormat: RawEncoder = new NativeEncoder(opts({ path: join(scratch, 'raw-ref-b.mp4'), format: 'RGB' }));
    const matching: RawEncoder = new NativeEncoder(opts({ path: join(scratch, 'raw-ref-c.mp4'), format: 'I420' }));
    let n = 0;
    for await (const f of src.frames()) {
      expect(f).toBeInstanceOf(NativeFrame);
      const handle = (f as NativeFrame)._handle;
      expect(() => larger.push(handle, n * 1e8, 1e8)).toThrow(RangeError);
      expect(() => otherFormat.push(handle, n * 1e8, 1e8)).toThrow(RangeError);
      await matching.push(handle, n * 1e8, 1e8);
      f.release();
      n++;
    }
    await src.stop();
    larger.abort();
    otherFormat.abort();
    await matching.finish();
    expect(n).toBe(2);
    expect(await countFrames(join(scratch, 'raw-ref-c.mp4'))).toBe(2);
  });
});

describe('async native errors keep the caller’s stack', () => {
  /** Not async: V8's async stack traces alone cannot put this frame on a rejection. */
  function writeFromNamedCaller(w: VideoWriter, f: FrameEnvelope): Promise<void> {
    return w.write(f);
  }
  function closeFromNamedCaller(w: VideoWriter): Promise<void> {
    return w.close();
  }

  it.skipIf(!existsSync('/dev/full'))('a push rejected by the encoder (disk full) carries the caller’s frames; the writer is then cleanly failed', async () => {
    const w = VideoWriter.open({ path: '/dev/full', width: W, height: H, format: 'RGB8', fps: 30, speedPreset: 'ultrafast', fragmentMs: 100 });
    let error: unknown;
    // The push after the muxer's first failed write rejects (before the fix, one blocked forever
    // in appsrc once its queue was full). 300: a bound, never reached.
    for (let i = 0; i < 300 && error === undefined; i++) {
      const f = goodFrame(i);
      error = await writeFromNamedCaller(w, f).then(() => undefined, (e: unknown) => e);
      f.release();
    }
    expect(MediaError.isInstance(error) && error.kind).toBe('DecodeFailed');
    const e = error as MediaError;
    expect(e.stack).toMatch(/^NV_MediaError: DecodeFailed: video writer: /);
    expect(e.stack).toContain('writeFromNamedCaller');
    expect((e.cause as Error).stack).toContain('writeFromNamedCaller');
    // Cleanly failed: every later call rejects with the same kind, promptly.
    const f = goodFrame(0);
    await expect(w.write(f)).rejects.toMatchObject({ kind: 'DecodeFailed' });
    f.release();
    const c = await closeFromNamedCaller(w).then(() => undefined, (x: unknown) => x);
    expect(MediaError.isInstance(c) && c.kind).toBe('DecodeFailed');
    expect((c as Error).stack).toContain('closeFromNamedCaller');
    await w.close(); // idempotent once closed
  });

  it.skipIf(!existsSync('/dev/full'))('a finish rejected by the encoder carries the caller’s frames', async () => {
    const w = VideoWriter.open({ path: '/dev/full', width: W, height: H, format: 'RGB8', fps: 30, speedPreset: 'ultrafast' });
    const f = goodFrame(0);
    await w.write(f).catch(() => undefined); // accepted: nothing has reached the disk yet
    f.release();
    const e = await closeFromNamedCaller(w).then(() => undefined, (x: unknown) => x);
    expect(MediaError.isInstance(e) && e.kind).toBe('DecodeFailed');
    expect((e as Error).stack).toContain('closeFromNamedCaller');
    expect(((e as Error).cause as Error).stack).toContain('closeFromNamedCaller');
  });

  /** A letterbox request the worker refuses in Execute() (its columns overrun W), off the JS thread. */
  function refusedLetterbox(): Promise<void> {
    const i32 = (n: number) => new Int32Array(n);
    return loadBinding().letterbox({
      format: 'NV12', planes: [new Uint8Array(16), new Uint8Array(8)], strides: [4, 4], frameHeight: 4,
      plan: { tapX: i32(1), cOff: i32(1), colT0: i32(2), colT1: i32(2), colW1: new Float64Array(2), rowY0: i32(1), rowY1: i32(1), rowW1: new Float64Array(1), singleColumn: false, padLeft: 0, padTop: 0 } as never,
      k: { iy: 1, rv: 0, gu: 0, gv: 0, bu: 0, y0: 0 } as never, norm: { sR: 1, bR: 0, sG: 1, bG: 0, sB: 1, bB: 0 } as never,
      W: 1, H: 1, padLeft: 0, padTop: 0, out: new Float32Array(3), oR: 0, oG: 1, oB: 2,
    });
  }
  function letterboxFromNamedCaller(wrap: boolean): Promise<void> {
    return wrap ? withCallerStack(refusedLetterbox(), new Error()) : refusedLetterbox();
  }

  it('withCallerStack on the native letterbox: without it the rejection has no caller frame, with it it has', async () => {
    const bare = await letterboxFromNamedCaller(false).then(() => undefined, (x: unknown) => x as Error);
    expect(bare?.message).toMatch(/geometry out of range/);
    expect(bare?.stack).not.toContain('letterboxFromNamedCaller'); // the problem: created from the event loop
    const wrapped = await letterboxFromNamedCaller(true).then(() => undefined, (x: unknown) => x as Error);
    expect(wrapped?.stack).toMatch(/^Error: letterbox: geometry out of range\n {4}at /);
    expect(wrapped?.stack).toContain('letterboxFromNamedCaller');
  });

  it('adoptCallerStack keeps the header, and leaves non-errors and frozen errors alone', () => {
    function namedCapture(): Error { return new Error(); }
    const caller = namedCapture();
    const e = adoptCallerStack(new RangeError('bad\nvalue'), caller);
    expect(e.stack).toMatch(/^RangeError: bad\nvalue\n {4}at namedCapture/);
    expect(adoptCallerStack('text', caller)).toBe('text');
    expect(adoptCallerStack(null, caller)).toBe(null);
    const frozen = Object.freeze(new Error('frozen'));
    const before = frozen.stack;
    expect(adoptCallerStack(frozen, caller).stack).toBe(before);
    const noFrames = Object.assign(new Error('x'), { stack: 'no frames here' });
    expect(adoptCallerStack(new Error('y'), noFrames).stack).not.toContain('no frames here');
  });
});
