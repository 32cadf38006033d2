/**
 * The wire format of remote inference, shared by {@link RemoteExecutor} and
 * {@link InferenceService}: subjects, the JSON header that describes a message's tensors, and
 * the tensor encodings (`unorm8`, `float32`).
 *
 * Subject: `<subject>.<first 16 hex digits of the model's sha256>` (default subject `nv.infer`).
 * Every message is a NATS request with headers (nats-server ≥ 2.2):
 *
 * - request header `Nv-Op`: `info` or `run`; a run also has `Nv-Run`, one JSON line
 *   `{ "v": 1, "id", "sha", "inputs": [{ "name", "dims", "enc" }], "outputs": [names] | null,
 *   "detections"? }` — `detections` (a `DetectionReduction` of `@nv/inference`) asks the worker
 *   to decode that output and apply NMS, replying `[B, K, 6]` rows instead of the raw head —,
 *   and its body is the inputs' bytes, concatenated in that order (`unorm8`: one byte per value;
 *   `float32`: 4 bytes per value, little-endian).
 * - reply header `Nv-Reply`, one JSON line: `{ "v": 1, "id", "ok": true, "outputs": [{ "name",
 *   "dims" }], "batch", "reduced"?: [names] }` with the outputs' float32 little-endian bytes concatenated in the body,
 *   or `{ "v": 1, "id", "ok": false, "kind", "detail" }` with an empty body. An `info` reply is
 *   `{ "v": 1, "ok": true, "sha", "name", "inputs", "outputs", "dynamicBatch", "maxBatch",
 *   "reductions": ["detections"] }` (`reductions` absent: a worker that only sends raw outputs).
 *
 * @packageDocumentation
 * @internal
 */
import { createHash } from 'node:crypto';
import type { DetectionReduction, TensorInfo } from '@nv/inference';

/** Wire protocol version (the `v` of every header). @internal */
export const WIRE_VERSION = 1;
/** Header naming the operation of a request. @internal */
export const OP_HEADER = 'Nv-Op';
/** Header describing a run request. @internal */
export const RUN_HEADER = 'Nv-Run';
/** Header of every reply. @internal */
export const REPLY_HEADER = 'Nv-Reply';

/** How a float input travels. `unorm8`: `round(x × 255)` clamped to 0..255, one byte per value; `float32`: as is. */
export type InputEncoding = 'unorm8' | 'float32';

/** One input of a run request. @internal */
export interface WireInput { readonly name: string; readonly dims: readonly number[]; readonly enc: InputEncoding }
/** The `Nv-Run` header. @internal */
export interface RunHeader {
  readonly v: number;
  readonly id: string;
  readonly sha: string;
  readonly inputs: readonly WireInput[];
  readonly outputs: readonly string[] | null;
  /** Decode and NMS this output on the worker (see `DetectionReduction`). */
  readonly detections?: DetectionReduction;
}
/** One output of a reply. @internal */
export interface WireOutput { readonly name: string; readonly dims: readonly number[] }
/** The `Nv-Reply` header of a run. @internal */
export type RunReply =
  | {
    readonly v: number; readonly id: string; readonly ok: true; readonly outputs: readonly WireOutput[]; readonly batch: number;
    /** Outputs reduced to detection rows on the worker (absent: none — an older worker ignored the request's `detections`). */
    readonly reduced?: readonly string[];
  }
  | { readonly v: number; readonly id: string; readonly ok: false; readonly kind: string; readonly detail: string };
/** The `Nv-Reply` header of an info request. @internal */
export interface InfoReply {
  readonly v: number;
  readonly ok: true;
  readonly sha: string;
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly dynamicBatch: boolean;
  readonly maxBatch: number;
  /** What the worker reduces on request (`'detections'`); absent on workers that cannot. */
  readonly reductions?: readonly string[];
}

