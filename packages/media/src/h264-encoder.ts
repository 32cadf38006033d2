/**
 * `H264Encoder`: one frame in, one H.264 access unit out — for event-clip pre-roll rings, where
 * the encoded video is kept and clips are cut without re-encoding. Encoded by GStreamer
 * (`openh264enc`, Constrained Baseline: no B-frames, every access unit comes back as soon as its
 * frame is in) on a libuv worker thread, never on the JS thread; frames go in as for
 * `JpegEncoder` (a decoded frame by reference, other host frames copied once). See
 * native/src/native_jpeg.h.
 */
import { InvalidArgumentError, MediaError, type MonotonicTs } from '@nv/core';
import type { FrameEnvelope, PixelFormat } from '@nv/frame';
import { loadBinding, type RawJpegEncoder } from './binding.js';
import { adoptCallerStack } from './caller-stack.js';
import { encodeFailure, nativeRefusal } from './jpeg-encoder.js';
import { checkFrameAndTs, checkInputShape } from './encoder-input.js';
import { NativeFrame } from './native-frame.js';
import { NV_FORMAT_TO_GST } from './pipeline.js';
import { hostFrame } from './writer.js';

/** Options of {@link H264Encoder.open}. */
export interface H264EncoderOptions {
  /** Width of the frames to encode (an integer in [1, 65536]); every frame must match. */
  readonly width: number;
  /** Height of the frames to encode (an integer in [1, 65536]); every frame must match. */
  readonly height: number;
  /** Pixel format of the frames to encode; every frame must match. */
  readonly format: PixelFormat;
  /**
   * Width of the video: an even integer in [16, 4096]. Default: `width` rounded down to even
   * and at most 4096, or the width that keeps the aspect of `outHeight`.
   */
  readonly outWidth?: number;
  /** Height of the video: an even integer in [16, 4096]. Default: from `outWidth` (or `height`), keeping the aspect. */
  readonly outHeight?: number;
  /** Target bitrate in kbit/s, an integer in [16, 100000] (default 1000). */
  readonly bitrateKbps?: number;
  /** Frames from one keyframe to the next, an integer in [1, 1000] (default 30). */
  readonly keyframeInterval?: number;
}

/** The options an {@link H264Encoder} runs with, defaults filled in. */
export type ResolvedH264EncoderOptions = Readonly<Required<H264EncoderOptions>>;

/** One encoded frame. */
export interface H264AccessUnit {
  /** Annex B bytes; a keyframe starts with SPS and PPS. */
  readonly data: Uint8Array;
  /** An IDR access unit (a clip may start here). */
  readonly keyframe: boolean;
  /** The `ts` the frame was encoded with, ns. */
  readonly ptsNs: number;
}

const even = (v: number, max: number) => Math.min(max, Math.max(16, 2 * Math.round(v / 2)));

/**
 * Encodes frames to H.264, one at a time, off the JS thread. One encode is in flight at a time:
 * while one is pending ({@link H264Encoder.busy}) `encode()` throws, so a caller skips frames
 * rather than queueing them. Each encode gives up after 5 s (`Timeout`).
 *
 * @example
 * ```ts
 * const h264 = H264Encoder.open({ width: 1920, height: 1080, format: 'NV12', outWidth: 640, keyframeInterval: 15 });
 * if (!h264.busy) h264.encode(frame, frame.ts).then((au) => ring.push(au));
 * h264.close();
 * ```
 */
export class H264Encoder {
  readonly #enc: RawJpegEncoder;
  readonly #opts: ResolvedH264EncoderOptions;
  #pending = false;
  #closed = false;
  #encoded = 0;
  #lastPts = -1;

  private constructor(enc: RawJpegEncoder, opts: ResolvedH264EncoderOptions) {
    this.#enc = enc;
    this.#opts = opts;
  }

