/**
 * {@link FrameStep}: the one implementation of "one frame through a feed's pipeline" — view →
 * epoch decision / compensation → retention → snapshot → stages (and a batch point) → commit →
 * output record. The runtime's feeds and `@nv/test-util`'s harness both run frames through it;
 * what only a feed has (deadlines, the shared batch coordinator, stop timeouts, throttled
 * events, the output queue) comes in through {@link FrameStepHooks}.
 */
import { NvError, type FeedId, type FeedStep, type MonotonicTs, type FrameInclusion, type HealthEvent, type StageError, type Straggler } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import {
  PerceptionArtifacts, runStagesEager, StageCounters, type RunStagesInput, type RunStagesResult, type Stage, type StageRecord,
} from '@nv/perception';
import type { FrameCommitResult, TemporalSnapshot, TemporalStore } from '@nv/temporal';
import type { ViewEpoch, ViewEvent, ViewSnapshot, ViewSystem, ViewUpdate } from '@nv/view';
import { FrameSampler } from './frame-inclusion.js';

/** What a bounded wait resolves with when the caller gave up on it (a feed's stop timeout). */
export const ABANDONED: unique symbol = Symbol.for('nv.pipeline.abandoned');
/** The type of {@link ABANDONED}. */
export type Abandoned = typeof ABANDONED;

/**
 * How one frame ended.
 * - `ok`: committed; an output was recorded (`FrameStepHooks.output`);
 * - `error`: a stage (or the batch point) failed with a typed `StageError`: the frame is dropped,
 *   the feed goes on (`StageError` health event for a stage; the batch runner reports its own);
 * - `timeout`: a stage or the batch point missed its deadline (classified by the hooks): dropped;
 * - `abandoned`: a wait was given up (a stop timeout): dropped, nothing reported here;
 * - `panic`: a stage threw something that is not a `StageError`: the feed must restart;
 * - `feedPanic`: an exception outside the stages (epoch policy, temporal store, batch step,
 *   output): the feed must restart, like a stage panic.
 */
export type FrameOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'error'; readonly stageId: string; readonly error: StageError }
  | { readonly kind: 'timeout'; readonly stageId: string; readonly timeoutMs: number }
  | { readonly kind: 'abandoned'; readonly at: string }
  | { readonly kind: 'panic'; readonly stageId: string; readonly error: unknown }
  | { readonly kind: 'feedPanic'; readonly step: FeedStep; readonly error: unknown };

/** What a {@link BatchPoint} run returns. */
export interface BatchPointResult {
  /** Provenance of the batch point for this frame (its id is the processor id). */
  readonly record: StageRecord;
  /**
   * `ok` (the runner merged the batch output into the artifacts), or why the frame is dropped —
   * usually `error`, `timeout` or `abandoned`. The runner reports its own health events; the
   * step adds none for it. The stages after the batch point are then recorded as skipped.
   */
  readonly outcome: FrameOutcome;
}

/**
 * A shared batch point between the stages (the runtime's batch coordinator): submits the frame,
 * waits for its result and merges it into `artifacts`. Stages after it see the merge.
 *
 * @example
 * ```ts
 * const point: BatchPoint = {
 *   id: 'det',
 *   run: async (frame, view, artifacts) => {
 *     const start = clock();
 *     artifacts.merge(await detect(frame));
 *     const end = clock();
 *     return { record: { stageId: 'det', startNs: start, endNs: end, latencyNs: end - start, outcome: { kind: 'ok' } }, outcome: { kind: 'ok' } };
 *   },
 * };
 * ```
 */
export interface BatchPoint {
  /** The processor id (unique among the pipeline's stage ids). */
  readonly id: string;
  /**
   * Runs the batch point for one frame. An exception (or rejection) is a `feedPanic` at step `batch`.
   * @param frame - the frame (valid until the result settles)
   * @param view - the view the stages see
   * @param artifacts - the merged outputs so far; the runner merges the batch output into it
   * @returns the record and outcome, or a promise of them
   */
  run(frame: FrameEnvelope, view: ViewSnapshot, artifacts: PerceptionArtifacts): BatchPointResult | PromiseLike<BatchPointResult>;
}

