/**
 * The `--config` file (JSON or YAML): the same feed settings schema as the API, plus the
 * job's stages and outputs. Command-line flags override the file.
 */
import { AnalyticsConfigSchema, parseAnalyticsConfig, type AnalyticsConfig } from '@nv/analytics';
import { ConfigError, SourceSpecSchema, parseConfig } from '@nv/core';
import { FeedSettingsSchema } from '@nv/runtime';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { sourceInputFromArg } from './sources.js';

/** Why a config file may not set `media.customPipelinePolicy`. */
export const CONFIG_CANNOT_ALLOW_CUSTOM = 'a config file cannot enable custom pipelines (only the operator can, with nv run --allow-custom-pipeline)';

/**
 * One feed of a config file: the API's feed settings (`name`, `source`, `cameraMode`, …),
 * except that `source` may also be written as on the command line — `clip.mp4`,
 * `rtsp://…`, `/dev/video0`, `testpattern:smpte` — besides the object form
 * (`{ kind: file, path: clip.mp4 }`). Relative paths are relative to the working directory,
 * as on the command line.
 *
 * @example
 * ```yaml
 * feeds:
 *   - name: gate
 *     source: rtsp://user:pass@camera/stream
 *     cameraMode: fixed
 * ```
 */
export const JobFeedSchema = FeedSettingsSchema.extend({
  source: z.preprocess((v) => (typeof v === 'string' ? sourceInputFromArg(v) : v), SourceSpecSchema),
  // Custom pipelines run arbitrary GStreamer elements (they can write files, open sockets):
  // only the operator may allow them, on the command line, never the file being run. The API's
  // settings refuse the field too; this says how the operator allows them.
  media: FeedSettingsSchema.shape.media.unwrap().extend({
    customPipelinePolicy: z.never({ error: CONFIG_CANNOT_ALLOW_CUSTOM }).optional(),
  }).optional(),
  /** This feed's zones and lines (instead of the job's `analytics`); turns the tracker on. */
  analytics: AnalyticsConfigSchema.optional(),
});

