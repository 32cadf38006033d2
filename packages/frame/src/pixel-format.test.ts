import { describe, it, expect } from 'vitest';
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import {
  PixelFormat, PIXEL_FORMATS, bytesPerPixel, isPixelFormat, isPlanar, layoutByteLength, packedFrameSize, planeCount, planeLayout,
} from './pixel-format.js';

describe('PixelFormat', () => {
  it('const object and list agree on the seven formats', () => {
    expect(Object.values(PixelFormat).sort()).toEqual([...PIXEL_FORMATS].sort());
    expect(PIXEL_FORMATS).toHaveLength(7);
  });

  it.each([
    ['RGB8', 3, 1, false],
    ['BGR8', 3, 1, false],
    ['RGBA8', 4, 1, false],
    ['BGRA8', 4, 1, false],
    ['GRAY8', 1, 1, false],
    ['NV12', undefined, 2, true],
    ['I420', undefined, 3, true],
  ] as const)('%s: bytesPerPixel %s, %i plane(s), planar %s', (format, bpp, planes, planar) => {
    expect(isPixelFormat(format)).toBe(true);
    expect(bytesPerPixel(format)).toBe(bpp);
    expect(planeCount(format)).toBe(planes);
    expect(isPlanar(format)).toBe(planar);
  });

  it.each([['rgb8'], ['YUY2'], [''], [3], [null], ['toString'], ['__proto__']])('rejects %j', (bad) => {
    expect(isPixelFormat(bad)).toBe(false);
    expect(() => planeCount(bad as PixelFormat)).toThrow(InvalidArgumentError);
    expect(() => bytesPerPixel(bad as PixelFormat)).toThrow(InvalidArgumentError);
  });
});

describe('planeLayout', () => {
  // [format, w, h, [width, height, stride, offset, size] per plane]
  it.each([
    ['RGB8', 4, 2, [[4, 2, 12, 0, 24]]],
    ['BGR8', 3, 3, [[3, 3, 9, 0, 27]]],
    ['RGBA8', 2, 2, [[2, 2, 8, 0, 16]]],
    ['BGRA8', 3, 1, [[3, 1, 12, 0, 12]]],
    ['GRAY8', 5, 1, [[5, 1, 5, 0, 5]]],
    ['NV12', 4, 2, [[4, 2, 4, 0, 8], [2, 1, 4, 8, 4]]],
    ['NV12', 5, 3, [[5, 3, 5, 0, 15], [3, 2, 6, 15, 12]]],
    ['I420', 4, 4, [[4, 4, 4, 0, 16], [2, 2, 2, 16, 4], [2, 2, 2, 20, 4]]],
    ['I420', 5, 3, [[5, 3, 5, 0, 15], [3, 2, 3, 15, 6], [3, 2, 3, 21, 6]]],
    ['I420', 1, 1, [[1, 1, 1, 0, 1], [1, 1, 1, 1, 1], [1, 1, 1, 2, 1]]],
  ] as const)('%s %ix%i tightly packed', (format, w, h, expected) => {
    const planes = planeLayout(format, w, h);
    expect(planes.map((p) => [p.width, p.height, p.stride, p.offset, p.size])).toEqual(expected);
    for (const p of planes) expect(p.stride).toBe(p.rowBytes);
    expect(layoutByteLength(planes)).toBe(packedFrameSize(format, w, h));
  });

  it('1080p NV12 matches GStreamer sizes', () => {
    const [y, uv] = planeLayout('NV12', 1920, 1080);
    expect(y).toMatchObject({ stride: 1920, size: 1920 * 1080 });
    expect(uv).toMatchObject({ width: 960, height: 540, rowBytes: 1920, offset: 1920 * 1080, size: 1920 * 540 });
    expect(packedFrameSize('NV12', 1920, 1080)).toBe(3_110_400);
  });

  it('honours explicit strides and offsets', () => {
    const planes = planeLayout('I420', 5, 3, { strides: [8, 4, 4], offsets: [0, 32, 48] });
    expect(planes.map((p) => [p.stride, p.rowBytes, p.offset, p.size])).toEqual([[8, 5, 0, 24], [4, 3, 32, 8], [4, 3, 48, 8]]);
    expect(layoutByteLength(planes)).toBe(56);
    // strides only: planes follow each other using the strided sizes
    expect(planeLayout('NV12', 5, 3, { strides: [8, 8] }).map((p) => p.offset)).toEqual([0, 24]);
  });

  it('returns frozen descriptors', () => {
    const planes = planeLayout('RGB8', 2, 2);
    expect(Object.isFrozen(planes)).toBe(true);
    expect(Object.isFrozen(planes[0])).toBe(true);
  });

  it.each([
    ['stride smaller than a row', () => planeLayout('RGB8', 4, 2, { strides: [11] }), 'InvalidLayout'],
    ['chroma stride smaller than its row', () => planeLayout('NV12', 5, 2, { strides: [5, 5] }), 'InvalidLayout'],
    ['overlapping planes', () => planeLayout('NV12', 4, 2, { offsets: [0, 4] }), 'InvalidLayout'],
  ])('%s → FrameAccessError', (_name, fn, kind) => {
    try {
      fn();
      expect.unreachable();
    } catch (e) {
      expect(FrameAccessError.isInstance(e)).toBe(true);
      expect((e as FrameAccessError).kind).toBe(kind);
    }
  });

  it.each([
    ['zero width', () => planeLayout('RGB8', 0, 2)],
    ['fractional height', () => planeLayout('RGB8', 2, 1.5)],
    ['NaN width', () => planeLayout('RGB8', Number.NaN, 2)],
    ['huge width', () => planeLayout('RGB8', 70_000, 2)],
    ['unknown format', () => planeLayout('YUY2' as PixelFormat, 2, 2)],
    ['wrong stride count', () => planeLayout('NV12', 2, 2, { strides: [2] })],
    ['negative offset', () => planeLayout('RGB8', 2, 2, { offsets: [-1] })],
    ['non-integer stride', () => planeLayout('RGB8', 2, 2, { strides: [6.5] })],
  ])('%s → InvalidArgumentError', (_name, fn) => {
    expect(fn).toThrow(InvalidArgumentError);
  });
});
