/**
 * Builds a source's pipeline as a list of elements with literal property values. User
 * strings (paths, URLs, devices) only ever become property values — never launch syntax —
 * except the explicit `custom` escape hatch and the post-decode hook, which require the
 * `allowTrusted` policy.
 */
import {
  ConfigError, InvalidArgumentError, MediaError, isInsecureRtsp, promoteRtspToTls, type CustomPipelinePolicy,
  type DecodePreference, type SourceSpec,
} from '@nv/core';
import { PIXEL_FORMATS, type PixelFormat } from '@nv/frame';
import type { ElementSpec, LaunchSpec } from './binding.js';

/**
 * How frames should come out of the pipeline.
 *
 * Scaling and conversion run in nv's native addon with libyuv (native/src/convert.h), on nv's
 * own conversion threads: the picture is scaled in the decoder's Y'CbCr space first (bilinear),
 * then converted, with the colour matrix and range of the stream's colorimetry (BT.601 / BT.709 /
 * BT.2020, limited or full; unknown: BT.709 from 720 rows up, BT.601 below). GStreamer's
 * `videoconvertscale` still sits in front of the appsink but only converts what libyuv has no
 * path for (see {@link carriedFormats}).
 */
export interface OutputOptions {
  /**
   * `native` (default): the decoder's own format when it is an nv {@link PixelFormat} (I420,
   * NV12, GRAY8, RGB8, BGR8, RGBA8, BGRA8); a Y444 or 10-bit decode (I420_10LE, P010_10LE,
   * Y444_10LE) is converted to I420 (8-bit), since `PixelFormat` has no 4:4:4 or 10-bit format.
   * A test pattern under `native` is generated as RGBA8 (what GStreamer negotiated before).
   */
  readonly format?: 'native' | PixelFormat;
  /**
   * Scale to this width (before colour conversion; with `height`). When the requested aspect
   * differs from the source's display aspect, the picture keeps its aspect and is centred with
   * black borders (GStreamer's `add-borders` rule, as before).
   */
  readonly width?: number;
  /** Scale to this height (before colour conversion; with `width`). */
  readonly height?: number;
  /**
   * Threads for scaling/conversion (default 2; 0 = one per core; at most 16 are used): the
   * number of row bands each frame's conversion is split into, on nv's process-wide conversion
   * pool (whose size is the largest value any source asked for). Also GStreamer's `n-threads`
   * for the conversions it still does.
   */
  readonly convertThreads?: number;
  /** `fast` (default for files): as fast as the pipeline allows; `realtime`: the stream's own rate. */
  readonly pacing?: 'fast' | 'realtime';
  /** Decoder choice (default `auto`); the decoder actually chosen is reported in `streamStarted`. */
  readonly decode?: DecodePreference;
  /** A trusted launch fragment inserted right after decoding (needs `customPipelinePolicy: 'allowTrusted'`). */
  readonly postDecodeHook?: string;
}

/** Policies that gate the escape hatches and TLS. */
export interface PipelinePolicies {
  readonly customPipelinePolicy?: CustomPipelinePolicy;
  /** Force plain RTSP for this attempt (TLS fallback). */
  readonly forcePlainRtsp?: boolean;
}

/** A built pipeline. */
export interface BuiltPipeline {
  readonly elements: readonly (ElementSpec | LaunchSpec)[];
  /** Sync appsink to the clock (real-time pacing). */
  readonly sync: boolean;
  readonly loop: boolean;
  /** A source that never ends by itself and should be reconnected. */
  readonly live: boolean;
  /** For RTSP: the URL actually used (credentials included — never log it; see `redactUrl`). */
  readonly url?: string;
  /** For RTSP: whether that URL is plain (unencrypted) RTSP. */
  readonly insecure?: boolean;
  /** What the addon's converter delivers (native/src/convert.h): GStreamer format name or `native`, size, bands. */
  readonly convert: { readonly format: string; readonly width?: number; readonly height?: number; readonly threads: number };
}

