/**
 * Global (frame-to-frame) transform estimates and the geometric measures taken from them.
 *
 * Convention: a report's transform maps coordinates in the **previous** frame to the
 * **current** frame (normalized image coordinates), so compensating a stored position is
 * `transform.apply(oldPosition)`.
 *
 * @packageDocumentation
 */
import { AffineTransform2D, InvalidArgumentError } from '@nv/core';
import type { ViewVersion } from './epoch.js';
import { checkCount, checkRange, isObject } from './validate.js';

/** How a transform estimate was obtained. */
export type TransformEstimationMethod = 'ptzModel' | 'featureMatching' | 'external';

/** Every {@link TransformEstimationMethod}. */
export const TRANSFORM_ESTIMATION_METHODS: readonly TransformEstimationMethod[] = Object.freeze([
  'ptzModel', 'featureMatching', 'external',
] satisfies TransformEstimationMethod[]);

/**
 * A transform estimate with its confidence and provenance.
 *
 * `computedAt` is the view version at which the estimate was computed. On a
 * {@link ViewSnapshot} the view system stamps it with the version of the first snapshot that
 * carried it, and keeps the estimate on later snapshots until a new one arrives: compare
 * `computedAt` with the snapshot's `version` to see whether it is stale.
 */
export interface GlobalTransformEstimate {
  /** Previous-frame → current-frame transform, normalized coordinates. */
  readonly transform: AffineTransform2D;
  /** Confidence in [0, 1]. */
  readonly confidence: number;
  /** How it was computed. */
  readonly method: TransformEstimationMethod;
  /** View version at which it was computed. */
  readonly computedAt: ViewVersion;
}

/** A transform estimate as a provider reports it: `computedAt` is optional (the view system stamps it). */
export type GlobalTransformEstimateInput = Omit<GlobalTransformEstimate, 'computedAt'> & { readonly computedAt?: ViewVersion };

/**
 * Validating constructor for {@link GlobalTransformEstimate}.
 * @param transform - previous → current frame transform
 * @param confidence - in [0, 1]
 * @param method - how it was computed
 * @param computedAt - view version (non-negative integer); defaults to 0
 * @returns a frozen estimate
 * @throws {InvalidArgumentError} for a confidence outside [0, 1], an unknown method or a bad version
 * @example `globalTransformEstimate(AffineTransform2D.translation(0.02, 0), 0.9, 'featureMatching')`
 */
export function globalTransformEstimate(
  transform: AffineTransform2D,
  confidence: number,
  method: TransformEstimationMethod,
  computedAt = 0,
): GlobalTransformEstimate {
  return checkGlobalTransformEstimate('transformEstimate', { transform, confidence, method, computedAt });
}

/**
 * Checks and copies an {@link AffineTransform2D} (accepts one from another package copy).
 * Singular transforms are accepted here; see {@link checkCompensationTransform}.
 * @param name - argument name for error messages
 * @param v - value to check
 * @returns `v` itself, or a copy when it came from another package copy
 * @throws {InvalidArgumentError} when `v` is not a transform with six finite coefficients
 */
export function checkAffineTransform(name: string, v: unknown): AffineTransform2D {
  if (v instanceof AffineTransform2D) return v;
  if (isObject(v) && Array.isArray(v['m']) && v['m'].length === 6) {
    try {
      return new AffineTransform2D(v['m'] as unknown as [number, number, number, number, number, number]);
    } catch {
      throw new InvalidArgumentError(name, 'an AffineTransform2D with six finite coefficients', v);
    }
  }
  throw new InvalidArgumentError(name, 'an AffineTransform2D', v);
}

/**
 * Smallest |determinant| of a transform's linear part that {@link checkCompensationTransform}
 * accepts. Below it the transform collapses the image onto (nearly) a line or a point, so
 * positions compensated with it are meaningless and cannot be mapped back.
 */
export const MIN_COMPENSATION_DETERMINANT = 1e-9;

