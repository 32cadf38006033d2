/**
 * The analytics engine as a pipeline stage.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, StageError, TypedMetadata, stageId } from '@nv/core';
import type { Stage, StageCapabilities, StageContext, StageCounter, StageOutput } from '@nv/perception';
import type { ViewEpoch } from '@nv/view';
import { TrackAnalytics, type AnalyticsCounters } from './analytics.js';
import type { AnalyticsConfigInput } from './config.js';
import { ANALYTICS_EVENTS, type AnalyticsEvent } from './events.js';

/** Options of {@link AnalyticsStage}: the analytics configuration plus the stage id. */
export type AnalyticsStageOptions = AnalyticsConfigInput & {
  /** Stage id, unique within the feed's pipeline. Default `'analytics'`. */
  readonly id?: string;
};

/**
 * Zone, line, dwell and track-lifecycle events as a stage (see {@link TrackAnalytics} for the
 * semantics). Place it after a track producer (e.g. `@nv/tracking`'s `TrackerStage`); it reads
 * `ctx.artifacts.tracks` and puts the frame's events under {@link ANALYTICS_EVENTS} in the
 * output's typed artifacts (`out.artifacts.stageArtifacts.get(ANALYTICS_EVENTS)`), on every
 * frame, appending to any list an earlier analytics stage left there. Use one instance per feed.
 *
 * On a view epoch change (`onViewEpochChange`, and also when `ctx.view.epoch` differs from the
 * previous frame's) all per-track state is reset with no events; see {@link TrackAnalytics.reset}.
 * `onStart` and `onStop` drop per-track state the same way; counters live as long as the stage.
 *
 * @example
 * ```ts
 * const analytics = new AnalyticsStage({
 *   zones: [{ id: 'door', polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.9], [0.1, 0.9]], dwellSeconds: 5 }],
 *   lines: [{ id: 'mid', from: [0.5, 0], to: [0.5, 1] }],
 * });
 * runtime.addFeed({
 *   source, cameraMode: 'fixed', stages: [detector, new TrackerStage(), analytics],
 *   sink: { emit(out) { for (const e of out.artifacts.stageArtifacts.get(ANALYTICS_EVENTS) ?? []) console.log(JSON.stringify(eventToJson(e))); } },
 * });
 * ```
 */
export class AnalyticsStage implements Stage {
  /** Stage id. */
  readonly id: string;
  /** Always `'temporalAnalysis'`. */
  readonly category = 'temporalAnalysis' as const;
  /** Consumes tracks. */
  readonly capabilities: StageCapabilities = Object.freeze({ consumesTracks: true });
  /** The engine doing the work (its `config`, `trackCount`, `counters()`). */
  readonly analytics: TrackAnalytics;
  #epoch: ViewEpoch | undefined;

  /**
   * @param options - the analytics configuration and stage id
   * @throws {InvalidArgumentError} on a bad stage id
   * @throws {ConfigError} `InvalidConfig`, naming each offending configuration field
   */
  constructor(options: AnalyticsStageOptions = {}) {
    const { id, ...config } = options;
    this.id = stageId(id ?? 'analytics');
    this.analytics = new TrackAnalytics(config);
  }

  /**
   * Runs the analytics on this frame's tracks.
   * @returns an output whose artifacts hold {@link ANALYTICS_EVENTS}
   * @throws {StageError} `ProcessingFailed` when the frame's tracks or timestamp are malformed
   *   (the frame is dropped, the feed continues)
   */
  process(ctx: StageContext): StageOutput {
    const epoch = ctx.view.epoch;
    if (this.#epoch !== undefined && epoch !== this.#epoch) this.analytics.reset();
    this.#epoch = epoch;
    let events: readonly AnalyticsEvent[];
    try {
      events = this.analytics.update({
        feedId: ctx.feedId, ts: ctx.frame.ts, wallTs: ctx.frame.wallTs, tracks: ctx.artifacts.tracks, authoritative: ctx.artifacts.tracksAuthoritative,
      });
    } catch (e) {
      if (InvalidArgumentError.isInstance(e)) throw StageError.processingFailed(this.id, e.message, e);
      throw e;
    }
    const earlier = ctx.artifacts.stageArtifacts.get(ANALYTICS_EVENTS);
    const artifacts = new TypedMetadata();
    artifacts.set(ANALYTICS_EVENTS, earlier && earlier.length > 0 ? Object.freeze([...earlier, ...events]) : events);
    return { artifacts };
  }

  /**
   * A snapshot of the per-zone / per-line counters (see {@link TrackAnalytics.counters}).
   * @returns a new plain object
   */
  snapshot(): AnalyticsCounters { return this.analytics.counters(); }

  /**
   * The counters for `@nv/metrics` (`nv.stage.counter` / `nv.stage.gauge`, `counter` label =
   * the name): `analytics.zone.entered`, `analytics.zone.exited`, `analytics.zone.dwell`
   * (label `zone`), `analytics.zone.occupancy` (gauge, `zone`), `analytics.line.crossed`
   * (`line`, `direction`), `analytics.tracks.started`, `analytics.tracks.ended`,
   * `analytics.tracks.active` (gauge).
   * @returns a new list
   */
  counters(): readonly StageCounter[] {
    const c = this.analytics.counters();
    const out: StageCounter[] = [];
    for (const z of c.zones) {
      const labels = { zone: z.id };
      out.push(
        { name: 'analytics.zone.entered', kind: 'counter', labels, value: z.entered },
        { name: 'analytics.zone.exited', kind: 'counter', labels, value: z.exited },
        { name: 'analytics.zone.dwell', kind: 'counter', labels, value: z.dwell },
        { name: 'analytics.zone.occupancy', kind: 'gauge', labels, value: z.occupancy },
      );
    }
    for (const l of c.lines) {
      out.push(
        { name: 'analytics.line.crossed', kind: 'counter', labels: { line: l.id, direction: 'positive' }, value: l.positive },
        { name: 'analytics.line.crossed', kind: 'counter', labels: { line: l.id, direction: 'negative' }, value: l.negative },
      );
    }
    out.push(
      { name: 'analytics.tracks.started', kind: 'counter', value: c.tracks.started },
      { name: 'analytics.tracks.ended', kind: 'counter', value: c.tracks.ended },
      { name: 'analytics.tracks.active', kind: 'gauge', value: c.tracks.active },
    );
    return out;
  }

  /** Starts with no per-track state. */
  onStart(): void { this.#dropTracks(); }

  /** Drops per-track state (no events). */
  onStop(): void { this.#dropTracks(); }

  /** The camera moved discontinuously (or the feed restarted): resets per-track state with no events. */
  onViewEpochChange(epoch: ViewEpoch): void {
    if (this.#epoch === undefined || epoch !== this.#epoch) this.analytics.reset();
    this.#epoch = epoch;
  }

  #dropTracks(): void { if (this.analytics.trackCount > 0) this.analytics.reset(); }
}
