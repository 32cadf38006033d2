/**
 * `@nv/view`: camera view state — epochs and versions, motion state and source, transition
 * phases, epoch policy, stability score, the per-frame view system and view-bound context.
 *
 * @packageDocumentation
 */
export {
  ViewEpoch, ViewVersion, viewEpoch, viewVersion, INITIAL_VIEW_EPOCH, INITIAL_VIEW_VERSION, nextEpoch, nextVersion,
  versionsSince, epochsSince, formatViewEpoch, formatViewVersion,
} from './epoch.js';
export {
  DEGRADATION_REASONS, validValidity, invalidValidity, degradedValidity, checkDegradationReason, checkContextValidity,
  validityEquals,
} from './validity.js';
export type { DegradationReason, ContextValidity } from './validity.js';
export {
  stableMotion, unknownMotion, movingMotion, telemetrySource, externalSource, noneSource, inferredSource, countsAsMoving,
  checkCameraMotionState, checkMotionSource, motionStateEquals, motionSourceEquals,
} from './camera-motion.js';
export type { CameraMotionState, MotionSource } from './camera-motion.js';
export { ptzTelemetry, checkPtzTelemetry, checkPtzEvent, angularDistance, ptzDeltas, ptzPoseEquals } from './ptz.js';
export type { PtzTelemetry, PtzEvent, PtzDeltas } from './ptz.js';
export {
  TRANSFORM_ESTIMATION_METHODS, globalTransformEstimate, checkAffineTransform, checkGlobalTransformEstimate,
  displacementMagnitude, maxFrameDisplacement, scaleChange, absRotationDegrees, transformEstimateContentEquals,
  MIN_COMPENSATION_DETERMINANT, isCompensableTransform, checkCompensationTransform,
} from './transform.js';
export type { TransformEstimationMethod, GlobalTransformEstimate, GlobalTransformEstimateInput } from './transform.js';
export { TRANSITION_PHASES, checkTransitionPhase, nextTransitionPhase } from './transition.js';
export type { TransitionPhase } from './transition.js';
export {
  ViewSnapshot, fixedInitialViewState, observedInitialViewState, checkViewState, viewStateContentEquals,
} from './view-state.js';
export type { ViewState, ViewStamp } from './view-state.js';
export { EMPTY_MOTION_REPORT, validateMotionReport, isEmptyMotionReport, deriveMotionSource } from './motion-report.js';
export type { MotionReport, MotionSourceWarning } from './motion-report.js';
export { DEFAULT_MOTION_STATE_OPTIONS, resolveMotionStateOptions, computeMotionState } from './motion-state.js';
export type { MotionStateOptions, MotionBasis, MotionStateResult } from './motion-state.js';
export {
  continueDecision, segmentDecision, degradeDecision, compensateDecision, checkEpochDecision, DEFAULT_EPOCH_POLICY_OPTIONS,
  resolveEpochPolicyOptions, DefaultEpochPolicy,
} from './epoch-policy.js';
export type {
  EpochDecision, AccumulatedMotion, EpochPolicyContext, EpochPolicy, DefaultEpochPolicyOptions,
} from './epoch-policy.js';
export {
  DEFAULT_STABILITY_OPTIONS, resolveStabilityOptions, initialStability, nextStability, StabilityTracker,
} from './stability.js';
export type { StabilityOptions, StabilityState, StabilityInput } from './stability.js';
export { ViewSystem, DEFAULT_POLL_TIMEOUT_MS } from './view-system.js';
export type { MotionPollContext, ViewStateProvider, ViewEvent, ViewUpdate, ViewSystemOptions } from './view-system.js';
export { ViewBoundContext } from './bound-context.js';
export type { BoundContextValidity } from './bound-context.js';
