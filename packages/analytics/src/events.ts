/**
 * Analytics events, the typed artifact that carries them in a frame's output, and their
 * plain JSON form.
 *
 * @packageDocumentation
 */
import { metadataKey, type FeedId, type MetadataKey, type MonotonicTs, type TrackId, type WallTs } from '@nv/core';

/** The event types, in the order they are emitted within a frame for one track. */
export const ANALYTICS_EVENT_TYPES = Object.freeze(['trackStarted', 'zoneEntered', 'dwell', 'zoneExited', 'lineCrossed', 'trackEnded'] as const);
/** One of {@link ANALYTICS_EVENT_TYPES}. */
export type AnalyticsEventType = (typeof ANALYTICS_EVENT_TYPES)[number];

/** Fields every event has. */
export interface AnalyticsEventBase {
  /** What happened. */
  readonly type: AnalyticsEventType;
  /** The feed. */
  readonly feedId: FeedId;
  /** The track. */
  readonly trackId: TrackId;
  /** The track's class id on the frame the event is emitted. */
  readonly classId: number;
  /**
   * When it happened (feed timeline, ns). For hysteresis-gated events (`zoneEntered`,
   * `zoneExited`, `lineCrossed`) it is the first frame of the new state, which may be up to
   * `minFrames − 1` frames before the frame whose output carries the event.
   */
  readonly ts: MonotonicTs;
  /** Wall-clock time of the frame `ts` belongs to (µs since epoch), when the source stamped one. */
  readonly wallTs?: WallTs | undefined;
  /** The event's video clip, when an `EventClipStage` recorded one (see {@link EventClip}). */
  readonly clip?: EventClip | undefined;
}

/**
 * Where an event's clip is. The file appears once the clip is complete (`toTs` encoded, or the
 * feed stopped): it is written under a temporary name and renamed. Events close together share
 * one clip (the same path).
 */
export interface EventClip {
  /** The MP4 file. */
  readonly path: string;
  /** Window asked for, ns on the feed's timeline: from the event − pre … */
  readonly fromTs: number;
  /** … to the event + post (later when a later event extended the clip). */
  readonly toTs: number;
}

/** A track took part for the first time (its first confirmed frame, or first frame with `includeTentative`). */
export interface TrackStartedEvent extends AnalyticsEventBase {
  readonly type: 'trackStarted';
}

/**
 * The track is gone: absent from the tracker's authoritative track set. `ts` is the frame on
 * which that was seen (coasting and `lost` frames come before it).
 */
export interface TrackEndedEvent extends AnalyticsEventBase {
  readonly type: 'trackEnded';
  /** When the track was last observed (a frame where it was neither coasted nor lost; its start when never). */
  readonly lastSeenTs: MonotonicTs;
  /** `lastSeenTs − ` the `trackStarted` ts, in ns. */
  readonly durationNs: number;
}

/** The track's anchor has been inside the zone for `minFrames` frames, starting at `ts`. */
export interface ZoneEnteredEvent extends AnalyticsEventBase {
  readonly type: 'zoneEntered';
  /** The zone. */
  readonly zoneId: string;
}

/**
 * The track left the zone: `reason: 'left'` — its anchor was outside for `minFrames` frames,
 * starting at `ts`; `reason: 'trackEnded'` — the track ended while inside (`ts` is the
 * `trackEnded` frame; emitted just before the `trackEnded` event).
 */
export interface ZoneExitedEvent extends AnalyticsEventBase {
  readonly type: 'zoneExited';
  /** The zone. */
  readonly zoneId: string;
  /** Why. */
  readonly reason: 'left' | 'trackEnded';
  /** Time inside, ns: from the `zoneEntered` ts to this `ts` (`left`) or to the track's last observation (`trackEnded`). */
  readonly durationNs: number;
}

/** The track has been inside the zone for at least its `dwellSeconds` (once per stay); `ts` is this frame. */
export interface DwellEvent extends AnalyticsEventBase {
  readonly type: 'dwell';
  /** The zone. */
  readonly zoneId: string;
  /** Time inside so far, ns (≥ the zone's `dwellSeconds`). */
  readonly durationNs: number;
}

