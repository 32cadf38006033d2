/**
 * Sink URLs, as a CLI flag or a config file gives them (`--mqtt mqtt://…/topic`,
 * `--webhook https://…`, `--nats nats://…/subject`, `--events out/events.jsonl`), and the
 * factory that makes the right sink of one.
 *
 * @packageDocumentation
 */
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, redactUrl, type ConfigIssue } from '@nv/core';
import { JsonlFileSink, type JsonlFileSinkOptions } from './jsonl.js';
import { MqttSink, parseMqttUrl, type MqttSinkOptions } from './mqtt.js';
import { NatsSink, parseNatsUrl, type NatsJetStreamMode, type NatsSinkOptions } from './nats.js';
import type { MessageSink, SinkCommonOptions, SinkKind } from './types.js';
import { WebhookSink, parseWebhookUrl, webhookTarget, type WebhookSinkOptions } from './webhook.js';

/**
 * What {@link parseSinkUrl} made of a URL: the sink kind, its redacted target, and the options
 * to construct it with (the URL without the query parameters it understood, plus those).
 */
export type SinkSpec =
  | { readonly kind: 'webhook'; readonly target: string; readonly options: WebhookSinkOptions }
  | { readonly kind: 'mqtt'; readonly target: string; readonly options: MqttSinkOptions }
  | { readonly kind: 'nats'; readonly target: string; readonly options: NatsSinkOptions }
  | { readonly kind: 'file'; readonly target: string; readonly options: JsonlFileSinkOptions };

/** Options of {@link parseSinkUrl}. */
export interface ParseSinkUrlOptions {
  /** The config field or CLI flag the URL came from, named by errors (default `url`). */
  readonly field?: string;
}

/** Options of {@link createSink}: common ones, and per kind (used only when the URL is of that kind). */
export interface CreateSinkOptions extends SinkCommonOptions, ParseSinkUrlOptions {
  readonly webhook?: Omit<WebhookSinkOptions, 'url'>;
  readonly mqtt?: Omit<MqttSinkOptions, 'url'>;
  readonly nats?: Omit<NatsSinkOptions, 'url'>;
  readonly file?: Omit<JsonlFileSinkOptions, 'path'>;
}

/** Query parameters each kind understands (webhook URLs keep theirs: they belong to the endpoint). */
const QUERY_KEYS: Readonly<Record<Exclude<SinkKind, 'webhook'>, readonly string[]>> = {
  mqtt: ['qos', 'retain', 'clientId', 'queueSize', 'maxInFlight', 'name'],
  nats: ['jetstream', 'queueSize', 'maxInFlight', 'name', 'servers'],
  file: ['maxBytes', 'maxFiles', 'queueSize', 'name'],
};

/**
 * Reads a sink URL:
 * - `http://…`, `https://…` → webhook (the whole URL, query included, is the endpoint);
 * - `mqtt://[user:pass@]host[:port]/base/topic`, `mqtts://…` → MQTT; query `qos` (0|1),
 *   `retain`, `clientId`, `queueSize`, `maxInFlight`, `name`;
 * - `nats://[user:pass@|token@]host[:port]/base.subject` → NATS; query `jetstream`
 *   (auto|always|never), `queueSize`, `maxInFlight`, `name`;
 * - `file:///abs/events.jsonl`, `file:rel/events.jsonl`, or a plain path ending `.jsonl` →
 *   JSONL file; query (on `file:` URLs) `maxBytes`, `maxFiles`, `queueSize`, `name`.
 *
 * @param url - the URL
 * @param options - see {@link ParseSinkUrlOptions}
 * @returns the kind, redacted target and constructor options
 * @throws {ConfigError} naming the field (`options.field`, or `field.param` for a query
 *   parameter) for an unknown scheme, a malformed URL, an unknown or bad parameter; the message
 *   shows the URL redacted
 * @example
 * ```ts
 * parseSinkUrl('mqtt://nv:pw@broker:1883/site1/events?qos=0', { field: '--mqtt' })
 * // { kind: 'mqtt', target: 'mqtt://***@broker:1883/site1/events?qos=0', options: { url: 'mqtt://nv:pw@broker:1883/site1/events', qos: 0 } }
 * ```
 */
