/**
 * {@link WorkerExecutor}: onnxruntime sessions in worker threads, so inference never blocks
 * the JS thread (onnxruntime-node 1.30's `session.run` does: it only defers the blocking call
 * with `setImmediate`).
 *
 * @packageDocumentation
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '@nv/core';
import { defaultIntraOpThreads, errorFromReport, outputsRecord, resolveLoadRequest, slotsOf, toWire } from './common.js';
import { InferenceError } from './errors.js';
import { PROTOCOL_VERSION, type FromWorker, type ResolvedSessionOptions, type ToWorker, type WireTensor, type WorkerTestAction } from './protocol.js';
import type { InferenceInputs, InferenceOutputs, SlotLease } from './tensor.js';
import { TensorPool, type TensorPoolOptions } from './tensor-pool.js';
import type { InferenceExecutor, InferenceExecutorStats, InferenceModel, LoadModelRequest, TensorInfo } from './types.js';

/** Options of a {@link WorkerExecutor}. */
export interface WorkerExecutorOptions {
  /** Worker threads, each with its own session of every loaded model. Default 1. */
  readonly workers?: number;
  /**
   * Intra-op threads of a session whose own options do not set them. Default
   * `availableParallelism() / workers` (at least 1), so this executor's workers together use
   * the machine's cores and no more. The bound is per executor: two executors with the
   * defaults use twice the cores (see {@link WorkerExecutor}).
   */
  readonly intraOpNumThreads?: number;
  /**
   * Runs that may wait for a busy worker. A run beyond it is refused at once with
   * `InferenceError` `QueueFull` (never queued without bound). Default 32. With pool-slot
   * inputs the pool already bounds the runs in flight to its slot count.
   */
  readonly maxQueuedRuns?: number;
  /** The tensor pool, or its options. Default: `2 × workers` shared slots. */
  readonly pool?: TensorPool | TensorPoolOptions;
  /**
   * Consecutive failed starts of a replacement worker before the executor gives up (every
   * later request then fails with `WorkerStartFailed`). Default 3.
   */
  readonly maxRestarts?: number;
  /** The worker script. Default: the package's built `inference-worker.js`. */
  readonly workerScript?: string | URL;
}

/**
 * Defaults of {@link WorkerExecutorOptions}.
 * @example
 * ```ts
 * WORKER_EXECUTOR_DEFAULTS.workers // 1
 * ```
 */
export const WORKER_EXECUTOR_DEFAULTS = Object.freeze({
  workers: 1,
  maxQueuedRuns: 32,
  slotsPerWorker: 2,
  maxRestarts: 3,
});

const WORKER_FILE = 'inference-worker.js';
let staleWarned = false;

/**
 * The worker script: `./inference-worker.js` beside this module when it runs from `dist/`,
 * `../dist/inference-worker.js` when it runs from `src/` (tests resolve the workspace to its
 * TypeScript sources; Node 20 cannot start a worker from TypeScript, so the worker is always
 * the built file).
 * @throws {InferenceError} `WorkerStartFailed` naming the missing file and the build command
 */
function resolveWorkerScript(override: string | URL | undefined): URL {
  if (override !== undefined) {
    const url = override instanceof URL ? override : override.startsWith('file:') ? new URL(override) : pathToFileURL(override);
    if (!existsSync(url)) throw InferenceError.workerStartFailed(`inference worker script '${fileURLToPath(url)}' does not exist`);
    return url;
  }
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const candidates = fromSource ? [new URL(`../dist/${WORKER_FILE}`, here)] : [new URL(`./${WORKER_FILE}`, here), new URL(`../dist/${WORKER_FILE}`, here)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw InferenceError.workerStartFailed(
      `the built inference worker '${fileURLToPath(candidates[0]!)}' is missing: Node cannot start a worker from TypeScript, so @nv/inference must be built first (\`pnpm exec tsc -b packages/inference\`, or \`npm run typecheck\`)`,
    );
  }
  if (fromSource && !staleWarned) {
    // Running from sources (tests): the worker is the built file, so say when it is older than its sources.
    const newer = ['inference-worker.ts', 'session.ts', 'protocol.ts'].filter((f) => {
      try { return statSync(new URL(`./${f}`, here)).mtimeMs > statSync(found).mtimeMs; } catch { return false; }
    });
    if (newer.length > 0) {
      staleWarned = true;
      process.emitWarning(`@nv/inference: ${fileURLToPath(found)} is older than src/${newer.join(', src/')}; workers run the built file — rebuild (\`pnpm exec tsc -b packages/inference\`)`);
    }
  }
  return found;
}

