import { describe, it, expect, vi } from 'vitest';
import { FrameAccessError, InvalidArgumentError, TypedMetadata, metadataKey } from '@nv/core';
import type { FrameAccessErrorKind } from '@nv/core';
import { createOwnedFrame, OwnedFrame } from './owned-frame.js';
import type { OwnedFrameInit } from './owned-frame.js';
import type { FrameEnvelope } from './frame-envelope.js';

function frameError(fn: () => unknown): FrameAccessError {
  try {
    fn();
  } catch (e) {
    if (FrameAccessError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a FrameAccessError, nothing was thrown');
}

function expectFrameError(fn: () => unknown, kind: FrameAccessErrorKind): void {
  expect(frameError(fn).kind).toBe(kind);
}

const base = { feedId: 3, seq: 7, ts: 1_000, width: 2, height: 2 } as const;

function rgb2x2(): OwnedFrame {
  return createOwnedFrame({ ...base, format: 'RGB8', data: Uint8Array.from({ length: 12 }, (_, i) => i + 1) });
}

describe('createOwnedFrame', () => {
  it('carries the header and a tightly packed host layout', () => {
    const Tag = metadataKey<string>('tag');
    const meta = TypedMetadata.empty();
    meta.set(Tag, 'x');
    const f = createOwnedFrame({ ...base, wallTs: 123, format: 'RGB8', data: new Uint8Array(12), metadata: meta });
    expect(f).toMatchObject({
      feedId: 3, seq: 7, ts: 1_000, wallTs: 123, width: 2, height: 2, format: 'RGB8',
      residency: 'host', dataAccess: 'hostReadable', isContiguous: true, refCount: 1, isReleased: false, deviceHandle: undefined,
    });
    expect(f.metadata).toBe(meta);
    expect(f.planes).toEqual([{ width: 2, height: 2, stride: 6, rowBytes: 6, offset: 0, size: 12 }]);
    expect(f.toJSON()).toEqual({
      feedId: 3, seq: 7, ts: 1_000, wallTs: 123, width: 2, height: 2, format: 'RGB8', residency: 'host', dataAccess: 'hostReadable', refCount: 1,
    });
  });

  it('defaults wallTs to 0 (unknown) and metadata to an empty map', () => {
    const f = rgb2x2();
    expect(f.wallTs).toBe(0);
    expect(f.metadata.isEmpty).toBe(true);
  });

  it('copies the input by default', () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => i);
    const f = createOwnedFrame({ ...base, format: 'RGB8', data });
    data[0] = 99;
    expect(f.plane(0)[0]).toBe(0);
    expect(data.length).toBe(12); // caller's array untouched
    expect(f.plane(0).buffer).not.toBe(data.buffer);
  });

  it('returns the same view on every call and hostData() covers every plane', () => {
    const y = Uint8Array.from({ length: 4 }, (_, i) => 10 + i);
    const uv = Uint8Array.of(200, 201);
    const f = createOwnedFrame({ ...base, format: 'NV12', planes: [y, uv] });
    expect(f.plane(0)).toBe(f.plane(0));
    expect([...f.plane(0)]).toEqual([10, 11, 12, 13]);
    expect([...f.plane(1)]).toEqual([200, 201]);
    expect([...f.hostData()]).toEqual([10, 11, 12, 13, 200, 201]);
    expect(f.plane(1).buffer).toBe(f.hostData().buffer);
  });

  it('keeps given strides and offsets; plane views start at the plane offset', () => {
    // NV12 3x2: Y rows of 3 bytes in stride 4, gap, UV row of 4 bytes in stride 6 at offset 10.
    const data = Uint8Array.of(1, 2, 3, 0xee, 4, 5, 6, 0xee, 0xee, 0xee, 50, 60, 70, 80, 0xee, 0xee);
    const f = createOwnedFrame({ ...base, width: 3, format: 'NV12', data, strides: [4, 6], offsets: [0, 10] });
    expect(f.planes.map((p) => [p.stride, p.rowBytes, p.offset, p.size])).toEqual([[4, 3, 0, 8], [6, 4, 10, 6]]);
    expect([...f.plane(1).subarray(0, 4)]).toEqual([50, 60, 70, 80]);
    expect(f.hostData()).toHaveLength(16);
  });

  it('copies separate planes into one contiguous buffer, keeping their strides', () => {
    const f = createOwnedFrame({
      ...base, width: 3, height: 3, format: 'I420', strides: [4, 2, 2],
      planes: [new Uint8Array(12).fill(1), new Uint8Array(4).fill(2), new Uint8Array(4).fill(3)],
    });
    expect(f.isContiguous).toBe(true);
    expect(f.planes.map((p) => p.offset)).toEqual([0, 12, 16]);
    expect([...f.hostData()]).toEqual([...Array(12).fill(1), ...Array(4).fill(2), ...Array(4).fill(3)]);
  });

  it('odd-sized I420 rounds chroma up', () => {
    const f = createOwnedFrame({ ...base, width: 5, height: 3, format: 'I420', data: new Uint8Array(15 + 6 + 6) });
    expect(f.planes.map((p) => [p.width, p.height])).toEqual([[5, 3], [3, 2], [3, 2]]);
    expectFrameError(() => createOwnedFrame({ ...base, width: 5, height: 3, format: 'I420', data: new Uint8Array(15 + 4 + 4) }), 'InvalidLayout');
  });

  describe('transferOwnership', () => {
    it('takes the caller buffer without copying it and detaches the caller array', () => {
      const data = Uint8Array.from({ length: 12 }, (_, i) => i);
      const f = createOwnedFrame({ ...base, format: 'RGB8', data, transferOwnership: true });
      expect(data.length).toBe(0);
      expect([...f.plane(0)]).toEqual(Array.from({ length: 12 }, (_, i) => i));
    });

    it('keeps separately transferred planes in their own buffers', () => {
      const y = new Uint8Array(4).fill(9);
      const uv = new Uint8Array(2).fill(8);
      const f = createOwnedFrame({ ...base, format: 'NV12', planes: [y, uv], transferOwnership: true });
      expect(f.isContiguous).toBe(false);
      expect(f.planes.map((p) => p.offset)).toEqual([0, 0]);
      expect([...f.plane(1)]).toEqual([8, 8]);
      expect(f.plane(0).buffer).not.toBe(f.plane(1).buffer);
      expectFrameError(() => f.hostData(), 'InvalidLayout');
      const p0 = f.plane(0);
      const p1 = f.plane(1);
      f.release();
      expect(p0.length).toBe(0);
      expect(p1.length).toBe(0);
    });

    it('refuses subarrays and pooled Buffers without detaching anything', () => {
      const big = new Uint8Array(24);
      expect(() => createOwnedFrame({ ...base, format: 'RGB8', data: big.subarray(12), transferOwnership: true })).toThrow(InvalidArgumentError);
      expect(big.length).toBe(24);
      const pooled = Buffer.allocUnsafe(12);
      if (pooled.buffer.byteLength !== 12) {
        expect(() => createOwnedFrame({ ...base, format: 'RGB8', data: pooled, transferOwnership: true })).toThrow(InvalidArgumentError);
        expect(pooled.length).toBe(12);
      }
    });

    it('checks every plane before detaching any', () => {
      const y = new Uint8Array(4);
      const shared = new Uint8Array(8);
      expect(() => createOwnedFrame({ ...base, format: 'NV12', planes: [y, shared.subarray(0, 2)], transferOwnership: true })).toThrow(InvalidArgumentError);
      expect(y.length).toBe(4);
      const one = new Uint8Array(4);
      expect(() => createOwnedFrame({ ...base, format: 'NV12', planes: [one, one], transferOwnership: true })).toThrow(InvalidArgumentError);
      expect(one.length).toBe(4);
    });
  });

  const data12 = new Uint8Array(12);
  it.each<[string, Partial<OwnedFrameInit> & Record<string, unknown>]>([
    ['both data and planes', { data: data12, planes: [data12] }],
    ['neither data nor planes', {}],
    ['data not a Uint8Array', { data: [1, 2, 3] as unknown as Uint8Array }],
    ['data as Uint16Array', { data: new Uint16Array(12) as unknown as Uint8Array }],
    ['wrong plane count', { planes: [data12, data12] }],
    ['plane not a Uint8Array', { planes: ['x' as unknown as Uint8Array] }],
    ['offsets with planes', { planes: [data12], offsets: [0] }],
    ['negative feedId', { feedId: -1, data: data12 }],
    ['fractional seq', { seq: 1.5, data: data12 }],
    ['negative ts', { ts: -5, data: data12 }],
    ['NaN wallTs', { wallTs: Number.NaN, data: data12 }],
    ['zero width', { width: 0, data: data12 }],
    ['unknown format', { format: 'YUY2' as 'RGB8', data: data12 }],
    ['metadata not a map', { metadata: { a: 1 } as unknown as TypedMetadata, data: data12 }],
    ['onRelease not a function', { onRelease: 5 as unknown as () => void, data: data12 }],
    ['transferOwnership not a boolean', { transferOwnership: 'yes' as unknown as boolean, data: data12 }],
    ['wrong stride count', { strides: [6, 6], data: data12 }],
  ])('%s → InvalidArgumentError', (_name, patch) => {
    expect(() => createOwnedFrame({ ...base, format: 'RGB8', ...patch } as OwnedFrameInit)).toThrow(InvalidArgumentError);
  });

  it.each<[string, Partial<OwnedFrameInit>]>([
    ['data too short', { data: new Uint8Array(11) }],
    ['data too short for the stride', { data: new Uint8Array(12), strides: [8] }],
    ['stride below a row', { data: new Uint8Array(12), strides: [5] }],
    ['plane too short', { planes: [new Uint8Array(11)] }],
  ])('%s → FrameAccessError InvalidLayout', (_name, patch) => {
    expectFrameError(() => createOwnedFrame({ ...base, format: 'RGB8', ...patch } as OwnedFrameInit), 'InvalidLayout');
  });

  it('cannot be constructed directly', () => {
    const Ctor = OwnedFrame as unknown as new (t: symbol, p: unknown) => OwnedFrame;
    expect(() => new Ctor(Symbol('x'), {})).toThrow(InvalidArgumentError);
  });
});

