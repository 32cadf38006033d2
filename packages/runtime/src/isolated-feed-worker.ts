/**
 * The worker thread of a worker-isolated feed (`FeedConfig.isolation`; protocol in
 * `isolation.ts`). Started by the main thread's `IsolatedFeed` with a {@link WorkerInit} as
 * `workerData`; runs only as built JavaScript (`dist/isolated-feed-worker.js`).
 *
 * Order of things: the heartbeat starts first (only `node:worker_threads` is imported
 * statically), so that a slow or hanging import is seen too; then the runtime's modules and the
 * user's module are imported, its export builds the stages, and one real `Feed` runs them with a
 * source built from the spec — wrapped to record, in the shared record buffer, each frame it
 * hands out (raw seq and ts), and with each stage wrapped to record the stage it is in and the
 * frame's feed-timeline seq and ts. Outputs go to the main thread as the feed's sink; health
 * events as they happen (`FeedStopped` excepted: the main thread reports it).
 *
 * @internal
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HealthEvent, NvError, StopReason } from '@nv/core';
import type { FrameSource } from '@nv/frame';
import type { Stage, StageContext } from '@nv/perception';
import type { FeedConfig } from './config.js';
import type { FeedDiagnostics } from './diagnostics.js';
import type { IsolatedFeedParts, FromWorker, ToWorker, WorkerInit } from './isolation.js';
import type { OutputSink } from './output.js';

const port = parentPort;
if (!port) throw new Error('isolated-feed-worker runs only as the worker thread of an isolated feed');
const init = workerData as WorkerInit;

let diagnostics: (() => FeedDiagnostics) | undefined;
function post(m: FromWorker, transfer?: ArrayBuffer[]): void { port!.postMessage(m, transfer); }
const heartbeat = setInterval(() => { post(diagnostics ? { t: 'hb', d: diagnostics() } : { t: 'hb' }); }, init.heartbeatMs);
post({ t: 'hb' });

/** What the main thread asked for before the feed existed, and the feed once it does. */
const ctl: {
  feed: { stop(reason: StopReason, timeoutMs?: number): Promise<void>; pause(): boolean; resume(): boolean } | undefined;
  stop: Extract<ToWorker, { t: 'stop' }> | undefined;
  paused: boolean;
  inflight: number;
  waiting: (() => void)[];
} = { feed: undefined, stop: undefined, paused: init.paused, inflight: 0, waiting: [] };

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'stop': ctl.stop ??= m; void ctl.feed?.stop(m.reason, m.timeoutMs); break;
    case 'pause': ctl.paused = true; ctl.feed?.pause(); break;
    case 'resume': ctl.paused = false; ctl.feed?.resume(); break;
    case 'ack':
      ctl.inflight = Math.max(0, ctl.inflight - m.n);
      while (ctl.inflight < init.sinkCredits && ctl.waiting.length > 0) ctl.waiting.shift()!();
      break;
    default: break;
  }
});

const i32 = new Int32Array(init.record, 0, 4);
const f64 = new Float64Array(init.record, 16, 4);
// Layout: see REC in isolation.ts (kept literal here: this file imports nothing before the heartbeat runs).
const TAKEN = 0, IN_FRAME = 1, STAGE = 2, FEED_FOR = 3, RAW_TS = 0, RAW_SEQ = 1, FEED_SEQ = 2, FEED_TS = 3;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function describe(e: unknown): string {
  try { return e instanceof Error ? e.message : String(e); } catch { return 'an unprintable error'; }
}

/** The source, recording each frame it hands out (raw values) and when the feed asks for the next. */
function recorded(inner: FrameSource): FrameSource {
  const between = (): void => { Atomics.store(i32, IN_FRAME, 0); };
  return {
    specificationVersion: 'v1',
    next: () => {
      between();
      return inner.next().then((f) => {
        if (f) {
          f64[RAW_TS] = f.ts;
          f64[RAW_SEQ] = f.seq;
          Atomics.add(i32, TAKEN, 1);
          Atomics.store(i32, IN_FRAME, 1);
        }
        return f;
      });
    },
    stop: () => { between(); return inner.stop(); },
    ...(inner.resumeAfter ? { resumeAfter: (ts) => inner.resumeAfter!(ts) } : {}),
    ...(inner.start ? { start: () => inner.start!() } : {}),
    ...(inner.pause ? { pause: () => inner.pause!() } : {}),
    ...(inner.resume ? { resume: () => inner.resume!() } : {}),
    ...(inner.onEvent ? { onEvent: (l) => inner.onEvent!(l) } : {}),
    ...(inner.stats ? { stats: () => inner.stats!() } : {}),
  } satisfies FrameSource;
}

