import { ConfigError } from '@nv/core';
import { Runtime } from '@nv/runtime';
import { SyntheticSource, frameSequence } from '@nv/test-util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { messageId, toOutputSink } from './adapter.js';
import { JsonlFileSink } from './jsonl.js';
import { MqttSink } from './mqtt.js';
import { NatsSink } from './nats.js';
import { removeScratch, scratch } from './test-fixtures.js';
import type { MessageSink } from './types.js';
import { createSink, parseSinkUrl } from './url.js';
import { WebhookSink, webhookTarget } from './webhook.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) removeScratch(d); });

const configError = (f: () => unknown): ConfigError => {
  try { f(); } catch (e) { if (ConfigError.isInstance(e)) return e; throw e; }
  throw new Error('no error');
};

describe('parseSinkUrl / createSink', () => {
  it('picks the sink kind from the scheme and reads the query parameters it knows', () => {
    expect(parseSinkUrl('https://u:p@hooks.example/nv?token=abc')).toEqual({
      kind: 'webhook', target: 'https://hooks.example/…', options: { url: 'https://u:p@hooks.example/nv?token=abc' },
    });
    expect(parseSinkUrl('mqtt://nv:pw@broker:1883/site1/events?qos=0&retain=true&clientId=cam&queueSize=50')).toEqual({
      kind: 'mqtt', target: 'mqtt://***@broker:1883/site1/events?qos=0&retain=true&clientId=cam&queueSize=50',
      options: { url: 'mqtt://nv:pw@broker:1883/site1/events', qos: 0, retain: true, clientId: 'cam', queueSize: 50 },
    });
    expect(parseSinkUrl('mqtts://broker/t').kind).toBe('mqtt');
    expect(parseSinkUrl('nats://nats1:4222/nv.t?servers=nats2:4222,nats3').options).toEqual({ url: 'nats://nats1:4222/nv.t', servers: ['nats2:4222', 'nats3'] });
    expect(parseSinkUrl('nats://tok@nats:4222/nv.events?jetstream=never&maxInFlight=8')).toEqual({
      kind: 'nats', target: 'nats://***@nats:4222/nv.events?jetstream=never&maxInFlight=8',
      options: { url: 'nats://tok@nats:4222/nv.events', jetstream: 'never', maxInFlight: 8 },
    });
    expect(parseSinkUrl('file:///var/nv/events.jsonl?maxBytes=1000&maxFiles=2')).toEqual({
      kind: 'file', target: '/var/nv/events.jsonl', options: { path: '/var/nv/events.jsonl', maxBytes: 1000, maxFiles: 2 },
    });
    expect(parseSinkUrl('file:out/events.jsonl').options).toEqual({ path: 'out/events.jsonl' });
    expect(parseSinkUrl('out/events.jsonl')).toEqual({ kind: 'file', target: 'out/events.jsonl', options: { path: 'out/events.jsonl' } });
    expect(parseSinkUrl('/abs/x.JSONL').kind).toBe('file');
  });

  it('bad URLs are ConfigErrors naming the field (or field.param), with credentials redacted from the message', () => {
    let e = configError(() => parseSinkUrl('ftp://u:hunter2@x/y', { field: '--sink' }));
    expect(e.field).toBe('--sink');
    expect(e.message).toMatch(/unsupported sink URL/);
    expect(e.message).not.toContain('hunter2');
    e = configError(() => parseSinkUrl('mqtt://u:hunter2@h/t?qos=2', { field: '--mqtt' }));
    expect(e.field).toBe('--mqtt.qos');
    e = configError(() => parseSinkUrl('mqtt://u:hunter2@h/t?bogus=1', { field: '--mqtt' }));
    expect(e.field).toBe('--mqtt.bogus');
    expect(e.message).toMatch(/unknown query parameter 'bogus'/);
    e = configError(() => parseSinkUrl('mqtt://u:hunter2@h/a/#', { field: '--mqtt' }));
    expect(e.field).toBe('--mqtt');
    expect(e.message).not.toContain('hunter2');
    e = configError(() => parseSinkUrl('nats://u:hunter2@h/a?jetstream=maybe', { field: 'sinks[1]' }));
    expect(e.field).toBe('sinks[1].jetstream');
    e = configError(() => parseSinkUrl('nats://u:hunter2@/x'));
    expect(e.field).toBe('url');
    expect(configError(() => parseSinkUrl('')).field).toBe('url');
    expect(configError(() => parseSinkUrl('events.json')).field).toBe('url');
    expect(configError(() => parseSinkUrl('file:x.jsonl?maxFiles=0', { field: '--events' })).field).toBe('--events.maxFiles');
  });

  it('createSink makes the right sink, applying common, per-kind and URL options in that order', async () => {
    const d = scratch('url');
    dirs.push(d);
    const made: MessageSink[] = [
      createSink('http://127.0.0.1:9/hook', { name: 'hook', webhook: { maxRetries: 0 } }),
      createSink('mqtt://127.0.0.1:9/t?queueSize=3', { queueSize: 10, mqtt: { queueSize: 20 } }),
      createSink('nats://127.0.0.1:9/s', { nats: { jetstream: 'never' } }),
      createSink(`${join(d, 'e.jsonl')}`),
    ];
    try {
      expect(made[0]).toBeInstanceOf(WebhookSink);
      expect(made[0]!.name).toBe('hook');
      expect(made[1]).toBeInstanceOf(MqttSink);
      for (let i = 0; i < 5; i++) made[1]!.publish({ id: `${i}`, payload: i });
      expect(made[1]!.stats().dropped.overflow).toBe(2); // queueSize 3 from the URL won
      expect(made[2]).toBeInstanceOf(NatsSink);
      expect(made[3]).toBeInstanceOf(JsonlFileSink);
      expect(made.map((s) => s.kind)).toEqual(['webhook', 'mqtt', 'nats', 'file']);
      expect(configError(() => createSink('mqtt://h/t', { field: '--mqtt', mqtt: { maxInFlight: 0 } })).field).toBe('maxInFlight');
    } finally {
      await Promise.all(made.map((s) => s.close({ timeoutMs: 0 })));
    }
  });
});

