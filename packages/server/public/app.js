// nv live view: feeds with live video and overlays, their rates, drops, queues and stage
// latencies over the last minutes, the health-event log, and a form to add/remove/pause feeds.
// Plain browser JavaScript (no build step); the server serves it as is.
'use strict';

const HISTORY_S = 300;
const params = new URLSearchParams(location.search);
let token = params.get('token') || localStorage.getItem('nv.token') || '';

/** What tests and the latency benchmark read: frames drawn per feed, last header, glass-to-glass samples. */
const probe = { frames: {}, headers: {}, latencies: [], boxesDrawn: {}, errors: [] };
window.__nv = probe;

const $ = (sel) => document.querySelector(sel);
const authHeaders = () => (token ? { authorization: `Bearer ${token}` } : {});
const withToken = (url) => (token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url);

async function api(method, path, body) {
  const res = await fetch(path, {
    method, headers: { ...authHeaders(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 401) { $('#token-form').hidden = false; setStatus('token required', 'disconnected'); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || { code: String(res.status), message: res.statusText };
    const cut = (t) => (t.length > 160 ? `${t.slice(0, 157)}…` : t);
    const err = new Error(e.fields ? `${e.code}\n${e.fields.map((f) => `${f.field}: ${cut(f.message)}`).join('\n')}` : `${e.code}: ${cut(e.message)}`);
    err.code = e.code;
    throw err;
  }
  return data;
}

function setStatus(text, cls) { const s = $('#status'); s.textContent = text; s.className = `badge ${cls}`; }

// ---- feed cards -------------------------------------------------------------------------
const cards = new Map(); // feed id → { el, canvas, ctx, ws, stats, hasVideo }

function feedTitle(f) {
  const s = f.settings && f.settings.source;
  const src = typeof s === 'string' ? s : s ? (s.url || s.path || s.device || (s.kind === 'testPattern' ? `testpattern:${s.pattern}` : s.kind)) : '';
  return `${f.name ? f.name : `feed ${f.id}`}${src ? ` — ${src}` : ''}`;
}

function ensureCard(f) {
  let c = cards.get(f.id);
  if (c) return c;
  const el = document.createElement('article');
  el.className = 'feed';
  el.dataset.feed = String(f.id);
  el.innerHTML = `
    <div class="title"><span class="badge state"></span><strong></strong>
      <button data-act="pause">pause</button><button data-act="remove">remove</button></div>
    ${f.liveView ? '<canvas width="640" height="360"></canvas>' : '<div class="novideo">no live video (isolated feed)</div>'}
    <div class="stats">
      <span>fps <b data-k="fps">–</b></span><span>drops <b data-k="drops">0</b></span>
      <span>src q <b data-k="srcq">–</b></span><span>sink q <b data-k="sinkq">–</b></span>
      <span>latency <b data-k="lat">–</b></span><span>viewer fps <b data-k="vfps">–</b></span>
      <span>g2g <b data-k="g2g">–</b></span><span>decoder <b data-k="dec">–</b></span>
    </div>`;
  el.querySelector('strong').textContent = feedTitle(f);
  el.querySelector('[data-act="pause"]').addEventListener('click', async (ev) => {
    const paused = ev.target.textContent === 'resume';
    try { await api('POST', `/api/feeds/${f.id}/${paused ? 'resume' : 'pause'}`); } catch (e) { logLine(`${e.message}`, 'bad'); }
    refresh();
  });
  el.querySelector('[data-act="remove"]').addEventListener('click', async () => {
    try { await api('DELETE', `/api/feeds/${f.id}`); } catch (e) { logLine(`${e.message}`, 'bad'); }
    refresh();
  });
  $('#feeds').appendChild(el);
  const canvas = el.querySelector('canvas');
  c = { el, canvas, ctx: canvas ? canvas.getContext('2d', { willReadFrequently: params.has('probe') }) : undefined, ws: undefined, drawn: 0, drawnAt: [] };
  cards.set(f.id, c);
  probe.frames[f.id] = 0;
  if (canvas) connectVideo(f.id, c);
  return c;
}

function removeCard(id) {
  const c = cards.get(id);
  if (!c) return;
  c.closed = true;
  if (c.ws) c.ws.close();
  c.el.remove();
  cards.delete(id);
}

function connectVideo(id, c) {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(withToken(`${proto}://${location.host}/api/feeds/${id}/live`));
  ws.binaryType = 'arraybuffer';
  c.ws = ws;
  let busy = false;
  ws.onmessage = async (m) => {
    if (busy) return; // still drawing the previous frame: keep only the newest
    busy = true;
    try {
      const buf = m.data;
      const n = new DataView(buf).getUint32(0, true);
      const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
      const bitmap = await createImageBitmap(new Blob([new Uint8Array(buf, 4 + n)], { type: 'image/jpeg' }));
      draw(c, header, bitmap);
      bitmap.close();
    } catch (e) {
      probe.errors.push(String(e));
    } finally {
      busy = false;
    }
  };
  ws.onclose = () => { if (!c.closed) setTimeout(() => { if (!c.closed && cards.get(id) === c) connectVideo(id, c); }, 1000); };
}

function draw(c, header, bitmap) {
  const { canvas, ctx } = c;
  if (canvas.width !== header.width || canvas.height !== header.height) { canvas.width = header.width; canvas.height = header.height; }
  ctx.drawImage(bitmap, 0, 0);
  const now = Date.now();
  if (params.get('probe') === 'timecode') {
    const t = readTimecode(ctx, canvas.width, canvas.height);
    if (t !== undefined) { probe.latencies.push(now - t); c.g2g = now - t; }
  }
  const W = canvas.width, H = canvas.height;
  ctx.lineWidth = Math.max(2, H / 240);
  ctx.font = `${Math.max(12, Math.round(H / 30))}px system-ui, sans-serif`;
  for (const b of header.boxes) {
    const [x1, y1, x2, y2] = b.box;
    const color = `rgb(${b.color[0]},${b.color[1]},${b.color[2]})`;
    ctx.strokeStyle = color;
    ctx.strokeRect(x1 * W, y1 * H, (x2 - x1) * W, (y2 - y1) * H);
    if (b.label) {
      const tw = ctx.measureText(b.label).width + 6;
      const th = Math.max(14, Math.round(H / 26));
      const ty = y1 * H > th ? y1 * H - th : y1 * H;
      ctx.fillStyle = color;
      ctx.fillRect(x1 * W, ty, tw, th);
      ctx.fillStyle = '#000';
      ctx.fillText(b.label, x1 * W + 3, ty + th - 4);
    }
  }
  c.drawn++;
  c.drawnAt.push(now);
  while (c.drawnAt.length && c.drawnAt[0] < now - 2000) c.drawnAt.shift();
  probe.frames[header.feed] = (probe.frames[header.feed] || 0) + 1;
  probe.headers[header.feed] = header;
  probe.boxesDrawn[header.feed] = header.boxes.length;
}

/**
 * The wall-clock time burned into a probe source's frames: 44 bits (ms since the epoch, most
 * significant first) as black/white blocks across the top twentieth of the frame.
 */
function readTimecode(ctx, W, H) {
  const BITS = 44;
  const row = ctx.getImageData(0, Math.floor(H / 40), W, 1).data;
  let t = 0;
  for (let i = 0; i < BITS; i++) {
    const x = Math.floor(((i + 0.5) * W) / BITS);
    const v = row[x * 4] * 0.299 + row[x * 4 + 1] * 0.587 + row[x * 4 + 2] * 0.114;
    t = t * 2 + (v > 127 ? 1 : 0);
  }
  return t > 1.6e12 && t < 4e12 ? t : undefined;
}

// ---- charts -----------------------------------------------------------------------------
const palette = ['#3fb950', '#58a6ff', '#d29922', '#f778ba', '#a371f7', '#39c5cf', '#e3b341', '#ff7b72'];
const history = { t: [], series: new Map() }; // series key → array aligned with t
const charts = {};

function chart(id, title, unit) {
  const el = $(id);
  return { el, title, unit, plot: undefined, keys: [] };
}
charts.fps = chart('#chart-fps', 'frames/s processed', 'fps');
charts.drops = chart('#chart-drops', 'drops/s (source + sink)', '/s');
charts.queues = chart('#chart-queues', 'queue depth (source)', 'frames');
charts.latency = chart('#chart-latency', 'mean stage latency, ms', 'ms');

function renderChart(ch, keys, labelOf) {
  const data = [history.t, ...keys.map((k) => history.series.get(k) || [])];
  const same = ch.plot && ch.keys.length === keys.length && ch.keys.every((k, i) => k === keys[i]);
  if (!same) {
    if (ch.plot) ch.plot.destroy();
    ch.keys = keys;
    ch.plot = new uPlot({
      title: ch.title, width: 396, height: 150, legend: { show: true },
      scales: { x: { time: true } },
      series: [{}, ...keys.map((k, i) => ({ label: labelOf(k), stroke: palette[i % palette.length], width: 1.5, points: { show: false } }))],
      axes: [{ stroke: '#8b95a3', grid: { stroke: '#2c333d' } }, { stroke: '#8b95a3', grid: { stroke: '#2c333d' } }],
    }, data, ch.el);
  } else {
    ch.plot.setData(data);
  }
}

function push(key, value) {
  let s = history.series.get(key);
  if (!s) { s = new Array(history.t.length - 1).fill(null); history.series.set(key, s); }
  s.push(value);
}

// ---- polling ----------------------------------------------------------------------------
let prev;
const names = new Map();

async function refresh() {
  let diag, list;
  try {
    [diag, list] = await Promise.all([api('GET', '/api/diagnostics'), api('GET', '/api/feeds')]);
  } catch (e) {
    if (e.code !== 'Unauthorized') setStatus('server unreachable', 'disconnected');
    return;
  }
  setStatus('connected', 'connected');
  const now = Date.now();
  const live = new Set(list.feeds.map((f) => f.id));
  for (const id of [...cards.keys()]) if (!live.has(id)) removeCard(id);
  for (const f of list.feeds) {
    const c = ensureCard(f);
    names.set(f.id, f.name || `feed ${f.id}`);
    const st = c.el.querySelector('.state');
    st.textContent = f.paused ? 'paused' : f.state;
    st.className = `badge state ${f.paused ? 'paused' : f.state}`;
    c.el.querySelector('[data-act="pause"]').textContent = f.paused ? 'resume' : 'pause';
  }
  $('#summary').textContent = `${diag.feedCount} feed${diag.feedCount === 1 ? '' : 's'} · up ${Math.round(diag.uptimeMs / 1000)} s · ${diag.server.viewers} viewer${diag.server.viewers === 1 ? '' : 's'}`;

  history.t.push(now / 1000);
  const dt = prev ? (now - prev.at) / 1000 : 0;
  const latKeys = [];
  for (const d of diag.feeds) {
    const p = prev && prev.feeds.get(d.id);
    const m = d.metrics;
    const fps = p && dt > 0 ? (m.framesProcessed - p.metrics.framesProcessed) / dt : null;
    const drops = p && dt > 0 ? (m.framesDropped + m.outputsDropped - p.metrics.framesDropped - p.metrics.outputsDropped) / dt : null;
    push(`fps:${d.id}`, fps);
    push(`drops:${d.id}`, drops);
    push(`q:${d.id}`, d.queues.sourceDepth);
    for (const [sid, s] of Object.entries(m.stages)) {
      const ps = p && p.metrics.stages[sid];
      const n = ps ? s.latency.count - ps.latency.count : 0;
      push(`lat:${d.id}:${sid}`, n > 0 ? (s.latency.sumMs - ps.latency.sumMs) / n : null);
      latKeys.push(`lat:${d.id}:${sid}`);
    }
    const c = cards.get(d.id);
    if (c) {
      const set = (k, v) => { const b = c.el.querySelector(`[data-k="${k}"]`); if (b) b.textContent = v; };
      set('fps', fps === null ? '–' : fps.toFixed(1));
      set('drops', String(m.framesDropped + m.outputsDropped + (d.liveView ? d.liveView.framesDroppedSlowViewer : 0)));
      set('srcq', `${d.queues.sourceDepth}/${d.queues.sourceCapacity}`);
      set('sinkq', `${d.queues.sinkDepth}/${d.queues.sinkCapacity}`);
      set('lat', m.pipelineLatency.count ? `${m.pipelineLatency.p50Ms.toFixed(1)} ms` : '–');
      set('vfps', c.drawnAt ? (c.drawnAt.length / 2).toFixed(1) : '–');
      set('g2g', c.g2g !== undefined ? `${Math.round(c.g2g)} ms` : '–');
      set('dec', d.decode ? d.decode.detail : '–');
    }
  }
  for (const s of history.series.values()) while (s.length < history.t.length) s.push(null);
  while (history.t.length > HISTORY_S) { history.t.shift(); for (const s of history.series.values()) s.shift(); }
  prev = { at: now, feeds: new Map(diag.feeds.map((d) => [d.id, d])) };
  const ids = diag.feeds.map((d) => d.id);
  const nm = (k) => { const parts = k.split(':'); return `${names.get(Number(parts[1])) || parts[1]}${parts[2] ? ` ${parts[2]}` : ''}`; };
  renderChart(charts.fps, ids.map((i) => `fps:${i}`), nm);
  renderChart(charts.drops, ids.map((i) => `drops:${i}`), nm);
  renderChart(charts.queues, ids.map((i) => `q:${i}`), nm);
  renderChart(charts.latency, latKeys, nm);
}

// ---- health events ----------------------------------------------------------------------
const BAD = new Set(['StagePanic', 'FeedPanic', 'SourceDisconnected', 'FeedStopped', 'SinkPanic', 'StopTimeout', 'FeedWorkerUnresponsive']);
const WARN = new Set(['StageError', 'BackpressureDrop', 'FrameLag', 'SinkBackpressure', 'OutputLagged', 'SourceReconnecting', 'StageTimeout', 'FeedRestarting', 'FrameDropped']);

function logLine(text, cls) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (cls) li.className = cls;
  const ol = $('#events');
  ol.prepend(li);
  while (ol.children.length > 200) ol.lastChild.remove();
}

function connectEvents() {
  const es = new EventSource(withToken('/api/events'));
  es.addEventListener('health', (m) => {
    const e = JSON.parse(m.data);
    const { type, feedId, ...rest } = e;
    const detail = JSON.stringify(rest);
    logLine(`${feedId !== undefined ? `[${names.get(feedId) || `feed ${feedId}`}] ` : ''}${type} ${detail === '{}' ? '' : detail.slice(0, 160)}`, BAD.has(type) ? 'bad' : WARN.has(type) ? 'warn' : '');
  });
  es.addEventListener('lagged', (m) => logLine(`(this page missed ${JSON.parse(m.data).lost} events)`, 'warn'));
  es.onerror = () => { es.close(); setTimeout(connectEvents, 2000); };
}

// ---- forms ------------------------------------------------------------------------------
/** A source as typed on the command line → the config's object form (test patterns play in real time here). */
function sourceOf(text) {
  if (/^rtsps?:\/\/|^rtspt:\/\//i.test(text)) return { kind: 'rtsp', url: text };
  const tp = /^testpattern:(.*)$/i.exec(text);
  if (tp) return { kind: 'testPattern', pattern: tp[1] || 'smpte', width: 640, height: 360, live: true };
  if (/^\/dev\/video\d+$/.test(text)) return { kind: 'v4l2', device: text };
  return { kind: 'file', path: text };
}

$('#add-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const fd = new FormData(ev.target);
  const body = { source: sourceOf(String(fd.get('source')).trim()), cameraMode: fd.get('cameraMode') };
  const name = String(fd.get('name') || '').trim();
  if (name) body.name = name;
  $('#add-error').textContent = '';
  try {
    const f = await api('POST', '/api/feeds', body);
    logLine(`added feed ${f.id}${f.name ? ` (${f.name})` : ''}`);
    ev.target.reset();
  } catch (e) {
    $('#add-error').textContent = e.message;
  }
  refresh();
});

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('#token').value;
  localStorage.setItem('nv.token', token);
  $('#token-form').hidden = true;
  for (const id of [...cards.keys()]) removeCard(id);
  refresh();
});

