/**
 * Messages between a {@link WorkerExecutor} and its worker threads (`inference-worker.ts`).
 * Plain data only: tensors travel as `{ name, dims, data }` with `data` on a
 * SharedArrayBuffer (inputs from pool slots: shared, not copied) or on a transferred
 * ArrayBuffer (outputs: moved, not copied).
 *
 * @packageDocumentation
 * @internal
 */
import type { InferenceErrorKind, ModelLoadFailureReason } from './errors.js';
import type { ExecutionProvider, GraphOptimizationLevel, TensorInfo } from './types.js';

/**
 * Bumped whenever a message changes. The worker reports its version in `ready`; a worker file
 * built from older sources is refused with a clear error instead of misbehaving.
 * @internal
 */
export const PROTOCOL_VERSION = 1;

/** Session options with the executor's defaults applied. @internal */
export interface ResolvedSessionOptions {
  readonly executionProvider: ExecutionProvider;
  readonly cudaDeviceId: number;
  readonly intraOpNumThreads: number | undefined;
  readonly interOpNumThreads: number | undefined;
  readonly executionMode: 'sequential' | 'parallel' | undefined;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  readonly allowSpinning: boolean;
}

/** A failure as plain data (it crosses the thread boundary; the main thread makes the `InferenceError`). @internal */
export interface ErrorReport {
  readonly kind: InferenceErrorKind;
  readonly detail: string;
  readonly reason?: ModelLoadFailureReason;
  readonly availableProviders?: readonly string[];
}

/** A tensor on the wire. @internal */
export interface WireTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/**
 * Test-only actions a run request can carry (`WorkerExecutor.__testNextRun`); `'garbage'`:
 * the worker answers the run with a malformed `result` (its `outputs` is not a tensor list).
 * @internal
 */
export type WorkerTestAction = 'exit' | 'throw' | 'mark' | 'garbage';

/** The value a `mark` test action writes into the first element of every input, in place. @internal */
export const TEST_MARK = -424242;

/** Main thread → worker. @internal */
export type ToWorker =
  | { readonly type: 'load'; readonly id: number; readonly model: number; readonly source: Uint8Array | string; readonly name: string; readonly options: ResolvedSessionOptions }
  | { readonly type: 'unload'; readonly id: number; readonly model: number }
  | {
    readonly type: 'run'; readonly id: number; readonly model: number; readonly inputs: readonly WireTensor[];
    readonly outputs: readonly string[] | undefined; readonly test?: WorkerTestAction;
  };

/** Worker → main thread. @internal */
export type FromWorker =
  | { readonly type: 'ready'; readonly protocol: number; readonly inputTransfer: 'shared' | 'staged' }
  | { readonly type: 'loaded'; readonly id: number; readonly inputs: readonly TensorInfo[]; readonly outputs: readonly TensorInfo[] }
  | { readonly type: 'unloaded'; readonly id: number }
  | { readonly type: 'result'; readonly id: number; readonly outputs: readonly WireTensor[] }
  | { readonly type: 'failed'; readonly id: number; readonly error: ErrorReport };