describe('OwnedFrame lifecycle', () => {
  it('a view taken before release reads as length 0 after release', () => {
    const f = rgb2x2();
    const view = f.plane(0);
    const whole = f.hostData();
    const sub = view.subarray(3, 6);
    expect(view[0]).toBe(1);
    expect(sub.length).toBe(3);
    f.release();
    expect(view.length).toBe(0);
    expect(view.byteLength).toBe(0);
    expect(view[0]).toBeUndefined();
    expect(whole.length).toBe(0);
    expect(sub.length).toBe(0);
  });

  it('counts references; memory stays until the last release', () => {
    const onRelease = vi.fn();
    const f = createOwnedFrame({ ...base, format: 'GRAY8', data: Uint8Array.of(1, 2, 3, 4), onRelease });
    const view = f.plane(0);
    expect(f.retain()).toBe(f);
    f.retain();
    expect(f.refCount).toBe(3);
    f.release();
    f.release();
    expect(f.refCount).toBe(1);
    expect(f.isReleased).toBe(false);
    expect(view.length).toBe(4);
    expect(onRelease).not.toHaveBeenCalled();
    f.release();
    expect(f.refCount).toBe(0);
    expect(f.isReleased).toBe(true);
    expect(view.length).toBe(0);
    expect(onRelease).toHaveBeenCalledTimes(1);
  });

  it.each<[string, (f: FrameEnvelope) => unknown]>([
    ['plane()', (f) => f.plane(0)],
    ['hostData()', (f) => f.hostData()],
    ['retain()', (f) => f.retain()],
    ['release() again', (f) => f.release()],
  ])('%s after the last release throws Released', (_name, op) => {
    const onRelease = vi.fn();
    const f = createOwnedFrame({ ...base, format: 'GRAY8', data: new Uint8Array(4), onRelease });
    f.release();
    expectFrameError(() => op(f), 'Released');
    expect(f.refCount).toBe(0);
    expect(onRelease).toHaveBeenCalledTimes(1);
  });

  it.each([[-1], [1], [0.5], [Number.NaN]])('plane(%s) on a one-plane frame → InvalidArgumentError', (i) => {
    expect(() => rgb2x2().plane(i)).toThrow(InvalidArgumentError);
  });

  it('releasing a frame does not touch other frames made from the same input', () => {
    const data = Uint8Array.of(5, 6, 7, 8);
    const a = createOwnedFrame({ ...base, format: 'GRAY8', data });
    const b = createOwnedFrame({ ...base, format: 'GRAY8', data });
    a.release();
    expect([...b.plane(0)]).toEqual([5, 6, 7, 8]);
    expect([...data]).toEqual([5, 6, 7, 8]);
  });
});
