import { ConfigError, HEALTH_EVENT_TYPES, MediaError, StageError, feedId, monotonicTs, type HealthEvent, type HealthEventType } from '@nv/core';
import { LATENCY_BUCKETS_MS } from '@nv/runtime';
import { MeterProvider, type Histogram, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  INSTRUMENTS, LatencyMetricProducer, MetricsExportError, MetricsExporter, type MetricsExporterOptions,
} from './index.js';
import { CollectingReader, FakeRuntime, diagnosticsFixture, freePort, metricsNamed, pointsOf, valueAt } from './test-fixtures.js';

const F1 = { feed_id: 'feed-1' };
const F2 = { feed_id: 'feed-2' };
const P = { processor_id: 'det-batch' };

/** A fake runtime bridged through a provider of our own with an in-memory reader and the latency producer. */
async function bridged(rt = new FakeRuntime()) {
  const reader = new CollectingReader({ metricProducers: [new LatencyMetricProducer(rt)] });
  const provider = new MeterProvider({ readers: [reader] });
  const metrics = await MetricsExporter.create(rt, { meterProvider: provider });
  const collect = async (): Promise<ResourceMetrics> => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics;
  };
  return { rt, reader, provider, metrics, collect };
}

const nextTurn = () => new Promise((r) => setImmediate(r));
const open: MetricsExporter[] = [];
afterEach(async () => { await Promise.allSettled(open.splice(0).map((m) => m.shutdown())); });

