import { Runtime } from '@nv/runtime';
import { MockStage, SyntheticSource, frameSequence } from '@nv/test-util';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { ATTR_FEED_NAME, LatencyMetricProducer, MetricsExporter } from './index.js';
import { CollectingReader, FakeRuntime, diagnosticsFixture, pointsOf, valueAt } from './test-fixtures.js';

/** The attribute sets of every data point of `name`. */
const attrsOf = (rm: ResourceMetrics, name: string) => pointsOf(rm, name).map((p) => p.attributes);

describe('feed_name label', () => {
  it('a named feed of a real runtime carries feed_name next to feed_id on gauges, stage series, histograms and health counters; an unnamed one does not', async () => {
    const rt = new Runtime();
    const reader = new CollectingReader({ metricProducers: [new LatencyMetricProducer(rt)] });
    const metrics = await MetricsExporter.create(rt, { meterProvider: new MeterProvider({ readers: [reader] }) });
    try {
      const named = rt.addFeed({
        name: 'gate north', source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed',
        stages: [new MockStage({ id: 'noop' })], sink: { emit: () => undefined },
      });
      const plain = rt.addFeed({ source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [], sink: { emit: () => undefined } });
      expect(named.name).toBe('gate north');
      expect(plain.name).toBeUndefined();
      // Both feeds end (SourceEos, FeedStopped) before the first collection: the health counters
      // meet the feeds before any diagnostics sample does.
      await Promise.all([named.done, plain.done]);
      const { resourceMetrics: rm, errors } = await reader.collect();
      expect(errors).toEqual([]);
      const N = { feed_id: 'feed-1', [ATTR_FEED_NAME]: 'gate north' };
      const U = { feed_id: 'feed-2' };
      expect(valueAt(rm, 'nv.feed.frames.processed', N)).toBe(5);
      expect(valueAt(rm, 'nv.feed.frames.processed', U)).toBe(3);
      expect(valueAt(rm, 'nv.stage.frames.processed', { ...N, stage_id: 'noop' })).toBe(5);
      expect(attrsOf(rm, 'nv.feed.pipeline.duration')).toEqual(expect.arrayContaining([N, U]));
      expect(attrsOf(rm, 'nv.health.source.eos')).toEqual(expect.arrayContaining([N, U]));
      expect(attrsOf(rm, 'nv.health.source.eos')).toHaveLength(2);
      // No series of the named feed lacks its name.
      for (const m of rm.scopeMetrics.flatMap((s) => s.metrics)) {
        for (const p of m.dataPoints) if (p.attributes['feed_id'] === 'feed-1') expect(p.attributes[ATTR_FEED_NAME], m.descriptor.name).toBe('gate north');
      }
    } finally {
      await metrics.shutdown();
      await rt.shutdown();
    }
  });

  it('a source without feed() takes the name from diagnostics', async () => {
    const d = diagnosticsFixture();
    const rt = new FakeRuntime({ ...d, feeds: [{ ...d.feeds[0]!, name: 'lobby' }, d.feeds[1]!] });
    const reader = new CollectingReader();
    const metrics = await MetricsExporter.create(rt, { meterProvider: new MeterProvider({ readers: [reader] }) });
    try {
      const { resourceMetrics: rm } = await reader.collect();
      expect(valueAt(rm, 'nv.feed.frames.received', { feed_id: 'feed-1', feed_name: 'lobby' })).toBe(100);
      expect(valueAt(rm, 'nv.feed.frames.received', { feed_id: 'feed-2' })).toBe(10);
    } finally {
      await metrics.shutdown();
    }
  });
});
