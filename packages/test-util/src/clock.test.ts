import { InvalidArgumentError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { TestClock } from './clock.js';

describe('TestClock', () => {
  it('moves only when told', () => {
    const c = new TestClock(5);
    expect(c.now()).toBe(5);
    c.advanceMs(2);
    expect(c.now()).toBe(2_000_005);
    c.advanceSecs(1);
    expect(c.nowNs()).toBe(1_002_000_005);
  });
  it('ticks at a frame rate starting at the current time', () => {
    const c = new TestClock();
    expect([c.tickAtFps(25), c.tickAtFps(25), c.tickAtFps(25)]).toEqual([0, 40_000_000, 80_000_000]);
  });
  it('refuses to go backwards or tick at a bad rate', () => {
    const c = new TestClock();
    expect(() => c.advanceNs(-1)).toThrow(InvalidArgumentError);
    expect(() => c.tickAtFps(0)).toThrow(InvalidArgumentError);
    expect(() => new TestClock(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
