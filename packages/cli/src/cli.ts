/**
 * The `nv` command line: `nv run`, `nv serve`, `nv outputs`, `nv cluster`, `nv node`, `nv worker`, `nv probe`, `nv demo`.
 */
import { ConfigError, MediaError, NvError, parseConfig } from '@nv/core';
import { probeSource } from '@nv/media';
import { FeedNameSchema, FeedSettingsSchema, type FeedSettings } from '@nv/runtime';
import type { NvServer } from '@nv/server';
import { Command, CommanderError, InvalidArgumentError as CommanderArgError } from 'commander';
import { readFileSync } from 'node:fs';
import { positiveInt, portNumber } from './args.js';
import { loadJobConfig, loadZonesFile, type JobConfig } from './config-file.js';
import { runDemo } from './demo.js';
import { EXIT, JobError, printSummary, runJob, type Io, type JobPlan } from './job.js';
import type { PublishWhat } from './publish.js';
import { readOutputs } from './outputs.js';
import { runServe } from './serve.js';
import { sourceFromArg } from './sources.js';
import { terminalIo } from './terminal.js';
import { registerWorkerCommand } from './worker.js';
import { registerClusterCommands } from './cluster.js';

/** Options of {@link runCli}. */
export interface CliOptions {
  /** Where output goes (default: stdout/stderr, with a status display when stderr is a terminal). */
  readonly io?: Io;
  /** Aborted on Ctrl-C (the binary wires SIGINT to it). */
  readonly signal?: AbortSignal;
  /** `nv serve`: called once the server is listening and its feeds are added (tests). */
  readonly onServeReady?: (url: string, server: NvServer<FeedSettings>) => void;
}

/**
 * The version of `@nv/cli`, read from its `package.json` (next to `src/` and `dist/`).
 * @returns e.g. `0.1.0`
 */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}


function collect(v: string, previous: string[] | undefined): string[] { return [...(previous ?? []), v]; }

/**
 * Merges the config file (if any) and the flags into a job plan.
 * @throws {JobError} usage: more `--name`s than sources, an invalid name
 * @throws {ConfigError} an invalid config file or source argument
 */
function planFrom(sources: string[], flags: Record<string, unknown>, loaded?: JobConfig): JobPlan {
  const file: JobConfig = loaded ?? (typeof flags['config'] === 'string' ? loadJobConfig(flags['config']) : {});
  // A feed's own `analytics` is a job setting (it builds a stage), not a runtime feed setting.
  const feedAnalytics = (file.feeds ?? []).map((f) => f.analytics);
  const feeds: FeedSettings[] = (file.feeds ?? []).map(({ analytics: _a, ...f }) => f);
  const names = (flags['name'] as string[] | undefined) ?? [];
  if (names.length > sources.length) {
    const n = sources.length;
    throw new JobError(`--name given ${names.length} times for ${n === 0 ? 'no source' : n === 1 ? '1 source' : `${n} sources`} on the command line (one --name per source, in order; config file feeds take a name: field)`, EXIT.usage);
  }
  for (const name of names) {
    const r = FeedNameSchema.safeParse(name);
    if (!r.success) throw new JobError(`--name ${JSON.stringify(name)}: ${r.error.issues[0]?.message ?? 'invalid name'}`, EXIT.usage);
  }
  sources.forEach((s, i) => {
    const name = names[i];
    feedAnalytics.push(undefined);
    feeds.push(parseConfig(FeedSettingsSchema, { ...(name !== undefined ? { name } : {}), source: sourceFromArg(s), cameraMode: 'fixed' }, `source '${s}'`));
  });
  // Only the operator's flag allows custom pipelines and post-decode hooks (a config file cannot):
  // the job passes it to the runtime as a code option, never as a feed setting.
  const allowCustomPipeline = flags['allowCustomPipeline'] === true;
  const detector = typeof flags['detector'] === 'string'
    ? { ...file.detector, model: flags['detector'], ...(typeof flags['classes'] === 'string' ? { classNames: flags['classes'].split(',').map((x) => x.trim()) } : {}) }
    : file.detector;
  const ocr = flags['ocr'] ? (typeof file.ocr === 'object' ? file.ocr : {}) : file.ocr ? (file.ocr === true ? {} : file.ocr) : false;
  const analytics = typeof flags['zones'] === 'string' ? loadZonesFile(flags['zones']) : file.analytics;
  const anyAnalytics = analytics !== undefined || feedAnalytics.some((a) => a !== undefined);
  const askedTrack = flags['track'] ? (typeof file.track === 'object' ? file.track : {}) : file.track ? (file.track === true ? {} : file.track) : false;
  if ((typeof flags['clips'] === 'string' || file.clips) && !anyAnalytics) {
    throw new JobError('--clips records the events of zones and lines: give them with --zones file.yaml (or analytics: in the config)', EXIT.usage);
  }
  if (typeof flags['remoteInference'] === 'string' && !detector) throw new JobError('--remote-inference runs the detector on nv worker processes: give --detector (or detector: in the config)', EXIT.usage);
  // Zones and lines work on tracks: analytics turns the tracker on (with its defaults).
  const track = askedTrack === false && anyAnalytics ? {} : askedTrack;
  return {
    feeds, ocr, track, allowCustomPipeline,
    ...(analytics ? { analytics } : {}),
    ...(feedAnalytics.some((a) => a !== undefined) ? { feedAnalytics } : {}),
    ...sinkPlans(flags, file),
    ...(typeof flags['clips'] === 'string' ? { clips: { ...file.clips, dir: flags['clips'] } } : file.clips ? { clips: file.clips } : {}),
    ...(detector ? { detector: typeof flags['remoteInference'] === 'string' ? { ...detector, remote: { ...detector.remote, nats: flags['remoteInference'] as string } } : detector } : {}),
    out: (flags['out'] as string | undefined) ?? file.out,
    annotate: (flags['annotate'] as string | undefined) ?? file.annotate,
    maxFrames: (flags['maxFrames'] as number | undefined) ?? file.maxFrames,
    parallel: (flags['parallel'] as number | undefined) ?? file.parallel,
  };
}

