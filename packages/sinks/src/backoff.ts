/**
 * Exponential backoff with jitter, and `Retry-After` parsing.
 *
 * @packageDocumentation
 */
import { nonNegative } from './options.js';

/** Delays between retries: exponential from `initialMs`, capped at `maxMs`, with jitter. */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter (ms; default 250). */
  readonly initialMs?: number;
  /** Longest delay, before jitter (ms; default 30 000). */
  readonly maxMs?: number;
}

/** {@link BackoffOptions} with the defaults filled in. */
export interface ResolvedBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: ResolvedBackoff = Object.freeze({ initialMs: 250, maxMs: 30_000 });

/**
 * Fills in and checks backoff options.
 * @param b - the options
 * @param field - where they are, for errors (e.g. `backoff`)
 * @returns the resolved options
 * @throws {ConfigError} naming the field when a value is negative or `initialMs > maxMs`
 * @example
 * ```ts
 * resolveBackoff({ initialMs: 100 }) // { initialMs: 100, maxMs: 30000 }
 * ```
 */
export function resolveBackoff(b: BackoffOptions | undefined, field = 'backoff'): ResolvedBackoff {
  const initialMs = nonNegative(b?.initialMs, DEFAULT_BACKOFF.initialMs, `${field}.initialMs`);
  const maxMs = nonNegative(b?.maxMs, Math.max(initialMs, DEFAULT_BACKOFF.maxMs), `${field}.maxMs`);
  return { initialMs, maxMs: Math.max(initialMs, maxMs) };
}

/**
 * The delay before retry number `attempt` ("equal jitter"): half of
 * `min(maxMs, initialMs · 2^(attempt−1))` plus a random part of up to the other half, so
 * retries of many sinks spread out but never come sooner than half the nominal delay.
 * @param attempt - 1 for the first retry
 * @param b - resolved backoff
 * @param random - a source of [0, 1) numbers
 * @returns the delay in ms
 * @example
 * ```ts
 * backoffDelay(3, { initialMs: 100, maxMs: 1000 }, () => 0) // 200 (nominal 400, jitter 0)
 * ```
 */
export function backoffDelay(attempt: number, b: ResolvedBackoff, random: () => number = Math.random): number {
  const nominal = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/**
 * Parses an HTTP `Retry-After` value: delay-seconds or an HTTP date.
 * @param value - the header value (or `null`)
 * @param nowMs - the current wall time (ms since epoch)
 * @returns the delay in ms (≥ 0), or `undefined` when absent or unparsable
 * @example
 * ```ts
 * parseRetryAfter('2') // 2000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
