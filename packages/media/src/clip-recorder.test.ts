/**
 * Event clips: H.264 access units from `H264Encoder` (openh264 on a libuv thread), the MP4
 * `buildMp4` puts them in, and `ClipRecorder`'s pre-roll ring — the clip decodes (GStreamer and
 * ffprobe), covers the event's window from the keyframe before it, overlapping events merge,
 * the ring and the disk stay within their bounds, nothing hangs at close.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, MediaError } from '@nv/core';
import { createOwnedFrame, type FrameEnvelope } from '@nv/frame';
import { boxFrame, frameSequence, seededRandom } from '@nv/test-util';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipDiskBudget, ClipRecorder, type ClipResult } from './clip-recorder.js';
import { H264Encoder } from './h264-encoder.js';
import { buildMp4, splitAnnexB } from './mp4.js';
import { MediaSource } from './source.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-clips-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });
const W = 320, H = 240, FPS = 10;
/** Frame i: a white square walking right; ts i / FPS s. */
const frame = (i: number) => boxFrame({ width: W, height: H, format: 'I420', seq: i, ts: Math.round((i * 1e9) / FPS), box: { xMin: (i % 30) / 40, yMin: 0.4, xMax: (i % 30) / 40 + 0.1, yMax: 0.6 } });
/** Frame i of noise, amplitude `amp` around grey (hard to compress: big access units). */
const noisy = (i: number, amp = 48): FrameEnvelope => {
  const rnd = seededRandom(i + 1);
  const data = new Uint8Array((W * H * 3) / 2);
  for (let k = 0; k < data.length; k++) data[k] = 128 - (amp >> 1) + Math.floor(rnd() * amp);
  return createOwnedFrame({ feedId: 1, seq: i, ts: Math.round((i * 1e9) / FPS), width: W, height: H, format: 'I420', data });
};
const turn = () => new Promise<void>((r) => { setImmediate(r); });
/** Pushes frames i0..i1−1, waiting for each encode so none is skipped. */
async function feed(rec: ClipRecorder, i0: number, i1: number, make: (i: number) => FrameEnvelope = frame): Promise<void> {
  for (let i = i0; i < i1; i++) {
    const f = make(i);
    rec.push(f);
    f.release();
    const want = rec.stats().framesEncoded + 1;
    const errors = rec.stats().encodeErrors;
    for (let k = 0; k < 10_000 && rec.stats().framesEncoded < want && rec.stats().encodeErrors === errors; k++) await turn();
  }
}
/** Every frame's ts of a file, decoded by nv (GStreamer). */
async function decodedTs(path: string): Promise<number[]> {
  const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } });
  const ts: number[] = [];
  for await (const f of src.frames()) { ts.push(Number(f.ts)); f.release(); }
  await src.stop();
  return ts;
}
const ffprobe = (path: string) => spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', path], { encoding: 'utf8' });

describe('H264Encoder', () => {
  it('one access unit per frame; keyframes every keyframeInterval frames, each with SPS and PPS; typed refusals', async () => {
    const enc = H264Encoder.open({ width: W, height: H, format: 'I420', keyframeInterval: 5, bitrateKbps: 300 });
    expect(enc.options).toMatchObject({ outWidth: 320, outHeight: 240 });
    const kinds: string[] = [];
    for (let i = 0; i < 12; i++) {
      const f = frame(i);
      const p = enc.encode(f, f.ts);
      expect(enc.busy).toBe(true);
      expect(() => enc.encode(f)).toThrow(/encoder busy/);
      f.release();
      const au = await p;
      const nals = splitAnnexB(au.data).map((n) => n[0]! & 0x1f);
      kinds.push(au.keyframe ? `K${nals.join('')}` : '.');
      expect(au.ptsNs).toBe(Math.round((i * 1e9) / FPS));
    }
    expect(kinds.join(' ')).toBe('K785 . . . . K785 . . . . K785 .');
    const wrong = frameSequence(1, { width: 64, height: 48, format: 'I420' })[0]!;
    expect(() => enc.encode(wrong)).toThrow(InvalidArgumentError);
    wrong.release();
    enc.close();
    const f = frame(0);
    expect(() => enc.encode(f)).toThrow(MediaError);
    f.release();
    expect(() => H264Encoder.open({ width: W, height: H, format: 'I420', outWidth: 33 })).toThrow(/outWidth/);
    expect(() => H264Encoder.open({ width: W, height: H, format: 'I420', bitrateKbps: 1 })).toThrow(/bitrateKbps/);
  });

  it('buildMp4 refuses what cannot be a file: no samples, no keyframe first, time going back', () => {
    expect(() => buildMp4([], 16, 16)).toThrow(InvalidArgumentError);
    expect(() => buildMp4([{ data: Uint8Array.of(0, 0, 1, 0x41), ptsNs: 0, keyframe: false }], 16, 16)).toThrow(/keyframe/);
    expect(() => buildMp4([{ data: Uint8Array.of(0, 0, 1, 0x65), ptsNs: 0, keyframe: true }], 16, 16)).toThrow(/SPS/);
  });
});

