/**
 * Feed configuration: the {@link FeedConfig} object, its JSON-compatible settings schema,
 * a fluent builder, and {@link FeedPipeline} (stages around one shared batch point).
 */
import {
  BackpressurePolicySchema, CameraModeSchema, ConfigError, CustomPipelinePolicySchema, DecodePreferenceSchema, FrameInclusionSchema,
  ReconnectPolicySchema, RestartPolicySchema, RetentionPolicySchema, SourceSpecSchema, defaultBackpressureKind, parseConfig, parseSourceSpec,
  type BackpressurePolicy, type CameraMode, type CustomPipelinePolicy, type MetadataKey, type ReconnectPolicy, type RestartPolicy, type RetentionPolicy,
  type SourceSpecInput,
} from '@nv/core';
import type { FrameEnvelope, FrameSource } from '@nv/frame';
import { rtspBlockRefused, type OutputOptions } from '@nv/media';
import type { Stage, ValidationMode } from '@nv/perception';
import type { EpochPolicy, ViewStateProvider } from '@nv/view';
import { z } from 'zod';
import type { BatchHandle } from './batch.js';
import type { FrameInclusion, OutputSink } from './output.js';

/**
 * Stages before and after one shared batch point.
 *
 * @example
 * ```ts
 * const pipeline = FeedPipeline.builder().addStage(pre).batch(detectorBatch).addStage(tracker).build();
 * runtime.addFeed({ source, cameraMode: 'fixed', pipeline, sink });
 * ```
 */
export class FeedPipeline {
  /** Stages run before the batch point (all stages when there is none). */
  readonly pre: readonly Stage[];
  /** The shared batch processor, if any. */
  readonly batch: BatchHandle | undefined;
  /** Stages run after the batch point (in a parallel pipeline: the head's stages after it). */
  readonly post: readonly Stage[];
  /**
   * The ordered parallel section, when {@link FeedPipelineBuilder.parallel} made one: `width`
   * frames at most in its head (`pre`, `batch`, `post`), and `tail`, run in frame order.
   */
  readonly parallel: { readonly width: number; readonly tail: readonly Stage[] } | undefined;

  private constructor(pre: readonly Stage[], batch: BatchHandle | undefined, post: readonly Stage[], parallel?: { width: number; tail: readonly Stage[] }) {
    this.pre = Object.freeze([...pre]);
    this.batch = batch;
    this.post = Object.freeze([...post]);
    this.parallel = parallel ? Object.freeze({ width: parallel.width, tail: Object.freeze([...parallel.tail]) }) : undefined;
  }

  /**
   * A builder: `addStage(...)`, at most one `batch(handle)`, more `addStage(...)`, `build()`; or
   * first `parallel(n, head => …)` for an ordered parallel section, then the tail's `addStage(...)`.
   */
  static builder(): FeedPipelineBuilder {
    return new FeedPipelineBuilder((pre, b, post, parallel) => new FeedPipeline(pre, b, post, parallel));
  }

  /** A pipeline of plain stages (no batch point). */
  static of(stages: readonly Stage[]): FeedPipeline { return new FeedPipeline(stages, undefined, []); }

  /** Number of stages (the batch point not included). */
  get stageCount(): number { return this.pre.length + this.post.length + (this.parallel?.tail.length ?? 0); }
  /** Whether the pipeline has a batch point. */
  get hasBatch(): boolean { return this.batch !== undefined; }
}

/** Builds the head of an ordered parallel section ({@link FeedPipelineBuilder.parallel}). */
export interface ParallelHeadBuilder {
  /** Appends a stateless stage to the head (before the batch point if none was added yet, else after it). */
  addStage(stage: Stage): this;
  /**
   * Sets the head's batch point.
   * @throws {ConfigError} `InvalidPolicy` when a batch point was already set
   */
  batch(handle: BatchHandle): this;
}