/**
 * What only the caller has. Every hook is optional: the harness uses `emit`, `now` and `signal`;
 * a runtime feed uses all of them.
 */
export interface FrameStepHooks<J = undefined> {
  /** Where the frame path's health events go (view events, `StageError`, `StageHookFailed`, `TrackAdmissionRejected`). */
  readonly emit?: ((event: HealthEvent) => void) | undefined;
  /** Monotonic clock in ns for stage records (default `performance.now()`-based). */
  readonly now?: (() => number) | undefined;
  /** Handed to every stage (`StageContext.signal`); aborted when the feed stops. */
  readonly signal?: AbortSignal | undefined;
  /** Wraps each stage as the step calls its `process` (a deadline wrapper); lifecycle hooks are called on the original. */
  readonly wrapStage?: ((stage: Stage) => Stage) | undefined;
  /**
   * Bounds an asynchronous wait of the step (an observed camera's view update, an async
   * `onViewEpochChange`): resolve {@link ABANDONED} to give up on it. A view update given up
   * ends the frame `abandoned`; a hook given up is not waited for.
   */
  readonly bound?: (<T>(work: PromiseLike<T>, wait: Straggler) => PromiseLike<T | Abandoned>) | undefined;
  /**
   * Classifies a stage's typed error: return `timeout` or `abandoned` for errors the caller's
   * wrapper made (then no `StageError` event), or undefined for an ordinary `error`.
   */
  readonly classify?: ((stageId: string, error: StageError) => FrameOutcome | undefined) | undefined;
  /**
   * Checks a frame whose stages all succeeded, before its commit: return an outcome to drop it
   * (e.g. `timeout` for a synchronous stage that overran its deadline), or undefined to commit.
   */
  readonly vet?: ((records: readonly StageRecord[]) => FrameOutcome | undefined) | undefined;
  /**
   * Records the output of a committed frame (step `output`: an exception is a `feedPanic` there).
   * `result.frameIncluded` says whether it carries its frame (retain it to keep it).
   */
  readonly output?: ((result: FrameStepResult<J>) => void) | undefined;
}

/** Options of {@link FrameStep}. */
export interface FrameStepOptions<J = undefined> {
  /** The feed the frames belong to (handed to stages, named in health events). */
  readonly feedId: FeedId;
  /** The stages, in order (before the batch point, when there is one). */
  readonly stages: readonly Stage[];
  /** A batch point after `stages`. */
  readonly batch?: BatchPoint | undefined;
  /** Stages after the batch point (without one they simply follow `stages`). */
  readonly post?: readonly Stage[] | undefined;
  /**
   * Stages after everything else, always a segment of their own: the serial tail of an ordered
   * parallel section (see {@link FrameStep.headSegments}). Default none.
   */
  readonly tail?: readonly Stage[] | undefined;
  /** The feed's view system (its mode, provider, policy and poll deadline). */
  readonly view: ViewSystem<FrameEnvelope>;
  /** The feed's temporal store. */
  readonly temporal: TemporalStore;
  /** Which outputs carry their frame (default `never`). */
  readonly frameInclusion?: FrameInclusion | undefined;
  /** Per-stage counters, kept across frames (default: a new map; entries made on demand). */
  readonly counters?: Map<string, StageCounters> | undefined;
  /** What only the caller has. */
  readonly hooks?: FrameStepHooks<J> | undefined;
}

/**
 * One frame's state through the phases, and, after {@link FrameStep.finish}, its result.
 * `J` is the caller's per-frame value (the feed's job: receipt time, raw source values).
 */
