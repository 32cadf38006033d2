import { describe, it, expect, vi } from 'vitest';
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import type { FrameAccessErrorKind } from '@nv/core';
import { createDeviceFrame } from './device-frame.js';
import type { DeviceFrameInit } from './device-frame.js';
import type { CudaFrameHandle } from './frame-envelope.js';

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

// NV12 4x2 on the device: Y pitch 512 at 0, UV pitch 512 at 1024.
const handle: CudaFrameHandle = { devicePtr: 0x7f00_0000n, pitches: [512, 512], planeOffsets: [0, 1024], size: 1536, deviceId: 0, stream: 0n };
const base = { feedId: 1, seq: 0, ts: 0, width: 4, height: 2, format: 'NV12', handle } as const;
const hostNv12 = () => Uint8Array.of(10, 11, 12, 13, 14, 15, 16, 17, 128, 129, 130, 131);

describe('createDeviceFrame', () => {
  it('opaque without a materializer: host access throws NotHostAccessible', () => {
    const f = createDeviceFrame(base);
    expect(f).toMatchObject({ residency: 'cuda', dataAccess: 'opaque', refCount: 1, isContiguous: true });
    expect(f.deviceHandle).toEqual(handle);
    expect(f.deviceHandle).not.toBe(handle);
    expect(Object.isFrozen(f.deviceHandle)).toBe(true);
    expectFrameError(() => f.plane(0), 'NotHostAccessible');
    expectFrameError(() => f.hostData(), 'NotHostAccessible');
  });

  it('mappable: materializes once, on first access, and shares the result', () => {
    const materialize = vi.fn(hostNv12);
    const f = createDeviceFrame({ ...base, materialize });
    expect(f.dataAccess).toBe('mappableToHost');
    expect(materialize).not.toHaveBeenCalled();
    expect([...f.plane(1)]).toEqual([128, 129, 130, 131]);
    expect([...f.plane(0)]).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(f.hostData()).toHaveLength(12);
    expect(f.plane(0)).toBe(f.plane(0));
    expect(materialize).toHaveBeenCalledTimes(1);
  });

  it('copies the materialized bytes, so the materializer may reuse its array', () => {
    const scratch = hostNv12();
    const f = createDeviceFrame({ ...base, materialize: () => scratch });
    const y = f.plane(0);
    scratch[0] = 0;
    expect(y[0]).toBe(10);
    f.release();
    expect(y.length).toBe(0);
    expect(scratch.length).toBe(12); // the materializer's array is not detached
  });

  it('materialized layout may be strided', () => {
    const f = createDeviceFrame({ ...base, strides: [6, 6], materialize: () => new Uint8Array(18).fill(7) });
    expect(f.planes.map((p) => [p.stride, p.offset, p.size])).toEqual([[6, 0, 12], [6, 12, 6]]);
    expect(f.plane(1)).toHaveLength(6);
  });

  it.each<[string, () => Uint8Array]>([
    ['throws an Error', () => { throw new Error('cudaMemcpy failed'); }],
    ['throws a string', () => { throw 'boom'; }],
    ['returns too few bytes', () => new Uint8Array(11)],
    ['returns a non-Uint8Array', () => [1, 2, 3] as unknown as Uint8Array],
  ])('materializer that %s → MaterializationFailed, cached (materializer runs once)', (_name, fn) => {
    const materialize = vi.fn(fn);
    const f = createDeviceFrame({ ...base, materialize });
    const first = frameError(() => f.plane(0));
    expect(first.kind).toBe('MaterializationFailed');
    expect(frameError(() => f.plane(1))).toBe(first);
    expect(frameError(() => f.hostData())).toBe(first);
    expect(materialize).toHaveBeenCalledTimes(1);
  });

  it('keeps a MaterializationFailed thrown by the materializer itself', () => {
    const own = FrameAccessError.materializationFailed('device lost');
    const f = createDeviceFrame({ ...base, materialize: () => { throw own; } });
    expect(frameError(() => f.plane(0))).toBe(own);
  });

  it('a materializer that reads its own frame fails instead of recursing', () => {
    const f = createDeviceFrame({ ...base, materialize: () => f.plane(0) });
    expectFrameError(() => f.plane(0), 'MaterializationFailed');
  });

  it('release detaches the host copy, runs onRelease once, and later access is Released', () => {
    const onRelease = vi.fn();
    const materialize = vi.fn(hostNv12);
    const f = createDeviceFrame({ ...base, materialize, onRelease });
    f.retain();
    const uv = f.plane(1);
    f.release();
    expect(uv.length).toBe(4);
    f.release();
    expect(uv.length).toBe(0);
    expect(onRelease).toHaveBeenCalledTimes(1);
    expectFrameError(() => f.plane(0), 'Released');
    expectFrameError(() => f.hostData(), 'Released');
    expectFrameError(() => f.release(), 'Released');
    expectFrameError(() => f.retain(), 'Released');
    expect(materialize).toHaveBeenCalledTimes(1);
  });

  it('release before any host access never runs the materializer', () => {
    const materialize = vi.fn(hostNv12);
    const f = createDeviceFrame({ ...base, materialize });
    f.release();
    expectFrameError(() => f.plane(0), 'Released');
    expect(materialize).not.toHaveBeenCalled();
  });

  it('a materializer that releases its frame yields Released, not a live view', () => {
    const f = createDeviceFrame({ ...base, materialize: () => { f.release(); return hostNv12(); } });
    expectFrameError(() => f.plane(0), 'Released');
  });

  it.each<[string, Partial<CudaFrameHandle> & Record<string, unknown>]>([
    ['null device pointer', { devicePtr: 0n }],
    ['numeric device pointer', { devicePtr: 5 as unknown as bigint }],
    ['negative stream', { stream: -1n }],
    ['negative device id', { deviceId: -1 }],
    ['zero size', { size: 0 }],
    ['too few pitches', { pitches: [512] }],
    ['missing plane offsets', { planeOffsets: undefined }],
    ['fractional pitch', { pitches: [512.5, 512] }],
  ])('handle with %s → InvalidArgumentError', (_name, patch) => {
    expect(() => createDeviceFrame({ ...base, handle: { ...handle, ...patch } as CudaFrameHandle })).toThrow(InvalidArgumentError);
  });

  it.each<[string, Partial<CudaFrameHandle>]>([
    ['pitch below a row', { pitches: [3, 512] }],
    ['overlapping device planes', { planeOffsets: [0, 512] }],
    ['size too small for the planes', { size: 1535 }],
  ])('handle with %s → InvalidLayout', (_name, patch) => {
    expectFrameError(() => createDeviceFrame({ ...base, handle: { ...handle, ...patch } }), 'InvalidLayout');
  });

  it.each<[string, Partial<DeviceFrameInit> & Record<string, unknown>]>([
    ['no handle', { handle: undefined }],
    ['materialize not a function', { materialize: 'x' as unknown as () => Uint8Array }],
    ['bad format', { format: 'NV21' as 'NV12' }],
  ])('%s → InvalidArgumentError', (_name, patch) => {
    expect(() => createDeviceFrame({ ...base, ...patch } as DeviceFrameInit)).toThrow(InvalidArgumentError);
  });
});
