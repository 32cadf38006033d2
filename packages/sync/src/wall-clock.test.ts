import { wallTs } from '@nv/core';
import type { OutputEnvelope } from '@nv/runtime';
import { describe, expect, it } from 'vitest';
import { outputWallClockMs } from './wall-clock.js';

describe('outputWallClockMs', () => {
  it('converts wallTs µs to ms since the epoch', () => {
    expect(outputWallClockMs({ wallTs: wallTs(1_700_000_000_123_456) })).toBe(1_700_000_000_123.456);
    expect(outputWallClockMs({ wallTs: 2500 })).toBe(2.5);
  });

  it('is NaN when the wall clock is unknown (0) or not finite', () => {
    expect(outputWallClockMs({ wallTs: 0 })).toBeNaN();
    expect(outputWallClockMs({ wallTs: Number.NaN })).toBeNaN();
    expect(outputWallClockMs({ wallTs: Infinity })).toBeNaN();
  });

  it('accepts @nv/runtime feed outputs', () => {
    const f: (o: OutputEnvelope) => number = outputWallClockMs;
    expect(typeof f).toBe('function');
  });
});
