/**
 * Runs a stage list over one frame with nv's merge and failure semantics. This is the
 * single implementation of "one frame through the stages": the runtime's executor and
 * `@nv/test-util`'s harness both call it, so tests exercise the production path.
 */
import { StageError, type FeedId, type StageMetrics } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { ViewSnapshot } from '@nv/view';
import { PerceptionArtifacts, type StageOutput } from './artifacts.js';
import { isSkip, outcomeCategory, type StageOutcomeCategory } from './skip.js';
import type { Stage, StageContext } from './stage.js';
import type { TemporalAccess } from './temporal-access.js';

/** How one stage's call ended. */
export type StageOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'error'; readonly error: StageError; readonly category: StageOutcomeCategory }
  | { readonly kind: 'panic'; readonly error: unknown; readonly category: 'panic' }
  /** `reason` is the stage's own (see `skip()`), or `'earlier stage failed'`. */
  | { readonly kind: 'skipped'; readonly reason: string };

/** Provenance of one stage on one frame. Times are from the runner's clock (ns). */
export interface StageRecord {
  /** Id of the stage this record describes. */
  readonly stageId: string;
  /** Clock reading when the stage was called, in ns. */
  readonly startNs: number;
  /** Clock reading after its output was merged (or it failed), in ns. */
  readonly endNs: number;
  /** `endNs − startNs`, in ns (0 for a skipped stage). */
  readonly latencyNs: number;
  /** How the stage's call ended. */
  readonly outcome: StageOutcome;
}

/** Result of {@link runStages}. */
export interface RunStagesResult {
  /** The merged outputs (complete only when `outcome.kind === 'ok'`). */
  readonly artifacts: PerceptionArtifacts;
  /** One record per stage, in order; stages after a failure are `skipped`. */
  readonly records: readonly StageRecord[];
  /**
   * - `ok`: every stage succeeded; the frame yields an output;
   * - `error`: a stage failed with a typed error; the frame is dropped, the feed continues;
   * - `panic`: a stage threw something else; the feed must restart.
   */
  readonly outcome:
    | { readonly kind: 'ok' }
    | { readonly kind: 'error'; readonly stageId: string; readonly error: StageError }
    | { readonly kind: 'panic'; readonly stageId: string; readonly error: unknown };
}

/** Mutable per-stage counters kept across frames by the caller. */
export class StageCounters implements StageMetrics {
  /** Frames the stage has processed (successfully or not). */
  framesProcessed = 0;
  /** Typed errors (`StageError`s, including malformed outputs) the stage produced. */
  errors = 0;
  /** Frames the stage reported as skipped (`skip()`). */
  skipped = 0;
}

/** Inputs of {@link runStages} besides the stages. */
export interface RunStagesInput {
  /** The feed the frame belongs to (passed to each stage's context). */
  readonly feedId: FeedId;
  /** The frame to process; must stay valid until `runStages` settles. */
  readonly frame: FrameEnvelope;
  /** The feed's view state for this frame (frozen). */
  readonly view: ViewSnapshot;
  /** The feed's temporal state as of the start of this frame (frozen). */
  readonly temporal: TemporalAccess;
  /** Aborted when the feed stops. */
  readonly signal?: AbortSignal;
  /** Counters per stage id (created on demand). */
  readonly counters?: Map<string, StageCounters>;
  /** Monotonic clock in ns (default `performance.now()`-based). */
  readonly clock?: () => number;
  /** Start from these artifacts instead of empty ones (e.g. after a batch step). */
  readonly artifacts?: PerceptionArtifacts;
}

const OK: StageOutcome = Object.freeze({ kind: 'ok' });
const CASCADE_SKIP: StageOutcome = Object.freeze({ kind: 'skipped', reason: 'earlier stage failed' });
const defaultClock = (): number => performance.now() * 1e6;
const NEVER_ABORTED = new AbortController().signal;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs `stages` in order on one frame. Each output is merged before the next stage runs.
 * A `StageError` (thrown or rejected) stops the frame with outcome `error`; a malformed
 * output (not an object, wrong field shapes) is reported as a `StageError` of that stage;
 * any other exception stops it with outcome `panic`. Never throws.
 *
 * @example
 * ```ts
 * const r = await runStages([detector, tracker], { feedId, frame, view, temporal });
 * if (r.outcome.kind === 'ok') emit(r.artifacts);
 * ```
 */
export async function runStages(stages: readonly Stage[], input: RunStagesInput): Promise<RunStagesResult> {
  return runStagesEager(stages, input);
}

