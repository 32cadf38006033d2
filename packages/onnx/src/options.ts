/**
 * Options of the ONNX detector, their defaults, and their validation.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { InferenceExecutor } from '@nv/inference';
import type { DetectionHead, OutputLayout } from './heads.js';
import { resolvePreprocessOptions, type PreprocessOptions, type ResolvedPreprocessOptions } from './preprocess-options.js';

/** Where inference runs. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** onnxruntime graph optimization level. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * Where the detector's session runs: `'worker'` (default) — its own `WorkerExecutor` from
 * `@nv/inference` (1 worker thread; the JS thread and every other feed keep running during
 * inference), `'inline'` — on the JS thread (`InlineExecutor`: blocks it for the whole run;
 * for tiny models and tests), or an executor you own (shared by several stages; you release
 * it, the detector only releases its model).
 */
export type DetectorExecutor = 'worker' | 'inline' | InferenceExecutor;

/**
 * Configuration of an {@link OnnxDetector} / {@link OnnxBatchDetector}.
 *
 * @example
 * ```ts
 * const opts: OnnxDetectorOptions = {
 *   modelPath: 'models/yolo11n.onnx',
 *   scoreThreshold: 0.3,
 *   intraOpNumThreads: 2,
 * };
 * ```
 */
export interface OnnxDetectorOptions {
  /** Path of the `.onnx` file. Read at `onStart`. */
  readonly modelPath: string;
  /** Stage / batch processor id. Default `'onnx-detector'`. */
  readonly id?: string;
  /** Output head; default `'auto'` (from the output shape and the class count). */
  readonly head?: DetectionHead | 'auto';
  /** Output layout; default `'auto'`. */
  readonly layout?: OutputLayout | 'auto';
  /**
   * Number of classes. Default: `classNames.length`, else the length of the model's `names`
   * metadata (Ultralytics exports have it). Needed by `head: 'auto'` to tell v5 from v8.
   */
  readonly numClasses?: number;
  /** Class names by class id; overrides the model's `names` metadata. */
  readonly classNames?: readonly string[];
  /** Candidates need a score ≥ this. Default 0.25. */
  readonly scoreThreshold?: number;
  /** NMS IoU threshold: a box overlapping a better one of its class by more is dropped. Default 0.45. */
  readonly iouThreshold?: number;
  /** Detections kept per frame, best first. Default 300. */
  readonly maxDetections?: number;
  /** Candidates (best first) considered by NMS per frame. Default 30000. */
  readonly maxCandidates?: number;
  /** Suppress across classes (default `false`: class-aware NMS). */
  readonly classAgnosticNms?: boolean;
  /**
   * Model input size in pixels. Default: the model's static input size; required when the
   * model's spatial dimensions are dynamic (unless its metadata has `imgsz`). Must match a
   * static model size.
   */
  readonly inputSize?: { readonly width: number; readonly height: number };
  /** Name of the image input; default the model's first input. */
  readonly inputName?: string;
  /** Name of the detection output; default the model's first output. */
  readonly outputName?: string;
  /** Letterbox preprocessing (interpolation, padding 114, normalization /255, RGB order, YUV colorimetry). */
  readonly preprocess?: PreprocessOptions;
  /**
   * `'cpu'` (default) or `'cuda'`. CUDA is used only when asked for and onnxruntime-node
   * reports a CUDA backend and can create the session on it; otherwise `onStart` fails with
   * a typed error — never a silent fallback to CPU.
   */
  readonly executionProvider?: ExecutionProvider;
  /** CUDA device ordinal (with `executionProvider: 'cuda'`). Default 0. */
  readonly cudaDeviceId?: number;
  /**
   * Threads inside one operator. Default: the executor's — with the default `'worker'`
   * executor `availableParallelism()` (its one worker gets every core); `'inline'`:
   * onnxruntime's choice (the physical cores).
   */
  readonly intraOpNumThreads?: number;
  /** Threads across operators. Default: onnxruntime's choice. */
  readonly interOpNumThreads?: number;
  /** Default `'all'`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Where inference runs (see {@link DetectorExecutor}). Default `'worker'`. */
  readonly executor?: DetectorExecutor;
}

/** Options with defaults filled in. @internal */
export interface ResolvedOptions {
  readonly modelPath: string;
  readonly id: string;
  readonly head: DetectionHead | 'auto';
  readonly layout: OutputLayout | 'auto';
  readonly numClasses: number | undefined;
  readonly classNames: readonly string[] | undefined;
  readonly scoreThreshold: number;
  readonly iouThreshold: number;
  readonly maxDetections: number;
  readonly maxCandidates: number;
  readonly classAgnosticNms: boolean;
  readonly inputSize: { readonly width: number; readonly height: number } | undefined;
  readonly inputName: string | undefined;
  readonly outputName: string | undefined;
  readonly preprocess: ResolvedPreprocessOptions;
  readonly executionProvider: ExecutionProvider;
  readonly cudaDeviceId: number;
  readonly intraOpNumThreads: number | undefined;
  readonly interOpNumThreads: number | undefined;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  readonly executor: DetectorExecutor;
}

/**
 * Defaults of {@link OnnxDetectorOptions} (the others: `head`/`layout` `'auto'`, CPU, the
 * executor's thread counts, class-aware NMS, preprocessing per `DEFAULT_PREPROCESS_OPTIONS`).
 * @example
 * ```ts
 * ONNX_DETECTOR_DEFAULTS.scoreThreshold // 0.25
 * ```
 */