/**
 * The parent's Node options minus those that describe the parent's own entry (`--input-type`,
 * `--eval`, `--print`): inherited as they are, they stop the worker from starting (a script
 * run as `node --input-type=module -e …` would get no worker at all).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    const arg = a[i]!;
    if (/^--input-type(=|$)/.test(arg)) { if (arg === '--input-type') i++; continue; }
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') { i++; continue; }
    if (/^--(eval|print)=/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

interface ModelEntry {
  readonly id: number;
  readonly name: string;
  readonly source: Uint8Array | string;
  readonly options: ResolvedSessionOptions;
  released: boolean;
}

interface RunJob {
  readonly entry: ModelEntry;
  readonly inputs: readonly WireTensor[];
  readonly outputs: readonly string[] | undefined;
  readonly slots: readonly SlotLease[];
  readonly resolve: (o: InferenceOutputs) => void;
  readonly reject: (e: unknown) => void;
  test?: WorkerTestAction;
}

interface Pending {
  readonly resolve: (m: FromWorker) => void;
  readonly reject: (e: InferenceError) => void;
}

interface WorkerState {
  readonly index: number;
  readonly worker: Worker;
  readonly replacement: boolean;
  state: 'starting' | 'ready' | 'dead';
  everReady: boolean;
  /** Stopped on purpose (failed first start, protocol mismatch): not replaced. */
  retired: boolean;
  inputTransfer: 'shared' | 'staged' | undefined;
  readonly models: Set<number>;
  running: RunJob | undefined;
  readonly pending: Map<number, Pending>;
  lastError: Error | undefined;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
}

/**
 * Runs each model in worker threads: every worker holds one session per loaded model; a run
 * goes to an idle worker (at most one run per worker at a time), else waits in a bounded FIFO
 * queue (full: `QueueFull` at once). Inputs from the executor's {@link TensorPool} are
 * SharedArrayBuffers, so the worker reads the caller's memory (no copy crosses threads);
 * outputs come back on transferred ArrayBuffers (moved, not copied).
 *
 * Lifecycle: workers start with the first `load`. A worker that exits or crashes fails its
 * in-flight requests with `WorkerExited` and is replaced (with every loaded model); idle
 * workers do not keep the process alive; `release()` terminates them.
 *
 * Defaults for a machine with 2 cores: 1 worker × 2 intra-op threads (`workers × threads ≤
 * availableParallelism()`). Set `workers` for more runs in parallel (each then gets fewer
 * threads), or `intraOpNumThreads` per executor or per model.
 *
 * That bound holds **per executor**, not per process: each inference stage of nv
 * (`OnnxDetector`, `TextDetector`, `TextRecognizer`) creates its own `WorkerExecutor` by
 * default, so a feed with a detector, a text detector and a recognizer runs 3 executors, each
 * with its own worker and threads. To keep the whole process within the cores, create one
 * executor and give it to every stage (`executor: shared`); the stages then release only their
 * models, and you release the executor:
 *
 * ```ts
 * const shared = new WorkerExecutor({ workers: 2 });   // 2 × (cores / 2) threads in all
 * const stages = [
 *   new OnnxDetector({ modelPath: 'models/yolo11n.onnx', executor: shared }),
 *   new TextDetector({ executor: shared, intraOpNumThreads: shared.intraOpNumThreads }),
 *   new TextRecognizer({ executor: shared, intraOpNumThreads: shared.intraOpNumThreads }),
 * ];
 * // … feeds run …
 * await shared.release();
 * ```
 *
 * @example
 * ```ts
 * const executor = new WorkerExecutor({ workers: 1 });
 * const model = await executor.load({ model: 'models/yolo11n.onnx' });
 * const slot = await executor.pool.acquire(3 * 640 * 640);
 * preprocessor.run(frame, slot.data);
 * const out = await model.run({ images: slot.input([1, 3, 640, 640]) });   // the JS thread keeps turning
 * await executor.release();
 * ```
 */
