/**
 * `JpegEncoder`: one frame in, one JPEG image out — for live views, previews and thumbnails.
 * Encoded by GStreamer (`jpegenc`) on a libuv worker thread, never on the JS thread. Decoded
 * frames from a `MediaSource` go in by reference (no pixel copy); other host frames are copied
 * once into a GStreamer buffer, as `VideoWriter` does. See native/src/native_jpeg.h.
 */
import { FrameAccessError, InvalidArgumentError, MediaError, type MonotonicTs } from '@nv/core';
import type { FrameEnvelope, PixelFormat } from '@nv/frame';
import { loadBinding, type RawJpegEncoder } from './binding.js';
import { adoptCallerStack } from './caller-stack.js';
import { checkFrameAndTs, checkInputShape } from './encoder-input.js';
import { NativeFrame } from './native-frame.js';
import { NV_FORMAT_TO_GST } from './pipeline.js';
import { hostFrame } from './writer.js';

/** The largest JPEG side (the format stores sizes in 16 bits), rounded down to even. */
const MAX_OUT = 65_534;

/** Options of {@link JpegEncoder.open}. */
export interface JpegEncoderOptions {
  /** Width of the frames to encode (an integer in [1, 65536]); every frame must match. */
  readonly width: number;
  /** Height of the frames to encode (an integer in [1, 65536]); every frame must match. */
  readonly height: number;
  /** Pixel format of the frames to encode; every frame must match. */
  readonly format: PixelFormat;
  /**
   * Width of the JPEG image: an even integer in [16, 65534]. Default: `width` (rounded down to
   * even, at least 16), or, when only `outHeight` is given, the width that keeps the frame's
   * aspect (rounded to even, at least 16).
   */
  readonly outWidth?: number;
  /**
   * Height of the JPEG image: an even integer in [16, 65534]. Default: `height` (rounded down to
   * even, at least 16), or, when only `outWidth` is given, the height that keeps the frame's
   * aspect (rounded to even, at least 16). With both given and another aspect than the frame's, the picture keeps its aspect
   * inside black borders.
   */
  readonly outHeight?: number;
  /** JPEG quality, an integer in [1, 100] (default 75). */
  readonly quality?: number;
}

/** The options a {@link JpegEncoder} runs with, defaults filled in. */
export type ResolvedJpegEncoderOptions = Readonly<Required<JpegEncoderOptions>>;

/**
 * Encodes frames to JPEG images, one at a time, off the JS thread.
 *
 * The pipeline is `appsrc → videoconvertscale → I420 (full range) at the output size → jpegenc →
 * appsink`, started once by {@link JpegEncoder.open} and reused for every frame. One encode is in
 * flight at a time: while one is pending ({@link JpegEncoder.busy}), `encode()` throws, so a live
 * view skips frames instead of queueing them. Each encode gives up after 5 s (`Timeout`).
 *
 * @example
 * ```ts
 * const jpeg = JpegEncoder.open({ width: 1280, height: 720, format: 'I420', outWidth: 640, quality: 80 });
 * for await (const frame of source.frames()) {
 *   if (!jpeg.busy) jpeg.encode(frame).then((bytes) => ws.send(bytes), (e) => log.warn(e));
 *   frame.release(); // safe at once: the encoder holds its own reference
 * }
 * jpeg.close();
 * ```
 */
export class JpegEncoder {
  readonly #enc: RawJpegEncoder;
  readonly #opts: ResolvedJpegEncoderOptions;
  #encoded = 0;
  #pending = false;
  #closed = false;

  private constructor(enc: RawJpegEncoder, opts: ResolvedJpegEncoderOptions) {
    this.#enc = enc;
    this.#opts = opts;
  }

  /**
   * Starts a JPEG encoder for frames of one size and format.
   * @param options - input size and format, output size, quality (see {@link JpegEncoderOptions})
   * @returns an open encoder; {@link JpegEncoder.close} it when done
   * @throws {InvalidArgumentError} when `options` is not an object, a size is not an integer in
   *   range (output sizes: even, in [16, 65534]), `format` is not a `PixelFormat`, or `quality` is
   *   not an integer in [1, 100]
   * @throws {MediaError} `Unsupported` when a GStreamer element (`jpegenc`, `appsrc`, …) is
   *   missing or the pipeline cannot start
   * @example
   * ```ts
   * const thumb = JpegEncoder.open({ width: 1920, height: 1080, format: 'NV12', outWidth: 320 }); // 320×180
   * ```
   */
  static open(options: JpegEncoderOptions): JpegEncoder {
    const { width, height, format } = checkInputShape(options, 'JpegEncoderOptions');
    const even = (v: number) => Math.min(MAX_OUT, Math.max(16, 2 * Math.round(v / 2)));
    const checkOut = (name: string, v: unknown) => {
      if (!(typeof v === 'number' && Number.isInteger(v) && v >= 16 && v <= MAX_OUT && v % 2 === 0)) {
        throw new InvalidArgumentError(name, 'an even integer in [16, 65534]', v);
      }
    };
    if (options.outWidth !== undefined) checkOut('outWidth', options.outWidth);
    if (options.outHeight !== undefined) checkOut('outHeight', options.outHeight);
    const outWidth = options.outWidth ?? (options.outHeight !== undefined ? even((options.outHeight * width) / height) : even(Math.floor(width / 2) * 2));
    const outHeight = options.outHeight ?? (options.outWidth !== undefined ? even((options.outWidth * height) / width) : even(Math.floor(height / 2) * 2));
    const quality = options.quality ?? 75;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new InvalidArgumentError('quality', 'an integer in [1, 100]', quality);
    let enc: RawJpegEncoder;
    try {
      enc = new (loadBinding().NativeJpegEncoder)({ format: NV_FORMAT_TO_GST[format], width, height, outWidth, outHeight, quality });
    } catch (e) {
      if (MediaError.isInstance(e)) throw e;
      // The addon re-checks every option (TypeError/RangeError); checked above, so a backstop.
      if (e instanceof Error && (e.name === 'TypeError' || e.name === 'RangeError')) throw new InvalidArgumentError('options', 'options the jpeg encoder accepts', e.message);
      throw MediaError.unsupported(`jpeg encoder could not start: ${(e as Error)?.message ?? String(e)}`);
    }
    return new JpegEncoder(enc, Object.freeze({ width, height, format, outWidth, outHeight, quality }));
  }

