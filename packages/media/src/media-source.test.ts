import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FrameAccessError, MediaError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { loadBinding } from './binding.js';
import { isPermanentFailure, unauthorized } from './errors.js';
import { MediaSource, mediaDiagnostics, mediaErrorKind, type MediaEvent } from './index.js';
import { h264Clip, mp4Layout, scratch, textFile, truncatedClip } from './test-fixtures.js';

async function collect(src: MediaSource, onFrame?: (f: import('./native-frame.js').NativeFrame) => void | Promise<void>) {
  let n = 0;
  for await (const f of src.frames()) {
    try { await onFrame?.(f); } finally { if (!f.isReleased) f.release(); }
    n++;
  }
  return n;
}

async function expectMediaError(spec: unknown, kinds: string[], opts = {}): Promise<MediaError> {
  const src = new MediaSource(spec, opts);
  try {
    await collect(src);
  } catch (e) {
    expect(MediaError.isInstance(e)).toBe(true);
    expect(kinds).toContain((e as MediaError).kind);
    await src.stop();
    return e as MediaError;
  }
  throw new Error('expected a MediaError');
}

describe('MediaSource: files and test patterns (real GStreamer)', () => {
  it('a generated 300-frame H.264 clip yields 300 frames with the right size, format and strides', async () => {
    const path = h264Clip('clip300', 300);
    const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } });
    const events: MediaEvent[] = [];
    src.on('streamStarted', (e) => events.push(e));
    src.on('eos', (e) => events.push(e));
    const seqs: number[] = [];
    let lastTs = -1;
    const n = await collect(src, (f) => {
      expect(f.width).toBe(320);
      expect(f.height).toBe(240);
      expect(f.format).toBe('I420');
      expect(f.planes.map((p) => p.height)).toEqual([240, 120, 120]);
      expect(f.planes[0]!.stride).toBeGreaterThanOrEqual(320);
      expect(f.plane(0).length).toBe(f.planes[0]!.stride * 240);
      expect(f.ts).toBeGreaterThan(lastTs);
      lastTs = f.ts;
      seqs.push(f.seq);
    });
    expect(n).toBe(300);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(events[0]).toMatchObject({ type: 'streamStarted', width: 320, height: 240, format: 'I420' });
    expect(String((events[0] as { decoder?: string }).decoder)).toMatch(/h264/);
    expect(events.at(-1)).toEqual({ type: 'eos' });
    expect(src.stats().dropped).toBe(0);
    await src.stop();
  });

  it.each([
    ['red', 'RGB8', [255, 0, 0]],
    ['white', 'RGB8', [255, 255, 255]],
    ['blue', 'BGR8', [255, 0, 0]],
    ['black', 'RGBA8', [0, 0, 0, 255]],
  ] as const)('test pattern %s in %s reads back the expected pixel values', async (pattern, format, px) => {
    const src = new MediaSource({ kind: 'testPattern', pattern, width: 64, height: 48, frames: 3 }, { output: { format }, backpressure: { kind: 'block' } });
    const n = await collect(src, (f) => {
      const bpp = px.length;
      const p = f.plane(0);
      const mid = 24 * f.planes[0]!.stride + 32 * bpp;
      expect(Array.from(p.subarray(mid, mid + bpp))).toEqual([...px]);
    });
    expect(n).toBe(3); // the checks above ran on every frame
    await src.stop();
  });

  it('white in NV12 is limited-range Y 235, U/V 128; scaling happens before conversion', async () => {
    const src = new MediaSource({ kind: 'testPattern', pattern: 'white', width: 1280, height: 720, frames: 2 }, { output: { format: 'NV12', width: 320, height: 180 }, backpressure: { kind: 'block' } });
    const n = await collect(src, (f) => {
      expect([f.width, f.height, f.format]).toEqual([320, 180, 'NV12']);
      expect(f.plane(0)[100]).toBeGreaterThanOrEqual(234); // 235 ± 1 rounding through scale + convert
      expect(f.plane(0)[100]).toBeLessThanOrEqual(235);
      expect(Array.from(f.plane(1).subarray(0, 2))).toEqual([128, 128]);
    });
    expect(n).toBe(2);
    await src.stop();
  });

  it('zero copy: the plane ArrayBuffer IS the mapped GStreamer memory (address identity)', async () => {
    const b = loadBinding();
    expect(b.__testArrayBufferAddress).toBeTypeOf('function');
    const src = new MediaSource({ kind: 'testPattern', frames: 2, width: 64, height: 48 }, { output: { format: 'I420' }, backpressure: { kind: 'block' } });
    const n = await collect(src, (f) => {
      for (let i = 0; i < 3; i++) {
        const view = f.plane(i);
        const abAddr = b.__testArrayBufferAddress!(view.buffer as ArrayBuffer);
        expect(abAddr).toBe(f._handle.__testMappedAddress!(i));
        // A copy lives elsewhere: the hook can tell the difference.
        expect(b.__testArrayBufferAddress!(view.slice().buffer as ArrayBuffer)).not.toBe(abAddr);
      }
    });
    expect(n).toBe(2);
    await src.stop();
  });

  it('release() detaches every view at once and later access is a typed error', async () => {
    const src = new MediaSource({ kind: 'testPattern', frames: 1, width: 64, height: 48 }, { output: { format: 'NV12' } });
    const next = await src.next();
    expect(next).toBeDefined();
    const f = next!;
    const y = f.plane(0), uv = f.plane(1), sub = y.subarray(10, 20);
    expect(y.length).toBeGreaterThan(0);
    const before = mediaDiagnostics().liveFrames;
    f.retain();
    f.release();
    expect(y.length).toBeGreaterThan(0); // still one reference
    f.release();
    expect([y.length, uv.length, sub.length, y.byteLength]).toEqual([0, 0, 0, 0]);
    expect(mediaDiagnostics().liveFrames).toBe(before - 1);
    expect(() => f.plane(0)).toThrow(expect.objectContaining({ kind: 'Released' }));
    try { f.plane(0); } catch (e) { expect(FrameAccessError.isInstance(e)).toBe(true); }
    expect(() => f.release()).toThrow(/already released/);
    expect(() => f.retain()).toThrow(/Released/);
    await src.stop();
  });

  it('a looping file keeps going with monotonic timestamps', async () => {
    const path = h264Clip('clip10', 10);
    const src = new MediaSource({ kind: 'file', path, loop: true }, { backpressure: { kind: 'block' } });
    let loops = 0;
    src.on('loop', () => { loops++; });
    let last = -1, n = 0;
    for await (const f of src.frames()) {
      expect(f.ts).toBeGreaterThan(last);
      last = f.ts;
      f.release();
      if (++n === 25) break;
    }
    await src.stop();
    expect(n).toBe(25);
    expect(loops).toBeGreaterThanOrEqual(2);
  });
});

