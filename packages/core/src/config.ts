/**
 * Configuration types and their zod schemas, with the reference defaults.
 *
 * Every schema has a `parseX()` that throws a {@link ConfigError} naming each offending
 * field, and a `safeParseX()` that returns a result instead. Durations are milliseconds
 * (JSON/YAML friendly). Types are inferred from the schemas (`z.output`), so a parsed value
 * always has its defaults filled in.
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import { isInsecureRtsp } from './redact.js';

// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const safeString = (what: string) =>
  z.string().min(1, `${what} must not be empty`).regex(NO_CONTROL, `${what} must not contain control characters`);

/** RTSP lower transport. */
export const RtspTransportSchema = z.enum(['tcp', 'udp']);
/** RTSP lower transport: interleaved TCP (default, firewall-friendly) or UDP unicast. */
export type RtspTransport = z.output<typeof RtspTransportSchema>;

/** TLS policy for RTSP. */
export const RtspSecurityPolicySchema = z.enum(['preferTls', 'allowInsecure', 'requireTls']);
/**
 * - `preferTls`: promote `rtsp://` to `rtsps://`, fall back to plain with an `InsecureRtspSource` event;
 * - `allowInsecure`: use the URL as given;
 * - `requireTls`: refuse plain `rtsp://` with `MediaError.InsecureRtspRejected`.
 */
export type RtspSecurityPolicy = z.output<typeof RtspSecurityPolicySchema>;

/** Whether `custom` pipeline fragments are accepted. */
export const CustomPipelinePolicySchema = z.enum(['reject', 'allowTrusted']);
/** `reject` (default) refuses `custom` sources; `allowTrusted` runs them as given. */
export type CustomPipelinePolicy = z.output<typeof CustomPipelinePolicySchema>;

/** Decoder preference. */
export const DecodePreferenceSchema = z.enum(['auto', 'cpuOnly', 'preferHardware', 'requireHardware']);

/** `videotestsrc` patterns usable by the `testPattern` source. */
export const TestPatternSchema = z.enum([
  'smpte', 'snow', 'black', 'white', 'red', 'green', 'blue', 'checkers-1', 'checkers-2', 'checkers-4',
  'checkers-8', 'circular', 'blink', 'smpte75', 'zone-plate', 'gamut', 'chroma-zone-plate', 'solid-color',
  'ball', 'smpte100', 'bar', 'pinwheel', 'spokes', 'gradient', 'colors',
]);

const FileSourceSchema = z.object({
  kind: z.literal('file'),
  /** Path of a local video file. */
  path: safeString('path'),
  /** Restart from the beginning at end of stream. */
  loop: z.boolean().default(false),
}).strict();

const RtspSourceSchema = z.object({
  kind: z.literal('rtsp'),
  url: safeString('url').regex(/^(?:(?:rtsps?|rtspt):\/\/|(?![a-z][a-z0-9+.-]*:\/\/))\S+$/i, 'url must be an rtsp:// or rtsps:// URL (or host/path) without spaces'),
  transport: RtspTransportSchema.default('tcp'),
  /** Default: `allowInsecure` for an explicit `rtsp://` URL, `preferTls` otherwise. */
  security: RtspSecurityPolicySchema.optional(),
  /** Jitter-buffer latency. */
  latencyMs: z.number().int().min(0).max(60_000).default(200),
  /** TCP timeout before the connection is considered lost. */
  tcpTimeoutMs: z.number().int().min(100).default(10_000),
}).strict().transform((s) => ({
  ...s,
  security: s.security ?? (isInsecureRtsp(s.url) ? ('allowInsecure' as const) : ('preferTls' as const)),
}));

const V4l2SourceSchema = z.object({
  kind: z.literal('v4l2'),
  device: safeString('device').regex(/^\/dev\/[\w./-]+$/, 'device must be a /dev path'),
}).strict();

const CustomSourceSchema = z.object({
  kind: z.literal('custom'),
  /** A gst-launch fragment producing raw or encoded video. Refused unless the policy is `allowTrusted`. */
  pipeline: z.string().min(1, 'pipeline must not be empty'),
}).strict();

const TestPatternSourceSchema = z.object({
  kind: z.literal('testPattern'),
  pattern: TestPatternSchema.default('smpte'),
  width: z.number().int().min(16).max(7680).default(1280),
  height: z.number().int().min(16).max(4320).default(720),
  fps: z.number().positive().max(1000).default(30),
  /** Stop after this many frames (end of stream). Unbounded when absent. */
  frames: z.number().int().positive().optional(),
  /** Produce frames at the real-time rate rather than as fast as possible. */
  live: z.boolean().default(false),
}).strict();

/** Where a feed's video comes from. */
export const SourceSpecSchema = z.discriminatedUnion('kind', [
  FileSourceSchema,
  RtspSourceSchema,
  V4l2SourceSchema,
  CustomSourceSchema,
  TestPatternSourceSchema,
]);
/** Where a feed's video comes from: a file, an RTSP camera, a V4L2 device, a test pattern, or a custom fragment. */
export type SourceSpec = z.output<typeof SourceSpecSchema>;
/** The input form of {@link SourceSpec} (defaults optional). */
export type SourceSpecInput = z.input<typeof SourceSpecSchema>;

