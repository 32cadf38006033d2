#!/usr/bin/env node
// Per-frame cost of @nv/metrics: the same synthetic feed as runtime-overhead.mjs (pre-built
// frames, 3 trivial stages, one reporting 50 live tracks, provenance on, a sink that does
// nothing) run with the exporter off and on, alternating, in one process.
//
// "On" is a harsh setting: an OTLP/protobuf push every --interval ms AND a Prometheus scrape
// every --interval ms (the defaults are a 5 s push and, typically, a 15 s scrape). The OTLP
// receiver and the scraper run in a helper process, as a collector and a Prometheus server
// would, so only the exporter's side is charged to this process.
//
// The bridge records nothing per frame; its cost is the collections, which run on the JS
// thread between frames. The source yields to the event loop (setImmediate) before each
// frame, as a real source does (its frames arrive from the addon as callbacks): an
// always-ready synthetic source resolves every frame in microtasks and starves timers and
// sockets, so no collection would run during the feed at all. Both modes pay the same yield.
//
// Reported: process CPU time and wall time per frame, and per-frame latency (provenance);
// each ratio is the median over adjacent off/on round pairs, which is robust to a busy machine.
//
// Run: pnpm run build && node tools/bench/metrics-overhead.mjs [--frames 10000] [--rounds 5] [--interval 100]
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };

if (process.argv.includes('--helper')) helper();
else await main();

/** The helper process: an OTLP receiver that accepts and discards, and a scraper on request. */
function helper() {
  let requests = 0, bytes = 0, scrapes = 0, scrapeBytes = 0, timer;
  const receiver = createServer((req, res) => {
    req.on('data', (c) => { bytes += c.length; });
    req.on('end', () => { requests++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }); res.end(); });
  });
  receiver.listen(0, '127.0.0.1', () => process.send({ port: receiver.address().port }));
  process.on('message', (m) => {
    if (m.scrape) {
      timer = setInterval(() => {
        fetch(m.scrape).then((r) => r.text()).then((t) => { scrapes++; scrapeBytes = t.length; }, () => undefined);
      }, m.interval);
    } else if (m.scrapeN) {
      (async () => { for (let i = 0; i < m.scrapeN; i++) await (await fetch(m.url)).text(); process.send({ done: true }); })();
    } else if (m.stopScraping) {
      clearInterval(timer);
      process.send({ requests, bytes, scrapes, scrapeBytes });
    } else if (m.exit) {
      receiver.close();
      process.exit(0);
    }
  });
}