export function parseSinkUrl(url: string, options: ParseSinkUrlOptions = {}): SinkSpec {
  const field = options.field ?? 'url';
  if (typeof url !== 'string' || url.trim() === '') throw issue(field, 'a sink URL is required');
  const raw = url.trim();
  const target = redactUrl(raw);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    remap(field, () => parseWebhookUrl(raw));
    return { kind: 'webhook', target: webhookTarget(raw), options: { url: raw } };
  }
  if (scheme === 'mqtt' || scheme === 'mqtts' || scheme === 'nats') {
    const kind = scheme === 'nats' ? 'nats' : 'mqtt';
    const { base, params } = splitQuery(raw, kind, field);
    remap(field, () => (kind === 'mqtt' ? parseMqttUrl(base) : parseNatsUrl(base)));
    if (kind === 'mqtt') return { kind, target, options: { url: base, ...mqttParams(params, field) } };
    return { kind, target, options: { url: base, ...natsParams(params, field) } };
  }
  if (scheme === 'file') {
    const { base, params } = splitQuery(raw, 'file', field);
    let path: string;
    try {
      path = base.startsWith('file://') ? fileURLToPath(base) : decodeURIComponent(base.slice('file:'.length));
    } catch {
      throw issue(field, `not a valid file URL: ${target}`);
    }
    if (path === '') throw issue(field, 'file: URL has no path');
    return { kind: 'file', target: path, options: { path, ...fileParams(params, field) } };
  }
  if ((scheme === undefined || scheme.length === 1 || isAbsolute(raw)) && /\.jsonl$/i.test(raw)) {
    return { kind: 'file', target: raw, options: { path: raw } };
  }
  throw issue(field, `unsupported sink URL ${target}: expected http(s)://, mqtt(s)://, nats://, file: or a path ending .jsonl`);
}

/**
 * Makes the sink a URL names (see {@link parseSinkUrl}). Options apply in this order, later
 * winning: the common ones, the kind's own (`options.mqtt`…), the URL's query parameters.
 *
 * @param url - the URL
 * @param options - see {@link CreateSinkOptions}
 * @returns a started sink (it connects in the background)
 * @throws {ConfigError} naming the field, for a bad URL or option
 * @example
 * ```ts
 * const sinks = [cli.mqtt, cli.webhook, cli.nats].filter(Boolean).map((u, i) => createSink(u, { field: `sinks[${i}]`, onHealth: log }));
 * ```
 */
export function createSink(url: string, options: CreateSinkOptions = {}): MessageSink {
  const spec = parseSinkUrl(url, options);
  const { webhook, mqtt, nats, file, field, ...common } = options;
  const fieldName = field ?? 'url';
  return remap(fieldName, (): MessageSink => {
    switch (spec.kind) {
      case 'webhook': return new WebhookSink({ ...common, ...webhook, ...spec.options });
      case 'mqtt': return new MqttSink({ ...common, ...mqtt, ...spec.options });
      case 'nats': return new NatsSink({ ...common, ...nats, ...spec.options });
      case 'file': return new JsonlFileSink({ ...common, ...file, ...spec.options });
    }
  });
}

// ---------------------------------------------------------------------------------------------

function issue(field: string, message: string): ConfigError {
  return ConfigError.invalidConfig('sink URL', [{ field, message }]);
}

/** Runs `fn`; a `ConfigError` about the field `url` is re-raised about `field`. */
function remap<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!ConfigError.isInstance(e)) throw e;
    if (!e.issues.some((i) => i.field === 'url')) throw e;
    const issues: ConfigIssue[] = e.issues.map((i) => (i.field === 'url' ? { field, message: i.message } : i));
    throw ConfigError.invalidConfig('sink URL', issues);
  }
}

