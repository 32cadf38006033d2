/**
 * Health events: everything noteworthy that happens to a feed or the runtime, as a typed
 * discriminated union on `type`. Health events never carry credentials (URLs are redacted
 * at the source) and never carry pixel data.
 */
import type { FeedId } from './ids.js';
import { NvError, type MediaError, type NvErrorCategory, type StageError } from './errors.js';
import { metadataKey, type MetadataKey } from './metadata.js';
import type { MonotonicTs } from './time.js';

/**
 * The typed identity of the error that stopped a feed (see {@link StopReason}): what a program
 * switches on (an exit code, an alert), instead of matching the message.
 */
export interface StopError {
  /** The error's layer (`NvError.category`); `unknown` for an exception that is not an nv error (a stage panic, say). */
  readonly category: NvErrorCategory | 'unknown';
  /**
   * Its variant (`NvError.kind`): e.g. `SourceNotFound`, `Unauthorized`, `InvalidMedia` (media),
   * `ModelLoadFailed` (stage); `Exception` when `category` is `unknown`.
   */
  readonly kind: string;
}

/**
 * The {@link StopError} of any thrown value: an nv error's category and kind, else `unknown`/`Exception`.
 * @param error - what was thrown
 * @returns a frozen `{ category, kind }`
 * @example
 * ```ts
 * stopErrorOf(MediaError.sourceNotFound('/x.mp4', 'no such file')) // { category: 'media', kind: 'SourceNotFound' }
 * ```
 */
export function stopErrorOf(error: unknown): StopError {
  if (NvError.isInstance(error)) return Object.freeze({ category: error.category, kind: error.kind });
  return UNKNOWN_STOP_ERROR;
}

const UNKNOWN_STOP_ERROR: StopError = Object.freeze({ category: 'unknown', kind: 'Exception' });

/**
 * Why a feed stopped.
 * - `UserRequested`: `stop()`, `removeFeed()` or `shutdown()`;
 * - `EndOfStream`: the source ended;
 * - `RestartLimitExceeded`: more failures than the restart policy allows; `error` is the last one;
 * - `Fatal`: a failure the feed does not restart for (a permanent media failure such as
 *   `SourceNotFound` or `Unauthorized`, a stage whose `onStart` failed, restarts turned off);
 *   `detail` is the message, `error` its typed kind.
 * @example
 * ```ts
 * if (r.kind === 'Fatal' && r.error.category === 'media' && r.error.kind === 'Unauthorized') alertOperator();
 * ```
 */
export type StopReason =
  | { readonly kind: 'UserRequested' }
  | { readonly kind: 'RestartLimitExceeded'; readonly restartCount: number; readonly error: StopError }
  | { readonly kind: 'EndOfStream' }
  | { readonly kind: 'Fatal'; readonly detail: string; readonly error: StopError };

/** What decoder a session ended up with. */
export type DecodeOutcome = 'hardware' | 'software' | 'unknown';

/** What decoder the user asked for. */
export type DecodePreference = 'auto' | 'cpuOnly' | 'preferHardware' | 'requireHardware';

/**
 * How a feed's media timestamps jumped (see the `SourceDiscontinuity` health event):
 * - `reconnect`: a new media session (the source reconnected, the feed restarted) whose
 *   timestamps do not continue the previous ones (typically they restart at 0);
 * - `backwardJump`: within a session, a timestamp below the previous one;
 * - `forwardGap`: within a session, a step forward longer than the gap threshold;
 * - `duplicate`: within a session, the same timestamp twice.
 */
export type DiscontinuityKind = 'reconnect' | 'backwardJump' | 'forwardGap' | 'duplicate';

/** What the feed attaches to the first frame after a discontinuity (metadata key {@link SOURCE_DISCONTINUITY}). */
export interface SourceDiscontinuityInfo {
  /** How the timestamps jumped. */
  readonly kind: DiscontinuityKind;
  /** The source's raw timestamp (ns) of the frame before the jump. */
  readonly rawBefore: number;
  /** The source's raw timestamp (ns) of this frame. */
  readonly rawAfter: number;
  /** The feed-timeline timestamp this frame was given. */
  readonly ts: MonotonicTs;
  /** Whether trajectory segments were split here (boundary `sourceDiscontinuity`). */
  readonly segmented: boolean;
}