/** @internal GStreamer's name for each nv pixel format. */
export const NV_FORMAT_TO_GST: Readonly<Record<PixelFormat, string>> = {
  RGB8: 'RGB', BGR8: 'BGR', RGBA8: 'RGBA', BGRA8: 'BGRA', NV12: 'NV12', I420: 'I420', GRAY8: 'GRAY8',
};

/** Y'CbCr formats the addon's converter reads (libyuv I420, NV12, I444, I010, P010, I410). */
const YUV_CARRIED = ['I420', 'NV12', 'Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE'] as const;
/** Packed RGB formats the addon's converter reads (into RGB targets only). */
const RGB_CARRIED = ['RGB', 'BGR', 'RGBA', 'BGRA'] as const;

/**
 * @internal The GStreamer formats the appsink accepts for `format` (any size): the *carried*
 * formats, which `videoconvertscale` passes through untouched and the addon's libyuv converter
 * scales/converts (native/src/convert.h). A decoder format outside this set is converted by
 * `videoconvertscale` to the carried format closest to it (GStreamer's choice; measured: Y42B →
 * Y444, I422_10LE → Y444_10LE, GRAY8 → Y444 for RGB and Y'CbCr targets), then by libyuv.
 * Where libyuv has no path the formats are left out, so GStreamer converts — the fallbacks:
 * - packed RGB (RGB, BGR, RGBA, BGRA) decodes to a Y'CbCr or GRAY8 target (libyuv's RGB → YUV
 *   is BT.601 only);
 * - GRAY8 decodes to any target but GRAY8 (and `native`).
 * Under `native` everything carried is accepted. Sizes are never in the caps: libyuv scales.
 */
export function carriedFormats(format: 'native' | PixelFormat): readonly string[] {
  if (format === 'native') return ['I420', 'NV12', 'GRAY8', 'RGBA', 'RGB', 'BGR', 'BGRA', 'Y444', 'I420_10LE', 'P010_10LE', 'Y444_10LE'];
  const gst = NV_FORMAT_TO_GST[format];
  const set: string[] = format === 'GRAY8' ? ['GRAY8', ...YUV_CARRIED]
    : format === 'I420' || format === 'NV12' ? [...YUV_CARRIED]
      : [...YUV_CARRIED, ...RGB_CARRIED];
  return [gst, ...set.filter((f) => f !== gst)];
}

function checkDim(name: string, v: number | undefined): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 16 || v > 16384) throw new InvalidArgumentError(`output.${name}`, 'an integer in [16, 16384]', v);
}

/**
 * The element list for `spec` with `output` applied.
 * @throws {InvalidArgumentError} on bad output options
 * @throws {MediaError} `CustomPipelineRejected` for custom fragments / hooks without `allowTrusted`;
 *   `InsecureRtspRejected` for plain RTSP under `requireTls`
 */