/** Why `d` is not a usable detection reduction for a request of `items` items, or undefined when it is. @internal */
export function detectionsProblem(d: unknown, items: number): string | undefined {
  if (typeof d !== 'object' || d === null) return 'expected an object';
  const r = d as Record<string, unknown>;
  if (typeof r['output'] !== 'string') return 'output: expected a name';
  if (!['yolov5', 'yolov8', 'end2end', 'auto'].includes(r['head'] as string)) return 'head: expected yolov5, yolov8, end2end or auto';
  if (!['channelsFirst', 'channelsLast', 'auto'].includes(r['layout'] as string)) return 'layout: expected channelsFirst, channelsLast or auto';
  if (r['numClasses'] !== undefined && !(Number.isSafeInteger(r['numClasses']) && (r['numClasses'] as number) >= 1)) return 'numClasses: expected a positive integer';
  const num = (k: string, lo: number, hi: number) => typeof r[k] === 'number' && (r[k] as number) >= lo && (r[k] as number) <= hi;
  if (!num('scoreThreshold', 0, 1) || !num('iouThreshold', 0, 1)) return 'scoreThreshold and iouThreshold: expected numbers in [0, 1]';
  if (!Number.isSafeInteger(r['maxDetections']) || !Number.isSafeInteger(r['maxCandidates']) || !num('maxDetections', 0, 1e6) || !num('maxCandidates', 0, 1e7)) return 'maxDetections and maxCandidates: expected non-negative integers';
  if (typeof r['classAgnostic'] !== 'boolean') return 'classAgnostic: expected a boolean';
  const c = r['content'];
  if (!Array.isArray(c) || c.length !== items || !c.every((x) => Array.isArray(x) && x.length === 4 && x.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    return `content: expected ${items} rectangles [x0, y0, x1, y1]`;
  }
  return undefined;
}

/** @internal */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The subject of a model: `<subject>.<sha16>`. @internal */
export function modelSubject(subject: string, sha: string): string {
  return `${subject}.${sha.slice(0, 16)}`;
}

/**
 * Why `s` is not a valid base subject (literal tokens of `[A-Za-z0-9_-]` separated by dots), or
 * undefined when it is. @internal
 */
export function subjectProblem(s: unknown): string | undefined {
  if (typeof s !== 'string' || s.length === 0) return 'expected a non-empty subject';
  if (s.length > 200) return 'at most 200 characters';
  if (!s.split('.').every((t) => /^[A-Za-z0-9_-]+$/.test(t))) return "expected dot-separated tokens of letters, digits, '_' and '-' (no wildcards, spaces or empty tokens)";
  return undefined;
}

/** Elements of a tensor with `dims`. @internal */
export function elementsOf(dims: readonly number[]): number {
  return dims.reduce((a, d) => a * d, 1);
}

/** Bytes per value of an encoding. @internal */
export function bytesPerValue(enc: InputEncoding): number {
  return enc === 'unorm8' ? 1 : 4;
}

/** The float32 each byte stands for: `k / 255` (what nv's letterbox writes for an 8-bit value k). @internal */
export const UNORM8_VALUES: Float32Array = Float32Array.from({ length: 256 }, (_, k) => k / 255);

/**
 * Quantizes `src` into `dst` (`Math.round(x × 255)` clamped to 0..255) and says whether that
 * was exact: every value was one of {@link UNORM8_VALUES}, so {@link dequantizeUnorm8} gives
 * back the same float32 bits. A value that is not (another normalization, a resampled
 * fraction) makes it return `false` at once; the caller then sends float32. @internal
 */
export function quantizeUnorm8(src: Float32Array, dst: Uint8Array): boolean {
  const lut = UNORM8_VALUES;
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    // floor(x × 255 + 0.5) = Math.round(x × 255), clamped (NaN → 0, then refused by the check).
    const v = x * 255 + 0.5;
    const q = v >= 1 ? (v < 255 ? v | 0 : 255) : 0;
    if (lut[q] !== x) return false;
    dst[i] = q;
  }
  return true;
}

/** Dequantizes bytes into floats through {@link UNORM8_VALUES}. @internal */
export function dequantizeUnorm8(src: Uint8Array, dst: Float32Array, dstOffset = 0): void {
  const lut = UNORM8_VALUES;
  for (let i = 0; i < src.length; i++) dst[dstOffset + i] = lut[src[i]!]!;
}

/** Copies little-endian float32 bytes (any alignment) into `dst` at `dstOffset`. @internal */
export function copyFloat32(src: Uint8Array, dst: Float32Array, dstOffset = 0): void {
  new Uint8Array(dst.buffer, dst.byteOffset + dstOffset * 4, src.length).set(src);
}

/** A float32 tensor from little-endian bytes (copied: the message's buffer may be unaligned). @internal */
export function float32From(src: Uint8Array): Float32Array {
  const out = new Float32Array(src.length / 4);
  copyFloat32(src, out);
  return out;
}

/** The bytes of a float32 array (a view, no copy). @internal */
export function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Parses a JSON header value, or undefined when it is missing or not JSON. @internal */
export function parseHeader<T>(value: string | undefined): T | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    const v = JSON.parse(value) as unknown;
    return typeof v === 'object' && v !== null ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `d` is a list of non-negative safe integers. @internal */
export function isDims(d: unknown): d is number[] {
  return Array.isArray(d) && d.length <= 16 && d.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
}

/** `12.3 MB` style sizes for messages. @internal */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
