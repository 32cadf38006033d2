/**
 * A cluster node: claims the feeds assigned to it with leases, runs them through a
 * {@link FeedController}, renews the leases, hands feeds over when the assignment moves, and
 * stops a feed itself as soon as it can no longer prove it holds the lease.
 *
 * @packageDocumentation
 */
import { ConfigError } from '@nv/core';
import type { NatsConnection } from '@nats-io/transport-node';
import { assignFeeds } from './assign.js';
import { CLUSTER_NAME_PATTERN, clusterNames, connectCluster, type ClusterConnectionOptions } from './connection.js';
import { ClusterError } from './errors.js';
import { openBuckets, readAll, readDesired, readStatus, type ClusterBuckets, type ClusterStatus, type LeaseValue, type NodeFeedReport, type NodeValue } from './store.js';

/** Who runs a feed and under which lease: carried by every output of the feed. */
export interface Fence {
  /** The owner node. */
  readonly node: string;
  /** The lease's fencing token (grows with every new lease). */
  readonly token: number;
}

/** What a node runs feeds with (nv's runtime in `nv node`). */
export interface FeedController {
  /**
   * Starts a feed. A throw marks the feed `failed` on this node (it keeps the lease, and tries
   * again after `retryMs` or when the feed's settings change).
   * @param name - the feed's name
   * @param settings - its settings as applied
   * @param job - the job settings as applied
   * @param fence - the lease: put it in every output
   */
  start(name: string, settings: unknown, job: unknown, fence: Fence): Promise<void>;
  /** Stops a feed (quickly: its lease is being given up or is lost). Must not throw. */
  stop(name: string): Promise<void>;
  /** The feed's state and frames, for the heartbeat (optional). */
  report?(name: string): { readonly state: string; readonly frames?: number } | undefined;
}

/** Something that happened on a node. */
export type ClusterNodeEvent =
  | { readonly type: 'FeedClaimed'; readonly feed: string; readonly token: number }
  | { readonly type: 'FeedStarted'; readonly feed: string; readonly token: number; readonly ms: number }
  | { readonly type: 'FeedFailed'; readonly feed: string; readonly token: number; readonly error: string }
  | { readonly type: 'FeedReleased'; readonly feed: string; readonly token: number; readonly reason: 'removed' | 'reassigned' | 'shutdown' }
  | { readonly type: 'FeedRestarted'; readonly feed: string; readonly token: number }
  /** The lease was taken by another node (this one was partitioned or too slow to renew). */
  | { readonly type: 'LeaseLost'; readonly feed: string; readonly token: number; readonly owner: string | undefined }
  /** This node could not renew in time and stopped the feed itself before the lease could expire. */
  | { readonly type: 'LeaseExpired'; readonly feed: string; readonly token: number }
  | { readonly type: 'Disconnected'; readonly error: string }
  | { readonly type: 'Reconnected' };

/** Options of {@link ClusterNode.start}. */
export interface ClusterNodeOptions extends ClusterConnectionOptions {
  /** This node's name (letters, digits, `_`, `-`), unique in the cluster. */
  readonly name: string;
  /** Runs the feeds. */
  readonly controller: FeedController;
  /** How often to heartbeat, renew and re-plan, in ms. Default: the lease TTL ÷ 4. At most half the TTL. */
  readonly tickMs?: number;
  /** How long a failed feed waits before it is started again, in ms. Default 10000. */
  readonly retryMs?: number;
  /** This node's API URL, shown in the cluster status. */
  readonly url?: string;
  /** Events (claims, releases, lost leases); must not throw. */
  readonly onEvent?: (e: ClusterNodeEvent) => void;
  /** How long to wait for `nv cluster apply` when the cluster has no state yet, in ms. Default 0 (fail at once). */
  readonly waitForApplyMs?: number;
}

