/**
 * The catalogue of every instrument `@nv/metrics` exports: observable instruments sampled
 * from `runtime.diagnostics()`, counters driven by health events, and latency histograms
 * built from the runtime's own fixed-bucket histograms. The package README is checked
 * against this list by a test.
 */
import type { FeedId, HealthEventOf, HealthEventType } from '@nv/core';
import type { RuntimeDiagnostics } from '@nv/runtime';
import type { Attributes } from '@opentelemetry/api';
import type { AttributeCache } from './attributes.js';

/** How an instrument is exported. */
export type InstrumentKind =
  /** A cumulative, monotonic total read from diagnostics (OTel Sum; Prometheus `_total`). */
  | 'observableCounter'
  /** A level read from diagnostics (OTel Gauge). */
  | 'observableGauge'
  /** A counter incremented from health events (OTel Sum; Prometheus `_total`). */
  | 'counter'
  /** A cumulative explicit-bucket histogram (Prometheus `_bucket`/`_sum`/`_count`). */
  | 'histogram';

/** Description of one exported instrument. */
export interface InstrumentInfo {
  /** OTel instrument name (Prometheus: dots become `_`, counters get `_total`). */
  readonly name: string;
  /** How it is exported. */
  readonly kind: InstrumentKind;
  /** UCUM unit (`s`, `1`, or a `{annotation}` for counts). */
  readonly unit: string;
  /** Integer or floating-point values. */
  readonly valueType: 'int' | 'double';
  /**
   * Attribute keys on its data points. Series of a feed that has a display name also carry
   * `feed_name` next to `feed_id` (see `ATTR_FEED_NAME`); it is not listed here.
   */
  readonly attributes: readonly string[];
  /** What it measures. */
  readonly description: string;
  /** Where the number comes from (diagnostics field or health event field). */
  readonly source: string;
  /** The NextVision instrument it corresponds to, when there is one. */
  readonly reference?: string;
}

/** @internal */
export type FeedDiag = RuntimeDiagnostics['feeds'][number];
/** @internal */
export type BatchDiag = RuntimeDiagnostics['batches'][number];
/** @internal */
export type StageDiag = FeedDiag['metrics']['stages'][string];

/** @internal An instrument observed from a diagnostics object of type `T`. */
export interface ObservedDef<T> extends InstrumentInfo {
  readonly kind: 'observableCounter' | 'observableGauge';
  /** The value, or `undefined` to skip this data point. */
  readonly read: (x: T) => number | undefined;
  /** For levels: the value reported once the feed / processor is gone from diagnostics. */
  readonly gone?: number;
}

const F = ['feed_id'] as const;
const FS = ['feed_id', 'stage_id'] as const;
const P = ['processor_id'] as const;
const NONE = [] as const;

function total<T>(name: string, unit: string, description: string, attributes: readonly string[], source: string, read: (x: T) => number, reference?: string): ObservedDef<T> {
  return { name, kind: 'observableCounter', unit, valueType: 'int', attributes, description, source, read, ...(reference ? { reference } : {}) };
}
function level<T>(
  name: string, unit: string, valueType: 'int' | 'double', description: string, attributes: readonly string[], source: string,
  read: (x: T) => number | undefined, reference?: string, gone?: number,
): ObservedDef<T> {
  return { name, kind: 'observableGauge', unit, valueType, attributes, description, source, read, ...(reference ? { reference } : {}), ...(gone === undefined ? {} : { gone }) };
}

const NV = 'nv';
const ref = (n: string): string => `${NV}.${n}`;
const bool = (b: boolean): number => (b ? 1 : 0);
const ms2s = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

/** View validity as a number: 0 valid (stable), 1 degraded, 2 invalid. */
export const VIEW_STATUS: Readonly<Record<string, number>> = Object.freeze({ valid: 0, degraded: 1, invalid: 2 });

