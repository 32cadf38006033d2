/**
 * `WebhookSink`: each message as one HTTP POST of its JSON body, with an `Idempotency-Key`,
 * retried with exponential backoff and jitter (honouring `Retry-After`).
 *
 * @packageDocumentation
 */
import { ConfigError, redactUrl } from '@nv/core';
import { backoffDelay, parseRetryAfter, resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
import { QueuedSink, type Pending } from './base.js';
import { describeError, type SinkError } from './errors.js';
import { nonNegative } from './options.js';
import type { SinkCommonOptions } from './types.js';

/** Default per-attempt timeout of a webhook POST (ms). */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Default retries of a webhook message after its first attempt. */
export const DEFAULT_WEBHOOK_MAX_RETRIES = 10;
/** Longest `Retry-After` a webhook honours (ms). */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Options of {@link WebhookSink}. */
export interface WebhookSinkOptions extends SinkCommonOptions {
  /**
   * `http://` or `https://` endpoint. Userinfo (`https://user:pass@host/…`) becomes a Basic
   * `Authorization` header (and never appears in `target`, errors or stats).
   */
  readonly url: string;
  /** Extra request headers (e.g. `Authorization: Bearer …`; secret-looking values are scrubbed from errors). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-attempt timeout, response body included (ms; default 10 000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 10; `Infinity`: until delivered or closed). */
  readonly maxRetries?: number;
  /** Delays between retries (default 250 ms doubling up to 30 s, with jitter). */
  readonly backoff?: BackoffOptions;
}

type Attempt =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: SinkError; readonly permanent: boolean; readonly retryAfterMs: number | undefined };

const SECRET_HEADER = /auth|token|key|secret|cookie|pass|session|signature/i;

/**
 * Delivers each message as `POST <url>` with the message's JSON body
 * (`{"id":…,"subject":…,"payload":…}`), `Content-Type: application/json`,
 * `Idempotency-Key: <id>` (the same on every retry) and, when the message has one,
 * `Nv-Subject: <subject>`. One request at a time, in order.
 *
 * Outcomes: 2xx delivered; 408, 429, 5xx, network errors and timeouts retried with exponential
 * backoff and jitter (`Retry-After` honoured up to 60 s) until `maxRetries`; any other status
 * (3xx — redirects are not followed — and 4xx) is a permanent failure: not retried, counted as
 * dropped `failed`, reported as `SinkDeliveryFailed`. While the head message waits to be
 * retried, new messages queue behind it (bounded; see `queueSize`/`overflow`).
 *
 * @example
 * ```ts
 * const sink = new WebhookSink({ url: 'https://hooks.example/nv', headers: { Authorization: `Bearer ${token}` }, maxRetries: 5 });
 * sink.publish({ id: 'cam1:120:0', subject: 'events.zoneEntered', payload: event });
 * await sink.close({ timeoutMs: 3000 });
 * ```
 */
export class WebhookSink extends QueuedSink {
  readonly #url: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #backoff: ResolvedBackoff;
  #abort: AbortController | undefined;

  /**
   * @param options - see {@link WebhookSinkOptions}
   * @throws {ConfigError} for a URL that is not http(s), bad headers or bad numbers (naming the field)
   */
  constructor(options: WebhookSinkOptions) {
    const { url, auth, secrets } = parseWebhookUrl(options.url);
    const headerSecrets: string[] = [];
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      try {
        new Headers([[k, v]]);
      } catch {
        throw ConfigError.invalidConfig('webhook sink options', [{ field: `headers.${k}`, message: 'not a valid HTTP header name/value' }]);
      }
      if (SECRET_HEADER.test(k)) {
        headerSecrets.push(v);
        const sp = v.indexOf(' ');
        if (sp > 0) headerSecrets.push(v.slice(sp + 1));
      }
      headers[k.toLowerCase()] = v;
    }
    // Webhook URLs often carry their secret in the path (…/services/T0/B0/<secret>) or query, so
    // the target shown anywhere is the origin only; path and query are scrubbed from messages.
    const shown = webhookTarget(options.url);
    const pathAndQuery = (() => { try { const u = new URL(options.url); return `${u.pathname}${u.search}`; } catch { return ''; } })();
    super('webhook', shown, [...secrets, ...headerSecrets, ...(pathAndQuery.length > 1 ? [pathAndQuery] : [])], options);
    if (auth !== undefined && headers.authorization === undefined) headers.authorization = auth;
    headers['content-type'] = 'application/json';
    headers['user-agent'] ??= 'nv-sinks';
    this.#url = url;
    this.#headers = headers;
    this.#timeoutMs = nonNegative(options.timeoutMs, DEFAULT_WEBHOOK_TIMEOUT_MS, 'timeoutMs');
    this.#maxRetries = nonNegative(options.maxRetries, DEFAULT_WEBHOOK_MAX_RETRIES, 'maxRetries', true);
    if (Number.isFinite(this.#maxRetries) && !Number.isInteger(this.#maxRetries)) {
      throw ConfigError.invalidConfig('webhook sink options', [{ field: 'maxRetries', message: 'must be a non-negative integer or Infinity' }]);
    }
    this.#backoff = resolveBackoff(options.backoff);
  }

