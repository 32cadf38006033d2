/**
 * `probeSource`: what a source holds — codec, resolution, frame rate, duration — and which
 * decoder nv would use for it.
 */
import { MediaError, parseSourceSpec, redactUrl, type SourceSpec } from '@nv/core';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadBinding } from './binding.js';
import { sourceLocation } from './errors.js';
import { MediaSource } from './source.js';
import { adoptCallerStack } from './caller-stack.js';

/** What {@link probeSource} found. */
export interface ProbeResult {
  /** The source, credentials redacted. */
  readonly source: string;
  /** Codec description (e.g. `H.264 (High Profile)`), when the container says. */
  readonly codec: string | undefined;
  /** Frame width in pixels. */
  readonly width: number;
  /** Frame height in pixels. */
  readonly height: number;
  /** Frames per second, when known. */
  readonly fps: number | undefined;
  /** Duration in ms (files), `undefined` for live sources. */
  readonly durationMs: number | undefined;
  /** Whether the source is live (camera) rather than a file. */
  readonly live: boolean;
  /** Whether the source can seek. */
  readonly seekable: boolean;
  /** The decoder element nv's pipeline chose (`undefined` for raw sources). */
  readonly decoder: string | undefined;
  /** Whether that decoder is a hardware decoder. */
  readonly hardware: boolean;
}

/**
 * Probes a source: container/stream facts from GStreamer's discoverer (files and RTSP), then
 * a short run of the real nv pipeline to learn which decoder it picks.
 * @throws {ConfigError} for an invalid spec
 * @throws {MediaError} `SourceNotFound`, `ConnectionFailed`, `InvalidMedia`, `Timeout`, … (typed, redacted);
 *   `Unsupported` for a file that is not local media (an HLS/DASH/Smooth Streaming manifest, an SDP
 *   description, a playlist) or that needs an element outside the file-source allow-list
 * @example
 * ```ts
 * const p = await probeSource({ kind: 'file', path: 'clip.mp4' });
 * console.log(p.codec, p.width, p.height, p.fps, p.durationMs, p.decoder);
 * ```
 */
export async function probeSource(input: unknown, options: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const caller = new Error(); // synchronously: a failed probe's error shows where probeSource was called
  const spec: SourceSpec = parseSourceSpec(input);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const where = sourceLocation(spec);
  if (spec.kind === 'file') {
    let isFile = false;
    try { isFile = statSync(spec.path).isFile(); } catch { /* reported below */ }
    if (!isFile) throw MediaError.sourceNotFound(spec.path, 'no such file');
  }
  let disc: Awaited<ReturnType<ReturnType<typeof loadBinding>['discover']>> | undefined;
  if (spec.kind === 'file' || spec.kind === 'rtsp') {
    const uri = spec.kind === 'file' ? pathToFileURL(resolve(spec.path)).href : spec.url;
    try {
      disc = await loadBinding().discover(uri, timeoutMs);
    } catch (e) {
      const msg = (e as Error).message;
      // The file-source allow-list refused the file (e.g. an HLS playlist named .mp4).
      if ((e as { refused?: unknown }).refused === true) throw adoptCallerStack(MediaError.unsupported(`${where}: ${msg}`), caller);
      if (spec.kind === 'rtsp') throw adoptCallerStack(MediaError.connectionFailed(spec.url, msg), caller);
      if (/timed out/.test(msg)) throw adoptCallerStack(MediaError.timeout(`probing ${where}: ${msg}`), caller);
      throw adoptCallerStack(MediaError.invalidMedia(`${where}: ${msg}`), caller);
    }
    if (!disc.video) throw MediaError.invalidMedia(`${where}: no video stream`);
  }
  // Learn the decoder from the real pipeline (first frame or streamStarted, bounded).
  const src = new MediaSource(spec, { reconnect: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, noFrameTimeoutMs: timeoutMs });
  let started: { width: number; height: number; fps: number | undefined; decoder: string | undefined; hardware: boolean } | undefined;
  let onStarted: () => void = () => {};
  const startedP = new Promise<void>((r) => { onStarted = r; });
  src.on('streamStarted', (e) => { started = { width: e.width, height: e.height, fps: e.fps, decoder: e.decoder, hardware: e.hardware }; onStarted(); });
  try {
    const f = await Promise.race([
      src.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(MediaError.timeout(`no frame from ${where} within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    f?.release();
    // The bus event can trail the first frame: give it a moment.
    if (!started) await Promise.race([startedP, new Promise((r) => setTimeout(r, 2000).unref())]);
  } finally {
    await src.stop();
  }
  const v = disc?.video;
  const fps = v && v.fpsN > 0 && v.fpsD > 0 ? v.fpsN / v.fpsD : started?.fps;
  return Object.freeze({
    source: spec.kind === 'rtsp' ? redactUrl(spec.url) : where,
    codec: v?.codec || undefined,
    width: v?.width ?? started?.width ?? 0,
    height: v?.height ?? started?.height ?? 0,
    fps: fps && Number.isFinite(fps) ? fps : undefined,
    durationMs: disc && disc.durationNs !== null && !disc.live ? disc.durationNs / 1e6 : undefined,
    live: disc ? disc.live || spec.kind === 'rtsp' : spec.kind !== 'testPattern' || spec.live,
    seekable: disc?.seekable ?? false,
    decoder: started?.decoder,
    hardware: started?.hardware ?? false,
  });
}
