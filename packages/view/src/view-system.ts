/**
 * {@link ViewSystem}: the per-frame view updater run before a frame's stages.
 *
 * @packageDocumentation
 */
import { ConfigError, InvalidArgumentError, ViewError, parseCameraMode, realClock } from '@nv/core';
import type { AffineTransform2D, CameraMode, Clock, ClockTimer, DurationNs, MonotonicTs, NvError } from '@nv/core';
import type { MotionSource } from './camera-motion.js';
import { noneSource } from './camera-motion.js';
import type { ViewEpoch } from './epoch.js';
import { nextEpoch, nextVersion } from './epoch.js';
import type { AccumulatedMotion, EpochDecision, EpochPolicy } from './epoch-policy.js';
import { DefaultEpochPolicy, checkEpochDecision } from './epoch-policy.js';
import type { MotionReport, MotionSourceWarning } from './motion-report.js';
import { EMPTY_MOTION_REPORT, deriveMotionSource, validateMotionReport } from './motion-report.js';
import type { MotionStateOptions } from './motion-state.js';
import { computeMotionState, resolveMotionStateOptions } from './motion-state.js';
import type { PtzTelemetry } from './ptz.js';
import { ptzDeltas, ptzPoseEquals } from './ptz.js';
import type { StabilityOptions, StabilityState } from './stability.js';
import { initialStability, nextStability, resolveStabilityOptions } from './stability.js';
import type { GlobalTransformEstimate } from './transform.js';
import { maxFrameDisplacement, transformEstimateContentEquals } from './transform.js';
import { nextTransitionPhase } from './transition.js';
import type { ContextValidity, DegradationReason } from './validity.js';
import { degradedValidity, validValidity } from './validity.js';
import type { ViewState } from './view-state.js';
import { ViewSnapshot, fixedInitialViewState, observedInitialViewState, viewStateContentEquals } from './view-state.js';
import { isObject } from './validate.js';

/** What a provider's `poll` receives. `F` is the frame type (a `FrameEnvelope` in the runtime). */
export interface MotionPollContext<F = unknown> {
  /** Frame timestamp (ns since feed start). */
  readonly ts: MonotonicTs;
  /** The frame, for egomotion providers that look at pixels. */
  readonly frame: F;
  /** The view before this frame. */
  readonly previousView: ViewSnapshot;
}

/**
 * Supplies camera-motion information for an observed camera, once per frame, before the
 * frame's stages run (its latency adds to every frame's). Telemetry providers should return
 * the latest cached sample; egomotion providers compute on the frame (or return the previous
 * frame's result to stay off the critical path). The motion source is derived from which
 * report fields are filled; providers never declare it.
 *
 * @example
 * ```ts
 * const provider: ViewStateProvider = { poll: () => ({ ptz: onvif.latest() }) };
 * ```
 */
export interface ViewStateProvider<F = unknown> {
  /**
   * Reports this frame's camera motion.
   * @param ctx - timestamp, frame and previous view
   * @returns this frame's report (or a promise of it)
   */
  poll(ctx: MotionPollContext<F>): MotionReport | Promise<MotionReport>;
}

/** Something the view system reports about a frame (the runtime maps these to health events). */
export type ViewEvent =
  | { readonly type: 'epochChanged'; readonly epoch: ViewEpoch; readonly previousEpoch: ViewEpoch; readonly cause: 'segment' | 'restart' }
  | { readonly type: 'degraded'; readonly reason: DegradationReason; readonly stabilityScore: number }
  | { readonly type: 'compensationApplied'; readonly epoch: ViewEpoch; readonly reason: DegradationReason; readonly transform: AffineTransform2D }
  | { readonly type: 'motionSourceWarning'; readonly warning: MotionSourceWarning }
  | { readonly type: 'providerError'; readonly error: NvError; readonly cause: unknown };

const NO_EVENTS: readonly ViewEvent[] = Object.freeze([]);

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** Result of one {@link ViewSystem.update} (or {@link ViewSystem.restart}). */
export interface ViewUpdate {
  /** The view for this frame (the same object as before when nothing changed). */
  readonly snapshot: ViewSnapshot;
  /** The epoch policy's decision; `undefined` for fixed cameras and restarts. */
  readonly decision: EpochDecision | undefined;
  /** This frame's derived motion source (`none` for fixed cameras). */
  readonly motionSource: MotionSource;
  /** Events for this frame, in order. */
  readonly events: readonly ViewEvent[];
  /** Whether the view version was incremented. */
  readonly changed: boolean;
  /** For a `compensate` decision: the transform the temporal store must apply to active segments. */
  readonly compensation?: AffineTransform2D | undefined;
}

