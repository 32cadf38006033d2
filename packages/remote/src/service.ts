/**
 * {@link InferenceService}: the worker side of remote inference — one model served on NATS to
 * every {@link RemoteExecutor} that loads the same file, with its own batches across requesters.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidArgumentError } from '@nv/core';
import {
  InferenceError, WorkerExecutor,
  type InferenceExecutor, type InferenceInputs, type InferenceModel, type InferenceOutputs, type TensorInfo,
} from '@nv/inference';
import { reduceDetections } from '@nv/onnx';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { connectServers, parseServers } from './connection.js';
import {
  OP_HEADER, REPLY_HEADER, RUN_HEADER, WIRE_VERSION, bytesOf, bytesPerValue, copyFloat32, dequantizeUnorm8, elementsOf, formatBytes, isDims,
  detectionsProblem, modelSubject, parseHeader, sha256Hex, subjectProblem,
  type InfoReply, type RunHeader, type RunReply, type WireOutput,
} from './wire.js';

/** Options of {@link InferenceService.start}. */
export interface InferenceServiceOptions {
  /** The NATS server(s), as for {@link RemoteExecutorOptions.servers}. */
  readonly servers: string | readonly string[];
  /** The model: a path to an `.onnx` file, or its bytes. */
  readonly model: string | Uint8Array;
  /** Name in messages and stats. Default: the file's base name, else `'model'`. */
  readonly name?: string;
  /** Base subject (the same as the clients'). Default `'nv.infer'`. */
  readonly subject?: string;
  /** NATS queue group: each request goes to one worker of the group. Default `'nv-workers'`. */
  readonly queueGroup?: string;
  /** Items (sum of the requests' first dimensions) stacked into one run, at most, for a model with a dynamic first dimension. Default 8. */
  readonly maxBatch?: number;
  /** How long an idle worker waits for more requests to fill a batch (ms). Default 2; 0 runs what is there at once. */
  readonly batchWindowMs?: number;
  /** Requests waiting to run (not counting those running), at most (≥ 1); one beyond it is answered `QueueFull` at once. Default 64. */
  readonly maxQueued?: number;
  /**
   * The executor that runs the model. Default: a `WorkerExecutor` (onnxruntime off the JS
   * thread, so NATS heartbeats and replies keep flowing during a run), released by `close()`;
   * one given here is not released.
   */
  readonly executor?: InferenceExecutor;
  /** Worker threads of the default executor, and batches run at once. Default 1. */
  readonly workers?: number;
  /** Intra-op threads of the model's session. Default: the executor's (`cores ÷ workers`). */
  readonly intraOpNumThreads?: number;
  /** Deadline of the connection attempt (ms). Default 5000. */
  readonly connectTimeoutMs?: number;
}

/**
 * Defaults of {@link InferenceServiceOptions}.
 * @example
 * ```ts
 * INFERENCE_SERVICE_DEFAULTS.maxBatch // 8
 * ```
 */
export const INFERENCE_SERVICE_DEFAULTS = Object.freeze({
  subject: 'nv.infer',
  queueGroup: 'nv-workers',
  maxBatch: 8,
  batchWindowMs: 2,
  maxQueued: 64,
  workers: 1,
  connectTimeoutMs: 5000,
});

/** What an {@link InferenceService} reports. */
export interface InferenceServiceStats {
  /** Run requests received (answered or not yet). */
  readonly requests: number;
  /** `info` requests answered. */
  readonly infoRequests: number;
  /** Model runs (each serves one or more requests). */
  readonly batches: number;
  /** Requests served by those runs. */
  readonly batchedRequests: number;
  /** `batchedRequests ÷ batches` (0 before the first run). */
  readonly meanBatchSize: number;
  /** The most requests one run served. */
  readonly maxBatchSize: number;
  /** Requests waiting now. */
  readonly queueDepth: number;
  /** Runs executing now. */
  readonly running: number;
  /** Requests answered `QueueFull`. */
  readonly refused: number;
  /** Requests answered with a malformed-request error (`BadRequest`, `ModelMismatch`). */
  readonly badRequests: number;
  /** Requests answered with any error (refusals and bad requests included). */
  readonly errors: number;
  /** Requests answered successfully. */
  readonly replies: number;
  /** Of those, requests whose detection output was decoded and NMS'd here (a compact reply). */
  readonly reduced: number;
}

