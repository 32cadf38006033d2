/**
 * Connecting to the cluster's NATS servers, and the names of its buckets and subjects.
 *
 * @packageDocumentation
 */
import { ConfigError, redactUrl } from '@nv/core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClusterError } from './errors.js';

/** Where the cluster's NATS servers are, and which cluster. */
export interface ClusterConnectionOptions {
  /**
   * `nats://[user:pass@]host[:port]`, several comma-separated (`nats://a:4222,nats://b:4222`) or
   * as an array; the client also learns the other servers of a NATS cluster from the first it
   * reaches, and reconnects to any of them. `nats://token@host` passes a token.
   */
  readonly servers: string | readonly string[];
  /** The cluster's name (letters, digits, `_`, `-`; 1–32). Default `'nv'`. */
  readonly cluster?: string;
  /** How long to try the first connection, in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
}

/** The JetStream names of one cluster. */
export interface ClusterNames {
  /** The cluster's name. */
  readonly cluster: string;
  /** KV bucket of the desired state: key `job` (the job settings), `feed.<name>` (one feed's settings). */
  readonly feeds: string;
  /** KV bucket of the leases: key `<feed>` → `{ node, token }`; its max age is the lease TTL. */
  readonly leases: string;
  /** KV bucket of the nodes' heartbeats: key `<node>` → what it runs; same TTL. */
  readonly nodes: string;
  /** The stream of every feed's outputs and events. */
  readonly outputs: string;
  /** The base subject of outputs and events: `nv.<cluster>` (then `.<feed>.outputs`, `.<feed>.events.<type>`). */
  readonly subjectBase: string;
}

/** Names of feeds and nodes in a cluster: KV keys and subject tokens. */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @param cluster - the cluster's name (default `'nv'`)
 * @returns its bucket, stream and subject names
 * @throws {ConfigError} a name with characters JetStream does not allow
 * @example
 * ```ts
 * clusterNames('site1').leases; // 'NV_site1_LEASES'
 * ```
 */
export function clusterNames(cluster = 'nv'): ClusterNames {
  if (typeof cluster !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(cluster)) {
    throw ConfigError.invalidConfig('cluster options', [{ field: 'cluster', message: 'letters, digits, _ and - (1–32 characters)' }]);
  }
  return {
    cluster, feeds: `NV_${cluster}_FEEDS`, leases: `NV_${cluster}_LEASES`, nodes: `NV_${cluster}_NODES`,
    outputs: `NV_${cluster}_OUTPUTS`, subjectBase: `nv.${cluster}`,
  };
}

/** Parsed server list: host:port entries and the credentials of the first URL that has some. */
export interface ParsedServers {
  /** `host:port` of each server. */
  readonly servers: readonly string[];
  /** User (with `pass`). */
  readonly user?: string;
  /** Password. */
  readonly pass?: string;
  /** Token (`nats://token@host`). */
  readonly token?: string;
  /** The list with credentials redacted, for messages. */
  readonly display: string;
}

/**
 * Reads a server list.
 * @param servers - see {@link ClusterConnectionOptions.servers}
 * @returns the servers and credentials
 * @throws {ConfigError} (field `servers`) an empty list, a URL that is not `nats://host[:port]`
 */
export function parseServers(servers: string | readonly string[]): ParsedServers {
  const bad = (message: string): ConfigError => ConfigError.invalidConfig('cluster options', [{ field: 'servers', message }]);
  const list = (typeof servers === 'string' ? servers.split(',') : [...servers]).map((s) => String(s).trim()).filter((s) => s !== '');
  if (list.length === 0) throw bad('at least one nats:// URL');
  const out: string[] = [];
  let user: string | undefined, pass: string | undefined, token: string | undefined;
  for (const raw of list) {
    let u: URL;
    try { u = new URL(raw.includes('://') ? raw : `nats://${raw}`); } catch { throw bad(`not a valid URL: ${redactUrl(raw)}`); }
    if (u.protocol !== 'nats:') throw bad(`must be nats:// (got ${u.protocol}//)`);
    if (u.hostname === '') throw bad('has no host');
    if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') throw bad(`${redactUrl(raw)}: a cluster server URL has no path, query or fragment`);
    out.push(`${u.hostname}:${u.port === '' ? 4222 : u.port}`);
    if (user === undefined && token === undefined && u.username !== '') {
      if (u.password === '') token = decodeURIComponent(u.username);
      else { user = decodeURIComponent(u.username); pass = decodeURIComponent(u.password); }
    }
  }
  return { servers: out, ...(user !== undefined ? { user, pass: pass! } : {}), ...(token !== undefined ? { token } : {}), display: out.map((s) => `nats://${s}`).join(',') };
}

/**
 * Connects to the cluster's servers; the connection then reconnects by itself forever (to any
 * server of the NATS cluster).
 * @param options - servers and timeout
 * @returns the connection
 * @throws {ClusterError} `Unreachable` when no server answers in time
 * @throws {ConfigError} a bad server list
 */
export async function connectCluster(options: ClusterConnectionOptions): Promise<NatsConnection> {
  const p = parseServers(options.servers);
  try {
    return await connect({
      servers: [...p.servers], ...(p.user !== undefined ? { user: p.user, pass: p.pass! } : {}), ...(p.token !== undefined ? { token: p.token } : {}),
      timeout: options.connectTimeoutMs ?? 5000, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'nv-cluster',
    });
  } catch (e) {
    throw new ClusterError('Unreachable', `cannot connect to ${p.display}: ${(e as Error).message}`, { cause: e });
  }
}
