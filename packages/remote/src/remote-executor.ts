/**
 * {@link RemoteExecutor}: an {@link InferenceExecutor} whose runs go by NATS request/reply to
 * a queue group of inference workers ({@link InferenceService}, `nv worker`).
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@nv/core';
import {
  InferenceError, TensorPool,
  type InferenceExecutor, type InferenceExecutorStats, type InferenceInputs, type InferenceModel, type InferenceOutputs,
  type DetectionReduction, type LoadModelRequest, type RunOptions, type SlotLease, type TensorInfo, type TensorPoolOptions,
} from '@nv/inference';
import { reduceDetections } from '@nv/onnx';
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { connectServers, parseServers, type NatsServers } from './connection.js';
import {
  OP_HEADER, REPLY_HEADER, RUN_HEADER, WIRE_VERSION, bytesOf, elementsOf, float32From, formatBytes, isDims,
  modelSubject, parseHeader, quantizeUnorm8, sha256Hex, subjectProblem,
  type InfoReply, type InputEncoding, type RunHeader, type RunReply, type WireInput,
} from './wire.js';

/** Options of a {@link RemoteExecutor}. */
export interface RemoteExecutorOptions {
  /**
   * The NATS server(s): `nats://[user:password@ | token@]host[:port]` (default port 4222), one
   * or a list of the same cluster. Credentials go to the server, never into messages or stats.
   */
  readonly servers: string | readonly string[];
  /** Base subject; a model is served on `<subject>.<first 16 hex digits of its sha256>`. Default `'nv.infer'`. */
  readonly subject?: string;
  /** Runs on the wire at once (awaiting their replies). Default 4. */
  readonly maxInFlight?: number;
  /** Runs that may wait for a free in-flight place; one beyond it is refused at once with `QueueFull`. Default 16. */
  readonly maxQueuedRuns?: number;
  /** How long a request waits for its reply (ms) before it fails with `TimedOut`. Default 5000. */
  readonly timeoutMs?: number;
  /**
   * How float inputs travel. `'unorm8'` (default): one byte per value, `round(x × 255)` —
   * used for an input only when every value is exactly k/255 (nv's default `/255`
   * normalization), so the worker gets bit-identical floats; any other input goes as
   * `'float32'` for that run (counted in `float32Fallbacks`). `'float32'`: always 4 bytes per value.
   */
  readonly inputEncoding?: InputEncoding;
  /** The tensor pool, or its options. Default: `maxInFlight + 2` plain-`ArrayBuffer` slots. */
  readonly pool?: TensorPool | TensorPoolOptions;
  /** Deadline of the connection attempt (ms). Default 5000. */
  readonly connectTimeoutMs?: number;
  /**
   * Let workers that can (all of this version) decode detection heads and apply NMS, so a
   * detector's reply is K × 6 floats per frame instead of the raw head (2.7 MiB for an
   * 80-class 640 × 640 YOLO): the model's `reductions` lists `'detections'` and `OnnxDetector`
   * asks for it. Default `true`; `false` always fetches raw outputs.
   */
  readonly reduceOnWorker?: boolean;
}

/**
 * Defaults of {@link RemoteExecutorOptions}.
 * @example
 * ```ts
 * REMOTE_EXECUTOR_DEFAULTS.subject // 'nv.infer'
 * ```
 */
export const REMOTE_EXECUTOR_DEFAULTS = Object.freeze({
  subject: 'nv.infer',
  maxInFlight: 4,
  maxQueuedRuns: 16,
  timeoutMs: 5000,
  inputEncoding: 'unorm8' as InputEncoding,
  connectTimeoutMs: 5000,
  reduceOnWorker: true,
});

