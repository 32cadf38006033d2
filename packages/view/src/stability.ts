/**
 * Stability score: a number in [0, 1] telling how settled the view is (1 = fully stable).
 *
 * Per frame, in order:
 * - **segment** (a new epoch opened this frame) → 0, and recovery will start from 0.
 * - **moving** with a displacement d → `score × (1 − min(1, d / fullDecayDisplacement))`:
 *   decays toward 0 in proportion to the displacement (a jump of `fullDecayDisplacement`
 *   or more zeroes it in one frame; d = 0 leaves it unchanged).
 * - **moving without a displacement** (PTZ-only or a bare hint) or **unknown** →
 *   `score × (1 − unsizedMotionDecay)`.
 * - **stable** → recovery: with s₀ the score at the last non-stable frame and k the number
 *   of consecutive stable frames so far (k = 1 on the `moveEnd` frame),
 *   `score = s₀ + (1 − s₀) × min(1, k / settlingFrames)`, a linear ramp that reaches exactly
 *   1.0 after `settlingFrames` stable frames (immediately when `settlingFrames` is 0) and
 *   stays 1.0 while settled.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import { checkCount, checkNonNegative, checkRange, isObject } from './validate.js';

/** Options of the stability score. */
export interface StabilityOptions {
  /** Stable frames needed to recover fully to 1.0 after motion. Integer ≥ 0. Default 15. */
  readonly settlingFrames: number;
  /** Displacement (normalized) that zeroes the score in one frame. > 0. Default 0.25. */
  readonly fullDecayDisplacement: number;
  /** Fraction of the score lost per frame of motion of unknown size (or unknown motion). [0, 1]. Default 0.2. */
  readonly unsizedMotionDecay: number;
}

/** Defaults: 15 settling frames, full decay at displacement 0.25, 20% loss per unsized-motion frame. */
export const DEFAULT_STABILITY_OPTIONS: StabilityOptions = Object.freeze({
  settlingFrames: 15,
  fullDecayDisplacement: 0.25,
  unsizedMotionDecay: 0.2,
});

/**
 * Fills in and validates {@link StabilityOptions}.
 * @throws {InvalidArgumentError} for out-of-range values or unknown keys
 */
export function resolveStabilityOptions(options: Partial<StabilityOptions> = {}): StabilityOptions {
  if (!isObject(options)) throw new InvalidArgumentError('stability', 'an options object', options);
  for (const k of Object.keys(options)) {
    if (!(k in DEFAULT_STABILITY_OPTIONS)) throw new InvalidArgumentError(`stability.${k}`, 'a known option', k);
  }
  const o = { ...DEFAULT_STABILITY_OPTIONS, ...options };
  return Object.freeze({
    settlingFrames: checkCount('stability.settlingFrames', o.settlingFrames),
    fullDecayDisplacement: checkNonNegative('stability.fullDecayDisplacement', o.fullDecayDisplacement, true),
    unsizedMotionDecay: checkRange('stability.unsizedMotionDecay', o.unsizedMotionDecay, 0, 1),
  });
}

/** The score plus what recovery needs. */
export interface StabilityState {
  /** Current score in [0, 1]. */
  readonly score: number;
  /** Score at the last non-stable frame (start of the recovery ramp). */
  readonly recoveryBase: number;
  /** Consecutive stable frames so far. */
  readonly stableFrames: number;
}

/** One frame's input to the score. */
export interface StabilityInput {
  /** This frame's motion state. */
  readonly motion: CameraMotionState;
  /** Whether a new epoch opened this frame. */
  readonly segmented: boolean;
}

/**
 * The stability state at the start of a session (or after a restart).
 * @param score - starting score in [0, 1] (1 for fixed cameras, 0 for observed ones)
 * @returns a state that recovers from `score`
 * @throws {InvalidArgumentError} when `score` is outside [0, 1]
 */
export function initialStability(score: number): StabilityState {
  checkRange('score', score, 0, 1);
  return Object.freeze({ score, recoveryBase: score, stableFrames: 0 });
}

/**
 * Advances the score by one frame (rules in the module documentation). Pure.
 * @param state - the previous state
 * @param input - this frame's motion and whether it segmented
 * @param options - resolved options
 * @returns the new state
 * @example
 * ```ts
 * let s = initialStability(1);
 * s = nextStability(s, { motion: { kind: 'moving', displacement: 0.125 }, segmented: false }); // score 0.5
 * ```
 */
export function nextStability(state: StabilityState, input: StabilityInput, options: StabilityOptions = DEFAULT_STABILITY_OPTIONS): StabilityState {
  if (input.segmented) return Object.freeze({ score: 0, recoveryBase: 0, stableFrames: 0 });
  const m = input.motion;
  if (m.kind === 'stable') {
    const k = state.stableFrames + 1;
    const w = options.settlingFrames;
    const ramp = w === 0 ? 1 : Math.min(1, k / w);
    const score = ramp >= 1 ? 1 : state.recoveryBase + (1 - state.recoveryBase) * ramp;
    return Object.freeze({ score, recoveryBase: state.recoveryBase, stableFrames: k });
  }
  const loss = m.kind === 'moving' && m.displacement !== undefined
    ? Math.min(1, m.displacement / options.fullDecayDisplacement)
    : options.unsizedMotionDecay;
  const score = state.score * (1 - loss);
  return Object.freeze({ score, recoveryBase: score, stableFrames: 0 });
}

/**
 * Stateful wrapper around {@link nextStability}.
 * @example
 * ```ts
 * const t = new StabilityTracker(0, { settlingFrames: 10 });
 * t.update({ motion: { kind: 'stable' }, segmented: false }); // 0.1
 * ```
 */
export class StabilityTracker {
  #state: StabilityState;
  /** Resolved options. */
  readonly options: StabilityOptions;

  /**
   * Creates a tracker starting at `initialScore`.
   * @param initialScore - starting score in [0, 1]
   * @param options - overrides of {@link DEFAULT_STABILITY_OPTIONS}
   * @throws {InvalidArgumentError} for a bad score or options
   */
  constructor(initialScore: number, options: Partial<StabilityOptions> = {}) {
    this.options = resolveStabilityOptions(options);
    this.#state = initialStability(initialScore);
  }
  /** Current score. */
  get score(): number { return this.#state.score; }
  /** Current full state. */
  get state(): StabilityState { return this.#state; }
  /** Advances one frame. @returns the new score */
  update(input: StabilityInput): number {
    this.#state = nextStability(this.#state, input, this.options);
    return this.#state.score;
  }
  /** Restarts from `score` (feed restart). @throws {InvalidArgumentError} when outside [0, 1] */
  reset(score: number): void { this.#state = initialStability(score); }
}