/** Camera installation mode. Required on every feed; there is no default. */
export const CameraModeSchema = z.enum(['fixed', 'observed']);
/**
 * - `fixed`: bolted camera; the view system is bypassed (always Stable/Valid).
 * - `observed`: the camera may move; a view-state provider is required.
 */
export type CameraMode = z.output<typeof CameraModeSchema>;

/** Reconnect backoff shape. */
export const BackoffKindSchema = z.enum(['exponential', 'linear']);

/** Reconnection policy of a live source. */
export const ReconnectPolicySchema = z.object({
  /** 0 = retry forever. */
  maxAttempts: z.number().int().min(0).default(0),
  baseDelayMs: z.number().int().min(0).default(1_000),
  maxDelayMs: z.number().int().min(0).default(30_000),
  /** exponential: base·2^attempt; linear: base·(attempt+1); both capped at maxDelayMs. */
  backoff: BackoffKindSchema.default('exponential'),
}).strict().refine((p) => p.maxDelayMs >= p.baseDelayMs, { message: 'maxDelayMs must be >= baseDelayMs', path: ['maxDelayMs'] });
/** Reconnection policy (defaults: infinite attempts, 1 s base, 30 s cap, exponential). */
export type ReconnectPolicy = z.output<typeof ReconnectPolicySchema>;

/**
 * Delay before reconnect attempt `attempt` (0-based) under `policy`.
 * @returns milliseconds
 */
export function reconnectDelayMs(policy: ReconnectPolicy, attempt: number): number {
  const raw = policy.backoff === 'exponential'
    ? policy.baseDelayMs * 2 ** Math.min(attempt, 52)
    : policy.baseDelayMs * (attempt + 1);
  return Math.min(policy.maxDelayMs, raw);
}

/** What failures restart a feed. */
export const RestartTriggerSchema = z.enum(['sourceFailure', 'sourceOrStagePanic', 'never']);

/** Restart policy of a feed. */
export const RestartPolicySchema = z.object({
  maxRestarts: z.number().int().min(0).default(5),
  /** A session that ran at least this long resets the restart count. */
  restartWindowMs: z.number().int().min(0).default(300_000),
  restartDelayMs: z.number().int().min(0).default(2_000),
  restartOn: RestartTriggerSchema.default('sourceOrStagePanic'),
}).strict();
/** Restart policy (defaults: 5 restarts per 300 s window, 2 s delay, on source failure or stage panic). */
export type RestartPolicy = z.output<typeof RestartPolicySchema>;

/** Backpressure policy of a feed's frame queue. */
export const BackpressurePolicySchema = z.object({
  kind: z.enum(['dropOldest', 'dropNewest', 'block']).default('dropOldest'),
  queueDepth: z.number().int().min(1, 'queueDepth must be >= 1').max(1024).default(4),
}).strict();
/**
 * Without a `kind`, a source gets {@link defaultBackpressureKind}: `block` for files and
 * non-live test patterns, `dropOldest` for live sources.
 * - `dropOldest`: a full queue evicts its oldest frame (live sources stay current);
 * - `dropNewest`: a full queue refuses the incoming frame;
 * - `block`: the decoder waits for room (offline jobs lose no frame).
 */
export type BackpressurePolicy = z.output<typeof BackpressurePolicySchema>;

/** Retention policy of a feed's temporal store. */
export const RetentionPolicySchema = z.object({
  /** Lost tracks older than this (since last seen) are evicted. */
  maxTrackAgeMs: z.number().int().min(0).default(30_000),
  /** Observation ring-buffer depth per track. */
  maxObservationsPerTrack: z.number().int().min(1).default(100),
  /** Hard cap on tracks; new tracks past it evict Lost, then Coasted, then Tentative, or are refused. */
  maxConcurrentTracks: z.number().int().min(1).default(500),
  /** Trajectory points kept per track (oldest closed segments dropped first). */
  maxTrajectoryPointsPerTrack: z.number().int().min(1).default(1_000),
}).strict();
/** Retention policy (defaults: 30 s, 100 observations, 500 tracks, 1000 trajectory points). */
export type RetentionPolicy = z.output<typeof RetentionPolicySchema>;

/**
 * Which outputs carry their frame (`OutputEnvelope.frame`), decided per output in frame order:
 * - `never` (default) / `always`;
 * - `{ everyNth: N }`: the N-th, 2N-th, 3N-th… output (1-based, as the reference's `Sampled`;
 *   `everyNth: 1` is `always`);
 * - `{ targetFps: f }`: about `f` frames per second of media time, decided by the frame's `ts`:
 *   the first output at or after `origin + k / f` for k = 1, 2, 3…, where `origin` is the first
 *   output's `ts` (so, like `everyNth`, the first output is not included). A source slower than
 *   `f` gets every output after the first.
 */
export const FrameInclusionSchema = z.union([
  z.enum(['never', 'always']),
  z.object({ everyNth: z.number().int().min(1) }).strict(),
  z.object({ targetFps: z.number().positive().max(1000) }).strict(),
]);
/** See {@link FrameInclusionSchema}. */
export type FrameInclusion = 'never' | 'always' | { readonly everyNth: number } | { readonly targetFps: number };

