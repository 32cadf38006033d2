/**
 * The typed error of `@nv/inference`: every failure of an executor, a model or the tensor
 * pool is an {@link InferenceError} with a `kind` (and, for load failures, a `reason`), so
 * callers branch on fields, never on message text.
 *
 * @packageDocumentation
 */
import { NvError, sanitizeErrorString } from '@nv/core';

const INFERENCE = Symbol.for('nv.error.inference');

/** Variants of {@link InferenceError}. */
export type InferenceErrorKind =
  /** A model could not be turned into a session (see {@link ModelLoadFailureReason}). */
  | 'ModelLoadFailed'
  /** onnxruntime refused or failed a run (bad input shape, unsupported output type, …). */
  | 'RunFailed'
  /** The worker running (or loading) this request exited or crashed; it is replaced. */
  | 'WorkerExited'
  /** No inference worker could be started (built worker file missing, stale build, repeated crashes). */
  | 'WorkerStartFailed'
  /** The executor's run queue was full: the run was refused at once. */
  | 'QueueFull'
  /** The executor, model or pool was released before (or while) the request ran. */
  | 'Released'
  /** Remote executor: nothing serves the model's subject (no inference worker runs that model). */
  | 'NoResponders'
  /** Remote executor: a request or reply is larger than the NATS server's `max_payload`. */
  | 'PayloadTooLarge'
  /** Remote executor: no reply within the response timeout (the worker is slow, overloaded or gone). */
  | 'TimedOut'
  /** Remote executor: the inference worker answered with a failure (its kind in `remoteKind`). */
  | 'RemoteFailed'
  /** Remote executor: the NATS server cannot be reached, refused the connection, or the connection closed. */
  | 'ConnectionFailed';

/** Why a model load failed (`kind: 'ModelLoadFailed'`). */
export type ModelLoadFailureReason =
  /** The model path does not exist. */
  | 'NotFound'
  /** The model path exists but cannot be read (a directory, no permission). */
  | 'Unreadable'
  /** onnxruntime cannot create a session from the bytes (not an ONNX model, unsupported ops). */
  | 'InvalidModel'
  /** The requested execution provider is not available in this onnxruntime build. */
  | 'ProviderUnavailable'
  /** The provider is there but could not create the session (driver, device, shared library). */
  | 'ProviderFailed';

/** Construction options of {@link InferenceError} (prefer its static factories). */
export interface InferenceErrorOptions {
  /** Which variant. */
  readonly kind: InferenceErrorKind;
  /** The full message. */
  readonly message: string;
  /** The underlying detail (usually onnxruntime's own message). */
  readonly detail?: string;
  /** For `ModelLoadFailed`: why. */
  readonly reason?: ModelLoadFailureReason;
  /** For `ProviderUnavailable`: the providers onnxruntime reports. */
  readonly availableProviders?: readonly string[];
  /** For `RemoteFailed`: the kind the remote worker reported (`'RunFailed'`, `'BadRequest'`, …). */
  readonly remoteKind?: string;
  /** Underlying cause. */
  readonly cause?: unknown;
}

/**
 * A failure of an inference executor, model or tensor pool.
 *
 * It belongs to the `'runtime'` error category (the execution layer). Stages that use an
 * executor turn it into their own `StageError` (`ModelLoadFailed` at start,
 * `ProcessingFailed` or `ResourceExhausted` per frame), so a frame is dropped, never the feed.
 *
 * @example
 * ```ts
 * try { await executor.load({ model: 'models/yolo11n.onnx' }); } catch (e) {
 *   if (InferenceError.isInstance(e) && e.reason === 'NotFound') console.error('no model file');
 * }
 * ```
 */
export class InferenceError extends NvError {
  /** Always `'runtime'`: inference is part of the execution layer. */
  readonly category = 'runtime' as const;
  /** Error name as it appears in stack traces and logs (`NV_InferenceError`). */
  override readonly name = 'NV_InferenceError';
  /** Which variant of {@link InferenceErrorKind} this is. */
  readonly kind: InferenceErrorKind;
  /** The underlying detail, sanitized (onnxruntime's message for load and run failures). */
  readonly detail: string | undefined;
  /** For `ModelLoadFailed`: why it failed. */
  readonly reason: ModelLoadFailureReason | undefined;
  /** For `ProviderUnavailable`: the execution providers onnxruntime reports. */
  readonly availableProviders: readonly string[] | undefined;
  /** For `RemoteFailed`: the kind the remote worker reported; `undefined` otherwise. */
  readonly remoteKind: string | undefined;
  private readonly [INFERENCE] = true;

