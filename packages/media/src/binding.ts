/**
 * The only place the native addon is loaded. Declares exactly what the `.node` exports and
 * turns every load failure into one actionable error.
 *
 * @packageDocumentation
 * @internal
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MediaError } from '@nv/core';
import type { LetterboxIntoRequest, ResampleIntoRequest } from '@nv/frame';

/** One element of a pipeline, created with `gst_element_factory_make` and literal property values. */
export interface ElementSpec {
  readonly factory: string;
  /** The element's name in its pipeline ([A-Za-z0-9_-]{1,64}); the addon looks up `nvconvert` (pipeline.ts). */
  readonly name?: string;
  /** Property values as strings, set with `gst_util_set_object_arg` (never parsed as launch syntax). */
  readonly props?: Readonly<Record<string, string>>;
  /** For `decodebin`: steer decoder selection (`cpuOnly` skips hardware decoders, `requireHardware` skips software ones, `preferHardware` tries hardware first). */
  readonly decodePreference?: 'auto' | 'cpuOnly' | 'preferHardware' | 'requireHardware';
  /**
   * For `decodebin` of a `file` source: autoplug only the local-media allow-list
   * (native/src/decode_policy.h); anything else fails with a bus error in the
   * `nv-file-policy-error-quark` domain.
   */
  readonly localOnly?: boolean;
}
/** The explicit `custom` escape hatch: a trusted launch fragment. */
export interface LaunchSpec {
  readonly launch: string;
}

/** A plane as the addon hands it over: an external ArrayBuffer over mapped GStreamer memory. */
export interface RawPlane {
  readonly buffer: ArrayBuffer;
  readonly stride: number;
  readonly rows: number;
  readonly rowBytes: number;
}

/** The native frame handle. */
export interface RawFrameHandle {
  /** Detaches every plane buffer and returns the GStreamer buffer. Idempotent. */
  release(): void;
  isReleased(): boolean;
  /** Test hook: the mapped plane address. */
  __testMappedAddress?(plane: number): bigint;
}

/** What `NativeSource.pull()` returns. */
export interface RawFrame {
  readonly handle: RawFrameHandle;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly seq: number;
  readonly ts: number;
  readonly wallTs: number;
  readonly duration: number;
  readonly planes: readonly RawPlane[];
}

/**
 * A bus or streaming event from the addon. `caps` describes the frames delivered (after the
 * addon's converter): format (GStreamer name), width, height, fpsN, fpsD, decodedFormat, conversion.
 */
export interface RawEvent {
  readonly type: 'caps' | 'decoder' | 'error' | 'warning' | 'eos' | 'loop' | 'state' | 'qos' | 'resume';
  readonly [key: string]: string | number;
}

/** Queue counters of a native source. */
export interface RawStats {
  readonly queued: number;
  readonly capacity: number;
  readonly maxQueued: number;
  readonly pushed: number;
  readonly pulled: number;
  readonly dropped: number;
  readonly eventsDropped: number;
  /** Frames decoded but not delivered because they were at or before the resume point (`resume.afterTs`). */
  readonly resumeSkipped: number;
  /** The pipeline did not reach NULL within `stopTimeoutMs` at stop: it was abandoned (leaked). */
  readonly abandoned?: boolean;
  /**
   * Who converted the current caps' frames (native/src/convert.h): `none` (delivered as
   * decoded), `libyuv` (the addon scaled and/or converted them), `gstreamer` (videoconvertscale
   * converted a format libyuv has no path for), `gstreamer+libyuv` (both). `none` before the
   * first frame.
   */
  readonly conversion?: 'none' | 'libyuv' | 'gstreamer' | 'gstreamer+libyuv';
  /** GStreamer name of the decoder's output format (videoconvertscale's input: the post-decode hook's output when there is one), once known. */
  readonly decodedFormat?: string;
  /** GStreamer name of the format the appsink received (the converter's input), once known. */
  readonly carriedFormat?: string;
  /** What the addon's converter does, in words (or why it cannot), once known. */
  readonly conversionPlan?: string;
  /** Frames the addon's converter produced. */
  readonly convertedFrames?: number;
}

