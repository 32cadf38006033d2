import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import type { TransitionPhase } from './transition.js';
import { nextTransitionPhase } from './transition.js';

const stable: CameraMotionState = { kind: 'stable' };
const moving: CameraMotionState = { kind: 'moving', displacement: 0.1 };
const unknown: CameraMotionState = { kind: 'unknown' };

describe('nextTransitionPhase', () => {
  // The 8 rows of the spec table; rows with "Moving / Unknown" are checked for both.
  it.each<[TransitionPhase, CameraMotionState[], TransitionPhase]>([
    ['settled', [stable], 'settled'],
    ['settled', [moving, unknown], 'moveStart'],
    ['moveStart', [moving, unknown], 'moving'],
    ['moveStart', [stable], 'moveEnd'],
    ['moving', [moving, unknown], 'moving'],
    ['moving', [stable], 'moveEnd'],
    ['moveEnd', [stable], 'settled'],
    ['moveEnd', [moving, unknown], 'moveStart'],
  ])('%s + %j → %s', (prev, motions, next) => {
    for (const m of motions) expect(nextTransitionPhase(prev, m)).toBe(next);
  });

  it('edge phases last exactly one frame over a move', () => {
    const seq: CameraMotionState[] = [stable, moving, moving, moving, stable, stable, stable];
    const phases: TransitionPhase[] = [];
    let p: TransitionPhase = 'settled';
    for (const m of seq) { p = nextTransitionPhase(p, m); phases.push(p); }
    expect(phases).toEqual(['settled', 'moveStart', 'moving', 'moving', 'moveEnd', 'settled', 'settled']);
  });

  it('rejects unknown phases and motion kinds', () => {
    expect(() => nextTransitionPhase('paused' as TransitionPhase, stable)).toThrow(InvalidArgumentError);
    expect(() => nextTransitionPhase('settled', { kind: 'still' } as unknown as CameraMotionState)).toThrow(InvalidArgumentError);
  });
});
