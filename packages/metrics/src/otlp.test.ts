import { LATENCY_BUCKETS_MS, Runtime } from '@nv/runtime';
import { BBox } from '@nv/core';
import { MockDetectorStage, MockTrackerStage, SyntheticSource, frameSequence } from '@nv/test-util';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { ProtobufReader } from '@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader.js';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsExporter } from './index.js';

// ---------------------------------------------------------------------------------------------
// OTLP ExportMetricsServiceRequest decoding, with the protobuf reader of @opentelemetry/otlp-transformer.
// Field numbers: opentelemetry/proto/metrics/v1/metrics.proto and common/v1/common.proto.

/** A decoded OTLP attribute set (string/bool/int/double values). */
export type OtlpAttributes = Record<string, string | number | boolean>;
/** A decoded OTLP number data point. */
export interface OtlpNumberPoint { readonly attributes: OtlpAttributes; readonly value: number }
/** A decoded OTLP histogram data point. */
export interface OtlpHistogramPoint {
  readonly attributes: OtlpAttributes; readonly count: number; readonly sum: number | undefined;
  readonly bucketCounts: number[]; readonly explicitBounds: number[]; readonly min: number | undefined; readonly max: number | undefined;
}
/** A decoded OTLP metric. */
export interface OtlpMetric {
  readonly name: string; readonly unit: string; readonly type: 'gauge' | 'sum' | 'histogram' | 'other';
  readonly monotonic: boolean; readonly temporality: number;
  readonly numberPoints: OtlpNumberPoint[]; readonly histogramPoints: OtlpHistogramPoint[];
}
/** A decoded OTLP export request. */
export interface OtlpRequest { readonly resource: OtlpAttributes; readonly scopes: string[]; readonly metrics: OtlpMetric[] }

interface Field { readonly no: number; readonly wire: number; readonly varint: number; readonly bytes: Uint8Array; readonly fixed: DataView | undefined }

function fields(buf: Uint8Array): Field[] {
  const r = new ProtobufReader(buf);
  const out: Field[] = [];
  const empty = new Uint8Array(0);
  while (!r.isAtEnd()) {
    const { fieldNumber: no, wireType: wire } = r.readTag();
    if (wire === 0) out.push({ no, wire, varint: r.readVarint(), bytes: empty, fixed: undefined });
    else if (wire === 2) out.push({ no, wire, varint: 0, bytes: r.readBytes(), fixed: undefined });
    else if (wire === 1 || wire === 5) {
      const at = r.pos;
      r.skip(wire);
      out.push({ no, wire, varint: 0, bytes: empty, fixed: new DataView(buf.buffer, buf.byteOffset + at, wire === 1 ? 8 : 4) });
    } else r.skip(wire);
  }
  return out;
}
const f64 = (f: Field): number => f.fixed!.getFloat64(0, true);
const u64 = (f: Field): number => Number(f.fixed!.getBigUint64(0, true));
const i64 = (f: Field): number => Number(f.fixed!.getBigInt64(0, true));
const str = (f: Field): string => new TextDecoder().decode(f.bytes);
function packed(f: Field, read: (v: DataView) => number): number[] {
  const out: number[] = [];
  for (let o = 0; o < f.bytes.length; o += 8) out.push(read(new DataView(f.bytes.buffer, f.bytes.byteOffset + o, 8)));
  return out;
}

function anyValue(buf: Uint8Array): string | number | boolean {
  for (const f of fields(buf)) {
    if (f.no === 1) return str(f);
    if (f.no === 2) return f.varint !== 0;
    if (f.no === 3) return f.varint;
    if (f.no === 4) return f64(f);
  }
  return '';
}
function keyValues(list: Field[], no: number): OtlpAttributes {
  const out: OtlpAttributes = {};
  for (const kv of list.filter((f) => f.no === no)) {
    const parts = fields(kv.bytes);
    const k = parts.find((p) => p.no === 1);
    const v = parts.find((p) => p.no === 2);
    if (k) out[str(k)] = v ? anyValue(v.bytes) : '';
  }
  return out;
}
function numberPoint(buf: Uint8Array): OtlpNumberPoint {
  const fs = fields(buf);
  const d = fs.find((f) => f.no === 4);
  const i = fs.find((f) => f.no === 6);
  return { attributes: keyValues(fs, 7), value: d ? f64(d) : i ? i64(i) : NaN };
}
function histogramPoint(buf: Uint8Array): OtlpHistogramPoint {
  const fs = fields(buf);
  const one = (no: number): Field | undefined => fs.find((f) => f.no === no);
  const counts = one(6);
  const bounds = one(7);
  return {
    attributes: keyValues(fs, 9), count: one(4) ? u64(one(4)!) : 0, sum: one(5) ? f64(one(5)!) : undefined,
    bucketCounts: counts ? packed(counts, (v) => Number(v.getBigUint64(0, true))) : [],
    explicitBounds: bounds ? packed(bounds, (v) => v.getFloat64(0, true)) : [],
    min: one(11) ? f64(one(11)!) : undefined, max: one(12) ? f64(one(12)!) : undefined,
  };
}
function metric(buf: Uint8Array): OtlpMetric {
  const fs = fields(buf);
  const name = str(fs.find((f) => f.no === 1)!);
  const unit = fs.find((f) => f.no === 3);
  const body = fs.find((f) => f.no === 5 || f.no === 7 || f.no === 9);
  const type = body?.no === 5 ? 'gauge' : body?.no === 7 ? 'sum' : body?.no === 9 ? 'histogram' : 'other';
  const inner = body ? fields(body.bytes) : [];
  const numberPoints = type === 'gauge' || type === 'sum' ? inner.filter((f) => f.no === 1).map((f) => numberPoint(f.bytes)) : [];
  const histogramPoints = type === 'histogram' ? inner.filter((f) => f.no === 1).map((f) => histogramPoint(f.bytes)) : [];
  return {
    name, unit: unit ? str(unit) : '', type,
    monotonic: type === 'sum' && inner.some((f) => f.no === 3 && f.varint === 1),
    temporality: inner.find((f) => f.no === 2)?.varint ?? 0, numberPoints, histogramPoints,
  };
}

