import { MediaSource } from '@nv/media';
import { makeTextClip } from '@nv/test-util';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-cli-'));
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => { out.push(l); }, err: (l: string) => { err.push(l); } } };
}

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

describe('nv binary', () => {
  it('Ctrl-C drains: exit 0, outputs flushed, MP4 finalized', async () => {
    if (!existsSync(bin)) throw new Error(`build the cli first (${bin} missing)`);
    const out = join(dir, 'sigint.jsonl');
    const mp4 = join(dir, 'sigint.mp4');
    const child = spawn(process.execPath, [bin, 'run', 'testpattern:ball', '--out', out, '--annotate', mp4], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    const v = await decode(mp4, 0);
    expect(v.count).toBe(lines.length);
    expect(stdout).toMatch(/frames processed/);
  }, 60_000);
});
