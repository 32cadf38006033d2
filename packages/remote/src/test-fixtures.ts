/**
 * Test helpers: nats-server processes started with a config file and stopped by PID, a polling
 * wait with a deadline, small ONNX models built with onnx-proto, an executor whose runs wait
 * for a gate, and inference workers in child processes. Not shipped.
 *
 * @internal
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceExecutor, InferenceExecutorStats, InferenceInputs, InferenceModel, InferenceOutputs, LoadModelRequest, TensorPool } from '@nv/inference';
import { onnx } from 'onnx-proto';

/** A TCP port free on 127.0.0.1 right now. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `cond` every `intervalMs` until it is truthy or `timeoutMs` passes (then throws, naming `what`). */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 10_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The first of `candidates` that is executable, else `name` found on PATH, else undefined. */
export function findBinary(name: string, candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    try { accessSync(c, constants.X_OK); return c; } catch { /* next */ }
  }
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}

/** Path of nats-server, when installed. */
export const NATS_SERVER = findBinary('nats-server', ['/usr/sbin/nats-server']);

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
});

/** A scratch directory, removed by {@link removeScratch}. */
export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `nv-remote-${prefix}-`));
}

/** Removes a scratch directory (best effort). */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** A process the test started. */
export interface TestProcess {
  readonly pid: number | undefined;
  /** Its stderr and stdout so far. */
  readonly log: () => string;
  /** Stops it by PID (`SIGTERM` by default; `SIGKILL` after 5 s) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with its exit code (or signal). */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/** Spawns `bin args…` and resolves once `ready` matches its output (within `timeoutMs`). */
export async function startProcess(bin: string, args: readonly string[], ready: RegExp, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<TestProcess> {
  let log = '';
  const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
  running.add(p);
  const exited = new Promise<number | NodeJS.Signals>((r) => p.once('exit', (code, sig) => { running.delete(p); r(code ?? sig ?? -1); }));
  const onData = (d: Buffer): void => { log += d.toString(); if (log.length > 40_000) log = log.slice(-20_000); };
  p.stdout!.on('data', onData);
  p.stderr!.on('data', onData);
  const deadline = performance.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${bin} exited (${p.exitCode ?? p.signalCode}): ${log.slice(-2000)}`);
    if (ready.test(log)) break;
    if (performance.now() > deadline) {
      try { process.kill(p.pid!, 'SIGKILL'); } catch { /* gone */ }
      throw new Error(`${bin} not ready within ${options.timeoutMs ?? 15_000} ms: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    try { process.kill(p.pid!, signal); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(t);
  };
  return { get pid() { return p.pid; }, log: () => log, stop, exited };
}

/** A nats-server the test started. */
export interface NatsTestServer extends TestProcess {
  readonly port: number;
  readonly url: string;
}

/**
 * Starts nats-server on a free 127.0.0.1 port with a config file: `max_payload` 8MB (as
 * deploy/nats/nats-server.conf) unless `maxPayload` says otherwise (`null`: the server's
 * default, 1 MiB), plus `extra` config lines.
 */
export async function startNatsServer(dir: string, options: { maxPayload?: string | null; extra?: readonly string[] } = {}): Promise<NatsTestServer> {
  if (NATS_SERVER === undefined) throw new Error('nats-server is not installed');
  const port = await freeTcpPort();
  const conf = join(dir, `nats-${port}.conf`);
  const mp = options.maxPayload === undefined ? '8MB' : options.maxPayload;
  writeFileSync(conf, [`listen: 127.0.0.1:${port}`, ...(mp !== null ? [`max_payload: ${mp}`] : []), ...(options.extra ?? []), ''].join('\n'));
  const p = await startProcess(NATS_SERVER, ['-c', conf], /Server is ready/);
  await waitFor(() => portOpen(port), `nats-server on port ${port}`);
  return { ...p, pid: p.pid, port, url: `nats://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------------------------------------
// Models

type Dim = number | string;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function valueInfo(name: string, dims: readonly Dim[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

/**
 * A small image model: input `images` [batch, 3, size, size] (batch symbolic unless `batch` is
 * a number), a 3×3 stride-2 convolution with fixed pseudo-random weights to `channels` channels,
 * then a reshape to `output0` [batch, channels, (size/2)²] — YOLO-shaped (channels-first, one
 * column per anchor), every value depending on the image; with `boxes` the first four rows
 * are plausible cx, cy, w, h (YOLOv8 layout). A second output `aux` = the image's
 * mean per item, [batch, 1].
 */
export function imageModel(o: { size?: number; channels?: number; batch?: number; seed?: number; boxes?: boolean } = {}): Uint8Array {
  const size = o.size ?? 32, ch = o.channels ?? 84, b: Dim = o.batch ?? 'batch';
  let s = (o.seed ?? 7) >>> 0;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 0x1000000 - 0.5; };
  const w = Array.from({ length: ch * 3 * 9 }, rand);
  const bias = Array.from({ length: ch }, rand);
  // With `boxes`: rows 0–3 are cx, cy, w, h in input pixels around the centre (positive sizes).
  if (o.boxes) { bias[0] = size / 2; bias[1] = size / 2; bias[2] = size / 4; bias[3] = size / 4; }
  const half = Math.ceil(size / 2);
  const model = onnx.ModelProto.create({
    irVersion: 8, producerName: 'nv-remote-test', opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'image-model',
      input: [valueInfo('images', [b, 3, size, size])],
      output: [valueInfo('output0', [b, ch, half * half]), valueInfo('aux', [b, 1])],
      initializer: [
        { name: 'W', dims: [ch, 3, 3, 3], dataType: FLOAT, floatData: w },
        { name: 'B', dims: [ch], dataType: FLOAT, floatData: bias },
        { name: 'shape', dims: [3], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, ch, -1] },
      ],
      node: [
        { opType: 'Conv', input: ['images', 'W', 'B'], output: ['c'], attribute: [
          { name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] },
          { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] },
        ] },
        { opType: 'Reshape', input: ['c', 'shape'], output: ['output0'] },
        { opType: 'ReduceMean', input: ['images'], output: ['aux'], attribute: [
          { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 3] },
          { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ] },
      ],
    },
  });
  // aux: ReduceMean over H, W gives [batch, 3]; keep it simple and declare what it is.
  model.graph!.output![1] = valueInfo('aux', [b, 3]);
  return onnx.ModelProto.encode(model).finish();
}

/** Values k/255 (what nv's letterbox writes), pseudo-random, `n` of them. */
export function unormInput(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; out[i] = ((s >>> 16) & 255) / 255; }
  return out;
}

// ---------------------------------------------------------------------------------------------
// An executor whose runs wait for a gate

/** An executor that delegates to `inner` but holds every run until {@link GatedExecutor.open} (or for ever). */
export class GatedExecutor implements InferenceExecutor {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'gated';
  readonly inner: InferenceExecutor;
  #gate: Promise<void>;
  #open!: () => void;
  started = 0;

  constructor(inner: InferenceExecutor) {
    this.inner = inner;
    this.#gate = new Promise((r) => { this.#open = r; });
  }

  get pool(): TensorPool { return this.inner.pool; }

  /** Lets every held and later run through. */
  open(): void { this.#open(); }

  /** Holds later runs again. */
  close(): void { this.#gate = new Promise((r) => { this.#open = r; }); }

  async load(request: LoadModelRequest): Promise<InferenceModel> {
    const m = await this.inner.load(request);
    return {
      name: m.name, inputs: m.inputs, outputs: m.outputs,
      run: async (inputs: InferenceInputs, names?: readonly string[]): Promise<InferenceOutputs> => {
        this.started++;
        await this.#gate;
        return m.run(inputs, names);
      },
      release: () => m.release(),
    };
  }

  stats(): InferenceExecutorStats { return { ...this.inner.stats(), kind: 'gated' }; }
  release(): Promise<void> { return this.inner.release(); }
}

// ---------------------------------------------------------------------------------------------
// Workers in child processes

const REMOTE_DIST = new URL('../dist/index.js', import.meta.url);
const INFERENCE_DIST = new URL('../../inference/dist/index.js', import.meta.url);

/**
 * Starts an {@link InferenceService} in a child Node process (from the built `dist/`), serving
 * `modelPath` on `url`; with `holdRuns`, its runs never finish (a worker that hangs). Resolves
 * once it printed its ready line.
 */
export function startWorkerProcess(url: string, modelPath: string, options: { holdRuns?: boolean; maxBatch?: number; subject?: string } = {}): Promise<TestProcess> {
  const script = `
    const { InferenceService } = await import(${JSON.stringify(REMOTE_DIST.href)});
    const { InlineExecutor } = await import(${JSON.stringify(INFERENCE_DIST.href)});
    const hold = ${options.holdRuns === true};
    const inner = new InlineExecutor({ intraOpNumThreads: 1 });
    const executor = hold ? {
      specificationVersion: 'v1', kind: 'held', get pool() { return inner.pool; },
      load: async (r) => { const m = await inner.load(r); return { name: m.name, inputs: m.inputs, outputs: m.outputs, run: () => new Promise(() => {}), release: () => m.release() }; },
      stats: () => inner.stats(), release: () => inner.release(),
    } : inner;
    const s = await InferenceService.start({ servers: ${JSON.stringify(url)}, model: ${JSON.stringify(modelPath)}, executor, batchWindowMs: 0, maxBatch: ${options.maxBatch ?? 8}, subject: ${JSON.stringify(options.subject ?? 'nv.infer')} });
    console.log('ready ' + s.subject);
    const stop = async () => { await s.close(); console.log('stats ' + JSON.stringify(s.stats())); process.exit(0); };
    process.on('SIGTERM', stop);
    setInterval(() => {}, 1 << 30);
  `;
  return startProcess(process.execPath, ['--input-type=module', '-e', script], /^ready /m);
}

/** Whether the built `dist/` of this package exists (child-process tests need it). */
export function distBuilt(): boolean {
  try { accessSync(fileURLToPath(REMOTE_DIST)); accessSync(fileURLToPath(INFERENCE_DIST)); return true; } catch { return false; }
}
