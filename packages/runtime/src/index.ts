/**
 * `@nv/runtime`: run feeds — sources, stages, view and temporal state, outputs — with
 * bounded queues, restart policy, health events and a draining shutdown. Re-exports what a
 * normal user needs from the other nv packages.
 *
 * @packageDocumentation
 */
export { Runtime } from './runtime.js';
export type { RuntimeOptions, FeedHandle, FeedDiagnostics } from './runtime.js';
export type { FeedConfig, FeedMetricsSnapshot, FeedState } from './feed.js';
export type { OutputEnvelope, OutputSink, Provenance, ViewProvenance, FrameInclusion } from './output.js';
export type { HealthSubscription } from './health-bus.js';
export { MediaSource } from '@nv/media';
export type { MediaSourceOptions, MediaEvent, OutputOptions } from '@nv/media';
export {
  BBox, AffineTransform2D, StageError, MediaError, ConfigError, RuntimeError, TypedMetadata, metadataKey, detectionId, trackId,
} from '@nv/core';
export type { HealthEvent, FeedId, MonotonicTs, SourceSpec } from '@nv/core';
export type { FrameEnvelope, FrameSource, PixelFormat } from '@nv/frame';
export { createDetection, createTrack, createObservation, stageOutput, signal } from '@nv/perception';
export type { Stage, StageContext, StageOutput, BatchProcessor, Detection, Track } from '@nv/perception';
export { DefaultEpochPolicy } from '@nv/view';
export type { ViewStateProvider, ViewSnapshot, EpochPolicy } from '@nv/view';
