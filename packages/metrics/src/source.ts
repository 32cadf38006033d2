/**
 * What the bridge reads from a runtime, and the sampler that makes one collection read it once.
 */
import type { FeedId, HealthEvent } from '@nv/core';
import type { CounterSample } from '@nv/core';
import type { RuntimeDiagnostics } from '@nv/runtime';

/**
 * What `@nv/metrics` needs from a runtime: diagnostics to sample and health events to count.
 * `Runtime` from `@nv/runtime` implements it.
 */
export interface MetricsSource {
  /** A snapshot of every feed and batch processor; called once per metric collection. */
  diagnostics(): RuntimeDiagnostics;
  /** Subscribes to health events. @returns a function that unsubscribes */
  onHealth(listener: (event: HealthEvent) => void): () => void;
  /**
   * Optional: a registered feed by id, for its display name (`Runtime.feed` implements it).
   * Lets a health event of a named feed that no collection has seen yet carry its `feed_name`
   * label; without it, names come from `diagnostics()` only.
   */
  feed?(id: FeedId): { readonly name?: string | undefined } | undefined;
  /**
   * Optional: counters of components outside the feeds (e.g. a process's event sinks), read at
   * every collection and exported as `nv.component.counter` / `nv.component.gauge` with
   * `counter` = the name and the entry's labels. Same rules as `Stage.counters()`; entries that
   * break them are left out, a throw leaves them all out.
   */
  counters?(): readonly CounterSample[];
}

/** @internal A feed-name lookup over `source.feed`, if the source has one. */
export function feedNameLookup(source: MetricsSource): ((id: FeedId) => string | undefined) | undefined {
  if (typeof source.feed !== 'function') return undefined;
  return (id) => source.feed?.(id)?.name;
}

/**
 * Takes one `diagnostics()` snapshot per collection: the gauge callback and the histogram
 * producer of a collection (and of readers collecting in the same turn of the event loop)
 * share it. The snapshot is forgotten on the next turn, so every later collection reads
 * fresh numbers.
 *
 * @internal
 */
export class DiagnosticsSampler {
  readonly #source: MetricsSource;
  #current: RuntimeDiagnostics | undefined;
  #start: number | undefined;
  #samples = 0;
  readonly #forget = (): void => { this.#current = undefined; };

  constructor(source: MetricsSource) { this.#source = source; }

  /** The snapshot for the current collection (taken now if this turn has none yet). */
  sample(): RuntimeDiagnostics {
    if (this.#current) return this.#current;
    const d = this.#source.diagnostics();
    this.#samples++;
    this.#current = d;
    this.#start ??= Date.now() - d.uptimeMs;
    setImmediate(this.#forget);
    return d;
  }

  /** Wall-clock time (ms since the epoch) the runtime started: start of every cumulative series. */
  get runtimeStartMs(): number { return this.#start ?? Date.now(); }

  /** How many times `diagnostics()` was called (for tests and diagnostics). */
  get samples(): number { return this.#samples; }
}

const samplers = new WeakMap<MetricsSource, DiagnosticsSampler>();

/** @internal The sampler of `source`, shared by every bridge object built on it. */
export function samplerFor(source: MetricsSource): DiagnosticsSampler {
  let s = samplers.get(source);
  if (!s) { s = new DiagnosticsSampler(source); samplers.set(source, s); }
  return s;
}
