import { ConfigError, type FeedId } from '@nv/core';
import { MetricsExporter } from '@nv/metrics';
import { FeedSettingsSchema, Runtime, feedConfigFromSettings, type FeedSettings } from '@nv/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NvServer, ROUTES, redactSecrets } from './index.js';
import { BrightBlobDetector } from './test-fixtures.js';

const TOKEN = 'test-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startServer(opts: { token?: string; host?: string; liveView?: object } = {}) {
  const runtime = new Runtime();
  const metrics = await MetricsExporter.create(runtime, { prometheus: { listen: false } });
  const server = await NvServer.start<FeedSettings>({
    runtime, metrics, port: 0, feedSchema: FeedSettingsSchema, config: { camera: 'rtsp://admin:hunter2@cam.local/live', serve: { token: opts.token } },
    ...(opts.token ? { token: opts.token } : {}), ...(opts.host ? { host: opts.host } : {}), ...(opts.liveView ? { liveView: opts.liveView } : {}),
    addFeed: (settings, live) => runtime.addFeed(feedConfigFromSettings(settings, { stages: [new BrightBlobDetector(), live] })),
  });
  return { runtime, metrics, server, close: async () => { await server.close(); await runtime.shutdown(); await metrics.shutdown(); } };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: Json;
  try { parsed = JSON.parse(text) as Json; } catch { parsed = { text }; }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Reads Server-Sent Events until `stop` says enough (or the time runs out). */
async function readSse(url: string, stop: (events: { event: string; data: Json }[]) => boolean, ms = 20_000): Promise<{ event: string; data: Json }[]> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  const events: { event: string; data: Json }[] = [];
  try {
    const res = await fetch(url, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    while (!stop(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) as Json });
      }
    }
    ac.abort();
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(t);
  }
  return events;
}

const pattern = (extra: object = {}) => ({ source: { kind: 'testPattern', pattern: 'ball', width: 320, height: 240, fps: 30, live: true, ...extra }, cameraMode: 'fixed' });

