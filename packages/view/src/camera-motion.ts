/**
 * Camera motion state (is the camera moving?) and motion source (how do we know?).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import { checkNonNegative, checkRange, isObject } from './validate.js';

/**
 * Whether the camera is moving.
 *
 * - `stable`: the camera is still; coordinates are stable.
 * - `moving`: the camera is moving. `angularVelocity` is an unsigned angular speed in
 *   degrees per second (from PTZ telemetry); `displacement` is the largest frame-to-frame
 *   displacement of any image point, in normalized coordinates. Either may be absent.
 * - `unknown`: no telemetry, no estimate, or an estimate below the confidence floor.
 *   Treated as moving by the transition machine; never as stable.
 */
export type CameraMotionState =
  | { readonly kind: 'stable' }
  | { readonly kind: 'moving'; readonly angularVelocity?: number; readonly displacement?: number }
  | { readonly kind: 'unknown' };

/**
 * How this frame's motion state was determined (derived by the view system from which
 * report fields are present, never declared by the provider).
 *
 * - `telemetry`: PTZ telemetry (ONVIF, serial…). Most trusted.
 * - `inferred`: video egomotion (optical flow, feature matching) with its confidence in [0, 1].
 * - `external`: a user-supplied transform or motion hint.
 * - `none`: nothing this frame (fixed cameras, or an empty report on an observed camera).
 */
export type MotionSource =
  | { readonly kind: 'telemetry' }
  | { readonly kind: 'inferred'; readonly confidence: number }
  | { readonly kind: 'external' }
  | { readonly kind: 'none' };

const STABLE: CameraMotionState = Object.freeze({ kind: 'stable' });
const UNKNOWN: CameraMotionState = Object.freeze({ kind: 'unknown' });
const TELEMETRY: MotionSource = Object.freeze({ kind: 'telemetry' });
const EXTERNAL: MotionSource = Object.freeze({ kind: 'external' });
const NONE: MotionSource = Object.freeze({ kind: 'none' });

/**
 * The `stable` motion state.
 * @returns the shared frozen `stable` motion state
 */
export function stableMotion(): CameraMotionState { return STABLE; }
/**
 * The `unknown` motion state.
 * @returns the shared frozen `unknown` motion state
 */
export function unknownMotion(): CameraMotionState { return UNKNOWN; }
/**
 * Builds a `moving` motion state.
 * @param opts - optional unsigned angular speed (deg/s) and displacement (normalized)
 * @returns a frozen `moving` motion state (absent fields are omitted, not `undefined`)
 * @throws {InvalidArgumentError} for a negative, NaN or infinite value
 * @example `movingMotion({ displacement: 0.05 })`
 */
export function movingMotion(opts: { angularVelocity?: number | undefined; displacement?: number | undefined } = {}): CameraMotionState {
  const out: { kind: 'moving'; angularVelocity?: number; displacement?: number } = { kind: 'moving' };
  if (opts.angularVelocity !== undefined) out.angularVelocity = checkNonNegative('angularVelocity', opts.angularVelocity);
  if (opts.displacement !== undefined) out.displacement = checkNonNegative('displacement', opts.displacement);
  return Object.freeze(out);
}

/**
 * The `telemetry` motion source.
 * @returns the shared frozen `telemetry` source
 */
export function telemetrySource(): MotionSource { return TELEMETRY; }
/**
 * The `external` motion source.
 * @returns the shared frozen `external` source
 */
export function externalSource(): MotionSource { return EXTERNAL; }
/**
 * The `none` motion source.
 * @returns the shared frozen `none` source
 */
export function noneSource(): MotionSource { return NONE; }
/**
 * Builds an `inferred` motion source.
 * @param confidence - estimator confidence in [0, 1]
 * @returns a frozen `inferred` source
 * @throws {InvalidArgumentError} when `confidence` is outside [0, 1] or not finite
 */
export function inferredSource(confidence: number): MotionSource {
  return Object.freeze({ kind: 'inferred', confidence: checkRange('confidence', confidence, 0, 1) });
}

/**
 * Whether the transition machine counts this state as motion (`moving` and `unknown` do).
 * @returns `motion.kind !== 'stable'`
 */
export function countsAsMoving(motion: CameraMotionState): boolean { return motion.kind !== 'stable'; }

/**
 * Checks and copies a {@link CameraMotionState}.
 * @param name - argument name for error messages
 * @param v - value to check
 * @returns a frozen copy
 * @throws {InvalidArgumentError} for an unknown kind or a negative/NaN/infinite field
 */
export function checkCameraMotionState(name: string, v: unknown): CameraMotionState {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'a CameraMotionState object', v);
  switch (v['kind']) {
    case 'stable': return STABLE;
    case 'unknown': return UNKNOWN;
    case 'moving': {
      const av = v['angularVelocity'], d = v['displacement'];
      return movingMotion({
        angularVelocity: av === undefined ? undefined : checkNonNegative(`${name}.angularVelocity`, av),
        displacement: d === undefined ? undefined : checkNonNegative(`${name}.displacement`, d),
      });
    }
    default: throw new InvalidArgumentError(`${name}.kind`, "'stable', 'moving' or 'unknown'", v['kind']);
  }
}

/**
 * Checks and copies a {@link MotionSource}.
 * @throws {InvalidArgumentError} for an unknown kind or a confidence outside [0, 1]
 */
export function checkMotionSource(name: string, v: unknown): MotionSource {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'a MotionSource object', v);
  switch (v['kind']) {
    case 'telemetry': return TELEMETRY;
    case 'external': return EXTERNAL;
    case 'none': return NONE;
    case 'inferred': return Object.freeze({ kind: 'inferred', confidence: checkRange(`${name}.confidence`, v['confidence'], 0, 1) });
    default: throw new InvalidArgumentError(`${name}.kind`, "'telemetry', 'inferred', 'external' or 'none'", v['kind']);
  }
}

/** Structural equality of two motion states. */
export function motionStateEquals(a: CameraMotionState, b: CameraMotionState): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'moving' || b.kind !== 'moving') return true;
  return a.angularVelocity === b.angularVelocity && a.displacement === b.displacement;
}

/** Structural equality of two motion sources. */
export function motionSourceEquals(a: MotionSource, b: MotionSource): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'inferred' || a.confidence === (b as { confidence: number }).confidence;
}
