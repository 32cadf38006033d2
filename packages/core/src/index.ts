/**
 * `@nv/core`: the vocabulary every nv package shares — ids, timestamps, normalized
 * geometry, typed metadata, typed errors, health events, metric snapshots, config schemas
 * and credential redaction. No native code.
 *
 * @packageDocumentation
 */
export {
  NvError, MediaError, StageError, TemporalError, ViewError, RuntimeError, ConfigError, FrameAccessError,
  InvalidArgumentError,
} from './errors.js';
export type {
  NvErrorCategory, NvErrorOptions, MediaErrorKind, MediaBuildFailure, StageErrorKind, TemporalErrorKind, ViewErrorKind, RuntimeErrorKind,
  ConfigErrorKind, ConfigIssue, FrameAccessErrorKind,
} from './errors.js';
export { feedId, trackId, detectionId, stageId, formatFeedId, formatTrackId, formatDetectionId } from './ids.js';
export type { Brand, FeedId, TrackId, DetectionId, StageId } from './ids.js';
export {
  monotonicTs, MONOTONIC_ZERO, wallTs, wallNow, durationNs, durationMs, durationSecs, checkedSince, saturatingSince,
  addDuration, nsToSecs, formatDuration, NS_PER_US, NS_PER_MS, NS_PER_SEC,
} from './time.js';
export type { MonotonicTs, WallTs, DurationNs } from './time.js';
export { BBox, Polygon, AffineTransform2D, point2, point2Unbounded, distance } from './geometry.js';
export type { Point2 } from './geometry.js';
export { TypedMetadata, metadataKey } from './metadata.js';
export type { MetadataKey } from './metadata.js';
export { HEALTH_EVENT_TYPES, SOURCE_DISCONTINUITY, stopErrorOf } from './health.js';
export type {
  HealthEvent, HealthEventType, HealthEventOf, StopReason, StopError, DecodeOutcome, DecodePreference, DiscontinuityKind, SourceDiscontinuityInfo, FeedStep, Straggler,
} from './health.js';
export type { FeedMetrics, StageMetrics, QueueTelemetry, BatchMetrics } from './metrics.js';
export { realClock, ManualClock } from './clock.js';
export type { Clock, ClockTimer, ClockTimerOptions } from './clock.js';
export {
  SourceSpecSchema, CameraModeSchema, RtspTransportSchema, RtspSecurityPolicySchema, CustomPipelinePolicySchema,
  DecodePreferenceSchema, TestPatternSchema, BackoffKindSchema, ReconnectPolicySchema, RestartTriggerSchema,
  RestartPolicySchema, BackpressurePolicySchema, RetentionPolicySchema, FrameInclusionSchema, parseSourceSpec, safeParseSourceSpec,
  parseCameraMode, parseReconnectPolicy, parseRestartPolicy, parseBackpressurePolicy, defaultBackpressureKind, parseRetentionPolicy,
  parseConfig, safeParseConfig, formatConfigPath, reconnectDelayMs, DEFAULT_RECONNECT_POLICY, DEFAULT_RESTART_POLICY,
  DEFAULT_BACKPRESSURE_POLICY, DEFAULT_RETENTION_POLICY,
} from './config.js';
export type {
  SourceSpec, SourceSpecInput, CameraMode, RtspTransport, RtspSecurityPolicy, CustomPipelinePolicy, ReconnectPolicy,
  RestartPolicy, BackpressurePolicy, RetentionPolicy, FrameInclusion, ParseResult,
} from './config.js';
export {
  redactUrl, redactUrlsInString, sanitizeErrorString, isInsecureRtsp, promoteRtspToTls, REDACTED, SECRET_PARAM_NAMES,
} from './redact.js';
export { validCounterSamples, MAX_COUNTER_SAMPLES } from './counters.js';
export type { CounterSample } from './counters.js';
