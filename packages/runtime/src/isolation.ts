/**
 * Worker-isolated feeds (`FeedConfig.isolation`): the feed's source and stages run in a worker
 * thread, in a real `Feed` there (so every feed semantic — timeline, deadlines, restarts inside
 * the worker, `resumeAfter` — holds); the sink stays on the main thread.
 *
 * Protocol (one `Worker` per incarnation; messages in order, structured-cloned):
 * - main → worker `workerData` ({@link WorkerInit}): the feed's JSON-able config, the module to
 *   import, its options, the record buffer, where to resume; then `stop`, `pause`, `resume` and
 *   `ack` (sink credit) messages.
 * - worker → main: `hb` (heartbeat, every `heartbeatTimeoutMs / 4`, at most 250 ms, with the
 *   feed's diagnostics once it exists), `ready`, `health` (every health event but `FeedStopped`),
 *   `out` (an output; its frame's planes, when frame inclusion selected it, in one transferred
 *   `ArrayBuffer`), `done` (final diagnostics and stop reason) or `fatal` (the module or the feed
 *   could not be built). A feed run by a `Runtime` sends its outputs even without a sink: they go
 *   to the runtime's output channel (`runtime.outputs()`) as they arrive, before the sink queue,
 *   and main returns their credit at once when there is no sink.
 * - Outputs are flow-controlled: the worker has `sinkQueueCapacity` credits; main returns one
 *   (`ack`) each time it takes an output off its own sink queue. Without a credit the worker's
 *   sink waits, so its feed's bounded sink queue fills and drops the newest output, counted — the
 *   same semantics as a main-thread feed, and nothing in between grows without bound.
 * - An output that cannot cross is dropped, never a lost credit: one whose encoding or
 *   `postMessage` throws in the worker (a `DataCloneError`: a detached buffer, a throwing getter)
 *   takes no credit and is reported (`undeliverable`); one main cannot rebuild has its credit
 *   returned at once. Either way main counts it in `outputsDropped` (not `sinkErrors`: the sink
 *   was never called) and emits `SinkPanic` with what failed; the feed goes on.
 * - Class instances are rebuilt on main: nv errors (by category and kind), `TypedMetadata` (by
 *   key name onto `isolation.metadataKeys`, else onto a fresh `metadataKey(name)` per feed), `BBox`,
 *   `Polygon`, `AffineTransform2D`, `ViewSnapshot`; a frame becomes an owned frame.
 * - Which frame the worker is on lives in a small `SharedArrayBuffer` the worker writes with
 *   `Atomics` as it takes each frame from the source (raw seq and ts) and enters each stage (the
 *   feed-timeline seq and ts, the stage index): no message per frame, and main can read it while
 *   the worker is frozen.
 *
 * Hang detection: any message counts as a sign of life. Main checks with the runtime's clock;
 * after `heartbeatTimeoutMs` of silence (at least 5 s until the worker's feed is built: thread
 * start-up, imports and the module's factory evaluate synchronously in part) the worker is
 * terminated, `FeedWorkerUnresponsive` and `FrameDropped` (cause `timeout`) are emitted for the
 * frame it was on, and the feed restarts per its restart policy: a new worker, resumed after that
 * frame for file sources (`FrameSource.resumeAfter`), so a poisoned frame is never retried.
 *
 * Re-basing (seq, ts, view epoch/version, session stay monotonic across workers): a new worker's
 * `Feed` starts its own timeline (its first frame has ts = raw ts, seq = raw seq). Main adds
 * per-worker offsets, fixed at the first frame a worker reports (an output or a `FrameDropped`):
 * the first worker's are 0 (identical to a main-thread feed); for a later one, seq continues at
 * (highest seq so far) + 1, and ts continues the media mapping of the last known frame
 * (`ts = raw + (lastTs − lastRaw)`, a file resumed after the hung frame: no jump) when that lands
 * above every ts so far, else it is one frame interval after the highest ts (a `reconnect`
 * `SourceDiscontinuity` is emitted). The hung frame's own values are the ones the worker recorded
 * entering its stage, else estimated the same way. Epoch, version and session continue after the
 * highest so far.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  AffineTransform2D, BBox, ConfigError, FrameAccessError, InvalidArgumentError, MediaError, NvError, Polygon, RuntimeError, SOURCE_DISCONTINUITY,
  StageError, TemporalError, TypedMetadata, ViewError, feedId as toFeedId, metadataKey, monotonicTs, stopErrorOf,
  type BackpressurePolicy, type Clock, type ClockTimer, type FeedId, type HealthEvent, type MetadataKey, type QueueTelemetry, type StopReason,
  type Straggler,
} from '@nv/core';
import { createOwnedFrame, type FrameEnvelope, type PixelFormat } from '@nv/frame';
import type { Stage } from '@nv/perception';
import { ViewSnapshot, type EpochPolicy, type ViewState, type ViewStateProvider } from '@nv/view';
import type { FeedConfig, FeedPipeline, ResolvedFeedConfig } from './config.js';
import type { FeedDiagnostics, FeedMetricsSnapshot, FeedState, StageDiagnostics } from './diagnostics.js';
import { LATENCY_BUCKETS_MS, type LatencySnapshot } from './latency.js';
import type { OutputEnvelope, Provenance } from './output.js';
import { stopWithin } from './stop-within.js';

// ---------------------------------------------------------------------------------------------
// The module contract

/** What an isolation module's export is called with, besides its options. */
export interface IsolatedFeedContext {
  /** The feed's id (the same on the main thread). */
  readonly feedId: FeedId;
  /** The feed's display name, if any. */
  readonly name: string | undefined;
  /** Which worker this is: 0 for the first, +1 each time a hung or crashed worker was replaced. */
  readonly workerRestarts: number;
}

/**
 * What an isolation module's export returns: the feed's stages (`stages`, or a `pipeline` without
 * a batch point — shared batch processors live on the main thread), and for observed cameras the
 * view provider, optionally an epoch policy. Built in the worker, again in each new worker.
 */
export type IsolatedFeedParts = (
  | { readonly stages: readonly Stage[]; readonly pipeline?: undefined }
  | { readonly pipeline: FeedPipeline; readonly stages?: undefined }
) & {
  /** Motion provider (observed cameras). */
  readonly viewProvider?: ViewStateProvider<FrameEnvelope>;
  /** Epoch policy (default `DefaultEpochPolicy`). */
  readonly epochPolicy?: EpochPolicy;
};

/**
 * The shape of an isolation module's export (`FeedConfig.isolation.module` / `.export`).
 * @example
 * ```ts
 * // heavy-feed.js, imported in the worker
 * export default (options, { feedId }) => ({ stages: [new HeavyStage(options)] });
 * ```
 */
export type IsolatedFeedFactory<O = unknown> = (options: O, context: IsolatedFeedContext) => IsolatedFeedParts | Promise<IsolatedFeedParts>;

// ---------------------------------------------------------------------------------------------
// Protocol (internal)

/** @internal The feed config the worker gets: everything but the code objects and the sink. */
export type WorkerFeedConfig = Omit<FeedConfig, 'stages' | 'pipeline' | 'viewProvider' | 'epochPolicy' | 'sink' | 'isolation'>;

