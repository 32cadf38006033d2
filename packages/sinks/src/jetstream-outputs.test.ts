/**
 * Outputs in JetStream against a real nats-server: the bounded stream, outputs published by a
 * `NatsSink` with their ids (a retry stored once), and one feed's outputs read back in order —
 * duplicates that got past the server's dedupe window dropped, a gap reported, another feed's
 * outputs not mixed in, a new producer run restarting the order.
 */
import { ConfigError } from '@nv/core';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOutputStream, readFeedOutputs, type FeedOutputGap } from './jetstream-outputs.js';
import { NatsSink } from './nats.js';
import { startNatsTestCluster } from '@nv/test-util';
import { NATS_SERVER, removeScratch, scratch, startNatsServer, waitFor, type BrokerProcess } from './test-fixtures.js';

const out = (run: string, feed: number, seq: number) => ({ id: `${run}-${feed}:${seq}:out`, subject: `f${feed}.outputs`, payload: { seq, feed } });

describe.skipIf(NATS_SERVER === undefined)('JetStream outputs (real nats-server)', () => {
  let storeDir: string;
  let server: BrokerProcess;
  let url: string;
  let nc: NatsConnection;

  beforeAll(async () => {
    storeDir = scratch('nats-outputs');
    server = await startNatsServer({ storeDir });
    url = `nats://127.0.0.1:${server.port}`;
    nc = await connect({ servers: `127.0.0.1:${server.port}` });
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await server?.stop('SIGKILL');
    if (storeDir) removeScratch(storeDir);
  });

  it('creates a bounded stream, then updates its bounds; bad options are typed', async () => {
    const a = await ensureOutputStream({ url, name: 'OUT_A', subjects: ['nv.a.>'], maxAgeMs: 3_600_000, maxBytes: 8 * 1024 * 1024, duplicateWindowMs: 60_000 });
    expect(a).toMatchObject({ name: 'OUT_A', created: true, subjects: ['nv.a.>'], maxAgeMs: 3_600_000, maxBytes: 8 * 1024 * 1024, duplicateWindowMs: 60_000 });
    const b = await ensureOutputStream({ url, name: 'OUT_A', subjects: ['nv.a.>'], maxBytes: 4 * 1024 * 1024 });
    expect(b).toMatchObject({ created: false, maxBytes: 4 * 1024 * 1024 });
    const info = await (await jetstreamManager(nc)).streams.info('OUT_A');
    expect(info.config).toMatchObject({ max_bytes: 4 * 1024 * 1024, discard: 'old' });
    await expect(ensureOutputStream({ url, subjects: [] })).rejects.toThrow(ConfigError);
    await expect(ensureOutputStream({ url, subjects: ['x.>'], maxBytes: 0 })).rejects.toThrow(/maxBytes/);
    await expect(ensureOutputStream({ url: 'nats://127.0.0.1:9', subjects: ['x.>'] })).rejects.toThrow(/cannot connect/);
  });

  it('reads one feed in order: a retried publish stored once, a late duplicate dropped, a gap reported, the other feed left out, a new run restarts', async () => {
    await ensureOutputStream({ url, name: 'OUT_B', subjects: ['nv.b.>'], duplicateWindowMs: 1000, maxAgeMs: 60_000 });
    const sink = new NatsSink({ url: `${url}/nv.b` });
    for (const seq of [0, 1, 2, 3, 4]) sink.publish(out('r1', 1, seq));
    sink.publish(out('r1', 1, 4)); // a retry within the dedupe window: the server stores it once
    sink.publish(out('r1', 2, 0)); // another feed
    await waitFor(() => sink.stats().delivered === 7, '7 delivered');
    await new Promise((r) => setTimeout(r, 1200)); // past the dedupe window
    sink.publish(out('r1', 1, 3)); // a late duplicate the server stores
    for (const seq of [7, 8]) sink.publish(out('r1', 1, seq)); // 5 and 6 never sent: a gap
    for (const seq of [0, 1]) sink.publish(out('r2', 1, seq)); // nv restarted: a new run
    await waitFor(() => sink.stats().delivered === 12, '12 delivered');
    const js = sink.stats();
    await sink.close();
    expect(js).toMatchObject({ jetstream: 12, duplicates: 1 });
    const gaps: FeedOutputGap[] = [];
    const reader = readFeedOutputs({ url, stream: 'OUT_B', subject: 'nv.b.f1.outputs', idleMs: 1000, onGap: (g) => gaps.push(g) });
    const got: string[] = [];
    for await (const o of reader) got.push(o.id);
    expect(got).toEqual(['r1-1:0:out', 'r1-1:1:out', 'r1-1:2:out', 'r1-1:3:out', 'r1-1:4:out', 'r1-1:7:out', 'r1-1:8:out', 'r2-1:0:out', 'r2-1:1:out']);
    expect(gaps).toEqual([{ expected: 5, got: 7, count: 2 }]);
    expect(reader.stats()).toEqual({ received: 10, delivered: 9, duplicates: 1, gaps: 1, missing: 2, malformed: 0, runs: 2, stale: 0, resumes: 0 });
  });

  it('drops the late outputs of a former cluster owner: a fence token below the newest seen is stale, whatever its seq', async () => {
    await ensureOutputStream({ url, name: 'OUT_F', subjects: ['nv.f.>'], maxAgeMs: 60_000, duplicateWindowMs: 10_000 });
    const sink = new NatsSink({ url: `${url}/nv.f` });
    const fenced = (run: string, seq: number, node: string, token: number) => ({ ...out(run, 1, seq), payload: { seq, feed: 1, fence: { node, token } } });
    for (const seq of [0, 1, 2]) sink.publish(fenced('n1a', seq, 'n1', 5));
    for (const seq of [0, 1]) sink.publish(fenced('n2a', seq, 'n2', 9)); // n2 took the feed (lease 9)
    for (const seq of [3, 4]) sink.publish(fenced('n1a', seq, 'n1', 5)); // n1, partitioned, delivers its queue late
    sink.publish(fenced('n2a', 2, 'n2', 9));
    await waitFor(() => sink.stats().delivered === 8, '8 delivered');
    await sink.close();
    const reader = readFeedOutputs({ url, stream: 'OUT_F', subject: 'nv.f.f1.outputs', idleMs: 1000 });
    const got: string[] = [];
    for await (const o of reader) got.push(o.id);
    expect(got).toEqual(['n1a-1:0:out', 'n1a-1:1:out', 'n1a-1:2:out', 'n2a-1:0:out', 'n2a-1:1:out', 'n2a-1:2:out']);
    expect(reader.stats()).toMatchObject({ delivered: 6, stale: 2, duplicates: 0, gaps: 0, runs: 2 });
  });

  it('a bounded stream drops its oldest past maxBytes; the reader starts where the stream does', async () => {
    await ensureOutputStream({ url, name: 'OUT_C', subjects: ['nv.c.>'], maxBytes: 4096 });
    const sink = new NatsSink({ url: `${url}/nv.c` });
    for (let seq = 0; seq < 100; seq++) sink.publish(out('r1', 1, seq));
    await waitFor(() => sink.stats().delivered === 100, '100 delivered');
    await sink.close();
    const info = await (await jetstreamManager(nc)).streams.info('OUT_C');
    expect(info.state.bytes).toBeLessThanOrEqual(4096);
    const reader = readFeedOutputs({ url, stream: 'OUT_C', subject: 'nv.c.f1.outputs', idleMs: 1000 });
    const seqs: number[] = [];
    for await (const o of reader) seqs.push(o.seq);
    expect(seqs.length).toBe(info.state.messages);
    expect(seqs.length).toBeLessThan(100);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 100 - seqs.length + i)); // the newest, in order, no gap
  });

  it('ends at once with the error on a server without JetStream; an abort ends it while its server is down', async () => {
    const plain = await startNatsServer();
    try {
      const r = readFeedOutputs({ url: `nats://127.0.0.1:${plain.port}`, subject: 'nv.x.f.outputs', idleMs: 60_000 });
      const t0 = Date.now();
      await expect((async () => { for await (const _ of r) { /* nothing */ } })()).rejects.toThrow(/jetstream|no responders/i);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await plain.stop('SIGKILL');
    }
    // A reader waiting on a server that then dies: aborting ends the iteration (no throw, no hang).
    const dir = scratch('nats-outputs-abort');
    const down = await startNatsServer({ storeDir: dir });
    try {
      const u = `nats://127.0.0.1:${down.port}`;
      await ensureOutputStream({ url: u, name: 'OUT_D', subjects: ['nv.d.>'] });
      const ac = new AbortController();
      const r = readFeedOutputs({ url: u, stream: 'OUT_D', subject: 'nv.d.f.outputs', signal: ac.signal });
      const done = (async () => { for await (const _ of r) { /* nothing arrives */ } return 'ended'; })();
      await new Promise((res) => setTimeout(res, 1500));
      await down.stop('SIGKILL');
      await new Promise((res) => setTimeout(res, 1500));
      const t0 = Date.now();
      ac.abort();
      expect(await done).toBe('ended');
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      removeScratch(dir);
    }
  }, 30_000);

  it('refuses a wildcard subject and a bad idle time', () => {
    expect(() => readFeedOutputs({ url, subject: 'nv.>' })).toThrow(ConfigError);
    expect(() => readFeedOutputs({ url, subject: 'nv.x.outputs', idleMs: -1 })).toThrow(/idleMs/);
  });
});