/**
 * The track's anchor passed through the line segment and stayed on the other side for
 * `minFrames` frames, starting at `ts`. `direction` is the side it ended on: `positive` is the
 * left of the arrow `from → to` as drawn on the image (for `[0.5, 0] → [0.5, 1]`, pointing down,
 * moving left → right is `positive`); see `sideOfLine`.
 */
export interface LineCrossedEvent extends AnalyticsEventBase {
  readonly type: 'lineCrossed';
  /** The line. */
  readonly lineId: string;
  /** The side the track ended on. */
  readonly direction: 'positive' | 'negative';
}

/** Any analytics event (discriminated by `type`). */
export type AnalyticsEvent = TrackStartedEvent | TrackEndedEvent | ZoneEnteredEvent | ZoneExitedEvent | DwellEvent | LineCrossedEvent;

/**
 * On a frame's `artifacts.stageArtifacts` (the output's typed artifacts): the analytics events
 * emitted on this frame, in emission order (set on every frame the stage ran; empty when nothing
 * happened). A second analytics stage in the same pipeline appends to the first one's list.
 * @example
 * ```ts
 * sink: { emit(out) { for (const e of out.artifacts.stageArtifacts.get(ANALYTICS_EVENTS) ?? []) log(eventToJson(e)); } }
 * ```
 */
export const ANALYTICS_EVENTS: MetadataKey<readonly AnalyticsEvent[]> = metadataKey<readonly AnalyticsEvent[]>('analytics.events');

/** The JSON shape of an event (one JSONL line): ids and times as plain numbers, `wallTs` only when known. */
export interface AnalyticsEventJson {
  /** The event type. */
  readonly type: AnalyticsEventType;
  /** Feed id. */
  readonly feedId: number;
  /** Track id. */
  readonly trackId: number;
  /** Class id. */
  readonly classId: number;
  /** Feed timeline, ns. */
  readonly ts: number;
  /** Wall clock, µs since epoch (absent when unknown). */
  readonly wallTs?: number;
  /** Zone id (`zoneEntered`, `zoneExited`, `dwell`). */
  readonly zone?: string;
  /** Line id (`lineCrossed`). */
  readonly line?: string;
  /** `lineCrossed` only. */
  readonly direction?: 'positive' | 'negative';
  /** `zoneExited` only. */
  readonly reason?: 'left' | 'trackEnded';
  /** `zoneExited`, `dwell`, `trackEnded`: ns. */
  readonly durationNs?: number;
  /** `trackEnded` only: ns. */
  readonly lastSeenTs?: number;
  /** The event's clip (with an `EventClipStage`). */
  readonly clip?: EventClip;
}

/**
 * The plain, JSON-able form of an event (for a JSONL sink: `JSON.stringify(eventToJson(e))`).
 * @param e - the event
 * @returns a new plain object
 * @example
 * ```ts
 * eventToJson(e) // { type: 'lineCrossed', feedId: 1, trackId: 4, classId: 0, ts: 4500000000, line: 'mid', direction: 'positive' }
 * ```
 */
export function eventToJson(e: AnalyticsEvent): AnalyticsEventJson {
  const base = { type: e.type, feedId: e.feedId as number, trackId: e.trackId as number, classId: e.classId, ts: e.ts as number };
  const wall = {
    ...(e.wallTs !== undefined && e.wallTs !== 0 ? { wallTs: e.wallTs as number } : {}),
    ...(e.clip !== undefined ? { clip: { path: e.clip.path, fromTs: e.clip.fromTs, toTs: e.clip.toTs } } : {}),
  };
  switch (e.type) {
    case 'trackStarted': return { ...base, ...wall };
    case 'trackEnded': return { ...base, ...wall, durationNs: e.durationNs, lastSeenTs: e.lastSeenTs as number };
    case 'zoneEntered': return { ...base, ...wall, zone: e.zoneId };
    case 'zoneExited': return { ...base, ...wall, zone: e.zoneId, reason: e.reason, durationNs: e.durationNs };
    case 'dwell': return { ...base, ...wall, zone: e.zoneId, durationNs: e.durationNs };
    case 'lineCrossed': return { ...base, ...wall, line: e.lineId, direction: e.direction };
  }
}
