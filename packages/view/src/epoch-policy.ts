/**
 * Epoch policy: what the view system does about camera motion — continue, degrade,
 * compensate (keep the epoch, transform stored positions), or segment (open a new epoch).
 *
 * @packageDocumentation
 */
import { AffineTransform2D, ConfigError, InvalidArgumentError } from '@nv/core';
import type { DurationNs } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import type { MotionReport } from './motion-report.js';
import { deriveMotionSource } from './motion-report.js';
import type { PtzDeltas } from './ptz.js';
import { ptzDeltas } from './ptz.js';
import { absRotationDegrees, checkCompensationTransform, isCompensableTransform, scaleChange } from './transform.js';
import type { TransitionPhase, nextTransitionPhase } from './transition.js';
import type { DegradationReason } from './validity.js';
import { checkDegradationReason } from './validity.js';
import type { ViewSnapshot } from './view-state.js';
import { checkNonNegative, checkRange, isObject } from './validate.js';

/**
 * What to do about this frame's motion.
 *
 * - `continue`: the view is continuous; validity becomes `valid` (unless motion is unknown).
 * - `degrade`: keep the epoch, mark validity `degraded{reason}`.
 * - `compensate`: keep the epoch, mark validity `degraded{reason}`, and have the temporal store
 *   apply `transform` (previous → current frame) to active segment positions.
 * - `segment`: open a new epoch; trajectory segments close and reopen, stages are notified.
 */
export type EpochDecision =
  | { readonly kind: 'continue' }
  | { readonly kind: 'degrade'; readonly reason: DegradationReason }
  | { readonly kind: 'compensate'; readonly reason: DegradationReason; readonly transform: AffineTransform2D }
  | { readonly kind: 'segment' };

const CONTINUE: EpochDecision = Object.freeze({ kind: 'continue' });
const SEGMENT: EpochDecision = Object.freeze({ kind: 'segment' });

/**
 * The `continue` decision.
 * @returns the shared `continue` decision
 */
export function continueDecision(): EpochDecision { return CONTINUE; }
/**
 * The `segment` decision.
 * @returns the shared `segment` decision
 */
export function segmentDecision(): EpochDecision { return SEGMENT; }
/**
 * Builds a `degrade` decision.
 * @param reason - why the context is degraded
 * @returns a frozen `degrade` decision
 * @throws {InvalidArgumentError} for an unknown reason
 */
export function degradeDecision(reason: DegradationReason): EpochDecision {
  return Object.freeze({ kind: 'degrade', reason: checkDegradationReason('reason', reason) });
}
/**
 * Builds a `compensate` decision.
 * @param reason - why the context is degraded while compensating
 * @param transform - previous → current frame transform to apply to stored positions
 * @returns a frozen `compensate` decision
 * @throws {InvalidArgumentError} for an unknown reason, a non-finite transform, or a singular one
 *   (|determinant| below `MIN_COMPENSATION_DETERMINANT`)
 */
export function compensateDecision(reason: DegradationReason, transform: AffineTransform2D): EpochDecision {
  return Object.freeze({
    kind: 'compensate', reason: checkDegradationReason('reason', reason), transform: checkCompensationTransform('transform', transform),
  });
}

/**
 * Checks a decision returned by a (possibly user-written) policy.
 * @param name - argument name for error messages
 * @param v - the decision to check
 * @returns a frozen copy
 * @throws {InvalidArgumentError} naming the invalid field; a `compensate` transform must be finite
 *   and invertible (|determinant| ≥ `MIN_COMPENSATION_DETERMINANT`)
 */
export function checkEpochDecision(name: string, v: unknown): EpochDecision {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'an EpochDecision object', v);
  switch (v['kind']) {
    case 'continue': return CONTINUE;
    case 'segment': return SEGMENT;
    case 'degrade': return Object.freeze({ kind: 'degrade', reason: checkDegradationReason(`${name}.reason`, v['reason']) });
    case 'compensate': return Object.freeze({
      kind: 'compensate',
      reason: checkDegradationReason(`${name}.reason`, v['reason']),
      transform: checkCompensationTransform(`${name}.transform`, v['transform']),
    });
    default: throw new InvalidArgumentError(`${name}.kind`, "'continue', 'degrade', 'compensate' or 'segment'", v['kind']);
  }
}

