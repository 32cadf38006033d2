import { MediaSource } from '@nv/media';
import { makeTextClip } from '@nv/test-util';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT, loadJobConfig, runCli } from './index.js';
import { Screen } from './test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-cli-'));
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => { out.push(l); }, err: (l: string) => { err.push(l); } } };
}

/** An Io with a status display that records every call, in order. */
function captureWithStatus(columns = 80) {
  const log: (['out' | 'err', string] | ['status', readonly string[]])[] = [];
  const io = {
    out: (l: string) => { log.push(['out', l]); }, err: (l: string) => { log.push(['err', l]); },
    status: (lines: readonly string[]) => { log.push(['status', [...lines]]); }, columns,
  };
  const of = (k: 'out' | 'err') => log.filter((e) => e[0] === k).map((e) => e[1] as string);
  const statuses = () => log.filter((e) => e[0] === 'status').map((e) => e[1] as readonly string[]);
  return { log, io, out: () => of('out'), err: () => of('err'), statuses };
}

const pkgVersion = (JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string }).version;
const files = (d: string) => (existsSync(d) ? readdirSync(d) : []);
const jsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { feed: number; feedName?: string; seq: number });
const needBin = () => { if (!existsSync(bin)) throw new Error(`build the cli first (${bin} missing)`); };

/** Decodes a video: frame count, size, and RGB pixels of frame `keep`. */
async function decode(path: string, keep: number) {
  const src = new MediaSource({ kind: 'file', path }, { output: { format: 'RGB8' }, backpressure: { kind: 'block' } });
  let count = 0, width = 0, height = 0, stride = 0;
  let rgb = new Uint8Array(0);
  for await (const f of src.frames()) {
    if (count === keep) { rgb = f.plane(0).slice(); stride = f.planes[0]!.stride; }
    width = f.width; height = f.height; count++;
    f.release();
  }
  await src.stop();
  return { count, width, height, at: (x: number, y: number) => Array.from(rgb.subarray(y * stride + x * 3, y * stride + x * 3 + 3)) };
}

let clip: string;
beforeAll(async () => {
  clip = (await makeTextClip({ dir: join(dir, 'clips'), width: 640, height: 360, frames: 30, fps: 15 })).path;
}, 120_000);

