/**
 * `nv run`: one feed per source through the runtime, with the chosen stages; JSON lines,
 * annotated MP4, a live status display, a summary; a draining stop on Ctrl-C.
 */
import { ConfigError, InvalidArgumentError, MediaError, redactUrl, type FeedId, type HealthEvent, type SourceSpec, type TrackId } from '@nv/core';
import { buildPipeline, probeSource } from '@nv/media';
import { TEXT, TextDetector, TextRecognizer } from '@nv/ocr';
import { OnnxDetector } from '@nv/onnx';
import { RemoteExecutor } from '@nv/remote';
import type { Stage } from '@nv/perception';
import { Runtime, feedConfigFromSettings, type FeedHandle, type FeedSettings, type OutputEnvelope, type StopError } from '@nv/runtime';
import { TrackerStage } from '@nv/tracking';
import { AnalyticsStage, EventClipStage, type AnalyticsConfig } from '@nv/analytics';
import { createWriteStream, existsSync, rmSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { JobConfig } from './config-file.js';
import { outputToJson } from './jsonl.js';
import { ensureOutputStream } from '@nv/sinks';
import { Publisher, natsServerAndBase, sinkEventLine, type SinkPlan } from './publish.js';
import { isFinite } from './sources.js';
import { AnnotateStage, FrameLimitStage } from './stages.js';
import { CONNECTED, nextSourceLink, renderStatus, type FeedStatus, type SourceLink } from './status.js';

/**
 * Where the CLI writes (injectable for tests). An Io with a `status` display prints every
 * `out`/`err` line above the display, never over it (see `terminalIo`).
 */
export interface Io {
  /** One line of regular output (stdout). */
  readonly out: (line: string) => void;
  /** One line of diagnostics: errors, warnings (stderr). */
  readonly err: (line: string) => void;
  /**
   * The live status display, only on a terminal: `lines` (one per feed) replace what it showed
   * before; `[]` erases it.
   */
  readonly status?: (lines: readonly string[]) => void;
  /** Width of the status display in columns (default 80). */
  readonly columns?: number;
  /** Terminal height in rows: the status display uses at most `rows - 1` lines. */
  readonly rows?: number;
}

/**
 * Exit codes of the `nv` command: 0 ok; 1 failed (any other failure); 2 usage (bad arguments or
 * config, refused by policy); 3 source (missing, unreadable, unreachable or refusing — also a feed
 * that stopped on a media error); 4 model (missing, or a stage that failed to load its model);
 * 130 interrupted.
 */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, source: 3, model: 4, interrupted: 130 });

/**
 * The exit code of a feed that stopped on `error` (its stop reason's typed kind, never its message).
 * @param error - `StopReason.error` of a `Fatal` or `RestartLimitExceeded` stop
 * @returns {@link EXIT}`.model` for a model that failed to load, `.source` for any media error, else `.failed`
 */
export function exitCodeOf(error: StopError): number {
  if (error.category === 'stage' && error.kind === 'ModelLoadFailed') return EXIT.model;
  if (error.category === 'media') return EXIT.source;
  return EXIT.failed;
}

/** A job's failure with the exit code it maps to (one line of message, no `nv:` prefix). */
export class JobError extends Error {
  /**
   * @param message - what went wrong, in one line
   * @param code - the exit code (an {@link EXIT} value)
   */
  constructor(message: string, readonly code: number) { super(message); }
}