/** @internal Runtime-wide instruments (no attributes). */
export const RUNTIME_INSTRUMENTS: readonly ObservedDef<RuntimeDiagnostics>[] = [
  level('nv.runtime.uptime', 's', 'double', 'Time since the runtime was created.', NONE, 'diagnostics().uptimeMs / 1000', (d) => d.uptimeMs / 1000, ref('runtime.uptime_seconds')),
  level('nv.runtime.feed.count', '{feed}', 'int', 'Feeds registered (including stopped feeds not yet removed).', NONE, 'diagnostics().feedCount', (d) => d.feedCount, ref('runtime.feed_count')),
  level('nv.runtime.feed.limit', '{feed}', 'int', 'Most feeds the runtime accepts.', NONE, 'diagnostics().maxFeeds', (d) => d.maxFeeds, ref('runtime.max_feeds')),
  total('nv.runtime.health.dropped_events', '{event}', 'Health events dropped because a subscriber buffer was full (nv has no shared output channel: this is its lag signal).', NONE, 'diagnostics().healthEventsDropped', (d) => d.healthEventsDropped, `${ref('runtime.output_lag')}, ${ref('runtime.output_lag_pending_lost')}`),
];

/** @internal Per-feed instruments (`feed_id`). */
export const FEED_INSTRUMENTS: readonly ObservedDef<FeedDiag>[] = [
  total('nv.feed.frames.received', '{frame}', 'Frames taken from the source by the executor.', F, 'feeds[].metrics.framesReceived', (f) => f.metrics.framesReceived, ref('feed.frames_received')),
  total('nv.feed.frames.dropped', '{frame}', 'Frames dropped by the source queue (backpressure).', F, 'feeds[].metrics.framesDropped', (f) => f.metrics.framesDropped, ref('feed.frames_dropped')),
  total('nv.feed.frames.processed', '{frame}', 'Frames that went through every stage and produced an output.', F, 'feeds[].metrics.framesProcessed', (f) => f.metrics.framesProcessed, ref('feed.frames_processed')),
  total('nv.feed.frames.failed', '{frame}', 'Frames dropped because a stage failed with a typed error.', F, 'feeds[].metrics.framesFailed', (f) => f.metrics.framesFailed),
  total('nv.feed.outputs.emitted', '{output}', 'Outputs delivered to the sink.', F, 'feeds[].metrics.outputsEmitted', (f) => f.metrics.outputsEmitted),
  total('nv.feed.outputs.dropped', '{output}', 'Outputs dropped because the sink queue was full.', F, 'feeds[].metrics.outputsDropped', (f) => f.metrics.outputsDropped),
  total('nv.feed.sink.errors', '{error}', 'Sink calls that threw or rejected.', F, 'feeds[].metrics.sinkErrors', (f) => f.metrics.sinkErrors),
  total('nv.feed.restarts', '{restart}', 'Feed restarts so far.', F, 'feeds[].metrics.restarts', (f) => f.metrics.restarts, ref('feed.restarts')),
  level('nv.feed.tracks.active', '{track}', 'int', 'Tracks in the temporal store.', F, 'feeds[].metrics.tracksActive', (f) => f.metrics.tracksActive, ref('feed.tracks_active'), 0),
  level('nv.feed.queue.source.depth', '{frame}', 'int', 'Frames waiting between source and stages.', F, 'feeds[].queues.sourceDepth', (f) => f.queues.sourceDepth, ref('feed.queue_source_depth'), 0),
  level('nv.feed.queue.source.capacity', '{frame}', 'int', 'Bound of the source queue (0 between sessions).', F, 'feeds[].queues.sourceCapacity', (f) => f.queues.sourceCapacity, ref('feed.queue_source_capacity')),
  level('nv.feed.queue.sink.depth', '{output}', 'int', 'Outputs waiting for the sink.', F, 'feeds[].queues.sinkDepth', (f) => f.queues.sinkDepth, ref('feed.queue_sink_depth'), 0),
  level('nv.feed.queue.sink.capacity', '{output}', 'int', 'Bound of the sink queue.', F, 'feeds[].queues.sinkCapacity', (f) => f.queues.sinkCapacity, ref('feed.queue_sink_capacity')),
  level('nv.feed.view.epoch', '{epoch}', 'int', 'Current view epoch.', F, 'feeds[].view.epoch', (f) => f.view.epoch, ref('feed.view_epoch')),
  level('nv.feed.view.version', '{version}', 'int', 'Current view version (increments on any view change).', F, 'feeds[].view.version', (f) => f.view.version),
  level('nv.feed.view.stability_score', '1', 'double', 'View stability score in [0, 1].', F, 'feeds[].view.stabilityScore', (f) => f.view.stabilityScore, ref('feed.view_stability_score')),
  level('nv.feed.view.status', '1', 'int', 'View validity: 0 valid, 1 degraded, 2 invalid.', F, 'feeds[].view.validity', (f) => VIEW_STATUS[f.view.validity], ref('feed.view_status')),
  level('nv.feed.parallel.in_flight', '{frame}', 'int', 'Frames in the ordered parallel section\'s head now (parallel pipelines only).', F, 'feeds[].parallel.inFlight', (f) => f.parallel?.inFlight),
  level('nv.feed.parallel.depth', '{frame}', 'int', 'Frames done in the head, waiting in the resequencer for an earlier one.', F, 'feeds[].parallel.depth', (f) => f.parallel?.depth),
  total('nv.feed.parallel.gap_timeouts', '{frame}', 'Frames given up at the resequencer\'s gap deadline (the head never settled them).', F, 'feeds[].parallel.gapTimeouts', (f) => f.parallel?.gapTimeouts ?? 0),
  level('nv.feed.parallel.reorder_wait.max', 's', 'double', 'Longest time a frame waited in the resequencer for an earlier one, this session.', F, 'feeds[].parallel.reorderWait.maxMs', (f) => ms2s(f.parallel?.reorderWait.maxMs)),
  total('nv.feed.view.poll_timeouts', '{poll}', 'Camera-motion polls abandoned at the view poll deadline (the frame ran with Unknown motion).', F, 'feeds[].view.pollTimeouts', (f) => f.view.pollTimeouts ?? 0),
  level('nv.feed.session.uptime', 's', 'double', 'Time since the current source session started (0 between sessions).', F, 'feeds[].sessionUptimeMs / 1000', (f) => f.sessionUptimeMs / 1000, ref('feed.uptime_seconds'), 0),
  level('nv.feed.alive', '1', 'int', '1 until the feed has stopped, then 0.', F, 'feeds[].alive', (f) => bool(f.alive), ref('feed.alive'), 0),
  level('nv.feed.paused', '1', 'int', '1 while the feed is paused by the user.', F, 'feeds[].paused', (f) => bool(f.paused), ref('feed.paused'), 0),
];

