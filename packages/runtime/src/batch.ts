/**
 * The batch coordinator: one {@link BatchProcessor} (e.g. a detector session) shared by many
 * feeds. Feeds submit one frame each and await its result; the coordinator forms batches in
 * arrival order (FIFO across feeds) up to `maxBatchSize`, or whatever has arrived after
 * `maxLatencyMs`, and calls `process` with one batch at a time, never concurrently.
 *
 * Bounds: the submission queue holds at most `queueCapacity` items (full → the submit is
 * rejected, never blocks); each feed has at most `maxInFlightPerFeed` items submitted and not
 * finished; a feed waits at most `maxLatencyMs + responseTimeoutMs` for its result, after
 * which that frame fails with a timeout (the item stays counted in flight until the processor
 * is done with it, so a stuck processor throttles the feed instead of piling up work).
 */
import { ConfigError, RuntimeError, StageError, parseConfig, realClock, type BatchMetrics, type Clock, type ClockTimer, type FeedId, type HealthEvent } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { BatchEntry, BatchProcessor, StageCapabilities, StageOutput } from '@nv/perception';
import type { ViewSnapshot } from '@nv/view';
import { z } from 'zod';
import type { BatchDiagnostics } from './diagnostics.js';
import { LatencyHistogram } from './latency.js';

/** Schema of {@link BatchConfig} (JSON-compatible; every field optional). */
export const BatchConfigSchema = z.strictObject({
  /** Most frames per `process` call (default 4). */
  maxBatchSize: z.int().min(1).max(1024).default(4),
  /** Longest wait for a batch to fill, from its first item's arrival (default 50 ms). */
  maxLatencyMs: z.number().positive().max(60_000).default(50),
  /** Bound of the submission queue (default `max(4, 4 × maxBatchSize)`); must be ≥ maxBatchSize. */
  queueCapacity: z.int().min(1).optional(),
  /** How long a feed waits for its result beyond `maxLatencyMs` (default 5000 ms). */
  responseTimeoutMs: z.number().positive().default(5000),
  /** Items a feed may have submitted and unfinished at once (default 1). */
  maxInFlightPerFeed: z.int().min(1).default(1),
  /** Longest the processor's `onStart` may take (default 30 000 ms). */
  startupTimeoutMs: z.number().positive().default(30_000),
});

/** Batch settings; see {@link BatchConfigSchema} for defaults. */
export type BatchConfig = z.input<typeof BatchConfigSchema>;
/** Batch settings with defaults applied. */
export type ResolvedBatchConfig = Required<z.output<typeof BatchConfigSchema>>;

/**
 * Validates a batch config and applies defaults.
 * @throws {ConfigError} naming the offending field
 */
export function resolveBatchConfig(input: BatchConfig = {}): ResolvedBatchConfig {
  const c = parseConfig(BatchConfigSchema, input, 'batch config', 'batch');
  const queueCapacity = c.queueCapacity ?? Math.max(4, 4 * c.maxBatchSize);
  if (queueCapacity < c.maxBatchSize) throw ConfigError.invalidPolicy(`queueCapacity (${queueCapacity}) must be >= maxBatchSize (${c.maxBatchSize})`, 'batch.queueCapacity');
  return { ...c, queueCapacity };
}

/** Why a submission produced no output. */
export type BatchFailureReason = 'queueFull' | 'inFlightCap' | 'timeout' | 'failed' | 'shutdown';

/** Result of {@link BatchHandle.submit}. */
export type BatchResult =
  | { readonly ok: true; readonly output: StageOutput }
  | { readonly ok: false; readonly reason: BatchFailureReason; readonly error: StageError };

/** A shared batch processor, as feeds and users see it. Create with `runtime.createBatch`. */
export interface BatchHandle {
  /** The processor's id (also its step id in feed provenance). */
  readonly processorId: string;
  /** The processor's declared capabilities (for pipeline validation). */
  readonly capabilities: StageCapabilities | undefined;
  /**
   * The batch point's deadline in ms (`maxLatencyMs + responseTimeoutMs`): a frame without a
   * result by then is dropped (`StageTimeout` with the processor id on the feed, `BatchTimeout`).
   */
  readonly deadlineMs: number;
  /** Frames one feed may have submitted and not yet answered (`BatchConfig.maxInFlightPerFeed`). */
  readonly maxInFlightPerFeed: number;
  /** Counters and averages. */
  metrics(): BatchMetrics;
  /** Counters plus queue state and processing latency. */
  diagnostics(): BatchDiagnostics;
  /**
   * Submits one frame and resolves with its output or the reason it has none. Never rejects.
   * The coordinator retains the frame while it needs it. Used by the feed executor; call it
   * yourself only to drive a processor outside a feed.
   * @throws {FrameAccessError} (synchronously) when `frame` was already released — a caller bug; nothing is queued
   */
  submit(feedId: FeedId, frame: FrameEnvelope, view: ViewSnapshot): Promise<BatchResult>;
}

