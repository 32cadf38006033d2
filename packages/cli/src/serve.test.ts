import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-serve-'));
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => { out.push(l); }, err: (l: string) => { err.push(l); } } };
}

const CONFIG = [
  'feeds:',
  '  - name: bars',
  '    source: { kind: testPattern, pattern: smpte, width: 320, height: 240, live: true }',
  '    cameraMode: fixed',
  'track: true',
  'serve:',
  '  port: 0',
  '  liveView: { fps: 10 }',
  '',
].join('\n');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Runs `nv serve -c cfg` in-process until it is listening; abort `ac` to stop it, `done` is its exit code. */
async function startServe(cfg: string) {
  const c = capture();
  const ac = new AbortController();
  let url = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => { onReady = r; });
  const done = runCli(['serve', '-c', cfg], { io: c.io, signal: ac.signal, onServeReady: (u) => { url = u; onReady(); } });
  await Promise.race([ready, done.then((code) => { throw new Error(`nv serve exited ${code}: ${c.err.join('\n')}`); })]);
  return { c, ac, url, done };
}

describe('nv serve', () => {
  it('serves the config\'s feeds; the API adds a feed written as on the command line, with the config\'s stages; Ctrl-C stops it with exit 0', async () => {
    const cfg = join(dir, 'serve.yaml');
    writeFileSync(cfg, CONFIG);
    const { c, ac, url, done } = await startServe(cfg);
    try {
      expect(c.out.join('\n')).toMatch(/^nv serve: http:\/\/127\.0\.0\.1:\d+\/ {2}\(1 feed;/m);
      const feeds = (await (await fetch(`${url}/api/feeds`)).json()) as Json;
      expect(feeds.feeds).toHaveLength(1);
      expect(feeds.feeds[0]).toMatchObject({ name: 'bars', liveView: true });
      const add = await fetch(`${url}/api/feeds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'second', source: 'testpattern:ball', cameraMode: 'fixed', backpressure: { kind: 'block' } }) });
      expect(add.status).toBe(201);
      const id = ((await add.json()) as Json).id as number;
      const diag = async () => (await (await fetch(`${url}/api/feeds/${id}/diagnostics`)).json()) as Json;
      for (let i = 0; i < 100 && (await diag()).metrics.framesProcessed < 3; i++) await new Promise((r) => setTimeout(r, 50));
      expect(Object.keys((await diag()).metrics.stages)).toEqual(['tracker', 'live-view']);
      const cfgBody = (await (await fetch(`${url}/api/config`)).json()) as Json;
      expect(cfgBody.config).toMatchObject({ track: true, serve: { port: 0 } });
      const bad = await fetch(`${url}/api/feeds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source: 'testpattern:ball', cameraMode: 'fixed', media: { customPipelinePolicy: 'allowTrusted' } }) });
      expect(((await bad.json()) as Json).error.fields[0].message).toMatch(/cannot enable custom pipelines/);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);

      // A served (non-live) test pattern plays like a camera, at its own 30 fps; with
      // `pacing: fast` it runs as fast as it decodes, as in `nv run`.
      const post = async (body: Json) => ((await (await fetch(`${url}/api/feeds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Json).id as number;
      const paced = await post({ name: 'paced', source: 'testpattern:ball', cameraMode: 'fixed' });
      const fast = await post({ name: 'fast', source: 'testpattern:ball', cameraMode: 'fixed', media: { output: { pacing: 'fast', width: 160, height: 120 } } });
      const received = async (f: number) => ((await (await fetch(`${url}/api/feeds/${f}/diagnostics`)).json()) as Json).metrics.framesReceived as number;
      for (let i = 0; i < 200 && ((await received(paced)) < 1 || (await received(fast)) < 1); i++) await new Promise((r) => setTimeout(r, 25));
      const t0 = performance.now(); const p0 = await received(paced);
      await new Promise((r) => setTimeout(r, 1500));
      const seconds = (performance.now() - t0) / 1000; const p1 = await received(paced); const f1 = await received(fast);
      expect(p1 - p0).toBeLessThanOrEqual(Math.ceil(30 * seconds) + 3); // never ahead of the clock
      expect(p1 - p0).toBeGreaterThan(0);
      expect(f1).toBeGreaterThan(3 * (p1 - p0)); // the unpaced one is far ahead
    } finally {
      ac.abort();
    }
    expect(await done).toBe(EXIT.ok);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('refuses bad arguments and configs with exit 2 and one line', async () => {
    const run = async (args: string[]) => { const c = capture(); const code = await runCli(args, { io: c.io }); return { code, err: c.err.join('\n') }; };
    expect((await run(['serve', '--port', 'abc'])).code).toBe(EXIT.usage);
    const host = await run(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(host.code).toBe(EXIT.usage);
    expect(host.err).toMatch(/requires a token/);
    const badFeed = join(dir, 'bad.yaml');
    writeFileSync(badFeed, 'feeds:\n  - source: { kind: testPattern, pattern: nope }\n    cameraMode: fixed\n');
    const f = await run(['serve', '-c', badFeed, '--port', '0']);
    expect(f.code).toBe(EXIT.usage);
    expect(f.err).toMatch(/pattern/);
    const out = join(dir, 'out.yaml');
    writeFileSync(out, 'out: o.jsonl\n');
    expect((await run(['serve', '-c', out, '--port', '0'])).err).toMatch(/apply to nv run only/);
  }, 30_000);

  it('the binary stops on SIGTERM, draining, with exit 0', async () => {
    if (!existsSync(bin)) throw new Error(`build the cli first (${bin} missing)`);
    const cfg = join(dir, 'bin.yaml');
    writeFileSync(cfg, CONFIG);
    const p = spawn(process.execPath, [bin, 'serve', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const url = await new Promise<string>((r, j) => {
      const t = setTimeout(() => j(new Error(`no banner: ${out}`)), 30_000);
      p.stdout.on('data', () => { const m = /nv serve: (http:\/\/\S+)\//.exec(out); if (m) { clearTimeout(t); r(m[1]!); } });
    });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const code = await new Promise<number | null>((r) => { p.on('exit', (c) => r(c)); p.kill('SIGTERM'); });
    expect(code).toBe(0);
  }, 60_000);

  it('a feed added over the API with its own zones gets the tracker and analytics; the sinks\' counters are in /metrics, credentials redacted', async () => {
    const cfg = join(dir, 'serve-sinks.yaml');
    // a broker that is not there: messages wait in the sink's bounded queue, the feed never waits
    writeFileSync(cfg, ['feeds: []', 'sinks: [{ url: "mqtt://nv:s3cretpw@127.0.0.1:9/site1", queueSize: 50 }]', 'serve: { port: 0 }', ''].join('\n'));
    const { c, ac, url, done } = await startServe(cfg);
    try {
      const add = await fetch(`${url}/api/feeds`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'zoned', source: 'testpattern:ball', cameraMode: 'fixed', analytics: { lines: [{ id: 'mid', from: [0.5, 0], to: [0.5, 1] }] } }),
      });
      expect(add.status).toBe(201);
      const id = ((await add.json()) as Json).id as number;
      const diag = async () => (await (await fetch(`${url}/api/feeds/${id}/diagnostics`)).json()) as Json;
      for (let i = 0; i < 100 && (await diag()).metrics.framesProcessed < 3; i++) await new Promise((r) => setTimeout(r, 50));
      expect(Object.keys((await diag()).metrics.stages)).toEqual(['tracker', 'analytics', 'live-view']);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const series = (name: string, ...has: string[]) => metrics.split('\n').filter((l) => l.startsWith(`${name}{`) && has.every((h) => l.includes(h)));
      expect(series('nv_component_gauge', 'counter="sink.connected"', 'target="mqtt://***@127.0.0.1:9/site1"').map((l) => l.split(' ').pop())).toEqual(['0']);
      expect(series('nv_component_counter_total', 'counter="sink.messages.dropped"', 'reason="overflow"')).toHaveLength(1);
      expect(series('nv_stage_counter_total', 'counter="analytics.line.crossed"', 'line="mid"', 'feed_name="zoned"')).toHaveLength(2);
      expect(metrics).not.toMatch(/s3cretpw/);
      expect(c.err.join('\n')).not.toMatch(/s3cretpw/);
    } finally {
      ac.abort();
    }
    expect(await done).toBe(EXIT.ok);
    expect(c.err.join('\n')).not.toMatch(/s3cretpw/);
  }, 60_000);
});
