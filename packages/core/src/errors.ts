/**
 * Typed error hierarchy for nv.
 *
 * Every error nv throws or reports is an {@link NvError}. Each carries a `category`
 * (which layer it comes from) and a `kind` (which variant), plus typed fields for that
 * variant. Checks work across duplicate package copies: use the static `isInstance()`
 * guards (they test a `Symbol.for` brand), never `instanceof` across packages.
 *
 * Messages never contain credentials: URLs are redacted and free-form details are
 * sanitized with {@link sanitizeErrorString} before they are stored.
 *
 * @packageDocumentation
 */
import { redactUrl, sanitizeErrorString } from './redact.js';

const NV_ERROR = Symbol.for('nv.error');

/** The layer an {@link NvError} comes from. */
export type NvErrorCategory =
  | 'media'
  | 'stage'
  | 'temporal'
  | 'view'
  | 'runtime'
  | 'config'
  | 'frame'
  | 'argument';

/** Options shared by every {@link NvError} constructor. */
export interface NvErrorOptions {
  /** Human-readable message; sanitized before it is stored. */
  readonly message: string;
  /** Underlying cause, if any. */
  readonly cause?: unknown;
  /**
   * The caller already sanitized every untrusted part of `message` (and the rest, such as
   * config field paths, must stay readable). @internal
   */
  readonly presanitized?: boolean;
}

/**
 * Base class of every nv error.
 *
 * @example
 * ```ts
 * try { parseSourceSpec(json); } catch (e) {
 *   if (ConfigError.isInstance(e)) console.error(e.field, e.message);
 * }
 * ```
 */
export abstract class NvError extends Error {
  /** Which layer raised it. */
  abstract readonly category: NvErrorCategory;
  /** Which variant of the category (e.g. `ConnectionFailed`). */
  abstract readonly kind: string;
  private readonly [NV_ERROR] = true;

  /** Sanitizes `options.message` and attaches `options.cause`. */
  protected constructor(options: NvErrorOptions) {
    super(options.presanitized ? options.message : sanitizeErrorString(options.message), options.cause === undefined ? undefined : { cause: options.cause });
  }

  /**
   * True for any nv error, including one from another copy of `@nv/core`.
   * @param error - any value
   * @returns whether `error` is an {@link NvError}
   */
  static isInstance(error: unknown): error is NvError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[NV_ERROR] === true;
  }

  /** A plain, serializable description (no stack, no cause). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, category: this.category, kind: this.kind, message: this.message };
    for (const [k, v] of Object.entries(this)) {
      if (!(k in out) && typeof v !== 'function' && k !== 'cause') out[k] = v;
    }
    return out;
  }
}

function brandCheck(marker: symbol) {
  return (error: unknown): boolean =>
    NvError.isInstance(error) && (error as unknown as Record<symbol, unknown>)[marker] === true;
}

// ---------------------------------------------------------------------------------------------
const MEDIA = Symbol.for('nv.error.media');

/** Variants of {@link MediaError}. */
export type MediaErrorKind =
  | 'ConnectionFailed'
  | 'DecodeFailed'
  | 'Eos'
  | 'Timeout'
  | 'Unsupported'
  | 'InsecureRtspRejected'
  | 'CustomPipelineRejected'
  | 'SourceNotFound'
  | 'InvalidMedia'
  /** The server refused the credentials (RTSP 401): permanent, never retried. */
  | 'Unauthorized'
  /**
   * The pipeline cannot be built as given (an unparsable custom fragment or post-decode hook,
   * an unknown property, invalid caps, elements that cannot link): permanent, never retried.
   * `buildFailure` says which.
   */
  | 'PipelineInvalid';

/**
 * Why a source's pipeline could not be built ({@link MediaError.buildFailure}):
 * `elementMissing` (a GStreamer plugin is not installed; kind `Unsupported`), `parseFailed`,
 * `unknownProperty`, `invalidCaps`, `linkFailed` (kind `PipelineInvalid`).
 */
export type MediaBuildFailure = 'elementMissing' | 'parseFailed' | 'unknownProperty' | 'invalidCaps' | 'linkFailed';

