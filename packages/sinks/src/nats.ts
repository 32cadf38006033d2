/**
 * `NatsSink`: messages published to NATS (`@nats-io/transport-node`), through JetStream with
 * dedupe ids when a stream covers the subject, else core publish confirmed by a flush.
 *
 * @packageDocumentation
 */
import { ConfigError, redactUrl } from '@nv/core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { backoffDelay, resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
import { QueuedSink, subjectProblem, type Pending } from './base.js';
import { describeError, type SinkError, type SinkErrorKind } from './errors.js';
import { nonNegative, positiveInt } from './options.js';
import type { MessageSinkStats, SinkCommonOptions } from './types.js';

/** Default messages sent per round (JetStream acks awaited together, or core publishes per flush). */
export const DEFAULT_NATS_MAX_IN_FLIGHT = 64;
/** Default JetStream ack / flush deadline (ms). */
export const DEFAULT_NATS_ACK_TIMEOUT_MS = 5000;
/** How long a "no stream covers this subject" answer is trusted before asking again (ms). */
const NEGATIVE_LOOKUP_TTL_MS = 30_000;
/** Subjects whose JetStream coverage is remembered, at most (then the cache starts over). */
const MAX_CACHED_SUBJECTS = 1024;

/**
 * When to publish through JetStream: `auto` (default) when a stream covers the subject (asked
 * once per subject per connection with `streams.find`; a negative answer is re-checked after
 * 30 s), `always` (a missing stream is a retried failure), `never` (core NATS only).
 */
export type NatsJetStreamMode = 'auto' | 'always' | 'never';

/** Options of {@link NatsSink}. */
export interface NatsSinkOptions extends SinkCommonOptions {
  /**
   * `nats://[user:password@ | token@]host[:port]/base.subject` (default port 4222). The path is
   * the base subject (optional: without it every message needs a subject). Credentials go to
   * the server in CONNECT, never into `target`, errors or stats.
   */
  readonly url: string;
  /**
   * More servers of the same NATS cluster, `host[:port]` (default port 4222), tried besides the
   * URL's host — to connect at first and to reconnect — with the URL's credentials. Without them
   * a sink whose one server is down at start waits for that server (once connected, the client
   * also learns the cluster's other servers from it).
   */
  readonly servers?: readonly string[];
  /** See {@link NatsJetStreamMode} (default `auto`). */
  readonly jetstream?: NatsJetStreamMode;
  /** Messages sent per round, at most (default 64). */
  readonly maxInFlight?: number;
  /** JetStream ack and core flush deadline (ms; default 5000). */
  readonly ackTimeoutMs?: number;
  /** Retries of a message that fails while connected (a JetStream API error, an ack timeout; default 10). Failures caused by a lost connection are not counted. */
  readonly maxRetries?: number;
  /** Delays between those retries (default 250 ms doubling up to 5 s, with jitter). */
  readonly backoff?: BackoffOptions;
  /** Delay between reconnection attempts (ms; default 1000). */
  readonly reconnectTimeWaitMs?: number;
  /** Deadline of one connection attempt (ms; default 5000). */
  readonly connectTimeoutMs?: number;
}

/** {@link MessageSinkStats} plus NATS specifics. */
export interface NatsSinkStats extends MessageSinkStats {
  /** Delivered through JetStream (acknowledged by a stream). */
  readonly jetstream: number;
  /** Of those, acknowledged as duplicates (the stream already had the id: a retry after an ack was lost). */
  readonly duplicates: number;
  /** Delivered as core NATS publishes (confirmed by a flush). */
  readonly core: number;
}

interface NatsTarget { server: string; base: string; user: string | undefined; pass: string | undefined; token: string | undefined }

type Route = 'js' | 'core';
type Outcome = { readonly ok: true; readonly duplicate: boolean } | { readonly ok: false; readonly error: unknown };

/**
 * Publishes each message to `<base subject>.<subject>` with the message's JSON body
 * (`{"id":…,"subject":…,"payload":…}`).
 *
 * Where a JetStream stream covers the subject (see {@link NatsJetStreamMode}) the publish goes
 * through JetStream with `msgID` = the message id, and counts as delivered when the stream
 * acknowledges it: a retry of a message whose ack was lost is acknowledged as a duplicate and
 * stored once. Elsewhere it is a core publish, counted delivered once a flush (PING/PONG)
 * confirms the server has it; core delivery is at least once (a flush lost in a disconnect
 * sends the round again — subscribers dedupe by `id`).
 *
 * Rounds of at most `maxInFlight` messages go out only while connected; the client is
 * `reconnect: true, maxReconnectAttempts: -1`, and a first connection that fails is retried
 * by the sink itself, so a broker that is down at start, restarts or vanishes for a while only
 * fills the queue (bounded, drops counted). After a reconnect the stream lookups start over.
 *
 * @example
 * ```ts
 * const sink = new NatsSink({ url: 'nats://nv:secret@nats:4222/nv.events', jetstream: 'auto' });
 * sink.publish({ id: 'cam1:42:0', subject: 'lineCrossed', payload: { trackId: 3 } }); // → nv.events.lineCrossed
 * await sink.close();
 * ```
 */
