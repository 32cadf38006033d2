/**
 * Zones and lines through the command line, as a user runs it: `nv run clip --ocr --zones
 * zones.yaml --out o.jsonl` on the generated plate clip, whose plates move along known paths
 * (one left → right, one right → left, one diagonally). Each JSON line carries the frame's
 * events; the text detector finds words, so each plate is several tracks, and every one of them
 * crosses the middle line once, in its plate's direction (plates matched by ground truth), dated
 * to the first frame it was on the new side and reported after the hysteresis. Plus: a bad zones file is a usage error
 * naming the field, and a config file's per-feed `analytics` wins over the job's.
 */
import { freeTcpPort, makeTextClip, type TextClipGroundTruth } from '@nv/test-util';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from './index.js';

interface Ev { type: string; trackId: number; ts: number; line?: string; zone?: string; direction?: string; feedName?: string }
interface Line { seq: number; ts: number; events?: Ev[]; tracks: { id: number; bbox: number[] }[] }

const dir = mkdtempSync(join(tmpdir(), 'nv-cli-analytics-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });
function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => { out.push(l); }, err: (l: string) => { err.push(l); } } };
}
const read = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);

let clip: string;
let truth: TextClipGroundTruth;
const FPS = 15;
beforeAll(async () => {
  ({ path: clip, groundTruth: truth } = await makeTextClip({ width: 640, height: 360, frames: 45, fps: FPS }));
}, 120_000);

