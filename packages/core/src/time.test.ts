import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError, checkedSince, durationMs, feedId, formatDuration, formatFeedId, monotonicTs, saturatingSince, stageId, trackId,
} from './index.js';

describe('ids and timestamps', () => {
  it('validates ids', () => {
    expect(formatFeedId(feedId(3))).toBe('feed-3');
    expect(() => feedId(-1)).toThrow(InvalidArgumentError);
    expect(() => trackId(1.5)).toThrow(InvalidArgumentError);
    expect(() => stageId('')).toThrow(InvalidArgumentError);
    expect(stageId('detector')).toBe('detector');
  });
  it('timestamps and durations', () => {
    const a = monotonicTs(1_000), b = monotonicTs(5_000);
    expect(checkedSince(b, a)).toBe(4_000);
    expect(checkedSince(a, b)).toBeUndefined();
    expect(saturatingSince(a, b)).toBe(0);
    expect(() => monotonicTs(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => monotonicTs(-1)).toThrow(InvalidArgumentError);
    expect(durationMs(2)).toBe(2_000_000);
  });
  it.each([[1_500_000_000, '1.5s'], [12_300_000, '12.3ms'], [40_000, '40µs'], [7, '7ns']])('formatDuration(%d) = %s', (ns, s) => {
    expect(formatDuration(ns)).toBe(s);
  });
});
