/**
 * `VideoWriter`: frames plus box/label annotations → an H.264 MP4 file, encoded and drawn by
 * GStreamer (cairo draws the annotations in `cairooverlay`). Decoded frames from a
 * `MediaSource` go in by reference (no pixel copy before drawing); other host frames are
 * copied once into a GStreamer buffer. The file is fragmented MP4 by default, so a process killed
 * mid-write (`kill -9`, OOM, a crash) leaves a file that plays up to its last complete fragment.
 * (Written data is not fsync'd: a power loss can still lose what the OS had not written yet.)
 */
import { BBox, InvalidArgumentError, MediaError, type MonotonicTs } from '@nv/core';
import type { FrameEnvelope, PixelFormat } from '@nv/frame';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadBinding, type RawAnnotation, type RawEncoder, type RawHostFrame } from './binding.js';
import { NativeFrame } from './native-frame.js';
import { NV_FORMAT_TO_GST } from './pipeline.js';

const PRESETS = { ultrafast: 1, superfast: 2, veryfast: 3, faster: 4, fast: 5, medium: 6 } as const;

/** Options of {@link VideoWriter.open}. */
export interface VideoWriterOptions {
  /** Output file (`.mp4`); its directory must exist. Overwritten if present. */
  readonly path: string;
  /** Frame width; every written frame must match. */
  readonly width: number;
  /** Frame height; every written frame must match. */
  readonly height: number;
  /** Pixel format of the written frames. */
  readonly format: PixelFormat;
  /** Frames per second of the output (default 30). */
  readonly fps?: number;
  /** H.264 bitrate in kbit/s (default 4000). */
  readonly bitrateKbps?: number;
  /** x264 speed preset (default `veryfast`). */
  readonly speedPreset?: keyof typeof PRESETS;
  /** Label font size in pixels (default: height / 36, at least 12). */
  readonly fontPx?: number;
  /**
   * Longest fragment of the fragmented MP4, in milliseconds (default 1000); `0` writes a
   * classic MP4 instead.
   *
   * Fragmented (`> 0`): mp4mux writes the header (`moov`) first and then one `moof`+`mdat`
   * fragment at a time, each handed to the kernel as soon as it is complete, and x264 puts a
   * keyframe at least every `min(fragmentMs, 2000)` ms of frames so every fragment starts on one
   * (mp4mux also starts a fragment at each keyframe, so fragments are at most `fragmentMs` long
   * and may be shorter, e.g. at scene cuts). x264 uses no B-frames in this mode (fragmented
   * mp4mux writes no edit list, so reordered frames would be cut at the end; about 2 % larger
   * at the same bitrate target). If the process dies without {@link VideoWriter.close}
   * (`kill -9`, a crash), the file still decodes up to its last complete fragment, so at most
   * about `fragmentMs` of video (plus what the encoder still held) is lost. A clean `close()`
   * also writes the total duration and a seek index (`mfra`), so players and `probeSource`
   * see the duration and can seek.
   *
   * Classic (`0`): one `mdat`, with the index (`moov`) written only at `close()`; keyframes
   * every 2 s, B-frames as the preset chooses. Slightly smaller and the most widely compatible
   * layout, but a process that dies before `close()` leaves a file that cannot be played at all.
   *
   * An integer in [0, 3600000].
   * @example
   * ```ts
   * VideoWriter.open({ path: 'out.mp4', width: 1280, height: 720, format: 'I420', fragmentMs: 500 }); // ≤ 0.5 s lost on a crash
   * VideoWriter.open({ path: 'out.mp4', width: 1280, height: 720, format: 'I420', fragmentMs: 0 });   // classic MP4
   * ```
   */
  readonly fragmentMs?: number;
}

/** One box to draw on a frame. */
export interface BoxAnnotation {
  /** Where, in normalized frame coordinates. */
  readonly bbox: BBox;
  /** Text drawn above the box (e.g. `#3 KA01AB1234 0.97`). */
  readonly label?: string;
  /** RGB colour, 0–255 each (default green). */
  readonly color?: readonly [number, number, number];
  /** Line width in pixels (default: height / 240, at least 2). */
  readonly lineWidth?: number;
}