describe('nv run --zones', () => {
  it("every plate's word tracks cross the middle line once each, in the plate's direction, dated to the frame they crossed; zone entries/exits agree; the events are in the JSON lines", async () => {
    const zones = join(dir, 'zones.yaml');
    writeFileSync(zones, [
      'lines: [{ id: mid, from: [0.5, 0.0], to: [0.5, 1.0] }]',
      'zones: [{ id: right, polygon: [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]] }]',
      'anchor: center',
      '',
    ].join('\n'));
    const out = join(dir, 'o.jsonl');
    const c = capture();
    expect(await runCli(['run', clip, '--ocr', '--zones', zones, '--out', out], { io: c.io })).toBe(EXIT.ok);
    const lines = read(out);
    expect(lines).toHaveLength(45);
    expect(lines.every((l) => Array.isArray(l.events))).toBe(true);
    const crossings = lines.flatMap((l) => (l.events ?? []).filter((e) => e.type === 'lineCrossed').map((e) => ({ ...e, seq: l.seq })));
    // The text detector finds words, so each plate is several tracks (one per word): a crossing
    // belongs to the plate whose ground-truth box holds the track's centre at that frame.
    const centre = (trackId: number, seq: number) => {
      const [x0, y0, x1, y1] = lines[seq]!.tracks.find((x) => x.id === trackId)!.bbox as [number, number, number, number];
      return { x: (x0 + x1) / 2, y: (y0 + y1) / 2 };
    };
    const plateOf = (trackId: number, seq: number): number => {
      const c = centre(trackId, seq);
      return truth.perFrame[seq]!.plates.findIndex((p) => c.x * truth.width >= p.x && c.x * truth.width <= p.x + p.w && c.y * truth.height >= p.y && c.y * truth.height <= p.y + p.h);
    };
    const frameOf = (ts: number) => Math.round((ts * FPS) / 1e9);
    const expectedDirection = ['positive', 'negative', 'positive']; // left → right is positive for a line pointing down
    const plates = new Set<number>();
    for (const e of crossings) {
      const k = plateOf(e.trackId, e.seq);
      expect([e.trackId, k]).not.toEqual([e.trackId, -1]);
      plates.add(k);
      expect([e.trackId, e.direction, e.line]).toEqual([e.trackId, expectedDirection[k], 'mid']);
      // dated to the first frame the track's (tracked) centre was on the new side; reported minFrames − 1 = 2 frames later
      const at = frameOf(e.ts);
      const side = (seq: number) => Math.sign(centre(e.trackId, seq).x - 0.5);
      expect(side(at)).toBe(e.direction === 'positive' ? 1 : -1);
      expect(e.seq - at).toBeGreaterThanOrEqual(2);
    }
    expect([...plates].sort()).toEqual([0, 1, 2]); // every plate crossed, none twice per track
    expect(new Set(crossings.map((e) => e.trackId)).size).toBe(crossings.length);
    // The zone is the line's right half-plane: each positive crossing is a zone entry of the same
    // track at the same instant, each negative one an exit.
    const zoneEvents = lines.flatMap((l) => (l.events ?? []).filter((e) => e.zone === 'right'));
    for (const e of crossings) {
      const want = e.direction === 'positive' ? 'zoneEntered' : 'zoneExited';
      expect(zoneEvents.filter((z) => z.trackId === e.trackId && z.ts === e.ts).map((z) => z.type)).toEqual([want]);
    }
  }, 120_000);

  it('--clips writes an MP4 per burst of events; each event names its clip, which decodes; --clips without zones is a usage error', async () => {
    const zones = join(dir, 'zones-clips.yaml');
    writeFileSync(zones, 'lines: [{ id: mid, from: [0.5, 0.0], to: [0.5, 1.0] }]\nanchor: center\n');
    const out = join(dir, 'clips.jsonl');
    const clipDir = join(dir, 'clips');
    const c = capture();
    expect(await runCli(['run', clip, '--ocr', '--zones', zones, '--clips', clipDir, '--out', out], { io: c.io })).toBe(EXIT.ok);
    const evs = read(out).flatMap((l) => (l.events ?? []) as (Ev & { clip?: { path: string; fromTs: number; toTs: number } })[]).filter((e) => e.type === 'lineCrossed');
    expect(evs.length).toBeGreaterThanOrEqual(3);
    const paths = new Set(evs.map((e) => e.clip?.path));
    expect(c.out.find((l) => l.startsWith('clips:'))).toBe(`clips:    ${clipDir} (${paths.size} written)`);
    expect([...paths].every((p) => typeof p === 'string' && p.startsWith(clipDir) && /\/feed1-[a-z0-9]+-\d+ms-\d+\.mp4$/.test(p))).toBe(true);
    for (const p of paths) {
      const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', p!], { encoding: 'utf8' });
      const s = (JSON.parse(probe.stdout) as { streams: { codec_name: string; nb_read_frames: string }[] }).streams[0]!;
      expect(s.codec_name).toBe('h264');
      expect(Number(s.nb_read_frames)).toBeGreaterThan(5);
    }
    const bad = capture();
    expect(await runCli(['run', clip, '--ocr', '--clips', clipDir], { io: bad.io })).toBe(EXIT.usage);
    expect(bad.err.join('\n')).toMatch(/--clips .*--zones/);
  }, 120_000);

  it('a bad zones file is a usage error naming the field; a missing one says so', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'zones: [{ id: door, polygon: [[0.1, 0.1], [1.4, 0.1], [0.4, 0.9]] }]\n');
    const c = capture();
    expect(await runCli(['run', clip, '--ocr', '--zones', bad], { io: c.io })).toBe(EXIT.usage);
    expect(c.err.join('\n')).toMatch(/zones file .*bad\.yaml.*zones\[0\]\.polygon\[1\]\[0\]: must be in \[0, 1\]/);
    const m = capture();
    expect(await runCli(['run', clip, '--ocr', '--zones', join(dir, 'nope.yaml')], { io: m.io })).toBe(EXIT.usage);
    expect(m.err.join('\n')).toMatch(/cannot read: ENOENT/);
  });

  it("a config file's per-feed analytics replaces the job's, turns the tracker on, and reaches that feed only", async () => {
    const cfg = join(dir, 'job.yaml');
    const out = join(dir, 'cfg.jsonl');
    writeFileSync(cfg, [
      'ocr: true',
      'maxFrames: 20',
      'analytics: { lines: [{ id: job-line, from: [0.5, 0.0], to: [0.5, 1.0] }] }',
      'feeds:',
      `  - { name: own, source: ${JSON.stringify(clip)}, cameraMode: fixed, analytics: { lines: [{ id: own-line, from: [0.25, 0.0], to: [0.25, 1.0] }] } }`,
      `  - { name: shared, source: ${JSON.stringify(clip)}, cameraMode: fixed }`,
      '',
    ].join('\n'));
    const c = capture();
    expect(await runCli(['run', '-c', cfg, '--out', out], { io: c.io })).toBe(EXIT.ok);
    const lines = read(out) as (Line & { feedName: string })[];
    const linesOf = (name: string) => new Set(lines.filter((l) => l.feedName === name).flatMap((l) => (l.events ?? []).map((e) => e.line).filter((x) => x !== undefined)));
    expect([...linesOf('own')]).toEqual(['own-line']);
    expect([...linesOf('shared')]).toEqual(['job-line']);
    expect(lines.every((l) => l.tracks.length > 0 || l.seq < 3)).toBe(true);
    for (const l of lines) expect((l.events ?? []).every((e) => e.feedName === l.feedName && (l.feedName === 'own' || l.feedName === 'shared'))).toBe(true);
  }, 120_000);
});

