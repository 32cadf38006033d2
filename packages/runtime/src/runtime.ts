/**
 * `Runtime`: owns feeds and shared batch processors, their health events, diagnostics and an
 * orderly, draining shutdown.
 */
import {
  ConfigError, InvalidArgumentError, RuntimeError, parseSourceSpec, isInsecureRtsp, realClock,
  MediaError, type Clock, type ClockTimer, type FeedId, type HealthEvent, type QueueTelemetry, type StopReason,
} from '@nv/core';
import type { BatchProcessor } from '@nv/perception';
import { BatchCoordinator, resolveBatchConfig, type BatchConfig, type BatchHandle } from './batch.js';
import { resolveFeedConfig, type FeedConfig } from './config.js';
import type { FeedDiagnostics, FeedMetricsSnapshot, FeedState, RuntimeDiagnostics } from './diagnostics.js';
import { Feed } from './feed.js';
import { HealthBus, type HealthSubscription } from './health-bus.js';
import { IsolatedFeed } from './isolation.js';
import { DEFAULT_OUTPUT_CAPACITY, OutputBus, type OutputSubscription, type OutputSubscriptionOptions } from './output-bus.js';
import type { OutputEnvelope } from './output.js';

/** What the runtime uses of a feed: a main-thread `Feed`, or an `IsolatedFeed` (source and stages in a worker). */
interface RuntimeFeed {
  readonly id: FeedId;
  readonly name: string | undefined;
  readonly state: FeedState;
  readonly paused: boolean;
  readonly sessionUptimeMs: number;
  readonly done: Promise<void>;
  pause(): boolean;
  resume(): boolean;
  metrics(): FeedMetricsSnapshot;
  queueTelemetry(): QueueTelemetry;
  diagnostics(): FeedDiagnostics;
  stop(reason?: StopReason, timeoutMs?: number): Promise<void>;
}

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** Most feeds at once, stopped-but-not-removed included (default 64). */
  readonly maxFeeds?: number;
  /** Buffer of each health subscription (default 256; oldest dropped and counted when full). */
  readonly healthCapacity?: number;
  /**
   * The host clock everything timer-driven reads and schedules with: each feed's no-frame
   * watchdog, throttled health events, stage and view-poll deadlines, restart delays and windows,
   * stop and shutdown timeouts, and the batch coordinators' timers; stage latencies and
   * provenance times too. Default {@link realClock} (`performance.now()` and host timers). Tests
   * pass a `ManualClock` (`@nv/core`) and move time themselves.
   * @example
   * ```ts
   * const clock = new ManualClock();
   * const rt = new Runtime({ clock });
   * clock.advance(2000); // a 2 s restart delay is over
   * ```
   */
  readonly clock?: Clock;
}

/** A handle on a running feed. */
export interface FeedHandle {
  /** The feed's id. */
  readonly id: FeedId;
  /** The feed's display name (`FeedConfig.name`), when it has one. */
  readonly name?: string | undefined;
  /** Current lifecycle state. */
  state(): FeedState;
  /** Whether the feed has not stopped yet. */
  isAlive(): boolean;
  /** Whether the feed is paused. */
  isPaused(): boolean;
  /**
   * Stops taking frames and pauses the source (a live source keeps its connection; its bounded
   * queue applies the backpressure policy meanwhile). The no-frame watchdog is off while paused.
   * @throws {RuntimeError} `AlreadyPaused`
   */
  pause(): void;
  /**
   * Resumes after {@link FeedHandle.pause}.
   * @throws {RuntimeError} `NotPaused`
   */
  resume(): void;
  /** Counters (received, dropped, processed, failed, outputs, restarts, per-stage latency). */
  metrics(): FeedMetricsSnapshot;
  /** Source and sink queue depth and capacity (source 0/0 between sessions). */
  queueTelemetry(): QueueTelemetry;
  /** Milliseconds since the current session started (resets on restart). */
  sessionUptimeMs(): number;
  /** State, decode status, view summary, last error, stop reason. */
  diagnostics(): FeedDiagnostics;
  /**
   * Draining stop of this feed: the frame in flight completes, stages stop, buffered outputs
   * reach the sink. Always returns within `timeoutMs` (default `FeedConfig.deadlines.stopTimeoutMs`,
   * 10 s) plus a short grace: at the timeout what the feed still waits for (a hung async stage,
   * `onStop`, the sink, the source) is abandoned and named in a `StopTimeout` event.
   */
  stop(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Resolves when the feed has stopped and delivered its outputs. */
  readonly done: Promise<void>;
}

/**
 * The nv runtime.
 *
 * @example
 * ```ts
 * const rt = new Runtime();
 * const feed = rt.addFeed({
 *   source: { kind: 'file', path: 'clip.mp4' },
 *   backpressure: { kind: 'block' },
 *   cameraMode: 'fixed',
 *   stages: [detector, tracker],
 *   sink: { emit: (out) => console.log(out.seq, out.artifacts.tracks.length) },
 * });
 * await feed.done;
 * await rt.shutdown();
 * ```
 */
export class Runtime {
  readonly #feeds = new Map<FeedId, RuntimeFeed>();
  readonly #batches = new Map<string, BatchCoordinator>();
  readonly #bus: HealthBus;
  readonly #outputs: OutputBus;
  readonly #maxFeeds: number;
  readonly #clock: Clock;
  readonly #started: number;
  #nextId = 1;
  #shuttingDown = false;
  #shutdown: Promise<void> | undefined;

