/**
 * The stage contract: what users implement.
 */
import type { CounterSample, FeedId, StageMetrics } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { ViewEpoch, ViewSnapshot } from '@nv/view';
import type { ReadonlyArtifacts, StageOutput } from './artifacts.js';
import type { StageSkip } from './skip.js';
import type { TemporalAccess } from './temporal-access.js';

/** What kind of work a stage does (for diagnostics and validation). */
export type StageCategory = 'frameAnalysis' | 'association' | 'temporalAnalysis' | 'sink' | 'custom';

/**
 * What a stage reads and writes. Optional; when present, the pipeline validator checks that
 * every consumed artifact has an earlier producer.
 */
export interface StageCapabilities {
  /** Reads `ctx.artifacts.detections` (needs an earlier detection producer). */
  readonly consumesDetections?: boolean;
  /** Reads `ctx.artifacts.tracks` (needs an earlier track producer). */
  readonly consumesTracks?: boolean;
  /** Reads the feed's temporal state via `ctx.temporal`. */
  readonly consumesTemporal?: boolean;
  /** Returns `detections` in its output. */
  readonly producesDetections?: boolean;
  /** Returns `tracks` in its output. */
  readonly producesTracks?: boolean;
  /** Returns `signals` in its output. */
  readonly producesSignals?: boolean;
  /** Returns `sceneFeatures` in its output. */
  readonly producesSceneFeatures?: boolean;
}

/** Everything a stage sees for one frame. Valid only during the `process` call. */
export interface StageContext {
  /** The feed this frame belongs to. */
  readonly feedId: FeedId;
  /**
   * The frame. Valid until `process` returns (or its promise settles); to keep it longer,
   * `ctx.frame.retain()` and later `release()`.
   */
  readonly frame: FrameEnvelope;
  /** Merged outputs of the stages that ran before this one for this frame. */
  readonly artifacts: ReadonlyArtifacts;
  /** The view state for this frame (frozen). */
  readonly view: ViewSnapshot;
  /** The temporal state as of the start of this frame (frozen). */
  readonly temporal: TemporalAccess;
  /** This stage's own counters so far. */
  readonly metrics: StageMetrics;
  /** Aborted when the feed is stopping; long async work should honour it. */
  readonly signal: AbortSignal;
}

/**
 * What `process` may return: an output, nothing (= empty output), `skip(reason)` (the stage
 * deliberately did not process this frame), or a promise of any of these.
 */
export type StageResult = StageOutput | StageSkip | void | undefined | Promise<StageOutput | StageSkip | void | undefined>;

/**
 * A perception stage. Stages of one feed run in list order, one frame at a time, never
 * concurrently within the feed; different feeds interleave on the JS thread, so put heavy
 * work behind a promise (onnxruntime's `session.run`, a worker, the native addon).
 *
 * Failure semantics:
 * - throw (or reject with) a `StageError` → this frame is dropped, a `StageError` health
 *   event is emitted, the feed continues with the next frame;
 * - throw anything else → treated as a panic: the feed restarts per its `RestartPolicy`
 *   (stages' `onStop`, temporal state cleared, view epoch incremented, `onStart`).
 *
 * @example
 * ```ts
 * class Detector implements Stage {
 *   readonly id = 'detector';
 *   readonly capabilities = { producesDetections: true };
 *   async onStart() { this.session = await InferenceSession.create(modelPath); }
 *   async process(ctx: StageContext) {
 *     const dets = await this.detect(ctx.frame);
 *     return { detections: dets };
 *   }
 * }
 * ```
 */
/**
 * What a stage's `onStart` is told about where it runs.
 * @example
 * ```ts
 * onStart(ctx?: StageStartContext) {
 *   this.lanes = ctx?.concurrency ?? 1; // e.g. one inference worker per frame that can be in flight
 * }
 * ```
 */
export interface StageStartContext {
  /**
   * How many frames this stage may be given at once: 1 in a serial pipeline (and in the serial
   * tail of a parallel one), the section's width in an ordered parallel head. A stage that
   * owns a resource per call in flight (an inference worker, a connection) can size it here.
   * One stage instance used by several feeds is started by each; the first start decides.
   */
  readonly concurrency: number;
}

/**
 * One number a stage reports about its own work (see {@link Stage.counters}), exported by
 * `@nv/metrics` as `nv.stage.counter` (a cumulative total) or `nv.stage.gauge` (a level) with
 * the feed and stage attributes, `counter` = its `name` and its `labels` (the fields and rules
 * are `CounterSample`'s, in `@nv/core`).
 *
 * @example
 * ```ts
 * counters() { return [{ name: 'analytics.line.crossed', kind: 'counter', labels: { line: 'mid', direction: 'positive' }, value: 12 }]; }
 * ```
 */
export type StageCounter = CounterSample;

export interface Stage {
  /** Unique within the feed's pipeline; used in provenance, metrics and health events. */
  readonly id: string;
  /** Process one frame. */
  process(ctx: StageContext): StageResult;
  /**
   * Called once before the first frame (and after each restart), told how many frames it may
   * be given at once. Throwing prevents the feed from starting.
   */
  onStart?(context: StageStartContext): void | Promise<void>;
  /** Called once at feed stop (and before each restart). Best effort: errors are reported, not rethrown. */
  onStop?(): void | Promise<void>;
  /** Called when the view epoch changes (camera moved discontinuously, or the feed restarted). Reset view-dependent state here. */
  onViewEpochChange?(epoch: ViewEpoch): void | Promise<void>;
  /**
   * Optional: the stage's own counters (e.g. analytics events per zone), read with the feed's
   * diagnostics — at every metrics collection, on the JS thread, so keep it cheap (no I/O).
   * Entries that break {@link StageCounter}'s rules are left out; a throw leaves them all out.
   * A stage instance shared by several feeds reports the same numbers for each.
   */
  counters?(): readonly StageCounter[];
  /** Default `custom`. */
  readonly category?: StageCategory;
  /** Declared inputs/outputs, for validation. */
  readonly capabilities?: StageCapabilities;
}
