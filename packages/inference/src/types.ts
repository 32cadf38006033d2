/**
 * The executor contract: what a stage needs from "something that runs ONNX models" — load a
 * model, learn its inputs and outputs, run it on float32 tensors, release it — with nothing
 * that ties it to a thread or a machine. {@link WorkerExecutor} runs sessions in worker
 * threads, {@link InlineExecutor} on the calling thread; `RemoteExecutor` (`@nv/remote`) runs them on
 * inference workers on other machines, over NATS, behind the same interface.
 *
 * @packageDocumentation
 */
import type { InferenceInputs, InferenceOutputs } from './tensor.js';
import type { TensorPool, TensorPoolStats } from './tensor-pool.js';

/** Where a session runs its kernels. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** onnxruntime graph optimization level. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * Session options of one model. Everything is optional; unset fields take the executor's
 * defaults (threads) or onnxruntime's.
 *
 * @example
 * ```ts
 * const session: SessionOptions = { intraOpNumThreads: 2, graphOptimizationLevel: 'all' };
 * ```
 */
export interface SessionOptions {
  /** `'cpu'` (default) or `'cuda'`; an unavailable provider fails the load (never a silent CPU fallback). */
  readonly executionProvider?: ExecutionProvider;
  /** CUDA device ordinal (with `executionProvider: 'cuda'`). Default 0. */
  readonly cudaDeviceId?: number;
  /**
   * Threads inside one operator. Default: the executor's (`WorkerExecutor`:
   * `availableParallelism() / workers`; `InlineExecutor`: onnxruntime's choice).
   */
  readonly intraOpNumThreads?: number;
  /** Threads across operators (with `executionMode: 'parallel'`). Default: onnxruntime's. */
  readonly interOpNumThreads?: number;
  /** Operator scheduling. Default: onnxruntime's (`'sequential'`). */
  readonly executionMode?: 'sequential' | 'parallel';
  /** Default `'all'`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Let onnxruntime's idle threads spin (busy-wait) between operators, as onnxruntime does by
   * default. Default `false`: nv shares the cores with decoding, preprocessing and other feeds,
   * and spinning threads take CPU from them (BENCHMARKS.md, detection job). Set `true` for a
   * machine that does nothing but this model.
   */
  readonly allowSpinning?: boolean;
}

/**
 * What to load: ONNX bytes, or the path of an `.onnx` file (read where the session is
 * created — a worker reads it itself; an executor on another machine reads it locally and
 * ships the bytes).
 *
 * @example
 * ```ts
 * const request: LoadModelRequest = { model: 'models/yolo11n.onnx', session: { intraOpNumThreads: 2 } };
 * ```
 */
export interface LoadModelRequest {
  /**
   * ONNX `ModelProto` bytes, or a path to them. Bytes are copied: the caller may reuse its array
   * (a `WorkerExecutor` keeps its copy while the model is loaded, to load it into a replacement
   * worker; a path is read again instead).
   */
  readonly model: Uint8Array | string;
  /** Session options. */
  readonly session?: SessionOptions;
  /** Name used in errors and stats. Default: the path, else `'model'`. */
  readonly name?: string;
}

/** A model input or output as the model declares it. */
export interface TensorInfo {
  /** Input / output name. */
  readonly name: string;
  /** `false` for sequences and maps (then `type` is `undefined` and `shape` empty). */
  readonly isTensor: boolean;
  /** onnxruntime element type (`'float32'`, `'int64'`, …). */
  readonly type: string | undefined;
  /** Declared shape; symbolic dimensions are their names (`'batch'`). */
  readonly shape: readonly (number | string)[];
}

/**
 * A request that the executor turn a YOLO-family detection output into detections where the
 * model runs — decode the head, drop boxes outside each item's content, apply NMS (or, for an
 * end-to-end head, keep the best scores) — and return them instead of the raw tensor: the
 * output then has shape `[B, K, 6]`, rows `x1, y1, x2, y2, score, class` in input pixels, best
 * score first, K the most any item kept (shorter items padded with zero rows). The same steps,
 * on the same floats, as `@nv/onnx`'s detector runs locally, so the detections are identical.
 * Asked for only where {@link InferenceModel.reductions} lists `'detections'` (a remote worker:
 * the reply is kilobytes instead of the head's megabytes).
 */
export interface DetectionReduction {
  /** The output to reduce. */
  readonly output: string;
  /** The head (`'auto'`: from the output's shape and `numClasses`). */
  readonly head: 'yolov5' | 'yolov8' | 'end2end' | 'auto';
  /** The output's layout (`'auto'`: from its shape). */
  readonly layout: 'channelsFirst' | 'channelsLast' | 'auto';
  /** Classes of the model, when known. */
  readonly numClasses?: number;
  /** Candidates need a score ≥ this. */
  readonly scoreThreshold: number;
  /** NMS IoU threshold. */
  readonly iouThreshold: number;
  /** Detections kept per item, at most. */
  readonly maxDetections: number;
  /** Candidates considered by NMS per item, at most (the best scores). */
  readonly maxCandidates: number;
  /** NMS across classes. */
  readonly classAgnostic: boolean;
  /**
   * Per batch item, the rectangle `[x0, y0, x1, y1]` of the input (pixels) that holds the
   * image — a letterbox's content; a box with no area inside it is dropped before NMS. An item
   * of padding has `[0, 0, 0, 0]`.
   */
  readonly content: readonly (readonly number[])[];
}