describe('observable instruments from diagnostics', () => {
  it('reports every runtime, feed, stage and batch value of the snapshot, with cached per-feed/stage/processor attributes', async () => {
    const { collect } = await bridged();
    const rm = await collect();
    const expected: [string, Record<string, string>, number][] = [
      ['nv.runtime.uptime', {}, 12.5], ['nv.runtime.feed.count', {}, 2], ['nv.runtime.feed.limit', {}, 8],
      ['nv.runtime.health.dropped_events', {}, 3],
      ['nv.feed.frames.received', F1, 100], ['nv.feed.frames.dropped', F1, 4], ['nv.feed.frames.processed', F1, 90],
      ['nv.feed.frames.failed', F1, 6], ['nv.feed.outputs.emitted', F1, 89], ['nv.feed.outputs.dropped', F1, 1],
      ['nv.feed.sink.errors', F1, 2], ['nv.feed.restarts', F1, 1], ['nv.feed.tracks.active', F1, 7],
      ['nv.feed.queue.source.depth', F1, 2], ['nv.feed.queue.source.capacity', F1, 8], ['nv.feed.queue.sink.depth', F1, 1],
      ['nv.feed.queue.sink.capacity', F1, 16], ['nv.feed.view.epoch', F1, 3], ['nv.feed.view.version', F1, 11],
      ['nv.feed.view.stability_score', F1, 1], ['nv.feed.view.status', F1, 0], ['nv.feed.session.uptime', F1, 4.25],
      ['nv.feed.alive', F1, 1], ['nv.feed.paused', F1, 0], ['nv.feed.view.poll_timeouts', F1, 2], ['nv.feed.view.poll_timeouts', F2, 0],
      ['nv.feed.parallel.in_flight', F1, 3], ['nv.feed.parallel.depth', F1, 1], ['nv.feed.parallel.gap_timeouts', F1, 2], ['nv.feed.parallel.reorder_wait.max', F1, 0.04],
      ['nv.feed.frames.processed', F2, 10], ['nv.feed.paused', F2, 1], ['nv.feed.view.status', F2, 1],
      ['nv.feed.view.stability_score', F2, 0.25], ['nv.feed.queue.source.capacity', F2, 0], ['nv.feed.view.version', F2, 2],
      ['nv.stage.frames.processed', { ...F1, stage_id: 'det' }, 96], ['nv.stage.errors', { ...F1, stage_id: 'det' }, 6],
      ['nv.stage.frames.skipped', { ...F1, stage_id: 'det' }, 0], ['nv.stage.frames.processed', { ...F1, stage_id: 'trk' }, 90],
      ['nv.stage.frames.skipped', { ...F1, stage_id: 'trk' }, 5],
      ['nv.batch.dispatched', P, 20], ['nv.batch.items.processed', P, 70], ['nv.batch.items.submitted', P, 80],
      ['nv.batch.items.rejected', P, 5], ['nv.batch.items.timed_out', P, 2], ['nv.batch.items.pending', P, 3],
      ['nv.batch.fill_ratio.avg', P, 0.875], ['nv.batch.processing.avg_duration', P, 0.01], ['nv.batch.formation.avg_duration', P, 0.0025],
      ['nv.batch.errors.consecutive', P, 1], ['nv.batch.queue.depth', P, 3], ['nv.batch.queue.capacity', P, 16], ['nv.batch.size.max', P, 4],
    ];
    for (const [name, attrs, value] of expected) expect([name, attrs, valueAt(rm, name, attrs)]).toEqual([name, attrs, value]);
    // Every observable instrument of the catalogue is present, with one point per feed / stage / processor.
    const observed = INSTRUMENTS.filter((i) => i.kind === 'observableCounter' || i.kind === 'observableGauge');
    expect(observed).toHaveLength(49);
    for (const i of observed) {
      const n = pointsOf(rm, i.name).length;
      // The parallel section's gauges exist for parallel feeds only (feed 1 of the fixture); its total reads 0 elsewhere.
      const want = i.name.startsWith('nv.runtime.') ? 1 : i.name.startsWith('nv.feed.parallel.') && i.kind === 'observableGauge' ? 1 : i.name.startsWith('nv.feed.') ? 2 : i.name.startsWith('nv.stage.') ? 2 : 1;
      expect([i.name, n]).toEqual([i.name, want]);
      expect(metricsNamed(rm, i.name)[0]!.descriptor.unit).toBe(i.unit);
    }
    // A stage's own counters: one point per name and label set, labels beside feed and stage.
    expect(valueAt(rm, 'nv.stage.counter', { ...F1, stage_id: 'trk', counter: 'analytics.line.crossed', line: 'mid', direction: 'positive' })).toBe(7);
    expect(valueAt(rm, 'nv.stage.gauge', { ...F1, stage_id: 'trk', counter: 'analytics.zone.occupancy', zone: 'door' })).toBe(3);
    // Counters of components outside the feeds (MetricsSource.counters()): valid entries only.
    expect(valueAt(rm, 'nv.component.counter', { counter: 'sink.messages.dropped', sink: 'mqtt', reason: 'overflow' })).toBe(4);
    expect(valueAt(rm, 'nv.component.gauge', { counter: 'sink.queue.depth', sink: 'mqtt' })).toBe(12);
    // Monotonic totals are sums (counters), levels are gauges.
    expect(metricsNamed(rm, 'nv.feed.frames.processed')[0]).toMatchObject({ dataPointType: 3, isMonotonic: true });
    expect(metricsNamed(rm, 'nv.feed.queue.sink.depth')[0]).toMatchObject({ dataPointType: 2 });
  });

  it('samples diagnostics() once per collection (gauges and histograms share it) and reads fresh numbers next time', async () => {
    const { rt, collect } = await bridged();
    let rm = await collect();
    expect(rt.calls).toBe(1);
    expect(valueAt(rm, 'nv.feed.frames.processed', F1)).toBe(90);
    expect((valueAt(rm, 'nv.feed.pipeline.duration', F1) as Histogram).count).toBe(4);
    await nextTurn();
    rt.current = diagnosticsFixture(3);
    rm = await collect();
    expect(rt.calls).toBe(2);
    expect(valueAt(rm, 'nv.feed.frames.processed', F1)).toBe(270);
    expect(valueAt(rm, 'nv.batch.items.submitted', P)).toBe(240);
  });

  it('a feed or processor that leaves diagnostics reads as gone (alive 0, paused 0, depths 0), not frozen at its last levels', async () => {
    const { rt, collect } = await bridged();
    await collect();
    await nextTurn();
    const d = diagnosticsFixture();
    rt.current = { ...d, feedCount: 1, feeds: [d.feeds[0]!], batches: [] };
    for (let i = 0; i < 2; i++) {
      const rm = await collect();
      expect(valueAt(rm, 'nv.feed.alive', F2)).toBe(0);
      expect(valueAt(rm, 'nv.feed.paused', F2)).toBe(0);
      expect(valueAt(rm, 'nv.feed.queue.sink.depth', F1)).toBe(1);
      expect(valueAt(rm, 'nv.batch.items.pending', P)).toBe(0);
      expect(valueAt(rm, 'nv.batch.queue.depth', P)).toBe(0);
      expect(valueAt(rm, 'nv.feed.alive', F1)).toBe(1);
      // totals keep their final value (the SDK repeats the last observation of a series)
      expect(valueAt(rm, 'nv.feed.frames.processed', F2)).toBe(10);
      expect(pointsOf(rm, 'nv.feed.pipeline.duration').map((p) => p.attributes)).toEqual([F1]); // histograms come from the producer: live feeds only
      await nextTurn();
    }
    // the processor comes back under the same id: live values again
    rt.current = d;
    expect(valueAt(await collect(), 'nv.batch.items.pending', P)).toBe(3);
  });

  it('skips averages that are undefined before the first batch and unknown view validities', async () => {
    const d = diagnosticsFixture();
    const rt = new FakeRuntime({
      ...d,
      feeds: [{ ...d.feeds[0]!, view: { ...d.feeds[0]!.view, validity: 'mystery' } }],
      batches: [{ ...d.batches[0]!, metrics: { ...d.batches[0]!.metrics, avgFillRatio: undefined, avgProcessingMs: undefined, avgFormationMs: undefined } }],
    });
    const { collect } = await bridged(rt);
    const rm = await collect();
    expect(metricsNamed(rm, 'nv.batch.fill_ratio.avg')).toHaveLength(0);
    expect(metricsNamed(rm, 'nv.batch.processing.avg_duration')).toHaveLength(0);
    expect(metricsNamed(rm, 'nv.feed.view.status')).toHaveLength(0);
    expect(valueAt(rm, 'nv.batch.items.pending', P)).toBe(3);
  });
});

