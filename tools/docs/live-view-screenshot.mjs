#!/usr/bin/env node
// The README's screenshot of `nv serve`: the demo clip (moving text plates) looped through text
// detection → tracking → OCR, watched on the page in headless Chromium (/usr/bin/chromium).
// Run after `npm run demo` (it makes the clip) and `pnpm run build`:
//   node tools/docs/live-view-screenshot.mjs [--out docs/live-view.png] [--clip nv-demo/.cache/<clip>.mp4]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1] : d; };
const out = resolve(arg('out', 'docs/live-view.png'));
const cache = 'nv-demo/.cache';
const clip = resolve(arg('clip', join(cache, readdirSync(cache).find((f) => f.endsWith('.mp4')) ?? '')));
const req = createRequire(new URL('../../packages/server/package.json', import.meta.url));
const { chromium } = req('playwright-core');

const port = await new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const dir = mkdtempSync(join(tmpdir(), 'nv-shot-'));
const cfg = join(dir, 'job.json');
writeFileSync(cfg, JSON.stringify({ feeds: [{ name: 'plates', source: { kind: 'file', path: clip, loop: true }, cameraMode: 'fixed' }], ocr: true, track: true }));
const nv = spawn(process.execPath, ['packages/cli/dist/bin.js', 'serve', '-c', cfg, '--port', String(port)], { stdio: ['ignore', 'inherit', 'inherit'] });
try {
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) { try { if ((await fetch(`${url}readyz`)).ok) break; } catch { /* not yet */ } if (i > 200) throw new Error('nv serve did not start'); await new Promise((r) => setTimeout(r, 100)); }
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForFunction(() => (window.__nv.frames['1'] ?? 0) >= 30, undefined, { timeout: 120_000 });
  await page.waitForTimeout(4000); // charts and events fill in
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
  console.log(`screenshot: ${out}`);
} finally {
  nv.kill('SIGTERM');
  await new Promise((r) => nv.once('exit', r));
}
