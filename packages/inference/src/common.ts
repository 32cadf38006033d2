/**
 * What both executors share on the calling thread: defaults, validation of load requests,
 * session options and run inputs, and turning worker/session reports into typed errors.
 *
 * @packageDocumentation
 * @internal
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '@nv/core';
import { InferenceError } from './errors.js';
import type { ErrorReport, ResolvedSessionOptions, WireTensor } from './protocol.js';
import type { InferenceInputs, InferenceOutputs, SlotLease } from './tensor.js';
import type { LoadModelRequest, SessionOptions } from './types.js';

/**
 * The default intra-op thread count of each session of a worker executor: the machine's
 * parallelism shared out between the workers, so `workers × threads ≤ availableParallelism()`
 * (at least 1 thread each).
 * @param workers - worker count
 * @param parallelism - default `os.availableParallelism()`
 * @returns threads per session
 * @example
 * ```ts
 * defaultIntraOpThreads(1, 2) // 2: one worker gets both cores
 * defaultIntraOpThreads(2, 2) // 1
 * ```
 */
export function defaultIntraOpThreads(workers: number, parallelism: number = availableParallelism()): number {
  return Math.max(1, Math.floor(parallelism / Math.max(1, workers)));
}

const intIn = (name: string, v: unknown, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, `an integer in [${min}, ${max}]`, v);
  return v;
};

/** @internal Validates a load request; copies the bytes. */
export function resolveLoadRequest(r: LoadModelRequest, defaultIntra: number | undefined): { source: Uint8Array | string; name: string; options: ResolvedSessionOptions } {
  if (typeof r !== 'object' || r === null) throw new InvalidArgumentError('request', 'a LoadModelRequest object', r);
  const m = r.model;
  let source: Uint8Array | string;
  if (typeof m === 'string') {
    if (m.length === 0) throw new InvalidArgumentError('model', 'a non-empty path or ONNX bytes', m);
    source = m;
  } else if (m instanceof Uint8Array) {
    source = new Uint8Array(m); // a copy: the caller may reuse its array
  } else {
    throw new InvalidArgumentError('model', 'a path string or a Uint8Array of ONNX bytes', m);
  }
  const name = r.name ?? (typeof m === 'string' ? m : 'model');
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
  return { source, name, options: resolveSessionOptions(r.session, defaultIntra) };
}

function boolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(name, 'true or false', v);
  return v;
}

/** @internal Session options with defaults, validated (messages name `session.<field>`). */
export function resolveSessionOptions(s: SessionOptions | undefined, defaultIntra: number | undefined): ResolvedSessionOptions {
  const o = s ?? {};
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('session', 'a SessionOptions object', o);
  const oneOf = <T extends string>(name: string, v: unknown, values: readonly T[]): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`session.${name}`, `one of ${values.map((x) => `'${x}'`).join(', ')}`, v);
    return v as T;
  };
  return Object.freeze({
    executionProvider: oneOf('executionProvider', o.executionProvider ?? 'cpu', ['cpu', 'cuda'] as const),
    cudaDeviceId: intIn('session.cudaDeviceId', o.cudaDeviceId ?? 0, 0, 1024),
    intraOpNumThreads: o.intraOpNumThreads === undefined ? defaultIntra : intIn('session.intraOpNumThreads', o.intraOpNumThreads, 1, 1024),
    interOpNumThreads: o.interOpNumThreads === undefined ? undefined : intIn('session.interOpNumThreads', o.interOpNumThreads, 1, 1024),
    executionMode: o.executionMode === undefined ? undefined : oneOf('executionMode', o.executionMode, ['sequential', 'parallel'] as const),
    graphOptimizationLevel: oneOf('graphOptimizationLevel', o.graphOptimizationLevel ?? 'all', ['disabled', 'basic', 'extended', 'all'] as const),
    allowSpinning: o.allowSpinning === undefined ? false : boolean('session.allowSpinning', o.allowSpinning),
  });
}

/** @internal The pool slots of a run's inputs (released when the run settles). */
export function slotsOf(inputs: InferenceInputs): SlotLease[] {
  const out: SlotLease[] = [];
  if (typeof inputs !== 'object' || inputs === null) return out;
  for (const t of Object.values(inputs)) if (t && typeof t === 'object' && t.slot) out.push(t.slot);
  return out;
}

/**
 * @internal Validates run inputs and output names.
 * @throws {InvalidArgumentError} naming the input
 */
export function toWire(inputs: InferenceInputs, outputNames: readonly string[] | undefined): { inputs: WireTensor[]; outputs: string[] | undefined } {
  if (typeof inputs !== 'object' || inputs === null) throw new InvalidArgumentError('inputs', 'an object of { dims, data } by input name', inputs);
  const wire: WireTensor[] = [];
  for (const [name, t] of Object.entries(inputs)) {
    if (!t || !(t.data instanceof Float32Array)) throw new InvalidArgumentError(`inputs.${name}.data`, 'a Float32Array', t?.data);
    if (!Array.isArray(t.dims) || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InvalidArgumentError(`inputs.${name}.dims`, 'an array of non-negative integers', t.dims);
    }
    const n = t.dims.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new InvalidArgumentError(`inputs.${name}.dims`, `dimensions whose product is ${t.data.length} (data length)`, `[${t.dims.join(', ')}]`);
    if (t.slot?.released) throw new InvalidArgumentError(`inputs.${name}.slot`, 'a slot that is still held', 'a released slot');
    wire.push({ name, dims: [...t.dims], data: t.data });
  }
  if (outputNames !== undefined && (!Array.isArray(outputNames) || !outputNames.every((n) => typeof n === 'string'))) {
    throw new InvalidArgumentError('outputNames', 'an array of output names', outputNames);
  }
  return { inputs: wire, outputs: outputNames === undefined ? undefined : [...outputNames] };
}

/** @internal */
export function outputsRecord(outputs: readonly WireTensor[]): InferenceOutputs {
  const out: Record<string, { dims: readonly number[]; data: Float32Array }> = {};
  for (const t of outputs) out[t.name] = Object.freeze({ dims: Object.freeze([...t.dims]), data: t.data });
  return Object.freeze(out);
}

/** @internal A report from a session or a worker as a typed error. */
export function errorFromReport(model: string, r: ErrorReport): InferenceError {
  switch (r.kind) {
    case 'ModelLoadFailed':
      return InferenceError.modelLoadFailed(model, r.reason ?? 'InvalidModel', r.detail, r.availableProviders ? { availableProviders: r.availableProviders } : {});
    case 'RunFailed':
      return InferenceError.runFailed(model, r.detail);
    case 'Released':
      return InferenceError.released(`model '${model}'`);
    default:
      return new InferenceError({ kind: r.kind, message: `${r.kind}: ${r.detail}`, detail: r.detail });
  }
}