/** The sinks of the config file, then those of `--mqtt`, `--nats`, `--webhook` (with `--publish`). */
function sinkPlans(flags: Record<string, unknown>, file: JobConfig): { sinks?: JobPlan['sinks']; natsStream?: string } {
  const publish = flags['publish'] as PublishWhat | undefined;
  const fromFile = (file.sinks ?? []).map((s, i) => ({ ...s, field: `sinks[${i}].url` }));
  const fromFlags = (['mqtt', 'nats', 'webhook'] as const).flatMap((k) => ((flags[k] as string[] | undefined) ?? []).map((url) => ({ url, field: `--${k}`, ...(publish ? { publish } : {}) })));
  const all = [...fromFile, ...fromFlags];
  const stream = flags['natsStream'] as string | undefined;
  if (stream !== undefined && !all.some((p) => /^nats:/i.test(p.url))) throw new JobError('--nats-stream needs a --nats URL (or a nats:// sink in the config)', EXIT.usage);
  return all.length > 0 ? { sinks: all, ...(stream !== undefined ? { natsStream: stream } : {}) } : {};
}

/** The options `nv run` and `nv serve` share for events: zones, clips and where events go. */
function eventOptions(c: Command): void {
  c.option('--zones <file.yaml>', 'zones, lines and dwell (YAML or JSON) for every feed: zone/line/dwell events in each output; turns --track on')
    .option('--clips <dir>', 'write an MP4 clip (5 s before to 5 s after) of each zone entry, line crossing and dwell into <dir>')
    .option('--mqtt <url>', 'publish events to MQTT: mqtt://[user:pass@]host[:port]/base/topic (repeatable)', collect)
    .option('--nats <url>', 'publish events to NATS: nats://[user:pass@]host[:port]/base.subject; JetStream with dedupe ids when a stream covers it (repeatable)', collect)
    .option('--webhook <url>', 'POST each event as JSON to this URL (retries, Idempotency-Key) (repeatable)', collect)
    .option('--publish <what>', 'what --mqtt/--nats/--webhook get: events (default), outputs (one message per frame) or both', publishWhat)
    .option('--nats-stream <name>', 'create (or bound) a JetStream stream <name> over each --nats base subject first: 24 h, 1 GiB, oldest dropped; publishes then dedupe by message id');
}

function publishWhat(v: string): PublishWhat {
  if (v === 'events' || v === 'outputs' || v === 'both') return v;
  throw new CommanderArgError(`expected events, outputs or both, got '${v}'`);
}

