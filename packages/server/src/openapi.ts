/**
 * The route table of the HTTP API and the OpenAPI 3.1 document built from it.
 */
import { z } from 'zod';

/** One route of the API. */
export interface RouteDoc {
  readonly method: 'get' | 'post' | 'delete';
  /** Fastify-style path (`/api/feeds/:id`). */
  readonly path: string;
  readonly summary: string;
  /** Whether it needs the token when one is configured. */
  readonly auth: boolean;
  /** Whether the body is a feed entry. */
  readonly feedBody?: boolean;
  /** Status → description. */
  readonly responses: Readonly<Record<number, string>>;
  /** `text/event-stream`, a WebSocket, Prometheus text, HTML… (default JSON). */
  readonly produces?: string;
}

const E401 = { 401: 'Unauthorized: missing or wrong token' };
const E404 = { 404: 'FeedNotFound' };

/** Every route the server answers. */
export const ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/', summary: 'The live view page', auth: false, responses: { 200: 'HTML' }, produces: 'text/html' },
  { method: 'get', path: '/healthz', summary: 'Liveness: 200 while the process serves', auth: false, responses: { 200: '{ status: ok }' } },
  { method: 'get', path: '/readyz', summary: 'Readiness: 200 once the configured feeds are added; 503 while starting or shutting down', auth: false, responses: { 200: 'ready', 503: 'NotReady / ShuttingDown' } },
  { method: 'get', path: '/metrics', summary: 'Prometheus text exposition (from @nv/metrics)', auth: true, responses: { 200: 'metrics', ...E401, 404: 'metrics not enabled' }, produces: 'text/plain' },
  { method: 'get', path: '/openapi.json', summary: 'This document', auth: false, responses: { 200: 'OpenAPI 3.1' } },
  { method: 'get', path: '/api/feeds', summary: 'Every feed: id, name, state, settings (secrets redacted), counters', auth: true, responses: { 200: '{ feeds: FeedSummary[] }', ...E401 } },
  { method: 'post', path: '/api/feeds', summary: 'Add a feed: the body is one feed entry of the config file', auth: true, feedBody: true, responses: { 201: 'FeedSummary (Location: /api/feeds/{id})', 400: 'InvalidJson / InvalidFeed (fields named) / PolicyRefused', ...E401, 409: 'DuplicateName / FeedLimitExceeded', 413: 'BodyTooLarge', 415: 'UnsupportedMediaType', 503: 'ShuttingDown' } },
  { method: 'get', path: '/api/feeds/:id', summary: 'One feed', auth: true, responses: { 200: 'FeedSummary', ...E401, ...E404 } },
  { method: 'delete', path: '/api/feeds/:id', summary: 'Stop a feed (draining) and remove it', auth: true, responses: { 200: '{ removed: id }', ...E401, ...E404 } },
  { method: 'post', path: '/api/feeds/:id/pause', summary: 'Pause a feed', auth: true, responses: { 200: 'FeedSummary', ...E401, ...E404, 409: 'AlreadyPaused / FeedStopped' } },
  { method: 'post', path: '/api/feeds/:id/resume', summary: 'Resume a paused feed', auth: true, responses: { 200: 'FeedSummary', ...E401, ...E404, 409: 'NotPaused / FeedStopped' } },
  { method: 'get', path: '/api/feeds/:id/diagnostics', summary: 'A feed\'s diagnostics (queues, counters, stage latencies, decoder, view) and live view counters', auth: true, responses: { 200: 'FeedDiagnostics', ...E401, ...E404 } },
  { method: 'get', path: '/api/feeds/:id/live', summary: 'WebSocket: the feed\'s live video, one binary message per frame: u32 LE header length, JSON header (seq, ts, boxes…), JPEG', auth: true, responses: { 101: 'WebSocket (closes 4404 unknown feed, 4409 too many viewers / no live view)', ...E401 }, produces: 'websocket' },
  { method: 'get', path: '/api/diagnostics', summary: 'Runtime diagnostics: every feed and batch processor, with live view counters', auth: true, responses: { 200: 'RuntimeDiagnostics', ...E401 } },
  { method: 'get', path: '/api/cluster', summary: 'On an `nv node`: the whole cluster — every desired feed with its owner node, fencing token, state and frames; every live node', auth: true, responses: { 200: 'ClusterStatus', ...E401, 404: 'not a cluster node', 503: 'ClusterUnavailable (NATS unreachable)' } },
  { method: 'get', path: '/api/config', summary: 'The effective configuration, secrets redacted', auth: true, responses: { 200: 'config', ...E401 } },
  { method: 'get', path: '/api/events', summary: 'Health events as Server-Sent Events (`event: health`; `event: lagged` when this client lost some)', auth: true, responses: { 200: 'text/event-stream', ...E401 }, produces: 'text/event-stream' },
  { method: 'get', path: '/api/outputs', summary: 'Outputs as Server-Sent Events, without pixels (`?feed=1,2` to filter; `event: lagged` when this client lost some)', auth: true, responses: { 200: 'text/event-stream', 400: 'InvalidFeed', ...E401, ...E404 }, produces: 'text/event-stream' },
];

const ERROR_SCHEMA = {
  type: 'object', required: ['error'],
  properties: {
    error: {
      type: 'object', required: ['code', 'message'],
      properties: {
        code: { type: 'string' }, message: { type: 'string' },
        fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
  },
};

/**
 * The OpenAPI 3.1 document of every route.
 * @param feedSchema - the schema of `POST /api/feeds` bodies (its JSON Schema, input side)
 * @returns a JSON-serializable document
 */
export function openApiDocument(feedSchema: z.ZodType): Record<string, unknown> {
  let feed: unknown;
  try {
    feed = z.toJSONSchema(feedSchema, { io: 'input', unrepresentable: 'any' });
  } catch {
    feed = { type: 'object', description: 'one feed entry of the config file' };
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const p = r.path.replace(/:([a-z]+)/g, '{$1}');
    const op: Record<string, unknown> = {
      summary: r.summary,
      ...(r.auth ? { security: [{ bearer: [] }] } : { security: [] }),
      ...(p.includes('{id}') ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }] } : {}),
      ...(r.feedBody ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/FeedEntry' } } } } } : {}),
      responses: Object.fromEntries(Object.entries(r.responses).map(([status, description]) => [status, {
        description,
        ...(Number(status) >= 400 ? { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } : {}),
      }])),
    };
    (paths[p] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'nv serve', version: '1', description: 'Feeds, diagnostics, health events and outputs of an nv runtime; the live view.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the configured token (also accepted as ?token= for EventSource and WebSocket)' } },
      schemas: { FeedEntry: feed, Error: ERROR_SCHEMA },
    },
  };
}
