/**
 * The tracker as a pipeline stage.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, StageError, stageId } from '@nv/core';
import type { Stage, StageCapabilities, StageContext, StageOutput } from '@nv/perception';
import type { TrackerOptions } from './options.js';
import { MultiObjectTracker } from './tracker.js';

/** Options of {@link TrackerStage}: the {@link TrackerOptions} plus the stage id. */
export interface TrackerStageOptions extends TrackerOptions {
  /** Stage id, unique within the feed's pipeline. Default `'tracker'`. */
  readonly id?: string;
}

/**
 * A multi-object tracker stage (see {@link MultiObjectTracker} for the algorithm). It reads
 * `ctx.artifacts.detections` and returns the full, authoritative track set every frame; place
 * it after a detection producer. Use one instance per feed.
 *
 * State is reset on `onStart`, `onStop` and `onViewEpochChange` (after a discontinuous camera
 * move the old positions mean nothing); track ids keep counting, so an id is never reused
 * by the instance.
 *
 * @example
 * ```ts
 * const runtime = new Runtime();
 * runtime.addFeed({
 *   source, cameraMode: 'fixed', sink,
 *   stages: [detector, new TrackerStage({ minHits: 2, maxCoastFrames: 15 })],
 * });
 * ```
 */
export class TrackerStage implements Stage {
  /** Stage id. */
  readonly id: string;
  /** Always `'association'`. */
  readonly category = 'association' as const;
  /** Consumes detections, produces tracks. */
  readonly capabilities: StageCapabilities = Object.freeze({ consumesDetections: true, producesTracks: true });
  /** The tracker doing the work (inspect `size`, `options`). */
  readonly tracker: MultiObjectTracker;

  /**
   * @param options - tracker options and stage id
   * @throws {InvalidArgumentError} on a bad id or an option of the wrong type or range
   * @throws {ConfigError} on an unknown option or inconsistent options
   */
  constructor(options: TrackerStageOptions = {}) {
    const { id, ...rest } = options;
    this.id = stageId(id ?? 'tracker');
    this.tracker = new MultiObjectTracker(rest);
  }

  /**
   * Tracks this frame's detections; returns every held track.
   * @throws {StageError} `ProcessingFailed` when the frame's detections or timestamp are malformed
   *   (the frame is dropped, the feed continues)
   */
  process(ctx: StageContext): StageOutput {
    try {
      return { tracks: this.tracker.update(ctx.artifacts.detections, ctx.frame.ts) };
    } catch (e) {
      if (InvalidArgumentError.isInstance(e)) throw StageError.processingFailed(this.id, e.message, e);
      throw e;
    }
  }

  /** Starts from an empty track set. */
  onStart(): void { this.tracker.reset(); }

  /** Forgets every track. */
  onStop(): void { this.tracker.reset(); }

  /** The camera moved discontinuously (or the feed restarted): forgets every track. */
  onViewEpochChange(): void { this.tracker.reset(); }
}
