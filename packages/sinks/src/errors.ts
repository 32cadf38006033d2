/**
 * The typed error every sink reports (in health events and `stats().lastError`), and the
 * credential scrubbing that every message of it goes through.
 *
 * @packageDocumentation
 */
import { NvError, REDACTED, redactUrl, sanitizeErrorString } from '@nv/core';

const SINK = Symbol.for('nv.error.sink');

/**
 * Variants of {@link SinkError}:
 * - `ConnectionFailed`: the broker or server could not be reached, or the connection dropped;
 * - `Unauthorized`: the broker refused the credentials (MQTT CONNACK 4/5, NATS authorization
 *   violation, HTTP 401/403);
 * - `Rejected`: the receiver refused the message for good (HTTP 4xx other than 408/429, a
 *   JetStream API error) — not retried;
 * - `Timeout`: no answer (HTTP response, JetStream ack, NATS flush) within the time allowed;
 * - `DeliveryFailed`: a retryable failure (HTTP 5xx/429/408, a network error) — retried, and
 *   reported with this kind when the retries run out;
 * - `WriteFailed`: a file could not be opened, written or rotated.
 */
export type SinkErrorKind = 'ConnectionFailed' | 'Unauthorized' | 'Rejected' | 'Timeout' | 'DeliveryFailed' | 'WriteFailed';

/**
 * A sink's failure: which sink, which target (credentials redacted), what went wrong. Its
 * message never contains a password or token: the sink's own secrets are replaced by `***`
 * and the rest goes through `sanitizeErrorString`. It carries no `cause` (the transport's
 * error objects may hold credentials), only the sanitized detail.
 *
 * @example
 * ```ts
 * const sink = new WebhookSink({ url, onHealth: (e) => {
 *   if (e.type === 'SinkDeliveryFailed' && SinkError.isInstance(e.error)) console.warn(e.error.kind, e.error.message);
 * } });
 * ```
 */
export class SinkError extends NvError {
  /** Always `'runtime'`: sinks belong to the output side of the runtime. */
  readonly category = 'runtime' as const;
  /** Error name as it appears in stack traces and logs (`NV_SinkError`). */
  override readonly name = 'NV_SinkError';
  /** Which variant of {@link SinkErrorKind} this is. */
  readonly kind: SinkErrorKind;
  /** The sink's name. */
  readonly sink: string;
  /** The sink's target, credentials redacted. */
  readonly target: string;
  /** The HTTP status, for a webhook answer. */
  readonly status: number | undefined;
  /** What happened, sanitized (the message without its `kind (sink → target):` prefix). */
  readonly detail: string;
  private readonly [SINK] = true;

  /**
   * @param kind - the variant
   * @param sink - the sink's name
   * @param target - the sink's (already redacted) target
   * @param detail - what happened; must already be scrubbed of the sink's secrets (see {@link scrubSecrets})
   * @param status - HTTP status, for a webhook answer
   */
  constructor(kind: SinkErrorKind, sink: string, target: string, detail: string, status?: number) {
    const clean = sanitizeErrorString(detail);
    super({ message: `${kind} (${sink} → ${target}): ${clean}`, presanitized: true });
    this.detail = clean;
    this.kind = kind;
    this.sink = sink;
    this.target = target;
    this.status = status;
  }

  /** @returns whether `e` is a {@link SinkError} (from any package copy). */
  static override isInstance(e: unknown): e is SinkError {
    return NvError.isInstance(e) && (e as unknown as Record<symbol, unknown>)[SINK] === true;
  }
}

const ANY_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>)]+/gi;

/**
 * Makes free text safe to show: every occurrence of each secret (raw and URL-encoded) becomes
 * `***`, every URL of any scheme (`mqtt://`, `nats://`, `https://`…) loses its userinfo and
 * secret-looking query values, and the result goes through `sanitizeErrorString`
 * (control characters, length cap, `password=…` pairs).
 *
 * @param text - e.g. a transport's error message
 * @param secrets - the sink's credentials (passwords, tokens, user names); empty strings are ignored
 * @returns the scrubbed text
 * @example
 * ```ts
 * scrubSecrets('auth failed for mqtt://bob:hunter2@broker', ['hunter2']) // 'auth failed for mqtt://***@broker'
 * ```
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let s = text;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) s = s.split(form).join(REDACTED);
  }
  s = s.replace(ANY_URL, (m) => redactUrl(m));
  return sanitizeErrorString(s);
}

/**
 * The message of anything thrown, with the `code` of Node system errors (and of a `cause`, as
 * `fetch` reports them) appended when the message does not already say it.
 * @param e - anything thrown
 * @returns one line (not yet scrubbed)
 * @example
 * ```ts
 * describeError(Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' })) // 'connect failed (ECONNREFUSED)'
 * ```
 */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let msg = e.message || e.name;
  const codes: string[] = [];
  const add = (x: unknown): void => {
    if (typeof x === 'object' && x !== null) {
      const code = (x as { code?: unknown }).code;
      if (typeof code === 'string' && !msg.includes(code) && !codes.includes(code)) codes.push(code);
      const m = (x as { message?: unknown }).message;
      if (x !== e && typeof m === 'string' && m.length > 0 && !msg.includes(m)) msg += `: ${m}`;
    }
  };
  add(e);
  add((e as { cause?: unknown }).cause);
  return codes.length > 0 ? `${msg} (${codes.join(', ')})` : msg;
}