  /**
   * Starts an H.264 encoder for frames of one size and format.
   * @param options - input size and format, output size, bitrate, keyframe interval
   * @returns an open encoder; {@link H264Encoder.close} it when done
   * @throws {InvalidArgumentError} on a bad option (each named)
   * @throws {MediaError} `Unsupported` when `openh264enc` (gstreamer1.0-plugins-bad) or another element is missing
   * @example
   * ```ts
   * const enc = H264Encoder.open({ width: 1280, height: 720, format: 'I420', outWidth: 640 }); // 640×360
   * ```
   */
  static open(options: H264EncoderOptions): H264Encoder {
    const { width, height, format } = checkInputShape(options, 'H264EncoderOptions');
    const checkOut = (name: string, v: unknown) => {
      if (!(typeof v === 'number' && Number.isInteger(v) && v >= 16 && v <= 4096 && v % 2 === 0)) throw new InvalidArgumentError(name, 'an even integer in [16, 4096]', v);
    };
    if (options.outWidth !== undefined) checkOut('outWidth', options.outWidth);
    if (options.outHeight !== undefined) checkOut('outHeight', options.outHeight);
    const outWidth = options.outWidth ?? (options.outHeight !== undefined ? even((options.outHeight * width) / height, 4096) : even(Math.min(width, 4096), 4096));
    const outHeight = options.outHeight ?? even((outWidth * height) / width, 4096);
    const bitrateKbps = options.bitrateKbps ?? 1000;
    if (!Number.isInteger(bitrateKbps) || bitrateKbps < 16 || bitrateKbps > 100_000) throw new InvalidArgumentError('bitrateKbps', 'an integer in [16, 100000]', bitrateKbps);
    const keyframeInterval = options.keyframeInterval ?? 30;
    if (!Number.isInteger(keyframeInterval) || keyframeInterval < 1 || keyframeInterval > 1000) throw new InvalidArgumentError('keyframeInterval', 'an integer in [1, 1000]', keyframeInterval);
    let enc: RawJpegEncoder;
    try {
      enc = new (loadBinding().NativeJpegEncoder)({
        format: NV_FORMAT_TO_GST[format], width, height, outWidth, outHeight, quality: 75, codec: 'h264', bitrateKbps, keyIntMax: keyframeInterval,
      });
    } catch (e) {
      if (MediaError.isInstance(e)) throw e;
      if (e instanceof Error && (e.name === 'TypeError' || e.name === 'RangeError')) throw new InvalidArgumentError('options', 'options the h264 encoder accepts', e.message);
      throw MediaError.unsupported(`h264 encoder could not start: ${(e as Error)?.message ?? String(e)}`);
    }
    return new H264Encoder(enc, Object.freeze({ width, height, format, outWidth, outHeight, bitrateKbps, keyframeInterval }));
  }

  /** The options this encoder runs with. */
  get options(): ResolvedH264EncoderOptions { return this.#opts; }
  /** Whether an encode is in flight (a call to {@link H264Encoder.encode} now would throw). */
  get busy(): boolean { return this.#pending; }
  /** Access units produced so far. */
  get framesEncoded(): number { return this.#encoded; }

  /**
   * Encodes one frame. The frame is taken before this returns (by reference or copied): the
   * caller may release it at once. Refusals are thrown synchronously (a wrong frame, a busy or
   * closed encoder); the promise rejects only when encoding fails (`DecodeFailed`, `Timeout`,
   * `InvalidMedia` when closed meanwhile).
   * @param frame - a frame of the encoder's size and format
   * @param ts - presentation time, ns (default just after the previous; one not above the previous is moved past it)
   * @returns the access unit, with its keyframe flag and the time it was encoded with
   * @throws {InvalidArgumentError} a frame of another size or format, a bad `ts`
   * @throws {MediaError} `InvalidMedia` after {@link H264Encoder.close}
   * @throws {Error} "encoder busy" while the previous encode is in flight
   * @example
   * ```ts
   * const au = await enc.encode(frame, frame.ts); // { data, keyframe, ptsNs }
   * ```
   */
  encode(frame: FrameEnvelope, ts?: MonotonicTs | number): Promise<H264AccessUnit> {
    const caller = new Error();
    if (this.#closed) throw adoptCallerStack(MediaError.invalidMedia('h264 encoder is closed'), caller);
    if (this.#pending) throw new Error('encoder busy: H264Encoder encodes one frame at a time (await the previous encode(), or check busy)');
    const o = this.#opts;
    checkFrameAndTs(frame, o, ts);
    let pts = ts === undefined ? this.#lastPts + 1 : Math.round(ts);
    if (pts <= this.#lastPts) pts = this.#lastPts + 1; // the addon does the same: strictly increasing
    const handle = frame instanceof NativeFrame && !frame.isReleased ? frame._handle : hostFrame(frame, o);
    let encoded: Promise<Uint8Array | { readonly data: Uint8Array; readonly keyframe: boolean }>;
    try {
      encoded = this.#enc.encode(handle, pts);
    } catch (e) {
      throw nativeRefusal(e);
    }
    this.#lastPts = pts;
    this.#pending = true;
    return encoded.then(
      (r) => {
        this.#pending = false;
        this.#encoded++;
        if (r instanceof Uint8Array) return { data: r, keyframe: false, ptsNs: pts };
        return { data: r.data, keyframe: r.keyframe, ptsNs: pts };
      },
      (e: unknown) => {
        this.#pending = false;
        throw adoptCallerStack(encodeFailure(e, this.#closed), caller);
      },
    );
  }

  /**
   * Stops the pipeline and frees it. Idempotent; an encode in flight rejects (`InvalidMedia`).
   * @example
   * ```ts
   * enc.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#enc.close();
  }
}
