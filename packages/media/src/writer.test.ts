import { BBox, InvalidArgumentError, MediaError } from '@nv/core';
import { createOwnedFrame } from '@nv/frame';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediaSource, VideoWriter, mediaDiagnostics } from './index.js';
import { probeSource } from './probe.js';
import { h264Clip, mp4Layout, scratch } from './test-fixtures.js';

/** Decodes a file fully and returns RGB frames' count, size and one frame's pixels. */
async function readBack(path: string, keepSeq: number): Promise<{ count: number; width: number; height: number; rgb: Uint8Array; stride: number }> {
  const src = new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8' }, backpressure: { kind: 'block' } });
  let count = 0, width = 0, height = 0, stride = 0;
  let rgb = new Uint8Array(0);
  for await (const f of src.frames()) {
    if (count === keepSeq) { rgb = f.plane(0).slice(); stride = f.planes[0]!.stride; }
    width = f.width; height = f.height; count++;
    f.release();
  }
  await src.stop();
  return { count, width, height, rgb, stride };
}

const px = (r: { rgb: Uint8Array; stride: number }, x: number, y: number) => Array.from(r.rgb.subarray(y * r.stride + x * 3, y * r.stride + x * 3 + 3));
/** Writes `n` host frames of 64x48 RGB8 and closes the writer. */
async function writeFrames(path: string, n: number, fps: number, fragmentMs?: number, speedPreset?: 'ultrafast'): Promise<void> {
  const w = VideoWriter.open({
    path, width: 64, height: 48, format: 'RGB8', fps, ...(speedPreset ? { speedPreset } : {}), ...(fragmentMs === undefined ? {} : { fragmentMs }),
  });
  for (let i = 0; i < n; i++) {
    // Moving noise-like content, so x264's default preset (veryfast) uses B-frames.
    const data = new Uint8Array(64 * 48 * 3).map((_, k) => (k * 7 + i * 13) & 255);
    const f = createOwnedFrame({ feedId: 1, seq: i, ts: i * (1e9 / fps), width: 64, height: 48, format: 'RGB8', data });
    await w.write(f);
    f.release();
  }
  await w.close();
  expect(w.framesWritten).toBe(n);
}

const isGreen = ([r, g, b]: number[]) => g! > 150 && r! < 100 && b! < 100;

