/**
 * Latency histograms without per-frame recording: a `MetricProducer` that turns the runtime's
 * own fixed-bucket histograms (`LatencySnapshot`) into OTel HISTOGRAM data points at each
 * collection. Readers merge its output with the SDK's, so the histograms reach Prometheus
 * (`_bucket`/`_sum`/`_count`) and OTLP like any SDK histogram.
 */
import type { HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType, type CollectionResult, type DataPoint, type Histogram, type HistogramMetricData,
  type MetricDescriptor, type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { LatencySnapshot } from '@nv/runtime';
import { AttributeCache } from './attributes.js';
import { HISTOGRAMS, type InstrumentInfo } from './instruments.js';
import { feedNameLookup, samplerFor, type DiagnosticsSampler, type MetricsSource } from './source.js';
import { VERSION } from './version.js';

/** Name of the instrumentation scope of every `@nv/metrics` instrument. */
export const METER_NAME = '@nv/metrics';

/** The parts of a runtime `LatencySnapshot` the producer reads (all times in ms). */
type LatencyLike = Pick<LatencySnapshot, 'boundsMs' | 'counts' | 'count' | 'sumMs' | 'minMs' | 'maxMs'>;

const boundsCache = new WeakMap<readonly number[], number[]>();
/** Bucket bounds in seconds, converted once per distinct bounds array. */
function boundsSeconds(boundsMs: readonly number[]): number[] {
  let s = boundsCache.get(boundsMs);
  if (!s) { s = boundsMs.map((b) => b / 1000); boundsCache.set(boundsMs, s); }
  return s;
}

function toHistogram(l: LatencyLike): Histogram {
  const h: Histogram = {
    buckets: { boundaries: boundsSeconds(l.boundsMs), counts: l.counts.slice() },
    sum: l.sumMs / 1000,
    count: l.count,
  };
  if (l.count > 0) { h.min = l.minMs / 1000; h.max = l.maxMs / 1000; }
  return h;
}

function descriptor(i: InstrumentInfo): MetricDescriptor {
  return Object.freeze({ name: i.name, description: i.description, unit: i.unit, valueType: ValueType.DOUBLE });
}

function hrTime(ms: number): HrTime {
  const secs = Math.floor(ms / 1000);
  return [secs, Math.round((ms - secs * 1000) * 1e6)];
}

/**
 * A `MetricProducer` (sdk-metrics) that exports the runtime's latency histograms —
 * `nv.feed.pipeline.duration`, `nv.stage.duration` and `nv.batch.processing.duration`, in
 * seconds — as cumulative explicit-bucket histograms, built at collection time from one
 * `diagnostics()` snapshot. Nothing is recorded per frame.
 *
 * `MetricsExporter` wires it into the readers it creates. With your own `MeterProvider`, pass
 * one to each reader's `metricProducers` option (the SDK has no way to add it later).
 *
 * @example
 * ```ts
 * const latency = new LatencyMetricProducer(runtime);
 * const reader = new PeriodicExportingMetricReader({ exporter, metricProducers: [latency] });
 * const provider = new MeterProvider({ readers: [reader] });
 * const metrics = await MetricsExporter.create(runtime, { meterProvider: provider });
 * ```
 */
export class LatencyMetricProducer implements MetricProducer {
  readonly #sampler: DiagnosticsSampler;
  readonly #attrs: AttributeCache;
  readonly #pipeline = descriptor(HISTOGRAMS.pipeline);
  readonly #stage = descriptor(HISTOGRAMS.stage);
  readonly #batch = descriptor(HISTOGRAMS.batch);

  /** @param source - the runtime (anything with `diagnostics()` and `onHealth()`) */
  constructor(source: MetricsSource) {
    this.#sampler = samplerFor(source);
    this.#attrs = new AttributeCache(feedNameLookup(source));
  }

  /** Builds the histogram data points from the current diagnostics snapshot. Never rejects. */
  async collect(): Promise<CollectionResult> {
    try {
      const metrics = this.#build();
      const scopeMetrics = metrics.length ? [{ scope: { name: METER_NAME, version: VERSION }, metrics }] : [];
      return { resourceMetrics: { resource: emptyResource(), scopeMetrics }, errors: [] };
    } catch (error) {
      return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [] }, errors: [error] };
    }
  }

  #build(): HistogramMetricData[] {
    const d = this.#sampler.sample();
    const start = hrTime(this.#sampler.runtimeStartMs);
    const end = hrTime(Date.now());
    const cache = this.#attrs;
    const pipeline: DataPoint<Histogram>[] = [];
    const stage: DataPoint<Histogram>[] = [];
    const batch: DataPoint<Histogram>[] = [];
    for (const f of d.feeds) {
      pipeline.push({ startTime: start, endTime: end, attributes: cache.feed(f.id, f.name), value: toHistogram(f.metrics.pipelineLatency) });
      const stages = f.metrics.stages;
      for (const stageId in stages) {
        stage.push({ startTime: start, endTime: end, attributes: cache.stage(f.id, stageId), value: toHistogram(stages[stageId]!.latency) });
      }
    }
    for (const b of d.batches) {
      batch.push({ startTime: start, endTime: end, attributes: cache.processor(b.processorId), value: toHistogram(b.processingLatency) });
    }
    cache.prune(d.feeds, d.batches);
    const out: HistogramMetricData[] = [];
    const add = (descriptor: MetricDescriptor, dataPoints: DataPoint<Histogram>[]): void => {
      if (dataPoints.length) out.push({ descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints });
    };
    add(this.#pipeline, pipeline);
    add(this.#stage, stage);
    add(this.#batch, batch);
    return out;
  }
}