/**
 * A source or decode failure. Expected in production (network loss, camera reboot);
 * it triggers reconnection or a feed restart, never a crash.
 */
export class MediaError extends NvError {
  /** Always `'media'`: the layer that raised it. */
  readonly category = 'media' as const;
  /** Error name as it appears in stack traces and logs (`NV_MediaError`). */
  override readonly name = 'NV_MediaError';
  /** Which variant of {@link MediaErrorKind} this is. */
  readonly kind: MediaErrorKind;
  /** The source URL with credentials redacted, when the error concerns one. */
  readonly url: string | undefined;
  /** Sanitized detail from the media layer. */
  readonly detail: string | undefined;
  /** For a pipeline that could not be built: why (see {@link MediaBuildFailure}). */
  readonly buildFailure: MediaBuildFailure | undefined;
  private readonly [MEDIA] = true;

  /** Prefer the static factories; this constructor redacts `url` and sanitizes `detail`. */
  constructor(kind: MediaErrorKind, opts: { url?: string; detail?: string; message?: string; cause?: unknown; buildFailure?: MediaBuildFailure } = {}) {
    const url = opts.url === undefined ? undefined : redactUrl(opts.url);
    const detail = opts.detail === undefined ? undefined : sanitizeErrorString(opts.detail);
    super({ message: opts.message ?? [kind, url, detail].filter(Boolean).join(': '), cause: opts.cause });
    this.kind = kind;
    this.url = url;
    this.detail = detail;
    this.buildFailure = opts.buildFailure;
  }
  /** @returns whether `e` is a {@link MediaError} (from any package copy). */
  static override isInstance(e: unknown): e is MediaError { return brandCheck(MEDIA)(e); }
  /** Could not connect to / open a source. `url` is redacted. */
  static connectionFailed(url: string, detail: string, cause?: unknown): MediaError { return new MediaError('ConnectionFailed', { url, detail, cause }); }
  /** The stream could not be decoded. */
  static decodeFailed(detail: string, cause?: unknown): MediaError { return new MediaError('DecodeFailed', { detail, cause }); }
  /** End of stream. */
  static eos(): MediaError { return new MediaError('Eos', { message: 'end of stream' }); }
  /** No data within the allowed time. */
  static timeout(detail = 'no data within the allowed time'): MediaError { return new MediaError('Timeout', { detail }); }
  /** A capability that is not available here (e.g. CUDA without a GPU). */
  static unsupported(detail: string): MediaError { return new MediaError('Unsupported', { detail }); }
  /** A plain `rtsp://` URL under a `RequireTls` policy. */
  static insecureRtspRejected(url: string): MediaError { return new MediaError('InsecureRtspRejected', { url, detail: 'plain rtsp:// refused by RequireTls policy' }); }
  /** A `custom` pipeline fragment under the default `Reject` policy. */
  static customPipelineRejected(): MediaError { return new MediaError('CustomPipelineRejected', { message: 'CustomPipelineRejected: custom pipeline fragments are refused unless the policy is allowTrusted' }); }
  /** A file or device that does not exist or cannot be read. */
  static sourceNotFound(path: string, detail: string): MediaError { return new MediaError('SourceNotFound', { url: path, detail }); }
  /** Input that is not (or no longer) valid video: not a video file, truncated, no video stream. */
  static invalidMedia(detail: string, cause?: unknown): MediaError { return new MediaError('InvalidMedia', { detail, cause }); }
  /**
   * A pipeline that could not be built, typed by cause: a missing plugin is `Unsupported`
   * (something to install), anything else `PipelineInvalid` (something to fix in the config).
   */
  static pipelineBuildFailed(failure: MediaBuildFailure, detail: string, cause?: unknown): MediaError {
    return new MediaError(failure === 'elementMissing' ? 'Unsupported' : 'PipelineInvalid', { detail, cause, buildFailure: failure });
  }
}

// ---------------------------------------------------------------------------------------------
const STAGE = Symbol.for('nv.error.stage');

/** Variants of {@link StageError}. */
export type StageErrorKind = 'ProcessingFailed' | 'ResourceExhausted' | 'ModelLoadFailed';

