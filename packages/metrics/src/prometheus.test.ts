import { Runtime, type FeedHandle } from '@nv/runtime';
import { MockStage, SyntheticSource, frameSequence } from '@nv/test-util';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsExporter } from './index.js';
import { freePort } from './test-fixtures.js';

const PROMETHEUS = '/usr/bin/prometheus';
const available = existsSync(PROMETHEUS);
if (!available) console.log(`[nv/metrics] skipping the real-Prometheus test: ${PROMETHEUS} is not installed (tools/setup/bootstrap.sh installs it)`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Result of an instant query: one value per series, keyed by the series' labels. */
async function query(base: string, promql: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}

/** Polls `promql` until `ok` accepts its first value, or fails after `ms`. */
async function waitFor(base: string, promql: string, ok: (v: number) => boolean, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let last: number | undefined;
  while (Date.now() < deadline) {
    const r = await query(base, promql).catch(() => []);
    last = r[0]?.value;
    if (last !== undefined && ok(last)) return last;
    await sleep(250);
  }
  throw new Error(`${promql}: no acceptable value within ${ms} ms (last ${last})`);
}

describe.skipIf(!available)('scraped by a real Prometheus', () => {
  let dir = '';
  let prom: ChildProcess | undefined;
  let promLog = '';
  let base = '';
  let rt: Runtime;
  let metrics: MetricsExporter;
  let feed: FeedHandle;

  beforeAll(async () => {
    rt = new Runtime();
    metrics = await MetricsExporter.create(rt, { prometheus: { host: '127.0.0.1', port: 0 }, serviceName: 'prom-test' });
    const target = new URL(metrics.prometheusUrl!);
    dir = mkdtempSync(join(tmpdir(), 'nv-prom-'));
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s',
      'scrape_configs:', '  - job_name: nv', `    metrics_path: ${target.pathname}`, '    static_configs:', `      - targets: ['${target.host}']`, '',
    ].join('\n'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prom = spawn(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr!.on('data', (c: Buffer) => { promLog = (promLog + c.toString()).slice(-4000); });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (prom.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${promLog}`);
      await sleep(100);
    }
    // A live-ish feed: 40 frames/s for up to 20 s; stopped by the test once Prometheus saw it rise.
    feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(800, { fps: 40 }), { intervalMs: 25 }), cameraMode: 'fixed',
      stages: [new MockStage({ id: 'noop' })], sink: { emit: () => undefined },
    });
  }, 25_000);

  afterAll(async () => {
    await feed?.stop();
    await metrics?.shutdown();
    await rt?.shutdown();
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      const t = setTimeout(() => prom!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 15_000);

  it('sees nv_feed_frames_processed_total rise through /api/v1/query, and the pipeline histogram as _bucket/_sum/_count', async () => {
    const q = 'nv_feed_frames_processed_total{job="nv",feed_id="feed-1"}';
    const first = await waitFor(base, q, (v) => v > 0, 15_000);
    const later = await waitFor(base, q, (v) => v > first, 10_000);
    expect(later).toBeGreaterThan(first);
    // Prometheus computes a rate over the scraped counter.
    await waitFor(base, `rate(${q}[5s])`, (v) => v > 0, 10_000);

    const buckets = await query(base, 'nv_feed_pipeline_duration_bucket{job="nv",feed_id="feed-1"}');
    expect(buckets.map((b) => b.labels.le)).toContain('+Inf');
    const inf = buckets.find((b) => b.labels.le === '+Inf')!.value;
    const count = (await query(base, 'nv_feed_pipeline_duration_count{job="nv",feed_id="feed-1"}'))[0]!.value;
    expect(inf).toBe(count);
    expect(count).toBeGreaterThan(0);
    expect((await query(base, 'nv_feed_pipeline_duration_sum{job="nv",feed_id="feed-1"}'))[0]!.value).toBeGreaterThan(0);
    const p50 = await query(base, 'histogram_quantile(0.5, nv_stage_duration_bucket{job="nv",feed_id="feed-1",stage_id="noop"})');
    expect(p50[0]!.value).toBeGreaterThan(0);
    expect((await query(base, 'nv_feed_queue_sink_capacity{job="nv",feed_id="feed-1"}'))[0]!.value).toBeGreaterThan(0);
    expect((await query(base, 'target_info{job="nv"}'))[0]!.labels.service_name).toBe('prom-test');
  }, 30_000);
});

describe('prometheus: { listen: false } (served by your own HTTP server)', () => {
  it('opens no port; handlePrometheusRequest answers a scrape with the exposition, and false after shutdown', async () => {
    const { createServer } = await import('node:http');
    const rt = new Runtime();
    const metrics = await MetricsExporter.create(rt, { prometheus: { listen: false }, serviceName: 'own-server' });
    expect(metrics.prometheusUrl).toBeUndefined();
    const server = createServer((req, res) => {
      if (!metrics.handlePrometheusRequest(req, res)) { res.statusCode = 404; res.end(); }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      rt.addFeed({ source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [new MockStage({ id: 'm' })] });
      const text = await (await fetch(`http://127.0.0.1:${port}/anything`)).text();
      expect(text).toMatch(/^# HELP /m);
      expect(text).toMatch(/^nv_feed_frames_received_total\{/m);
      await metrics.shutdown();
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    } finally {
      await rt.shutdown();
      await new Promise((r) => server.close(r));
    }
  });
});