interface Owned {
  readonly token: number;
  revision: number;
  /** When the last successful renewal was sent: the lease holds at least until this + TTL. */
  validFrom: number;
  settingsRevision: number;
  state: 'starting' | 'running' | 'failed' | 'stopping';
  error?: string;
  failedAt?: number;
  deadline?: ReturnType<typeof setTimeout>;
  renewing?: boolean;
}

/** Counters of a node. */
export interface ClusterNodeStats {
  /** Ticks done. */
  readonly ticks: number;
  /** Feeds it owns now. */
  readonly owned: number;
  /** Leases it created. */
  readonly claims: number;
  /** Leases it gave up (removed, reassigned, shutdown). */
  readonly releases: number;
  /** Leases it lost or let expire. */
  readonly lost: number;
  /** KV requests it made (reads and writes). */
  readonly requests: number;
  /** Planning rounds that failed (NATS unreachable, reads timed out): retried at the next. */
  readonly failedTicks: number;
  /** Heartbeats that failed. */
  readonly failedHeartbeats: number;
}

/**
 * A node of an nv cluster.
 *
 * Safety: a lease is created with compare-and-set (one owner), renewed with compare-and-set
 * (a renewal after another node took it fails: `LeaseLost`), and the node stops a feed by itself
 * when its last successful renewal was sent more than TTL − max(1 s, 10 % TTL) ago (`LeaseExpired`) — the server
 * keeps a lease for at least a TTL after that send, so a new owner can only start once the old
 * one has stopped. Every output carries the {@link Fence}, so a partitioned owner's late
 * outputs (delivered from a sink's queue after it reconnects) are recognisable by their token.
 *
 * @example
 * ```ts
 * const node = await ClusterNode.start({
 *   servers: 'nats://127.0.0.1:4222', name: 'n1',
 *   controller: { start: async (name) => console.log('run', name), stop: async (name) => console.log('stop', name) },
 * });
 * // … on SIGTERM:
 * await node.close(); // stops its feeds, gives up their leases at once
 * ```
 */
export class ClusterNode {
  readonly #o: ClusterNodeOptions;
  readonly #nc: NatsConnection;
  readonly #b: ClusterBuckets;
  readonly #owned = new Map<string, Owned>();
  readonly #startedAt = Date.now();
  readonly #tickMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> = Promise.resolve();
  #renewing: Promise<void> = Promise.resolve();
  #closed = false;
  #job: unknown = {};
  #stats = { ticks: 0, claims: 0, releases: 0, lost: 0, requests: 0, failedTicks: 0, failedHeartbeats: 0 };

  private constructor(o: ClusterNodeOptions, nc: NatsConnection, b: ClusterBuckets) {
    this.#o = o;
    this.#nc = nc;
    this.#b = b;
    this.#tickMs = o.tickMs ?? Math.max(100, Math.floor(b.ttlMs / 4));
  }

