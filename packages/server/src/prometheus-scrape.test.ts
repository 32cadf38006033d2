import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsExporter } from '@nv/metrics';
import { FeedSettingsSchema, Runtime, feedConfigFromSettings, type FeedSettings } from '@nv/runtime';
import { freeTcpPort } from '@nv/test-util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NvServer } from './index.js';

// A real Prometheus scrapes the server's /metrics the way an operator would set it up: the
// same port as the API, with the server's bearer token in the scrape config.
const PROMETHEUS = '/usr/bin/prometheus';
const TOKEN = 'scrape-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample { labels: Record<string, string>; value: number }
async function query(base: string, promql: string): Promise<Sample[]> {
  const r = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return r.data.result.map((x) => ({ labels: x.metric, value: Number(x.value[1]) }));
}

describe.skipIf(!existsSync(PROMETHEUS))('nv serve scraped by a real Prometheus (with the token)', () => {
  let dir = '';
  let prom: ChildProcess | undefined;
  let promLog = '';
  let base = '';
  let runtime: Runtime;
  let metrics: MetricsExporter;
  let server: NvServer<FeedSettings>;

  beforeAll(async () => {
    runtime = new Runtime();
    metrics = await MetricsExporter.create(runtime, { prometheus: { listen: false }, serviceName: 'nv-serve-test' });
    server = await NvServer.start<FeedSettings>({
      runtime, metrics, port: 0, token: TOKEN, feedSchema: FeedSettingsSchema,
      addFeed: (settings, live) => runtime.addFeed(feedConfigFromSettings(settings, { stages: [live] })),
    });
    await server.addFeed({ name: 'bars', source: { kind: 'testPattern', pattern: 'smpte', width: 160, height: 120, live: true }, cameraMode: 'fixed' });
    server.markReady();
    const target = new URL(server.url);
    dir = mkdtempSync(join(tmpdir(), 'nv-serve-prom-'));
    const yml = (job: string, token: string) => [
      `  - job_name: ${job}`, '    metrics_path: /metrics', '    authorization:', `      credentials: ${token}`,
      '    static_configs:', `      - targets: ['${target.host}']`,
    ];
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:',
      ...yml('nv', TOKEN), ...yml('wrong', 'not-the-token-0123456789'), '',
    ].join('\n'));
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr!.on('data', (c: Buffer) => { promLog = (promLog + c.toString()).slice(-4000); });
    const deadline = Date.now() + 15_000;
    while (!(await fetch(`${base}/-/ready`).then((r) => r.ok, () => false))) {
      if (prom.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not become ready:\n${promLog}`);
      await sleep(100);
    }
  }, 30_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      const t = setTimeout(() => prom!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await server?.close();
    await runtime?.shutdown();
    await metrics?.shutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('the scrape with the token is up and sees the feed\'s frames rise; the one with a wrong token is down (401)', async () => {
    const q = 'nv_feed_frames_processed_total{job="nv",feed_name="bars"}';
    let first: number | undefined;
    let later: number | undefined;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const v = (await query(base, q).catch(() => []))[0]?.value;
      if (v !== undefined && first === undefined && v > 0) first = v;
      else if (v !== undefined && first !== undefined && v > first) { later = v; break; }
      await sleep(250);
    }
    expect(first, promLog).toBeGreaterThan(0);
    expect(later).toBeGreaterThan(first!);
    expect((await query(base, 'up{job="nv"}'))[0]!.value).toBe(1);
    let wrong: Sample | undefined;
    for (let i = 0; i < 40 && !wrong; i++) { wrong = (await query(base, 'up{job="wrong"}'))[0]; if (!wrong) await sleep(250); }
    expect(wrong!.value).toBe(0);
    const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; lastError: string }[] } };
    expect(targets.data.activeTargets.find((t) => t.labels.job === 'wrong')!.lastError).toMatch(/401/);
  }, 40_000);
});
