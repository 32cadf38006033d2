/**
 * Observable instruments sampled from diagnostics: one batch callback reads one snapshot per
 * collection and observes every runtime, feed, stage and batch value from it.
 */
import { validCounterSamples, type CounterSample } from '@nv/core';
import type { RuntimeDiagnostics } from '@nv/runtime';
import { ValueType, type Attributes, type BatchObservableResult, type Meter, type Observable } from '@opentelemetry/api';
import type { AttributeCache } from './attributes.js';
import {
  BATCH_INSTRUMENTS, COMPONENT_INSTRUMENTS, FEED_INSTRUMENTS, RUNTIME_INSTRUMENTS, STAGE_INSTRUMENTS, STAGE_OWN_INSTRUMENTS, type ObservedDef,
} from './instruments.js';
import type { DiagnosticsSampler } from './source.js';

interface Bound<T> { readonly def: ObservedDef<T>; readonly inst: Observable }

function create<T>(meter: Meter, defs: readonly ObservedDef<T>[]): Bound<T>[] {
  return defs.map((def) => {
    const opts = { description: def.description, unit: def.unit, valueType: def.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE };
    const inst = def.kind === 'observableCounter' ? meter.createObservableCounter(def.name, opts) : meter.createObservableGauge(def.name, opts);
    return { def, inst };
  });
}

/** At most this many departed feeds (or processors) keep being reported as gone. */
const MAX_DEPARTED = 1024;

function observeAll<T>(r: BatchObservableResult, bound: readonly Bound<T>[], x: T, attrs: Attributes): void {
  for (const b of bound) {
    const v = b.def.read(x);
    if (v !== undefined && Number.isFinite(v)) r.observe(b.inst, v, attrs);
  }
}

/** @internal Registers the observable instruments on `meter`; `detach()` removes the callback. */
export class DiagnosticsObservers {
  readonly #meter: Meter;
  readonly #sampler: DiagnosticsSampler;
  readonly #attrs: AttributeCache;
  readonly #runtime: Bound<RuntimeDiagnostics>[];
  readonly #feed: Bound<RuntimeDiagnostics['feeds'][number]>[];
  readonly #stage: Bound<RuntimeDiagnostics['feeds'][number]['metrics']['stages'][string]>[];
  readonly #batch: Bound<RuntimeDiagnostics['batches'][number]>[];
  readonly #all: Observable[];
  /** `nv.stage.counter` and `nv.stage.gauge`: the stages' own counters. */
  readonly #own: { readonly counter: Observable; readonly gauge: Observable };
  readonly #component: { readonly counter: Observable; readonly gauge: Observable };
  readonly #extra: (() => readonly CounterSample[]) | undefined;
  readonly #feedGone: Bound<RuntimeDiagnostics['feeds'][number]>[];
  readonly #batchGone: Bound<RuntimeDiagnostics['batches'][number]>[];
  /** Feeds / processors seen by the previous callback, and those that have left since (with their attributes). */
  #liveFeeds = new Set<RuntimeDiagnostics['feeds'][number]['id']>();
  #liveBatches = new Set<string>();
  readonly #departed = new Map<string, { readonly batch: string | undefined; readonly attrs: Attributes }>();
  #attached = true;