describe('nv run', () => {
  it('--parallel 3: the text detector works on 3 frames at once; the tracker, OCR and the JSON lines stay in frame order and match the serial run exactly', async () => {
    const run = async (extra: string[]) => {
      const out = join(dir, `par${extra.length}.jsonl`);
      const c = capture();
      expect(await runCli(['run', clip, '--ocr', '--track', '--out', out, ...extra], { io: c.io })).toBe(EXIT.ok);
      expect(c.err).toEqual([]);
      return readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; ts: number; detections: unknown[]; tracks: { id: number; bbox: number[]; text?: { text: string } }[] });
    };
    const serial = await run([]);
    const parallel = await run(['--parallel', '3']);
    expect(parallel.map((l) => l.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const view = (ls: typeof serial) => ls.map((l) => ({ seq: l.seq, ts: l.ts, detections: l.detections, tracks: l.tracks.map((t) => ({ id: t.id, bbox: t.bbox, text: t.text?.text })) }));
    expect(view(parallel)).toEqual(view(serial));
    const bad = capture();
    expect(await runCli(['run', clip, '--parallel', '2'], { io: bad.io })).toBe(EXIT.usage);
    expect(bad.err[0]).toMatch(/--parallel .*--detector/);
  }, 120_000);

  it('text detection + tracking + OCR on a generated clip: JSON lines per frame, tracks with text, an MP4 that decodes back with the same count and size, boxes drawn where the tracks are', async () => {
    const out = join(dir, 'out.jsonl');
    const mp4 = join(dir, 'annotated.mp4');
    const c = capture();
    const code = await runCli(['run', clip, '--ocr', '--track', '--out', out, '--annotate', mp4], { io: c.io });
    expect(c.err).toEqual([]);
    expect(code).toBe(EXIT.ok);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {
      seq: number; tracks: { id: number; state: string; bbox: number[]; text?: { text: string } }[]; detections: unknown[]; provenance: { stages: { id: string }[] };
    });
    expect(lines).toHaveLength(30);
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(lines[0]!.provenance.stages.map((s) => s.id)).toEqual(['text-detector', 'tracker', 'text-recognizer', 'annotate']);
    const last = lines.at(-1)!;
    expect(last.tracks.length).toBeGreaterThanOrEqual(3);
    const texts = new Set(lines.flatMap((l) => l.tracks.map((t) => t.text?.text)).filter(Boolean));
    expect([...texts].some((t) => /\d{4}/.test(t!))).toBe(true);
    expect(c.out.join('\n')).toMatch(/track\s+feed\s+text/);

    const v = await decode(mp4, 20);
    expect(v).toMatchObject({ count: 30, width: 640, height: 360 });
    // The left edge of each confirmed track's box in frame 20 is drawn in a saturated colour.
    const f20 = lines[20]!;
    const drawn = f20.tracks.filter((t) => t.state === 'confirmed').map((t) => {
      const x = Math.round(t.bbox[0]! * 640), y = Math.round(((t.bbox[1]! + t.bbox[3]!) / 2) * 360);
      let best = 0;
      for (let dx = -3; dx <= 3; dx++) { const [r, g, b] = v.at(Math.min(639, Math.max(0, x + dx)), y); best = Math.max(best, Math.max(r!, g!, b!) - Math.min(r!, g!, b!)); }
      return best;
    });
    expect(drawn.length).toBeGreaterThanOrEqual(3);
    for (const sat of drawn) expect(sat).toBeGreaterThan(120);
    // Inside the plate (away from the box edges) the frame is not tinted.
    const t0 = f20.tracks[0]!;
    const [r, g, b] = v.at(Math.round(((t0.bbox[0]! + t0.bbox[2]!) / 2) * 640), Math.round(t0.bbox[1]! * 360) - 40 > 0 ? Math.round(((t0.bbox[1]! + t0.bbox[3]!) / 2) * 360) : 5);
    expect(Math.max(r!, g!, b!) - Math.min(r!, g!, b!)).toBeLessThan(60);
  }, 240_000);

  it('--max-frames stops after N frames; a YAML config is validated like the API', async () => {
    const cfg = join(dir, 'job.yaml');
    writeFileSync(cfg, `feeds:\n  - source: { kind: file, path: ${clip} }\n    cameraMode: fixed\nmaxFrames: 5\nout: ${join(dir, 'five.jsonl')}\n`);
    const c = capture();
    expect(await runCli(['run', '--config', cfg], { io: c.io })).toBe(EXIT.ok);
    expect(readFileSync(join(dir, 'five.jsonl'), 'utf8').trim().split('\n')).toHaveLength(5);
  }, 60_000);
});