/**
 * Writes an annotated H.264 MP4 (fragmented by default: see
 * {@link VideoWriterOptions.fragmentMs}; a killed process leaves a playable file).
 *
 * @example
 * ```ts
 * const w = VideoWriter.open({ path: 'out.mp4', width: 1280, height: 720, format: 'I420', fps: 25 });
 * for await (const frame of source.frames()) {
 *   await w.write(frame, [{ bbox: det.bbox, label: 'car 0.91' }]);
 *   frame.release();
 * }
 * await w.close();
 * ```
 */
export class VideoWriter {
  readonly #enc: RawEncoder;
  readonly #opts: Required<Omit<VideoWriterOptions, 'fontPx'>> & { fontPx: number };
  readonly #frameNs: number;
  #written = 0;
  #closed = false;
  #lastPts = -1;

  private constructor(enc: RawEncoder, opts: VideoWriter['opts']) {
    this.#enc = enc;
    this.#opts = opts;
    this.#frameNs = 1e9 / opts.fps;
  }

  /** @internal */
  get opts(): Required<Omit<VideoWriterOptions, 'fontPx'>> & { fontPx: number } { return this.#opts; }

  /**
   * Starts an encoder writing to `options.path`.
   * @throws {InvalidArgumentError} on bad sizes, fps, format or fragmentMs
   * @throws {MediaError} `SourceNotFound` when the output directory does not exist; `Unsupported`
   *   when an encoder element is missing
   */
  static open(options: VideoWriterOptions): VideoWriter {
    const { path, width, height, format } = options;
    if (typeof path !== 'string' || !path) throw new InvalidArgumentError('path', 'a file path', path);
    if (!Number.isInteger(width) || width < 16 || width % 2) throw new InvalidArgumentError('width', 'an even integer >= 16', width);
    if (!Number.isInteger(height) || height < 16 || height % 2) throw new InvalidArgumentError('height', 'an even integer >= 16', height);
    if (!(format in NV_FORMAT_TO_GST)) throw new InvalidArgumentError('format', `one of ${Object.keys(NV_FORMAT_TO_GST).join(', ')}`, format);
    const fps = options.fps ?? 30;
    if (!(fps > 0 && fps <= 1000)) throw new InvalidArgumentError('fps', 'a number in (0, 1000]', fps);
    const speedPreset = options.speedPreset ?? 'veryfast';
    if (!(speedPreset in PRESETS)) throw new InvalidArgumentError('speedPreset', `one of ${Object.keys(PRESETS).join(', ')}`, speedPreset);
    const fragmentMs = options.fragmentMs ?? 1000;
    if (!Number.isInteger(fragmentMs) || fragmentMs < 0 || fragmentMs > 3_600_000) {
      throw new InvalidArgumentError('fragmentMs', 'an integer in [0, 3600000] (0 = not fragmented)', fragmentMs);
    }
    try {
      if (!statSync(dirname(path)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw MediaError.sourceNotFound(dirname(path), 'output directory does not exist');
    }
    const opts = {
      path, width, height, format, fps, bitrateKbps: options.bitrateKbps ?? 4000, speedPreset,
      fontPx: options.fontPx ?? Math.max(12, Math.round(height / 36)), fragmentMs,
    };
    // Keyframes at least every 2 s, and at least once per fragment so each one starts with a
    // keyframe and decodes on its own (1e-9: 30 fps × 1000 ms must give 30, not 29.999…).
    const framesIn = (ms: number) => Math.max(1, Math.floor((fps * ms) / 1000 + 1e-9));
    const keyIntMax = fragmentMs > 0 ? Math.min(framesIn(2000), framesIn(fragmentMs)) : framesIn(2000);
    const fpsD = Number.isInteger(fps) ? 1 : 1001;
    const fpsN = Number.isInteger(fps) ? fps : Math.round(fps * 1001);
    let enc: RawEncoder;
    try {
      enc = new (loadBinding().NativeEncoder)({
        path, width, height, format: NV_FORMAT_TO_GST[format], fpsN, fpsD, bitrateKbps: opts.bitrateKbps, speedPreset: PRESETS[speedPreset], fontPx: opts.fontPx,
        keyIntMax, fragmentMs,
      });
    } catch (e) {
      if (MediaError.isInstance(e)) throw e;
      throw MediaError.unsupported(`video writer could not start: ${(e as Error).message}`);
    }
    return new VideoWriter(enc, opts);
  }

  /** Frames written so far. */
  get framesWritten(): number { return this.#written; }

  /**
   * Encodes one frame with its annotations. Await each call before the next (frames must go
   * in order). The frame is only read during the call; the caller keeps its reference.
   * @param ts - presentation time (default: frame index × 1/fps); must increase
   * @throws {InvalidArgumentError} when the frame's size or format differs from the writer's
   * @throws {MediaError} `DecodeFailed` when GStreamer reports an error (e.g. disk full)
   */
  async write(frame: FrameEnvelope, annotations: readonly BoxAnnotation[] = [], ts?: MonotonicTs | number): Promise<void> {
    if (this.#closed) throw MediaError.invalidMedia('video writer is closed');
    const o = this.#opts;
    if (frame.width !== o.width || frame.height !== o.height || frame.format !== o.format) {
      throw new InvalidArgumentError('frame', `a ${o.width}x${o.height} ${o.format} frame`, `${frame.width}x${frame.height} ${frame.format}`);
    }
    let pts = ts === undefined ? Math.round(this.#written * this.#frameNs) : Number(ts);
    if (pts <= this.#lastPts) pts = this.#lastPts + 1;
    this.#lastPts = pts;
    const anns = annotations.map((a) => this.#toRaw(a));
    const handle = frame instanceof NativeFrame && !frame.isReleased ? frame._handle : hostFrame(frame);
    try {
      await this.#enc.push(handle, pts, Math.round(this.#frameNs), anns);
    } catch (e) {
      throw MediaError.decodeFailed(`video writer: ${(e as Error).message}`, e);
    }
    this.#written++;
  }

  /**
   * Finishes the file (end of stream; the muxer writes its index, and for fragmented output the
   * duration and seek index) and frees the encoder.
   * Idempotent.
   * @throws {MediaError} `DecodeFailed` when GStreamer reports an error while finishing
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#enc.finish();
    } catch (e) {
      throw MediaError.decodeFailed(`video writer: ${(e as Error).message}`, e);
    }
  }

  /**
   * Stops at once without finishing the file. Idempotent. A fragmented file (the default) stays
   * playable up to its last complete fragment, without a known duration; a classic one
   * (`fragmentMs: 0`) is left unplayable.
   */
  abort(): void {
    this.#closed = true;
    this.#enc.abort();
  }

  #toRaw(a: BoxAnnotation): RawAnnotation {
    if (!(a.bbox instanceof BBox)) throw new InvalidArgumentError('annotation.bbox', 'a BBox', a.bbox);
    const { width: w, height: h } = this.#opts;
    const [r, g, b] = a.color ?? [0, 220, 0];
    return {
      x1: a.bbox.xMin * w, y1: a.bbox.yMin * h, x2: a.bbox.xMax * w, y2: a.bbox.yMax * h,
      r: r / 255, g: g / 255, b: b / 255, lineWidth: a.lineWidth ?? Math.max(2, Math.round(h / 240)),
      ...(a.label ? { label: a.label } : {}),
    };
  }
}

function hostFrame(frame: FrameEnvelope): RawHostFrame {
  if (frame.isContiguous) {
    const data = frame.hostData();
    return { data, offsets: frame.planes.map((p) => p.offset), strides: frame.planes.map((p) => p.stride) };
  }
  const total = frame.planes.reduce((n, p) => n + p.size, 0);
  const data = new Uint8Array(total);
  const offsets: number[] = [];
  let at = 0;
  frame.planes.forEach((p, i) => { data.set(frame.plane(i).subarray(0, p.size), at); offsets.push(at); at += p.size; });
  return { data, offsets, strides: frame.planes.map((p) => p.stride) };
}
