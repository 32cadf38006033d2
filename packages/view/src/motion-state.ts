/**
 * Computing a frame's {@link CameraMotionState} from a {@link MotionReport}.
 *
 * Priority (first match wins):
 * 1. `motionHint` present → used as is.
 * 2. `ptz` present and a previous PTZ sample known → pan/tilt shortest angular distance
 *    (wrapping at 360°) and zoom difference vs the previous sample. If any exceeds
 *    `ptzDeadband` → `moving` with `angularVelocity` = max(pan Δ, tilt Δ) / Δt in deg/s
 *    (omitted when Δt ≤ 0) and **no `displacement`** (PTZ angles do not give a normalized
 *    image displacement without a lens model); otherwise `stable`. With no previous sample
 *    there is no delta: fall through to 3, else `unknown`.
 * 3. `frameTransform` present → confidence below `minTransformConfidence` gives `unknown`
 *    (reason `inferredMotionLowConfidence`); otherwise the displacement is
 *    {@link maxFrameDisplacement} (largest movement of any image point, so rotation and zoom
 *    count, and it equals the translation magnitude for a pure translation): above
 *    `displacementDeadband` → `moving{displacement}`, else `stable`.
 * 4. Empty report → `unknown` (reason `unknown`). Absence of data never means stable.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, NS_PER_SEC } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import { movingMotion, stableMotion, unknownMotion } from './camera-motion.js';
import type { MotionReport } from './motion-report.js';
import type { PtzTelemetry } from './ptz.js';
import { ptzDeltas } from './ptz.js';
import { maxFrameDisplacement } from './transform.js';
import type { DegradationReason } from './validity.js';
import { checkNonNegative, checkRange, isObject } from './validate.js';

/** Thresholds for {@link computeMotionState}. */
export interface MotionStateOptions {
  /** Pan/tilt (degrees) and zoom (normalized) changes at or below this are "no motion". Default 0.01. */
  readonly ptzDeadband: number;
  /** Frame displacements (normalized) at or below this are "no motion". Default 0.01. */
  readonly displacementDeadband: number;
  /** Transform estimates with confidence below this give `unknown`. Default 0.5. */
  readonly minTransformConfidence: number;
}

/** Defaults: ptzDeadband 0.01, displacementDeadband 0.01, minTransformConfidence 0.5 (the reference's values). */
export const DEFAULT_MOTION_STATE_OPTIONS: MotionStateOptions = Object.freeze({
  ptzDeadband: 0.01,
  displacementDeadband: 0.01,
  minTransformConfidence: 0.5,
});

/**
 * Fills in and validates {@link MotionStateOptions}.
 * @throws {InvalidArgumentError} for a negative/NaN deadband, a confidence outside [0, 1], or an unknown key
 */
export function resolveMotionStateOptions(options: Partial<MotionStateOptions> = {}): MotionStateOptions {
  if (!isObject(options)) throw new InvalidArgumentError('motionOptions', 'an options object', options);
  for (const k of Object.keys(options)) {
    if (!(k in DEFAULT_MOTION_STATE_OPTIONS)) throw new InvalidArgumentError(`motionOptions.${k}`, 'a known option', k);
  }
  const o = { ...DEFAULT_MOTION_STATE_OPTIONS, ...options };
  return Object.freeze({
    ptzDeadband: checkNonNegative('motionOptions.ptzDeadband', o.ptzDeadband),
    displacementDeadband: checkNonNegative('motionOptions.displacementDeadband', o.displacementDeadband),
    minTransformConfidence: checkRange('motionOptions.minTransformConfidence', o.minTransformConfidence, 0, 1),
  });
}

/** Which report field decided the motion state. */
export type MotionBasis = 'hint' | 'ptz' | 'frameTransform' | 'none';

/** Result of {@link computeMotionState}. */
export interface MotionStateResult {
  /** The motion state for this frame. */
  readonly motion: CameraMotionState;
  /** Which field decided it (`none` for an empty report or a PTZ sample without baseline). */
  readonly basis: MotionBasis;
  /** When `motion` is `unknown`: the degradation reason to report. */
  readonly unknownReason?: DegradationReason | undefined;
}

/**
 * Computes this frame's motion state (rules in the module documentation).
 * @param report - a validated report
 * @param previousPtz - the latest earlier PTZ sample of this session, if any
 * @param options - thresholds (already resolved, or partial to be resolved)
 * @returns the motion state, its basis, and the reason when unknown
 * @throws {InvalidArgumentError} for invalid options
 * @example
 * ```ts
 * computeMotionState({ frameTransform: est }, undefined).motion // { kind: 'moving', displacement: 0.05 }
 * ```
 */
export function computeMotionState(
  report: MotionReport,
  previousPtz: PtzTelemetry | undefined,
  options: Partial<MotionStateOptions> = DEFAULT_MOTION_STATE_OPTIONS,
): MotionStateResult {
  const o = options === DEFAULT_MOTION_STATE_OPTIONS ? DEFAULT_MOTION_STATE_OPTIONS : resolveMotionStateOptions(options);
  if (report.motionHint !== undefined) {
    const motion = report.motionHint;
    return motion.kind === 'unknown' ? { motion, basis: 'hint', unknownReason: 'unknown' } : { motion, basis: 'hint' };
  }
  if (report.ptz !== undefined && previousPtz !== undefined) {
    const d = ptzDeltas(previousPtz, report.ptz);
    if (d.pan > o.ptzDeadband || d.tilt > o.ptzDeadband || d.zoom > o.ptzDeadband) {
      const dtNs = report.ptz.ts - previousPtz.ts;
      const angularVelocity = dtNs > 0 ? Math.max(d.pan, d.tilt) / (dtNs / NS_PER_SEC) : undefined;
      return { motion: movingMotion({ angularVelocity }), basis: 'ptz' };
    }
    return { motion: stableMotion(), basis: 'ptz' };
  }
  const t = report.frameTransform;
  if (t !== undefined) {
    if (t.confidence < o.minTransformConfidence) {
      return { motion: unknownMotion(), basis: 'frameTransform', unknownReason: 'inferredMotionLowConfidence' };
    }
    const displacement = maxFrameDisplacement(t.transform);
    return displacement > o.displacementDeadband
      ? { motion: movingMotion({ displacement }), basis: 'frameTransform' }
      : { motion: stableMotion(), basis: 'frameTransform' };
  }
  return { motion: unknownMotion(), basis: 'none', unknownReason: 'unknown' };
}