export class WorkerExecutor implements InferenceExecutor {
  /** Contract version. */
  readonly specificationVersion = 'v1' as const;
  /** Always `'worker'`. */
  readonly kind = 'worker' as const;
  /** Where run inputs are prepared. */
  readonly pool: TensorPool;
  /** The worker count. */
  readonly workerCount: number;
  /** Default intra-op threads of each session. */
  readonly intraOpNumThreads: number;
  /** The run queue bound. */
  readonly maxQueuedRuns: number;
  readonly #maxRestarts: number;
  readonly #scriptOverride: string | URL | undefined;
  readonly #workers: WorkerState[] = [];
  readonly #models = new Map<number, ModelEntry>();
  readonly #queue: RunJob[] = [];
  #starting: Promise<void> | undefined;
  #releasing: Promise<void> | undefined;
  #broken: InferenceError | undefined;
  #script: URL | undefined;
  #nextId = 1;
  #runs = 0;
  #failedRuns = 0;
  #restarts = 0;
  #failedStarts = 0;
  #testAction: WorkerTestAction | undefined;

  /**
   * @param options - see {@link WorkerExecutorOptions}
   * @throws {InvalidArgumentError} on invalid options (naming the field)
   */
  constructor(options: WorkerExecutorOptions = {}) {
    const int = (name: string, v: unknown, min: number, max: number): number => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, `an integer in [${min}, ${max}]`, v);
      return v;
    };
    this.workerCount = int('workers', options.workers ?? WORKER_EXECUTOR_DEFAULTS.workers, 1, 256);
    this.intraOpNumThreads = int('intraOpNumThreads', options.intraOpNumThreads ?? defaultIntraOpThreads(this.workerCount), 1, 1024);
    this.maxQueuedRuns = int('maxQueuedRuns', options.maxQueuedRuns ?? WORKER_EXECUTOR_DEFAULTS.maxQueuedRuns, 0, 1_000_000);
    this.#maxRestarts = int('maxRestarts', options.maxRestarts ?? WORKER_EXECUTOR_DEFAULTS.maxRestarts, 0, 1000);
    this.pool = options.pool instanceof TensorPool
      ? options.pool
      : new TensorPool({ slots: WORKER_EXECUTOR_DEFAULTS.slotsPerWorker * this.workerCount, ...options.pool });
    this.#scriptOverride = options.workerScript;
  }

  /**
   * Loads a model into every worker (starting them on first use).
   * @param request - the model (bytes or path) and its session options
   * @returns the model handle
   * @throws {InferenceError} `ModelLoadFailed` with a `reason` (the worker's failure, typed
   *   here), `WorkerStartFailed` (built worker missing, stale or crashing), `WorkerExited`,
   *   `Released`
   * @throws {InvalidArgumentError} on an invalid request
   */
  async load(request: LoadModelRequest): Promise<InferenceModel> {
    const r = resolveLoadRequest(request, this.intraOpNumThreads);
    await this.#ensureStarted();
    const entry: ModelEntry = { id: this.#nextId++, name: r.name, source: r.source, options: r.options, released: false };
    const live = this.#workers.filter((w) => w.state !== 'dead');
    const results = await Promise.allSettled(live.map((w) => this.#loadOn(w, entry)));
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed || this.#releasing) {
      entry.released = true;
      await Promise.allSettled(live.filter((w) => w.models.has(entry.id)).map((w) => this.#unloadOn(w, entry)));
      throw failed ? failed.reason : InferenceError.released('executor');
    }
    const info = (results[0] as PromiseFulfilledResult<{ inputs: readonly TensorInfo[]; outputs: readonly TensorInfo[] }>).value;
    this.#models.set(entry.id, entry);
    return new WorkerModel(this, entry, info.inputs, info.outputs);
  }

  /** @returns counters, the workers and the pool */
  stats(): InferenceExecutorStats {
    const live = this.#workers.filter((w) => w.state !== 'dead');
    return Object.freeze({
      kind: this.kind,
      workers: live.length,
      running: live.filter((w) => w.running).length,
      queued: this.#queue.length,
      runs: this.#runs,
      failedRuns: this.#failedRuns,
      workerRestarts: this.#restarts,
      models: this.#models.size,
      inputTransfer: live.find((w) => w.inputTransfer)?.inputTransfer,
      pool: this.pool.stats(),
    });
  }

  /**
   * Terminates the workers, fails queued and running requests with `Released`, closes the
   * pool. Idempotent.
   */
  release(): Promise<void> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  /**
   * Test hook: the next dispatched run makes its worker `'exit'` (process.exit in the worker),
   * `'throw'` (an uncaught exception), `'mark'` (write `TEST_MARK` into each input's first
   * element, in place, then run) or `'garbage'` (answer with a malformed result).
   * @internal
   */
  __testNextRun(action: WorkerTestAction): void { this.#testAction = action; }

  // ---------------------------------------------------------------------------------------------

  async #release(): Promise<void> {
    const err = InferenceError.released('executor');
    for (const job of this.#queue.splice(0)) this.#fail(job, err);
    for (const e of this.#models.values()) e.released = true;
    this.#models.clear();
    this.pool.close();
    await Promise.all(this.#workers.map(async (w) => {
      if (w.state !== 'dead') await w.worker.terminate().catch(() => undefined);
      await w.exited;
    }));
  }

  #ensureStarted(): Promise<void> {
    if (this.#releasing) return Promise.reject(InferenceError.released('executor'));
    if (this.#broken) return Promise.reject(this.#broken);
    if (!this.#starting) {
      this.#starting = this.#startAll().catch((e: unknown) => {
        this.#starting = undefined; // a later load may try again
        throw e;
      });
    }
    return this.#starting;
  }

  async #startAll(): Promise<void> {
    this.#script ??= resolveWorkerScript(this.#scriptOverride);
    const started = Array.from({ length: this.workerCount }, (_, i) => this.#spawn(i, false));
    const r = await Promise.allSettled(started.map((w) => w.ready));
    const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) {
      await Promise.all(started.map(async (w) => { w.retired = true; await w.worker.terminate().catch(() => undefined); await w.exited; }));
      this.#workers.splice(0);
      throw failed.reason;
    }
  }

  #spawn(index: number, replacement: boolean): WorkerState {
    const worker = new Worker(this.#script!, { name: `nv-inference-${index}`, execArgv: workerExecArgv() });
    let readyResolve!: () => void, readyReject!: (e: unknown) => void, exitedResolve!: () => void;
    const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
    ready.catch(() => undefined);
    const exited = new Promise<void>((res) => { exitedResolve = res; });
    const w: WorkerState = {
      index, worker, replacement, state: 'starting', everReady: false, retired: false, inputTransfer: undefined, models: new Set(),
      running: undefined, pending: new Map(), lastError: undefined, ready, exited,
    };
    // The handshake is a pending request: the worker stays referenced until it answers.
    w.pending.set(0, {
      resolve: (m) => {
        if (m.type !== 'ready' || m.protocol !== PROTOCOL_VERSION) {
          readyReject(InferenceError.workerStartFailed(
            `the inference worker '${fileURLToPath(this.#script!)}' speaks protocol ${m.type === 'ready' ? m.protocol : 'unknown'}, this executor ${PROTOCOL_VERSION}: it was built from other sources — rebuild @nv/inference (\`pnpm exec tsc -b packages/inference\`)`,
          ));
          w.retired = true;
          void worker.terminate();
          return;
        }
        w.inputTransfer = m.inputTransfer;
        void this.#onHandshake(w).then(readyResolve, (e: unknown) => { readyReject(e); void worker.terminate(); });
      },
      reject: (e) => readyReject(InferenceError.workerStartFailed(`inference worker ${index} exited before it was ready (${e.detail ?? e.message})`, e)),
    });
    worker.on('message', (m: FromWorker) => this.#onMessage(w, m));
    worker.on('error', (e: Error) => { w.lastError = e; });
    worker.on('exit', (code: number) => { this.#onExit(w, code); exitedResolve(); });
    this.#workers.push(w);
    return w;
  }

  /** After the handshake: a replacement loads every model first; then the worker takes runs. */
  async #onHandshake(w: WorkerState): Promise<void> {
    if (w.replacement) {
      for (const e of [...this.#models.values()]) {
        if (e.released) continue;
        await this.#loadOn(w, e);
        if (e.released) await this.#unloadOn(w, e); // released while this worker was loading it
      }
    }
    if (w.state === 'dead') throw InferenceError.workerExited(`inference worker ${w.index} exited while starting`);
    w.state = 'ready';
    w.everReady = true;
    this.#failedStarts = 0;
    this.#dispatch();
  }

  #request(w: WorkerState, m: ToWorker): Promise<FromWorker> {
    return new Promise<FromWorker>((resolve, reject) => {
      if (w.state === 'dead') { reject(InferenceError.workerExited(`inference worker ${w.index} is gone`)); return; }
      w.pending.set(m.id, { resolve, reject });
      this.#refresh(w);
      w.worker.postMessage(m);
    });
  }

  async #loadOn(w: WorkerState, e: ModelEntry): Promise<{ inputs: readonly TensorInfo[]; outputs: readonly TensorInfo[] }> {
    const reply = await this.#request(w, { type: 'load', id: this.#nextId++, model: e.id, source: e.source, name: e.name, options: e.options });
    if (reply.type === 'failed') throw errorFromReport(e.name, reply.error);
    if (reply.type !== 'loaded') throw InferenceError.workerExited(`inference worker ${w.index} answered '${reply.type}' to a load`);
    w.models.add(e.id);
    return { inputs: reply.inputs, outputs: reply.outputs };
  }

  async #unloadOn(w: WorkerState, e: ModelEntry): Promise<void> {
    w.models.delete(e.id);
    if (w.state === 'dead') return;
    await this.#request(w, { type: 'unload', id: this.#nextId++, model: e.id }).catch(() => undefined);
  }

  #onMessage(w: WorkerState, m: FromWorker): void {
    if (typeof m !== 'object' || m === null) return; // not a reply (nothing to match it to)
    const id = m.type === 'ready' ? 0 : m.id;
    const p = w.pending.get(id);
    if (!p) return;
    w.pending.delete(id);
    this.#refresh(w);
    p.resolve(m);
  }

  #onExit(w: WorkerState, code: number): void {
    w.state = 'dead';
    const i = this.#workers.indexOf(w);
    if (i >= 0) this.#workers.splice(i, 1);
    const why = `inference worker ${w.index} exited with code ${code}${w.lastError ? ` (uncaught: ${w.lastError.message})` : ''}`;
    const err = this.#releasing ? InferenceError.released('executor') : InferenceError.workerExited(why);
    const job = w.running;
    w.running = undefined;
    for (const p of w.pending.values()) p.reject(err);
    w.pending.clear();
    if (job) this.#fail(job, err);
    if (this.#releasing || w.retired) return;
    if (!w.everReady && !w.replacement) return; // a first start: #startAll reports it
    if (!w.everReady) this.#failedStarts++;
    if (this.#failedStarts > this.#maxRestarts) {
      this.#broken = InferenceError.workerStartFailed(`gave up after ${this.#failedStarts} failed starts of a replacement inference worker; last: ${why}`);
      for (const q of this.#queue.splice(0)) this.#fail(q, this.#broken);
      return;
    }
    this.#restarts++;
    this.#spawn(w.index, true);
  }

  /** A worker with requests outstanding keeps the process alive; an idle one does not. */
  #refresh(w: WorkerState): void {
    if (w.state === 'dead') return;
    if (w.pending.size > 0) w.worker.ref(); else w.worker.unref();
  }

  /** @internal */
  _run(entry: ModelEntry, inputs: InferenceInputs, outputNames: readonly string[] | undefined): Promise<InferenceOutputs> {
    const slots = slotsOf(inputs);
    let wire: { inputs: WireTensor[]; outputs: string[] | undefined };
    try {
      if (this.#releasing) throw InferenceError.released('executor');
      if (entry.released) throw InferenceError.released(`model '${entry.name}'`);
      if (this.#broken) throw this.#broken;
      wire = toWire(inputs, outputNames);
    } catch (e) {
      for (const s of slots) s.release();
      this.#failedRuns++;
      return Promise.reject(e);
    }
    return new Promise<InferenceOutputs>((resolve, reject) => {
      const job: RunJob = { entry, inputs: wire.inputs, outputs: wire.outputs, slots, resolve, reject };
      const idle = this.#idleWorkerFor(entry.id);
      if (idle) { this.#send(idle, job); return; }
      if (this.#queue.length >= this.maxQueuedRuns) { this.#fail(job, InferenceError.queueFull(this.maxQueuedRuns)); return; }
      this.#queue.push(job);
    });
  }

  /** @internal */
  async _unload(entry: ModelEntry): Promise<void> {
    if (entry.released) return;
    entry.released = true;
    this.#models.delete(entry.id);
    const err = InferenceError.released(`model '${entry.name}'`);
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i]!.entry === entry) this.#fail(this.#queue.splice(i, 1)[0]!, err);
    }
    await Promise.allSettled(this.#workers.filter((w) => w.models.has(entry.id)).map((w) => this.#unloadOn(w, entry)));
  }

  #idleWorkerFor(model: number): WorkerState | undefined {
    return this.#workers.find((w) => w.state === 'ready' && !w.running && w.models.has(model));
  }

  #dispatch(): void {
    for (let i = 0; i < this.#queue.length;) {
      const job = this.#queue[i]!;
      const w = this.#idleWorkerFor(job.entry.id);
      if (w) { this.#queue.splice(i, 1); this.#send(w, job); } else i++;
    }
  }

  #send(w: WorkerState, job: RunJob): void {
    w.running = job;
    if (this.#testAction) { job.test = this.#testAction; this.#testAction = undefined; }
    const m: ToWorker = { type: 'run', id: this.#nextId++, model: job.entry.id, inputs: job.inputs, outputs: job.outputs, ...(job.test ? { test: job.test } : {}) };
    this.#request(w, m).then((reply) => {
      if (w.running === job) w.running = undefined;
      let outputs: InferenceOutputs | undefined, error: unknown;
      try {
        if (reply.type === 'result') outputs = outputsRecord(reply.outputs);
        else error = reply.type === 'failed' ? errorFromReport(job.entry.name, reply.error) : InferenceError.runFailed(job.entry.name, `unexpected reply '${String(reply.type)}'`);
      } catch (e) {
        // A malformed reply (a worker built from other sources, a bug): fail this run, never leave it hanging.
        error = InferenceError.runFailed(job.entry.name, `malformed reply from inference worker ${w.index}: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      if (outputs) {
        this.#runs++;
        this.#settle(job, undefined, outputs);
      } else {
        this.#fail(job, error);
      }
      this.#dispatch();
    }, (e: unknown) => {
      // The worker died: #onExit already failed the job.
      void e;
    });
  }

  #fail(job: RunJob, e: unknown): void {
    this.#failedRuns++;
    this.#settle(job, e);
  }

  #settle(job: RunJob, error: unknown, outputs?: InferenceOutputs): void {
    for (const s of job.slots) s.release();
    if (outputs) job.resolve(outputs); else job.reject(error);
  }
}

/** A model loaded on a {@link WorkerExecutor}. */
class WorkerModel implements InferenceModel {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #executor: WorkerExecutor;
  readonly #entry: ModelEntry;

  constructor(executor: WorkerExecutor, entry: ModelEntry, inputs: readonly TensorInfo[], outputs: readonly TensorInfo[]) {
    this.#executor = executor;
    this.#entry = entry;
    this.name = entry.name;
    this.inputs = Object.freeze(inputs.map((t) => Object.freeze({ ...t, shape: Object.freeze([...t.shape]) })));
    this.outputs = Object.freeze(outputs.map((t) => Object.freeze({ ...t, shape: Object.freeze([...t.shape]) })));
  }

  run(inputs: InferenceInputs, outputNames?: readonly string[]): Promise<InferenceOutputs> {
    return this.#executor._run(this.#entry, inputs, outputNames);
  }

  release(): Promise<void> { return this.#executor._unload(this.#entry); }
}
