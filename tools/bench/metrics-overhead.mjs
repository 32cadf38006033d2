#!/usr/bin/env node
// Per-frame cost of @nv/metrics: the same synthetic feed as runtime-overhead.mjs (frames made
// on demand, one per `next()`, as a real source makes them — not 10,000 frames built up front and
// held in memory, which made every garbage collection trace them all and charged that to
// whichever mode allocated more; 3 trivial stages, one reporting 50 live tracks, provenance on,
// a sink that does nothing) run with the exporter off and on, alternating, in one process.
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
// each ratio is the median over adjacent off/on round pairs (order alternated round by round),
// which is robust to a busy machine.
//
// Rounds are long enough (50,000 frames, ~2 s at ~40 µs/frame on 2 cores) that every "on" round
// contains ~20 pushes and ~20 scrapes; with 10,000 lazily made frames a round lasted ~0.4 s and
// held only ~4 collections, so its ratio was noise.
//
// Run: pnpm run build && node tools/bench/metrics-overhead.mjs [--frames 50000] [--rounds 7] [--interval 100]
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

  const FRAMES = arg('frames', 50_000);
  const ROUNDS = arg('rounds', 7);
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

  /**
   * A source that makes each frame when asked (as runtime-overhead.mjs's does) and whose frames
   * arrive as separate event-loop turns, like a real one's.
   */
  const frameAt = (seq) => frameSequence(1, { width: 16, height: 16, startSeq: seq })[0];
  class LazyYieldingSource {
    specificationVersion = 'v1';
    #next = 0;
    async next() { await new Promise((r) => setImmediate(r)); return this.#next < FRAMES ? frameAt(this.#next++) : undefined; }
    stop() {}
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
    const lat = new Float64Array(FRAMES);
    let nOut = 0;
    const feed = rt.addFeed({
      source: () => new LazyYieldingSource(), cameraMode: 'fixed', stages: stages(),
      sink: { emit: (o) => { if (nOut < FRAMES) lat[nOut++] = o.provenance.totalLatencyNs / 1000; } }, sinkQueueCapacity: 1024,
    });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await feed.done;
    const wallUs = ((performance.now() - t0) * 1000) / FRAMES;
    const c = process.cpuUsage(c0);
    if (withMetrics) await ask({ stopScraping: true });
    await metrics?.shutdown().catch(() => { exportFailures++; });
    await rt.shutdown();
    const l = lat.subarray(0, nOut).sort();
    return { wallUs, cpuUs: (c.user + c.system) / FRAMES, med: l[Math.floor(l.length / 2)], p95: l[Math.floor(l.length * 0.95)] };
  }

  await round(false); // warm-up (JIT), not counted
  await round(true);
  const before = await ask({ stopScraping: true });
  const off = [], on = [];
  // Alternate the order too (off then on, then on then off, …): with a fixed order the second
  // run of every pair inherited the first's garbage and heap growth, which read as overhead.
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) { off.push(await round(false)); on.push(await round(true)); }
    else { on.push(await round(true)); off.push(await round(false)); }
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
  // Warmed up well (JIT): with 20 warm-up calls the mean of 300 was ~2–3× the steady state.
  for (let i = 0; i < 300; i++) await metrics.forceFlush();
  await ask({ scrapeN: 300, url: metrics.prometheusUrl });
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
  console.log(`# Metrics overhead — \`${`node tools/bench/metrics-overhead.mjs ${process.argv.slice(2).join(' ')}`.trim()}\``);
  console.log('');
  console.log(`@nv/metrics overhead, ${FRAMES} frames × ${ROUNDS} rounds each (off/on pairs, order alternated), 3 trivial stages (one reports ${TRACKS} tracks), frames made on demand, provenance on;`);
  console.log(`"on" = OTLP push + Prometheus scrape every ${INTERVAL} ms; Node ${process.version}, ${cpus()[0]?.model} ×${cpus().length}`);
  console.log('');
  console.log('| measure (median of rounds) | off µs/frame | on µs/frame | on ÷ off |');
  console.log('|---|---:|---:|---:|');
  console.log(row('process CPU time per frame (feed + collections + export)', (x) => x.cpuUs));
  console.log(row('wall time per frame (whole feed path)', (x) => x.wallUs));
  console.log(row('per-frame latency, median', (x) => x.med));
  console.log(row('per-frame latency, p95', (x) => x.p95));
  console.log('');
  console.log(`per round, CPU µs/frame off/on: ${off.map((x, i) => `${x.cpuUs.toFixed(1)}/${on[i].cpuUs.toFixed(1)}`).join(', ')}`);
  console.log(`per round, wall µs/frame off/on: ${off.map((x, i) => `${x.wallUs.toFixed(1)}/${on[i].wallUs.toFixed(1)}`).join(', ')}`);
  console.log('');
  console.log(`measured "on" rounds: ${after.requests - before.requests} OTLP pushes (${after.bytes - before.bytes} bytes), ${after.scrapes - before.scrapes} scrapes (${after.scrapeBytes} bytes each); ${exportFailures} pushes failed in all (timeout = 90% of the interval)`);
  console.log(`overhead: CPU ${((ratio((x) => x.cpuUs) - 1) * 100).toFixed(1)}%, wall ${((ratio((x) => x.wallUs) - 1) * 100).toFixed(1)}% (goal ≤ 5%)`);
  console.log('');
  console.log(`cost of one collection (CPU of this process, mean of ${N}): OTLP push ${pushUs.toFixed(0)} µs, Prometheus scrape ${scrapeUs.toFixed(0)} µs`);
  const share = (pushesPerS, scrapesPerS) => (((pushesPerS * pushUs + scrapesPerS * scrapeUs) / 1e6) * 100).toFixed(3);
  console.log(`share of one core: ${share(1 / 5, 1 / 15)}% at the defaults (push every 5 s, scrape every 15 s); ${share(1000 / INTERVAL, 1000 / INTERVAL)}% at the harsh setting above`);
}
