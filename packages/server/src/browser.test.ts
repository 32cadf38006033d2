/**
 * The live view in a real browser: Debian's headless Chromium (`chromium`, installed by
 * tools/setup/bootstrap.sh), driven by playwright-core pointed at the system binary (no
 * browser download). Skips when the binary is missing.
 */
import { FeedSettingsSchema, Runtime, feedConfigFromSettings, type FeedSettings } from '@nv/runtime';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NvServer } from './index.js';
import { BrightBlobDetector, timecodeSource } from './test-fixtures.js';

// Browser globals, for the functions page.evaluate runs in the page (this package compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
type HTMLCanvasElement = any;

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.log(`[nv/server] skipping the browser test: ${CHROMIUM} is not installed (tools/setup/bootstrap.sh installs it)`);

type Probe = { frames: Record<string, number>; headers: Record<string, { boxes: { box: number[]; color: number[] }[]; width: number; height: number }>; latencies: number[]; errors: string[] };

describe.skipIf(!available)('live view in headless Chromium', () => {
  let runtime: Runtime;
  let server: NvServer<FeedSettings>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    runtime = new Runtime();
    server = await NvServer.start<FeedSettings>({
      runtime, port: 0, feedSchema: FeedSettingsSchema, liveView: { fps: 15 },
      addFeed: (settings, live) => runtime.addFeed(feedConfigFromSettings(settings, { stages: [new BrightBlobDetector(), live] })),
    });
    // The generated clip: GStreamer's moving white ball on black, decoded as a live source.
    await server.addFeed({ name: 'ball', source: { kind: 'testPattern', pattern: 'ball', width: 640, height: 360, fps: 30, live: true }, cameraMode: 'fixed', media: { output: { format: 'RGB8' } } });
    server.markReady();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server.url}/?probe=1`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.shutdown();
  });

  const probe = () => page.evaluate(() => (window as unknown as { __nv: Probe }).__nv);

  it('shows the feed with decoded video frames advancing', async () => {
    await page.waitForFunction(() => ((window as unknown as { __nv: Probe }).__nv.frames['1'] ?? 0) >= 10, undefined, { timeout: 30_000 });
    const a = (await probe()).frames['1']!;
    await page.waitForTimeout(1000);
    const b = (await probe()).frames['1']!;
    expect(b).toBeGreaterThan(a);
    expect((await probe()).errors).toEqual([]);
    await expect(page.locator('article[data-feed="1"] strong').textContent()).resolves.toContain('ball');
    // The canvas shows the pattern: black background, somewhere a bright ball.
    const stats = await page.evaluate(() => {
      const c = document.querySelector('article[data-feed="1"] canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let bright = 0, dark = 0;
      for (let i = 0; i < d.length; i += 4) { const v = d[i]! + d[i + 1]! + d[i + 2]!; if (v > 600) bright++; else if (v < 60) dark++; }
      return { bright, dark, total: d.length / 4, w: c.width, h: c.height };
    });
    expect(stats.w).toBe(640);
    expect(stats.dark / stats.total).toBeGreaterThan(0.5);
    expect(stats.bright).toBeGreaterThan(50);
  }, 60_000);

  it('draws the overlay box where the ball is', async () => {
    // Freeze what the page draws, then check the last frame: its box's edge has the box colour and the ball is inside.
    const check = await page.evaluate(() => {
      const p = (window as unknown as { __nv: Probe }).__nv;
      const h = p.headers['1']!;
      const c = document.querySelector('article[data-feed="1"] canvas') as HTMLCanvasElement;
      const ctx = c.getContext('2d')!;
      const snap = ctx.getImageData(0, 0, c.width, c.height);
      const box = h.boxes[0];
      if (!box) return { ok: false, why: 'no box' };
      const [x1, y1, x2, y2] = box.box.map((v, i) => Math.round(v * (i % 2 ? c.height : c.width))) as [number, number, number, number];
      const px = (x: number, y: number) => { const o = (y * c.width + x) * 4; return [snap.data[o]!, snap.data[o + 1]!, snap.data[o + 2]!]; };
      const edge = px(x1, Math.round((y1 + y2) / 2));
      const centre = px(Math.round((x1 + x2) / 2), Math.round((y1 + y2) / 2));
      return { ok: true, edge, centre, color: box.color, area: (x2 - x1) * (y2 - y1) };
    });
    expect(check.ok).toBe(true);
    const { edge, centre, color, area } = check as { edge: number[]; centre: number[]; color: number[]; area: number };
    edge.forEach((v, i) => expect(Math.abs(v - color[i]!)).toBeLessThanOrEqual(40));
    expect(centre[0]! + centre[1]! + centre[2]!).toBeGreaterThan(600); // the ball, white
    expect(area).toBeGreaterThan(100);
    expect(area).toBeLessThan(640 * 360 / 4);
  }, 30_000);

  it('adds a feed through the form, sees it play, removes it', async () => {
    await page.fill('#add-form input[name="source"]', 'testpattern:smpte');
    await page.fill('#add-form input[name="name"]', 'added');
    await page.click('#add-form button[type="submit"]');
    const card = page.locator('article.feed', { hasText: 'added' });
    await card.waitFor({ timeout: 15_000 });
    const id = await card.getAttribute('data-feed');
    await page.waitForFunction((f) => ((window as unknown as { __nv: Probe }).__nv.frames[f!] ?? 0) >= 3, id, { timeout: 30_000 });
    expect((await runtime.diagnostics()).feeds.map((f) => f.name)).toContain('added');
    // A bad source is refused with the field named, on the page.
    await page.fill('#add-form input[name="source"]', 'testpattern:nosuchpattern');
    await page.click('#add-form button[type="submit"]');
    await expect.poll(async () => page.textContent('#add-error'), { timeout: 10_000 }).toMatch(/InvalidFeed/);
    await card.locator('button[data-act="remove"]').click();
    await card.waitFor({ state: 'detached', timeout: 15_000 });
    expect(runtime.diagnostics().feeds.map((f) => f.name)).not.toContain('added');
  }, 60_000);

  it('shows health events and the charts; a screenshot of the page', async () => {
    await server.addFeed({ name: 'bars', source: { kind: 'testPattern', pattern: 'smpte', width: 640, height: 360, fps: 30, live: true }, cameraMode: 'fixed' });
    await page.waitForFunction(() => document.querySelectorAll('#events li').length > 0, undefined, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('.uplot').length >= 4, undefined, { timeout: 15_000 });
    await page.waitForTimeout(3000);
    const out = process.env['NV_SCREENSHOT'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'live-view.png');
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    expect(existsSync(out)).toBe(true);
  }, 60_000);
});

describe.skipIf(!available)('glass-to-glass latency, read back in the page', () => {
  it('the page reads the wall clock burned into each frame and measures its age when drawn', async () => {
    const runtime = new Runtime();
    const server = await NvServer.start<FeedSettings>({
      runtime, port: 0, feedSchema: FeedSettingsSchema as never, liveView: { fps: 30 },
      addFeed: (_s, live) => runtime.addFeed({ source: timecodeSource({ fps: 30 }), cameraMode: 'fixed', stages: [new BrightBlobDetector(), live] }),
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      await server.addFeed({ source: { kind: 'testPattern' }, cameraMode: 'fixed' });
      const page = await browser.newPage();
      await page.goto(`${server.url}/?probe=timecode`);
      await page.waitForFunction(() => (window as unknown as { __nv: Probe }).__nv.latencies.length >= 20, undefined, { timeout: 30_000 });
      const l = (await page.evaluate(() => (window as unknown as { __nv: Probe }).__nv.latencies)).slice(5);
      // Decoded timecodes are real instants of this machine's clock: positive ages, and consistent with each other.
      expect(l.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
      const sorted = [...l].sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length / 2)]!).toBeGreaterThanOrEqual(0);
    } finally {
      await browser.close();
      await server.close();
      await runtime.shutdown();
    }
  }, 60_000);
});

describe.skipIf(!available)('the page on a cluster node (GET /api/cluster)', () => {
  it('shows the whole cluster — each feed with its node (a link to that node), lease, state and frames; hidden where there is no cluster', async () => {
    const runtime = new Runtime();
    let calls = 0;
    // What ClusterNode.status() returns (the real path — nv node's — is tested in @nv/cli's cluster.test.ts).
    const cluster = async () => {
      calls++;
      return {
        cluster: 'site1', leaseTtlMs: 10_000, job: {},
        feeds: [
          { name: 'dock', owner: 'n2', token: 14, state: 'running', frames: 812 },
          { name: 'gate', owner: 'n1', token: 9, state: 'failed', frames: undefined, error: 'source unreachable' },
          { name: 'yard', owner: undefined, token: undefined, state: 'unassigned' },
        ],
        nodes: [
          { name: 'n1', feeds: 1, startedAt: 0, url: 'http://10.0.0.1:8080', heartbeatAgeMs: 400 },
          { name: 'n2', feeds: 1, startedAt: 0, url: 'http://10.0.0.2:8080', heartbeatAgeMs: 900 },
        ],
      };
    };
    const withCluster = await NvServer.start<FeedSettings>({ runtime, port: 0, feedSchema: FeedSettingsSchema, cluster, addFeed: (s) => runtime.addFeed(feedConfigFromSettings(s)) });
    const without = await NvServer.start<FeedSettings>({ runtime, port: 0, feedSchema: FeedSettingsSchema, addFeed: (s) => runtime.addFeed(feedConfigFromSettings(s)) });
    withCluster.markReady();
    without.markReady();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${withCluster.url}/`);
      await page.waitForSelector('#cluster:not([hidden]) tr[data-feed="gate"]', { timeout: 10_000 });
      const rows = await page.evaluate(() => [...document.querySelectorAll('#cluster-feeds tbody tr')].map((tr: any) => [...tr.children].map((td: any) => td.textContent)));
      expect(rows).toEqual([['dock', 'n2', '14', 'running', '812'], ['gate', 'n1', '9', 'failed', '–'], ['yard', '–', '–', 'unassigned', '–']]);
      expect(await page.getAttribute('tr[data-feed="dock"] a', 'href')).toBe('http://10.0.0.2:8080/');
      expect(await page.getAttribute('tr[data-feed="gate"] .badge', 'title')).toBe('source unreachable');
      await expect(page.locator('#cluster-summary').textContent()).resolves.toBe('site1: 2 nodes · 3 feeds');
      const plain = await browser.newPage();
      await plain.goto(`${without.url}/`);
      await plain.waitForTimeout(2500);
      expect(await plain.evaluate(() => document.querySelector('#cluster').hidden)).toBe(true);
      expect(calls).toBeGreaterThan(0);
    } finally {
      await browser.close();
      await withCluster.close();
      await without.close();
      await runtime.shutdown();
    }
  }, 60_000);
});
