#!/usr/bin/env node
// What zones/lines analytics and an MQTT sink cost a tracking job, side by side in one run.
//
// The job (both sides): a 1280×720 30 fps H.264 clip with motion (FFmpeg testsrc2, cached in
// $TMPDIR/nv-bench) decoded by nv (`MediaSource`, block backpressure) → a detector stand-in
// reporting --objects boxes per frame on known paths (no pixel work: the bench is about what
// comes after detection) → `TrackerStage` (@nv/tracking) → the sink.
//   off: nothing more (the sink counts outputs).
//   analytics: + `AnalyticsStage` (4 zones with dwell, 4 directed lines), no sink.
//   on:  + analytics + an `MqttSink` (@nv/sinks, QoS 1) publishing every analytics event (what
//        `nv run --zones … --mqtt URL` does by default) to a real mosquitto started by the bench,
//        with a mosquitto_sub subscriber reading everything (so the broker really delivers).
//   on-both: as on, plus one message per frame with the frame's tracks (`--publish both`).
//   on-qos0: as on, QoS 0.
// Each side of each round runs in a fresh Node process (same fixed costs: process start, addon
// load, decoder set-up inside the measured run on both sides), sides alternate, median of
// --rounds (≥ 3). Reported: frames/s (first frame → last frame) and CPU per frame (user+system of
// the whole process — decoder threads included — over the same span). No forced GC. Not a test.
//   --job detect: every side also runs a YOLOv8-shaped model (7.9 GFLOPs, 2 threads) on every
//        frame before the stand-in, as a real detection job does (the cost relative to a job
//        users actually run; the default `light` job is the stress case).
// Run: pnpm run build && node tools/bench/events.mjs [--rounds 5] [--frames 600] [--objects 20] [--variants off,analytics,on,on-both] [--job light|detect]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? process.argv[i + 1] : d; };
const ROUNDS = Number(arg('rounds', 5));
const FRAMES = Number(arg('frames', 600));
const OBJECTS = Number(arg('objects', 20));
const W = 1280, H = 720;
const JOB = String(arg('job', 'light')); // light: decode + tracker; detect: + a YOLO-sized model per frame
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function child(variant, clip, port, modelPath) {
  const { BBox, detectionId } = await import('../../packages/core/dist/index.js');
  const { createDetection } = await import('../../packages/perception/dist/index.js');
  const { MediaSource } = await import('../../packages/media/dist/index.js');
  const { Runtime } = await import('../../packages/runtime/dist/index.js');
  const { TrackerStage } = await import('../../packages/tracking/dist/index.js');
  const { AnalyticsStage, ANALYTICS_EVENTS, eventToJson } = await import('../../packages/analytics/dist/index.js');
  const { MqttSink, messageId } = await import('../../packages/sinks/dist/index.js');
  let next = 1;
  // OBJECTS boxes on known paths: each walks across the frame (left↔right) on its own row and speed.
  const detector = {
    id: 'detector',
    capabilities: { producesDetections: true },
    process(ctx) {
      const t = ctx.frame.ts / 1e9;
      const detections = [];
      for (let k = 0; k < OBJECTS; k++) {
        const speed = 0.05 + (k % 7) * 0.02;
        const phase = (t * speed + k / OBJECTS) % 2;
        const x = phase < 1 ? phase : 2 - phase; // back and forth
        const y = 0.05 + (0.85 * k) / OBJECTS;
        const cx = 0.04 + x * 0.92;
        detections.push(createDetection({ id: detectionId(next++), classId: k % 3, confidence: 0.9, bbox: BBox.of(cx - 0.03, y, cx + 0.03, y + 0.08) }));
      }
      return { detections };
    },
  };
  const stages = [detector, new TrackerStage()];
  if (modelPath) {
    // --job detect: a YOLOv8-shaped model (7.9 GFLOPs, tools/bench/yolo-model.mjs) runs on every
    // frame first, as in a real detection job (its few boxes join the stand-in's).
    const { OnnxDetector } = await import('../../packages/onnx/dist/index.js');
    stages.unshift(new OnnxDetector({ modelPath, intraOpNumThreads: 2 }));
  }
  let mqtt;
  const withAnalytics = variant !== 'off';
  const withMqtt = variant.startsWith('on');
  const withOutputs = variant === 'on-both';
  if (withAnalytics) {
    stages.push(new AnalyticsStage({
      zones: [
        { id: 'z1', polygon: [[0.05, 0.05], [0.3, 0.05], [0.3, 0.5], [0.05, 0.5]], dwellSeconds: 2 },
        { id: 'z2', polygon: [[0.7, 0.05], [0.95, 0.05], [0.95, 0.5], [0.7, 0.5]], dwellSeconds: 2 },
        { id: 'z3', polygon: [[0.05, 0.5], [0.3, 0.5], [0.3, 0.95], [0.05, 0.95]], dwellSeconds: 2 },
        { id: 'z4', polygon: [[0.4, 0.3], [0.6, 0.3], [0.65, 0.7], [0.35, 0.7]], dwellSeconds: 2 },
      ],
      lines: [
        { id: 'l1', from: [0.5, 0], to: [0.5, 1] }, { id: 'l2', from: [0.25, 0], to: [0.25, 1] },
        { id: 'l3', from: [0.75, 0], to: [0.75, 1] }, { id: 'l4', from: [0, 0.5], to: [1, 0.5] },
      ],
    }));
  }
  if (withMqtt) {
    mqtt = new MqttSink({ url: `mqtt://127.0.0.1:${port}/bench`, qos: variant.endsWith('qos0') ? 0 : 1, queueSize: 10_000 });
  }
  let events = 0, frames = 0, t0 = 0, c0 = { user: 0, system: 0 }, t1 = 0, c1 = c0;
  const rt = new Runtime();
  const feed = rt.addFeed({
    source: () => new MediaSource({ kind: 'file', path: clip }, { backpressure: { kind: 'block', queueDepth: 4 } }),
    cameraMode: 'fixed', stages, sinkQueueCapacity: 1024,
    sink: {
      emit(o) {
        if (frames === 0) { t0 = performance.now(); c0 = process.cpuUsage(); }
        frames++;
        if (mqtt) {
          const evs = o.artifacts.stageArtifacts.get(ANALYTICS_EVENTS) ?? [];
          evs.forEach((e, i) => { mqtt.publish({ id: messageId(o.feedId, o.seq, i), subject: `feed1.events.${e.type}`, payload: eventToJson(e) }); });
          events += evs.length;
          if (withOutputs) mqtt.publish({
            id: `${o.feedId}:${o.seq}:out`, subject: 'feed1.outputs',
            payload: { seq: o.seq, ts: o.ts, tracks: o.artifacts.tracks.map((t) => ({ id: t.id, state: t.state, bbox: [t.current.bbox.xMin, t.current.bbox.yMin, t.current.bbox.xMax, t.current.bbox.yMax] })) },
          });
        }
        t1 = performance.now(); c1 = process.cpuUsage();
      },
    },
  });
  await feed.done;
  await rt.shutdown();
  const sinkStats = mqtt ? (await mqtt.close({ timeoutMs: 10_000 }), mqtt.stats()) : undefined;
  const cpuMs = (c1.user - c0.user + c1.system - c0.system) / 1000;
  process.stdout.write(JSON.stringify({
    variant, frames, fps: ((frames - 1) * 1000) / (t1 - t0), cpuMsPerFrame: cpuMs / (frames - 1), events,
    delivered: sinkStats?.delivered ?? 0, dropped: sinkStats?.dropped.total ?? 0,
  }));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]), process.argv[6] || undefined);
  process.exit(0);
}

