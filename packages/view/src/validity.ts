/**
 * Context validity: how far temporal state gathered earlier in the current epoch can be
 * trusted for direct spatial comparison with the current frame.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import { isObject } from './validate.js';

/** Why the view's context is degraded. */
export type DegradationReason =
  | 'ptzMoving'
  | 'largeJump'
  | 'zoomChange'
  | 'occlusionOrBlur'
  | 'inferredMotionLowConfidence'
  | 'unknown';

/** Every {@link DegradationReason}, in declaration order. */
export const DEGRADATION_REASONS: readonly DegradationReason[] = Object.freeze([
  'ptzMoving', 'largeJump', 'zoomChange', 'occlusionOrBlur', 'inferredMotionLowConfidence', 'unknown',
] satisfies DegradationReason[]);

/**
 * Trust level of the view context.
 *
 * - `valid`: the view is stable; temporal state in this epoch is directly comparable.
 * - `degraded`: the view is changing; earlier positions in this epoch may be unreliable.
 * - `invalid`: prior context no longer applies. Part of the vocabulary for custom code;
 *   the {@link ViewSystem} itself never produces it (it opens a new epoch instead, see `segment`).
 */
export type ContextValidity =
  | { readonly kind: 'valid' }
  | { readonly kind: 'degraded'; readonly reason: DegradationReason }
  | { readonly kind: 'invalid' };

const VALID: ContextValidity = Object.freeze({ kind: 'valid' });
const INVALID: ContextValidity = Object.freeze({ kind: 'invalid' });

/**
 * The `valid` validity.
 * @returns the (frozen, shared) `valid` validity
 */
export function validValidity(): ContextValidity { return VALID; }
/**
 * The `invalid` validity.
 * @returns the (frozen, shared) `invalid` validity
 */
export function invalidValidity(): ContextValidity { return INVALID; }
/**
 * Builds a `degraded` validity.
 * @param reason - why the context is degraded
 * @returns a frozen `degraded` validity
 * @throws {InvalidArgumentError} when `reason` is not a {@link DegradationReason}
 * @example `degradedValidity('ptzMoving') // { kind: 'degraded', reason: 'ptzMoving' }`
 */
export function degradedValidity(reason: DegradationReason): ContextValidity {
  checkDegradationReason('reason', reason);
  return Object.freeze({ kind: 'degraded', reason });
}

/**
 * Checks that a value is a {@link DegradationReason}.
 * @param name - argument name for the error message
 * @param v - value to check
 * @returns `v` as a {@link DegradationReason}
 * @throws {InvalidArgumentError} when `v` is not one
 */
export function checkDegradationReason(name: string, v: unknown): DegradationReason {
  if (typeof v !== 'string' || !(DEGRADATION_REASONS as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(name, `one of ${DEGRADATION_REASONS.join(', ')}`, v);
  }
  return v as DegradationReason;
}

/**
 * Checks and copies a {@link ContextValidity}.
 * @param name - argument name for the error message
 * @param v - value to check
 * @returns a frozen copy
 * @throws {InvalidArgumentError} when `v` is not a valid {@link ContextValidity}
 */
export function checkContextValidity(name: string, v: unknown): ContextValidity {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'a ContextValidity object', v);
  switch (v['kind']) {
    case 'valid': return VALID;
    case 'invalid': return INVALID;
    case 'degraded': return degradedValidity(checkDegradationReason(`${name}.reason`, v['reason']));
    default: throw new InvalidArgumentError(`${name}.kind`, "'valid', 'degraded' or 'invalid'", v['kind']);
  }
}

/**
 * Structural equality of two validities.
 * @returns whether `a` and `b` have the same kind (and reason)
 */
export function validityEquals(a: ContextValidity, b: ContextValidity): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'degraded' || a.reason === (b as { reason: DegradationReason }).reason;
}