/** A resolved job: feeds, stages, outputs. */
export interface JobPlan {
  /** Feed settings, one per feed (a feed's optional `name` labels it everywhere). */
  readonly feeds: readonly FeedSettings[];
  /** The ONNX detector, if any. */
  readonly detector?: JobConfig['detector'];
  /** Text recognition options, or `false` for none. */
  readonly ocr: false | Exclude<JobConfig['ocr'], boolean | undefined> | Record<string, never>;
  /** Tracker options, or `false` for none. */
  readonly track: false | Exclude<JobConfig['track'], boolean | undefined> | Record<string, never>;
  /**
   * Zones, lines and dwell for every feed without its own (`--zones`, a config file's
   * `analytics:`); needs tracks, so the plan has the tracker on whenever any feed has analytics.
   */
  readonly analytics?: AnalyticsConfig | undefined;
  /** Per feed (same order as `feeds`): that feed's own analytics, which replaces the job's. */
  readonly feedAnalytics?: readonly (AnalyticsConfig | undefined)[] | undefined;
  /** Event/output sinks (`--mqtt`, `--nats`, `--webhook`, a config file's `sinks:`); `field` names the flag or config field in errors. */
  readonly sinks?: readonly (SinkPlan & { readonly field: string })[] | undefined;
  /** `--nats-stream NAME`: ensure this JetStream stream over each NATS sink's base subject before starting. */
  readonly natsStream?: string | undefined;
  /** Event clips of every feed with analytics (`--clips DIR`, a config file's `clips:`). */
  readonly clips?: JobConfig['clips'] | undefined;
  /** JSON-lines output file. */
  readonly out?: string | undefined;
  /** Annotated MP4 (`-feedN` is added before `.mp4` when there are several feeds). */
  readonly annotate?: string | undefined;
  /** Stop each feed after this many frames. */
  readonly maxFrames?: number | undefined;
  /**
   * Frames of a feed the detector (or, for OCR alone, the text detector) works on at once; the
   * stages after it, the temporal commit and the outputs stay in frame order. Default 1 (serial).
   */
  readonly parallel?: number | undefined;
  /**
   * Run `custom` sources and post-decode hooks (`nv run --allow-custom-pipeline`; default false).
   * The operator's switch: feed settings (a config file) can never set it.
   */
  readonly allowCustomPipeline?: boolean | undefined;
}

interface TrackSummary { id: TrackId; feed: number; classId: number; text: string; confidence: number; first: number; last: number; frames: number }

/** What a finished job reports. */
export interface JobResult {
  /** The exit code (an {@link EXIT} value): the worst of the feeds'. */
  readonly code: number;
  /**
   * Per feed: id, name, source (credentials redacted), counts, frames/s and why it stopped:
   * `end of stream`, `frame limit (N)`, `stopped` (interrupted), `failed` (the failure itself is
   * printed once on `err`), `failed (restart limit exceeded)`.
   */
  readonly feeds: { id: number; name: string | undefined; source: string; processed: number; dropped: number; failed: number; fps: number; stopReason: string }[];
  /** Tracks seen in at least 3 frames, with their best recognized text. */
  readonly tracks: TrackSummary[];
  /** The JSON-lines file, when this run wrote it. */
  readonly outPath: string | undefined;
  /** Annotated MP4s written (those that got at least one frame). */
  readonly annotated: string[];
  /** Each sink: messages delivered and not delivered (credentials redacted). */
  readonly sinks: { name: string; target: string; delivered: number; dropped: number }[];
  /** Event clips written (`--clips`), when any feed recorded them. */
  readonly clips?: { dir: string; written: number; failed: number } | undefined;
}

function annotatePath(base: string, index: number, n: number): string {
  if (n === 1) return base;
  const ext = extname(base) || '.mp4';
  return join(dirname(base), `${basename(base, ext)}-feed${index + 1}${ext}`);
}

function describeSource(s: SourceSpec): string {
  switch (s.kind) {
    case 'file': return s.path;
    case 'rtsp': return redactUrl(s.url);
    case 'v4l2': return s.device;
    case 'testPattern': return `testpattern:${s.pattern}`;
    case 'custom': return 'custom pipeline';
  }
}

/** `feed 2 [gate] (rtsp://***@cam/live)`: how messages name a feed. */
function feedLabel(i: number, f: FeedSettings): string {
  return `feed ${i + 1}${f.name !== undefined ? ` [${f.name}]` : ''} (${describeSource(f.source as SourceSpec)})`;
}

const usage = (message: string) => new JobError(message, EXIT.usage);

function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/**
 * Checks what can be checked before anything starts or any file is written — usage errors
 * first (exit 2), then missing sources (3) and models (4).
 */