export const ONNX_DETECTOR_DEFAULTS = Object.freeze({
  id: 'onnx-detector',
  scoreThreshold: 0.25,
  iouThreshold: 0.45,
  maxDetections: 300,
  maxCandidates: 30_000,
  graphOptimizationLevel: 'all' as GraphOptimizationLevel,
  executor: 'worker' as const,
});

const posInt = (name: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(name, 'a positive integer', v);
  return v;
};
const unit = (name: string, v: unknown): number => {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new InvalidArgumentError(name, 'a number in [0, 1]', v);
  return v;
};
const oneOf = <T extends string>(name: string, v: unknown, values: readonly T[]): T => {
  if (!values.includes(v as T)) throw new InvalidArgumentError(name, `one of ${values.map((x) => `'${x}'`).join(', ')}`, v);
  return v as T;
};

/**
 * Validates options and fills in defaults.
 * @internal
 * @throws {InvalidArgumentError} naming the offending field
 */
export function resolveOptions(o: OnnxDetectorOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('options', 'an OnnxDetectorOptions object', o);
  if (typeof o.modelPath !== 'string' || o.modelPath.length === 0) throw new InvalidArgumentError('modelPath', 'a non-empty path string', o.modelPath);
  const id = o.id ?? ONNX_DETECTOR_DEFAULTS.id;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('id', 'a non-empty string', id);
  let classNames: readonly string[] | undefined;
  if (o.classNames !== undefined) {
    if (!Array.isArray(o.classNames) || o.classNames.length === 0 || !o.classNames.every((n) => typeof n === 'string')) {
      throw new InvalidArgumentError('classNames', 'a non-empty array of strings', o.classNames);
    }
    classNames = Object.freeze([...o.classNames]);
  }
  const numClasses = o.numClasses === undefined ? undefined : posInt('numClasses', o.numClasses);
  if (numClasses !== undefined && classNames !== undefined && classNames.length !== numClasses) {
    throw new InvalidArgumentError('classNames', `${numClasses} names (numClasses)`, `${classNames.length} names`);
  }
  let inputSize: ResolvedOptions['inputSize'];
  if (o.inputSize !== undefined) {
    if (typeof o.inputSize !== 'object' || o.inputSize === null) throw new InvalidArgumentError('inputSize', '{ width, height }', o.inputSize);
    inputSize = Object.freeze({ width: posInt('inputSize.width', o.inputSize.width), height: posInt('inputSize.height', o.inputSize.height) });
  }
  const optName = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) throw new InvalidArgumentError(name, 'a non-empty string', v);
    return v;
  };
  const cudaDeviceId = o.cudaDeviceId ?? 0;
  if (!Number.isSafeInteger(cudaDeviceId) || cudaDeviceId < 0) throw new InvalidArgumentError('cudaDeviceId', 'a non-negative integer', cudaDeviceId);
  return Object.freeze({
    modelPath: o.modelPath,
    id,
    head: oneOf('head', o.head ?? 'auto', ['auto', 'yolov5', 'yolov8', 'end2end'] as const),
    layout: oneOf('layout', o.layout ?? 'auto', ['auto', 'channelsFirst', 'channelsLast'] as const),
    numClasses: numClasses ?? classNames?.length,
    classNames,
    scoreThreshold: unit('scoreThreshold', o.scoreThreshold ?? ONNX_DETECTOR_DEFAULTS.scoreThreshold),
    iouThreshold: unit('iouThreshold', o.iouThreshold ?? ONNX_DETECTOR_DEFAULTS.iouThreshold),
    maxDetections: posInt('maxDetections', o.maxDetections ?? ONNX_DETECTOR_DEFAULTS.maxDetections),
    maxCandidates: posInt('maxCandidates', o.maxCandidates ?? ONNX_DETECTOR_DEFAULTS.maxCandidates),
    classAgnosticNms: o.classAgnosticNms ?? false,
    inputSize,
    inputName: optName('inputName', o.inputName),
    outputName: optName('outputName', o.outputName),
    preprocess: resolvePreprocessOptions(o.preprocess),
    executionProvider: oneOf('executionProvider', o.executionProvider ?? 'cpu', ['cpu', 'cuda'] as const),
    cudaDeviceId,
    intraOpNumThreads: o.intraOpNumThreads === undefined ? undefined : posInt('intraOpNumThreads', o.intraOpNumThreads),
    interOpNumThreads: o.interOpNumThreads === undefined ? undefined : posInt('interOpNumThreads', o.interOpNumThreads),
    graphOptimizationLevel: oneOf('graphOptimizationLevel', o.graphOptimizationLevel ?? ONNX_DETECTOR_DEFAULTS.graphOptimizationLevel, ['disabled', 'basic', 'extended', 'all'] as const),
    executor: resolveExecutorOption(o.executor ?? ONNX_DETECTOR_DEFAULTS.executor),
  });
}

/**
 * Validates an `executor` option (`'worker'`, `'inline'` or an `InferenceExecutor`).
 * @internal
 * @throws {InvalidArgumentError} naming `executor`
 */
export function resolveExecutorOption(v: unknown): DetectorExecutor {
  const e = v ?? 'worker';
  if (e === 'worker' || e === 'inline') return e;
  if (typeof e === 'object' && e !== null && typeof (e as InferenceExecutor).load === 'function' && typeof (e as InferenceExecutor).release === 'function' && (e as InferenceExecutor).pool) {
    return e as InferenceExecutor;
  }
  throw new InvalidArgumentError('executor', "'worker', 'inline' or an InferenceExecutor", e);
}
