/**
 * `MediaSource.resumeAfter` on real GStreamer pipelines: a restarted file source continues with
 * exactly the frames after the one taken last — none repeated, none skipped, same raw ts.
 * Each resumed source is made the way the runtime makes it (packages/runtime/src/feed.ts): the
 * old source is stopped, a new `MediaSource` of the same spec is created, `resumeAfter(ts)` is
 * called on it, then `start()`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { InvalidArgumentError, MediaError, monotonicTs } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { loadBinding } from './binding.js';
import { MediaSource, type MediaSourceOptions } from './index.js';
import { h264Clip, scratch } from './test-fixtures.js';

const OPTS: MediaSourceOptions = { backpressure: { kind: 'block' } };
/** A 100-frame, 30 fps H.264 MP4, keyframes every 30 frames (0, 30, 60, 90). */
const clip = () => h264Clip('resume100', 100);

/** Reads up to `max` frames' ts (releasing each); stops the source when done. */
async function readTs(src: MediaSource, max = Infinity): Promise<number[]> {
  const ts: number[] = [];
  if (max > 0) {
    for await (const f of src.frames()) {
      ts.push(f.ts);
      f.release();
      if (ts.length >= max) break;
    }
  }
  await src.stop();
  return ts;
}

/** Every frame's ts from a fresh source, checked to be 100 distinct increasing values. */
async function allTs(spec: unknown): Promise<number[]> {
  const ts = await readTs(new MediaSource(spec, OPTS));
  expect(ts).toHaveLength(100);
  for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
  return ts;
}

/** A new source of `spec` resumed after `ts`, as the runtime makes it, with its warnings. */
function resumed(spec: unknown, ts: number): { src: MediaSource; warnings: string[] } {
  const src = new MediaSource(spec, OPTS);
  const warnings: string[] = [];
  src.on('warning', (e) => warnings.push(e.message));
  src.resumeAfter(monotonicTs(ts));
  return { src, warnings };
}