/** Decodes an OTLP/HTTP protobuf `ExportMetricsServiceRequest` body. */
export function decodeOtlpMetricsRequest(body: Uint8Array): OtlpRequest {
  const resource: OtlpAttributes = {};
  const scopes: string[] = [];
  const metrics: OtlpMetric[] = [];
  for (const rmF of fields(body).filter((f) => f.no === 1)) {
    const rm = fields(rmF.bytes);
    for (const res of rm.filter((f) => f.no === 1)) Object.assign(resource, keyValues(fields(res.bytes), 1));
    for (const smF of rm.filter((f) => f.no === 2)) {
      const sm = fields(smF.bytes);
      const scope = sm.find((f) => f.no === 1);
      if (scope) { const n = fields(scope.bytes).find((f) => f.no === 1); scopes.push(n ? str(n) : ''); }
      for (const m of sm.filter((f) => f.no === 2)) metrics.push(metric(m.bytes));
    }
  }
  return { resource, scopes, metrics };
}

// ---------------------------------------------------------------------------------------------

/** A local OTLP/HTTP receiver: keeps every decoded request. */
class Receiver {
  readonly requests: { path: string; contentType: string; body: OtlpRequest }[] = [];
  readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: decodeOtlpMetricsRequest(new Uint8Array(Buffer.concat(chunks))) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(); // an empty ExportMetricsServiceResponse: full success
    });
  });
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }
  last(): OtlpRequest { return this.requests.at(-1)!.body; }
  async close(): Promise<void> { this.server.closeAllConnections(); await new Promise((r) => this.server.close(r)); }
}

const metricOf = (req: OtlpRequest, name: string): OtlpMetric => {
  const m = req.metrics.filter((x) => x.name === name);
  expect(m, name).toHaveLength(1);
  return m[0]!;
};
const numberAt = (req: OtlpRequest, name: string, attrs: OtlpAttributes): number | undefined =>
  metricOf(req, name).numberPoints.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attrs))?.value;
const histogramAt = (req: OtlpRequest, name: string, attrs: OtlpAttributes): OtlpHistogramPoint | undefined =>
  metricOf(req, name).histogramPoints.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attrs));

describe('OTLP request decoder (test helper)', () => {
  it('decodes what the transformer serializes: resource, sum, gauge and histogram points', () => {
    const t: [number, number] = [1_700_000_000, 5];
    const rm: ResourceMetrics = {
      resource: resourceFromAttributes({ 'service.name': 'svc', n: 3 }),
      scopeMetrics: [{
        scope: { name: 'scope-a' },
        metrics: [
          { descriptor: { name: 's', description: '', unit: '{x}', valueType: 0 }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true,
            dataPoints: [{ startTime: t, endTime: t, attributes: { feed_id: 'feed-1' }, value: 42 }] },
          { descriptor: { name: 'g', description: '', unit: '1', valueType: 1 }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
            dataPoints: [{ startTime: t, endTime: t, attributes: {}, value: 0.25 }] },
          { descriptor: { name: 'h', description: '', unit: 's', valueType: 1 }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM,
            dataPoints: [{ startTime: t, endTime: t, attributes: { a: true }, value: { buckets: { boundaries: [0.1, 1], counts: [1, 2, 3] }, count: 6, sum: 4.5, min: 0.05, max: 2 } }] },
        ],
      }],
    };
    const req = decodeOtlpMetricsRequest(ProtobufMetricsSerializer.serializeRequest(rm)!);
    expect(req.resource).toMatchObject({ 'service.name': 'svc', n: 3 });
    expect(req.scopes).toEqual(['scope-a']);
    expect(req.metrics.map((m) => [m.name, m.type, m.unit])).toEqual([['s', 'sum', '{x}'], ['g', 'gauge', '1'], ['h', 'histogram', 's']]);
    expect(req.metrics[0]).toMatchObject({ monotonic: true, temporality: 2, numberPoints: [{ attributes: { feed_id: 'feed-1' }, value: 42 }] });
    expect(req.metrics[1]!.numberPoints).toEqual([{ attributes: {}, value: 0.25 }]);
    expect(req.metrics[2]!.histogramPoints).toEqual([{ attributes: { a: true }, count: 6, sum: 4.5, bucketCounts: [1, 2, 3], explicitBounds: [0.1, 1], min: 0.05, max: 2 }]);
  });
});

