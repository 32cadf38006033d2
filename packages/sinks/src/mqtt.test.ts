import { ConfigError } from '@nv/core';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttSink } from './mqtt.js';
import {
  MOSQUITTO, MOSQUITTO_PASSWD, freeTcpPort, mosquittoPasswordFile, removeScratch, scratch, startMosquitto, waitFor, type BrokerProcess,
} from './test-fixtures.js';
import type { SinkHealthEvent } from './types.js';

interface Received { topic: string; id: string; body: { id: string; subject?: string; payload: unknown } }

/** A subscriber (mqtt.js) that records what it gets. */
async function subscriber(port: number, topic: string, opts: IClientOptions = {}): Promise<{ client: MqttClient; got: Received[] }> {
  const got: Received[] = [];
  const client = connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 100, connectTimeout: 2000, ...opts });
  client.on('error', () => { /* reconnects */ });
  client.on('message', (t, payload) => {
    const body = JSON.parse(payload.toString()) as Received['body'];
    got.push({ topic: t, id: body.id, body });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    setTimeout(() => reject(new Error('subscriber did not connect')), 5000);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, got };
}

const ids = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
const firstSeen = (got: Received[], prefix: string): string[] => [...new Set(got.map((g) => g.id).filter((id) => id.startsWith(prefix)))];

