import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import type { BoundContextValidity } from './bound-context.js';
import { ViewBoundContext } from './bound-context.js';
import { viewEpoch, viewVersion } from './epoch.js';
import type { ViewStamp } from './view-state.js';
import { ViewSnapshot, observedInitialViewState } from './view-state.js';

const stamp = (epoch: number, version: number): ViewStamp => ({ epoch: viewEpoch(epoch), version: viewVersion(version) });

describe('ViewBoundContext.validity', () => {
  it.each<[string, ViewStamp, ViewStamp, BoundContextValidity]>([
    ['same epoch, same version', stamp(1, 5), stamp(1, 5), { kind: 'current' }],
    ['same epoch, 3 versions later', stamp(1, 5), stamp(1, 8), { kind: 'staleWithinEpoch', versionsBehind: 3 }],
    ['one epoch later', stamp(1, 5), stamp(2, 6), { kind: 'invalidAcrossEpoch', epochsBehind: 1 }],
    ['three epochs later', stamp(0, 0), stamp(3, 40), { kind: 'invalidAcrossEpoch', epochsBehind: 3 }],
  ])('%s', (_n, boundTo, current, want) => {
    expect(ViewBoundContext.bind('calibration', boundTo).validity(current)).toEqual(want);
  });

  it.each<[string, ViewStamp, ViewStamp]>([
    ['an earlier version', stamp(1, 5), stamp(1, 4)],
    ['an earlier epoch', stamp(2, 5), stamp(1, 9)],
  ])('rejects a view older than the binding: %s', (_n, boundTo, current) => {
    expect(() => ViewBoundContext.bind(0, boundTo).validity(current)).toThrow(InvalidArgumentError);
  });

  it('rebind moves the binding forward and keeps the data', () => {
    const data = { zones: [1, 2] };
    const b = ViewBoundContext.bind(data, stamp(0, 1));
    expect(b.rebind(stamp(0, 4))).toBe(b);
    expect(b.data).toBe(data);
    expect(b.boundAt).toBe(4);
    expect(b.boundEpoch).toBe(0);
    expect(b.validity(stamp(0, 4))).toEqual({ kind: 'current' });
  });

  it('accepts snapshots and states and rejects things without an epoch/version', () => {
    const snap = ViewSnapshot.of({ ...observedInitialViewState(), epoch: viewEpoch(2), version: viewVersion(7) });
    const b = ViewBoundContext.bind('x', snap);
    expect([b.boundEpoch, b.boundAt]).toEqual([2, 7]);
    expect(b.validity(snap.state)).toEqual({ kind: 'current' });
    expect(() => ViewBoundContext.bind('x', { epoch: -1, version: 0 } as never)).toThrow(InvalidArgumentError);
    expect(() => b.validity({ epoch: 2 } as never)).toThrow(InvalidArgumentError);
    expect(() => b.rebind(null as never)).toThrow(InvalidArgumentError);
  });
});