describe('MediaSource: decoder preference', () => {
  it.each(['cpuOnly', 'preferHardware'] as const)('%s decodes and reports the decoder actually chosen', async (decode) => {
    const src = new MediaSource({ kind: 'file', path: h264Clip('clip10', 10) }, { output: { decode }, backpressure: { kind: 'block' } });
    let started: Extract<MediaEvent, { type: 'streamStarted' }> | undefined;
    src.on('streamStarted', (e) => { started = e; });
    expect(await collect(src)).toBe(10);
    expect(started?.decoder).toMatch(/h264/);
    if (decode === 'cpuOnly') expect(started?.hardware).toBe(false);
    await src.stop();
  });

  it('requireHardware without a hardware decoder fails with a typed error, never a silent software fallback', async () => {
    const { hasHw } = { hasHw: ['nvh264dec', 'vaapih264dec', 'vah264dec', 'v4l2h264dec'].some((e) => loadBinding().hasElement(e)) };
    if (hasHw) return; // a machine with a hardware H.264 decoder decodes instead
    await expectMediaError({ kind: 'file', path: h264Clip('clip10', 10) }, ['Unsupported'], { output: { decode: 'requireHardware' } });
  });
});

describe('MediaSource: backpressure', () => {
  const slow = (ms: number) => () => new Promise<void>((r) => setTimeout(r, ms));
  it.each(['dropOldest', 'dropNewest'] as const)('%s drops and counts with a slow consumer; depth never exceeds its bound', async (kind) => {
    const src = new MediaSource({ kind: 'testPattern', frames: 60, width: 64, height: 48 }, { backpressure: { kind, queueDepth: 2 } });
    const seqs: number[] = [];
    const n = await collect(src, async (f) => { seqs.push(f.seq); await slow(4)(); });
    const st = src.stats();
    expect(n).toBeGreaterThan(0);
    expect(seqs).toHaveLength(n);
    expect(st.dropped).toBeGreaterThan(0);
    expect(n + st.dropped).toBe(60);
    expect(st.maxQueued).toBeLessThanOrEqual(2);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    if (kind === 'dropOldest') expect(seqs.at(-1)).toBe(59); // the newest frame always survives
    else expect(seqs.slice(0, 2)).toEqual([0, 1]); // the first frames always survive
    await src.stop();
  });

  it('block loses nothing: the producer waits', async () => {
    const src = new MediaSource({ kind: 'testPattern', frames: 40, width: 64, height: 48 }, { backpressure: { kind: 'block', queueDepth: 2 } });
    const n = await collect(src, slow(2));
    expect(n).toBe(40);
    expect(src.stats()).toMatchObject({ dropped: 0 });
    expect(src.stats().maxQueued).toBeLessThanOrEqual(2);
    await src.stop();
  });

  it('block is refused for an RTSP source (ConfigError naming backpressure.kind; a camera cannot be paused), allowed for files', () => {
    let err: unknown;
    try { new MediaSource({ kind: 'rtsp', url: 'rtsp://127.0.0.1:1/x' }, { backpressure: { kind: 'block' } }); } catch (e) { err = e; }
    expect(ConfigError.isInstance(err), String(err)).toBe(true);
    expect(err).toMatchObject({ kind: 'InvalidPolicy', field: 'backpressure.kind' });
    expect(String((err as Error).message)).toContain('dropOldest');
    expect(() => new MediaSource({ kind: 'rtsp', url: 'rtsp://127.0.0.1:1/x' }, { backpressure: { kind: 'dropNewest' } })).not.toThrow();
  });
});

