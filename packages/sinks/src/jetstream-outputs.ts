/**
 * Outputs kept in JetStream: a bounded stream for them (`ensureOutputStream`) and a reader of one
 * feed's outputs in order (`readFeedOutputs`: duplicates dropped, gaps reported). A `NatsSink`
 * publishes into the stream with `Nats-Msg-Id` = the message id (`nv run --nats
 * nats://host/nv.site1 --publish outputs` sends `<run>-<feed id>:<seq>:out` to
 * `nv.site1.<feed>.outputs`), so a retried publish is stored once.
 *
 * @packageDocumentation
 */
import { ConfigError, InvalidArgumentError, redactUrl } from '@nv/core';
import { DeliverPolicy, DiscardPolicy, RetentionPolicy, jetstream, jetstreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseNatsUrl } from './nats.js';

/** Options of {@link ensureOutputStream}. */
export interface OutputStreamOptions {
  /** `nats://[user:password@]host[:port]` (a path, if any, is ignored). */
  readonly url: string;
  /** Stream name (default `NV_OUTPUTS`; letters, digits, `_` and `-`). */
  readonly name?: string;
  /** Subjects it stores, e.g. `['nv.site1.>']` (at least one). */
  readonly subjects: readonly string[];
  /** Oldest message kept, ms (default 24 h). */
  readonly maxAgeMs?: number;
  /** Most bytes kept (default 1 GiB); past it the oldest messages go. */
  readonly maxBytes?: number;
  /** How long a `Nats-Msg-Id` is remembered for dedupe, ms (default 2 min). */
  readonly duplicateWindowMs?: number;
  /** Copies of the stream on a NATS cluster (1–5; used when creating it). Default 1. */
  readonly replicas?: number;
  /** More servers of the same NATS cluster (`host[:port]`), tried besides the URL's (its credentials apply). */
  readonly servers?: readonly string[];
}

/** What {@link ensureOutputStream} made or found. */
export interface OutputStreamInfo {
  readonly name: string;
  /** Whether it was created now (else its configuration was updated to the given bounds). */
  readonly created: boolean;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly duplicateWindowMs: number;
  /** Messages and bytes stored now. */
  readonly messages: number;
  readonly bytes: number;
}

const NS_PER_MS = 1_000_000;

function positive(field: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw ConfigError.invalidConfig('output stream options', [{ field, message: 'must be a positive integer' }]);
  return v;
}

async function connectTo(url: string, reconnectForever = false, more: readonly string[] = []): Promise<NatsConnection> {
  const t = parseNatsUrl(url);
  return connect({
    servers: [t.server, ...more.map((s) => String(s).trim()).filter((s) => s !== '' && s !== t.server)], ...(t.user !== undefined ? { user: t.user } : {}), ...(t.pass !== undefined ? { pass: t.pass } : {}),
    ...(t.token !== undefined ? { token: t.token } : {}), timeout: 5000,
    // A reader outlives server restarts (the servers it learns from the cluster included); its signal ends it.
    ...(reconnectForever ? { maxReconnectAttempts: -1, reconnectTimeWait: 500 } : {}),
  });
}

/**
 * Errors a reader cannot get past by asking again: no such stream, not allowed, closed for good,
 * or a server without JetStream (no responder for the API while the server says it has none —
 * a server that announces JetStream but does not answer yet is recovering: asked again).
 */
function permanentReadError(e: unknown, nc: NatsConnection): boolean {
  const name = e instanceof Error ? e.name : '';
  const text = e instanceof Error ? e.message : String(e);
  const noJetStream = name === 'JetStreamNotEnabled' || /jetstream (is )?not enabled/i.test(text);
  return name === 'StreamNotFoundError' || name === 'PermissionViolationError' || name === 'AuthorizationError' || name === 'ClosedConnectionError'
    || /stream not found|permissions? violation|authoriz|connection closed/i.test(text)
    || (noJetStream && nc.info?.jetstream !== true);
}

