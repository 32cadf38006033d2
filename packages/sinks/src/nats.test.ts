import { ConfigError } from '@nv/core';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatsSink } from './nats.js';
import { NATS_SERVER, freeTcpPort, removeScratch, scratch, startNatsServer, waitFor, type BrokerProcess } from './test-fixtures.js';
import type { SinkHealthEvent } from './types.js';

const ids = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

/**
 * Every message id stored in stream `NV` on `subject`: the stream's own per-subject count, then
 * that many messages read with an ordered consumer.
 */
async function streamIds(nc: NatsConnection, subject: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('NV', { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return [];
  const c = await jetstream(nc).consumers.get('NV', { filter_subjects: subject }); // a string: nats-server 2.9 knows only filter_subject
  const out: string[] = [];
  for await (const m of await c.fetch({ max_messages: count, expires: 5000 })) {
    out.push((m.json() as { id: string }).id);
    if (out.length === count) break;
  }
  return out;
}

describe.skipIf(NATS_SERVER === undefined)('NatsSink against a real nats-server (JetStream)', () => {
  let storeDir: string;
  let server: BrokerProcess;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const sinks: NatsSink[] = [];
  const track = (s: NatsSink): NatsSink => { sinks.push(s); return s; };

  beforeAll(async () => {
    storeDir = scratch('nats');
    server = await startNatsServer({ storeDir });
    nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'NV', subjects: ['nv.js.>'] });
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close({ timeoutMs: 0 })));
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await server?.stop('SIGKILL');
    if (storeDir) removeScratch(storeDir);
  });

  it('core publish where no stream covers the subject: subscribers get every message, in order, on base.subject.<subject>', async () => {
    const got: { subject: string; id: string }[] = [];
    const sub = nc.subscribe('nv.core.>', { callback: (_e, m) => { got.push({ subject: m.subject, id: (m.json() as { id: string }).id }); } });
    await nc.flush();
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv.core` }));
    for (const id of ids('c', 0, 50)) s.publish({ id, subject: 'events.lineCrossed', payload: { id } });
    await waitFor(() => s.stats().delivered === 50 && got.length === 50, '50 delivered and received');
    expect(got.map((g) => g.id)).toEqual(ids('c', 0, 50));
    expect(got[0]!.subject).toBe('nv.core.events.lineCrossed');
    expect(s.stats()).toMatchObject({ core: 50, jetstream: 0, duplicates: 0, connected: true, dropped: { total: 0 } });
    sub.unsubscribe();
  });

  it('JetStream where a stream covers the subject, with msgID = id: a repeated id is acknowledged as a duplicate and stored once', async () => {
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv` }));
    for (const id of ids('j', 0, 10)) s.publish({ id, subject: 'js.dedupe', payload: { id } });
    s.publish({ id: 'j5', subject: 'js.dedupe', payload: { id: 'j5', again: true } });
    s.publish({ id: 'k0', subject: 'core.other', payload: {} }); // no stream: core, same sink
    await waitFor(() => s.stats().delivered === 12, '12 delivered');
    expect(s.stats()).toMatchObject({ jetstream: 11, duplicates: 1, core: 1 });
    expect(await streamIds(nc, 'nv.js.dedupe')).toEqual(ids('j', 0, 10));
  });

  it("jetstream: 'never' publishes core even onto a stream's subject (the stream still captures it, without dedupe)", async () => {
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv.js.never`, jetstream: 'never' }));
    s.publish({ id: 'n0', payload: 0 });
    s.publish({ id: 'n0', payload: 0 });
    await waitFor(() => s.stats().delivered === 2, 'delivered');
    expect(s.stats()).toMatchObject({ core: 2, jetstream: 0 });
    await waitFor(async () => (await streamIds(nc, 'nv.js.never')).length === 2, 'both stored (no dedupe on core)');
  });

  it("jetstream: 'always' with no stream for the subject: retried, then counted failed with SinkDeliveryFailed (Rejected)", async () => {
    const events: SinkHealthEvent[] = [];
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv.nostream`, jetstream: 'always', maxRetries: 2, backoff: { initialMs: 10, maxMs: 20 }, onHealth: (e) => events.push(e) }));
    s.publish({ id: 'lost', payload: 1 });
    await waitFor(() => s.stats().dropped.failed === 1, 'given up');
    expect(events.find((e) => e.type === 'SinkDeliveryFailed')).toMatchObject({ id: 'lost', attempts: 3, error: { kind: 'Rejected' } });
    expect(s.stats()).toMatchObject({ retries: 2, delivered: 0, connected: true });
  });

  it('server restarted mid-stream (same port, same store): outage messages arrive after the reconnect, bounded, with no duplicates in the stream', async () => {
    const events: SinkHealthEvent[] = [];
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv.js.restart`, reconnectTimeWaitMs: 100, ackTimeoutMs: 1000, connectTimeoutMs: 1000, backoff: { initialMs: 50, maxMs: 300 }, onHealth: (e) => events.push(e) }));
    const small = track(new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv.js.small`, reconnectTimeWaitMs: 100, ackTimeoutMs: 1000, connectTimeoutMs: 1000, backoff: { initialMs: 50, maxMs: 300 }, queueSize: 10 }));
    await waitFor(() => s.stats().connected && small.stats().connected, 'connected');
    // A steady stream, one message every 5 ms; the server goes down once 20 are acknowledged,
    // with more in flight, and stays down while the rest are published.
    let next = 0;
    const total = 80;
    const pump = setInterval(() => { if (next < total) { const id = `r${next++}`; s.publish({ id, payload: { id } }); } }, 5);
    try {
      await waitFor(() => s.stats().delivered >= 20, '20 acknowledged');
      await server.stop('SIGTERM');
      await waitFor(() => !s.stats().connected && !small.stats().connected, 'sinks see the server gone');
      expect(events.some((e) => e.type === 'SinkDisconnected')).toBe(true);
      await waitFor(() => next === total, 'all published');
    } finally {
      clearInterval(pump);
    }
    expect(s.stats().delivered).toBeLessThan(total);
    for (const id of ids('s', 0, 25)) small.publish({ id, payload: { id } });
    expect(small.stats().dropped.overflow).toBe(15);
    await server.start();
    await waitFor(() => s.stats().delivered === total && small.stats().delivered === 10, 'outage messages delivered', 20_000);
    expect(events.some((e) => e.type === 'SinkReconnected')).toBe(true);
    const stored = await waitFor(async () => { const x = await streamIds(nc, 'nv.js.restart'); return x.length >= total ? x : undefined; }, `stream has ${total}`, 10_000);
    expect(stored).toHaveLength(total); // no duplicates
    expect([...stored].sort()).toEqual(ids('r', 0, total).sort());
    expect(await streamIds(nc, 'nv.js.small')).toEqual(ids('s', 15, 25));
    expect(s.stats()).toMatchObject({ dropped: { total: 0 }, jetstream: total });
  });

  it('user/password auth: right credentials deliver; wrong ones are Unauthorized, and neither password ever shows', async () => {
    const password = 'p@ss:w0rd/9';
    const authServer = await startNatsServer({ args: ['--user', 'nvuser', '--pass', password] });
    try {
      const anc = await connect({ servers: `127.0.0.1:${authServer.port}`, user: 'nvuser', pass: password });
      const got: string[] = [];
      anc.subscribe('nv.auth.>', { callback: (_e, m) => { got.push((m.json() as { id: string }).id); } });
      await anc.flush();
      const good = track(new NatsSink({ url: `nats://nvuser:${encodeURIComponent(password)}@127.0.0.1:${authServer.port}/nv.auth` }));
      good.publish({ id: 'a0', subject: 'x', payload: 1 });
      await waitFor(() => got.length === 1, 'authorized message');
      const wrong = 'Wr0ng-pass-777';
      const events: SinkHealthEvent[] = [];
      const bad = track(new NatsSink({ url: `nats://nvuser:${wrong}@127.0.0.1:${authServer.port}/nv.auth`, reconnectTimeWaitMs: 100, onHealth: (e) => events.push(e) }));
      bad.publish({ id: 'b0', subject: 'x', payload: 1 });
      await waitFor(() => events.find((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
      const down = events.find((e) => e.type === 'SinkDisconnected');
      expect(down?.type === 'SinkDisconnected' && down.error?.kind).toBe('Unauthorized');
      const shown = JSON.stringify([good.target, good.stats(), bad.target, bad.stats(), events, events.map((e) => ('error' in e ? e.error?.message : ''))]);
      for (const secret of [password, encodeURIComponent(password), wrong]) expect(shown).not.toContain(secret);
      expect(bad.target).toBe(`nats://***@127.0.0.1:${authServer.port}/nv.auth`);
      await anc.close();
    } finally {
      await authServer.stop('SIGKILL');
    }
  });

  it('close while the server is unreachable returns within its timeout (+ slack) and counts what it abandoned', async () => {
    const port = await freeTcpPort();
    const events: SinkHealthEvent[] = [];
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${port}/nv.down`, onHealth: (e) => events.push(e) }));
    for (let i = 0; i < 7; i++) s.publish({ id: `d${i}`, payload: i });
    await waitFor(() => events.some((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
    const t0 = performance.now();
    const r = await s.close({ timeoutMs: 400 });
    expect(performance.now() - t0).toBeLessThan(400 + 2000);
    expect(r).toEqual({ delivered: 0, abandoned: 7, timedOut: true });
    expect(s.stats().dropped.shutdown).toBe(7);
  });

  it('servers: with the URL\'s server down at start, the sink connects to another one of the list and delivers', async () => {
    const dead = await freeTcpPort();
    const s = track(new NatsSink({ url: `nats://127.0.0.1:${dead}/nv.js.alt`, servers: [`127.0.0.1:${server.port}`] }));
    for (const id of ids('alt', 0, 20)) s.publish({ id, payload: id });
    await waitFor(() => s.stats().delivered === 20, '20 delivered through the second server');
    expect(await streamIds(nc, 'nv.js.alt')).toEqual(ids('alt', 0, 20));
    expect(s.stats()).toMatchObject({ jetstream: 20, connected: true });
  });

  it('close with the server up delivers what is buffered first', async () => {
    const s = new NatsSink({ url: `nats://127.0.0.1:${server.port}/nv.js.close` });
    for (const id of ids('z', 0, 200)) s.publish({ id, payload: id });
    const r = await s.close({ timeoutMs: 5000 });
    expect(r).toEqual({ delivered: 200, abandoned: 0, timedOut: false });
    expect(await streamIds(nc, 'nv.js.close')).toHaveLength(200);
  });

  it('refuses bad URLs and options with a ConfigError naming the field', () => {
    const field = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return ConfigError.isInstance(e) ? e.field : 'not a ConfigError'; } return undefined; };
    expect(field(() => new NatsSink({ url: 'mqtt://h/x' }))).toBe('url');
    expect(field(() => new NatsSink({ url: 'nats://h/a..b' }))).toBe('url');
    expect(field(() => new NatsSink({ url: 'nats://h/a.*' }))).toBe('url');
    expect(field(() => new NatsSink({ url: 'nats://h/a', jetstream: 'sometimes' as never }))).toBe('jetstream');
    expect(field(() => new NatsSink({ url: 'nats://h/a', maxInFlight: 0 }))).toBe('maxInFlight');
    expect(field(() => new NatsSink({ url: 'nats://h/a', servers: ['u:p@h2:4222'] }))).toBe('servers');
    expect(field(() => new NatsSink({ url: 'nats://h/a', servers: ['h2:4222/x'] }))).toBe('servers');
    expect(field(() => new NatsSink({ url: 'nats://h/a', servers: 'h2' as never }))).toBe('servers');
  });
});
