/**
 * `nv cluster apply|status` and three `nv node` processes (the built CLI) on a 3-server NATS
 * cluster with JetStream R3, all on 127.0.0.1: feeds spread 2/1/1, outputs in the cluster's
 * stream with their fence, a node killed with SIGKILL (its feeds start elsewhere within the
 * lease TTL and their outputs continue, nothing stored twice), the NATS server leading the
 * leases bucket killed (nothing moves, outputs continue), `GET /api/cluster`, a node stopped
 * with SIGTERM (hands over at once, exits 0), and the commands' bad inputs.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NATS_SERVER_BIN, freeTcpPort, startNatsTestCluster, type NatsTestCluster } from '@nv/test-util';
import { readFeedOutputs } from '@nv/sinks';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from './index.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
/** The lease TTL: the default, which leaves 12 s of NATS outage (a leader election took up to 8.3 s) before a node stops its feeds. */
const TTL = 15_000;
const FEEDS = ['gate', 'dock', 'yard', 'lobby'];

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try { const v = await cond(); if (v) return v as NonNullable<T>; } catch (e) { last = e; }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface NodeProc { readonly name: string; readonly proc: ChildProcess; out: string; err: string; exit: Promise<number | null> }

interface StatusJson {
  feeds: { name: string; owner?: string; token?: number; state: string; frames?: number }[];
  nodes: { name: string; feeds: number; url?: string }[];
}