/**
 * Motion accumulated over the current motion episode and not yet absorbed by a compensation
 * or a segmentation. An episode starts on the first non-stable frame after `settled`, spans
 * `moveEnd → moveStart` resumptions, and ends when the phase returns to `settled`.
 */
export interface AccumulatedMotion {
  /** Frames in the episode so far, this one included. */
  readonly frames: number;
  /** Net PTZ change between the pose before the episode (or the last compensation) and now. */
  readonly ptz?: PtzDeltas | undefined;
  /** Composition (in order) of the frame transforms reported during the episode since the last compensation. */
  readonly transform?: AffineTransform2D | undefined;
  /** {@link maxFrameDisplacement} of `transform`. */
  readonly displacement?: number | undefined;
}

/** What a policy sees when deciding. */
export interface EpochPolicyContext {
  /** The view before this frame. */
  readonly previousView: ViewSnapshot;
  /** This frame's validated report. */
  readonly report: MotionReport;
  /** This frame's motion state. */
  readonly motionState: CameraMotionState;
  /** How long the camera has been in this motion state kind (media clock), 0 on the first frame of it. */
  readonly stateDuration: DurationNs;
  /** This frame's transition phase per the state machine ({@link nextTransitionPhase}); a `segment` decision does not change it. */
  readonly transition: TransitionPhase;
  /** Motion accumulated over the current episode, when one is in progress. */
  readonly accumulated?: AccumulatedMotion | undefined;
}

/**
 * Decides what happens when the view system sees camera motion. Consulted on every frame of
 * an observed camera; must be synchronous and fast (it runs before every frame's stages).
 *
 * @example
 * ```ts
 * const neverSegment: EpochPolicy = {
 *   decide: (ctx) => ctx.motionState.kind === 'stable' ? continueDecision() : degradeDecision('ptzMoving'),
 * };
 * ```
 */
export interface EpochPolicy {
  /**
   * Decides what to do about this frame's motion.
   * @param ctx - previous view, this frame's report, motion state, phase and accumulated motion
   * @returns the decision for this frame
   */
  decide(ctx: EpochPolicyContext): EpochDecision;
}

/** Options of {@link DefaultEpochPolicy}. */
export interface DefaultEpochPolicyOptions {
  /** Pan or tilt change (degrees, per frame) above which a PTZ move segments. Default 15. */
  readonly segmentAngleThreshold: number;
  /** Zoom change (normalized, per frame) above which a PTZ move segments. Default 0.3. */
  readonly segmentZoomThreshold: number;
  /** Frame displacement (normalized) above which motion segments. Default 0.25. */
  readonly segmentDisplacementThreshold: number;
  /** Minimum transform confidence to compensate instead of segmenting. Default 0.8. */
  readonly compensateMinConfidence: number;
  /** Small motions (below the segment thresholds) degrade instead of continuing. Default true. */
  readonly degradeOnSmallMotion: boolean;
  /** PTZ changes at or below this (degrees / zoom units) are not motion. Default 0.01. */
  readonly ptzDeadband: number;
  /** Compensation ceiling: a transform rotating more than this (degrees) segments instead. Default 5. */
  readonly maxCompensationRotationDeg: number;
  /** Compensation ceiling: a scale change above this ratio segments instead. Default 0.1 (10%). */
  readonly maxCompensationScaleChange: number;
  /**
   * On `moveEnd`, segment when the episode's accumulated motion exceeds a segment threshold.
   * Default false, as in the reference (which only ever judges one frame's motion): a slow pan
   * degrades frame by frame and keeps its epoch. Opt in where trajectories must not span a pan.
   */
  readonly segmentOnAccumulatedMotion: boolean;
}

/** The defaults of {@link DefaultEpochPolicyOptions}. */
export const DEFAULT_EPOCH_POLICY_OPTIONS: DefaultEpochPolicyOptions = Object.freeze({
  segmentAngleThreshold: 15,
  segmentZoomThreshold: 0.3,
  segmentDisplacementThreshold: 0.25,
  compensateMinConfidence: 0.8,
  degradeOnSmallMotion: true,
  ptzDeadband: 0.01,
  maxCompensationRotationDeg: 5,
  maxCompensationScaleChange: 0.1,
  segmentOnAccumulatedMotion: false,
});

function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(name, 'a boolean', v);
  return v;
}

/**
 * Fills in and validates {@link DefaultEpochPolicyOptions}.
 * @throws {InvalidArgumentError} for a non-positive/NaN threshold, a confidence outside [0, 1], a non-boolean flag
 * @throws {ConfigError} `InvalidPolicy` for an unknown option or a deadband not below the segment thresholds
 */