  /** Prefer the static factories; this constructor sanitizes the message and the detail. */
  constructor(options: InferenceErrorOptions) {
    super({ message: options.message, cause: options.cause });
    this.kind = options.kind;
    this.detail = options.detail === undefined ? undefined : sanitizeErrorString(options.detail);
    this.reason = options.reason;
    this.availableProviders = options.availableProviders === undefined ? undefined : Object.freeze([...options.availableProviders]);
    this.remoteKind = options.remoteKind;
  }

  /**
   * @param e - any value
   * @returns whether `e` is an {@link InferenceError} (from any package copy)
   */
  static override isInstance(e: unknown): e is InferenceError {
    return NvError.isInstance(e) && (e as unknown as Record<symbol, unknown>)[INFERENCE] === true;
  }

  /**
   * @param model - the model's name (its path, or the name given to `load`)
   * @param reason - why
   * @param detail - onnxruntime's message or what was found
   * @param extra - the providers onnxruntime reports (for `ProviderUnavailable`), the cause
   * @returns a `ModelLoadFailed` error
   */
  static modelLoadFailed(
    model: string, reason: ModelLoadFailureReason, detail: string, extra: { availableProviders?: readonly string[]; cause?: unknown } = {},
  ): InferenceError {
    return new InferenceError({ kind: 'ModelLoadFailed', message: `ModelLoadFailed (${reason}) for model '${model}': ${detail}`, detail, reason, ...extra });
  }

  /**
   * @param model - the model's name
   * @param detail - onnxruntime's message
   * @param cause - the underlying error
   * @returns a `RunFailed` error
   */
  static runFailed(model: string, detail: string, cause?: unknown): InferenceError {
    return new InferenceError({ kind: 'RunFailed', message: `RunFailed for model '${model}': ${detail}`, detail, cause });
  }

  /**
   * @param detail - which worker, its exit code or uncaught error, what it was doing
   * @returns a `WorkerExited` error
   */
  static workerExited(detail: string): InferenceError {
    return new InferenceError({ kind: 'WorkerExited', message: `WorkerExited: ${detail}`, detail });
  }

  /**
   * @param detail - what is missing or what failed, and the fix
   * @param cause - the underlying error
   * @returns a `WorkerStartFailed` error
   */
  static workerStartFailed(detail: string, cause?: unknown): InferenceError {
    return new InferenceError({ kind: 'WorkerStartFailed', message: `WorkerStartFailed: ${detail}`, detail, cause });
  }

  /**
   * @param limit - the queue bound
   * @param detail - overrides the default detail (a remote worker's refusal says so)
   * @returns a `QueueFull` error
   */
  static queueFull(limit: number, detail = `${limit} runs are already waiting for a worker (maxQueuedRuns); the run was refused`): InferenceError {
    return new InferenceError({ kind: 'QueueFull', message: `QueueFull: ${detail}`, detail });
  }

  /**
   * A remote-executor failure (`NoResponders`, `PayloadTooLarge`, `TimedOut`, `RemoteFailed`,
   * `ConnectionFailed`).
   * @param kind - which
   * @param detail - what happened, with the server (never its credentials) and the fix
   * @param extra - for `RemoteFailed`, the worker's own kind; the cause
   * @returns the error
   */
  static remote(
    kind: 'NoResponders' | 'PayloadTooLarge' | 'TimedOut' | 'RemoteFailed' | 'ConnectionFailed', detail: string, extra: { remoteKind?: string; cause?: unknown } = {},
  ): InferenceError {
    return new InferenceError({ kind, message: `${kind}: ${detail}`, detail, ...extra });
  }

  /**
   * @param what - what was released (`'executor'`, `"model 'x'"`, `'tensor pool'`)
   * @returns a `Released` error
   */
  static released(what: string): InferenceError {
    const detail = `the ${what} was released`;
    return new InferenceError({ kind: 'Released', message: `Released: ${detail}`, detail });
  }
}
