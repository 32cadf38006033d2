/**
 * `MetricsExporter`: bridges a runtime to OpenTelemetry — observable instruments sampled from
 * diagnostics, counters from health events, latency histograms from the runtime's own
 * histograms — and exports them over OTLP/HTTP (protobuf), a Prometheus endpoint, or a
 * `MeterProvider` of your own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfigError, RuntimeError, redactUrl, type ConfigIssue } from '@nv/core';
import type { Attributes, AttributeValue, Meter, MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider, PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { AttributeCache } from './attributes.js';
import { MetricsExportError } from './errors.js';
import { HealthCounters } from './health-counters.js';
import { LatencyMetricProducer, METER_NAME } from './latency-producer.js';
import { DiagnosticsObservers } from './observers.js';
import { feedNameLookup, samplerFor, type MetricsSource } from './source.js';
import { VERSION } from './version.js';

/** Where and how to push metrics over OTLP/HTTP with protobuf payloads. */
export interface OtlpOptions {
  /**
   * The collector's OTLP/HTTP URL. A URL without a path (`http://collector:4318`) gets the
   * standard `/v1/metrics` appended; a URL with a path is used as given.
   */
  readonly endpoint: string;
  /** Extra HTTP headers (e.g. an API key). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Time limit of one export, retries included (default 10 s; capped at 90% of the poll interval). */
  readonly timeoutMs?: number;
}

/** Where to serve the Prometheus text exposition. */
export interface PrometheusOptions {
  /** Interface to listen on (default: all interfaces, like the standard OTel Prometheus exporter). */
  readonly host?: string;
  /** TCP port (default 9464, the port registered for OTel's Prometheus exporter); 0 picks a free one. */
  readonly port?: number;
  /** URL path (default `/metrics`); every other path answers 404. */
  readonly path?: string;
  /**
   * `false`: open no port of its own; serve the exposition from your HTTP server with
   * {@link MetricsExporter.handlePrometheusRequest} (what `@nv/server` does for its `/metrics`).
   * `host`, `port` and `path` are then ignored. Default `true`.
   */
  readonly listen?: boolean;
}

/**
 * Options of {@link MetricsExporter.create}. Give `otlp`, `prometheus`, or both — or instead a
 * `meterProvider` of your own (then `otlp`, `prometheus`, `serviceName`, `resourceAttributes`
 * and `pollIntervalMs` must be left out: your provider's readers decide all of that).
 */
export interface MetricsExporterOptions {
  /** Push to an OTLP/HTTP (protobuf) endpoint every `pollIntervalMs`. */
  readonly otlp?: OtlpOptions;
  /** Serve a Prometheus endpoint (`true` for the defaults). Values are sampled at each scrape. */
  readonly prometheus?: PrometheusOptions | boolean;
  /** Resource attribute `service.name` (default `nv-runtime`). */
  readonly serviceName?: string;
  /** More resource attributes (e.g. `deployment.environment`, `host.name`). */
  readonly resourceAttributes?: Attributes;
  /** OTLP export period in ms (default 5000). */
  readonly pollIntervalMs?: number;
  /** Your own provider; the exporter registers its instruments on it and never shuts it down. */
  readonly meterProvider?: ApiMeterProvider & { forceFlush?(): Promise<void> };
  /**
   * Called for every failed OTLP export (periodic or `forceFlush()`). Default: one
   * `console.warn` per run of consecutive failures. Not called for the final export of
   * `shutdown()`, which rejects instead.
   */
  readonly onExportError?: (error: MetricsExportError) => void;
}

/** Default OTLP export period. */
export const DEFAULT_POLL_INTERVAL_MS = 5000;
/** Default Prometheus port (registered for the OTel Prometheus exporter). */
export const DEFAULT_PROMETHEUS_PORT = 9464;
/** Default `service.name`. */
export const DEFAULT_SERVICE_NAME = 'nv-runtime';
const DEFAULT_OTLP_TIMEOUT_MS = 10_000;
/** `ExportResultCode.SUCCESS` of `@opentelemetry/core`. */
const EXPORT_SUCCESS = 0;

