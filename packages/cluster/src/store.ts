/**
 * The cluster's state in JetStream KV: the desired feeds (written by `nv cluster apply`), the
 * leases (who runs which feed, with a fencing token) and the nodes' heartbeats — and reading
 * them back as one status.
 *
 * @packageDocumentation
 */
import { ConfigError } from '@nv/core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { CLUSTER_NAME_PATTERN, clusterNames, connectCluster, parseServers, type ClusterConnectionOptions, type ClusterNames } from './connection.js';
import { ClusterError } from './errors.js';

/** A lease as stored: who runs the feed, and the lease's fencing token. */
export interface LeaseValue {
  /** The owner node. */
  readonly node: string;
  /**
   * The fencing token: the KV revision at which the lease was created. It only grows (a later
   * lease on any feed has a larger one), so an output carrying a smaller token than the feed's
   * newest is from an owner that lost the lease.
   */
  readonly token: number;
  /** When the lease was taken (ms since the epoch, the owner's clock). */
  readonly since: number;
}

/** What a node reports of one feed it owns. */
export interface NodeFeedReport {
  /** The lease's fencing token. */
  readonly token: number;
  /** `starting`, `running`, `failed`, `stopping`, or the runtime's state name. */
  readonly state: string;
  /** Frames processed since the node started it. */
  readonly frames?: number;
  /** Why it failed (state `failed`). */
  readonly error?: string;
}

/** A node's heartbeat as stored. */
export interface NodeValue {
  /** The node's name. */
  readonly name: string;
  /** When it started (ms since the epoch). */
  readonly startedAt: number;
  /** When it wrote this heartbeat (ms since the epoch, its clock). */
  readonly at: number;
  /** The node's own API (`nv node --port`), when it serves one. */
  readonly url?: string;
  /** Set while it shuts down: it hands its feeds over and gets no new ones. */
  readonly leaving?: boolean;
  /** The feeds it owns. */
  readonly feeds: Readonly<Record<string, NodeFeedReport>>;
}

/** One feed of the desired state. */
export interface DesiredFeed {
  /** Its name (a KV key and subject token: letters, digits, `_`, `-`). */
  readonly name: string;
  /** Its settings (the job config's feed entry, as JSON). */
  readonly settings: unknown;
}

/** What `apply` writes. */
export interface DesiredState {
  /** The job's settings every node builds its stages from (the config without `feeds`). */
  readonly job: unknown;
  /** The feeds. */
  readonly feeds: readonly DesiredFeed[];
}

/** Bucket settings, used when `apply` creates (or updates) the buckets. */
export interface ApplyOptions {
  /** Replicas of each bucket (1, or 3 on a 3-server NATS cluster). Default 1. */
  readonly replicas?: number;
  /**
   * How long a lease and a heartbeat live without renewal, in ms (≥ 3000). Default: the TTL the
   * cluster has (15000 when it is created: see `ClusterNode.survivableOutageMs`). Running nodes read it at start: restart them after
   * changing it.
   */
  readonly leaseTtlMs?: number;
}

/** What `apply` changed. */
export interface ApplyResult {
  /** Feeds that were not there. */
  readonly added: readonly string[];
  /** Feeds whose settings changed (their owners restart them). */
  readonly updated: readonly string[];
  /** Feeds no longer wanted (their owners stop them). */
  readonly removed: readonly string[];
  /** Feeds already as given. */
  readonly unchanged: readonly string[];
  /** Whether the job settings changed (nodes started after it use them; running nodes keep theirs). */
  readonly jobChanged: boolean;
  /** The lease TTL in force. */
  readonly leaseTtlMs: number;
}

/** One feed in a {@link ClusterStatus}. */
export interface FeedStatus {
  /** The feed's name. */
  readonly name: string;
  /** The node holding its lease, if any. */
  readonly owner: string | undefined;
  /** The lease's fencing token. */
  readonly token: number | undefined;
  /** `unassigned` (no lease), else the owner's report (`running`, `starting`, `failed`, …; `claimed` before the owner reports). */
  readonly state: string;
  /** Frames the owner has processed. */
  readonly frames: number | undefined;
  /** The owner's error, for `failed`. */
  readonly error: string | undefined;
}