export class NatsSink extends QueuedSink {
  readonly #target: NatsTarget;
  readonly #servers: readonly string[];
  readonly #mode: NatsJetStreamMode;
  readonly #maxInFlight: number;
  readonly #ackTimeoutMs: number;
  readonly #maxRetries: number;
  readonly #backoff: ResolvedBackoff;
  readonly #reconnectTimeWaitMs: number;
  readonly #connectTimeoutMs: number;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #jsm: JetStreamManager | undefined;
  /** Whether `#nc` is connected now (between `reconnect` and `disconnect` statuses). */
  #up = false;
  #connecting: Promise<void> | undefined;
  readonly #routes = new Map<string, { route: Route; at: number }>();
  readonly #strikes = new WeakMap<Pending, number>();
  #viaJs = 0;
  #duplicates = 0;
  #viaCore = 0;

  /**
   * @param options - see {@link NatsSinkOptions}
   * @throws {ConfigError} for a bad URL or option (naming the field)
   */
  constructor(options: NatsSinkOptions) {
    const t = parseNatsUrl(options.url);
    super('nats', redactUrl(options.url), [t.pass ?? '', t.token ?? ''], options);
    const mode = options.jetstream ?? 'auto';
    if (mode !== 'auto' && mode !== 'always' && mode !== 'never') {
      throw ConfigError.invalidConfig('nats sink options', [{ field: 'jetstream', message: `must be 'auto', 'always' or 'never' (got ${String(mode)})` }]);
    }
    this.#target = t;
    this.#servers = [t.server, ...parseExtraServers(options.servers).filter((s) => s !== t.server)];
    this.#mode = mode;
    this.#maxInFlight = positiveInt(options.maxInFlight, DEFAULT_NATS_MAX_IN_FLIGHT, 'maxInFlight');
    this.#ackTimeoutMs = Math.max(1, nonNegative(options.ackTimeoutMs, DEFAULT_NATS_ACK_TIMEOUT_MS, 'ackTimeoutMs'));
    this.#maxRetries = nonNegative(options.maxRetries, 10, 'maxRetries', true);
    this.#backoff = resolveBackoff(options.backoff ?? { initialMs: 250, maxMs: 5000 });
    this.#reconnectTimeWaitMs = nonNegative(options.reconnectTimeWaitMs, 1000, 'reconnectTimeWaitMs');
    this.#connectTimeoutMs = Math.max(1, nonNegative(options.connectTimeoutMs, 5000, 'connectTimeoutMs'));
    this.#startConnecting();
  }

