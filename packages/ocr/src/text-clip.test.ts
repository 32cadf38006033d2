/**
 * The generated text clip (makeTextClip in @nv/test-util) that the OCR tests and the OCR
 * benchmark rely on: its ground truth must match what is actually rendered.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { MediaSource } from '@nv/media';
import { makeTextClip } from '@nv/test-util';

describe('makeTextClip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nv-text-clip-'));

  it('renders the plates where the ground truth says, on every frame', async () => {
    const { path, groundTruth: gt } = await makeTextClip({ frames: 20, dir });
    expect(gt.frameCount).toBe(20);
    expect(gt.perFrame).toHaveLength(20);
    expect(gt.plates.map((p) => p.text)).toEqual(['KA 01 AB 1234', 'MH 12 XY 9876', 'TN 07 CD 4521']);
    // the plates move: first and last centres differ by the configured path
    const first = gt.perFrame[0]!.plates[0]!, last = gt.perFrame[19]!.plates[0]!;
    // (box corners are whole pixels, so centres are within a pixel of the requested path)
    expect(Math.abs(first.cx - 0.22 * 1280)).toBeLessThanOrEqual(1);
    expect(Math.abs(last.cx - 0.78 * 1280)).toBeLessThanOrEqual(1);
    const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } });
    let n = 0;
    for await (const f of src.frames()) {
      try {
        expect([f.width, f.height, f.format]).toEqual([1280, 720, 'I420']);
        const y = f.plane(0), stride = f.planes[0]!.stride;
        const luma = (x: number, yy: number) => y[Math.round(yy) * stride + Math.round(x)]!;
        for (const p of gt.perFrame[f.seq]!.plates) {
          // just inside each corner of the box: the light plate; just outside: the dark background
          for (const [cx, cy, dx, dy] of [[p.x, p.y, 1, 1], [p.x + p.w - 1, p.y, -1, 1], [p.x, p.y + p.h - 1, 1, -1], [p.x + p.w - 1, p.y + p.h - 1, -1, -1]] as const) {
            expect(luma(cx + 3 * dx, cy + 3 * dy), `frame ${f.seq} ${p.text} inside`).toBeGreaterThan(190);
            expect(luma(cx - 3 * dx, cy - 3 * dy), `frame ${f.seq} ${p.text} outside`).toBeLessThan(90);
          }
          // dark text around the centre row
          let dark = 0;
          for (let x = p.x + 8; x < p.x + p.w - 8; x++) if (luma(x, p.cy - 2) < 90) dark++;
          expect(dark, `frame ${f.seq} ${p.text} text pixels`).toBeGreaterThan(0.2 * p.w);
        }
        n++;
      } finally { f.release(); }
    }
    expect(n).toBe(20);
  }, 60_000);

  it('caches by options: the same options reuse the file, other options make another', async () => {
    const a = await makeTextClip({ frames: 20, dir });
    const mtime = statSync(a.path).mtimeMs;
    const again = await makeTextClip({ frames: 20, dir });
    expect(again.path).toBe(a.path);
    expect(statSync(again.path).mtimeMs).toBe(mtime);
    const b = await makeTextClip({ frames: 10, dir, plates: [{ text: 'AB 12', from: { x: 200, y: 100 }, to: { x: 300, y: 100 } }] });
    expect(b.path).not.toBe(a.path);
    expect(b.groundTruth.plates.map((p) => p.text)).toEqual(['AB 12']);
    expect(Math.abs(b.groundTruth.perFrame[9]!.plates[0]!.cx - 300)).toBeLessThanOrEqual(1);
  }, 60_000);

  it('rejects bad options naming the field', async () => {
    await expect(makeTextClip({ frames: 1 })).rejects.toThrow(/textClip\.frames/);
    await expect(makeTextClip({ plates: [{ text: '<b>x</b>', from: { x: 0, y: 0 }, to: { x: 1, y: 1 } }] })).rejects.toThrow(InvalidArgumentError);
    await expect(makeTextClip({ plates: [] })).rejects.toThrow(/textClip\.plates/);
    await expect(makeTextClip({ dir, python: join(dir, 'no-python') })).rejects.toThrow(/text clip rendering failed/);
  });
});