describe('VideoWriter', () => {
  it('decoded frames (by reference) + boxes → MP4 that decodes back with the same count and size; box pixels are drawn where asked', async () => {
    const input = h264Clip('writer-in', 45, 320, 240, 'black');
    const out = join(scratch, 'annotated.mp4');
    const src = new MediaSource({ kind: 'file', path: input }, { backpressure: { kind: 'block' } });
    let w: VideoWriter | undefined;
    const box = BBox.of(0.25, 0.25, 0.75, 0.75);
    for await (const f of src.frames()) {
      w ??= VideoWriter.open({ path: out, width: f.width, height: f.height, format: f.format, fps: 30, speedPreset: 'ultrafast', bitrateKbps: 2000 });
      await w.write(f, [{ bbox: box, label: `#7 KA01 ${f.seq}`, lineWidth: 4 }], f.ts);
      f.release();
    }
    await src.stop();
    await w!.close();
    await w!.close(); // idempotent
    expect(w!.framesWritten).toBe(45);
    const back = await readBack(out, 20);
    expect(back).toMatchObject({ count: 45, width: 320, height: 240 });
    // Box edges (x = 80 and 240, y = 60 and 180) are green; the centre and a far corner stay black.
    expect(isGreen(px(back, 80, 120))).toBe(true);
    expect(isGreen(px(back, 240, 120))).toBe(true);
    expect(isGreen(px(back, 160, 180))).toBe(true);
    expect(Math.max(...px(back, 160, 120))).toBeLessThan(60);
    expect(Math.max(...px(back, 10, 230))).toBeLessThan(60);
    // The label is drawn on a filled green background just above the box (with dark text on it).
    let green = 0, dark = 0, n = 0;
    for (let y = 44; y < 58; y++) for (let x = 82; x < 150; x++, n++) { const p = px(back, x, y); if (isGreen(p)) green++; else if (Math.max(...p) < 90) dark++; }
    expect(green / n).toBeGreaterThan(0.4);
    expect(dark / n).toBeGreaterThan(0.05);
    expect(mediaDiagnostics().liveFrames).toBe(0);
  });

  it('host frames (copied once) in another format', async () => {
    const out = join(scratch, 'host.mp4');
    const w = VideoWriter.open({ path: out, width: 64, height: 48, format: 'RGB8', fps: 10, speedPreset: 'ultrafast' });
    for (let i = 0; i < 12; i++) {
      const f = createOwnedFrame({ feedId: 1, seq: i, ts: i * 1e8, width: 64, height: 48, format: 'RGB8', data: new Uint8Array(64 * 48 * 3).fill(200) });
      await w.write(f);
      f.release();
    }
    await w.close();
    const back = await readBack(out, 5);
    expect(back).toMatchObject({ count: 12, width: 64, height: 48 });
    for (const c of px(back, 30, 20)) expect(Math.abs(c - 200)).toBeLessThan(12);
  });

  it.each([
    { fragmentMs: undefined, fps: 25, maxSamples: 25, speedPreset: undefined }, // the defaults: 1000 ms, veryfast
    { fragmentMs: 400, fps: 25, maxSamples: 10, speedPreset: 'ultrafast' as const },
    { fragmentMs: 1000, fps: 29.97, maxSamples: 29, speedPreset: 'ultrafast' as const },
  ])('fragmented MP4 (fragmentMs $fragmentMs at $fps fps, $speedPreset): every fragment ≤ fragmentMs and starts on a keyframe; a clean close has the exact count, duration and a seek index', async ({ fragmentMs, fps, maxSamples, speedPreset }) => {
    const out = join(scratch, `frag-${fragmentMs}-${fps}.mp4`);
    await writeFrames(out, 75, fps, fragmentMs, speedPreset);
    const layout = mp4Layout(out);
    expect(layout.boxes.slice(0, 2)).toEqual(['ftyp', 'moov']); // header first: fragments play without the end
    expect(layout.boxes.at(-1)).toBe('mfra'); // random-access index, written at close
    expect(layout.fragments.length).toBeGreaterThanOrEqual(Math.ceil(75 / maxSamples));
    expect(layout.fragments.reduce((n, f) => n + f.samples, 0)).toBe(75);
    for (const f of layout.fragments) {
      expect(f.samples).toBeGreaterThan(0);
      expect(f.samples).toBeLessThanOrEqual(maxSamples);
      expect(f.startsWithKeyframe).toBe(true);
    }
    expect((await readBack(out, 0)).count).toBe(75);
    const probe = await probeSource({ kind: 'file', path: out });
    expect(probe.durationMs).toBeGreaterThan((75 / fps) * 1000 - 50);
    expect(probe.durationMs).toBeLessThan((75 / fps) * 1000 + 50);
    expect(probe.seekable).toBe(true);
  });

  it('fragmentMs: 0 writes a classic MP4 (one mdat, moov at the end) with the exact count and duration', async () => {
    const out = join(scratch, 'classic.mp4');
    await writeFrames(out, 50, 25, 0);
    const layout = mp4Layout(out);
    expect(layout.boxes).not.toContain('moof');
    expect(layout.boxes.indexOf('moov')).toBeGreaterThan(layout.boxes.indexOf('mdat'));
    expect((await readBack(out, 0)).count).toBe(50);
    const probe = await probeSource({ kind: 'file', path: out });
    expect(probe.durationMs).toBeGreaterThan(1950);
    expect(probe.durationMs).toBeLessThan(2050);
  });

  it('bad arguments are typed errors; a wrong-size frame is refused; a missing directory is SourceNotFound', async () => {
    expect(() => VideoWriter.open({ path: join(scratch, 'x.mp4'), width: 63, height: 48, format: 'RGB8' })).toThrow(InvalidArgumentError);
    expect(() => VideoWriter.open({ path: join(scratch, 'x.mp4'), width: 64, height: 48, format: 'YUY2' as never })).toThrow(/Expected one of/);
    for (const fragmentMs of [-1, 0.5, 3_600_001, Number.NaN]) {
      expect(() => VideoWriter.open({ path: join(scratch, 'x.mp4'), width: 64, height: 48, format: 'RGB8', fragmentMs })).toThrow(/Expected an integer in \[0, 3600000\].*for fragmentMs/);
    }
    const e = (() => { try { VideoWriter.open({ path: '/nonexistent-dir/x.mp4', width: 64, height: 48, format: 'RGB8' }); } catch (x) { return x; } })();
    expect(MediaError.isInstance(e) && e.kind).toBe('SourceNotFound');
    const w = VideoWriter.open({ path: join(scratch, 'y.mp4'), width: 64, height: 48, format: 'RGB8' });
    const f = createOwnedFrame({ feedId: 1, seq: 0, ts: 0, width: 32, height: 32, format: 'RGB8', data: new Uint8Array(32 * 32 * 3) });
    await expect(w.write(f)).rejects.toThrow(/Expected a 64x48 RGB8 frame/);
    f.release();
    w.abort();
    await expect(w.write(f)).rejects.toMatchObject({ kind: 'InvalidMedia' });
  });
});