function preflight(plan: JobPlan): void {
  if (plan.feeds.length === 0) throw usage('no source given (nv run <file | rtsp://… | /dev/videoN | testpattern:NAME>)');
  const names = new Map<string, number>();
  plan.feeds.forEach((f, i) => {
    if (f.name === undefined) return;
    const j = names.get(f.name);
    if (j !== undefined) throw usage(`feeds ${j + 1} and ${i + 1} are both named '${f.name}' (feed names must be unique)`);
    names.set(f.name, i);
  });
  if (plan.annotate !== undefined && !/\.mp4$/i.test(plan.annotate)) {
    throw usage(`--annotate '${plan.annotate}' must end in .mp4 (the annotated video is written as an H.264 MP4)`);
  }
  const outputs: [flag: string, path: string][] = [];
  if (plan.out !== undefined) outputs.push(['--out', plan.out]);
  if (plan.annotate !== undefined) for (let i = 0; i < plan.feeds.length; i++) outputs.push(['--annotate', annotatePath(plan.annotate, i, plan.feeds.length)]);
  const sources = new Set(plan.feeds.flatMap((f) => ((f.source as SourceSpec).kind === 'file' ? [resolve((f.source as { path: string }).path)] : [])));
  for (const [flag, p] of outputs) {
    if (/[\\/]$/.test(p) || isDirectory(p)) throw usage(`${flag} '${p}' is a directory; give a file path (e.g. '${join(p, flag === '--out' ? 'outputs.jsonl' : 'annotated.mp4')}')`);
    if (!isDirectory(dirname(p))) throw usage(`output directory does not exist: ${dirname(p)}`);
    if (sources.has(resolve(p))) throw usage(`${flag} '${p}' is one of the sources (it would be overwritten)`);
  }
  if (plan.out !== undefined && plan.annotate !== undefined && resolve(plan.out) === resolve(plan.annotate)) throw usage(`--out and --annotate are the same file: ${plan.out}`);
  plan.feeds.forEach((f, i) => checkPolicies(f, i, plan.allowCustomPipeline === true));
  // A worker-isolated feed (`isolation:` in a config file) runs only the stages its module builds, in the worker.
  const cliStages = [plan.detector && '--detector', plan.ocr && '--ocr', plan.track && '--track', plan.annotate !== undefined && '--annotate'].filter(Boolean);
  if (plan.parallel !== undefined && plan.parallel > 64) throw usage(`--parallel ${plan.parallel}: at most 64 frames at once`);
  if (plan.parallel !== undefined && plan.parallel > 1 && !plan.detector && !plan.ocr) {
    throw usage('--parallel runs the detector on several frames at once: give --detector (or --ocr)');
  }
  plan.feeds.forEach((f, i) => {
    if (plan.parallel !== undefined && plan.parallel > 1 && f.isolation !== undefined) {
      throw usage(`${feedLabel(i, f)}: --parallel cannot apply to an isolated feed (isolation:); its module builds its own pipeline`);
    }
    if (f.isolation !== undefined && cliStages.length > 0) {
      throw usage(`${feedLabel(i, f)}: an isolated feed (isolation:) runs only the stages its module builds, in a worker; ${cliStages.join(', ')} cannot apply to it`);
    }
  });
  for (const f of plan.feeds) {
    const s = f.source as SourceSpec;
    if (s.kind === 'file') {
      let ok = false;
      try { ok = statSync(s.path).isFile(); } catch { /* below */ }
      if (!ok) throw new JobError(`source not found: ${s.path}`, EXIT.source);
    }
  }
  if (plan.detector && !existsSync(plan.detector.model)) throw new JobError(`model not found: ${plan.detector.model}`, EXIT.model);
}

/**
 * What the media layer would refuse when the feed starts — a custom pipeline or post-decode
 * hook without `--allow-custom-pipeline`, plain RTSP under `requireTls`, bad output
 * options — refused now as usage errors, with the fix.
 * @throws {JobError} exit code 2
 */
function checkPolicies(f: FeedSettings, i: number, allowCustomPipeline: boolean): void {
  const spec = f.source as SourceSpec;
  try {
    buildPipeline(spec, f.media?.output ?? {}, { customPipelinePolicy: allowCustomPipeline ? 'allowTrusted' : 'reject' });
  } catch (e) {
    throw refusal(e, feedLabel(i, f)) ?? e;
  }
}

/** A usage {@link JobError} for a config or policy refusal of feed `label`, or undefined for other errors. */
function refusal(e: unknown, label: string): JobError | undefined {
  if (MediaError.isInstance(e) && e.kind === 'CustomPipelineRejected') {
    return usage(`${label}: custom pipelines and post-decode hooks are refused without --allow-custom-pipeline (only for configs you trust)`);
  }
  if (MediaError.isInstance(e) && e.kind === 'InsecureRtspRejected') {
    return usage(`${label}: plain rtsp:// is refused under security: requireTls (use an rtsps:// URL or another security policy)`);
  }
  if (InvalidArgumentError.isInstance(e) || ConfigError.isInstance(e)) return usage(`${label}: ${e.message}`);
  return undefined;
}