describe('nv: bad input gets one clear line and a non-zero code', () => {
  it.each([
    ['an unknown flag', ['run', 'x.mp4', '--bogus'], EXIT.usage, /unknown option '--bogus'/],
    ['a bad --max-frames', ['run', 'x.mp4', '-n', 'zero'], EXIT.usage, /positive integer/],
    ['no source', ['run'], EXIT.usage, /no source given/],
    ['an unknown command', ['frobnicate'], EXIT.usage, /unknown command/],
    ['a missing file', ['run', '/nonexistent/clip.mp4'], EXIT.source, /source not found: \/nonexistent\/clip\.mp4/],
    ['a missing model', ['run', '__CLIP__', '--detector', '/nonexistent/model.onnx'], EXIT.model, /model not found/],
    ['a missing output directory', ['run', '__CLIP__', '--out', '/nonexistent/dir/o.jsonl'], EXIT.usage, /output directory does not exist/],
    ['probe of a missing file', ['probe', '/nonexistent/clip.mp4'], EXIT.source, /SourceNotFound/],
  ])('%s', async (_n, args, code, message) => {
    const c = capture();
    expect(await runCli(args.map((a) => (a === '__CLIP__' ? clip : a)), { io: c.io })).toBe(code);
    expect(c.err.join('\n')).toMatch(message);
  });

  it('an unreadable or invalid config names the field', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ feeds: [{ source: { kind: 'file' }, cameraMode: 'sideways' }], maxFrames: -1 }));
    const c = capture();
    expect(await runCli(['run', '--config', bad], { io: c.io })).toBe(EXIT.usage);
    expect(c.err).toHaveLength(1);
    for (const f of ['feeds[0].source.path', 'feeds[0].cameraMode', 'maxFrames']) expect(c.err[0]).toContain(f);
    const c2 = capture();
    expect(await runCli(['run', '--config', join(dir, 'missing.yaml')], { io: c2.io })).toBe(EXIT.usage);
    expect(c2.err[0]).toMatch(/cannot read: ENOENT/);
    writeFileSync(join(dir, 'syntax.yaml'), 'feeds: [\n');
    const c3 = capture();
    expect(await runCli(['run', '--config', join(dir, 'syntax.yaml')], { io: c3.io })).toBe(EXIT.usage);
    expect(c3.err[0]).toMatch(/\(syntax\)/);
  });

  it('a garbage model file: typed ModelLoadFailed, exit code 4', async () => {
    const model = join(dir, 'garbage.onnx');
    writeFileSync(model, 'not an onnx model');
    const c = capture();
    expect(await runCli(['run', clip, '--detector', model], { io: c.io })).toBe(EXIT.model);
    expect(c.err.join('\n')).toMatch(/ModelLoadFailed/);
    expect(c.err.join('\n')).toContain('garbage.onnx');
  }, 30_000);

  it('an unreachable RTSP host: exit code 3 after bounded retries', async () => {
    const c = capture();
    expect(await runCli(['run', 'rtsp://user:secret@127.0.0.1:1/none'], { io: c.io })).toBe(EXIT.source);
    expect(c.err.join('\n')).not.toContain('secret');
  }, 60_000);
});

