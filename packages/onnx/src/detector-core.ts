/**
 * The shared engine of {@link OnnxDetector} (a per-feed stage) and {@link OnnxBatchDetector}
 * (a cross-feed batch processor): one model on an inference executor (worker threads by
 * default), one preprocessor writing straight into the executor's tensor-pool slots,
 * decoding, NMS and mapping back to frame coordinates.
 *
 * @packageDocumentation
 */
import { BBox, StageError, TypedMetadata, detectionId, metadataKey, type FeedId, type MetadataKey } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { InferenceError, InlineExecutor, WorkerExecutor, type InferenceExecutor, type InferenceOutputs, type RunOptions } from '@nv/inference';
import { availableParallelism } from 'node:os';
import { createDetection, type Detection, type StageStartContext } from '@nv/perception';
import { Candidates, decodeHead, resolveHead, type ResolvedHead } from './heads.js';
import type { LetterboxGeometry } from './letterbox.js';
import { loadModel, type LoadedModel, type OnnxModelInfo } from './model.js';
import { nonMaxSuppression, topScores } from './nms.js';
import { resolveOptions, type OnnxDetectorOptions, type ResolvedOptions } from './options.js';
import { REDUCED_CHANNELS } from './reduce.js';
import { LetterboxPreprocessor } from './preprocess.js';

/**
 * Metadata key under which each {@link Detection} carries its class name, when the detector
 * knows class names (option `classNames` or the model's `names` metadata).
 * @example
 * ```ts
 * detection.metadata.get(CLASS_NAME_KEY) // 'person'
 * ```
 */
export const CLASS_NAME_KEY: MetadataKey<string> = metadataKey<string>('onnx.className');

/** One frame to detect on, and the feed it belongs to (for detection ids). */
export interface DetectorInput {
  /** The feed; detection ids are unique per feed. */
  readonly feedId: FeedId;
  /** A host-readable frame, valid until {@link OnnxDetectorCore.detect} settles. */
  readonly frame: FrameEnvelope;
}

/** Options of {@link OnnxDetectorCore.detect}. */
export interface DetectOptions {
  /**
   * Aborts the wait for a tensor slot (a stage passes `ctx.signal`): the call then fails with
   * `StageError` `ProcessingFailed` without reading the frames.
   */
  readonly signal?: AbortSignal;
}

/**
 * The detector engine. Most users want {@link OnnxDetector} or {@link OnnxBatchDetector};
 * use the core directly to run detection outside a pipeline.
 *
 * @example
 * ```ts
 * const core = new OnnxDetectorCore({ modelPath: 'yolo11n.onnx' });
 * await core.start();
 * const [dets] = await core.detect([{ feedId: feedId(1), frame }]);
 * await core.stop();
 * ```
 */
export class OnnxDetectorCore {
  /** The validated options. */
  readonly options: ResolvedOptions;
  #model: LoadedModel | undefined;
  #executor: InferenceExecutor | undefined;
  #ownsExecutor = false;
  #pre: LetterboxPreprocessor | undefined;
  #head: ResolvedHead | undefined;
  readonly #nextId = new Map<FeedId, number>();
  readonly #cand = new Candidates();
  /** The start in progress (shared by concurrent callers); cleared when it settles. */
  #starting: Promise<void> | undefined;
  /** Bumped by every stop: a start that began before it releases what it loaded. */
  #epoch = 0;

  /**
   * @param options - see {@link OnnxDetectorOptions}
   * @throws {InvalidArgumentError} on invalid options (checked here, before any file is read)
   */
  constructor(options: OnnxDetectorOptions) {
    this.options = resolveOptions(options);
  }

  /** The stage / processor id used in errors. */
  get id(): string { return this.options.id; }

  /** What was learned about the model; `undefined` before {@link OnnxDetectorCore.start}. */
  get modelInfo(): OnnxModelInfo | undefined {
    const m = this.#model;
    if (!m) return undefined;
    return this.#head && !m.info.head ? Object.freeze({ ...m.info, head: this.#head }) : m.info;
  }