/** Constructor options of the native source. */
export interface RawSourceOptions {
  readonly elements: readonly (ElementSpec | LaunchSpec)[];
  readonly appsink: { readonly sync: boolean };
  readonly queue: { readonly depth: number; readonly policy: 'dropOldest' | 'dropNewest' | 'block' };
  readonly loop: boolean;
  /**
   * Deliver only frames whose raw ts is after `afterTs` (ns); with `seek`, seek there first
   * (FLUSH|ACCURATE, falling back to decoding from the start when the pipeline cannot seek).
   * Not allowed with `loop`. See native/src/native_source.h ("Resume").
   */
  readonly resume?: { readonly afterTs: number; readonly seek: boolean };
  /** Longest wait for the pipeline's state change to NULL at stop/dispose (ms, default 5000); past it the source is abandoned. */
  readonly stopTimeoutMs?: number;
  /**
   * Deliver frames in this format (GStreamer name, or `native`) and size, scaled/converted by the
   * addon with libyuv on `threads` bands per frame (0 = one per core; at most 16 used). Without it
   * frames are delivered as the appsink receives them. See native/src/convert.h.
   */
  readonly output?: { readonly format: string; readonly width?: number; readonly height?: number; readonly threads?: number };
  readonly onWake: () => void;
}

/** The native pipeline object. */
export interface RawSource {
  start(): boolean;
  pause(): void;
  resume(): void;
  stop(): void;
  dispose(): void;
  pull(): RawFrame | null;
  pollEvents(): RawEvent[];
  stats(): RawStats;
}

/** Options of the native encoder (see native/src/native_encoder.h). */
export interface RawEncoderOptions {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** GStreamer format name (I420, NV12, RGB, BGR, RGBA, BGRA, GRAY8). */
  readonly format: string;
  readonly fpsN: number;
  readonly fpsD: number;
  readonly bitrateKbps: number;
  /** x264 speed-preset enum value (1 ultrafast … 9 placebo). */
  readonly speedPreset: number;
  readonly fontPx: number;
  /** x264enc `key-int-max`: the most frames between two keyframes. */
  readonly keyIntMax: number;
  /** mp4mux `fragment-duration` in ms; 0 writes a classic (non-fragmented) MP4. */
  readonly fragmentMs: number;
}

/** One box to draw, in pixels, colour components in [0, 1]. */
export interface RawAnnotation {
  readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number;
  readonly r: number; readonly g: number; readonly b: number;
  readonly lineWidth: number;
  readonly label?: string;
}

/**
 * A host frame copied into the encoder: one offset and one stride per plane of the encoder's
 * format (integers; stride ≥ the plane's row bytes), every row inside `data`. Rows and row
 * bytes come from the encoder's caps; only the bytes the planes reach are copied.
 */
export interface RawHostFrame {
  readonly data: Uint8Array;
  readonly offsets: readonly number[];
  readonly strides: readonly number[];
}

/** `NativeEncoder`: frames + annotations → H.264 MP4. */
export interface RawEncoder {
  /**
   * Queues one frame. Throws synchronously (nothing queued) a `TypeError` for a value of the
   * wrong type or a `RangeError` for a bad number or a layout/buffer that does not fit the
   * encoder's caps (native/src/native_encoder.h, "Input validation"); rejects with a plain
   * `Error` (no JS frames: wrap with `withCallerStack`) when GStreamer fails.
   */
  push(frame: RawFrameHandle | RawHostFrame, ptsNs: number, durationNs: number, annotations?: readonly RawAnnotation[]): Promise<void>;
  finish(): Promise<void>;
  abort(): void;
}

/** Options of the native JPEG encoder (see native/src/native_jpeg.h). */
export interface RawJpegEncoderOptions {
  /** GStreamer format name of the input frames (I420, NV12, RGB, BGR, RGBA, BGRA, GRAY8). */
  readonly format: string;
  readonly width: number;
  readonly height: number;
  /** Size of the JPEG image (another aspect keeps the display aspect with black borders). */
  readonly outWidth: number;
  readonly outHeight: number;
  /** jpegenc `quality`, an integer in [1, 100] (required, ignored for h264). */
  readonly quality: number;
  /** `jpeg` (default) or `h264` (openh264enc; encode resolves `{ data, keyframe }`). */
  readonly codec?: 'jpeg' | 'h264';
  /** h264: target bitrate in kbit/s. */
  readonly bitrateKbps?: number;
  /** h264: frames from one keyframe to the next. */
  readonly keyIntMax?: number;
}

