import { MediaError } from '@nv/core';
import { createOwnedFrame } from '@nv/frame';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MediaSource, VideoWriter } from './index.js';
import { mp4Layout, scratch } from './test-fixtures.js';

// What a process killed mid-write leaves behind. The writer runs in a real child process that
// imports this package's built dist (Node cannot run the TypeScript sources), and is killed
// with SIGKILL: no exit handler, no EOS, no muxer finalisation.

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const FPS = 30;

/** Fails unless `dir`'s dist was built after every one of its sources last changed. */
function assertBuilt(dir: string): void {
  const info = join(dir, 'dist', '.tsbuildinfo');
  if (!existsSync(info)) throw new Error(`build first: ${info} is missing (pnpm exec turbo run build)`);
  const builtAt = statSync(info).mtimeMs;
  for (const f of readdirSync(join(dir, 'src'))) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    if (statSync(join(dir, 'src', f)).mtimeMs > builtAt) throw new Error(`build first: ${dir}/src/${f} changed after the last build (pnpm exec turbo run build)`);
  }
}

/** The child: decodes a live (30 fps paced) test pattern by reference into a VideoWriter, forever. */
const childSource = `
const { MediaSource, VideoWriter } = await import(process.argv[2]);
const [, , , out, fragmentMs] = process.argv;
setTimeout(() => process.exit(3), 120_000).unref(); // orphan guard: never outlives a lost parent for long
const src = new MediaSource({ kind: 'testPattern', pattern: 'ball', width: 320, height: 240, fps: ${FPS}, live: true }, { backpressure: { kind: 'block' } });
let w;
for await (const f of src.frames()) {
  w ??= VideoWriter.open({ path: out, width: f.width, height: f.height, format: f.format, fps: ${FPS}, speedPreset: 'ultrafast', fragmentMs: Number(fragmentMs) });
  await w.write(f, [], f.ts);
  f.release();
  process.stdout.write(w.framesWritten + '\\n');
}
`;

/**
 * Runs the child writing `out` until `ready(framesWritten)` holds (polled every 100 ms, at most
 * 60 s: a hang guard, not a timing assertion), then SIGKILLs it.
 * @returns the frames the child had written when it was killed
 */
async function writeThenKill(out: string, fragmentMs: number, ready: (written: number) => boolean): Promise<number> {
  for (const d of [pkgDir, join(pkgDir, '..', 'core'), join(pkgDir, '..', 'frame')]) assertBuilt(d);
  const script = join(scratch, 'writer-child.mjs');
  writeFileSync(script, childSource);
  const child = spawn(process.execPath, [script, pathToFileURL(join(pkgDir, 'dist', 'index.js')).href, out, String(fragmentMs)], {
    stdio: ['ignore', 'pipe', 'pipe'], cwd: pkgDir,
  });
  let written = 0, stderr = '';
  child.stdout.on('data', (d: Buffer) => { const lines = d.toString().trim().split('\n'); written = Number(lines.at(-1)); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  try {
    for (const deadline = Date.now() + 60_000; !ready(written);) {
      if (child.exitCode !== null) throw new Error(`writer child exited early (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`writer child not ready within 60 s (${written} frames written): ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const at = written;
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    return at;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/**
 * Decodes a file to the end: frames decoded, and the error that ended decoding, if any. A file
 * with no index can also end in a `Timeout` (no frame for 3 s) rather than `InvalidMedia`.
 */
async function decode(path: string): Promise<{ count: number; error?: unknown }> {
  const src = new MediaSource({ kind: 'file', path }, { output: { format: 'GRAY8' }, backpressure: { kind: 'block' }, noFrameTimeoutMs: 3000 });
  let count = 0;
  try {
    for await (const f of src.frames()) { count++; f.release(); }
    return { count };
  } catch (error) {
    return { count, error };
  } finally {
    await src.stop();
  }
}

describe('VideoWriter in a process killed with SIGKILL', () => {
  it('fragmented (the default, 1 s): the file decodes every frame of its complete fragments', async () => {
    const out = join(scratch, 'killed-fragmented.mp4');
    const writtenAtKill = await writeThenKill(out, 1000, () => existsSync(out) && mp4Layout(out).fragments.length >= 3);
    const layout = mp4Layout(out);
    expect(layout.boxes.slice(0, 2)).toEqual(['ftyp', 'moov']);
    expect(layout.boxes).not.toContain('mfra'); // never finalised: this is the crash case
    expect(layout.fragments.length).toBeGreaterThanOrEqual(3);
    for (const f of layout.fragments) {
      expect(f.startsWithKeyframe).toBe(true);
      expect(f.samples).toBeLessThanOrEqual(FPS);
    }
    const inFragments = layout.fragments.reduce((n, f) => n + f.samples, 0);
    expect(inFragments).toBeGreaterThanOrEqual(FPS); // at least a full fragment's worth (1 s)
    const back = await decode(out);
    expect(back.error).toBeUndefined();
    expect(back.count).toBeGreaterThanOrEqual(inFragments);
    console.info(`killed after ${writtenAtKill} frames written: ${layout.fragments.length} complete fragments (${inFragments} frames), ${back.count} decoded`);
  }, 90_000);

  it('negative control, fragmentMs: 0 (classic MP4): the same kill leaves a file that does not decode at all', async () => {
    const out = join(scratch, 'killed-classic.mp4');
    // At least as long as the fragmented run (3 fragments ≈ 4 s), and until encoded frames are on
    // disk (the classic path keeps filesink's 64 KiB buffer).
    await writeThenKill(out, 0, (written) => written >= 4 * FPS && existsSync(out) && mp4Layout(out).firstMdatBytes >= 64 * 1024);
    const layout = mp4Layout(out);
    expect(layout.boxes).not.toContain('moov');
    expect(layout.firstMdatBytes).toBeGreaterThanOrEqual(64 * 1024); // encoded video is there, but no index
    const back = await decode(out);
    expect(back.count).toBe(0);
    expect(MediaError.isInstance(back.error)).toBe(true);
  }, 90_000);
});

describe('VideoWriter.abort() mid-write (in process)', () => {
  const writeThenAbort = async (path: string, fragmentMs: number) => {
    const w = VideoWriter.open({ path, width: 64, height: 48, format: 'GRAY8', fps: FPS, speedPreset: 'ultrafast', fragmentMs });
    for (let i = 0; i < 4 * FPS; i++) {
      const f = createOwnedFrame({ feedId: 1, seq: i, ts: 0, width: 64, height: 48, format: 'GRAY8', data: new Uint8Array(64 * 48).fill(i * 2) });
      await w.write(f);
      f.release();
    }
    w.abort();
  };

  it('a fragmented file keeps its complete fragments; a classic one is unplayable', async () => {
    const frag = join(scratch, 'aborted-fragmented.mp4');
    await writeThenAbort(frag, 1000);
    const inFragments = mp4Layout(frag).fragments.reduce((n, f) => n + f.samples, 0);
    expect(inFragments).toBeGreaterThanOrEqual(FPS);
    const back = await decode(frag);
    expect(back.count).toBeGreaterThanOrEqual(inFragments);

    const classic = join(scratch, 'aborted-classic.mp4');
    await writeThenAbort(classic, 0);
    expect(mp4Layout(classic).firstMdatBytes).toBeGreaterThan(0);
    const none = await decode(classic);
    expect(none.count).toBe(0);
    expect(MediaError.isInstance(none.error)).toBe(true);
  });
});
