/**
 * One feed: a source session, the per-frame executor (view → temporal → stages → commit →
 * output), a bounded output queue drained by its own loop, restart policy and draining stop.
 *
 * Concurrency: the executor loop and the sink loop are async loops on the JS thread. The
 * executor handles one frame at a time; stages of a feed never run concurrently. The sink
 * loop awaits one `emit` at a time, so a slow sink only fills the output queue (bounded;
 * newest dropped and counted) and never slows the executor.
 */
import {
  ConfigError, MediaError, NvError, StageError, feedId as toFeedId, parseRestartPolicy,
  type FeedId, type HealthEvent, type RestartPolicy, type RetentionPolicy, type StopReason,
} from '@nv/core';
import type { FrameEnvelope, FrameSource } from '@nv/frame';
import { enforceStageValidation, runStages, StageCounters, type Stage, type ValidationMode } from '@nv/perception';
import { TemporalStore } from '@nv/temporal';
import { ViewSystem, type EpochPolicy, type ViewStateProvider } from '@nv/view';
import type { FrameInclusion, OutputEnvelope, OutputSink } from './output.js';

/** Configuration of one feed. */
export interface FeedConfig {
  /** Creates the feed's source; called once per session (again after each restart). */
  readonly source: () => FrameSource;
  /** Required: `fixed` bypasses the view system; `observed` needs `viewProvider`. */
  readonly cameraMode: 'fixed' | 'observed';
  /** Stages, in order. */
  readonly stages: readonly Stage[];
  /** Motion provider (observed cameras only). */
  readonly viewProvider?: ViewStateProvider<FrameEnvelope>;
  /** Epoch policy (default `DefaultEpochPolicy`). */
  readonly epochPolicy?: EpochPolicy;
  /** Where outputs go (default: nowhere — outputs are counted and dropped). */
  readonly sink?: OutputSink;
  /** Output queue bound (default 16). */
  readonly sinkQueueCapacity?: number;
  /** Temporal retention (reference defaults). */
  readonly retention?: Partial<RetentionPolicy>;
  /** Restart policy (default: 5 restarts per 300 s window, 2 s delay, on source failure or stage panic). */
  readonly restart?: Partial<RestartPolicy>;
  /** Which outputs carry their frame (default `never`). */
  readonly frameInclusion?: FrameInclusion;
  /** Stage validation (default `warn`: reported through `console.warn`; duplicates always throw). */
  readonly validation?: ValidationMode;
}

/** Live counters of a feed. */
export interface FeedMetricsSnapshot {
  readonly feedId: FeedId;
  readonly framesReceived: number;
  readonly framesProcessed: number;
  readonly framesFailed: number;
  readonly outputsEmitted: number;
  readonly outputsDropped: number;
  readonly sinkErrors: number;
  readonly restarts: number;
  readonly tracksActive: number;
  readonly viewEpoch: number;
  /** Per-stage counters and last latency (ns). */
  readonly stages: Readonly<Record<string, { framesProcessed: number; errors: number; lastLatencyNs: number }>>;
}

/** Feed lifecycle state. */
export type FeedState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** @internal */
export class Feed {
  readonly id: FeedId;
  readonly #cfg: FeedConfig;
  readonly #emit: (e: HealthEvent) => void;
  readonly #restartPolicy: RestartPolicy;
  readonly #sinkCapacity: number;
  readonly #view: ViewSystem<FrameEnvelope>;
  readonly #temporal: TemporalStore;
  readonly #counters = new Map<string, StageCounters>();
  readonly #lastLatency = new Map<string, number>();
  readonly #outputs: OutputEnvelope[] = [];
  #sinkWake: (() => void) | undefined;
  #sinkClosed = false;
  #source: FrameSource | undefined;
  #state: FeedState = 'starting';
  #stopRequested = false;
  #abort = new AbortController();
  #restarts = 0;
  #restartsInWindow = 0;
  #sessionStart = 0;
  #stopReason: StopReason | undefined;
  #done: Promise<void>;
  #lastError: string | undefined;
  #m = { received: 0, processed: 0, failed: 0, emitted: 0, dropped: 0, sinkErrors: 0 };
  #frameIndex = 0;

