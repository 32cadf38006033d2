/**
 * `@nv/metrics`: an optional OpenTelemetry bridge for an nv runtime. Observable instruments
 * sampled from `runtime.diagnostics()`, one counter per health-event variant, and latency
 * histograms built from the runtime's own histograms — exported over OTLP/HTTP (protobuf),
 * a Prometheus endpoint, or a `MeterProvider` of your own. Nothing is recorded per frame.
 *
 * @packageDocumentation
 */
export { MetricsExporter, DEFAULT_POLL_INTERVAL_MS, DEFAULT_PROMETHEUS_PORT, DEFAULT_SERVICE_NAME } from './exporter.js';
export type { MetricsExporterOptions, OtlpOptions, PrometheusOptions } from './exporter.js';
export { MetricsExportError } from './errors.js';
export { LatencyMetricProducer, METER_NAME } from './latency-producer.js';
export { INSTRUMENTS, VIEW_STATUS } from './instruments.js';
export type { InstrumentInfo, InstrumentKind } from './instruments.js';
export { ATTR_FEED_ID, ATTR_FEED_NAME, ATTR_STAGE_ID, ATTR_PROCESSOR_ID } from './attributes.js';
export type { MetricsSource } from './source.js';
export { VERSION } from './version.js';