/** Outcome of a safe parse. */
export type ParseResult<T> = { readonly success: true; readonly value: T } | { readonly success: false; readonly error: ConfigError };

/** Formats a zod path as `a.b[2].c`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/**
 * Validates `input` against any zod schema and wraps failures in a {@link ConfigError}.
 * @param what - name used in the message (e.g. `'source'`)
 * @param prefix - path prefix for issues (e.g. `'feeds[0].source'`)
 */
export function safeParseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix = ''): ParseResult<z.output<S>> {
  const r = schema.safeParse(input);
  if (r.success) return { success: true, value: r.data };
  const at = (path: readonly PropertyKey[]): string => {
    const p = formatConfigPath(path);
    return prefix ? (p ? (p.startsWith('[') ? prefix + p : `${prefix}.${p}`) : prefix) : p;
  };
  const issues: ConfigIssue[] = r.error.issues.flatMap((i): ConfigIssue[] => {
    // zod reports unknown keys once, at their parent, as `Unrecognized key: "name"` — which the
    // message sanitizer (rightly) reads as `key: <secret>` and redacts. Report each unknown key
    // as its own field instead, with a message that carries no `name: value` shape.
    if (i.code === 'unrecognized_keys') {
      const keys = (i as { keys?: readonly string[] }).keys ?? [];
      if (keys.length) return keys.map((k) => ({ field: at([...i.path, k]), message: 'unknown field' }));
    }
    return [{ field: at(i.path), message: i.message }];
  });
  return { success: false, error: ConfigError.invalidConfig(what, issues, r.error) };
}

/**
 * Like {@link safeParseConfig} but throws.
 * @throws {ConfigError} `InvalidConfig`, naming every offending field
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix = ''): z.output<S> {
  const r = safeParseConfig(schema, input, what, prefix);
  if (!r.success) throw r.error;
  return r.value;
}

/**
 * Parses a source spec, filling defaults.
 * @throws {ConfigError} naming the offending field
 * @example
 * ```ts
 * parseSourceSpec({ kind: 'rtsp', url: 'rtsp://cam/live' }).security // 'allowInsecure'
 * ```
 */
export function parseSourceSpec(input: unknown): SourceSpec { return parseConfig(SourceSpecSchema, input, 'source'); }
/** Result-returning {@link parseSourceSpec}. */
export function safeParseSourceSpec(input: unknown): ParseResult<SourceSpec> { return safeParseConfig(SourceSpecSchema, input, 'source'); }
/** @throws {ConfigError} */
export function parseCameraMode(input: unknown): CameraMode { return parseConfig(CameraModeSchema, input, 'cameraMode'); }
/** @throws {ConfigError} */
export function parseReconnectPolicy(input: unknown = {}): ReconnectPolicy { return parseConfig(ReconnectPolicySchema, input, 'reconnect policy'); }
/** @throws {ConfigError} */
export function parseRestartPolicy(input: unknown = {}): RestartPolicy { return parseConfig(RestartPolicySchema, input, 'restart policy'); }
/** @throws {ConfigError} */
export function parseBackpressurePolicy(input: unknown = {}, spec?: SourceSpec): BackpressurePolicy {
  const p = parseConfig(BackpressurePolicySchema, input, 'backpressure policy');
  const kindGiven = typeof input === 'object' && input !== null && (input as { kind?: unknown }).kind !== undefined;
  return spec === undefined || kindGiven ? p : { ...p, kind: defaultBackpressureKind(spec) };
}

/**
 * The backpressure a source gets when its policy names no `kind`: `block` for sources read as
 * fast as they are consumed — files and non-live test patterns, where a dropped frame is lost
 * work — and `dropOldest` for live ones (RTSP, V4L2, live test patterns, custom pipelines),
 * which cannot wait and should stay current.
 * @param spec - a parsed source spec
 * @returns the default kind for it
 * @example
 * ```ts
 * defaultBackpressureKind(parseSourceSpec({ kind: 'file', path: 'clip.mp4' })) // 'block'
 * ```
 */
export function defaultBackpressureKind(spec: SourceSpec): BackpressurePolicy['kind'] {
  return spec.kind === 'file' || (spec.kind === 'testPattern' && !spec.live) ? 'block' : 'dropOldest';
}
/** @throws {ConfigError} */
export function parseRetentionPolicy(input: unknown = {}): RetentionPolicy { return parseConfig(RetentionPolicySchema, input, 'retention policy'); }

/** Reference defaults, fully populated. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = Object.freeze(parseReconnectPolicy());
/** Reference defaults, fully populated. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze(parseRestartPolicy());
/** Reference defaults, fully populated. */
export const DEFAULT_BACKPRESSURE_POLICY: BackpressurePolicy = Object.freeze(parseBackpressurePolicy());
/** Reference defaults, fully populated. */
export const DEFAULT_RETENTION_POLICY: RetentionPolicy = Object.freeze(parseRetentionPolicy());