/**
 * The executor of a detector with `remote:` (`--remote-inference`): runs go to `nv worker`
 * processes over NATS. It is the detector's own, one per feed; its NATS connection opens when
 * the detector starts and closes when the detector stops (releases its model), so nothing else
 * has to release it.
 * @throws {JobError} usage, for an invalid URL or option (shown without credentials)
 */
function remoteExecutor(r: NonNullable<NonNullable<JobPlan['detector']>['remote']>): RemoteExecutor {
  try {
    return new RemoteExecutor({
      servers: r.nats,
      ...(r.subject !== undefined ? { subject: r.subject } : {}),
      ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
      ...(r.maxInFlight !== undefined ? { maxInFlight: r.maxInFlight } : {}),
    });
  } catch (e) {
    throw usage(`detector.remote: ${(e as Error).message}`);
  }
}

/**
 * The stages of one feed of a job: frame limit, detector (or text detector), tracker, OCR,
 * analytics (zones, lines), annotated-video writer, as the plan asks.
 * @param plan - the job plan
 * @param feedIndex - the feed's index (names its annotated MP4 when there are several)
 * @param fps - the feed's frame rate (for the MP4)
 * @param limit - the frame-limit stage, first when given
 * @param feed - this feed's own analytics (wins over the plan's per-index and job-wide ones) and
 *   name (names its clip files)
 * @returns the stages, `head` (how many of them — the frame limit and the detector — form the parallel head), the annotate stage
 */
export function buildStages(
  plan: JobPlan, feedIndex: number, fps: number, limit: FrameLimitStage | undefined, feed: { readonly analytics?: AnalyticsConfig | undefined; readonly name?: string | undefined } = {},
): { stages: Stage[]; head: number; annotate?: AnnotateStage; clips?: EventClipStage } {
  const stages: Stage[] = [];
  if (limit) stages.push(limit);
  if (plan.detector) {
    stages.push(new OnnxDetector({
      modelPath: plan.detector.model,
      ...(plan.detector.classNames ? { classNames: plan.detector.classNames } : {}),
      ...(plan.detector.scoreThreshold !== undefined ? { scoreThreshold: plan.detector.scoreThreshold } : {}),
      ...(plan.detector.iouThreshold !== undefined ? { iouThreshold: plan.detector.iouThreshold } : {}),
      ...(plan.detector.threads ? { intraOpNumThreads: plan.detector.threads } : {}),
      ...(plan.detector.remote ? { executor: remoteExecutor(plan.detector.remote) } : {}),
    } as ConstructorParameters<typeof OnnxDetector>[0]));
  } else if (plan.ocr) {
    const o = plan.ocr as { limitSideLen?: number; threads?: number };
    stages.push(new TextDetector({ ...(o.limitSideLen ? { limitSideLen: o.limitSideLen } : {}), ...(o.threads ? { intraOpNumThreads: o.threads } : {}) }));
  }
  const head = stages.length;
  const analytics = feed.analytics ?? plan.feedAnalytics?.[feedIndex] ?? plan.analytics;
  const hasAnalytics = analytics !== undefined && (analytics.zones.length > 0 || analytics.lines.length > 0);
  // Zones and lines work on tracks: a feed with analytics gets the tracker (with defaults) even
  // when the job has none (e.g. a feed added over nv serve's API with its own analytics).
  if (plan.track || hasAnalytics) stages.push(new TrackerStage({ ...(plan.track || {}) }));
  if (plan.ocr) {
    const o = plan.ocr as { minConfidence?: number; threads?: number };
    stages.push(new TextRecognizer({ ...(o.minConfidence !== undefined ? { minConfidence: o.minConfidence } : {}), ...(o.threads ? { intraOpNumThreads: o.threads } : {}) }));
  }
  let clips: EventClipStage | undefined;
  if (hasAnalytics) {
    stages.push(new AnalyticsStage(analytics));
    if (plan.clips) {
      const name = feed.name ?? plan.feeds[feedIndex]?.name ?? `feed${feedIndex + 1}`;
      const { dir, ...clip } = plan.clips;
      clips = new EventClipStage({ ...clip, dir, prefix: name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || 'feed' });
      stages.push(clips);
    }
  }
  let annotate: AnnotateStage | undefined;
  if (plan.annotate) {
    annotate = new AnnotateStage(annotatePath(plan.annotate, feedIndex, plan.feeds.length), fps, plan.detector?.classNames ?? (plan.ocr ? ['text'] : undefined));
    stages.push(annotate);
  }
  return { stages, head, ...(annotate ? { annotate } : {}), ...(clips ? { clips } : {}) };
}

