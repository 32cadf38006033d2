/**
 * `nv serve`: the runtime of a config file behind `@nv/server` — REST, event streams,
 * `/metrics`, and the live view — until Ctrl-C / SIGTERM (a draining stop).
 */
import type { SourceSpec, TypedMetadata } from '@nv/core';
import { MetricsExporter, type MetricsSource } from '@nv/metrics';
import { TEXT } from '@nv/ocr';
import { Runtime, feedConfigFromSettings, type FeedSettings, type OutputEnvelope } from '@nv/runtime';
import { ApiError, NvServer, defaultOverlay, type LiveViewOptions, type LiveViewStage } from '@nv/server';
import type { ZodType } from 'zod';
import { JobFeedSchema, type JobConfig } from './config-file.js';
import type { AnalyticsConfig } from '@nv/analytics';
import { Publisher, sinkEventLine } from './publish.js';
import { EXIT, JobError, buildStages, ensureStreams, type Io, type JobPlan } from './job.js';
import { outputToJson } from './jsonl.js';
import { isFinite } from './sources.js';

/** Where and how `nv serve` listens (flags over the config file's `serve:` section). */
export interface ServeOptions {
  /** Interface (default 127.0.0.1). */
  readonly host?: string | undefined;
  /** Port (default 8080; 0: any free one). */
  readonly port?: number | undefined;
  /** Bearer token (from `NV_SERVE_TOKEN` or `serve.token`); required off loopback. */
  readonly token?: string | undefined;
  /** Live view settings. */
  readonly liveView?: LiveViewOptions | undefined;
  /** Called once the server is ready, with its URL (tests). */
  readonly onReady?: ((url: string, server: NvServer<FeedSettings>) => void) | undefined;
  /** Fields merged into every output's JSON — the event streams and the sinks (`nv node`: the feed's `fence`). */
  readonly decorate?: ((o: OutputEnvelope) => Record<string, unknown> | undefined) | undefined;
  /** The cluster's status for `GET /api/cluster` (`nv node`). */
  readonly cluster?: (() => Promise<unknown>) | undefined;
  /**
   * Called once the server is ready (`nv node`: join the cluster, whose feeds it then adds and
   * removes); the returned `close()` runs first when stopping. It replaces the banner line.
   */
  readonly attach?: ((server: NvServer<FeedSettings>, runtime: Runtime) => Promise<{ close(): Promise<void> }>) | undefined;
}

function textOf(m: TypedMetadata): string {
  const t = m.get(TEXT);
  return t && t.text ? t.text : '';
}

/**
 * Runs `nv serve` until `signal` aborts: feeds of `plan` start at once, more come and go over the API.
 * @param plan - the job plan of the config file (its stages apply to every feed, API-added ones too)
 * @param file - the parsed config file (shown, redacted, at `/api/config`)
 * @param options - host, port, token, live view
 * @param io - where the banner and errors go
 * @param signal - aborting it stops the server and drains every feed
 * @returns the exit code: 0 after a clean stop; 2 for a config the server refuses (a feed, a
 *   host without a token, a port in use)
 */
