/**
 * A cluster node: claims the feeds assigned to it with leases, runs them through a
 * {@link FeedController}, renews the leases, hands feeds over when the assignment moves, and
 * stops a feed itself as soon as it can no longer prove it holds the lease.
 *
 * @packageDocumentation
 */
import { ConfigError, sanitizeErrorString } from '@nv/core';
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
  /**
   * Stops a feed. Must not throw. `urgent`: the lease is lost or about to expire — stop within
   * about a second (no long drain); otherwise (hand-over, removal, shutdown, restart) drain.
   */
  stop(name: string, options?: { readonly urgent?: boolean }): Promise<void>;
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
  /**
   * How often to re-plan (read the buckets, claim, hand over), in ms. Default: the lease TTL ÷ 4
   * (less for short TTLs); at most a third of TTL − max(1 s, 10 % TTL). Leases are renewed and the
   * heartbeat written every min(tick, TTL ÷ 10) ({@link ClusterNode.renewIntervalMs}).
   */
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
  /** The renewal in flight, if any (one at a time per lease). */
  renewal?: Promise<void>;
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
  /** Stops in progress per feed: a feed is started again only after its last stop finished. */
  readonly #stopping = new Map<string, Promise<void>>();
  readonly #startedAt = Date.now();
  readonly #tickMs: number;
  readonly #renewMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();
  #heartbeating = false;
  /** Set by `close()`: no more planning; renewals go on until every feed is released. */
  #leaving = false;
  #closed = false;
  #job: unknown = {};
  #stats = { ticks: 0, claims: 0, releases: 0, lost: 0, requests: 0, failedTicks: 0, failedHeartbeats: 0 };

  private constructor(o: ClusterNodeOptions, nc: NatsConnection, b: ClusterBuckets) {
    this.#o = o;
    this.#nc = nc;
    this.#b = b;
    this.#tickMs = o.tickMs ?? ClusterNode.defaultTickMs(b.ttlMs);
    this.#renewMs = ClusterNode.renewIntervalMs(b.ttlMs, this.#tickMs);
  }

  /**
   * How often leases are renewed (and the heartbeat written): every tick, or every TTL ÷ 10 when
   * that is sooner (at least 250 ms). Renewals run on their own timer, so a short interval keeps
   * the outage a node survives close to the whole TTL without planning more often.
   */
  static renewIntervalMs(ttlMs: number, tickMs = ClusterNode.defaultTickMs(ttlMs)): number {
    return Math.min(tickMs, Math.max(250, Math.floor(ttlMs / 10)));
  }

  /**
   * The longest NATS outage (no KV write succeeds) that a node's feeds survive without being
   * stopped: TTL − fence margin − renewal interval. A JetStream leader election after a NATS
   * server dies took 4.3–8.3 s here (ten kills), so this should be 10 s or more — the default
   * TTL (15 s) gives 12 s.
   */
  static survivableOutageMs(ttlMs: number, tickMs = ClusterNode.defaultTickMs(ttlMs)): number {
    return ttlMs - ClusterNode.fenceMarginMs(ttlMs) - ClusterNode.renewIntervalMs(ttlMs, tickMs);
  }

  /** The default tick: TTL ÷ 4, or less so that three renewals fit before the fence. */
  static defaultTickMs(ttlMs: number): number {
    return Math.max(100, Math.floor(Math.min(ttlMs / 4, (ttlMs - ClusterNode.fenceMarginMs(ttlMs)) / 3)));
  }

  /** How long before a lease could expire a node stops its feed: max(1 s, 10 % TTL). */
  static fenceMarginMs(ttlMs: number): number { return Math.max(1000, Math.floor(ttlMs * 0.1)); }

  /**
   * Connects, joins the cluster and runs its first planning round (claims what is assigned to
   * it; a round that fails — NATS busy electing a leader — is retried at the next tick).
   * @param options - servers, name, controller
   * @returns the running node
   * @throws {ClusterError} `Unreachable`, `NotApplied` (after `waitForApplyMs`)
   * @throws {ConfigError} a bad name, server list or tick (at most a third of TTL − margin)
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
    // Three renewal chances before the fence: a lease survives two renewals lost in a row.
    const window = b.ttlMs - ClusterNode.fenceMarginMs(b.ttlMs);
    const tick = options.tickMs ?? ClusterNode.defaultTickMs(b.ttlMs);
    if (tick * 3 > window) {
      await nc.close().catch(() => undefined);
      throw ConfigError.invalidConfig('cluster node options', [{ field: 'tickMs', message: `${tick} ms is too long for the lease TTL (${b.ttlMs} ms): at most ${Math.floor(window / 3)} ms` }]);
    }
    const node = new ClusterNode(options, nc, b);
    node.#watchConnection();
    node.#renewTimer = setInterval(() => { void node.#keepAlive(); }, node.#renewMs);
    await node.#keepAlive();
    node.#running = node.#tick().catch(() => { node.#stats.failedTicks++; });
    await node.#running;
    node.#schedule();
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
   * Leaves the cluster: marks itself leaving (planners stop assigning to it), stops planning,
   * stops every feed and gives up its lease — renewing the others meanwhile — so the other
   * nodes take them over at once instead of after a TTL; then removes its heartbeat and
   * disconnects. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#leaving) { while (!this.#closed) await new Promise((r) => setTimeout(r, 20)); return; }
    this.#leaving = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#heartbeat().catch(() => undefined);
    await this.#running.catch(() => undefined);
    await Promise.all([...this.#owned.keys()].map((f) => this.#release(f, 'shutdown')));
    await Promise.all([...this.#stopping.values()]);
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    this.#closed = true;
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
    if (this.#leaving) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().catch(() => { this.#stats.failedTicks++; }).finally(() => this.#schedule());
    }, this.#tickMs);
  }

  /**
   * Renewals and the heartbeat: every renewal interval on their own timer, each request with a short
   * timeout, one renewal in flight per lease — so neither a slow planning round nor one slow
   * renewal (or a feed that takes long to stop) holds the other leases back.
   */
  async #keepAlive(): Promise<void> {
    if (this.#closed) return;
    for (const [feed, o] of this.#owned) void this.#renew(feed, o);
    if (this.#heartbeating || this.#leaving) return;
    this.#heartbeating = true;
    try { await this.#heartbeat(); } catch { this.#stats.failedHeartbeats++; } finally { this.#heartbeating = false; }
  }

  /** The per-request timeout of renewals and heartbeats. */
  /**
   * Shorter than the renewal interval, so a renewal that hangs (an election) is given up before
   * the next one is due and no interval is skipped — the outage arithmetic of `survivableOutageMs` holds.
   */
  get #requestTimeoutMs(): number { return Math.max(200, Math.min(2000, this.#renewMs - 100)); }

  /** One planning round: read, plan, release, claim. */
  async #tick(): Promise<void> {
    if (this.#leaving) return;
    this.#stats.ticks++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const budget = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('cluster state read timed out')), Math.max(1000, this.#b.ttlMs / 2)); });
    let read;
    try {
      read = await Promise.race([Promise.all([readDesired(this.#b), readAll<LeaseValue>(this.#b.leases, this.#b.names.leases, this.#b.jsm), readAll<NodeValue>(this.#b.nodes, this.#b.names.nodes, this.#b.jsm)]), budget]);
    } finally { clearTimeout(timer); }
    const [desired, leases, nodes] = read;
    this.#stats.requests += 3 + desired.feeds.size + leases.size + nodes.size;
    this.#job = desired.job;
    // A node that is leaving gets nothing new (it hands its feeds over).
    const live = new Set([...nodes.values()].filter((n) => n.value.leaving !== true).map((n) => n.value.name));
    live.add(this.#o.name);
    const holders = new Map([...leases].map(([feed, l]) => [feed, l.value.node]));
    const plan = assignFeeds(desired.feeds.keys(), live, holders);
    const retryMs = this.#o.retryMs ?? 10_000;
    for (const [feed, o] of [...this.#owned]) {
      if (this.#leaving) return;
      if (this.#owned.get(feed) !== o || o.state === 'stopping') continue;
      const want = desired.feeds.get(feed);
      if (want === undefined) {
        // Only a delete marker (or no entry at all) removes a feed: a listing that missed a key never does.
        const e = await this.#b.feeds.get(`feed.${feed}`).catch(() => undefined);
        if (e === null || (e !== undefined && e.operation !== 'PUT')) await this.#release(feed, 'removed');
        continue;
      }
      const target = plan.get(feed);
      if (target !== this.#o.name && target !== undefined && live.has(target)) { await this.#release(feed, 'reassigned'); continue; }
      if (o.state === 'running' && this.#o.controller.report) {
        // A feed that ended by itself (a file at its end, a fatal error, removed by hand) keeps
        // its lease only as a failed feed, started again after retryMs.
        const r = this.#o.controller.report(feed);
        if (r === undefined || r.state === 'stopped' || r.state === 'failed') {
          o.state = 'failed';
          o.error = r === undefined ? 'the feed is no longer running on this node' : `the feed ${r.state}`;
          o.failedAt = Date.now();
          this.#emit({ type: 'FeedFailed', feed, token: o.token, error: o.error });
        }
      }
      if (want.revision !== o.settingsRevision) {
        o.settingsRevision = want.revision;
        this.#emit({ type: 'FeedRestarted', feed, token: o.token });
        await this.#startFeed(feed, o, want.settings, true);
      } else if (o.state === 'failed' && o.failedAt !== undefined && Date.now() - o.failedAt >= retryMs) {
        await this.#startFeed(feed, o, want.settings, true);
      }
    }
    for (const [feed, want] of desired.feeds) {
      if (this.#leaving) return;
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
    } catch (e) {
      if (/wrong last sequence/i.test((e as Error).message)) return; // somebody else holds it
      // Timed out: the server may have stored it anyway. Give back a placeholder of ours.
      const now = await this.#b.leases.get(feed).catch(() => null);
      try {
        const v = now && now.operation === 'PUT' ? now.json<LeaseValue>() : undefined;
        if (v && v.node === this.#o.name && v.token === 0) await this.#b.leases.delete(feed, { previousSeq: now!.revision });
      } catch { /* it expires with the TTL */ }
      return;
    }
    const o: Owned = { token: revision, revision, validFrom: sentAt, settingsRevision, state: 'starting' };
    this.#owned.set(feed, o);
    this.#stats.claims++;
    this.#armDeadline(feed, o);
    this.#emit({ type: 'FeedClaimed', feed, token: revision });
    await this.#renew(feed, o);
    if (this.#owned.get(feed) === o) await this.#startFeed(feed, o, settings, false);
  }

  /** Stops a feed once (the stops of one feed run one after another). */
  #stopFeed(feed: string, urgent: boolean): Promise<void> {
    const prev = this.#stopping.get(feed) ?? Promise.resolve();
    const p = prev.then(() => this.#o.controller.stop(feed, { urgent })).catch(() => undefined);
    this.#stopping.set(feed, p);
    void p.then(() => { if (this.#stopping.get(feed) === p) this.#stopping.delete(feed); });
    return p;
  }

  async #startFeed(feed: string, o: Owned, settings: unknown, restart: boolean): Promise<void> {
    o.state = 'starting';
    if (restart) await this.#stopFeed(feed, false);
    await this.#stopping.get(feed);
    if (this.#owned.get(feed) !== o || this.#leaving) return;
    const t0 = performance.now();
    try {
      await this.#o.controller.start(feed, settings, this.#job, { node: this.#o.name, token: o.token });
      if (this.#owned.get(feed) !== o) { await this.#stopFeed(feed, true); return; } // lost meanwhile
      o.state = 'running';
      delete o.error;
      this.#emit({ type: 'FeedStarted', feed, token: o.token, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      o.state = 'failed';
      o.error = sanitizeErrorString(e instanceof Error ? e.message : String(e));
      o.failedAt = Date.now();
      this.#emit({ type: 'FeedFailed', feed, token: o.token, error: o.error });
    }
  }

  /** The lease is gone or about to go: forget it and stop the feed at once. */
  #lose(feed: string, o: Owned, e: ClusterNodeEvent): void {
    if (this.#owned.get(feed) !== o) return;
    this.#owned.delete(feed);
    if (o.deadline) clearTimeout(o.deadline);
    this.#stats.lost++;
    this.#emit(e);
    void this.#stopFeed(feed, true);
  }

  /**
   * The feed is stopped by this node unless a renewal succeeds first: a margin (10 % of the TTL,
   * at least 1 s) before the lease can expire on the server.
   */
  #armDeadline(feed: string, o: Owned): void {
    if (o.deadline) clearTimeout(o.deadline);
    const at = o.validFrom + this.#b.ttlMs - ClusterNode.fenceMarginMs(this.#b.ttlMs);
    o.deadline = setTimeout(() => { this.#lose(feed, o, { type: 'LeaseExpired', feed, token: o.token }); }, Math.max(0, at - Date.now()));
  }

  #renew(feed: string, o: Owned): Promise<void> {
    o.renewal ??= this.#renewOnce(feed, o).finally(() => { o.renewal = undefined; });
    return o.renewal;
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
        // Taken by another node (this one's lease expired while it could not renew), or expired.
        this.#lose(feed, o, { type: 'LeaseLost', feed, token: o.token, owner: undefined });
      }
      // Otherwise (timeout, disconnected): try again next tick; the deadline stops the feed if that never works.
    }
  }

  async #release(feed: string, reason: 'removed' | 'reassigned' | 'shutdown'): Promise<void> {
    const o = this.#owned.get(feed);
    if (!o || o.state === 'stopping') return;
    o.state = 'stopping';
    // The lease is renewed while the feed drains; given up once it has stopped.
    await this.#stopFeed(feed, false);
    if (this.#owned.get(feed) !== o) return; // lost meanwhile (already stopped)
    await o.renewal;
    this.#owned.delete(feed);
    if (o.deadline) clearTimeout(o.deadline);
    this.#stats.releases++;
    this.#stats.requests++;
    try {
      await this.#b.leases.delete(feed, { previousSeq: o.revision });
    } catch {
      // A renewal moved the revision, or a timeout: delete it if it is still ours, else it expires.
      const now = await this.#b.leases.get(feed).catch(() => null);
      try {
        if (now && now.operation === 'PUT' && now.json<LeaseValue>().token === o.token) await this.#b.leases.delete(feed, { previousSeq: now.revision });
      } catch { /* it expires with the TTL */ }
    }
    this.#emit({ type: 'FeedReleased', feed, token: o.token, reason });
  }

  async #heartbeat(): Promise<void> {
    const feeds: Record<string, NodeFeedReport> = {};
    for (const [feed, o] of this.#owned) {
      const r = o.state === 'running' ? this.#o.controller.report?.(feed) : undefined;
      feeds[feed] = { token: o.token, state: r?.state ?? o.state, ...(r?.frames !== undefined ? { frames: r.frames } : {}), ...(o.error !== undefined ? { error: o.error.slice(0, 300) } : {}) };
    }
    const v: NodeValue = {
      name: this.#o.name, startedAt: this.#startedAt, at: Date.now(), ...(this.#o.url !== undefined ? { url: this.#o.url } : {}),
      ...(this.#leaving ? { leaving: true } : {}), feeds,
    };
    this.#stats.requests++;
    await this.#b.nodes.put(this.#o.name, JSON.stringify(v), { timeout: this.#requestTimeoutMs });
  }
}