  override stats(): NatsSinkStats {
    return { ...super.stats(), jetstream: this.#viaJs, duplicates: this.#duplicates, core: this.#viaCore };
  }

  protected override checkSubject(subject: string | undefined): string | undefined {
    return subject === undefined && this.#target.base === '' ? 'a subject is required (the URL has no base subject)' : undefined;
  }

  protected onWake(): void {
    if (!this.#up) return;
    this.runLoop(() => this.#run(), () => this.#up);
  }

  protected async teardown(): Promise<void> {
    const nc = this.#nc;
    this.#nc = undefined;
    this.#up = false;
    if (nc !== undefined) await nc.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Connection

  #startConnecting(): void {
    if (this.#connecting !== undefined || this.abandoned) return;
    this.#connecting = this.#connectLoop().finally(() => { this.#connecting = undefined; });
  }

  async #connectLoop(): Promise<void> {
    const t = this.#target;
    const opts: NodeConnectionOptions = {
      servers: [...this.#servers],
      name: `nv-sinks:${this.name}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.#reconnectTimeWaitMs,
      timeout: this.#connectTimeoutMs,
      ignoreAuthErrorAbort: true,
      ...(t.user !== undefined ? { user: t.user, pass: t.pass ?? '' } : {}),
      ...(t.token !== undefined ? { token: t.token } : {}),
    };
    for (let attempt = 1; !this.abandoned; attempt++) {
      try {
        const nc = await connect(opts);
        if (this.abandoned) { await nc.close().catch(() => undefined); return; }
        this.#attach(nc);
        return;
      } catch (e) {
        this.setConnected(false, this.#errorOf(e, 'ConnectionFailed'));
        await this.sleep(Math.max(this.#reconnectTimeWaitMs, backoffDelay(attempt, { initialMs: this.#reconnectTimeWaitMs, maxMs: Math.max(this.#reconnectTimeWaitMs, 5000) })));
      }
    }
  }

  #attach(nc: NatsConnection): void {
    this.#nc = nc;
    this.#js = jetstream(nc, { timeout: this.#ackTimeoutMs });
    this.#jsm = undefined;
    this.#routes.clear();
    this.#up = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (this.#nc !== nc) return;
        switch (s.type) {
          case 'disconnect':
            this.#up = false;
            this.setConnected(false, this.error('ConnectionFailed', 'disconnected from the server'));
            break;
          case 'reconnect':
            this.#jsm = undefined;
            this.#routes.clear();
            this.#up = true;
            this.setConnected(true);
            break;
          case 'error':
            this.noteError(this.#errorOf(s.error, 'ConnectionFailed'));
            break;
          default:
            break;
        }
      }
    })().catch(() => undefined);
    void nc.closed().then((err) => {
      if (this.#nc !== nc) return;
      // Closed by the client itself (auth given up, fatal protocol error): start over.
      this.#nc = undefined;
      this.#up = false;
      if (this.abandoned) return;
      this.setConnected(false, err instanceof Error ? this.#errorOf(err, 'ConnectionFailed') : this.error('ConnectionFailed', 'connection closed'));
      this.#startConnecting();
    });
    this.setConnected(true);
  }

  // ---------------------------------------------------------------------------------------------
  // Delivery

  async #run(): Promise<void> {
    while (!this.abandoned && this.#up && this.queuedCount > 0) {
      const nc = this.#nc;
      const js = this.#js;
      if (nc === undefined || js === undefined) return;
      const batch: Pending[] = [];
      for (let p = this.take(); p !== undefined; p = batch.length < this.#maxInFlight ? this.take() : undefined) batch.push(p);
      const routes = await Promise.all(batch.map((p) => this.#routeFor(nc, this.#subject(p))));
      if (this.abandoned) return;
      const outcomes: Promise<Outcome>[] = [];
      const core: number[] = [];
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        const route = routes[i]!;
        p.attempts++;
        if (route instanceof Error) {
          outcomes.push(Promise.resolve({ ok: false, error: route }));
        } else if (route === 'js') {
          outcomes.push(js.publish(this.#subject(p), p.body, { msgID: p.id, timeout: this.#ackTimeoutMs }).then(
            (ack): Outcome => ({ ok: true, duplicate: ack.duplicate }),
            (error: unknown): Outcome => ({ ok: false, error }),
          ));
        } else {
          try {
            nc.publish(this.#subject(p), p.body);
            core.push(i);
            outcomes.push(Promise.resolve({ ok: true, duplicate: false }));
          } catch (error) {
            outcomes.push(Promise.resolve({ ok: false, error }));
          }
        }
      }
      let flushError: unknown;
      if (core.length > 0) flushError = await this.#flush(nc);
      const results = await Promise.all(outcomes);
      if (this.abandoned) return;
      const retry: Pending[] = [];
      let lastError: SinkError | undefined;
      let struck = false;
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        let r = results[i]!;
        if (r.ok && routes[i] === 'core' && flushError !== undefined) r = { ok: false, error: flushError };
        if (r.ok) {
          if (routes[i] === 'js') { this.#viaJs++; if (r.duplicate) this.#duplicates++; } else this.#viaCore++;
          this.settleDelivered(p);
          continue;
        }
        const error = this.#errorOf(r.error, 'DeliveryFailed');
        lastError = error;
        const name = r.error instanceof Error ? r.error.name : '';
        if (name === 'JetStreamNotEnabled' || name === 'NoResponders' || name === 'StreamNotFoundError') this.#routes.delete(this.#subject(p));
        if (this.#up && nc === this.#nc && !nc.isClosed()) {
          // A failure while connected: counted against the message.
          struck = true;
          const strikes = (this.#strikes.get(p) ?? 0) + 1;
          this.#strikes.set(p, strikes);
          if (strikes > this.#maxRetries) {
            this.settleFailed(p, this.error(error.kind, `gave up after ${p.attempts} attempts: ${error.detail}`));
            continue;
          }
        }
        retry.push(p);
      }
      if (lastError !== undefined) this.noteError(lastError);
      if (retry.length > 0) {
        this.requeue(retry);
        if (struck) await this.sleep(backoffDelay(Math.max(...retry.map((p) => this.#strikes.get(p) ?? 1)), this.#backoff));
      }
    }
  }

  /** Flushes core publishes. @returns the error, or `undefined` when the server confirmed them */
  async #flush(nc: NatsConnection): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        nc.flush(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(this.error('Timeout', `flush not confirmed within ${this.#ackTimeoutMs} ms`)), this.#ackTimeoutMs); }),
      ]);
      return undefined;
    } catch (e) {
      return e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** JetStream or core for this subject; an Error when the lookup itself failed (the message is retried). */
  async #routeFor(nc: NatsConnection, subject: string): Promise<Route | Error> {
    if (this.#mode === 'never') return 'core';
    if (this.#mode === 'always') return 'js';
    const hit = this.#routes.get(subject);
    if (hit !== undefined && (hit.route === 'js' || performance.now() - hit.at < NEGATIVE_LOOKUP_TTL_MS)) return hit.route;
    let route: Route;
    try {
      this.#jsm ??= await jetstreamManager(nc, { checkAPI: false, timeout: this.#ackTimeoutMs });
      await this.#jsm.streams.find(subject);
      route = 'js';
    } catch (e) {
      const name = e instanceof Error ? e.name : '';
      const noJetStream = name === 'JetStreamNotEnabled' || name === 'NoResponders' || /jetstream (is )?not enabled|no responders/i.test(describeError(e));
      // A definite "no stream covers it", or a server without JetStream: core. A server that
      // announces JetStream but does not answer (still recovering after a restart), or any
      // other failure: unknown — the message is retried rather than sent where no stream
      // would store it.
      if (name !== 'StreamNotFoundError' && !(noJetStream && nc.info?.jetstream !== true)) {
        return e instanceof Error ? e : new Error(String(e));
      }
      route = 'core';
    }
    if (this.#routes.size >= MAX_CACHED_SUBJECTS) this.#routes.clear();
    this.#routes.set(subject, { route, at: performance.now() });
    return route;
  }

  #subject(p: Pending): string {
    const base = this.#target.base;
    if (p.subject === undefined) return base;
    return base === '' ? p.subject : `${base}.${p.subject}`;
  }

  #errorOf(e: unknown, fallback: SinkErrorKind): SinkError {
    if (e instanceof Error && e.name === 'NV_SinkError') return e as SinkError;
    const name = e instanceof Error ? e.name : '';
    const text = describeError(e);
    const kind: SinkErrorKind = name === 'AuthorizationError' || /authoriz|authentic/i.test(text)
      ? 'Unauthorized'
      : name === 'TimeoutError' ? 'Timeout'
      : name === 'JetStreamApiError' || name === 'StreamNotFoundError' || name === 'JetStreamNotEnabled' ? 'Rejected'
      : fallback;
    return this.error(kind, text);
  }
}

/**
 * Checks {@link NatsSinkOptions.servers}.
 * @returns `host:port` of each
 * @throws {ConfigError} (field `servers`) for an entry that is not `host[:port]`
 */
function parseExtraServers(list: readonly string[] | undefined): string[] {
  if (list === undefined) return [];
  const bad = (message: string): ConfigError => ConfigError.invalidConfig('nats sink options', [{ field: 'servers', message }]);
  if (!Array.isArray(list)) throw bad('a list of host[:port]');
  return list.map((raw) => {
    const s = typeof raw === 'string' ? raw.trim() : '';
    let u: URL;
    try { u = new URL(`nats://${s}`); } catch { throw bad(`not host[:port]: ${redactUrl(String(raw))}`); }
    if (s === '' || u.hostname === '' || u.username !== '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
      throw bad(`not host[:port] (credentials go in the URL): ${redactUrl(String(raw))}`);
    }
    const host = u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname;
    return `${host}:${u.port === '' ? 4222 : Number(u.port)}`;
  });
}

/**
 * Reads a NATS sink URL. @internal
 * @throws {ConfigError} (field `url`) when it is not `nats://` with a host, or its base subject is invalid
 */
export function parseNatsUrl(raw: string): NatsTarget {
  const bad = (message: string): ConfigError => ConfigError.invalidConfig('nats sink options', [{ field: 'url', message }]);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad(`not a valid URL: ${redactUrl(String(raw))}`);
  }
  if (u.protocol !== 'nats:') throw bad(`must be nats:// (got ${u.protocol}//)`);
  if (u.hostname === '') throw bad('has no host');
  if (u.search !== '' || u.hash !== '') throw bad('query parameters and fragments are not part of a NATS sink URL (options go in the sink options)');
  let base: string;
  try {
    base = decodeURIComponent(u.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  } catch {
    throw bad('base subject is not valid percent-encoding');
  }
  if (base !== '') {
    const problem = subjectProblem(base);
    if (problem !== undefined) throw bad(`base subject '${base}': ${problem}`);
  }
  const port = u.port === '' ? 4222 : Number(u.port);
  const host = u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname;
  const user = u.username === '' ? undefined : decodeURIComponent(u.username);
  const pass = u.password === '' ? undefined : decodeURIComponent(u.password);
  return {
    server: `${host}:${port}`,
    base,
    // `nats://token@host`: a user name without a password is a token.
    user: pass === undefined ? undefined : user,
    pass,
    token: pass === undefined ? user : undefined,
  };
}
