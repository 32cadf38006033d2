/**
 * Feed configuration: the {@link FeedConfig} object, its JSON-compatible settings schema,
 * a fluent builder, and {@link FeedPipeline} (stages around one shared batch point).
 */
import {
  BackpressurePolicySchema, CameraModeSchema, ConfigError, CustomPipelinePolicySchema, DecodePreferenceSchema,
  ReconnectPolicySchema, RestartPolicySchema, RetentionPolicySchema, SourceSpecSchema, parseConfig,
  type BackpressurePolicy, type CameraMode, type CustomPipelinePolicy, type ReconnectPolicy, type RestartPolicy, type RetentionPolicy,
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
  /** Stages run after the batch point. */
  readonly post: readonly Stage[];

  private constructor(pre: readonly Stage[], batch: BatchHandle | undefined, post: readonly Stage[]) {
    this.pre = Object.freeze([...pre]);
    this.batch = batch;
    this.post = Object.freeze([...post]);
  }

  /** A builder: `addStage(...)`, at most one `batch(handle)`, more `addStage(...)`, `build()`. */
  static builder(): FeedPipelineBuilder { return new FeedPipelineBuilder((pre, b, post) => new FeedPipeline(pre, b, post)); }

  /** A pipeline of plain stages (no batch point). */
  static of(stages: readonly Stage[]): FeedPipeline { return new FeedPipeline(stages, undefined, []); }

  /** Number of stages (the batch point not included). */
  get stageCount(): number { return this.pre.length + this.post.length; }
  /** Whether the pipeline has a batch point. */
  get hasBatch(): boolean { return this.batch !== undefined; }
}

/** Builds a {@link FeedPipeline}. */
export class FeedPipelineBuilder {
  readonly #pre: Stage[] = [];
  readonly #post: Stage[] = [];
  #batch: BatchHandle | undefined;
  readonly #make: (pre: Stage[], b: BatchHandle | undefined, post: Stage[]) => FeedPipeline;
  /** @internal */
  constructor(make: (pre: Stage[], b: BatchHandle | undefined, post: Stage[]) => FeedPipeline) { this.#make = make; }
  /** Appends a stage (before the batch point if none was added yet, else after it). */
  addStage(stage: Stage): this { (this.#batch ? this.#post : this.#pre).push(stage); return this; }
  /**
   * Sets the batch point.
   * @throws {ConfigError} `InvalidPolicy` when a batch point was already set
   */
  batch(handle: BatchHandle): this {
    if (this.#batch) throw ConfigError.invalidPolicy('a feed pipeline has at most one batch point', 'pipeline.batch');
    this.#batch = handle;
    return this;
  }
  /** The pipeline. */
  build(): FeedPipeline { return this.#make(this.#pre, this.#batch, this.#post); }
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
  /** Source frame queue (default `dropOldest`, depth 4). Applies to spec sources. */
  readonly backpressure?: Partial<BackpressurePolicy>;
  /** Output queue bound (default 16). */
  readonly sinkQueueCapacity?: number;
  /** Temporal retention (reference defaults). */
  readonly retention?: Partial<RetentionPolicy>;
  /** Restart policy (default: 5 restarts per 300 s window, 2 s delay, on source failure or stage panic). */
  readonly restart?: Partial<RestartPolicy>;
  /** Which outputs carry their frame (default `never`). */
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
 * same way), and a synchronous infinite loop hangs the thread (worker isolation is a later issue).
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

const FrameInclusionSchema = z.union([
  z.enum(['never', 'always']),
  z.strictObject({ everyNth: z.int().min(1) }),
]);

const OutputOptionsSchema = z.strictObject({
  format: z.enum(['native', 'RGB8', 'BGR8', 'RGBA8', 'NV12', 'I420', 'GRAY8']).optional(),
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
 * names each offending field.
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
  return { ...s, ...withPolicy, source: s.source as SourceSpecInput, ...objects } as FeedConfig;
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
  if (c.cameraMode === 'observed' && !c.viewProvider) throw ConfigError.cameraModeConflict('an observed camera needs a viewProvider');
  if (c.cameraMode === 'fixed' && c.viewProvider) throw ConfigError.cameraModeConflict('a fixed camera takes no viewProvider (use cameraMode: observed)');
  if (c.stages !== undefined && c.pipeline !== undefined) throw ConfigError.invalidPolicy('give either stages or pipeline, not both', 'stages');
  let pre: readonly Stage[];
  let batch: BatchHandle | undefined;
  let post: readonly Stage[] = [];
  if (c.pipeline !== undefined) {
    if (!(c.pipeline instanceof FeedPipeline)) throw ConfigError.invalidPolicy('pipeline must be built with FeedPipeline.builder()', 'pipeline');
    ({ pre, batch, post } = c.pipeline);
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
  const backpressure = parseConfig(BackpressurePolicySchema, c.backpressure ?? {}, 'backpressure policy', 'backpressure');
  if (typeof c.source === 'object' && c.source.kind === 'rtsp' && backpressure.kind === 'block') throw rtspBlockRefused();
  if (c.retention !== undefined) parseConfig(RetentionPolicySchema, c.retention, 'retention policy', 'retention');
  if (c.sink !== undefined && (c.sink === null || typeof c.sink.emit !== 'function')) throw ConfigError.invalidPolicy('sink must have an emit(output) method', 'sink');
  if (c.media?.customPipelinePolicy !== undefined) parseConfig(CustomPipelinePolicySchema, c.media.customPipelinePolicy, 'customPipelinePolicy', 'media.customPipelinePolicy');
  const timeline = parseConfig(FeedTimelineSchema, c.timeline ?? {}, 'timeline options', 'timeline');
  const deadlines = parseConfig(FeedDeadlinesSchema, c.deadlines ?? {}, 'deadlines', 'deadlines');
  return {
    cfg: c, pre, batch, post, restart, sinkQueueCapacity, frameInclusion, noFrameTimeoutMs, backpressure,
    forwardGapMs: timeline.forwardGapMs ?? 1000,
    stageTimeoutMs: deadlines.stageTimeoutMs ?? 30_000,
    stageTimeouts: deadlines.stages ?? {},
    maxConsecutiveTimeouts: deadlines.maxConsecutiveTimeouts ?? 3,
    stopTimeoutMs: deadlines.stopTimeoutMs ?? 10_000,
    viewPollTimeoutMs: deadlines.viewPollTimeoutMs ?? 1000,
  };
}
