import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import {
  INITIAL_VIEW_EPOCH, INITIAL_VIEW_VERSION, ViewEpoch, ViewVersion, epochsSince, formatViewEpoch, formatViewVersion, nextEpoch,
  nextVersion, versionsSince, viewEpoch, viewVersion,
} from './epoch.js';

describe('ViewEpoch / ViewVersion', () => {
  it('start at 0 and advance by one', () => {
    expect(INITIAL_VIEW_EPOCH).toBe(0);
    expect(INITIAL_VIEW_VERSION).toBe(0);
    expect(nextEpoch(viewEpoch(4))).toBe(5);
    expect(nextVersion(viewVersion(9))).toBe(10);
    expect(ViewEpoch.INITIAL).toBe(0);
    expect(ViewVersion.next(ViewVersion.of(1))).toBe(2);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])('rejects %s', (n) => {
    expect(() => viewEpoch(n)).toThrow(InvalidArgumentError);
    expect(() => viewVersion(n)).toThrow(/Expected a non-negative safe integer for viewVersion/);
  });

  it('refuses to step past the safe-integer range', () => {
    expect(() => nextVersion(viewVersion(Number.MAX_SAFE_INTEGER))).toThrow(InvalidArgumentError);
  });

  it.each([
    [5, 2, 3],
    [2, 5, 0],
    [7, 7, 0],
  ])('versionsSince(%i, %i) = %i (saturating)', (cur, earlier, want) => {
    expect(versionsSince(viewVersion(cur), viewVersion(earlier))).toBe(want);
    expect(epochsSince(viewEpoch(cur), viewEpoch(earlier))).toBe(want);
    expect(ViewVersion.since(viewVersion(cur), viewVersion(earlier))).toBe(want);
  });

  it('formats', () => {
    expect(formatViewEpoch(viewEpoch(3))).toBe('epoch-3');
    expect(formatViewVersion(viewVersion(12))).toBe('v12');
  });
});