describe('MediaSource.resumeAfter: files', () => {
  it('read 40 frames of a 100-frame H.264 MP4, resume after frame 39: exactly frames 40..99, by ts, from a seek', async () => {
    const spec = { kind: 'file', path: clip() };
    const full = await allTs(spec);
    const first = await readTs(new MediaSource(spec, OPTS), 40);
    expect(first).toEqual(full.slice(0, 40));
    const { src, warnings } = resumed(spec, first[39]!);
    src.start();
    const rest: number[] = [];
    let skipped = -1;
    for await (const f of src.frames()) { rest.push(f.ts); f.release(); }
    skipped = src.stats().resumeSkipped;
    await src.stop();
    expect(rest).toHaveLength(60);
    expect(rest).toEqual(full.slice(40));
    expect(src.state).toBe('ended');
    // It sought: the decoder started at keyframe 30 and let only frames 30..39 (measured: just
    // frame 39, the one sought) reach the appsink. Decoding from the start would skip 40.
    expect(skipped).toBeGreaterThanOrEqual(1);
    expect(skipped).toBeLessThanOrEqual(10);
    expect(warnings).toEqual([]);
  });

  it.each([
    [0, 'the first frame'],
    [29, 'the frame before a keyframe'],
    [30, 'a keyframe'],
    [98, 'the last frame but one'],
    [99, 'the last frame (nothing left: end of stream at once)'],
  ])('resume after frame %i (%s) delivers exactly the frames after it', async (k) => {
    const spec = { kind: 'file', path: clip() };
    const full = await allTs(spec);
    const events: string[] = [];
    const { src, warnings } = resumed(spec, full[k]!);
    src.on('eos', () => events.push('eos'));
    expect(await readTs(src)).toEqual(full.slice(k + 1));
    expect(events).toEqual(['eos']);
    expect(warnings).toEqual([]);
  });

  it('a source paused before its resume seek is done and then resumed still starts just after ts, from the seek', async () => {
    const spec = { kind: 'file', path: clip() };
    const full = await allTs(spec);
    const { src } = resumed(spec, full[39]!);
    src.start();
    src.pause(); // as the runtime does for a paused feed, right after start()
    src.resume();
    const rest: number[] = [];
    for await (const f of src.frames()) { rest.push(f.ts); f.release(); }
    expect(rest).toEqual(full.slice(40));
    expect(src.stats().resumeSkipped).toBeLessThanOrEqual(10); // it did not play from frame 0 before seeking
    await src.stop();
  });

  it('a resumed source stopped before, while or after it seeks stops cleanly (20 cycles), and the next one still resumes exactly', async () => {
    const spec = { kind: 'file', path: clip() };
    const full = await allTs(spec);
    for (let i = 0; i < 20; i++) {
      const { src } = resumed(spec, full[39]!);
      src.start();
      if (i % 2 === 1) { const f = await src.next(); f?.release(); } // after the seek (or at the end)
      await src.stop();
      expect(src.state).toBe('stopped');
    }
    expect(await readTs(resumed(spec, full[39]!).src)).toEqual(full.slice(40));
  });

  it('a file that cannot seek (an MPEG-TS read through a FIFO) decodes from its start and drops the frames up to ts: the same frames, with a warning', async () => {
    const ts = join(scratch, 'resume100.ts');
    execFileSync('gst-launch-1.0', [
      '-q', 'videotestsrc', 'num-buffers=100', 'pattern=smpte', '!', 'video/x-raw,format=I420,width=320,height=240,framerate=30/1', '!',
      'x264enc', 'speed-preset=ultrafast', 'tune=zerolatency', 'key-int-max=30', '!', 'h264parse', '!', 'mpegtsmux', '!', 'filesink', `location=${ts}`,
    ], { stdio: 'pipe', timeout: 60_000 });
    const fifo = join(scratch, 'resume-fifo.ts');
    execFileSync('rm', ['-f', fifo]);
    execFileSync('mkfifo', [fifo]);
    // One writer per session: the shell opens the FIFO for writing in the child, so nothing blocks here.
    const writer = () => new Promise<void>((resolve) => spawn('sh', ['-c', 'cat "$0" > "$1"', ts, fifo], { stdio: 'ignore' }).on('exit', () => resolve()));
    const spec = { kind: 'file', path: fifo };
    let w = writer();
    const full = await allTs(spec);
    await w;
    w = writer();
    const { src, warnings } = resumed(spec, full[39]!);
    expect(await readTs(src)).toEqual(full.slice(40));
    await w;
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^resume after \d+ ns: the (file is not seekable|seek was refused); decoding from the start and skipping the frames up to it$/);
  });

  it('guard: a seek that lands after the frame sought (test hook shifting the target by 10 frames) is undone: still exactly the frames after ts', async () => {
    expect(loadBinding().__testArrayBufferAddress, 'the workspace build has the test hooks').toBeTypeOf('function');
    const spec = { kind: 'file', path: clip() };
    const full = await allTs(spec);
    // k = 39: the seek lands on frame 49; k = 98: past the end (an EOS and no frame at all).
    for (const k of [39, 98]) {
      const { src, warnings } = resumed(spec, full[k]!);
      process.env['NV_TEST_RESUME_SEEK_BIAS_NS'] = String(10 * 33_333_333);
      try { src.start(); } finally { delete process.env['NV_TEST_RESUME_SEEK_BIAS_NS']; }
      expect(await readTs(src)).toEqual(full.slice(k + 1));
      expect(warnings).toEqual([`resume after ${full[k]} ns: the seek landed after the frame sought; decoding from the start and skipping the frames up to it`]);
    }
  });
});

describe('MediaSource.resumeAfter: other sources and misuse', () => {
  it('a finite test pattern resumes after ts (frames up to it are generated and dropped)', async () => {
    const spec = { kind: 'testPattern', width: 32, height: 32, frames: 10 };
    const full = await readTs(new MediaSource(spec, OPTS));
    expect(full).toHaveLength(10);
    const { src } = resumed(spec, full[4]!);
    expect(await readTs(src)).toEqual(full.slice(5));
  });

  it('a live test pattern and a looping file ignore it: they start from their beginning (ts 0)', async () => {
    const live = resumed({ kind: 'testPattern', width: 32, height: 32, live: true, fps: 100 }, 5e9).src;
    expect(await readTs(live, 1)).toEqual([0]);
    const looping = resumed({ kind: 'file', path: clip(), loop: true }, 1.3e9).src;
    expect(await readTs(looping, 1)).toEqual([0]);
  });

  it('refuses a bad ts, and a call after start() or stop()', async () => {
    const src = new MediaSource({ kind: 'file', path: clip() }, OPTS);
    for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
      expect(() => src.resumeAfter(bad as never)).toThrow(InvalidArgumentError);
    }
    src.start();
    try {
      src.resumeAfter(monotonicTs(0));
      expect.unreachable();
    } catch (e) {
      expect(MediaError.isInstance(e) && e.kind).toBe('Unsupported');
    }
    await src.stop();
    expect(() => src.resumeAfter(monotonicTs(0))).toThrow(/before start/);
  });
});