const dir = join(tmpdir(), 'nv-bench');
mkdirSync(dir, { recursive: true });
const clip = join(dir, `events-${W}x${H}-${FRAMES}.mp4`);
if (!existsSync(clip)) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=30`, '-frames:v', String(FRAMES),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', 'yuv420p', clip]);
}
let modelPath = '';
if (JOB === 'detect') {
  const { buildYoloModel } = await import('./yolo-model.mjs');
  modelPath = join(dir, 'events-yolo.onnx');
  if (!existsSync(modelPath)) writeFileSync(modelPath, (await buildYoloModel()).bytes);
}
const port = await new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const broker = spawn('/usr/sbin/mosquitto', ['-p', String(port)], { stdio: 'ignore' });
for (let i = 0; i < 50; i++) {
  const p = spawnSync('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'x', '-W', '1', '-C', '1'], { encoding: 'utf8' });
  if (!/refused/i.test(p.stderr)) break;
  await new Promise((r) => setTimeout(r, 100));
}
let received = 0;
const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'bench/#', '-q', '1'], { stdio: ['ignore', 'pipe', 'ignore'] });
sub.stdout.on('data', (d) => { for (const b of d) if (b === 10) received++; });
await new Promise((r) => setTimeout(r, 300));

const self = fileURLToPath(import.meta.url);
const runChild = (variant) => new Promise((resolve, reject) => {
  const p = spawn(process.execPath, [self, '--child', variant, clip, String(port), modelPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child ${variant} exited ${code}`))));
});
const VARIANTS = String(arg('variants', 'off,analytics,on,on-both')).split(',');
const results = Object.fromEntries(VARIANTS.map((v) => [v, []]));
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    const row = {};
    for (const v of order) { row[v] = await runChild(v); results[v].push(row[v]); }
    console.log(`round ${r + 1}: ${VARIANTS.map((v) => `${v} ${row[v].fps.toFixed(1)} fps ${row[v].cpuMsPerFrame.toFixed(3)} ms CPU/frame${row[v].delivered ? ` (${row[v].events} events, ${row[v].delivered} delivered, ${row[v].dropped} dropped)` : ''}`).join(' | ')}`);
  }
} finally {
  await new Promise((r) => setTimeout(r, 500));
  sub.kill('SIGKILL');
  broker.kill('SIGKILL');
}
const m = (v, k) => median(results[v].map((x) => x[k]));
const ratio = (k, v = 'on') => median(results[v].map((x, i) => x[k] / results.off[i][k]));
console.log(`\nnode ${process.version}; job ${JOB}; ${FRAMES} frames ${W}×${H} H.264; ${OBJECTS} objects per frame; median of ${ROUNDS} rounds`);
console.log(`| variant | frames/s | CPU ms/frame | frames/s ÷ off | CPU ÷ off | events | delivered | dropped |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|`);
for (const v of VARIANTS) {
  console.log(`| ${v} | ${m(v, 'fps').toFixed(1)} | ${m(v, 'cpuMsPerFrame').toFixed(3)} | ${ratio('fps', v).toFixed(3)} | ${ratio('cpuMsPerFrame', v).toFixed(3)} | ${m(v, 'events')} | ${m(v, 'delivered')} | ${m(v, 'dropped')} |`);
}
console.log(`subscriber received ${received} messages in all`);
