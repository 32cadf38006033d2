/**
 * Cross-feed batching: one processor (e.g. a GPU detector) serves frames from many feeds.
 */
import type { FeedId } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import type { ViewSnapshot } from '@nv/view';
import type { StageOutput } from './artifacts.js';
import type { StageCapabilities, StageCategory } from './stage.js';

/**
 * One frame in a batch. The processor fills `output` for each entry it handles; an entry
 * left `undefined` after a successful `process` counts as an empty output.
 */
export interface BatchEntry {
  /** The feed this frame belongs to. */
  readonly feedId: FeedId;
  /** Valid until `process` settles; `retain()` to keep it longer. */
  readonly frame: FrameEnvelope;
  /** The view state of the feed for this frame (frozen). */
  readonly view: ViewSnapshot;
  /** Set by the processor. */
  output: StageOutput | undefined;
}

/**
 * Processes frames from several feeds at once. The batch coordinator (in `@nv/runtime`)
 * forms batches by size and latency and calls `process` with one batch at a time, never
 * concurrently. Throwing a `StageError` fails every entry of the batch (each frame is dropped
 * with a `BatchError` event); other exceptions are treated the same way and counted as panics.
 *
 * @example
 * ```ts
 * class BatchedDetector implements BatchProcessor {
 *   readonly id = 'yolo';
 *   async process(entries: BatchEntry[]) {
 *     const results = await this.model.run(entries.map((e) => e.frame));
 *     entries.forEach((e, i) => { e.output = { detections: results[i] }; });
 *   }
 * }
 * ```
 */
export interface BatchProcessor {
  /** Unique across the runtime's batch processors and the stage ids of feeds that use it. */
  readonly id: string;
  /** Fill `output` of each entry. */
  process(entries: BatchEntry[]): void | Promise<void>;
  /** Called once before the first batch. */
  onStart?(): void | Promise<void>;
  /** Called once at shutdown. */
  onStop?(): void | Promise<void>;
  /** Default `frameAnalysis`. */
  readonly category?: StageCategory;
  /** Declared inputs/outputs, for pipeline validation. */
  readonly capabilities?: StageCapabilities;
}
