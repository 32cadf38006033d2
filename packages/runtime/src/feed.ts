/**
 * One feed: source sessions, the per-frame executor (timeline, then `@nv/pipeline`'s `FrameStep`:
 * view → temporal → stages → batch → stages → commit → output), a bounded output queue drained by
 * its own loop, a no-frame watchdog, pause/resume, deadlines, restart policy and a draining,
 * bounded stop. The frame step is the one composition shared with `@nv/test-util`'s harness; the
 * feed adds through its hooks what only a feed has: stage deadlines, the batch coordinator, stop
 * timeouts, throttled events and the output queue.
 *
 * Concurrency: the executor loop and the sink loop are async loops on the JS thread. The
 * executor handles one frame at a time; stages of a feed never run concurrently. After each
 * frame the executor yields to the event loop (`setImmediate`), so a feed whose source always
 * has a frame ready and whose stages are synchronous cannot hold the thread for more than one
 * frame's work: other feeds, timers and I/O run in between. The sink loop awaits one `emit` at a
 * time, so a slow sink only fills the output queue (bounded; newest dropped and counted) and
 * never slows the executor. Each output is published to the runtime's output channel
 * (`runtime.outputs()`, `output-bus.ts`) as it is built, before that queue.
 *
 * Failure containment: every step of the frame path runs inside a guard (the frame step's, and
 * the executor's for the timeline). A typed `StageError` drops the frame; anything else thrown
 * anywhere on the path (a stage, the epoch policy, the temporal store, the batch step, building
 * the output) is a panic — a throwing view provider or `onViewEpochChange` is reported and the
 * frame goes on:
 * the session ends the same way every time — ticker stopped, source stopped, stages `onStop`ped —
 * then the restart policy decides.
 */
import {
  ConfigError, MediaError, NS_PER_MS, NvError, SOURCE_DISCONTINUITY, StageError, feedId as toFeedId, monotonicTs, stopErrorOf,
  type Clock, type ClockTimer, type DiscontinuityKind, type FeedId, type FeedStep, type HealthEvent, type QueueTelemetry, type StopReason,
  type Straggler,
} from '@nv/core';
import { retimeFrame, type FrameEnvelope, type FrameSource, type FrameSourceEvent } from '@nv/frame';
import { MediaSource } from '@nv/media';
import {
  PerceptionArtifacts, enforceStageValidation, outcomeCategory, StageCounters, type Stage, type StageOutput, type StageRecord, type StageStartContext,
} from '@nv/perception';
import { ABANDONED, FrameStep, type Abandoned, type BatchPointResult, type FrameOutcome, type FrameStepResult } from '@nv/pipeline';
import { TemporalStore } from '@nv/temporal';
import { ViewSystem, type ViewSnapshot } from '@nv/view';
import type { BatchFailureReason } from './batch.js';
import type { ResolvedFeedConfig } from './config.js';
import type { DecodeStatus, FeedDiagnostics, FeedMetricsSnapshot, FeedState, StageDiagnostics } from './diagnostics.js';
import { LatencyHistogram } from './latency.js';
import type { OutputEnvelope, SourceProvenance } from './output.js';
import { Resequencer, type ResequencedItem, type ResequencerStats } from './resequencer.js';
import { DiscontinuityReporter, FeedTimeline } from './timeline.js';
import { stopWithin } from './stop-within.js';
import { stageCounters } from './stage-counters.js';

/** Why the session must end after a frame: a panic (stage or feed step) or too many timeouts. */
interface Panic {
  /** Stage id, batch processor id, or feed step. */
  readonly at: string;
  /** Set when the panic was outside the stages. */
  readonly step: FeedStep | undefined;
  readonly error: unknown;
  /** The frame to report as dropped (`FrameDropped`), unless it already was. */
  readonly dropped: { readonly seq: number; readonly ts: number; readonly mediaTs: number } | undefined;
}

/** A frame's result: the panic to restart for, or undefined. */
type FrameResult = Panic | undefined;

/** One frame on its way through the executor. */
interface Job {
  /** The frame on the feed timeline. */
  readonly frame: FrameEnvelope;
  /** When the executor took it from the source (the feed clock, ns). */
  readonly receivedAtNs: number;
  /** Its raw source values. */
  readonly src: SourceProvenance;
  /** A parallel section: the store's trajectory split for this frame's discontinuity waits for its tail. */
  splitStore?: boolean;
}

/** One session of a parallel section: frames admitted and not through the tail (by resequencer seq), heads running, the panic. */
interface ParallelRun {
  readonly jobs: Map<number, Job>;
  panic: Panic | undefined;
  heads: number;
  headsIdle: (() => void) | undefined;
}

/** What a stop timeout names while the parallel section drains. */
const PARALLEL_WAIT: Straggler = Object.freeze({ kind: 'stage', stageId: '(parallel section)', call: 'process' });

/** Frames older than this (wall clock) when they reach the executor are reported as lagging. */
const FRAME_LAG_MS = 2000;
/** How often the feed's housekeeping timer runs (watchdog, drop counters, throttled events). */
const TICK_MS = 250;
/** After a stop timeout abandons the stragglers, how long stop() still waits for the executor to wind down. */
const ABANDON_GRACE_MS = 100;

const SOURCE_WAIT: Straggler = Object.freeze({ kind: 'source' });
const SINK_WAIT: Straggler = Object.freeze({ kind: 'sink', pendingOutputs: 0 });
/** The outcome of a batch point that merged its result. */
const BATCH_OK: FrameOutcome = Object.freeze({ kind: 'ok' });

/** Minimum spacing of a throttled health event (ms). */
const THROTTLE_MS = 1000;

/**
 * Accumulates a count and emits it at most once per {@link THROTTLE_MS}: the first occurrence at
 * once, later ones when the second since the last event is over (its own timer), carrying the
 * count since that event. {@link Throttled.flush} emits what is pending now (feed or session end),
 * so no count is lost.
 */