describe('nv: what a new user runs into', () => {
  it('nv --version (and -v) prints the @nv/cli version from its package.json and exits 0, from the library and the binary', async () => {
    expect(pkgVersion).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-v']) {
      const c = capture();
      expect(await runCli([flag], { io: c.io })).toBe(EXIT.ok);
      expect([c.out, c.err]).toEqual([[pkgVersion], []]);
    }
    needBin();
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, pkgVersion, '']);
  });

  it('the status display shows "disconnected" and "reconnecting (attempt n)" for a feed whose RTSP source is reconnecting, never "running"; its failure is printed once', async () => {
    const cfg = join(dir, 'reconnect.yaml');
    writeFileSync(cfg, ['feeds:', '  - name: door', '    source: rtsp://admin:secret@127.0.0.1:1/none', '    cameraMode: fixed',
      '    media: { reconnect: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 200 } }', ''].join('\n'));
    const c = captureWithStatus();
    expect(await runCli(['run', '-c', cfg], { io: c.io })).toBe(EXIT.source);
    const door = c.statuses().filter((l) => l.length).map((l) => { expect(l).toHaveLength(1); return l[0]!; });
    for (const l of door) expect(l).toMatch(/^door /);
    const states = door.map((l) => /(starting|running|disconnected|reconnecting \(attempt \d+\)|failed)$/.exec(l)?.[1]);
    expect(states).not.toContain(undefined);
    const lost = states.indexOf('disconnected');
    expect(lost).toBeGreaterThanOrEqual(0);
    const after = [...new Set(states.slice(lost))];
    expect(after).toEqual(['disconnected', 'reconnecting (attempt 1)', 'reconnecting (attempt 2)', 'failed']);
    expect(c.statuses().at(-1)).toEqual([]); // erased before the summary
    // The failure: one line, named and redacted; the summary does not repeat it.
    expect(c.err()).toHaveLength(1);
    expect(c.err()[0]).toMatch(/^nv: feed 1 \[door\] \(rtsp:\/\/\*\*\*@127\.0\.0\.1:1\/none\): ConnectionFailed: .*gave up after 2 reconnection attempts/);
    expect(c.out()[0]).toMatch(/^feed 1 \[door\] rtsp:\/\/\*\*\*@127\.0\.0\.1:1\/none: 0 frames processed.* — failed$/);
    expect(c.log.filter((e) => JSON.stringify(e).includes('gave up'))).toHaveLength(1);
    expect(JSON.stringify(c.log)).not.toContain('secret');
  }, 30_000);

  it('the same failure of several feeds is printed in full once, then as "same failure as feed N"', async () => {
    const model = join(dir, 'garbage-twice.onnx');
    writeFileSync(model, 'not an onnx model');
    const c = capture();
    expect(await runCli(['run', clip, 'testpattern:smpte', '--detector', model], { io: c.io })).toBe(EXIT.model);
    expect(c.err).toHaveLength(2);
    expect(c.err.join('\n').split('ModelLoadFailed').length - 1).toBe(1);
    expect(c.err.find((l) => l.includes('ModelLoadFailed'))).toMatch(/^nv: feed [12] \(.*\): stage failed to start: ModelLoadFailed in stage 'onnx-detector'/);
    expect(c.err.find((l) => !l.includes('ModelLoadFailed'))).toMatch(/^nv: feed [12] \(.*\): same failure as feed [12]$/);
    expect(c.out.filter((l) => l.includes('ModelLoadFailed'))).toEqual([]); // the summary says "failed" only
  }, 30_000);

  it('on a real terminal, an error is printed on its own line above the status display (never over it), once; the display is gone at the end', () => {
    needBin();
    const cfg = join(dir, 'pty.yaml');
    writeFileSync(cfg, [
      'feeds:',
      '  - name: pattern', '    source: testpattern:ball', '    cameraMode: fixed', '    media: { output: { pacing: realtime } }',
      '  - name: cam', '    source: rtsp://user:secret@127.0.0.1:1/none', '    cameraMode: fixed',
      '    media: { reconnect: { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 100 } }',
      'maxFrames: 45', '',
    ].join('\n'));
    // util-linux `script` runs the binary on a pseudo-terminal: stderr.isTTY is true, as for a user.
    const r = spawnSync('script', ['-qec', `stty cols 80 rows 24; exec '${process.execPath}' '${bin}' run -c '${cfg}'`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    const raw = r.stdout;
    expect(r.status, raw).toBe(EXIT.source);
    expect(raw).toMatch(/cam .*reconnecting \(attempt 1\)/); // the display was up
    const screen = new Screen(80).write(raw).lines();
    const errorRows = screen.filter((l) => l.includes('nv: '));
    expect(errorRows, screen.join('\n')).toHaveLength(1);
    expect(errorRows[0]).toMatch(/^nv: feed 2 \[cam\] \(rtsp:\/\/\*\*\*@127\.0\.0\.1:1\/none\): ConnectionFailed/);
    expect(raw.split('gave up after 1 reconnection attempt').length - 1).toBe(1);
    // No status line is left on the screen: it ends with the summary.
    expect(screen.filter((l) => / fps /.test(l) || / fps$/.test(l)), screen.join('\n')).toEqual([]);
    const summary = screen.findIndex((l) => l.startsWith('feed 1 [pattern] testpattern:ball: 45 frames processed'));
    expect(summary, screen.join('\n')).toBeGreaterThan(screen.indexOf(errorRows[0]!));
    expect(screen.findIndex((l) => /^feed 2 \[cam\] rtsp:\/\/\*\*\*@127\.0\.0\.1:1\/none: 0 frames processed/.test(l))).toBeGreaterThan(summary);
    expect(raw).not.toContain('secret');
  }, 60_000);

  it('--name names a command-line feed (JSON lines feedName, status display, summary); config feeds take name:; extra, duplicate or empty names are usage errors', async () => {
    const out = join(dir, 'named.jsonl');
    const c = captureWithStatus();
    expect(await runCli(['run', clip, '--name', 'gate', '-n', '4', '-o', out], { io: c.io })).toBe(EXIT.ok);
    expect(jsonl(out).map((l) => [l.feed, l.feedName, l.seq])).toEqual([[1, 'gate', 0], [1, 'gate', 1], [1, 'gate', 2], [1, 'gate', 3]]);
    const shown = c.statuses().flat();
    expect(shown.length).toBeGreaterThan(0);
    for (const l of shown) expect(l).toMatch(/^gate \[/);
    expect(c.out()[0]).toMatch(/^feed 1 \[gate\] .*: 4 frames processed, .* — frame limit \(4\)$/);

    const cfg = join(dir, 'names.yaml');
    writeFileSync(cfg, `feeds:\n  - name: left\n    source: ${clip}\n    cameraMode: fixed\n  - source: ${clip}\n    cameraMode: fixed\nmaxFrames: 2\n`);
    const two = join(dir, 'names.jsonl');
    expect(await runCli(['run', '-c', cfg, clip, '--name', 'right', '-o', two], { io: capture().io })).toBe(EXIT.ok);
    const byFeed = (n: number) => jsonl(two).filter((l) => l.feed === n).map((l) => l.feedName);
    expect([byFeed(1), byFeed(2), byFeed(3)]).toEqual([['left', 'left'], [undefined, undefined], ['right', 'right']]);
    expect('feedName' in jsonl(two).find((l) => l.feed === 2)!).toBe(false);

    for (const [args, message] of [
      [['run', clip, '--name', 'a', '--name', 'b'], /--name given 2 times for 1 source/],
      [['run', clip, clip, '--name', 'x', '--name', 'x'], /feeds 1 and 2 are both named 'x'/],
      [['run', '-c', cfg, clip, '--name', 'left'], /feeds 1 and 3 are both named 'left'/],
      [['run', clip, '--name', ''], /--name "": name must not be empty/],
    ] as const) {
      const e = capture();
      expect(await runCli(args, { io: e.io }), args.join(' ')).toBe(EXIT.usage);
      expect(e.err).toHaveLength(1);
      expect(e.err[0]).toMatch(message);
      expect(e.out).toEqual([]);
    }
  }, 60_000);

  it('a config file source: takes the command-line forms (a file path, testpattern:NAME, rtsp://…, /dev/videoN) besides the object form', async () => {
    const out = join(dir, 'strings.jsonl');
    const cfg = join(dir, 'strings.yaml');
    writeFileSync(cfg, `feeds:\n  - source: ${clip}\n    cameraMode: fixed\n  - source: testpattern:smpte\n    cameraMode: fixed\nmaxFrames: 3\nout: ${out}\n`);
    const c = capture();
    expect(await runCli(['run', '-c', cfg], { io: c.io })).toBe(EXIT.ok);
    expect(c.err).toEqual([]);
    expect(jsonl(out).map((l) => l.feed)).toEqual(expect.arrayContaining([1, 1, 1, 2, 2, 2]));
    expect(jsonl(out)).toHaveLength(6);
    const live = join(dir, 'live.yaml');
    writeFileSync(live, 'feeds:\n  - source: rtsp://cam.local/stream\n    cameraMode: fixed\n  - source: /dev/video0\n    cameraMode: fixed\n  - source: { kind: file, path: x.mp4 }\n    cameraMode: fixed\n');
    expect(loadJobConfig(live).feeds!.map((f) => f.source)).toEqual([
      expect.objectContaining({ kind: 'rtsp', url: 'rtsp://cam.local/stream' }), { kind: 'v4l2', device: '/dev/video0' }, { kind: 'file', path: 'x.mp4', loop: false },
    ]);
    const bad = join(dir, 'bad-pattern.yaml');
    writeFileSync(bad, 'feeds:\n  - source: testpattern:nope\n    cameraMode: fixed\n');
    const e = capture();
    expect(await runCli(['run', '-c', bad], { io: e.io })).toBe(EXIT.usage);
    expect(e.err).toHaveLength(1);
    expect(e.err[0]).toContain('feeds[0].source.pattern');
  }, 60_000);

  it('unknown config keys are named in the error (not ***); credentials are still never printed', async () => {
    const cfg = join(dir, 'unknown.yaml');
    writeFileSync(cfg, 'feeds:\n  - source: rtsp://admin:hunter2@cam/x\n    cameraMode: fixed\n    bogus: 1\nmaxFrame: 5\n');
    const c = capture();
    expect(await runCli(['run', '-c', cfg], { io: c.io })).toBe(EXIT.usage);
    expect(c.err).toEqual([`nv: invalid config file ${cfg}: feeds[0].bogus: unknown field; maxFrame: unknown field`]);
    // A misplaced credential: the key is named, its value never printed.
    writeFileSync(cfg, 'feeds:\n  - source: rtsp://admin:hunter2@cam/x\n    cameraMode: fixed\n    password: hunter2\n');
    const s = capture();
    expect(await runCli(['run', '-c', cfg], { io: s.io })).toBe(EXIT.usage);
    expect(s.err).toHaveLength(1);
    expect(s.err[0]).toContain('feeds[0].password');
    expect(s.err[0]).not.toContain('hunter2');
  });

  it('-a/--annotate must end in .mp4 and -o/--out must not be a directory: usage errors before the job starts, nothing written', async () => {
    const d = join(dir, 'outs');
    mkdirSync(d, { recursive: true });
    const mp4Dir = join(dir, 'adir.mp4');
    mkdirSync(mp4Dir, { recursive: true });
    const cfg = join(dir, 'annotate-txt.yaml');
    writeFileSync(cfg, `feeds:\n  - source: ${clip}\n    cameraMode: fixed\nannotate: ${join(d, 'video.txt')}\n`);
    for (const [args, message] of [
      [['run', clip, '-a', join(d, 'video.avi')], /^nv: --annotate '.*video\.avi' must end in \.mp4/],
      [['run', clip, '--annotate', join(d, 'video')], /must end in \.mp4/],
      [['run', '-c', cfg], /^nv: --annotate '.*video\.txt' must end in \.mp4/],
      [['run', clip, '-o', d], /^nv: --out '.*outs' is a directory; give a file path \(e\.g\. '.*outs\/outputs\.jsonl'\)$/],
      [['run', clip, '-o', `${d}/`], /is a directory/],
      [['run', clip, '-a', mp4Dir], /^nv: --annotate '.*adir\.mp4' is a directory/],
      [['run', clip, '-o', clip], /is one of the sources/],
    ] as const) {
      const c = capture();
      expect(await runCli(args, { io: c.io }), args.join(' ')).toBe(EXIT.usage);
      expect(c.err).toHaveLength(1);
      expect(c.err[0]).toMatch(message);
      expect(c.out).toEqual([]); // no summary: the job never started
    }
    expect(files(d)).toEqual([]);
  });

  it('an early failure leaves no output files behind, and an existing output file untouched', async () => {
    const d = join(dir, 'early');
    mkdirSync(d, { recursive: true });
    const garbageVideo = join(dir, 'garbage.mp4');
    writeFileSync(garbageVideo, 'not a video');
    const garbageModel = join(dir, 'garbage-model.onnx');
    writeFileSync(garbageModel, 'not an onnx model');
    const custom = join(dir, 'custom-early.yaml');
    writeFileSync(custom, 'feeds:\n  - source: { kind: custom, pipeline: videotestsrc }\n    cameraMode: fixed\n');
    const outs = ['-o', join(d, 'o.jsonl'), '-a', join(d, 'o.mp4')];
    for (const [args, code] of [
      [['run', join(dir, 'missing.mp4'), ...outs], EXIT.source],
      [['run', garbageVideo, ...outs], EXIT.source],
      [['run', clip, '--detector', garbageModel, ...outs], EXIT.model],
      [['run', '-c', custom, ...outs], EXIT.usage],
    ] as const) {
      const c = capture();
      expect(await runCli(args, { io: c.io }), args.join(' ')).toBe(code);
      expect(c.err).toHaveLength(1);
      expect(files(d), args.join(' ')).toEqual([]);
    }
    // A previous run's outputs survive a run that fails before its first output.
    writeFileSync(join(d, 'o.jsonl'), 'previous run\n');
    expect(await runCli(['run', clip, '--detector', garbageModel, ...outs], { io: capture().io })).toBe(EXIT.model);
    expect(readFileSync(join(d, 'o.jsonl'), 'utf8')).toBe('previous run\n');
    expect(files(d)).toEqual(['o.jsonl']);
  }, 60_000);

  it('a custom pipeline (or post-decode hook) the policy refuses is a usage error (exit 2), found before any feed starts', async () => {
    const cfg = join(dir, 'custom.yaml');
    writeFileSync(cfg, `feeds:\n  - source: ${clip}\n    cameraMode: fixed\n  - source: { kind: custom, pipeline: "videotestsrc num-buffers=5" }\n    cameraMode: fixed\n`);
    const c = capture();
    expect(await runCli(['run', '-c', cfg], { io: c.io })).toBe(EXIT.usage);
    expect(c.err).toEqual(['nv: feed 2 (custom pipeline): custom pipelines and post-decode hooks are refused without --allow-custom-pipeline (only for configs you trust)']);
    expect(c.out).toEqual([]); // feed 1 never ran
    const hook = join(dir, 'hook.yaml');
    writeFileSync(hook, `feeds:\n  - source: ${clip}\n    cameraMode: fixed\n    media: { output: { postDecodeHook: "videoflip method=1" } }\n`);
    const h = capture();
    expect(await runCli(['run', '-c', hook], { io: h.io })).toBe(EXIT.usage);
    expect(h.err[0]).toMatch(/--allow-custom-pipeline/);
  });

  it('a config file cannot enable custom pipelines by itself; only the operator flag can', async () => {
    const marker = join(dir, 'custom-wrote-this');
    rmSync(marker, { force: true });
    // A hostile config: a custom pipeline that writes a file, with the policy switched on beside it.
    const cfg = join(dir, 'self-allowed.yaml');
    const pipeline = `videotestsrc num-buffers=3 ! tee name=t t. ! queue ! videoconvert ! pngenc ! multifilesink location=${marker} t. ! queue`;
    writeFileSync(cfg, `feeds:\n  - source: { kind: custom, pipeline: "${pipeline}" }\n    cameraMode: fixed\n    media: { customPipelinePolicy: allowTrusted }\n`);
    const c = capture();
    expect(await runCli(['run', '-c', cfg], { io: c.io })).toBe(EXIT.usage);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toContain('feeds[0].media.customPipelinePolicy');
    expect(c.err[0]).toContain('--allow-custom-pipeline');
    expect(existsSync(marker)).toBe(false);
    // The same pipeline without the policy key runs only with the operator's flag.
    const plain = join(dir, 'custom-plain.yaml');
    writeFileSync(plain, `feeds:\n  - source: { kind: custom, pipeline: "videotestsrc num-buffers=5" }\n    cameraMode: fixed\n`);
    expect(await runCli(['run', '-c', plain], { io: capture().io })).toBe(EXIT.usage);
    const ok = capture();
    expect(await runCli(['run', '-c', plain, '--allow-custom-pipeline', '-n', '5'], { io: ok.io }), ok.err.join('\n')).toBe(EXIT.ok);
  }, 30_000);
});

describe('nv binary', () => {
  it('Ctrl-C drains: exit 0, outputs flushed, MP4 finalized', async () => {
    needBin();
    const out = join(dir, 'sigint.jsonl');
    const mp4 = join(dir, 'sigint.mp4');
    // A source far longer than the test (`testpattern:ball` is 300 frames: a fast machine finished
    // it before a fixed-delay SIGINT, and the exit was missed); SIGINT once outputs are flowing.
    const cfg = join(dir, 'sigint.yaml');
    writeFileSync(cfg, 'feeds:\n  - source: { kind: testPattern, pattern: ball, width: 320, height: 240, frames: 1000000 }\n    cameraMode: fixed\n');
    const child = spawn(process.execPath, [bin, 'run', '-c', cfg, '--out', out, '--annotate', mp4], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    const t0 = Date.now();
    while (!(existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 20)) {
      if (Date.now() - t0 > 30_000) throw new Error(`no outputs within 30 s; stdout: ${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(child.exitCode).toBeNull(); // still running: the SIGINT below is what stops it
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    const v = await decode(mp4, 0);
    expect(v.count).toBe(lines.length);
    expect(stdout).toMatch(/frames processed/);
  }, 60_000);
});