  /**
   * Connects, joins the cluster and runs its first tick (claims what is assigned to it).
   * @param options - servers, name, controller
   * @returns the running node
   * @throws {ClusterError} `Unreachable`, `NotApplied` (after `waitForApplyMs`)
   * @throws {ConfigError} a bad name, server list or tick
   */
  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    if (typeof options.name !== 'string' || !CLUSTER_NAME_PATTERN.test(options.name)) {
      throw ConfigError.invalidConfig('cluster node options', [{ field: 'name', message: 'letters, digits, _ and - (1–64)' }]);
    }
    if (options.tickMs !== undefined && !(Number.isInteger(options.tickMs) && options.tickMs >= 50)) {
      throw ConfigError.invalidConfig('cluster node options', [{ field: 'tickMs', message: 'an integer ≥ 50 (ms)' }]);
    }
    const names = clusterNames(options.cluster);
    const nc = await connectCluster(options);
    let b: ClusterBuckets;
    const until = Date.now() + (options.waitForApplyMs ?? 0);
    for (;;) {
      try { b = await openBuckets(nc, names); break; } catch (e) {
        if (ClusterError.isInstance(e) && e.kind === 'NotApplied' && Date.now() < until) { await new Promise((r) => setTimeout(r, 500)); continue; }
        await nc.close().catch(() => undefined);
        throw e;
      }
    }
    if (options.tickMs !== undefined && options.tickMs * 2 > b.ttlMs) {
      await nc.close().catch(() => undefined);
      throw ConfigError.invalidConfig('cluster node options', [{ field: 'tickMs', message: `must be at most half the lease TTL (${b.ttlMs} ms)` }]);
    }
    const node = new ClusterNode(options, nc, b);
    node.#watchConnection();
    await node.#keepAlive();
    await node.#tick();
    node.#schedule();
    node.#scheduleRenewals();
    return node;
  }

  /** This node's name. */
  get name(): string { return this.#o.name; }
  /** The lease TTL of the cluster. */
  get leaseTtlMs(): number { return this.#b.ttlMs; }

  /**
   * @param feed - a feed's name
   * @returns the lease this node holds on it, if any
   */
  fence(feed: string): Fence | undefined {
    const o = this.#owned.get(feed);
    return o ? { node: this.#o.name, token: o.token } : undefined;
  }

  /** @returns the feeds this node holds leases on, with their tokens and states */
  owned(): { feed: string; token: number; state: string }[] {
    return [...this.#owned].map(([feed, o]) => ({ feed, token: o.token, state: o.state }));
  }

  /** @returns counters */
  stats(): ClusterNodeStats { return { ...this.#stats, owned: this.#owned.size }; }

  /** @returns the whole cluster's status (what `nv cluster status` prints) */
  status(): Promise<ClusterStatus> { return readStatus(this.#b); }

  /**
   * Leaves the cluster: stops every feed, gives up its leases (so the other nodes take them
   * over at once instead of after a TTL), removes its heartbeat, disconnects. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    await this.#running.catch(() => undefined);
    await this.#renewing.catch(() => undefined);
    await Promise.all([...this.#owned.keys()].map((f) => this.#release(f, 'shutdown')));
    await this.#b.nodes.delete(this.#o.name).catch(() => undefined);
    // Draining waits for the server; a partitioned node just closes.
    const drained = this.#nc.isClosed() ? Promise.resolve() : this.#nc.drain().catch(() => undefined);
    const t = new Promise<void>((r) => { setTimeout(r, 2000).unref?.(); });
    await Promise.race([drained, t]);
    if (!this.#nc.isClosed()) await this.#nc.close().catch(() => undefined);
  }

  #emit(e: ClusterNodeEvent): void {
    try { this.#o.onEvent?.(e); } catch { /* the listener's problem */ }
  }

  #watchConnection(): void {
    void (async () => {
      for await (const s of this.#nc.status()) {
        if (s.type === 'disconnect') this.#emit({ type: 'Disconnected', error: String((s as { server?: string }).server ?? 'connection lost') });
        else if (s.type === 'reconnect') this.#emit({ type: 'Reconnected' });
      }
    })().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().catch(() => { this.#stats.failedTicks++; }).finally(() => this.#schedule());
    }, this.#tickMs);
    this.#timer.unref?.();
  }

  /**
   * Renewals and the heartbeat run on their own timer, each request with a short timeout, so a
   * slow planning round (reads that wait for a NATS server to come back) never holds a lease
   * back.
   */
  #scheduleRenewals(): void {
    if (this.#closed) return;
    this.#renewTimer = setTimeout(() => {
      this.#renewing = this.#keepAlive().finally(() => this.#scheduleRenewals());
    }, this.#tickMs);
    this.#renewTimer.unref?.();
  }

  async #keepAlive(): Promise<void> {
    await Promise.all([
      this.#renewAll(),
      this.#heartbeat().catch(() => { this.#stats.failedHeartbeats++; }),
    ]);
  }

  /** The per-request timeout of renewals and heartbeats. */
  get #requestTimeoutMs(): number { return Math.max(500, Math.min(2000, this.#tickMs)); }

  /** One planning round: read, plan, release, claim. */
  async #tick(): Promise<void> {
    if (this.#closed) return;
    this.#stats.ticks++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('cluster state read timed out')), Math.max(1000, this.#b.ttlMs / 2)); });
    let read;
    try {
      read = await Promise.race([Promise.all([readDesired(this.#b), readAll<LeaseValue>(this.#b.leases), readAll<NodeValue>(this.#b.nodes)]), budget]);
    } finally { clearTimeout(timer); }
    const [desired, leases, nodes] = read;
    this.#stats.requests += 3 + desired.feeds.size + leases.size + nodes.size;
    this.#job = desired.job;
    const live = new Set([...nodes.values()].map((n) => n.value.name));
    live.add(this.#o.name);
    const holders = new Map([...leases].map(([feed, l]) => [feed, l.value.node]));
    const plan = assignFeeds(desired.feeds.keys(), live, holders);
    for (const [feed, o] of [...this.#owned]) {
      if (this.#closed) return;
      const want = desired.feeds.get(feed);
      if (want === undefined) {
        // Only a delete marker (or no entry at all) removes a feed: a listing that missed a key never does.
        const e = await this.#b.feeds.get(`feed.${feed}`).catch(() => undefined);
        if (e === null || (e !== undefined && e.operation !== 'PUT')) await this.#release(feed, 'removed');
        continue;
      }
      const target = plan.get(feed);
      if (target !== this.#o.name && target !== undefined && live.has(target)) { await this.#release(feed, 'reassigned'); continue; }
      if (want.revision !== o.settingsRevision && o.state !== 'stopping') {
        o.settingsRevision = want.revision;
        await this.#o.controller.stop(feed);
        this.#emit({ type: 'FeedRestarted', feed, token: o.token });
        await this.#startFeed(feed, o, want.settings);
      } else if (o.state === 'failed' && o.failedAt !== undefined && Date.now() - o.failedAt >= (this.#o.retryMs ?? 10_000)) {
        await this.#startFeed(feed, o, want.settings);
      }
    }
    for (const [feed, want] of desired.feeds) {
      if (this.#closed) return;
      if (plan.get(feed) !== this.#o.name || this.#owned.has(feed) || leases.has(feed)) continue;
      await this.#claim(feed, want.settings, want.revision);
    }
  }

  async #claim(feed: string, settings: unknown, settingsRevision: number): Promise<void> {
    const sentAt = Date.now();
    let revision: number;
    this.#stats.requests++;
    try {
      // A placeholder token: the lease's token is its creation revision, written at the first renewal.
      revision = await this.#b.leases.create(feed, JSON.stringify({ node: this.#o.name, token: 0, since: sentAt } satisfies LeaseValue));
    } catch {
      return; // somebody else holds it (or took it a moment ago)
    }
    const o: Owned = { token: revision, revision, validFrom: sentAt, settingsRevision, state: 'starting' };
    this.#owned.set(feed, o);
    this.#stats.claims++;
    this.#armDeadline(feed, o);
    this.#emit({ type: 'FeedClaimed', feed, token: revision });
    await this.#renew(feed, o);
    if (this.#owned.get(feed) === o) await this.#startFeed(feed, o, settings);
  }

  async #startFeed(feed: string, o: Owned, settings: unknown): Promise<void> {
    o.state = 'starting';
    const t0 = performance.now();
    try {
      await this.#o.controller.start(feed, settings, this.#job, { node: this.#o.name, token: o.token });
      if (this.#owned.get(feed) !== o) { await this.#o.controller.stop(feed); return; } // lost meanwhile
      o.state = 'running';
      delete o.error;
      this.#emit({ type: 'FeedStarted', feed, token: o.token, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      o.state = 'failed';
      o.error = e instanceof Error ? e.message : String(e);
      o.failedAt = Date.now();
      this.#emit({ type: 'FeedFailed', feed, token: o.token, error: o.error });
    }
  }

  /**
   * The feed is stopped by this node unless a renewal succeeds first: a margin (10 % of the TTL,
   * at least 1 s) before the lease can expire on the server.
   */
  #armDeadline(feed: string, o: Owned): void {
    if (o.deadline) clearTimeout(o.deadline);
    const at = o.validFrom + this.#b.ttlMs - Math.max(1000, Math.floor(this.#b.ttlMs * 0.1));
    o.deadline = setTimeout(() => {
      if (this.#owned.get(feed) !== o) return;
      this.#owned.delete(feed);
      this.#stats.lost++;
      this.#emit({ type: 'LeaseExpired', feed, token: o.token });
      void this.#o.controller.stop(feed);
    }, Math.max(0, at - Date.now()));
    o.deadline.unref?.();
  }

  async #renewAll(): Promise<void> {
    await Promise.all([...this.#owned].map(([feed, o]) => this.#renew(feed, o)));
  }

  async #renew(feed: string, o: Owned): Promise<void> {
    if (o.renewing) return;
    o.renewing = true;
    try { await this.#renewOnce(feed, o); } finally { o.renewing = false; }
  }

  async #renewOnce(feed: string, o: Owned): Promise<void> {
    const sentAt = Date.now();
    this.#stats.requests++;
    try {
      o.revision = await this.#b.leases.update(feed, JSON.stringify({ node: this.#o.name, token: o.token, since: o.validFrom } satisfies LeaseValue), o.revision, this.#requestTimeoutMs);
      if (this.#owned.get(feed) !== o) return;
      o.validFrom = sentAt;
      this.#armDeadline(feed, o);
    } catch (e) {
      if (this.#owned.get(feed) !== o) return;
      if (/wrong last sequence/i.test((e as Error).message)) {
        // Taken by another node (this one's lease expired while it could not renew).
        this.#owned.delete(feed);
        if (o.deadline) clearTimeout(o.deadline);
        this.#stats.lost++;
        const now = await this.#b.leases.get(feed).catch(() => null);
        let owner: string | undefined;
        try { owner = now && now.operation === 'PUT' ? now.json<LeaseValue>().node : undefined; } catch { owner = undefined; }
        this.#emit({ type: 'LeaseLost', feed, token: o.token, owner });
        await this.#o.controller.stop(feed);
      }
      // Otherwise (timeout, disconnected): try again next tick; the deadline stops the feed if that never works.
    }
  }

  async #release(feed: string, reason: 'removed' | 'reassigned' | 'shutdown'): Promise<void> {
    const o = this.#owned.get(feed);
    if (!o) return;
    o.state = 'stopping';
    await this.#o.controller.stop(feed);
    if (o.deadline) clearTimeout(o.deadline);
    this.#owned.delete(feed);
    this.#stats.releases++;
    this.#stats.requests++;
    await this.#b.leases.delete(feed, { previousSeq: o.revision }).catch(() => undefined);
    this.#emit({ type: 'FeedReleased', feed, token: o.token, reason });
  }

  async #heartbeat(): Promise<void> {
    const feeds: Record<string, NodeFeedReport> = {};
    for (const [feed, o] of this.#owned) {
      const r = o.state === 'running' ? this.#o.controller.report?.(feed) : undefined;
      feeds[feed] = { token: o.token, state: r?.state ?? o.state, ...(r?.frames !== undefined ? { frames: r.frames } : {}), ...(o.error !== undefined ? { error: o.error.slice(0, 300) } : {}) };
    }
    const v: NodeValue = { name: this.#o.name, startedAt: this.#startedAt, at: Date.now(), ...(this.#o.url !== undefined ? { url: this.#o.url } : {}), feeds };
    this.#stats.requests++;
    await this.#b.nodes.put(this.#o.name, JSON.stringify(v), { timeout: this.#requestTimeoutMs });
  }
}