/** @internal `workerData` of an isolated feed's worker. */
export interface WorkerInit {
  readonly feedId: number;
  readonly name: string | undefined;
  /** 0 for the first worker of the feed. */
  readonly incarnation: number;
  /** What `import()` gets: a URL string or a bare specifier. */
  readonly module: string;
  /** The module as the user named it (messages). */
  readonly moduleLabel: string;
  readonly exportName: string;
  readonly options: unknown;
  readonly config: WorkerFeedConfig;
  /** Resolved on the main thread (with the source's own default kind). */
  readonly backpressure: BackpressurePolicy;
  readonly hasSink: boolean;
  /** Outputs the worker may send before an `ack`. */
  readonly sinkCredits: number;
  readonly heartbeatMs: number;
  /** See {@link REC}. */
  readonly record: SharedArrayBuffer;
  /** Raw ts of the last frame the previous worker took (it resumes after it). */
  readonly resumeAfterTs: number | undefined;
  readonly paused: boolean;
}

/** @internal Messages to the worker. */
export type ToWorker =
  | { readonly t: 'stop'; readonly reason: StopReason; readonly timeoutMs: number }
  | { readonly t: 'pause' }
  | { readonly t: 'resume' }
  | { readonly t: 'ack'; readonly n: number };

/** @internal A frame crossing to the main thread: its header and planes (one buffer, consecutive planes). */
export interface WireFrame {
  readonly seq: number;
  readonly ts: number;
  readonly wallTs: number;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly strides: readonly number[];
  readonly metadata: unknown;
  readonly data: ArrayBuffer;
}

/** @internal Messages from the worker. */
export type FromWorker =
  | { readonly t: 'hb'; readonly d?: FeedDiagnostics }
  | { readonly t: 'ready'; readonly stageIds: readonly string[]; readonly timeOrigin: number }
  | { readonly t: 'health'; readonly e: unknown }
  | { readonly t: 'out'; readonly o: unknown; readonly f?: WireFrame }
  /** An output that could not be sent (its encoding or `postMessage` threw): dropped, it took no credit. Worker-timeline seq and ts. */
  | { readonly t: 'undeliverable'; readonly seq: number; readonly ts: number; readonly mediaTs: number; readonly mediaSeq: number | undefined; readonly detail: string }
  | { readonly t: 'done'; readonly d: FeedDiagnostics; readonly reason: StopReason | undefined }
  | { readonly t: 'fatal'; readonly error: unknown };

/**
 * @internal Layout of the record `SharedArrayBuffer`: an `Int32Array` of 4 at byte 0 and a
 * `Float64Array` of 4 at byte 16. The worker writes the floats first, then the ints with `Atomics`.
 */
export const REC = Object.freeze({
  BYTES: 48,
  /** i32: frames taken from the source (this worker). */
  TAKEN: 0,
  /** i32: 1 while a frame taken is being processed (0 once the next one is asked for, or the source stopped). */
  IN_FRAME: 1,
  /** i32: index + 1 of the stage whose `process` runs now (0: none). */
  STAGE: 2,
  /** i32: the TAKEN count for which FEED_SEQ/FEED_TS were recorded. */
  FEED_FOR: 3,
  /** f64: raw ts of the frame taken last. */
  RAW_TS: 0,
  /** f64: raw seq of the frame taken last. */
  RAW_SEQ: 1,
  /** f64: feed-timeline seq (the worker's) of the frame, recorded entering its first stage. */
  FEED_SEQ: 2,
  /** f64: feed-timeline ts (the worker's), likewise. */
  FEED_TS: 3,
});

// ---------------------------------------------------------------------------------------------
// Serialization

/** The property that tags an encoded class instance. */
const TAG = '__nv$';
/** Deeper than this is cut (cycles are cut too). */
const MAX_DEPTH = 64;

type Tagged = { readonly [TAG]: string } & Record<string, unknown>;

function isTagged(v: object): v is Tagged { return Object.prototype.hasOwnProperty.call(v, TAG); }

function isFrameLike(v: object): boolean {
  const f = v as Partial<FrameEnvelope>;
  return typeof f.retain === 'function' && typeof f.release === 'function' && typeof f.plane === 'function' && Array.isArray(f.planes);
}

function isTypedMetadata(v: object): v is TypedMetadata {
  return v instanceof TypedMetadata || (v.constructor?.name === 'TypedMetadata' && typeof (v as TypedMetadata).keys === 'function' && typeof (v as TypedMetadata).get === 'function');
}

/** Own fields of an nv error other than the ones every error has. */
const ERROR_BASE_FIELDS: ReadonlySet<string> = new Set(['name', 'message', 'stack', 'cause', 'category', 'kind']);

/**
 * @internal Turns a value into plain, structured-cloneable data: nv errors, other errors,
 * `TypedMetadata`, `BBox`, `Polygon`, `AffineTransform2D` and `ViewSnapshot` become tagged
 * objects; other class instances their own enumerable fields; functions and symbols are dropped,
 * and frames too (no pixel data crosses this way).
 */
export function encodeWire(v: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) return v;
  if (depth > MAX_DEPTH || seen.has(v)) return undefined;
  seen.add(v);
  try {
    const d = depth + 1;
    if (NvError.isInstance(v)) {
      const fields: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (!ERROR_BASE_FIELDS.has(k)) fields[k] = encodeWire(x, d, seen);
      return { [TAG]: 'err', c: v.category, k: v.kind, n: v.name, m: v.message, s: v.stack, f: fields };
    }
    if (v instanceof Error) return { [TAG]: 'jserr', n: v.name, m: v.message, s: v.stack };
    if (isTypedMetadata(v)) return { [TAG]: 'meta', e: [...v.keys()].map((k) => [k.name, encodeWire(v.get(k), d, seen)]) };
    if (v instanceof BBox) return { [TAG]: 'bbox', b: [v.xMin, v.yMin, v.xMax, v.yMax] };
    if (v instanceof AffineTransform2D) return { [TAG]: 'affine', m: [...v.m] };
    if (v instanceof Polygon) return { [TAG]: 'poly', v: v.vertices.map((p) => ({ x: p.x, y: p.y })) };
    if (v instanceof ViewSnapshot) return { [TAG]: 'view', s: encodeWire(v.state, d, seen) };
    if (Array.isArray(v)) return v.map((x) => encodeWire(x, d, seen));
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [encodeWire(k, d, seen), encodeWire(x, d, seen)]));
    if (v instanceof Set) return new Set([...v].map((x) => encodeWire(x, d, seen)));
    if (isFrameLike(v)) return undefined;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'function' || typeof x === 'symbol') continue;
      o[k] = encodeWire(x, d, seen);
    }
    return o;
  } finally {
    seen.delete(v); // a shared (acyclic) value may appear twice
  }
}

/** @internal How {@link decodeWire} rebuilds what needs the main thread's identities. */
export interface DecodeContext {
  /** The main thread's key for a metadata key name. */
  key(name: string): MetadataKey<unknown>;
  /** Added to decoded view epochs. */
  readonly epochBase: number;
  /** Added to decoded view versions. */
  readonly versionBase: number;
}

const PLAIN_DECODE: DecodeContext = Object.freeze({ key: (name: string) => metadataKey<unknown>(name), epochBase: 0, versionBase: 0 });

/** @internal The inverse of {@link encodeWire}; plain objects and arrays come back frozen. */
export function decodeWire(v: unknown, ctx: DecodeContext = PLAIN_DECODE): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) return v;
  if (Array.isArray(v)) return Object.freeze(v.map((x) => decodeWire(x, ctx)));
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [decodeWire(k, ctx), decodeWire(x, ctx)]));
  if (v instanceof Set) return new Set([...v].map((x) => decodeWire(x, ctx)));
  if (isTagged(v)) {
    switch (v[TAG]) {
      case 'err': return rebuildError(v, ctx);
      case 'jserr': {
        const e = new Error(String(v['m']));
        e.name = String(v['n']);
        if (typeof v['s'] === 'string') e.stack = v['s'];
        return e;
      }
      case 'meta': {
        const m = new TypedMetadata();
        for (const [name, x] of v['e'] as [string, unknown][]) m.set(ctx.key(name), decodeWire(x, ctx));
        return m;
      }
      case 'bbox': { const b = v['b'] as number[]; return BBox.unbounded(b[0]!, b[1]!, b[2]!, b[3]!); }
      case 'affine': return new AffineTransform2D(v['m'] as [number, number, number, number, number, number]);
      case 'poly': return new Polygon(v['v'] as { x: number; y: number }[]);
      case 'view': {
        const s = decodeWire(v['s'], ctx) as ViewState;
        return ViewSnapshot.of({ ...s, epoch: (s.epoch + ctx.epochBase) as ViewState['epoch'], version: (s.version + ctx.versionBase) as ViewState['version'] });
      }
      default: break;
    }
  }
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = decodeWire(x, ctx);
  return Object.freeze(o);
}