  /** @throws {InvalidArgumentError} on non-positive limits or a clock without `now`/`setTimeout`/`clearTimeout` */
  constructor(options: RuntimeOptions = {}) {
    this.#maxFeeds = options.maxFeeds ?? 64;
    const cap = options.healthCapacity ?? 256;
    if (!Number.isInteger(this.#maxFeeds) || this.#maxFeeds < 1) throw new InvalidArgumentError('maxFeeds', 'a positive integer', this.#maxFeeds);
    if (!Number.isInteger(cap) || cap < 1) throw new InvalidArgumentError('healthCapacity', 'a positive integer', cap);
    const clock = options.clock ?? realClock;
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
      throw new InvalidArgumentError('clock', 'a Clock (now, setTimeout, clearTimeout)', clock);
    }
    this.#clock = clock;
    this.#started = clock.now();
    this.#bus = new HealthBus(cap);
    this.#outputs = new OutputBus((e) => this.#bus.emit(e), clock);
  }

  /** The configured feed limit. */
  get maxFeeds(): number { return this.#maxFeeds; }
  /** Feeds registered (stopped-but-not-removed included). */
  get feedCount(): number { return this.#feeds.size; }

  /**
   * Validates and starts a feed.
   * @throws {ConfigError} on an invalid config (camera mode conflict, missing fields, bad capacities, duplicate stage ids)
   * @throws {MediaError} `CustomPipelineRejected` / `InsecureRtspRejected` when the source spec is refused by policy
   * @throws {RuntimeError} `FeedLimitExceeded`, `ShutdownInProgress`; `WorkerStartFailed` for an isolated feed
   *   (`config.isolation`) when the built worker entry is missing (a failure of its module is the feed's
   *   `Fatal` stop reason instead, with the error's kind)
   */
  addFeed(config: FeedConfig): FeedHandle {
    if (this.#shuttingDown) throw RuntimeError.shutdownInProgress();
    if (this.#feeds.size >= this.#maxFeeds) throw RuntimeError.feedLimitExceeded(this.#maxFeeds);
    const resolved = resolveFeedConfig(config);
    if (resolved.batch && this.#batches.get(resolved.batch.processorId) !== resolved.batch) {
      throw ConfigError.invalidPolicy(`batch '${resolved.batch.processorId}' was not created by this runtime (use runtime.createBatch)`, 'pipeline.batch');
    }
    if (typeof config.source !== 'function') checkSourcePolicy(config);
    const emit = (e: HealthEvent): void => this.#bus.emit(e);
    const feed: RuntimeFeed = resolved.cfg.isolation !== undefined
      ? new IsolatedFeed(this.#nextId, resolved, emit, this.#clock, this.#outputs.publish)
      : new Feed(this.#nextId, resolved, emit, this.#clock, this.#outputs.publish);
    this.#nextId++;
    this.#feeds.set(feed.id, feed);
    return this.#handle(feed);
  }

  /**
   * Starts a shared batch processor: runs its `onStart` (bounded by `startupTimeoutMs`) and
   * returns the handle feeds use as their pipeline's batch point.
   * @throws {ConfigError} `DuplicateBatchProcessorId`, or an invalid config (field named)
   * @throws {RuntimeError} `WorkerStartFailed` when `onStart` throws or times out; `ShutdownInProgress`
   * @example
   * ```ts
   * const det = await runtime.createBatch(new DetectorBatch(model), { maxBatchSize: 4, maxLatencyMs: 20 });
   * runtime.addFeed({ source, cameraMode: 'fixed', pipeline: FeedPipeline.builder().batch(det).addStage(tracker).build() });
   * ```
   */
  async createBatch(processor: BatchProcessor, config: BatchConfig = {}): Promise<BatchHandle> {
    if (this.#shuttingDown) throw RuntimeError.shutdownInProgress();
    if (!processor || typeof processor.process !== 'function' || typeof processor.id !== 'string' || !processor.id) {
      throw new InvalidArgumentError('processor', 'a BatchProcessor with a non-empty id and process(entries)', processor);
    }
    if (this.#batches.has(processor.id)) throw ConfigError.duplicateBatchProcessorId(processor.id);
    const coord = new BatchCoordinator(processor, resolveBatchConfig(config), (e) => this.#bus.emit(e), this.#clock);
    this.#batches.set(processor.id, coord); // reserve the id while onStart runs
    try {
      await coord.start();
    } catch (e) {
      this.#batches.delete(processor.id);
      throw e;
    }
    if (this.#shuttingDown) {
      await coord.stop();
      this.#batches.delete(processor.id);
      throw RuntimeError.shutdownInProgress();
    }
    return coord;
  }

  /**
   * Stops (draining) and forgets a feed.
   * @throws {RuntimeError} `FeedNotFound`
   */
  async removeFeed(id: FeedId): Promise<void> {
    const f = this.#feeds.get(id);
    if (!f) throw RuntimeError.feedNotFound(id);
    await f.stop();
    this.#feeds.delete(id);
  }

  /** The handle of a registered feed, if any. */
  feed(id: FeedId): FeedHandle | undefined {
    const f = this.#feeds.get(id);
    return f ? this.#handle(f) : undefined;
  }

  /** Listener for every health event (called synchronously; exceptions are swallowed). @returns unsubscribe */
  onHealth(listener: (e: HealthEvent) => void): () => void { return this.#bus.on(listener); }
  /** Bounded async iterator of health events from now on. */
  health(): HealthSubscription { return this.#bus.subscribe(); }

  /**
   * A bounded async iterator over every feed's outputs (or only `options.feeds`'), from now on:
   * the envelope each sink gets, in frame order per feed, without its frame (`frame` is always
   * `undefined`: the runtime releases frames after the sink). An output is published when its
   * feed has built it, before the feed's sink queue, so a slow sink does not delay subscribers
   * and a slow subscriber never delays a feed or its sink; an output the sink queue drops
   * (`SinkBackpressure`) still reaches subscribers. An isolated feed (`FeedConfig.isolation`)
   * publishes each output when it reaches the main thread; its sink credits tie that to the
   * sink's queue having room.
   *
   * Bounded: past `capacity` buffered outputs the oldest is dropped and counted
   * ({@link OutputSubscription.lost}, `diagnostics().outputsLost`), reported as an `OutputLagged`
   * health event once per lag episode — when the subscriber next reads, at most once a second
   * while it keeps losing without reading, and the rest when it ends — whose `messagesLost` add
   * up to `lost` (details on {@link OutputSubscription}). `close()` ends it at once;
   * {@link Runtime.shutdown} ends it after every feed has drained, once what it buffered is read.
   * A subscription made after shutdown is already ended.
   *
   * @param options - `capacity` (default 256, a positive integer), `feeds` (a filter; default
   *   every feed, later ones included), `name` (carried by its `OutputLagged` events)
   * @throws {InvalidArgumentError} on a bad capacity, feed list or name
   * @example
   * ```ts
   * // Server-sent events: every feed's tracks, pixel-free, without touching the feeds' sinks.
   * const outputs = runtime.outputs({ capacity: 512, name: 'sse' });
   * req.on('close', () => outputs.close());
   * for await (const o of outputs) {
   *   res.write(`data: ${JSON.stringify({ feed: o.feedId, seq: o.seq, tracks: o.artifacts.tracks.length })}\n\n`);
   * }
   * if (outputs.lost > 0) console.warn(`sse lagged: ${outputs.lost} outputs lost`);
   * ```
   */
  outputs(options: OutputSubscriptionOptions = {}): OutputSubscription {
    const capacity = options.capacity ?? DEFAULT_OUTPUT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidArgumentError('capacity', 'a positive integer', capacity);
    const feeds = options.feeds;
    if (feeds !== undefined && (!Array.isArray(feeds) || !feeds.every((f) => Number.isInteger(f) && f > 0))) {
      throw new InvalidArgumentError('feeds', 'an array of feed ids', feeds);
    }
    const name = options.name;
    if (name !== undefined && typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', name);
    return this.#outputs.subscribe(capacity, feeds, name);
  }

  /**
   * Listener for every feed's outputs (the same frameless copies {@link Runtime.outputs} yields),
   * called synchronously as each is published; exceptions are swallowed and never reach a feed.
   * Keep it cheap: it runs on the feed's path. Unbounded by nature (nothing is buffered); listeners
   * are dropped at shutdown, after every feed has drained (one added later is never called).
   * @returns unsubscribe
   */
  onOutput(listener: (o: OutputEnvelope) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', 'a function', listener);
    return this.#outputs.on(listener);
  }

  /** Milliseconds since the runtime was created. */
  uptimeMs(): number { return this.#clock.now() - this.#started; }

  /** Every feed's and batch processor's diagnostics, at one instant. */
  diagnostics(): RuntimeDiagnostics {
    return {
      uptimeMs: this.uptimeMs(),
      feedCount: this.#feeds.size,
      maxFeeds: this.#maxFeeds,
      feeds: [...this.#feeds.values()].sort((a, b) => a.id - b.id).map((f) => f.diagnostics()),
      batches: [...this.#batches.values()].map((b) => b.diagnostics()),
      healthEventsDropped: this.#bus.lost,
      outputSubscribers: this.#outputs.subscribers,
      outputsLost: this.#outputs.lost,
    };
  }

  /**
   * Stops every feed, draining: in-flight frames complete, stages stop, every buffered output
   * reaches its sink; then batch processors stop. Returns within `timeoutMs` (default 10 s) plus
   * a short grace: at the timeout each feed abandons what it still waits for, named in a
   * `StopTimeout` event (a hung stage, `onStop`, the source; a sink also gets `SinkTimeout`), and
   * batch processors still busy are left to finish on their own. Idempotent. Once every feed has
   * stopped, output subscriptions ({@link Runtime.outputs}) end: each still yields what it had
   * buffered, then is done; `onOutput` listeners are dropped.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#shutdown ??= this.#doShutdown(options.timeoutMs ?? 10_000);
    return this.#shutdown;
  }

  async #doShutdown(timeoutMs: number): Promise<void> {
    this.#shuttingDown = true;
    const clock = this.#clock;
    const deadline = clock.now() + timeoutMs;
    const feeds = [...this.#feeds.values()];
    await Promise.all(feeds.map((f) => f.stop({ kind: 'UserRequested' }, timeoutMs)));
    // Every feed has drained: nothing more is published. Before the health bus closes, so that the
    // subscriptions' last `OutputLagged` events are delivered.
    this.#outputs.end();
    let timer: ClockTimer | undefined;
    const left = Math.max(0, deadline - clock.now());
    const batches = Promise.all([...this.#batches.values()].map((b) => b.stop().catch(() => undefined)));
    await Promise.race([batches, new Promise<void>((r) => { timer = clock.setTimeout(r, left); })]);
    clock.clearTimeout(timer);
    this.#bus.closeAll();
  }

  #handle(f: RuntimeFeed): FeedHandle {
    return {
      id: f.id,
      name: f.name,
      state: () => f.state,
      isAlive: () => f.state !== 'stopped',
      isPaused: () => f.paused,
      pause: () => { if (!f.pause()) throw RuntimeError.alreadyPaused(f.id); },
      resume: () => { if (!f.resume()) throw RuntimeError.notPaused(f.id); },
      metrics: () => f.metrics(),
      queueTelemetry: () => f.queueTelemetry(),
      sessionUptimeMs: () => f.sessionUptimeMs,
      stop: (options) => f.stop({ kind: 'UserRequested' }, options?.timeoutMs),
      done: f.done,
      diagnostics: () => f.diagnostics(),
    };
  }
}

/** Refuses, at `addFeed`, source specs that policy would refuse anyway. */
function checkSourcePolicy(config: FeedConfig): void {
  const spec = parseSourceSpec(config.source);
  if (spec.kind === 'custom' && (config.media?.customPipelinePolicy ?? 'reject') !== 'allowTrusted') throw MediaError.customPipelineRejected();
  if (spec.kind === 'rtsp' && spec.security === 'requireTls' && isInsecureRtsp(spec.url)) throw MediaError.insecureRtspRejected(spec.url);
}