export function resolveEpochPolicyOptions(options: Partial<DefaultEpochPolicyOptions> = {}): DefaultEpochPolicyOptions {
  if (!isObject(options)) throw new InvalidArgumentError('epochPolicy', 'an options object', options);
  for (const k of Object.keys(options)) {
    if (!(k in DEFAULT_EPOCH_POLICY_OPTIONS)) throw ConfigError.invalidPolicy(`unknown epoch policy option '${k}'`, `epochPolicy.${k}`);
  }
  const o = { ...DEFAULT_EPOCH_POLICY_OPTIONS, ...options };
  const r: DefaultEpochPolicyOptions = Object.freeze({
    segmentAngleThreshold: checkNonNegative('epochPolicy.segmentAngleThreshold', o.segmentAngleThreshold, true),
    segmentZoomThreshold: checkNonNegative('epochPolicy.segmentZoomThreshold', o.segmentZoomThreshold, true),
    segmentDisplacementThreshold: checkNonNegative('epochPolicy.segmentDisplacementThreshold', o.segmentDisplacementThreshold, true),
    compensateMinConfidence: checkRange('epochPolicy.compensateMinConfidence', o.compensateMinConfidence, 0, 1),
    degradeOnSmallMotion: checkBool('epochPolicy.degradeOnSmallMotion', o.degradeOnSmallMotion),
    ptzDeadband: checkNonNegative('epochPolicy.ptzDeadband', o.ptzDeadband),
    maxCompensationRotationDeg: checkNonNegative('epochPolicy.maxCompensationRotationDeg', o.maxCompensationRotationDeg),
    maxCompensationScaleChange: checkNonNegative('epochPolicy.maxCompensationScaleChange', o.maxCompensationScaleChange),
    segmentOnAccumulatedMotion: checkBool('epochPolicy.segmentOnAccumulatedMotion', o.segmentOnAccumulatedMotion),
  });
  if (r.ptzDeadband >= r.segmentAngleThreshold || r.ptzDeadband >= r.segmentZoomThreshold) {
    throw ConfigError.invalidPolicy(
      `ptzDeadband (${r.ptzDeadband}) must be below segmentAngleThreshold (${r.segmentAngleThreshold}) and segmentZoomThreshold (${r.segmentZoomThreshold})`,
      'epochPolicy.ptzDeadband',
    );
  }
  return r;
}

/**
 * The threshold-based policy shipped with nv. In order, first match wins:
 *
 * 1. A `presetRecall` PTZ event → `segment`.
 * 2. Previous view and report both carry PTZ: pan/tilt shortest angular distance and zoom
 *    difference. Any above its segment threshold → `compensate{zoomChange | ptzMoving}` when
 *    the report has a transform with confidence ≥ `compensateMinConfidence` **and within the
 *    compensation ceiling**, else `segment`. Otherwise, with `degradeOnSmallMotion`, any
 *    above `ptzDeadband` → `degrade{zoomChange}` (only zoom moved) or `degrade{ptzMoving}`.
 * 3. Motion `moving` with a displacement d: d > `segmentDisplacementThreshold` →
 * *    `compensate{largeJump}` (same confidence and ceiling conditions) else `segment`;
 *    otherwise with `degradeOnSmallMotion` and d > 0 → `degrade{r}`. Motion `moving`
 *    without a displacement (a hint or PTZ-only) with `degradeOnSmallMotion` → `degrade{r}`
 *    too: motion of unknown size is never "continue". The reason `r` for these small
 *    motions depends on the report: `ptzMoving` when its motion source is telemetry (it
 *    carries `ptz`), else `inferredMotionLowConfidence` when it carries a `frameTransform`
 *    with confidence below `compensateMinConfidence`, else `unknown`.
 * 4. Only with `segmentOnAccumulatedMotion` (off by default, like the reference), on a `moveEnd`
 *    frame whose episode accumulated a PTZ change or displacement above a segment threshold →
 *    `segment` (a slow pan that never crossed a threshold in one frame may still leave old
 *    coordinates incompatible).
 * 5. Otherwise `continue`.
 *
 * Compensation ceiling: AABB re-bounding under rotation inflates boxes, so a transform with
 * |rotation| > `maxCompensationRotationDeg` or scale change (max |s − 1| over both axes) >
 * `maxCompensationScaleChange` is refused and the decision becomes `segment`. A singular
 * transform (|determinant| below `MIN_COMPENSATION_DETERMINANT`) is refused the same way, so
 * this policy never returns a `compensate` decision that {@link checkEpochDecision} rejects.
 *
 * @example
 * ```ts
 * const policy = new DefaultEpochPolicy({ segmentAngleThreshold: 10 });
 * const decision = policy.decide(ctx); // { kind: 'segment' } for a 12° pan
 * ```
 */