/**
 * {@link runStages} without a promise while it can: stages that return synchronously run
 * synchronously, and the result is returned directly when every stage did; from the first
 * stage that returns a promise on, the rest runs asynchronously and a promise is returned.
 * Same semantics as `runStages`; never throws (a rejection is impossible too). The runtime
 * uses it so that a frame through synchronous stages costs no microtask hops.
 *
 * @example
 * ```ts
 * const r = runStagesEager(stages, input);
 * const result = r instanceof Promise ? await r : r;
 * ```
 */
export function runStagesEager(stages: readonly Stage[], input: RunStagesInput): RunStagesResult | Promise<RunStagesResult> {
  const run: Run = {
    stages, input, clock: input.clock ?? defaultClock, artifacts: input.artifacts ?? new PerceptionArtifacts(), records: [],
    counters: input.counters ?? new Map<string, StageCounters>(), signal: input.signal ?? NEVER_ABORTED, outcome: OK_RESULT,
  };
  return continueFrom(run, 0);
}

/** State of one frame's pass through the stages. */
interface Run {
  readonly stages: readonly Stage[];
  readonly input: RunStagesInput;
  readonly clock: () => number;
  readonly artifacts: PerceptionArtifacts;
  readonly records: StageRecord[];
  readonly counters: Map<string, StageCounters>;
  readonly signal: AbortSignal;
  outcome: RunStagesResult['outcome'];
}

const OK_RESULT: RunStagesResult['outcome'] = Object.freeze({ kind: 'ok' });

function continueFrom(run: Run, from: number): RunStagesResult | Promise<RunStagesResult> {
  const { stages, input } = run;
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i]!;
    let c = run.counters.get(stage.id);
    if (!c) { c = new StageCounters(); run.counters.set(stage.id, c); }
    const start = run.clock();
    const ctx: StageContext = {
      feedId: input.feedId, frame: input.frame, artifacts: run.artifacts, view: input.view, temporal: input.temporal, metrics: c, signal: run.signal,
    };
    let out: unknown;
    try {
      out = stage.process(ctx) as unknown;
    } catch (e) {
      if (!finishStage(run, i, c, start, thrown(e), undefined)) break;
      continue;
    }
    if (isThenable(out)) {
      const counters = c;
      return Promise.resolve(out).then(
        (v) => (finishStage(run, i, counters, start, settled(v), v) ? continueFrom(run, i + 1) : result(run)),
        (e) => (finishStage(run, i, counters, start, thrown(e), undefined) ? continueFrom(run, i + 1) : result(run)),
      );
    }
    if (!finishStage(run, i, c, start, settled(out), out)) break;
  }
  return result(run);
}

function result(run: Run): RunStagesResult {
  return { artifacts: run.artifacts, records: run.records, outcome: run.outcome };
}

function thrown(e: unknown): StageOutcome {
  return StageError.isInstance(e) ? { kind: 'error', error: e, category: outcomeCategory(e) } : { kind: 'panic', error: e, category: 'panic' };
}

function settled(out: unknown): StageOutcome {
  return isSkip(out) ? { kind: 'skipped', reason: out.reason } : OK;
}

/** Merges stage `i`'s output, records it and counts it. @returns whether to go on with the next stage */
function finishStage(run: Run, i: number, c: StageCounters, start: number, outcome: StageOutcome, out: unknown): boolean {
  const stage = run.stages[i]!;
  let stageOutcome = outcome;
  if (stageOutcome.kind === 'ok' && out !== undefined && out !== null) {
    try {
      run.artifacts.merge(out as StageOutput);
    } catch (e) {
      const detail = `invalid stage output: ${e instanceof Error ? e.message : String(e)}`;
      stageOutcome = { kind: 'error', error: StageError.processingFailed(stage.id, detail, e), category: 'processingFailed' };
    }
  }
  const end = run.clock();
  c.framesProcessed++;
  run.records.push({ stageId: stage.id, startNs: start, endNs: end, latencyNs: end - start, outcome: stageOutcome });
  if (stageOutcome.kind === 'skipped') { c.skipped++; return true; }
  if (stageOutcome.kind === 'ok') return true;
  if (stageOutcome.kind === 'error') c.errors++;
  run.outcome = stageOutcome.kind === 'error'
    ? { kind: 'error', stageId: stage.id, error: stageOutcome.error }
    : { kind: 'panic', stageId: stage.id, error: stageOutcome.error };
  for (let j = i + 1; j < run.stages.length; j++) {
    run.records.push({ stageId: run.stages[j]!.id, startNs: end, endNs: end, latencyNs: 0, outcome: CASCADE_SKIP });
  }
  return false;
}