/** {@link InferenceExecutorStats} plus what only a remote executor has. */
export interface RemoteExecutorStats extends InferenceExecutorStats {
  /** Always `'remote'`. */
  readonly kind: 'remote';
  /** Runs and info requests that got no reply within `timeoutMs` (also counted in `failedRuns` for runs). */
  readonly timedOut: number;
  /** Replies that came after their request had timed out (dropped). */
  readonly lateResponses: number;
  /** Requests that found no worker serving the model. */
  readonly noResponders: number;
  /** Runs refused because the request or reply exceeds the server's `max_payload`. */
  readonly payloadTooLarge: number;
  /** Inputs sent as float32 although `inputEncoding` is `'unorm8'` (their values were not all k/255). */
  readonly float32Fallbacks: number;
  /** Request payload bytes published. */
  readonly bytesSent: number;
  /** Reply payload bytes received. */
  readonly bytesReceived: number;
  /** Runs asked to reduce detections that a worker answered raw (an older `nv worker`): reduced here instead. */
  readonly reducedHere: number;
  /** Whether a NATS connection is open now. */
  readonly connected: boolean;
  /** The servers, without credentials. */
  readonly servers: string;
}

interface PendingReply {
  readonly resolve: (m: Msg) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface RunJob {
  readonly model: RemoteModel;
  readonly inputs: readonly { name: string; dims: readonly number[]; data: Float32Array }[];
  readonly outputs: readonly string[] | undefined;
  readonly detections: DetectionReduction | undefined;
  readonly slots: readonly SlotLease[];
  readonly resolve: (o: InferenceOutputs) => void;
  readonly reject: (e: unknown) => void;
}

interface Connection {
  readonly nc: NatsConnection;
  readonly inbox: string;
  readonly sub: Subscription;
}

const intOption = (name: string, v: unknown, dflt: number, min: number, max: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new InvalidArgumentError(name, `an integer in [${min}, ${max}]`, v);
  return v;
};

/**
 * Runs models on inference workers reached over NATS (see {@link InferenceService} and
 * `nv worker`). A model is identified by its content: `load` computes the sha256 of the model
 * bytes and talks to `<subject>.<sha16>`, where only workers started with the very same file
 * answer — a worker can never run another model than the one the client loaded. `load` asks a
 * worker for the model's inputs and outputs (`info`); no worker ⇒ `NoResponders` at once.
 *
 * Each run is one NATS request: its inputs are encoded (`unorm8` or `float32`, see
 * {@link RemoteExecutorOptions.inputEncoding}) and checked against the server's `max_payload`
 * (`PayloadTooLarge` otherwise); at most `maxInFlight` runs are on the wire at once, up to
 * `maxQueuedRuns` more wait (beyond: `QueueFull` at once). A run without a reply within
 * `timeoutMs` fails with `TimedOut`; its reply, if it ever comes, is dropped and counted
 * (`lateResponses`). A worker's own failure comes back as `RemoteFailed` (its kind in
 * `remoteKind`), its refusal of a full queue as `QueueFull`. Input slots go back to the pool
 * when the run settles, whatever the outcome.
 *
 * **Session options are ignored**: the worker decides its threads and execution provider
 * (`nv worker --threads N`); `load`'s `session` is accepted for the interface's sake only.
 *
 * The NATS connection opens with the first `load` and closes when the last model is released
 * (a later `load` opens a new one); while it reconnects, runs wait for their timeout.
 *
 * @example
 * ```ts
 * const executor = new RemoteExecutor({ servers: 'nats://127.0.0.1:4222' });
 * const detector = new OnnxDetector({ modelPath: 'models/yolo11n.onnx', executor });
 * // … the feed runs; inference happens on the `nv worker` processes serving that file …
 * await executor.release();
 * ```
 */
export class RemoteExecutor implements InferenceExecutor {
  /** Contract version. */
  readonly specificationVersion = 'v1' as const;
  /** Always `'remote'`. */
  readonly kind = 'remote' as const;
  /** Where run inputs are prepared (plain `ArrayBuffer` slots: they are encoded on this thread). */
  readonly pool: TensorPool;
  /** The base subject. */
  readonly subject: string;
  /** Runs on the wire at once, at most. */
  readonly maxInFlight: number;
  /** Runs waiting for a place on the wire, at most. */
  readonly maxQueuedRuns: number;
  /** Reply deadline (ms). */
  readonly timeoutMs: number;
  /** How float inputs travel. */
  readonly inputEncoding: InputEncoding;
  /** Whether detection outputs may be reduced on the worker. */
  readonly reduceOnWorker: boolean;
  readonly #servers: NatsServers;
  readonly #connectTimeoutMs: number;
  readonly #models = new Set<RemoteModel>();
  readonly #pending = new Map<string, PendingReply>();
  readonly #queue: RunJob[] = [];
  #conn: Promise<Connection> | undefined;
  #live: Connection | undefined;
  #loading = 0;
  #nextId = 0;
  #inFlight = 0;
  #released = false;
  #runs = 0;
  #failedRuns = 0;
  #timedOut = 0;
  #late = 0;
  #noResponders = 0;
  #tooLarge = 0;
  #fallbacks = 0;
  #sent = 0;
  #received = 0;
  #reducedHere = 0;

