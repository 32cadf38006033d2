/**
 * `NvServer`: the HTTP side of `nv serve` — a REST API over a `Runtime` (feeds, pause/resume,
 * diagnostics, effective config), Server-Sent Event streams of health events and outputs,
 * Prometheus `/metrics`, `/healthz` and `/readyz`, an OpenAPI document, and the live view page
 * with its MJPEG-over-WebSocket video.
 */
import fastifyWebsocket from '@fastify/websocket';
import { ConfigError, parseConfig, redactUrl, type FeedId, type HealthEvent } from '@nv/core';
import type { MetricsExporter } from '@nv/metrics';
import type { FeedDiagnostics, FeedHandle, OutputEnvelope, Runtime } from '@nv/runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { z } from 'zod';
import { ApiError } from './errors.js';
import { LiveView, type LiveViewOptions, type LiveViewStage } from './live-view.js';
import { openApiDocument, ROUTES } from './openapi.js';

/** Options of {@link NvServer.start}. */
export interface NvServerOptions<T> {
  /** The runtime to serve. The server never shuts it down: the caller does, after `close()`. */
  readonly runtime: Runtime;
  /**
   * Schema of one feed entry (`POST /api/feeds` bodies): `nv serve` passes the config file's
   * feed schema, so the API accepts exactly what the file does. Its JSON Schema goes into `/openapi.json`.
   */
  readonly feedSchema: z.ZodType<T>;
  /**
   * Starts a feed from validated settings; `liveView` is the tap stage to put last in its stages
   * (leave it out for a feed without video, e.g. an isolated one). Throws `ConfigError` /
   * `MediaError` (400), `RuntimeError` (`FeedLimitExceeded` 409, `ShutdownInProgress` 503).
   */
  readonly addFeed: (settings: T, liveView: LiveViewStage) => FeedHandle | Promise<FeedHandle>;
  /** Serves `/metrics` (create it with `prometheus: { listen: false }`); without it `/metrics` is 404. */
  readonly metrics?: MetricsExporter;
  /** Interface to bind (default `127.0.0.1`). Any other address needs a `token`. */
  readonly host?: string;
  /** TCP port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /**
   * Bearer token. When set, every `/api` route, `/metrics` and the video sockets require it
   * (`Authorization: Bearer …`, or `?token=` where a browser cannot set headers: EventSource,
   * WebSocket); the page itself, `/openapi.json`, `/healthz` and `/readyz` stay open.
   */
  readonly token?: string;
  /** Largest request body in bytes (default 64 KiB; larger: 413). */
  readonly bodyLimitBytes?: number;
  /** The effective configuration shown by `GET /api/config` (secrets are redacted before serving). */
  readonly config?: unknown;
  /** Live view settings. */
  readonly liveView?: LiveViewOptions;
  /** The JSON form of an output for `/api/outputs` (default: ids, boxes, tracks, signals, view, per-stage latency; never pixels). */
  readonly serializeOutput?: (o: OutputEnvelope) => unknown;
  /**
   * The whole cluster's status, for `GET /api/cluster` (an `nv node` gives it; elsewhere the
   * route answers 404). A rejection answers 503 `ClusterUnavailable`.
   */
  readonly cluster?: () => Promise<unknown>;
  /** Buffer of each `/api/outputs` and `/api/events` client, in messages (default 256; the oldest are dropped when a client lags). */
  readonly streamCapacity?: number;
}

/** A feed as `GET /api/feeds` lists it. */
export interface FeedSummary {
  readonly id: FeedId;
  readonly name: string | undefined;
  readonly state: FeedDiagnostics['state'];
  readonly paused: boolean;
  readonly alive: boolean;
  /** The settings it was added with, secrets redacted (`undefined` for feeds added outside the server). */
  readonly settings: unknown;
  readonly framesProcessed: number;
  readonly framesDropped: number;
  readonly outputsDropped: number;
  /** Whether it has a live view (isolated feeds have none). */
  readonly liveView: boolean;
}

const SECRET_KEYS = /^(token|password|passwd|secret|apikey|api_key|authorization|headers)$/i;

/**
 * A deep copy of `v` with secrets hidden: values of keys like `token`/`password`/`headers`
 * become `***`, and credentials or secret query parameters in URL strings are redacted.
 * @param v - any JSON-like value
 * @returns the redacted copy
 */
