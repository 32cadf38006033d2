/**
 * `@nv/sinks`: message sinks any feed can use for its events and outputs — webhook (HTTP POST
 * with retries and idempotency keys), MQTT, NATS (JetStream with dedupe ids when a stream
 * covers the subject) and rotating JSONL files.
 *
 * Every sink: `publish` is synchronous and never blocks (one JSON encoding, a bounded queue,
 * oldest dropped by default, every drop counted in `stats()` and reported as a throttled
 * `SinkDropped` health event); one delivery loop per sink; reconnects by itself when the broker
 * comes back; credentials never appear in `target`, errors, stats or events; `close()` delivers
 * what is buffered within its deadline and never hangs. `createSink(url)` picks the sink from a
 * URL (`--mqtt mqtt://…/topic`, `--webhook URL`, `--nats nats://…/subject`, a `.jsonl` path).
 *
 * @packageDocumentation
 */
export type {
  MessageSink, MessageSinkStats, SinkMessage, SinkKind, SinkDropReason, SinkDropCounts, SinkHealthEvent, SinkHealthEventType, CloseResult,
  CloseOptions, SinkCommonOptions,
} from './types.js';
export { SinkError, scrubSecrets } from './errors.js';
export type { SinkErrorKind } from './errors.js';
export { DEFAULT_QUEUE_SIZE, DEFAULT_CLOSE_TIMEOUT_MS, subjectProblem } from './base.js';
export { backoffDelay, parseRetryAfter, resolveBackoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions, ResolvedBackoff } from './backoff.js';
export { WebhookSink, webhookTarget, DEFAULT_WEBHOOK_TIMEOUT_MS, DEFAULT_WEBHOOK_MAX_RETRIES, MAX_RETRY_AFTER_MS } from './webhook.js';
export type { WebhookSinkOptions } from './webhook.js';
export { MqttSink, DEFAULT_MQTT_MAX_IN_FLIGHT, DEFAULT_MQTT_RECONNECT_MS } from './mqtt.js';
export type { MqttSinkOptions } from './mqtt.js';
export { NatsSink, DEFAULT_NATS_MAX_IN_FLIGHT, DEFAULT_NATS_ACK_TIMEOUT_MS } from './nats.js';
export type { NatsSinkOptions, NatsSinkStats, NatsJetStreamMode } from './nats.js';
export { JsonlFileSink, DEFAULT_JSONL_MAX_BYTES, DEFAULT_JSONL_MAX_FILES } from './jsonl.js';
export type { JsonlFileSinkOptions } from './jsonl.js';
export { parseSinkUrl, createSink } from './url.js';
export type { SinkSpec, ParseSinkUrlOptions, CreateSinkOptions } from './url.js';
export { toOutputSink, messageId } from './adapter.js';
export type { OutputToMessages } from './adapter.js';
export { ensureOutputStream, readFeedOutputs } from './jetstream-outputs.js';
export type { OutputStreamOptions, OutputStreamInfo, FeedOutputRecord, FeedOutputGap, ReadFeedOutputsOptions, FeedOutputReaderStats } from './jetstream-outputs.js';
