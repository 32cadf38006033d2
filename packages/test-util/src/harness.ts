/**
 * Runs a stage list over frames with the real view system and temporal store, through the same
 * per-frame step as a runtime feed (`@nv/pipeline`'s `FrameStep`), without media or the native
 * addon.
 */
import {
  InvalidArgumentError, feedId as toFeedId, type CameraMode, type FeedId, type FrameInclusion, type HealthEvent, type RetentionPolicy,
} from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import {
  enforceStageValidation, StageCounters, type ReadonlyArtifacts, type Stage, type StageRecord, type ValidationMode,
} from '@nv/perception';
import { FrameStep, panicEvents, type FrameOutcome } from '@nv/pipeline';
import type { StageStartContext } from '@nv/perception';
import { TemporalStore, type FrameCommitResult, type TemporalSnapshot } from '@nv/temporal';
import {
  ViewSystem, type EpochDecision, type EpochPolicy, type ViewEvent, type ViewSnapshot, type ViewStateProvider,
} from '@nv/view';


/** The harness runs one frame at a time: every stage starts with concurrency 1. */
const SERIAL_START: StageStartContext = Object.freeze({ concurrency: 1 });
/** Options of {@link PipelineHarness}. */
export interface PipelineHarnessOptions {
  /** The stages, in order. */
  readonly stages: readonly Stage[];
  /** Required, as on a real feed. `observed` needs `viewProvider`. */
  readonly cameraMode: CameraMode;
  /** Motion provider for `observed` cameras. */
  readonly viewProvider?: ViewStateProvider<FrameEnvelope>;
  /** Epoch policy (default `DefaultEpochPolicy`). */
  readonly epochPolicy?: EpochPolicy;
  /** Temporal retention (defaults: 30 s, 100 observations, 500 tracks, 1000 points). */
  readonly retention?: Partial<RetentionPolicy>;
  /** Feed id given to stages (default 1). */
  readonly feedId?: number;
  /** Stage-list validation (default `error`: a test should fail on a mis-ordered pipeline). */
  readonly validation?: ValidationMode;
  /** Clock (ns) for stage timings; default the real monotonic clock. */
  readonly clock?: () => number;
  /**
   * On a panic (a stage's, or outside the stages), restart the pipeline the way a feed restarts
   * (stages `onStop`, temporal store cleared, view epoch + 1, `onViewEpochChange`, `onStart`) —
   * default `true`. With `false` the harness stops
   * accepting frames after a panic.
   */
  readonly restartOnPanic?: boolean;
  /**
   * Release each frame after processing it, as the runtime releases its reference (default
   * `true`): a stage that keeps a frame without `retain()` then sees it released.
   */
  readonly releaseFrames?: boolean;
  /** Which results carry their frame (`frameIncluded`), as a feed's `frameInclusion` (default `never`). */
  readonly frameInclusion?: FrameInclusion;
}

/** How a frame ended in the harness: a frame step's outcome without the feed-only `timeout` and `abandoned`. */
export type HarnessOutcome = Exclude<FrameOutcome, { readonly kind: 'timeout' | 'abandoned' }>;

/** Everything that happened to one frame. */
export interface HarnessFrameResult {
  /** The frame's seq. */
  readonly seq: number;
  /**
   * `ok`: an output would be emitted; `error`: frame dropped (typed `StageError`); `panic` (a
   * stage) or `feedPanic` (outside the stages: a throwing epoch policy, a tracker reporting one id
   * twice…): the feed restarted. (A frame step's `timeout` and `abandoned` outcomes need a runtime
   * feed's deadlines and stop timeout; the harness has neither.)
   */
  readonly outcome: HarnessOutcome;
  /** Merged stage outputs (partial unless `ok`). */
  readonly artifacts: ReadonlyArtifacts;
  /** Per-stage provenance. */
  readonly records: readonly StageRecord[];
  /** The view the stages saw (the current view when the view step itself failed). */
  readonly view: ViewSnapshot;
  /** The epoch policy's decision (`undefined` for fixed cameras). */
  readonly decision: EpochDecision | undefined;
  /** The view system's events for this frame. */
  readonly viewEvents: readonly ViewEvent[];
  /** The temporal snapshot the stages saw (the current one when the frame ended before its snapshot). */
  readonly temporalBefore: TemporalSnapshot;
  /** Result of committing the frame's tracks (`undefined` unless `ok`). */
  readonly commit: FrameCommitResult | undefined;
  /** Whether a feed's output would carry the frame (`frameInclusion`). */
  readonly frameIncluded: boolean;
  /** Health events the runtime would emit for this frame. */
  readonly health: readonly HealthEvent[];
}

/**
 * The way to unit-test stages: real merge rules, real failure semantics, real view and
 * temporal behaviour, synthetic frames.
 *
 * @example
 * ```ts
 * const h = new PipelineHarness({ stages: [new MockDetectorStage('det', 2), new MockTrackerStage()], cameraMode: 'fixed' });
 * const results = await h.run(frameSequence(10));
 * expect(results.at(-1)!.artifacts.tracks).toHaveLength(2);
 * expect(h.temporal.trackCount).toBe(2);
 * await h.stop();
 * ```
 */