interface Item {
  readonly feedId: FeedId;
  readonly frame: FrameEnvelope;
  readonly view: ViewSnapshot;
  readonly at: number;
  settled: boolean;
  timer: ClockTimer | undefined;
  resolve: (r: BatchResult) => void;
}

const OUTPUT_EMPTY: StageOutput = Object.freeze({});

/** @internal The coordinator behind a {@link BatchHandle}. */
export class BatchCoordinator implements BatchHandle {
  readonly processorId: string;
  readonly capabilities: StageCapabilities | undefined;
  readonly config: ResolvedBatchConfig;
  readonly #processor: BatchProcessor;
  readonly #emit: (e: HealthEvent) => void;
  readonly #queue: Item[] = [];
  readonly #inFlight = new Map<FeedId, number>();
  readonly #latency = new LatencyHistogram();
  readonly #clock: Clock;
  #formTimer: ClockTimer | undefined;
  #processing: Promise<void> | undefined;
  #closed = false;
  #lastBatchErrorAt = -Infinity;
  #m = { batches: 0, processed: 0, submitted: 0, rejected: 0, timedOut: 0, procNs: 0, formNs: 0, consecutiveErrors: 0, abandoned: 0 };

  /**
   * @param processor - the shared processor
   * @param config - resolved settings
   * @param emit - where health events go
   * @param clock - time of batch formation, result deadlines, the startup timeout and the `BatchError` throttle
   */
  constructor(processor: BatchProcessor, config: ResolvedBatchConfig, emit: (e: HealthEvent) => void, clock: Clock = realClock) {
    this.#clock = clock;
    this.#processor = processor;
    this.processorId = processor.id;
    this.capabilities = processor.capabilities;
    this.config = config;
    this.#emit = emit;
  }

  /** {@inheritDoc BatchHandle.deadlineMs} */
  get deadlineMs(): number { return this.config.maxLatencyMs + this.config.responseTimeoutMs; }
  /** {@inheritDoc BatchHandle.maxInFlightPerFeed} */
  get maxInFlightPerFeed(): number { return this.config.maxInFlightPerFeed; }

  /**
   * Runs the processor's `onStart`, bounded by `startupTimeoutMs`.
   * @throws {RuntimeError} `WorkerStartFailed` when it throws or takes too long
   */
  async start(): Promise<void> {
    let timer: ClockTimer | undefined;
    const clock = this.#clock;
    try {
      await Promise.race([
        Promise.resolve().then(() => this.#processor.onStart?.()),
        new Promise((_, reject) => { timer = clock.setTimeout(() => reject(new Error(`onStart did not finish within ${this.config.startupTimeoutMs} ms`)), this.config.startupTimeoutMs); }),
      ]);
    } catch (e) {
      this.#closed = true;
      throw RuntimeError.workerStartFailed(`batch processor '${this.processorId}': ${e instanceof Error ? e.message : String(e)}`, e);
    } finally {
      clock.clearTimeout(timer);
    }
  }

  submit(feedId: FeedId, frame: FrameEnvelope, view: ViewSnapshot): Promise<BatchResult> {
    this.#m.submitted++;
    if (this.#closed) {
      this.#m.rejected++;
      return Promise.resolve(fail('shutdown', StageError.tagged(this.processorId, 'coordinator-shutdown', 'batch coordinator is shut down')));
    }
    const inflight = this.#inFlight.get(feedId) ?? 0;
    if (inflight >= this.config.maxInFlightPerFeed) {
      this.#m.rejected++;
      return Promise.resolve(fail('inFlightCap', StageError.resourceExhausted(this.processorId, `feed-${feedId} already has ${inflight} frame(s) in flight (max ${this.config.maxInFlightPerFeed})`)));
    }
    if (this.#queue.length >= this.config.queueCapacity) {
      this.#m.rejected++;
      return Promise.resolve(fail('queueFull', StageError.resourceExhausted(this.processorId, `batch queue full (${this.config.queueCapacity})`)));
    }
    const held = frame.retain(); // throws for a released frame, before any slot is taken
    this.#inFlight.set(feedId, inflight + 1);
    return new Promise<BatchResult>((resolve) => {
      const item: Item = { feedId, frame: held, view, at: this.#clock.now(), settled: false, timer: undefined, resolve };
      item.timer = this.#clock.setTimeout(() => {
        if (item.settled) return;
        item.settled = true;
        this.#m.timedOut++;
        resolve(fail('timeout', StageError.processingFailed(this.processorId, `no batch result within ${this.config.maxLatencyMs + this.config.responseTimeoutMs} ms`)));
      }, this.config.maxLatencyMs + this.config.responseTimeoutMs);
      this.#queue.push(item);
      this.#schedule();
    });
  }

