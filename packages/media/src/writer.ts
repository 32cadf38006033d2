/**
 * `VideoWriter`: frames plus box/label annotations → an H.264 MP4 file, encoded and drawn by
 * GStreamer (cairo draws the annotations in `cairooverlay`). Decoded frames from a
 * `MediaSource` go in by reference (no pixel copy before drawing); other host frames are
 * copied once into a GStreamer buffer. The file is fragmented MP4 by default, so a process killed
 * mid-write (`kill -9`, OOM, a crash) leaves a file that plays up to its last complete fragment.
 * (Written data is not fsync'd: a power loss can still lose what the OS had not written yet.)
 */
import { BBox, FrameAccessError, InvalidArgumentError, MediaError, type MonotonicTs } from '@nv/core';
import { planeLayout, type FrameEnvelope, type PixelFormat } from '@nv/frame';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadBinding, type RawAnnotation, type RawEncoder, type RawHostFrame } from './binding.js';
import { adoptCallerStack, withCallerStack } from './caller-stack.js';
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
  /** H.264 bitrate in kbit/s (default 4000); an integer in [1, 2048000]. */
  readonly bitrateKbps?: number;
  /** x264 speed preset (default `veryfast`). */
  readonly speedPreset?: keyof typeof PRESETS;
  /** Label font size in pixels (default: height / 36, at least 12); a number in [1, 4096]. */
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
   * @throws {InvalidArgumentError} on bad sizes, fps, format, bitrateKbps, fontPx or fragmentMs
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
    const bitrateKbps = options.bitrateKbps ?? 4000;
    if (!Number.isInteger(bitrateKbps) || bitrateKbps < 1 || bitrateKbps > 2_048_000) throw new InvalidArgumentError('bitrateKbps', 'an integer in [1, 2048000]', bitrateKbps);
    const fontPx = options.fontPx ?? Math.max(12, Math.round(height / 36));
    if (!(typeof fontPx === 'number' && fontPx >= 1 && fontPx <= 4096)) throw new InvalidArgumentError('fontPx', 'a number in [1, 4096]', fontPx);
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
      path, width, height, format, fps, bitrateKbps, speedPreset, fontPx, fragmentMs,
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
   *
   * A frame that is not a decoded `MediaSource` frame is copied: its `planes` must describe the
   * writer's format and size exactly (plane count, rows and row bytes), with integer offsets
   * and strides (stride ≥ row bytes) that keep every row inside its buffer. Such a refusal
   * writes nothing and leaves the writer usable. A GStreamer error (disk full, …) fails the
   * writer: every later `write` and `close` rejects with it. Rejections carry the caller's
   * stack, not the event loop's.
   * @param ts - presentation time in ns (default: frame index × 1/fps); must increase (a value
   *   not above the previous one is moved just past it)
   * @throws {InvalidArgumentError} when the frame's size or format differs from the writer's, its
   *   planes are not an array of the format's plane count, a plane's offset or stride is not a
   *   non-negative safe integer, `ts` is not a finite number ≥ 0, or an annotation is malformed
   * @throws {FrameAccessError} `InvalidLayout` when a plane's rows or row bytes differ from the
   *   format's, its stride is smaller than a row or above 2^31 − 1, or its rows do not fit its
   *   buffer; `Released` / `NotHostAccessible` when the pixels cannot be read
   * @throws {MediaError} `InvalidMedia` after `close()`/`abort()`; `DecodeFailed` when GStreamer
   *   reports an error (e.g. disk full)
   */
  async write(frame: FrameEnvelope, annotations: readonly BoxAnnotation[] = [], ts?: MonotonicTs | number): Promise<void> {
    const caller = new Error(); // the caller's frames, for a rejection from the native worker
    if (this.#closed) throw MediaError.invalidMedia('video writer is closed');
    if (typeof frame !== 'object' || frame === null) throw new InvalidArgumentError('frame', 'a frame', frame);
    const o = this.#opts;
    if (frame.width !== o.width || frame.height !== o.height || frame.format !== o.format) {
      throw new InvalidArgumentError('frame', `a ${o.width}x${o.height} ${o.format} frame`, `${frame.width}x${frame.height} ${frame.format}`);
    }
    if (ts !== undefined && !(typeof ts === 'number' && Number.isFinite(ts) && ts >= 0 && ts <= Number.MAX_SAFE_INTEGER)) {
      throw new InvalidArgumentError('ts', 'a finite number of nanoseconds >= 0', ts);
    }
    if (!Array.isArray(annotations)) throw new InvalidArgumentError('annotations', 'an array of box annotations', annotations);
    const anns = annotations.map((a) => this.#toRaw(a));
    // Everything is checked (and a host frame copied into a validated snapshot) before the
    // writer's state changes: a refused frame leaves the writer as it was.
    const handle = frame instanceof NativeFrame && !frame.isReleased ? frame._handle : hostFrame(frame, o);
    let pts = ts === undefined ? Math.round(this.#written * this.#frameNs) : Math.round(ts);
    if (pts <= this.#lastPts) pts = this.#lastPts + 1;
    let pushed: Promise<void>;
    try {
      pushed = this.#enc.push(handle, pts, Math.round(this.#frameNs), anns);
    } catch (e) {
      throw nativeRefusal(e);
    }
    this.#lastPts = pts;
    try {
      await withCallerStack(pushed, caller);
    } catch (e) {
      throw adoptCallerStack(MediaError.decodeFailed(`video writer: ${(e as Error).message}`, e), caller);
    }
    this.#written++;
  }

  /**
   * Finishes the file (end of stream; the muxer writes its index, and for fragmented output the
   * duration and seek index) and frees the encoder.
   * Idempotent. A rejection carries the caller's stack.
   * @throws {MediaError} `DecodeFailed` when GStreamer reports an error while finishing (or
   *   reported one earlier, e.g. a full disk)
   */
  async close(): Promise<void> {
    const caller = new Error(); // the caller's frames, for a rejection from the native worker
    if (this.#closed) return;
    this.#closed = true;
    try {
      await withCallerStack(this.#enc.finish(), caller);
    } catch (e) {
      throw adoptCallerStack(MediaError.decodeFailed(`video writer: ${(e as Error).message}`, e), caller);
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
    if (typeof a !== 'object' || a === null) throw new InvalidArgumentError('annotation', 'a box annotation', a);
    if (!(a.bbox instanceof BBox)) throw new InvalidArgumentError('annotation.bbox', 'a BBox', a.bbox);
    const { width: w, height: h } = this.#opts;
    const color = a.color ?? [0, 220, 0];
    if (!Array.isArray(color) || color.length !== 3 || !color.every((c) => typeof c === 'number' && c >= 0 && c <= 255)) {
      throw new InvalidArgumentError('annotation.color', 'three numbers in [0, 255]', color);
    }
    const [r, g, b] = color as readonly [number, number, number];
    const lineWidth = a.lineWidth ?? Math.max(2, Math.round(h / 240));
    if (!(typeof lineWidth === 'number' && lineWidth > 0 && lineWidth <= 1000)) throw new InvalidArgumentError('annotation.lineWidth', 'a number in (0, 1000]', lineWidth);
    if (a.label !== undefined && typeof a.label !== 'string') throw new InvalidArgumentError('annotation.label', 'a string', a.label);
    return {
      x1: a.bbox.xMin * w, y1: a.bbox.yMin * h, x2: a.bbox.xMax * w, y2: a.bbox.yMax * h,
      r: r / 255, g: g / 255, b: b / 255, lineWidth,
      ...(a.label ? { label: a.label } : {}),
    };
  }
}

/** Whether `v` is a Uint8Array (Node's Buffer included), from any realm. */
function isUint8Array(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array || Object.prototype.toString.call(v) === '[object Uint8Array]';
}

/** The largest row stride the encoder takes (GStreamer strides are 32-bit). */
const MAX_STRIDE = 2 ** 31 - 1;

/**
 * A native validation refusal (the addon throws TypeError/RangeError for values that do not fit
 * the encoder; hostFrame() checks the same first, so this is a backstop) as a typed error.
 */
function nativeRefusal(e: unknown): unknown {
  if (e instanceof Error && (e.name === 'RangeError' || e.name === 'TypeError')) {
    return new FrameAccessError('InvalidLayout', `video writer: ${e.message}`, e);
  }
  return MediaError.decodeFailed(`video writer: ${(e as Error)?.message ?? String(e)}`, e);
}

/**
 * Validates a host frame's plane layout against the writer's format and size and snapshots it
 * for the addon (plain numbers and one Uint8Array, read once, so nothing can change between
 * this check and the native one). Contiguous frames are passed by view (the addon copies the
 * bytes the planes reach); frames with one buffer per plane are packed into one here.
 * Shared with `JpegEncoder` (jpeg-encoder.ts), whose addon side checks the same layout.
 * @internal
 */
export function hostFrame(frame: FrameEnvelope, o: { readonly width: number; readonly height: number; readonly format: PixelFormat }): RawHostFrame {
  const expected = planeLayout(o.format, o.width, o.height);
  const declared: unknown = frame.planes;
  if (!Array.isArray(declared) || declared.length !== expected.length) {
    throw new InvalidArgumentError('frame.planes', `an array of ${expected.length} plane(s) for ${o.format}`, Array.isArray(declared) ? `${declared.length} plane(s)` : declared);
  }
  const layout = expected.map((want, i) => {
    const p: unknown = declared[i];
    if (typeof p !== 'object' || p === null) throw new InvalidArgumentError(`frame.planes[${i}]`, 'a plane descriptor', p);
    const { offset, stride, rowBytes, height } = p as Record<string, unknown>;
    for (const [k, v] of [['offset', offset], ['stride', stride], ['rowBytes', rowBytes], ['height', height]] as const) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`frame.planes[${i}].${k}`, 'a non-negative safe integer', v);
    }
    const [off, str] = [offset as number, stride as number];
    const where = `${o.format} ${o.width}x${o.height} plane ${i}`;
    if (rowBytes !== want.rowBytes || height !== want.height) {
      throw FrameAccessError.invalidLayout(`${where}: declares ${String(height)} rows of ${String(rowBytes)} bytes, the format has ${want.height} rows of ${want.rowBytes}`);
    }
    if (str < want.rowBytes) throw FrameAccessError.invalidLayout(`${where}: stride ${str} is smaller than its row of ${want.rowBytes} bytes`);
    if (str > MAX_STRIDE) throw FrameAccessError.invalidLayout(`${where}: stride ${str} is above ${MAX_STRIDE}`);
    // stride ≤ 2^31 and rows ≤ 2^16: every product here is an exact integer.
    return { offset: off, stride: str, span: str * (want.height - 1) + want.rowBytes, where };
  });
  const checkFits = (l: (typeof layout)[number], start: number, bytes: number) => {
    if (start + l.span > bytes) throw FrameAccessError.invalidLayout(`${l.where}: its rows need bytes [${start}, ${start + l.span}) but its buffer has ${bytes}`);
  };
  if (frame.isContiguous) {
    const data: unknown = frame.hostData();
    if (!isUint8Array(data)) throw FrameAccessError.invalidLayout(`hostData() returned ${Object.prototype.toString.call(data)}, not a Uint8Array`);
    const bytes = data.byteLength;
    for (const l of layout) checkFits(l, l.offset, bytes);
    return { data, offsets: layout.map((l) => l.offset), strides: layout.map((l) => l.stride) };
  }
  // One buffer per plane: plane(i) starts at the plane's first row.
  const views = layout.map((l, i) => {
    const v: unknown = frame.plane(i);
    if (!isUint8Array(v)) throw FrameAccessError.invalidLayout(`plane(${i}) returned ${Object.prototype.toString.call(v)}, not a Uint8Array`);
    checkFits(l, 0, v.byteLength);
    return v.subarray(0, l.span);
  });
  const data = new Uint8Array(views.reduce((n, v) => n + v.byteLength, 0));
  const offsets: number[] = [];
  let at = 0;
  for (const v of views) { data.set(v, at); offsets.push(at); at += v.byteLength; }
  return { data, offsets, strides: layout.map((l) => l.stride) };
}