/** Options of {@link ViewSystem}. */
export interface ViewSystemOptions<F = unknown> {
  /** Declared camera mode. `observed` requires `provider`; `fixed` forbids it. */
  readonly mode: CameraMode;
  /** Motion provider (observed cameras only). */
  readonly provider?: ViewStateProvider<F> | undefined;
  /** Epoch policy; default `new DefaultEpochPolicy()`. Unused for fixed cameras. */
  readonly policy?: EpochPolicy | undefined;
  /** Motion-state thresholds (see {@link computeMotionState}). */
  readonly motion?: Partial<MotionStateOptions> | undefined;
  /** Stability-score options (see {@link nextStability}). */
  readonly stability?: Partial<StabilityOptions> | undefined;
  /**
   * Deadline of one provider `poll`, in ms (default 1000; 0 = none). A poll that has not settled
   * by then is treated as an empty report (Unknown motion, Degraded validity — never Stable),
   * reported as a `providerError` event with `ViewError` kind `PollTimeout` and counted in
   * {@link ViewSystem.pollTimeouts}; its late result is discarded. Until that late poll settles
   * the provider is not called again: each frame meanwhile gets the empty report at once (and
   * is counted too), so a provider that never answers costs each frame nothing and holds at
   * most one pending call.
   */
  readonly pollTimeoutMs?: number | undefined;
  /** Time source of the poll deadline (default {@link realClock}). */
  readonly clock?: Clock | undefined;
}

/** Default {@link ViewSystemOptions.pollTimeoutMs}. */
export const DEFAULT_POLL_TIMEOUT_MS = 1000;

const TIMED_OUT: unique symbol = Symbol('nv.view.pollTimedOut');

interface Episode {
  readonly frames: number;
  readonly ptzBase: PtzTelemetry | undefined;
  readonly transform: AffineTransform2D | undefined;
}

function checkTs(ts: unknown): MonotonicTs {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) throw new InvalidArgumentError('ts', 'finite nanoseconds >= 0', ts);
  return ts as MonotonicTs;
}

/**
 * The per-frame view updater for one feed.
 *
 * **Fixed** cameras bypass everything: the view is stable / source none / settled / valid /
 * stability 1.0, and neither epoch nor version changes within a session; `update` returns
 * the same snapshot every frame with `decision: undefined`.
 *
 * **Observed** cameras, each frame: poll the provider, under a deadline (`pollTimeoutMs`,
 * default 1 s); validate the report (a throwing provider, an invalid report or a poll past its
 * deadline is treated as an *empty* report and reported as a `providerError` event); derive the motion source; compute the motion state; advance the
 * transition phase; accumulate the motion episode; consult the epoch policy (every frame);
 * then apply the decision:
 *
 * - `continue` → validity `valid`.
 * - `degrade{r}` → validity `degraded{r}`.
 * - `compensate{r, T}` → validity `degraded{r}`; `T` is returned as `compensation` (and in a
 *   `compensationApplied` event) for the temporal store; the episode's accumulators restart.
 * - `segment` → epoch + 1, validity `valid`, stability 0, `epochChanged` event. The phase is
 *   not overridden: it always follows the transition table ({@link nextTransitionPhase}), so a
 *   preset recall on a still camera segments with phase `settled`. The epoch change is
 *   signalled only by the epoch bump and the `epochChanged` event.
 *
 * Whatever the decision, an `unknown` motion state leaves validity `degraded` (reason
 * `unknown`, or `inferredMotionLowConfidence` for a low-confidence transform) unless the
 * decision itself degraded: absence of data never reads as valid. The stability score follows
 * {@link nextStability}. `ptz` and `globalTransform` keep their last values when a report
 * omits them. The version is incremented when any field changed, ignoring `ptz.ts` and
 * `globalTransform.computedAt`; when nothing changed the previous snapshot is returned
 * unchanged. A `degraded` event is emitted when validity becomes degraded or its reason changes.
 *
 * `restart()` (feed restart): epoch + 1 and version + 1 even for fixed cameras, phase
 * settled, stability 1.0 (fixed) or 0.0 (observed), PTZ/transform history cleared.
 *
 * Calls to `update` are serialized: a second call waits for the first.
 *
 * @example
 * ```ts
 * const view = new ViewSystem({ mode: 'observed', provider: { poll: () => ({ ptz: ptzNow() }) } });
 * const { snapshot, decision, compensation } = await view.update(frame.ts, frame);
 * if (decision?.kind === 'segment') temporal.setViewEpoch(snapshot.epoch);
 * if (compensation) temporal.applyCompensation(compensation, snapshot.epoch);
 * ```
 */