/** Rebuilds an nv error of the right class, with its category, kind, fields, message and stack. */
function rebuildError(w: Tagged, ctx: DecodeContext): NvError {
  const kind = String(w['k']);
  const message = String(w['m']);
  const f = (decodeWire(w['f'], ctx) ?? {}) as Record<string, unknown>;
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  let e: NvError;
  switch (w['c']) {
    case 'media': e = new MediaError(kind as MediaError['kind'], { message }); break;
    case 'stage': e = new StageError(kind as StageError['kind'], str(f['stageId']) ?? '', str(f['detail']), undefined, str(f['tag'])); break;
    case 'temporal': e = new TemporalError(kind as TemporalError['kind'], message); break;
    case 'view': e = new ViewError(kind as ViewError['kind'], message); break;
    case 'config': e = new ConfigError(kind as ConfigError['kind'], message, { presanitized: true }); break;
    case 'frame': e = new FrameAccessError(kind as FrameAccessError['kind'], message); break;
    case 'argument': e = new InvalidArgumentError(str(f['argument']) ?? 'value', 'a valid value', message); break;
    default: e = new RuntimeError(kind as RuntimeError['kind'], message); break;
  }
  for (const [k, x] of Object.entries(f)) {
    try { (e as unknown as Record<string, unknown>)[k] = x; } catch { /* a read-only field keeps the constructor's value */ }
  }
  Object.defineProperty(e, 'message', { value: message, writable: true, configurable: true, enumerable: false });
  if (typeof w['s'] === 'string') e.stack = w['s'];
  return e;
}

/** @internal An output as the worker sends it: the envelope without its frame, and the frame's pixels if it has one. */
export function encodeOutput(out: OutputEnvelope): { readonly o: unknown; readonly f: WireFrame | undefined; readonly transfer: ArrayBuffer[] } {
  const { frame, ...rest } = out;
  const o = encodeWire(rest);
  if (!frame || frame.isReleased) return { o, f: undefined, transfer: [] };
  try {
    const f = packFrame(frame);
    return { o, f, transfer: [f.data] };
  } catch {
    return { o, f: undefined, transfer: [] }; // not host-readable (a device frame): the output goes without it
  }
}

/** Copies a frame's planes, in order, into one new buffer (each plane with its stride). */
function packFrame(frame: FrameEnvelope): WireFrame {
  let total = 0;
  for (const p of frame.planes) total += p.size;
  const data = new ArrayBuffer(total);
  const u8 = new Uint8Array(data);
  let off = 0;
  for (let i = 0; i < frame.planes.length; i++) {
    const p = frame.planes[i]!;
    u8.set(frame.plane(i).subarray(0, p.size), off);
    off += p.size;
  }
  return {
    seq: frame.seq, ts: frame.ts, wallTs: frame.wallTs, width: frame.width, height: frame.height, format: frame.format,
    strides: frame.planes.map((p) => p.stride), metadata: encodeWire(frame.metadata), data,
  };
}

// ---------------------------------------------------------------------------------------------
// Latency snapshots across workers

/** Sums two latency snapshots (same buckets); quantiles recomputed like `LatencyHistogram`. */
function mergeLatency(a: LatencySnapshot | undefined, b: LatencySnapshot | undefined): LatencySnapshot {
  if (!a || a.count === 0) return b ?? a ?? emptyLatency();
  if (!b || b.count === 0) return a;
  const counts = a.counts.map((c, i) => c + (b.counts[i] ?? 0));
  const count = a.count + b.count;
  const minMs = Math.min(a.minMs, b.minMs);
  const maxMs = Math.max(a.maxMs, b.maxMs);
  const q = (p: number): number => {
    const target = p * count;
    let acc = 0;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      if (c > 0 && acc + c >= target) {
        const lower = Math.max(i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!, minMs);
        const upper = Math.min(i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : maxMs, maxMs);
        if (upper <= lower) return upper;
        return lower + ((target - acc) / c) * (upper - lower);
      }
      acc += c;
    }
    return maxMs;
  };
  return Object.freeze({
    boundsMs: LATENCY_BUCKETS_MS, counts: Object.freeze(counts), count, sumMs: a.sumMs + b.sumMs, minMs, maxMs,
    p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99), lastMs: b.lastMs,
  });
}

function emptyLatency(): LatencySnapshot {
  return Object.freeze({
    boundsMs: LATENCY_BUCKETS_MS, counts: Object.freeze(new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)), count: 0, sumMs: 0, minMs: 0, maxMs: 0,
    p50Ms: 0, p95Ms: 0, p99Ms: 0, lastMs: 0,
  });
}

function mergeStages(a: Readonly<Record<string, StageDiagnostics>>, b: Readonly<Record<string, StageDiagnostics>> | undefined): Record<string, StageDiagnostics> {
  const out: Record<string, StageDiagnostics> = { ...a };
  for (const [id, s] of Object.entries(b ?? {})) {
    const p = out[id];
    out[id] = p ? {
      framesProcessed: p.framesProcessed + s.framesProcessed, errors: p.errors + s.errors, skipped: p.skipped + s.skipped, latency: mergeLatency(p.latency, s.latency),
    } : s;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The main-thread side

/** Heartbeat limit until the worker's feed is built (thread start-up, imports, the module's factory). */
const STARTUP_GRACE_MS = 5000;
/** Default `isolation.heartbeatTimeoutMs`. */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 2000;
/** After a stop timeout abandons the stragglers, how long stop() still waits (the worker's own grace, then its report). */
const ABANDON_GRACE_MS = 500;
/** How long the end of the feed waits for its workers to have exited. */
const TERMINATE_WAIT_MS = 2000;
/** Minimum spacing of the throttled `SinkBackpressure` event (as for a main-thread feed). */
const THROTTLE_MS = 1000;

const ABANDONED: unique symbol = Symbol('nv.abandoned');

/** The worker entry: built JavaScript (Node 20 cannot run TypeScript in a worker). */
function workerFileUrl(): URL {
  const here = import.meta.url;
  return /\.[cm]?ts$/.test(new URL(here).pathname) ? new URL('../dist/isolated-feed-worker.js', here) : new URL('./isolated-feed-worker.js', here);
}

/**
 * @internal What `import()` in the worker gets for `isolation.module`: URLs as they are, paths
 * resolved against the working directory, bare specifiers as they are.
 */
export function moduleSpecifier(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(m)) return m; // file:, data:, node: … (not a Windows drive letter)
  if (isAbsolute(m) || m.startsWith('./') || m.startsWith('../') || m === '.' || m === '..') return pathToFileURL(resolvePath(m)).href;
  return m;
}

/** The parent's `execArgv`, without the workspace-only `@nv/source` condition (the worker runs built JavaScript). */
function workerExecArgv(): string[] | undefined {
  const a = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if ((x === '--conditions' || x === '-C') && a[i + 1] === '@nv/source') { i++; continue; }
    if (x === '--conditions=@nv/source' || x === '-C=@nv/source') continue;
    out.push(x);
  }
  return out.length === a.length ? undefined : out;
}

