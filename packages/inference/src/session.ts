/**
 * onnxruntime sessions as both executors use them — the worker thread (`inference-worker.ts`)
 * and the inline executor: creation with classified failures, plain metadata, float32 feeds
 * from plain tensors, plain outputs. Nothing here imports `@nv/core` (the worker stays small)
 * and nothing throws across the thread boundary: failures are {@link ErrorReport}s.
 *
 * @packageDocumentation
 * @internal
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { InferenceSession, Tensor, listSupportedBackends } from 'onnxruntime-node';
import type { ErrorReport, ResolvedSessionOptions, WireTensor } from './protocol.js';
import type { TensorInfo } from './types.js';

/** A created session, or why not. @internal */
export type SessionResult =
  | { readonly ok: true; readonly session: InferenceSession; readonly inputs: TensorInfo[]; readonly outputs: TensorInfo[] }
  | { readonly ok: false; readonly error: ErrorReport };

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function infoOf(m: InferenceSession.ValueMetadata): TensorInfo {
  return m.isTensor
    ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
    : { name: m.name, isTensor: false, type: undefined, shape: [] };
}

/**
 * Creates a session; every failure is classified (`NotFound`, `Unreadable`, `InvalidModel`,
 * `ProviderUnavailable`, `ProviderFailed`).
 * @internal
 */
export async function createSession(source: Uint8Array | string, o: ResolvedSessionOptions): Promise<SessionResult> {
  const fail = (error: ErrorReport): SessionResult => ({ ok: false, error });
  if (typeof source === 'string') {
    try {
      const st = await stat(source);
      if (st.isDirectory()) return fail({ kind: 'ModelLoadFailed', reason: 'Unreadable', detail: `model path '${source}' is a directory` });
      await access(source, constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return fail({ kind: 'ModelLoadFailed', reason: 'NotFound', detail: `model file '${source}' does not exist` });
      return fail({ kind: 'ModelLoadFailed', reason: 'Unreadable', detail: `cannot read model file '${source}' (${code ?? message(e)})` });
    }
  }
  let providers: InferenceSession.ExecutionProviderConfig[] = ['cpu'];
  if (o.executionProvider === 'cuda') {
    const backends = listSupportedBackends().map((b) => b.name);
    if (!backends.includes('cuda')) {
      return fail({
        kind: 'ModelLoadFailed', reason: 'ProviderUnavailable', availableProviders: backends,
        detail: `execution provider 'cuda' is not available (onnxruntime-node reports: ${backends.join(', ') || 'none'})`,
      });
    }
    providers = [{ name: 'cuda', deviceId: o.cudaDeviceId }];
  }
  const options: InferenceSession.SessionOptions = {
    executionProviders: providers,
    graphOptimizationLevel: o.graphOptimizationLevel,
    logSeverityLevel: 3,
    ...(o.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: o.intraOpNumThreads }),
    ...(o.interOpNumThreads === undefined ? {} : { interOpNumThreads: o.interOpNumThreads }),
    ...(o.executionMode === undefined ? {} : { executionMode: o.executionMode }),
    // Idle intra-/inter-op threads sleep instead of spinning unless asked: nv shares the cores with
    // decoding, preprocessing and other feeds, and a spinning thread takes CPU from them (measured,
    // detection job on 2 cores: event-loop p99 23.5 → 18.5 ms, inline 29.9 → 27.0 ms per frame).
    ...(o.allowSpinning === true ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
  };
  let session: InferenceSession;
  try {
    session = typeof source === 'string' ? await InferenceSession.create(source, options) : await InferenceSession.create(source, options);
  } catch (e) {
    const m = message(e);
    const providerFailed = o.executionProvider === 'cuda' && /cuda|provider|shared library/i.test(m);
    return fail({ kind: 'ModelLoadFailed', reason: providerFailed ? 'ProviderFailed' : 'InvalidModel', detail: m });
  }
  return { ok: true, session, inputs: session.inputMetadata.map(infoOf), outputs: session.outputMetadata.map(infoOf) };
}

/**
 * Reusable staging buffers for SharedArrayBuffer-backed inputs, by input name (used only when
 * this onnxruntime-node build refuses SharedArrayBuffer-backed tensors).
 * @internal
 */
export type Staging = Map<string, Float32Array>;

/**
 * Float32 feeds from plain tensors. With `stage`, a SharedArrayBuffer-backed input is copied
 * into a reused staging buffer first (onnxruntime-node 1.30 refuses SharedArrayBuffer memory).
 * @internal
 */
export function toFeeds(inputs: readonly WireTensor[], stage: boolean, staging: Staging): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const t of inputs) {
    let data = t.data;
    if (stage && data.buffer instanceof SharedArrayBuffer) {
      let buf = staging.get(t.name);
      if (!buf || buf.length < data.length) staging.set(t.name, (buf = new Float32Array(data.length)));
      data = buf.subarray(0, data.length);
      data.set(t.data);
    }
    feeds[t.name] = new Tensor('float32', data, t.dims);
  }
  return feeds;
}

/**
 * Plain outputs from a run's result. With `copy`, each output is copied out of onnxruntime's
 * native memory into a JavaScript-owned ArrayBuffer that can be transferred safely (native
 * memory is freed when the worker's environment goes away, even if transferred).
 * @internal
 */
export function fromResult(result: InferenceSession.OnnxValueMapType, names: readonly string[], copy: boolean): WireTensor[] | ErrorReport {
  const out: WireTensor[] = [];
  for (const name of names) {
    const t = result[name] as Tensor | undefined;
    if (!t) return { kind: 'RunFailed', detail: `output '${name}' is missing from the result` };
    if (t.type !== 'float32') return { kind: 'RunFailed', detail: `output '${name}' is ${t.type}; only float32 outputs are supported` };
    const data = t.data as Float32Array;
    out.push({ name, dims: [...t.dims], data: copy ? new Float32Array(data) : data });
  }
  return out;
}

/** A tiny Identity model ([1] float32 → [1] float32), to probe SharedArrayBuffer support. */
const PROBE_MODEL = 'CAg6NwoQCgF4EgF5IghJZGVudGl0eRIBcFoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=';
let sharedSupport: boolean | undefined;

/**
 * Whether onnxruntime-node accepts a SharedArrayBuffer-backed tensor on this thread's
 * runtime (1.30 on Node 20 does not: "Invalid argument"). Probed once per thread.
 * @internal
 */
export async function probeSharedInputs(): Promise<boolean> {
  if (sharedSupport !== undefined) return sharedSupport;
  let session: InferenceSession | undefined;
  try {
    session = await InferenceSession.create(Buffer.from(PROBE_MODEL, 'base64'), { logSeverityLevel: 4 });
    const x = new Float32Array(new SharedArrayBuffer(4));
    x[0] = 7;
    const r = await session.run({ x: new Tensor('float32', x, [1]) });
    sharedSupport = (r['y']?.data as Float32Array | undefined)?.[0] === 7;
  } catch {
    sharedSupport = false;
  } finally {
    await session?.release().catch(() => undefined);
  }
  return sharedSupport;
}

/** The probe's answer, if probed on this thread. @internal */
export function sharedInputsSupported(): boolean | undefined { return sharedSupport; }