export interface FrameStepResult<J = undefined> {
  /** The caller's per-frame value, as given to `process`/`prepare`. */
  readonly job: J;
  /** The frame. */
  readonly frame: FrameEnvelope;
  /** How the frame ended (`ok` until something failed). */
  readonly outcome: FrameOutcome;
  /** The view update (snapshot, decision, motion source, events); undefined when the view step failed. */
  readonly view: ViewUpdate | undefined;
  /** The temporal snapshot the stages saw; undefined when the frame ended before it was taken. */
  readonly temporal: TemporalSnapshot | undefined;
  /** The merged stage outputs (complete only when `ok`). */
  readonly artifacts: PerceptionArtifacts;
  /** One record per stage and batch point run, in order; those after a failure are `skipped`. */
  readonly records: readonly StageRecord[];
  /** What committing the frame's tracks did (`ok` frames only). */
  readonly commit: FrameCommitResult | undefined;
  /** Whether the output carries its frame (frame inclusion; `ok` frames only). */
  readonly frameIncluded: boolean;
  /** The step the frame is at (what a `feedPanic` names). */
  readonly step: FeedStep;
}

/** A frame in flight: {@link FrameStepResult} with writable fields (the step's own). */
interface Work<J> {
  job: J;
  frame: FrameEnvelope;
  outcome: FrameOutcome;
  view: ViewUpdate | undefined;
  temporal: TemporalSnapshot | undefined;
  artifacts: PerceptionArtifacts;
  records: readonly StageRecord[];
  commit: FrameCommitResult | undefined;
  frameIncluded: boolean;
  step: FeedStep;
  input: RunStagesInput | undefined;
}

/** One segment of the stage plan: a run of stages, or the batch point. */
type Segment = { readonly stages: readonly Stage[]; readonly ids: readonly string[]; readonly batch?: undefined }
  | { readonly stages?: undefined; readonly ids: readonly string[]; readonly batch: BatchPoint };

/** A segment of the plan as {@link FrameStep.plan} describes it. */
export type PlanSegment = { readonly kind: 'stages'; readonly stageIds: readonly string[] } | { readonly kind: 'batch'; readonly processorId: string };

const OK: FrameOutcome = Object.freeze({ kind: 'ok' });
const CASCADE_SKIP: StageRecord['outcome'] = Object.freeze({ kind: 'skipped', reason: 'earlier stage failed' });
const NO_RECORDS: readonly StageRecord[] = Object.freeze([]);
const VIEW_WAIT: Straggler = Object.freeze({ kind: 'view' });
const NEVER_ABORTED = new AbortController().signal;
const defaultNow = (): number => performance.now() * 1e6;
const noEmit = (): void => {};

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The message of anything thrown, as health events carry it (`StagePanic`, `FeedPanic`,
 * `FrameDropped`, `StageHookFailed`).
 * @param e - what was thrown
 * @returns its message (an nv error's sanitized message, an `Error`'s message, else `String(e)`)
 * @example
 * ```ts
 * describeError(new TypeError('boom')) // 'boom'
 * ```
 */