describe('latency histograms from LatencySnapshots', () => {
  it('exports pipeline, stage and batch histograms in seconds with the runtime buckets, count, sum, min and max', async () => {
    const { collect } = await bridged();
    const rm = await collect();
    const det = valueAt(rm, 'nv.stage.duration', { ...F1, stage_id: 'det' }) as Histogram;
    expect(det.buckets.boundaries).toEqual(LATENCY_BUCKETS_MS.map((b) => b / 1000));
    const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    for (const v of [0.3, 0.7, 4, 30]) counts[LATENCY_BUCKETS_MS.findIndex((b) => v <= b)]++;
    expect(det.buckets.counts).toEqual(counts);
    expect(det.count).toBe(4);
    expect(det.sum).toBeCloseTo(0.035, 9);
    expect(det.min).toBeCloseTo(0.0003, 9);
    expect(det.max).toBeCloseTo(0.03, 9);
    const pipe = valueAt(rm, 'nv.feed.pipeline.duration', F1) as Histogram;
    expect(pipe.count).toBe(4);
    expect(pipe.buckets.counts.reduce((a, b) => a + b, 0)).toBe(4);
    const empty = valueAt(rm, 'nv.feed.pipeline.duration', F2) as Histogram;
    expect(empty).toMatchObject({ count: 0, sum: 0 });
    expect(empty.min).toBeUndefined();
    expect((valueAt(rm, 'nv.batch.processing.duration', P) as Histogram).count).toBe(2);
    expect(metricsNamed(rm, 'nv.stage.duration')[0]).toMatchObject({ dataPointType: 0, aggregationTemporality: 1, descriptor: { unit: 's' } });
    // start time = runtime start (now − uptime), the same for every point
    const p = pointsOf(rm, 'nv.stage.duration')[0]!;
    expect(p.endTime[0] - p.startTime[0]).toBeGreaterThanOrEqual(12);
    expect(p.endTime[0] - p.startTime[0]).toBeLessThanOrEqual(14);
  });

  it('a diagnostics() failure is a collection error, not a crash', async () => {
    const rt = new FakeRuntime();
    const { reader } = await bridged(rt);
    rt.diagnostics = () => { throw new Error('diagnostics broke'); };
    const { errors } = await reader.collect();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(String(errors[0])).toContain('diagnostics broke');
  });
});