/** Builds a {@link FeedPipeline}. */
export class FeedPipelineBuilder {
  readonly #pre: Stage[] = [];
  readonly #post: Stage[] = [];
  readonly #tail: Stage[] = [];
  #batch: BatchHandle | undefined;
  #width: number | undefined;
  readonly #make: (pre: Stage[], b: BatchHandle | undefined, post: Stage[], parallel?: { width: number; tail: readonly Stage[] }) => FeedPipeline;
  /** @internal */
  constructor(make: (pre: Stage[], b: BatchHandle | undefined, post: Stage[], parallel?: { width: number; tail: readonly Stage[] }) => FeedPipeline) { this.#make = make; }
  /**
   * Appends a stage (before the batch point if none was added yet, else after it; after
   * {@link FeedPipelineBuilder.parallel}: to the serial tail).
   */
  addStage(stage: Stage): this {
    if (this.#width !== undefined) this.#tail.push(stage);
    else (this.#batch ? this.#post : this.#pre).push(stage);
    return this;
  }
  /**
   * Sets the batch point.
   * @throws {ConfigError} `InvalidPolicy` when a batch point was already set, or after `parallel` (put it in the head)
   */
  batch(handle: BatchHandle): this {
    if (this.#width !== undefined) throw ConfigError.invalidPolicy('in a parallel pipeline the batch point belongs to the head: parallel(n, (head) => head.batch(b))', 'pipeline.batch');
    if (this.#batch) throw ConfigError.invalidPolicy('a feed pipeline has at most one batch point', 'pipeline.batch');
    this.#batch = handle;
    return this;
  }
  /**
   * An ordered parallel section: the head built by `head` — stateless stages and/or the batch
   * point — works on up to `width` frames of the feed at once; the stages added after this call
   * (the tail: tracker, OCR per track, anything with state) and the temporal commit and output run
   * strictly in frame order, behind a bounded resequencing buffer (ARCHITECTURE.md §4). Head
   * stages may be called concurrently for different frames, and see the temporal snapshot of the
   * last committed frame. With a batch point, give the batch `maxInFlightPerFeed >= width`.
   * Must come first, once.
   * @param width - frames in the head at once, an integer in [1, 64]
   * @param head - adds the head's stages and batch point
   * @throws {ConfigError} `InvalidPolicy` for a bad width, a second call, or stages added before it
   * @example
   * ```ts
   * FeedPipeline.builder().parallel(4, (head) => head.batch(detector)).addStage(tracker).build();
   * ```
   */
  parallel(width: number, head: (head: ParallelHeadBuilder) => unknown): this {
    if (this.#width !== undefined) throw ConfigError.invalidPolicy('a feed pipeline has at most one parallel section', 'pipeline.parallel');
    if (this.#pre.length || this.#batch) throw ConfigError.invalidPolicy('parallel(...) must come first: the head is the start of the pipeline', 'pipeline.parallel');
    if (!Number.isInteger(width) || width < 1 || width > 64) throw ConfigError.invalidPolicy(`parallel width must be an integer in [1, 64], not ${String(width)}`, 'pipeline.parallel.width');
    const hb: ParallelHeadBuilder = {
      addStage: (s: Stage) => { (this.#batch ? this.#post : this.#pre).push(s); return hb; },
      batch: (h: BatchHandle) => { this.batch(h); return hb; },
    };
    head(hb);
    if (this.#pre.length === 0 && !this.#batch) throw ConfigError.invalidPolicy('the parallel head is empty: add a stage or a batch point to it', 'pipeline.parallel');
    this.#width = width;
    return this;
  }
  /** The pipeline. */
  build(): FeedPipeline {
    return this.#make(this.#pre, this.#batch, this.#post, this.#width === undefined ? undefined : { width: this.#width, tail: this.#tail });
  }
}

/** Media options for feeds whose source is a {@link SourceSpecInput} (ignored for factory sources). */
export interface FeedMediaOptions {
  /** Output format, size, pacing, decoder preference. */
  readonly output?: OutputOptions;
  /** Reconnection of live sources (default: forever, 1 s → 30 s exponential). */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /**
   * Whether `custom` sources and post-decode hooks are accepted (default `reject`). Code only:
   * JSON feed settings ({@link FeedSettingsSchema}) refuse this field, so a config file can never
   * enable custom pipelines; pass it to {@link feedConfigFromSettings} as a code option instead.
   */
  readonly customPipelinePolicy?: CustomPipelinePolicy;
  /** `host` (default) or `cuda`. */
  readonly residency?: 'host' | 'cuda';
}

/** Configuration of one feed. */
export interface FeedConfig {
  /**
   * A human-readable name for the feed (e.g. `gate-north`): 1–128 characters, no control
   * characters. Carried on every output (`OutputEnvelope.feedName`), in diagnostics and the
   * feed handle (`name`), and by `@nv/metrics` as a `feed_name` label next to `feed_id`.
   * Not required to be unique; the feed id stays the identity. Default: none.
   */
  readonly name?: string;
  /**
   * What to read: a source spec (`{ kind: 'file', path }`, `{ kind: 'rtsp', url }`, …),
   * decoded by `@nv/media`, or a factory returning any `FrameSource` (called once per
   * session, again after each restart).
   */
  readonly source: SourceSpecInput | (() => FrameSource);
  /** Required, no default: `fixed` bypasses the view system; `observed` needs `viewProvider`. */
  readonly cameraMode: CameraMode;
  /** Stages, in order. Exactly one of `stages` and `pipeline`. */
  readonly stages?: readonly Stage[];
  /** Stages around a shared batch point. Exactly one of `stages` and `pipeline`. */
  readonly pipeline?: FeedPipeline;
  /** Motion provider: required for `observed` cameras, refused for `fixed` ones. */
  readonly viewProvider?: ViewStateProvider<FrameEnvelope>;
  /** Epoch policy (default `DefaultEpochPolicy`). */
  readonly epochPolicy?: EpochPolicy;
  /** Where outputs go (default: nowhere — outputs are counted and dropped). */
  readonly sink?: OutputSink;
  /**
   * Source frame queue (depth 4). Without a `kind`: `block` for files and non-live test patterns
   * (no frame lost), `dropOldest` for live sources; `block` is refused for RTSP. Applies to spec sources.
   */
  readonly backpressure?: Partial<BackpressurePolicy>;
  /** Output queue bound (default 16). */
  readonly sinkQueueCapacity?: number;
  /** Temporal retention (reference defaults). */
  readonly retention?: Partial<RetentionPolicy>;
  /** Restart policy (default: 5 restarts per 300 s window, 2 s delay, on source failure or stage panic). */
  readonly restart?: Partial<RestartPolicy>;
  /**
   * Which outputs carry their frame (default `never`): `always`, `{ everyNth: N }` (the N-th,
   * 2N-th… output) or `{ targetFps: f }` (about f per second of media time, by the frame's `ts`).
   */
  readonly frameInclusion?: FrameInclusion;
  /**
   * A running, unpaused feed that receives no frame for this long is treated as a failed
   * source and restarted per the restart policy (default 30 000 ms; 0 disables).
   */
  readonly noFrameTimeoutMs?: number;
  /** Stage validation (default `warn`: reported through `console.warn`; duplicate ids always throw). */
  readonly validation?: ValidationMode;
  /** Media options for spec sources. */
  readonly media?: FeedMediaOptions;
  /** The feed timeline: how source timestamp jumps are classified (see {@link FeedTimelineOptions}). */
  readonly timeline?: FeedTimelineOptions;
  /** Deadlines of stages, the batch point and stop (see {@link FeedDeadlines}). */
  readonly deadlines?: FeedDeadlines;
  /**
   * Runs this feed's source and stages in a worker thread (see {@link FeedIsolation}): a
   * synchronous hang there is detected and the worker replaced, and CPU-heavy JavaScript stages
   * no longer stall the other feeds. The stages (and view provider, epoch policy) are then built
   * in the worker by `isolation.module`: give none of `stages`, `pipeline`, `viewProvider`,
   * `epochPolicy` here, and a source spec (not a factory). Default: none (the feed runs on the
   * main thread).
   */
  readonly isolation?: FeedIsolation;
}

/**
 * Worker isolation of a feed (`FeedConfig.isolation`). The worker imports `module` and calls its
 * export `(options, context) => { stages } | { pipeline }` (plus optional `viewProvider`,
 * `epochPolicy`; may be async; see `IsolatedFeedFactory`); everything else of the feed config
 * (source spec, camera mode, backpressure, restart, deadlines, retention, frame inclusion,
 * timeline, media options) is sent to the worker as data. The sink stays on the main thread:
 * outputs, health events and diagnostics cross back without pixels (an output that frame
 * inclusion selected carries a copy of its frame). The worker sends a heartbeat every
 * `heartbeatTimeoutMs / 4` (at most every 250 ms); after `heartbeatTimeoutMs` without one it is
 * terminated (`FeedWorkerUnresponsive`, `FrameDropped` for its frame) and the feed restarts per
 * its restart policy, after that frame for file sources. The runtime's clock
 * (`RuntimeOptions.clock`) times the main-thread side (heartbeat checks, restart delays, stop
 * timeouts); the feed inside the worker runs on real time.
 *
 * @example
 * ```ts
 * runtime.addFeed({
 *   source: { kind: 'file', path: 'clip.mp4' }, cameraMode: 'fixed',
 *   isolation: { module: new URL('./heavy-feed.js', import.meta.url), options: { threshold: 0.5 } },
 *   sink: { emit: (out) => console.log(out.seq, out.artifacts.detections.length) },
 * });
 * // heavy-feed.js: export default (options, { feedId }) => ({ stages: [new HeavyStage(options)] });
 * ```
 */
export interface FeedIsolation {
  /**
   * The module that builds the stages, imported in the worker: a `URL` (`new URL('./x.js',
   * import.meta.url)`), a `file:` URL string, or a path (relative paths are resolved against the
   * working directory, as on the command line). A bare specifier (`my-stages`) is imported as
   * `@nv/runtime` itself would import it. It must be JavaScript Node can load in a worker.
   */
  readonly module: string | URL;
  /** The export to call (default `'default'`). */
  readonly export?: string;
  /** Passed to the export as its first argument; must be structured-cloneable (plain data). */
  readonly options?: unknown;
  /**
   * A worker silent for longer than this is declared hung, terminated and replaced (default
   * 2000 ms). A synchronous stage call longer than this counts as a hang too. Until the worker's
   * feed is built (thread start-up, imports, the module's export) the limit is at least 5000 ms.
   */
  readonly heartbeatTimeoutMs?: number;
  /**
   * Metadata keys of the values the worker's stages put on detections, tracks, observations,
   * frames and `artifacts.stageArtifacts`. Keys are identities, so a key made in the worker is not
   * the key the main thread holds: values come back under the key of this list with the same
   * `name`, else under a fresh `metadataKey(name)` (one per name and feed), so iteration and
   * `toJSON()` still work but `get(yourKey)` needs your key listed here.
   */
  readonly metadataKeys?: readonly MetadataKey<unknown>[];
}

/** The fields of {@link FeedIsolation}. */
const ISOLATION_FIELDS: ReadonlySet<string> = new Set(['module', 'export', 'options', 'heartbeatTimeoutMs', 'metadataKeys']);

/** The code objects an isolated feed gets from its module (in the worker), never from the main thread. */
const ISOLATED_CODE_FIELDS = ['stages', 'pipeline', 'viewProvider', 'epochPolicy'] as const;

/**
 * Checks `FeedConfig.isolation` and what it excludes.
 * @throws {ConfigError} naming the field
 */
function checkIsolation(c: FeedConfig): void {
  const iso: unknown = c.isolation;
  if (iso === null || typeof iso !== 'object') throw ConfigError.invalidPolicy('isolation must be an object { module, export?, options?, heartbeatTimeoutMs?, metadataKeys? }', 'isolation');
  for (const k of Object.keys(iso)) if (!ISOLATION_FIELDS.has(k)) throw ConfigError.invalidPolicy(`unknown isolation field '${k}'`, `isolation.${k}`);
  for (const f of ISOLATED_CODE_FIELDS) {
    if (c[f] !== undefined) throw ConfigError.invalidPolicy(`an isolated feed gets its ${f} from its isolation module, built in the worker; do not give ${f}`, f);
  }
  if (typeof c.source === 'function') throw ConfigError.invalidPolicy('an isolated feed needs a source spec: the worker builds its source, and a factory function cannot cross into a worker', 'source');
  const i = iso as FeedIsolation;
  if (!(i.module instanceof URL) && (typeof i.module !== 'string' || i.module.length === 0)) {
    throw ConfigError.invalidPolicy('isolation.module must be a URL, a file: URL string, a path or a module specifier', 'isolation.module');
  }
  if (i.export !== undefined && (typeof i.export !== 'string' || i.export.length === 0)) throw ConfigError.invalidPolicy('isolation.export must be a non-empty export name', 'isolation.export');
  if (i.heartbeatTimeoutMs !== undefined && !(typeof i.heartbeatTimeoutMs === 'number' && Number.isFinite(i.heartbeatTimeoutMs) && i.heartbeatTimeoutMs > 0)) {
    throw ConfigError.invalidPolicy('isolation.heartbeatTimeoutMs must be a positive number of milliseconds', 'isolation.heartbeatTimeoutMs');
  }
  if (i.metadataKeys !== undefined && (!Array.isArray(i.metadataKeys) || i.metadataKeys.some((k) => k === null || typeof k !== 'object' || typeof k.name !== 'string'))) {
    throw ConfigError.invalidPolicy('isolation.metadataKeys must be an array of metadata keys (metadataKey(name))', 'isolation.metadataKeys');
  }
  if (i.options !== undefined) {
    try { structuredClone(i.options); } catch (e) {
      throw ConfigError.invalidPolicy(`isolation.options must be structured-cloneable plain data (${e instanceof Error ? e.message : String(e)})`, 'isolation.options');
    }
  }
}

/**
 * Options of a feed's timeline. A feed's `ts` is monotonic for its whole life: a new media
 * session continues one frame interval after the last frame, and backward or repeated source
 * timestamps are re-based; each jump is a `SourceDiscontinuity` health event.
 */
export interface FeedTimelineOptions {
  /**
   * A forward step of the source's timestamps longer than this (and than 8 estimated frame
   * intervals) is reported as a `forwardGap`; the timeline keeps the gap (time really passed).
   * Default 1000 ms.
   */
  readonly forwardGapMs?: number;
}

/**
 * Deadlines. A stage's `process` that has not settled within its deadline drops the frame with a
 * `StageTimeout` health event; its late result is discarded. `maxConsecutiveTimeouts` timeouts in a
 * row restart the feed per its restart policy. A synchronous stage cannot be interrupted on the JS
 * thread: a synchronous call that overran is detected when it returns (the frame is dropped the
 * same way), and a synchronous infinite loop hangs the thread — unless the feed is isolated in a
 * worker (`FeedConfig.isolation`), where a hang is detected by heartbeat and the worker replaced.
 */
export interface FeedDeadlines {
  /** Deadline of one `process` call of every stage, in ms (default 30 000; 0 = none). */
  readonly stageTimeoutMs?: number;
  /** Per stage id, overriding `stageTimeoutMs` (0 = none for that stage). */
  readonly stages?: Readonly<Record<string, number>>;
  /** Timeouts in a row (any stage or the batch point) that restart the feed (default 3). */
  readonly maxConsecutiveTimeouts?: number;
  /**
   * How long `stop()` (and the runtime's shutdown, per feed) waits for the in-flight frame,
   * `onStop` and the sink before abandoning them with a `StopTimeout` event (default 10 000 ms).
   */
  readonly stopTimeoutMs?: number;
  /**
   * Deadline of the view provider's `poll` for each frame of an observed camera, in ms (default
   * 1000; 0 = none). Past it the frame's report is empty — Unknown motion, Degraded validity —
   * the late result is discarded and the provider is not polled again until it settles
   * (`FeedDiagnostics.view.pollTimeouts` counts the frames; `ViewDegraded` reports the change).
   */
  readonly viewPollTimeoutMs?: number;
}

const FeedTimelineSchema = z.strictObject({
  forwardGapMs: z.number().positive().max(86_400_000).optional(),
});

const FeedDeadlinesSchema = z.strictObject({
  stageTimeoutMs: z.number().min(0).max(86_400_000).optional(),
  stages: z.record(z.string(), z.number().min(0).max(86_400_000)).optional(),
  maxConsecutiveTimeouts: z.int().min(1).max(1_000_000).optional(),
  stopTimeoutMs: z.number().positive().max(86_400_000).optional(),
  viewPollTimeoutMs: z.number().min(0).max(86_400_000).optional(),
});

/**
 * A feed's optional display name (see {@link FeedConfig.name}): 1–128 characters, no control
 * characters (names end up in terminal status lines, JSON lines and metric labels).
 */
export const FeedNameSchema = z.string()
  .min(1, 'name must not be empty')
  .max(128, 'name must be at most 128 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'name must not contain control characters');

/** `isolation` in JSON feed settings (see {@link FeedIsolation}; `metadataKeys` are code only). */
const FeedIsolationSettingsSchema = z.strictObject({
  module: z.string().min(1, 'isolation.module must not be empty'),
  export: z.string().min(1).optional(),
  options: z.unknown().optional(),
  heartbeatTimeoutMs: z.int().min(1).max(3_600_000).optional(),
});

const OutputOptionsSchema = z.strictObject({
  format: z.enum(['native', 'RGB8', 'BGR8', 'RGBA8', 'BGRA8', 'NV12', 'I420', 'GRAY8']).optional(),
  width: z.int().min(2).max(16384).optional(),
  height: z.int().min(2).max(16384).optional(),
  convertThreads: z.int().min(1).max(64).optional(),
  pacing: z.enum(['fast', 'realtime']).optional(),
  decode: DecodePreferenceSchema.optional(),
  postDecodeHook: z.string().optional(),
});

/** Why JSON settings may not set `media.customPipelinePolicy`. */
const SETTINGS_CANNOT_ALLOW_CUSTOM = 'feed settings cannot enable custom pipelines (a config file must never run arbitrary GStreamer elements); '
  + 'set FeedConfig.media.customPipelinePolicy in code, or pass { customPipelinePolicy } as the code argument of feedConfigFromSettings';

/**
 * The JSON-compatible part of a {@link FeedConfig}: everything except the code objects
 * (stages, sink, view provider, epoch policy, factory sources) and the one switch that only code
 * may set, `media.customPipelinePolicy` (settings that contain it are refused, naming
 * `media.customPipelinePolicy`). Config files are validated with this schema; `ConfigError`
 * names each offending field. `isolation` (`{ module, export?, options?, heartbeatTimeoutMs? }`)
 * is accepted: the stages then come from that module, in a worker (see {@link FeedIsolation}).
 */
export const FeedSettingsSchema = z.strictObject({
  name: FeedNameSchema.optional(),
  source: SourceSpecSchema,
  cameraMode: CameraModeSchema,
  backpressure: BackpressurePolicySchema.optional(),
  sinkQueueCapacity: z.int().min(1).max(65_536).optional(),
  retention: RetentionPolicySchema.optional(),
  restart: RestartPolicySchema.optional(),
  frameInclusion: FrameInclusionSchema.optional(),
  noFrameTimeoutMs: z.int().min(0).optional(),
  validation: z.enum(['off', 'warn', 'error']).optional(),
  media: z.strictObject({
    output: OutputOptionsSchema.optional(),
    reconnect: ReconnectPolicySchema.optional(),
    // Refused whatever its value: custom pipelines need the code (the operator), never a settings file.
    customPipelinePolicy: z.never({ error: SETTINGS_CANNOT_ALLOW_CUSTOM }).optional(),
    residency: z.enum(['host', 'cuda']).optional(),
  }).optional(),
  timeline: FeedTimelineSchema.optional(),
  deadlines: FeedDeadlinesSchema.optional(),
  isolation: FeedIsolationSettingsSchema.optional(),
  /**
   * An ordered parallel section over the code's `stages`: the first `headStages` (default 1) form
   * the head, run on up to `width` frames at once; the rest run in frame order
   * ({@link FeedPipelineBuilder.parallel}).
   */
  parallel: z.strictObject({ width: z.int().min(1).max(64), headStages: z.int().min(1).optional() }).optional(),
});

/** The JSON-compatible feed settings (see {@link FeedSettingsSchema}). */
export type FeedSettings = z.input<typeof FeedSettingsSchema>;

/** The code objects (and code-only switches) that complete {@link FeedSettings} into a {@link FeedConfig}. */
export interface FeedCode {
  /** {@inheritDoc FeedConfig.stages} */
  readonly stages?: readonly Stage[];
  /** {@inheritDoc FeedConfig.pipeline} */
  readonly pipeline?: FeedPipeline;
  /** {@inheritDoc FeedConfig.sink} */
  readonly sink?: OutputSink;
  /** {@inheritDoc FeedConfig.viewProvider} */
  readonly viewProvider?: ViewStateProvider<FrameEnvelope>;
  /** {@inheritDoc FeedConfig.epochPolicy} */
  readonly epochPolicy?: EpochPolicy;
  /**
   * Becomes `media.customPipelinePolicy` (default `reject`): whether `custom` sources and
   * post-decode hooks run. Only code can set it — settings never can.
   */
  readonly customPipelinePolicy?: CustomPipelinePolicy;
}

/**
 * Builds a {@link FeedConfig} from JSON-compatible settings (e.g. a config file) and code.
 * @param settings - JSON-compatible feed settings (see {@link FeedSettingsSchema})
 * @param code - stages or pipeline, sink, view provider, epoch policy, and `customPipelinePolicy`
 * @throws {ConfigError} naming every offending field of `settings` (`media.customPipelinePolicy` among them: settings cannot set it)
 * @example
 * ```ts
 * const cfg = feedConfigFromSettings(JSON.parse(text), { stages: [detector], sink });
 * runtime.addFeed(cfg);
 * // A trusted custom pipeline: the policy comes from code, never from the file.
 * feedConfigFromSettings({ source: { kind: 'custom', pipeline: 'videotestsrc' }, cameraMode: 'fixed' }, { stages: [], customPipelinePolicy: 'allowTrusted' });
 * ```
 */
export function feedConfigFromSettings(settings: unknown, code: FeedCode = {}): FeedConfig {
  const s = parseConfig(FeedSettingsSchema, settings, 'feed config');
  const { customPipelinePolicy, ...objects } = code;
  if (customPipelinePolicy !== undefined) parseConfig(CustomPipelinePolicySchema, customPipelinePolicy, 'customPipelinePolicy', 'customPipelinePolicy');
  const { customPipelinePolicy: _never, ...media } = s.media ?? {};
  const withPolicy = customPipelinePolicy !== undefined ? { media: { ...media, customPipelinePolicy } } : s.media !== undefined ? { media } : {};
  const { parallel, ...rest } = s;
  if (parallel === undefined) return { ...rest, ...withPolicy, source: s.source as SourceSpecInput, ...objects } as FeedConfig;
  // The parallel head over the code's stage list.
  const { stages, pipeline, ...others } = objects;
  if (pipeline !== undefined || stages === undefined) {
    throw ConfigError.invalidPolicy('parallel (settings) splits the code\'s stages into head and tail: give stages, not a pipeline', 'parallel');
  }
  const head = parallel.headStages ?? 1;
  if (head > stages.length) throw ConfigError.invalidPolicy(`parallel.headStages is ${head} but there are ${stages.length} stage(s)`, 'parallel.headStages');
  const b = FeedPipeline.builder().parallel(parallel.width, (h) => { for (const st of stages.slice(0, head)) h.addStage(st); });
  for (const st of stages.slice(head)) b.addStage(st);
  return { ...rest, ...withPolicy, source: s.source as SourceSpecInput, ...others, pipeline: b.build() } as FeedConfig;
}

/**
 * Fluent builder for {@link FeedConfig}.
 *
 * @example
 * ```ts
 * const cfg = feedConfig()
 *   .source({ kind: 'file', path: 'clip.mp4' })
 *   .cameraMode('fixed')
 *   .stages([detector, tracker])
 *   .sink({ emit: (out) => console.log(out.seq) })
 *   .build();
 * ```
 */
export function feedConfig(): FeedConfigBuilder { return new FeedConfigBuilder(); }

/** See {@link feedConfig}. */
export class FeedConfigBuilder {
  #c: { -readonly [K in keyof FeedConfig]?: FeedConfig[K] } = {};
  /** Display name of the feed (see {@link FeedConfig.name}). */
  name(name: string): this { this.#c.name = name; return this; }
  /** Source spec or factory (required). */
  source(source: FeedConfig['source']): this { this.#c.source = source; return this; }
  /** Camera mode (required). */
  cameraMode(mode: CameraMode): this { this.#c.cameraMode = mode; return this; }
  /** Plain stage list. */
  stages(stages: readonly Stage[]): this { this.#c.stages = stages; return this; }
  /** Appends one stage to the plain stage list. */
  addStage(stage: Stage): this { this.#c.stages = [...(this.#c.stages ?? []), stage]; return this; }
  /** Stages around a batch point (instead of `stages`). */
  pipeline(p: FeedPipeline): this { this.#c.pipeline = p; return this; }
  /** View provider (observed cameras). */
  viewProvider(p: ViewStateProvider<FrameEnvelope>): this { this.#c.viewProvider = p; return this; }
  /** Epoch policy. */
  epochPolicy(p: EpochPolicy): this { this.#c.epochPolicy = p; return this; }
  /** Output sink. */
  sink(s: OutputSink): this { this.#c.sink = s; return this; }
  /** Source backpressure. */
  backpressure(b: Partial<BackpressurePolicy>): this { this.#c.backpressure = b; return this; }
  /** Sink queue capacity. */
  sinkQueueCapacity(n: number): this { this.#c.sinkQueueCapacity = n; return this; }
  /** Temporal retention. */
  retention(r: Partial<RetentionPolicy>): this { this.#c.retention = r; return this; }
  /** Restart policy. */
  restart(r: Partial<RestartPolicy>): this { this.#c.restart = r; return this; }
  /** Frame inclusion. */
  frameInclusion(f: FrameInclusion): this { this.#c.frameInclusion = f; return this; }
  /** No-frame watchdog timeout (0 disables). */
  noFrameTimeoutMs(ms: number): this { this.#c.noFrameTimeoutMs = ms; return this; }
  /** Stage validation mode. */
  validation(m: ValidationMode): this { this.#c.validation = m; return this; }
  /** Media options for spec sources. */
  media(m: FeedMediaOptions): this { this.#c.media = m; return this; }
  /** Feed timeline options. */
  timeline(t: FeedTimelineOptions): this { this.#c.timeline = t; return this; }
  /** Stage, batch-point and stop deadlines. */
  deadlines(d: FeedDeadlines): this { this.#c.deadlines = d; return this; }
  /** Worker isolation (see {@link FeedIsolation}; the stages then come from its module). */
  isolation(i: FeedIsolation): this { this.#c.isolation = i; return this; }
  /**
   * The config, checked the same way `addFeed` checks it.
   * @throws {ConfigError} on missing or conflicting fields
   */
  build(): FeedConfig {
    const c = this.#c as FeedConfig;
    resolveFeedConfig(c);
    return { ...c };
  }
}

/** @internal A validated feed config with defaults applied. */
export interface ResolvedFeedConfig {
  readonly cfg: FeedConfig;
  readonly pre: readonly Stage[];
  readonly batch: BatchHandle | undefined;
  readonly post: readonly Stage[];
  /** The ordered parallel section: head width and the serial tail (after `post`). */
  readonly parallel: { readonly width: number; readonly tail: readonly Stage[] } | undefined;
  readonly restart: RestartPolicy;
  readonly sinkQueueCapacity: number;
  readonly frameInclusion: FrameInclusion;
  readonly noFrameTimeoutMs: number;
  readonly backpressure: BackpressurePolicy;
  readonly forwardGapMs: number;
  readonly stageTimeoutMs: number;
  readonly stageTimeouts: Readonly<Record<string, number>>;
  readonly maxConsecutiveTimeouts: number;
  readonly stopTimeoutMs: number;
  readonly viewPollTimeoutMs: number;
}

/**
 * @internal Validates a config: required fields, camera-mode conflicts, capacities, policies.
 * @throws {ConfigError}
 */
export function resolveFeedConfig(c: FeedConfig): ResolvedFeedConfig {
  if (c === null || typeof c !== 'object') throw ConfigError.missingRequired('source');
  if (c.name !== undefined) parseConfig(FeedNameSchema, c.name, 'name', 'name');
  if (c.source === undefined || c.source === null) throw ConfigError.missingRequired('source');
  if (typeof c.source !== 'function') parseConfig(SourceSpecSchema, c.source, 'source', 'source');
  if (c.cameraMode === undefined) throw ConfigError.missingRequired('cameraMode');
  parseConfig(CameraModeSchema, c.cameraMode, 'cameraMode', 'cameraMode');
  const isolated = c.isolation !== undefined;
  if (isolated) checkIsolation(c);
  // An isolated feed's view provider comes from its module (checked in the worker).
  if (c.cameraMode === 'observed' && !c.viewProvider && !isolated) throw ConfigError.cameraModeConflict('an observed camera needs a viewProvider');
  if (c.cameraMode === 'fixed' && c.viewProvider) throw ConfigError.cameraModeConflict('a fixed camera takes no viewProvider (use cameraMode: observed)');
  if (c.stages !== undefined && c.pipeline !== undefined) throw ConfigError.invalidPolicy('give either stages or pipeline, not both', 'stages');
  let pre: readonly Stage[];
  let batch: BatchHandle | undefined;
  let post: readonly Stage[] = [];
  let parallel: ResolvedFeedConfig['parallel'];
  if (c.pipeline !== undefined) {
    if (!(c.pipeline instanceof FeedPipeline)) throw ConfigError.invalidPolicy('pipeline must be built with FeedPipeline.builder()', 'pipeline');
    ({ pre, batch, post, parallel } = c.pipeline);
    if (parallel && c.cameraMode === 'observed') {
      // An epoch change or a compensation mutates the temporal store as a frame is admitted, while
      // earlier frames are still in the head: not supported yet (a barrier is the fix).
      throw ConfigError.cameraModeConflict('a parallel section needs a fixed camera (observed cameras are not supported in parallel pipelines yet)');
    }
    if (parallel && batch && batch.maxInFlightPerFeed < parallel.width) {
      throw ConfigError.invalidPolicy(`the parallel head has width ${parallel.width} but its batch point '${batch.processorId}' takes at most ${batch.maxInFlightPerFeed} frame(s) per feed in flight: create the batch with maxInFlightPerFeed >= ${parallel.width}`, 'pipeline.parallel.width');
    }
  } else if (isolated) {
    pre = []; // built by the isolation module, in the worker
  } else {
    if (c.stages === undefined) throw ConfigError.missingRequired('stages');
    if (!Array.isArray(c.stages)) throw ConfigError.invalidPolicy('stages must be an array of stages', 'stages');
    pre = c.stages;
  }
  const sinkQueueCapacity = c.sinkQueueCapacity ?? 16;
  if (!Number.isInteger(sinkQueueCapacity) || sinkQueueCapacity < 1) throw ConfigError.invalidCapacity('sinkQueueCapacity');
  const frameInclusion = c.frameInclusion ?? 'never';
  parseConfig(FrameInclusionSchema, frameInclusion, 'frameInclusion', 'frameInclusion');
  const noFrameTimeoutMs = c.noFrameTimeoutMs ?? 30_000;
  if (!(Number.isFinite(noFrameTimeoutMs) && noFrameTimeoutMs >= 0)) throw ConfigError.invalidPolicy('noFrameTimeoutMs must be >= 0', 'noFrameTimeoutMs');
  const restart = parseConfig(RestartPolicySchema, c.restart ?? {}, 'restart policy', 'restart');
  let backpressure = parseConfig(BackpressurePolicySchema, c.backpressure ?? {}, 'backpressure policy', 'backpressure');
  if (typeof c.source === 'object') {
    // Without a kind, the source's own default: files block (no frame lost), live sources drop.
    if (c.backpressure?.kind === undefined) backpressure = { ...backpressure, kind: defaultBackpressureKind(parseSourceSpec(c.source)) };
    if (c.source.kind === 'rtsp' && backpressure.kind === 'block') throw rtspBlockRefused();
  }
  if (c.retention !== undefined) parseConfig(RetentionPolicySchema, c.retention, 'retention policy', 'retention');
  if (c.sink !== undefined && (c.sink === null || typeof c.sink.emit !== 'function')) throw ConfigError.invalidPolicy('sink must have an emit(output) method', 'sink');
  if (c.media?.customPipelinePolicy !== undefined) parseConfig(CustomPipelinePolicySchema, c.media.customPipelinePolicy, 'customPipelinePolicy', 'media.customPipelinePolicy');
  const timeline = parseConfig(FeedTimelineSchema, c.timeline ?? {}, 'timeline options', 'timeline');
  const deadlines = parseConfig(FeedDeadlinesSchema, c.deadlines ?? {}, 'deadlines', 'deadlines');
  return {
    cfg: c, pre, batch, post, parallel, restart, sinkQueueCapacity, frameInclusion, noFrameTimeoutMs, backpressure,
    forwardGapMs: timeline.forwardGapMs ?? 1000,
    stageTimeoutMs: deadlines.stageTimeoutMs ?? 30_000,
    stageTimeouts: deadlines.stages ?? {},
    maxConsecutiveTimeouts: deadlines.maxConsecutiveTimeouts ?? 3,
    stopTimeoutMs: deadlines.stopTimeoutMs ?? 10_000,
    viewPollTimeoutMs: deadlines.viewPollTimeoutMs ?? 1000,
  };
}