class Throttled {
  #pending = 0;
  #last = -Infinity;
  #timer: ClockTimer | undefined;
  readonly #clock: Clock;
  readonly #emit: (n: number) => void;
  constructor(clock: Clock, emit: (n: number) => void) { this.#clock = clock; this.#emit = emit; }
  add(n: number): void {
    this.#pending += n;
    if (this.#timer !== undefined) return; // already due at the end of this second
    const now = this.#clock.now();
    const wait = this.#last + THROTTLE_MS - now;
    if (wait <= 0) { this.#fire(now); return; }
    this.#timer = this.#clock.setTimeout(() => { this.#timer = undefined; this.#fire(this.#clock.now()); }, wait, { unref: true });
  }
  flush(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#fire(this.#clock.now());
  }
  #fire(now: number): void {
    if (this.#pending <= 0) return;
    const n = this.#pending;
    this.#pending = 0;
    this.#last = now;
    this.#emit(n);
  }
}

/** Yields to the event loop: other feeds, timers and I/O callbacks run before this resolves. */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve); });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** @internal */
export class Feed {
  readonly id: FeedId;
  /** Display name (`FeedConfig.name`), if any. */
  readonly name: string | undefined;
  readonly #r: ResolvedFeedConfig;
  readonly #emit: (e: HealthEvent) => void;
  /** The runtime's output channel (`runtime.outputs()`), if any: each output before the sink queue. */
  readonly #publish: ((out: OutputEnvelope) => void) | undefined;
  readonly #clock: Clock;
  /** The clock in ns, for stage records and provenance. */
  readonly #nowNs: () => number;
  readonly #view: ViewSystem<FrameEnvelope>;
  readonly #temporal: TemporalStore;
  readonly #timeline: FeedTimeline;
  readonly #jumps: DiscontinuityReporter;
  readonly #counters = new Map<string, StageCounters>();
  readonly #latency = new Map<string, LatencyHistogram>();
  readonly #pipelineLatency = new LatencyHistogram();
  readonly #stageIds: readonly string[];
  /** The feed's stages by id (for `counters()` in diagnostics). */
  readonly #stageById: ReadonlyMap<string, Stage>;
  /** Every stage of the pipeline (pre and post the batch point), for lifecycle calls. */
  readonly #stages: readonly Stage[];
  /** The frame path after the timeline (view → temporal → stages → batch → stages → commit → output). */
  readonly #pipe: FrameStep<Job>;
  /** Deadline in ns per stage id (stages with one); for synchronous overruns. */
  readonly #deadlineNs = new Map<string, number>();
  /** The smallest of {@link Feed.#deadlineNs} (Infinity when none): a record below it needs no lookup. */
  readonly #minDeadlineNs: number;
  readonly #outputs: OutputEnvelope[] = [];
  #sinkWake: (() => void) | undefined;
  #sinkClosed = false;
  #source: FrameSource | undefined;
  #state: FeedState = 'starting';
  #stopRequested = false;
  #abort = new AbortController();
  /** Aborted when a stop times out: every bounded wait gives up at once. */
  readonly #hard = new AbortController();
  /** What the feed is waiting on now (for `StopTimeout`). */
  readonly #waits = new Set<Straggler>();
  #inNext = false;
  #stoppedReported = false;
  #paused = false;
  #resumeWake: (() => void) | undefined;
  #restarts = 0;
  #restartsInWindow = 0;
  #sessionStart = 0;
  #stopReason: StopReason | undefined;
  #done: Promise<void>;
  #lastError: string | undefined;
  #decode: DecodeStatus | undefined;
  #m = { received: 0, processed: 0, failed: 0, emitted: 0, dropped: 0, sinkErrors: 0, sourceDropped: 0, sessionDropBase: 0, timedOut: 0 };
  #lastFrameAt = 0;
  #stalled = false;
  #ticker: ClockTimer | undefined;
  #lag = { frames: 0, peakMs: 0, last: -Infinity };
  /** The feed's own step running now, before the frame step (what an exception there is attributed to). */
  #step: FeedStep = 'timeline';
  /** The frame being processed (for `FrameDropped`). */
  #job: Job | undefined;
  #consecutiveTimeouts = 0;
  /** Errors the deadline wrapper made: timeouts, and waits abandoned at a stop timeout. */
  readonly #deadlineErrors = new WeakSet<object>();
  readonly #abandonErrors = new WeakSet<object>();
  /** Frames held for stage calls that timed out and have not settled yet (bounded). */
  readonly #late = new Set<FrameEnvelope>();
  /** Raw timestamp of the last frame taken, for `FrameSource.resumeAfter` at a restart. */
  #resumeAfter: number | undefined;
  readonly #batchRejected: Throttled;
  readonly #batchTimeouts: Throttled;
  readonly #batchInFlight: Throttled;
  /** Source queue drops (`BackpressureDrop`) and sink queue drops (`SinkBackpressure`). */
  readonly #sourceDrops: Throttled;
  readonly #sinkDrops: Throttled;
  /** Failed view provider polls (`ViewProviderFailed`, the latest one's kind and detail). */
  readonly #providerFailures: Throttled;
  #lastProviderFailure: HealthEvent & { type: 'ViewProviderFailed' } | undefined;
  /** Source queue drops of this session already counted into {@link Feed.#sourceDrops}. */
  #dropsSeen = 0;
  #batchShutdownReported = false;
  /** The ordered parallel section's resequencer of the current session (parallel pipelines only). */
  #reseq: Resequencer<FrameStepResult<Job>, FrameStepResult<Job>> | undefined;
  /** Its stats when the last session ended. */
  #lastReseq: ResequencerStats | undefined;
  /** `FrameDropped` events of frames the parallel section discarded, reported after the session's panic events. */
  #discarded: HealthEvent[] = [];

  /**
   * @param id - the feed id
   * @param resolved - the validated config
   * @param emit - where health events go
   * @param clock - time of the watchdog, throttles, deadlines, restart delays and windows, stop timeouts
   * @param publish - the runtime's output channel: called with each output as it is built, before
   *   the sink queue (never throws, never waits)
   */
  constructor(id: number, resolved: ResolvedFeedConfig, emit: (e: HealthEvent) => void, clock: Clock, publish?: (out: OutputEnvelope) => void) {
    this.id = toFeedId(id);
    this.name = resolved.cfg.name;
    this.#r = resolved;
    this.#emit = emit;
    this.#publish = publish;
    this.#clock = clock;
    this.#nowNs = () => clock.now() * 1e6;
    const { cfg, pre, batch, post } = resolved;
    const tail = resolved.parallel?.tail ?? [];
    enforceStageValidation(
      { pre, ...(batch ? { batch: { id: batch.processorId, process: () => {}, ...(batch.capabilities ? { capabilities: batch.capabilities } : {}) } } : {}), post: [...post, ...tail] },
      cfg.validation ?? 'warn',
      (w) => console.warn(`[nv] feed-${id}: stage validation: ${JSON.stringify(w)}`),
    );
    this.#stages = [...pre, ...post, ...tail];
    this.#stageById = new Map(this.#stages.map((st) => [st.id, st]));
    this.#stageIds = [...pre.map((s) => s.id), ...(batch ? [batch.processorId] : []), ...post.map((s) => s.id), ...tail.map((s) => s.id)];
    for (const sid of this.#stageIds) { this.#counters.set(sid, new StageCounters()); this.#latency.set(sid, new LatencyHistogram()); }
    let minDeadline = Infinity;
    for (const s of this.#stages) {
      const ms = this.#timeoutMsOf(s.id);
      if (ms > 0) { this.#deadlineNs.set(s.id, ms * NS_PER_MS); minDeadline = Math.min(minDeadline, ms * NS_PER_MS); }
    }
    this.#minDeadlineNs = minDeadline;
    this.#view = new ViewSystem<FrameEnvelope>({ mode: cfg.cameraMode, provider: cfg.viewProvider, policy: cfg.epochPolicy, pollTimeoutMs: resolved.viewPollTimeoutMs, clock });
    this.#temporal = new TemporalStore({ retention: cfg.retention ?? {} });
    this.#pipe = new FrameStep<Job>({
      feedId: this.id, stages: pre, post, tail, view: this.#view, temporal: this.#temporal, frameInclusion: resolved.frameInclusion, counters: this.#counters,
      ...(batch ? { batch: { id: batch.processorId, run: (frame, view, artifacts) => this.#runBatch(frame, view, artifacts) } } : {}),
      hooks: {
        emit: (e) => this.#emitFrameEvent(e),
        now: this.#nowNs,
        signal: this.#abort.signal,
        wrapStage: (s) => this.#underDeadline(s),
        bound: (p, wait) => this.#bounded(p, wait),
        classify: (stageId, err) => this.#classify(stageId, err),
        vet: (records) => this.#vetDeadlines(records),
        output: (r) => this.#output(r),
      },
    });
    this.#timeline = new FeedTimeline(resolved.forwardGapMs);
    this.#jumps = new DiscontinuityReporter((kind, j) => this.#emit({
      type: 'SourceDiscontinuity', feedId: this.id, kind, rawBefore: j.rawBefore, rawAfter: j.rawAfter, ts: j.ts, count: j.count,
    }));
    const pid = batch?.processorId ?? '';
    this.#batchRejected = new Throttled(clock, (n) => this.#emit({ type: 'BatchSubmissionRejected', feedId: this.id, processorId: pid, droppedCount: n }));
    this.#batchTimeouts = new Throttled(clock, (n) => this.#emit({ type: 'BatchTimeout', feedId: this.id, processorId: pid, timedOutCount: n }));
    this.#batchInFlight = new Throttled(clock, (n) => this.#emit({ type: 'BatchInFlightExceeded', feedId: this.id, processorId: pid, rejectedCount: n }));
    this.#sourceDrops = new Throttled(clock, (n) => this.#emit({ type: 'BackpressureDrop', feedId: this.id, framesDropped: n }));
    this.#sinkDrops = new Throttled(clock, (n) => this.#emit({ type: 'SinkBackpressure', feedId: this.id, outputsDropped: n }));
    this.#providerFailures = new Throttled(clock, (n) => { const l = this.#lastProviderFailure; if (l) this.#emit({ ...l, count: n }); });
    this.#done = this.#run();
  }

