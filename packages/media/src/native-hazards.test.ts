/**
 * Hazards a review found in the native paths, each through the public API: a frame released
 * too often while a native letterbox reads it, a resample quad so large its arithmetic
 * overflows, a buffer that can shrink under a worker thread, and abort() while close() waits.
 */
import { InvalidArgumentError } from '@nv/core';
import type { ResampleIntoRequest } from '@nv/frame';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediaSource, VideoWriter, type NativeFrame } from './index.js';
import { scratch } from './test-fixtures.js';

async function nv12Frame(): Promise<{ frame: NativeFrame; stop: () => Promise<void> }> {
  const src = new MediaSource({ kind: 'testPattern', frames: 5, width: 640, height: 480 }, { output: { format: 'NV12' } });
  const frame = (await src.next())!;
  return { frame, stop: () => src.stop() };
}

function resample(out: Float32Array, quad: number[], w = 256, h = 256): ResampleIntoRequest {
  return {
    kind: 'resample', width: w, height: h, rowStride: w, sampling: { kind: 'quad', quad: new Float64Array(quad), sxC: 0.5, syC: 0.5 },
    k: { y0: 16, iy: 1.164, rv: 1.793, gu: 0.213, gv: 0.533, bu: 2.112 }, norm: { sR: 1, bR: 0, sG: 1, bG: 0, sB: 1, bB: 0 },
    out, oR: 0, oG: w * h, oB: 2 * w * h,
  } as unknown as ResampleIntoRequest;
}

describe('native hazards', () => {
  it('a frame released one time too many while a native resample reads it stays mapped until the call settles', async () => {
    const { frame, stop } = await nv12Frame();
    const out = new Float32Array(3 * 1024 * 1024);
    const p = frame.letterboxInto(resample(out, [0, 0, 640, 0, 600, 480, 0, 480], 1024, 1024));
    frame.release();
    frame.release(); // one too many: it takes the reference the call holds
    expect(frame.isReleased).toBe(true);
    expect(frame._handle.isReleased()).toBe(false); // not freed under the worker thread
    await p;
    expect(frame._handle.isReleased()).toBe(true); // freed once the call settled
    expect(out.some((v) => v !== 0)).toBe(true);
    await stop();
  });

  it('a finite but huge quad is refused (it used to overflow to NaN and index out of bounds)', async () => {
    const { frame, stop } = await nv12Frame();
    try {
      await expect(frame.letterboxInto(resample(new Float32Array(3 * 256 * 256), [-1e308, 0, 10, 0, 10, 10, 1e308, 10]))).rejects.toThrow(/±2\^30/);
    } finally {
      frame.release();
      await stop();
    }
  });

  it('an output over a resizable ArrayBuffer is refused before any native work', async () => {
    const { frame, stop } = await nv12Frame();
    try {
      const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(3 * 256 * 256 * 4, { maxByteLength: 3 * 256 * 256 * 4 });
      await expect(frame.letterboxInto(resample(new Float32Array(ab), [0, 0, 640, 0, 640, 480, 0, 480]))).rejects.toThrow(InvalidArgumentError);
    } finally {
      frame.release();
      await stop();
    }
  });

  it('abort() while close() waits for the muxer ends close() with an error instead of a 120 s wait', async () => {
    const src = new MediaSource({ kind: 'testPattern', frames: 30, width: 1280, height: 720 }, { output: { format: 'I420' }, backpressure: { kind: 'block', queueDepth: 4 } });
    const w = VideoWriter.open({ path: join(scratch, 'abort-during-close.mp4'), width: 1280, height: 720, format: 'I420', fps: 30, speedPreset: 'medium' });
    for (let i = 0; i < 30; i++) { const f = await src.next(); if (!f) break; await w.write(f); f.release(); }
    await src.stop();
    const closing = w.close();
    w.abort();
    // Settles (an error, or done if the muxer finished first) — it used to wait 120 s when the
    // abort flushed the bus before the EOS arrived.
    await closing.catch((e: unknown) => expect(String(e)).toMatch(/aborted|finished/));
  }, 30_000);
});
