import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import { PIXEL_FORMATS, convertFrame } from '@nv/frame';
import { describe, expect, it } from 'vitest';
import {
  boxFrame, checkerFrame, compareFrames, frameSequence, gradientFrame, gradientPixel, readPixel, readSeqMarker, solidFrame,
} from './synthetic.js';

describe('synthetic frames', () => {
  it('solid RGB frames hold the given colour everywhere', () => {
    const f = solidFrame({ rgb: [10, 20, 30], width: 7, height: 5 });
    for (const [x, y] of [[0, 0], [6, 4], [3, 2]] as const) expect(readPixel(f, x, y)).toEqual([10, 20, 30]);
    f.release();
  });

  it('solid frames in YUV formats carry the expected BT.709 limited-range values', () => {
    // White → Y 235, U/V 128; black → Y 16, U/V 128 (limited range).
    for (const format of ['NV12', 'I420'] as const) {
      const w = solidFrame({ rgb: [255, 255, 255], format });
      const k = solidFrame({ rgb: [0, 0, 0], format });
      expect(readPixel(w, 5, 5)).toEqual([235, 128, 128]);
      expect(readPixel(k, 5, 5)).toEqual([16, 128, 128]);
      w.release(); k.release();
    }
  });

  it('gradient pixels follow the documented formula', () => {
    const f = gradientFrame({ width: 300, height: 20 });
    for (const [x, y] of [[0, 0], [299, 19], [256, 3], [17, 11]] as const) expect(readPixel(f, x, y)).toEqual([...gradientPixel(x, y)]);
    f.release();
  });

  it('gradient in BGR8 reads back as RGB', () => {
    const f = gradientFrame({ format: 'BGR8' });
    expect(readPixel(f, 9, 4)).toEqual([...gradientPixel(9, 4)]);
    f.release();
  });

  it('checkerboard cells', () => {
    const f = checkerFrame({ cell: 4, width: 16, height: 8, format: 'GRAY8' });
    expect(readPixel(f, 0, 0)).toEqual([255]);
    expect(readPixel(f, 4, 0)).toEqual([0]);
    expect(readPixel(f, 4, 4)).toEqual([255]);
    f.release();
  });

  it('box frames draw the box in normalized coordinates', () => {
    const f = boxFrame({ width: 100, height: 100, box: { xMin: 0.2, yMin: 0.3, xMax: 0.4, yMax: 0.5 }, rgb: [255, 0, 0] });
    expect(readPixel(f, 25, 35)).toEqual([255, 0, 0]);
    expect(readPixel(f, 19, 35)).toEqual([0, 0, 0]);
    expect(readPixel(f, 40, 35)).toEqual([0, 0, 0]);
    f.release();
  });

  it.each(PIXEL_FORMATS.map((f) => [f]))('frame sequences carry their seq marker in %s', (format) => {
    const frames = frameSequence(5, { format, fps: 25, startSeq: 300 });
    expect(frames.map(readSeqMarker)).toEqual([300, 301, 302, 303, 304]);
    expect(frames.map((f) => f.ts)).toEqual([12e9, 12.04e9, 12.08e9, 12.12e9, 12.16e9].map((v) => Math.round(v)));
    frames.forEach((f) => f.release());
  });

  it('compareFrames finds equal content across strides and reports differences', () => {
    const a = gradientFrame({ format: 'I420', width: 32, height: 16 });
    const b = convertFrame(a, 'I420');
    expect(compareFrames(a, b)).toBe(true);
    const c = gradientFrame({ format: 'I420', width: 32, height: 16, seq: 1 });
    expect(compareFrames(a, c)).toBe(true);
    const d = solidFrame({ format: 'I420', width: 32, height: 16 });
    expect(compareFrames(a, d)).toMatch(/^plane 0 row 0/);
    [a, b, c, d].forEach((f) => f.release());
  });

  it('released synthetic frames refuse pixel access', () => {
    const f = solidFrame();
    f.release();
    expect(() => readPixel(f, 0, 0)).toThrow(expect.objectContaining({ kind: 'Released' }));
    try { readPixel(f, 0, 0); } catch (e) { expect(FrameAccessError.isInstance(e)).toBe(true); }
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => solidFrame({ rgb: [256, 0, 0] })).toThrow(InvalidArgumentError);
    expect(() => frameSequence(-1)).toThrow(InvalidArgumentError);
    const f = solidFrame();
    expect(() => readPixel(f, 64, 0)).toThrow(InvalidArgumentError);
    f.release();
  });
});