/** @internal Per-stage instruments (`feed_id`, `stage_id`). */
export const STAGE_INSTRUMENTS: readonly ObservedDef<StageDiag>[] = [
  total('nv.stage.frames.processed', '{frame}', 'Frames the stage was called for (successfully or not).', FS, 'feeds[].metrics.stages[id].framesProcessed', (s) => s.framesProcessed),
  total('nv.stage.errors', '{error}', 'Typed errors the stage returned.', FS, 'feeds[].metrics.stages[id].errors', (s) => s.errors),
  total('nv.stage.frames.skipped', '{frame}', 'Frames the stage reported as skipped.', FS, 'feeds[].metrics.stages[id].skipped', (s) => s.skipped),
];

/**
 * @internal The stages' own counters (`Stage.counters()`): one series per reported name and
 * label set, with `counter` = the name and the stage's labels (e.g. `zone`, `line`) as extra
 * attributes. Observed by `DiagnosticsObservers` directly (many points per stage).
 */
export const STAGE_OWN_INSTRUMENTS: readonly InstrumentInfo[] = [
  {
    name: 'nv.stage.counter', kind: 'observableCounter', unit: '1', valueType: 'double', attributes: ['feed_id', 'stage_id', 'counter'],
    description: 'A cumulative total a stage reports about its own work (Stage.counters(), kind counter), e.g. counter="analytics.line.crossed" with line and direction labels.',
    source: 'feeds[].metrics.stages[id].counters[] (kind counter)',
  },
  {
    name: 'nv.stage.gauge', kind: 'observableGauge', unit: '1', valueType: 'double', attributes: ['feed_id', 'stage_id', 'counter'],
    description: 'A level a stage reports about its own work (Stage.counters(), kind gauge), e.g. counter="analytics.zone.occupancy" with a zone label.',
    source: 'feeds[].metrics.stages[id].counters[] (kind gauge)',
  },
];

