/**
 * NATS server lists: parsing (`nats://[user:pass@|token@]host[:port]`), the form shown in
 * messages (never with credentials), and connecting.
 *
 * @packageDocumentation
 * @internal
 */
import { InvalidArgumentError, redactUrl } from '@nv/core';
import { InferenceError } from '@nv/inference';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

/** Parsed servers: what the client dials, the credentials, and the display form. @internal */
export interface NatsServers {
  /** `host:port` per server. */
  readonly hostPorts: readonly string[];
  /** `nats://host:port[, …]`: for messages, never with credentials. */
  readonly display: string;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly token: string | undefined;
}

/**
 * @internal
 * @throws {InvalidArgumentError} naming `field` when a URL is not `nats://host[:port]` (credentials allowed)
 */
export function parseServers(raw: unknown, field = 'servers'): NatsServers {
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : undefined;
  if (list === undefined || list.length === 0 || list.length > 64) throw new InvalidArgumentError(field, 'a nats:// URL or a list of 1 to 64 of them', Array.isArray(raw) ? `${raw.length} URLs` : typeof raw);
  const hostPorts: string[] = [];
  let user: string | undefined, pass: string | undefined, token: string | undefined;
  for (const s of list) {
    if (typeof s !== 'string') throw new InvalidArgumentError(field, 'nats:// URL strings', typeof s);
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `nats://${s}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new InvalidArgumentError(field, 'nats://[user:password@]host[:port]', redactUrl(s));
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw new InvalidArgumentError(field, 'a nats:// (or tls://) URL', redactUrl(s));
    if (u.hostname === '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
      throw new InvalidArgumentError(field, 'nats://[user:password@]host[:port] (no path, query or fragment)', redactUrl(s));
    }
    const port = u.port === '' ? 4222 : Number(u.port);
    const host = u.hostname;
    hostPorts.push(`${u.protocol === 'tls:' ? 'tls://' : ''}${host}:${port}`);
    let uu: string | undefined, pp: string | undefined;
    try {
      uu = u.username === '' ? undefined : decodeURIComponent(u.username);
      pp = u.password === '' ? undefined : decodeURIComponent(u.password);
    } catch {
      throw new InvalidArgumentError(field, 'nats://[user:password@]host[:port] with valid percent-encoding', redactUrl(s));
    }
    if (pp !== undefined) { user = uu; pass = pp; token = undefined; } else if (uu !== undefined) { token = uu; user = undefined; pass = undefined; }
  }
  return {
    hostPorts,
    display: hostPorts.map((h) => (h.startsWith('tls://') ? h : `nats://${h}`)).join(', '),
    user, pass, token,
  };
}

/**
 * Connects (reconnecting for ever once connected).
 * @internal
 * @throws {InferenceError} `ConnectionFailed` naming the servers (without credentials)
 */
export async function connectServers(s: NatsServers, name: string, timeoutMs: number): Promise<NatsConnection> {
  const opts: NodeConnectionOptions = {
    servers: [...s.hostPorts],
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: timeoutMs,
    ...(s.user !== undefined ? { user: s.user, pass: s.pass ?? '' } : {}),
    ...(s.token !== undefined ? { token: s.token } : {}),
  };
  try {
    return await connect(opts);
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    throw InferenceError.remote('ConnectionFailed', `cannot connect to NATS at ${s.display}: ${m}`, { cause: e });
  }
}
