/**
 * One feed: source sessions, the per-frame executor (view → temporal → stages → batch →
 * stages → commit → output), a bounded output queue drained by its own loop, a no-frame
 * watchdog, pause/resume, restart policy and a draining stop.
 *
 * Concurrency: the executor loop and the sink loop are async loops on the JS thread. The
 * executor handles one frame at a time; stages of a feed never run concurrently. The sink
 * loop awaits one `emit` at a time, so a slow sink only fills the output queue (bounded;
 * newest dropped and counted) and never slows the executor.
 */
import {
  ConfigError, MediaError, NvError, StageError, feedId as toFeedId, type FeedId, type HealthEvent, type QueueTelemetry, type StopReason,
} from '@nv/core';
import type { FrameEnvelope, FrameSource, FrameSourceEvent } from '@nv/frame';
import { MediaSource } from '@nv/media';
import {
  PerceptionArtifacts, enforceStageValidation, outcomeCategory, runStagesEager, StageCounters, type RunStagesInput, type RunStagesResult, type Stage,
  type StageOutput, type StageRecord,
} from '@nv/perception';
import { TemporalStore } from '@nv/temporal';
import { ViewSystem, type ViewSnapshot, type ViewUpdate } from '@nv/view';
import type { BatchFailureReason } from './batch.js';
import type { ResolvedFeedConfig } from './config.js';
import type { DecodeStatus, FeedDiagnostics, FeedMetricsSnapshot, FeedState, StageDiagnostics } from './diagnostics.js';
import { LatencyHistogram } from './latency.js';
import type { OutputEnvelope } from './output.js';

/** A frame's result: the panic to restart for, or undefined. */
type FrameResult = { stageId: string; error: unknown } | undefined;

/** Frames older than this (wall clock) when they reach the executor are reported as lagging. */
const FRAME_LAG_MS = 2000;
/** How often the feed's housekeeping timer runs (watchdog, drop counters). */
const TICK_MS = 250;