export class PipelineHarness {
  /** The feed id stages see. */
  readonly feedId: FeedId;
  /** The feed's temporal store (inspect it in assertions). */
  readonly temporal: TemporalStore;
  /** Every health event so far. */
  readonly health: HealthEvent[] = [];
  /** Per-stage counters. */
  readonly counters = new Map<string, StageCounters>();
  readonly #stages: readonly Stage[];
  readonly #view: ViewSystem<FrameEnvelope>;
  readonly #step: FrameStep;
  readonly #opts: PipelineHarnessOptions;
  #state: 'idle' | 'running' | 'stopped' | 'failed' = 'idle';
  #restarts = 0;
  readonly #abort = new AbortController();
  /** Where the frame step's health events go now (the current frame's or restart's list). */
  #sink: HealthEvent[] = [];

  /**
   * @throws {ConfigError} on a camera-mode conflict, an invalid retention policy or frame
   *   inclusion, or (with validation `error`) a mis-ordered pipeline; always on duplicate stage ids
   */
  constructor(options: PipelineHarnessOptions) {
    this.#opts = options;
    this.#stages = [...options.stages];
    enforceStageValidation(this.#stages, options.validation ?? 'error');
    this.feedId = toFeedId(options.feedId ?? 1);
    this.#view = new ViewSystem<FrameEnvelope>({ mode: options.cameraMode, provider: options.viewProvider, policy: options.epochPolicy });
    this.temporal = new TemporalStore({ retention: options.retention ?? {} });
    this.#step = new FrameStep({
      feedId: this.feedId, stages: this.#stages, view: this.#view, temporal: this.temporal, frameInclusion: options.frameInclusion, counters: this.counters,
      hooks: { emit: (e) => { this.#sink.push(e); }, now: options.clock, signal: this.#abort.signal },
    });
  }

  /** The current view. */
  get view(): ViewSnapshot { return this.#view.snapshot; }
  /** Restarts so far. */
  get restarts(): number { return this.#restarts; }

  /** Calls every stage's `onStart`, in order. Called automatically by the first `process`. */
  async start(): Promise<void> {
    if (this.#state === 'running') return;
    if (this.#state === 'stopped' || this.#state === 'failed') throw new InvalidArgumentError('harness', 'a harness that was not stopped', this.#state);
    for (const s of this.#stages) await s.onStart?.(SERIAL_START);
    this.#state = 'running';
  }

  /**
   * Runs one frame through the frame step — view update, epoch decision and compensation,
   * retention, snapshot, stages, commit — exactly as a feed does; on a panic, restarts like a
   * feed (unless `restartOnPanic: false`). Takes over the caller's frame reference (released
   * afterwards unless `releaseFrames: false`).
   * @throws {InvalidArgumentError} when the harness is stopped (or failed without `restartOnPanic`)
   */
  async process(frame: FrameEnvelope): Promise<HarnessFrameResult> {
    if (this.#state === 'idle') await this.start();
    if (this.#state !== 'running') throw new InvalidArgumentError('harness', 'a running harness', this.#state);
    const health: HealthEvent[] = [];
    try {
      this.#sink = health;
      const r = await this.#step.process(frame, undefined);
      const o = r.outcome as HarnessOutcome; // no deadline or stop-timeout hooks: never `timeout`/`abandoned`
      if (o.kind === 'panic' || o.kind === 'feedPanic') {
        health.push(...panicEvents(this.feedId, o, { seq: frame.seq, ts: frame.ts, mediaTs: frame.ts }));
        if (this.#opts.restartOnPanic ?? true) health.push(...(await this.#restart()));
        else this.#state = 'failed';
      }
      this.health.push(...health);
      return {
        seq: frame.seq, outcome: o, artifacts: r.artifacts, records: r.records, view: r.view?.snapshot ?? this.#view.snapshot, decision: r.view?.decision,
        viewEvents: r.view?.events ?? [], temporalBefore: r.temporal ?? this.temporal.snapshot(), commit: r.commit, health, frameIncluded: r.frameIncluded,
      };
    } finally {
      if ((this.#opts.releaseFrames ?? true) && !frame.isReleased) frame.release();
    }
  }

  /** Processes frames in order. */
  async run(frames: Iterable<FrameEnvelope>): Promise<HarnessFrameResult[]> {
    const out: HarnessFrameResult[] = [];
    for (const f of frames) out.push(await this.process(f));
    return out;
  }

  /**
   * Restarts like a feed does after a panic: stages `onStop`, temporal store cleared
   * (`feedRestart` boundaries), view epoch + 1 (also for fixed cameras), stages
   * `onViewEpochChange`, then `onStart`.
   * @returns the health events of the restart
   */
  async restart(): Promise<HealthEvent[]> {
    const ev = await this.#restart();
    this.health.push(...ev);
    return ev;
  }

  async #restart(): Promise<HealthEvent[]> {
    const out: HealthEvent[] = [];
    this.#restarts++;
    out.push({ type: 'FeedRestarting', feedId: this.feedId, restartCount: this.#restarts });
    for (const s of this.#stages) { try { await s.onStop?.(); } catch { /* best effort, as in the runtime */ } }
    this.#sink = out;
    await this.#step.restart(); // store cleared, epoch + 1 (ViewEpochChanged), onViewEpochChange (failures: StageHookFailed)
    this.#state = 'idle';
    await this.start();
    return out;
  }

  /** Calls every stage's `onStop` (errors are collected and rethrown together after all ran). */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#abort.abort();
    const wasRunning = this.#state === 'running' || this.#state === 'failed';
    this.#state = 'stopped';
    if (!wasRunning) return;
    const errors: unknown[] = [];
    for (const s of this.#stages) { try { await s.onStop?.(); } catch (e) { errors.push(e); } }
    if (errors.length) throw new AggregateError(errors, `${errors.length} stage(s) failed in onStop`);
  }
}