export function describeError(e: unknown): string {
  if (NvError.isInstance(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The health events a feed reports for a frame that panicked: `StagePanic` (a stage) or
 * `FeedPanic { step }` (outside the stages), then `FrameDropped { cause: 'panic' }`.
 * @param feedId - the feed
 * @param outcome - the frame's `panic` or `feedPanic` outcome
 * @param frame - the dropped frame: seq, ts, and the source's raw ts (`mediaTs`; the ts when there is no timeline)
 * @returns the two events, in order
 * @example
 * ```ts
 * if (r.outcome.kind === 'panic' || r.outcome.kind === 'feedPanic') health.push(...panicEvents(feedId, r.outcome, { ...r.frame, mediaTs: r.frame.ts }));
 * ```
 */
export function panicEvents(
  feedId: FeedId,
  outcome: Extract<FrameOutcome, { kind: 'panic' | 'feedPanic' }>,
  frame: { readonly seq: number; readonly ts: MonotonicTs; readonly mediaTs: number },
): HealthEvent[] {
  const detail = describeError(outcome.error);
  const at = outcome.kind === 'panic' ? outcome.stageId : outcome.step;
  const first: HealthEvent = outcome.kind === 'panic'
    ? { type: 'StagePanic', feedId, stageId: outcome.stageId, detail }
    : { type: 'FeedPanic', feedId, step: outcome.step, detail };
  return [first, { type: 'FrameDropped', feedId, seq: frame.seq, ts: frame.ts, mediaTs: frame.mediaTs, cause: 'panic', at, detail }];
}

/**
 * One feed's per-frame step. Each frame goes through explicit phases, in order:
 *
 * 1. **prepare** ({@link FrameStep.prepareView}, then {@link FrameStep.prepareTemporal}; both in
 *    {@link FrameStep.prepare}):
 *    - view update (`ViewSystem.updateSync` for a fixed camera — no promise; `update` for an
 *      observed one, bounded by `hooks.bound`) and its events as health events: `ViewEpochChanged`,
 *      `ViewDegraded`, `ViewCompensationApplied`, and **`ViewProviderFailed`** for a provider that
 *      threw, returned an invalid report or missed its deadline — the frame goes on with
 *      Unknown motion / Degraded validity, as in the reference;
 *    - on a new epoch: the store closes and reopens active segments (`onEpochChange`), then every
 *      stage's `onViewEpochChange`, in order; one that throws or rejects is reported
 *      (**`StageHookFailed`**) and the frame and the other hooks go on, as in the reference;
 *    - a `compensate` decision's transform applied to the store;
 *    - retention (`TemporalStore.beginFrame`), then the one temporal snapshot of the frame.
 * 2. **stages** ({@link FrameStep.runStages}): the plan's segments in order — stages (merged by
 *    `runStagesEager`'s rules), the batch point, the stages after it. A failure records the rest
 *    of the plan as skipped.
 * 3. **finish** ({@link FrameStep.finish}): `hooks.vet`, commit of the tracks
 *    (`TrackAdmissionRejected` for refused ones), frame inclusion, `hooks.output`.
 *
 * **Synchronous fast path**: when the view update (fixed camera), every stage, the batch point
 * (if any) and every epoch hook return synchronously, `process` returns the result directly —
 * no promise is created and nothing interleaves. From the first asynchronous step on, the rest
 * runs asynchronously, in the same order, and a promise is returned. Neither path throws or
 * rejects: every failure is an outcome.
 *
 * **Ordered parallel section** (the runtime's `FeedPipeline.parallel`; ARCHITECTURE.md §4): the
 * plan runs in two parts, `prepareHead` + `runStages(w, 0, headSegments)` (a stateless head, for
 * several frames at once) and `prepareTemporal` + `runStages(w, headSegments)` + `finish(w)` (the
 * stateful tail, in frame order behind a resequencer). Rules the executor keeps: `prepareView`
 * runs in frame order at admission (the view system is stateful); the store's clock may not go
 * back, so retention and the tail's snapshot (`prepareTemporal`) run in order just before the
 * tail, while the head reads the last committed snapshot; an epoch change or a compensation
 * mutates the store at admission, so only fixed cameras run in parallel (a barrier is the fix for
 * observed ones); frame inclusion and `hooks.output` are in `finish`, so they stay in order.
 *
 * Reentrancy: `prepareView`, `prepareTemporal`, the tail's `runStages` and `finish` take one frame
 * at a time, in order; only the head's `runStages(w, 0, headSegments)` may be in flight for
 * several frames at once (each frame has its own state in its result object).
 *
 * @example
 * ```ts
 * const step = new FrameStep({ feedId, stages: [detector, tracker], view, temporal, hooks: { emit: (e) => events.push(e) } });
 * const r = step.process(frame, undefined);
 * const result = r instanceof Promise ? await r : r;
 * if (result.outcome.kind === 'ok') console.log(result.artifacts.tracks.length);
 * ```
 */
export class FrameStep<J = undefined> {
  /** The feed the frames belong to. */
  readonly feedId: FeedId;
  /** Every stage (before and after the batch point), in order, unwrapped: for lifecycle calls. */
  readonly stages: readonly Stage[];
  /** Per-stage counters. */
  readonly counters: Map<string, StageCounters>;
  readonly #view: ViewSystem<FrameEnvelope>;
  readonly #temporal: TemporalStore;
  readonly #plan: readonly Segment[];
  readonly #sampler: FrameSampler;
  readonly #emit: (event: HealthEvent) => void;
  readonly #now: () => number;
  readonly #signal: AbortSignal;
  readonly #bound: FrameStepHooks<J>['bound'];
  readonly #classify: FrameStepHooks<J>['classify'];
  readonly #vet: FrameStepHooks<J>['vet'];
  readonly #output: FrameStepHooks<J>['output'];
  readonly #headSegments: number;

  /**
   * @param options - stages, batch point, view system, temporal store, frame inclusion, hooks
   * @throws {ConfigError} `InvalidConfig` for an invalid `frameInclusion`
   */
  constructor(options: FrameStepOptions<J>) {
    const hooks = options.hooks ?? {};
    this.feedId = options.feedId;
    this.#view = options.view;
    this.#temporal = options.temporal;
    this.#sampler = new FrameSampler(options.frameInclusion ?? 'never');
    this.counters = options.counters ?? new Map<string, StageCounters>();
    this.#emit = hooks.emit ?? noEmit;
    this.#now = hooks.now ?? defaultNow;
    this.#signal = hooks.signal ?? NEVER_ABORTED;
    this.#bound = hooks.bound;
    this.#classify = hooks.classify;
    this.#vet = hooks.vet;
    this.#output = hooks.output;
    const post = options.post ?? [];
    const tail = options.tail ?? [];
    this.stages = Object.freeze([...options.stages, ...post, ...tail]);
    const wrap = hooks.wrapStage ?? ((s: Stage) => s);
    const plan: Segment[] = [];
    const run = (list: readonly Stage[]): void => {
      if (list.length) plan.push({ stages: list.map(wrap), ids: list.map((s) => s.id) });
    };
    if (options.batch) {
      run(options.stages);
      plan.push({ batch: options.batch, ids: [options.batch.id] });
      run(post);
    } else {
      run([...options.stages, ...post]); // without a batch point, `post` simply follows `stages`
    }
    this.#headSegments = plan.length;
    run(tail);
    this.#plan = plan;
  }

  /**
   * How many segments of the plan come before the `tail` stages: an ordered parallel section
   * runs `runStages(w, 0, headSegments)` as its head (after {@link FrameStep.prepareHead}) and
   * `prepareTemporal`, `runStages(w, headSegments)`, `finish` as its tail.
   */
  get headSegments(): number { return this.#headSegments; }

  /** The stage plan, segment by segment (stage runs and the batch point), in order. */
  get plan(): readonly PlanSegment[] {
    return this.#plan.map((s): PlanSegment => (s.batch ? { kind: 'batch', processorId: s.batch.id } : { kind: 'stages', stageIds: s.ids }));
  }

  /**
   * Runs one frame through every phase. Never throws or rejects.
   * @param frame - the frame (valid until the result is returned or settles; the caller keeps its reference)
   * @param job - the caller's per-frame value, handed back in the result and to `hooks.output`
   * @returns the result, directly when every step was synchronous, else a promise of it
   */
  process(frame: FrameEnvelope, job: J): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    const p = this.prepare(frame, job);
    return p instanceof Promise ? p.then((w) => this.#stagesAndFinish(w)) : this.#stagesAndFinish(p);
  }

  #stagesAndFinish(w: FrameStepResult<J>): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    const s = this.runStages(w);
    return s instanceof Promise ? s.then((x) => this.finish(x)) : this.finish(s);
  }

  /**
   * Phase 1: {@link FrameStep.prepareView}, then {@link FrameStep.prepareTemporal}.
   * @param frame - the frame
   * @param job - the caller's per-frame value
   * @returns the frame in flight (its `outcome` set when it already ended)
   */
  prepare(frame: FrameEnvelope, job: J): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    const v = this.prepareView(frame, job);
    return v instanceof Promise ? v.then((w) => this.prepareTemporal(w)) : this.prepareTemporal(v);
  }

  /**
   * Phase 1a, in frame order: the view update, its health events, and on a new epoch the store's
   * segment split and the stages' `onViewEpochChange` (reported, never fatal); a compensation is
   * applied to the store. A throwing epoch policy is a `feedPanic` at `view`.
   * @param frame - the frame
   * @param job - the caller's per-frame value
   * @returns the frame in flight
   */
  prepareView(frame: FrameEnvelope, job: J): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    const w: Work<J> = {
      job, frame, outcome: OK, view: undefined, temporal: undefined, artifacts: new PerceptionArtifacts(), records: NO_RECORDS,
      commit: undefined, frameIncluded: false, step: 'view', input: undefined,
    };
    const prev = this.#view.snapshot.epoch;
    try {
      const vu = this.#view.updateSync(frame.ts);
      if (vu !== undefined) return this.#afterView(w, vu, prev);
      const p = this.#view.update(frame.ts, frame);
      const waited = this.#bound ? this.#bound(p, VIEW_WAIT) : p;
      return Promise.resolve(waited).then(
        (v) => (v === ABANDONED ? this.#end(w, { kind: 'abandoned', at: 'view' }) : this.#afterView(w, v, prev)),
        (e: unknown) => this.#panic(w, e),
      );
    } catch (e) {
      return this.#panic(w, e);
    }
  }

  /**
   * Phase 1b, in frame order: retention (`beginFrame`) and the frame's temporal snapshot.
   * @param result - the frame in flight (returned unchanged when it already ended)
   * @returns the frame in flight
   */
  prepareTemporal(result: FrameStepResult<J>): FrameStepResult<J> {
    const w = result as Work<J>;
    if (w.outcome !== OK) return w;
    try {
      w.step = 'temporal';
      const frame = w.frame;
      this.#temporal.beginFrame(frame.ts);
      const temporal = this.#temporal.snapshot();
      w.temporal = temporal;
      w.input = {
        feedId: this.feedId, frame, view: w.view!.snapshot, temporal, counters: this.counters, signal: this.#signal, clock: this.#now, artifacts: w.artifacts,
      };
      return w;
    } catch (e) {
      return this.#panic(w, e);
    }
  }

  /**
   * Phase 1b for the head of an ordered parallel section, which may run while earlier frames are
   * still in flight: the stages get the store's **last committed** snapshot (no retention; the
   * tail's {@link FrameStep.prepareTemporal} runs retention and takes the frame's own snapshot,
   * in order, before the tail stages).
   * @param result - the frame in flight (returned unchanged when it already ended)
   * @returns the frame in flight
   */
  prepareHead(result: FrameStepResult<J>): FrameStepResult<J> {
    const w = result as Work<J>;
    if (w.outcome !== OK) return w;
    try {
      w.step = 'temporal';
      const temporal = this.#temporal.snapshot();
      w.temporal = temporal;
      w.input = {
        feedId: this.feedId, frame: w.frame, view: w.view!.snapshot, temporal, counters: this.counters, signal: this.#signal, clock: this.#now, artifacts: w.artifacts,
      };
      return w;
    } catch (e) {
      return this.#panic(w, e);
    }
  }

  /**
   * Phase 2: the plan's segments `from` (default 0) up to `to` (default all). Segment indices
   * follow {@link FrameStep.plan}. A failure ends the frame and records every later stage of the
   * whole plan as skipped.
   * @param result - the prepared frame (returned unchanged when it already ended)
   * @param from - first segment to run
   * @param to - segment to stop before
   * @returns the frame in flight, directly when everything was synchronous
   */
  runStages(result: FrameStepResult<J>, from = 0, to = this.#plan.length): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    const w = result as Work<J>;
    if (w.outcome !== OK || w.input === undefined) return w;
    return this.#segments(w, from, to);
  }

  /**
   * Phase 3: for a frame whose stages all succeeded, `hooks.vet`, the commit of its tracks
   * (`TrackAdmissionRejected` when some were refused), frame inclusion and `hooks.output`.
   * An exception is a `feedPanic` at `temporal` or `output`.
   * @param result - the frame after its stages
   * @returns the result
   */
  finish(result: FrameStepResult<J>): FrameStepResult<J> {
    const w = result as Work<J>;
    if (w.outcome !== OK) return w;
    try {
      const veto = this.#vet?.(w.records);
      if (veto !== undefined && veto.kind !== 'ok') return this.#end(w, veto);
      w.step = 'temporal';
      const a = w.artifacts;
      const frame = w.frame;
      const commit = this.#temporal.commitFrame(a.tracks, frame.ts, w.view!.snapshot.epoch, { authoritative: a.tracksAuthoritative });
      w.commit = commit;
      if (commit.rejected > 0) this.#emit({ type: 'TrackAdmissionRejected', feedId: this.feedId, rejectedCount: commit.rejected });
      w.step = 'output';
      w.frameIncluded = this.#sampler.include(frame.ts);
      this.#output?.(w);
    } catch (e) {
      this.#panic(w, e);
    }
    return w;
  }

  /**
   * A feed restart's share of the frame path, between stopping and starting the stages: the
   * store is cleared (`feedRestart` boundaries), the view restarts (epoch + 1, also for fixed
   * cameras; `ViewEpochChanged { cause: 'restart' }`), then every stage's `onViewEpochChange`
   * (a failure reported as `StageHookFailed`, never thrown).
   * @returns nothing, or a promise when a hook was asynchronous (never rejects)
   */
  restart(): void | Promise<void> {
    this.#temporal.clear();
    const vu = this.#view.restart();
    this.#temporal.setViewEpoch(vu.snapshot.epoch);
    this.#report(vu.events);
    return this.#notify(vu.snapshot.epoch, 0);
  }

  #afterView(w: Work<J>, vu: ViewUpdate, prev: ViewEpoch): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    try {
      w.view = vu;
      if (vu.events.length !== 0) this.#report(vu.events);
      const epoch = vu.snapshot.epoch;
      if (epoch !== prev) {
        w.step = 'temporal';
        this.#temporal.onEpochChange(prev, epoch);
        const n = this.#notify(epoch, 0);
        if (n !== undefined) return n.then(() => this.#afterEpoch(w), (e: unknown) => this.#panic(w, e));
      }
      return this.#afterEpoch(w);
    } catch (e) {
      return this.#panic(w, e);
    }
  }

  #afterEpoch(w: Work<J>): FrameStepResult<J> {
    const vu = w.view!;
    if (vu.compensation) {
      w.step = 'temporal';
      try { this.#temporal.applyCompensation(vu.compensation, vu.snapshot.epoch); } catch (e) { return this.#panic(w, e); }
    }
    return w;
  }

  /** Calls `onViewEpochChange` on the stages from index `from` on; failures are reported, never thrown. */
  #notify(epoch: ViewEpoch, from: number): void | Promise<void> {
    const stages = this.stages;
    for (let i = from; i < stages.length; i++) {
      const s = stages[i]!;
      let r: unknown;
      try {
        if (typeof s.onViewEpochChange !== 'function') continue;
        r = s.onViewEpochChange(epoch);
      } catch (e) {
        this.#hookFailed(s, epoch, e);
        continue;
      }
      if (!isThenable(r)) continue;
      const waited = this.#bound ? this.#bound(r, { kind: 'stage', stageId: s.id, call: 'onViewEpochChange' }) : r;
      return Promise.resolve(waited).then(
        () => this.#notify(epoch, i + 1),
        (e: unknown) => { this.#hookFailed(s, epoch, e); return this.#notify(epoch, i + 1); },
      );
    }
    return undefined;
  }

  #hookFailed(s: Stage, epoch: ViewEpoch, e: unknown): void {
    this.#emit({ type: 'StageHookFailed', feedId: this.feedId, stageId: s.id, hook: 'onViewEpochChange', epoch, detail: describeError(e) });
  }

  /** The view system's events as health events. */
  #report(events: readonly ViewEvent[]): void {
    const feedId = this.feedId;
    for (const ev of events) {
      switch (ev.type) {
        case 'epochChanged': this.#emit({ type: 'ViewEpochChanged', feedId, epoch: ev.epoch, cause: ev.cause }); break;
        case 'degraded': this.#emit({ type: 'ViewDegraded', feedId, reason: ev.reason, stabilityScore: ev.stabilityScore }); break;
        case 'compensationApplied': this.#emit({ type: 'ViewCompensationApplied', feedId, epoch: ev.epoch }); break;
        case 'providerError': this.#emit({ type: 'ViewProviderFailed', feedId, kind: ev.error.kind, detail: ev.error.message, count: 1 }); break;
        default: break; // motionSourceWarning: advisory, for the provider's author
      }
    }
  }

  #segments(w: Work<J>, from: number, to: number): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    const plan = this.#plan;
    for (let i = from; i < to; i++) {
      const seg = plan[i]!;
      const next = i + 1;
      if (seg.stages !== undefined) {
        const r = runStagesEager(seg.stages, w.input!);
        if (r instanceof Promise) return r.then((res) => this.#continueAfter(w, this.#stagesDone, res, next, to));
        // The bookkeeping calls hooks (`classify`, `emit`, `now`): an exception there is a feed panic, as on the async path.
        try { if (!this.#stagesDone(w, r, next)) return w; } catch (e) { return this.#panic(w, e); }
      } else {
        w.step = 'batch';
        let b: BatchPointResult | PromiseLike<BatchPointResult>;
        try { b = seg.batch.run(w.frame, w.view!.snapshot, w.artifacts); } catch (e) { return this.#panic(w, e); }
        if (isThenable(b)) {
          return Promise.resolve(b).then((res) => this.#continueAfter(w, this.#batchDone, res, next, to), (e: unknown) => this.#panic(w, e));
        }
        try { if (!this.#batchDone(w, b, next)) return w; } catch (e) { return this.#panic(w, e); }
      }
    }
    return w;
  }

  /** After an asynchronous segment: its bookkeeping, then the next segments (an exception there is a `feedPanic`). */
  #continueAfter<R>(w: Work<J>, done: (w: Work<J>, r: R, next: number) => boolean, r: R, next: number, to: number): FrameStepResult<J> | Promise<FrameStepResult<J>> {
    try {
      return done.call(this, w, r, next) ? this.#segments(w, next, to) : w;
    } catch (e) {
      return this.#panic(w, e);
    }
  }

  /** @returns whether to go on with the next segment */
  #stagesDone(w: Work<J>, r: RunStagesResult, next: number): boolean {
    w.records = w.records.length === 0 ? r.records : [...w.records, ...r.records];
    const o = r.outcome;
    if (o.kind === 'ok') return true;
    if (o.kind === 'panic') w.outcome = o;
    else {
      const c = this.#classify?.(o.stageId, o.error);
      if (c !== undefined && c.kind !== 'ok') w.outcome = c;
      else {
        w.outcome = o;
        this.#emit({ type: 'StageError', feedId: this.feedId, stageId: o.stageId, error: o.error });
      }
    }
    this.#skipFrom(w, next);
    return false;
  }

  /** @returns whether to go on with the next segment */
  #batchDone(w: Work<J>, b: BatchPointResult, next: number): boolean {
    w.records = [...w.records, b.record];
    if (b.outcome.kind === 'ok') return true;
    w.outcome = b.outcome;
    this.#skipFrom(w, next);
    return false;
  }

  /** Records every stage of the plan from segment `from` on as skipped. */
  #skipFrom(w: Work<J>, from: number): void {
    const plan = this.#plan;
    if (from >= plan.length) return;
    const end = w.records.length ? w.records[w.records.length - 1]!.endNs : this.#now();
    const skipped: StageRecord[] = [];
    for (let i = from; i < plan.length; i++) {
      for (const stageId of plan[i]!.ids) skipped.push({ stageId, startNs: end, endNs: end, latencyNs: 0, outcome: CASCADE_SKIP });
    }
    w.records = [...w.records, ...skipped];
  }

  #end(w: Work<J>, outcome: FrameOutcome): Work<J> {
    w.outcome = outcome;
    return w;
  }

  #panic(w: Work<J>, error: unknown): Work<J> {
    w.outcome = { kind: 'feedPanic', step: w.step, error };
    return w;
  }
}