/** Options of one {@link InferenceModel.run}. */
export interface RunOptions {
  /** Reduce a detection output where the model runs (only where `reductions` has `'detections'`). */
  readonly detections?: DetectionReduction;
}

/**
 * A model loaded on an executor.
 *
 * @example
 * ```ts
 * const model = await executor.load({ model: bytes });
 * const slot = await executor.pool.acquire(3 * 640 * 640);
 * fill(slot.data);
 * const { output0 } = await model.run({ images: slot.input([1, 3, 640, 640]) }, ['output0']);
 * await model.release();
 * ```
 */
export interface InferenceModel {
  /** The name given at load (or the path). */
  readonly name: string;
  /** The model's inputs, in declaration order. */
  readonly inputs: readonly TensorInfo[];
  /** The model's outputs, in declaration order. */
  readonly outputs: readonly TensorInfo[];
  /**
   * Reductions this model's runs accept in {@link RunOptions} (`'detections'`: see
   * {@link DetectionReduction}). Absent or empty for local executors: reducing where the
   * tensor already is saves nothing.
   */
  readonly reductions?: readonly 'detections'[];
  /**
   * Runs the model. Every input slot is returned to its pool when the returned promise
   * settles, whatever the outcome.
   * @param inputs - float32 tensors by input name
   * @param outputNames - outputs to fetch (default: all)
   * @param options - a reduction (only one listed in {@link InferenceModel.reductions})
   * @returns the outputs by name, as plain `{ dims, data }` (a reduced output as described by
   *   {@link DetectionReduction})
   * @throws {InferenceError} `RunFailed`, `WorkerExited` (the worker died during the run; it
   *   is replaced and the next run works), `QueueFull`, `Released`; a remote executor also
   *   `TimedOut`, `NoResponders`, `PayloadTooLarge`, `RemoteFailed`, `ConnectionFailed`
   */
  run(inputs: InferenceInputs, outputNames?: readonly string[], options?: RunOptions): Promise<InferenceOutputs>;
  /** Releases the model's sessions (idempotent); later runs fail with `Released`. */
  release(): Promise<void>;
}

/** What an executor reports about itself. */
export interface InferenceExecutorStats {
  /** The executor's kind (`'worker'`, `'inline'`, …). */
  readonly kind: string;
  /** Live worker threads (0 for the inline executor). */
  readonly workers: number;
  /** Runs executing now. */
  readonly running: number;
  /** Runs waiting for a worker. */
  readonly queued: number;
  /** Runs completed successfully. */
  readonly runs: number;
  /** Runs that failed (any kind). */
  readonly failedRuns: number;
  /** Workers replaced after they exited or crashed. */
  readonly workerRestarts: number;
  /** Models loaded. */
  readonly models: number;
  /**
   * How pool-slot inputs reach onnxruntime: `'shared'` (the worker wraps the
   * SharedArrayBuffer itself), `'staged'` (this onnxruntime-node build refuses
   * SharedArrayBuffer-backed tensors, so the worker copies the slot into its own buffer —
   * off the JS thread), `'direct'` (inline: plain buffers); `undefined` before start.
   */
  readonly inputTransfer: 'shared' | 'staged' | 'direct' | undefined;
  /** The tensor pool. */
  readonly pool: TensorPoolStats;
}

/**
 * Runs ONNX models. Implementations: {@link WorkerExecutor} (worker threads, the default of
 * nv's stages), {@link InlineExecutor} (the calling thread), `RemoteExecutor` of `@nv/remote` (inference
 * workers reached over NATS). Inputs are prepared in slots of the executor's {@link TensorPool}.
 *
 * @example
 * ```ts
 * const executor: InferenceExecutor = new WorkerExecutor();
 * const model = await executor.load({ model: 'model.onnx' });
 * // … model.run(…)
 * await executor.release();
 * ```
 */
export interface InferenceExecutor {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /** `'worker'`, `'inline'`, or an implementation's own kind. */
  readonly kind: string;
  /** Where run inputs are prepared (bounded: a full pool makes `acquire` wait). */
  readonly pool: TensorPool;
  /**
   * Loads a model.
   * @param request - the model and its session options
   * @returns a handle with the model's inputs and outputs
   * @throws {InferenceError} `ModelLoadFailed` (with a `reason`), `WorkerStartFailed`,
   *   `WorkerExited`, `Released`
   */
  load(request: LoadModelRequest): Promise<InferenceModel>;
  /** @returns counters and the pool's state */
  stats(): InferenceExecutorStats;
  /**
   * Releases every model, stops the workers and closes the pool (idempotent). Queued and
   * running requests fail with `Released`.
   */
  release(): Promise<void>;
}