/**
 * Frame metadata key set by the runtime on the first frame after a timestamp discontinuity, so
 * that a stage (a tracker resetting its motion model, say) can react without depending on the
 * runtime. Absent on every other frame.
 * @example
 * ```ts
 * const jump = ctx.frame.metadata.get(SOURCE_DISCONTINUITY);
 * if (jump?.kind === 'reconnect') this.resetMotionModels();
 * ```
 */
export const SOURCE_DISCONTINUITY: MetadataKey<SourceDiscontinuityInfo> = metadataKey<SourceDiscontinuityInfo>('nv.sourceDiscontinuity');

/** A step of a feed's frame path outside the stages, named in `FeedPanic` events. */
export type FeedStep = 'timeline' | 'view' | 'temporal' | 'batch' | 'output';

/** What a stopping feed was still waiting for when its stop timed out (see `StopTimeout`). */
export type Straggler =
  | { readonly kind: 'stage'; readonly stageId: string; readonly call: 'process' | 'onStart' | 'onStop' | 'onViewEpochChange' }
  | { readonly kind: 'batch'; readonly processorId: string }
  | { readonly kind: 'view' }
  | { readonly kind: 'source' }
  | { readonly kind: 'sink'; readonly pendingOutputs: number };

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
  | {
      /**
       * A subscriber of the runtime's outputs (`runtime.outputs()`) lost outputs because its
       * buffer was full (oldest dropped). One event per lag episode; over a subscription's life
       * the events' `messagesLost` add up to its `lost`.
       */
      readonly type: 'OutputLagged';
      /** Outputs lost since this subscriber's previous `OutputLagged`. */
      readonly messagesLost: number;
      /** The subscription's `name`, when it was given one. */
      readonly subscriber?: string;
    }
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
  | { readonly type: 'ResidencyDowngrade'; readonly feedId: FeedId; readonly requested: 'cuda'; readonly effective: 'host' }
  | {
      /**
       * The source's timestamps jumped; the feed timeline stays monotonic (see `DiscontinuityKind`).
       * Rate-limited per kind: the first at once, then at most one per second whose `count` says
       * how many jumps it stands for (raw values: the latest of them). `reconnect` is never limited.
       */
      readonly type: 'SourceDiscontinuity';
      readonly feedId: FeedId;
      readonly kind: DiscontinuityKind;
      /** Raw source timestamp (ns) of the frame before the jump. */
      readonly rawBefore: number;
      /** Raw source timestamp (ns) of the frame after it. */
      readonly rawAfter: number;
      /** Feed-timeline timestamp given to the frame after it. */
      readonly ts: MonotonicTs;
      /** Jumps of this kind this event reports (≥ 1). */
      readonly count: number;
    }
  | {
      /** A stage (or the batch point) did not finish a frame within its deadline: the frame was dropped, its late result is discarded. */
      readonly type: 'StageTimeout';
      readonly feedId: FeedId;
      readonly stageId: string;
      readonly timeoutMs: number;
      /** Timeouts in a row on this feed (reset by a frame that completes); at the feed's limit it restarts. */
      readonly consecutive: number;
    }
  | {
      /** An exception outside the stages (view provider, epoch policy, temporal store, output wiring…): a panic, restarted per policy like a stage panic. */
      readonly type: 'FeedPanic';
      readonly feedId: FeedId;
      readonly step: FeedStep;
      readonly detail: string;
    }
  | {
      /** A frame that was taken from the source and produced no output because of a panic or a deadline (typed stage errors have `StageError`). */
      readonly type: 'FrameDropped';
      readonly feedId: FeedId;
      /** Feed-timeline seq and ts of the frame. */
      readonly seq: number;
      readonly ts: MonotonicTs;
      /** The source's raw timestamp (ns) of the frame. */
      readonly mediaTs: number;
      readonly cause: 'panic' | 'timeout';
      /** The stage id, batch processor id, or feed step (`FeedStep`) where it happened. */
      readonly at: string;
      readonly detail: string;
    }
  | {
      /** A feed's stop (or the runtime's shutdown) timed out: it was abandoned while waiting for these. */
      readonly type: 'StopTimeout';
      readonly feedId: FeedId;
      readonly stragglers: readonly Straggler[];
    }
  | {
      /**
       * A stage's lifecycle hook threw or rejected where the frame path goes on regardless: today
       * `onViewEpochChange` (at a `segment` decision or a restart). Reported, never a panic — the
       * frame and the remaining stages' hooks continue, as in the reference.
       */
      readonly type: 'StageHookFailed';
      readonly feedId: FeedId;
      readonly stageId: string;
      readonly hook: 'onViewEpochChange';
      /** The epoch the hook was told about. */
      readonly epoch: number;
      readonly detail: string;
    }
  | {
      /**
       * An observed camera's `ViewStateProvider` failed for a frame: its `poll` threw or rejected
       * (`InvalidMotionReport`), returned an invalid report (`InvalidMotionReport`), or missed its
       * deadline (`PollTimeout`). The frame continues with an empty report — Unknown motion,
       * Degraded validity. Rate-limited by the runtime: the first at once, then at most one per
       * second whose `count` says how many failed frames it stands for (`kind`/`detail`: the latest).
       */
      readonly type: 'ViewProviderFailed';
      readonly feedId: FeedId;
      /** The `ViewError` kind. */
      readonly kind: string;
      readonly detail: string;
      /** Failed polls this event reports (≥ 1). */
      readonly count: number;
    }
  | {
      /**
       * A worker-isolated feed's worker stopped answering (`FeedConfig.isolation`): no heartbeat
       * (and no other message) for `silentMs`, longer than `isolation.heartbeatTimeoutMs` — a
       * synchronous hang in a stage, the view provider or the source. The worker was terminated;
       * the frame it was on (if any) follows as `FrameDropped` (cause `timeout`), then the feed
       * restarts per its restart policy (`FeedRestarting`) or stops (`RestartLimitExceeded`, or
       * `Fatal` when the policy does not restart on panics). Other feeds are not affected.
       */
      readonly type: 'FeedWorkerUnresponsive';
      readonly feedId: FeedId;
      /** How long the worker had been silent when it was declared unresponsive (host clock, ms). */
      readonly silentMs: number;
      /** The frame it was working on (feed-timeline seq and ts, raw source ts), when it was on one. */
      readonly frame: { readonly seq: number; readonly ts: MonotonicTs; readonly mediaTs: number } | undefined;
      /** The stage whose `process` was running, when the worker was inside one. */
      readonly stageId: string | undefined;
    };

