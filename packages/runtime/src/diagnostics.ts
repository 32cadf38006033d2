/**
 * Plain, serializable diagnostics snapshots of feeds, batch processors and the runtime.
 * `@nv/metrics` samples these periodically; they are cheap to build and safe to JSON-encode.
 */
import type { BatchMetrics, DecodeOutcome, FeedId, QueueTelemetry, StopReason } from '@nv/core';
import type { StageCounter } from '@nv/perception';
import type { LatencySnapshot } from './latency.js';
import type { ResequencerStats } from './resequencer.js';

/** Feed lifecycle state. */
export type FeedState = 'starting' | 'running' | 'paused' | 'restarting' | 'stopping' | 'stopped';

/** Counters and latency of one stage (or of the batch step) of a feed. */
export interface StageDiagnostics {
  /** Frames the stage was called for (successfully or not). */
  readonly framesProcessed: number;
  /** Typed errors it returned (frames dropped because of it). */
  readonly errors: number;
  /** Frames it reported as skipped (see `skip()` in `@nv/perception`). */
  readonly skipped: number;
  /** Latency of its calls. */
  readonly latency: LatencySnapshot;
  /**
   * The stage's own counters (`Stage.counters()`, e.g. analytics events per zone), the valid
   * entries only; absent when the stage reports none (or its `counters()` threw).
   */
  readonly counters?: readonly StageCounter[];
}

/** Live counters of a feed. Counters are cumulative over the feed's life (across restarts). */
export interface FeedMetricsSnapshot {
  /** The feed. */
  readonly feedId: FeedId;
  /** Frames taken from the source by the executor. */
  readonly framesReceived: number;
  /** Frames the source's bounded queue dropped (backpressure), over all sessions. */
  readonly framesDropped: number;
  /** Frames that went through every stage and produced an output. */
  readonly framesProcessed: number;
  /** Frames taken from the source that produced no output: a typed error, a deadline, or a panic. */
  readonly framesFailed: number;
  /** Of `framesFailed`, the frames dropped because a stage or the batch point missed its deadline. */
  readonly framesTimedOut: number;
  /** Outputs delivered to the sink. */
  readonly outputsEmitted: number;
  /**
   * Outputs dropped: the sink queue was full (`SinkBackpressure`), or they were still undelivered
   * when a stop timed out (the one the sink was working on and every queued one; `StopTimeout`
   * names the sink with that count as `pendingOutputs`).
   */
  readonly outputsDropped: number;
  /** Sink calls that threw or rejected. */
  readonly sinkErrors: number;
  /** Restarts so far. */
  readonly restarts: number;
  /** Tracks in the temporal store now. */
  readonly tracksActive: number;
  /** Current view epoch. */
  readonly viewEpoch: number;
  /** Per stage id (and the batch processor id, if the feed uses one), in pipeline order. */
  readonly stages: Readonly<Record<string, StageDiagnostics>>;
  /** Whole-frame latency: from taking the frame off the source to the output being queued. */
  readonly pipelineLatency: LatencySnapshot;
}

/** Which decoder the current session uses, when the source reported it. */
export interface DecodeStatus {
  /** Hardware, software, or unknown (raw sources have no decoder). */
  readonly outcome: DecodeOutcome;
  /** The decoder element or a description. */
  readonly detail: string;
}

/** View summary of a feed. */
export interface FeedViewDiagnostics {
  /** Current epoch. */
  readonly epoch: number;
  /** Current version. */
  readonly version: number;
  /** `valid`, `degraded` or `invalid`. */
  readonly validity: string;
  /** Stability score in [0, 1]. */
  readonly stabilityScore: number;
  /**
   * Frames whose view provider report was treated as empty because the provider missed its
   * poll deadline (`FeedConfig.deadlines.viewPollTimeoutMs`); 0 for fixed cameras. Always set by
   * the runtime (optional for snapshots built elsewhere).
   */
  readonly pollTimeouts?: number;
}

/** A feed's diagnostic summary. */
export interface FeedDiagnostics {
  /** The feed. */
  readonly id: FeedId;
  /** The feed's display name (`FeedConfig.name`), when it has one. */
  readonly name?: string | undefined;
  /** Lifecycle state. */
  readonly state: FeedState;
  /** Whether the feed is paused by the user. */
  readonly paused: boolean;
  /** `false` once the feed has stopped. */
  readonly alive: boolean;
  /** Milliseconds since the current session started (0 between sessions). */
  readonly sessionUptimeMs: number;
  /** Counters. */
  readonly metrics: FeedMetricsSnapshot;
  /** Source and sink queue depth and capacity (source 0/0 between sessions). */
  readonly queues: QueueTelemetry;
  /** Decoder of the current session, when known. */
  readonly decode: DecodeStatus | undefined;
  /** View summary. */
  readonly view: FeedViewDiagnostics;
  /** The shared batch processor this feed submits to, if any. */
  readonly batchProcessorId: string | undefined;
  /** The last error message (sanitized), if any. */
  readonly lastError: string | undefined;
  /** Why the feed stopped (once stopped). */
  readonly stopReason: StopReason | undefined;
  /**
   * The ordered parallel section (parallel pipelines only): its width and the resequencer's
   * counters (`inFlight` frames in the head, `depth` waiting for an earlier frame, reorder wait,
   * gap timeouts, tombstones) of the current session, or of the last one between sessions.
   */
  readonly parallel?: ParallelDiagnostics;
}

/** {@link FeedDiagnostics.parallel}. */
export interface ParallelDiagnostics extends ResequencerStats {
  /** Frames the head works on at once, at most. */
  readonly width: number;
}

/** A shared batch processor's diagnostics. */
export interface BatchDiagnostics {
  /** The processor's id. */
  readonly processorId: string;
  /** Counters and averages. */
  readonly metrics: BatchMetrics;
  /** Configured maximum batch size. */
  readonly maxBatchSize: number;
  /** Items waiting in the coordinator's queue now. */
  readonly queueDepth: number;
  /** The queue's bound. */
  readonly queueCapacity: number;
  /** Latency of `process` calls. */
  readonly processingLatency: LatencySnapshot;
}

/** Everything the runtime knows about itself, at one instant. */
export interface RuntimeDiagnostics {
  /** Milliseconds since the runtime was created. */
  readonly uptimeMs: number;
  /** Feeds registered (including stopped feeds not yet removed). */
  readonly feedCount: number;
  /** The configured limit. */
  readonly maxFeeds: number;
  /** Every feed, by id. */
  readonly feeds: readonly FeedDiagnostics[];
  /** Every batch processor. */
  readonly batches: readonly BatchDiagnostics[];
  /** Health events dropped because a subscriber's buffer was full, over all subscriptions. */
  readonly healthEventsDropped: number;
  /**
   * Output subscribers now: open `runtime.outputs()` subscriptions plus `runtime.onOutput`
   * listeners. Always set by the runtime (optional for snapshots built elsewhere).
   */
  readonly outputSubscribers?: number;
  /**
   * Outputs dropped because an output subscription's buffer was full, over all subscriptions
   * (ended ones included); the `OutputLagged` events report the same losses. The feeds' own sinks
   * are unaffected. Always set by the runtime (optional for snapshots built elsewhere).
   */
  readonly outputsLost?: number;
}