/** Schema of a job config file. */
export const JobConfigSchema = z.strictObject({
  /** Feeds (each with its full feed settings). Sources given on the command line are added. */
  feeds: z.array(JobFeedSchema).optional(),
  /** A YOLO-family ONNX detector. */
  detector: z.strictObject({
    model: z.string().min(1),
    classNames: z.array(z.string()).optional(),
    scoreThreshold: z.number().min(0).max(1).optional(),
    iouThreshold: z.number().min(0).max(1).optional(),
    threads: z.int().min(1).max(64).optional(),
    /**
     * Run the model on `nv worker` processes over NATS instead of in this process (`--remote-inference`):
     * `nats` is the server URL (`nats://[user:pass@]host[:port]`); `timeoutMs` the reply deadline
     * (default 5000), `maxInFlight` the runs on the wire at once (default 4).
     */
    remote: z.strictObject({
      nats: z.string().min(1),
      subject: z.string().min(1).optional(),
      timeoutMs: z.int().min(1).max(3_600_000).optional(),
      maxInFlight: z.int().min(1).max(1024).optional(),
    }).optional(),
  }).optional(),
  /** Text recognition (PaddleOCR); `true` for defaults. Without a detector, the text detector finds the regions. */
  ocr: z.union([z.boolean(), z.strictObject({ minConfidence: z.number().min(0).max(1).optional(), limitSideLen: z.int().min(32).optional(), threads: z.int().min(1).max(64).optional() })]).optional(),
  /** The multi-object tracker; `true` for defaults. */
  track: z.union([z.boolean(), z.strictObject({ iouThreshold: z.number().min(0).max(1).optional(), minHits: z.int().min(1).optional(), maxCoastFrames: z.int().min(0).optional() })]).optional(),
  /**
   * Zones, directed lines and dwell for every feed without its own `analytics` (the same as
   * `--zones file.yaml`); turns the tracker on. Events go into each output's `events` list.
   */
  analytics: AnalyticsConfigSchema.optional(),
  /**
   * Event clips (`--clips DIR`): an MP4 from `preSeconds` before to `postSeconds` after each
   * zone entry, line crossing and dwell (or the `events` listed), from an encoded pre-roll ring;
   * the event's `clip.path` says where. Needs `analytics`. Files are named
   * `<feed name>-<start ms>-<n>.mp4`; `maxDiskBytes` bounds them per feed (oldest deleted).
   */
  clips: z.strictObject({
    dir: z.string().min(1),
    preSeconds: z.number().gt(0).max(300).optional(),
    postSeconds: z.number().min(0).max(300).optional(),
    maxClipSeconds: z.number().gt(0).max(3600).optional(),
    maxDiskBytes: z.int().min(1024 * 1024).optional(),
    maxRingBytes: z.int().min(64 * 1024).max(4 * 1024 ** 3).optional(),
    width: z.int().min(16).max(4096).refine((w) => w % 2 === 0, { error: 'must be even' }).optional(),
    maxFps: z.number().gt(0).max(120).optional(),
    bitrateKbps: z.int().min(16).max(100_000).optional(),
    events: z.array(z.enum(['trackStarted', 'zoneEntered', 'dwell', 'zoneExited', 'lineCrossed', 'trackEnded'])).min(1).optional(),
  }).superRefine((c, ctx) => {
    const span = (c.preSeconds ?? 5) + (c.postSeconds ?? 5);
    if (c.maxClipSeconds !== undefined && c.maxClipSeconds < span) {
      ctx.addIssue({ code: 'custom', message: `must be at least preSeconds + postSeconds (${span})`, path: ['maxClipSeconds'] });
    }
  }).optional(),
  /**
   * Where events (and, if asked, outputs) go besides the JSON lines: `mqtt://…/topic`,
   * `nats://…/subject`, `http(s)://…` (webhook POST), a `.jsonl` path (rotating). Each has a
   * bounded queue and never holds a feed back (drops counted); credentials are redacted
   * everywhere. Same as `--mqtt`, `--nats`, `--webhook`.
   */
  sinks: z.array(z.strictObject({
    url: z.string().min(1),
    publish: z.enum(['events', 'outputs', 'both']).optional(),
    queueSize: z.int().min(1).max(1_000_000).optional(),
  })).optional(),
  /** JSON-lines output path. */
  out: z.string().min(1).optional(),
  /** Annotated MP4 output path. */
  annotate: z.string().min(1).optional(),
  /** Stop each feed after this many frames. */
  maxFrames: z.int().min(1).optional(),
  /** Run the detector (or the text detector) on up to this many frames of a feed at once, the rest in frame order (`--parallel`). */
  parallel: z.int().min(1).max(64).optional(),
  /**
   * `nv serve` only: where it listens and the live view. The token is better given as the
   * `NV_SERVE_TOKEN` environment variable than written here.
   */
  serve: z.strictObject({
    host: z.string().min(1).optional(),
    port: z.int().min(0).max(65535).optional(),
    token: z.string().min(16, { error: 'a token must have at least 16 characters' }).optional(),
    liveView: z.strictObject({
      fps: z.number().min(0.1).max(120).optional(),
      maxWidth: z.int().min(16).max(7680).optional(),
      quality: z.int().min(1).max(100).optional(),
      idleStopMs: z.int().min(0).optional(),
      maxViewersPerFeed: z.int().min(1).max(10_000).optional(),
    }).optional(),
  }).optional(),
});

/** A parsed job config file. */
export type JobConfig = z.output<typeof JobConfigSchema>;

/**
 * Reads and validates a config file (`.json`, `.yaml`, `.yml`).
 * @throws {ConfigError} unreadable file, syntax error, or invalid fields (each named)
 */
export function loadJobConfig(path: string): JobConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ConfigError.invalidConfig(`config file ${path}`, [{ field: '(file)', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw ConfigError.invalidConfig(`config file ${path}`, [{ field: '(syntax)', message: (e as Error).message.split('\n')[0] ?? 'syntax error' }]);
  }
  return parseConfig(JobConfigSchema, data ?? {}, `config file ${path}`);
}

/**
 * Reads a `--zones` file (JSON or YAML): the analytics configuration — `zones`, `lines`,
 * `anchor`, `minFrames`, … as in a config file's `analytics:` section.
 * @param path - the file
 * @returns the parsed configuration
 * @throws {ConfigError} unreadable file, syntax error, or invalid fields (each named)
 * @example
 * ```yaml
 * zones: [{ id: door, polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.9], [0.1, 0.9]], dwellSeconds: 5 }]
 * lines: [{ id: mid, from: [0.5, 0.0], to: [0.5, 1.0] }]
 * ```
 */
export function loadZonesFile(path: string): AnalyticsConfig {
  const what = `zones file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw ConfigError.invalidConfig(what, [{ field: '(file)', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw ConfigError.invalidConfig(what, [{ field: '(syntax)', message: (e as Error).message.split('\n')[0] ?? 'syntax error' }]);
  }
  try {
    return parseAnalyticsConfig(data ?? {});
  } catch (e) {
    if (ConfigError.isInstance(e)) throw ConfigError.invalidConfig(what, e.issues);
    throw e;
  }
}
