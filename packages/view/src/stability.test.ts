import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import type { StabilityInput, StabilityState } from './stability.js';
import { StabilityTracker, initialStability, nextStability, resolveStabilityOptions } from './stability.js';

const stable: StabilityInput = { motion: { kind: 'stable' }, segmented: false };
const mv = (displacement?: number): StabilityInput => ({
  motion: (displacement === undefined ? { kind: 'moving' } : { kind: 'moving', displacement }) as CameraMotionState,
  segmented: false,
});
const unknown: StabilityInput = { motion: { kind: 'unknown' }, segmented: false };
const opts = resolveStabilityOptions({ settlingFrames: 4, fullDecayDisplacement: 0.25, unsizedMotionDecay: 0.2 });

describe('nextStability (one step)', () => {
  it.each<[string, StabilityState, StabilityInput, number]>([
    ['settled stays at 1', initialStability(1), stable, 1],
    ['displacement 0.125 halves the score', initialStability(1), mv(0.125), 0.5],
    ['displacement 0.25 zeroes it', initialStability(0.8), mv(0.25), 0],
    ['displacement above full decay clamps at 0', initialStability(0.8), mv(0.9), 0],
    ['displacement 0 keeps it', initialStability(0.7), mv(0), 0.7],
    ['unsized motion loses 20%', initialStability(1), mv(), 0.8],
    ['unknown motion loses 20%', initialStability(0.5), unknown, 0.4],
    ['segment → 0 even when stable', initialStability(1), { motion: { kind: 'stable' }, segmented: true }, 0],
    ['first stable frame after motion recovers 1/4 of the gap', initialStability(0.2), stable, 0.4],
  ])('%s', (_n, state, input, want) => {
    expect(nextStability(state, input, opts).score).toBeCloseTo(want, 12);
  });
});

describe('stability over a move', () => {
  it('decays during motion, then recovers linearly to exactly 1 over the settling window', () => {
    const t = new StabilityTracker(1, { settlingFrames: 4 });
    const scores = [mv(0.125), mv(0.125), stable, stable, stable, stable, stable].map((i) => t.update(i));
    expect(scores[0]).toBeCloseTo(0.5, 12);
    expect(scores[1]).toBeCloseTo(0.25, 12);
    // recovery from s0 = 0.25: 0.25 + 0.75·k/4
    expect(scores.slice(2)).toEqual([0.4375, 0.625, 0.8125, 1, 1]);
  });

  it('recovery restarts from wherever renewed motion left it', () => {
    const t = new StabilityTracker(0, { settlingFrames: 2 });
    expect(t.update(stable)).toBeCloseTo(0.5, 12);
    expect(t.update(mv())).toBeCloseTo(0.4, 12); // 0.5 × 0.8
    expect(t.update(stable)).toBeCloseTo(0.7, 12); // 0.4 + 0.6/2
    expect(t.update(stable)).toBe(1);
  });

  it('segment zeroes and recovery then starts from 0', () => {
    const t = new StabilityTracker(1, { settlingFrames: 5 });
    expect(t.update({ motion: { kind: 'moving', displacement: 0.3 }, segmented: true })).toBe(0);
    expect(t.update(stable)).toBeCloseTo(0.2, 12);
  });

  it('settlingFrames 0 recovers immediately', () => {
    const t = new StabilityTracker(0, { settlingFrames: 0 });
    expect(t.update(stable)).toBe(1);
  });

  it('reset restores a starting score', () => {
    const t = new StabilityTracker(1);
    t.update(mv(0.25));
    t.reset(1);
    expect(t.score).toBe(1);
    expect(t.state.stableFrames).toBe(0);
  });

  it('uses 15 settling frames by default', () => {
    const t = new StabilityTracker(0);
    for (let i = 0; i < 14; i++) expect(t.update(stable)).toBeLessThan(1);
    expect(t.update(stable)).toBe(1);
  });
});

describe('stability options', () => {
  it.each([
    [{ settlingFrames: -1 }],
    [{ settlingFrames: 2.5 }],
    [{ fullDecayDisplacement: 0 }],
    [{ unsizedMotionDecay: 1.5 }],
    [{ window: 3 }],
  ])('rejects %j', (o) => { expect(() => resolveStabilityOptions(o as never)).toThrow(InvalidArgumentError); });
  it('rejects a starting score outside [0, 1]', () => {
    expect(() => new StabilityTracker(1.2)).toThrow(InvalidArgumentError);
    expect(() => initialStability(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