/** @internal Counters of components outside the feeds (`MetricsSource.counters()`). */
export const COMPONENT_INSTRUMENTS: readonly InstrumentInfo[] = [
  {
    name: 'nv.component.counter', kind: 'observableCounter', unit: '1', valueType: 'double', attributes: ['counter'],
    description: 'A cumulative total of a component outside the feeds (MetricsSource.counters(), kind counter), e.g. counter="sink.messages.dropped" with sink and reason labels.',
    source: 'source.counters()[] (kind counter)',
  },
  {
    name: 'nv.component.gauge', kind: 'observableGauge', unit: '1', valueType: 'double', attributes: ['counter'],
    description: 'A level of a component outside the feeds (MetricsSource.counters(), kind gauge), e.g. counter="sink.queue.depth" with a sink label.',
    source: 'source.counters()[] (kind gauge)',
  },
];

/** @internal Per-batch-processor instruments (`processor_id`). */
export const BATCH_INSTRUMENTS: readonly ObservedDef<BatchDiag>[] = [
  total('nv.batch.dispatched', '{batch}', 'Batches handed to the processor.', P, 'batches[].metrics.batchesDispatched', (b) => b.metrics.batchesDispatched, ref('batch.dispatched')),
  total('nv.batch.items.processed', '{item}', 'Frames processed in dispatched batches.', P, 'batches[].metrics.itemsProcessed', (b) => b.metrics.itemsProcessed, ref('batch.items_processed')),
  total('nv.batch.items.submitted', '{item}', 'Frames submitted by all feeds.', P, 'batches[].metrics.itemsSubmitted', (b) => b.metrics.itemsSubmitted, ref('batch.items_submitted')),
  total('nv.batch.items.rejected', '{item}', 'Frames refused at submission.', P, 'batches[].metrics.itemsRejected', (b) => b.metrics.itemsRejected, ref('batch.items_rejected')),
  total('nv.batch.items.timed_out', '{item}', 'Frames that timed out before their batch completed.', P, 'batches[].metrics.itemsTimedOut', (b) => b.metrics.itemsTimedOut, ref('batch.items_timed_out')),
  level('nv.batch.items.pending', '{item}', 'int', 'Frames submitted and not yet dispatched.', P, 'batches[].metrics.pendingItems', (b) => b.metrics.pendingItems, ref('batch.pending_items'), 0),
  level('nv.batch.fill_ratio.avg', '1', 'double', 'Mean items per batch ÷ max batch size (absent before the first batch).', P, 'batches[].metrics.avgFillRatio', (b) => b.metrics.avgFillRatio, ref('batch.avg_fill_ratio')),
  level('nv.batch.processing.avg_duration', 's', 'double', 'Mean duration of a process call (absent before the first batch).', P, 'batches[].metrics.avgProcessingMs / 1000', (b) => ms2s(b.metrics.avgProcessingMs), ref('batch.avg_processing_ms')),
  level('nv.batch.formation.avg_duration', 's', 'double', 'Mean wait to form a batch (absent before the first batch).', P, 'batches[].metrics.avgFormationMs / 1000', (b) => ms2s(b.metrics.avgFormationMs), ref('batch.avg_formation_ms')),
  level('nv.batch.errors.consecutive', '{error}', 'int', 'Batches failed in a row since the last success.', P, 'batches[].metrics.consecutiveErrors', (b) => b.metrics.consecutiveErrors, ref('batch.consecutive_errors'), 0),
  level('nv.batch.queue.depth', '{item}', 'int', 'Items waiting in the coordinator queue.', P, 'batches[].queueDepth', (b) => b.queueDepth, undefined, 0),
  level('nv.batch.queue.capacity', '{item}', 'int', 'Bound of the coordinator queue.', P, 'batches[].queueCapacity', (b) => b.queueCapacity),
  level('nv.batch.size.max', '{item}', 'int', 'Configured maximum batch size.', P, 'batches[].maxBatchSize', (b) => b.maxBatchSize),
];

// ---------------------------------------------------------------------------------------------
// Health-event counters: one per HealthEvent variant.

