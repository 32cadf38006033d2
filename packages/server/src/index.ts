/**
 * `@nv/server`: the HTTP side of `nv serve` — REST management of feeds, Server-Sent Event
 * streams of health events and outputs, Prometheus `/metrics`, health probes, an OpenAPI
 * document, and the live view page (video with the runtime's overlays, queues, drops and
 * latencies as they move).
 *
 * @packageDocumentation
 */
export { NvServer, redactSecrets, outputSummary } from './server.js';
export type { NvServerOptions, FeedSummary } from './server.js';
export { LiveView, LiveViewStage, defaultOverlay } from './live-view.js';
export type { LiveViewOptions, LiveViewStats, OverlayBox, ViewerSocket } from './live-view.js';
export { ApiError } from './errors.js';
export type { ApiErrorCode, ApiErrorBody } from './errors.js';
export { ROUTES, openApiDocument } from './openapi.js';
export type { RouteDoc } from './openapi.js';
