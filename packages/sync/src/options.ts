/**
 * Validation of synchronizer options: every problem is collected and reported at construction as
 * one `ConfigError` (kind `InvalidConfig`) whose `issues` name each offending field.
 *
 * @packageDocumentation
 */
import { ConfigError, type ConfigIssue } from '@nv/core';
import type { StreamKey, StreamValues, SynchronizerOptions } from './types.js';

/** Default per-stream buffer capacity (items). */
export const DEFAULT_CAPACITY = 64;

/** A policy with its defaults filled in, as `Synchronizer.policy` reports it. */
export type ResolvedPolicy<K extends string = string> =
  | { readonly kind: 'exact' }
  | { readonly kind: 'realTime'; readonly toleranceMs: number; readonly waitAll: boolean; readonly target: K | undefined };

/** @internal Validated options. */
export interface ResolvedOptions<K extends string> {
  readonly streams: readonly K[];
  readonly policy: ResolvedPolicy<K>;
  readonly capacity: ReadonlyMap<K, number>;
}

const OPTION_KEYS = new Set(['streams', 'policy', 'capacity', 'onDrop']);
const EXACT_KEYS = new Set(['kind']);
const REALTIME_KEYS = new Set(['kind', 'toleranceMs', 'waitAll', 'target']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeys(obj: Record<string, unknown>, allowed: ReadonlySet<string>, prefix: string, issues: ConfigIssue[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) issues.push({ field: prefix + k, message: 'unknown option' });
  }
}

function isCapacity(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/**
 * @internal Checks `options` (extra keys listed in `alsoAllowed` are skipped: the async helper's
 * own options) and fills in defaults.
 * @throws {ConfigError} `InvalidConfig`, naming every offending field
 */
export function resolveOptions<V extends StreamValues>(
  options: SynchronizerOptions<V>,
  what = 'synchronizer options',
  alsoAllowed: readonly string[] = [],
): ResolvedOptions<StreamKey<V>> {
  const issues: ConfigIssue[] = [];
  if (!isRecord(options)) throw ConfigError.invalidConfig(what, [{ field: '', message: 'must be an object' }]);
  unknownKeys(options, new Set([...OPTION_KEYS, ...alsoAllowed]), '', issues);

  // Streams.
  const streams: StreamKey<V>[] = [];
  const raw: unknown = options.streams;
  if (!Array.isArray(raw)) {
    issues.push({ field: 'streams', message: 'must be an array of stream names' });
  } else {
    if (raw.length === 0) issues.push({ field: 'streams', message: 'must name at least one stream' });
    const seen = new Set<string>();
    raw.forEach((s: unknown, i) => {
      if (typeof s !== 'string' || s.length === 0) issues.push({ field: `streams[${i}]`, message: 'must be a non-empty string' });
      else if (seen.has(s)) issues.push({ field: `streams[${i}]`, message: `duplicate stream '${s}'` });
      else { seen.add(s); streams.push(s as StreamKey<V>); }
    });
  }
  const known = new Set<string>(streams);

  // Policy.
  let policy: ResolvedPolicy<StreamKey<V>> = { kind: 'exact' };
  const p: unknown = options.policy;
  if (!isRecord(p)) {
    issues.push({ field: 'policy', message: "must be { kind: 'exact' } or { kind: 'realTime', toleranceMs, waitAll?, target? }" });
  } else if (p.kind === 'exact') {
    unknownKeys(p, EXACT_KEYS, 'policy.', issues);
  } else if (p.kind === 'realTime') {
    unknownKeys(p, REALTIME_KEYS, 'policy.', issues);
    const tol = p.toleranceMs;
    if (typeof tol !== 'number' || !Number.isFinite(tol) || tol < 0) issues.push({ field: 'policy.toleranceMs', message: 'must be a finite number of milliseconds >= 0' });
    const waitAll = p.waitAll ?? true;
    if (typeof waitAll !== 'boolean') issues.push({ field: 'policy.waitAll', message: 'must be a boolean' });
    const target = p.target;
    if (target !== undefined && (typeof target !== 'string' || !known.has(target))) {
      issues.push({ field: 'policy.target', message: `must be one of the streams (${[...known].join(', ') || 'none'})` });
    }
    policy = {
      kind: 'realTime',
      toleranceMs: typeof tol === 'number' ? tol : 0,
      waitAll: waitAll === true,
      target: typeof target === 'string' ? (target as StreamKey<V>) : undefined,
    };
  } else {
    issues.push({ field: 'policy.kind', message: "must be 'exact' or 'realTime'" });
  }

  // Capacity.
  const capacity = new Map<StreamKey<V>, number>();
  const c: unknown = options.capacity;
  if (c === undefined || isCapacity(c)) {
    for (const s of streams) capacity.set(s, c ?? DEFAULT_CAPACITY);
  } else if (isRecord(c)) {
    for (const [k, v] of Object.entries(c)) {
      if (!known.has(k)) issues.push({ field: `capacity.${k}`, message: 'is not one of the streams' });
      else if (v !== undefined && !isCapacity(v)) issues.push({ field: `capacity.${k}`, message: 'must be an integer >= 1' });
    }
    for (const s of streams) {
      const v = c[s];
      capacity.set(s, isCapacity(v) ? v : DEFAULT_CAPACITY);
    }
  } else {
    issues.push({ field: 'capacity', message: 'must be an integer >= 1, or one per stream' });
  }

  if (options.onDrop !== undefined && typeof options.onDrop !== 'function') issues.push({ field: 'onDrop', message: 'must be a function' });

  if (issues.length > 0) throw ConfigError.invalidConfig(what, issues);
  return { streams, policy, capacity };
}
