/**
 * {@link ViewState} (plain data) and {@link ViewSnapshot} (its frozen, read-only form shared
 * with stages and outputs).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { CameraMotionState, MotionSource } from './camera-motion.js';
import {
  checkCameraMotionState, checkMotionSource, motionSourceEquals, motionStateEquals, noneSource, stableMotion, unknownMotion,
} from './camera-motion.js';
import type { ViewEpoch, ViewVersion } from './epoch.js';
import { INITIAL_VIEW_EPOCH, INITIAL_VIEW_VERSION, viewEpoch, viewVersion } from './epoch.js';
import type { PtzTelemetry } from './ptz.js';
import { checkPtzTelemetry, ptzPoseEquals } from './ptz.js';
import type { GlobalTransformEstimate } from './transform.js';
import { checkGlobalTransformEstimate, transformEstimateContentEquals } from './transform.js';
import type { TransitionPhase } from './transition.js';
import { checkTransitionPhase } from './transition.js';
import type { ContextValidity } from './validity.js';
import { checkContextValidity, degradedValidity, validityEquals, validValidity } from './validity.js';
import { checkRange, isObject } from './validate.js';

/**
 * The view system's current estimate of the camera's view. Plain readonly data; consumers
 * receive it wrapped in a {@link ViewSnapshot}.
 */
export interface ViewState {
  /** Discontinuity counter; see {@link ViewEpoch}. */
  readonly epoch: ViewEpoch;
  /** Update counter; see {@link ViewVersion}. */
  readonly version: ViewVersion;
  /** Whether the camera is moving. */
  readonly motion: CameraMotionState;
  /** How `motion` was determined. */
  readonly motionSource: MotionSource;
  /** Position in the motion transition state machine. */
  readonly transition: TransitionPhase;
  /** Last PTZ telemetry that changed the view, if any this session. */
  readonly ptz?: PtzTelemetry | undefined;
  /** Last transform estimate, if any this session (see `computedAt` for staleness). */
  readonly globalTransform?: GlobalTransformEstimate | undefined;
  /** How far earlier temporal state in this epoch can be trusted. */
  readonly validity: ContextValidity;
  /** 1.0 = fully stable, 0.0 = just moved / just segmented / unknown. */
  readonly stabilityScore: number;
}

/** The epoch/version pair a piece of data can be bound to (a {@link ViewState} or {@link ViewSnapshot}). */
export interface ViewStamp {
  /** Epoch of the view. */
  readonly epoch: ViewEpoch;
  /** Version of the view. */
  readonly version: ViewVersion;
}

/**
 * Initial state of a fixed camera: stable, source none, settled, valid, stability 1.0.
 * @param at - epoch and version to start at (default 0/0; a feed restart passes the incremented ones)
 * @returns a frozen {@link ViewState}
 * @throws {InvalidArgumentError} for a bad epoch or version
 * @example `fixedInitialViewState().stabilityScore // 1`
 */
export function fixedInitialViewState(at: Partial<ViewStamp> = {}): ViewState {
  return Object.freeze({
    epoch: viewEpoch(at.epoch ?? INITIAL_VIEW_EPOCH),
    version: viewVersion(at.version ?? INITIAL_VIEW_VERSION),
    motion: stableMotion(),
    motionSource: noneSource(),
    transition: 'settled',
    ptz: undefined,
    globalTransform: undefined,
    validity: validValidity(),
    stabilityScore: 1,
  });
}

/**
 * Initial state of an observed camera: unknown motion, source none, settled,
 * degraded{unknown}, stability 0.0. Nothing is assumed stable before the provider speaks.
 * @param at - epoch and version to start at (default 0/0)
 * @returns a frozen {@link ViewState}
 * @throws {InvalidArgumentError} for a bad epoch or version
 */
export function observedInitialViewState(at: Partial<ViewStamp> = {}): ViewState {
  return Object.freeze({
    epoch: viewEpoch(at.epoch ?? INITIAL_VIEW_EPOCH),
    version: viewVersion(at.version ?? INITIAL_VIEW_VERSION),
    motion: unknownMotion(),
    motionSource: noneSource(),
    transition: 'settled',
    ptz: undefined,
    globalTransform: undefined,
    validity: degradedValidity('unknown'),
    stabilityScore: 0,
  });
}

/**
 * Checks every field of a view state and returns a deep-frozen copy.
 * @param v - a candidate {@link ViewState}
 * @returns a deep-frozen copy
 * @throws {InvalidArgumentError} naming the first invalid field
 */
