/**
 * Health events: everything noteworthy that happens to a feed or the runtime, as a typed
 * discriminated union on `type`. Health events never carry credentials (URLs are redacted
 * at the source) and never carry pixel data.
 */
import type { FeedId } from './ids.js';
import type { MediaError, StageError } from './errors.js';

/** Why a feed stopped. */
export type StopReason =
  | { readonly kind: 'UserRequested' }
  | { readonly kind: 'RestartLimitExceeded'; readonly restartCount: number }
  | { readonly kind: 'EndOfStream' }
  | { readonly kind: 'Fatal'; readonly detail: string };

/** What decoder a session ended up with. */
export type DecodeOutcome = 'hardware' | 'software' | 'unknown';

/** What decoder the user asked for. */
export type DecodePreference = 'auto' | 'cpuOnly' | 'preferHardware' | 'requireHardware';

/** Every health event variant. Switch on `type`. */
export type HealthEvent =
  | { readonly type: 'SourceConnected'; readonly feedId: FeedId }
  | { readonly type: 'SourceDisconnected'; readonly feedId: FeedId; readonly reason: MediaError }
  | { readonly type: 'SourceReconnecting'; readonly feedId: FeedId; readonly attempt: number; readonly delayMs: number }
  | { readonly type: 'InsecureRtspSource'; readonly feedId: FeedId; readonly redactedUrl: string }
  | { readonly type: 'StageError'; readonly feedId: FeedId; readonly stageId: string; readonly error: StageError }
  | { readonly type: 'StagePanic'; readonly feedId: FeedId; readonly stageId: string; readonly detail: string }
  | { readonly type: 'FeedRestarting'; readonly feedId: FeedId; readonly restartCount: number }
  | { readonly type: 'FeedStopped'; readonly feedId: FeedId; readonly reason: StopReason }
  | { readonly type: 'BackpressureDrop'; readonly feedId: FeedId; readonly framesDropped: number }
  | { readonly type: 'FrameLag'; readonly feedId: FeedId; readonly frameAgeMs: number; readonly framesLagged: number }
  | { readonly type: 'ViewEpochChanged'; readonly feedId: FeedId; readonly epoch: number; readonly cause: 'segment' | 'restart' }
  | { readonly type: 'ViewDegraded'; readonly feedId: FeedId; readonly reason: string; readonly stabilityScore: number }
  | { readonly type: 'ViewCompensationApplied'; readonly feedId: FeedId; readonly epoch: number }
  | { readonly type: 'OutputLagged'; readonly messagesLost: number }
  | { readonly type: 'SourceEos'; readonly feedId: FeedId }
  | {
      readonly type: 'DecodeDecision';
      readonly feedId: FeedId;
      readonly outcome: DecodeOutcome;
      readonly preference: DecodePreference;
      readonly fallbackActive: boolean;
      readonly fallbackReason: string | undefined;
      readonly detail: string;
    }
  | { readonly type: 'SinkPanic'; readonly feedId: FeedId; readonly detail: string }
  | { readonly type: 'SinkTimeout'; readonly feedId: FeedId }
  | { readonly type: 'SinkBackpressure'; readonly feedId: FeedId; readonly outputsDropped: number }
  | { readonly type: 'TrackAdmissionRejected'; readonly feedId: FeedId; readonly rejectedCount: number }
  | { readonly type: 'BatchError'; readonly processorId: string; readonly batchSize: number; readonly error: StageError }
  | { readonly type: 'BatchSubmissionRejected'; readonly feedId: FeedId; readonly processorId: string; readonly droppedCount: number }
  | { readonly type: 'BatchTimeout'; readonly feedId: FeedId; readonly processorId: string; readonly timedOutCount: number }
  | { readonly type: 'BatchInFlightExceeded'; readonly feedId: FeedId; readonly processorId: string; readonly rejectedCount: number }
  | { readonly type: 'ResidencyDowngrade'; readonly feedId: FeedId; readonly requested: 'cuda'; readonly effective: 'host' };

/** The `type` tag of every {@link HealthEvent} variant. */
export type HealthEventType = HealthEvent['type'];

/** The variant of {@link HealthEvent} with tag `T`. */
export type HealthEventOf<T extends HealthEventType> = Extract<HealthEvent, { type: T }>;

/** All 25 variant tags, for exhaustive handling (e.g. metric counters). */
export const HEALTH_EVENT_TYPES: readonly HealthEventType[] = Object.freeze([
  'SourceConnected', 'SourceDisconnected', 'SourceReconnecting', 'InsecureRtspSource', 'StageError', 'StagePanic',
  'FeedRestarting', 'FeedStopped', 'BackpressureDrop', 'FrameLag', 'ViewEpochChanged', 'ViewDegraded',
  'ViewCompensationApplied', 'OutputLagged', 'SourceEos', 'DecodeDecision', 'SinkPanic', 'SinkTimeout',
  'SinkBackpressure', 'TrackAdmissionRejected', 'BatchError', 'BatchSubmissionRejected', 'BatchTimeout',
  'BatchInFlightExceeded', 'ResidencyDowngrade',
] satisfies HealthEventType[]);