  /** Class names, when known (after start). */
  get classNames(): readonly string[] | undefined { return this.#model?.info.classNames; }

  /**
   * @param classId - a class index
   * @returns its name, or `undefined` when names are unknown or the id is out of range
   */
  className(classId: number): string | undefined { return this.#model?.info.classNames?.[classId]; }

  /** Whether a model is loaded. */
  get started(): boolean { return this.#model !== undefined; }

  /**
   * The inference executor the model runs on (after {@link OnnxDetectorCore.start}): the
   * detector's own `WorkerExecutor` / `InlineExecutor`, or the one given in the options.
   */
  get executor(): InferenceExecutor | undefined { return this.#model ? this.#executor : undefined; }

  /**
   * Loads and validates the model on the executor (idempotent while started). With
   * `executor: 'worker'` (the default) this starts the detector's worker thread.
   *
   * Concurrent calls (one detector shared by several feeds, each calling `onStart`) share one
   * start: one executor, one model. A failed start is forgotten, so a later call tries again.
   * A {@link OnnxDetectorCore.stop} while a start is pending makes that start release what it
   * loaded and fail.
   * @throws {StageError} `ModelLoadFailed` when the file is missing or unreadable, is not an
   *   ONNX model, has the wrong input rank/shape, an unsupported output, the requested
   *   execution provider is unavailable, no inference worker can start, or the detector was
   *   stopped before the start completed
   * @param context - `concurrency` N > 1 (a parallel head of width N) gives the detector's own
   *   worker executor min(N, cores) workers, each with cores ÷ workers intra-op threads unless
   *   `intraOpNumThreads` is set; the first start decides
   */
  start(context?: StageStartContext): Promise<void> {
    if (this.#model) return Promise.resolve();
    if (!this.#starting) {
      const p = this.#start(this.#epoch, context?.concurrency ?? 1);
      this.#starting = p;
      const clear = (): void => { if (this.#starting === p) this.#starting = undefined; };
      p.then(clear, clear);
    }
    return this.#starting;
  }

  async #start(epoch: number, concurrency: number): Promise<void> {
    const opt = this.options.executor;
    const owned = typeof opt === 'string';
    const workers = Number.isInteger(concurrency) && concurrency > 1 ? Math.min(concurrency, availableParallelism()) : 1;
    const executor = opt === 'worker' ? new WorkerExecutor({ workers }) : opt === 'inline' ? new InlineExecutor() : opt;
    let m: LoadedModel;
    try {
      m = await loadModel(this.id, this.options, executor);
    } catch (e) {
      if (owned) await executor.release().catch(() => undefined);
      throw e;
    }
    if (epoch !== this.#epoch) {
      // Stopped while loading: nothing may outlive the stop.
      await m.model.release().catch(() => undefined);
      if (owned) await executor.release().catch(() => undefined);
      throw StageError.modelLoadFailed(this.id, `model '${this.options.modelPath}': the detector was stopped before its start completed`);
    }
    this.#executor = executor;
    this.#ownsExecutor = owned;
    this.#model = m;
    this.#head = m.info.head;
    this.#pre = new LetterboxPreprocessor(m.info.inputWidth, m.info.inputHeight, this.options.preprocess);
  }

  /**
   * Releases the model (and the executor, when the detector created it). Safe to call when not
   * started. A start still pending fails and releases what it loaded; `stop` returns once it has.
   */
  async stop(): Promise<void> {
    this.#epoch++;
    const pending = this.#starting;
    this.#starting = undefined;
    const m = this.#model, executor = this.#executor, owned = this.#ownsExecutor;
    this.#model = undefined;
    this.#pre = undefined;
    this.#executor = undefined;
    this.#ownsExecutor = false;
    try {
      if (m) await m.model.release();
      if (executor && owned) await executor.release();
    } finally {
      if (pending) await pending.catch(() => undefined);
    }
  }

  /**
   * Detects objects in each frame. Frames are stacked into one `[B, 3, H, W]` run when the
   * model's batch dimension is dynamic; a fixed-batch model runs in chunks of its batch size
   * (the last one padded).
   * @param inputs - frames (with their feeds), valid until the promise settles
   * @param options - an abort signal for the wait for a tensor slot
   * @returns one detection list per input, in input order, best score first
   * @throws {StageError} `ProcessingFailed` when not started, when a frame cannot be read or
   *   was released while the call waited for a tensor slot, when the signal aborted that
   *   wait, or when inference fails or returns an unexpected shape
   */
  async detect(inputs: readonly DetectorInput[], options: DetectOptions = {}): Promise<Detection[][]> {
    const m = this.#model, pre = this.#pre, ex = this.#executor;
    if (!m || !pre || !ex) throw StageError.processingFailed(this.id, 'detector is not started (call onStart first)');
    if (inputs.length === 0) return [];
    const chunk = m.info.batch === 'dynamic' ? inputs.length : m.info.batch;
    const out: Detection[][] = [];
    for (let i = 0; i < inputs.length; i += chunk) {
      out.push(...(await this.#run(m, pre, ex, inputs.slice(i, i + chunk), chunk, options.signal)));
    }
    return out;
  }

  async #run(
    m: LoadedModel, pre: LetterboxPreprocessor, ex: InferenceExecutor, items: readonly DetectorInput[], batch: number, signal: AbortSignal | undefined,
  ): Promise<Detection[][]> {
    const size = pre.tensorSize;
    // A pool slot (shared with the worker: no copy). A full pool waits here — backpressure.
    let slot;
    try {
      slot = await ex.pool.acquire(batch * size, signal ? { signal } : {});
    } catch (e) {
      throw StageError.processingFailed(this.id, `no input tensor slot: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    // The wait may have outlived the call's frames (a deadline abandoned the call, the feed stopped).
    if (items.some((it) => it.frame.isReleased)) {
      slot.release();
      throw StageError.processingFailed(this.id, 'frame was released while waiting for a tensor slot');
    }
    const geoms: LetterboxGeometry[] = [];
    try {
      for (let b = 0; b < batch; b++) {
        const it = items[b];
        // Media frames letterbox on a native worker thread (the same plan and floats as the JS path).
        if (it) geoms.push(await pre.runAsync(it.frame, slot.data, b * size));
        else pre.fillSlot(slot.data, b * size);
      }
    } catch (e) {
      slot.release();
      throw StageError.isInstance(e) ? e : StageError.processingFailed(this.id, `cannot read frame: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    // Where the model runs elsewhere (a remote worker), the head is decoded and NMS'd there:
    // the reply is K × 6 floats per frame, not the head's N × (4 + C).
    const reduce = m.model.reductions?.includes('detections') === true;
    const o = this.options;
    // The head this detector resolved (at load, or from a first raw output) when it has one.
    const known = this.#head ?? m.info.head;
    const runOptions: RunOptions | undefined = reduce ? {
      detections: {
        output: m.info.outputName, head: known?.head ?? o.head, layout: known?.layout ?? o.layout,
        ...(m.numClasses !== undefined ? { numClasses: m.numClasses } : {}),
        scoreThreshold: o.scoreThreshold, iouThreshold: o.iouThreshold, maxDetections: o.maxDetections, maxCandidates: o.maxCandidates,
        classAgnostic: o.classAgnosticNms,
        content: Array.from({ length: batch }, (_, b) => {
          const g = geoms[b];
          return g ? [g.padLeft, g.padTop, g.padLeft + g.contentWidth, g.padTop + g.contentHeight] : [0, 0, 0, 0];
        }),
      },
    } : undefined;
    let result: InferenceOutputs;
    try {
      // The run owns the slot from here and returns it to the pool when it settles.
      result = await m.model.run({ [m.info.inputName]: slot.input([batch, 3, pre.inputHeight, pre.inputWidth]) }, [m.info.outputName], runOptions);
    } catch (e) {
      const detail = `inference failed: ${e instanceof Error ? e.message : String(e)}`;
      throw InferenceError.isInstance(e) && e.kind === 'QueueFull' ? StageError.resourceExhausted(this.id, detail) : StageError.processingFailed(this.id, detail, e);
    }
    const t = result[m.info.outputName];
    if (!t) throw StageError.processingFailed(this.id, `output '${m.info.outputName}' is missing`);
    // A reduced output is end-to-end rows (x1, y1, x2, y2, score, class), already through NMS.
    const reduced: ResolvedHead | undefined = reduce ? { head: 'end2end', layout: 'channelsLast', channels: REDUCED_CHANNELS, numClasses: m.numClasses } : undefined;
    return this.#decode(m, t.dims, t.data, items, geoms, reduced);
  }

  #decode(m: LoadedModel, dims: readonly number[], data: Float32Array, items: readonly DetectorInput[], geoms: readonly LetterboxGeometry[], fixed?: ResolvedHead): Detection[][] {
    let head = fixed ?? this.#head;
    if (!head) {
      const r = resolveHead(dims, { head: this.options.head, layout: this.options.layout, numClasses: m.numClasses });
      if (r.status !== 'ok') throw StageError.processingFailed(this.id, `output '${m.info.outputName}': ${r.status === 'error' ? r.detail : 'shape unknown'}`);
      head = this.#head = r.head;
    }
    const chIdx = head.layout === 'channelsFirst' ? 1 : 2;
    if (dims.length !== 3 || dims[chIdx] !== head.channels || dims[0]! < items.length) {
      throw StageError.processingFailed(this.id, `output '${m.info.outputName}' has shape [${dims.join(', ')}]; expected [${items.length}+, ${head.layout === 'channelsFirst' ? `${head.channels}, N` : `N, ${head.channels}`}]`);
    }
    const boxes = dims[3 - chIdx]!;
    const per = boxes * head.channels;
    const o = this.options, cand = this.#cand;
    const out: Detection[][] = [];
    // Reduced rows passed the threshold where they were made (on the exact score, before it was
    // stored as float32): filtering their rounded scores again could drop a box a local run keeps.
    const threshold = fixed ? -Infinity : o.scoreThreshold;
    for (let b = 0; b < items.length; b++) {
      decodeHead(data, b * per, head, boxes, threshold, cand);
      // Non-finite, inverted, or entirely in the padding (no area inside the frame): not an object.
      const g = geoms[b]!, x0 = g.padLeft, x1 = g.padLeft + g.contentWidth, y0 = g.padTop, y1 = g.padTop + g.contentHeight;
      cand.retain((a, c, d, e) => Math.min(d, x1) > Math.max(a, x0) && Math.min(e, y1) > Math.max(c, y0));
      const keep = head.head === 'end2end'
        ? topScores(cand.scores, cand.count, o.maxDetections)
        : nonMaxSuppression(cand.boxes, cand.scores, cand.classes, cand.count, {
          iouThreshold: o.iouThreshold, maxDetections: o.maxDetections, maxCandidates: o.maxCandidates, classAgnostic: o.classAgnosticNms,
        });
      out.push(this.#toDetections(items[b]!.feedId, geoms[b]!, keep, cand.boxes, cand.scores, cand.classes));
    }
    return out;
  }

  #toDetections(feed: FeedId, g: LetterboxGeometry, keep: Int32Array, boxes: Float32Array, scores: Float32Array, classes: Int32Array): Detection[] {
    const names = this.#model?.info.classNames;
    const dets: Detection[] = [];
    const cw = g.contentWidth, ch = g.contentHeight, pl = g.padLeft, pt = g.padTop;
    const clamp = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
    for (const k of keep) {
      const x1 = clamp((boxes[4 * k]! - pl) / cw), y1 = clamp((boxes[4 * k + 1]! - pt) / ch);
      const x2 = clamp((boxes[4 * k + 2]! - pl) / cw), y2 = clamp((boxes[4 * k + 3]! - pt) / ch);
      if (!(x2 > x1) || !(y2 > y1)) continue; // (filtered before NMS; kept as a guard against rounding)
      const classId = classes[k]!;
      const name = names?.[classId];
      const metadata = new TypedMetadata();
      if (name !== undefined) metadata.set(CLASS_NAME_KEY, name);
      const next = this.#nextId.get(feed) ?? 1;
      this.#nextId.set(feed, next + 1);
      dets.push(createDetection({ id: detectionId(next), classId, confidence: scores[k]!, bbox: BBox.of(x1, y1, x2, y2), metadata }));
    }
    return dets;
  }
}
