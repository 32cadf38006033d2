/**
 * Metric snapshot types: plain, serializable point-in-time counters that the runtime
 * exposes through diagnostics and `@nv/metrics` exports.
 */
import type { FeedId } from './ids.js';

/** Per-feed counters. */
export interface FeedMetrics {
  /** The feed these counters belong to. */
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
  /** Maximum frames the source→stages queue holds. */
  readonly sourceCapacity: number;
  /** Outputs waiting between stages and the sink. */
  readonly sinkDepth: number;
  /** Maximum outputs the stages→sink queue holds. */
  readonly sinkCapacity: number;
}

/** Counters of a shared batch processor. */
export interface BatchMetrics {
  /** Batches handed to the processor so far. */
  readonly batchesDispatched: number;
  /** Frames processed in dispatched batches. */
  readonly itemsProcessed: number;
  /** Frames submitted to the batch coordinator by all feeds. */
  readonly itemsSubmitted: number;
  /** Frames refused at submission (never queued for a batch). */
  readonly itemsRejected: number;
  /** Frames that timed out before their batch completed. */
  readonly itemsTimedOut: number;
  /** Mean items per batch ÷ max batch size, or `undefined` before the first batch. */
  readonly avgFillRatio: number | undefined;
  /** Mean duration of a `process` call, in ms, or `undefined` before the first batch. */
  readonly avgProcessingMs: number | undefined;
  /** Mean time to form a batch (wait before dispatch), in ms, or `undefined` before the first batch. */
  readonly avgFormationMs: number | undefined;
  /** Batches failed in a row since the last success. */
  readonly consecutiveErrors: number;
  /** Frames submitted and not yet dispatched in a batch. */
  readonly pendingItems: number;
}