interface Resolved {
  readonly otlp: { readonly url: string; readonly headers: Record<string, string>; readonly timeoutMs: number } | undefined;
  readonly prometheus: { readonly host: string | undefined; readonly port: number; readonly path: string; readonly listen: boolean } | undefined;
  readonly serviceName: string;
  readonly resourceAttributes: Attributes;
  readonly pollIntervalMs: number;
}

const WHAT = 'metrics exporter options';

function isAttributeValue(v: unknown): v is AttributeValue {
  const scalar = (x: unknown): boolean => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
  return scalar(v) || (Array.isArray(v) && v.every((x) => x === null || x === undefined || scalar(x)));
}

/** Validates options; every problem is listed in one {@link ConfigError}. */
function resolve(o: MetricsExporterOptions): Resolved {
  const issues: ConfigIssue[] = [];
  const bad = (field: string, message: string): void => { issues.push({ field, message }); };
  if (typeof o !== 'object' || o === null) throw ConfigError.invalidConfig(WHAT, [{ field: '', message: 'expected an options object' }]);

  if (o.meterProvider !== undefined) {
    if (typeof o.meterProvider?.getMeter !== 'function') bad('meterProvider', 'expected a MeterProvider (an object with getMeter())');
    for (const k of ['otlp', 'prometheus', 'serviceName', 'resourceAttributes', 'pollIntervalMs'] as const) {
      if (o[k] !== undefined && o[k] !== false) bad(k, 'cannot be combined with meterProvider (configure your provider\'s readers instead)');
    }
  } else if (o.otlp === undefined && (o.prometheus === undefined || o.prometheus === false)) {
    bad('otlp', 'no exporter: give otlp, prometheus or meterProvider');
  }

  const pollIntervalMs = o.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (typeof pollIntervalMs !== 'number' || !Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) bad('pollIntervalMs', 'must be a positive number of milliseconds');

  let otlp: Resolved['otlp'];
  if (o.otlp !== undefined && o.meterProvider === undefined) {
    const endpoint = o.otlp?.endpoint;
    let url: URL | undefined;
    try { url = new URL(String(endpoint)); } catch { /* reported below */ }
    if (typeof endpoint !== 'string' || !url) bad('otlp.endpoint', `not a valid URL: '${redactUrl(String(endpoint))}'`);
    else if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('otlp.endpoint', `must be http:// or https:// (OTLP/HTTP), got '${url.protocol}'`);
    const timeoutMs = o.otlp?.timeoutMs ?? DEFAULT_OTLP_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) bad('otlp.timeoutMs', 'must be a positive number of milliseconds');
    const headers = o.otlp?.headers ?? {};
    if (typeof headers !== 'object' || headers === null || Object.values(headers).some((v) => typeof v !== 'string')) bad('otlp.headers', 'must map header names to strings');
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/metrics';
      otlp = { url: url.toString(), headers: { ...headers }, timeoutMs: Math.max(1, Math.min(timeoutMs, Math.floor(pollIntervalMs * 0.9))) };
    }
  }

  let prometheus: Resolved['prometheus'];
  if (o.prometheus !== undefined && o.prometheus !== false && o.meterProvider === undefined) {
    const p: PrometheusOptions = o.prometheus === true ? {} : o.prometheus;
    if (typeof p !== 'object' || p === null) bad('prometheus', 'expected true or { host, port, path }');
    else {
      const port = p.port ?? DEFAULT_PROMETHEUS_PORT;
      if (!Number.isInteger(port) || port < 0 || port > 65535) bad('prometheus.port', 'must be an integer in 0..65535');
      if (p.host !== undefined && (typeof p.host !== 'string' || p.host.length === 0)) bad('prometheus.host', 'must be a non-empty host name or address');
      const path = p.path ?? '/metrics';
      if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(path)) bad('prometheus.path', "must be a URL path starting with '/'");
      if (p.listen !== undefined && typeof p.listen !== 'boolean') bad('prometheus.listen', 'must be true or false');
      prometheus = { host: p.host, port, path, listen: p.listen !== false };
    }
  }

  const serviceName = o.serviceName ?? DEFAULT_SERVICE_NAME;
  if (typeof serviceName !== 'string' || serviceName.length === 0) bad('serviceName', 'must be a non-empty string');
  const resourceAttributes = o.resourceAttributes ?? {};
  if (typeof resourceAttributes !== 'object' || resourceAttributes === null) bad('resourceAttributes', 'must be an object of attribute values');
  else for (const [k, v] of Object.entries(resourceAttributes)) if (!isAttributeValue(v)) bad(`resourceAttributes.${k}`, 'must be a string, finite number, boolean or an array of them');
  if (o.onExportError !== undefined && typeof o.onExportError !== 'function') bad('onExportError', 'must be a function');

  if (issues.length) throw ConfigError.invalidConfig(WHAT, issues);
  return { otlp, prometheus, serviceName, resourceAttributes, pollIntervalMs };
}

