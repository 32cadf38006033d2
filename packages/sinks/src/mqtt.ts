/**
 * `MqttSink`: messages published to an MQTT broker (the `mqtt` package), QoS 0 or 1, with
 * reconnection, and never more than a bounded number of publishes handed to the client.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, redactUrl } from '@nv/core';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { QueuedSink, type Pending } from './base.js';
import { describeError, type SinkError } from './errors.js';
import { nonNegative, positiveInt } from './options.js';
import type { SinkCommonOptions } from './types.js';

/** Default publishes handed to the MQTT client and not yet acknowledged, at most. */
export const DEFAULT_MQTT_MAX_IN_FLIGHT = 64;
/** Default delay between reconnection attempts (ms). */
export const DEFAULT_MQTT_RECONNECT_MS = 1000;

/** Options of {@link MqttSink}. */
export interface MqttSinkOptions extends SinkCommonOptions {
  /**
   * `mqtt://[user[:password]@]host[:port]/base/topic` (or `mqtts://`, default ports 1883 / 8883).
   * The path is the base topic (optional: without it every message needs a subject). The
   * credentials are sent in CONNECT, never shown (`target`, errors and stats are redacted).
   */
  readonly url: string;
  /** 0 (at most once) or 1 (at least once: the broker acknowledges; default). */
  readonly qos?: 0 | 1;
  /** Publish with the retain flag (default `false`). */
  readonly retain?: boolean;
  /** The MQTT client id (default `nv-sinks-<random>`). Clean session either way. */
  readonly clientId?: string;
  /** Delay between reconnection attempts (ms; default 1000). */
  readonly reconnectPeriodMs?: number;
  /** CONNACK deadline of one connection attempt (ms; default 10 000). */
  readonly connectTimeoutMs?: number;
  /** MQTT keepalive (s; default 30). */
  readonly keepaliveSec?: number;
  /** Publishes handed to the client and not yet acknowledged (QoS 1) or written (QoS 0), at most (default 64). */
  readonly maxInFlight?: number;
}

interface MqttTarget { brokerUrl: string; base: string; username: string | undefined; password: string | undefined; protocol: 'mqtt' | 'mqtts' }

/**
 * Publishes each message to `<base topic>/<subject with dots as levels>` (`nv/events` +
 * `lineCrossed.door` → `nv/events/lineCrossed/door`), its body the message's JSON
 * (`{"id":…,"subject":…,"payload":…}`; subscribers dedupe QoS 1 redeliveries by `id`).
 *
 * Bounded everywhere: messages wait in this sink's queue (`queueSize`) and are handed to the
 * `mqtt` client only while it is connected, at most `maxInFlight` at a time — so the client's
 * own offline queue never grows (`queueQoSZero: false`; QoS 1 messages in flight stay in its
 * outgoing store, at most `maxInFlight`, and it retransmits them after a reconnect). While the
 * broker is down, new messages wait in the queue (overflow dropped and counted); after the
 * reconnect they go out in order. Connection loss and return are `SinkDisconnected` /
 * `SinkReconnected` events; refused credentials (CONNACK 4/5) are `Unauthorized` errors and
 * the client keeps retrying.
 *
 * @example
 * ```ts
 * const sink = new MqttSink({ url: 'mqtt://nv:secret@broker:1883/site1/events', qos: 1 });
 * sink.publish({ id: 'cam1:42:0', subject: 'lineCrossed', payload: { trackId: 3, lineId: 'door' } });
 * await sink.close();
 * ```
 */
export class MqttSink extends QueuedSink {
  readonly #client: MqttClient;
  readonly #base: string;
  readonly #qos: 0 | 1;
  readonly #retain: boolean;
  readonly #maxInFlight: number;
  #lastTransportError: SinkError | undefined;
  #retryTimer: NodeJS.Timeout | undefined;

