#!/usr/bin/env node
// The live view, measured against the strongest simple peer: an ffmpeg-pipe MJPEG server (a
// Node script that pipes raw frames into `ffmpeg -f image2pipe -c:v mjpeg` and broadcasts each
// JPEG over a WebSocket — what people build when they want "MJPEG in the browser" without a
// media server). Both sides get the same frames from the same source (a live 30 fps RGB source
// that burns the wall clock into each frame, packages/server/src/test-fixtures.ts), the same
// frame-rate gate (15 fps to viewers by default), the same output size and framing (u32 header
// length, JSON header, JPEG), the same busy rule (a frame that arrives while the encoder is
// busy is skipped), the same per-viewer rule (a socket that has not drained gets no frame).
//
//   A. glass-to-glass latency: headless Chromium (/usr/bin/chromium, playwright-core) loads the
//      same probe page for both sides; it decodes each JPEG (createImageBitmap), draws it on a
//      canvas, reads the timecode back from the canvas pixels and takes Date.now() − timecode:
//      from the moment the frame was made to the moment its pixels are on the page's canvas.
//      Also nv's own page (`/?probe=timecode`, with its overlay drawing and charts running).
//   B. CPU per viewer: N WebSocket viewers (in a child process, not counted) receive everything;
//      the CPU of the server process (+ the ffmpeg child for the peer) is sampled over a window.
//
// Alternating sides, median of --rounds (≥ 3). No forced GC. Not a test.
// Run: pnpm run build && node tools/bench/live-view.mjs [--rounds 3] [--seconds 8] [--viewers 0,1,5,20]
//        [--width 1280] [--height 720] [--fps 15] [--out-width 640] [--quality 70] [--ffq 5]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { FeedSettingsSchema, Runtime } from '../../packages/runtime/dist/index.js';
import { NvServer } from '../../packages/server/dist/index.js';
import { timecodeSource } from '../../packages/server/dist/test-fixtures.js';

const req = createRequire(new URL('../../packages/server/package.json', import.meta.url));
const { chromium } = req('playwright-core');
const { WebSocketServer } = req('ws');

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1] : d; };
const ROUNDS = Number(arg('rounds', 3));
const SECONDS = Number(arg('seconds', 8));
const VIEWERS = String(arg('viewers', '0,1,5,20')).split(',').map(Number);
const W = Number(arg('width', 1280)), H = Number(arg('height', 720));
const FPS = Number(arg('fps', 15));
const OW = Number(arg('out-width', 640)), OH = Math.round((H * OW) / W) & ~1;
const QUALITY = Number(arg('quality', 70));
const FFQ = Number(arg('ffq', 5));
const CHROMIUM = '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN; };

// ---- the probe page (same for both sides) -----------------------------------------------------
const PROBE_PAGE = `<!doctype html><canvas id=c></canvas><script>
const BITS = 44; window.lat = []; window.bytes = 0; window.frames = 0;
const ws = new WebSocket(new URLSearchParams(location.search).get('ws')); ws.binaryType = 'arraybuffer';
const c = document.getElementById('c'); const ctx = c.getContext('2d', { willReadFrequently: true }); let busy = false;
ws.onmessage = async (m) => {
  if (busy) return; busy = true;
  try {
    const n = new DataView(m.data).getUint32(0, true); const h = JSON.parse(new TextDecoder().decode(new Uint8Array(m.data, 4, n)));
    const b = await createImageBitmap(new Blob([new Uint8Array(m.data, 4 + n)], { type: 'image/jpeg' }));
    if (c.width !== h.width) { c.width = h.width; c.height = h.height; }
    ctx.drawImage(b, 0, 0); b.close();
    const row = ctx.getImageData(0, Math.floor(c.height / 40), c.width, 1).data; let t = 0;
    for (let i = 0; i < BITS; i++) { const x = Math.floor(((i + 0.5) * c.width) / BITS); const v = row[x*4]*0.299 + row[x*4+1]*0.587 + row[x*4+2]*0.114; t = t * 2 + (v > 127 ? 1 : 0); }
    if (t > 1.6e12 && t < 4e12) window.lat.push(Date.now() - t);
    window.frames++; window.bytes += m.data.byteLength - 4 - n;
  } finally { busy = false; }
};
</script>`;
const pageServer = createServer((_q, res) => { res.setHeader('content-type', 'text/html'); res.end(PROBE_PAGE); });
await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
const pageUrl = `http://127.0.0.1:${pageServer.address().port}/`;