describe('nv run --zones --mqtt (a real mosquitto)', () => {
  it('every event of the JSON lines reaches a mosquitto_sub subscriber once, on <base>/<feed>/events/<type>; the summary counts them', async () => {
    const port = await freeTcpPort();
    const broker = spawn('/usr/sbin/mosquitto', ['-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const got: string[] = [];
    let sub: ReturnType<typeof spawn> | undefined;
    try {
      // wait for the broker: mosquitto_sub retries until it connects
      for (let i = 0; i < 50; i++) {
        const probe = spawnSync('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'x', '-W', '1', '-C', '1'], { encoding: 'utf8' });
        if (!/Connection refused/i.test(probe.stderr)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'site1/#', '-v', '-q', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      sub.stdout!.on('data', (d: Buffer) => { buf += d.toString(); const parts = buf.split('\n'); buf = parts.pop()!; got.push(...parts); });
      await new Promise((r) => setTimeout(r, 300)); // subscribed
      const zones = join(dir, 'zones-mqtt.yaml');
      writeFileSync(zones, 'lines: [{ id: mid, from: [0.5, 0.0], to: [0.5, 1.0] }]\nanchor: center\n');
      const out = join(dir, 'mqtt.jsonl');
      const c = capture();
      expect(await runCli(['run', clip, '--name', 'gate', '--ocr', '--zones', zones, '--out', out, '--mqtt', `mqtt://127.0.0.1:${port}/site1`], { io: c.io })).toBe(EXIT.ok);
      const events = read(out).flatMap((l) => (l.events ?? []).map((e) => ({ seq: l.seq, e })));
      expect(events.length).toBeGreaterThan(5);
      for (let i = 0; i < 50 && got.length < events.length; i++) await new Promise((r) => setTimeout(r, 100));
      const received = got.map((line) => {
        const sp = line.indexOf(' ');
        return { topic: line.slice(0, sp), msg: JSON.parse(line.slice(sp + 1)) as { id: string; payload: Ev } };
      });
      expect(received).toHaveLength(events.length);
      expect(new Set(received.map((r) => r.msg.id)).size).toBe(events.length);
      expect(received.every((r) => /^[a-z0-9]+-1:\d+:\d+$/.test(r.msg.id))).toBe(true); // <run>-<feed id>:<seq>:<n>
      expect(received.map((r) => r.topic)).toEqual(events.map(({ e }) => `site1/gate/events/${e.type}`));
      expect(received.map((r) => r.msg.payload)).toEqual(events.map(({ e }) => e));
      expect(c.out.find((l) => l.startsWith('sink:'))).toMatch(new RegExp(`^sink: +\\S+ mqtt://127\\.0\\.0\\.1:${port}/site1: ${events.length} delivered$`));
    } finally {
      sub?.kill('SIGKILL');
      broker.kill('SIGKILL');
    }
  }, 120_000);

  it('a bad sink URL is a usage error naming the flag, before anything starts; the password never shows', async () => {
    const c = capture();
    const out = join(dir, 'never.jsonl');
    expect(await runCli(['run', clip, '--ocr', '--out', out, '--mqtt', 'mqtt://nv:hunter2@127.0.0.1:1883/site1?qos=7'], { io: c.io })).toBe(EXIT.usage);
    expect(c.err.join('\n')).toMatch(/--mqtt/);
    expect(c.err.join('\n')).not.toMatch(/hunter2/);
    expect(existsSync(out)).toBe(false);
  });
});

const NATS = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));
describe.skipIf(NATS === undefined)('nv run --nats --nats-stream --publish outputs, then nv outputs (a real nats-server with JetStream)', () => {
  it('the outputs land in a bounded stream, deduplicated by id, and nv outputs reads one feed back in order, the same JSON lines', async () => {
    const port = await freeTcpPort();
    const store = mkdtempSync(join(tmpdir(), 'nv-cli-js-'));
    const server = spawn(NATS!, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], { stdio: 'ignore' });
    try {
      const url = `nats://127.0.0.1:${port}/nv.site1`;
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        const c = capture();
        up = (await runCli(['outputs', '--nats', url, '--feed', 'x', '--stream', 'NONE', '--idle-ms', '1'], { io: c.io })) !== EXIT.source || !/ECONNREFUSED|CONNECTION_REFUSED|refused/i.test(c.err.join(''));
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      const out = join(dir, 'js.jsonl');
      const c = capture();
      expect(await runCli(['run', clip, '--name', 'gate', '--ocr', '-n', '20', '--out', out, '--nats', url, '--nats-stream', 'NV_OUTPUTS', '--publish', 'outputs'], { io: c.io })).toBe(EXIT.ok);
      expect(c.out.find((l) => l.startsWith('sink:'))).toMatch(/: 20 delivered$/);
      const r = capture();
      expect(await runCli(['outputs', '--nats', url, '--feed', 'gate', '--idle-ms', '1000'], { io: r.io })).toBe(EXIT.ok);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
      expect(r.out.map((l) => JSON.parse(l) as unknown)).toEqual(lines);
      expect(r.err.join('\n')).toMatch(/nv\.site1\.gate\.outputs: 20 outputs in order$/);
      const bad = capture();
      expect(await runCli(['run', clip, '--ocr', '--nats-stream', 'S'], { io: bad.io })).toBe(EXIT.usage);
    } finally {
      server.kill('SIGKILL');
      rmSync(store, { recursive: true, force: true });
    }
  }, 120_000);
});