export function buildPipeline(spec: SourceSpec, output: OutputOptions = {}, policies: PipelinePolicies = {}): BuiltPipeline {
  const format = output.format ?? 'native';
  if (format !== 'native' && !PIXEL_FORMATS.includes(format)) throw new InvalidArgumentError('output.format', `'native' or one of ${PIXEL_FORMATS.join(', ')}`, format);
  checkDim('width', output.width);
  checkDim('height', output.height);
  const threads = output.convertThreads ?? 2;
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) throw new InvalidArgumentError('output.convertThreads', 'an integer in [0, 64]', threads);
  const trusted = policies.customPipelinePolicy === 'allowTrusted';
  const decode = output.decode ?? 'auto';
  if (!['auto', 'cpuOnly', 'preferHardware', 'requireHardware'].includes(decode)) {
    throw new InvalidArgumentError('output.decode', "'auto', 'cpuOnly', 'preferHardware' or 'requireHardware'", decode);
  }
  const decodebin: ElementSpec = decode === 'auto' ? { factory: 'decodebin' } : { factory: 'decodebin', decodePreference: decode };

  const head: (ElementSpec | LaunchSpec)[] = [];
  let live = false;
  let loop = false;
  let url: string | undefined;
  let insecure: boolean | undefined;
  switch (spec.kind) {
    case 'file':
      // File sources stay local: the decodebin autoplugs only an allow-list of demuxers,
      // parsers and video decoders (no HLS/DASH/SDP demuxers, no sub-URIs; decode_policy.h).
      head.push({ factory: 'filesrc', props: { location: spec.path } }, { ...decodebin, localOnly: true });
      loop = spec.loop;
      break;
    case 'testPattern': {
      const props: Record<string, string> = { pattern: spec.pattern, 'is-live': String(spec.live) };
      if (spec.frames !== undefined) props['num-buffers'] = String(spec.frames);
      head.push({ factory: 'videotestsrc', props });
      const fps = fraction(spec.fps);
      // videotestsrc generates the target format itself (left free it would pick e.g. Y444_10LE);
      // under `native` RGBA, which is what it negotiated before the converter moved into the addon.
      const testFormat = format === 'native' ? 'RGBA' : NV_FORMAT_TO_GST[format];
      head.push({ factory: 'capsfilter', props: { caps: `video/x-raw,format=${testFormat},width=${spec.width},height=${spec.height},framerate=${fps}` } });
      live = spec.live;
      break;
    }
    case 'rtsp': {
      let u = spec.url;
      if (spec.security === 'requireTls' && isInsecureRtsp(u)) throw MediaError.insecureRtspRejected(u);
      if (spec.security === 'preferTls' && !policies.forcePlainRtsp) u = promoteRtspToTls(u);
      if (!/^[a-z]+:\/\//i.test(u)) u = `rtsp://${u}`;
      url = u;
      insecure = isInsecureRtsp(u);
      head.push({
        factory: 'rtspsrc',
        props: { location: u, protocols: spec.transport === 'udp' ? 'udp' : 'tcp', latency: String(spec.latencyMs), 'tcp-timeout': String(spec.tcpTimeoutMs * 1000) },
      }, decodebin);
      live = true;
      break;
    }
    case 'v4l2':
      head.push({ factory: 'v4l2src', props: { device: spec.device } }, decodebin);
      live = true;
      break;
    case 'custom':
      if (!trusted) throw MediaError.customPipelineRejected();
      head.push({ launch: spec.pipeline });
      live = true;
      break;
  }
  if (output.postDecodeHook !== undefined) {
    if (!trusted) throw MediaError.customPipelineRejected();
    if (typeof output.postDecodeHook !== 'string' || !output.postDecodeHook.trim()) throw new InvalidArgumentError('output.postDecodeHook', 'a non-empty launch fragment', output.postDecodeHook);
    head.push({ launch: output.postDecodeHook });
  }
  const caps = `video/x-raw,format=(string){${carriedFormats(format).join(',')}}`;
  const tail: ElementSpec[] = [
    // Passthrough for the carried formats (zero cost); converts only what libyuv has no path for
    // (carriedFormats). Named so that the addon can read the decoder's own format off its input.
    { factory: 'videoconvertscale', name: 'nvconvert', props: { 'n-threads': String(threads) } },
    { factory: 'capsfilter', props: { caps } },
  ];
  // The addon scales and converts the rest (native/src/convert.h).
  const convert = {
    format: format === 'native' ? 'native' : NV_FORMAT_TO_GST[format], threads,
    ...(output.width !== undefined && output.height !== undefined ? { width: output.width, height: output.height } : {}),
  };
  const pacing = output.pacing ?? (live ? 'realtime' : 'fast');
  // Live sources are paced by the device/network already; syncing them would only add latency.
  return { elements: [...head, ...tail], sync: pacing === 'realtime' && !live, loop, live, convert, ...(url !== undefined ? { url, insecure } : {}) };
}

function fraction(fps: number): string {
  if (Number.isInteger(fps)) return `${fps}/1`;
  const d = 1001;
  return `${Math.round(fps * d)}/${d}`;
}

/** Refuses option combinations that can never work. @throws {ConfigError} */
export function checkOutputOptions(o: OutputOptions): void {
  if ((o.width === undefined) !== (o.height === undefined)) {
    throw ConfigError.invalidPolicy('output.width and output.height must be given together', o.width === undefined ? 'output.width' : 'output.height');
  }
}