  get state(): FeedState { return this.#state; }
  /** Resolves when the feed has stopped and its outputs are delivered. */
  get done(): Promise<void> { return this.#done; }
  get stopReason(): StopReason | undefined { return this.#stopReason; }
  get lastError(): string | undefined { return this.#lastError; }
  get temporal(): TemporalStore { return this.#temporal; }
  get view(): ViewSnapshot { return this.#view.snapshot; }
  get paused(): boolean { return this.#paused; }
  get decodeStatus(): DecodeStatus | undefined { return this.#decode; }
  get sessionUptimeMs(): number { return this.#sessionStart ? this.#clock.now() - this.#sessionStart : 0; }

  /** Pauses: the executor stops taking frames and the source is paused. @returns false if already paused */
  pause(): boolean {
    if (this.#paused) return false;
    this.#paused = true;
    if (this.#state === 'running') this.#state = 'paused';
    this.#source?.pause?.();
    return true;
  }

  /** Resumes after {@link Feed.pause}. @returns false if not paused */
  resume(): boolean {
    if (!this.#paused) return false;
    this.#paused = false;
    this.#lastFrameAt = this.#clock.now();
    if (this.#state === 'paused') this.#state = 'running';
    this.#source?.resume?.();
    const w = this.#resumeWake;
    this.#resumeWake = undefined;
    w?.();
    return true;
  }

  metrics(): FeedMetricsSnapshot {
    const stages: Record<string, StageDiagnostics> = {};
    for (const sid of this.#stageIds) {
      const c = this.#counters.get(sid)!;
      const own = this.#stageById.get(sid);
      const reported = own?.counters ? stageCounters(own) : undefined;
      stages[sid] = {
        framesProcessed: c.framesProcessed, errors: c.errors, skipped: c.skipped, latency: this.#latency.get(sid)!.snapshot(),
        ...(reported && reported.length > 0 ? { counters: reported } : {}),
      };
    }
    return {
      feedId: this.id, framesReceived: this.#m.received, framesDropped: this.#m.sourceDropped + this.#currentSessionDrops(),
      framesProcessed: this.#m.processed, framesFailed: this.#m.failed, framesTimedOut: this.#m.timedOut, outputsEmitted: this.#m.emitted,
      outputsDropped: this.#m.dropped, sinkErrors: this.#m.sinkErrors, restarts: this.#restarts, tracksActive: this.#temporal.trackCount,
      viewEpoch: this.#view.snapshot.epoch, stages, pipelineLatency: this.#pipelineLatency.snapshot(),
    };
  }

  queueTelemetry(): QueueTelemetry {
    const s = this.#source?.stats?.();
    return { sourceDepth: s?.queued ?? 0, sourceCapacity: s?.capacity ?? 0, sinkDepth: this.#outputs.length, sinkCapacity: this.#r.sinkQueueCapacity };
  }

  diagnostics(): FeedDiagnostics {
    const v = this.#view.snapshot;
    return {
      id: this.id, name: this.name, state: this.#state, paused: this.#paused, alive: this.#state !== 'stopped', sessionUptimeMs: this.sessionUptimeMs,
      metrics: this.metrics(), queues: this.queueTelemetry(), decode: this.#decode,
      view: { epoch: v.epoch, version: v.version, validity: v.validity.kind, stabilityScore: v.stabilityScore, pollTimeouts: this.#view.pollTimeouts },
      batchProcessorId: this.#r.batch?.processorId, lastError: this.#lastError, stopReason: this.#stopReason,
      ...(this.#r.parallel ? { parallel: { width: this.#r.parallel.width, ...(this.#reseq?.stats() ?? this.#lastReseq ?? idleParallel(this.#r.parallel.width)) } } : {}),
    };
  }

  /**
   * Requests a draining stop: the frame in flight completes, stages stop, queued outputs are
   * delivered. Returns within `timeoutMs` (default `deadlines.stopTimeoutMs`) plus a short grace:
   * at the timeout whatever the feed still waits for is abandoned (`StopTimeout` names it).
   */
  stop(reason: StopReason = { kind: 'UserRequested' }, timeoutMs = this.#r.stopTimeoutMs): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      this.#stopReason ??= reason;
      this.#abort.abort();
      const w = this.#resumeWake;
      this.#resumeWake = undefined;
      w?.();
      const src = this.#source;
      if (src) void this.#bounded(this.#call(() => src.stop()), SOURCE_WAIT).catch(() => undefined);
    }
    if (this.#state === 'stopped') return this.#done;
    return stopWithin(this.#clock, this.#done, timeoutMs, ABANDON_GRACE_MS, () => this.#abandon(), () => this.#forceStopped());
  }

  /** Stop timed out: report what the feed waits for, then make every bounded wait give up. */
  #abandon(): void {
    if (this.#hard.signal.aborted || this.#state === 'stopped') return;
    const stragglers: Straggler[] = [];
    for (const w of this.#waits) stragglers.push(w === SINK_WAIT ? { kind: 'sink', pendingOutputs: this.#outputs.length + 1 } : w);
    if (this.#inNext) stragglers.push(SOURCE_WAIT);
    this.#emit({ type: 'StopTimeout', feedId: this.id, stragglers });
    if (stragglers.some((s) => s.kind === 'sink')) this.#emit({ type: 'SinkTimeout', feedId: this.id });
    this.#hard.abort();
    this.#sinkWake?.();
  }

  /** The executor did not wind down even after abandoning (a source ignoring `stop()`): stop reporting it as alive. */
  #forceStopped(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const o of this.#outputs.splice(0)) { this.#m.dropped++; if (o.frame && !o.frame.isReleased) o.frame.release(); }
    this.#reportStopped();
  }

  #reportStopped(): void {
    if (this.#stoppedReported) return;
    this.#stoppedReported = true;
    // Counts still waiting for their second go out before the feed says it stopped.
    this.#flushThrottled();
    this.#sinkDrops.flush();
    this.#emit({ type: 'FeedStopped', feedId: this.id, reason: this.#stopReason ?? { kind: 'UserRequested' } });
  }

  #currentSessionDrops(): number {
    const d = this.#source?.stats?.().dropped ?? 0;
    return Math.max(0, d - this.#m.sessionDropBase);
  }

  async #run(): Promise<void> {
    const sinkLoop = this.#sinkLoop();
    try {
      for (;;) {
        const again = await this.#session();
        if (!again || this.#stopRequested) break;
      }
    } catch (e) {
      this.#stopReason ??= { kind: 'Fatal', detail: describe(e), error: stopErrorOf(e) };
    }
    if (this.#state !== 'stopped') this.#state = 'stopping';
    this.#sinkClosed = true;
    this.#sinkWake?.();
    await sinkLoop;
    this.#state = 'stopped';
    this.#reportStopped();
  }

  #createSource(): FrameSource {
    const { cfg, backpressure, noFrameTimeoutMs } = this.#r;
    if (typeof cfg.source === 'function') return cfg.source();
    const m = cfg.media ?? {};
    return new MediaSource(cfg.source, {
      feedId: this.id, backpressure,
      ...(m.output ? { output: m.output } : {}), ...(m.reconnect ? { reconnect: m.reconnect } : {}),
      ...(m.customPipelinePolicy ? { customPipelinePolicy: m.customPipelinePolicy } : {}), ...(m.residency ? { residency: m.residency } : {}),
      // The media layer's own watchdog reconnects live sources; the feed's restarts the session.
      ...(noFrameTimeoutMs > 0 ? { noFrameTimeoutMs } : {}),
    });
  }

  /** One source session. @returns whether to start another (restart). */
  async #session(): Promise<boolean> {
    this.#sessionStart = this.#clock.now();
    this.#decode = undefined;
    this.#timeline.newSession(false);
    const stages = this.#stages;
    const started: Stage[] = [];
    try {
      for (const s of stages) {
        const r = await this.#lifecycle(s, 'onStart');
        started.push(s);
        if (r === ABANDONED) break;
      }
    } catch (e) {
      this.#lastError = describe(e);
      await this.#stopStages(started);
      this.#stopReason = { kind: 'Fatal', detail: `stage failed to start: ${this.#lastError}`, error: stopErrorOf(e) };
      return false;
    }
    if (this.#stopRequested) { await this.#stopStages(started); return false; }
    let source: FrameSource;
    let offEvents: (() => void) | undefined;
    try {
      source = this.#createSource();
      this.#source = source;
      this.#m.sessionDropBase = source.stats?.().dropped ?? 0;
      this.#dropsSeen = 0;
      offEvents = source.onEvent?.((ev) => this.#onSourceEvent(ev));
      if (this.#resumeAfter !== undefined && typeof source.resumeAfter === 'function') await source.resumeAfter(monotonicTs(this.#resumeAfter));
      await source.start?.();
      if (this.#paused) source.pause?.();
    } catch (e) {
      try { offEvents?.(); } catch { /* a broken unsubscribe must not hide the failure */ }
      const failed = this.#source;
      this.#source = undefined;
      if (failed) await this.#bounded(this.#call(() => failed.stop()), SOURCE_WAIT).catch(() => undefined);
      await this.#stopStages(stages);
      if (isPermanent(e)) { this.#lastError = describe(e); this.#stopReason = { kind: 'Fatal', detail: this.#lastError, error: stopErrorOf(e) }; return false; }
      return this.#restartOrStop('source', e);
    }
    this.#state = this.#paused ? 'paused' : 'running';
    this.#lastFrameAt = this.#clock.now();
    this.#stalled = false;
    this.#startTicker();
    let panic: Panic | undefined;
    let sourceError: unknown;
    let eos = false;
    try {
      if (this.#r.parallel) ({ panic, sourceError, eos } = await this.#parallelLoop(source));
      else while (!this.#stopRequested) {
        if (this.#paused) {
          await new Promise<void>((r) => { this.#resumeWake = r; });
          continue;
        }
        const frame = await this.#nextFrame(source);
        if (!frame) { ({ sourceError, eos } = this.#sessionEnd); break; }
        const p = this.#take(frame);
        const r = p instanceof Promise ? await p : p;
        if (r) { panic = r; break; }
        // Fairness: let other feeds, timers and I/O run before this feed's next frame.
        await yieldTurn();
      }
    } finally {
      this.#stopTicker();
    }
    if (!panic) this.#reportDiscarded(); // (after a panic: right after its own events, below)
    this.#checkDrops();
    this.#m.sourceDropped += this.#currentSessionDrops();
    await this.#bounded(this.#call(() => source.stop()), SOURCE_WAIT).catch((e: unknown) => { this.#lastError = `source stop: ${describe(e)}`; });
    try { offEvents?.(); } catch { /* ignore */ }
    this.#source = undefined;
    this.#flushThrottled();
    this.#releaseLate();
    if (this.#m.received > 0) this.#resumeAfter = this.#timeline.rawTs;
    if (this.#stopRequested) { await this.#stopStages(stages); return false; }
    if (eos) {
      this.#emit({ type: 'SourceEos', feedId: this.id });
      this.#stopReason = { kind: 'EndOfStream' };
      await this.#stopStages(stages);
      return false;
    }
    if (panic) {
      const detail = describe(panic.error);
      if (panic.step) this.#emit({ type: 'FeedPanic', feedId: this.id, step: panic.step, detail });
      else this.#emit({ type: 'StagePanic', feedId: this.id, stageId: panic.at, detail });
      const d = panic.dropped;
      if (d) this.#emit({ type: 'FrameDropped', feedId: this.id, seq: d.seq, ts: monotonicTs(d.ts), mediaTs: d.mediaTs, cause: 'panic', at: panic.at, detail });
      this.#reportDiscarded();
      await this.#stopStages(stages);
      return this.#restartOrStop('panic', panic.error);
    }
    await this.#stopStages(stages);
    return this.#restartOrStop('source', sourceError);
  }

  /**
   * The session's housekeeping timer, every {@link TICK_MS}: source queue drops the frames did not
   * reveal (see {@link Feed.#checkDrops}), rate-limited discontinuity events, the no-frame watchdog.
   */
  #startTicker(): void {
    const clock = this.#clock;
    const tick = (): void => {
      this.#ticker = clock.setTimeout(tick, TICK_MS, { unref: true });
      const now = clock.now();
      this.#checkDrops();
      this.#jumps.flush(now);
      const limit = this.#r.noFrameTimeoutMs;
      if (limit > 0 && !this.#paused && !this.#stalled && this.#state === 'running' && now - this.#lastFrameAt > limit) {
        this.#stalled = true;
        this.#lastError = `no frame for ${limit} ms`;
        const src = this.#source;
        if (src) void this.#bounded(this.#call(() => src.stop()), SOURCE_WAIT).catch(() => undefined); // wakes the pending next() with undefined; the session restarts
      }
    };
    this.#ticker = clock.setTimeout(tick, TICK_MS, { unref: true });
  }

  #stopTicker(): void {
    this.#clock.clearTimeout(this.#ticker);
    this.#ticker = undefined;
  }

  /**
   * Counts the source queue's new drops into the throttled `BackpressureDrop` (first at once,
   * then at most one per second). Called by the ticker, and when a frame's raw seq skips
   * (a media source numbers frames before its queue, so a gap is a drop the moment JS sees it).
   */
  #checkDrops(): void {
    const d = this.#currentSessionDrops();
    if (d <= this.#dropsSeen) return;
    this.#sourceDrops.add(d - this.#dropsSeen);
    this.#dropsSeen = d;
  }

  /** Emits what the session's throttled events still hold (the session ended). */
  #flushThrottled(): void {
    this.#batchRejected.flush();
    this.#batchTimeouts.flush();
    this.#batchInFlight.flush();
    this.#sourceDrops.flush();
    this.#providerFailures.flush();
    this.#jumps.flush(this.#clock.now(), true);
  }

  async #stopStages(stages: readonly Stage[]): Promise<void> {
    for (const s of stages) {
      try { await this.#lifecycle(s, 'onStop'); } catch (e) { this.#lastError = `onStop of '${s.id}': ${describe(e)}`; }
    }
  }

  /** Calls a stage's lifecycle hook, bounded by the stop timeout (resolves {@link ABANDONED} then). @throws what the hook throws */
  #lifecycle(s: Stage, call: 'onStart' | 'onStop'): Promise<unknown> {
    const fn = s[call];
    if (typeof fn !== 'function') return Promise.resolve(undefined);
    if (call === 'onStart') {
      // A stage of a parallel head may be given `width` frames at once; everything else one.
      const p = this.#r.parallel;
      const context: StageStartContext = Object.freeze({ concurrency: p && !p.tail.includes(s) ? p.width : 1 });
      return this.#bounded(this.#call(() => s.onStart!(context)), { kind: 'stage', stageId: s.id, call });
    }
    return this.#bounded(this.#call(() => s[call]!()), { kind: 'stage', stageId: s.id, call });
  }

  /** Runs `f`, turning a synchronous throw into a rejection. */
  #call<T>(f: () => T): T | Promise<never> {
    try { return f(); } catch (e) { return Promise.reject(e); }
  }

  /**
   * Waits for `p`, unless the stop times out first: then resolves {@link ABANDONED} (and `p`'s
   * outcome is ignored). While waiting, `wait` is listed as what the feed waits for.
   */
  #bounded<T>(p: T | PromiseLike<T>, wait: Straggler): Promise<T | Abandoned> {
    if (!isThenable(p)) return Promise.resolve(p);
    const hard = this.#hard.signal;
    if (hard.aborted) { Promise.resolve(p).then(undefined, () => undefined); return Promise.resolve(ABANDONED); }
    this.#waits.add(wait);
    return new Promise<T | Abandoned>((resolve, reject) => {
      const onAbort = (): void => { this.#waits.delete(wait); resolve(ABANDONED); };
      hard.addEventListener('abort', onAbort, { once: true });
      Promise.resolve(p).then(
        (v) => { hard.removeEventListener('abort', onAbort); this.#waits.delete(wait); resolve(v); },
        (e: unknown) => { hard.removeEventListener('abort', onAbort); this.#waits.delete(wait); reject(e); },
      );
    });
  }

  #timeoutMsOf(stageId: string): number {
    const own = this.#r.stageTimeouts[stageId];
    return own ?? this.#r.stageTimeoutMs;
  }

  /** The stage as the executor runs it: an async `process` is raced against its deadline and the stop timeout. */
  #underDeadline(stage: Stage): Stage {
    const timeoutMs = this.#timeoutMsOf(stage.id);
    return {
      id: stage.id,
      process: (ctx) => {
        const out = stage.process(ctx);
        if (!isThenable(out)) return out;
        // One wait per call: in a parallel head several calls of a stage run at once, and each is a straggler of its own.
        const wait: Straggler = { kind: 'stage', stageId: stage.id, call: 'process' };
        return this.#withDeadline(out, stage.id, timeoutMs, wait, ctx.frame) as Promise<StageOutput>;
      },
    };
  }

  #withDeadline(p: PromiseLike<unknown>, stageId: string, timeoutMs: number, wait: Straggler, frame: FrameEnvelope): Promise<unknown> {
    const hard = this.#hard.signal;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: ClockTimer | undefined;
      const finish = (): void => { settled = true; this.#clock.clearTimeout(timer); hard.removeEventListener('abort', onAbort); this.#waits.delete(wait); };
      const giveUp = (abandoned: boolean): void => {
        if (settled) return;
        finish();
        // The late call may still read the frame: keep it alive until the call settles (bounded).
        const hold = frame.isReleased ? undefined : this.#holdLate(frame);
        if (hold) {
          const free = (): void => { if (this.#late.delete(hold)) hold.release(); };
          Promise.resolve(p).then(free, free);
        } else {
          Promise.resolve(p).then(undefined, () => undefined);
        }
        const err = StageError.tagged(stageId, 'timeout', abandoned ? 'abandoned at a stop timeout' : `no result within ${timeoutMs} ms`);
        (abandoned ? this.#abandonErrors : this.#deadlineErrors).add(err);
        reject(err);
      };
      const onAbort = (): void => giveUp(true);
      this.#waits.add(wait);
      if (timeoutMs > 0) timer = this.#clock.setTimeout(() => giveUp(false), timeoutMs);
      if (hard.aborted) { giveUp(true); return; }
      hard.addEventListener('abort', onAbort, { once: true });
      Promise.resolve(p).then(
        (v) => { if (settled) return; finish(); resolve(v); },
        (e: unknown) => { if (settled) return; finish(); reject(e); },
      );
    });
  }

  /**
   * Retains `frame` for a timed-out call; at most `maxConsecutiveTimeouts` frames are held — or the
   * parallel head's width, if larger: that many calls can time out at once (oldest released first).
   */
  #holdLate(frame: FrameEnvelope): FrameEnvelope {
    const held = frame.retain();
    this.#late.add(held);
    const max = Math.max(this.#r.maxConsecutiveTimeouts, this.#r.parallel?.width ?? 0);
    for (const f of this.#late) {
      if (this.#late.size <= max) break;
      this.#late.delete(f);
      if (!f.isReleased) f.release();
    }
    return held;
  }

  /** Session end: frames still held for timed-out calls are released (the stage was stopped; views of them detach). */
  #releaseLate(): void {
    for (const f of this.#late) if (!f.isReleased) f.release();
    this.#late.clear();
  }

  async #restartOrStop(cause: 'source' | 'panic', error: unknown): Promise<boolean> {
    this.#lastError = describe(error);
    const p = this.#r.restart;
    if (cause === 'source' && MediaError.isInstance(error)) {
      this.#emit({ type: 'SourceDisconnected', feedId: this.id, reason: error });
    }
    // A source failure no restart can fix (a missing file or device, refused credentials, refused by policy): stop now.
    const allowed = !(cause === 'source' && isPermanent(error)) && p.restartOn !== 'never' && p.maxRestarts > 0 && !(p.restartOn === 'sourceFailure' && cause === 'panic');
    if (!allowed) {
      this.#stopReason = { kind: 'Fatal', detail: this.#lastError, error: stopErrorOf(error) };
      return false;
    }
    // A session that ran a full window resets the count.
    if (this.sessionUptimeMs >= p.restartWindowMs) this.#restartsInWindow = 0;
    if (this.#restartsInWindow >= p.maxRestarts) {
      this.#stopReason = { kind: 'RestartLimitExceeded', restartCount: this.#restarts, error: stopErrorOf(error) };
      return false;
    }
    this.#restartsInWindow++;
    this.#restarts++;
    this.#state = 'restarting';
    this.#sessionStart = 0;
    this.#consecutiveTimeouts = 0;
    this.#emit({ type: 'FeedRestarting', feedId: this.id, restartCount: this.#restarts });
    // Store cleared, view epoch + 1, stages' onViewEpochChange (failures reported as StageHookFailed).
    await this.#pipe.restart();
    await abortableDelay(this.#clock, p.restartDelayMs, this.#abort.signal);
    return !this.#stopRequested;
  }

  /** How the source ended when {@link Feed.#nextFrame} returned no frame. */
  #sessionEnd: { sourceError: unknown; eos: boolean } = { sourceError: undefined, eos: false };

  /**
   * The next frame from the source, counted as received; `undefined` when the session ends
   * (why: {@link Feed.#sessionEnd} — a source failure, the watchdog, or the end of the stream).
   */
  async #nextFrame(source: FrameSource): Promise<FrameEnvelope | undefined> {
    let frame: FrameEnvelope | undefined;
    this.#inNext = true;
    try {
      frame = await source.next();
    } catch (e) {
      this.#sessionEnd = { sourceError: e, eos: false };
      return undefined;
    } finally {
      this.#inNext = false;
    }
    if (!frame) {
      this.#sessionEnd = this.#stalled
        ? { sourceError: MediaError.timeout(`no frame for ${this.#r.noFrameTimeoutMs} ms (feed watchdog)`), eos: false }
        : { sourceError: undefined, eos: !this.#stopRequested };
      return undefined;
    }
    this.#lastFrameAt = this.#clock.now();
    this.#m.received++;
    return frame;
  }

  /**
   * The executor of an ordered parallel pipeline: frames are admitted in order (timeline, view),
   * their head runs on up to `width` frames at once, and the resequencer hands them to the tail
   * (source-discontinuity split, retention + snapshot, tail stages, commit, output) strictly in
   * frame order. When the section is full, no frame is taken from the source (its queue's
   * backpressure applies). At the end of the session everything admitted is drained (stop, end of
   * stream, source failure). After a panic nothing more runs in the tail: every frame still
   * admitted is dropped and reported (`FrameDropped`, counted as failed), the heads still running
   * are waited for (bounded by their deadlines and the stop timeout), then the session ends.
   */
  async #parallelLoop(source: FrameSource): Promise<{ panic: Panic | undefined; sourceError: unknown; eos: boolean }> {
    const pipe = this.#pipe;
    const k = pipe.headSegments;
    const run: ParallelRun = { jobs: new Map(), panic: undefined, heads: 0, headsIdle: undefined };
    let sourceError: unknown;
    let eos = false;
    const rs = new Resequencer<FrameStepResult<Job>, FrameStepResult<Job>>({
      capacity: this.#r.parallel!.width, gapTimeoutMs: this.#gapTimeoutMs(), clock: this.#clock,
      deliver: (item) => this.#tail(item, run, k),
      discard: (w) => release(w.frame),
      discardReason: (w) => release(w.frame),
      onError: (e, seq) => { run.panic ??= this.#panicOf(run.jobs.get(seq), 'output', e); },
    });
    this.#reseq = rs;
    const settleHead = (seq: number, r: FrameStepResult<Job>): void => {
      if (--run.heads === 0) run.headsIdle?.();
      if (r.outcome.kind === 'ok') rs.complete(seq, r); else rs.tombstone(seq, r);
    };
    try {
      while (!this.#stopRequested && run.panic === undefined) {
        if (this.#paused) { await new Promise<void>((r) => { this.#resumeWake = r; }); continue; }
        if (rs.isFull) { await rs.whenNotFull(); continue; }
        const frame = await this.#nextFrame(source);
        if (!frame) { ({ sourceError, eos } = this.#sessionEnd); break; }
        const job = this.#admit(frame, true);
        if (job === undefined) { run.panic = this.#feedPanic(this.#admitError); break; }
        const seq = rs.reserve()!;
        run.jobs.set(seq, job);
        // In frame order: the view (synchronous for fixed cameras, the only ones a parallel pipeline takes).
        const v = pipe.prepareView(job.frame, job);
        const w = pipe.prepareHead(v instanceof Promise ? await v : v);
        run.heads++;
        const h = pipe.runStages(w, 0, k);
        if (h instanceof Promise) {
          // (runStages never rejects; a rejection would still be a panic of that frame, in order.)
          h.then((r) => settleHead(seq, r), (e: unknown) => settleHead(seq, { ...w, outcome: { kind: 'feedPanic', step: 'batch', error: e } }));
        } else {
          settleHead(seq, h);
        }
        await yieldTurn();
      }
      if (run.panic === undefined) await this.#bounded(rs.drain(), PARALLEL_WAIT);
    } finally {
      // Whatever is still admitted (a panic, an abandoned drain) is dropped and reported now;
      // values that settle later are only released (the resequencer's discard).
      rs.reset();
      this.#dropAdmitted(run);
      if (run.heads > 0) {
        const idle = new Promise<void>((r) => { run.headsIdle = r; });
        await this.#bounded(idle, PARALLEL_WAIT);
      }
      await this.#bounded(rs.drain(), PARALLEL_WAIT); // a tail delivery still running
      this.#lastReseq = rs.stats();
      this.#reseq = undefined;
    }
    return { panic: run.panic, sourceError, eos };
  }

  /** The parallel section's gap deadline: the head's deadlines in a row plus a grace; never, when one of them has none. */
  #gapTimeoutMs(): number {
    const { pre, post, batch } = this.#r;
    let sum = 0;
    for (const st of [...pre, ...post]) {
      const ms = this.#timeoutMsOf(st.id);
      if (!(ms > 0)) return Infinity;
      sum += ms;
    }
    if (batch) {
      const ms = batch.deadlineMs;
      if (!(ms > 0 && Number.isFinite(ms))) return Infinity;
      sum += ms;
    }
    return sum + 1000;
  }

  /** Frames admitted to the parallel section and not through its tail when the session ends: dropped and counted; reported by {@link Feed.#reportDiscarded}. */
  #dropAdmitted(run: ParallelRun): void {
    const at = run.panic?.at ?? '(parallel section)';
    for (const job of run.jobs.values()) {
      this.#m.failed++;
      const f = job.frame;
      this.#discarded.push({
        type: 'FrameDropped', feedId: this.id, seq: f.seq, ts: f.ts, mediaTs: job.src.mediaTs, cause: run.panic ? 'panic' : 'timeout', at,
        detail: run.panic ? 'discarded from the parallel section: an earlier frame panicked' : 'still in the parallel section when its stop timed out',
      });
    }
    run.jobs.clear();
  }

  /** The `FrameDropped` events of {@link Feed.#dropAdmitted}, in frame order, after the panic's own events. */
  #reportDiscarded(): void {
    const d = this.#discarded.sort((x, y) => (x.type === 'FrameDropped' && y.type === 'FrameDropped' ? x.seq - y.seq : 0));
    this.#discarded = [];
    for (const e of d) this.#emit(e);
  }

  /** The tail of the parallel section, for one frame in order: discontinuity split, retention + snapshot, tail stages, commit, output. */
  #tail(item: ResequencedItem<FrameStepResult<Job>, FrameStepResult<Job>>, run: ParallelRun, k: number): void | Promise<void> {
    const job = run.jobs.get(item.seq);
    if (job === undefined) {
      // Already dropped and reported (a reset); nothing to run.
      if (item.kind === 'value') release(item.value.frame); else if (item.kind === 'tombstone') release(item.reason.frame);
      return undefined;
    }
    if (item.kind === 'gap') {
      // The head never settled this frame within the gap deadline (a hung head): a typed drop, a timeout.
      run.jobs.delete(item.seq);
      this.#m.failed++;
      this.#m.timedOut++;
      this.#emit({
        type: 'FrameDropped', feedId: this.id, seq: job.frame.seq, ts: job.frame.ts, mediaTs: job.src.mediaTs, cause: 'timeout', at: '(parallel section)',
        detail: 'the parallel head did not settle it before the gap deadline',
      });
      return undefined;
    }
    const w = item.kind === 'value' ? item.value : item.reason;
    if (run.panic !== undefined) { release(w.frame); return undefined; } // stays in `jobs`: dropped and reported at the session's end
    run.jobs.delete(item.seq);
    const done = (r: FrameStepResult<Job>): void => {
      const fin = this.#pipe.finish(r);
      release(r.frame);
      const p = this.#settle(fin);
      if (p) run.panic ??= p;
    };
    try {
      if (job.splitStore) this.#temporal.onSourceDiscontinuity(); // as the serial path does at admission, whatever the frame's outcome
      const t = this.#pipe.runStages(this.#pipe.prepareTemporal(w), k);
      if (t instanceof Promise) {
        return t.then(done, (e: unknown) => { release(w.frame); run.panic ??= this.#panicOf(job, 'temporal', e); });
      }
      done(t);
    } catch (e) {
      release(w.frame);
      run.panic ??= this.#panicOf(job, 'temporal', e);
    }
    return undefined;
  }

  /** A feed panic of a given frame (the parallel tail: not necessarily the frame admitted last). */
  #panicOf(job: Job | undefined, step: FeedStep, error: unknown): Panic {
    this.#m.failed++;
    if (!job) return this.#feedPanic(error);
    return { at: step, step, error, dropped: { seq: job.frame.seq, ts: job.frame.ts, mediaTs: job.src.mediaTs } };
  }

  /** What {@link Feed.#admit} caught. */
  #admitError: unknown;

  /**
   * The feed's own steps for a new frame, in order: timeline (re-timing), discontinuity, lag.
   * @param raw - the frame from the source
   * @param deferSplit - a parallel section: a trajectory split at a discontinuity waits for this frame's tail (`Job.splitStore`), so frames still ahead of it commit before it
   * @returns its job, or undefined after an exception (in {@link Feed.#admitError}; the frame released)
   */
  #admit(raw: FrameEnvelope, deferSplit = false): Job | undefined {
    let frame = raw;
    this.#job = undefined;
    try {
      this.#step = 'timeline';
      const receivedAtNs = this.#nowNs();
      const tl = this.#timeline;
      const session = tl.session;
      const lastRawSeq = tl.rawSeq;
      const kind = tl.map(raw.ts, raw.seq);
      if (tl.session === session && tl.rawSeq > lastRawSeq + 1) this.#checkDrops();
      frame = retimeFrame(raw, tl.ts, tl.seq);
      const wall = frame.wallTs as number;
      const job: Job = {
        frame, receivedAtNs,
        src: {
          mediaTs: tl.rawTs, mediaSeq: tl.rawSeq, session: tl.session, discontinuity: kind,
          ageAtReceiptNs: wall > 0 ? ((performance.timeOrigin + performance.now()) * 1000 - wall) * 1000 : undefined,
        },
      };
      this.#job = job;
      if (kind !== undefined && this.#onDiscontinuity(kind, frame, deferSplit)) job.splitStore = true;
      this.#checkLag(frame, receivedAtNs / 1e6);
      return job;
    } catch (e) {
      release(frame);
      this.#admitError = e;
      return undefined;
    }
  }

  /**
   * Takes one frame from the source through the executor: the timeline, then the frame step.
   * Never throws: an exception at any step is returned as a panic. The producer's reference is
   * released when the frame is done.
   */
  #take(raw: FrameEnvelope): FrameResult | Promise<FrameResult> {
    const job = this.#admit(raw);
    if (job === undefined) return this.#feedPanic(this.#admitError);
    const frame = job.frame;
    const p = this.#pipe.process(frame, job); // never throws
    if (!(p instanceof Promise)) { release(frame); return this.#settle(p); }
    return p.then(
      (r) => { release(frame); return this.#settle(r); },
      (e: unknown) => { release(frame); return this.#feedPanic(e); },
    );
  }

  /** An exception in the feed's own steps (timeline, discontinuity), before the frame step. */
  #feedPanic(error: unknown): Panic {
    this.#m.failed++;
    const j = this.#job;
    const tl = this.#timeline;
    const dropped = j ? { seq: j.frame.seq, ts: j.frame.ts, mediaTs: j.src.mediaTs } : { seq: tl.seq, ts: tl.ts, mediaTs: tl.rawTs };
    return { at: this.#step, step: this.#step, error, dropped };
  }

  /**
   * The source's timestamps jumped (the timeline already re-based): split trajectories if needed, mark the frame, report.
   * @returns whether trajectories must split and the split was deferred (`defer`) to the caller
   */
  #onDiscontinuity(kind: DiscontinuityKind, frame: FrameEnvelope, defer = false): boolean {
    const tl = this.#timeline;
    this.#step = 'temporal';
    const gapNs = tl.rawTs - tl.rawBefore;
    const segmented = kind === 'reconnect' || kind === 'backwardJump'
      || (kind === 'forwardGap' && gapNs >= this.#temporal.retention.maxTrackAgeMs * NS_PER_MS);
    if (segmented && !defer) this.#temporal.onSourceDiscontinuity();
    frame.metadata.set(SOURCE_DISCONTINUITY, Object.freeze({ kind, rawBefore: tl.rawBefore, rawAfter: tl.rawTs, ts: frame.ts, segmented }));
    this.#jumps.report(kind, tl.rawBefore, tl.rawTs, frame.ts, this.#clock.now());
    return segmented && defer;
  }

  /**
   * What the feed does with a frame's outcome: latencies and counters, deadline bookkeeping, the
   * panic to restart for. (The output of an `ok` frame was queued by {@link Feed.#output}.)
   */
  #settle(r: FrameStepResult<Job>): FrameResult {
    this.#recordLatencies(r.records);
    const o = r.outcome;
    switch (o.kind) {
      case 'ok':
        this.#consecutiveTimeouts = 0;
        return undefined;
      case 'error':
        this.#m.failed++;
        this.#consecutiveTimeouts = 0;
        this.#lastError = o.error.message;
        return undefined;
      case 'timeout':
        return this.#timedOut(r.job, o.stageId, o.timeoutMs);
      case 'abandoned': // a stop timed out: the StopTimeout event names what was abandoned
        this.#m.failed++;
        return undefined;
      case 'panic':
        this.#m.failed++;
        return this.#stagePanic(r.job, o.stageId, o.error);
      case 'feedPanic': {
        this.#m.failed++;
        const f = r.job.frame;
        return { at: o.step, step: o.step, error: o.error, dropped: { seq: f.seq, ts: f.ts, mediaTs: r.job.src.mediaTs } };
      }
    }
  }

  /** Frame-step health events: provider failures are throttled (≤ 1/s with a count), the rest go out at once. */
  #emitFrameEvent(e: HealthEvent): void {
    if (e.type !== 'ViewProviderFailed') { this.#emit(e); return; }
    this.#lastProviderFailure = e;
    this.#providerFailures.add(e.count);
  }

  /** A stage's typed error that the deadline wrapper made: a timeout, or a wait abandoned at a stop timeout. */
  #classify(stageId: string, err: StageError): FrameOutcome | undefined {
    if (this.#deadlineErrors.has(err)) return { kind: 'timeout', stageId, timeoutMs: this.#timeoutMsOf(stageId) };
    if (this.#abandonErrors.has(err)) return { kind: 'abandoned', at: stageId };
    return undefined;
  }

  /** A synchronous stage cannot be interrupted; one that overran its deadline is caught here, before the commit. */
  #vetDeadlines(records: readonly StageRecord[]): FrameOutcome | undefined {
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      if (rec.latencyNs <= this.#minDeadlineNs) continue;
      const limit = this.#deadlineNs.get(rec.stageId);
      if (limit !== undefined && rec.latencyNs > limit) return { kind: 'timeout', stageId: rec.stageId, timeoutMs: limit / NS_PER_MS };
    }
    return undefined;
  }

  /** The output of a committed frame: provenance, the frame when included, published, into the output queue. */
  #output(r: FrameStepResult<Job>): void {
    const { frame, job } = r;
    const vu = r.view!;
    const completedAtNs = this.#nowNs();
    const receivedAtNs = job.receivedAtNs;
    const include = r.frameIncluded;
    const out: OutputEnvelope = {
      feedId: this.id, feedName: this.name, seq: frame.seq, ts: frame.ts, wallTs: frame.wallTs, artifacts: r.artifacts, view: vu.snapshot,
      provenance: {
        stages: r.records,
        view: { motionSource: vu.motionSource, decision: vu.decision, epoch: vu.snapshot.epoch, version: vu.snapshot.version, stabilityScore: vu.snapshot.stabilityScore },
        receivedAtNs, completedAtNs, totalLatencyNs: completedAtNs - receivedAtNs, frameIncluded: include, source: job.src,
      },
      frame: include ? frame.retain() : undefined,
    };
    this.#m.processed++;
    this.#pipelineLatency.recordNs(completedAtNs - receivedAtNs);
    this.#publish?.(out); // subscribers get it now, whatever the sink queue does with it
    this.#enqueueOutput(out);
  }

  #stagePanic(job: Job, stageId: string, error: unknown): Panic {
    return { at: stageId, step: undefined, error, dropped: { seq: job.frame.seq, ts: job.frame.ts, mediaTs: job.src.mediaTs } };
  }

  /** A stage or the batch point missed its deadline: the frame is dropped; too many in a row is a panic. */
  #timedOut(job: Job, stageId: string, timeoutMs: number): FrameResult {
    this.#m.failed++;
    this.#m.timedOut++;
    const n = ++this.#consecutiveTimeouts;
    const detail = `no result within ${timeoutMs} ms`;
    this.#lastError = `stage '${stageId}': ${detail}`;
    this.#emit({ type: 'StageTimeout', feedId: this.id, stageId, timeoutMs, consecutive: n });
    this.#emit({ type: 'FrameDropped', feedId: this.id, seq: job.frame.seq, ts: job.frame.ts, mediaTs: job.src.mediaTs, cause: 'timeout', at: stageId, detail });
    if (n < this.#r.maxConsecutiveTimeouts) return undefined;
    const error = StageError.tagged(stageId, 'timeout', `${n} timeouts in a row (${timeoutMs} ms each)`);
    return { at: stageId, step: undefined, error, dropped: undefined };
  }

  /**
   * The batch point (the frame step's `BatchPoint`): submit, await, merge. Failures are typed and
   * drop the frame; they are reported here (throttled), never as a `StageError` by the step.
   */
  async #runBatch(frame: FrameEnvelope, view: ViewSnapshot, artifacts: PerceptionArtifacts): Promise<BatchPointResult> {
    const batch = this.#r.batch!;
    const id = batch.processorId;
    const c = this.#counters.get(id)!;
    const start = this.#nowNs();
    const res = await this.#bounded(batch.submit(this.id, frame, view), { kind: 'batch', processorId: id });
    let error: StageError | undefined;
    let reason: BatchFailureReason | 'abandoned' | undefined;
    if (res === ABANDONED) {
      error = StageError.tagged(id, 'timeout', 'abandoned at a stop timeout');
      reason = 'abandoned';
    } else if (res.ok) {
      try { artifacts.merge(res.output as StageOutput); } catch (e) {
        error = StageError.processingFailed(id, `invalid batch output: ${describe(e)}`, e);
        this.#emit({ type: 'StageError', feedId: this.id, stageId: id, error });
      }
    } else {
      error = res.error;
      reason = res.reason;
    }
    const end = this.#nowNs();
    c.framesProcessed++;
    if (error) {
      c.errors++;
      switch (reason) {
        case 'queueFull': this.#batchRejected.add(1); break;
        case 'inFlightCap': this.#batchInFlight.add(1); break;
        case 'timeout': this.#batchTimeouts.add(1); break;
        case 'shutdown':
          if (!this.#stopRequested && !this.#batchShutdownReported) {
            this.#batchShutdownReported = true;
            this.#emit({ type: 'StageError', feedId: this.id, stageId: id, error });
          }
          break;
        default: break; // 'failed': the coordinator already reported a BatchError
      }
    }
    const record: StageRecord = {
      stageId: id, startNs: start, endNs: end, latencyNs: end - start,
      outcome: error ? { kind: 'error', error, category: outcomeCategory(error) } : { kind: 'ok' },
    };
    if (!error) return { record, outcome: BATCH_OK };
    const outcome: FrameOutcome = reason === 'timeout' ? { kind: 'timeout', stageId: id, timeoutMs: batch.deadlineMs }
      : reason === 'abandoned' ? { kind: 'abandoned', at: id }
        : { kind: 'error', stageId: id, error };
    return { record, outcome };
  }

  #recordLatencies(records: readonly StageRecord[]): void {
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      if (rec.outcome.kind === 'skipped' && rec.latencyNs === 0) continue;
      this.#latency.get(rec.stageId)?.recordNs(rec.latencyNs);
    }
  }

  #checkLag(frame: FrameEnvelope, nowMs: number): void {
    const wall = frame.wallTs as number;
    if (!(wall > 0)) return;
    const ageMs = Date.now() - wall / 1000;
    if (ageMs < FRAME_LAG_MS) return;
    const lag = this.#lag;
    lag.frames++;
    if (ageMs > lag.peakMs) lag.peakMs = ageMs;
    if (nowMs - lag.last >= 1000) {
      this.#emit({ type: 'FrameLag', feedId: this.id, frameAgeMs: Math.round(lag.peakMs), framesLagged: lag.frames });
      lag.frames = 0; lag.peakMs = 0; lag.last = nowMs;
    }
  }

  #enqueueOutput(out: OutputEnvelope): void {
    if (!this.#r.cfg.sink) { out.frame?.release(); return; }
    if (this.#outputs.length >= this.#r.sinkQueueCapacity) {
      this.#m.dropped++;
      out.frame?.release();
      this.#sinkDrops.add(1);
      return;
    }
    this.#outputs.push(out);
    const w = this.#sinkWake;
    this.#sinkWake = undefined;
    w?.();
  }

  async #sinkLoop(): Promise<void> {
    const sink = this.#r.cfg.sink;
    for (;;) {
      const out = this.#outputs.shift();
      if (!out) {
        if (this.#sinkClosed) return;
        await new Promise<void>((r) => { this.#sinkWake = r; });
        continue;
      }
      if (this.#hard.signal.aborted) { // the stop timed out: what is left is abandoned
        this.#m.dropped++;
        if (out.frame && !out.frame.isReleased) out.frame.release();
        continue;
      }
      try {
        const r = sink?.emit(out);
        if (isThenable(r)) {
          if (await this.#bounded(r, SINK_WAIT) === ABANDONED) { this.#m.dropped++; continue; }
        }
        this.#m.emitted++;
      } catch (e) {
        this.#m.sinkErrors++;
        this.#emit({ type: 'SinkPanic', feedId: this.id, detail: describe(e) });
      } finally {
        if (out.frame && !out.frame.isReleased) out.frame.release();
      }
    }
  }

  #onSourceEvent(ev: FrameSourceEvent): void {
    switch (ev.type) {
      case 'connected': this.#emit({ type: 'SourceConnected', feedId: this.id }); break;
      case 'disconnected':
        this.#timeline.newSession(true);
        if (MediaError.isInstance(ev.error)) this.#emit({ type: 'SourceDisconnected', feedId: this.id, reason: ev.error });
        break;
      case 'reconnecting':
        this.#timeline.newSession(true);
        this.#emit({ type: 'SourceReconnecting', feedId: this.id, attempt: ev.attempt, delayMs: ev.delayMs });
        break;
      case 'insecure': this.#emit({ type: 'InsecureRtspSource', feedId: this.id, redactedUrl: ev.redactedUrl }); break;
      case 'decoder': {
        const outcome = ev.decoder ? (ev.hardware ? 'hardware' : 'software') : 'unknown';
        const detail = ev.decoder ?? 'no decoder (raw source)';
        this.#decode = { outcome, detail };
        const pref = typeof this.#r.cfg.source === 'function' ? 'auto' : (this.#r.cfg.media?.output?.decode ?? 'auto');
        this.#emit({ type: 'DecodeDecision', feedId: this.id, outcome, preference: pref, fallbackActive: pref === 'preferHardware' && outcome !== 'hardware', fallbackReason: pref === 'preferHardware' && outcome !== 'hardware' ? 'no hardware decoder for this stream' : undefined, detail });
        break;
      }
      case 'eos': break;
    }
  }
}

/** Diagnostics of a parallel section that has not run yet. */
function idleParallel(width: number): ResequencerStats {
  return {
    capacity: width, nextSeq: 0, inFlight: 0, depth: 0, maxDepthSeen: 0, delivered: 0, tombstones: 0, gapTimeouts: 0, discardedLate: 0,
    discardedOnReset: 0, stale: 0, callbackErrors: 0, reorderWait: { count: 0, totalMs: 0, maxMs: 0 },
  };
}

/** Releases the producer's reference unless a (buggy) stage already released the frame. */
function release(frame: FrameEnvelope): void {
  if (!frame.isReleased) frame.release();
}

/**
 * Media failures that a restart cannot fix: refused by policy, unsupported here, a file or
 * device that does not exist (`SourceNotFound`), credentials the server refused (`Unauthorized`:
 * retrying a wrong password also locks camera accounts). `@nv/media` raises these at once,
 * without reconnecting; the feed stops `Fatal` with the kind instead of restarting.
 */
const PERMANENT_MEDIA_KINDS: ReadonlySet<string> = new Set(['CustomPipelineRejected', 'InsecureRtspRejected', 'Unsupported', 'Unauthorized', 'SourceNotFound', 'InvalidMedia', 'PipelineInvalid']);

/** Errors that a restart cannot fix: bad config, and the {@link PERMANENT_MEDIA_KINDS}. */
function isPermanent(e: unknown): boolean {
  if (ConfigError.isInstance(e)) return true;
  return MediaError.isInstance(e) && PERMANENT_MEDIA_KINDS.has(e.kind);
}

function describe(e: unknown): string {
  if (NvError.isInstance(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function abortableDelay(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clock.clearTimeout(t); resolve(); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