export class ViewSystem<F = unknown> {
  /** Declared camera mode. */
  readonly mode: CameraMode;
  readonly #provider: ViewStateProvider<F> | undefined;
  readonly #policy: EpochPolicy;
  readonly #motionOptions: MotionStateOptions;
  readonly #stabilityOptions: StabilityOptions;
  #snapshot: ViewSnapshot;
  #stability: StabilityState;
  #lastPtz: PtzTelemetry | undefined = undefined;
  #motionSince = 0;
  #episode: Episode | undefined = undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** The fixed-camera update for the current snapshot (reused frame after frame). */
  #fixed: ViewUpdate | undefined;
  readonly #pollTimeoutMs: number;
  readonly #clock: Clock;
  /** A poll that missed its deadline and has not settled yet: the provider is not called again until it does. */
  #latePoll = false;
  #pollTimeouts = 0;

  /**
   * Creates the view system for one feed.
   * @param options - mode, provider, policy and thresholds
   * @throws {ConfigError} `CameraModeConflict` for observed without a provider or fixed with one;
   *   `InvalidConfig` for an unknown mode
   * @throws {InvalidArgumentError} for a provider without `poll`, a policy without `decide`, or bad thresholds
   */
  constructor(options: ViewSystemOptions<F>) {
    if (!isObject(options)) throw new InvalidArgumentError('options', 'a ViewSystemOptions object', options);
    this.mode = parseCameraMode(options.mode);
    const provider = options.provider;
    if (this.mode === 'observed' && provider === undefined) {
      throw ConfigError.cameraModeConflict('an observed camera requires a ViewStateProvider');
    }
    if (this.mode === 'fixed' && provider !== undefined) {
      throw ConfigError.cameraModeConflict('a fixed camera must not have a ViewStateProvider (its view is never polled)');
    }
    if (provider !== undefined && (!isObject(provider) || typeof provider.poll !== 'function')) {
      throw new InvalidArgumentError('provider', 'an object with a poll(ctx) method', provider);
    }
    const policy = options.policy ?? new DefaultEpochPolicy();
    if (!isObject(policy) || typeof policy.decide !== 'function') {
      throw new InvalidArgumentError('policy', 'an object with a decide(ctx) method', policy);
    }
    const pollTimeoutMs = options.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
    if (typeof pollTimeoutMs !== 'number' || !Number.isFinite(pollTimeoutMs) || pollTimeoutMs < 0) {
      throw new InvalidArgumentError('pollTimeoutMs', 'finite milliseconds >= 0 (0 = no deadline)', pollTimeoutMs);
    }
    const clock = options.clock ?? realClock;
    if (!isObject(clock) || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
      throw new InvalidArgumentError('clock', 'a Clock (now, setTimeout, clearTimeout)', clock);
    }
    this.#pollTimeoutMs = pollTimeoutMs;
    this.#clock = clock;
    this.#provider = provider;
    this.#policy = policy;
    this.#motionOptions = resolveMotionStateOptions(options.motion ?? {});
    this.#stabilityOptions = resolveStabilityOptions(options.stability ?? {});
    const initial = this.mode === 'fixed' ? fixedInitialViewState() : observedInitialViewState();
    this.#snapshot = ViewSnapshot.of(initial);
    this.#stability = initialStability(initial.stabilityScore);
  }

