/**
 * What a feed emits for every successfully processed frame, and where it goes.
 */
import type { DiscontinuityKind, FeedId, FrameInclusion as CoreFrameInclusion, MonotonicTs, WallTs } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { ReadonlyArtifacts, StageRecord } from '@nv/perception';
import type { EpochDecision, MotionSource, ViewSnapshot } from '@nv/view';

/** How the view system treated this frame. */
export interface ViewProvenance {
  /** Derived motion source (`none` for fixed cameras). */
  readonly motionSource: MotionSource;
  /** The epoch policy's decision (`undefined` for fixed cameras). */
  readonly decision: EpochDecision | undefined;
  /** View epoch after the update. */
  readonly epoch: number;
  /** View version after the update. */
  readonly version: number;
  /** Stability score after the update, in [0, 1]. */
  readonly stabilityScore: number;
}

/** The frame as its source produced it, before the feed put it on its timeline. */
export interface SourceProvenance {
  /** The source's own timestamp of the frame (ns; per media session — may restart at 0 or jump). */
  readonly mediaTs: number;
  /** The source's own frame counter (per media session). */
  readonly mediaSeq: number;
  /** The feed's media session the frame came from: 1 for the first, +1 at each restart or source reconnect. */
  readonly session: number;
  /**
   * Age of the frame when the executor took it from the source, in ns: wall clock minus the
   * frame's `wallTs`. For media sources `wallTs` is stamped when appsink hands the frame over,
   * so this is the frame's time in the source queue (plus the wake-up); `undefined` when the
   * source gives no `wallTs` (synthetic frames).
   */
  readonly ageAtReceiptNs: number | undefined;
  /** The timestamp discontinuity this frame follows (see `SourceDiscontinuity`), if any. */
  readonly discontinuity: DiscontinuityKind | undefined;
}

/** Where the frame's time went. Times are `performance.now()`-based nanoseconds. */
export interface Provenance {
  /** Per-stage records, in order. */
  readonly stages: readonly StageRecord[];
  /** View-system decisions for this frame. */
  readonly view: ViewProvenance;
  /** When the executor took the frame from the source (ns). */
  readonly receivedAtNs: number;
  /** When the last stage and the temporal commit finished (ns). */
  readonly completedAtNs: number;
  /** `completedAtNs − receivedAtNs`. */
  readonly totalLatencyNs: number;
  /** Whether `frame` is attached to the output. */
  readonly frameIncluded: boolean;
  /** The source's raw timestamp and counter, session, and the frame's age at receipt. */
  readonly source: SourceProvenance;
}

/** One output per processed frame, in frame order per feed. */
export interface OutputEnvelope {
  readonly feedId: FeedId;
  /** The feed's display name (`FeedConfig.name`), when it has one. */
  readonly feedName?: string | undefined;
  /** The feed's frame counter: continues across sessions and restarts; a gap means frames were dropped. */
  readonly seq: number;
  /** The feed timeline (ns): strictly increasing over the feed's life; the source's raw PTS is `provenance.source.mediaTs`. */
  readonly ts: MonotonicTs;
  /** Wall-clock time the source stamped on the frame (µs since epoch; 0 when unknown). */
  readonly wallTs: WallTs;
  /** Merged stage outputs (detections, tracks, signals, scene features, typed artifacts). */
  readonly artifacts: ReadonlyArtifacts;
  /** The view the stages saw. */
  readonly view: ViewSnapshot;
  readonly provenance: Provenance;
  /**
   * The frame, when frame inclusion selected it. The runtime retained it for the sink and
   * releases it after `emit` settles; retain it yourself to keep it longer.
   */
  readonly frame: FrameEnvelope | undefined;
}

/** Receives a feed's outputs, one at a time, in order. May be async (awaited before the next). */
export interface OutputSink {
  emit(output: OutputEnvelope): void | Promise<void>;
}

/**
 * Which outputs carry their frame: none (default), all, every N-th output (`{ everyNth: N }`: the
 * N-th, 2N-th…), or a target rate (`{ targetFps: f }`, by the frame's `ts`). Defined in `@nv/core`
 * (`FrameInclusionSchema`); decided by `@nv/pipeline`'s `FrameSampler`.
 */
export type FrameInclusion = CoreFrameInclusion;