  constructor(meter: Meter, sampler: DiagnosticsSampler, attrs: AttributeCache, extra?: () => readonly CounterSample[]) {
    this.#extra = extra;
    this.#meter = meter;
    this.#sampler = sampler;
    this.#attrs = attrs;
    this.#runtime = create(meter, RUNTIME_INSTRUMENTS);
    this.#feed = create(meter, FEED_INSTRUMENTS);
    this.#stage = create(meter, STAGE_INSTRUMENTS);
    this.#batch = create(meter, BATCH_INSTRUMENTS);
    const [ownCounter, ownGauge] = STAGE_OWN_INSTRUMENTS.map((def) => {
      const opts = { description: def.description, unit: def.unit, valueType: ValueType.DOUBLE };
      return def.kind === 'observableCounter' ? meter.createObservableCounter(def.name, opts) : meter.createObservableGauge(def.name, opts);
    });
    this.#own = { counter: ownCounter!, gauge: ownGauge! };
    const [compCounter, compGauge] = COMPONENT_INSTRUMENTS.map((def) => {
      const opts = { description: def.description, unit: def.unit, valueType: ValueType.DOUBLE };
      return def.kind === 'observableCounter' ? meter.createObservableCounter(def.name, opts) : meter.createObservableGauge(def.name, opts);
    });
    this.#component = { counter: compCounter!, gauge: compGauge! };
    this.#all = [...[...this.#runtime, ...this.#feed, ...this.#stage, ...this.#batch].map((b) => b.inst), ownCounter!, ownGauge!, compCounter!, compGauge!];
    this.#feedGone = this.#feed.filter((b) => b.def.gone !== undefined);
    this.#batchGone = this.#batch.filter((b) => b.def.gone !== undefined);
    meter.addBatchObservableCallback(this.#observe, this.#all);
  }

  readonly #observe = (r: BatchObservableResult): void => {
    const d = this.#sampler.sample();
    const cache = this.#attrs;
    observeAll(r, this.#runtime, d, cache.none());
    for (const f of d.feeds) {
      observeAll(r, this.#feed, f, cache.feed(f.id, f.name));
      const stages = f.metrics.stages;
      for (const stageId in stages) {
        const st = stages[stageId]!;
        const attrs = cache.stage(f.id, stageId);
        observeAll(r, this.#stage, st, attrs);
        if (st.counters) {
          for (const c of st.counters) r.observe(c.kind === 'counter' ? this.#own.counter : this.#own.gauge, c.value, { ...c.labels, ...attrs, counter: c.name });
        }
      }
    }
    for (const b of d.batches) observeAll(r, this.#batch, b, cache.processor(b.processorId));
    if (this.#extra) {
      for (const c of validCounterSamples(this.#extra)) r.observe(c.kind === 'counter' ? this.#component.counter : this.#component.gauge, c.value, { ...c.labels, counter: c.name });
    }
    this.#reportDeparted(r, d);
    cache.prune(d.feeds, d.batches);
  };

  /**
   * sdk-metrics 2.x keeps exporting the last value of every attribute set an observable
   * instrument ever saw (opentelemetry-js#4096). So that a removed feed does not read as alive
   * with a full queue forever, its levels are reported once more — and from then on — with
   * their "gone" values (alive 0, paused 0, depths 0, …). Its totals keep their final values.
   */
  #reportDeparted(r: BatchObservableResult, d: RuntimeDiagnostics): void {
    const feeds = new Set(d.feeds.map((f) => f.id));
    const batches = new Set(d.batches.map((b) => b.processorId));
    for (const id of this.#liveFeeds) if (!feeds.has(id)) this.#depart(`feed:${id}`, undefined, this.#attrs.feed(id));
    for (const id of this.#liveBatches) if (!batches.has(id)) this.#depart(`batch:${id}`, id, this.#attrs.processor(id));
    this.#liveFeeds = feeds;
    this.#liveBatches = batches;
    for (const [key, gone] of this.#departed) {
      // A processor id can come back (a new processor with the same id): it is live again.
      if (gone.batch !== undefined && batches.has(gone.batch)) { this.#departed.delete(key); continue; }
      for (const b of gone.batch === undefined ? this.#feedGone : this.#batchGone) r.observe(b.inst, b.def.gone!, gone.attrs);
    }
  }

  #depart(key: string, batch: string | undefined, attrs: Attributes): void {
    this.#departed.delete(key);
    this.#departed.set(key, { batch, attrs });
    if (this.#departed.size > MAX_DEPARTED) this.#departed.delete(this.#departed.keys().next().value!);
  }

  /** Stops observing (the instruments stay registered on the meter but report nothing). */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#meter.removeBatchObservableCallback(this.#observe, this.#all);
  }
}