// ---- the two sides ----------------------------------------------------------------------------
async function startNv() {
  const runtime = new Runtime();
  // One feed, the timecode source, with only the live view tap (the peer has no stages either).
  const server = await NvServer.start({
    runtime, port: 0, feedSchema: FeedSettingsSchema, liveView: { fps: FPS, maxWidth: OW, quality: QUALITY, maxViewersPerFeed: 1000 },
    addFeed: (_s, live) => runtime.addFeed({ source: timecodeSource({ width: W, height: H, fps: 30 }), cameraMode: 'fixed', stages: [live] }),
  });
  await server.addFeed({ source: { kind: 'testPattern' }, cameraMode: 'fixed' });
  server.markReady();
  return {
    name: 'nv', ws: `${server.url.replace('http', 'ws')}/api/feeds/1/live`, page: `${server.url}/?probe=timecode`, childPids: () => [],
    stats: () => server.liveView.stats(1),
    stop: async () => { await server.close(); await runtime.shutdown(); },
  };
}

async function startFfmpeg() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const viewers = new Set();
  wss.on('connection', (s) => { viewers.add(s); s.on('close', () => viewers.delete(s)); s.on('error', () => viewers.delete(s)); });
  // Tuned for latency (each checked by hand on ffmpeg 5.1: without any one of them a JPEG comes
  // out only when the next raw frame goes in, ~70 ms later): no input probing buffer, no frame
  // rate logic, a flush after each JPEG (the 32 KiB output buffer holds a whole 640×360 JPEG),
  // one thread (the threaded path holds a frame).
  const ff = spawn('ffmpeg', ['-loglevel', 'error', '-probesize', '32', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(FPS), '-i', '-',
    '-vf', `scale=${OW}:${OH}`, '-fps_mode', 'passthrough', '-threads', '1', '-flush_packets', '1', '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', String(FFQ), '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const headers = [];
  let buf = Buffer.alloc(0);
  let encoded = 0, sent = 0, dropped = 0, skipped = 0, inFlight = 0;
  ff.stdout.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      const end = buf.indexOf(Buffer.from([0xff, 0xd9]));
      if (end < 0) break;
      const jpeg = buf.subarray(0, end + 2);
      buf = buf.subarray(end + 2);
      inFlight--;
      encoded++;
      const head = Buffer.from(JSON.stringify({ ...headers.shift(), width: OW, height: OH, sentAtMs: Date.now() }));
      const msg = Buffer.allocUnsafe(4 + head.length + jpeg.length);
      msg.writeUInt32LE(head.length, 0); head.copy(msg, 4); jpeg.copy(msg, 4 + head.length);
      for (const v of viewers) { if (v.bufferedAmount > 512 * 1024) { dropped++; continue; } v.send(msg); sent++; }
    }
  });
  // The peer's loop: take frames from the same source, gate to FPS, pipe the raw pixels to ffmpeg.
  const src = timecodeSource({ width: W, height: H, fps: 30 })();
  let running = true, lastTs = -Infinity;
  const loop = (async () => {
    for (;;) {
      const f = await src.next();
      if (!f || !running) { f?.release(); break; }
      if (viewers.size > 0 && f.ts - lastTs >= 1e9 / FPS - 1e6) {
        if (inFlight > 0) skipped++;
        else {
          lastTs = f.ts;
          headers.push({ feed: 1, seq: f.seq, ts: f.ts, wallTs: f.wallTs, boxes: [] });
          inFlight++;
          ff.stdin.write(Buffer.from(f.plane(0))); // a copy: the write is asynchronous and the frame is released below
        }
      }
      f.release();
    }
  })();
  return {
    name: 'ffmpeg-pipe', ws: `ws://127.0.0.1:${wss.address().port}/`, page: undefined, childPids: () => [ff.pid],
    stats: () => ({ framesEncoded: encoded, framesSent: sent, framesDroppedSlowViewer: dropped, framesSkippedBusy: skipped }),
    stop: async () => { running = false; src.stop(); await loop; ff.stdin.end(); await new Promise((r) => ff.once('exit', r)); for (const v of viewers) v.terminate(); wss.close(); },
  };
}