/** The stage, recording that its `process` runs (and the frame's feed-timeline seq and ts, at its first stage). */
function recordedStage(stage: Stage, index: number): Stage {
  const n = index + 1;
  const leave = (): void => { Atomics.compareExchange(i32, STAGE, n, 0); };
  const process = (ctx: StageContext): ReturnType<Stage['process']> => {
    const taken = Atomics.load(i32, TAKEN);
    if (Atomics.load(i32, FEED_FOR) !== taken) {
      f64[FEED_SEQ] = ctx.frame.seq;
      f64[FEED_TS] = ctx.frame.ts;
      Atomics.store(i32, FEED_FOR, taken);
    }
    Atomics.store(i32, STAGE, n);
    let out: ReturnType<Stage['process']>;
    try { out = stage.process(ctx); } catch (e) { leave(); throw e; }
    if (isThenable(out)) return Promise.resolve(out).finally(leave);
    leave();
    return out;
  };
  return new Proxy(stage, {
    get(target, key) {
      if (key === 'process') return process;
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function start(): Promise<void> {
  const [core, media, config, feedModule, iso] = await Promise.all([
    import('@nv/core'), import('@nv/media'), import('./config.js'), import('./feed.js'), import('./isolation.js'),
  ]);
  const fatal = (e: unknown): void => {
    const err = core.NvError.isInstance(e) ? e : core.RuntimeError.workerStartFailed(`isolated feed: ${describe(e)}`, e);
    post({ t: 'fatal', error: iso.encodeWire(err) });
    clearInterval(heartbeat);
  };
  const label = init.moduleLabel;
  const exp = init.exportName;
  let mod: Record<string, unknown>;
  try {
    mod = await import(init.module) as Record<string, unknown>;
  } catch (e) {
    fatal(core.RuntimeError.workerStartFailed(`cannot load isolation module ${label}: ${describe(e)}`, e));
    return;
  }
  const fn = mod[exp];
  if (typeof fn !== 'function') {
    fatal(core.ConfigError.invalidPolicy(`isolation module ${label} has no function export '${exp}' (${fn === undefined ? 'missing' : `it is a ${typeof fn}`})`, 'isolation.export'));
    return;
  }
  let parts: IsolatedFeedParts;
  try {
    parts = await (fn as (o: unknown, c: unknown) => IsolatedFeedParts | Promise<IsolatedFeedParts>)(init.options, {
      feedId: core.feedId(init.feedId), name: init.name, workerRestarts: init.incarnation,
    });
  } catch (e) {
    fatal(core.NvError.isInstance(e) ? e as NvError : core.RuntimeError.workerStartFailed(`isolation module ${label}: '${exp}' threw: ${describe(e)}`, e));
    return;
  }
  const where = `isolation module ${label} ('${exp}')`;
  if (parts === null || typeof parts !== 'object') {
    fatal(core.ConfigError.invalidPolicy(`${where} must return { stages } or { pipeline }, not ${parts === null ? 'null' : typeof parts}`, 'isolation.module'));
    return;
  }
  let stages: readonly Stage[];
  if ((parts.stages === undefined) === (parts.pipeline === undefined)) {
    fatal(core.ConfigError.invalidPolicy(`${where} must return exactly one of stages and pipeline`, 'isolation.module'));
    return;
  }
  if (parts.pipeline !== undefined) {
    const p = parts.pipeline;
    if (p === null || typeof p !== 'object' || !Array.isArray(p.pre) || !Array.isArray(p.post)) {
      fatal(core.ConfigError.invalidPolicy(`${where}: pipeline must be built with FeedPipeline.builder()`, 'pipeline'));
      return;
    }
    if (p.batch !== undefined) {
      fatal(core.ConfigError.invalidPolicy(`${where}: an isolated feed cannot use a shared batch point (batch processors run on the main thread)`, 'pipeline.batch'));
      return;
    }
    if (p.parallel !== undefined) {
      // The stage slot in the record buffer holds one frame at a time; a parallel head has several in flight.
      fatal(core.ConfigError.invalidPolicy(`${where}: pipeline.parallel: parallel pipelines do not run in isolated feeds yet (build the pipeline without parallel(...))`, 'pipeline.parallel'));
      return;
    }
    stages = [...p.pre, ...p.post];
  } else {
    if (!Array.isArray(parts.stages)) {
      fatal(core.ConfigError.invalidPolicy(`${where}: stages must be an array of stages`, 'stages'));
      return;
    }
    stages = parts.stages;
  }
  if (ctl.stop) { post({ t: 'done', d: emptyDiagnostics(), reason: ctl.stop.reason }); clearInterval(heartbeat); return; }

  /**
   * Sends one output to the main thread; it takes a credit only once it was posted. One that
   * cannot cross (its encoding throws, or `postMessage` does: a `DataCloneError`) is dropped and
   * reported instead (`undeliverable`: main counts it in `outputsDropped`, emits `SinkPanic`).
   */
  const send = (out: Parameters<OutputSink['emit']>[0]): void => {
    try {
      const { o, f, transfer } = iso.encodeOutput(out);
      post(f ? { t: 'out', o, f } : { t: 'out', o }, transfer);
    } catch (e) {
      const src = out.provenance.source;
      let detail = describe(e);
      try { if (e instanceof Error && e.name !== 'Error' && !detail.startsWith(e.name)) detail = `${e.name}: ${detail}`; } catch { /* the message alone */ }
      post({ t: 'undeliverable', seq: out.seq, ts: out.ts, mediaTs: src.mediaTs, mediaSeq: src.mediaSeq, detail });
      return;
    }
    ctl.inflight++;
  };
  const sink: OutputSink | undefined = init.hasSink ? {
    emit(out) {
      if (ctl.inflight < init.sinkCredits) { send(out); return; }
      // No credit: the main thread's queue is full. The feed's own bounded sink queue fills meanwhile.
      return new Promise<void>((resolve) => { ctl.waiting.push(() => { send(out); resolve(); }); });
    },
  } : undefined;
  const decodePref = init.config.media?.output?.decode ?? 'auto';
  const emit = (e: HealthEvent): void => {
    if (e.type === 'FeedStopped') return;
    if (e.type === 'DecodeDecision') {
      // The feed sees a factory source; the preference is the spec's.
      const fb = decodePref === 'preferHardware' && e.outcome !== 'hardware';
      e = { ...e, preference: decodePref, fallbackActive: fb, fallbackReason: fb ? 'no hardware decoder for this stream' : undefined };
    }
    post({ t: 'health', e: iso.encodeWire(e) });
  };
  let noFrameTimeoutMs = 0;
  const m = init.config.media ?? {};
  const source = (): FrameSource => {
    const ms = new media.MediaSource(init.config.source as ConstructorParameters<typeof media.MediaSource>[0], {
      feedId: init.feedId, backpressure: init.backpressure,
      ...(m.output ? { output: m.output } : {}), ...(m.reconnect ? { reconnect: m.reconnect } : {}),
      ...(m.customPipelinePolicy ? { customPipelinePolicy: m.customPipelinePolicy } : {}), ...(m.residency ? { residency: m.residency } : {}),
      ...(noFrameTimeoutMs > 0 ? { noFrameTimeoutMs } : {}),
    });
    // The previous worker's last frame: resume after it (until this worker has taken a frame; then the feed does).
    if (init.resumeAfterTs !== undefined && Atomics.load(i32, TAKEN) === 0) ms.resumeAfter(core.monotonicTs(init.resumeAfterTs));
    return recorded(ms);
  };
  let feed: InstanceType<typeof feedModule.Feed>;
  try {
    const cfg: FeedConfig = {
      ...init.config, source, stages: stages.map(recordedStage),
      ...(parts.viewProvider ? { viewProvider: parts.viewProvider } : {}), ...(parts.epochPolicy ? { epochPolicy: parts.epochPolicy } : {}),
      ...(sink ? { sink } : {}),
    };
    const resolved = config.resolveFeedConfig(cfg);
    noFrameTimeoutMs = resolved.noFrameTimeoutMs;
    feed = new feedModule.Feed(init.feedId, resolved, emit, core.realClock);
  } catch (e) {
    fatal(e);
    return;
  }
  ctl.feed = feed;
  diagnostics = () => feed.diagnostics();
  if (ctl.paused) feed.pause();
  post({ t: 'ready', stageIds: stages.map((s) => s.id), timeOrigin: performance.timeOrigin });
  const stopRequest = pendingStop(); // it may have come while the module loaded
  if (stopRequest) void feed.stop(stopRequest.reason, stopRequest.timeoutMs);
  await feed.done;
  post({ t: 'done', d: feed.diagnostics(), reason: feed.stopReason });
  clearInterval(heartbeat);
}

/** The main thread's stop request, if one came. */
function pendingStop(): Extract<ToWorker, { t: 'stop' }> | undefined { return ctl.stop; }

/** Diagnostics of a feed that never started (stopped while its module loaded). */
function emptyDiagnostics(): FeedDiagnostics {
  const latency = { boundsMs: [], counts: [0], count: 0, sumMs: 0, minMs: 0, maxMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, lastMs: 0 };
  return {
    id: init.feedId as FeedDiagnostics['id'], name: init.name, state: 'stopped', paused: ctl.paused, alive: false, sessionUptimeMs: 0,
    metrics: {
      feedId: init.feedId as FeedDiagnostics['id'], framesReceived: 0, framesDropped: 0, framesProcessed: 0, framesFailed: 0, framesTimedOut: 0, outputsEmitted: 0,
      outputsDropped: 0, sinkErrors: 0, restarts: 0, tracksActive: 0, viewEpoch: 0, stages: {}, pipelineLatency: latency,
    },
    queues: { sourceDepth: 0, sourceCapacity: 0, sinkDepth: 0, sinkCapacity: init.sinkCredits }, decode: undefined,
    view: { epoch: 0, version: 0, validity: 'valid', stabilityScore: 1, pollTimeouts: 0 }, batchProcessorId: undefined, lastError: undefined, stopReason: undefined,
  };
}

start().catch((e: unknown) => {
  post({ t: 'fatal', error: { __nv$: 'jserr', n: 'Error', m: `isolated feed worker failed: ${describe(e)}` } });
  clearInterval(heartbeat);
});

