import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ManualClock, MediaError, StageError, realClock, stopErrorOf } from './index.js';

describe('ManualClock', () => {
  it('moves only when told to and runs due timers in due order, each at its own time', () => {
    const clock = new ManualClock(100);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 50);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 10);
    clock.setTimeout(() => fired.push(['a2', clock.now()]), 10); // same due time: set order
    expect(clock.now()).toBe(100);
    expect(clock.pendingTimers).toBe(3);
    expect(clock.nextDue()).toBe(110);
    clock.advance(9);
    expect(fired).toEqual([]);
    expect(clock.advance(41)).toBe(150);
    expect(fired).toEqual([['a', 110], ['a2', 110], ['b', 150]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('timers set while advancing run when they fall due before the target (a self-rescheduling ticker)', () => {
    const clock = new ManualClock();
    const ticks: number[] = [];
    const tick = () => { ticks.push(clock.now()); clock.setTimeout(tick, 250); };
    clock.setTimeout(tick, 250);
    clock.advance(1000);
    expect(ticks).toEqual([250, 500, 750, 1000]);
    expect(clock.nextDue()).toBe(1250);
  });

  it('clearTimeout cancels; a zero or negative delay is due now but never runs synchronously', () => {
    const clock = new ManualClock();
    let n = 0;
    const t = clock.setTimeout(() => { n += 1; }, 5);
    clock.clearTimeout(t);
    clock.clearTimeout(undefined);
    clock.setTimeout(() => { n += 10; }, -3);
    expect(n).toBe(0);
    clock.advance(0);
    expect(n).toBe(10);
    clock.advance(10);
    expect(n).toBe(10);
    expect(clock.advanceToNext()).toBeUndefined();
  });

  it('advanceToNext jumps to the next timer; a throwing timer does not stop the others', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    clock.setTimeout(() => { throw new Error('boom'); }, 30);
    clock.setTimeout(() => seen.push('after'), 30);
    expect(() => clock.advanceToNext()).toThrow('boom');
    expect(clock.now()).toBe(30);
    expect(seen).toEqual(['after']);
  });

  it('refuses time going backwards', () => {
    expect(() => new ManualClock(-1)).toThrow(InvalidArgumentError);
    expect(() => new ManualClock().advance(-1)).toThrow(/clocks do not go back/);
    expect(() => new ManualClock().advance(Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('realClock', () => {
  it('reads performance.now() and fires real timers (no timing asserted)', async () => {
    const before = performance.now();
    expect(realClock.now()).toBeGreaterThanOrEqual(before);
    await new Promise<void>((resolve) => { realClock.setTimeout(resolve, 0, { unref: true }); });
    let fired = false;
    const t = realClock.setTimeout(() => { fired = true; }, 0);
    realClock.clearTimeout(t);
    await new Promise<void>((resolve) => { realClock.setTimeout(resolve, 1); });
    expect(fired).toBe(false);
  });
});

describe('stopErrorOf', () => {
  it('keeps an nv error\'s category and kind, and says unknown/Exception for anything else', () => {
    expect(stopErrorOf(MediaError.sourceNotFound('/x.mp4', 'no such file'))).toEqual({ category: 'media', kind: 'SourceNotFound' });
    expect(stopErrorOf(new MediaError('Unauthorized', { url: 'rtsp://u:p@cam/x' }))).toEqual({ category: 'media', kind: 'Unauthorized' });
    expect(stopErrorOf(StageError.modelLoadFailed('det', 'bad file'))).toEqual({ category: 'stage', kind: 'ModelLoadFailed' });
    expect(stopErrorOf(new TypeError('x is undefined'))).toEqual({ category: 'unknown', kind: 'Exception' });
    expect(stopErrorOf('a string')).toEqual({ category: 'unknown', kind: 'Exception' });
  });
});