describe.skipIf(NATS_SERVER === undefined)('JetStream outputs on a 3-server NATS cluster', () => {
  it('a reader started as the server leading the stream dies waits out the election: every output once, in order, none skipped', async () => {
    const nats = await startNatsTestCluster({ size: 3 });
    const sink = new NatsSink({ url: `${nats.servers[0]!.url}/nv.c` });
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      await ensureOutputStream({ url: nats.servers[0]!.url, name: 'OUT_C', subjects: ['nv.c.>'], replicas: 3 });
      const nc = await connect({ servers: nats.servers[0]!.url });
      const leader = (await (await jetstreamManager(nc)).streams.info('OUT_C')).cluster?.leader;
      await nc.close();
      const victim = nats.servers.find((s) => s.name === leader)!;
      const readVia = nats.servers.find((s) => s !== victim)!;
      let seq = 0;
      timer = setInterval(() => { sink.publish(out('r1', 1, seq++)); }, 50);
      await waitFor(() => sink.stats().delivered >= 20, '20 outputs stored');
      await victim.stop('SIGKILL');
      // Read from the start while the stream has no leader: the reader asks again until it has one.
      const reader = readFeedOutputs({ url: readVia.url, stream: 'OUT_C', subject: 'nv.c.f1.outputs', signal: ac.signal });
      const seen: number[] = [];
      const guard = setTimeout(() => ac.abort(), 60_000);
      for await (const o of reader) {
        seen.push(o.seq);
        if (seen.length === 300) break; // 15 s of outputs, a leader election in them
      }
      clearTimeout(guard);
      expect(ac.signal.aborted).toBe(false);
      expect(seen).toEqual(seen.map((_, i) => i)); // none skipped, none twice
      expect(reader.stats()).toMatchObject({ delivered: 300, duplicates: 0, gaps: 0, stale: 0 });
      expect(reader.stats().resumes).toBeGreaterThan(0);
      console.log(`[outputs] reader across a stream leader's death: ${JSON.stringify(reader.stats())}`);
    } finally {
      clearInterval(timer);
      ac.abort();
      await sink.close({ timeoutMs: 1000 });
      await nats.close();
    }
  }, 90_000);
});
