/**
 * Metric snapshot types: plain, serializable point-in-time counters that the runtime
 * exposes through diagnostics and `@nv/metrics` exports.
 */
import type { FeedId } from './ids.js';

/** Per-feed counters. */
export interface FeedMetrics {
  readonly feedId: FeedId;
  /** Frames delivered by the source to the feed's queue. */
  readonly framesReceived: number;
  /** Frames dropped by backpressure before reaching stages. */
  readonly framesDropped: number;
  /** Frames that went through every stage and produced an output. */
  readonly framesProcessed: number;
  /** Frames dropped because a stage failed (typed error). */
  readonly framesFailed: number;
  /** Tracks in the temporal store. */
  readonly tracksActive: number;
  /** Current view epoch. */
  readonly viewEpoch: number;
  /** Feed restarts so far. */
  readonly restarts: number;
}

/** Per-stage counters. */
export interface StageMetrics {
  /** Frames the stage has processed (successfully or not). */
  readonly framesProcessed: number;
  /** Typed errors the stage returned. */
  readonly errors: number;
}

/** Depth and capacity of a feed's bounded queues. */
export interface QueueTelemetry {
  /** Frames waiting between source and stages. */
  readonly sourceDepth: number;
  readonly sourceCapacity: number;
  /** Outputs waiting between stages and the sink. */
  readonly sinkDepth: number;
  readonly sinkCapacity: number;
}

/** Counters of a shared batch processor. */
export interface BatchMetrics {
  readonly batchesDispatched: number;
  readonly itemsProcessed: number;
  readonly itemsSubmitted: number;
  readonly itemsRejected: number;
  readonly itemsTimedOut: number;
  /** Mean items per batch ÷ max batch size, or `undefined` before the first batch. */
  readonly avgFillRatio: number | undefined;
  readonly avgProcessingMs: number | undefined;
  readonly avgFormationMs: number | undefined;
  readonly consecutiveErrors: number;
  readonly pendingItems: number;
}