describe.skipIf(NATS_SERVER_BIN === undefined || !existsSync(bin))('nv cluster + three nv node processes on a 3-server NATS cluster', () => {
  let nats: NatsTestCluster;
  let dir: string;
  let cfg: string;
  let nc: NatsConnection;
  const nodes = new Map<string, NodeProc>();

  const status = async (): Promise<StatusJson> => {
    const c = capture();
    expect(await runCli(['cluster', 'status', '--nats', nats.urls, '--cluster', 't', '--json'], { io: c.io })).toBe(EXIT.ok);
    return JSON.parse(c.out[0]!) as StatusJson;
  };
  const startNode = (name: string, servers = nats.urls): NodeProc => {
    const proc = spawn(process.execPath, [bin, 'node', '--nats', servers, '--cluster', 't', '--name', name, '--port', '0', '--tick-ms', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const n: NodeProc = { name, proc, out: '', err: '', exit: new Promise((r) => proc.once('exit', (code) => r(code))) };
    proc.stdout!.on('data', (d: Buffer) => { n.out += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { n.err += d.toString(); });
    nodes.set(name, n);
    return n;
  };
  /**
   * The first output of `feed` stored after now whose fence passes `accept`, and when it was read
   * back — through `readFeedOutputs` on a server that is up (it rides out leader elections).
   */
  const nextOutput = async (feed: string, accept: (fence: { node: string; token: number }) => boolean, timeoutMs: number) => {
    const ac = new AbortController();
    const guard = setTimeout(() => ac.abort(), timeoutMs);
    const via = nats.servers.find((s) => s.running)!;
    const reader = readFeedOutputs({ url: via.url, stream: 'NV_t_OUTPUTS', subject: `nv.t.${feed}.outputs`, from: 'new', signal: ac.signal });
    try {
      for await (const o of reader) {
        const fence = (o.payload as { fence?: { node: string; token: number } }).fence;
        if (fence && accept(fence)) return { at: Date.now(), fence, id: o.id, resumes: reader.stats().resumes };
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    } finally {
      clearTimeout(guard);
      ac.abort();
    }
    // What the nodes said last, in the error itself (CI shows the failure, not the logs).
    const said = [...nodes.values()].map((n) => `${n.name}${n.proc.exitCode !== null || n.proc.signalCode !== null ? ' (exited)' : ''}: ${n.err.trim().split('\n').slice(-4).join(' | ')}`).join('\n');
    throw new Error(`no output of ${feed} within ${timeoutMs} ms (reader ${JSON.stringify(reader.stats())})\n${said}`);
  };

  beforeAll(async () => {
    nats = await startNatsTestCluster({ size: 3 });
    nc = await connect({ servers: nats.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    dir = mkdtempSync(join(tmpdir(), 'nv-cluster-'));
    cfg = join(dir, 'cluster.yaml');
    writeFileSync(cfg, [
      'feeds:',
      ...FEEDS.flatMap((name, i) => [
        `  - name: ${name}`,
        `    source: { kind: testPattern, pattern: ${i % 2 === 0 ? 'ball' : 'smpte'}, width: 160, height: 120, fps: 10, live: true }`,
        '    cameraMode: fixed',
      ]),
      '',
    ].join('\n'));
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes.values()) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all([...nodes.values()].map((n) => n.exit));
    await nc?.close().catch(() => undefined);
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('nv cluster apply writes the feeds (R3 buckets and outputs stream); bad inputs are one nv: line and exit 2 or 3', async () => {
    const c = capture();
    expect(await runCli(['cluster', 'apply', '-c', cfg, '--nats', nats.urls, '--cluster', 't', '--replicas', '3', '--lease-ttl-ms', String(TTL)], { io: c.io })).toBe(EXIT.ok);
    expect(c.out[0]).toMatch(/^nv cluster t: 4 feeds applied \(lease TTL 15 s; outputs in stream NV_t_OUTPUTS on nv\.t\.<feed>\.outputs\)$/);
    expect(c.out).toContain('  added gate, dock, yard, lobby');
    const info = await (await jetstreamManager(nc)).streams.info('NV_t_OUTPUTS');
    expect(info.config.num_replicas).toBe(3);
    const s = await status();
    expect(s.feeds.map((f) => f.state)).toEqual(['unassigned', 'unassigned', 'unassigned', 'unassigned']);

    const unnamed = join(dir, 'unnamed.yaml');
    writeFileSync(unnamed, 'feeds:\n  - source: testpattern:ball\n    cameraMode: fixed\n');
    const u = capture();
    expect(await runCli(['cluster', 'apply', '-c', unnamed, '--nats', nats.urls, '--cluster', 't'], { io: u.io })).toBe(EXIT.usage);
    expect(u.err.join('\n')).toMatch(/^nv: feeds\[0\]: every feed of a cluster needs a name/);
    const badName = join(dir, 'bad-name.yaml');
    writeFileSync(badName, 'feeds:\n  - name: front door\n    source: testpattern:ball\n    cameraMode: fixed\n');
    const b = capture();
    expect(await runCli(['cluster', 'apply', '-c', badName, '--nats', nats.urls, '--cluster', 't'], { io: b.io })).toBe(EXIT.usage);
    expect(b.err.join('\n')).toContain('feeds[0].name');
    const down = capture();
    expect(await runCli(['cluster', 'status', '--nats', 'nats://user:secret@127.0.0.1:1', '--cluster', 't'], { io: down.io })).toBe(EXIT.source);
    expect(down.err.join('\n')).toMatch(/^nv: cannot connect to nats:\/\/127\.0\.0\.1:1/);
    expect(down.err.join('\n')).not.toContain('secret');
    const none = capture();
    expect(await runCli(['cluster', 'status', '--nats', nats.urls, '--cluster', 'nobody'], { io: none.io })).toBe(EXIT.source);
    expect(none.err.join('\n')).toContain('run nv cluster apply');
    // A TTL too short for a NATS cluster's leader elections: applied, with a warning.
    const short = capture();
    expect(await runCli(['cluster', 'apply', '-c', cfg, '--nats', nats.urls, '--cluster', 'w', '--lease-ttl-ms', '6000'], { io: short.io })).toBe(EXIT.ok);
    expect(short.err.join('\n')).toMatch(/^nv: warning: with a lease TTL of 6 s a node stops its feeds when NATS takes no lease renewal for 4\.4 s; .* use --lease-ttl-ms 15000 or more$/);
    const badNode = capture();
    expect(await runCli(['node', '--nats', nats.urls, '--cluster', 't', '--name', 'no spaces'], { io: badNode.io })).toBe(EXIT.usage);
  }, 60_000);

  it('three nodes run the feeds 2/1/1; every output carries its fence; status and GET /api/cluster show the whole cluster', async () => {
    for (const n of ['n1', 'n2', 'n3']) startNode(n);
    const s = await waitFor(async () => {
      const st = await status();
      // The first node up claims everything; the others take their share within a few ticks.
      const balanced = st.nodes.map((n) => n.feeds).sort().join() === '1,1,2';
      return balanced && st.feeds.every((f) => f.state === 'running' && (f.frames ?? 0) > 0) ? st : undefined;
    }, 'four feeds running on three nodes, 2/1/1', 60_000);
    for (const f of s.feeds) {
      const o = await nextOutput(f.name, () => true, 10_000);
      expect(o.fence).toEqual({ node: f.owner, token: f.token });
    }
    const c = capture();
    expect(await runCli(['cluster', 'status', '--nats', nats.urls, '--cluster', 't'], { io: c.io })).toBe(EXIT.ok);
    expect(c.out[0]).toBe('cluster t: 3 nodes, 4 feeds (lease TTL 15 s)');
    expect(c.out.find((l) => l.startsWith('gate'))).toMatch(/^gate\s+n[123]\s+\d+\s+running\s+\d+$/);
    const api = s.nodes[0]!.url!;
    const r = await fetch(`${api}/api/cluster`);
    expect(r.status).toBe(200);
    const body = await r.json() as StatusJson;
    expect(body.feeds.map((f) => f.owner)).toEqual(s.feeds.map((f) => f.owner));
    // The node's own feeds are in its API too (with the fence in the output stream).
    const mine = await (await fetch(`${api}/api/feeds`)).json() as { feeds: { name: string }[] };
    expect(mine.feeds.map((f) => f.name).sort()).toEqual(s.feeds.filter((f) => f.owner === s.nodes[0]!.name).map((f) => f.name).sort());
  }, 90_000);

  it('kill -9 a node: its feeds output again from other nodes within the lease TTL (plus a tick), under new leases; nothing stored twice', async () => {
    const before = await status();
    const victim = before.nodes.find((n) => n.feeds === 2)!.name;
    const moved = before.feeds.filter((f) => f.owner === victim);
    const waits = moved.map((f) => nextOutput(f.name, (fence) => fence.node !== victim, TTL * 3));
    const killedAt = Date.now();
    nodes.get(victim)!.proc.kill('SIGKILL');
    const resumed = await Promise.all(waits);
    const failoverMs = resumed.map((r) => r.at - killedAt);
    console.log(`[cluster] node ${victim} killed: ${moved.map((f, i) => `${f.name} output again after ${failoverMs[i]} ms on ${resumed[i]!.fence.node}`).join('; ')}`);
    for (const [i, r] of resumed.entries()) {
      expect(failoverMs[i]).toBeLessThan(TTL + 4000);
      expect(r.fence.token).toBeGreaterThan(moved[i]!.token!);
    }
    const after = await waitFor(async () => { const st = await status(); return st.nodes.length === 2 && st.feeds.every((f) => f.state === 'running') ? st : undefined; }, 'two nodes, all running');
    expect(after.nodes.map((n) => n.feeds).sort()).toEqual([2, 2]);
    // Each feed's outputs read back in order: the moved ones in two producer runs, no duplicates.
    for (const f of moved) {
      const subject = `nv.t.${f.name}.outputs`;
      const lastSeq = (await (await jetstreamManager(nc)).streams.getMessage('NV_t_OUTPUTS', { last_by_subj: subject }))!.seq;
      const ac = new AbortController();
      const guard = setTimeout(() => ac.abort(), 20_000);
      const reader = readFeedOutputs({ url: nats.servers[1]!.url, stream: 'NV_t_OUTPUTS', subject, signal: ac.signal });
      const seen = new Set<string>();
      for await (const o of reader) {
        expect(seen.has(o.id)).toBe(false);
        seen.add(o.id);
        if (o.streamSeq >= lastSeq) break; // the feed is live: read what was stored up to now
      }
      clearTimeout(guard);
      const st = reader.stats();
      expect(st.duplicates).toBe(0);
      expect(st.stale).toBe(0);
      expect(st.runs).toBeGreaterThanOrEqual(2);
      expect(st.delivered).toBeGreaterThan(10);
    }
  }, 120_000);

  it('the NATS server leading the leases bucket killed (SIGKILL): no feed moves, outputs continue', async () => {
    const before = await status();
    const leader = (await (await jetstreamManager(nc)).streams.info('KV_NV_t_LEASES')).cluster?.leader;
    const victim = nats.servers.find((s) => s.name === leader)!;
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, TTL * 1.2));
    const seen: string[] = [];
    for (const f of before.feeds) {
      // A sink on the killed server reconnects and its stream elects a leader; the reader's
      // consumers may be placed on the dead server (nats-server 2.9) and are made again.
      // 40 s: each try that lands on the dead server costs 2.5 s; 16 of them in a row are ~1 in 65,000.
      const o = await nextOutput(f.name, () => true, 40_000);
      expect(o.fence).toEqual({ node: f.owner, token: f.token });
      seen.push(`${f.name} at ${o.at - killedAt} ms (${o.resumes} resumes)`);
    }
    console.log(`[cluster] NATS server ${victim.name} (leases leader) killed: every feed read again on its lease: ${seen.join('; ')}`);
    const after = await waitFor(() => status(), 'status');
    expect(after.feeds.map((f) => [f.name, f.owner, f.token, f.state])).toEqual(before.feeds.map((f) => [f.name, f.owner, f.token, 'running']));
    await victim.start();
  }, 200_000);

  it('SIGTERM a node: it hands its feeds over at once and exits 0 with its summary', async () => {
    const before = await status();
    const leaving = before.nodes[0]!.name;
    const mine = before.feeds.filter((f) => f.owner === leaving);
    const waits = mine.map((f) => nextOutput(f.name, (fence) => fence.node !== leaving, TTL));
    const t0 = Date.now();
    const n = nodes.get(leaving)!;
    n.proc.kill('SIGTERM');
    expect(await n.exit).toBe(0);
    await Promise.all(waits);
    console.log(`[cluster] node ${leaving} stopped: its ${mine.length} feeds output again after ${Date.now() - t0} ms`);
    expect(Date.now() - t0).toBeLessThan(TTL);
    expect(n.out).toMatch(new RegExp(`nv node ${leaving}: left cluster t \\(\\d+ claimed, \\d+ released, 0 lost\\)`));
    expect(n.err).toContain(`released ${mine[0]!.name}`);
  }, 60_000);
  it('a node whose first listed NATS server is down joins through the others and its outputs reach the stream', async () => {
    const dead = `nats://127.0.0.1:${await freeTcpPort()}`;
    startNode('n4', `${dead},${nats.urls}`);
    const mine = await waitFor(async () => (await status()).feeds.find((f) => f.owner === 'n4' && f.state === 'running'), 'n4 running a feed', 30_000)
      .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${nodes.get('n4')!.err}`); });
    const o = await nextOutput(mine.name, (fence) => fence.node === 'n4', 20_000);
    expect(o.fence).toEqual({ node: 'n4', token: mine.token });
  }, 90_000);
});
