/**
 * Runs a stage list over frames with the real view system and temporal store — the same
 * per-frame order as the runtime's executor — without media or the native addon.
 */
import {
  InvalidArgumentError, feedId as toFeedId, type CameraMode, type FeedId, type HealthEvent, type RetentionPolicy,
} from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import {
  enforceStageValidation, runStages, StageCounters, type ReadonlyArtifacts, type RunStagesResult, type Stage,
  type StageRecord, type ValidationMode,
} from '@nv/perception';
import { TemporalStore, type FrameCommitResult, type TemporalSnapshot } from '@nv/temporal';
import {
  ViewSystem, type EpochDecision, type EpochPolicy, type ViewEvent, type ViewSnapshot, type ViewStateProvider,
} from '@nv/view';

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
   * On a stage panic, restart the pipeline the way a feed restarts (stages `onStop`, temporal
   * store cleared, view epoch + 1, `onStart`) — default `true`. With `false` the harness stops
   * accepting frames after a panic.
   */
  readonly restartOnPanic?: boolean;
  /**
   * Release each frame after processing it, as the runtime releases its reference (default
   * `true`): a stage that keeps a frame without `retain()` then sees it released.
   */
  readonly releaseFrames?: boolean;
}

/** Everything that happened to one frame. */
export interface HarnessFrameResult {
  readonly seq: number;
  /** `ok`: an output would be emitted; `error`: frame dropped; `panic`: the feed restarted. */
  readonly outcome: RunStagesResult['outcome'];
  /** Merged stage outputs (partial unless `ok`). */
  readonly artifacts: ReadonlyArtifacts;
  /** Per-stage provenance. */
  readonly records: readonly StageRecord[];
  /** The view the stages saw. */
  readonly view: ViewSnapshot;
  /** The epoch policy's decision (`undefined` for fixed cameras). */
  readonly decision: EpochDecision | undefined;
  readonly viewEvents: readonly ViewEvent[];
  /** The temporal snapshot the stages saw. */
  readonly temporalBefore: TemporalSnapshot;
  /** Result of committing the frame's tracks (`undefined` unless `ok`). */
  readonly commit: FrameCommitResult | undefined;
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
  readonly feedId: FeedId;
  /** The feed's temporal store (inspect it in assertions). */
  readonly temporal: TemporalStore;
  /** Every health event so far. */
  readonly health: HealthEvent[] = [];
  /** Per-stage counters. */
  readonly counters = new Map<string, StageCounters>();
  readonly #stages: readonly Stage[];
  readonly #view: ViewSystem<FrameEnvelope>;
  readonly #opts: PipelineHarnessOptions;
  #state: 'idle' | 'running' | 'stopped' | 'failed' = 'idle';
  #restarts = 0;
  #abort = new AbortController();

  /**
   * @throws {ConfigError} on a camera-mode conflict, an invalid retention policy, or (with
   *   validation `error`) a mis-ordered pipeline; always on duplicate stage ids
   */
  constructor(options: PipelineHarnessOptions) {
    this.#opts = options;
    this.#stages = [...options.stages];
    enforceStageValidation(this.#stages, options.validation ?? 'error');
    this.feedId = toFeedId(options.feedId ?? 1);
    this.#view = new ViewSystem<FrameEnvelope>({ mode: options.cameraMode, provider: options.viewProvider, policy: options.epochPolicy });
    this.temporal = new TemporalStore({ retention: options.retention ?? {} });
  }

  /** The current view. */
  get view(): ViewSnapshot { return this.#view.snapshot; }
  /** Restarts so far. */
  get restarts(): number { return this.#restarts; }

  /** Calls every stage's `onStart`, in order. Called automatically by the first `process`. */
  async start(): Promise<void> {
    if (this.#state === 'running') return;
    if (this.#state === 'stopped' || this.#state === 'failed') throw new InvalidArgumentError('harness', 'a harness that was not stopped', this.#state);
    for (const s of this.#stages) await s.onStart?.();
    this.#state = 'running';
  }

  /**
   * Runs one frame through view update, retention, snapshot, stages and commit. Takes over
   * the caller's frame reference (released afterwards unless `releaseFrames: false`).
   */
  async process(frame: FrameEnvelope): Promise<HarnessFrameResult> {
    if (this.#state === 'idle') await this.start();
    if (this.#state !== 'running') throw new InvalidArgumentError('harness', 'a running harness', this.#state);
    const health: HealthEvent[] = [];
    try {
      const prevEpoch = this.#view.snapshot.epoch;
      const vu = await this.#view.update(frame.ts, frame);
      for (const ev of vu.events) {
        if (ev.type === 'epochChanged') health.push({ type: 'ViewEpochChanged', feedId: this.feedId, epoch: ev.epoch, cause: ev.cause });
        else if (ev.type === 'degraded') health.push({ type: 'ViewDegraded', feedId: this.feedId, reason: ev.reason, stabilityScore: ev.stabilityScore });
        else if (ev.type === 'compensationApplied') health.push({ type: 'ViewCompensationApplied', feedId: this.feedId, epoch: ev.epoch });
      }
      if (vu.snapshot.epoch !== prevEpoch) {
        this.temporal.onEpochChange(prevEpoch, vu.snapshot.epoch);
        for (const s of this.#stages) await s.onViewEpochChange?.(vu.snapshot.epoch);
      }
      if (vu.compensation) this.temporal.applyCompensation(vu.compensation, vu.snapshot.epoch);
      this.temporal.beginFrame(frame.ts);
      const temporalBefore = this.temporal.snapshot();
      const r = await runStages(this.#stages, {
        feedId: this.feedId, frame, view: vu.snapshot, temporal: temporalBefore, counters: this.counters, signal: this.#abort.signal,
        ...(this.#opts.clock ? { clock: this.#opts.clock } : {}),
      });
      let commit: FrameCommitResult | undefined;
      if (r.outcome.kind === 'ok') {
        commit = this.temporal.commitFrame(r.artifacts.tracks, frame.ts, vu.snapshot.epoch, { authoritative: r.artifacts.tracksAuthoritative });
        if (commit.rejected > 0) health.push({ type: 'TrackAdmissionRejected', feedId: this.feedId, rejectedCount: commit.rejected });
      } else if (r.outcome.kind === 'error') {
        health.push({ type: 'StageError', feedId: this.feedId, stageId: r.outcome.stageId, error: r.outcome.error });
      } else {
        const e = r.outcome.error;
        health.push({ type: 'StagePanic', feedId: this.feedId, stageId: r.outcome.stageId, detail: e instanceof Error ? e.message : String(e) });
        if (this.#opts.restartOnPanic ?? true) health.push(...(await this.#restart()));
        else this.#state = 'failed';
      }
      this.health.push(...health);
      return {
        seq: frame.seq, outcome: r.outcome, artifacts: r.artifacts, records: r.records, view: vu.snapshot, decision: vu.decision,
        viewEvents: vu.events, temporalBefore, commit, health,
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
    this.temporal.clear();
    const vu = this.#view.restart();
    this.temporal.setViewEpoch(vu.snapshot.epoch);
    out.push({ type: 'ViewEpochChanged', feedId: this.feedId, epoch: vu.snapshot.epoch, cause: 'restart' });
    for (const s of this.#stages) await s.onViewEpochChange?.(vu.snapshot.epoch);
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