describe('health-event counters', () => {
  const err = StageError.processingFailed('det', 'bad input');
  const events: { [T in HealthEventType]: [Extract<HealthEvent, { type: T }>, string, Record<string, string>, number] } = {
    SourceConnected: [{ type: 'SourceConnected', feedId: feedId(1) }, 'nv.health.source.connections', F1, 1],
    SourceDisconnected: [{ type: 'SourceDisconnected', feedId: feedId(1), reason: MediaError.timeout() }, 'nv.health.source.disconnections', { ...F1, error_type: 'Timeout' }, 1],
    SourceReconnecting: [{ type: 'SourceReconnecting', feedId: feedId(1), attempt: 3, delayMs: 400 }, 'nv.health.source.reconnect_attempts', F1, 1],
    InsecureRtspSource: [{ type: 'InsecureRtspSource', feedId: feedId(2), redactedUrl: 'rtsp://cam/' }, 'nv.health.source.insecure_rtsp', F2, 1],
    StageError: [{ type: 'StageError', feedId: feedId(1), stageId: 'det', error: err }, 'nv.health.stage.errors', { ...F1, stage_id: 'det', error_type: 'ProcessingFailed' }, 1],
    StagePanic: [{ type: 'StagePanic', feedId: feedId(1), stageId: 'trk', detail: 'TypeError' }, 'nv.health.stage.panics', { ...F1, stage_id: 'trk' }, 1],
    FeedRestarting: [{ type: 'FeedRestarting', feedId: feedId(1), restartCount: 4 }, 'nv.health.feed.restarts', F1, 1],
    FeedStopped: [{ type: 'FeedStopped', feedId: feedId(2), reason: { kind: 'EndOfStream' } }, 'nv.health.feed.stops', { ...F2, reason: 'EndOfStream' }, 1],
    BackpressureDrop: [{ type: 'BackpressureDrop', feedId: feedId(1), framesDropped: 17 }, 'nv.health.backpressure.dropped_frames', F1, 17],
    FrameLag: [{ type: 'FrameLag', feedId: feedId(1), frameAgeMs: 2500, framesLagged: 9 }, 'nv.health.frame_lag.frames', F1, 9],
    ViewEpochChanged: [{ type: 'ViewEpochChanged', feedId: feedId(1), epoch: 2, cause: 'segment' }, 'nv.health.view.epoch_changes', { ...F1, cause: 'segment' }, 1],
    ViewDegraded: [{ type: 'ViewDegraded', feedId: feedId(1), reason: 'jitter', stabilityScore: 0.4 }, 'nv.health.view.degradations', F1, 1],
    ViewCompensationApplied: [{ type: 'ViewCompensationApplied', feedId: feedId(1), epoch: 2 }, 'nv.health.view.compensations', F1, 1],
    OutputLagged: [{ type: 'OutputLagged', messagesLost: 12 }, 'nv.health.output_lag.lost_messages', {}, 12],
    SourceEos: [{ type: 'SourceEos', feedId: feedId(2) }, 'nv.health.source.eos', F2, 1],
    DecodeDecision: [{ type: 'DecodeDecision', feedId: feedId(1), outcome: 'hardware', preference: 'auto', fallbackActive: false, fallbackReason: undefined, detail: 'nvh264dec' },
      'nv.health.decode.decisions', { ...F1, outcome: 'hardware' }, 1],
    SinkPanic: [{ type: 'SinkPanic', feedId: feedId(1), detail: 'sink threw' }, 'nv.health.sink.panics', F1, 1],
    SinkTimeout: [{ type: 'SinkTimeout', feedId: feedId(2) }, 'nv.health.sink.timeouts', F2, 1],
    SinkBackpressure: [{ type: 'SinkBackpressure', feedId: feedId(1), outputsDropped: 6 }, 'nv.health.sink.dropped_outputs', F1, 6],
    TrackAdmissionRejected: [{ type: 'TrackAdmissionRejected', feedId: feedId(1), rejectedCount: 5 }, 'nv.health.track_admission.rejected', F1, 5],
    BatchError: [{ type: 'BatchError', processorId: 'det-batch', batchSize: 4, error: StageError.resourceExhausted('det-batch', 'OOM') },
      'nv.health.batch.errors', { ...P, error_type: 'ResourceExhausted' }, 1],
    BatchSubmissionRejected: [{ type: 'BatchSubmissionRejected', feedId: feedId(1), processorId: 'det-batch', droppedCount: 8 }, 'nv.health.batch.rejected_submissions', { ...F1, ...P }, 8],
    BatchTimeout: [{ type: 'BatchTimeout', feedId: feedId(2), processorId: 'det-batch', timedOutCount: 3 }, 'nv.health.batch.timed_out_items', { ...F2, ...P }, 3],
    BatchInFlightExceeded: [{ type: 'BatchInFlightExceeded', feedId: feedId(1), processorId: 'det-batch', rejectedCount: 2 }, 'nv.health.batch.in_flight_rejections', { ...F1, ...P }, 2],
    ResidencyDowngrade: [{ type: 'ResidencyDowngrade', feedId: feedId(1), requested: 'cuda', effective: 'host' }, 'nv.health.residency_downgrades', F1, 1],
    SourceDiscontinuity: [{ type: 'SourceDiscontinuity', feedId: feedId(1), kind: 'backwardJump', rawBefore: 9, rawAfter: 0, ts: monotonicTs(10), count: 4 },
      'nv.health.source.discontinuities', { ...F1, kind: 'backwardJump' }, 4],
    StageTimeout: [{ type: 'StageTimeout', feedId: feedId(1), stageId: 'det', timeoutMs: 30_000, consecutive: 1 }, 'nv.health.stage.timeouts', { ...F1, stage_id: 'det' }, 1],
    FeedPanic: [{ type: 'FeedPanic', feedId: feedId(2), step: 'temporal', detail: 'duplicate id' }, 'nv.health.feed.panics', { ...F2, step: 'temporal' }, 1],
    FrameDropped: [{ type: 'FrameDropped', feedId: feedId(1), seq: 3, ts: monotonicTs(1), mediaTs: 1, cause: 'panic', at: 'trk', detail: 'x' },
      'nv.health.feed.dropped_frames', { ...F1, cause: 'panic' }, 1],
    StopTimeout: [{ type: 'StopTimeout', feedId: feedId(2), stragglers: [{ kind: 'sink', pendingOutputs: 2 }] }, 'nv.health.feed.stop_timeouts', F2, 1],
    StageHookFailed: [{ type: 'StageHookFailed', feedId: feedId(1), stageId: 'trk', hook: 'onViewEpochChange', epoch: 3, detail: 'x' },
      'nv.health.stage.hook_failures', { ...F1, stage_id: 'trk', hook: 'onViewEpochChange' }, 1],
    ViewProviderFailed: [{ type: 'ViewProviderFailed', feedId: feedId(2), kind: 'PollTimeout', detail: 'late', count: 7 }, 'nv.health.view.provider_failures', { ...F2, error_type: 'PollTimeout' }, 7],
    FeedWorkerUnresponsive: [{ type: 'FeedWorkerUnresponsive', feedId: feedId(1), silentMs: 2100, frame: undefined, stageId: undefined }, 'nv.health.feed.worker_unresponsive', F1, 1],
  };

  it('has one distinct counter per HealthEvent variant (all 33)', () => {
    expect(HEALTH_EVENT_TYPES).toHaveLength(33);
    expect(Object.keys(events).sort()).toEqual([...HEALTH_EVENT_TYPES].sort());
    const counters = INSTRUMENTS.filter((i) => i.kind === 'counter');
    expect(counters).toHaveLength(33);
    expect(new Set(counters.map((c) => c.name)).size).toBe(33);
    expect(counters.map((c) => c.name).sort()).toEqual(Object.values(events).map(([, name]) => name).sort());
  });

  it.each(HEALTH_EVENT_TYPES.map((t) => [t]))('%s increments its counter by its amount, with its attributes', async (type) => {
    const { rt, collect, metrics } = await bridged();
    const [event, name, attrs, amount] = events[type];
    rt.emit(event);
    let rm = await collect();
    expect(pointsOf(rm, name).map((p) => [p.attributes, p.value])).toEqual([[attrs, amount]]);
    // no other health counter moved
    for (const [other, otherName] of Object.values(events).map(([e, n]) => [e.type, n] as const)) {
      if (other !== type) expect(metricsNamed(rm, otherName).flatMap((m) => m.dataPoints as unknown[])).toEqual([]);
    }
    rt.emit(event);
    await nextTurn();
    rm = await collect();
    expect(valueAt(rm, name, attrs)).toBe(2 * amount);
    expect(metrics.healthEventsIgnored).toBe(0);
  });

  it('every variant at once: 25 counters, each with its own value; malformed events are ignored and counted, never thrown', async () => {
    const { rt, collect, metrics } = await bridged();
    for (const [e] of Object.values(events)) rt.emit(e);
    rt.emit({ type: 'NotAnEvent' } as unknown as HealthEvent);
    rt.emit({ type: 'BackpressureDrop', feedId: feedId(1), framesDropped: Number.NaN });
    rt.emit({ type: 'StageError', feedId: feedId(1), stageId: 'det' } as unknown as HealthEvent); // no error object
    const rm = await collect();
    for (const [, name, attrs, amount] of Object.values(events)) expect([name, valueAt(rm, name, attrs)]).toEqual([name, amount]);
    expect(metrics.healthEventsIgnored).toBe(3);
  });
});

