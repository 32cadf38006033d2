/**
 * `Runtime`: owns feeds, their health events and an orderly, draining shutdown.
 */
import { InvalidArgumentError, RuntimeError, type FeedId, type HealthEvent } from '@nv/core';
import { Feed, type FeedConfig, type FeedMetricsSnapshot, type FeedState } from './feed.js';
import { HealthBus, type HealthSubscription } from './health-bus.js';

/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** Most feeds at once (default 64). */
  readonly maxFeeds?: number;
  /** Buffer of each health subscription (default 256; oldest dropped and counted when full). */
  readonly healthCapacity?: number;
}

/** A handle on a running feed. */
export interface FeedHandle {
  readonly id: FeedId;
  /** Current lifecycle state. */
  state(): FeedState;
  /** Counters (received, processed, failed, outputs, restarts, per-stage). */
  metrics(): FeedMetricsSnapshot;
  /** Source and sink queue depth and capacity. */
  queueTelemetry(): { sourceDepth: number; sourceCapacity: number; sinkDepth: number; sinkCapacity: number };
  /** Milliseconds since the current session started. */
  sessionUptimeMs(): number;
  /** State, view summary, last error, stop reason. */
  diagnostics(): FeedDiagnostics;
  /** Draining stop of this feed. */
  stop(): Promise<void>;
  /** Resolves when the feed has stopped and delivered its outputs. */
  readonly done: Promise<void>;
}

/** A feed's diagnostic summary. */
export interface FeedDiagnostics {
  readonly id: FeedId;
  readonly state: FeedState;
  readonly metrics: FeedMetricsSnapshot;
  readonly queues: ReturnType<FeedHandle['queueTelemetry']>;
  readonly view: { readonly epoch: number; readonly version: number; readonly validity: string; readonly stabilityScore: number };
  readonly lastError: string | undefined;
  readonly stopReason: string | undefined;
}

/**
 * The nv runtime.
 *
 * @example
 * ```ts
 * const rt = new Runtime();
 * const feed = rt.addFeed({
 *   source: () => new MediaSource({ kind: 'file', path: 'clip.mp4' }, { backpressure: { kind: 'block' } }),
 *   cameraMode: 'fixed',
 *   stages: [detector, tracker],
 *   sink: { emit: (out) => console.log(out.seq, out.artifacts.tracks.length) },
 * });
 * await feed.done;
 * await rt.shutdown();
 * ```
 */
export class Runtime {
  readonly #feeds = new Map<FeedId, Feed>();
  readonly #bus: HealthBus;
  readonly #maxFeeds: number;
  readonly #started = performance.now();
  #nextId = 1;
  #shuttingDown = false;

  /** @throws {InvalidArgumentError} on non-positive limits */
  constructor(options: RuntimeOptions = {}) {
    this.#maxFeeds = options.maxFeeds ?? 64;
    const cap = options.healthCapacity ?? 256;
    if (!Number.isInteger(this.#maxFeeds) || this.#maxFeeds < 1) throw new InvalidArgumentError('maxFeeds', 'a positive integer', this.#maxFeeds);
    if (!Number.isInteger(cap) || cap < 1) throw new InvalidArgumentError('healthCapacity', 'a positive integer', cap);
    this.#bus = new HealthBus(cap);
  }

  /**
   * Validates and starts a feed.
   * @throws {ConfigError} on an invalid config (camera mode conflict, missing fields, bad capacities)
   * @throws {RuntimeError} `FeedLimitExceeded`, `ShutdownInProgress`
   */
  addFeed(config: FeedConfig): FeedHandle {
    if (this.#shuttingDown) throw RuntimeError.shutdownInProgress();
    if (this.#feeds.size >= this.#maxFeeds) throw RuntimeError.feedLimitExceeded(this.#maxFeeds);
    const id = this.#nextId;
    const feed = new Feed(id, config, (e) => this.#bus.emit(e));
    this.#nextId++;
    this.#feeds.set(feed.id, feed);
    return this.#handle(feed);
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

  /** Listener for every health event. @returns unsubscribe */
  onHealth(listener: (e: HealthEvent) => void): () => void { return this.#bus.on(listener); }
  /** Bounded async iterator of health events from now on. */
  health(): HealthSubscription { return this.#bus.subscribe(); }

  /** Milliseconds since the runtime was created. */
  uptimeMs(): number { return performance.now() - this.#started; }

  /** Every feed's diagnostics. */
  diagnostics(): { uptimeMs: number; feeds: FeedDiagnostics[] } {
    return { uptimeMs: this.uptimeMs(), feeds: [...this.#feeds.values()].map((f) => this.#handle(f).diagnostics()) };
  }

  /**
   * Stops every feed, draining: in-flight frames complete, stages stop, every buffered output
   * reaches its sink. After `timeoutMs` (default 10 s) the stragglers are abandoned (a
   * `SinkTimeout` event each) and shutdown returns. Idempotent.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#shuttingDown = true;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const feeds = [...this.#feeds.values()];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    const all = Promise.all(feeds.map((f) => f.stop()));
    const r = await Promise.race([all.then(() => 'ok' as const), timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') for (const f of feeds) if (f.state !== 'stopped') this.#bus.emit({ type: 'SinkTimeout', feedId: f.id });
    this.#bus.closeAll();
  }

  #handle(f: Feed): FeedHandle {
    return {
      id: f.id,
      state: () => f.state,
      metrics: () => f.metrics(),
      queueTelemetry: () => f.queueTelemetry(),
      sessionUptimeMs: () => f.sessionUptimeMs,
      stop: () => f.stop(),
      done: f.done,
      diagnostics: () => ({
        id: f.id, state: f.state, metrics: f.metrics(), queues: f.queueTelemetry(),
        view: { epoch: f.view.epoch, version: f.view.version, validity: f.view.validity.kind, stabilityScore: f.view.stabilityScore },
        lastError: f.lastError, stopReason: f.stopReason?.kind,
      }),
    };
  }
}