/** @internal A counter driven by one health-event variant. */
export interface HealthCounterDef<T extends HealthEventType> extends InstrumentInfo {
  readonly kind: 'counter';
  /** The increment (1 for plain events; the event's own count for batched ones). */
  readonly amount: (e: HealthEventOf<T>) => number;
  /** The (cached) attribute set of the event. */
  readonly attrs: (e: HealthEventOf<T>, cache: AttributeCache) => Attributes;
}

type HealthDefs = { readonly [T in HealthEventType]: HealthCounterDef<T> };

const one = (): number => 1;
function hc<T extends HealthEventType>(
  type: T, name: string, unit: string, description: string, attributes: readonly string[],
  amount: { field: string; read: (e: HealthEventOf<T>) => number } | undefined,
  attrs: (e: HealthEventOf<T>, cache: AttributeCache) => Attributes, reference?: string,
): HealthCounterDef<T> {
  return {
    name, kind: 'counter', unit, valueType: 'int', attributes, description,
    source: amount ? `health ${type} (+${amount.field})` : `health ${type} (+1)`,
    amount: amount ? amount.read : one, attrs, ...(reference ? { reference } : {}),
  };
}
const byFeed = (e: { readonly feedId: FeedId }, c: AttributeCache): Attributes => c.feed(e.feedId);
const byFeedProcessor = (e: HealthEventOf<'BatchTimeout'> | HealthEventOf<'BatchSubmissionRejected'> | HealthEventOf<'BatchInFlightExceeded'>, c: AttributeCache): Attributes =>
  c.feedProcessor(e.feedId, e.processorId);
const FP = ['feed_id', 'processor_id'] as const;