export function checkViewState(v: unknown): ViewState {
  if (!isObject(v)) throw new InvalidArgumentError('viewState', 'a ViewState object', v);
  const num = (k: string): number => v[k] as number;
  let epoch: ViewEpoch, version: ViewVersion;
  try { epoch = viewEpoch(num('epoch')); } catch { throw new InvalidArgumentError('viewState.epoch', 'a non-negative safe integer', v['epoch']); }
  try { version = viewVersion(num('version')); } catch { throw new InvalidArgumentError('viewState.version', 'a non-negative safe integer', v['version']); }
  return Object.freeze({
    epoch,
    version,
    motion: checkCameraMotionState('viewState.motion', v['motion']),
    motionSource: checkMotionSource('viewState.motionSource', v['motionSource']),
    transition: checkTransitionPhase('viewState.transition', v['transition']),
    ptz: v['ptz'] === undefined ? undefined : checkPtzTelemetry('viewState.ptz', v['ptz']),
    globalTransform: v['globalTransform'] === undefined ? undefined : checkGlobalTransformEstimate('viewState.globalTransform', v['globalTransform']),
    validity: checkContextValidity('viewState.validity', v['validity']),
    stabilityScore: checkRange('viewState.stabilityScore', v['stabilityScore'], 0, 1),
  });
}

/**
 * Whether two view states have the same content, ignoring `version`, `ptz.ts` and
 * `globalTransform.computedAt` (bookkeeping, not view content). This is the "anything
 * changed" test behind {@link ViewVersion} increments.
 * @returns whether every other field is structurally equal
 */
export function viewStateContentEquals(a: ViewState, b: ViewState): boolean {
  return a.epoch === b.epoch
    && a.transition === b.transition
    && a.stabilityScore === b.stabilityScore
    && motionStateEquals(a.motion, b.motion)
    && motionSourceEquals(a.motionSource, b.motionSource)
    && validityEquals(a.validity, b.validity)
    && ptzPoseEquals(a.ptz, b.ptz)
    && transformEstimateContentEquals(a.globalTransform, b.globalTransform);
}

/**
 * A read-only, deep-frozen view of one {@link ViewState}, created once per frame and shared
 * by every stage and output of that frame. Passing it around never copies.
 *
 * @example
 * ```ts
 * const snap = ViewSnapshot.of(observedInitialViewState());
 * if (snap.validity.kind === 'valid' && snap.transition === 'settled') { ... }
 * ```
 */
export class ViewSnapshot implements ViewStamp {
  readonly #state: ViewState;

  private constructor(state: ViewState) {
    this.#state = state;
    Object.freeze(this);
  }

  /**
   * Validates a view state and wraps it in an immutable snapshot.
   * @param state - a view state (validated and deep-copied)
   * @returns a snapshot of it
   * @throws {InvalidArgumentError} naming the first invalid field
   */
  static of(state: ViewState): ViewSnapshot {
    return new ViewSnapshot(checkViewState(state));
  }

  /**
   * The initial view of a fixed camera.
   * @returns a snapshot of {@link fixedInitialViewState}
   */
  static fixedInitial(): ViewSnapshot { return new ViewSnapshot(fixedInitialViewState()); }
  /**
   * The initial view of an observed camera.
   * @returns a snapshot of {@link observedInitialViewState}
   */
  static observedInitial(): ViewSnapshot { return new ViewSnapshot(observedInitialViewState()); }

  /** Discontinuity counter. */
  get epoch(): ViewEpoch { return this.#state.epoch; }
  /** Update counter. */
  get version(): ViewVersion { return this.#state.version; }
  /** Camera motion state. */
  get motion(): CameraMotionState { return this.#state.motion; }
  /** How the motion state was determined. */
  get motionSource(): MotionSource { return this.#state.motionSource; }
  /** Transition phase. */
  get transition(): TransitionPhase { return this.#state.transition; }
  /** Last PTZ telemetry, if any. */
  get ptz(): PtzTelemetry | undefined { return this.#state.ptz; }
  /** Last transform estimate, if any. */
  get globalTransform(): GlobalTransformEstimate | undefined { return this.#state.globalTransform; }
  /** Context validity. */
  get validity(): ContextValidity { return this.#state.validity; }
  /** Stability score in [0, 1]. */
  get stabilityScore(): number { return this.#state.stabilityScore; }
  /** The underlying (deep-frozen) state. */
  get state(): ViewState { return this.#state; }
  /** JSON form: the plain state. */
  toJSON(): ViewState { return this.#state; }
}