  constructor(id: number, cfg: FeedConfig, emit: (e: HealthEvent) => void) {
    this.id = toFeedId(id);
    this.#cfg = cfg;
    this.#emit = emit;
    if (typeof cfg.source !== 'function') throw ConfigError.missingRequired('source');
    if (cfg.cameraMode === undefined) throw ConfigError.missingRequired('cameraMode');
    if (!Array.isArray(cfg.stages)) throw ConfigError.missingRequired('stages');
    enforceStageValidation(cfg.stages, cfg.validation ?? 'warn', (w) => console.warn(`[nv] feed-${id}: stage validation: ${JSON.stringify(w)}`));
    this.#restartPolicy = parseRestartPolicy(cfg.restart ?? {});
    this.#sinkCapacity = cfg.sinkQueueCapacity ?? 16;
    if (!Number.isInteger(this.#sinkCapacity) || this.#sinkCapacity < 1) throw ConfigError.invalidCapacity('sinkQueueCapacity');
    const inc = cfg.frameInclusion ?? 'never';
    if (typeof inc === 'object' && (!Number.isInteger(inc.everyNth) || inc.everyNth < 1)) throw ConfigError.invalidPolicy('frameInclusion.everyNth must be a positive integer', 'frameInclusion.everyNth');
    this.#view = new ViewSystem<FrameEnvelope>({ mode: cfg.cameraMode, provider: cfg.viewProvider, policy: cfg.epochPolicy });
    this.#temporal = new TemporalStore({ retention: cfg.retention ?? {} });
    this.#done = this.#run();
  }

  get state(): FeedState { return this.#state; }
  /** Resolves when the feed has stopped and its outputs are delivered. */
  get done(): Promise<void> { return this.#done; }
  get stopReason(): StopReason | undefined { return this.#stopReason; }
  get lastError(): string | undefined { return this.#lastError; }
  get temporal(): TemporalStore { return this.#temporal; }
  get view() { return this.#view.snapshot; }
  get sessionUptimeMs(): number { return this.#sessionStart ? performance.now() - this.#sessionStart : 0; }

  metrics(): FeedMetricsSnapshot {
    const stages: Record<string, { framesProcessed: number; errors: number; lastLatencyNs: number }> = {};
    for (const s of this.#cfg.stages) {
      const c = this.#counters.get(s.id);
      stages[s.id] = { framesProcessed: c?.framesProcessed ?? 0, errors: c?.errors ?? 0, lastLatencyNs: this.#lastLatency.get(s.id) ?? 0 };
    }
    return {
      feedId: this.id, framesReceived: this.#m.received, framesProcessed: this.#m.processed, framesFailed: this.#m.failed,
      outputsEmitted: this.#m.emitted, outputsDropped: this.#m.dropped, sinkErrors: this.#m.sinkErrors, restarts: this.#restarts,
      tracksActive: this.#temporal.trackCount, viewEpoch: this.#view.snapshot.epoch, stages,
    };
  }

  queueTelemetry(): { sourceDepth: number; sourceCapacity: number; sinkDepth: number; sinkCapacity: number } {
    const s = this.#source?.stats?.();
    return { sourceDepth: s?.queued ?? 0, sourceCapacity: s?.capacity ?? 0, sinkDepth: this.#outputs.length, sinkCapacity: this.#sinkCapacity };
  }

  /** Requests a draining stop: the frame in flight completes, stages stop, queued outputs are delivered. */
  stop(reason: StopReason = { kind: 'UserRequested' }): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      this.#stopReason ??= reason;
      this.#abort.abort();
      void this.#source?.stop();
    }
    return this.#done;
  }

  async #run(): Promise<void> {
    const sinkLoop = this.#sinkLoop();
    try {
      for (;;) {
        const again = await this.#session();
        if (!again || this.#stopRequested) break;
      }
    } catch (e) {
      this.#stopReason ??= { kind: 'Fatal', detail: e instanceof Error ? e.message : String(e) };
    }
    this.#state = 'stopping';
    this.#sinkClosed = true;
    this.#sinkWake?.();
    await sinkLoop;
    this.#state = 'stopped';
    this.#emit({ type: 'FeedStopped', feedId: this.id, reason: this.#stopReason ?? { kind: 'UserRequested' } });
  }

  /** One source session. @returns whether to start another (restart). */
  async #session(): Promise<boolean> {
    this.#sessionStart = performance.now();
    try {
      for (const s of this.#cfg.stages) await s.onStart?.();
    } catch (e) {
      this.#lastError = describe(e);
      this.#stopReason = { kind: 'Fatal', detail: `stage failed to start: ${this.#lastError}` };
      return false;
    }
    let source: FrameSource;
    let offEvents: (() => void) | undefined;
    try {
      source = this.#cfg.source();
      this.#source = source;
      offEvents = source.onEvent?.((ev) => this.#onSourceEvent(ev));
      await source.start?.();
    } catch (e) {
      offEvents?.();
      await this.#stopStages();
      return this.#restartOrStop('source', e);
    }
    this.#state = 'running';
    let panic: { stageId: string; error: unknown } | undefined;
    let sourceError: unknown;
    let eos = false;
    while (!this.#stopRequested) {
      let frame: FrameEnvelope | undefined;
      try {
        frame = await source.next();
      } catch (e) {
        sourceError = e;
        break;
      }
      if (!frame) { eos = !this.#stopRequested; break; }
      this.#m.received++;
      try {
        const r = await this.#process(frame);
        if (r) { panic = r; break; }
      } finally {
        if (!frame.isReleased) frame.release();
      }
    }
    await source.stop();
    offEvents?.();
    this.#source = undefined;
    if (this.#stopRequested) { await this.#stopStages(); return false; }
    if (eos) {
      this.#emit({ type: 'SourceEos', feedId: this.id });
      this.#stopReason = { kind: 'EndOfStream' };
      await this.#stopStages();
      return false;
    }
    if (panic) {
      this.#emit({ type: 'StagePanic', feedId: this.id, stageId: panic.stageId, detail: describe(panic.error) });
      await this.#stopStages();
      return this.#restartOrStop('panic', panic.error);
    }
    await this.#stopStages();
    return this.#restartOrStop('source', sourceError);
  }

  async #stopStages(): Promise<void> {
    for (const s of this.#cfg.stages) {
      try { await s.onStop?.(); } catch (e) { this.#lastError = `onStop of '${s.id}': ${describe(e)}`; }
    }
  }

  async #restartOrStop(cause: 'source' | 'panic', error: unknown): Promise<boolean> {
    this.#lastError = describe(error);
    const p = this.#restartPolicy;
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
    this.#emit({ type: 'FeedRestarting', feedId: this.id, restartCount: this.#restarts });
    this.#temporal.clear();
    const vu = this.#view.restart();
    this.#temporal.setViewEpoch(vu.snapshot.epoch);
    this.#emit({ type: 'ViewEpochChanged', feedId: this.id, epoch: vu.snapshot.epoch, cause: 'restart' });
    for (const s of this.#cfg.stages) {
      try { await s.onViewEpochChange?.(vu.snapshot.epoch); } catch (e) { this.#lastError = describe(e); }
    }
    await abortableDelay(p.restartDelayMs, this.#abort.signal);
    return !this.#stopRequested;
  }

  /** Processes one frame. @returns the panic, if a stage panicked. */
  async #process(frame: FrameEnvelope): Promise<{ stageId: string; error: unknown } | undefined> {
    const receivedAtNs = performance.now() * 1e6;
    const prevEpoch = this.#view.snapshot.epoch;
    const vu = await this.#view.update(frame.ts, frame);
    for (const ev of vu.events) {
      if (ev.type === 'epochChanged') this.#emit({ type: 'ViewEpochChanged', feedId: this.id, epoch: ev.epoch, cause: ev.cause });
      else if (ev.type === 'degraded') this.#emit({ type: 'ViewDegraded', feedId: this.id, reason: ev.reason, stabilityScore: ev.stabilityScore });
      else if (ev.type === 'compensationApplied') this.#emit({ type: 'ViewCompensationApplied', feedId: this.id, epoch: ev.epoch });
    }
    if (vu.snapshot.epoch !== prevEpoch) {
      this.#temporal.onEpochChange(prevEpoch, vu.snapshot.epoch);
      for (const s of this.#cfg.stages) {
        try { await s.onViewEpochChange?.(vu.snapshot.epoch); } catch (e) {
          if (!StageError.isInstance(e)) return { stageId: s.id, error: e };
          this.#emit({ type: 'StageError', feedId: this.id, stageId: s.id, error: e });
        }
      }
    }
    if (vu.compensation) this.#temporal.applyCompensation(vu.compensation, vu.snapshot.epoch);
    this.#temporal.beginFrame(frame.ts);
    const temporal = this.#temporal.snapshot();
    const r = await runStages(this.#cfg.stages, {
      feedId: this.id, frame, view: vu.snapshot, temporal, counters: this.#counters, signal: this.#abort.signal,
    });
    for (const rec of r.records) if (rec.outcome.kind !== 'skipped') this.#lastLatency.set(rec.stageId, rec.latencyNs);
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
    const include = this.#includeFrame();
    const out: OutputEnvelope = {
      feedId: this.id, seq: frame.seq, ts: frame.ts, wallTs: frame.wallTs, artifacts: r.artifacts, view: vu.snapshot,
      provenance: {
        stages: r.records,
        view: { motionSource: vu.motionSource, decision: vu.decision, epoch: vu.snapshot.epoch, version: vu.snapshot.version, stabilityScore: vu.snapshot.stabilityScore },
        receivedAtNs, completedAtNs, totalLatencyNs: completedAtNs - receivedAtNs, frameIncluded: include,
      },
      frame: include ? frame.retain() : undefined,
    };
    this.#enqueueOutput(out);
    return undefined;
  }

  #includeFrame(): boolean {
    const inc = this.#cfg.frameInclusion ?? 'never';
    const i = this.#frameIndex++;
    if (inc === 'never') return false;
    if (inc === 'always') return true;
    return i % inc.everyNth === 0;
  }

  #enqueueOutput(out: OutputEnvelope): void {
    if (!this.#cfg.sink) { out.frame?.release(); return; }
    if (this.#outputs.length >= this.#sinkCapacity) {
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
    const sink = this.#cfg.sink;
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

  #onSourceEvent(ev: import('@nv/frame').FrameSourceEvent): void {
    switch (ev.type) {
      case 'connected': this.#emit({ type: 'SourceConnected', feedId: this.id }); break;
      case 'disconnected': if (MediaError.isInstance(ev.error)) this.#emit({ type: 'SourceDisconnected', feedId: this.id, reason: ev.error }); break;
      case 'reconnecting': this.#emit({ type: 'SourceReconnecting', feedId: this.id, attempt: ev.attempt, delayMs: ev.delayMs }); break;
      case 'insecure': this.#emit({ type: 'InsecureRtspSource', feedId: this.id, redactedUrl: ev.redactedUrl }); break;
      case 'decoder':
        this.#emit({ type: 'DecodeDecision', feedId: this.id, outcome: ev.decoder ? (ev.hardware ? 'hardware' : 'software') : 'unknown', preference: 'auto', fallbackActive: false, fallbackReason: undefined, detail: ev.decoder ?? 'no decoder (raw source)' });
        break;
      case 'eos': break;
    }
  }
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
