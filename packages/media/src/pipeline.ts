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

/** How frames should come out of the pipeline. */
export interface OutputOptions {
  /** `native` (default): the decoder's own format when it is one nv supports, else the closest. */
  readonly format?: 'native' | PixelFormat;
  /** Scale to this width (applied before colour conversion). */
  readonly width?: number;
  /** Scale to this height (applied before colour conversion). */
  readonly height?: number;
  /** Threads for scaling/conversion (default 2). */
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
}

/** @internal GStreamer's name for each nv pixel format. */
export const NV_FORMAT_TO_GST: Readonly<Record<PixelFormat, string>> = { RGB8: 'RGB', BGR8: 'BGR', RGBA8: 'RGBA', NV12: 'NV12', I420: 'I420', GRAY8: 'GRAY8' };

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
      head.push({ factory: 'capsfilter', props: { caps: `video/x-raw,width=${spec.width},height=${spec.height},framerate=${fps}` } });
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
  const caps: string[] = ['video/x-raw'];
  caps.push(format === 'native' ? 'format=(string){I420,NV12,GRAY8,RGBA,RGB,BGR}' : `format=${NV_FORMAT_TO_GST[format]}`);
  if (output.width !== undefined) caps.push(`width=${output.width}`);
  if (output.height !== undefined) caps.push(`height=${output.height}`);
  if (output.width !== undefined || output.height !== undefined) caps.push('pixel-aspect-ratio=1/1');
  const tail: ElementSpec[] = [
    // One element scales then converts (passthrough when nothing changes: zero cost).
    { factory: 'videoconvertscale', props: { 'n-threads': String(threads) } },
    { factory: 'capsfilter', props: { caps: caps.join(',') } },
  ];
  const pacing = output.pacing ?? (live ? 'realtime' : 'fast');
  // Live sources are paced by the device/network already; syncing them would only add latency.
  return { elements: [...head, ...tail], sync: pacing === 'realtime' && !live, loop, live, ...(url !== undefined ? { url, insecure } : {}) };
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