// ---- measurements -----------------------------------------------------------------------------
function procCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, clock ticks of 10 ms
  } catch { return 0; }
}

async function latency(browser, side, url) {
  const page = await browser.newPage();
  await page.goto(url);
  await sleep(2000); // warm-up
  await page.evaluate(() => { if (window.lat) window.lat.length = 0; if (window.__nv) window.__nv.latencies.length = 0; });
  await sleep(SECONDS * 1000);
  const l = await page.evaluate(() => (window.__nv ? window.__nv.latencies : window.lat).slice());
  const bytes = await page.evaluate(() => (window.bytes && window.frames ? window.bytes / window.frames : undefined));
  await page.close();
  return { p50: median(l), p95: pct(l, 0.95), n: l.length, bytesPerFrame: bytes };
}

const VIEWER_SCRIPT = `
const { WebSocket } = require(process.argv[2]);
const n = Number(process.argv[3]); let bytes = 0; let open = 0;
for (let i = 0; i < n; i++) { const w = new WebSocket(process.argv[1]); w.on('open', () => { if (++open === n) process.send('open'); }); w.on('message', (d) => { bytes += d.length; }); }
process.on('message', () => { process.send(String(bytes)); process.exit(0); });
`;

async function cpu(side, n) {
  let child;
  if (n > 0) {
    child = spawn(process.execPath, ['-e', VIEWER_SCRIPT, side.ws, req.resolve('ws'), String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((r) => child.once('message', r));
  }
  await sleep(1500); // encoder start, steady state
  const s0 = side.stats?.() ?? {};
  const c0 = process.cpuUsage(); const k0 = side.childPids().reduce((a, p) => a + procCpuMs(p), 0); const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const c1 = process.cpuUsage(c0); const k1 = side.childPids().reduce((a, p) => a + procCpuMs(p), 0); const dt = performance.now() - t0;
  const s1 = side.stats?.() ?? {};
  let bytes = 0;
  if (child) { child.send('done'); bytes = Number(await new Promise((r) => child.once('message', r))); }
  return {
    cpuPct: (((c1.user + c1.system) / 1000 + (k1 - k0)) / dt) * 100,
    encodedFps: ((s1.framesEncoded ?? 0) - (s0.framesEncoded ?? 0)) / (dt / 1000),
    mbps: (bytes * 8) / 1e6 / ((dt + 1500) / 1000) / Math.max(1, n),
  };
}

// Each side of each round runs in a fresh child process (`--side`), so nothing one side leaves
// behind (threads, timers, heap) is counted against the next; this process only alternates.
const SIDE = arg('side', undefined);
if (SIDE !== undefined) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const side = await (SIDE === 'nv' ? startNv() : startFfmpeg());
  const r = { name: side.name, g2g: await latency(browser, side, `${pageUrl}?ws=${encodeURIComponent(side.ws)}`), cpu: {} };
  if (side.page) r.page = await latency(browser, side, side.page);
  const counts = arg('reverse', '0') === '1' ? [...VIEWERS].reverse() : VIEWERS;
  for (const n of counts) r.cpu[n] = await cpu(side, n);
  await side.stop();
  await browser.close();
  pageServer.close();
  process.send?.(r);
  process.exit(0);
}
pageServer.close();
const results = { nv: { g2g: [], page: [], cpu: {} }, 'ffmpeg-pipe': { g2g: [], cpu: {} } };
console.log(`live view: source ${W}x${H} @ 30 fps → ${OW}x${OH} JPEG @ ≤ ${FPS} fps (nv quality ${QUALITY}, ffmpeg -q:v ${FFQ}); ${ROUNDS} rounds × ${SECONDS} s`);
const passthrough = process.argv.slice(2).filter((_a, i, all) => !['--rounds'].includes(all[i]) && !['--rounds'].includes(all[i - 1]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['nv', 'ffmpeg-pipe'] : ['ffmpeg-pipe', 'nv'];
  for (const name of order) {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, ...passthrough, '--side', name, '--reverse', String(round % 2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const one = await new Promise((res, rej) => { child.once('message', res); child.once('exit', (c) => rej(new Error(`${name} side exited ${c}`))); });
    const r = results[name];
    r.g2g.push(one.g2g);
    if (one.page) r.page.push(one.page);
    for (const [n, c] of Object.entries(one.cpu)) (r.cpu[n] ??= []).push(c);
    console.log(`round ${round + 1} ${name}: g2g p50 ${one.g2g.p50} ms (n=${one.g2g.n}); cpu ${Object.entries(one.cpu).map(([n, c]) => `${n}v ${c.cpuPct.toFixed(1)}%`).join(', ')}`);
  }
}

console.log('\n| | nv | ffmpeg-pipe |\n|---|---|---|');
const lat = (name, k) => median(results[name].g2g.map((x) => x[k]));
console.log(`| glass-to-glass p50, ms (probe page) | ${lat('nv', 'p50')} | ${lat('ffmpeg-pipe', 'p50')} |`);
console.log(`| glass-to-glass p95, ms (probe page) | ${lat('nv', 'p95')} | ${lat('ffmpeg-pipe', 'p95')} |`);
console.log(`| glass-to-glass p50 / p95, ms (nv's own page) | ${median(results.nv.page.map((x) => x.p50))} / ${median(results.nv.page.map((x) => x.p95))} | – |`);
console.log(`| JPEG bytes per frame | ${Math.round(lat('nv', 'bytesPerFrame'))} | ${Math.round(lat('ffmpeg-pipe', 'bytesPerFrame'))} |`);
// CPU is reported as what the live view adds over nobody watching, in the same child process:
// the synthetic source (a fresh 2.7 MB RGB frame 30 times a second, the same on both sides)
// costs 3–18 % of a core depending on how the process's GC settles, which swamps the difference.
const added = (name, n) => median(results[name].cpu[n].map((x, i) => x.cpuPct - results[name].cpu[0][i].cpuPct));
for (const n of VIEWERS) {
  const c = (name) => median(results[name].cpu[n].map((x) => x.cpuPct)).toFixed(1);
  const e = (name) => median(results[name].cpu[n].map((x) => x.encodedFps)).toFixed(1);
  const a = (name) => (n === 0 || !results[name].cpu[0] ? '' : `, +${added(name, n).toFixed(1)}`);
  console.log(`| CPU % of a core (server${n ? '' : ', nobody watching'}) with ${n} viewer${n === 1 ? '' : 's'} (${n ? 'added over 0 viewers, ' : ''}encoded fps) | ${c('nv')}${a('nv')} (${e('nv')}) | ${c('ffmpeg-pipe')}${a('ffmpeg-pipe')} (${e('ffmpeg-pipe')}) |`);
}
const nmax = Math.max(...VIEWERS), n1 = VIEWERS.includes(1) ? 1 : undefined;
if (n1 !== undefined && nmax > 1 && VIEWERS.includes(0)) {
  for (const name of ['nv', 'ffmpeg-pipe']) {
    const per = (added(name, nmax) - added(name, 1)) / (nmax - 1);
    console.log(`${name}: first viewer +${added(name, 1).toFixed(2)} % of a core, each further viewer ${per.toFixed(2)} % (from 1 to ${nmax} viewers)`);
  }
}