/** The `type` tag of every {@link HealthEvent} variant. */
export type HealthEventType = HealthEvent['type'];

/** The variant of {@link HealthEvent} with tag `T`. */
export type HealthEventOf<T extends HealthEventType> = Extract<HealthEvent, { type: T }>;

/** All 33 variant tags, for exhaustive handling (e.g. metric counters). */
export const HEALTH_EVENT_TYPES: readonly HealthEventType[] = Object.freeze([
  'SourceConnected', 'SourceDisconnected', 'SourceReconnecting', 'InsecureRtspSource', 'StageError', 'StagePanic',
  'FeedRestarting', 'FeedStopped', 'BackpressureDrop', 'FrameLag', 'ViewEpochChanged', 'ViewDegraded',
  'ViewCompensationApplied', 'OutputLagged', 'SourceEos', 'DecodeDecision', 'SinkPanic', 'SinkTimeout',
  'SinkBackpressure', 'TrackAdmissionRejected', 'BatchError', 'BatchSubmissionRejected', 'BatchTimeout',
  'BatchInFlightExceeded', 'ResidencyDowngrade', 'SourceDiscontinuity', 'StageTimeout', 'FeedPanic', 'FrameDropped',
  'StopTimeout', 'StageHookFailed', 'ViewProviderFailed', 'FeedWorkerUnresponsive',
] satisfies HealthEventType[]);
