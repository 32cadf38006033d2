/**
 * `@nv/analytics`: zones, directed lines, dwell and track-lifecycle events over a feed's
 * tracks, with hysteresis, coasting-safe state and per-zone / per-line counters.
 *
 * @packageDocumentation
 */
export { AnalyticsStage } from './stage.js';
export type { AnalyticsStageOptions } from './stage.js';
export { TrackAnalytics } from './analytics.js';
export type { AnalyticsFrame, AnalyticsCounters, ZoneCounters, LineCounters } from './analytics.js';
export {
  AnalyticsConfigSchema, ZoneSchema, LineSchema, PointSchema, AnchorSchema, parseAnalyticsConfig, safeParseAnalyticsConfig,
} from './config.js';
export type { AnalyticsConfig, AnalyticsConfigInput, ZoneConfig, LineConfig, Anchor, PointTuple } from './config.js';
export { EventClipStage } from './clip-stage.js';
export type { EventClipStageOptions } from './clip-stage.js';
export { ANALYTICS_EVENTS, ANALYTICS_EVENT_TYPES, eventToJson } from './events.js';
export type {
  AnalyticsEvent, AnalyticsEventBase, EventClip, AnalyticsEventType, AnalyticsEventJson, TrackStartedEvent, TrackEndedEvent,
  ZoneEnteredEvent, ZoneExitedEvent, DwellEvent, LineCrossedEvent,
} from './events.js';
export { pointInPolygon, sideOfLine, stepCrossesSegment, anchorPoint } from './geometry.js';
export type { Vec2 } from './geometry.js';