/**
 * A stage's typed, recoverable failure. Thrown (or returned via a rejected promise) from
 * `process`, it drops that frame, emits a `StageError` health event, and the feed continues.
 * Any *other* exception is treated as a panic and restarts the feed.
 *
 * @example
 * ```ts
 * throw StageError.processingFailed('detector', 'input tensor shape mismatch');
 * ```
 */
export class StageError extends NvError {
  /** Always `'stage'`: the layer that raised it. */
  readonly category = 'stage' as const;
  /** Error name as it appears in stack traces and logs (`NV_StageError`). */
  override readonly name = 'NV_StageError';
  /** Which variant of {@link StageErrorKind} this is. */
  readonly kind: StageErrorKind;
  /** The id of the stage that failed. */
  readonly stageId: string;
  /** Sanitized detail. */
  readonly detail: string | undefined;
  /** A stage-defined failure tag (e.g. `'no-plate'`), set by {@link StageError.tagged}; reported in provenance and health. */
  readonly tag: string | undefined;
  private readonly [STAGE] = true;

  /** Prefer the static factories; this constructor sanitizes the message. */
  constructor(kind: StageErrorKind, stageId: string, detail?: string, cause?: unknown, tag?: string) {
    super({ message: `${kind}${tag ? `[${tag}]` : ''} in stage '${stageId}'${detail ? `: ${detail}` : ''}`, cause });
    this.kind = kind;
    this.stageId = stageId;
    this.detail = detail === undefined ? undefined : sanitizeErrorString(detail);
    this.tag = tag;
  }
  /** @returns whether `e` is a {@link StageError} (from any package copy). */
  static override isInstance(e: unknown): e is StageError { return brandCheck(STAGE)(e); }
  /** The stage could not process this frame. */
  static processingFailed(stageId: string, detail: string, cause?: unknown): StageError { return new StageError('ProcessingFailed', stageId, detail, cause); }
  /** The stage ran out of a resource (memory, queue slots, device). */
  static resourceExhausted(stageId: string, detail?: string): StageError { return new StageError('ResourceExhausted', stageId, detail); }
  /** A model could not be loaded (missing file, wrong input shape). */
  static modelLoadFailed(stageId: string, detail: string, cause?: unknown): StageError { return new StageError('ModelLoadFailed', stageId, detail, cause); }
  /**
   * A failure with a stage-defined tag (category `other:<tag>` in provenance), for failures
   * that are not processing, resource or model problems.
   * @throws {InvalidArgumentError} when `tag` is empty or not made of `[A-Za-z0-9_.-]`
   */
  static tagged(stageId: string, tag: string, detail?: string, cause?: unknown): StageError {
    if (typeof tag !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(tag)) throw new InvalidArgumentError('tag', 'a 1–64 character tag of letters, digits, _ . -', tag);
    return new StageError('ProcessingFailed', stageId, detail, cause, tag);
  }
}

// ---------------------------------------------------------------------------------------------
const TEMPORAL = Symbol.for('nv.error.temporal');

/** Variants of {@link TemporalError}. */
export type TemporalErrorKind = 'TrackNotFound' | 'RetentionLimitExceeded';

/** A temporal-store failure (unknown track, cap reached). */
export class TemporalError extends NvError {
  /** Always `'temporal'`: the layer that raised it. */
  readonly category = 'temporal' as const;
  /** Error name as it appears in stack traces and logs (`NV_TemporalError`). */
  override readonly name = 'NV_TemporalError';
  /** Which variant of {@link TemporalErrorKind} this is. */
  readonly kind: TemporalErrorKind;
  /** The track concerned, when there is one. */
  readonly trackId: number | undefined;
  private readonly [TEMPORAL] = true;
  /** Prefer the static factories; this constructor sanitizes the message. */
  constructor(kind: TemporalErrorKind, message: string, trackId?: number) {
    super({ message });
    this.kind = kind;
    this.trackId = trackId;
  }
  /** @returns whether `e` is a {@link TemporalError} (from any package copy). */
  static override isInstance(e: unknown): e is TemporalError { return brandCheck(TEMPORAL)(e); }
  /** No track with this id in the store. */
  static trackNotFound(trackId: number): TemporalError { return new TemporalError('TrackNotFound', `track-${trackId} not found`, trackId); }
  /** A retention cap refused an insertion. */
  static retentionLimitExceeded(detail: string): TemporalError { return new TemporalError('RetentionLimitExceeded', `retention limit exceeded: ${detail}`); }
}