  /**
   * @param options - see {@link RemoteExecutorOptions}
   * @throws {InvalidArgumentError} on invalid options (a bad URL is shown without its credentials)
   */
  constructor(options: RemoteExecutorOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'a RemoteExecutorOptions object', options);
    this.#servers = parseServers(options.servers);
    const subject = options.subject ?? REMOTE_EXECUTOR_DEFAULTS.subject;
    const problem = subjectProblem(subject);
    if (problem !== undefined) throw new InvalidArgumentError('subject', problem, subject);
    this.subject = subject;
    this.maxInFlight = intOption('maxInFlight', options.maxInFlight, REMOTE_EXECUTOR_DEFAULTS.maxInFlight, 1, 1024);
    this.maxQueuedRuns = intOption('maxQueuedRuns', options.maxQueuedRuns, REMOTE_EXECUTOR_DEFAULTS.maxQueuedRuns, 0, 1_000_000);
    this.timeoutMs = intOption('timeoutMs', options.timeoutMs, REMOTE_EXECUTOR_DEFAULTS.timeoutMs, 1, 3_600_000);
    this.#connectTimeoutMs = intOption('connectTimeoutMs', options.connectTimeoutMs, REMOTE_EXECUTOR_DEFAULTS.connectTimeoutMs, 1, 3_600_000);
    const enc = options.inputEncoding ?? REMOTE_EXECUTOR_DEFAULTS.inputEncoding;
    if (enc !== 'unorm8' && enc !== 'float32') throw new InvalidArgumentError('inputEncoding', "'unorm8' or 'float32'", enc);
    this.inputEncoding = enc;
    const reduce = options.reduceOnWorker ?? REMOTE_EXECUTOR_DEFAULTS.reduceOnWorker;
    if (typeof reduce !== 'boolean') throw new InvalidArgumentError('reduceOnWorker', 'a boolean', reduce);
    this.reduceOnWorker = reduce;
    this.pool = options.pool instanceof TensorPool ? options.pool : new TensorPool({ shared: false, slots: this.maxInFlight + 2, ...options.pool });
  }