interface Request {
  readonly msg: Msg;
  readonly header: RunHeader;
  /** Items along dim 0 (every input of the request has the same). */
  readonly items: number;
  /** Requests with the same key can be stacked. */
  readonly key: string;
  readonly arrived: number;
}

const intOption = (name: string, v: unknown, dflt: number, min: number, max: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, `an integer in [${min}, ${max}]`, v);
  return v;
};

/**
 * Serves one model to remote executors: subscribes with a queue group to
 * `<subject>.<sha16>` (the first 16 hex digits of the model file's sha256), answers `info`
 * requests with the model's inputs and outputs, and runs `run` requests.
 *
 * Batching: when every input's first dimension is dynamic, waiting requests with the same
 * per-item shapes (and the same outputs asked) are stacked along dimension 0 into one run of up
 * to `maxBatch` items — across requesters — and the outputs are split back by each request's
 * own count. An idle worker waits at most `batchWindowMs` after the first waiting request for
 * more; while a run is busy, new requests gather for the next. A model with a fixed first
 * dimension runs each request alone. At most `maxQueued` requests wait; one more is answered
 * `QueueFull` at once.
 *
 * `close()` drains: no new requests are taken, the waiting ones run and every request gets its
 * reply, then the model (and the default executor) is released.
 *
 * @example
 * ```ts
 * const service = await InferenceService.start({ servers: 'nats://127.0.0.1:4222', model: 'models/yolo11n.onnx' });
 * // … RemoteExecutors loading models/yolo11n.onnx run on it …
 * await service.close();
 * ```
 */
export class InferenceService {
  /** The model's name (the file's base name unless given). */
  readonly name: string;
  /** The model bytes' sha256, in hex. */
  readonly sha256: string;
  /** The subject served: `<subject>.<sha16>`. */
  readonly subject: string;
  /** The servers, without credentials. */
  readonly servers: string;
  /** The queue group. */
  readonly queueGroup: string;
  /** Whether requests are stacked into batches (the model's first dimension is dynamic). */
  readonly dynamicBatch: boolean;
  /** Items per run, at most. */
  readonly maxBatch: number;
  /** The model's inputs. */
  readonly inputs: readonly TensorInfo[];
  /** The model's outputs. */
  readonly outputs: readonly TensorInfo[];
  readonly #nc: NatsConnection;
  readonly #model: InferenceModel;
  readonly #executor: InferenceExecutor;
  readonly #ownsExecutor: boolean;
  readonly #windowMs: number;
  readonly #maxQueued: number;
  readonly #concurrency: number;
  readonly #usePool: boolean;
  readonly #queue: Request[] = [];
  #sub: Subscription | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = 0;
  #closing: Promise<void> | undefined;
  #drainNow = false;
  #idle: (() => void) | undefined;
  #requests = 0;
  #info = 0;
  #batches = 0;
  #batched = 0;
  #reduced = 0;
  #maxBatchSeen = 0;
  #refused = 0;
  #bad = 0;
  #errors = 0;
  #replies = 0;

  private constructor(
    init: { name: string; sha: string; subject: string; servers: string; queueGroup: string; nc: NatsConnection; model: InferenceModel; executor: InferenceExecutor; owns: boolean; maxBatch: number; windowMs: number; maxQueued: number; concurrency: number },
  ) {
    this.name = init.name;
    this.sha256 = init.sha;
    this.subject = init.subject;
    this.servers = init.servers;
    this.queueGroup = init.queueGroup;
    this.#nc = init.nc;
    this.#model = init.model;
    this.#executor = init.executor;
    this.#ownsExecutor = init.owns;
    this.maxBatch = init.maxBatch;
    this.#windowMs = init.windowMs;
    this.#maxQueued = init.maxQueued;
    this.#concurrency = init.concurrency;
    this.#usePool = init.model.inputs.length * init.concurrency <= init.executor.pool.capacity;
    this.inputs = init.model.inputs;
    this.outputs = init.model.outputs;
    this.dynamicBatch = init.model.inputs.length > 0 && init.model.inputs.every((t) => t.shape.length > 0 && !(typeof t.shape[0] === 'number' && t.shape[0] > 0));
  }