  /** The current view. */
  get snapshot(): ViewSnapshot { return this.#snapshot; }

  /**
   * Frames whose provider report was replaced by an empty one because the provider did not
   * answer within `pollTimeoutMs` (the poll that timed out, and each frame while it was still
   * pending). Cumulative over the view system's life.
   */
  get pollTimeouts(): number { return this.#pollTimeouts; }

  /**
   * Runs the view system for one frame (see the class documentation).
   * @param ts - frame timestamp, ns since feed start
   * @param frame - the frame, passed to the provider
   * @returns the frame's view, decision, motion source and events
   * @throws {InvalidArgumentError} (as a rejection) for a bad `ts` or an invalid decision from the policy;
   *   an exception thrown by the policy itself is passed through. In both cases the view is left unchanged.
   *   Provider failures never reject: they become a `providerError` event and an empty report.
   */
  update(ts: MonotonicTs, frame: F): Promise<ViewUpdate> {
    let t: MonotonicTs;
    try { t = checkTs(ts); } catch (e) { return Promise.reject(e); }
    if (this.mode === 'fixed') return Promise.resolve(this.#fixedUpdate());
    const run = this.#tail.then(() => this.#observe(t, frame));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * {@link ViewSystem.update} without a promise where none is needed: for a fixed camera the
   * view only changes on restart, so the frame's update is returned at once (the same frozen
   * object while the view is unchanged). Observed cameras poll their provider: `undefined`
   * is returned, and the caller uses `update`.
   * @param ts - frame timestamp, ns since feed start
   * @throws {InvalidArgumentError} for a bad `ts`
   * @example
   * ```ts
   * const vu = view.updateSync(frame.ts) ?? await view.update(frame.ts, frame);
   * ```
   */
  updateSync(ts: MonotonicTs): ViewUpdate | undefined {
    checkTs(ts);
    return this.mode === 'fixed' ? this.#fixedUpdate() : undefined;
  }

  #fixedUpdate(): ViewUpdate {
    const snap = this.#snapshot;
    let u = this.#fixed;
    if (u === undefined || u.snapshot !== snap) {
      u = Object.freeze({ snapshot: snap, decision: undefined, motionSource: noneSource(), events: NO_EVENTS, changed: false });
      this.#fixed = u;
    }
    return u;
  }

  /**
   * Feed restart: opens a new epoch and resets the view to its initial state for the mode.
   * Call between frames.
   * @returns the new view with an `epochChanged` event (cause `restart`)
   */
  restart(): ViewUpdate {
    const prev = this.#snapshot;
    const at = { epoch: nextEpoch(prev.epoch), version: nextVersion(prev.version) };
    const state = this.mode === 'fixed' ? fixedInitialViewState(at) : observedInitialViewState(at);
    this.#snapshot = ViewSnapshot.of(state);
    this.#stability = initialStability(state.stabilityScore);
    this.#lastPtz = undefined;
    this.#motionSince = 0;
    this.#episode = undefined;
    return {
      snapshot: this.#snapshot,
      decision: undefined,
      motionSource: noneSource(),
      events: [{ type: 'epochChanged', epoch: at.epoch, previousEpoch: prev.epoch, cause: 'restart' }],
      changed: true,
    };
  }

  async #observe(ts: MonotonicTs, frame: F): Promise<ViewUpdate> {
    const events: ViewEvent[] = [];
    let report: MotionReport;
    if (this.#latePoll) {
      // The last poll is still out past its deadline: do not pile calls on a stuck provider.
      this.#pollTimeouts++;
      return this.#apply(ts, EMPTY_MOTION_REPORT, events);
    }
    try {
      const raw = await this.#poll({ ts, frame, previousView: this.#snapshot });
      if (raw === TIMED_OUT) {
        this.#pollTimeouts++;
        const error = ViewError.pollTimeout(this.#pollTimeoutMs);
        events.push({ type: 'providerError', error, cause: undefined });
        return this.#apply(ts, EMPTY_MOTION_REPORT, events);
      }
      report = validateMotionReport(raw);
    } catch (e) {
      const error = ViewError.isInstance(e)
        ? e
        : ViewError.invalidMotionReport(`provider poll failed: ${e instanceof Error ? e.message : String(e)}`);
      events.push({ type: 'providerError', error, cause: e });
      report = EMPTY_MOTION_REPORT;
    }
    return this.#apply(ts, report, events);
  }

  /** Calls the provider under the poll deadline: resolves its report, or {@link TIMED_OUT} (the late result is discarded). */
  #poll(ctx: MotionPollContext<F>): Promise<unknown> {
    const out: unknown = this.#provider!.poll(ctx);
    const limit = this.#pollTimeoutMs;
    if (limit <= 0 || !isThenable(out)) return Promise.resolve(out);
    return new Promise((resolve, reject) => {
      let timer: ClockTimer | undefined;
      let done = false;
      timer = this.#clock.setTimeout(() => {
        if (done) return;
        done = true;
        this.#latePoll = true;
        resolve(TIMED_OUT);
      }, limit);
      out.then(
        (v) => { if (done) { this.#latePoll = false; return; } done = true; this.#clock.clearTimeout(timer); timer = undefined; resolve(v); },
        (e: unknown) => { if (done) { this.#latePoll = false; return; } done = true; this.#clock.clearTimeout(timer); timer = undefined; reject(e); },
      );
    });
  }

  #apply(ts: MonotonicTs, report: MotionReport, events: ViewEvent[]): ViewUpdate {
    const prev = this.#snapshot;
    const motionSource = deriveMotionSource(report, (warning) => events.push({ type: 'motionSourceWarning', warning }));
    const ms = computeMotionState(report, this.#lastPtz, this.#motionOptions);
    const motion = ms.motion;

    // Nothing below mutates `this` until the policy has answered (a throwing policy leaves the view as it was).
    const motionSince = motion.kind !== prev.motion.kind ? ts : this.#motionSince;
    const stateDuration = Math.max(0, ts - motionSince) as DurationNs;
    const phase = nextTransitionPhase(prev.transition, motion);

    // Motion episode accumulation (this frame included).
    const pose = report.ptz ?? prev.ptz;
    let episode: Episode | undefined;
    let accumulated: AccumulatedMotion | undefined;
    if (phase !== 'settled') {
      const ep = this.#episode ?? { frames: 0, ptzBase: prev.ptz, transform: undefined };
      const ft = report.frameTransform;
      const transform = ft === undefined ? ep.transform : ep.transform === undefined ? ft.transform : ep.transform.then(ft.transform);
      episode = { frames: ep.frames + 1, ptzBase: ep.ptzBase ?? report.ptz, transform };
      accumulated = Object.freeze({
        frames: episode.frames,
        ptz: episode.ptzBase !== undefined && pose !== undefined ? Object.freeze(ptzDeltas(episode.ptzBase, pose)) : undefined,
        transform,
        displacement: transform === undefined ? undefined : maxFrameDisplacement(transform),
      });
    }

    const decision = checkEpochDecision('decision', this.#policy.decide({
      previousView: prev, report, motionState: motion, stateDuration, transition: phase, accumulated,
    }));

    let epoch = prev.epoch;
    let validity: ContextValidity;
    switch (decision.kind) {
      case 'degrade':
      case 'compensate':
        validity = degradedValidity(decision.reason);
        break;
      default:
        validity = motion.kind === 'unknown' ? degradedValidity(ms.unknownReason ?? 'unknown') : validValidity();
    }
    if (decision.kind === 'segment') {
      epoch = nextEpoch(prev.epoch);
      episode = undefined;
    } else if (decision.kind === 'compensate' && episode !== undefined) {
      episode = { frames: episode.frames, ptzBase: pose, transform: undefined };
    }
    this.#episode = episode;
    this.#motionSince = motionSince;
    if (report.ptz !== undefined) this.#lastPtz = report.ptz;
    this.#stability = nextStability(this.#stability, { motion, segmented: decision.kind === 'segment' }, this.#stabilityOptions);

    const ptz = report.ptz !== undefined && !ptzPoseEquals(report.ptz, prev.ptz) ? report.ptz : prev.ptz;
    // Validated reports always carry `computedAt` (defaulted to 0; restamped below).
    const reported = report.frameTransform as GlobalTransformEstimate | undefined;
    const newTransform = reported !== undefined && !transformEstimateContentEquals(reported, prev.globalTransform)
      ? reported : undefined;
    const candidate: ViewState = {
      epoch,
      version: prev.version,
      motion,
      motionSource,
      transition: phase,
      ptz,
      globalTransform: newTransform ?? prev.globalTransform,
      validity,
      stabilityScore: this.#stability.score,
    };
    const changed = !viewStateContentEquals(candidate, prev.state);
    if (changed) {
      const version = nextVersion(prev.version);
      const globalTransform: GlobalTransformEstimate | undefined = newTransform === undefined
        ? prev.globalTransform : { ...newTransform, computedAt: version };
      this.#snapshot = ViewSnapshot.of({ ...candidate, version, globalTransform });
    }

    if (decision.kind === 'segment') {
      events.push({ type: 'epochChanged', epoch, previousEpoch: prev.epoch, cause: 'segment' });
    }
    if (decision.kind === 'compensate') {
      events.push({ type: 'compensationApplied', epoch, reason: decision.reason, transform: decision.transform });
    }
    if (validity.kind === 'degraded'
      && (prev.validity.kind !== 'degraded' || prev.validity.reason !== validity.reason)) {
      events.push({ type: 'degraded', reason: validity.reason, stabilityScore: this.#stability.score });
    }
    return {
      snapshot: this.#snapshot,
      decision,
      motionSource,
      events,
      changed,
      compensation: decision.kind === 'compensate' ? decision.transform : undefined,
    };
  }
}