describe('MediaSource: bad input is a typed MediaError, fast, no crash', () => {
  it('missing file', async () => { await expectMediaError({ kind: 'file', path: join(scratch, 'nope.mp4') }, ['SourceNotFound']); });
  it('a directory', async () => { await expectMediaError({ kind: 'file', path: scratch }, ['SourceNotFound', 'InvalidMedia']); });
  it('a text file', async () => { await expectMediaError({ kind: 'file', path: textFile() }, ['InvalidMedia', 'Unsupported']); });
  it('a truncated MP4 (no moov atom) is InvalidMedia every time, never a watchdog Timeout', async () => {
    const path = truncatedClip();
    const layout = mp4Layout(path);
    expect(layout.boxes).not.toContain('moov'); // the fixture really is an unfinished MP4
    expect(layout.firstMdatBytes).toBeGreaterThan(0);
    // qtdemux finds no moov as soon as it reads the file, but decodebin used to drop that error
    // when it came in the instant before decodebin stopped filtering the demuxer's errors, and
    // the source then waited for the 10 s no-frame watchdog (Timeout). It lost that race in
    // about 1 run in 10 once GStreamer's thread pool was warm, so this runs it 20 times.
    const kinds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const src = new MediaSource({ kind: 'file', path });
      const frames = await collect(src).catch((e: unknown) => { kinds.push(mediaErrorKind(e) ?? String(e)); return -1; });
      expect(frames).toBe(-1);
      expect(src.state).toBe('failed');
      await src.stop();
    }
    expect(kinds).toEqual(Array.from({ length: 20 }, () => 'InvalidMedia'));
  }, 240_000);
  it.skipIf(existsSync('/dev/video99'))('a missing /dev/video99 fails with SourceNotFound at once: 0 reconnection attempts', async () => {
    const src = new MediaSource({ kind: 'v4l2', device: '/dev/video99' }, { reconnect: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 } });
    const events: MediaEvent[] = [];
    for (const t of ['connected', 'disconnected', 'reconnecting', 'error'] as const) src.on(t, (e) => events.push(e));
    let caught: unknown;
    try { await collect(src); } catch (e) { caught = e; }
    expect(MediaError.isInstance(caught)).toBe(true);
    expect((caught as MediaError).kind).toBe('SourceNotFound');
    expect((caught as MediaError).message).toContain('/dev/video99');
    expect(events.map((e) => e.type)).toEqual(['disconnected', 'error']); // and no reconnecting
    expect(events[1]).toEqual({ type: 'error', error: caught });
    expect(src.state).toBe('failed');
    expect(src.stats().sessions).toBe(1);
    await src.stop();
    expect(src.state).toBe('failed');
  });
  it('only failures no retry can fix are permanent for a live source', () => {
    const missing = MediaError.sourceNotFound('/dev/video99', 'Cannot identify device');
    expect(isPermanentFailure(missing, false)).toBe(true);
    expect(isPermanentFailure(missing, true)).toBe(false); // streamed before: an unplugged camera may come back
    const denied = unauthorized('rtsp://u:p@cam/x', 'Unauthorized');
    expect(mediaErrorKind(denied)).toBe('Unauthorized');
    expect(denied.message).not.toContain('u:p');
    expect(isPermanentFailure(denied, false)).toBe(true);
    expect(isPermanentFailure(denied, true)).toBe(true); // a changed password stays wrong
    expect(isPermanentFailure(MediaError.connectionFailed('rtsp://cam/x', 'stream not found (404)'), false)).toBe(false);
    expect(isPermanentFailure(MediaError.timeout(), false)).toBe(false);
  });

  it('a path crafted with launch syntax opens only the literal path', async () => {
    const pwned = join(scratch, 'pwned.txt');
    const e = await expectMediaError({ kind: 'file', path: `${h264Clip('clip10', 10)} ! filesink location=${pwned}` }, ['SourceNotFound']);
    expect(e.message).toContain('! filesink');
    expect(existsSync(pwned)).toBe(false);
  });

  it('custom pipelines are refused unless explicitly trusted', () => {
    expect(() => new MediaSource({ kind: 'custom', pipeline: 'videotestsrc num-buffers=1' })).toThrow(expect.objectContaining({ kind: 'CustomPipelineRejected' }));
  });

  it('a trusted custom fragment runs', async () => {
    const src = new MediaSource({ kind: 'custom', pipeline: 'videotestsrc num-buffers=5 ! capsfilter caps=video/x-raw,width=32,height=32' }, { customPipelinePolicy: 'allowTrusted', backpressure: { kind: 'block' } });
    expect(await collect(src)).toBe(5);
    await src.stop();
  });

  it('CUDA residency is a typed Unsupported error at construction, never a silent host fallback', () => {
    const make = () => new MediaSource({ kind: 'testPattern' }, { residency: 'cuda' });
    expect(make).toThrow(expect.objectContaining({ kind: 'Unsupported' }));
    try { make(); } catch (e) { expect(MediaError.isInstance(e)).toBe(true); expect((e as Error).message).toMatch(/CUDA/); }
    expect(() => new MediaSource({ kind: 'testPattern' }, { residency: 'gpu' as never })).toThrow(/residency/);
  });

  it('bad options name the field', () => {
    expect(() => new MediaSource({ kind: 'file', path: '/x' }, { output: { format: 'YUY2' as never } })).toThrow(/output\.format/);
    expect(() => new MediaSource({ kind: 'file', path: '/x' }, { backpressure: { queueDepth: 0 } })).toThrow(/queueDepth/);
    expect(() => new MediaSource({ kind: 'file' })).toThrow(/path/);
  });
});