type ExportCallback = Parameters<PushMetricExporter['export']>[1];

/** Delegates to the OTLP exporter and reports failed exports as typed errors. */
class ReportingExporter implements PushMetricExporter {
  readonly #inner: OTLPMetricExporter;
  readonly #url: string;
  readonly #onError: ((e: MetricsExportError) => void) | undefined;
  #failing = false;
  failures = 0;
  lastError: MetricsExportError | undefined;
  closed = false;

  /** @param onError - called for each failure; without it, one `console.warn` per run of consecutive failures */
  constructor(inner: OTLPMetricExporter, url: string, onError: ((e: MetricsExportError) => void) | undefined) {
    this.#inner = inner;
    this.#url = url;
    this.#onError = onError;
  }

  export(metrics: ResourceMetrics, done: ExportCallback): void {
    this.#inner.export(metrics, (result) => {
      if (result.code !== EXPORT_SUCCESS) {
        this.failures++;
        const cause = result.error;
        const detail = cause?.message ? cause.message : 'the collector did not accept the request';
        this.lastError = new MetricsExportError(this.#url, detail, this.failures, cause);
        if (!this.closed) {
          if (this.#onError) { try { this.#onError(this.lastError); } catch { /* a failing handler must not break exports */ } }
          else if (!this.#failing) console.warn(`[nv] ${this.lastError.message} (further failures are not logged until an export succeeds)`);
        }
        this.#failing = true;
      } else {
        this.lastError = undefined;
        this.#failing = false;
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> { return this.#inner.forceFlush(); }
  shutdown(): Promise<void> { return this.#inner.shutdown(); }
  selectAggregationTemporality: PushMetricExporter['selectAggregationTemporality'] = (t) => this.#inner.selectAggregationTemporality(t);
  selectAggregation: PushMetricExporter['selectAggregation'] = (t) => this.#inner.selectAggregation(t);
}

function listen(server: Server, host: string | undefined, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => { server.off('listening', onListening); reject(err); };
    const onListening = (): void => { server.off('error', onError); resolvePromise(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port });
  });
}

function listenError(err: NodeJS.ErrnoException, host: string | undefined, port: number): Error {
  const where = `${host ?? '*'}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE': return ConfigError.invalidConfig(WHAT, [{ field: 'prometheus.port', message: `${where} is already in use` }], err);
    case 'EACCES': return ConfigError.invalidConfig(WHAT, [{ field: 'prometheus.port', message: `no permission to listen on ${where}` }], err);
    case 'EADDRNOTAVAIL': case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME':
      return ConfigError.invalidConfig(WHAT, [{ field: 'prometheus.host', message: `cannot listen on ${where} (${err.code})` }], err);
    default: return RuntimeError.workerStartFailed(`prometheus endpoint on ${where}: ${err.code ?? err.message}`, err);
  }
}

/**
 * The OpenTelemetry bridge of an nv runtime.
 *
 * - **Observable instruments**, sampled from one `runtime.diagnostics()` call per collection:
 *   runtime uptime and feed counts; per feed frames, outputs, queues, tracks, view, restarts,
 *   session uptime, alive/paused; per stage frames/errors/skipped; per batch processor
 *   counters, averages and queue. Monotonic totals are OTel counters, levels are gauges.
 * - **Counters** from health events, one per `HealthEvent` variant (`nv.health.*`).
 * - **Latency histograms** (pipeline, per stage, per batch processor) from the runtime's
 *   fixed-bucket histograms via {@link LatencyMetricProducer} — nothing is recorded per frame.
 *
 * The full list is {@link INSTRUMENTS} and the package README.
 *
 * @example
 * ```ts
 * const metrics = await MetricsExporter.create(runtime, {
 *   otlp: { endpoint: 'http://collector:4318' },
 *   prometheus: { port: 9464 },
 *   serviceName: 'gate-cameras',
 * });
 * // … later
 * await metrics.shutdown(); // flushes, closes the endpoint; idempotent
 * ```
 */
export class MetricsExporter {
  readonly #provider: ApiMeterProvider & { forceFlush?(): Promise<void> };
  readonly #owned: MeterProvider | undefined;
  readonly #otlp: ReportingExporter | undefined;
  readonly #server: Server | undefined;
  readonly #observers: DiagnosticsObservers;
  readonly #counters: HealthCounters;
  readonly #unsubscribe: () => void;
  readonly #prometheusUrl: string | undefined;
  readonly #handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  #shutdown: Promise<void> | undefined;

  private constructor(parts: {
    provider: ApiMeterProvider & { forceFlush?(): Promise<void> }; owned: MeterProvider | undefined; otlp: ReportingExporter | undefined;
    server: Server | undefined; prometheusUrl: string | undefined; source: MetricsSource; meter: Meter;
    handler?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  }) {
    this.#handler = parts.handler;
    this.#provider = parts.provider;
    this.#owned = parts.owned;
    this.#otlp = parts.otlp;
    this.#server = parts.server;
    this.#prometheusUrl = parts.prometheusUrl;
    const attrs = new AttributeCache(feedNameLookup(parts.source));
    const src = parts.source;
    this.#observers = new DiagnosticsObservers(parts.meter, samplerFor(src), attrs, typeof src.counters === 'function' ? () => src.counters!() : undefined);
    this.#counters = new HealthCounters(parts.meter, attrs);
    this.#unsubscribe = parts.source.onHealth((e) => this.#counters.record(e));
  }

  /**
   * Validates the options, builds the readers, registers the instruments, subscribes to health
   * events and (with `prometheus`) starts listening.
   *
   * @param source - the runtime (`Runtime` from `@nv/runtime`, or anything with `diagnostics()` and `onHealth()`)
   * @throws {ConfigError} `InvalidConfig` naming each bad field: no exporter, a bad OTLP URL,
   *   a bad port/host/path, `meterProvider` combined with other exporter options, a
   *   Prometheus port already in use (`prometheus.port`) or a host it cannot bind (`prometheus.host`)
   * @throws {RuntimeError} `WorkerStartFailed` when the Prometheus endpoint fails to start for another reason
   */
  static async create(source: MetricsSource, options: MetricsExporterOptions): Promise<MetricsExporter> {
    if (typeof source?.diagnostics !== 'function' || typeof source.onHealth !== 'function') {
      throw ConfigError.invalidConfig(WHAT, [{ field: 'source', message: 'expected a runtime (diagnostics() and onHealth())' }]);
    }
    const r = resolve(options);
    if (options.meterProvider) {
      const meter = options.meterProvider.getMeter(METER_NAME, VERSION);
      return new MetricsExporter({ provider: options.meterProvider, owned: undefined, otlp: undefined, server: undefined, prometheusUrl: undefined, source, meter });
    }

    const latency = new LatencyMetricProducer(source);
    const readers: IMetricReader[] = [];
    // Prometheus first: if its port cannot be bound, nothing else has been started yet.
    let server: Server | undefined;
    let prometheusUrl: string | undefined;
    let bound = false;
    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    if (r.prometheus) {
      const { host, port, path, listen: ownPort } = r.prometheus;
      const reader = new PrometheusExporter({ preventServerStart: true, metricProducers: [latency] });
      handler = (req, res) => {
        if (!bound) { res.statusCode = 503; res.end(); return; }
        reader.getMetricsRequestHandler(req, res);
      };
      if (ownPort) {
        const serve = handler;
        server = createServer((req: IncomingMessage, res: ServerResponse) => {
          const p = (req.url ?? '/').split('?', 1)[0];
          if (p !== path || (req.method !== 'GET' && req.method !== 'HEAD')) { res.statusCode = 404; res.end(); return; }
          serve(req, res);
        });
        try {
          await listen(server, host, port);
        } catch (err) {
          throw listenError(err as NodeJS.ErrnoException, host, port);
        }
        server.unref();
        const addr = server.address();
        const boundPort = typeof addr === 'object' && addr ? addr.port : port;
        const h = host ?? 'localhost';
        prometheusUrl = `http://${h.includes(':') ? `[${h}]` : h}:${boundPort}${path}`;
      }
      readers.push(reader);
    }
    let otlp: ReportingExporter | undefined;
    if (r.otlp) {
      const inner = new OTLPMetricExporter({ url: r.otlp.url, headers: r.otlp.headers, timeoutMillis: r.otlp.timeoutMs });
      otlp = new ReportingExporter(inner, r.otlp.url, options.onExportError);
      readers.push(new PeriodicExportingMetricReader({ exporter: otlp, exportIntervalMillis: r.pollIntervalMs, metricProducers: [latency] }));
    }
    const resource = defaultResource().merge(resourceFromAttributes({ ...r.resourceAttributes, 'service.name': r.serviceName }));
    const provider = new MeterProvider({ resource, readers });
    const meter = provider.getMeter(METER_NAME, VERSION);
    const exporter = new MetricsExporter({ provider, owned: provider, otlp, server, prometheusUrl, source, meter, handler });
    bound = true;
    return exporter;
  }

  /** The Prometheus scrape URL (with the port actually bound), or `undefined` without one. */
  get prometheusUrl(): string | undefined { return this.#prometheusUrl; }

  /**
   * Answers one scrape with the Prometheus text exposition (values sampled now), on your own
   * HTTP server; pair with `prometheus: { listen: false }`. The caller routes (any path) and
   * checks the method.
   * @returns false (nothing written) when this exporter has no Prometheus reader
   * @example
   * ```ts
   * const m = await MetricsExporter.create(runtime, { prometheus: { listen: false } });
   * http.createServer((req, res) => { if (req.url === '/metrics') m.handlePrometheusRequest(req, res); });
   * ```
   */
  handlePrometheusRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.#handler || this.#shutdown) return false;
    this.#handler(req, res);
    return true;
  }

  /** The provider the instruments live on (the exporter's own, or yours). */
  get meterProvider(): ApiMeterProvider { return this.#provider; }

  /** OTLP exports that failed so far (0 without OTLP). */
  get exportFailures(): number { return this.#otlp?.failures ?? 0; }

  /** Health events that could not be counted (malformed or unknown variants). */
  get healthEventsIgnored(): number { return this.#counters.ignored; }

  /**
   * Collects and pushes now (OTLP; your provider's readers). Prometheus is pull-only and has
   * nothing to flush. A no-op after `shutdown()`.
   * @throws {MetricsExportError} when the export made by this flush fails
   */
  async forceFlush(): Promise<void> {
    if (this.#shutdown) return;
    const before = this.#otlp?.failures ?? 0;
    await this.#provider.forceFlush?.();
    if (this.#otlp && this.#otlp.failures > before && this.#otlp.lastError) throw this.#otlp.lastError;
  }

  /**
   * Stops counting health events, makes a last collection and export, and releases everything
   * it owns: the OTLP reader and exporter, the Prometheus endpoint (open connections closed),
   * its provider. A provider you supplied is flushed, and the exporter's callback is removed
   * from it, but it is not shut down. Idempotent: later calls return the first call's promise.
   * @throws {MetricsExportError} when the final export fails (everything is released anyway)
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#close();
    return this.#shutdown;
  }

  async #close(): Promise<void> {
    this.#unsubscribe();
    if (this.#otlp) this.#otlp.closed = true;
    const before = this.#otlp?.failures ?? 0;
    try {
      if (this.#server) {
        const s = this.#server;
        await new Promise<void>((done) => { s.close(() => done()); s.closeAllConnections(); });
      }
      if (this.#owned) await this.#owned.shutdown();
      else await this.#provider.forceFlush?.();
    } finally {
      this.#observers.detach();
    }
    if (this.#otlp && this.#otlp.failures > before && this.#otlp.lastError) throw this.#otlp.lastError;
  }
}