// ---------------------------------------------------------------------------------------------
const VIEW = Symbol.for('nv.error.view');

/** Variants of {@link ViewError}. */
export type ViewErrorKind =
  | 'InvalidMotionReport'
  | 'TransformFailed'
  /** A view provider's `poll` did not settle within the view system's poll deadline. */
  | 'PollTimeout';

/** A view-system failure: a malformed motion report or a non-invertible transform. */
export class ViewError extends NvError {
  /** Always `'view'`: the layer that raised it. */
  readonly category = 'view' as const;
  /** Error name as it appears in stack traces and logs (`NV_ViewError`). */
  override readonly name = 'NV_ViewError';
  /** Which variant of {@link ViewErrorKind} this is. */
  readonly kind: ViewErrorKind;
  private readonly [VIEW] = true;
  /** Prefer the static factories; this constructor sanitizes the message. */
  constructor(kind: ViewErrorKind, detail: string) {
    super({ message: `${kind}: ${detail}` });
    this.kind = kind;
  }
  /** @returns whether `e` is a {@link ViewError} (from any package copy). */
  static override isInstance(e: unknown): e is ViewError { return brandCheck(VIEW)(e); }
  /** A provider's report failed validation. */
  static invalidMotionReport(detail: string): ViewError { return new ViewError('InvalidMotionReport', detail); }
  /** A transform could not be applied or inverted. */
  static transformFailed(detail: string): ViewError { return new ViewError('TransformFailed', detail); }
  /** A provider's `poll` did not settle within `timeoutMs` (its late result is discarded). */
  static pollTimeout(timeoutMs: number): ViewError { return new ViewError('PollTimeout', `provider poll did not settle within ${timeoutMs} ms (treated as an empty report)`); }
}

// ---------------------------------------------------------------------------------------------
const RUNTIME = Symbol.for('nv.error.runtime');

/** Variants of {@link RuntimeError}. */
export type RuntimeErrorKind =
  | 'FeedNotFound'
  | 'AlreadyRunning'
  | 'AlreadyPaused'
  | 'NotPaused'
  | 'ShutdownInProgress'
  | 'FeedLimitExceeded'
  | 'WorkerStartFailed';

/** A programmer-facing runtime error (unknown feed, wrong lifecycle state, limits). */
export class RuntimeError extends NvError {
  /** Always `'runtime'`: the layer that raised it. */
  readonly category = 'runtime' as const;
  /** Error name as it appears in stack traces and logs (`NV_RuntimeError`). */
  override readonly name = 'NV_RuntimeError';
  /** Which variant of {@link RuntimeErrorKind} this is. */
  readonly kind: RuntimeErrorKind;
  private readonly [RUNTIME] = true;
  /** Prefer the static factories; this constructor sanitizes the message. */
  constructor(kind: RuntimeErrorKind, message: string, cause?: unknown) {
    super({ message, cause });
    this.kind = kind;
  }
  /** @returns whether `e` is a {@link RuntimeError} (from any package copy). */
  static override isInstance(e: unknown): e is RuntimeError { return brandCheck(RUNTIME)(e); }
  /** No feed with this id. */
  static feedNotFound(feedId: number): RuntimeError { return new RuntimeError('FeedNotFound', `feed-${feedId} not found`); }
  /** The runtime or feed is already running. */
  static alreadyRunning(): RuntimeError { return new RuntimeError('AlreadyRunning', 'already running'); }
  /** `pause()` on a paused feed. */
  static alreadyPaused(feedId: number): RuntimeError { return new RuntimeError('AlreadyPaused', `feed-${feedId} is already paused`); }
  /** `resume()` on a running feed. */
  static notPaused(feedId: number): RuntimeError { return new RuntimeError('NotPaused', `feed-${feedId} is not paused`); }
  /** The runtime is shutting down. */
  static shutdownInProgress(): RuntimeError { return new RuntimeError('ShutdownInProgress', 'shutdown in progress'); }
  /** Too many feeds. */
  static feedLimitExceeded(max: number): RuntimeError { return new RuntimeError('FeedLimitExceeded', `feed limit exceeded (max ${max})`); }
  /** A worker thread or batch processor failed to start. */
  static workerStartFailed(detail: string, cause?: unknown): RuntimeError { return new RuntimeError('WorkerStartFailed', `worker failed to start: ${detail}`, cause); }
}

