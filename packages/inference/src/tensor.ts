/**
 * Plain tensors: what goes into a run and what comes out — `{ dims, data }`, no onnxruntime
 * object, so they cross threads (and machines) as memory, not as handles.
 *
 * @packageDocumentation
 */

/** What a run needs of a pool slot: to give it back when the run settles. Implemented by `TensorSlot`. */
export interface SlotLease {
  /** The slot's index in its pool. */
  readonly id: number;
  /** Whether it was given back. */
  readonly released: boolean;
  /** Gives the slot back (idempotent). */
  release(): void;
}

/**
 * One float32 input tensor. Build it from a pool slot with {@link TensorSlot.input}: the run
 * then owns the slot and returns it to the pool when it settles. A plain `Float32Array` works
 * too (a worker executor then copies it once into the worker; a pool slot is shared, no copy).
 */
export interface InferenceInput {
  /** Dimensions; their product is `data.length`. */
  readonly dims: readonly number[];
  /** The values, row-major. */
  readonly data: Float32Array;
  /** The pool slot `data` lives in, released when the run settles (set by {@link TensorSlot.input}). */
  readonly slot?: SlotLease;
}

/** One float32 output tensor: plain data on memory the caller now owns (no onnxruntime object). */
export interface InferenceOutput {
  /** Dimensions as produced by the run. */
  readonly dims: readonly number[];
  /** The values, row-major. */
  readonly data: Float32Array;
}

/** Inputs of a run, by input name. */
export type InferenceInputs = Readonly<Record<string, InferenceInput>>;

/** Outputs of a run, by output name. */
export type InferenceOutputs = Readonly<Record<string, InferenceOutput>>;