/** Accumulates a count and emits it at most once per second (first occurrence immediately). */
class Throttled {
  #pending = 0;
  #last = -Infinity;
  constructor(readonly emit: (n: number) => void) {}
  add(n: number, now: number): void {
    this.#pending += n;
    if (now - this.#last >= 1000) this.flush(now);
  }
  flush(now = performance.now()): void {
    if (this.#pending <= 0) return;
    const n = this.#pending;
    this.#pending = 0;
    this.#last = now;
    this.emit(n);
  }
}

/** @internal */
export class Feed {
  readonly id: FeedId;
  /** Display name (`FeedConfig.name`), if any. */
  readonly name: string | undefined;
  readonly #r: ResolvedFeedConfig;
  readonly #emit: (e: HealthEvent) => void;
  readonly #view: ViewSystem<FrameEnvelope>;
  readonly #temporal: TemporalStore;
  readonly #counters = new Map<string, StageCounters>();
  readonly #latency = new Map<string, LatencyHistogram>();
  readonly #pipelineLatency = new LatencyHistogram();
  readonly #stageIds: readonly string[];
  /** Every stage of the pipeline (pre and post the batch point), for lifecycle calls. */
  readonly #stages: readonly Stage[];
  readonly #outputs: OutputEnvelope[] = [];
  #sinkWake: (() => void) | undefined;
  #sinkClosed = false;
  #source: FrameSource | undefined;
  #state: FeedState = 'starting';
  #stopRequested = false;
  #abort = new AbortController();
  #paused = false;
  #resumeWake: (() => void) | undefined;
  #restarts = 0;
  #restartsInWindow = 0;
  #sessionStart = 0;
  #stopReason: StopReason | undefined;
  #done: Promise<void>;
  #lastError: string | undefined;
  #decode: DecodeStatus | undefined;
  #m = { received: 0, processed: 0, failed: 0, emitted: 0, dropped: 0, sinkErrors: 0, sourceDropped: 0, sessionDropBase: 0 };
  #frameIndex = 0;
  #lastFrameAt = 0;
  #stalled = false;
  #ticker: NodeJS.Timeout | undefined;
  #lag = { frames: 0, peakMs: 0, last: -Infinity };
  readonly #batchRejected: Throttled;
  readonly #batchTimeouts: Throttled;
  readonly #batchInFlight: Throttled;
  #batchShutdownReported = false;

  constructor(id: number, resolved: ResolvedFeedConfig, emit: (e: HealthEvent) => void) {
    this.id = toFeedId(id);
    this.name = resolved.cfg.name;
    this.#r = resolved;
    this.#emit = emit;
    const { cfg, pre, batch, post } = resolved;
    enforceStageValidation(
      { pre, ...(batch ? { batch: { id: batch.processorId, process: () => {}, ...(batch.capabilities ? { capabilities: batch.capabilities } : {}) } } : {}), post },
      cfg.validation ?? 'warn',
      (w) => console.warn(`[nv] feed-${id}: stage validation: ${JSON.stringify(w)}`),
    );
    this.#stages = [...pre, ...post];
    this.#stageIds = [...pre.map((s) => s.id), ...(batch ? [batch.processorId] : []), ...post.map((s) => s.id)];
    for (const sid of this.#stageIds) { this.#counters.set(sid, new StageCounters()); this.#latency.set(sid, new LatencyHistogram()); }
    this.#view = new ViewSystem<FrameEnvelope>({ mode: cfg.cameraMode, provider: cfg.viewProvider, policy: cfg.epochPolicy });
    this.#temporal = new TemporalStore({ retention: cfg.retention ?? {} });
    const pid = batch?.processorId ?? '';
    this.#batchRejected = new Throttled((n) => this.#emit({ type: 'BatchSubmissionRejected', feedId: this.id, processorId: pid, droppedCount: n }));
    this.#batchTimeouts = new Throttled((n) => this.#emit({ type: 'BatchTimeout', feedId: this.id, processorId: pid, timedOutCount: n }));
    this.#batchInFlight = new Throttled((n) => this.#emit({ type: 'BatchInFlightExceeded', feedId: this.id, processorId: pid, rejectedCount: n }));
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
  get sessionUptimeMs(): number { return this.#sessionStart ? performance.now() - this.#sessionStart : 0; }

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
    this.#lastFrameAt = performance.now();
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
      stages[sid] = { framesProcessed: c.framesProcessed, errors: c.errors, skipped: c.skipped, latency: this.#latency.get(sid)!.snapshot() };
    }
    return {
      feedId: this.id, framesReceived: this.#m.received, framesDropped: this.#m.sourceDropped + this.#currentSessionDrops(),
      framesProcessed: this.#m.processed, framesFailed: this.#m.failed, outputsEmitted: this.#m.emitted, outputsDropped: this.#m.dropped,
      sinkErrors: this.#m.sinkErrors, restarts: this.#restarts, tracksActive: this.#temporal.trackCount, viewEpoch: this.#view.snapshot.epoch,
      stages, pipelineLatency: this.#pipelineLatency.snapshot(),
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
      view: { epoch: v.epoch, version: v.version, validity: v.validity.kind, stabilityScore: v.stabilityScore },
      batchProcessorId: this.#r.batch?.processorId, lastError: this.#lastError, stopReason: this.#stopReason,
    };
  }

  /** Requests a draining stop: the frame in flight completes, stages stop, queued outputs are delivered. */
  stop(reason: StopReason = { kind: 'UserRequested' }): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      this.#stopReason ??= reason;
      this.#abort.abort();
      const w = this.#resumeWake;
      this.#resumeWake = undefined;
      w?.();
      void this.#source?.stop();
    }
    return this.#done;
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
      this.#stopReason ??= { kind: 'Fatal', detail: describe(e) };
    }
    this.#state = 'stopping';
    this.#sinkClosed = true;
    this.#sinkWake?.();
    await sinkLoop;
    this.#state = 'stopped';
    this.#emit({ type: 'FeedStopped', feedId: this.id, reason: this.#stopReason ?? { kind: 'UserRequested' } });
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
    this.#sessionStart = performance.now();
    this.#decode = undefined;
    const stages = this.#stages;
    const started: Stage[] = [];
    try {
      for (const s of stages) { await s.onStart?.(); started.push(s); }
    } catch (e) {
      this.#lastError = describe(e);
      await this.#stopStages(started);
      this.#stopReason = { kind: 'Fatal', detail: `stage failed to start: ${this.#lastError}` };
      return false;
    }
    let source: FrameSource;
    let offEvents: (() => void) | undefined;
    try {
      source = this.#createSource();
      this.#source = source;
      this.#m.sessionDropBase = source.stats?.().dropped ?? 0;
      offEvents = source.onEvent?.((ev) => this.#onSourceEvent(ev));
      await source.start?.();
      if (this.#paused) source.pause?.();
    } catch (e) {
      offEvents?.();
      this.#source = undefined;
      await this.#stopStages(stages);
      if (isPermanent(e)) { this.#lastError = describe(e); this.#stopReason = { kind: 'Fatal', detail: this.#lastError }; return false; }
      return this.#restartOrStop('source', e);
    }
    this.#state = this.#paused ? 'paused' : 'running';
    this.#lastFrameAt = performance.now();
    this.#stalled = false;
    this.#startTicker();
    let panic: { stageId: string; error: unknown } | undefined;
    let sourceError: unknown;
    let eos = false;
    while (!this.#stopRequested) {
      if (this.#paused) {
        await new Promise<void>((r) => { this.#resumeWake = r; });
        continue;
      }
      let frame: FrameEnvelope | undefined;
      try {
        frame = await source.next();
      } catch (e) {
        sourceError = e;
        break;
      }
      if (!frame) {
        if (this.#stalled) sourceError = MediaError.timeout(`no frame for ${this.#r.noFrameTimeoutMs} ms (feed watchdog)`);
        else eos = !this.#stopRequested;
        break;
      }
      this.#lastFrameAt = performance.now();
      this.#m.received++;
      try {
        const p = this.#process(frame);
        const r = p instanceof Promise ? await p : p;
        if (r) { panic = r; break; }
      } finally {
        if (!frame.isReleased) frame.release();
      }
    }
    this.#stopTicker();
    this.#m.sourceDropped += this.#currentSessionDrops();
    await source.stop();
    offEvents?.();
    this.#source = undefined;
    this.#flushBatchEvents();
    if (this.#stopRequested) { await this.#stopStages(stages); return false; }
    if (eos) {
      this.#emit({ type: 'SourceEos', feedId: this.id });
      this.#stopReason = { kind: 'EndOfStream' };
      await this.#stopStages(stages);
      return false;
    }
    if (panic) {
      this.#emit({ type: 'StagePanic', feedId: this.id, stageId: panic.stageId, detail: describe(panic.error) });
      await this.#stopStages(stages);
      return this.#restartOrStop('panic', panic.error);
    }
    await this.#stopStages(stages);
    return this.#restartOrStop('source', sourceError);
  }

  #startTicker(): void {
    let lastDropped = this.#currentSessionDrops();
    this.#ticker = setInterval(() => {
      const now = performance.now();
      const dropped = this.#currentSessionDrops();
      if (dropped > lastDropped) { this.#emit({ type: 'BackpressureDrop', feedId: this.id, framesDropped: dropped - lastDropped }); lastDropped = dropped; }
      const limit = this.#r.noFrameTimeoutMs;
      if (limit > 0 && !this.#paused && !this.#stalled && this.#state === 'running' && now - this.#lastFrameAt > limit) {
        this.#stalled = true;
        this.#lastError = `no frame for ${limit} ms`;
        void this.#source?.stop(); // wakes the pending next() with undefined; the session restarts
      }
    }, TICK_MS);
    this.#ticker.unref?.();
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  async #stopStages(stages: readonly Stage[]): Promise<void> {
    for (const s of stages) {
      try { await s.onStop?.(); } catch (e) { this.#lastError = `onStop of '${s.id}': ${describe(e)}`; }
    }
  }

  async #restartOrStop(cause: 'source' | 'panic', error: unknown): Promise<boolean> {
    this.#lastError = describe(error);
    const p = this.#r.restart;
    if (cause === 'source' && MediaError.isInstance(error)) {
      this.#emit({ type: 'SourceDisconnected', feedId: this.id, reason: error });
    }
    const allowed = p.restartOn !== 'never' && p.maxRestarts > 0 && !(p.restartOn === 'sourceFailure' && cause === 'panic');
    if (!allowed) {
      this.#stopReason = { kind: 'Fatal', detail: this.#lastError };
      return false;
    }
    // A session that ran a full window resets the count.
    if (this.sessionUptimeMs >= p.restartWindowMs) this.#restartsInWindow = 0;
    if (this.#restartsInWindow >= p.maxRestarts) {
      this.#stopReason = { kind: 'RestartLimitExceeded', restartCount: this.#restarts };
      return false;
    }
    this.#restartsInWindow++;
    this.#restarts++;
    this.#state = 'restarting';
    this.#sessionStart = 0;
    this.#emit({ type: 'FeedRestarting', feedId: this.id, restartCount: this.#restarts });
    this.#temporal.clear();
    const vu = this.#view.restart();
    this.#temporal.setViewEpoch(vu.snapshot.epoch);
    this.#emit({ type: 'ViewEpochChanged', feedId: this.id, epoch: vu.snapshot.epoch, cause: 'restart' });
    for (const s of this.#stages) {
      try { await s.onViewEpochChange?.(vu.snapshot.epoch); } catch (e) { this.#lastError = describe(e); }
    }
    await abortableDelay(p.restartDelayMs, this.#abort.signal);
    return !this.#stopRequested;
  }

  /**
   * Processes one frame. @returns the panic, if a stage panicked.
   *
   * Fixed camera, no batch point and stages that return synchronously: the whole frame runs
   * synchronously (no promise, no microtask hop — and nothing else interleaves with it).
   * Otherwise, from the first asynchronous step on, it continues asynchronously.
   */
  #process(frame: FrameEnvelope): FrameResult | Promise<FrameResult> {
    const receivedAtNs = performance.now() * 1e6;
    this.#checkLag(frame, receivedAtNs / 1e6);
    const vu = this.#r.batch ? undefined : this.#view.updateSync(frame.ts);
    if (vu === undefined || vu.changed) return this.#processAsync(frame, receivedAtNs);
    this.#temporal.beginFrame(frame.ts);
    const input: RunStagesInput = {
      feedId: this.id, frame, view: vu.snapshot, temporal: this.#temporal.snapshot(), counters: this.#counters, signal: this.#abort.signal,
    };
    const r = runStagesEager(this.#r.pre, input);
    return r instanceof Promise ? r.then((res) => this.#afterPre(frame, vu, input, receivedAtNs, res)) : this.#afterPre(frame, vu, input, receivedAtNs, r);
  }

  /** The sync-first path after the pre stages (no batch point): post stages, then {@link Feed.#finish}. */
  #afterPre(frame: FrameEnvelope, vu: ViewUpdate, input: RunStagesInput, receivedAtNs: number, r: RunStagesResult): FrameResult | Promise<FrameResult> {
    if (this.#r.post.length === 0 || r.outcome.kind !== 'ok') return this.#finish(frame, vu, receivedAtNs, r, r.records);
    const pre = r.records;
    const post = runStagesEager(this.#r.post, { ...input, artifacts: r.artifacts });
    const done = (q: RunStagesResult): FrameResult => this.#finish(frame, vu, receivedAtNs, q, [...pre, ...q.records]);
    return post instanceof Promise ? post.then(done) : done(post);
  }

  /** The general path: observed cameras (provider poll, epoch policy) and feeds with a batch point. */
  async #processAsync(frame: FrameEnvelope, receivedAtNs: number): Promise<FrameResult> {
    const prevEpoch = this.#view.snapshot.epoch;
    const vu = await this.#view.update(frame.ts, frame);
    for (const ev of vu.events) {
      if (ev.type === 'epochChanged') this.#emit({ type: 'ViewEpochChanged', feedId: this.id, epoch: ev.epoch, cause: ev.cause });
      else if (ev.type === 'degraded') this.#emit({ type: 'ViewDegraded', feedId: this.id, reason: ev.reason, stabilityScore: ev.stabilityScore });
      else if (ev.type === 'compensationApplied') this.#emit({ type: 'ViewCompensationApplied', feedId: this.id, epoch: ev.epoch });
    }
    if (vu.snapshot.epoch !== prevEpoch) {
      this.#temporal.onEpochChange(prevEpoch, vu.snapshot.epoch);
      for (const s of this.#stages) {
        try { await s.onViewEpochChange?.(vu.snapshot.epoch); } catch (e) {
          if (!StageError.isInstance(e)) return { stageId: s.id, error: e };
          this.#emit({ type: 'StageError', feedId: this.id, stageId: s.id, error: e });
        }
      }
    }
    if (vu.compensation) this.#temporal.applyCompensation(vu.compensation, vu.snapshot.epoch);
    this.#temporal.beginFrame(frame.ts);
    const temporal = this.#temporal.snapshot();
    const input = { feedId: this.id, frame, view: vu.snapshot, temporal, counters: this.#counters, signal: this.#abort.signal };
    let r = await runStagesEager(this.#r.pre, input);
    let records: StageRecord[] = r.records as StageRecord[];
    const batch = this.#r.batch;
    if (batch && r.outcome.kind === 'ok') {
      const b = await this.#runBatch(frame, vu.snapshot, r.artifacts);
      records = [...records, b.record];
      if (b.error) {
        for (const s of this.#r.post) records.push({ stageId: s.id, startNs: b.record.endNs, endNs: b.record.endNs, latencyNs: 0, outcome: { kind: 'skipped', reason: 'earlier stage failed' } });
        this.#recordLatencies(records);
        this.#m.failed++;
        this.#lastError = b.error.message;
        return undefined;
      }
      if (this.#r.post.length) {
        r = await runStagesEager(this.#r.post, { ...input, artifacts: r.artifacts });
        records = [...records, ...r.records];
      }
    } else if (!batch && this.#r.post.length && r.outcome.kind === 'ok') {
      r = await runStagesEager(this.#r.post, { ...input, artifacts: r.artifacts });
      records = [...records, ...r.records];
    }
    return this.#finish(frame, vu, receivedAtNs, r, records);
  }

  /** After the stages: latencies, failure handling, temporal commit, provenance, output. */
  #finish(frame: FrameEnvelope, vu: ViewUpdate, receivedAtNs: number, r: RunStagesResult, records: readonly StageRecord[]): FrameResult {
    this.#recordLatencies(records);
    if (r.outcome.kind === 'panic') { this.#m.failed++; return { stageId: r.outcome.stageId, error: r.outcome.error }; }
    if (r.outcome.kind === 'error') {
      this.#m.failed++;
      this.#lastError = r.outcome.error.message;
      this.#emit({ type: 'StageError', feedId: this.id, stageId: r.outcome.stageId, error: r.outcome.error });
      return undefined;
    }
    const commit = this.#temporal.commitFrame(r.artifacts.tracks, frame.ts, vu.snapshot.epoch, { authoritative: r.artifacts.tracksAuthoritative });
    if (commit.rejected > 0) this.#emit({ type: 'TrackAdmissionRejected', feedId: this.id, rejectedCount: commit.rejected });
    this.#m.processed++;
    const completedAtNs = performance.now() * 1e6;
    this.#pipelineLatency.recordNs(completedAtNs - receivedAtNs);
    const include = this.#includeFrame();
    const out: OutputEnvelope = {
      feedId: this.id, feedName: this.name, seq: frame.seq, ts: frame.ts, wallTs: frame.wallTs, artifacts: r.artifacts, view: vu.snapshot,
      provenance: {
        stages: records,
        view: { motionSource: vu.motionSource, decision: vu.decision, epoch: vu.snapshot.epoch, version: vu.snapshot.version, stabilityScore: vu.snapshot.stabilityScore },
        receivedAtNs, completedAtNs, totalLatencyNs: completedAtNs - receivedAtNs, frameIncluded: include,
      },
      frame: include ? frame.retain() : undefined,
    };
    this.#enqueueOutput(out);
    return undefined;
  }

  /** The batch step: submit, await, merge; failures are typed and drop the frame. */
  async #runBatch(frame: FrameEnvelope, view: ViewSnapshot, artifacts: PerceptionArtifacts): Promise<{ record: StageRecord; error: StageError | undefined }> {
    const batch = this.#r.batch!;
    const id = batch.processorId;
    const c = this.#counters.get(id)!;
    const start = performance.now() * 1e6;
    const res = await batch.submit(this.id, frame, view);
    let error: StageError | undefined;
    let reason: BatchFailureReason | undefined;
    if (res.ok) {
      try { artifacts.merge(res.output as StageOutput); } catch (e) {
        error = StageError.processingFailed(id, `invalid batch output: ${describe(e)}`, e);
        this.#emit({ type: 'StageError', feedId: this.id, stageId: id, error });
      }
    } else {
      error = res.error;
      reason = res.reason;
    }
    const end = performance.now() * 1e6;
    c.framesProcessed++;
    const now = end / 1e6;
    if (error) {
      c.errors++;
      switch (reason) {
        case 'queueFull': this.#batchRejected.add(1, now); break;
        case 'inFlightCap': this.#batchInFlight.add(1, now); break;
        case 'timeout': this.#batchTimeouts.add(1, now); break;
        case 'shutdown':
          if (!this.#stopRequested && !this.#batchShutdownReported) {
            this.#batchShutdownReported = true;
            this.#emit({ type: 'StageError', feedId: this.id, stageId: id, error });
          }
          break;
        default: break; // 'failed': the coordinator already reported a BatchError
      }
    } else {
      this.#flushBatchEvents();
    }
    const outcome: StageRecord['outcome'] = error ? { kind: 'error', error, category: outcomeCategory(error) } : { kind: 'ok' };
    return { record: { stageId: id, startNs: start, endNs: end, latencyNs: end - start, outcome }, error };
  }

  #flushBatchEvents(): void {
    this.#batchRejected.flush();
    this.#batchTimeouts.flush();
    this.#batchInFlight.flush();
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

  #includeFrame(): boolean {
    const inc = this.#r.frameInclusion;
    const i = this.#frameIndex++;
    if (inc === 'never') return false;
    if (inc === 'always') return true;
    return i % inc.everyNth === 0;
  }

  #enqueueOutput(out: OutputEnvelope): void {
    if (!this.#r.cfg.sink) { out.frame?.release(); return; }
    if (this.#outputs.length >= this.#r.sinkQueueCapacity) {
      this.#m.dropped++;
      out.frame?.release();
      this.#emit({ type: 'SinkBackpressure', feedId: this.id, outputsDropped: 1 });
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
      try {
        await sink?.emit(out);
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
      case 'disconnected': if (MediaError.isInstance(ev.error)) this.#emit({ type: 'SourceDisconnected', feedId: this.id, reason: ev.error }); break;
      case 'reconnecting': this.#emit({ type: 'SourceReconnecting', feedId: this.id, attempt: ev.attempt, delayMs: ev.delayMs }); break;
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

/** Errors that a restart cannot fix: bad config, refused by policy, unsupported here. */
function isPermanent(e: unknown): boolean {
  if (ConfigError.isInstance(e)) return true;
  return MediaError.isInstance(e) && (e.kind === 'CustomPipelineRejected' || e.kind === 'InsecureRtspRejected' || e.kind === 'Unsupported');
}

function describe(e: unknown): string {
  if (NvError.isInstance(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); resolve(); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
