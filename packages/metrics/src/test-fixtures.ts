/**
 * Shared helpers of this package's tests: a diagnostics fixture with known numbers, a fake
 * runtime that counts `diagnostics()` calls and exposes its health listener, an in-memory
 * reader and a free-port finder. Not exported by the package.
 */
import { createServer } from 'node:net';
import { feedId, type CounterSample, type HealthEvent } from '@nv/core';
import { LatencyHistogram, type LatencySnapshot, type RuntimeDiagnostics } from '@nv/runtime';
import type { Attributes } from '@opentelemetry/api';
import { MetricReader, type DataPoint, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { MetricsSource } from './source.js';

/** A latency snapshot holding exactly `valuesMs`. */
export function latency(...valuesMs: number[]): LatencySnapshot {
  const h = new LatencyHistogram();
  for (const v of valuesMs) h.recordMs(v);
  return h.snapshot();
}

/** Two feeds (the first with stages `det` and `trk`, the second paused and degraded) and one batch processor. */
export function diagnosticsFixture(scale = 1): RuntimeDiagnostics {
  const n = (x: number): number => x * scale;
  return {
    uptimeMs: 12_500, feedCount: 2, maxFeeds: 8, healthEventsDropped: n(3),
    feeds: [
      {
        id: feedId(1), state: 'running', paused: false, alive: true, sessionUptimeMs: 4_250,
        metrics: {
          feedId: feedId(1), framesReceived: n(100), framesDropped: n(4), framesProcessed: n(90), framesFailed: n(6), framesTimedOut: n(1),
          outputsEmitted: n(89), outputsDropped: n(1), sinkErrors: n(2), restarts: n(1), tracksActive: 7, viewEpoch: 3,
          stages: {
            det: { framesProcessed: n(96), errors: n(6), skipped: n(0), latency: latency(0.3, 0.7, 4, 30) },
            trk: {
              framesProcessed: n(90), errors: n(0), skipped: n(5), latency: latency(0.02, 0.04),
              counters: [
                { name: 'analytics.line.crossed', kind: 'counter', labels: { line: 'mid', direction: 'positive' }, value: n(7) },
                { name: 'analytics.line.crossed', kind: 'counter', labels: { line: 'mid', direction: 'negative' }, value: n(2) },
                { name: 'analytics.zone.occupancy', kind: 'gauge', labels: { zone: 'door' }, value: 3 },
                { name: 'analytics.zone.occupancy', kind: 'gauge', labels: { zone: 'yard' }, value: 0 },
              ],
            },
          },
          pipelineLatency: latency(1, 2, 3, 2000),
        },
        queues: { sourceDepth: 2, sourceCapacity: 8, sinkDepth: 1, sinkCapacity: 16 },
        decode: { outcome: 'software', detail: 'avdec_h264' },
        view: { epoch: 3, version: 11, validity: 'valid', stabilityScore: 1, pollTimeouts: 2 },
        parallel: {
          width: 4, capacity: 4, nextSeq: 90, inFlight: 3, depth: 1, maxDepthSeen: 3, delivered: 86, tombstones: 1, gapTimeouts: 2,
          discardedLate: 0, discardedOnReset: 0, stale: 0, callbackErrors: 0, reorderWait: { count: 80, totalMs: 400, maxMs: 40 },
        },
        batchProcessorId: undefined, lastError: undefined, stopReason: undefined,
      },
      {
        id: feedId(2), state: 'paused', paused: true, alive: true, sessionUptimeMs: 0,
        metrics: {
          feedId: feedId(2), framesReceived: n(10), framesDropped: 0, framesProcessed: n(10), framesFailed: 0, framesTimedOut: 0,
          outputsEmitted: n(10), outputsDropped: 0, sinkErrors: 0, restarts: 0, tracksActive: 0, viewEpoch: 0,
          stages: {}, pipelineLatency: latency(),
        },
        queues: { sourceDepth: 0, sourceCapacity: 0, sinkDepth: 0, sinkCapacity: 4 },
        decode: undefined,
        view: { epoch: 0, version: 2, validity: 'degraded', stabilityScore: 0.25 },
        batchProcessorId: 'det-batch', lastError: 'boom', stopReason: undefined,
      },
    ],
    batches: [
      {
        processorId: 'det-batch', maxBatchSize: 4, queueDepth: 3, queueCapacity: 16, processingLatency: latency(8, 12),
        metrics: {
          batchesDispatched: n(20), itemsProcessed: n(70), itemsSubmitted: n(80), itemsRejected: n(5), itemsTimedOut: n(2),
          avgFillRatio: 0.875, avgProcessingMs: 10, avgFormationMs: 2.5, consecutiveErrors: 1, pendingItems: 3,
        },
      },
    ],
  };
}

/** A runtime stand-in: counts `diagnostics()` calls and lets a test emit health events. */
export class FakeRuntime implements MetricsSource {
  calls = 0;
  readonly listeners = new Set<(e: HealthEvent) => void>();
  constructor(public current: RuntimeDiagnostics = diagnosticsFixture()) {}
  diagnostics(): RuntimeDiagnostics { this.calls++; return this.current; }
  onHealth(listener: (e: HealthEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }
  emit(e: HealthEvent): void { for (const l of this.listeners) l(e); }
  /** Counters of components outside the feeds (as `nv serve` reports its event sinks); one invalid entry is left out. */
  counters(): readonly CounterSample[] {
    return [
      { name: 'sink.messages.dropped', kind: 'counter', labels: { sink: 'mqtt', reason: 'overflow' }, value: 4 },
      { name: 'sink.queue.depth', kind: 'gauge', labels: { sink: 'mqtt' }, value: 12 },
      { name: 'Not valid', kind: 'gauge', value: 1 },
    ];
  }
}

/** A pull reader for tests: `collect()` returns what an exporter would get. */
export class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> { /* nothing to release */ }
  protected override async onForceFlush(): Promise<void> { /* pull-only */ }
}

/** Every metric named `name` in a collection (all scopes). */
export function metricsNamed(rm: ResourceMetrics, name: string): MetricData[] {
  return rm.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name);
}

/** The data points of the single metric named `name`. */
export function pointsOf(rm: ResourceMetrics, name: string): DataPoint<number | Histogram>[] {
  const ms = metricsNamed(rm, name);
  if (ms.length !== 1) throw new Error(`expected one metric '${name}', found ${ms.length}`);
  return ms[0]!.dataPoints as DataPoint<number | Histogram>[];
}

/** The value of `name` at exactly `attributes` (undefined when absent). */
export function valueAt(rm: ResourceMetrics, name: string, attributes: Attributes): number | Histogram | undefined {
  const key = JSON.stringify(Object.entries(attributes).sort());
  return pointsOf(rm, name).find((p) => JSON.stringify(Object.entries(p.attributes).sort()) === key)?.value;
}

/** A TCP port that was free a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