/** `NativeJpegEncoder`: one frame → one JPEG image, encoded on a libuv worker thread. */
export interface RawJpegEncoder {
  /**
   * Encodes one frame (a NativeFrame handle by reference, or a host frame copied before the call
   * returns). Throws synchronously a `TypeError`/`RangeError` for a bad value or a layout that
   * does not fit the encoder's caps (as `RawEncoder.push`), and an `Error` "encoder busy" while
   * an encode is in flight or "jpeg encoder is closed" after `close()`; rejects with a plain
   * `Error` (no JS frames: wrap with `withCallerStack`) when GStreamer fails, after 5 s without
   * an image, or when the encoder is closed meanwhile ("jpeg encoder is closed").
   */
  encode(frame: RawFrameHandle | RawHostFrame, ptsNs: number): Promise<Uint8Array | { readonly data: Uint8Array; readonly keyframe: boolean }>;
  /** Whether an encode is in flight. */
  busy(): boolean;
  /** Sets the pipeline to NULL; an in-flight encode rejects. Idempotent. */
  close(): void;
}

/** Test hook (NV_TEST_HOOKS builds): one frame through the addon's converter. */
export interface RawTestConvert {
  (input: {
    readonly format: string; readonly width: number; readonly height: number; readonly colorimetry?: string;
    readonly par?: readonly [number, number]; readonly planes: readonly Uint8Array[]; readonly strides: readonly number[];
  }, output: { readonly format: string; readonly width?: number; readonly height?: number; readonly threads?: number }): {
    readonly passthrough: boolean; readonly plan: string; readonly format?: string; readonly width?: number; readonly height?: number;
    readonly planes?: readonly { readonly data: Uint8Array; readonly stride: number; readonly rows: number }[];
  };
}

/** Everything the addon exports. */
export interface Binding {
  readonly NativeSource: (new (options: RawSourceOptions) => RawSource) & { readonly __testConvert?: RawTestConvert };
  readonly NativeEncoder: new (options: RawEncoderOptions) => RawEncoder;
  readonly NativeJpegEncoder: new (options: RawJpegEncoderOptions) => RawJpegEncoder;
  gstVersion(): string;
  counters(): { liveFrames: number; leakedFrames: number; createdFrames: number; liveSources: number; abandonedSources?: number; liveJpegEncoders?: number };
  hasElement(factory: string): boolean;
  /** Replays a letterbox plan (or `@nv/ocr`'s resample) over NV12/I420 planes on a libuv worker thread (native/src/letterbox.cc). */
  letterbox(request: {
    readonly format: 'NV12' | 'I420'; readonly planes: readonly Uint8Array[]; readonly strides: readonly number[]; readonly frameHeight: number;
    readonly plan: LetterboxIntoRequest['plan']; readonly k: LetterboxIntoRequest['k']; readonly norm: LetterboxIntoRequest['norm'];
    readonly W: number; readonly H: number; readonly padLeft: number; readonly padTop: number;
    readonly out: Float32Array; readonly oR: number; readonly oG: number; readonly oB: number;
  } | {
    /** `@nv/ocr`'s per-plane resample (see `ResampleIntoRequest`); plane sizes in samples. */
    readonly kind: 'resample'; readonly format: 'NV12' | 'I420'; readonly planes: readonly Uint8Array[]; readonly strides: readonly number[];
    readonly planeSizes: readonly [number, number, number, number];
    readonly width: number; readonly height: number; readonly rowStride: number; readonly sampling: ResampleIntoRequest['sampling'];
    readonly k: ResampleIntoRequest['k']; readonly norm: ResampleIntoRequest['norm'];
    readonly out: Float32Array; readonly oR: number; readonly oG: number; readonly oB: number;
  }): Promise<void>;
  /**
   * GstDiscoverer on `uri`. A `file:` URI is discovered under the file-source allow-list; a
   * refusal rejects with an `Error` whose `refused` is `true`.
   */
  discover(uri: string, timeoutMs: number): Promise<{
    durationNs: number | null; seekable: boolean; live: boolean; audioStreams: number;
    video: { codec: string; width: number; height: number; fpsN: number; fpsD: number; bitrate: number } | null;
  }>;
  __testArrayBufferAddress?(buffer: ArrayBuffer): bigint;
  /**
   * Test hook: this environment's native frame slots (native/src/native_frame.h): allocated,
   * on the free list, live (handed to JS, not released), pending (plane finalizers not all run).
   */
  __testFrameSlots?(): { slots: number; free: number; live: number; pending: number };
}