/** The JSON-lines file, opened on the first line: a job that fails before its first output leaves no file (and an existing one untouched). */
class JsonLinesFile {
  #stream: WriteStream | undefined;
  #error: Error | undefined;
  #lines = 0;
  constructor(readonly path: string) {}
  get error(): Error | undefined { return this.#error; }
  get lines(): number { return this.#lines; }
  write(line: string): void {
    if (this.#error) return;
    if (!this.#stream) {
      this.#stream = createWriteStream(this.path);
      this.#stream.on('error', (e) => { this.#error ??= e; });
    }
    this.#stream.write(line);
    this.#lines++;
  }
  /**
   * Flushes and closes. With no line written, creates the (empty) file only when `keepEmpty`.
   * @returns whether the file was written by this run
   */
  async close(keepEmpty: boolean): Promise<boolean> {
    const s = this.#stream;
    if (s) {
      await new Promise<void>((r) => { s.end(() => r()); });
      return true;
    }
    if (!keepEmpty || this.#error) return false;
    try { writeFileSync(this.path, ''); return true; } catch (e) { this.#error = e as Error; return false; }
  }
}

/**
 * `--nats-stream NAME`: makes sure a bounded JetStream stream (24 h, 1 GiB, oldest dropped,
 * 2 min dedupe window) covers each NATS sink's base subject, so its publishes are stored and
 * deduplicated by message id.
 * @param plan - the job's sinks and stream name
 * @throws {JobError} the server cannot be reached or has no JetStream (exit 3)
 */
export async function ensureStreams(plan: Pick<JobPlan, 'sinks' | 'natsStream'>): Promise<void> {
  if (plan.natsStream === undefined) return;
  for (const s of plan.sinks ?? []) {
    if (!/^nats:/i.test(s.url)) continue;
    const { server, base } = natsServerAndBase(s.url);
    try {
      await ensureOutputStream({ url: server, name: plan.natsStream, subjects: [base === '' ? '>' : `${base}.>`] });
    } catch (e) {
      if (ConfigError.isInstance(e)) throw e;
      throw new JobError(`--nats-stream ${plan.natsStream}: ${(e as Error).message}`, EXIT.source);
    }
  }
}

/** At most this many distinct stage-error lines per feed; the summary counts the rest. */
const MAX_STAGE_ERROR_LINES = 5;

/**
 * Prints each problem once: a line already printed for the feed (or one containing it) is not
 * repeated, and the same problem of another feed is printed as "same failure as feed N".
 */
class Problems {
  readonly #printed = new Map<number, string[]>();
  readonly #firstFeed = new Map<string, number>();
  readonly #stageErrors = new Map<number, number>();
  constructor(readonly io: Io, readonly labels: readonly string[]) {}
  /** @returns whether it was printed */
  report(i: number, text: string): boolean {
    const seen = this.#printed.get(i) ?? [];
    if (seen.some((p) => p.includes(text))) return false;
    seen.push(text);
    this.#printed.set(i, seen);
    const first = this.#firstFeed.get(text);
    if (first === undefined) this.#firstFeed.set(text, i);
    this.io.err(`nv: ${this.labels[i]}: ${first === undefined ? text : `same failure as feed ${first + 1}`}`);
    return true;
  }
  stageError(i: number, text: string): void {
    const n = this.#stageErrors.get(i) ?? 0;
    if (n > MAX_STAGE_ERROR_LINES) return;
    if (n === MAX_STAGE_ERROR_LINES) {
      this.#stageErrors.set(i, n + 1);
      this.io.err(`nv: ${this.labels[i]}: more stage errors are not shown (the summary counts the failed frames)`);
      return;
    }
    if (this.report(i, text)) this.#stageErrors.set(i, n + 1);
  }
}

interface JobFeed {
  readonly index: number;
  readonly handle: FeedHandle;
  readonly settings: FeedSettings;
  readonly source: string;
  readonly expected: number | undefined;
  readonly annotate: AnnotateStage | undefined;
  readonly started: number;
  link: SourceLink;
  outcome: FeedStatus['outcome'];
  code: number;
  limitReached: boolean;
}

/**
 * Runs a job to completion (end of every file, `maxFrames`, or `signal` aborted: a draining
 * stop). Never throws for runtime failures: each is printed once, on its own line, when its
 * feed ends, and maps to the result's exit code. Shows a status display (one line per feed)
 * while it runs when `io` has one.
 * @param plan - the resolved job
 * @param io - where lines and the status display go
 * @param signal - aborting it stops every feed, draining
 * @returns the per-feed results, the tracks, the files written and the exit code
 * @throws {JobError} for problems found before starting: usage errors (bad output paths,
 *   refused pipelines, duplicate feed names; exit 2), a missing or unreadable source (3), a
 *   missing model (4). No output file is created then.
 */
export async function runJob(plan: JobPlan, io: Io, signal?: AbortSignal): Promise<JobResult> {
  preflight(plan);
  const labels = plan.feeds.map((f, i) => feedLabel(i, f));
  // Every file is probed before anything starts: an unreadable one fails the job up front.
  const probed: { fps: number; expected: number | undefined }[] = [];
  for (const settings of plan.feeds) {
    const spec = settings.source as SourceSpec;
    let fps = 30;
    let expected: number | undefined;
    if (isFinite(spec) && spec.kind === 'file') {
      try {
        const p = await probeSource(spec, { timeoutMs: 15_000 });
        fps = p.fps ?? 30;
        if (p.durationMs) expected = Math.round((p.durationMs / 1000) * fps);
      } catch (e) {
        throw new JobError(`cannot read ${describeSource(spec)}: ${(e as Error).message}`, EXIT.source);
      }
    } else if (spec.kind === 'testPattern') {
      fps = spec.fps; expected = spec.frames;
    }
    if (plan.maxFrames) expected = Math.min(expected ?? plan.maxFrames, plan.maxFrames);
    probed.push({ fps, expected });
  }

  const clipStages: EventClipStage[] = [];
  // Sinks open before anything starts: a bad URL is a usage error with no output written.
  await ensureStreams(plan);
  const publisher = new Publisher(plan.sinks ?? [], (e) => { io.err(`nv: ${sinkEventLine(e)}`); });
  const rt = new Runtime();
  const problems = new Problems(io, labels);
  const out = plan.out !== undefined ? new JsonLinesFile(plan.out) : undefined;
  const tracks = new Map<string, TrackSummary>();
  const feeds: JobFeed[] = [];
  const byId = new Map<FeedId, JobFeed>();
  const classNames = plan.detector?.classNames;
  let statusOn = io.status !== undefined;

  const statusOf = (f: JobFeed): FeedStatus => {
    const m = f.handle.metrics();
    const secs = (performance.now() - f.started) / 1000;
    return {
      label: f.settings.name ?? `feed ${f.index + 1}`, processed: m.framesProcessed, received: m.framesReceived, expected: f.expected,
      fps: secs > 0 ? m.framesProcessed / secs : 0, drops: m.framesDropped + m.outputsDropped, state: f.handle.state(), link: f.link, outcome: f.outcome,
    };
  };
  const redraw = () => {
    if (!statusOn || !feeds.length) return;
    io.status?.(renderStatus(feeds.map(statusOf), { columns: io.columns ?? 80, ...(io.rows ? { maxLines: Math.max(1, io.rows - 1) } : {}) }));
  };

  rt.onHealth((e: HealthEvent) => {
    const f = 'feedId' in e ? byId.get(e.feedId) : undefined;
    if (!f) return;
    if (e.type === 'SourceReconnecting' || e.type === 'SourceDisconnected' || e.type === 'SourceConnected') {
      const next = nextSourceLink(f.link, e, f.handle.metrics().framesReceived);
      if (next !== f.link) { f.link = next; redraw(); }
    } else if (e.type === 'StageError') {
      problems.stageError(f.index, `stage '${e.stageId}': ${e.error.message}`);
    } else if (e.type === 'StagePanic') {
      problems.report(f.index, `stage '${e.stageId}' crashed: ${e.detail}`);
    }
  });

  for (let i = 0; i < plan.feeds.length; i++) {
    const settings = plan.feeds[i]!;
    const spec = settings.source as SourceSpec;
    const { fps, expected } = probed[i]!;
    // An isolated feed's stages come from its module, in a worker: its frame limit is counted at the sink.
    const isolated = settings.isolation !== undefined;
    const limit = plan.maxFrames && !isolated ? new FrameLimitStage(plan.maxFrames) : undefined;
    let sinkLimit: (() => void) | undefined;
    let emitted = 0;
    const live = !isFinite(spec);
    let handle: FeedHandle;
    let annotate: AnnotateStage | undefined;
    try {
      // Inside the try: a stage that refuses its options (e.g. clip bounds) ends the job cleanly
      // (runtime and sinks closed, a usage error) instead of leaving sinks connected.
      const built = isolated ? { stages: [] as Stage[], head: 0, annotate: undefined } : buildStages(plan, i, fps, limit);
      const { stages, head } = built;
      annotate = built.annotate;
      if (built.clips) clipStages.push(built.clips);
      const cfg = feedConfigFromSettings({
        ...settings,
        source: spec,
        backpressure: settings.backpressure ?? (live ? { kind: 'dropOldest', queueDepth: 4 } : { kind: 'block', queueDepth: 4 }),
        // The CLI fails fast: live sources reconnect inside the media layer (5 attempts, 0.5 → 4 s)
        // and a feed whose source is gone for good ends the job instead of restarting; config
        // files can ask for other policies.
        restart: settings.restart ?? { restartOn: 'never' },
        media: { ...settings.media, reconnect: settings.media?.reconnect ?? { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 4000 } },
        sinkQueueCapacity: settings.sinkQueueCapacity ?? 1024,
        ...(plan.parallel !== undefined && plan.parallel > 1 && !isolated ? { parallel: { width: plan.parallel, headStages: head } } : {}),
      }, {
        ...(isolated ? {} : { stages }),
        // The operator's flag, as a code option: settings cannot carry it.
        customPipelinePolicy: plan.allowCustomPipeline === true ? 'allowTrusted' : 'reject',
        sink: {
          emit: (o: OutputEnvelope) => {
            if (sinkLimit && emitted >= plan.maxFrames!) return; // an isolated feed past its limit, still stopping
            out?.write(`${JSON.stringify(outputToJson(o, classNames))}\n`);
            if (publisher.active) publisher.publish(o, classNames);
            for (const t of o.artifacts.tracks) {
              const key = `${o.feedId}:${t.id}`;
              let s = tracks.get(key);
              if (!s) { s = { id: t.id, feed: o.feedId, classId: t.classId, text: '', confidence: 0, first: o.seq, last: o.seq, frames: 0 }; tracks.set(key, s); }
              s.last = o.seq;
              if (t.state === 'confirmed' || t.state === 'tentative') s.frames++;
              const r = t.metadata.get(TEXT);
              if (r && r.confidence >= s.confidence) { s.text = r.text; s.confidence = r.confidence; }
            }
            if (sinkLimit && ++emitted === plan.maxFrames) sinkLimit();
          },
        },
      });
      // Recognized text comes back from the worker under its key name: map it onto this TEXT key.
      handle = rt.addFeed(cfg.isolation ? { ...cfg, isolation: { ...cfg.isolation, metadataKeys: [TEXT] } } : cfg);
    } catch (e) {
      await rt.shutdown();
      await publisher.close(0);
      throw refusal(e, labels[i]!) ?? e;
    }
    const f: JobFeed = {
      index: i, handle, settings, source: describeSource(spec), expected, annotate, started: performance.now(), link: CONNECTED, outcome: undefined,
      code: EXIT.ok, limitReached: false,
    };
    if (limit) limit.onLimit = () => { f.limitReached = true; void handle.stop(); };
    else if (isolated && plan.maxFrames) sinkLimit = () => { f.limitReached = true; void handle.stop(); };
    feeds.push(f);
    byId.set(handle.id, f);
  }

  let interrupted = false;
  /** A feed has ended: its outcome, its exit code, and its failure printed once. */
  const ended = (f: JobFeed) => {
    const d = f.handle.diagnostics();
    const sr = d.stopReason;
    if (sr?.kind === 'Fatal' || sr?.kind === 'RestartLimitExceeded') {
      const detail = sr.kind === 'Fatal' ? sr.detail : `restart limit exceeded after ${sr.restartCount} restarts${d.lastError ? `; last error: ${d.lastError}` : ''}`;
      f.outcome = 'failed';
      f.code = exitCodeOf(sr.error);
      problems.report(f.index, detail);
    } else {
      f.outcome = interrupted ? 'stopped' : 'done';
    }
    redraw();
  };
  const onAbort = () => { interrupted = true; void rt.shutdown(); };
  signal?.addEventListener('abort', onAbort, { once: true });
  redraw();
  const timer = statusOn ? setInterval(redraw, 500) : undefined;
  try {
    await Promise.all(feeds.map((f) => f.handle.done.then(() => ended(f))));
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearInterval(timer);
    if (statusOn) { statusOn = false; io.status?.([]); }
  }
  const diag = feeds.map((f) => f.handle.diagnostics());
  await rt.shutdown();
  // Every output is in the sinks' queues now: deliver within 5 s each, then report.
  const sinkStats = await publisher.close(5000);
  for (const s of sinkStats) {
    const lost = s.dropped.total;
    if (lost > 0) io.err(`nv: sink ${s.name} (${s.target}): ${lost} message${lost === 1 ? '' : 's'} not delivered (${Object.entries(s.dropped).filter(([k, v]) => k !== 'total' && v > 0).map(([k, v]) => `${v} ${k}`).join(', ')})`);
  }

  let code: number = Math.max(EXIT.ok, ...feeds.map((f) => f.code));
  const wroteOut = out ? await out.close(code === EXIT.ok) : false;
  if (out?.error) { io.err(`nv: cannot write ${plan.out}: ${out.error.message}`); code = Math.max(code, EXIT.failed); }
  const annotated: string[] = [];
  for (const f of feeds) {
    const a = f.annotate;
    if (!a) continue;
    if (a.framesWritten > 0) annotated.push(a.path);
    else if (a.opened) rmSync(a.path, { force: true }); // an encoder that got no frame leaves no file
  }
  const result: JobResult['feeds'] = feeds.map((f, i) => {
    const d = diag[i]!;
    const secs = (performance.now() - f.started) / 1000;
    const sr = d.stopReason;
    const reason = !sr ? 'running'
      : sr.kind === 'Fatal' ? 'failed'
      : sr.kind === 'RestartLimitExceeded' ? 'failed (restart limit exceeded)'
      : sr.kind === 'EndOfStream' ? 'end of stream'
      : f.limitReached && !interrupted ? `frame limit (${plan.maxFrames})` : 'stopped';
    return {
      id: d.id, name: f.settings.name, source: f.source, processed: d.metrics.framesProcessed, dropped: d.metrics.framesDropped + d.metrics.outputsDropped,
      failed: d.metrics.framesFailed, fps: secs > 0 ? d.metrics.framesProcessed / secs : 0, stopReason: reason,
    };
  });
  return {
    clips: plan.clips && clipStages.length > 0 ? { dir: plan.clips.dir, written: clipStages.reduce((a, c) => a + c.stats().written, 0), failed: clipStages.reduce((a, c) => a + c.stats().failed, 0) } : undefined,
    code, feeds: result, sinks: sinkStats.map((s) => ({ name: s.name, target: s.target, delivered: s.delivered, dropped: s.dropped.total })), outPath: wroteOut && !out?.error ? plan.out : undefined,
    tracks: [...tracks.values()].filter((t) => t.frames >= 3).sort((a, b) => a.feed - b.feed || a.first - b.first),
    annotated,
  };
}

/**
 * Prints a job's summary: per feed, per track (with text), output paths.
 * @param r - the job's result
 * @param io - where it goes (`out` lines)
 */
export function printSummary(r: JobResult, io: Io): void {
  for (const f of r.feeds) {
    io.out(`feed ${f.id}${f.name !== undefined ? ` [${f.name}]` : ''} ${f.source}: ${f.processed} frames processed, ${f.dropped} dropped, ${f.failed} failed, ${f.fps.toFixed(1)} frames/s — ${f.stopReason}`);
  }
  if (r.tracks.length) {
    io.out('');
    io.out('track  feed  text                  conf   first  last  frames');
    for (const t of r.tracks) {
      io.out(`${String(t.id).padStart(5)}  ${String(t.feed).padStart(4)}  ${(t.text || '-').padEnd(20)}  ${t.confidence ? t.confidence.toFixed(2) : '  - '}  ${String(t.first).padStart(5)}  ${String(t.last).padStart(4)}  ${String(t.frames).padStart(6)}`);
    }
  }
  io.out('');
  if (r.outPath) io.out(`outputs:  ${r.outPath}`);
  for (const a of r.annotated) io.out(`video:    ${a}`);
  if (r.clips) io.out(`clips:    ${r.clips.dir} (${r.clips.written} written${r.clips.failed > 0 ? `, ${r.clips.failed} failed` : ''})`);
  for (const k of r.sinks) io.out(`sink:     ${k.name} ${k.target}: ${k.delivered} delivered${k.dropped > 0 ? `, ${k.dropped} not delivered` : ''}`);
}