describe.skipIf(MOSQUITTO === undefined)('MqttSink against a real mosquitto', () => {
  let dir: string;
  let broker: BrokerProcess;
  const sinks: MqttSink[] = [];
  const clients: MqttClient[] = [];
  const others: BrokerProcess[] = [];
  const track = <T extends MqttSink>(s: T): T => { sinks.push(s); return s; };

  beforeAll(async () => {
    dir = scratch('mqtt');
    broker = await startMosquitto(dir);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close({ timeoutMs: 0 })));
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await broker?.stop('SIGKILL');
    for (const b of others) await b.stop('SIGKILL');
    if (dir) removeScratch(dir);
  });

  it('publishes each message to base/topic/<subject levels> at QoS 1, body {id, subject, payload}, in order; hands the client at most maxInFlight', async () => {
    const sub = await subscriber(broker.port, 'nv/t/#');
    clients.push(sub.client);
    const s = track(new MqttSink({ url: `mqtt://127.0.0.1:${broker.port}/nv/t`, maxInFlight: 8 }));
    await waitFor(() => s.stats().connected, 'sink connected');
    for (let i = 0; i < 300; i++) s.publish({ id: `m${i}`, subject: i % 2 ? 'events.lineCrossed' : undefined, payload: { i } });
    await new Promise((r) => setTimeout(r, 0));
    expect(s.stats().inFlight).toBeLessThanOrEqual(8);
    await waitFor(() => s.stats().delivered === 300 && sub.got.length >= 300, '300 delivered and received');
    expect(firstSeen(sub.got, 'm')).toEqual(ids('m', 0, 300));
    expect(sub.got[0]).toMatchObject({ topic: 'nv/t', body: { id: 'm0', payload: { i: 0 } } });
    expect(sub.got[1]).toMatchObject({ topic: 'nv/t/events/lineCrossed', body: { id: 'm1', subject: 'events.lineCrossed', payload: { i: 1 } } });
    expect(s.stats()).toMatchObject({ kind: 'mqtt', target: `mqtt://127.0.0.1:${broker.port}/nv/t`, dropped: { total: 0 }, inFlight: 0, queued: 0 });
  });

  it('QoS 0 works too', async () => {
    const sub = await subscriber(broker.port, 'nv/q0/#');
    clients.push(sub.client);
    const s = track(new MqttSink({ url: `mqtt://127.0.0.1:${broker.port}/nv/q0`, qos: 0 }));
    for (let i = 0; i < 20; i++) s.publish({ id: `z${i}`, payload: i });
    await waitFor(() => sub.got.length === 20, '20 received');
    expect(s.stats().delivered).toBe(20);
  });

  it('broker killed mid-stream and restarted on the same port: outage messages are kept (bounded, overflow counted) and delivered after the reconnect', async () => {
    // A persistent-session subscriber (clean: false), so the broker (persistence on, saved at
    // SIGTERM) queues for it whatever arrives before it has reconnected itself.
    const sub = await subscriber(broker.port, 'nv/r/#', { clean: false, clientId: 'nv-sinks-test-sub' });
    clients.push(sub.client);
    const events: SinkHealthEvent[] = [];
    const s = track(new MqttSink({ url: `mqtt://127.0.0.1:${broker.port}/nv/r/a`, reconnectPeriodMs: 200, onHealth: (e) => events.push(e) }));
    const small = track(new MqttSink({ url: `mqtt://127.0.0.1:${broker.port}/nv/r/b`, reconnectPeriodMs: 200, queueSize: 10 }));
    await waitFor(() => s.stats().connected && small.stats().connected, 'sinks connected');
    for (const id of ids('a', 0, 20)) s.publish({ id, payload: id });
    await waitFor(() => s.stats().delivered === 20 && firstSeen(sub.got, 'a').length === 20, 'first 20');

    await broker.stop('SIGTERM');
    await waitFor(() => !s.stats().connected && !small.stats().connected, 'sinks see the broker gone');
    expect(events.find((e) => e.type === 'SinkDisconnected')).toBeDefined();
    for (const id of ids('a', 20, 50)) expect(s.publish({ id, payload: id })).toBe(true);
    for (const id of ids('b', 0, 30)) small.publish({ id, payload: id });
    expect(s.stats()).toMatchObject({ queued: 30, connected: false });
    expect(small.stats()).toMatchObject({ queued: 10, dropped: { overflow: 20 } });

    await broker.start();
    await waitFor(() => s.stats().delivered === 50 && small.stats().delivered === 10, 'outage messages delivered', 15_000);
    await waitFor(() => firstSeen(sub.got, 'a').length === 50 && firstSeen(sub.got, 'b').length === 10, 'outage messages received', 15_000);
    expect(firstSeen(sub.got, 'a')).toEqual(ids('a', 0, 50));
    expect(firstSeen(sub.got, 'b')).toEqual(ids('b', 20, 30)); // dropOldest kept the newest ten
    expect(events.some((e) => e.type === 'SinkReconnected')).toBe(true);
    expect(s.stats()).toMatchObject({ connected: true, reconnects: 1, dropped: { total: 0 } });
  });

  it.skipIf(MOSQUITTO_PASSWD === undefined)('username/password auth: right credentials deliver; wrong ones are Unauthorized; the password never shows', async () => {
    const authDir = scratch('mqtt-auth');
    const password = 'pa55:w@rd/x';
    const file = mosquittoPasswordFile(authDir, 'nvuser', password);
    const authBroker = await startMosquitto(authDir, ['allow_anonymous false', `password_file ${file}`]);
    others.push(authBroker);
    try {
      const sub = await subscriber(authBroker.port, 'nv/auth/#', { username: 'nvuser', password });
      clients.push(sub.client);
      const url = `mqtt://nvuser:${encodeURIComponent(password)}@127.0.0.1:${authBroker.port}/nv/auth`;
      const good = track(new MqttSink({ url }));
      for (const id of ids('g', 0, 3)) good.publish({ id, payload: id });
      await waitFor(() => sub.got.length === 3, 'authorized messages received');

      const events: SinkHealthEvent[] = [];
      const wrong = 'wrong-Pa55-999';
      const bad = track(new MqttSink({ url: `mqtt://nvuser:${wrong}@127.0.0.1:${authBroker.port}/nv/auth`, reconnectPeriodMs: 100, onHealth: (e) => events.push(e) }));
      bad.publish({ id: 'never', payload: 1 });
      await waitFor(() => events.find((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
      const down = events.find((e) => e.type === 'SinkDisconnected');
      expect(down?.type === 'SinkDisconnected' && down.error?.kind).toBe('Unauthorized');
      expect(bad.stats()).toMatchObject({ connected: false, delivered: 0, queued: 1 });
      const r = await bad.close({ timeoutMs: 200 });
      expect(r.abandoned).toBe(1);
      const shown = JSON.stringify([good.target, good.stats(), bad.target, bad.stats(), events, events.map((e) => ('error' in e ? e.error?.message : ''))]);
      expect(shown).not.toContain(password);
      expect(shown).not.toContain(encodeURIComponent(password));
      expect(shown).not.toContain(wrong);
      expect(good.target).toBe(`mqtt://***@127.0.0.1:${authBroker.port}/nv/auth`);
      expect(sub.got.every((g) => !JSON.stringify(g).includes(password))).toBe(true);
    } finally {
      await authBroker.stop('SIGKILL');
      removeScratch(authDir);
    }
  });

  it('close while the broker is unreachable returns within its timeout (+ slack) and counts what it abandoned', async () => {
    const port = await freeTcpPort();
    const events: SinkHealthEvent[] = [];
    const s = track(new MqttSink({ url: `mqtt://127.0.0.1:${port}/nv/down`, onHealth: (e) => events.push(e) }));
    for (let i = 0; i < 5; i++) s.publish({ id: `d${i}`, payload: i });
    await waitFor(() => events.some((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
    const t0 = performance.now();
    const r = await s.close({ timeoutMs: 500 });
    expect(performance.now() - t0).toBeLessThan(500 + 2000);
    expect(r).toEqual({ delivered: 0, abandoned: 5, timedOut: true });
    expect(s.stats().dropped.shutdown).toBe(5);
    expect(events.filter((e) => e.type === 'SinkDropped').reduce((n, e) => n + (e.type === 'SinkDropped' ? e.count : 0), 0)).toBe(5);
  });

  it('close with the broker up delivers what is buffered first', async () => {
    const sub = await subscriber(broker.port, 'nv/c/#');
    clients.push(sub.client);
    const s = new MqttSink({ url: `mqtt://127.0.0.1:${broker.port}/nv/c` });
    for (let i = 0; i < 100; i++) s.publish({ id: `c${i}`, payload: i });
    const r = await s.close({ timeoutMs: 5000 });
    expect(r).toEqual({ delivered: 100, abandoned: 0, timedOut: false });
    await waitFor(() => firstSeen(sub.got, 'c').length === 100, 'all received');
  });

  it('refuses bad URLs and options (ConfigError naming the field) and a message without subject when there is no base topic', async () => {
    const field = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return ConfigError.isInstance(e) ? e.field : 'not a ConfigError'; } return undefined; };
    expect(field(() => new MqttSink({ url: 'http://x/y' }))).toBe('url');
    expect(field(() => new MqttSink({ url: 'mqtt://h/a/+/b' }))).toBe('url');
    expect(field(() => new MqttSink({ url: 'mqtt://h/a?qos=1' }))).toBe('url');
    expect(field(() => new MqttSink({ url: 'mqtt://h/a', qos: 2 as never }))).toBe('qos');
    const s = track(new MqttSink({ url: `mqtt://127.0.0.1:${broker.port}` }));
    expect(s.publish({ id: 'x', payload: 1 })).toBe(false);
    expect(s.publish({ id: 'y', subject: 'only.subject', payload: 1 })).toBe(true);
    expect(s.stats().dropped.rejected).toBe(1);
  });
});