function describe(e: unknown): string {
  if (NvError.isInstance(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function releaseFrame(out: OutputEnvelope): void {
  if (out.frame && !out.frame.isReleased) out.frame.release();
}

/** One worker of an isolated feed. */
interface Incarnation {
  /** 0 for the first worker. */
  readonly n: number;
  readonly worker: Worker;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Offsets of this worker's view epochs, versions and sessions. */
  readonly epochBase: number;
  readonly versionBase: number;
  readonly sessionBase: number;
  readonly decode: DecodeContext;
  readonly end: (r: IncarnationEnd) => void;
  dead: boolean;
  exited: boolean;
  /** The worker's feed is built (its module imported, its stages made). */
  ready: boolean;
  lastMsgAt: number;
  stageIds: readonly string[];
  /** Worker `performance.now()` → main `performance.now()`, in ns. */
  originShiftNs: number;
  seqOff: number | undefined;
  tsOff: number | undefined;
  /** The last frame this worker reported, in its own timeline values. */
  lastW: { seq: number; ts: number; mediaTs: number; mediaSeq: number | undefined } | undefined;
  /** Outputs received and not yet returned as credit. */
  owed: number;
  outputs: number;
  monitor: ClockTimer | undefined;
  snapshot: FeedDiagnostics | undefined;
}

type IncarnationEnd =
  | { readonly kind: 'done' }
  | { readonly kind: 'lost'; readonly error: unknown };

interface Queued { readonly out: OutputEnvelope; readonly inc: Incarnation }

/** Feed counters of workers that are gone. */
interface BaseCounts {
  received: number; dropped: number; processed: number; failed: number; timedOut: number; outputsDropped: number;
  stages: Record<string, StageDiagnostics>; pipeline: LatencySnapshot | undefined;
}

/**
 * @internal A feed whose source and stages run in a worker thread (see the module comment). It
 * has the surface the runtime uses of a main-thread `Feed`; its synchronous accessors answer from
 * the latest snapshot the worker pushed (every heartbeat, ≤ 250 ms, and at its end).
 */
export class IsolatedFeed {
  /** The feed id. */
  readonly id: FeedId;
  /** Display name (`FeedConfig.name`), if any. */
  readonly name: string | undefined;
  readonly #r: ResolvedFeedConfig;
  readonly #emit: (e: HealthEvent) => void;
  /** The runtime's output channel (`runtime.outputs()`), if any: each output as it arrives, before the sink queue. */
  readonly #publish: ((out: OutputEnvelope) => void) | undefined;
  readonly #clock: Clock;
  readonly #workerUrl: URL;
  readonly #module: string;
  readonly #moduleLabel: string;
  readonly #exportName: string;
  readonly #heartbeatTimeoutMs: number;
  readonly #keys = new Map<string, MetadataKey<unknown>>();
  readonly #done: Promise<void>;
  #state: FeedState = 'starting';
  #paused = false;
  #stopRequested = false;
  #stopReason: StopReason | undefined;
  #lastError: string | undefined;
  #inc: Incarnation | undefined;
  #snapAt = 0;
  readonly #terminations: Promise<unknown>[] = [];
  readonly #base: BaseCounts = { received: 0, dropped: 0, processed: 0, failed: 0, timedOut: 0, outputsDropped: 0, stages: {}, pipeline: undefined };
  #restarts = 0;
  #restartsInWindow = 0;
  #sessionStartedAt = 0;
  #resumeAfterTs: number | undefined;
  #epochMax = 0;
  #versionMax = 0;
  #sessionMax = 0;
  /** Highest feed seq and ts given out so far (outputs, dropped frames). */
  #hi: { seq: number; ts: number } | undefined;
  /** The latest frame known, in feed values with its raw ts. */
  #last: { seq: number; ts: number; mediaTs: number; mediaSeq: number | undefined } | undefined;
  /** Estimated frame interval (ns), for bridging a worker replacement. */
  #interval = 1e6;
  readonly #restartAbort = new AbortController();
  readonly #hard = new AbortController();
  readonly #outputs: Queued[] = [];
  #sinkWake: (() => void) | undefined;
  #sinkClosed = false;
  #sinkBusy = false;
  #stoppedReported = false;
  readonly #m = { emitted: 0, dropped: 0, sinkErrors: 0 };
  #sinkDropsPending = 0;
  #sinkDropsLast = -Infinity;
  #sinkDropsTimer: ClockTimer | undefined;

  /**
   * @param id - the feed id
   * @param resolved - the validated config (with `cfg.isolation`)
   * @param emit - where health events go
   * @param clock - time of the heartbeat check, restart delays and windows, stop timeouts
   * @param publish - the runtime's output channel: called with each output as it arrives from the
   *   worker, before the sink queue (never throws, never waits). When given, the worker sends its
   *   outputs even if the feed has no sink, so that subscribers get them.
   * @throws {RuntimeError} `WorkerStartFailed` when the built worker entry is missing
   */
  constructor(id: number, resolved: ResolvedFeedConfig, emit: (e: HealthEvent) => void, clock: Clock, publish?: (out: OutputEnvelope) => void) {
    const iso = resolved.cfg.isolation!;
    this.id = toFeedId(id);
    this.name = resolved.cfg.name;
    this.#r = resolved;
    this.#emit = emit;
    this.#publish = publish;
    this.#clock = clock;
    this.#workerUrl = workerFileUrl();
    const file = fileURLToPath(this.#workerUrl);
    if (!existsSync(file)) throw RuntimeError.workerStartFailed(`the isolated-feed worker entry ${file} is missing: build @nv/runtime first (tsc -b)`);
    this.#module = moduleSpecifier(iso.module);
    this.#moduleLabel = `'${iso.module instanceof URL ? iso.module.href : iso.module}'`;
    this.#exportName = iso.export ?? 'default';
    this.#heartbeatTimeoutMs = iso.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.#keys.set(SOURCE_DISCONTINUITY.name, SOURCE_DISCONTINUITY);
    for (const k of iso.metadataKeys ?? []) if (!this.#keys.has(k.name)) this.#keys.set(k.name, k);
    this.#done = this.#run();
  }

  /** Lifecycle state: the worker's, as of its latest snapshot, while it runs. */
  get state(): FeedState {
    const s = this.#state;
    if (s !== 'starting') return s;
    const inc = this.#inc;
    let w = inc?.snapshot?.state;
    // Outputs came before the first snapshot that says so: the worker's feed is running.
    if ((w === undefined || w === 'starting') && inc && inc.outputs > 0) w = 'running';
    if (w === undefined || w === 'starting') return 'starting';
    if (w === 'stopping' || w === 'stopped') return 'stopping';
    if (w === 'running' && this.#paused) return 'paused';
    if (w === 'paused' && !this.#paused) return 'running';
    return w;
  }
  /** Resolves when the feed has stopped, its outputs are delivered and its workers have exited. */
  get done(): Promise<void> { return this.#done; }
  /** Why the feed stopped (or is stopping). */
  get stopReason(): StopReason | undefined { return this.#stopReason; }
  /** Whether the feed is paused. */
  get paused(): boolean { return this.#paused; }
  /** Milliseconds since the current session started in the worker (0 between sessions). */
  get sessionUptimeMs(): number {
    const snap = this.#inc?.snapshot;
    const st = this.state;
    if (!snap || snap.sessionUptimeMs <= 0 || (st !== 'running' && st !== 'paused')) return 0;
    return snap.sessionUptimeMs + Math.max(0, this.#clock.now() - this.#snapAt);
  }

  /** Pauses (forwarded to the worker). @returns false if already paused */
  pause(): boolean {
    if (this.#paused) return false;
    this.#paused = true;
    this.#send({ t: 'pause' });
    return true;
  }

  /** Resumes after {@link IsolatedFeed.pause}. @returns false if not paused */
  resume(): boolean {
    if (!this.#paused) return false;
    this.#paused = false;
    this.#send({ t: 'resume' });
    return true;
  }

  /** Counters over the feed's life: the workers gone, plus the current one's latest snapshot; outputs as delivered here. */
  metrics(): FeedMetricsSnapshot {
    const inc = this.#inc;
    const s = inc?.snapshot?.metrics;
    const b = this.#base;
    return {
      feedId: this.id,
      framesReceived: b.received + (s?.framesReceived ?? 0),
      framesDropped: b.dropped + (s?.framesDropped ?? 0),
      framesProcessed: b.processed + (s?.framesProcessed ?? 0),
      framesFailed: b.failed + (s?.framesFailed ?? 0),
      framesTimedOut: b.timedOut + (s?.framesTimedOut ?? 0),
      outputsEmitted: this.#m.emitted,
      outputsDropped: b.outputsDropped + (s?.outputsDropped ?? 0) + this.#m.dropped,
      sinkErrors: this.#m.sinkErrors,
      restarts: this.#restarts,
      tracksActive: s?.tracksActive ?? 0,
      viewEpoch: s && inc ? s.viewEpoch + inc.epochBase : this.#epochMax,
      stages: mergeStages(b.stages, s?.stages),
      pipelineLatency: mergeLatency(b.pipeline, s?.pipelineLatency),
    };
  }

  /** Source queue (the worker's, latest snapshot) and this side's sink queue. */
  queueTelemetry(): QueueTelemetry {
    const q = this.#inc?.snapshot?.queues;
    return { sourceDepth: q?.sourceDepth ?? 0, sourceCapacity: q?.sourceCapacity ?? 0, sinkDepth: this.#outputs.length, sinkCapacity: this.#r.sinkQueueCapacity };
  }

  /** The feed's diagnostics (see {@link IsolatedFeed.metrics} for the counters). */
  diagnostics(): FeedDiagnostics {
    const inc = this.#inc;
    const snap = inc?.snapshot;
    const state = this.state;
    const v = snap?.view;
    return {
      id: this.id, name: this.name, state, paused: this.#paused, alive: state !== 'stopped', sessionUptimeMs: this.sessionUptimeMs,
      metrics: this.metrics(), queues: this.queueTelemetry(), decode: snap?.decode,
      view: v && inc ? { ...v, epoch: v.epoch + inc.epochBase, version: v.version + inc.versionBase } : { epoch: this.#epochMax, version: this.#versionMax, validity: 'valid', stabilityScore: 1, pollTimeouts: 0 },
      batchProcessorId: undefined, lastError: this.#lastError ?? snap?.lastError, stopReason: this.#stopReason,
    };
  }

  /**
   * Draining stop: the worker's feed stops draining (its own stop timeout), then the outputs
   * queued here reach the sink. Returns within `timeoutMs` plus a 500 ms grace
   * (`ABANDON_GRACE_MS`: the worker's feed stops with the same timeout and its own 100 ms grace,
   * then reports across the thread): at the timeout this side's sink is abandoned (`StopTimeout`,
   * `SinkTimeout`); a worker that has not finished by the end of the grace is terminated and the
   * feed is stopped (`FeedStopped`). `done` can resolve up to 2 s (`TERMINATE_WAIT_MS`) after
   * that: it also waits, bounded, for the worker threads to have exited.
   */
  stop(reason: StopReason = { kind: 'UserRequested' }, timeoutMs = this.#r.stopTimeoutMs): Promise<void> {
    if (!this.#stopRequested) {
      this.#stopRequested = true;
      this.#stopReason ??= reason;
      this.#restartAbort.abort();
      if (this.#state === 'starting') this.#state = 'stopping';
      this.#send({ t: 'stop', reason, timeoutMs });
    }
    if (this.#state === 'stopped') return this.#done;
    return stopWithin(this.#clock, this.#done, timeoutMs, ABANDON_GRACE_MS, () => this.#abandon(), () => this.#forceStopped());
  }

  // -------------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    const sinkLoop = this.#sinkLoop();
    try {
      for (let n = 0; !this.#stopRequested; n++) {
        const end = await this.#incarnation(n);
        if (end.kind === 'done' || this.#stopRequested) break;
        if (!(await this.#restartOrStop(end.error))) break;
      }
    } catch (e) {
      this.#lastError = describe(e);
      this.#stopReason ??= { kind: 'Fatal', detail: this.#lastError, error: stopErrorOf(e) };
    }
    if (this.#state !== 'stopped') this.#state = 'stopping';
    this.#sinkClosed = true;
    this.#sinkWake?.();
    await sinkLoop;
    await this.#waitTerminated();
    this.#state = 'stopped';
    this.#reportStopped();
  }

  /** Runs one worker until its feed is done, it failed to start, or it is lost (hung, crashed). */
  #incarnation(n: number): Promise<IncarnationEnd> {
    return new Promise<IncarnationEnd>((resolve) => {
      const record = new SharedArrayBuffer(REC.BYTES);
      const cfg = this.#r.cfg;
      const { sink: _sink, isolation, stages: _s, pipeline: _p, viewProvider: _v, epochPolicy: _e, ...config } = cfg;
      const init: WorkerInit = {
        feedId: this.id, name: this.name, incarnation: n, module: this.#module, moduleLabel: this.#moduleLabel, exportName: this.#exportName,
        options: isolation?.options, config, backpressure: this.#r.backpressure, hasSink: cfg.sink !== undefined || this.#publish !== undefined,
        sinkCredits: this.#r.sinkQueueCapacity, heartbeatMs: Math.max(5, Math.min(250, this.#heartbeatTimeoutMs / 4)), record,
        resumeAfterTs: this.#resumeAfterTs, paused: this.#paused,
      };
      const epochBase = n === 0 ? 0 : this.#epochMax;
      const versionBase = n === 0 ? 0 : this.#versionMax + 1;
      const keyOf = (name: string) => this.#key(name);
      let worker: Worker;
      try {
        const execArgv = workerExecArgv();
        worker = new Worker(this.#workerUrl, { workerData: init, ...(execArgv ? { execArgv } : {}) });
      } catch (e) {
        const err = RuntimeError.workerStartFailed(`isolated feed ${this.#moduleLabel}: ${describe(e)}`, e);
        this.#lastError = err.message;
        this.#stopReason = { kind: 'Fatal', detail: err.message, error: stopErrorOf(err) };
        resolve({ kind: 'done' });
        return;
      }
      let ended = false;
      const inc: Incarnation = {
        n, worker, i32: new Int32Array(record, 0, 4), f64: new Float64Array(record, 16, 4), epochBase, versionBase, sessionBase: this.#sessionMax,
        decode: { key: keyOf, epochBase, versionBase },
        end: (r) => {
          if (ended) return;
          ended = true;
          this.#retire(inc);
          resolve(r);
        },
        dead: false, exited: false, ready: false, lastMsgAt: this.#clock.now(), stageIds: [], originShiftNs: 0, seqOff: undefined, tsOff: undefined,
        lastW: undefined, owed: 0, outputs: 0, monitor: undefined, snapshot: undefined,
      };
      this.#inc = inc;
      this.#sessionStartedAt = this.#clock.now();
      if (this.#state === 'restarting') this.#state = 'starting';
      worker.on('message', (m: FromWorker) => this.#onMessage(inc, m));
      worker.on('error', (e: unknown) => this.#lost(inc, undefined, e));
      worker.on('exit', (code: number) => {
        inc.exited = true;
        if (!inc.dead) this.#lost(inc, undefined, RuntimeError.workerStartFailed(`the isolated feed's worker exited (code ${code})`));
      });
      this.#startMonitor(inc);
    });
  }

  /** A worker is over: no more messages from it are taken; it is terminated. */
  #retire(inc: Incarnation): void {
    inc.dead = true;
    this.#clock.clearTimeout(inc.monitor);
    inc.monitor = undefined;
    if (!inc.exited) this.#terminations.push(inc.worker.terminate().catch(() => undefined));
  }

  async #waitTerminated(): Promise<void> {
    if (this.#terminations.length === 0) return;
    let timer: ClockTimer | undefined;
    await Promise.race([Promise.all(this.#terminations), new Promise<void>((r) => { timer = this.#clock.setTimeout(r, TERMINATE_WAIT_MS, { unref: true }); })]);
    this.#clock.clearTimeout(timer);
  }

  #send(m: ToWorker): void {
    const inc = this.#inc;
    if (!inc || inc.dead) return;
    try { inc.worker.postMessage(m); } catch { /* the worker is going away */ }
  }

  #key(name: string): MetadataKey<unknown> {
    let k = this.#keys.get(name);
    if (!k) { k = metadataKey<unknown>(name); this.#keys.set(name, k); }
    return k;
  }

  /** Checks the worker's heartbeat with the runtime's clock. */
  #startMonitor(inc: Incarnation): void {
    const clock = this.#clock;
    const every = Math.max(5, Math.min(250, this.#heartbeatTimeoutMs / 4));
    let expected = 0;
    const schedule = (): void => {
      expected = clock.now() + every;
      inc.monitor = clock.setTimeout(tick, every, { unref: true });
    };
    const limit = (): number => (inc.ready ? this.#heartbeatTimeoutMs : Math.max(this.#heartbeatTimeoutMs, STARTUP_GRACE_MS));
    const tick = (): void => {
      if (inc.dead) return;
      const now = clock.now();
      // A late tick means this thread was busy: what the worker sent meanwhile may still be queued.
      if (now - expected > every) inc.lastMsgAt = Math.max(inc.lastMsgAt, now - every);
      if (now - inc.lastMsgAt <= limit()) { schedule(); return; }
      // Judge only after the messages already queued have been delivered.
      setImmediate(() => {
        if (inc.dead) return;
        const silentMs = clock.now() - inc.lastMsgAt;
        if (silentMs > limit()) this.#lost(inc, silentMs, undefined);
        else schedule();
      });
    };
    schedule();
  }

  #onMessage(inc: Incarnation, m: FromWorker): void {
    if (inc.dead) return;
    inc.lastMsgAt = this.#clock.now();
    try {
      switch (m.t) {
        case 'hb': if (m.d) this.#setSnapshot(inc, m.d); break;
        case 'ready':
          inc.ready = true;
          inc.stageIds = m.stageIds;
          inc.originShiftNs = (m.timeOrigin - performance.timeOrigin) * 1e6;
          break;
        case 'health': this.#onWorkerHealth(inc, decodeWire(m.e, inc.decode) as HealthEvent); break;
        case 'out': this.#onWorkerOutput(inc, m.o, m.f); break;
        case 'undeliverable': {
          inc.outputs++; // the frame was processed; its output is what got lost
          const { seq } = this.#mapFrame(inc, m.seq, m.ts, m.mediaTs, m.mediaSeq);
          this.#outputLost(`the output of frame ${seq} could not be sent to the main thread: ${m.detail}`);
          break;
        }
        case 'done':
          this.#setSnapshot(inc, m.d);
          if (m.reason) {
            // The worker's feed counts only its own restarts: the feed's count includes every worker's.
            const reason: StopReason = m.reason.kind === 'RestartLimitExceeded' ? { ...m.reason, restartCount: this.#restarts } : m.reason;
            if (this.#stopRequested) this.#stopReason ??= reason; else this.#stopReason = reason;
          }
          inc.end({ kind: 'done' });
          break;
        case 'fatal': {
          const err = decodeWire(m.error, inc.decode);
          this.#lastError = describe(err);
          this.#stopReason = { kind: 'Fatal', detail: this.#lastError, error: stopErrorOf(err) };
          inc.end({ kind: 'done' });
          break;
        }
        default: break;
      }
    } catch (e) {
      this.#lastError = `isolated feed message: ${describe(e)}`;
    }
  }

  #setSnapshot(inc: Incarnation, d: FeedDiagnostics): void {
    inc.snapshot = d;
    this.#snapAt = this.#clock.now();
    this.#epochMax = Math.max(this.#epochMax, d.view.epoch + inc.epochBase);
    this.#versionMax = Math.max(this.#versionMax, d.view.version + inc.versionBase);
  }

  #onWorkerHealth(inc: Incarnation, e: HealthEvent): void {
    switch (e.type) {
      case 'FeedStopped': return; // this side reports it, after its sink queue drained
      case 'FeedRestarting': {
        // A restart inside the worker (stage panic, source failure): one count over the feed's life.
        if (this.#clock.now() - this.#sessionStartedAt >= this.#r.restart.restartWindowMs) this.#restartsInWindow = 0;
        this.#restartsInWindow++;
        this.#restarts++;
        this.#sessionStartedAt = this.#clock.now();
        this.#emit({ ...e, restartCount: this.#restarts });
        return;
      }
      case 'ViewEpochChanged': case 'ViewCompensationApplied': {
        const epoch = e.epoch + inc.epochBase;
        this.#epochMax = Math.max(this.#epochMax, epoch);
        this.#emit({ ...e, epoch });
        return;
      }
      case 'FrameDropped': {
        const { seq, ts } = this.#mapFrame(inc, e.seq, e.ts, e.mediaTs, undefined);
        this.#emit({ ...e, seq, ts: monotonicTs(ts) });
        return;
      }
      case 'SourceDiscontinuity': {
        inc.tsOff ??= this.#tsOffset(inc, e.ts, e.rawAfter);
        this.#emit({ ...e, ts: monotonicTs(e.ts + inc.tsOff) });
        return;
      }
      default: this.#emit(e);
    }
  }

  #onWorkerOutput(inc: Incarnation, wire: unknown, wf: WireFrame | undefined): void {
    inc.outputs++;
    let out: OutputEnvelope;
    try {
      out = this.#rebuildOutput(inc, wire, wf);
    } catch (e) {
      // The worker spent a credit on it: give it back now (it was never queued here).
      this.#credit(inc);
      this.#outputLost(`an output could not be rebuilt on the main thread: ${describe(e)}`);
      return;
    }
    inc.owed++;
    this.#publish?.(out); // subscribers get it now, whatever the sink queue does with it
    this.#enqueueOutput(out, inc);
  }

  /** An output of the worker that never reaches the sink: counted in `outputsDropped`, reported as `SinkPanic`. */
  #outputLost(detail: string): void {
    this.#m.dropped++;
    this.#lastError = `isolated feed: ${detail}`;
    this.#emit({ type: 'SinkPanic', feedId: this.id, detail: `isolated feed: ${detail} (dropped)` });
  }

  /** The output as the sink gets it (seq, ts, session, epochs re-based; its frame an owned frame). @throws when it cannot be decoded */
  #rebuildOutput(inc: Incarnation, wire: unknown, wf: WireFrame | undefined): OutputEnvelope {
    const w = decodeWire(wire, inc.decode) as Omit<OutputEnvelope, 'frame'>;
    const p = w.provenance;
    const { seq, ts } = this.#mapFrame(inc, w.seq, w.ts, p.source.mediaTs, p.source.mediaSeq);
    const shift = inc.originShiftNs;
    const session = p.source.session + inc.sessionBase;
    this.#sessionMax = Math.max(this.#sessionMax, session);
    this.#epochMax = Math.max(this.#epochMax, w.view.epoch);
    this.#versionMax = Math.max(this.#versionMax, w.view.version);
    const provenance: Provenance = Object.freeze({
      ...p,
      stages: Object.freeze(p.stages.map((r) => Object.freeze({ ...r, startNs: r.startNs + shift, endNs: r.endNs + shift }))),
      view: Object.freeze({ ...p.view, epoch: p.view.epoch + inc.epochBase, version: p.view.version + inc.versionBase }),
      receivedAtNs: p.receivedAtNs + shift,
      completedAtNs: p.completedAtNs + shift,
      source: Object.freeze({ ...p.source, session }),
    });
    let frame: FrameEnvelope | undefined;
    if (wf) {
      try {
        frame = createOwnedFrame({
          feedId: this.id, seq, ts, wallTs: wf.wallTs, width: wf.width, height: wf.height, format: wf.format, strides: wf.strides,
          data: new Uint8Array(wf.data), transferOwnership: true, metadata: decodeWire(wf.metadata, inc.decode) as TypedMetadata,
        });
      } catch (e) {
        this.#lastError = `isolated feed frame: ${describe(e)}`;
      }
    }
    return {
      feedId: this.id, feedName: this.name, seq, ts: monotonicTs(ts), wallTs: w.wallTs, artifacts: w.artifacts, view: w.view, provenance, frame,
    };
  }

  /** Maps a frame the worker reported onto the feed's seq and ts (the incarnation's offsets are fixed at its first). */
  #mapFrame(inc: Incarnation, wSeq: number, wTs: number, mediaTs: number, mediaSeq: number | undefined): { seq: number; ts: number } {
    inc.seqOff ??= inc.n === 0 || !this.#hi ? 0 : this.#hi.seq + 1 - wSeq;
    inc.tsOff ??= this.#tsOffset(inc, wTs, mediaTs);
    const seq = wSeq + inc.seqOff;
    const ts = wTs + inc.tsOff;
    if (!inc.lastW || wSeq > inc.lastW.seq) inc.lastW = { seq: wSeq, ts: wTs, mediaTs, mediaSeq };
    this.#known(seq, ts, mediaTs, mediaSeq);
    return { seq, ts };
  }

  /** The ts offset of a worker after the first (see the module comment). */
  #tsOffset(inc: Incarnation, wTs: number, mediaTs: number): number {
    const hi = this.#hi;
    if (inc.n === 0 || !hi) return 0;
    const last = this.#last;
    if (last && mediaTs > last.mediaTs) {
      const off = mediaTs + (last.ts - last.mediaTs) - wTs;
      if (wTs + off > hi.ts) return off;
    }
    const ts = hi.ts + this.#interval;
    this.#emit({ type: 'SourceDiscontinuity', feedId: this.id, kind: 'reconnect', rawBefore: last?.mediaTs ?? 0, rawAfter: mediaTs, ts: monotonicTs(ts), count: 1 });
    return ts - wTs;
  }

  #known(seq: number, ts: number, mediaTs: number, mediaSeq: number | undefined): void {
    const prev = this.#last;
    if (prev && seq <= prev.seq) return; // an event about a later frame came first
    if (prev && seq === prev.seq + 1 && ts > prev.ts) this.#interval = ts - prev.ts;
    this.#last = { seq, ts, mediaTs, mediaSeq };
    this.#hi = { seq: Math.max(this.#hi?.seq ?? seq, seq), ts: Math.max(this.#hi?.ts ?? ts, ts) };
  }

  /**
   * A worker hung (`silentMs` set) or crashed (`crash` set): read what it was doing, terminate it,
   * report the frame it was on, fold its counters into the feed's, end the incarnation.
   */
  #lost(inc: Incarnation, silentMs: number | undefined, crash: unknown): void {
    if (inc.dead) return;
    const { i32, f64 } = inc;
    const taken = Atomics.load(i32, REC.TAKEN);
    const inFrame = taken > 0 && Atomics.load(i32, REC.IN_FRAME) === 1;
    const stageIdx = Atomics.load(i32, REC.STAGE);
    const feedValid = inFrame && Atomics.load(i32, REC.FEED_FOR) === taken;
    const raw = { ts: f64[REC.RAW_TS]!, seq: f64[REC.RAW_SEQ]! };
    const stageId = stageIdx > 0 ? inc.stageIds[stageIdx - 1] : undefined;
    const snap = inc.snapshot?.metrics;
    this.#retire(inc);
    let frame: { seq: number; ts: number; mediaTs: number } | undefined;
    if (inFrame) frame = this.#hungFrame(inc, raw, feedValid ? { seq: f64[REC.FEED_SEQ]!, ts: f64[REC.FEED_TS]! } : undefined);
    if (taken > 0) this.#resumeAfterTs = raw.ts;
    const at = stageId ?? 'worker';
    let detail: string;
    let error: unknown;
    if (silentMs !== undefined) {
      detail = `worker unresponsive for ${Math.round(silentMs)} ms (heartbeat timeout ${this.#heartbeatTimeoutMs} ms)`;
      error = StageError.tagged(at, 'unresponsive', detail);
      this.#emit({ type: 'FeedWorkerUnresponsive', feedId: this.id, silentMs, frame: frame && { seq: frame.seq, ts: monotonicTs(frame.ts), mediaTs: frame.mediaTs }, stageId });
    } else {
      detail = `worker crashed: ${describe(crash)}`;
      error = crash;
      this.#emit({ type: 'StagePanic', feedId: this.id, stageId: at, detail });
    }
    this.#lastError = detail;
    if (frame) this.#emit({ type: 'FrameDropped', feedId: this.id, seq: frame.seq, ts: monotonicTs(frame.ts), mediaTs: frame.mediaTs, cause: silentMs !== undefined ? 'timeout' : 'panic', at, detail });
    // The counters of the gone worker: every frame it took either produced an output or failed.
    const b = this.#base;
    const received = Math.max(snap?.framesReceived ?? 0, taken);
    const processed = Math.min(received, Math.max(snap?.framesProcessed ?? 0, inc.outputs));
    b.received += received;
    b.processed += processed;
    b.failed += received - processed;
    b.timedOut += (snap?.framesTimedOut ?? 0) + (frame && silentMs !== undefined ? 1 : 0);
    b.dropped += snap?.framesDropped ?? 0;
    b.outputsDropped += snap?.outputsDropped ?? 0;
    b.stages = mergeStages(b.stages, snap?.stages);
    b.pipeline = mergeLatency(b.pipeline, snap?.pipelineLatency);
    inc.snapshot = undefined;
    inc.end({ kind: 'lost', error });
  }

  /** The feed seq and ts of the frame a lost worker was on: recorded by it, else estimated (module comment). */
  #hungFrame(inc: Incarnation, raw: { ts: number; seq: number }, rec: { seq: number; ts: number } | undefined): { seq: number; ts: number; mediaTs: number } {
    let wSeq: number;
    let wTs: number;
    const l = inc.lastW;
    if (rec) { wSeq = rec.seq; wTs = rec.ts; }
    else if (!l) { wSeq = raw.seq; wTs = raw.ts; } // a worker's timeline starts at its first frame's raw values
    else if (raw.ts > l.mediaTs) { wTs = raw.ts + (l.ts - l.mediaTs); wSeq = l.seq + Math.max(1, l.mediaSeq !== undefined ? raw.seq - l.mediaSeq : 1); }
    else { wTs = l.ts + this.#interval; wSeq = l.seq + 1; }
    inc.seqOff ??= inc.n === 0 || !this.#hi ? 0 : this.#hi.seq + 1 - wSeq;
    inc.tsOff ??= this.#tsOffset(inc, wTs, raw.ts);
    let seq = wSeq + inc.seqOff;
    let ts = wTs + inc.tsOff;
    const hi = this.#hi;
    if (hi && seq <= hi.seq) seq = hi.seq + 1;
    if (hi && ts <= hi.ts) ts = hi.ts + this.#interval;
    this.#known(seq, ts, raw.ts, raw.seq);
    return { seq, ts, mediaTs: raw.ts };
  }

  /** After a lost worker: restart per the policy (a hang or crash counts as a panic), or stop. @returns whether to start a new worker */
  async #restartOrStop(error: unknown): Promise<boolean> {
    const p = this.#r.restart;
    this.#lastError = describe(error);
    if (p.restartOn !== 'sourceOrStagePanic' || p.maxRestarts <= 0) {
      this.#stopReason = { kind: 'Fatal', detail: this.#lastError, error: stopErrorOf(error) };
      return false;
    }
    if (this.#clock.now() - this.#sessionStartedAt >= p.restartWindowMs) this.#restartsInWindow = 0;
    if (this.#restartsInWindow >= p.maxRestarts) {
      this.#stopReason = { kind: 'RestartLimitExceeded', restartCount: this.#restarts, error: stopErrorOf(error) };
      return false;
    }
    this.#restartsInWindow++;
    this.#restarts++;
    this.#state = 'restarting';
    this.#emit({ type: 'FeedRestarting', feedId: this.id, restartCount: this.#restarts });
    // The new worker's view starts over: its epoch continues one after the highest so far.
    this.#epochMax++;
    this.#emit({ type: 'ViewEpochChanged', feedId: this.id, epoch: this.#epochMax, cause: 'restart' });
    await abortableDelay(this.#clock, p.restartDelayMs, this.#restartAbort.signal);
    return !this.#stopRequested;
  }

  // -------------------------------------------------------------------------------------------
  // The sink side: a bounded queue drained by its own loop, as for a main-thread feed.

  #enqueueOutput(out: OutputEnvelope, inc: Incarnation): void {
    if (!this.#r.cfg.sink) { releaseFrame(out); this.#ack(inc); return; }
    if (this.#outputs.length >= this.#r.sinkQueueCapacity) {
      // Only right after a worker replacement: the credits bound the worker's outputs otherwise.
      this.#m.dropped++;
      releaseFrame(out);
      this.#ack(inc);
      this.#sinkDrop();
      return;
    }
    this.#outputs.push({ out, inc });
    const w = this.#sinkWake;
    this.#sinkWake = undefined;
    w?.();
  }

  /** Returns one output's credit to the worker that sent it (if it still runs). */
  #ack(inc: Incarnation): void {
    if (inc.owed <= 0) return;
    inc.owed--;
    this.#credit(inc);
  }

  /** Sends the worker one credit (if it still runs). */
  #credit(inc: Incarnation): void {
    if (inc.dead) return;
    try { inc.worker.postMessage({ t: 'ack', n: 1 } satisfies ToWorker); } catch { /* going away */ }
  }

  async #sinkLoop(): Promise<void> {
    const sink = this.#r.cfg.sink;
    for (;;) {
      const item = this.#outputs.shift();
      if (!item) {
        if (this.#sinkClosed) return;
        await new Promise<void>((r) => { this.#sinkWake = r; });
        continue;
      }
      this.#ack(item.inc);
      const out = item.out;
      if (this.#hard.signal.aborted) { this.#m.dropped++; releaseFrame(out); continue; }
      this.#sinkBusy = true;
      try {
        const r = sink?.emit(out);
        if (isThenable(r) && await this.#bounded(r) === ABANDONED) { this.#m.dropped++; continue; }
        this.#m.emitted++;
      } catch (e) {
        this.#m.sinkErrors++;
        this.#emit({ type: 'SinkPanic', feedId: this.id, detail: describe(e) });
      } finally {
        this.#sinkBusy = false;
        releaseFrame(out);
      }
    }
  }

  /** Waits for `p` unless the stop times out first. */
  #bounded<T>(p: PromiseLike<T>): Promise<T | typeof ABANDONED> {
    const hard = this.#hard.signal;
    if (hard.aborted) { Promise.resolve(p).then(undefined, () => undefined); return Promise.resolve(ABANDONED); }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => resolve(ABANDONED);
      hard.addEventListener('abort', onAbort, { once: true });
      Promise.resolve(p).then(
        (v) => { hard.removeEventListener('abort', onAbort); resolve(v); },
        (e: unknown) => { hard.removeEventListener('abort', onAbort); reject(e); },
      );
    });
  }

  /** `SinkBackpressure`: the first at once, then at most one per second with the count since the last. */
  #sinkDrop(): void {
    this.#sinkDropsPending++;
    if (this.#sinkDropsTimer !== undefined) return;
    const now = this.#clock.now();
    const wait = this.#sinkDropsLast + THROTTLE_MS - now;
    if (wait <= 0) { this.#flushSinkDrops(); return; }
    this.#sinkDropsTimer = this.#clock.setTimeout(() => { this.#sinkDropsTimer = undefined; this.#flushSinkDrops(); }, wait, { unref: true });
  }

  #flushSinkDrops(): void {
    this.#clock.clearTimeout(this.#sinkDropsTimer);
    this.#sinkDropsTimer = undefined;
    if (this.#sinkDropsPending <= 0) return;
    const n = this.#sinkDropsPending;
    this.#sinkDropsPending = 0;
    this.#sinkDropsLast = this.#clock.now();
    this.#emit({ type: 'SinkBackpressure', feedId: this.id, outputsDropped: n });
  }

  /** Stop timed out: this side's sink is abandoned (the worker abandons its own stragglers). */
  #abandon(): void {
    if (this.#hard.signal.aborted || this.#state === 'stopped') return;
    const pending = this.#outputs.length + (this.#sinkBusy ? 1 : 0);
    if (pending > 0) {
      const stragglers: Straggler[] = [{ kind: 'sink', pendingOutputs: pending }];
      this.#emit({ type: 'StopTimeout', feedId: this.id, stragglers });
      this.#emit({ type: 'SinkTimeout', feedId: this.id });
    }
    this.#hard.abort();
    this.#sinkWake?.();
  }

  /** The grace after a stop timeout is over: a worker still running is terminated; the feed is stopped. */
  #forceStopped(): void {
    if (this.#state === 'stopped') return;
    const inc = this.#inc;
    if (inc && !inc.dead) {
      const stageIdx = Atomics.load(inc.i32, REC.STAGE);
      const stageId = stageIdx > 0 ? inc.stageIds[stageIdx - 1] : undefined;
      this.#emit({ type: 'StopTimeout', feedId: this.id, stragglers: stageId ? [{ kind: 'stage', stageId, call: 'process' }] : [] });
      inc.end({ kind: 'done' });
    }
    this.#state = 'stopped';
    for (const q of this.#outputs.splice(0)) { this.#m.dropped++; releaseFrame(q.out); }
    this.#reportStopped();
  }

  #reportStopped(): void {
    if (this.#stoppedReported) return;
    this.#stoppedReported = true;
    this.#flushSinkDrops();
    this.#emit({ type: 'FeedStopped', feedId: this.id, reason: this.#stopReason ?? { kind: 'UserRequested' } });
  }
}

function abortableDelay(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clock.clearTimeout(t); resolve(); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