export async function runServe(plan: JobPlan, file: JobConfig, options: ServeOptions, io: Io, signal?: AbortSignal): Promise<number> {
  if (plan.annotate !== undefined || plan.out !== undefined || plan.maxFrames !== undefined) {
    throw new JobError('nv serve streams outputs over HTTP (/api/outputs) and shows them live: out, annotate and maxFrames apply to nv run only', EXIT.usage);
  }
  const classNames = plan.detector?.classNames;
  await ensureStreams(plan);
  const publisher = new Publisher(plan.sinks ?? [], (e) => { io.err(`nv: ${sinkEventLine(e)}`); }, options.decorate);
  const runtime = new Runtime();
  // Every feed's outputs (added over the API too) reach the sinks; a sink never holds a feed back.
  if (publisher.active) runtime.onOutput((o) => { publisher.publish(o, classNames); });
  let metrics: MetricsExporter | undefined;
  let server: NvServer<FeedSettings> | undefined;
  let attached: { close(): Promise<void> } | undefined;
  const stop = async () => {
    await attached?.close().catch((e: unknown) => { io.err(`nv: ${(e as Error).message}`); });
    await server?.close();
    await runtime.shutdown();
    await publisher.close(5000);
    await metrics?.shutdown().catch(() => undefined);
  };
  try {
    // The runtime, plus the event sinks' counters (delivered, dropped by reason, queue depth).
    const source: MetricsSource = {
      diagnostics: () => runtime.diagnostics(), onHealth: (l) => runtime.onHealth(l), feed: (id) => runtime.feed(id),
      ...(publisher.active ? { counters: () => publisher.counters() } : {}),
    };
    metrics = await MetricsExporter.create(source, { prometheus: { listen: false }, serviceName: 'nv-serve' });
    server = await NvServer.start<FeedSettings>({
      runtime,
      feedSchema: JobFeedSchema as unknown as ZodType<FeedSettings>,
      metrics,
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      config: { ...file, feeds: undefined },
      liveView: { ...options.liveView, overlay: defaultOverlay(classNames ?? (plan.ocr && !plan.detector ? ['text'] : undefined), textOf) },
      serializeOutput: options.decorate ? (o) => ({ ...outputToJson(o, classNames), ...options.decorate!(o) }) : (o) => outputToJson(o, classNames),
      ...(options.cluster ? { cluster: options.cluster } : {}),
      addFeed: (settings: FeedSettings, live: LiveViewStage) => runtime.addFeed(serveFeedConfig(plan, settings, live)),
    });
  } catch (e) {
    await stop();
    throw e;
  }
  for (const [i, f] of plan.feeds.entries()) {
    try {
      const own = plan.feedAnalytics?.[i];
      await server.addFeed(own ? ({ ...f, analytics: own } as FeedSettings) : f);
    } catch (e) {
      await stop();
      const what = `feed ${i + 1}${f.name !== undefined ? ` [${f.name}]` : ''}`;
      throw new JobError(`${what}: ${e instanceof ApiError ? `${e.message}${e.fields ? ` (${e.fields.map((x) => x.field).join(', ')})` : ''}` : (e as Error).message}`, EXIT.usage);
    }
  }
  if (options.attach) {
    try {
      attached = await options.attach(server, runtime);
    } catch (e) {
      await stop();
      throw e;
    }
  } else {
    io.out(`nv serve: ${server.url}/  (${plan.feeds.length} feed${plan.feeds.length === 1 ? '' : 's'}; API ${server.url}/openapi.json; metrics ${server.url}/metrics)`);
  }
  server.markReady();
  options.onReady?.(server.url, server);
  await new Promise<void>((r) => {
    if (!signal || signal.aborted) { if (signal?.aborted) r(); else return; }
    signal?.addEventListener('abort', () => r(), { once: true });
  });
  await stop();
  return EXIT.ok;
}

let unnamedFeeds = 0;

/** The feed config of one served feed: the plan's stages, then the live view tap. */
function serveFeedConfig(plan: JobPlan, settings: FeedSettings, live: LiveViewStage) {
  const spec = settings.source as SourceSpec;
  const isolated = settings.isolation !== undefined;
  if (isolated) live.disable();
  // A feed's own analytics (config file or POST /api/feeds) replaces the job's; it builds stages and is no runtime setting.
  const { analytics, ...rest } = settings as FeedSettings & { analytics?: AnalyticsConfig };
  settings = rest;
  const { stages, head } = isolated
    ? { stages: [], head: 0 }
    : buildStages({ ...plan, annotate: undefined, feedAnalytics: undefined }, 0, 30, undefined, { analytics, name: settings.name ?? `feed-${++unnamedFeeds}` });
  // A served file or test pattern plays like a camera: at its own frame rate (not as fast as it
  // decodes, as in `nv run`), the oldest frame dropped when the stages are slower. Both can be
  // set per feed (`media.output.pacing: fast`, `backpressure`).
  const paced = (spec.kind === 'file' || (spec.kind === 'testPattern' && !spec.live)) && settings.media?.output?.pacing === undefined;
  const liveLike = paced || !isFinite(spec);
  return feedConfigFromSettings({
    ...settings,
    ...(paced ? { media: { ...settings.media, output: { ...settings.media?.output, pacing: 'realtime' as const } } } : {}),
    backpressure: settings.backpressure ?? (liveLike ? { kind: 'dropOldest', queueDepth: 4 } : { kind: 'block', queueDepth: 4 }),
    ...(plan.parallel !== undefined && plan.parallel > 1 && !isolated ? { parallel: { width: plan.parallel, headStages: head } } : {}),
  }, {
    ...(isolated ? {} : { stages: [...stages, live] }),
    customPipelinePolicy: plan.allowCustomPipeline === true ? 'allowTrusted' : 'reject',
  });
}