describe('MediaSource: lifecycle', () => {
  it('stop() while frames are queued frees them; handed-out frames stay valid until released', async () => {
    const src = new MediaSource({ kind: 'testPattern', frames: 50, width: 32, height: 32 }, { backpressure: { kind: 'block', queueDepth: 4 } });
    const next = await src.next();
    expect(next).toBeDefined();
    const f = next!;
    await new Promise((r) => setTimeout(r, 50));
    await src.stop();
    expect(f.plane(0).length).toBeGreaterThan(0);
    f.release();
    expect(src.stats().queued).toBe(0);
  });

  it('stop() is bounded: a pipeline stuck in its state change to NULL is abandoned after stopTimeoutMs (warning, counted), and stop() returns', async () => {
    // identity sleeps 20 s in its chain function on the first buffer, holding the streaming thread:
    // the state change to NULL waits for it. (The same for a deadlocked rtspsrc or a hung driver.)
    const stuck = 'videotestsrc is-live=true ! video/x-raw,width=32,height=32,framerate=30/1 ! identity sleep-time=20000000';
    const before = mediaDiagnostics().abandonedSources;
    const src = new MediaSource({ kind: 'custom', pipeline: stuck }, { customPipelinePolicy: 'allowTrusted', stopTimeoutMs: 300 });
    const warnings: string[] = [];
    src.on('warning', (e) => { if (e.type === 'warning') warnings.push(e.message); });
    src.start();
    await new Promise((r) => setTimeout(r, 300)); // the first buffer is in identity now
    const t0 = performance.now();
    await src.stop();
    const took = performance.now() - t0;
    expect(took).toBeLessThan(10_000); // far below the 20 s the state change needs: it was not waited for
    expect(src.stats().abandoned).toBe(true);
    expect(mediaDiagnostics().abandonedSources).toBe(before + 1);
    expect(warnings.join('\n')).toMatch(/did not stop within 300 ms .* abandoned/);
  });

  it('stop() waits for a state change that finishes within stopTimeoutMs (nothing abandoned)', async () => {
    const slow = 'videotestsrc is-live=true ! video/x-raw,width=32,height=32,framerate=30/1 ! identity sleep-time=400000';
    const before = mediaDiagnostics().abandonedSources;
    const src = new MediaSource({ kind: 'custom', pipeline: slow }, { customPipelinePolicy: 'allowTrusted', stopTimeoutMs: 5000 });
    src.start();
    await new Promise((r) => setTimeout(r, 200));
    await src.stop();
    expect(src.stats().abandoned).toBe(false);
    expect(mediaDiagnostics().abandonedSources).toBe(before);
  });

  it('stopTimeoutMs is checked: a ConfigError naming it', () => {
    for (const stopTimeoutMs of [0, -1, 600_001, Number.NaN]) {
      expect(() => new MediaSource({ kind: 'testPattern' }, { stopTimeoutMs })).toThrow(expect.objectContaining({ field: 'stopTimeoutMs' }));
    }
  });
});