/** @internal Every health-event variant's counter, keyed by variant. */
export const HEALTH_COUNTERS: HealthDefs = {
  SourceConnected: hc('SourceConnected', 'nv.health.source.connections', '{event}', 'Source sessions that started streaming.', F, undefined, byFeed),
  SourceDisconnected: hc('SourceDisconnected', 'nv.health.source.disconnections', '{event}', 'Source disconnections, by media error kind.', ['feed_id', 'error_type'], undefined,
    (e, c) => c.feedWith(e.feedId, 'error_type', e.reason.kind), ref('health.source_disconnections')),
  SourceReconnecting: hc('SourceReconnecting', 'nv.health.source.reconnect_attempts', '{attempt}', 'Reconnection attempts scheduled.', F, undefined, byFeed, ref('health.source_reconnections')),
  InsecureRtspSource: hc('InsecureRtspSource', 'nv.health.source.insecure_rtsp', '{session}', 'Sessions started on plain (unencrypted) rtsp://.', F, undefined, byFeed),
  StageError: hc('StageError', 'nv.health.stage.errors', '{error}', 'Typed stage errors (frame dropped), by error kind.', ['feed_id', 'stage_id', 'error_type'], undefined,
    (e, c) => c.stageWith(e.feedId, e.stageId, 'error_type', e.error.kind), ref('health.stage_errors')),
  StagePanic: hc('StagePanic', 'nv.health.stage.panics', '{panic}', 'Untyped stage exceptions (feed restarts per policy).', FS, undefined, (e, c) => c.stage(e.feedId, e.stageId), ref('health.stage_panics')),
  FeedRestarting: hc('FeedRestarting', 'nv.health.feed.restarts', '{restart}', 'Feed restarts begun.', F, undefined, byFeed, ref('health.feed_restarts')),
  FeedStopped: hc('FeedStopped', 'nv.health.feed.stops', '{stop}', 'Feeds stopped, by stop reason.', ['feed_id', 'reason'], undefined,
    (e, c) => c.feedWith(e.feedId, 'reason', e.reason.kind), ref('health.feeds_stopped')),
  BackpressureDrop: hc('BackpressureDrop', 'nv.health.backpressure.dropped_frames', '{frame}', 'Frames dropped by source-queue backpressure, as reported by health events.', F,
    { field: 'framesDropped', read: (e) => e.framesDropped }, byFeed, ref('health.backpressure_drops')),
  FrameLag: hc('FrameLag', 'nv.health.frame_lag.frames', '{frame}', 'Frames processed late (age over the lag threshold).', F,
    { field: 'framesLagged', read: (e) => e.framesLagged }, byFeed, ref('health.frame_lag_events')),
  ViewEpochChanged: hc('ViewEpochChanged', 'nv.health.view.epoch_changes', '{change}', 'View epoch increments, by cause (segment or restart).', ['feed_id', 'cause'], undefined,
    (e, c) => c.feedWith(e.feedId, 'cause', e.cause), ref('health.view_epoch_changes')),
  ViewDegraded: hc('ViewDegraded', 'nv.health.view.degradations', '{event}', 'View degradations.', F, undefined, byFeed, ref('health.view_degradations')),
  ViewCompensationApplied: hc('ViewCompensationApplied', 'nv.health.view.compensations', '{event}', 'Camera-motion compensations applied to active tracks.', F, undefined, byFeed),
  OutputLagged: hc('OutputLagged', 'nv.health.output_lag.lost_messages', '{message}', 'Messages lost by a lagging subscriber.', NONE,
    { field: 'messagesLost', read: (e) => e.messagesLost }, (_e, c) => c.none(), ref('health.output_lag_events')),
  SourceEos: hc('SourceEos', 'nv.health.source.eos', '{event}', 'Ends of stream.', F, undefined, byFeed),
  DecodeDecision: hc('DecodeDecision', 'nv.health.decode.decisions', '{decision}', 'Decoder choices, by outcome (hardware, software, unknown).', ['feed_id', 'outcome'], undefined,
    (e, c) => c.feedWith(e.feedId, 'outcome', e.outcome)),
  SinkPanic: hc('SinkPanic', 'nv.health.sink.panics', '{panic}', 'Sink calls that threw or rejected.', F, undefined, byFeed, ref('health.sink_panics')),
  SinkTimeout: hc('SinkTimeout', 'nv.health.sink.timeouts', '{timeout}', 'Sinks abandoned at a shutdown timeout.', F, undefined, byFeed, ref('health.sink_timeouts')),
  SinkBackpressure: hc('SinkBackpressure', 'nv.health.sink.dropped_outputs', '{output}', 'Outputs dropped because the sink queue was full.', F,
    { field: 'outputsDropped', read: (e) => e.outputsDropped }, byFeed, ref('health.sink_backpressure')),
  TrackAdmissionRejected: hc('TrackAdmissionRejected', 'nv.health.track_admission.rejected', '{track}', 'Tracks refused by the temporal store caps.', F,
    { field: 'rejectedCount', read: (e) => e.rejectedCount }, byFeed, ref('health.track_admission_rejected')),
  BatchError: hc('BatchError', 'nv.health.batch.errors', '{error}', 'Failed batches, by error kind.', ['processor_id', 'error_type'], undefined,
    (e, c) => c.processorWith(e.processorId, 'error_type', e.error.kind), ref('health.batch_errors')),
  BatchSubmissionRejected: hc('BatchSubmissionRejected', 'nv.health.batch.rejected_submissions', '{item}', 'Frames refused at batch submission.', FP,
    { field: 'droppedCount', read: (e) => e.droppedCount }, byFeedProcessor, ref('health.batch_submission_rejected')),
  BatchTimeout: hc('BatchTimeout', 'nv.health.batch.timed_out_items', '{item}', 'Frames whose batch response timed out.', FP,
    { field: 'timedOutCount', read: (e) => e.timedOutCount }, byFeedProcessor, ref('health.batch_timeouts')),
  BatchInFlightExceeded: hc('BatchInFlightExceeded', 'nv.health.batch.in_flight_rejections', '{item}', 'Frames refused because the feed reached its in-flight cap.', FP,
    { field: 'rejectedCount', read: (e) => e.rejectedCount }, byFeedProcessor, ref('health.batch_in_flight_exceeded')),
  ResidencyDowngrade: hc('ResidencyDowngrade', 'nv.health.residency_downgrades', '{event}', 'Sessions that got host frames where CUDA was requested.', F, undefined, byFeed),
  SourceDiscontinuity: hc('SourceDiscontinuity', 'nv.health.source.discontinuities', '{jump}', 'Source timestamp jumps the feed timeline absorbed, by kind.', ['feed_id', 'kind'],
    { field: 'count', read: (e) => e.count }, (e, c) => c.feedWith(e.feedId, 'kind', e.kind)),
  StageTimeout: hc('StageTimeout', 'nv.health.stage.timeouts', '{timeout}', 'Frames a stage or batch point did not finish within its deadline.', FS, undefined, (e, c) => c.stage(e.feedId, e.stageId)),
  FeedPanic: hc('FeedPanic', 'nv.health.feed.panics', '{panic}', 'Exceptions outside the stages (feed restarts per policy), by step.', ['feed_id', 'step'], undefined,
    (e, c) => c.feedWith(e.feedId, 'step', e.step)),
  FrameDropped: hc('FrameDropped', 'nv.health.feed.dropped_frames', '{frame}', 'Frames dropped by a panic or a deadline, by cause.', ['feed_id', 'cause'], undefined,
    (e, c) => c.feedWith(e.feedId, 'cause', e.cause)),
  StopTimeout: hc('StopTimeout', 'nv.health.feed.stop_timeouts', '{timeout}', 'Feed stops that timed out and abandoned stragglers.', F, undefined, byFeed),
  StageHookFailed: hc('StageHookFailed', 'nv.health.stage.hook_failures', '{failure}', 'Stage lifecycle hooks (onViewEpochChange) that threw; the frame went on.', ['feed_id', 'stage_id', 'hook'], undefined,
    (e, c) => c.stageWith(e.feedId, e.stageId, 'hook', e.hook)),
  ViewProviderFailed: hc('ViewProviderFailed', 'nv.health.view.provider_failures', '{poll}', 'View provider polls that failed (thrown, invalid or late); the frame went on Unknown/Degraded.', ['feed_id', 'error_type'],
    { field: 'count', read: (e) => e.count }, (e, c) => c.feedWith(e.feedId, 'error_type', e.kind)),
  FeedWorkerUnresponsive: hc('FeedWorkerUnresponsive', 'nv.health.feed.worker_unresponsive', '{worker}', 'Isolated-feed workers that stopped answering (terminated; the feed restarted per policy).', F, undefined, byFeed),
};

