import { FrameAccessError, monotonicTs } from '@nv/core';
import { describe, expect, it } from 'vitest';
import type { FrameEnvelope } from './frame-envelope.js';
import { retimeFrame } from './frame-base.js';
import { createOwnedFrame } from './owned-frame.js';
import { RetimedFrame } from './retimed-frame.js';

const owned = () => createOwnedFrame({ feedId: 1, seq: 3, ts: 500, width: 2, height: 1, format: 'RGB8', data: new Uint8Array(6).fill(7) });

describe('retimeFrame', () => {
  it('updates a RefCountedFrame in place: same object, same pixels (no copy), same count', () => {
    const f = owned();
    const view = f.plane(0);
    const r = retimeFrame(f, monotonicTs(9_000), 42);
    expect(r).toBe(f);
    expect([r.ts, r.seq]).toEqual([9_000, 42]);
    expect(r.plane(0)).toBe(view);
    expect(r.refCount).toBe(1);
    expect(f.toJSON()).toMatchObject({ ts: 9_000, seq: 42 });
    r.release();
    expect(view.length).toBe(0);
  });

  it('wraps any other FrameEnvelope in a forwarding view: pixels and refcount are the inner frame\'s', () => {
    const inner = owned();
    // A frame implementation that is not a RefCountedFrame (e.g. from another package copy).
    const foreign: FrameEnvelope = new Proxy(inner, {
      get: (t, k) => { const v = Reflect.get(t, k, t) as unknown; return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v; },
      getPrototypeOf: () => Object.prototype,
    });
    const r = retimeFrame(foreign, monotonicTs(1_000), 7);
    expect(r).toBeInstanceOf(RetimedFrame);
    expect([r.ts, r.seq, foreign.ts, foreign.seq]).toEqual([1_000, 7, 500, 3]);
    expect(r.plane(0)).toBe(inner.plane(0));
    expect([r.width, r.height, r.format, r.metadata]).toEqual([2, 1, 'RGB8', inner.metadata]);
    expect(r.retain()).toBe(r);
    expect(inner.refCount).toBe(2);
    r.release();
    r.release();
    expect(inner.isReleased && r.isReleased).toBe(true);
    expect(() => r.plane(0)).toThrow(FrameAccessError);
    // Retiming a view again views the same inner frame (no chains of views).
    const again = retimeFrame(new RetimedFrame(foreign, monotonicTs(1), 1), monotonicTs(2), 2) as RetimedFrame;
    expect(again.inner).toBe(foreign);
  });
});