/** One clear line for an error, and the exit code it maps to. */
function report(e: unknown, io: Io): number {
  if (e instanceof JobError) { io.err(`nv: ${e.message}`); return e.code; }
  if (ConfigError.isInstance(e)) { io.err(`nv: ${e.message}`); return EXIT.usage; }
  if (MediaError.isInstance(e)) {
    io.err(`nv: ${e.message}`);
    // Refused by policy: the arguments or config ask for something the policy forbids.
    return e.kind === 'CustomPipelineRejected' || e.kind === 'InsecureRtspRejected' || e.kind === 'PipelineInvalid' ? EXIT.usage : EXIT.source;
  }
  if (NvError.isInstance(e)) { io.err(`nv: ${e.message}`); return EXIT.failed; }
  io.err(`nv: ${e instanceof Error ? e.message : String(e)}`);
  return EXIT.failed;
}

/**
 * Runs the `nv` command with `argv` (without the node and script entries). Never throws:
 * every failure is one `nv: …` line on `io.err` and an exit code.
 * @param argv - e.g. `['run', 'clip.mp4', '--out', 'o.jsonl']`
 * @param options - the Io and the Ctrl-C signal
 * @returns the process exit code (see {@link EXIT})
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? terminalIo(process.stdout, process.stderr);
  let code: number = EXIT.ok;
  const program = new Command('nv')
    .description('nv: video perception runtime — run detectors, trackers and OCR on files, RTSP cameras and devices')
    .version(cliVersion(), '-v, --version', 'print the version of nv')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError('(run nv --help for usage)');

  const run = program.command('run')
    .description('process one feed per source; write JSON lines and/or an annotated MP4')
    .argument('[sources...]', 'video files, rtsp:// URLs, /dev/videoN devices or testpattern:NAME')
    .option('-c, --config <file>', 'job config (JSON or YAML), validated like the API')
    .option('-d, --detector <model.onnx>', 'YOLO-family ONNX detector model')
    .option('--classes <names>', 'comma-separated class names for the detector')
    .option('--ocr', 'recognize text (PaddleOCR); without --detector, text regions are detected too')
    .option('--track', 'track objects across frames (Kalman + Hungarian, OC-SORT re-update)')
    .option('-o, --out <file.jsonl>', 'write one JSON line per frame')
    .option('-a, --annotate <file.mp4>', 'write an annotated H.264 MP4 (one per feed)')
    .option('-n, --max-frames <N>', 'stop each feed after N frames', positiveInt)
    .option('--parallel <N>', 'run the detector on up to N frames of a feed at once, with min(N, cores) inference workers (tracker, OCR and outputs stay in frame order; cores + 1 keeps every worker busy)', positiveInt)
    .option('--name <name>', 'name the feed of a source given here; repeat once per source, in order', collect)
    .option('--allow-custom-pipeline', 'run custom GStreamer pipelines and post-decode hooks from the config (trusted configs only; a config file cannot enable them itself)')
    .addHelpText('after', [
      '',
      'Feed names: --name labels the command-line sources in order, e.g.',
      '  nv run a.mp4 b.mp4 --name left --name right',
      'A source without a name is "feed N". In a config file, each feed takes a',
      'name: field. Names must be unique; they appear in the JSON lines (feedName),',
      'in metric labels (feed_name), in the status display and in the summary.',
      '',
      'In a config file, a feed\'s source: is an object ({ kind: rtsp, url: … }) or',
      'a string as on the command line: clip.mp4, rtsp://user:pass@cam/stream,',
      '/dev/video0 or testpattern:smpte.',
    ].join('\n'))
    .action(async (sources: string[], flags: Record<string, unknown>) => {
      const plan = planFrom(sources, flags);
      const r = await runJob(plan, io, options.signal);
      printSummary(r, io);
      code = r.code;
    });

  const serve = program.command('serve')
    .description('run the feeds of a config file behind an HTTP API with a live view in the browser (REST, event streams, /metrics)')
    .option('-c, --config <file>', 'job config (JSON or YAML): feeds, detector, ocr, track, parallel, serve')
    .option('--host <address>', 'interface to listen on (default 127.0.0.1; any other needs a token: NV_SERVE_TOKEN)')
    .option('--port <N>', 'TCP port (default 8080; 0 picks a free one)', portNumber)
    .option('-d, --detector <model.onnx>', 'YOLO-family ONNX detector model')
    .option('--classes <names>', 'comma-separated class names for the detector')
    .option('--ocr', 'recognize text (PaddleOCR)')
    .option('--track', 'track objects across frames')
    .option('--parallel <N>', 'run the detector on up to N frames of a feed at once', positiveInt)
    .option('--allow-custom-pipeline', 'run custom GStreamer pipelines from the config (trusted configs only)')
    .addHelpText('after', [
      '',
      'Every feed of the config file starts at once; more can be added, paused and removed over',
      'the API or the page, each with the config\'s stages (detector, tracker, OCR). Open the',
      'printed URL in a browser for the live view. Ctrl-C (or SIGTERM) stops, draining.',
      '',
      'Set a token with NV_SERVE_TOKEN (or serve.token in the config): mutating and reading',
      'API routes then need "Authorization: Bearer <token>"; binding a non-loopback address',
      'requires one.',
    ].join('\n'))
    .action(async (flags: Record<string, unknown>) => {
      const file: JobConfig = typeof flags['config'] === 'string' ? loadJobConfig(flags['config']) : {};
      const plan = planFrom([], flags, file);
      const envToken = process.env['NV_SERVE_TOKEN'];
      code = await runServe(plan, file, {
        host: (flags['host'] as string | undefined) ?? file.serve?.host,
        port: (flags['port'] as number | undefined) ?? file.serve?.port,
        token: envToken !== undefined && envToken !== '' ? envToken : file.serve?.token,
        liveView: file.serve?.liveView,
        ...(options.onServeReady ? { onReady: options.onServeReady } : {}),
      }, io, options.signal);
    });

  for (const c of [run, serve]) eventOptions(c);
  for (const c of [run, serve]) c.option('--remote-inference <url>', 'run the detector on `nv worker` processes over NATS: nats://[user:pass@]host[:port] (they must serve the same model file; max_payload 8MB)');

  program.command('outputs')
    .description('read one feed\'s outputs back from a JetStream stream, in order (duplicates dropped, gaps reported): one JSON line each')
    .requiredOption('--nats <url>', 'nats://[user:pass@]host[:port]/base.subject — as given to nv run --nats')
    .requiredOption('--feed <name>', 'the feed (its name, or feedN for an unnamed feed N)')
    .option('--stream <name>', 'the stream (default NV_OUTPUTS)')
    .option('--from <where>', 'start (default: all the stream holds) or new', (v: string) => {
      if (v !== 'start' && v !== 'new') throw new CommanderArgError(`expected start or new, got '${v}'`);
      return v;
    })
    .option('--idle-ms <ms>', 'stop after this long without an output (default: follow until Ctrl-C)', positiveInt)
    .action(async (flags: { nats: string; feed: string; stream?: string; from?: 'start' | 'new'; idleMs?: number }) => {
      code = await readOutputs(flags, io, options.signal);
    });

  registerClusterCommands(program, {
    io, ...(options.signal ? { signal: options.signal } : {}), setCode: (n) => { code = n; },
    planFrom: (flags, file) => planFrom([], flags, file),
  });
  registerWorkerCommand(program, { io, ...(options.signal ? { signal: options.signal } : {}), setCode: (n) => { code = n; } });

  program.command('probe')
    .description('show codec, resolution, frame rate, duration and the decoder nv would use')
    .argument('<source>', 'a video file, rtsp:// URL, /dev/videoN or testpattern:NAME')
    .option('--json', 'print JSON')
    .option('--timeout <ms>', 'give up after this many ms', positiveInt, 10_000)
    .action(async (source: string, flags: { json?: boolean; timeout: number }) => {
      const p = await probeSource(sourceFromArg(source), { timeoutMs: flags.timeout });
      if (flags.json) { io.out(JSON.stringify(p)); return; }
      io.out(`source:     ${p.source}`);
      io.out(`codec:      ${p.codec ?? '(raw)'}`);
      io.out(`resolution: ${p.width}x${p.height}`);
      io.out(`framerate:  ${p.fps !== undefined ? `${Number(p.fps.toFixed(3))} fps` : 'unknown'}`);
      io.out(`duration:   ${p.durationMs !== undefined ? `${(p.durationMs / 1000).toFixed(2)} s` : p.live ? 'live' : 'unknown'}`);
      io.out(`decoder:    ${p.decoder ?? '(none, raw video)'}${p.decoder ? (p.hardware ? ' (hardware)' : ' (software)') : ''}`);
    });

  program.command('demo')
    .description('the demo: moving text plates → text detection → tracking → OCR → outputs.jsonl + annotated MP4')
    .argument('[source]', 'run the same job on your own file or rtsp:// URL instead of the generated clip')
    .option('--dir <dir>', 'where to write the outputs (default ./nv-demo)')
    .action(async (source: string | undefined, flags: { dir?: string }) => {
      code = await runDemo({ io, ...(source ? { source } : {}), ...(flags.dir ? { dir: flags.dir } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    return report(e, io);
  }
  return code;
}