// ---- the cluster (on an nv node: GET /api/cluster; elsewhere 404 and the panel stays hidden) ----
let clusterOn = true;
async function refreshCluster() {
  if (!clusterOn) return;
  let s;
  try {
    s = await api('GET', '/api/cluster');
  } catch (e) {
    if (e.code && e.code.startsWith('NotFound')) { clusterOn = false; return; }
    $('#cluster-summary').textContent = `(unavailable: ${e.message})`;
    return;
  }
  $('#cluster').hidden = false;
  $('#cluster-summary').textContent = `${s.cluster}: ${s.nodes.length} node${s.nodes.length === 1 ? '' : 's'} · ${s.feeds.length} feed${s.feeds.length === 1 ? '' : 's'}`;
  const urls = new Map(s.nodes.map((n) => [n.name, n.url]));
  const rows = s.feeds.map((f) => {
    const tr = document.createElement('tr');
    tr.dataset.feed = f.name;
    const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.append(td); return td; };
    cell(f.name);
    const owner = cell('');
    const url = f.owner && urls.get(f.owner);
    if (url && url !== location.origin) { const a = document.createElement('a'); a.href = `${url}/`; a.textContent = f.owner; owner.append(a); } else owner.textContent = f.owner || '–';
    cell(f.token !== undefined && f.token !== null ? String(f.token) : '–');
    const st = cell('');
    const b = document.createElement('span');
    b.className = `badge ${f.state}`;
    b.textContent = f.state;
    if (f.error) b.title = f.error;
    st.append(b);
    cell(f.frames !== undefined && f.frames !== null ? String(f.frames) : '–');
    return tr;
  });
  $('#cluster-feeds tbody').replaceChildren(...rows);
  $('#cluster-nodes').textContent = s.nodes.map((n) => `${n.name}: ${n.feeds} feed${n.feeds === 1 ? '' : 's'}`).join(' · ');
}

connectEvents();
refresh();
setInterval(refresh, 1000);
refreshCluster();
setInterval(refreshCluster, 2000);