// ---------------------------------------------------------------------------------------------
const CONFIG = Symbol.for('nv.error.config');

/** Variants of {@link ConfigError}. */
export type ConfigErrorKind =
  | 'InvalidConfig'
  | 'InvalidSource'
  | 'InvalidPolicy'
  | 'MissingRequired'
  | 'CameraModeConflict'
  | 'InvalidCapacity'
  | 'StageValidation'
  | 'DuplicateBatchProcessorId';

/** One schema problem: where it is and what is wrong. */
export interface ConfigIssue {
  /** Dotted path of the offending field, e.g. `source.url` or `stages[2].id`. */
  readonly field: string;
  /** What is wrong with it. */
  readonly message: string;
}

/**
 * Invalid configuration, reported at build time so a broken feed never starts.
 * `field` names the (first) offending field; `issues` lists all of them.
 */
export class ConfigError extends NvError {
  /** Always `'config'`: the layer that raised it. */
  readonly category = 'config' as const;
  /** Error name as it appears in stack traces and logs (`NV_ConfigError`). */
  override readonly name = 'NV_ConfigError';
  /** Which variant of {@link ConfigErrorKind} this is. */
  readonly kind: ConfigErrorKind;
  /** Dotted path of the first offending field, when known. */
  readonly field: string | undefined;
  /** Every problem found (at least one for `InvalidConfig`). */
  readonly issues: readonly ConfigIssue[];
  private readonly [CONFIG] = true;
  /** Prefer the static factories; this constructor sanitizes the message. */
  constructor(kind: ConfigErrorKind, message: string, opts: { field?: string; issues?: readonly ConfigIssue[]; cause?: unknown; presanitized?: boolean } = {}) {
    super({ message, cause: opts.cause, ...(opts.presanitized ? { presanitized: true } : {}) });
    this.kind = kind;
    this.field = opts.field ?? opts.issues?.[0]?.field;
    this.issues = opts.issues ?? (opts.field ? [{ field: opts.field, message }] : []);
  }
  /** @returns whether `e` is a {@link ConfigError} (from any package copy). */
  static override isInstance(e: unknown): e is ConfigError { return brandCheck(CONFIG)(e); }
  /** Schema validation failed; `issues` name each offending field. */
  static invalidConfig(what: string, issues: readonly ConfigIssue[], cause?: unknown): ConfigError {
    // Each part is sanitized on its own: joined as "field: message", a secret-looking field
    // name (an unknown key `password`) would make the sanitizer redact the message after it.
    const list = issues.map((i) => `${sanitizeErrorString(i.field || '(root)')}: ${sanitizeErrorString(i.message)}`).join('; ');
    return new ConfigError('InvalidConfig', `invalid ${sanitizeErrorString(what)}: ${list}`, { issues, cause, presanitized: true });
  }
  /** A source spec that cannot be used. */
  static invalidSource(detail: string, field?: string): ConfigError { return new ConfigError('InvalidSource', `invalid source: ${detail}`, field ? { field } : {}); }
  /** A policy with inconsistent values. */
  static invalidPolicy(detail: string, field?: string): ConfigError { return new ConfigError('InvalidPolicy', `invalid policy: ${detail}`, field ? { field } : {}); }
  /** A required field is absent. */
  static missingRequired(field: string): ConfigError { return new ConfigError('MissingRequired', `missing required field '${field}'`, { field }); }
  /** `observed` without a view provider, or `fixed` with one. */
  static cameraModeConflict(detail: string): ConfigError { return new ConfigError('CameraModeConflict', `camera mode conflict: ${detail}`, { field: 'cameraMode' }); }
  /** A capacity of zero or less. */
  static invalidCapacity(field: string): ConfigError { return new ConfigError('InvalidCapacity', `invalid capacity for '${field}': must be >= 1`, { field }); }
  /** Stage-list validation failed (duplicate ids, unmet dependencies). */
  static stageValidation(detail: string): ConfigError { return new ConfigError('StageValidation', `stage validation failed: ${detail}`, { field: 'stages' }); }
  /** Two batch processors share an id. */
  static duplicateBatchProcessorId(id: string): ConfigError { return new ConfigError('DuplicateBatchProcessorId', `duplicate batch processor id '${id}'`, { field: 'batch.id' }); }
}