  /** The servers as shown in messages: `nats://host:port`, never with credentials. */
  get servers(): string { return this.#servers.display; }

  /**
   * Finds a worker serving this model and learns its inputs and outputs.
   * @param request - the model (bytes or a path read here); `session` is ignored (the worker decides)
   * @returns the model handle
   * @throws {InferenceError} `ModelLoadFailed` (`NotFound`, `Unreadable`, `InvalidModel` for
   *   empty bytes), `ConnectionFailed`, `NoResponders` (no worker serves this file: start
   *   `nv worker --model <file> --nats <url>`), `TimedOut`, `RemoteFailed`, `Released`
   * @throws {InvalidArgumentError} on an invalid request
   */
  async load(request: LoadModelRequest): Promise<InferenceModel> {
    if (typeof request !== 'object' || request === null) throw new InvalidArgumentError('request', 'a LoadModelRequest object', request);
    const m = request.model;
    if (typeof m !== 'string' && !(m instanceof Uint8Array)) throw new InvalidArgumentError('model', 'a path string or a Uint8Array of ONNX bytes', m);
    if (typeof m === 'string' && m.length === 0) throw new InvalidArgumentError('model', 'a non-empty path or ONNX bytes', m);
    const name = request.name ?? (typeof m === 'string' ? m : 'model');
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
    if (this.#released) throw InferenceError.released('executor');
    const bytes = typeof m === 'string' ? await readModelFile(m, name) : m;
    if (bytes.length === 0) throw InferenceError.modelLoadFailed(name, 'InvalidModel', 'the model is empty (expected ONNX ModelProto bytes)');
    const sha = sha256Hex(bytes);
    const subject = modelSubject(this.subject, sha);
    this.#loading++;
    try {
      const conn = await this.#connection();
      const h = natsHeaders();
      h.set(OP_HEADER, 'info');
      const reply = await this.#request(conn, subject, h, new Uint8Array(0), { model: name, sha, subject });
      const info = parseHeader<InfoReply & { ok: boolean; kind?: string; detail?: string }>(reply.headers?.get(REPLY_HEADER));
      if (info === undefined || info.v !== WIRE_VERSION) {
        throw InferenceError.remote('RemoteFailed', `the worker on '${subject}' sent an info reply this client cannot read (protocol v${String(info?.v ?? '?')}, this client v${WIRE_VERSION})`, { remoteKind: 'BadReply' });
      }
      if (!info.ok) throw InferenceError.remote('RemoteFailed', `the worker on '${subject}' refused info: ${info.kind ?? '?'}: ${info.detail ?? ''}`, { remoteKind: info.kind ?? 'Unknown' });
      if (info.sha !== sha) {
        throw InferenceError.remote('RemoteFailed', `the worker on '${subject}' serves another model (sha256 ${String(info.sha).slice(0, 16)}…, this one ${sha.slice(0, 16)}…)`, { remoteKind: 'ModelMismatch' });
      }
      if (this.#released) throw InferenceError.released('executor');
      const reductions = this.reduceOnWorker && Array.isArray(info.reductions) && info.reductions.includes('detections') ? ['detections' as const] : [];
      const model = new RemoteModel(this, name, sha, subject, tensorInfos(info.inputs), tensorInfos(info.outputs), reductions);
      this.#models.add(model);
      return model;
    } finally {
      this.#loading--;
      this.#maybeDisconnect();
    }
  }

  /**
   * @returns counters (the remote ones too, see {@link RemoteExecutorStats}) and the pool's
   *   state; `workers` is 0 and `workerRestarts` 0 (remote workers are not seen from here),
   *   `running` the runs on the wire, `queued` those waiting for a place on it
   */
  stats(): RemoteExecutorStats {
    return Object.freeze({
      kind: this.kind, workers: 0, running: this.#inFlight, queued: this.#queue.length, runs: this.#runs, failedRuns: this.#failedRuns,
      workerRestarts: 0, models: this.#models.size, inputTransfer: 'direct' as const, pool: this.pool.stats(),
      timedOut: this.#timedOut, lateResponses: this.#late, noResponders: this.#noResponders, payloadTooLarge: this.#tooLarge,
      float32Fallbacks: this.#fallbacks, bytesSent: this.#sent, bytesReceived: this.#received, reducedHere: this.#reducedHere,
      connected: this.#live !== undefined && !this.#live.nc.isClosed(), servers: this.#servers.display,
    });
  }

  /**
   * Fails queued and in-flight runs with `Released` (their slots go back), releases every
   * model, closes the pool and the connection. Idempotent.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const err = InferenceError.released('executor');
    for (const j of this.#queue.splice(0)) this.#settle(j, err);
    for (const [id, p] of [...this.#pending]) { this.#pending.delete(id); clearTimeout(p.timer); p.reject(err); }
    this.#models.clear();
    this.pool.close();
    await this.#disconnect();
  }

  /** @internal */
  get _released(): boolean { return this.#released; }

  /** @internal A run from a model handle. */
  _run(job: RunJob): void {
    if (this.#released) { this.#settle(job, InferenceError.released('executor')); return; }
    if (this.#inFlight < this.maxInFlight) { void this.#start(job); return; }
    if (this.#queue.length >= this.maxQueuedRuns) {
      this.#settle(job, InferenceError.queueFull(this.maxQueuedRuns, `${this.#queue.length} runs are already waiting for a place on the wire (maxQueuedRuns ${this.maxQueuedRuns}, maxInFlight ${this.maxInFlight}); the run was refused`));
      return;
    }
    this.#queue.push(job);
  }

  /** @internal */
  _forget(m: RemoteModel): void {
    this.#models.delete(m);
    this.#maybeDisconnect();
  }

  #settle(job: RunJob, e: unknown, out?: InferenceOutputs): void {
    for (const s of job.slots) s.release();
    if (out !== undefined) { this.#runs++; job.resolve(out); } else { this.#failedRuns++; job.reject(e); }
  }

  async #start(job: RunJob): Promise<void> {
    this.#inFlight++;
    let out: InferenceOutputs | undefined, err: unknown;
    try {
      out = await this.#runOnWire(job);
    } catch (e) {
      err = e;
    } finally {
      this.#inFlight--;
    }
    this.#settle(job, err, out);
    const next = this.#queue.shift();
    if (next) void this.#start(next);
    this.#maybeDisconnect();
  }

  async #runOnWire(job: RunJob): Promise<InferenceOutputs> {
    const { model } = job;
    if (model.released) throw InferenceError.released(`model '${model.name}'`);
    // Encode: unorm8 where exact, else float32.
    const wireInputs: WireInput[] = [];
    const parts: Uint8Array[] = [];
    for (const t of job.inputs) {
      let enc: InputEncoding = this.inputEncoding;
      let bytes: Uint8Array | undefined;
      if (enc === 'unorm8') {
        const q = new Uint8Array(t.data.length);
        if (quantizeUnorm8(t.data, q)) bytes = q; else { enc = 'float32'; this.#fallbacks++; }
      }
      bytes ??= bytesOf(t.data);
      wireInputs.push({ name: t.name, dims: [...t.dims], enc });
      parts.push(bytes);
    }
    // One input (the usual) goes as it is: its bytes are a fresh array, or the caller's floats — nats copies them into its buffer at publish.
    let body = parts[0] ?? new Uint8Array(0);
    if (parts.length > 1) {
      let total = 0;
      for (const p of parts) total += p.length;
      body = new Uint8Array(total);
      let off = 0;
      for (const p of parts) { body.set(p, off); off += p.length; }
    }
    const id = String(++this.#nextId);
    const header: RunHeader = {
      v: WIRE_VERSION, id, sha: model.sha, inputs: wireInputs, outputs: job.outputs === undefined ? null : [...job.outputs],
      ...(job.detections !== undefined ? { detections: job.detections } : {}),
    };
    const h = natsHeaders();
    h.set(OP_HEADER, 'run');
    h.set(RUN_HEADER, JSON.stringify(header));
    const conn = await this.#connection();
    const msg = await this.#request(conn, model.subject, h, body, { model: model.name, sha: model.sha, subject: model.subject }, id);
    const r = parseHeader<RunReply>(msg.headers?.get(REPLY_HEADER));
    if (r === undefined || r.v !== WIRE_VERSION) {
      throw InferenceError.remote('RemoteFailed', `the worker on '${model.subject}' sent a reply this client cannot read (protocol v${String(r?.v ?? '?')}, this client v${WIRE_VERSION})`, { remoteKind: 'BadReply' });
    }
    if (!r.ok) throw remoteError(r.kind, r.detail, model);
    const data = msg.data;
    const out: Record<string, { dims: readonly number[]; data: Float32Array }> = {};
    let at = 0;
    if (!Array.isArray(r.outputs)) throw InferenceError.remote('RemoteFailed', `the worker on '${model.subject}' sent a reply without outputs`, { remoteKind: 'BadReply' });
    for (const o of r.outputs) {
      if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || !isDims(o.dims)) throw InferenceError.remote('RemoteFailed', `the worker on '${model.subject}' sent a malformed output description`, { remoteKind: 'BadReply' });
      const len = elementsOf(o.dims) * 4;
      if (at + len > data.length) throw InferenceError.remote('RemoteFailed', `the worker on '${model.subject}' sent ${data.length} bytes, fewer than its outputs' dimensions need`, { remoteKind: 'BadReply' });
      out[o.name] = Object.freeze({ dims: Object.freeze([...o.dims]), data: float32From(data.subarray(at, at + len)) });
      at += len;
    }
    if (at !== data.length) throw InferenceError.remote('RemoteFailed', `the worker on '${model.subject}' sent ${data.length} bytes for outputs of ${at}`, { remoteKind: 'BadReply' });
    const d = job.detections;
    if (d !== undefined && !(Array.isArray(r.reduced) && r.reduced.includes(d.output))) {
      // An older worker of the group (a rolling upgrade) ignored the request: reduce here.
      const raw = out[d.output];
      if (!raw) throw InferenceError.remote('RemoteFailed', `the worker on '${model.subject}' sent no output '${d.output}'`, { remoteKind: 'BadReply' });
      try {
        const reduced = reduceDetections(raw, d);
        out[d.output] = Object.freeze({ dims: Object.freeze(reduced.dims), data: reduced.data });
      } catch (e) {
        throw InferenceError.runFailed(model.name, `cannot reduce output '${d.output}' to detections: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      this.#reducedHere++;
    }
    return Object.freeze(out);
  }

  /** Publishes one request with a reply subject on this executor's inbox, and waits for the reply (or the timeout). */
  #request(conn: Connection, subject: string, h: ReturnType<typeof natsHeaders>, body: Uint8Array, what: { model: string; sha: string; subject: string }, id = String(++this.#nextId)): Promise<Msg> {
    const max = conn.nc.info?.max_payload;
    let headerBytes = 0;
    for (const k of h.keys()) headerBytes += k.length + (h.get(k)?.length ?? 0) + 4;
    const size = body.length + headerBytes + 12;
    if (max !== undefined && size > max) {
      this.#tooLarge++;
      return Promise.reject(InferenceError.remote('PayloadTooLarge',
        `a run request of model '${what.model}' is ${formatBytes(size)} (${size} bytes) but the NATS server ${this.#servers.display} allows ${formatBytes(max)} (max_payload ${max}): ` +
        `raise max_payload in the server config (deploy/nats/nats-server.conf sets 8MB), or send smaller inputs (inputEncoding 'unorm8' sends 1 byte per value)`));
    }
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        this.#timedOut++;
        reject(InferenceError.remote('TimedOut',
          `no reply from a worker of model '${what.model}' (sha256 ${what.sha.slice(0, 16)}…) on ${this.#servers.display} within ${this.timeoutMs} ms; the request was dropped (a late reply is discarded and counted)`));
      }, this.timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        conn.nc.publish(subject, body, { reply: `${conn.inbox}.${id}`, headers: h });
        this.#sent += body.length;
      } catch (e) {
        this.#pending.delete(id);
        clearTimeout(timer);
        const m = e instanceof Error ? e.message : String(e);
        reject(/max_payload|payload/i.test(m)
          ? InferenceError.remote('PayloadTooLarge', `the request of model '${what.model}' exceeds the server's max_payload: ${m}`, { cause: e })
          : InferenceError.remote('ConnectionFailed', `cannot publish to ${this.#servers.display}: ${m}`, { cause: e }));
      }
    }).catch((e: unknown) => {
      if (InferenceError.isInstance(e) && e.kind === 'NoResponders') {
        throw InferenceError.remote('NoResponders',
          `no inference worker serves model '${what.model}' (sha256 ${what.sha.slice(0, 16)}…, subject '${what.subject}') on ${this.#servers.display}: ` +
          `start one with \`nv worker --model ${what.model} --nats ${this.#servers.display.split(', ')[0]}\` (the very same model file)`);
      }
      throw e;
    });
  }

  #onReply(conn: Connection, m: Msg): void {
    const id = m.subject.slice(conn.inbox.length + 1);
    const p = this.#pending.get(id);
    if (!p) { this.#late++; return; }
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (m.headers?.code === 503) {
      this.#noResponders++;
      p.reject(InferenceError.remote('NoResponders', 'no responders'));
      return;
    }
    this.#received += m.data.length;
    p.resolve(m);
  }

  #connection(): Promise<Connection> {
    if (this.#conn) return this.#conn;
    const p = (async (): Promise<Connection> => {
      const nc = await connectServers(this.#servers, 'nv-remote-executor', this.#connectTimeoutMs);
      const inbox = createInbox();
      // eslint-disable-next-line prefer-const
      let conn: Connection;
      // A throw here would stop the client's reader loop: a malformed reply is counted and dropped.
      const sub = nc.subscribe(`${inbox}.*`, { callback: (err, msg) => { if (err) return; try { this.#onReply(conn, msg); } catch { this.#late++; } } });
      conn = { nc, inbox, sub };
      this.#live = conn;
      void nc.closed().then(() => {
        // Closed under us (not by #disconnect, which forgets it first): fail what waits on it.
        if (this.#live !== conn) return;
        this.#live = undefined;
        this.#conn = undefined;
        const err = InferenceError.remote('ConnectionFailed', `the connection to ${this.#servers.display} closed`);
        for (const [id, q] of [...this.#pending]) { this.#pending.delete(id); clearTimeout(q.timer); q.reject(err); }
      });
      if (this.#released) { await this.#disconnect(); throw InferenceError.released('executor'); }
      return conn;
    })();
    this.#conn = p;
    p.catch(() => { if (this.#conn === p) this.#conn = undefined; });
    return p;
  }

  #maybeDisconnect(): void {
    if (this.#models.size === 0 && this.#loading === 0 && this.#pending.size === 0 && this.#inFlight === 0 && this.#queue.length === 0 && this.#live) void this.#disconnect();
  }

  async #disconnect(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    this.#conn = undefined;
    if (live && !live.nc.isClosed()) await live.nc.close().catch(() => undefined);
  }
}

async function readModelFile(path: string, name: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw InferenceError.modelLoadFailed(name, 'NotFound', `model file '${path}' does not exist`, { cause: e });
    throw InferenceError.modelLoadFailed(name, 'Unreadable', `cannot read model file '${path}' (${code ?? String(e)})`, { cause: e });
  }
}

function tensorInfos(v: unknown): TensorInfo[] {
  if (!Array.isArray(v)) return [];
  return v.filter((t): t is TensorInfo => typeof t === 'object' && t !== null).map((t: TensorInfo) => Object.freeze({
    name: String(t.name), isTensor: t.isTensor === true, type: typeof t.type === 'string' ? t.type : undefined,
    shape: Object.freeze(Array.isArray(t.shape) ? t.shape.map((d) => (typeof d === 'number' ? d : String(d))) : []),
  }));
}

function remoteError(kind: string, detail: string, model: RemoteModel): InferenceError {
  if (kind === 'QueueFull') return InferenceError.queueFull(0, `the inference worker on '${model.subject}' refused the run: ${detail}`);
  if (kind === 'PayloadTooLarge') return InferenceError.remote('PayloadTooLarge', `the worker's reply for model '${model.name}' would exceed the server's max_payload: ${detail}`);
  return InferenceError.remote('RemoteFailed', `the inference worker on '${model.subject}' failed the run of model '${model.name}': ${kind}: ${detail}`, { remoteKind: kind });
}

/** A model served by remote workers. */
class RemoteModel implements InferenceModel {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly sha: string;
  readonly subject: string;
  readonly reductions: readonly 'detections'[];
  readonly #executor: RemoteExecutor;
  #released = false;

  constructor(executor: RemoteExecutor, name: string, sha: string, subject: string, inputs: TensorInfo[], outputs: TensorInfo[], reductions: 'detections'[]) {
    this.#executor = executor;
    this.reductions = Object.freeze(reductions);
    this.name = name;
    this.sha = sha;
    this.subject = subject;
    this.inputs = Object.freeze(inputs);
    this.outputs = Object.freeze(outputs);
  }

  get released(): boolean { return this.#released; }

  run(inputs: InferenceInputs, outputNames?: readonly string[], options?: RunOptions): Promise<InferenceOutputs> {
    const slots: SlotLease[] = [];
    if (typeof inputs === 'object' && inputs !== null) for (const t of Object.values(inputs)) if (t?.slot) slots.push(t.slot);
    const fail = (e: unknown): Promise<never> => { for (const s of slots) s.release(); return Promise.reject(e); };
    if (this.#released || this.#executor._released) return fail(InferenceError.released(`model '${this.name}'`));
    let list: { name: string; dims: readonly number[]; data: Float32Array }[];
    try {
      list = checkInputs(inputs, this.inputs);
      if (outputNames !== undefined) {
        if (!Array.isArray(outputNames) || !outputNames.every((n) => typeof n === 'string')) throw new InvalidArgumentError('outputNames', 'an array of output names', outputNames);
        const known = new Set(this.outputs.map((o) => o.name));
        const bad = outputNames.find((n) => !known.has(n));
        if (bad !== undefined) throw InferenceError.runFailed(this.name, `unknown output '${bad}' (outputs: ${[...known].join(', ')})`);
      }
      if (options?.detections !== undefined && !this.reductions.includes('detections')) {
        throw InferenceError.runFailed(this.name, this.#executor.reduceOnWorker
          ? 'the workers serving this model do not reduce detections (an older nv worker): run without options.detections'
          : 'reduceOnWorker is false: run without options.detections');
      }
    } catch (e) {
      return fail(e);
    }
    return new Promise<InferenceOutputs>((resolve, reject) => {
      this.#executor._run({ model: this, inputs: list, outputs: outputNames === undefined ? undefined : [...outputNames], detections: options?.detections, slots, resolve, reject });
    });
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#executor._forget(this);
  }
}

function checkInputs(inputs: InferenceInputs, declared: readonly TensorInfo[]): { name: string; dims: readonly number[]; data: Float32Array }[] {
  if (typeof inputs !== 'object' || inputs === null) throw new InvalidArgumentError('inputs', 'a record of input tensors by name', inputs);
  const out: { name: string; dims: readonly number[]; data: Float32Array }[] = [];
  const names = new Set(declared.map((d) => d.name));
  for (const [name, t] of Object.entries(inputs)) {
    if (!names.has(name)) throw new InvalidArgumentError(`inputs.${name}`, `one of the model's inputs (${[...names].join(', ')})`, name);
    if (!t || !(t.data instanceof Float32Array)) throw new InvalidArgumentError(`inputs.${name}.data`, 'a Float32Array', t?.data);
    if (!isDims(t.dims)) throw new InvalidArgumentError(`inputs.${name}.dims`, 'an array of non-negative integers', t.dims);
    if (elementsOf(t.dims) !== t.data.length) throw new InvalidArgumentError(`inputs.${name}.dims`, `dimensions whose product is ${t.data.length} (data length)`, `[${t.dims.join(', ')}]`);
    if (t.slot?.released) throw new InvalidArgumentError(`inputs.${name}.slot`, 'a slot that is still held', 'a released slot');
    out.push({ name, dims: t.dims, data: t.data });
  }
  const missing = [...names].filter((n) => !(n in inputs));
  if (missing.length > 0) throw new InvalidArgumentError('inputs', `every model input (missing: ${missing.join(', ')})`, Object.keys(inputs).join(', '));
  return out;
}