// ---------------------------------------------------------------------------------------------
// Histograms produced from LatencySnapshots.

/** @internal */
export const HISTOGRAMS = {
  pipeline: {
    name: 'nv.feed.pipeline.duration', kind: 'histogram', unit: 's', valueType: 'double', attributes: F,
    description: 'Whole-frame latency: from taking the frame off the source to queueing its output.', source: 'feeds[].metrics.pipelineLatency',
  },
  stage: {
    name: 'nv.stage.duration', kind: 'histogram', unit: 's', valueType: 'double', attributes: FS,
    description: 'Latency of one stage call.', source: 'feeds[].metrics.stages[id].latency',
  },
  batch: {
    name: 'nv.batch.processing.duration', kind: 'histogram', unit: 's', valueType: 'double', attributes: P,
    description: 'Latency of a batch processor process call.', source: 'batches[].processingLatency',
  },
} as const satisfies Record<string, InstrumentInfo>;

const strip = ({ name, kind, unit, valueType, attributes, description, source, reference }: InstrumentInfo): InstrumentInfo =>
  Object.freeze({ name, kind, unit, valueType, attributes, description, source, ...(reference ? { reference } : {}) });

/**
 * Every instrument `@nv/metrics` exports, in README order: runtime, feed, stage and batch
 * observable instruments, the 25 health-event counters, then the 3 latency histograms.
 *
 * @example
 * ```ts
 * for (const i of INSTRUMENTS) console.log(i.name, i.kind, i.unit, i.attributes.join(','));
 * ```
 */
export const INSTRUMENTS: readonly InstrumentInfo[] = Object.freeze([
  ...RUNTIME_INSTRUMENTS, ...FEED_INSTRUMENTS, ...STAGE_INSTRUMENTS, ...STAGE_OWN_INSTRUMENTS, ...BATCH_INSTRUMENTS, ...COMPONENT_INSTRUMENTS,
  ...Object.values(HEALTH_COUNTERS), ...Object.values(HISTOGRAMS),
].map(strip));
