/**
 * `npm run demo` / `nv demo`: the main job on an embedded default. Generates (once, cached) a
 * short 720p clip of moving text plates with known strings, runs text detection → tracking →
 * OCR through the runtime, prints a per-track summary and writes `outputs.jsonl` and an
 * annotated MP4. `nv demo <file | rtsp://…>` runs the same job on the user's source.
 */
import { DEFAULT_TEXT_CLIP_PLATES, makeTextClip } from '@nv/test-util';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT, JobError, printSummary, runJob, type Io } from './job.js';
import { sourceFromArg } from './sources.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly io: Io;
  /** The user's source; default: the generated clip. */
  readonly source?: string;
  /** Output directory (default `./nv-demo`). */
  readonly dir?: string;
  readonly signal?: AbortSignal;
}

/** Runs the demo. @returns the exit code */
export async function runDemo(o: DemoOptions): Promise<number> {
  const { io } = o;
  const dir = resolve(o.dir ?? 'nv-demo');
  mkdirSync(dir, { recursive: true });
  let source = o.source;
  if (!source) {
    io.out('nv demo: generating a 720p clip of moving text plates (once; cached)…');
    const clip = await makeTextClip({ dir: join(dir, '.cache'), width: 1280, height: 720, frames: 150, fps: 25 });
    source = clip.path;
    io.out(`nv demo: clip ${clip.path} — plates: ${DEFAULT_TEXT_CLIP_PLATES.map((p) => p.text).join(', ')}`);
  }
  const spec = sourceFromArg(source);
  io.out(`nv demo: text detection → tracking → OCR on ${source}`);
  try {
    const t0 = performance.now();
    const r = await runJob({
      feeds: [{ source: spec, cameraMode: 'fixed' }],
      ocr: {}, track: {},
      out: join(dir, 'outputs.jsonl'),
      annotate: join(dir, 'annotated.mp4'),
      ...(o.source && !/^rtsps?:/i.test(o.source) ? {} : o.source ? { maxFrames: 750 } : {}),
    }, io, o.signal);
    io.status?.([]);
    printSummary(r, io);
    io.out(`nv demo: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return r.code;
  } catch (e) {
    if (e instanceof JobError) { io.err(`nv: ${e.message}`); return e.code; }
    throw e;
  }
}

export { EXIT };