/**
 * Creates the outputs stream, or brings an existing one to these subjects and bounds: limits
 * retention, oldest discarded past `maxBytes` / `maxAgeMs`, a dedupe window for `Nats-Msg-Id`.
 * @param options - server, name, subjects, bounds
 * @returns the stream's settings and size
 * @throws {ConfigError} for a bad option (naming it)
 * @throws {Error} when the server cannot be reached or has no JetStream (its message, credentials redacted)
 * @example
 * ```ts
 * await ensureOutputStream({ url: 'nats://127.0.0.1:4222', subjects: ['nv.site1.>'], maxAgeMs: 3_600_000, maxBytes: 256 * 1024 ** 2 });
 * ```
 */
export async function ensureOutputStream(options: OutputStreamOptions): Promise<OutputStreamInfo> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an OutputStreamOptions object', options);
  const name = options.name ?? 'NV_OUTPUTS';
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw ConfigError.invalidConfig('output stream options', [{ field: 'name', message: 'letters, digits, _ and - (1–64)' }]);
  if (!Array.isArray(options.subjects) || options.subjects.length === 0 || options.subjects.some((s) => typeof s !== 'string' || s === '' || /\s/.test(s))) {
    throw ConfigError.invalidConfig('output stream options', [{ field: 'subjects', message: 'at least one subject without whitespace' }]);
  }
  const maxAgeMs = positive('maxAgeMs', options.maxAgeMs, 24 * 3_600_000);
  const maxBytes = positive('maxBytes', options.maxBytes, 1024 ** 3);
  const duplicateWindowMs = positive('duplicateWindowMs', options.duplicateWindowMs, 120_000);
  const replicas = positive('replicas', options.replicas, 1);
  if (replicas > 5) throw ConfigError.invalidConfig('output stream options', [{ field: 'replicas', message: 'at most 5' }]);
  if (duplicateWindowMs > maxAgeMs) throw ConfigError.invalidConfig('output stream options', [{ field: 'duplicateWindowMs', message: 'must not exceed maxAgeMs' }]);
  let nc: NatsConnection;
  try {
    nc = await connectTo(options.url, false, options.servers);
  } catch (e) {
    throw new Error(`cannot connect to ${redactUrl(options.url)}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    const config: Partial<StreamConfig> = {
      subjects: [...options.subjects], max_age: maxAgeMs * NS_PER_MS, max_bytes: maxBytes, duplicate_window: duplicateWindowMs * NS_PER_MS,
      discard: DiscardPolicy.Old, retention: RetentionPolicy.Limits,
    };
    let created = false;
    let info;
    try {
      await jsm.streams.info(name);
      info = await jsm.streams.update(name, config);
    } catch (e) {
      if (!/not found/i.test((e as Error).message)) throw e;
      info = await jsm.streams.add({ name, ...config, num_replicas: replicas });
      created = true;
    }
    return {
      name, created, subjects: info.config.subjects ?? [], maxAgeMs: Math.round(info.config.max_age / NS_PER_MS), maxBytes: info.config.max_bytes,
      duplicateWindowMs: Math.round((info.config.duplicate_window ?? 0) / NS_PER_MS), messages: info.state.messages, bytes: info.state.bytes,
    };
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** One output read back, in order. */
export interface FeedOutputRecord {
  /** The output's `seq` (from the message id `…:<seq>:out`, or the payload's `seq`). */
  readonly seq: number;
  /** The message id (`<run>-<feed id>:<seq>:out`). */
  readonly id: string;
  /** The subject it was stored under. */
  readonly subject: string;
  /** The output's JSON (what the sink published as `payload`). */
  readonly payload: unknown;
  /** The stream's own sequence number of the message. */
  readonly streamSeq: number;
}

/** A hole in one feed's outputs: `count` outputs before `got` never reached the stream (or aged out). */
export interface FeedOutputGap {
  readonly expected: number;
  readonly got: number;
  readonly count: number;
}

/** Options of {@link readFeedOutputs}. */
export interface ReadFeedOutputsOptions {
  /** `nats://[user:password@]host[:port]`. */
  readonly url: string;
  /** The stream (default `NV_OUTPUTS`). */
  readonly stream?: string;
  /** The feed's outputs subject, e.g. `nv.site1.gate.outputs`. */
  readonly subject: string;
  /** `start` (default): everything the stream still holds; `new`: only what arrives from now. */
  readonly from?: 'start' | 'new';
  /** End after this long without a message, ms (default: never — until `signal` aborts). */
  readonly idleMs?: number;
  /** Aborting it ends the iteration. */
  readonly signal?: AbortSignal;
  /** Each gap, when it is found. */
  readonly onGap?: (gap: FeedOutputGap) => void;
}

/** Counters of a {@link readFeedOutputs} iteration. */
export interface FeedOutputReaderStats {
  /** Messages read from the stream. */
  readonly received: number;
  /** Outputs yielded (in order). */
  readonly delivered: number;
  /** Messages dropped as duplicates (a seq at or below the last yielded of the same run). */
  readonly duplicates: number;
  /** Gaps found, and the outputs they miss. */
  readonly gaps: number;
  readonly missing: number;
  /** Messages that were not an nv message (`{ id, payload }` JSON); skipped. */
  readonly malformed: number;
  /** Producer runs seen (a new run — `nv` restarted, or another cluster node took the feed — starts its seq again). */
  readonly runs: number;
  /**
   * Outputs dropped as stale: their `fence.token` (the cluster lease they were made under) is
   * smaller than the newest seen — a partitioned former owner's late outputs.
   */
  readonly stale: number;
  /**
   * Times the reader asked the stream again after a transient failure (a NATS server died, a
   * stream or consumer leader was being elected, a request timed out): it resumes after the
   * last message it received, so nothing is skipped or read twice.
   */
  readonly resumes: number;
}

/** Wait before asking the stream again after a transient failure (ms). */
const RESUME_DELAY_MS = 500;
/**
 * Deadline of the reader's JetStream API requests — making its consumer, the stream's last
 * sequence (ms). Short on purpose: after a server of a NATS cluster dies, nats-server 2.9 places
 * about half of the new ephemeral consumers on the dead server (it stays a peer) and those
 * requests never get an answer, for as long as it is down (measured: 35–45 % of creations timed
 * out for a whole minute, every kill); a short deadline and a new try gets past that in seconds.
 */
const READ_REQUEST_TIMEOUT_MS = 2000;

const OUT_ID = /^(.*):(\d+):out$/;

/**
 * Reads one feed's outputs from the stream, in order, one message at a time (an ordered
 * consumer; nothing is prefetched beyond one fetch). Duplicates — a seq not above the last
 * yielded one of the same producer run — are dropped and counted; a seq jump is reported as a
 * gap (`onGap`, counted) and the output after it is still yielded. A new producer run (the `<run>`
 * part of the id changes: nv restarted, seq starts again) resets the order. A transient failure
 * (a NATS server of the cluster died, a leader election, a timed-out request) does not end the
 * iteration: the reader reconnects and resumes after the last message it received (counted
 * `resumes`); a missing stream, a server without JetStream, a permission error, or failures for
 * longer than `idleMs`, end it with the error. Aborting `signal` ends it (also while NATS is down).
 * @param options - server, stream, subject, where to start, when to end
 * @returns an async iterable of the outputs, with `stats()`
 * @example
 * ```ts
 * const outputs = readFeedOutputs({ url: 'nats://127.0.0.1:4222', subject: 'nv.site1.gate.outputs', idleMs: 2000, onGap: (g) => console.warn('missing', g) });
 * for await (const o of outputs) console.log(o.seq, o.payload);
 * console.log(outputs.stats()); // { received, delivered, duplicates, gaps, missing, … }
 * ```
 */
export function readFeedOutputs(options: ReadFeedOutputsOptions): AsyncIterable<FeedOutputRecord> & { stats(): FeedOutputReaderStats } {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'a ReadFeedOutputsOptions object', options);
  if (typeof options.subject !== 'string' || options.subject === '' || /[\s*>]/.test(options.subject)) {
    throw ConfigError.invalidConfig('output reader options', [{ field: 'subject', message: 'one feed\'s outputs subject, without wildcards' }]);
  }
  const stream = options.stream ?? 'NV_OUTPUTS';
  const idleMs = options.idleMs;
  if (idleMs !== undefined && !(Number.isFinite(idleMs) && idleMs > 0)) throw ConfigError.invalidConfig('output reader options', [{ field: 'idleMs', message: 'must be a positive number of ms' }]);
  const s = { received: 0, delivered: 0, duplicates: 0, gaps: 0, missing: 0, malformed: 0, runs: 0, stale: 0, resumes: 0 };
  async function* run(): AsyncGenerator<FeedOutputRecord> {
    const nc = await connectTo(options.url, true);
    // An abort closes the connection, so a fetch waiting through an outage ends too.
    const onAbort = (): void => { void nc.close().catch(() => undefined); };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const js = jetstream(nc, { timeout: READ_REQUEST_TIMEOUT_MS });
      // Where the next message is: known after the first one (or, for `new`, from the stream's
      // last sequence), so a consumer made again after a failure starts exactly there.
      let nextStreamSeq: number | undefined;
      let consumer: Awaited<ReturnType<typeof js.consumers.get>> | undefined;
      let run: string | undefined;
      let last = -1;
      let maxToken = -Infinity;
      let idleSince = Date.now();
      while (!options.signal?.aborted) {
        const waitMs = 1000; // the client's smallest pull expiry
        let m;
        try {
          if (consumer === undefined) {
            if (nextStreamSeq === undefined && options.from === 'new') {
              nextStreamSeq = (await (await jetstreamManager(nc, { timeout: READ_REQUEST_TIMEOUT_MS })).streams.info(stream)).state.last_seq + 1;
            }
            consumer = await js.consumers.get(stream, {
              filter_subjects: options.subject,
              ...(nextStreamSeq !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: nextStreamSeq } : {}),
            });
          }
          m = await consumer.next({ expires: waitMs });
        } catch (e) {
          if (options.signal?.aborted) return;
          if (permanentReadError(e, nc)) throw e;
          // A server died or a leader is being elected: ask again, after the last message read.
          // The consumer given up is deleted (else it lingers on the server until it is inactive).
          void consumer?.delete().catch(() => undefined);
          consumer = undefined;
          s.resumes++;
          // Failing for longer than the idle time is not "the stream is quiet": say why.
          if (idleMs !== undefined && Date.now() - idleSince >= idleMs) throw e;
          await new Promise((r) => setTimeout(r, RESUME_DELAY_MS));
          continue;
        }
        if (m === null) {
          if (idleMs !== undefined && Date.now() - idleSince >= idleMs) return;
          continue;
        }
        idleSince = Date.now();
        nextStreamSeq = m.seq + 1;
        s.received++;
        let body: { id?: unknown; payload?: unknown };
        try { body = m.json(); } catch { s.malformed++; continue; }
        const id = typeof body?.id === 'string' ? body.id : undefined;
        const match = id !== undefined ? OUT_ID.exec(id) : null;
        const payloadSeq = (body?.payload as { seq?: unknown } | undefined)?.seq;
        const seq = match ? Number(match[2]) : typeof payloadSeq === 'number' ? payloadSeq : undefined;
        if (id === undefined || seq === undefined || !Number.isSafeInteger(seq)) { s.malformed++; continue; }
        // Outputs of a feed run by a cluster node carry its lease (`fence`): one from an owner
        // that has lost the lease (a smaller token than the newest seen) is stale, whatever its seq.
        const fence = (body?.payload as { fence?: { token?: unknown } } | undefined)?.fence;
        const token = typeof fence?.token === 'number' ? fence.token : undefined;
        if (token !== undefined) {
          if (token < maxToken) { s.stale++; continue; }
          maxToken = token;
        }
        const key = match ? match[1]! : '';
        if (key !== run) { run = key; last = -1; s.runs++; }
        if (seq <= last) { s.duplicates++; continue; }
        if (last >= 0 && seq > last + 1) {
          const gap = { expected: last + 1, got: seq, count: seq - last - 1 };
          s.gaps++;
          s.missing += gap.count;
          try { options.onGap?.(gap); } catch { /* the caller's problem */ }
        }
        last = seq;
        s.delivered++;
        yield { seq, id, subject: m.subject, payload: body.payload, streamSeq: m.seq };
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      await nc.close().catch(() => undefined);
    }
  }
  return { [Symbol.asyncIterator]: () => run(), stats: () => ({ ...s }) };
}
