/**
 * A generated clip of plate-like text moving over a plain background, with per-frame ground
 * truth — for OCR and tracking tests, benchmarks and demos. Rendered by `text-clip.py` with
 * the system python's GStreamer bindings (videotestsrc boxes + textoverlay, positions driven
 * by GstController control points on compositor pads, x264 → MP4).
 *
 * @packageDocumentation
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@nv/core';

/** A pixel position in the clip. */
export interface TextClipPoint {
  /** Pixels from the left edge. */
  readonly x: number;
  /** Pixels from the top edge. */
  readonly y: number;
}

/** One moving string: a light box with dark text, moving linearly from `from` to `to`. */
export interface TextClipPlate {
  /** The text (printable ASCII without `<`, `>`, `&`). */
  readonly text: string;
  /** Box centre on the first frame, in pixels. */
  readonly from: TextClipPoint;
  /** Box centre on the last frame, in pixels. */
  readonly to: TextClipPoint;
}

/** Options of {@link makeTextClip}. Every field has a default. */
export interface TextClipOptions {
  /** Frames to render (default 100). */
  readonly frames?: number;
  /** Frames per second (default 25). */
  readonly fps?: number;
  /** Clip width in pixels (default 1280). */
  readonly width?: number;
  /** Clip height in pixels (default 720). */
  readonly height?: number;
  /**
   * The strings and their paths. Default: {@link DEFAULT_TEXT_CLIP_PLATES} — three plates on
   * three rows (left→right, right→left, diagonal), scaled to the clip size.
   */
  readonly plates?: readonly TextClipPlate[];
  /** Font size in pixels (em height; default 44). The font is DejaVu Sans Mono Bold. */
  readonly fontSize?: number;
  /** x264 constant quantizer, 0–51 (default 20; lower is sharper and bigger). */
  readonly quantizer?: number;
  /** Cache directory (default `os.tmpdir()/nv-text-clips`). Clips are reused by option hash. */
  readonly dir?: string;
  /** Python with GStreamer GObject bindings (default `$NV_GST_PYTHON` or `/usr/bin/python3`). */
  readonly python?: string;
  /** Give up rendering after this long (default 60 000 ms). */
  readonly timeoutMs?: number;
}

/** Where one plate is in one frame (pixels). */
export interface TextClipItem {
  /** The plate's text. */
  readonly text: string;
  /** Box centre x. */
  readonly cx: number;
  /** Box centre y. */
  readonly cy: number;
  /** Box left edge. */
  readonly x: number;
  /** Box top edge. */
  readonly y: number;
  /** Box width. */
  readonly w: number;
  /** Box height. */
  readonly h: number;
}

/** Ground truth of a clip made by {@link makeTextClip}. */
export interface TextClipGroundTruth {
  /** Frame width in pixels. */
  readonly width: number;
  /** Frame height in pixels. */
  readonly height: number;
  /** Frames per second. */
  readonly fps: number;
  /** Number of frames in the clip. */
  readonly frameCount: number;
  /** The plates, in the order given, with their box sizes. */
  readonly plates: readonly { readonly text: string; readonly boxWidth: number; readonly boxHeight: number }[];
  /** For each frame index: its presentation time (ns) and where every plate is. */
  readonly perFrame: readonly { readonly index: number; readonly ptsNs: number; readonly plates: readonly TextClipItem[] }[];
}

/** The default plates, with positions as fractions of the clip size. */
export const DEFAULT_TEXT_CLIP_PLATES: readonly { readonly text: string; readonly from: TextClipPoint; readonly to: TextClipPoint }[] = Object.freeze([
  { text: 'KA 01 AB 1234', from: { x: 0.22, y: 0.18 }, to: { x: 0.78, y: 0.18 } },
  { text: 'MH 12 XY 9876', from: { x: 0.78, y: 0.5 }, to: { x: 0.22, y: 0.5 } },
  { text: 'TN 07 CD 4521', from: { x: 0.24, y: 0.74 }, to: { x: 0.76, y: 0.85 } },
]);

const FONT = 'DejaVu Sans Mono Bold';
/** Advance width of DejaVu Sans Mono, in em. */
const MONO_ADVANCE = 0.602;

function intIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`textClip.${name}`, `an integer in [${min}, ${max}]`, v);
  return v;
}

function scriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From src/ (sources, tests) the script sits beside this file; from dist/ it is in ../src.
  for (const p of [join(here, 'text-clip.py'), join(here, '..', 'src', 'text-clip.py')]) if (existsSync(p)) return p;
  throw new InvalidArgumentError('textClip script', 'text-clip.py next to text-clip.ts', here);
}