describe('toOutputSink (a feed of the real runtime into a sink)', () => {
  it("publishes each output as messages with feed:seq:index ids, in frame order, and never holds the feed back", async () => {
    const d = scratch('adapter');
    dirs.push(d);
    const path = join(d, 'outputs.jsonl');
    const file = new JsonlFileSink({ path });
    const rt = new Runtime();
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(30, { fps: 30 })), cameraMode: 'fixed', stages: [],
      sink: toOutputSink(file, (o) => [
        { id: messageId(o.feedId, o.seq, 0), subject: 'outputs', payload: { seq: o.seq, ts: o.ts } },
        ...(o.seq % 10 === 0 ? [{ id: messageId(o.feedId, o.seq, 1), subject: 'events.tick', payload: { seq: o.seq } }] : []),
      ]),
    });
    await feed.done;
    await rt.shutdown();
    expect((await file.close()).abandoned).toBe(0);
    const got = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; subject: string; payload: { seq: number } });
    expect(got).toHaveLength(33);
    expect(got.filter((m) => m.subject === 'outputs').map((m) => m.payload.seq)).toEqual([...Array(30).keys()]);
    expect(got[1]).toMatchObject({ id: `${feed.id}:0:1`, subject: 'events.tick' });
    expect(new Set(got.map((m) => m.id)).size).toBe(33);
  });
});

describe('webhookTarget', () => {
  it('shows only the origin: a secret in the path or query never appears', () => {
    expect(webhookTarget('https://hooks.slack.com/services/T0/B0/XyZsecret')).toBe('https://hooks.slack.com/…');
    expect(webhookTarget('https://u:p@example.com:8443/?key=abc')).toBe('https://example.com:8443/…');
    expect(webhookTarget('https://example.com')).toBe('https://example.com');
    const s = createSink('https://hooks.slack.com/services/T0/B0/XyZsecret');
    expect(JSON.stringify(s.stats())).not.toMatch(/XyZsecret/);
    void s.close({ timeoutMs: 0 });
  });
});
