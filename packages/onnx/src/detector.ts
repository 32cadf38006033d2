/**
 * The ONNX detector as a pipeline {@link Stage} and as a cross-feed {@link BatchProcessor}.
 * Both are thin shells over one {@link OnnxDetectorCore}.
 *
 * @packageDocumentation
 */
import type { BatchEntry, BatchProcessor, Stage, StageCapabilities, StageCategory, StageContext, StageOutput, StageStartContext } from '@nv/perception';
import { OnnxDetectorCore } from './detector-core.js';
import type { OnnxModelInfo } from './model.js';
import type { DetectorExecutor, OnnxDetectorOptions } from './options.js';

const CAPABILITIES: StageCapabilities = Object.freeze({ producesDetections: true });

/** What the stage and the batch processor share: the core, identity, model facts, lifecycle. */
abstract class DetectorShell {
  /** Stage / processor id (option `id`, default `'onnx-detector'`). */
  readonly id: string;
  /** Always `frameAnalysis`. */
  readonly category: StageCategory = 'frameAnalysis';
  /** Produces detections. */
  readonly capabilities: StageCapabilities = CAPABILITIES;
  /** The engine (session, preprocessing, decoding). */
  readonly core: OnnxDetectorCore;

  /**
   * @param options - see {@link OnnxDetectorOptions}
   * @throws {InvalidArgumentError} on invalid options
   */
  constructor(options: OnnxDetectorOptions) {
    this.core = new OnnxDetectorCore(options);
    this.id = this.core.id;
  }

  /** What was learned about the model; `undefined` before `onStart`. */
  get modelInfo(): OnnxModelInfo | undefined { return this.core.modelInfo; }

  /**
   * @param classId - a class index
   * @returns its name, when known
   */
  className(classId: number): string | undefined { return this.core.className(classId); }

  /**
   * Loads and validates the model. In a parallel head of width N (`context.concurrency`), the
   * detector's own worker executor gets N workers (at most the cores), each with
   * cores ÷ N intra-op threads, so N frames infer at once.
   * @param context - from the feed; absent when called directly (concurrency 1)
   * @throws {StageError} `ModelLoadFailed` (see {@link OnnxDetectorCore.start})
   */
  async onStart(context?: StageStartContext): Promise<void> { await this.core.start(context); }

  /** Releases the session. */
  async onStop(): Promise<void> { await this.core.stop(); }
}

/**
 * A YOLO-family ONNX detector stage: letterboxes each frame straight from its pixel format,
 * runs the model on onnxruntime-node, decodes the head, applies NMS and returns
 * `{ detections }` in normalized frame coordinates.
 *
 * The model is loaded and validated at `onStart`; a missing or invalid model, or an
 * unavailable execution provider, makes `onStart` throw a `StageError` (`ModelLoadFailed`).
 * Per-frame failures throw `StageError` (`ProcessingFailed`): that frame is dropped, the feed
 * continues.
 *
 * Inference runs in a worker thread by default (option `executor`, see
 * {@link DetectorExecutor}): onnxruntime-node 1.30's `session.run` would otherwise block the
 * JS thread, and every other feed with it, for the whole run. Each frame is letterboxed on
 * the JS thread straight into a SharedArrayBuffer slot the worker reads in place.
 *
 * @example
 * ```ts
 * const detector = new OnnxDetector({ modelPath: 'models/yolo11n.onnx', scoreThreshold: 0.3 });
 * runtime.addFeed({ source, cameraMode: 'fixed', stages: [detector, tracker], sink });
 * ```
 */
export class OnnxDetector extends DetectorShell implements Stage {
  /**
   * Detects objects in `ctx.frame`.
   * @param ctx - the stage context
   * @returns `{ detections }`, best score first
   * @throws {StageError} `ProcessingFailed` when the frame cannot be read (or was released
   *   while waiting for a tensor slot; `ctx.signal` aborts that wait) or inference fails
   */
  async process(ctx: StageContext): Promise<StageOutput> {
    const [detections] = await this.core.detect([{ feedId: ctx.feedId, frame: ctx.frame }], { signal: ctx.signal });
    return { detections: detections ?? [] };
  }
}

/**
 * The same detector as a {@link BatchProcessor}: one session serves frames from many feeds.
 * A batch is letterboxed into one `[B, 3, H, W]` tensor and run once when the model's batch
 * dimension is dynamic; a fixed-batch model runs per chunk of its batch size (a batch-1
 * model: once per entry). Each entry's `output` gets `{ detections }`.
 *
 * @example
 * ```ts
 * const detector = new OnnxBatchDetector({ modelPath: 'models/yolo11n-dynamic.onnx' });
 * await detector.onStart();
 * await detector.process(entries);        // entries[i].output = { detections }
 * ```
 */
export class OnnxBatchDetector extends DetectorShell implements BatchProcessor {
  /**
   * Detects objects in every entry's frame and sets each entry's `output`.
   * @param entries - the batch (`BatchEntry` carries no abort signal; the batch coordinator
   *   holds every entry's frame until `process` settles, and a frame released anyway fails the
   *   batch)
   * @throws {StageError} `ProcessingFailed` when a frame cannot be read or inference fails
   *   (the whole batch fails)
   */
  async process(entries: BatchEntry[]): Promise<void> {
    const results = await this.core.detect(entries.map((e) => ({ feedId: e.feedId, frame: e.frame })));
    entries.forEach((e, i) => { e.output = { detections: results[i] ?? [] }; });
  }
}