/** One node in a {@link ClusterStatus}. */
export interface NodeStatus {
  /** Its name. */
  readonly name: string;
  /** How many feeds it owns. */
  readonly feeds: number;
  /** When it started. */
  readonly startedAt: number;
  /** Its API, when it serves one. */
  readonly url: string | undefined;
  /** Milliseconds since its last heartbeat (by its clock). */
  readonly heartbeatAgeMs: number;
}

/** The whole cluster at one moment. */
export interface ClusterStatus {
  /** The cluster's name. */
  readonly cluster: string;
  /** The lease TTL. */
  readonly leaseTtlMs: number;
  /** Every desired feed, by name. */
  readonly feeds: readonly FeedStatus[];
  /** Every live node, by name. */
  readonly nodes: readonly NodeStatus[];
  /** The job settings applied. */
  readonly job: unknown;
}

/** The three buckets of a cluster, open. @internal */
export interface ClusterBuckets {
  readonly names: ClusterNames;
  readonly jsm: JetStreamManager;
  readonly feeds: KV;
  readonly leases: KV;
  readonly nodes: KV;
  readonly ttlMs: number;
}

const FEED_PREFIX = 'feed.';
const DEFAULT_TTL_MS = 15_000;

/**
 * Opens the buckets of an applied cluster. @internal
 * @throws {ClusterError} `NotApplied` when the buckets do not exist
 */
export async function openBuckets(nc: NatsConnection, names: ClusterNames): Promise<ClusterBuckets> {
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  const ttl: number[] = [];
  for (const b of [names.feeds, names.leases, names.nodes]) {
    try {
      const info = await jsm.streams.info(`KV_${b}`);
      ttl.push(Math.round(info.config.max_age / 1e6));
    } catch (e) {
      if (/not found/i.test((e as Error).message)) {
        throw new ClusterError('NotApplied', `cluster '${names.cluster}' has no state on this NATS (bucket ${b} missing): run nv cluster apply -c config.yaml first`, { cause: e });
      }
      throw new ClusterError('Unreachable', `JetStream did not answer: ${(e as Error).message}`, { cause: e });
    }
  }
  const kvm = new Kvm(nc);
  return {
    names, jsm, ttlMs: ttl[1]!,
    feeds: await kvm.open(names.feeds), leases: await kvm.open(names.leases), nodes: await kvm.open(names.nodes),
  };
}

/**
 * Every live key's JSON value of a bucket (deleted keys skipped). @internal
 *
 * The keys come from the stream's per-subject state (`STREAM.INFO` with a subject filter, paged
 * by the client), not from `kv.keys()`: that would create a consumer per call — a meta-layer
 * operation on a clustered JetStream, which stalls while a killed server's meta leader is
 * replaced — while stream info and gets are answered by the stream's own replicas.
 */