describe('OTLP/HTTP protobuf export from a real runtime', () => {
  const receiver = new Receiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.close());

  it('pushes gauges, counters, health counters and latency histograms; shutdown makes a last export and is idempotent', async () => {
    const rt = new Runtime();
    const metrics = await MetricsExporter.create(rt, {
      otlp: { endpoint: `http://127.0.0.1:${receiver.port}` }, serviceName: 'gate-cams', resourceAttributes: { 'deployment.environment': 'test' },
      pollIntervalMs: 60_000,
    });
    const mover = { classId: 0, at: (t: number) => BBox.of(0.1 + 0.01 * t, 0.4, 0.2 + 0.01 * t, 0.5) };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(30, { fps: 30 })), cameraMode: 'fixed',
      stages: [new MockDetectorStage('det', [mover]), new MockTrackerStage('trk')], sink: { emit: () => undefined },
    });
    await feed.done;
    await metrics.forceFlush();
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]).toMatchObject({ path: '/v1/metrics', contentType: 'application/x-protobuf' });
    const req = receiver.last();
    expect(req.resource).toMatchObject({ 'service.name': 'gate-cams', 'deployment.environment': 'test', 'telemetry.sdk.language': 'nodejs' });
    expect(req.scopes).toContain('@nv/metrics');
    const F1 = { feed_id: 'feed-1' };
    expect(metricOf(req, 'nv.feed.frames.processed')).toMatchObject({ type: 'sum', monotonic: true, unit: '{frame}' });
    expect(numberAt(req, 'nv.feed.frames.processed', F1)).toBe(30);
    expect(numberAt(req, 'nv.feed.frames.received', F1)).toBe(30);
    expect(numberAt(req, 'nv.feed.tracks.active', F1)).toBe(1);
    expect(numberAt(req, 'nv.feed.alive', F1)).toBe(0); // it reached end of stream
    expect(numberAt(req, 'nv.stage.frames.processed', { ...F1, stage_id: 'det' })).toBe(30);
    expect(numberAt(req, 'nv.runtime.feed.count', {})).toBe(1);
    expect(numberAt(req, 'nv.health.source.eos', F1)).toBe(1);
    expect(numberAt(req, 'nv.health.feed.stops', { ...F1, reason: 'EndOfStream' })).toBe(1);
    const bounds = LATENCY_BUCKETS_MS.map((b) => b / 1000);
    const pipe = histogramAt(req, 'nv.feed.pipeline.duration', F1)!;
    expect(metricOf(req, 'nv.feed.pipeline.duration')).toMatchObject({ type: 'histogram', unit: 's', temporality: 2 });
    expect(pipe).toMatchObject({ count: 30, explicitBounds: bounds });
    expect(pipe.bucketCounts.reduce((a, b) => a + b, 0)).toBe(30);
    expect(pipe.sum).toBeGreaterThan(0);
    expect(pipe.max!).toBeGreaterThanOrEqual(pipe.min!);
    for (const s of ['det', 'trk']) expect(histogramAt(req, 'nv.stage.duration', { ...F1, stage_id: s })?.count).toBe(30);

    // shutdown exports what happened since the last push
    const feed2 = rt.addFeed({ source: () => new SyntheticSource(frameSequence(12)), cameraMode: 'fixed', stages: [], sink: { emit: () => undefined } });
    await feed2.done;
    await Promise.all([metrics.shutdown(), metrics.shutdown()]);
    expect(receiver.requests).toHaveLength(2);
    expect(numberAt(receiver.last(), 'nv.feed.frames.processed', { feed_id: 'feed-2' })).toBe(12);
    expect(histogramAt(receiver.last(), 'nv.feed.pipeline.duration', { feed_id: 'feed-2' })?.count).toBe(12);
    await metrics.shutdown();
    await metrics.forceFlush();
    expect(receiver.requests).toHaveLength(2);
    await rt.shutdown();
  });

  it('exports periodically at pollIntervalMs without being asked', async () => {
    const rt = new Runtime();
    const before = receiver.requests.length;
    const metrics = await MetricsExporter.create(rt, { otlp: { endpoint: `http://127.0.0.1:${receiver.port}/v1/metrics` }, pollIntervalMs: 100 });
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', stages: [], sink: { emit: () => undefined } });
    await feed.done;
    const deadline = Date.now() + 10_000;
    while (receiver.requests.length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(receiver.requests.length).toBeGreaterThanOrEqual(before + 2);
    expect(numberAt(receiver.last(), 'nv.feed.frames.processed', { feed_id: 'feed-1' })).toBe(5);
    await metrics.shutdown();
    await rt.shutdown();
  });
});