/**
 * Whether a transform is invertible enough to compensate stored positions with.
 * @param transform - the transform to test
 * @returns `true` when |determinant| ≥ {@link MIN_COMPENSATION_DETERMINANT}
 * @example `isCompensableTransform(AffineTransform2D.scale(0, 1)) // false`
 */
export function isCompensableTransform(transform: AffineTransform2D): boolean {
  return Math.abs(transform.determinant) >= MIN_COMPENSATION_DETERMINANT;
}

/**
 * Checks a transform meant for compensation: {@link checkAffineTransform} plus invertibility.
 * @param name - argument name for error messages
 * @param v - value to check
 * @returns the checked transform
 * @throws {InvalidArgumentError} when `v` is not a finite transform or its |determinant| is
 *   below {@link MIN_COMPENSATION_DETERMINANT} (singular)
 */
export function checkCompensationTransform(name: string, v: unknown): AffineTransform2D {
  const t = checkAffineTransform(name, v);
  if (!isCompensableTransform(t)) {
    throw new InvalidArgumentError(name, `an invertible transform (|determinant| >= ${MIN_COMPENSATION_DETERMINANT})`, v);
  }
  return t;
}

/**
 * Checks and copies a {@link GlobalTransformEstimate}.
 * @throws {InvalidArgumentError} when any field is invalid
 */
export function checkGlobalTransformEstimate(name: string, v: unknown): GlobalTransformEstimate {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'a GlobalTransformEstimate object', v);
  const method = v['method'];
  if (typeof method !== 'string' || !(TRANSFORM_ESTIMATION_METHODS as readonly string[]).includes(method)) {
    throw new InvalidArgumentError(`${name}.method`, `one of ${TRANSFORM_ESTIMATION_METHODS.join(', ')}`, method);
  }
  return Object.freeze({
    transform: checkAffineTransform(`${name}.transform`, v['transform']),
    confidence: checkRange(`${name}.confidence`, v['confidence'], 0, 1),
    method: method as TransformEstimationMethod,
    // Providers cannot know the view version; the view system stamps it. Default 0.
    computedAt: (v['computedAt'] === undefined ? 0 : checkCount(`${name}.computedAt`, v['computedAt'])) as ViewVersion,
  });
}

/**
 * Translation magnitude of an estimate: √(tx² + ty²), normalized coordinates.
 * @returns the length of the translation part
 */
export function displacementMagnitude(estimate: GlobalTransformEstimate): number {
  return estimate.transform.translationMagnitude;
}

const UNIT_CORNERS = [
  { x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 },
] as const;

/**
 * Largest displacement of any point of the image under `transform`: max over the four image
 * corners of |T(p) − p| (the displacement field is affine, so its norm peaks at a corner).
 * Equals the translation magnitude for a pure translation, and also captures rotation and
 * zoom, which a translation-only measure misses.
 * @returns a non-negative distance in normalized coordinates
 * @example `maxFrameDisplacement(AffineTransform2D.translation(0.03, 0.04)) // 0.05`
 */
export function maxFrameDisplacement(transform: AffineTransform2D): number {
  let max = 0;
  for (const p of UNIT_CORNERS) {
    const q = transform.apply(p);
    max = Math.max(max, Math.hypot(q.x - p.x, q.y - p.y));
  }
  return max;
}

/**
 * Relative scale change of a transform: max(|sx − 1|, |sy − 1|) over its column norms
 * (also picks up shear).
 * @returns a non-negative ratio (0.1 = 10%)
 */
export function scaleChange(transform: AffineTransform2D): number {
  const { sx, sy } = transform.scaleFactors;
  return Math.max(Math.abs(sx - 1), Math.abs(sy - 1));
}

/** Absolute rotation of a transform's linear part, degrees in [0, 180]. */
export function absRotationDegrees(transform: AffineTransform2D): number {
  return Math.abs(transform.rotationDegrees);
}

/** Whether two estimates carry the same transform, confidence and method (`computedAt` ignored). */
export function transformEstimateContentEquals(a: GlobalTransformEstimate | undefined, b: GlobalTransformEstimate | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.confidence === b.confidence && a.method === b.method && a.transform.m.every((v, i) => v === b.transform.m[i]);
}
