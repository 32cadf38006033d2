/**
 * The transition-phase state machine.
 *
 * | previous   | motion this frame      | next        |
 * |------------|------------------------|-------------|
 * | settled    | stable                 | settled     |
 * | settled    | moving / unknown       | moveStart   |
 * | moveStart  | moving / unknown       | moving      |
 * | moveStart  | stable                 | moveEnd     |
 * | moving     | moving / unknown       | moving      |
 * | moving     | stable                 | moveEnd     |
 * | moveEnd    | stable                 | settled     |
 * | moveEnd    | moving / unknown       | moveStart   |
 *
 * `moveStart` and `moveEnd` are edge phases that last exactly one frame; `settled` and
 * `moving` persist. `unknown` motion counts as moving (the conservative choice).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import { checkCameraMotionState } from './camera-motion.js';

/** Where the current frame sits in a camera-motion transition. */
export type TransitionPhase = 'settled' | 'moveStart' | 'moving' | 'moveEnd';

/** Every {@link TransitionPhase}. */
export const TRANSITION_PHASES: readonly TransitionPhase[] = Object.freeze([
  'settled', 'moveStart', 'moving', 'moveEnd',
] satisfies TransitionPhase[]);

/**
 * Checks that a value is a {@link TransitionPhase}.
 * @param name - argument name for the error message
 * @param v - value to check
 * @returns `v` as a {@link TransitionPhase}
 * @throws {InvalidArgumentError} when `v` is not a {@link TransitionPhase}
 */
export function checkTransitionPhase(name: string, v: unknown): TransitionPhase {
  if (typeof v !== 'string' || !(TRANSITION_PHASES as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(name, `one of ${TRANSITION_PHASES.join(', ')}`, v);
  }
  return v as TransitionPhase;
}

/**
 * Next transition phase from the previous phase and this frame's motion state (8-row table
 * in the module documentation).
 * @param prev - the previous frame's phase
 * @param motion - this frame's motion state; `unknown` counts as moving
 * @returns the phase for this frame
 * @throws {InvalidArgumentError} for an unknown phase or motion kind
 * @example `nextTransitionPhase('settled', { kind: 'unknown' }) // 'moveStart'`
 */
export function nextTransitionPhase(prev: TransitionPhase, motion: CameraMotionState): TransitionPhase {
  checkTransitionPhase('prev', prev);
  const moving = checkCameraMotionState('motion', motion).kind !== 'stable';
  switch (prev) {
    case 'settled': return moving ? 'moveStart' : 'settled';
    case 'moveStart': return moving ? 'moving' : 'moveEnd';
    case 'moving': return moving ? 'moving' : 'moveEnd';
    case 'moveEnd': return moving ? 'moveStart' : 'settled';
  }
}