  metrics(): BatchMetrics {
    const m = this.#m;
    const b = m.batches;
    return {
      batchesDispatched: b,
      itemsProcessed: m.processed,
      itemsSubmitted: m.submitted,
      itemsRejected: m.rejected,
      itemsTimedOut: m.timedOut,
      avgFillRatio: b ? m.processed / b / this.config.maxBatchSize : undefined,
      avgProcessingMs: b ? m.procNs / b / 1e6 : undefined,
      avgFormationMs: b ? m.formNs / b / 1e6 : undefined,
      consecutiveErrors: m.consecutiveErrors,
      pendingItems: Math.max(0, m.submitted - m.processed - m.rejected - m.abandoned),
    };
  }

  diagnostics(): BatchDiagnostics {
    return {
      processorId: this.processorId, metrics: this.metrics(), maxBatchSize: this.config.maxBatchSize,
      queueDepth: this.#queue.length, queueCapacity: this.config.queueCapacity, processingLatency: this.#latency.snapshot(),
    };
  }

  /**
   * Stops accepting work, lets the batch in progress finish, fails what is still queued with
   * `shutdown`, then runs the processor's `onStop` (errors reported, never thrown). Idempotent.
   * The runtime calls this after its feeds have drained.
   */
  async stop(): Promise<void> {
    if (this.#closed && !this.#processing && this.#queue.length === 0) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#formTimer);
    this.#formTimer = undefined;
    // Queued items are still dispatched (feeds drain before batches stop), then the loop ends.
    while (this.#processing || this.#queue.length) {
      if (!this.#processing) this.#dispatch();
      await this.#processing;
    }
    try { await this.#processor.onStop?.(); } catch (e) {
      this.#emit({ type: 'BatchError', processorId: this.processorId, batchSize: 0, error: StageError.processingFailed(this.processorId, `onStop failed: ${e instanceof Error ? e.message : String(e)}`, e) });
    }
  }

  #schedule(): void {
    if (this.#processing) return; // the loop picks the queue up when the current batch ends
    if (this.#queue.length >= this.config.maxBatchSize) { this.#dispatch(); return; }
    if (this.#formTimer) return;
    const first = this.#queue[0];
    if (!first) return;
    const wait = Math.max(0, first.at + this.config.maxLatencyMs - this.#clock.now());
    this.#formTimer = this.#clock.setTimeout(() => { this.#formTimer = undefined; if (!this.#processing) this.#dispatch(); }, wait);
  }

  #dispatch(): void {
    this.#clock.clearTimeout(this.#formTimer);
    this.#formTimer = undefined;
    const items: Item[] = [];
    while (items.length < this.config.maxBatchSize && this.#queue.length) {
      const it = this.#queue.shift()!;
      if (it.settled) { this.#finish(it); this.#m.abandoned++; continue; } // timed out while queued: not worth processing
      items.push(it);
    }
    if (items.length === 0) return;
    this.#processing = this.#runBatch(items).finally(() => {
      this.#processing = undefined;
      if (this.#queue.length) {
        const first = this.#queue[0]!;
        // Items that waited through the previous batch are due: dispatch now if full or late.
        if (this.#closed || this.#queue.length >= this.config.maxBatchSize || this.#clock.now() - first.at >= this.config.maxLatencyMs) this.#dispatch();
        else this.#schedule();
      }
    });
  }

  async #runBatch(items: Item[]): Promise<void> {
    const t0 = this.#clock.now();
    const entries: BatchEntry[] = items.map((it) => ({ feedId: it.feedId, frame: it.frame, view: it.view, output: undefined }));
    let error: StageError | undefined;
    try {
      await this.#processor.process(entries);
    } catch (e) {
      error = StageError.isInstance(e) ? e : StageError.processingFailed(this.processorId, `batch processor threw: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    const t1 = this.#clock.now();
    const m = this.#m;
    m.batches++;
    m.processed += items.length;
    m.procNs += (t1 - t0) * 1e6;
    m.formNs += (t0 - items[0]!.at) * 1e6;
    this.#latency.recordMs(t1 - t0);
    if (error) {
      m.consecutiveErrors++;
      if (t1 - this.#lastBatchErrorAt >= 1000) {
        this.#lastBatchErrorAt = t1;
        this.#emit({ type: 'BatchError', processorId: this.processorId, batchSize: items.length, error });
      }
    } else {
      m.consecutiveErrors = 0;
    }
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      this.#finish(it);
      if (it.settled) continue;
      it.settled = true;
      it.resolve(error ? fail('failed', error) : { ok: true, output: entries[i]!.output ?? OUTPUT_EMPTY });
    }
  }

  /** Releases the coordinator's hold on an item: timer, frame, in-flight slot. */
  #finish(it: Item): void {
    this.#clock.clearTimeout(it.timer);
    if (!it.frame.isReleased) it.frame.release();
    const n = (this.#inFlight.get(it.feedId) ?? 1) - 1;
    if (n <= 0) this.#inFlight.delete(it.feedId); else this.#inFlight.set(it.feedId, n);
  }
}

function fail(reason: BatchFailureReason, error: StageError): BatchResult {
  return { ok: false, reason, error };
}