/**
 * Renders (or reuses from the cache) a clip of moving plate-like strings and returns its
 * path and per-frame ground truth. Each plate is a light box (≈ 1.4 em taller and 1 em
 * wider than its text) with dark, centred text; its centre moves linearly from `from` (first
 * frame) to `to` (last frame). The clip is H.264 (x264, no B-frames) in MP4.
 *
 * @param opts - see {@link TextClipOptions}
 * @returns the MP4 path and the ground truth
 * @throws {InvalidArgumentError} on bad options (naming the field)
 * @throws {Error} when rendering fails (python or GStreamer missing, pipeline error), with its stderr
 * @example
 * ```ts
 * const { path, groundTruth } = await makeTextClip({ frames: 75 });
 * groundTruth.perFrame[10]!.plates[0] // { text: 'KA 01 AB 1234', cx: …, cy: …, x, y, w, h }
 * ```
 */
export async function makeTextClip(opts: TextClipOptions = {}): Promise<{ path: string; groundTruth: TextClipGroundTruth }> {
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('textClip', 'an options object', opts);
  const width = intIn('width', opts.width ?? 1280, 64, 4096);
  const height = intIn('height', opts.height ?? 720, 64, 4096);
  const frames = intIn('frames', opts.frames ?? 100, 2, 100_000);
  const fps = intIn('fps', opts.fps ?? 25, 1, 240);
  const fontSize = intIn('fontSize', opts.fontSize ?? 44, 8, 400);
  const quantizer = intIn('quantizer', opts.quantizer ?? 20, 0, 51);
  const plates = (opts.plates ?? DEFAULT_TEXT_CLIP_PLATES.map((p) => ({
    text: p.text, from: { x: p.from.x * width, y: p.from.y * height }, to: { x: p.to.x * width, y: p.to.y * height },
  }))).map((p, i) => {
    if (typeof p?.text !== 'string' || !/^[\x20-\x7e]+$/.test(p.text) || /[<>&]/.test(p.text)) {
      throw new InvalidArgumentError(`textClip.plates[${i}].text`, 'printable ASCII without <, >, &', p?.text);
    }
    for (const k of ['from', 'to'] as const) {
      const q = p[k];
      if (!q || !Number.isFinite(q.x) || !Number.isFinite(q.y)) throw new InvalidArgumentError(`textClip.plates[${i}].${k}`, 'a point {x, y} in pixels', q);
    }
    return {
      text: p.text, from: { x: p.from.x, y: p.from.y }, to: { x: p.to.x, y: p.to.y },
      boxWidth: Math.ceil(p.text.length * MONO_ADVANCE * fontSize + fontSize),
      boxHeight: Math.ceil(1.7 * fontSize),
    };
  });
  if (plates.length === 0) throw new InvalidArgumentError('textClip.plates', 'at least one plate', '[]');
  const spec = {
    width, height, frames, fps, font: FONT, fontSize, quantizer, plates,
    background: 0xff333333, plateColor: 0xffeeeeee, textColor: 0xff111111,
  };
  const script = scriptPath();
  const hash = createHash('sha256').update(JSON.stringify(spec)).update(readFileSync(script)).digest('hex').slice(0, 16);
  const dir = opts.dir ?? join(tmpdir(), 'nv-text-clips');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `text-clip-${hash}.mp4`);
  const truthPath = join(dir, `text-clip-${hash}.json`);
  if (!(existsSync(path) && existsSync(truthPath))) {
    // Render under unique names, then rename: concurrent callers never see half a file.
    const tag = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const tmpMp4 = `${path}.${tag}.tmp`, tmpJson = `${truthPath}.${tag}.tmp`;
    const python = opts.python ?? process.env['NV_GST_PYTHON'] ?? '/usr/bin/python3';
    try {
      await new Promise<void>((resolve, reject) => {
        execFile(python, [script, JSON.stringify(spec), tmpMp4, tmpJson], { timeout: opts.timeoutMs ?? 60_000 }, (err, _out, stderr) => {
          if (err) reject(new Error(`text clip rendering failed (${python} ${script}): ${String(stderr).trim() || err.message}`, { cause: err }));
          else resolve();
        });
      });
      renameSync(tmpMp4, path);
      renameSync(tmpJson, truthPath);
    } finally {
      rmSync(tmpMp4, { force: true });
      rmSync(tmpJson, { force: true });
    }
  }
  const groundTruth = JSON.parse(readFileSync(truthPath, 'utf8')) as TextClipGroundTruth;
  return { path, groundTruth };
}