export function redactSecrets(v: unknown): unknown {
  if (typeof v === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? redactUrl(v) : v;
  if (Array.isArray(v)) return v.map(redactSecrets);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEYS.test(k) && x !== undefined ? '***' : redactSecrets(x);
    return out;
  }
  return v;
}

/** The default `/api/outputs` form of an output (no pixels, no metadata values). */
export function outputSummary(o: OutputEnvelope): Record<string, unknown> {
  const r4 = (n: number) => Math.round(n * 1e4) / 1e4;
  const b = (x: { xMin: number; yMin: number; xMax: number; yMax: number }) => [r4(x.xMin), r4(x.yMin), r4(x.xMax), r4(x.yMax)];
  return {
    feed: o.feedId, ...(o.feedName !== undefined ? { feedName: o.feedName } : {}), seq: o.seq, ts: o.ts, wallTs: o.wallTs,
    detections: o.artifacts.detections.map((d) => ({ id: d.id, classId: d.classId, confidence: r4(d.confidence), bbox: b(d.bbox) })),
    tracks: o.artifacts.tracks.map((t) => ({ id: t.id, state: t.state, classId: t.classId, confidence: r4(t.current.confidence), bbox: b(t.current.bbox) })),
    signals: o.artifacts.signals.map((s) => ({ name: s.name, value: s.value, ts: s.ts })),
    provenance: { stages: o.provenance.stages.map((s) => ({ id: s.stageId, outcome: s.outcome.kind, latencyMs: r4(s.latencyNs / 1e6) })), totalLatencyMs: r4(o.provenance.totalLatencyNs / 1e6) },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Error) return typeof (v as { toJSON?: () => unknown }).toJSON === 'function' ? (v as unknown as { toJSON: () => unknown }).toJSON() : { name: v.name, message: v.message };
  return v;
}

const PUBLIC = new URL('../public/', import.meta.url);
const requireHere = createRequire(import.meta.url);

