/**
 * `@nv/inference`: where nv runs ONNX models. An {@link InferenceExecutor} loads a model
 * (bytes or path + session options), reports its inputs and outputs, and runs it on plain
 * float32 tensors prepared in slots of a bounded {@link TensorPool}:
 *
 * - {@link WorkerExecutor} (the default of nv's stages): sessions in worker threads, so the
 *   JS thread — every feed, timer and sink — keeps turning during inference; inputs are
 *   SharedArrayBuffer slots the worker reads in place; outputs come back on transferred
 *   ArrayBuffers.
 * - {@link InlineExecutor}: sessions on the calling thread (tiny models, tests).
 *
 * `RemoteExecutor` (`@nv/remote`) implements the same interface over NATS: its runs go to
 * inference workers on other machines.
 *
 * @packageDocumentation
 */
export { WorkerExecutor, WORKER_EXECUTOR_DEFAULTS } from './worker-executor.js';
export type { WorkerExecutorOptions } from './worker-executor.js';
export { InlineExecutor } from './inline-executor.js';
export type { InlineExecutorOptions } from './inline-executor.js';
export { TensorPool, TensorSlot } from './tensor-pool.js';
export type { TensorPoolOptions, TensorPoolStats, AcquireOptions } from './tensor-pool.js';
export type { InferenceInput, InferenceOutput, InferenceInputs, InferenceOutputs, SlotLease } from './tensor.js';
export type {
  InferenceExecutor, InferenceModel, InferenceExecutorStats, LoadModelRequest, SessionOptions, TensorInfo, ExecutionProvider,
  GraphOptimizationLevel, DetectionReduction, RunOptions,
} from './types.js';
export { InferenceError } from './errors.js';
export type { InferenceErrorKind, ModelLoadFailureReason, InferenceErrorOptions } from './errors.js';
export { defaultIntraOpThreads } from './common.js';