export class DefaultEpochPolicy implements EpochPolicy {
  /** The resolved options. */
  readonly options: DefaultEpochPolicyOptions;

  /**
   * Creates a policy with the given thresholds.
   * @param options - overrides of {@link DEFAULT_EPOCH_POLICY_OPTIONS}
   * @throws {InvalidArgumentError} for out-of-range values
   * @throws {ConfigError} `InvalidPolicy` for unknown options or inconsistent thresholds
   */
  constructor(options: Partial<DefaultEpochPolicyOptions> = {}) {
    this.options = resolveEpochPolicyOptions(options);
    Object.freeze(this);
  }

  /**
   * Whether a transform is small enough in rotation and scale change to compensate.
   * @returns true when |rotation| ≤ `maxCompensationRotationDeg` and scale change ≤ `maxCompensationScaleChange`
   */
  withinCompensationCeiling(transform: AffineTransform2D): boolean {
    return absRotationDegrees(transform) <= this.options.maxCompensationRotationDeg
      && scaleChange(transform) <= this.options.maxCompensationScaleChange;
  }

  /** {@inheritDoc EpochPolicy.decide} */
  decide(ctx: EpochPolicyContext): EpochDecision {
    const o = this.options;
    const report = ctx.report;
    if (report.ptzEvents?.some((e) => e.kind === 'presetRecall')) return SEGMENT;

    const prev = ctx.previousView.ptz;
    if (prev !== undefined && report.ptz !== undefined) {
      const d = ptzDeltas(prev, report.ptz);
      const angleOver = d.pan > o.segmentAngleThreshold || d.tilt > o.segmentAngleThreshold;
      const zoomOver = d.zoom > o.segmentZoomThreshold;
      if (angleOver || zoomOver) return this.#compensateOrSegment(report, angleOver ? 'ptzMoving' : 'zoomChange');
      const angleMoved = d.pan > o.ptzDeadband || d.tilt > o.ptzDeadband;
      if (o.degradeOnSmallMotion && (angleMoved || d.zoom > o.ptzDeadband)) {
        return degradeDecision(angleMoved ? 'ptzMoving' : 'zoomChange');
      }
    }

    const m = ctx.motionState;
    if (m.kind === 'moving') {
      if (m.displacement !== undefined) {
        if (m.displacement > o.segmentDisplacementThreshold) return this.#compensateOrSegment(report, 'largeJump');
        if (o.degradeOnSmallMotion && m.displacement > 0) return degradeDecision(this.#smallMotionReason(report));
      } else if (o.degradeOnSmallMotion) {
        return degradeDecision(this.#smallMotionReason(report));
      }
    }

    const acc = ctx.accumulated;
    if (o.segmentOnAccumulatedMotion && ctx.transition === 'moveEnd' && acc !== undefined) {
      const ptzOver = acc.ptz !== undefined
        && (acc.ptz.pan > o.segmentAngleThreshold || acc.ptz.tilt > o.segmentAngleThreshold || acc.ptz.zoom > o.segmentZoomThreshold);
      const dispOver = acc.displacement !== undefined && acc.displacement > o.segmentDisplacementThreshold;
      if (ptzOver || dispOver) return SEGMENT;
    }
    return CONTINUE;
  }

  #compensateOrSegment(report: MotionReport, reason: DegradationReason): EpochDecision {
    const t = report.frameTransform;
    if (t !== undefined && t.confidence >= this.options.compensateMinConfidence
      && isCompensableTransform(t.transform) && this.withinCompensationCeiling(t.transform)) {
      return compensateDecision(reason, t.transform);
    }
    return SEGMENT;
  }

  #smallMotionReason(report: MotionReport): DegradationReason {
    if (deriveMotionSource(report).kind === 'telemetry') return 'ptzMoving';
    const t = report.frameTransform;
    if (t !== undefined && t.confidence < this.options.compensateMinConfidence) return 'inferredMotionLowConfidence';
    return 'unknown';
  }
}