/** Static files of the page: path → [file URL or path, content type]. */
function staticFiles(): Map<string, [string | URL, string]> {
  return new Map<string, [string | URL, string]>([
    ['/', [new URL('index.html', PUBLIC), 'text/html; charset=utf-8']],
    ['/app.js', [new URL('app.js', PUBLIC), 'text/javascript; charset=utf-8']],
    ['/style.css', [new URL('style.css', PUBLIC), 'text/css; charset=utf-8']],
    ['/vendor/uPlot.iife.min.js', [requireHere.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8']],
    ['/vendor/uPlot.min.css', [requireHere.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8']],
  ]);
}

/**
 * The server of `nv serve`.
 * @example
 * ```ts
 * const runtime = new Runtime();
 * const server = await NvServer.start({
 *   runtime, feedSchema: FeedSettingsSchema, port: 8080,
 *   addFeed: (settings, live) => runtime.addFeed(feedConfigFromSettings(settings, { stages: [detector, live] })),
 * });
 * await server.addFeed({ source: { kind: 'file', path: 'clip.mp4' }, cameraMode: 'fixed' });
 * // … later
 * await server.close();
 * await runtime.shutdown();
 * ```
 */
export class NvServer<T = unknown> {
  readonly #app: FastifyInstance;
  readonly #o: NvServerOptions<T>;
  readonly #live: LiveView;
  readonly #settings = new Map<FeedId, unknown>();
  readonly #streams = new Set<{ end(): void }>();
  #url = '';
  #ready = false;
  #closing: Promise<void> | undefined;

  private constructor(app: FastifyInstance, options: NvServerOptions<T>, live: LiveView) {
    this.#app = app;
    this.#o = options;
    this.#live = live;
  }

  /** The base URL actually bound, e.g. `http://127.0.0.1:8080`. */
  get url(): string { return this.#url; }
  /** The live view (per-feed video taps and viewer counters). */
  get liveView(): LiveView { return this.#live; }

  /**
   * Binds and starts serving. `/readyz` answers 503 until {@link NvServer.markReady}.
   * @throws {ConfigError} `InvalidConfig`: a non-loopback `host` without a `token`, a bad port or
   *   body limit, a bad live view option, or an address that cannot be bound (`port` in use)
   */
  static async start<T>(options: NvServerOptions<T>): Promise<NvServer<T>> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8080;
    const bad = (field: string, message: string) => ConfigError.invalidConfig('server options', [{ field, message }]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad('port', 'must be an integer in 0..65535');
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) throw bad('token', 'must be a string of at least 16 characters');
    if (!isLoopback(host) && !options.token) {
      throw bad('host', `binding ${host} (not a loopback address) requires a token (NV_SERVE_TOKEN or serve.token), so that nobody else on the network can change feeds`);
    }
    const bodyLimit = options.bodyLimitBytes ?? 64 * 1024;
    if (!Number.isInteger(bodyLimit) || bodyLimit < 256 || bodyLimit > 16 * 1024 * 1024) throw bad('bodyLimitBytes', 'must be an integer in [256, 16 MiB]');
    let live: LiveView;
    try { live = new LiveView(options.liveView); } catch (e) { throw bad('liveView', (e as Error).message); }
    const app = Fastify({ bodyLimit, logger: false, forceCloseConnections: true, return503OnClosing: true });
    const server = new NvServer(app, options, live);
    await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });
    server.#routes();
    try {
      await app.listen({ host, port });
    } catch (e) {
      live.close();
      await app.close().catch(() => undefined);
      const err = e as NodeJS.ErrnoException;
      throw ConfigError.invalidConfig('server options', [{ field: err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 'port' : 'host', message: `cannot listen on ${host}:${port} (${err.code ?? err.message})` }], e);
    }
    const addr = app.server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    server.#url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    return server;
  }

  /** `/readyz` answers 200 from now on (call it once the configured feeds are added). */
  markReady(): void { this.#ready = true; }

  /**
   * Validates `input` with the feed schema and starts the feed (what `POST /api/feeds` does).
   * @throws {ApiError} `InvalidFeed` (fields named), `DuplicateName`, `PolicyRefused`, `FeedLimitExceeded`, `ShuttingDown`
   */
  async addFeed(input: unknown): Promise<FeedHandle> {
    if (this.#closing) throw new ApiError(503, 'ShuttingDown', 'the server is shutting down');
    let settings: T;
    try {
      settings = parseConfig(this.#o.feedSchema, input, 'feed');
    } catch (e) {
      throw ApiError.from(e);
    }
    const name = (settings as { name?: unknown }).name;
    if (typeof name === 'string' && this.#o.runtime.diagnostics().feeds.some((f) => f.name === name)) {
      throw new ApiError(409, 'DuplicateName', `a feed named '${name}' exists (feed names must be unique)`);
    }
    const stage = this.#live.createStage();
    let handle: FeedHandle;
    try {
      handle = await this.#o.addFeed(settings, stage);
    } catch (e) {
      throw ApiError.from(e);
    }
    this.#live.attach(handle.id, stage);
    this.#settings.set(handle.id, redactSecrets(input));
    return handle;
  }

  /**
   * Stops a feed (draining) and removes it, with its live view (what `DELETE /api/feeds/:id` does).
   * @param id - the feed
   * @throws {ApiError} when the runtime refuses
   */
  async removeFeed(id: FeedId): Promise<void> {
    try { await this.#o.runtime.removeFeed(id); } catch (e) { throw ApiError.from(e); }
    this.#live.detach(id);
    this.#settings.delete(id);
  }

  /**
   * Stops answering: live viewers and event streams are disconnected, the port is closed.
   * The runtime keeps running (shut it down after). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#ready = false;
      this.#live.close();
      for (const s of [...this.#streams]) s.end();
      await this.#app.close();
    })();
    return this.#closing;
  }

  #summary(d: FeedDiagnostics): FeedSummary {
    return {
      id: d.id, name: d.name, state: d.state, paused: d.paused, alive: d.alive, settings: this.#settings.get(d.id),
      framesProcessed: d.metrics.framesProcessed, framesDropped: d.metrics.framesDropped, outputsDropped: d.metrics.outputsDropped,
      liveView: this.#live.has(d.id),
    };
  }

  #feed(req: FastifyRequest): FeedHandle {
    const raw = (req.params as { id?: string }).id ?? '';
    const id = /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : NaN;
    const h = Number.isNaN(id) ? undefined : this.#o.runtime.feed(id as FeedId);
    if (!h) throw new ApiError(404, 'FeedNotFound', `no feed ${JSON.stringify(raw)}`);
    return h;
  }

  #authorized(req: FastifyRequest): boolean {
    const token = this.#o.token;
    if (!token) return true;
    const h = req.headers.authorization;
    const given = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : (req.query as { token?: unknown } | undefined)?.token;
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #routes(): void {
    const app = this.#app;
    const rt = this.#o.runtime;
    const needsAuth = (url: string) => url.startsWith('/api/') || url === '/api' || url.startsWith('/metrics');

    app.removeContentTypeParser('text/plain'); // bodies are JSON only: anything else is 415
    app.addHook('onRequest', async (req, reply) => {
      const path = req.url.split('?', 1)[0]!;
      if (needsAuth(path) && !this.#authorized(req)) {
        reply.header('www-authenticate', 'Bearer realm="nv"');
        throw new ApiError(401, 'Unauthorized', this.#o.token && (req.headers.authorization || (req.query as { token?: unknown }).token) ? 'wrong token' : 'this server requires a token (Authorization: Bearer <token>)');
      }
    });
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
      let e: ApiError;
      if (err instanceof ApiError) e = err;
      else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new ApiError(413, 'BodyTooLarge', `request body larger than ${this.#o.bodyLimitBytes ?? 65536} bytes`);
      else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new ApiError(415, 'UnsupportedMediaType', 'send the body as application/json');
      else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) e = new ApiError(400, 'InvalidJson', `the body is not valid JSON: ${err.message}`);
      else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) e = new ApiError(err.statusCode, 'InvalidJson', err.message);
      else e = ApiError.from(err);
      void reply.status(e.status).type('application/json').send(e.body());
    });
    app.setNotFoundHandler((req, reply) => {
      const known = ROUTES.some((r) => r.path === req.routeOptions.url);
      const e = known ? new ApiError(405, 'MethodNotAllowed', `${req.method} is not allowed here`) : new ApiError(404, 'NotFound', `no route ${req.method} ${req.url.split('?', 1)[0]}`);
      void reply.status(e.status).send(e.body());
    });

    for (const [path, [file, type]] of staticFiles()) {
      app.get(path, async (_req, reply) => reply.type(type).header('cache-control', 'no-cache').send(readFileSync(file)));
    }
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      if (!this.#ready) throw new ApiError(503, this.#closing ? 'ShuttingDown' : 'NotReady', this.#closing ? 'shutting down' : 'starting');
      return reply.send({ status: 'ready', feeds: rt.feedCount });
    });
    app.get('/openapi.json', async () => openApiDocument(this.#o.feedSchema));
    app.get('/metrics', async (req, reply) => {
      const m = this.#o.metrics;
      if (!m) throw new ApiError(404, 'NotFound', 'metrics are not enabled');
      reply.hijack();
      if (!m.handlePrometheusRequest(req.raw, reply.raw)) { reply.raw.statusCode = 503; reply.raw.end(); }
    });

    app.get('/api/feeds', async () => ({ feeds: rt.diagnostics().feeds.map((d) => this.#summary(d)) }));
    app.post('/api/feeds', async (req, reply) => {
      const h = await this.addFeed(req.body);
      return reply.status(201).header('location', `/api/feeds/${h.id}`).send(this.#summary(h.diagnostics()));
    });
    app.get('/api/feeds/:id', async (req) => this.#summary(this.#feed(req).diagnostics()));
    app.delete('/api/feeds/:id', async (req) => {
      const h = this.#feed(req);
      await this.removeFeed(h.id);
      return { removed: h.id };
    });
    app.get('/api/cluster', async () => {
      const c = this.#o.cluster;
      if (!c) throw new ApiError(404, 'NotFound', 'this server is not a cluster node (nv node)');
      try { return await c(); } catch (e) { throw new ApiError(503, 'ClusterUnavailable', `cannot read the cluster state: ${(e as Error).message}`); }
    });
    const lifecycle = (op: 'pause' | 'resume') => async (req: FastifyRequest) => {
      const h = this.#feed(req);
      if (!h.isAlive()) throw new ApiError(409, 'FeedStopped', `feed ${h.id} has stopped (${h.state()})`);
      try { h[op](); } catch (e) { throw ApiError.from(e); }
      return this.#summary(h.diagnostics());
    };
    app.post('/api/feeds/:id/pause', lifecycle('pause'));
    app.post('/api/feeds/:id/resume', lifecycle('resume'));
    app.get('/api/feeds/:id/diagnostics', async (req) => {
      const h = this.#feed(req);
      return { ...h.diagnostics(), liveView: this.#live.stats(h.id) ?? null };
    });
    app.get('/api/diagnostics', async (_req, reply) => {
      const d = rt.diagnostics();
      const body = { ...d, feeds: d.feeds.map((f) => ({ ...f, liveView: this.#live.stats(f.id) ?? null })), server: { viewers: d.feeds.reduce((n, f) => n + (this.#live.stats(f.id)?.viewers ?? 0), 0), streams: this.#streams.size } };
      return reply.type('application/json').send(JSON.stringify(body, jsonReplacer));
    });
    app.get('/api/config', async () => redactSecrets({
      server: { host: this.#o.host ?? '127.0.0.1', port: Number(new URL(this.#url).port), auth: this.#o.token ? 'token' : 'none', bodyLimitBytes: this.#o.bodyLimitBytes ?? 65536, liveView: this.#live.options },
      config: this.#o.config ?? null,
      feeds: [...this.#settings.entries()].map(([id, s]) => ({ id, settings: s })),
    }));

    app.get('/api/events', (req, reply) => {
      const sub = rt.health();
      this.#sse(req, reply, sub, 'health', (e: HealthEvent) => e, () => sub.lost);
    });
    app.get('/api/outputs', (req, reply) => {
      const raw = (req.query as { feed?: unknown }).feed;
      let feeds: FeedId[] | undefined;
      if (raw !== undefined) {
        const parts = String(raw).split(',');
        if (!parts.every((p) => /^[1-9][0-9]{0,8}$/.test(p))) throw new ApiError(400, 'InvalidFeed', 'feed must be a feed id or a comma-separated list of ids', [{ field: 'feed', message: 'expected e.g. ?feed=1,3' }]);
        feeds = parts.map((p) => Number(p) as FeedId);
        for (const id of feeds) if (!rt.feed(id)) throw new ApiError(404, 'FeedNotFound', `no feed ${id}`);
      }
      const sub = rt.outputs({ capacity: this.#o.streamCapacity ?? 256, name: `http ${req.ip}`, ...(feeds ? { feeds } : {}) });
      const ser = this.#o.serializeOutput ?? outputSummary;
      this.#sse(req, reply, sub, 'output', ser, () => sub.lost);
    });

    app.get('/api/feeds/:id/live', { websocket: true }, (socket, req) => {
      let h: FeedHandle;
      try { h = this.#feed(req); } catch { socket.close(4404, 'no such feed'); return; }
      const remove = this.#live.addViewer(h.id, socket);
      if (!remove) { socket.close(4409, this.#live.has(h.id) ? 'too many viewers' : 'this feed has no live view'); return; }
      socket.on('close', remove);
      socket.on('error', remove);
      socket.on('message', () => { /* viewers send nothing; ignore */ });
    });
  }

  /** Streams an async iterator as Server-Sent Events with back-pressure: a client that lags loses the oldest (bounded by the subscription), told by a `lagged` event. */
  #sse<E>(req: FastifyRequest, reply: FastifyReply, sub: AsyncIterableIterator<E> & { close(): void }, event: string, serialize: (e: E) => unknown, lost: () => number): void {
    reply.hijack();
    const res: ServerResponse = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': nv\n\n');
    let open = true;
    let drainWaiter: (() => void) | undefined;
    const end = () => {
      if (!open) return;
      open = false;
      sub.close();
      clearInterval(ping);
      drainWaiter?.();
      this.#streams.delete(stream);
      res.end();
    };
    const stream = { end };
    this.#streams.add(stream);
    const ping = setInterval(() => { if (open && res.writableLength === 0) res.write(': ping\n\n'); }, 15_000);
    ping.unref();
    req.raw.on('close', end);
    res.on('error', end);
    void (async () => {
      let reported = 0;
      let id = 0;
      for await (const e of sub) {
        if (!open) break;
        const n = lost();
        let chunk = '';
        if (n > reported) { chunk += `event: lagged\ndata: ${JSON.stringify({ lost: n - reported, totalLost: n })}\n\n`; reported = n; }
        chunk += `id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(serialize(e), jsonReplacer)}\n\n`;
        if (!res.write(chunk)) {
          // Wait for the client to read; meanwhile the subscription buffers (bounded) and drops the oldest.
          await new Promise<void>((r) => {
            drainWaiter = r;
            const t = setTimeout(() => { end(); r(); }, 60_000);
            t.unref();
            res.once('drain', () => { clearTimeout(t); r(); });
          });
          drainWaiter = undefined;
        }
      }
      end();
    })().catch(end);
  }
}
