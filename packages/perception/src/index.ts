/**
 * `@nv/perception`: the stage model — what a stage is, what it sees, what it returns,
 * and how outputs accumulate within a frame. Needs no native code: stages written against
 * this package are testable with `@nv/test-util` alone.
 *
 * @packageDocumentation
 */
export { createDetection } from './detection.js';
export type { Detection, DetectionInit, DetectionSet } from './detection.js';
export { createObservation, createTrack, TRACK_STATES } from './track.js';
export type { Track, TrackObservation, TrackState, TrackInit, TrackObservationInit } from './track.js';
export { signal } from './signal.js';
export type { DerivedSignal, SignalValue, SceneFeature, SceneFeatureValue } from './signal.js';
export { PerceptionArtifacts, EMPTY_OUTPUT, stageOutput, StageOutputBuilder } from './artifacts.js';
export type { StageOutput, ReadonlyArtifacts } from './artifacts.js';
export type { TemporalAccess } from './temporal-access.js';
export type { Stage, StageContext, StageResult, StageCategory, StageCapabilities, StageStartContext, StageCounter } from './stage.js';
export type { BatchEntry, BatchProcessor } from './batch.js';
export { validateStages, enforceStageValidation, formatValidationWarning } from './validate.js';
export type { ValidationWarning, ValidationMode, PhasedPipeline } from './validate.js';
export { runStages, runStagesEager, StageCounters } from './run-stages.js';
export { skip, isSkip, outcomeCategory } from './skip.js';
export type { StageSkip, StageOutcomeCategory } from './skip.js';
export type { StageOutcome, StageRecord, RunStagesResult, RunStagesInput } from './run-stages.js';
