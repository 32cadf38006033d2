import { MediaError } from '@nv/core';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeSource } from './index.js';
import { h264Clip, scratch, textFile } from './test-fixtures.js';

describe('probeSource', () => {
  it('a generated H.264 file: codec, size, fps, duration, decoder', async () => {
    const p = await probeSource({ kind: 'file', path: h264Clip('probe', 60, 320, 240) });
    expect(p.codec).toMatch(/H\.264/);
    expect(p).toMatchObject({ width: 320, height: 240, live: false, seekable: true, hardware: false });
    expect(p.fps).toBeCloseTo(30);
    expect(p.durationMs).toBeGreaterThan(1900);
    expect(p.durationMs).toBeLessThan(2100);
    expect(p.decoder).toMatch(/h264/);
  });

  it.each([
    ['a missing file', () => join(scratch, 'nope.mp4'), 'SourceNotFound'],
    ['a directory', () => scratch, 'SourceNotFound'],
    ['a text file', () => textFile(), 'InvalidMedia'],
  ])('%s is a typed MediaError', async (_n, path, kind) => {
    const e = await probeSource({ kind: 'file', path: path() }).catch((x: unknown) => x);
    expect(MediaError.isInstance(e) && e.kind).toBe(kind);
  });

  it("a failed probe's error carries the caller's stack (the discoverer settles from the event loop)", async () => {
    // Not async, so V8's async stack traces alone cannot put it on the stack.
    function probeFromNamedCaller(): Promise<unknown> { return probeSource({ kind: 'file', path: textFile() }); }
    const e = await probeFromNamedCaller().catch((x: unknown) => x);
    expect(MediaError.isInstance(e) && e.kind).toBe('InvalidMedia');
    expect((e as Error).stack).toContain('probeFromNamedCaller');
  });

  it('a test pattern (no container): size from the pipeline, no decoder', async () => {
    const p = await probeSource({ kind: 'testPattern', pattern: 'smpte', width: 160, height: 120, frames: 5 });
    expect(p).toMatchObject({ width: 160, height: 120, decoder: undefined, durationMs: undefined });
  });
});