describe('MetricsExporter options and lifecycle', () => {
  const rejectsWith = async (options: MetricsExporterOptions, field: string) => {
    const rt = new FakeRuntime();
    const e = await MetricsExporter.create(rt, options).then(() => undefined, (x: unknown) => x);
    expect(ConfigError.isInstance(e)).toBe(true);
    expect((e as ConfigError).issues.map((i) => i.field)).toContain(field);
    expect(rt.listeners.size).toBe(0);
    return e as ConfigError;
  };

  it('refuses bad options with a ConfigError naming each field', async () => {
    await rejectsWith({}, 'otlp');
    await rejectsWith({ otlp: { endpoint: 'not a url' } }, 'otlp.endpoint');
    await rejectsWith({ otlp: { endpoint: 'ftp://collector:21/v1/metrics' } }, 'otlp.endpoint');
    await rejectsWith({ otlp: { endpoint: 'http://collector:4318', timeoutMs: -1 } }, 'otlp.timeoutMs');
    await rejectsWith({ prometheus: { port: 70_000 } }, 'prometheus.port');
    await rejectsWith({ prometheus: { path: 'metrics' } }, 'prometheus.path');
    await rejectsWith({ prometheus: true, pollIntervalMs: 0 }, 'pollIntervalMs');
    await rejectsWith({ prometheus: true, serviceName: '' }, 'serviceName');
    await rejectsWith({ prometheus: true, resourceAttributes: { bad: { nested: 1 } as never } }, 'resourceAttributes.bad');
    await rejectsWith({ meterProvider: new MeterProvider(), otlp: { endpoint: 'http://c:4318' } }, 'otlp');
    const both = await rejectsWith({ otlp: { endpoint: '::' }, prometheus: { port: -1 } }, 'otlp.endpoint');
    expect(both.issues.map((i) => i.field)).toEqual(['otlp.endpoint', 'prometheus.port']);
    // credentials in a bad URL never reach the message
    const creds = await rejectsWith({ otlp: { endpoint: 'ftp://user:hunter2@collector/x' } }, 'otlp.endpoint');
    expect(creds.message).not.toContain('hunter2');
  });

  it('a Prometheus port already in use is a ConfigError on prometheus.port, and nothing is left subscribed or listening', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const e = await rejectsWith({ prometheus: { host: '127.0.0.1', port } }, 'prometheus.port');
      expect(e.message).toContain('already in use');
    } finally {
      blocker.close();
    }
  });

  it('an unreachable OTLP endpoint: forceFlush and shutdown reject with a typed MetricsExportError (credentials redacted); onExportError sees it', async () => {
    const port = await freePort();
    const seen: MetricsExportError[] = [];
    const m = await MetricsExporter.create(new FakeRuntime(), {
      otlp: { endpoint: `http://user:hunter2@127.0.0.1:${port}/v1/metrics`, timeoutMs: 300 }, pollIntervalMs: 60_000,
      onExportError: (e) => seen.push(e),
    });
    const e = await m.forceFlush().then(() => undefined, (x: unknown) => x);
    expect(MetricsExportError.isInstance(e)).toBe(true);
    expect((e as MetricsExportError).message).not.toContain('hunter2');
    expect((e as MetricsExportError).endpoint).toContain(`127.0.0.1:${port}/v1/metrics`);
    expect(seen).toHaveLength(1);
    expect(m.exportFailures).toBe(1);
    const first = m.shutdown();
    expect(m.shutdown()).toBe(first);
    await expect(first).rejects.toSatisfy((x: unknown) => MetricsExportError.isInstance(x));
    expect(seen).toHaveLength(1); // shutdown reports by rejecting, not through the callback
    await expect(m.forceFlush()).resolves.toBeUndefined();
  });

  it('without onExportError: one console.warn per run of failed exports (a collector answering 400), again after a success', async () => {
    const answers = [400, 400, 200, 400];
    const server = createHttpServer((req, res) => { req.resume(); req.on('end', () => { res.statusCode = answers.shift() ?? 200; res.end(); }); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const m = await MetricsExporter.create(new FakeRuntime(), { otlp: { endpoint: `http://127.0.0.1:${port}/v1/metrics?token=s3cret` }, pollIntervalMs: 60_000 });
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) outcomes.push(await m.forceFlush().then(() => 'ok', (e: unknown) => (MetricsExportError.isInstance(e) ? 'typed' : 'other')));
      expect(outcomes).toEqual(['typed', 'typed', 'ok', 'typed']);
      expect(m.exportFailures).toBe(3);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[0]![0])).toContain(`127.0.0.1:${port}/v1/metrics`);
      expect(String(warn.mock.calls[0]![0])).not.toContain('s3cret');
      await m.shutdown();
    } finally {
      warn.mockRestore();
      server.close();
    }
  });

  it('with your own provider: shutdown flushes it, stops counting and observing, and leaves the provider running', async () => {
    const { rt, reader, provider, metrics, collect } = await bridged();
    const flush = vi.spyOn(provider, 'forceFlush');
    expect(rt.listeners.size).toBe(1);
    await metrics.shutdown();
    await metrics.shutdown();
    expect(flush).toHaveBeenCalledTimes(1);
    expect(rt.listeners.size).toBe(0);
    await nextTurn();
    const rm = await collect(); // the provider still works
    expect(metricsNamed(rm, 'nv.feed.frames.processed').flatMap((m) => m.dataPoints as unknown[])).toEqual([]);
    expect((valueAt(rm, 'nv.feed.pipeline.duration', F1) as Histogram).count).toBe(4); // the producer is the reader's, not ours
    await reader.shutdown();
  });

  it('serves the Prometheus text format on the configured path (counters _total, histograms _bucket/_sum/_count), 404 elsewhere; closed by shutdown', async () => {
    const m = await MetricsExporter.create(new FakeRuntime(), { prometheus: { host: '127.0.0.1', port: 0, path: '/nv-metrics' }, serviceName: 'cam-site' });
    open.push(m);
    expect(m.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/nv-metrics$/);
    const res = await fetch(m.prometheusUrl!);
    expect(res.status).toBe(200);
    const text = await res.text();
    const line = (re: RegExp) => text.split('\n').find((l) => re.test(l));
    expect(line(/^nv_feed_frames_processed_total\{feed_id="feed-1"/)).toMatch(/ 90$/);
    expect(line(/^nv_feed_queue_sink_capacity\{feed_id="feed-1"/)).toMatch(/ 16$/);
    expect(line(/^nv_stage_duration_bucket\{feed_id="feed-1",stage_id="det",.*le="0\.0005"/)).toMatch(/ 1$/);
    expect(line(/^nv_stage_duration_bucket\{feed_id="feed-1",stage_id="det",.*le="\+Inf"/)).toMatch(/ 4$/);
    expect(line(/^nv_stage_duration_count\{feed_id="feed-1",stage_id="det"/)).toMatch(/ 4$/);
    expect(line(/^nv_stage_duration_sum\{feed_id="feed-1",stage_id="det"/)).toMatch(/ 0\.035/);
    expect(line(/^target_info\{/)).toContain('service_name="cam-site"');
    expect((await fetch(m.prometheusUrl!.replace('/nv-metrics', '/other'))).status).toBe(404);
    await m.shutdown();
    await expect(fetch(m.prometheusUrl!)).rejects.toThrow();
  });
});