// ---------------------------------------------------------------------------------------------
const FRAME = Symbol.for('nv.error.frame');

/** Variants of {@link FrameAccessError}. */
export type FrameAccessErrorKind = 'Released' | 'NotHostAccessible' | 'MaterializationFailed' | 'InvalidLayout' | 'UnsupportedConversion';

/** Frame pixel access failed: the frame was released, lives on a device, or a conversion is not supported. */
export class FrameAccessError extends NvError {
  /** Always `'frame'`: the layer that raised it. */
  readonly category = 'frame' as const;
  /** Error name as it appears in stack traces and logs (`NV_FrameAccessError`). */
  override readonly name = 'NV_FrameAccessError';
  /** Which variant of {@link FrameAccessErrorKind} this is. */
  readonly kind: FrameAccessErrorKind;
  private readonly [FRAME] = true;
  /** Prefer the static factories; this constructor sanitizes the message. */
  constructor(kind: FrameAccessErrorKind, detail: string, cause?: unknown) {
    super({ message: `${kind}: ${detail}`, cause });
    this.kind = kind;
  }
  /** @returns whether `e` is a {@link FrameAccessError} (from any package copy). */
  static override isInstance(e: unknown): e is FrameAccessError { return brandCheck(FRAME)(e); }
  /** Pixel access on a frame whose last reference was released. */
  static released(detail = 'frame was released; retain() it to keep it past the call that gave it'): FrameAccessError { return new FrameAccessError('Released', detail); }
  /** Host access on an opaque device frame. */
  static notHostAccessible(detail = 'frame data is not host accessible'): FrameAccessError { return new FrameAccessError('NotHostAccessible', detail); }
  /** The device→host materializer failed (cached: later calls fail the same way). */
  static materializationFailed(detail: string, cause?: unknown): FrameAccessError { return new FrameAccessError('MaterializationFailed', detail, cause); }
  /** Plane sizes/strides do not fit the declared format and dimensions. */
  static invalidLayout(detail: string): FrameAccessError { return new FrameAccessError('InvalidLayout', detail); }
  /** No conversion between these formats. */
  static unsupportedConversion(from: string, to: string): FrameAccessError { return new FrameAccessError('UnsupportedConversion', `no conversion from ${from} to ${to}`); }
}

// ---------------------------------------------------------------------------------------------
const ARG = Symbol.for('nv.error.argument');

/**
 * A bad value passed to an nv API (e.g. a bounding box with NaN or min > max).
 * The message reads "Expected X for Y but received Z".
 */
export class InvalidArgumentError extends NvError {
  /** Always `'argument'`: the layer that raised it. */
  readonly category = 'argument' as const;
  /** Error name as it appears in stack traces and logs (`NV_InvalidArgumentError`). */
  override readonly name = 'NV_InvalidArgumentError';
  /** Always `'InvalidArgument'`: the only variant. */
  readonly kind = 'InvalidArgument' as const;
  /** Name of the offending argument or field. */
  readonly argument: string;
  private readonly [ARG] = true;
  /** Builds the message "Expected `expected` for `argument` but received `received`". */
  constructor(argument: string, expected: string, received: unknown) {
    super({ message: `Expected ${expected} for ${argument} but received ${describe(received)}` });
    this.argument = argument;
  }
  /** @returns whether `e` is an {@link InvalidArgumentError} (from any package copy). */
  static override isInstance(e: unknown): e is InvalidArgumentError { return brandCheck(ARG)(e); }
}

function describe(v: unknown): string {
  if (typeof v === 'number') return `${v} of type number`;
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}' of type string`;
  if (v === null) return 'null';
  return `${String(v)} of type ${typeof v}`;
}