  /** The options this encoder runs with, defaults (such as the output size) filled in. */
  get options(): ResolvedJpegEncoderOptions { return this.#opts; }

  /** Whether an encode is in flight (a call to {@link JpegEncoder.encode} now would throw). */
  get busy(): boolean { return this.#pending; }

  /** Images encoded so far (resolved encodes). */
  get framesEncoded(): number { return this.#encoded; }

  /**
   * Encodes one frame to a JPEG image.
   *
   * The frame is taken before this method returns: a decoded `MediaSource` frame by reference
   * (the encoder holds its own reference to the pixels), any other host frame copied. The caller
   * keeps its own reference and may release the frame as soon as `encode()` has returned its
   * promise.
   *
   * Refusals are thrown synchronously (no promise is returned): a wrong frame, a busy or closed
   * encoder. The promise rejects only when encoding itself fails, with a {@link MediaError}
   * carrying the caller's stack: `DecodeFailed` when GStreamer reports an error, `Timeout` when no
   * image came within 5 s, `InvalidMedia` when the encoder was closed meanwhile.
   * @param frame - a frame of the encoder's `width`, `height` and `format`
   * @param ts - presentation time in ns stamped on the frame inside the pipeline (default: just
   *   after the previous one; a value not above the previous one is moved just past it). The
   *   image carries no timestamp.
   * @returns the JPEG bytes (a Node `Buffer`, from `FF D8` to `FF D9`), `options.outWidth` ×
   *   `options.outHeight` pixels
   * @throws {InvalidArgumentError} when the frame is not an object or its size or format differs
   *   from the encoder's, its planes are not an array of the format's plane count, a plane's
   *   offset or stride is not a non-negative safe integer, or `ts` is not a finite number ≥ 0
   * @throws {FrameAccessError} `InvalidLayout` when a plane's rows or row bytes differ from the
   *   format's, its stride is smaller than a row or above 2^31 − 1, or its rows do not fit its
   *   buffer; `Released` / `NotHostAccessible` when the pixels cannot be read
   * @throws {MediaError} `InvalidMedia` after {@link JpegEncoder.close}
   * @throws {Error} "encoder busy" while the previous encode is still in flight
   *   (see {@link JpegEncoder.busy})
   * @example
   * ```ts
   * const bytes = await jpeg.encode(frame);
   * await writeFile('snapshot.jpg', bytes);
   * ```
   */
  encode(frame: FrameEnvelope, ts?: MonotonicTs | number): Promise<Uint8Array> {
    const caller = new Error(); // the caller's frames, for a rejection from the native worker
    if (this.#closed) throw adoptCallerStack(MediaError.invalidMedia('jpeg encoder is closed'), caller);
    if (this.#pending) throw new Error('encoder busy: JpegEncoder encodes one frame at a time (await the previous encode(), or check busy)');
    const o = this.#opts;
    checkFrameAndTs(frame, o, ts);
    const handle = frame instanceof NativeFrame && !frame.isReleased ? frame._handle : hostFrame(frame, o);
    let encoded: Promise<Uint8Array>;
    try {
      encoded = this.#enc.encode(handle, ts === undefined ? 0 : Math.round(ts)) as Promise<Uint8Array>; // 0: the addon moves it past the previous one
    } catch (e) {
      throw nativeRefusal(e);
    }
    this.#pending = true;
    return encoded.then(
      (bytes) => {
        this.#pending = false;
        this.#encoded++;
        return bytes;
      },
      (e: unknown) => {
        this.#pending = false;
        throw adoptCallerStack(encodeFailure(e, this.#closed), caller);
      },
    );
  }

  /**
   * Stops the pipeline and frees it. Idempotent. An encode in flight rejects with
   * {@link MediaError} `InvalidMedia` (within about 50 ms); later `encode()` calls throw it.
   * @example
   * ```ts
   * jpeg.close();
   * jpeg.close(); // no-op
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#enc.close();
  }
}

/** @internal A rejection from the native worker as a typed error (`closed`: close() was called). */
export function encodeFailure(e: unknown, closed: boolean): MediaError {
  const message = e instanceof Error ? e.message : String(e);
  if (closed || message === 'jpeg encoder is closed') return MediaError.invalidMedia('jpeg encoder was closed during the encode', e);
  if (/no image within/.test(message)) return MediaError.timeout(message);
  return MediaError.decodeFailed(message.startsWith('jpeg encoder') ? message : `jpeg encoder: ${message}`, e);
}

/**
 * A synchronous refusal from the addon as a typed error (hostFrame() and the checks above come
 * first, so a TypeError/RangeError here is a backstop).
 * @internal
 */
export function nativeRefusal(e: unknown): unknown {
  if (e instanceof Error && (e.name === 'RangeError' || e.name === 'TypeError')) {
    return new FrameAccessError('InvalidLayout', `jpeg encoder: ${e.message}`, e);
  }
  const message = e instanceof Error ? e.message : String(e);
  if (message === 'jpeg encoder is closed') return MediaError.invalidMedia(message, e);
  if (message === 'encoder busy') return e;
  return MediaError.decodeFailed(`jpeg encoder: ${message}`, e);
}