export async function readAll<T>(kv: KV, bucket?: string, jsm?: JetStreamManager): Promise<Map<string, { value: T; revision: number }>> {
  let keys: string[];
  if (bucket !== undefined && jsm !== undefined) {
    const prefix = `$KV.${bucket}.`;
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` });
    keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  } else {
    keys = [];
    for await (const k of await kv.keys()) keys.push(k);
  }
  const out = new Map<string, { value: T; revision: number }>();
  await Promise.all(keys.map(async (k) => {
    const e = await kv.get(k);
    if (!e || e.operation !== 'PUT') return;
    try { out.set(k, { value: e.json<T>(), revision: e.revision }); } catch { /* not JSON: not ours */ }
  }));
  return out;
}

function checkDesired(d: DesiredState): void {
  const bad = (field: string, message: string) => new ClusterError('InvalidDesiredState', `${field}: ${message}`, { field });
  if (typeof d !== 'object' || d === null || !Array.isArray(d.feeds)) throw bad('feeds', 'a list of feeds');
  const seen = new Set<string>();
  d.feeds.forEach((f, i) => {
    if (typeof f?.name !== 'string' || !CLUSTER_NAME_PATTERN.test(f.name)) {
      throw bad(`feeds[${i}].name`, 'every feed of a cluster needs a name of letters, digits, _ and - (1–64): it is a KV key and a subject token');
    }
    if (seen.has(f.name)) throw bad(`feeds[${i}].name`, `'${f.name}' is given twice (feed names must be unique)`);
    seen.add(f.name);
  });
}

/**
 * The desired state of a cluster and its status: what `nv cluster apply` and `nv cluster status` use.
 *
 * @example
 * ```ts
 * const store = await ClusterStore.connect({ servers: 'nats://127.0.0.1:4222', cluster: 'site1' });
 * await store.apply({ job: { track: true }, feeds: [{ name: 'gate', settings: { source: 'rtsp://cam/1' } }] });
 * console.log((await store.status()).feeds);
 * await store.close();
 * ```
 */
export class ClusterStore {
  readonly #nc: NatsConnection;
  readonly #names: ClusterNames;

  private constructor(nc: NatsConnection, names: ClusterNames) {
    this.#nc = nc;
    this.#names = names;
  }

  /**
   * @param options - servers and cluster name
   * @returns a store on its own connection (close it)
   * @throws {ClusterError} `Unreachable`
   * @throws {ConfigError} a bad server list or cluster name
   */
  static async connect(options: ClusterConnectionOptions): Promise<ClusterStore> {
    const names = clusterNames(options.cluster);
    parseServers(options.servers);
    return new ClusterStore(await connectCluster(options), names);
  }

  /** The cluster's bucket, stream and subject names. */
  get names(): ClusterNames { return this.#names; }

  /**
   * Writes the desired state: creates the buckets (or updates their TTL), puts the job settings
   * and each feed whose settings changed, deletes the feeds no longer listed. Owners react
   * within one heartbeat: new feeds start on the node they are assigned to, changed ones
   * restart, removed ones stop.
   * @param desired - job settings and named feeds
   * @param options - replicas and lease TTL (used when creating; the TTL is updated if changed)
   * @returns what changed
   * @throws {ClusterError} `InvalidDesiredState` (field named), `Unreachable`
   */
  async apply(desired: DesiredState, options: ApplyOptions = {}): Promise<ApplyResult> {
    checkDesired(desired);
    const replicas = options.replicas ?? 1;
    if (options.leaseTtlMs !== undefined && (!Number.isInteger(options.leaseTtlMs) || options.leaseTtlMs < 3000)) {
      throw ConfigError.invalidConfig('cluster options', [{ field: 'leaseTtlMs', message: 'an integer ≥ 3000 (ms): a lease must outlive a few renewals and a NATS leader election' }]);
    }
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw ConfigError.invalidConfig('cluster options', [{ field: 'replicas', message: 'an integer in 1..5' }]);
    try {
      return await this.#apply(desired, options.leaseTtlMs, replicas);
    } catch (e) {
      if (ClusterError.isInstance(e) || ConfigError.isInstance(e)) throw e;
      throw new ClusterError('Unreachable', `cannot write the state of cluster '${this.#names.cluster}': ${(e as Error).message}`, { cause: e });
    }
  }

  async #apply(desired: DesiredState, ttlOption: number | undefined, replicas: number): Promise<ApplyResult> {
    const jsm = await jetstreamManager(this.#nc, { timeout: 5000 });
    const kvm = new Kvm(this.#nc);
    let ttl = ttlOption ?? DEFAULT_TTL_MS;
    // The TTL changes only when asked for: a routine re-apply never shortens it under running nodes.
    const open = async (bucket: string, withTtl: boolean): Promise<KV> => {
      try {
        const info = await jsm.streams.info(`KV_${bucket}`);
        const current = Math.round(info.config.max_age / 1e6);
        if (withTtl && ttlOption === undefined) ttl = current;
        else if (withTtl && current !== ttl) await jsm.streams.update(`KV_${bucket}`, { ...info.config, max_age: ttl * 1e6 });
        return await kvm.open(bucket);
      } catch (e) {
        if (!/not found/i.test((e as Error).message)) throw e;
        return await kvm.create(bucket, { history: 1, replicas, ...(withTtl ? { ttl } : {}) });
      }
    };
    const feeds = await open(this.#names.feeds, false);
    await open(this.#names.leases, true);
    await open(this.#names.nodes, true);
    const current = await readAll<unknown>(feeds, this.#names.feeds, jsm);
    const job = JSON.stringify(desired.job ?? {});
    const oldJob = current.get('job');
    const jobChanged = oldJob === undefined || JSON.stringify(oldJob.value) !== job;
    if (jobChanged) await feeds.put('job', job);
    const added: string[] = [], updated: string[] = [], unchanged: string[] = [], removed: string[] = [];
    const wanted = new Set<string>();
    for (const f of desired.feeds) {
      const key = FEED_PREFIX + f.name;
      wanted.add(key);
      const value = JSON.stringify(f.settings);
      const old = current.get(key);
      if (old === undefined) { await feeds.put(key, value); added.push(f.name); }
      else if (JSON.stringify(old.value) !== value) { await feeds.put(key, value); updated.push(f.name); }
      else unchanged.push(f.name);
    }
    for (const key of current.keys()) {
      if (key.startsWith(FEED_PREFIX) && !wanted.has(key)) { await feeds.delete(key); removed.push(key.slice(FEED_PREFIX.length)); }
    }
    return { added, updated, removed, unchanged, jobChanged, leaseTtlMs: ttl };
  }

  /**
   * Reads the whole cluster: each desired feed with its owner, token and state; each live node.
   * @returns the status
   * @throws {ClusterError} `NotApplied`, `Unreachable`
   */
  async status(): Promise<ClusterStatus> {
    try {
      return await readStatus(await openBuckets(this.#nc, this.#names));
    } catch (e) {
      if (ClusterError.isInstance(e)) throw e;
      // A timeout or "JetStream not enabled" while a NATS server is down and a leader is elected.
      throw new ClusterError('Unreachable', `cannot read the state of cluster '${this.#names.cluster}': ${(e as Error).message} (try again)`, { cause: e });
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#nc.close().catch(() => undefined);
  }
}

/** The desired feeds and the job of open buckets. @internal */
export async function readDesired(b: ClusterBuckets): Promise<{ job: unknown; feeds: Map<string, { settings: unknown; revision: number }> }> {
  const all = await readAll<unknown>(b.feeds, b.names.feeds, b.jsm);
  const feeds = new Map<string, { settings: unknown; revision: number }>();
  for (const [k, v] of all) if (k.startsWith(FEED_PREFIX)) feeds.set(k.slice(FEED_PREFIX.length), { settings: v.value, revision: v.revision });
  return { job: all.get('job')?.value ?? {}, feeds };
}

/** The status of open buckets. @internal */
export async function readStatus(b: ClusterBuckets): Promise<ClusterStatus> {
  const [desired, leases, nodes] = await Promise.all([readDesired(b), readAll<LeaseValue>(b.leases, b.names.leases, b.jsm), readAll<NodeValue>(b.nodes, b.names.nodes, b.jsm)]);
  const now = Date.now();
  const feeds = [...desired.feeds.keys()].sort().map((name): FeedStatus => {
    const lease = leases.get(name)?.value;
    const report = lease ? nodes.get(lease.node)?.value.feeds[name] : undefined;
    const current = report && report.token === lease?.token ? report : undefined;
    return {
      name, owner: lease?.node, token: lease?.token,
      state: lease === undefined ? 'unassigned' : current?.state ?? 'claimed',
      frames: current?.frames, error: current?.error,
    };
  });
  return {
    cluster: b.names.cluster, leaseTtlMs: b.ttlMs, job: desired.job, feeds,
    nodes: [...nodes.values()].map((n) => n.value).sort((a, c) => a.name.localeCompare(c.name)).map((n) => ({
      name: n.name, feeds: Object.keys(n.feeds).length, startedAt: n.startedAt, url: n.url, heartbeatAgeMs: Math.max(0, now - n.at),
    })),
  };
}