let cached: Binding | undefined;

/** What `@nv/native` needs from the system (its `requirements.json`), in Debian package names. */
interface NativeRequirements {
  readonly prebuilt: { readonly platform: string; readonly arch: string; readonly libc: string; readonly gstreamer: string };
  readonly runtime: readonly string[];
  readonly buildTools: Readonly<Record<string, string>>;
  readonly pkgConfig: Readonly<Record<string, string>>;
}

/**
 * Loads the addon once. Tries, in order: `NV_NATIVE_PATH`, a source build
 * (`@nv/native/build/Release`), the prebuilt binary for this platform
 * (`@nv/native/prebuilds/<platform>-<arch>`).
 * @throws {MediaError} `Unsupported`, naming the platform, every path tried and the fix
 */
export function loadBinding(): Binding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  const candidates: string[] = [];
  let reqs: NativeRequirements | undefined;
  try {
    const root = dirname(require.resolve('@nv/native/package.json'));
    candidates.push(join(root, 'build', 'Release', 'nv_native.node'), join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'nv_native.node'));
    reqs = require('@nv/native/requirements.json') as NativeRequirements;
  } catch (e) {
    tried.push(`@nv/native: ${(e as Error).message.split('\n')[0]}`);
  }
  if (process.env['NV_NATIVE_PATH']) candidates.unshift(process.env['NV_NATIVE_PATH']);
  let missingLibrary = false;
  for (const path of candidates) {
    if (!existsSync(path)) { tried.push(`${path}: not present`); continue; }
    try {
      cached = require(path) as Binding;
      return cached;
    } catch (e) {
      const first = (e as Error).message.split('\n')[0] ?? '';
      if (/cannot open shared object file/.test(first)) missingLibrary = true;
      tried.push(`${path}: ${first}`);
    }
  }
  const platform = `${process.platform}-${process.arch} (Node ${process.version})`;
  const runtime = (reqs?.runtime ?? ['gstreamer1.0-plugins-base', 'gstreamer1.0-plugins-good', 'libcairo2']).join(' ');
  const build = reqs ? [...new Set([...Object.values(reqs.buildTools), ...Object.values(reqs.pkgConfig)])].join(' ') : 'cmake g++ pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libcairo2-dev';
  const fix = missingLibrary
    ? `GStreamer or cairo libraries are missing on this machine. Debian/Ubuntu: apt-get install --no-install-recommends ${runtime}`
    : reqs && `${process.platform}-${process.arch}` !== `${reqs.prebuilt.platform}-${reqs.prebuilt.arch}`
      ? `@nv/native ships a prebuilt binary only for ${reqs.prebuilt.platform}-${reqs.prebuilt.arch} (${reqs.prebuilt.libc}, GStreamer ${reqs.prebuilt.gstreamer}); build it from source: install ${build} (Debian names) and GStreamer's runtime plugins, then run \`npx nv-native-build\``
      : `reinstall @nv/native (\`npm install @nv/native\`), or build it from source: apt-get install --no-install-recommends ${build} ${runtime}, then \`npx nv-native-build\`; in nv's own checkout run \`npm test\` or \`npm run setup\``;
  throw MediaError.unsupported(`the nv native addon could not be loaded on ${platform}. ${fix}. Tried: ${tried.join('; ')}`);
}