function splitQuery(raw: string, kind: Exclude<SinkKind, 'webhook'>, field: string): { base: string; params: Map<string, string> } {
  const hash = raw.indexOf('#');
  if (hash >= 0) throw issue(field, 'a sink URL has no fragment');
  const q = raw.indexOf('?');
  const params = new Map<string, string>();
  if (q < 0) return { base: raw, params };
  for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) {
    if (!QUERY_KEYS[kind].includes(k)) throw issue(`${field}.${k}`, `unknown query parameter '${k}' for a ${kind} sink (known: ${QUERY_KEYS[kind].join(', ')})`);
    if (params.has(k)) throw issue(`${field}.${k}`, `query parameter '${k}' given twice`);
    params.set(k, v);
  }
  return { base: raw.slice(0, q), params };
}

function intParam(params: Map<string, string>, key: string, field: string): number | undefined {
  const v = params.get(key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw issue(`${field}.${key}`, `must be a positive integer (got '${v}')`);
  return Number(v);
}

function common(params: Map<string, string>, field: string): { queueSize?: number; name?: string } {
  const queueSize = intParam(params, 'queueSize', field);
  const name = params.get('name');
  if (name !== undefined && name.trim() === '') throw issue(`${field}.name`, 'must not be empty');
  return { ...(queueSize !== undefined ? { queueSize } : {}), ...(name !== undefined ? { name } : {}) };
}

function mqttParams(params: Map<string, string>, field: string): Omit<MqttSinkOptions, 'url'> {
  const out: { -readonly [K in keyof Omit<MqttSinkOptions, 'url'>]: MqttSinkOptions[K] } = { ...common(params, field) };
  const qos = params.get('qos');
  if (qos !== undefined) {
    if (qos !== '0' && qos !== '1') throw issue(`${field}.qos`, `must be 0 or 1 (got '${qos}')`);
    out.qos = qos === '0' ? 0 : 1;
  }
  const retain = params.get('retain');
  if (retain !== undefined) {
    if (!['true', 'false', '1', '0'].includes(retain)) throw issue(`${field}.retain`, `must be true or false (got '${retain}')`);
    out.retain = retain === 'true' || retain === '1';
  }
  const clientId = params.get('clientId');
  if (clientId !== undefined) {
    if (clientId === '') throw issue(`${field}.clientId`, 'must not be empty');
    out.clientId = clientId;
  }
  const maxInFlight = intParam(params, 'maxInFlight', field);
  if (maxInFlight !== undefined) out.maxInFlight = maxInFlight;
  return out;
}

function natsParams(params: Map<string, string>, field: string): Omit<NatsSinkOptions, 'url'> {
  const out: { -readonly [K in keyof Omit<NatsSinkOptions, 'url'>]: NatsSinkOptions[K] } = { ...common(params, field) };
  const js = params.get('jetstream');
  if (js !== undefined) {
    if (js !== 'auto' && js !== 'always' && js !== 'never') throw issue(`${field}.jetstream`, `must be auto, always or never (got '${js}')`);
    out.jetstream = js satisfies NatsJetStreamMode;
  }
  const maxInFlight = intParam(params, 'maxInFlight', field);
  if (maxInFlight !== undefined) out.maxInFlight = maxInFlight;
  // More servers of the same NATS cluster: `?servers=h2:4222,h3:4222`.
  const servers = params.get('servers');
  if (servers !== undefined) out.servers = servers.split(',').map((x) => x.trim()).filter((x) => x !== '');
  return out;
}

function fileParams(params: Map<string, string>, field: string): Omit<JsonlFileSinkOptions, 'path'> {
  const out: { -readonly [K in keyof Omit<JsonlFileSinkOptions, 'path'>]: JsonlFileSinkOptions[K] } = { ...common(params, field) };
  const maxBytes = intParam(params, 'maxBytes', field);
  if (maxBytes !== undefined) out.maxBytes = maxBytes;
  const maxFiles = intParam(params, 'maxFiles', field);
  if (maxFiles !== undefined) out.maxFiles = maxFiles;
  return out;
}