  /**
   * @param options - see {@link MqttSinkOptions}
   * @throws {ConfigError} for a bad URL or option (naming the field)
   */
  constructor(options: MqttSinkOptions) {
    const t = parseMqttUrl(options.url);
    super('mqtt', redactUrl(options.url), [t.password ?? '', t.password === undefined ? '' : encodeURIComponent(t.password)], options);
    const qos = options.qos ?? 1;
    if (qos !== 0 && qos !== 1) throw ConfigError.invalidConfig('mqtt sink options', [{ field: 'qos', message: `must be 0 or 1 (got ${String(qos)})` }]);
    this.#qos = qos;
    this.#retain = options.retain ?? false;
    this.#base = t.base;
    this.#maxInFlight = positiveInt(options.maxInFlight, DEFAULT_MQTT_MAX_IN_FLIGHT, 'maxInFlight');
    const clientOptions: IClientOptions = {
      clientId: options.clientId ?? `nv-sinks-${randomBytes(6).toString('hex')}`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: Math.max(1, nonNegative(options.reconnectPeriodMs, DEFAULT_MQTT_RECONNECT_MS, 'reconnectPeriodMs')),
      connectTimeout: nonNegative(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
      keepalive: nonNegative(options.keepaliveSec, 30, 'keepaliveSec'),
      reconnectOnConnackError: true,
      queueQoSZero: false,
      resubscribe: false,
      ...(t.username !== undefined ? { username: t.username } : {}),
      ...(t.password !== undefined ? { password: t.password } : {}),
    };
    this.#client = connect(t.brokerUrl, clientOptions);
    this.#client.on('connect', () => {
      this.#lastTransportError = undefined;
      this.setConnected(true);
    });
    this.#client.on('error', (e: Error) => {
      const code = (e as { code?: unknown }).code;
      const unauthorized = code === 4 || code === 5 || code === 134 || code === 135;
      this.#lastTransportError = this.error(unauthorized ? 'Unauthorized' : 'ConnectionFailed', describeError(e));
      this.noteError(this.#lastTransportError);
    });
    this.#client.on('close', () => {
      if (this.abandoned) return;
      this.setConnected(false, this.#lastTransportError ?? this.error('ConnectionFailed', 'connection to the broker closed'));
    });
  }

  protected override checkSubject(subject: string | undefined): string | undefined {
    return subject === undefined && this.#base === '' ? 'a subject is required (the URL has no base topic)' : undefined;
  }

  protected onWake(): void {
    const c = this.#client;
    while (c.connected && !c.disconnecting && this.inFlightCount < this.#maxInFlight && this.queuedCount > 0) {
      const p = this.take();
      if (p === undefined) return;
      p.attempts++;
      let inCall = true;
      let failedInCall = false;
      c.publish(this.#topic(p), p.body, { qos: this.#qos, retain: this.#retain }, (err) => {
        if (err) {
          if (inCall) failedInCall = true;
          this.#failed(p, err);
        } else {
          this.settleDelivered(p);
          this.wake();
        }
      });
      inCall = false;
      if (failedInCall) return;
    }
  }

  protected async teardown(graceful: boolean): Promise<void> {
    clearTimeout(this.#retryTimer);
    const c = this.#client;
    await new Promise<void>((resolve) => {
      if (graceful && c.connected) c.end(false, {}, () => resolve());
      else c.end(true, {}, () => resolve());
    });
  }

  /** A publish the client gave back with an error (not written, or the client is ending): retried shortly. */
  #failed(p: Pending, err: Error): void {
    this.noteError(this.error('DeliveryFailed', describeError(err)));
    this.requeue([p]);
    if (this.#retryTimer === undefined && !this.abandoned) {
      this.#retryTimer = setTimeout(() => { this.#retryTimer = undefined; this.wake(); }, 100);
    }
  }

  #topic(p: Pending): string {
    const tail = p.subject === undefined ? '' : p.subject.split('.').join('/');
    if (this.#base === '') return tail;
    return tail === '' ? this.#base : `${this.#base}/${tail}`;
  }
}

/**
 * Reads an MQTT sink URL. @internal
 * @throws {ConfigError} (field `url`) when it is not `mqtt://` / `mqtts://` with a host, or its base topic has wildcards
 */
export function parseMqttUrl(raw: string): MqttTarget {
  const bad = (message: string): ConfigError => ConfigError.invalidConfig('mqtt sink options', [{ field: 'url', message }]);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad(`not a valid URL: ${redactUrl(String(raw))}`);
  }
  const protocol = u.protocol.slice(0, -1);
  if (protocol !== 'mqtt' && protocol !== 'mqtts') throw bad(`must be mqtt:// or mqtts:// (got ${u.protocol}//)`);
  if (u.hostname === '') throw bad('has no host');
  if (u.search !== '' || u.hash !== '') throw bad('query parameters and fragments are not part of an MQTT sink URL (options go in the sink options)');
  let base: string;
  try {
    base = u.pathname.replace(/^\/+/, '').replace(/\/+$/, '').split('/').map((s) => decodeURIComponent(s)).join('/');
  } catch {
    throw bad('base topic is not valid percent-encoding');
  }
  if (/[+#\u0000]/.test(base)) throw bad(`base topic '${base}' contains a wildcard ('+' or '#')`);
  if (base.split('/').some((s) => s === '') && base !== '') throw bad(`base topic '${base}' has an empty level`);
  const port = u.port === '' ? (protocol === 'mqtts' ? 8883 : 1883) : Number(u.port);
  return {
    brokerUrl: `${protocol}://${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${port}`,
    base,
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    protocol,
  };
}