describe('REST API', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  let base = '';
  beforeAll(async () => { s = await startServer(); base = s.server.url; });
  afterAll(async () => { await s.close(); });

  it('binds 127.0.0.1 by default; /healthz is up, /readyz says 503 until ready', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(base, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    const r = await call(base, 'GET', '/readyz');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('NotReady');
    s.server.markReady();
    expect((await call(base, 'GET', '/readyz')).status).toBe(200);
  });

  it('adds, lists, pauses, resumes, diagnoses and removes a feed', async () => {
    expect((await call(base, 'GET', '/api/feeds')).body).toEqual({ feeds: [] });
    const add = await call(base, 'POST', '/api/feeds', { ...pattern(), name: 'yard' });
    expect(add.status).toBe(201);
    const id = add.body.id as number;
    expect(add.headers.get('location')).toBe(`/api/feeds/${id}`);
    expect(add.body).toMatchObject({ id, name: 'yard', liveView: true, settings: { name: 'yard', source: { kind: 'testPattern' } } });
    const list = await call(base, 'GET', '/api/feeds');
    expect(list.body.feeds.map((f: Json) => f.id)).toEqual([id]);
    await until('frames', async () => (await call(base, 'GET', `/api/feeds/${id}`)).body.framesProcessed > 3);

    expect((await call(base, 'POST', `/api/feeds/${id}/pause`)).body).toMatchObject({ id, paused: true });
    const again = await call(base, 'POST', `/api/feeds/${id}/pause`);
    expect([again.status, again.body.error.code]).toEqual([409, 'AlreadyPaused']);
    expect((await call(base, 'POST', `/api/feeds/${id}/resume`)).body).toMatchObject({ paused: false });
    const notPaused = await call(base, 'POST', `/api/feeds/${id}/resume`);
    expect([notPaused.status, notPaused.body.error.code]).toEqual([409, 'NotPaused']);

    const d = await call(base, 'GET', `/api/feeds/${id}/diagnostics`);
    expect(d.body).toMatchObject({ id, state: 'running', metrics: { stages: { blob: {}, 'live-view': {} } }, liveView: { viewers: 0, encoding: false } });
    const all = await call(base, 'GET', '/api/diagnostics');
    expect(all.body).toMatchObject({ feedCount: 1, server: { viewers: 0 } });
    expect(all.body.feeds[0].queues).toHaveProperty('sourceCapacity');

    const dup = await call(base, 'POST', '/api/feeds', { ...pattern(), name: 'yard' });
    expect([dup.status, dup.body.error.code]).toEqual([409, 'DuplicateName']);

    expect((await call(base, 'DELETE', `/api/feeds/${id}`)).body).toEqual({ removed: id });
    expect((await call(base, 'GET', `/api/feeds/${id}`)).status).toBe(404);
    expect((await call(base, 'DELETE', `/api/feeds/${id}`)).body.error.code).toBe('FeedNotFound');
  });

  it('answers bad input with a typed JSON error: invalid JSON, invalid feed (fields named), wrong type, oversize, unknown ids and routes', async () => {
    const bad = await call(base, 'POST', '/api/feeds', '{"source":');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'InvalidJson']);
    const empty = await call(base, 'POST', '/api/feeds', {});
    expect([empty.status, empty.body.error.code]).toEqual([400, 'InvalidFeed']);
    expect(empty.body.error.fields.map((f: Json) => f.field)).toEqual(expect.arrayContaining(['source', 'cameraMode']));
    const field = await call(base, 'POST', '/api/feeds', { ...pattern({ width: -5 }) });
    expect(field.body.error.fields[0].field).toBe('source.width');
    const unknownKey = await call(base, 'POST', '/api/feeds', { ...pattern(), colour: 'red' });
    expect(unknownKey.body.error.code).toBe('InvalidFeed');
    const custom = await call(base, 'POST', '/api/feeds', { source: { kind: 'custom', pipeline: 'videotestsrc' }, cameraMode: 'fixed' });
    expect(custom.status).toBe(400);
    const text = await fetch(`${base}/api/feeds`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect([text.status, ((await text.json()) as Json).error.code]).toEqual([415, 'UnsupportedMediaType']);
    const big = await call(base, 'POST', '/api/feeds', { ...pattern(), name: 'x'.repeat(70_000) });
    expect([big.status, big.body.error.code]).toEqual([413, 'BodyTooLarge']);
    for (const p of ['/api/feeds/999', '/api/feeds/abc', '/api/feeds/0', '/api/feeds/1e3']) {
      const r = await call(base, 'GET', p);
      expect([p, r.status, r.body.error.code]).toEqual([p, 404, 'FeedNotFound']);
    }
    expect((await call(base, 'POST', '/api/feeds/999/pause')).status).toBe(404);
    const route = await call(base, 'GET', '/api/nope');
    expect([route.status, route.body.error.code]).toEqual([404, 'NotFound']);
    const method = await call(base, 'PUT', '/api/feeds', {});
    expect(method.status).toBeGreaterThanOrEqual(404);
    expect(method.body.error.code).toMatch(/NotFound|MethodNotAllowed/);
    // The server keeps serving after all of that.
    expect((await call(base, 'GET', '/api/feeds')).status).toBe(200);
  });

  it('serves the effective config with secrets redacted, the OpenAPI document and Prometheus metrics', async () => {
    const cfg = await call(base, 'GET', '/api/config');
    expect(JSON.stringify(cfg.body)).not.toContain('hunter2');
    expect(cfg.body.config.camera).toMatch(/^rtsp:\/\/\*\*\*(:\*\*\*)?@cam\.local\/live$/);
    expect(cfg.body.server).toMatchObject({ host: '127.0.0.1', auth: 'none' });
    const doc = (await call(base, 'GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) expect(doc.paths[r.path.replace(/:([a-z]+)/g, '{$1}')]?.[r.method], `${r.method} ${r.path}`).toBeDefined();
    expect(doc.components.schemas.FeedEntry.properties).toHaveProperty('source');
    const add = await call(base, 'POST', '/api/feeds', pattern({ frames: 5, live: false }));
    await until('the feed to end', async () => (await call(base, 'GET', `/api/feeds/${add.body.id}`)).body.state === 'stopped');
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    const text = await m.text();
    expect(text).toMatch(new RegExp(`^nv_feed_frames_processed_total\\{[^}]*feed_id="feed-${add.body.id}"[^}]*\\} 5`, 'm'));
    await call(base, 'DELETE', `/api/feeds/${add.body.id}`);
  });

  it('streams health events and outputs as Server-Sent Events; ?feed= filters, bad filters are typed errors', async () => {
    expect((await call(base, 'GET', '/api/outputs?feed=abc')).body.error.code).toBe('InvalidFeed');
    expect((await call(base, 'GET', '/api/outputs?feed=999')).status).toBe(404);
    const a = await call(base, 'POST', '/api/feeds', pattern());
    const b = await call(base, 'POST', '/api/feeds', pattern());
    const outs = await readSse(`${base}/api/outputs?feed=${b.body.id}`, (ev) => ev.filter((e) => e.event === 'output').length >= 10);
    const seqs = outs.filter((e) => e.event === 'output').map((e) => e.data);
    expect(seqs.every((o) => o.feed === b.body.id)).toBe(true);
    expect(seqs.map((o) => o.seq)).toEqual([...seqs.map((o) => o.seq)].sort((x, y) => x - y));
    expect(seqs[0]!.detections[0]?.bbox).toHaveLength(4); // the blob detector saw the ball
    expect(seqs[0]).not.toHaveProperty('frame');
    const events = readSse(`${base}/api/events`, (ev) => ev.some((e) => e.data.type === 'FeedStopped' && e.data.feedId === a.body.id));
    await sleep(200);
    await call(base, 'DELETE', `/api/feeds/${a.body.id}`);
    const got = await events;
    expect(got.find((e) => e.data.type === 'FeedStopped')?.data).toMatchObject({ type: 'FeedStopped', feedId: a.body.id, reason: { kind: 'UserRequested' } });
    await call(base, 'DELETE', `/api/feeds/${b.body.id}`);
  });
});

