/**
 * `@nv/runtime`: run feeds — sources, stages, shared batch processors, view and temporal
 * state, outputs — with bounded queues, restart policy, health events, diagnostics and a
 * draining shutdown. Re-exports what a normal user needs from the other nv packages.
 *
 * @packageDocumentation
 */
export { Runtime } from './runtime.js';
export type { RuntimeOptions, FeedHandle } from './runtime.js';
export { FeedPipeline, FeedPipelineBuilder, FeedConfigBuilder, FeedSettingsSchema, FeedNameSchema, feedConfig, feedConfigFromSettings } from './config.js';
export type { ParallelHeadBuilder } from './config.js';
export type { FeedConfig, FeedSettings, FeedCode, FeedMediaOptions, FeedTimelineOptions, FeedDeadlines, FeedIsolation } from './config.js';
export type { IsolatedFeedFactory, IsolatedFeedParts, IsolatedFeedContext } from './isolation.js';
export { BatchConfigSchema, resolveBatchConfig } from './batch.js';
export type { BatchConfig, ResolvedBatchConfig, BatchHandle, BatchResult, BatchFailureReason } from './batch.js';
export { LatencyHistogram, LATENCY_BUCKETS_MS } from './latency.js';
export type { LatencySnapshot } from './latency.js';
export type {
  FeedState, FeedDiagnostics, FeedMetricsSnapshot, StageDiagnostics, DecodeStatus, FeedViewDiagnostics, BatchDiagnostics, RuntimeDiagnostics, ParallelDiagnostics,
} from './diagnostics.js';
export { Resequencer } from './resequencer.js';
export type { ResequencedItem, ResequencerOptions, ResequencerResetOptions, ResequencerStats } from './resequencer.js';
export type { OutputEnvelope, OutputSink, Provenance, ViewProvenance, SourceProvenance, FrameInclusion } from './output.js';
export type { HealthSubscription } from './health-bus.js';
export type { OutputSubscription, OutputSubscriptionOptions } from './output-bus.js';
export { MediaSource, mediaDiagnostics } from '@nv/media';
export type { MediaSourceOptions, MediaEvent, OutputOptions } from '@nv/media';
export {
  BBox, AffineTransform2D, StageError, MediaError, ConfigError, RuntimeError, TypedMetadata, metadataKey, detectionId, trackId,
  HEALTH_EVENT_TYPES, SOURCE_DISCONTINUITY, ManualClock, realClock, stopErrorOf,
} from '@nv/core';
export type {
  HealthEvent, HealthEventType, FeedId, MonotonicTs, WallTs, SourceSpec, SourceSpecInput, BatchMetrics, QueueTelemetry, StopReason, StopError, DiscontinuityKind,
  SourceDiscontinuityInfo, FeedStep, Straggler, Clock, ClockTimer, ClockTimerOptions, CustomPipelinePolicy,
} from '@nv/core';
export type { FrameEnvelope, FrameSource, FrameSourceEvent, FrameSourceStats, PixelFormat } from '@nv/frame';
export { createDetection, createTrack, createObservation, stageOutput, signal, skip } from '@nv/perception';
export type {
  Stage, StageContext, StageOutput, StageResult, BatchProcessor, BatchEntry, Detection, Track, StageRecord, StageOutcomeCategory,
} from '@nv/perception';
export { DefaultEpochPolicy } from '@nv/view';
export type { ViewStateProvider, ViewSnapshot, EpochPolicy } from '@nv/view';
export { stageCounters, MAX_STAGE_COUNTERS } from './stage-counters.js';
