/**
 * {@link InlineExecutor}: sessions on the calling thread, for tiny models and tests.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { InferenceSession } from 'onnxruntime-node';
import { errorFromReport, outputsRecord, resolveLoadRequest, slotsOf, toWire } from './common.js';
import { InferenceError } from './errors.js';
import { createSession, fromResult, sharedInputsSupported, toFeeds } from './session.js';
import type { InferenceInputs, InferenceOutputs } from './tensor.js';
import { TensorPool, type TensorPoolOptions } from './tensor-pool.js';
import type { InferenceExecutor, InferenceExecutorStats, InferenceModel, LoadModelRequest, TensorInfo } from './types.js';

/** Options of an {@link InlineExecutor}. */
export interface InlineExecutorOptions {
  /** Intra-op threads of a session whose own options do not set them. Default: onnxruntime's choice (the physical cores). */
  readonly intraOpNumThreads?: number;
  /** The tensor pool, or its options. Default: 2 plain-`ArrayBuffer` slots (one thread: nothing to share). */
  readonly pool?: TensorPool | TensorPoolOptions;
}

/**
 * Runs sessions on the calling thread. onnxruntime-node 1.30's `session.run` blocks that
 * thread for the whole inference (it only defers the blocking call with `setImmediate`), so
 * no timer, I/O callback or other feed runs meanwhile: use it for tiny models and tests, and
 * {@link WorkerExecutor} otherwise.
 *
 * Inputs are used in place (the default pool's slots are plain ArrayBuffers); outputs are
 * onnxruntime's own arrays.
 *
 * @example
 * ```ts
 * const executor = new InlineExecutor();
 * const model = await executor.load({ model: bytes });
 * const { y } = await model.run({ x: { dims: [4], data: new Float32Array([1, 2, 3, 4]) } });
 * await executor.release();
 * ```
 */
export class InlineExecutor implements InferenceExecutor {
  /** Contract version. */
  readonly specificationVersion = 'v1' as const;
  /** Always `'inline'`. */
  readonly kind = 'inline' as const;
  /** Where run inputs are prepared. */
  readonly pool: TensorPool;
  readonly #intra: number | undefined;
  readonly #models = new Set<InlineModel>();
  #released = false;
  #running = 0;
  #runs = 0;
  #failedRuns = 0;

  /**
   * @param options - see {@link InlineExecutorOptions}
   * @throws {InvalidArgumentError} on invalid options
   */
  constructor(options: InlineExecutorOptions = {}) {
    this.pool = options.pool instanceof TensorPool ? options.pool : new TensorPool({ shared: false, ...options.pool });
    const intra = options.intraOpNumThreads;
    if (intra !== undefined && (!Number.isSafeInteger(intra) || intra < 1 || intra > 1024)) throw new InvalidArgumentError('intraOpNumThreads', 'an integer in [1, 1024]', intra);
    this.#intra = intra;
  }

  /**
   * Creates a session on this thread.
   * @param request - the model (bytes or path) and its session options
   * @returns the model handle
   * @throws {InferenceError} `ModelLoadFailed` with a `reason`, `Released`
   * @throws {InvalidArgumentError} on an invalid request
   */
  async load(request: LoadModelRequest): Promise<InferenceModel> {
    const r = resolveLoadRequest(request, this.#intra);
    if (this.#released) throw InferenceError.released('executor');
    const s = await createSession(r.source, r.options);
    if (!s.ok) throw errorFromReport(r.name, s.error);
    if (this.#released) { await s.session.release().catch(() => undefined); throw InferenceError.released('executor'); }
    const model = new InlineModel(this, r.name, s.session, s.inputs, s.outputs);
    this.#models.add(model);
    return model;
  }

  /** @returns counters and the pool's state */
  stats(): InferenceExecutorStats {
    return Object.freeze({
      kind: this.kind, workers: 0, running: this.#running, queued: 0, runs: this.#runs, failedRuns: this.#failedRuns,
      workerRestarts: 0, models: this.#models.size, inputTransfer: 'direct' as const, pool: this.pool.stats(),
    });
  }

  /** Releases every model and closes the pool (idempotent). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.pool.close();
    await Promise.all([...this.#models].map((m) => m.release()));
  }

  /** @internal */
  get _released(): boolean { return this.#released; }

  /** @internal */
  _count(ok: boolean | undefined): void {
    if (ok === undefined) { this.#running++; return; }
    this.#running--;
    if (ok) this.#runs++; else this.#failedRuns++;
  }

  /** @internal */
  _forget(m: InlineModel): void { this.#models.delete(m); }
}

/** A model loaded on an {@link InlineExecutor}. */
class InlineModel implements InferenceModel {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #executor: InlineExecutor;
  readonly #session: InferenceSession;
  readonly #outputNames: readonly string[];
  #released = false;

  constructor(executor: InlineExecutor, name: string, session: InferenceSession, inputs: TensorInfo[], outputs: TensorInfo[]) {
    this.#executor = executor;
    this.#session = session;
    this.name = name;
    this.inputs = Object.freeze(inputs.map((t) => Object.freeze({ ...t, shape: Object.freeze([...t.shape]) })));
    this.outputs = Object.freeze(outputs.map((t) => Object.freeze({ ...t, shape: Object.freeze([...t.shape]) })));
    this.#outputNames = outputs.map((o) => o.name);
  }

  // Not `async`: the session's run is started before this returns (same event-loop turn as
  // the call), exactly as calling onnxruntime directly.
  run(inputs: InferenceInputs, outputNames?: readonly string[]): Promise<InferenceOutputs> {
    const slots = slotsOf(inputs);
    const done = (ok: boolean): void => { for (const s of slots) s.release(); this.#executor._count(ok); };
    this.#executor._count(undefined);
    let pending: Promise<InferenceSession.OnnxValueMapType>;
    let names: readonly string[];
    try {
      if (this.#released || this.#executor._released) throw InferenceError.released(`model '${this.name}'`);
      const wire = toWire(inputs, outputNames);
      names = wire.outputs ?? this.#outputNames;
      // onnxruntime-node refuses SharedArrayBuffer-backed tensors (1.30): stage those (not the default pool's slots).
      // (a fresh staging map per run: runs started back to back must not share a buffer)
      const feeds = toFeeds(wire.inputs, sharedInputsSupported() !== true, new Map());
      pending = this.#session.run(feeds, [...names]);
    } catch (e) {
      done(false);
      return Promise.reject(e);
    }
    return pending.then((result) => {
      const out = fromResult(result, names, false);
      if (!Array.isArray(out)) { done(false); throw errorFromReport(this.name, out); }
      done(true);
      return outputsRecord(out);
    }, (e: unknown) => {
      done(false);
      throw InferenceError.runFailed(this.name, e instanceof Error ? e.message : String(e), e);
    });
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#executor._forget(this);
    await this.#session.release().catch(() => undefined);
  }
}

