/**
 * Maps GStreamer bus errors to typed `MediaError`s, and says which of them no reconnection
 * can fix. Messages are sanitized and URLs redacted by `MediaError` itself.
 * @internal
 */
import { MediaError, type MediaErrorKind, type SourceSpec } from '@nv/core';
import type { RawEvent } from './binding.js';

const RESOURCE = 'gst-resource-error-quark';
const STREAM = 'gst-stream-error-quark';
const CORE = 'gst-core-error-quark';
/** The addon's domain for file-source allow-list refusals (native/src/decode_policy.h). */
const FILE_POLICY = 'nv-file-policy-error-quark';

// GstResourceError codes (gst/gsterror.h).
const R_NOT_FOUND = 3, R_OPEN_READ = 5, R_OPEN_READ_WRITE = 7, R_READ = 9, R_SEEK = 11, R_SETTINGS = 13, R_NOT_AUTHORIZED = 15;
// GstStreamError codes.
const S_FAILED = 1, S_NOT_IMPLEMENTED = 3, S_TYPE_NOT_FOUND = 4, S_WRONG_TYPE = 5, S_CODEC_NOT_FOUND = 6, S_DECODE = 7, S_DEMUX = 9, S_FORMAT = 11;

/** The kinds a {@link MediaError} from `@nv/media` can have (core's `MediaErrorKind`, `Unauthorized` included). */
export type MediaSourceErrorKind = MediaErrorKind;

/**
 * An RTSP server refused the credentials (401). `url` is redacted by `MediaError`.
 * @internal
 */
export function unauthorized(url: string, detail: string): MediaError {
  return new MediaError('Unauthorized', { url, detail });
}

/**
 * The kind of a media error, including the kinds only `@nv/media` raises.
 * @param e - any value
 * @returns the kind, or `undefined` when `e` is not a `MediaError`
 * @example
 * ```ts
 * src.on('error', (ev) => { if (mediaErrorKind(ev.error) === 'Unauthorized') askForPassword(); });
 * ```
 */
export function mediaErrorKind(e: unknown): MediaSourceErrorKind | undefined {
  return MediaError.isInstance(e) ? (e.kind as MediaSourceErrorKind) : undefined;
}

/**
 * Whether a live source's error is one that retrying cannot fix, so the source fails at once
 * instead of reconnecting:
 * - `Unauthorized` (wrong or missing credentials), always: retrying cannot fix it, and many
 *   cameras lock an account after a few failed logins.
 * - `SourceNotFound` (a `/dev/video*` device that does not exist) when the source has never
 *   streamed. A device that streamed and then vanished (a USB camera unplugged) may come back,
 *   so that is retried per the reconnect policy.
 * An RTSP 404 is not permanent: restreaming servers answer 404 while their camera is away.
 * @internal
 */
export function isPermanentFailure(error: MediaError, everStreamed: boolean): boolean {
  const kind = mediaErrorKind(error);
  if (kind === 'Unauthorized') return true;
  return kind === 'SourceNotFound' && !everStreamed;
}

/** Where the source is, for messages (redacted by MediaError). */
export function sourceLocation(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'file': return spec.path;
    case 'rtsp': return spec.url;
    case 'v4l2': return spec.device;
    case 'testPattern': return `testPattern:${spec.pattern}`;
    case 'custom': return 'custom pipeline';
  }
}

/**
 * Whether an addon `error` event is a file-source allow-list refusal (the file is e.g. an HLS
 * playlist, or needs an element nv does not use for files).
 */
export function isFilePolicyRefusal(ev: RawEvent): boolean {
  return ev['domain'] === FILE_POLICY;
}

/**
 * Turns an addon `error` event into a typed MediaError. Allow-list refusals become
 * `Unsupported`, with the native message naming what was detected.
 */
export function mapBusError(ev: RawEvent, spec: SourceSpec): MediaError {
  if (isFilePolicyRefusal(ev)) return MediaError.unsupported(String(ev['message'] ?? 'refused by the file-source allow-list'));
  const domain = String(ev['domain'] ?? '');
  const code = Number(ev['code'] ?? 0);
  const message = String(ev['message'] ?? '');
  const debug = String(ev['debug'] ?? '');
  const where = sourceLocation(spec);
  const detail = debug ? `${message} (${debug.split('\n')[0]})` : message;
  const text = `${message} ${debug}`;
  if (domain === RESOURCE) {
    // rtspsrc reports a 401 as NOT_AUTHORIZED "Unauthorized" (debug: "Unauthorized (401)").
    if (code === R_NOT_AUTHORIZED || (spec.kind === 'rtsp' && /\bunauthori[sz]ed\b|\bnot authori[sz]ed\b|\(401\)/i.test(text))) {
      return unauthorized(where, spec.kind === 'rtsp' ? `the server refused the credentials (401): ${detail}` : `not authorized: ${detail}`);
    }
    if (code === R_NOT_FOUND) {
      // rtspsrc: a 404 for the stream path; v4l2src: no such device node.
      return spec.kind === 'rtsp' ? MediaError.connectionFailed(where, `stream not found (404): ${detail}`) : MediaError.sourceNotFound(where, detail);
    }
    if (code === R_OPEN_READ || code === R_OPEN_READ_WRITE || code === R_SETTINGS) {
      return spec.kind === 'rtsp' ? MediaError.connectionFailed(where, detail) : MediaError.sourceNotFound(where, detail);
    }
    if (code === R_READ || code === R_SEEK) return spec.kind === 'file' ? MediaError.invalidMedia(detail) : MediaError.connectionFailed(where, detail);
    return MediaError.connectionFailed(where, detail);
  }
  if (domain === STREAM) {
    if (code === S_TYPE_NOT_FOUND || code === S_WRONG_TYPE || code === S_DEMUX || code === S_FORMAT) return MediaError.invalidMedia(detail);
    if (code === S_CODEC_NOT_FOUND || code === S_NOT_IMPLEMENTED) return MediaError.unsupported(detail);
    if (code === S_DECODE || code === S_FAILED) return MediaError.decodeFailed(detail);
    return MediaError.decodeFailed(detail);
  }
  if (domain === CORE) return MediaError.decodeFailed(detail);
  if (domain === 'nv') return MediaError.decodeFailed(detail);
  return spec.kind === 'rtsp' ? MediaError.connectionFailed(where, detail) : MediaError.decodeFailed(detail);
}