async function main() {
  const { BBox, trackId } = await import('../../packages/core/dist/index.js');
  const { MetricsExporter } = await import('../../packages/metrics/dist/index.js');
  const { createObservation, createTrack } = await import('../../packages/perception/dist/index.js');
  const { Runtime } = await import('../../packages/runtime/dist/index.js');
  const { SyntheticSource, frameSequence } = await import('../../packages/test-util/dist/index.js');

  const FRAMES = arg('frames', 10_000);
  const ROUNDS = arg('rounds', 5);
  const INTERVAL = arg('interval', 100);
  const TRACKS = 50;

  const tracksFor = (ts) => Array.from({ length: TRACKS }, (_, i) => {
    const x = (i % 10) / 10, y = Math.floor(i / 10) / 10;
    const bbox = BBox.of(x, y, x + 0.05, y + 0.05);
    return createTrack({ id: trackId(i + 1), classId: 0, state: 'confirmed', current: createObservation({ ts, bbox, confidence: 0.9, state: 'confirmed' }) });
  });
  const stages = () => [
    { id: 'a', process: () => undefined },
    { id: 'tracks', process: (ctx) => ({ tracks: tracksFor(ctx.frame.ts) }) },
    { id: 'c', process: () => undefined },
  ];

  /** A synthetic source whose frames arrive as separate event-loop turns, like a real one's. */
  class YieldingSource extends SyntheticSource {
    async next() { await new Promise((r) => setImmediate(r)); return super.next(); }
  }

  const child = fork(fileURLToPath(import.meta.url), ['--helper']);
  const ask = (msg) => new Promise((r) => { child.once('message', r); if (msg) child.send(msg); });
  const { port } = await ask();
  const otlpUrl = `http://127.0.0.1:${port}`;
  let exportFailures = 0;

  async function round(withMetrics) {
    const rt = new Runtime();
    let metrics;
    if (withMetrics) {
      metrics = await MetricsExporter.create(rt, {
        otlp: { endpoint: otlpUrl }, prometheus: { host: '127.0.0.1', port: 0 }, pollIntervalMs: INTERVAL,
        onExportError: () => { exportFailures++; },
      });
      child.send({ scrape: metrics.prometheusUrl, interval: INTERVAL });
    }
    const lat = [];
    const frames = frameSequence(FRAMES, { width: 16, height: 16 });
    const feed = rt.addFeed({
      source: () => new YieldingSource(frames), cameraMode: 'fixed', stages: stages(),
      sink: { emit: (o) => { lat.push(o.provenance.totalLatencyNs / 1000); } }, sinkQueueCapacity: 1024,
    });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await feed.done;
    const wallUs = ((performance.now() - t0) * 1000) / FRAMES;
    const c = process.cpuUsage(c0);
    if (withMetrics) await ask({ stopScraping: true });
    await metrics?.shutdown().catch(() => { exportFailures++; });
    await rt.shutdown();
    lat.sort((a, b) => a - b);
    return { wallUs, cpuUs: (c.user + c.system) / FRAMES, med: lat[Math.floor(lat.length / 2)], p95: lat[Math.floor(lat.length * 0.95)] };
  }

  await round(false); // warm-up (JIT), not counted
  await round(true);
  const before = await ask({ stopScraping: true });
  const off = [], on = [];
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await round(false));
    on.push(await round(true));
  }
  const after = await ask({ stopScraping: true });

  // The cost of one collection, measured directly (CPU of this process, quiet feed): an OTLP
  // push (collect + protobuf + HTTP) and a Prometheus scrape (collect + text + HTTP, the
  // scraper being the helper). 1 feed, 3 stages, as above.
  const N = arg('collections', 300);
  const rt = new Runtime();
  const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(200, { width: 16, height: 16 })), cameraMode: 'fixed', stages: stages(), sink: { emit: () => undefined } });
  await feed.done;
  const metrics = await MetricsExporter.create(rt, { otlp: { endpoint: otlpUrl }, prometheus: { host: '127.0.0.1', port: 0 }, pollIntervalMs: 3_600_000 });
  for (let i = 0; i < 20; i++) await metrics.forceFlush();
  await ask({ scrapeN: 20, url: metrics.prometheusUrl });
  let c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await metrics.forceFlush();
  let c = process.cpuUsage(c0);
  const pushUs = (c.user + c.system) / N;
  c0 = process.cpuUsage();
  await ask({ scrapeN: N, url: metrics.prometheusUrl });
  c = process.cpuUsage(c0);
  const scrapeUs = (c.user + c.system) / N;
  await metrics.shutdown();
  await rt.shutdown();
  child.send({ exit: true });

  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const ratio = (f) => median(on.map((x, i) => f(x) / f(off[i])));
  const row = (label, f) => `| ${label} | ${median(off.map(f)).toFixed(1)} | ${median(on.map(f)).toFixed(1)} | ${ratio(f).toFixed(3)} |`;
  console.log(`@nv/metrics overhead, ${FRAMES} frames × ${ROUNDS} rounds each (alternating off/on), 3 trivial stages (one reports ${TRACKS} tracks), provenance on;`);
  console.log(`"on" = OTLP push + Prometheus scrape every ${INTERVAL} ms; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
  console.log('');
  console.log('| measure (median of rounds) | off µs/frame | on µs/frame | on ÷ off |');
  console.log('|---|---:|---:|---:|');
  console.log(row('process CPU time per frame (feed + collections + export)', (x) => x.cpuUs));
  console.log(row('wall time per frame (whole feed path)', (x) => x.wallUs));
  console.log(row('per-frame latency, median', (x) => x.med));
  console.log(row('per-frame latency, p95', (x) => x.p95));
  console.log('');
  console.log(`measured "on" rounds: ${after.requests - before.requests} OTLP pushes (${after.bytes - before.bytes} bytes), ${after.scrapes - before.scrapes} scrapes (${after.scrapeBytes} bytes each); ${exportFailures} pushes failed in all (timeout = 90% of the interval)`);
  console.log(`overhead: CPU ${((ratio((x) => x.cpuUs) - 1) * 100).toFixed(1)}%, wall ${((ratio((x) => x.wallUs) - 1) * 100).toFixed(1)}% (goal ≤ 5%)`);
  console.log('');
  console.log(`cost of one collection (CPU of this process, mean of ${N}): OTLP push ${pushUs.toFixed(0)} µs, Prometheus scrape ${scrapeUs.toFixed(0)} µs`);
  const share = (pushesPerS, scrapesPerS) => (((pushesPerS * pushUs + scrapesPerS * scrapeUs) / 1e6) * 100).toFixed(3);
  console.log(`share of one core: ${share(1 / 5, 1 / 15)}% at the defaults (push every 5 s, scrape every 15 s); ${share(1000 / INTERVAL, 1000 / INTERVAL)}% at the harsh setting above`);
}