  /**
   * Loads the model, connects and starts serving.
   * @param options - see {@link InferenceServiceOptions}
   * @returns the running service
   * @throws {InvalidArgumentError} on invalid options
   * @throws {InferenceError} `ModelLoadFailed` (with a reason), `WorkerStartFailed`, `ConnectionFailed`
   */
  static async start(options: InferenceServiceOptions): Promise<InferenceService> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an InferenceServiceOptions object', options);
    const servers = parseServers(options.servers);
    const base = options.subject ?? INFERENCE_SERVICE_DEFAULTS.subject;
    const problem = subjectProblem(base);
    if (problem !== undefined) throw new InvalidArgumentError('subject', problem, base);
    const queueGroup = options.queueGroup ?? INFERENCE_SERVICE_DEFAULTS.queueGroup;
    const qProblem = subjectProblem(queueGroup);
    if (qProblem !== undefined) throw new InvalidArgumentError('queueGroup', qProblem, queueGroup);
    const maxBatch = intOption('maxBatch', options.maxBatch, INFERENCE_SERVICE_DEFAULTS.maxBatch, 1, 1024);
    const windowMs = intOption('batchWindowMs', options.batchWindowMs, INFERENCE_SERVICE_DEFAULTS.batchWindowMs, 0, 10_000);
    const maxQueued = intOption('maxQueued', options.maxQueued, INFERENCE_SERVICE_DEFAULTS.maxQueued, 1, 1_000_000);
    const workers = intOption('workers', options.workers, INFERENCE_SERVICE_DEFAULTS.workers, 1, 64);
    const intra = options.intraOpNumThreads === undefined ? undefined : intOption('intraOpNumThreads', options.intraOpNumThreads, 1, 1, 1024);
    const connectTimeoutMs = intOption('connectTimeoutMs', options.connectTimeoutMs, INFERENCE_SERVICE_DEFAULTS.connectTimeoutMs, 1, 3_600_000);
    const m = options.model;
    if (typeof m !== 'string' && !(m instanceof Uint8Array)) throw new InvalidArgumentError('model', 'a path string or a Uint8Array of ONNX bytes', m);
    if (typeof m === 'string' && m.length === 0) throw new InvalidArgumentError('model', 'a non-empty path or ONNX bytes', m);
    const name = options.name ?? (typeof m === 'string' ? basename(m) : 'model');
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
    const given = options.executor;
    if (given !== undefined && (typeof given !== 'object' || given === null || typeof given.load !== 'function')) throw new InvalidArgumentError('executor', 'an InferenceExecutor', given);

