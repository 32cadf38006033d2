#!/usr/bin/env node
// What feed assignment costs a node: CPU and NATS requests of a `ClusterNode` (@nv/cluster) per
// second, for F desired feeds on 3 nodes, against a baseline process that holds the same NATS
// connection and does nothing else.
//
// A nats-server 2.9 (JetStream) is started by the bench. For each F, `ClusterStore.apply` writes F
// feeds (lease TTL --ttl-ms, default 15 s: the default of `nv cluster apply`; tick = TTL ÷ 4, renewals every TTL ÷ 10), then
// 3 node processes join (each a fresh Node process with a no-op feed controller: only the cluster
// work is measured, no video) plus one baseline process (connects, idles). Once every feed is
// claimed and the cluster is stable, each process measures its own CPU (user + system) over the
// same --window-ms; the nats-server's CPU over the window is read from /proc. Median of --rounds
// (≥ 3; each round a fresh server and fresh processes). No forced GC. Not a test.
// Run: npx tsc -b packages/cluster && node tools/bench/cluster-cost.mjs [--feeds 10,100,500] [--rounds 3] [--window-ms 20000]
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1] : d; };
const here = fileURLToPath(import.meta.url);
const dist = new URL('../../packages/cluster/dist/index.js', import.meta.url).href;

if (process.argv[2] === '--child') {
  // A node (or, with name 'baseline', a process with just the connection).
  const [, , , url, name] = process.argv;
  const { ClusterNode, connectCluster } = await import(dist);
  let node, nc;
  if (name === 'baseline') nc = await connectCluster({ servers: url });
  else node = await ClusterNode.start({ servers: url, cluster: 'bench', name, controller: { start: async () => {}, stop: async () => {} } });
  process.on('message', async (m) => {
    if (m.type === 'owned') process.send({ type: 'owned', n: node ? node.owned().length : 0 });
    if (m.type === 'measure') {
      const c0 = process.cpuUsage(), t0 = performance.now(), r0 = node?.stats().requests ?? 0;
      await new Promise((r) => setTimeout(r, m.windowMs));
      const c = process.cpuUsage(c0), s = (performance.now() - t0) / 1000;
      process.send({ type: 'result', cpuPct: ((c.user + c.system) / 1e6 / s) * 100, requestsPerS: ((node?.stats().requests ?? 0) - r0) / s, rssMiB: process.memoryUsage().rss / 2 ** 20 });
    }
    if (m.type === 'stop') { await node?.close(); await nc?.close(); process.exit(0); }
  });
  process.send({ type: 'ready' });
} else {
  const feedsList = arg('feeds', '10,100,500').split(',').map(Number);
  const rounds = Number(arg('rounds', '3'));
  const windowMs = Number(arg('window-ms', '20000'));
  const ttl = Number(arg('ttl-ms', '15000'));
  const { ClusterStore } = await import(dist);
  const freePort = () => new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
  const ticks = () => 100; // USER_HZ: clock ticks per second in /proc on Linux
  const procCpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / ticks(); };
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const rows = [];
  for (const F of feedsList) {
    const per = { node: [], baseline: [], req: [], server: [], rss: [], settleS: [] };
    for (let round = 0; round < rounds; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'nv-cluster-bench-'));
      const port = await freePort();
      const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
      const url = `nats://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) { try { const s = await ClusterStore.connect({ servers: url, cluster: 'bench' }); await s.close(); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
      const store = await ClusterStore.connect({ servers: url, cluster: 'bench' });
      await store.apply({ job: {}, feeds: Array.from({ length: F }, (_, i) => ({ name: `cam-${i}`, settings: { source: `rtsp://cam-${i}/stream` } })) }, { leaseTtlMs: ttl });
      const t0 = performance.now();
      const kids = ['baseline', 'n1', 'n2', 'n3'].map((name) => {
        const c = fork(here, ['--child', url, name], { stdio: 'ignore' });
        return { name, c, next: (type) => new Promise((r) => { const h = (m) => { if (m.type === type) { c.off('message', h); r(m); } }; c.on('message', h); }) };
      });
      await Promise.all(kids.map((k) => k.next('ready')));
      // Stable: every feed running, balanced, for two status reads a TTL apart.
      for (;;) {
        const s = await store.status();
        const counts = s.nodes.map((n) => n.feeds).sort((a, b) => a - b);
        if (s.feeds.every((f) => f.owner !== undefined) && counts.length === 3 && counts[2] - counts[0] <= 1) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      per.settleS.push((performance.now() - t0) / 1000);
      await new Promise((r) => setTimeout(r, ttl / 2));
      const s0 = procCpu(server.pid), w0 = performance.now();
      for (const k of kids) k.c.send({ type: 'measure', windowMs });
      const res = await Promise.all(kids.map((k) => k.next('result')));
      per.server.push(((procCpu(server.pid) - s0) / ((performance.now() - w0) / 1000)) * 100);
      per.baseline.push(res[0].cpuPct);
      per.node.push(median(res.slice(1).map((r) => r.cpuPct)));
      per.req.push(median(res.slice(1).map((r) => r.requestsPerS)));
      per.rss.push(median(res.slice(1).map((r) => r.rssMiB)));
      for (const k of kids) k.c.send({ type: 'stop' });
      await Promise.all(kids.map((k) => new Promise((r) => k.c.once('exit', r))));
      await store.close();
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
      console.error(`F=${F} round ${round + 1}: node ${per.node.at(-1).toFixed(2)} % CPU, baseline ${per.baseline.at(-1).toFixed(2)} %, ${per.req.at(-1).toFixed(1)} req/s, server ${per.server.at(-1).toFixed(2)} %, settled in ${per.settleS.at(-1).toFixed(1)} s`);
    }
    rows.push({ F, node: median(per.node), baseline: median(per.baseline), req: median(per.req), server: median(per.server), rss: median(per.rss), settle: median(per.settleS) });
  }
  console.log(`| feeds (3 nodes) | node CPU % of a core | baseline (connection only) | added by assignment | KV requests/s per node | nats-server CPU % | node RSS MiB | all claimed after |`);
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.F} | ${r.node.toFixed(2)} | ${r.baseline.toFixed(2)} | ${(r.node - r.baseline).toFixed(2)} | ${r.req.toFixed(1)} | ${r.server.toFixed(2)} | ${r.rss.toFixed(0)} | ${r.settle.toFixed(1)} s |`);
}