describe('token', () => {
  it('a non-loopback host without a token is refused at start; with one it binds', async () => {
    const rt = new Runtime();
    const opts = { runtime: rt, port: 0, feedSchema: FeedSettingsSchema, addFeed: () => { throw new Error('unused'); } };
    const e = await NvServer.start({ ...opts, host: '0.0.0.0' }).catch((x: unknown) => x);
    expect(ConfigError.isInstance(e) && e.issues[0]?.field).toBe('host');
    const short = await NvServer.start({ ...opts, token: 'short' }).catch((x: unknown) => x);
    expect(ConfigError.isInstance(short) && short.issues[0]?.field).toBe('token');
    const s = await NvServer.start({ ...opts, host: '0.0.0.0', token: TOKEN });
    expect(s.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await s.close();
    await rt.shutdown();
  });

  it('with a token: /api, /metrics and video sockets need it (401 otherwise), probes and the page stay open', async () => {
    const s = await startServer({ token: TOKEN });
    const base = s.server.url;
    try {
      const none = await call(base, 'GET', '/api/feeds');
      expect([none.status, none.body.error.code]).toEqual([401, 'Unauthorized']);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await call(base, 'GET', '/api/feeds', undefined, { authorization: 'Bearer wrong-token-0123456789ab' })).body.error.message).toBe('wrong token');
      expect((await call(base, 'POST', '/api/feeds', pattern())).status).toBe(401);
      expect((await call(base, 'GET', '/metrics')).status).toBe(401);
      expect((await call(base, 'GET', '/api/events')).status).toBe(401);
      expect((await call(base, 'GET', '/api/feeds', undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      expect((await call(base, 'GET', `/api/feeds?token=${TOKEN}`)).status).toBe(200);
      const add = await call(base, 'POST', '/api/feeds', pattern(), { authorization: `Bearer ${TOKEN}` });
      expect(add.status).toBe(201);
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/feeds/${add.body.id}/live`);
      const refused = await new Promise<number>((r) => { ws.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)); ws.on('open', () => r(101)); ws.on('error', () => undefined); });
      expect(refused).toBe(401);
      expect((await call(base, 'GET', '/healthz')).status).toBe(200);
      expect((await fetch(`${base}/`)).status).toBe(200);
      expect((await call(base, 'GET', '/api/config', undefined, { authorization: `Bearer ${TOKEN}` })).body.config.serve.token).toBe('***');
    } finally {
      await s.close();
    }
  });
});

describe('viewers never slow a feed', () => {
  it('20 viewers connecting and vanishing and one that never reads: the feed emits the same outputs as one without viewers', async () => {
    const s = await startServer({ liveView: { fps: 30, maxWidth: 1280, quality: 90 } });
    const base = s.server.url;
    const frames = 240;
    const feedOf = (name: string) => ({ name, source: { kind: 'testPattern', pattern: 'snow', width: 1280, height: 720, fps: 30, frames }, cameraMode: 'fixed', backpressure: { kind: 'block', queueDepth: 4 } });
    try {
      // Reference: the same feed, nobody watching.
      const ref = await call(base, 'POST', '/api/feeds', feedOf('alone'));
      await until('the reference feed', async () => (await call(base, 'GET', `/api/feeds/${ref.body.id}`)).body.state === 'stopped', 60_000);
      const refDiag = (await call(base, 'GET', `/api/feeds/${ref.body.id}/diagnostics`)).body;

      // A paused feed takes its viewers first, so they are all there from frame 1.
      const add = await call(base, 'POST', '/api/feeds', feedOf('watched'));
      const id = add.body.id as FeedId;
      await call(base, 'POST', `/api/feeds/${id}/pause`);
      const url = `${base.replace('http', 'ws')}/api/feeds/${id}/live`;
      // The viewer that never reads: its TCP socket is paused right after the handshake.
      const stuck = new WebSocket(url);
      await new Promise((r) => stuck.once('open', r));
      (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
      // 20 viewers that come and go abruptly (socket destroyed, no close handshake).
      let received = 0;
      const churn = (async () => {
        for (let round = 0; round < 4; round++) {
          const ws = await Promise.all(Array.from({ length: 20 }, () => new Promise<WebSocket>((r, j) => {
            const w = new WebSocket(url);
            w.on('message', () => { received++; });
            w.once('open', () => r(w));
            w.once('error', j);
          })));
          await sleep(150);
          for (const w of ws) w.terminate();
        }
      })();
      await until('the viewers', () => s.server.liveView.stats(id)!.viewers >= 21);
      await call(base, 'POST', `/api/feeds/${id}/resume`);
      await churn;
      await until('the watched feed', async () => (await call(base, 'GET', `/api/feeds/${id}`)).body.state === 'stopped', 60_000);
      const d = (await call(base, 'GET', `/api/feeds/${id}/diagnostics`)).body;
      expect(d.metrics.framesProcessed).toBe(frames);
      expect(d.metrics.framesProcessed).toBe(refDiag.metrics.framesProcessed);
      expect(d.metrics.outputsEmitted + d.metrics.outputsDropped).toBe(refDiag.metrics.outputsEmitted + refDiag.metrics.outputsDropped);
      expect(d.metrics.framesFailed).toBe(0);
      expect(received).toBeGreaterThan(0);
      const live = s.server.liveView.stats(id)!;
      expect(live.framesEncoded).toBeGreaterThan(0);
      expect(live.framesDroppedSlowViewer).toBeGreaterThan(0); // the stuck viewer
      expect(live.viewers).toBe(1); // only the stuck one is left; the 80 vanished ones were removed
      stuck.terminate();
      await until('the stuck viewer to go', () => s.server.liveView.stats(id)!.viewers === 0);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('an unknown feed\'s video socket is closed with 4404', async () => {
    const s = await startServer();
    try {
      const ws = new WebSocket(`${s.server.url.replace('http', 'ws')}/api/feeds/77/live`);
      const code = await new Promise<number>((r) => ws.on('close', (c) => r(c)));
      expect(code).toBe(4404);
    } finally {
      await s.close();
    }
  });
});

describe('redactSecrets', () => {
  it('hides token/password values and URL credentials, deeply', () => {
    expect(redactSecrets({ a: [{ url: 'rtsp://u:p@h/x', token: 'abc', nested: { password: 'x', ok: 1 } }] }))
      .toEqual({ a: [{ url: 'rtsp://***@h/x', token: '***', nested: { password: '***', ok: 1 } }] });
  });
});


describe('GET /api/cluster', () => {
  it('404 on a server that is not a cluster node; 503 ClusterUnavailable when the cluster cannot be read; the token applies', async () => {
    const runtime = new Runtime();
    let fail = false;
    const server = await NvServer.start<FeedSettings>({
      runtime, port: 0, feedSchema: FeedSettingsSchema, token: TOKEN,
      cluster: async () => { if (fail) throw new Error('JetStream did not answer'); return { cluster: 'site1', feeds: [], nodes: [] }; },
      addFeed: (s) => runtime.addFeed(feedConfigFromSettings(s)),
    });
    const plain = await NvServer.start<FeedSettings>({ runtime, port: 0, feedSchema: FeedSettingsSchema, addFeed: (s) => runtime.addFeed(feedConfigFromSettings(s)) });
    try {
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await fetch(`${server.url}/api/cluster`)).status).toBe(401);
      const ok = await fetch(`${server.url}/api/cluster`, { headers: auth });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ cluster: 'site1', feeds: [], nodes: [] });
      fail = true;
      const down = await fetch(`${server.url}/api/cluster`, { headers: auth });
      expect(down.status).toBe(503);
      expect(((await down.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'ClusterUnavailable', message: expect.stringContaining('JetStream did not answer') });
      const none = await fetch(`${plain.url}/api/cluster`);
      expect(none.status).toBe(404);
      expect(((await none.json()) as { error: { message: string } }).error.message).toContain('not a cluster node');
    } finally {
      await server.close();
      await plain.close();
      await runtime.shutdown();
    }
  });
});
