import { ConfigError } from '@nv/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from './errors.js';
import { startHookServer, waitFor, type HookServer } from './test-fixtures.js';
import type { SinkHealthEvent } from './types.js';
import { WebhookSink } from './webhook.js';

const servers: HookServer[] = [];
const sinks: WebhookSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close({ timeoutMs: 0 })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const server = async (port?: number): Promise<HookServer> => { const s = await startHookServer(port); servers.push(s); return s; };
const sink = (opts: ConstructorParameters<typeof WebhookSink>[0]): WebhookSink => { const s = new WebhookSink(opts); sinks.push(s); return s; };
const fast = { initialMs: 20, maxMs: 200 };

describe('WebhookSink against a real HTTP server', () => {
  it('POSTs each message as JSON, in order, with a unique Idempotency-Key (= id) and the subject header', async () => {
    const srv = await server();
    const s = sink({ url: srv.url });
    for (let i = 0; i < 20; i++) s.publish({ id: `cam1:${i}:0`, subject: 'events.lineCrossed', payload: { i, name: 'ünïcode' } });
    await waitFor(() => s.stats().delivered === 20, '20 deliveries');
    expect(srv.requests.map((r) => JSON.parse(r.body).payload.i)).toEqual([...Array(20).keys()]);
    const keys = srv.requests.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(20);
    expect(keys[3]).toBe('cam1:3:0');
    const r0 = srv.requests[0]!;
    expect(r0).toMatchObject({ method: 'POST', url: '/hook' });
    expect(r0.headers['content-type']).toBe('application/json');
    expect(r0.headers['nv-subject']).toBe('events.lineCrossed');
    expect(JSON.parse(r0.body)).toEqual({ id: 'cam1:0:0', subject: 'events.lineCrossed', payload: { i: 0, name: 'ünïcode' } });
    expect(s.stats()).toMatchObject({ connected: true, retries: 0, dropped: { total: 0 } });
  });

  it('retries 5xx and 429 with backoff (honouring Retry-After), same Idempotency-Key every attempt, then delivers', async () => {
    const srv = await server();
    srv.respond = (_r, n) => (n <= 2 ? { status: 503, body: 'busy' } : n === 3 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    const s = sink({ url: srv.url, backoff: fast });
    const t0 = performance.now();
    s.publish({ id: 'evt-1', payload: { ok: true } });
    await waitFor(() => s.stats().delivered === 1, 'delivery after retries');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950); // the Retry-After: 1 wait
    expect(srv.requests).toHaveLength(4);
    expect(new Set(srv.requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set(['evt-1']));
    expect(s.stats()).toMatchObject({ retries: 3, delivered: 1, dropped: { failed: 0 } });
    expect(s.stats().lastError).toMatch(/HTTP 429/);
  });

  it('a 4xx other than 408/429 is permanent: not retried, counted failed, SinkDeliveryFailed; the next message goes on', async () => {
    const srv = await server();
    srv.respond = (r) => (JSON.parse(r.body).id === 'bad' ? { status: 422, body: 'unprocessable' } : { status: 204 });
    const events: SinkHealthEvent[] = [];
    const s = sink({ url: srv.url, backoff: fast, onHealth: (e) => events.push(e) });
    s.publish({ id: 'bad', payload: 1 });
    s.publish({ id: 'good', payload: 2 });
    await waitFor(() => s.stats().delivered === 1 && s.stats().dropped.failed === 1, 'one failed, one delivered');
    expect(srv.requests.map((r) => r.headers['idempotency-key'])).toEqual(['bad', 'good']);
    const failed = events.find((e) => e.type === 'SinkDeliveryFailed');
    expect(failed).toMatchObject({ id: 'bad', attempts: 1, error: { kind: 'Rejected', status: 422 } });
    expect(events.some((e) => e.type === 'SinkDropped' && e.reason === 'failed' && e.count === 1)).toBe(true);
  });

  it('gives up after maxRetries (counted failed, DeliveryFailed)', async () => {
    const srv = await server();
    srv.respond = () => ({ status: 500 });
    const events: SinkHealthEvent[] = [];
    const s = sink({ url: srv.url, backoff: fast, maxRetries: 2, onHealth: (e) => events.push(e) });
    s.publish({ id: 'x', payload: 1 });
    await waitFor(() => s.stats().dropped.failed === 1, 'give up');
    expect(srv.requests).toHaveLength(3);
    expect(events.find((e) => e.type === 'SinkDeliveryFailed')).toMatchObject({ attempts: 3, error: { kind: 'DeliveryFailed', status: 500 } });
  });

  it('server down, then up on the same port: SinkDisconnected, messages wait (in order), delivered after, SinkReconnected', async () => {
    const srv = await server();
    await srv.close();
    const events: SinkHealthEvent[] = [];
    const s = sink({ url: srv.url, backoff: { initialMs: 50, maxMs: 200 }, maxRetries: Infinity, onHealth: (e) => events.push(e) });
    for (let i = 0; i < 5; i++) s.publish({ id: `m${i}`, payload: i });
    await waitFor(() => events.some((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
    const down = events.find((e) => e.type === 'SinkDisconnected');
    expect(down?.type === 'SinkDisconnected' && down.error?.kind).toBe('ConnectionFailed');
    expect(s.stats()).toMatchObject({ connected: false, delivered: 0 });
    await srv.listen();
    await waitFor(() => s.stats().delivered === 5, 'delivery after the server is back');
    expect(srv.requests.map((r) => r.headers['idempotency-key'])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(events.some((e) => e.type === 'SinkReconnected')).toBe(true);
    expect(s.stats()).toMatchObject({ connected: true, reconnects: 1 });
  });

  it('bounded: while the server is down the queue keeps the newest queueSize messages, overflow counted; close abandons the rest within its timeout', async () => {
    const srv = await server();
    await srv.close();
    const events: SinkHealthEvent[] = [];
    const s = sink({ url: srv.url, queueSize: 5, backoff: { initialMs: 50, maxMs: 100 }, maxRetries: Infinity, onHealth: (e) => events.push(e) });
    for (let i = 0; i < 50; i++) expect(s.publish({ id: `m${i}`, payload: i })).toBe(true);
    const st = s.stats();
    expect(st.queued + st.inFlight).toBeLessThanOrEqual(6);
    expect(st.accepted).toBe(50);
    expect(st.dropped.overflow).toBe(50 - st.queued - st.inFlight);
    const t0 = performance.now();
    const r = await s.close({ timeoutMs: 300 });
    expect(performance.now() - t0).toBeLessThan(300 + 2000);
    expect(r.timedOut).toBe(true);
    expect(r.abandoned).toBe(st.queued + st.inFlight);
    const sum = (reason: string) => events.reduce((n, e) => n + (e.type === 'SinkDropped' && e.reason === reason ? e.count : 0), 0);
    expect(sum('overflow')).toBe(s.stats().dropped.overflow);
    expect(sum('shutdown')).toBe(r.abandoned);
  });

  it('close delivers what is buffered (slow server) within its timeout', async () => {
    const srv = await server();
    srv.respond = () => ({ status: 200, delayMs: 20 });
    const s = sink({ url: srv.url });
    for (let i = 0; i < 10; i++) s.publish({ id: `m${i}`, payload: i });
    const r = await s.close({ timeoutMs: 5000 });
    expect(r).toEqual({ delivered: 10, abandoned: 0, timedOut: false });
    expect(srv.requests).toHaveLength(10);
  });

  it('a request that outlives timeoutMs is a Timeout, retried', async () => {
    const srv = await server();
    srv.respond = (_r, n) => (n === 1 ? { status: 200, delayMs: 1000 } : { status: 200 });
    const s = sink({ url: srv.url, timeoutMs: 150, backoff: fast });
    s.publish({ id: 'slow', payload: 1 });
    await waitFor(() => s.stats().delivered === 1, 'delivery on the second attempt');
    expect(s.stats().retries).toBe(1);
    expect(s.stats().lastError).toMatch(/Timeout/);
  });

  it('credentials never show: URL userinfo becomes Basic auth, header tokens and passwords are scrubbed from errors, stats and events', async () => {
    const srv = await server();
    // The server echoes what it got, credentials included, in its error body.
    srv.respond = (r) => ({ status: 500, body: `denied ${r.headers.authorization ?? ''} ${r.headers['x-api-key'] ?? ''}` });
    const events: SinkHealthEvent[] = [];
    const url = `http://alice:s3cr%40t@127.0.0.1:${srv.port}/hook?token=tok999&x=1`;
    const s = sink({ url, headers: { 'X-Api-Key': 'key777' }, backoff: fast, maxRetries: 1, onHealth: (e) => events.push(e) });
    s.publish({ id: 'm', payload: 1 });
    await waitFor(() => s.stats().dropped.failed === 1, 'failure');
    const got = srv.requests[0]!;
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`);
    expect(got.url).toBe('/hook?token=tok999&x=1');
    const shown = JSON.stringify([s.target, s.stats(), events, events.map((e) => (e.type === 'SinkDeliveryFailed' ? e.error.message : ''))]);
    for (const secret of ['s3cr', 'tok999', 'key777', Buffer.from('alice:s3cr@t').toString('base64')]) expect(shown).not.toContain(secret);
    expect(s.target).toBe(`http://127.0.0.1:${srv.port}/…`); // origin only: a hook's path or query may be its secret
    const failed = events.find((e) => e.type === 'SinkDeliveryFailed');
    expect(failed?.type === 'SinkDeliveryFailed' && SinkError.isInstance(failed.error)).toBe(true);
  });

  it('rejects a non-http URL and bad options with a ConfigError naming the field', () => {
    const field = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return ConfigError.isInstance(e) ? e.field : 'not a ConfigError'; } return undefined; };
    expect(field(() => new WebhookSink({ url: 'ftp://x/y' }))).toBe('url');
    expect(field(() => new WebhookSink({ url: 'not a url' }))).toBe('url');
    expect(field(() => new WebhookSink({ url: 'http://h/', timeoutMs: -1 }))).toBe('timeoutMs');
    expect(field(() => new WebhookSink({ url: 'http://h/', maxRetries: 1.5 }))).toBe('maxRetries');
    expect(field(() => new WebhookSink({ url: 'http://h/', headers: { 'bad header': 'x' } }))).toBe('headers.bad header');
  });
});