describe('ClipRecorder', () => {
  it('a clip covers T − pre … T + post from the keyframe before, decodes with GStreamer and ffprobe, and appears only when complete', async () => {
    const results: ClipResult[] = [];
    const rec = new ClipRecorder({ dir: join(dir, 'a'), prefix: 'gate', preSeconds: 1, postSeconds: 1, keyframeSeconds: 0.5, maxFps: FPS, onClip: (c) => results.push(c) });
    await feed(rec, 0, 30); // 3 s offered; the ring keeps pre + 1 s + at most one GOP
    const ring = rec.stats();
    expect(ring.ringSeconds).toBeLessThanOrEqual(2.5);
    expect(ring.ringSeconds).toBeGreaterThanOrEqual(2);
    const ref = rec.request(2.5e9); // event at frame 25, dated 0.4 s in the past: window 1.5 s … 3.5 s
    expect(ref).toMatchObject({ fromTs: 1.5e9, toTs: 3.5e9 });
    expect(ref.path).toMatch(/\/gate-[a-z0-9]+-1500ms-1\.mp4$/);
    await feed(rec, 30, 34);
    expect(existsSync(ref.path)).toBe(false); // not until T + post is encoded
    await feed(rec, 34, 40);
    await rec.close();
    expect(results).toHaveLength(1);
    const r = results[0]!;
    // The first frame only told the rate: keyframes every 5 encoded frames from frame 1 (0.1 s, 0.6 s, 1.1 s …).
    expect(r).toMatchObject({ ok: true, path: ref.path, frames: 25, firstTs: 1.1e9, lastTs: 3.5e9 });
    expect(statSync(ref.path).size).toBe(r.bytes);
    expect(await decodedTs(ref.path)).toHaveLength(25);
    const probe = JSON.parse(ffprobe(ref.path).stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[] };
    expect(probe.streams[0]).toMatchObject({ codec_name: 'h264', width: 320, height: 240, nb_read_frames: '25' });
    expect(readdirSync(join(dir, 'a')).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('the clip starts at the keyframe at or before T − pre', async () => {
    const results: ClipResult[] = [];
    const rec = new ClipRecorder({ dir: join(dir, 'k'), preSeconds: 0.7, postSeconds: 0.2, keyframeSeconds: 0.5, maxFps: FPS, onClip: (c) => results.push(c) });
    await feed(rec, 0, 20);
    rec.request(1.9e9); // window 1.2 … 2.1 s; keyframes every 5 encoded frames from frame 1 → the one at 1.1 s
    await feed(rec, 20, 25);
    await rec.close();
    expect(results[0]).toMatchObject({ ok: true, firstTs: 1.1e9, lastTs: 2.1e9, frames: 11 });
  });

  it('overlapping events merge into one clip, up to maxClipSeconds; a later one starts another', async () => {
    const results: ClipResult[] = [];
    const rec = new ClipRecorder({ dir: join(dir, 'm'), preSeconds: 0.5, postSeconds: 0.5, maxClipSeconds: 2, keyframeSeconds: 0.5, maxFps: FPS, onClip: (c) => results.push(c) });
    await feed(rec, 0, 10);
    const a = rec.request(1.0e9);
    await feed(rec, 10, 13);
    const b = rec.request(1.3e9); // overlaps a: same file, window to 1.8 s
    expect(b.path).toBe(a.path);
    expect(b.toTs).toBe(1.8e9);
    await feed(rec, 13, 25);
    const c = rec.request(2.3e9); // a was written at 1.8 s: a new clip
    expect(c.path).not.toBe(a.path);
    const early = rec.request(2.2e9); // starts before c's window: a clip of its own, not a shorter pre-roll
    expect(early.path).not.toBe(c.path);
    await feed(rec, 25, 30);
    await rec.close();
    expect(results.filter((r) => r.path !== early.path).map((r) => [r.path === a.path ? 'a' : 'c', r.events, r.firstTs, r.lastTs])).toEqual([['a', 2, 0.1e9, 1.8e9], ['c', 1, 1.6e9, 2.8e9]]);
    expect(rec.stats()).toMatchObject({ requested: 4, merged: 1, written: 3, pending: 0 });
  });

  it('keeps the ring within maxRingBytes by dropping whole GOPs, and the disk within maxDiskBytes by deleting the oldest clips (counted)', async () => {
    const results: ClipResult[] = [];
    const rec = new ClipRecorder({
      dir: join(dir, 'b'), preSeconds: 60, postSeconds: 0, keyframeSeconds: 0.5, maxFps: FPS, maxRingBytes: 64 * 1024, maxDiskBytes: 1024 * 1024,
      bitrateKbps: 4000, onClip: (c) => results.push(c),
    });
    await feed(rec, 0, 60, noisy);
    const s = rec.stats();
    expect(s.ringBytes).toBeLessThanOrEqual(64 * 1024);
    expect(s.ringBytesDrops).toBeGreaterThan(0);
    expect(s.ringSeconds).toBeLessThan(6);
    await rec.close();
    // disk: many small clips into a 1 MiB budget
    const disk: ClipResult[] = [];
    const d = new ClipRecorder({ dir: join(dir, 'd'), preSeconds: 2, postSeconds: 0, keyframeSeconds: 0.5, maxFps: FPS, maxDiskBytes: 1024 * 1024, bitrateKbps: 8000, onClip: (c) => disk.push(c) });
    for (let k = 0; k < 12; k++) {
      await feed(d, k * 20, k * 20 + 20, noisy);
      d.request(((k * 20 + 19) * 1e9) / FPS);
    }
    await d.close();
    const st = d.stats();
    expect(st.written).toBe(12);
    const onDisk = readdirSync(join(dir, 'd')).filter((f) => f.endsWith('.mp4'));
    const bytes = onDisk.reduce((a, f) => a + statSync(join(dir, 'd', f)).size, 0);
    expect(st.deleted).toBe(12 - onDisk.length);
    expect(st.deleted).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(st.diskBytes).toBe(bytes);
  });

  it('one disk budget across recorders (a restart) and runs: earlier clips count, stale .part files go, names never repeat', async () => {
    const d = join(dir, 'budget');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'cam-old-0ms-1.mp4'), new Uint8Array(700 * 1024)); // a previous run's clip
    writeFileSync(join(d, 'cam-old-0ms-2.mp4.part'), new Uint8Array(10)); // killed mid-write
    writeFileSync(join(d, 'other-0ms-1.mp4'), new Uint8Array(10)); // not this prefix: untouched
    const budget = new ClipDiskBudget(d, 'cam', 1024 * 1024);
    expect([budget.files, budget.bytes]).toEqual([1, 700 * 1024]);
    expect(existsSync(join(d, 'cam-old-0ms-2.mp4.part'))).toBe(false);
    const paths: string[] = [];
    for (let run = 0; run < 2; run++) {
      const rec = new ClipRecorder({ dir: d, prefix: 'cam', preSeconds: 1, postSeconds: 0, keyframeSeconds: 0.5, maxFps: FPS, bitrateKbps: 8000, budget, onClip: (c) => paths.push(c.path) });
      await feed(rec, 0, 20, noisy);
      rec.request(1.9e9);
      await rec.close();
    }
    expect(new Set(paths).size).toBe(2); // same prefix, same window, two recorders: two files
    expect(budget.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(budget.deleted).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(d, 'cam-old-0ms-1.mp4'))).toBe(false); // the oldest went first
    expect(existsSync(join(d, 'other-0ms-1.mp4'))).toBe(true);
  });

  it('frames sooner than 1/maxFps, or while the encoder is busy, are skipped (counted), never queued; bad options are typed', async () => {
    const rec = new ClipRecorder({ dir: join(dir, 's'), maxFps: 5 });
    for (let i = 0; i < 20; i++) { const f = frame(i); rec.push(f); f.release(); } // 10 fps offered at once
    await rec.close();
    const s = rec.stats();
    expect(s.framesEncoded).toBeLessThanOrEqual(1); // pushed back to back: the first tells the rate, one encode in flight, the rest skipped
    expect(s.framesSkipped).toBeGreaterThanOrEqual(19);
    expect(() => new ClipRecorder({ dir: '' })).toThrow(/dir/);
    expect(() => new ClipRecorder({ dir, preSeconds: 0 })).toThrow(/preSeconds/);
    expect(() => new ClipRecorder({ dir, prefix: '../x' })).toThrow(/prefix/);
    expect(() => new ClipRecorder({ dir, maxClipSeconds: 1, preSeconds: 5 })).toThrow(/maxClipSeconds/);
  });

  it('an encoder failure is counted and the encoder restarted a second later; frames after it are encoded again', async () => {
    // Full-amplitude noise is more than openh264 can encode at 320×240 ("Could not encode frame").
    const rec = new ClipRecorder({ dir: join(dir, 'f'), maxFps: FPS, keyframeSeconds: 0.5 });
    await feed(rec, 0, 5);
    await feed(rec, 5, 8, (i) => noisy(i, 256));
    const failed = rec.stats();
    expect(failed.encodeErrors).toBeGreaterThan(0);
    expect(failed.lastError).toMatch(/encode/i);
    await feed(rec, 8, 30);
    const after = rec.stats();
    expect(after.framesEncoded - failed.framesEncoded).toBeGreaterThanOrEqual(10); // restarted ≥ 1 s after the failure
    const ref = rec.request(2.5e9);
    await rec.close();
    expect(existsSync(ref.path)).toBe(true);
    expect((await decodedTs(ref.path)).length).toBeGreaterThan(5);
  });

  it('a clip with nothing encoded fails typed at close, and close never hangs', async () => {
    const results: ClipResult[] = [];
    const rec = new ClipRecorder({ dir: join(dir, 'e'), onClip: (c) => results.push(c) });
    rec.request(1e9);
    await rec.close();
    await rec.close();
    expect(results).toEqual([expect.objectContaining({ ok: false, frames: 0, error: expect.stringMatching(/no video/) })]);
    expect(rec.stats().failed).toBe(1);
  });
});