  protected onWake(): void {
    this.runLoop(() => this.#run());
  }

  protected async teardown(): Promise<void> {
    this.#abort?.abort();
    await this.loop;
  }

  async #run(): Promise<void> {
    for (let p = this.take(); p !== undefined; p = this.take()) {
      await this.#deliver(p);
      if (this.abandoned) return;
    }
  }

  async #deliver(p: Pending): Promise<void> {
    for (;;) {
      p.attempts++;
      const r = await this.#attempt(p);
      if (this.abandoned) return;
      if (r.ok) { this.settleDelivered(p); return; }
      if (r.permanent || p.attempts > this.#maxRetries) {
        this.settleFailed(p, r.permanent ? r.error : this.error('DeliveryFailed', `gave up after ${p.attempts} attempts: ${r.error.detail}`, r.error.status));
        return;
      }
      this.noteError(r.error);
      const delay = Math.max(backoffDelay(p.attempts, this.#backoff), Math.min(r.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
      await this.sleep(delay);
      if (this.abandoned) return;
      this.countRetry();
    }
  }

  async #attempt(p: Pending): Promise<Attempt> {
    const ac = new AbortController();
    this.#abort = ac;
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; ac.abort(); }, this.#timeoutMs);
    const headers: Record<string, string> = { ...this.#headers, 'idempotency-key': p.id };
    if (p.subject !== undefined) headers['nv-subject'] = p.subject;
    try {
      const res = await fetch(this.#url, { method: 'POST', headers, body: p.body, signal: ac.signal, redirect: 'manual' });
      this.setConnected(true);
      const s = res.status;
      if (s >= 200 && s < 300) {
        await res.arrayBuffer().catch(() => undefined);
        return { ok: true };
      }
      const text = (await res.text().catch(() => '')).slice(0, 200).trim();
      const detail = `HTTP ${s}${res.statusText ? ` ${res.statusText}` : ''}${text ? `: ${text}` : ''}`;
      if (s === 408 || s === 429 || s >= 500) {
        return { ok: false, error: this.error('DeliveryFailed', detail, s), permanent: false, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
      }
      return { ok: false, error: this.error(s === 401 || s === 403 ? 'Unauthorized' : 'Rejected', s >= 300 && s < 400 ? `${detail} (redirects are not followed)` : detail, s), permanent: true, retryAfterMs: undefined };
    } catch (e) {
      const error = timedOut
        ? this.error('Timeout', `no complete answer within ${this.#timeoutMs} ms`)
        : this.error('ConnectionFailed', describeError(e));
      if (!this.abandoned) this.setConnected(false, error);
      return { ok: false, error, permanent: false, retryAfterMs: undefined };
    } finally {
      clearTimeout(timer);
      if (this.#abort === ac) this.#abort = undefined;
    }
  }
}

/**
 * Splits a webhook URL into the URL to POST to (no userinfo) and a Basic auth header. @internal
 * @throws {ConfigError} (field `url`) when it is not an http(s) URL
 */
export function parseWebhookUrl(raw: string): { url: string; auth: string | undefined; secrets: string[] } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw ConfigError.invalidConfig('webhook sink options', [{ field: 'url', message: `not a valid URL: ${redactUrl(String(raw))}` }]);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw ConfigError.invalidConfig('webhook sink options', [{ field: 'url', message: `must be http:// or https:// (got ${u.protocol}//)` }]);
  }
  const secrets: string[] = [];
  let auth: string | undefined;
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    secrets.push(pass, u.password);
    auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    secrets.push(auth.slice('Basic '.length));
    u.username = '';
    u.password = '';
  }
  for (const [k, v] of u.searchParams) if (SECRET_HEADER.test(k)) secrets.push(v);
  return { url: u.toString(), auth, secrets };
}

/**
 * What a webhook sink shows of its URL: scheme, host and port, then `/…` when there is a path or
 * query (they often hold the hook's secret). Credentials never appear.
 * @param url - the webhook URL
 * @returns e.g. `https://hooks.example.com/…`
 * @example
 * ```ts
 * webhookTarget('https://hooks.slack.com/services/T0/B0/XyZsecret') // 'https://hooks.slack.com/…'
 * ```
 */
export function webhookTarget(url: string): string {
  try {
    const u = new URL(url);
    const more = (u.pathname !== '' && u.pathname !== '/') || u.search !== '' ? '/…' : '';
    return `${u.protocol}//${u.host}${more}`;
  } catch {
    return redactUrl(url);
  }
}