    let bytes: Uint8Array;
    if (typeof m === 'string') {
      try {
        bytes = await readFile(m);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw InferenceError.modelLoadFailed(name, 'NotFound', `model file '${m}' does not exist`, { cause: e });
        throw InferenceError.modelLoadFailed(name, 'Unreadable', `cannot read model file '${m}' (${code ?? String(e)})`, { cause: e });
      }
    } else {
      bytes = new Uint8Array(m);
    }
    if (bytes.length === 0) throw InferenceError.modelLoadFailed(name, 'InvalidModel', 'the model is empty (expected ONNX ModelProto bytes)');
    const sha = sha256Hex(bytes);
    const executor = given ?? new WorkerExecutor({ workers, ...(intra !== undefined ? { intraOpNumThreads: intra } : {}) });
    const owns = given === undefined;
    let model: InferenceModel | undefined;
    let nc: NatsConnection | undefined;
    try {
      model = await executor.load({ model: bytes, name, ...(intra !== undefined ? { session: { intraOpNumThreads: intra } } : {}) });
      for (const t of model.inputs) {
        if (!t.isTensor || t.type !== 'float32' || t.shape.length === 0) {
          throw InferenceError.modelLoadFailed(name, 'InvalidModel', `input '${t.name}' is ${t.isTensor ? `${t.type ?? '?'} of rank ${t.shape.length}` : 'not a tensor'}; remote inference serves float32 tensor inputs of rank ≥ 1`);
        }
      }
      nc = await connectServers(servers, `nv-inference-service:${name}`, connectTimeoutMs);
      const service = new InferenceService({
        name, sha, subject: modelSubject(base, sha), servers: servers.display, queueGroup, nc, model, executor, owns, maxBatch, windowMs, maxQueued,
        concurrency: given === undefined ? workers : Math.max(1, workers),
      });
      service.#listen();
      await nc.flush();
      return service;
    } catch (e) {
      await nc?.close().catch(() => undefined);
      await model?.release().catch(() => undefined);
      if (owns) await executor.release().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Settles when the NATS connection has closed for good — after `close()`, or by itself
   * (credentials revoked, reconnection given up) — with the error, if any. `nv worker` exits
   * non-zero then, so a supervisor restarts it instead of it sitting in the queue group unreachable.
   */
  closed(): Promise<Error | undefined> {
    return this.#nc.closed().then((e) => (e instanceof Error ? e : undefined), (e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  }

  /** @returns the counters and the queue depth */
  stats(): InferenceServiceStats {
    return Object.freeze({
      requests: this.#requests, infoRequests: this.#info, batches: this.#batches, batchedRequests: this.#batched,
      meanBatchSize: this.#batches === 0 ? 0 : this.#batched / this.#batches, maxBatchSize: this.#maxBatchSeen,
      queueDepth: this.#queue.length, running: this.#running, refused: this.#refused, badRequests: this.#bad, errors: this.#errors, replies: this.#replies, reduced: this.#reduced,
    });
  }

  /**
   * Drains: stops taking requests (the subscription is drained: requests already delivered are
   * still taken), runs every waiting request and sends its reply, then closes the connection
   * and releases the model (and the default executor). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub && !this.#nc.isClosed()) await sub.drain().catch(() => undefined);
    this.#drainNow = true;
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = undefined; }
    this.#pump();
    if (this.#running > 0 || this.#queue.length > 0) await new Promise<void>((r) => { this.#idle = r; });
    if (!this.#nc.isClosed()) await this.#nc.drain().catch(() => undefined);
    await this.#model.release().catch(() => undefined);
    if (this.#ownsExecutor) await this.#executor.release().catch(() => undefined);
  }

  #listen(): void {
    // A throw inside a subscription callback would stop the client's reader loop (the worker would
    // stay subscribed and answer nothing): every request is handled inside a try.
    this.#sub = this.#nc.subscribe(this.subject, {
      queue: this.queueGroup,
      callback: (err, msg) => {
        if (err) return;
        try {
          this.#onMessage(msg);
        } catch (e) {
          this.#bad++; this.#errors++;
          try { this.#reply(msg, { v: WIRE_VERSION, id: '', ok: false, kind: 'BadRequest', detail: `malformed request: ${(e as Error).message}` }); } catch { /* cannot even answer */ }
        }
      },
    });
  }

  #onMessage(msg: Msg): void {
    const op = msg.headers?.get(OP_HEADER);
    if (op === 'info') { this.#answerInfo(msg); return; }
    if (op !== 'run') { this.#bad++; this.#errors++; this.#reply(msg, { v: WIRE_VERSION, id: '', ok: false, kind: 'BadRequest', detail: `unknown operation '${op ?? ''}' (expected info or run)` }); return; }
    this.#requests++;
    const header = parseHeader<RunHeader>(msg.headers?.get(RUN_HEADER));
    const problem = this.#check(header, msg.data.length);
    if (problem !== undefined) {
      this.#bad++; this.#errors++;
      this.#reply(msg, { v: WIRE_VERSION, id: String(header?.id ?? ''), ok: false, kind: problem.kind, detail: problem.detail });
      return;
    }
    const h = header!;
    if (this.#queue.length >= this.#maxQueued) {
      this.#refused++; this.#errors++;
      this.#reply(msg, { v: WIRE_VERSION, id: h.id, ok: false, kind: 'QueueFull', detail: `${this.#queue.length} requests are already waiting on this worker (maxQueued ${this.#maxQueued})` });
      return;
    }
    const byName = new Map(h.inputs.map((i) => [i.name, i]));
    const ordered = this.inputs.map((t) => byName.get(t.name)!);
    const items = ordered[0]!.dims[0] ?? 1;
    const stackable = this.dynamicBatch && ordered.every((i) => i.dims[0] === items);
    const key = stackable ? JSON.stringify([ordered.map((i) => i.dims.slice(1)), h.outputs]) : `alone:${this.#requests}`;
    this.#queue.push({ msg, header: h, items, key, arrived: performance.now() });
    this.#pump();
  }

  #check(h: RunHeader | undefined, bodyLength: number): { kind: string; detail: string } | undefined {
    if (h === undefined || typeof h !== 'object') return { kind: 'BadRequest', detail: `missing or unreadable ${RUN_HEADER} header` };
    if (h.v !== WIRE_VERSION) return { kind: 'BadRequest', detail: `protocol v${String(h.v)} (this worker speaks v${WIRE_VERSION})` };
    if (typeof h.id !== 'string') return { kind: 'BadRequest', detail: 'no request id' };
    if (h.sha !== this.sha256) return { kind: 'ModelMismatch', detail: `this worker serves sha256 ${this.sha256.slice(0, 16)}…, the request is for ${String(h.sha).slice(0, 16)}…` };
    if (!Array.isArray(h.inputs)) return { kind: 'BadRequest', detail: 'no inputs' };
    const want = new Set(this.inputs.map((t) => t.name));
    let bytes = 0;
    const seen = new Set<string>();
    for (const i of h.inputs) {
      if (typeof i !== 'object' || i === null || !want.has(i.name) || seen.has(i.name)) return { kind: 'BadRequest', detail: `unknown or repeated input '${String(i?.name)}' (inputs: ${[...want].join(', ')})` };
      seen.add(i.name);
      if (!isDims(i.dims) || i.dims.length === 0) return { kind: 'BadRequest', detail: `input '${i.name}': dims must be a non-empty list of non-negative integers` };
      if (i.enc !== 'unorm8' && i.enc !== 'float32') return { kind: 'BadRequest', detail: `input '${i.name}': unknown encoding '${String(i.enc)}'` };
      bytes += elementsOf(i.dims) * bytesPerValue(i.enc);
    }
    if (seen.size !== want.size) return { kind: 'BadRequest', detail: `missing inputs (expected ${[...want].join(', ')})` };
    if (bytes !== bodyLength) return { kind: 'BadRequest', detail: `the body has ${bodyLength} bytes, the inputs' dims and encodings need ${bytes}` };
    if (h.outputs !== null) {
      const outs = new Set(this.outputs.map((o) => o.name));
      if (!Array.isArray(h.outputs) || h.outputs.some((o) => !outs.has(o))) return { kind: 'BadRequest', detail: `unknown output requested (outputs: ${[...outs].join(', ')})` };
    }
    if (h.detections !== undefined) {
      const items = h.inputs.find((i) => i.name === this.inputs[0]!.name)!.dims[0] ?? 1;
      const p = detectionsProblem(h.detections, items);
      if (p !== undefined) return { kind: 'BadRequest', detail: `detections: ${p}` };
      const name = h.detections.output;
      if (!this.outputs.some((o) => o.name === name) || (h.outputs !== null && !h.outputs.includes(name))) return { kind: 'BadRequest', detail: `detections: '${name}' is not an output of this run` };
    }
    return undefined;
  }

  #answerInfo(msg: Msg): void {
    this.#info++;
    const info: InfoReply = {
      v: WIRE_VERSION, ok: true, sha: this.sha256, name: this.name, inputs: this.inputs, outputs: this.outputs, dynamicBatch: this.dynamicBatch, maxBatch: this.maxBatch,
      reductions: ['detections'],
    };
    this.#reply(msg, info);
  }

  #reply(msg: Msg, header: RunReply | InfoReply, body: Uint8Array = new Uint8Array(0)): void {
    const h = natsHeaders();
    h.set(REPLY_HEADER, JSON.stringify(header));
    try {
      msg.respond(body, { headers: h });
    } catch {
      // The connection closed: the requester times out.
    }
  }

  /** Starts runs while a batch slot is free: a full batch at once, a partial one after the window. */
  #pump(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const first = this.#queue[0]!;
      const take: number[] = [0];
      let items = first.items;
      if (first.key.startsWith('alone:') === false) {
        for (let i = 1; i < this.#queue.length && items < this.maxBatch; i++) {
          const r = this.#queue[i]!;
          if (r.key === first.key && items + r.items <= this.maxBatch) { take.push(i); items += r.items; }
        }
        const waited = performance.now() - first.arrived;
        if (items < this.maxBatch && !this.#drainNow && waited < this.#windowMs) {
          if (!this.#timer) this.#timer = setTimeout(() => { this.#timer = undefined; this.#pump(); }, Math.max(1, Math.ceil(this.#windowMs - waited)));
          return;
        }
      }
      if (this.#timer) { clearTimeout(this.#timer); this.#timer = undefined; }
      const batch = take.map((i) => this.#queue[i]!);
      for (let k = take.length - 1; k >= 0; k--) this.#queue.splice(take[k]!, 1);
      this.#running++;
      void this.#runBatch(batch).catch((e: unknown) => {
        // Whatever failed after the run (splitting outputs): every requester of the batch is answered.
        for (const r of batch) {
          this.#errors++;
          try { this.#reply(r.msg, { v: WIRE_VERSION, id: r.header.id, ok: false, kind: 'RunFailed', detail: (e as Error).message }); } catch { /* gone */ }
        }
      }).finally(() => {
        this.#running--;
        this.#pump();
        if (this.#running === 0 && this.#queue.length === 0 && this.#idle) { const r = this.#idle; this.#idle = undefined; r(); }
      });
    }
  }

  async #runBatch(batch: readonly Request[]): Promise<void> {
    const total = batch.reduce((a, r) => a + r.items, 0);
    this.#batches++;
    this.#batched += batch.length;
    if (batch.length > this.#maxBatchSeen) this.#maxBatchSeen = batch.length;
    const fail = (kind: string, detail: string): void => {
      for (const r of batch) { this.#errors++; this.#reply(r.msg, { v: WIRE_VERSION, id: r.header.id, ok: false, kind, detail }); }
    };
    let result: InferenceOutputs;
    try {
      const inputs: Record<string, { dims: readonly number[]; data: Float32Array; slot?: { id: number; released: boolean; release(): void } }> = {};
      const acquired: { release(): void }[] = [];
      try {
        for (const t of this.inputs) {
          // Per request: where this input's bytes start in its body.
          const first = batch[0]!.header.inputs.find((i) => i.name === t.name)!;
          const dims = batch.length === 1 ? [...first.dims] : [total, ...first.dims.slice(1)];
          const n = elementsOf(dims);
          // A pool slot when the pool can hold every input of every concurrent run (else a deadlock could wait for ever): plain arrays otherwise.
          const slot = this.#usePool
            ? await this.#executor.pool.acquire(Math.max(1, n))
            : { data: new Float32Array(n), input: (d: number[]) => ({ dims: d, data: new Float32Array(0) }), release: () => undefined, plain: true };
          acquired.push(slot);
          let at = 0;
          for (const r of batch) {
            let off = 0;
            for (const i of r.header.inputs) {
              const len = elementsOf(i.dims) * bytesPerValue(i.enc);
              if (i.name === t.name) {
                const src = r.msg.data.subarray(off, off + len);
                if (i.enc === 'unorm8') dequantizeUnorm8(src, slot.data, at); else copyFloat32(src, slot.data, at);
                at += elementsOf(i.dims);
                break;
              }
              off += len;
            }
          }
          if (n === 0) { slot.release(); inputs[t.name] = { dims, data: new Float32Array(0) }; } else if ('plain' in slot) inputs[t.name] = { dims, data: slot.data }; else inputs[t.name] = slot.input(dims);
        }
      } catch (e) {
        for (const s of acquired) s.release();
        throw e;
      }
      const outputs = batch[0]!.header.outputs;
      result = await this.#model.run(inputs as InferenceInputs, outputs ?? undefined);
    } catch (e) {
      fail(InferenceError.isInstance(e) ? e.kind : 'RunFailed', e instanceof Error ? e.message : String(e));
      return;
    }
    // Split the outputs back along dimension 0, by each request's own count.
    const names = batch[0]!.header.outputs ?? this.outputs.map((o) => o.name);
    const tensors = names.map((n) => ({ name: n, t: result[n] }));
    for (const { name, t } of tensors) {
      if (!t) { fail('RunFailed', `the run did not produce output '${name}'`); return; }
      if (batch.length > 1 && t.dims[0] !== total) {
        fail('RunFailed', `output '${name}' has shape [${t.dims.join(', ')}]: its first dimension is not the batch (${total}), so a stacked run cannot be split (run this model with maxBatch 1)`);
        return;
      }
    }
    const max = this.#nc.info?.max_payload;
    let at = 0;
    for (const r of batch) {
      const outs: WireOutput[] = [];
      const parts: Uint8Array[] = [];
      for (const { name, t } of tensors) {
        if (batch.length === 1) { outs.push({ name, dims: [...t!.dims] }); parts.push(bytesOf(t!.data)); continue; }
        const per = t!.data.length / total;
        outs.push({ name, dims: [r.items, ...t!.dims.slice(1)] });
        parts.push(bytesOf(t!.data.subarray(at * per, (at + r.items) * per)));
      }
      at += r.items;
      const d = r.header.detections;
      if (d !== undefined) {
        // Decoded and NMS'd here: K × 6 floats per item go back instead of the head.
        const k = tensors.findIndex((x) => x.name === d.output);
        try {
          const reduced = reduceDetections({ dims: outs[k]!.dims, data: float32View(parts[k]!) }, d);
          outs[k] = { name: d.output, dims: reduced.dims };
          parts[k] = bytesOf(reduced.data);
        } catch (e) {
          this.#errors++;
          this.#reply(r.msg, { v: WIRE_VERSION, id: r.header.id, ok: false, kind: 'RunFailed', detail: `cannot reduce output '${d.output}' to detections: ${e instanceof Error ? e.message : String(e)}` });
          continue;
        }
        this.#reduced++;
      }
      let size = 0;
      for (const p of parts) size += p.length;
      const header: RunReply = { v: WIRE_VERSION, id: r.header.id, ok: true, outputs: outs, batch: batch.length, ...(d !== undefined ? { reduced: [d.output] } : {}) };
      if (max !== undefined && size + 256 + JSON.stringify(header).length > max) {
        this.#errors++;
        this.#reply(r.msg, { v: WIRE_VERSION, id: r.header.id, ok: false, kind: 'PayloadTooLarge', detail: `the outputs are ${formatBytes(size)} (${size} bytes), over the server's max_payload ${max}: raise max_payload (deploy/nats/nats-server.conf sets 8MB) or ask for fewer outputs` });
        continue;
      }
      // One part (the usual: one output, one request) goes as it is; nats copies it into its buffer at once.
      let body = parts[0] ?? new Uint8Array(0);
      if (parts.length > 1) {
        body = new Uint8Array(size);
        let o = 0;
        for (const p of parts) { body.set(p, o); o += p.length; }
      }
      this.#replies++;
      this.#reply(r.msg, header, body);
    }
  }
}

/** The float32 values of bytes that are a view of a Float32Array (aligned): no copy. */
function float32View(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
