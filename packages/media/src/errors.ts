/**
 * Maps GStreamer bus errors to typed `MediaError`s. Messages are sanitized and URLs
 * redacted by `MediaError` itself.
 * @internal
 */
import { MediaError, type SourceSpec } from '@nv/core';
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
    if (code === R_NOT_AUTHORIZED || /\b401\b|unauthori[sz]ed|not authori[sz]ed/i.test(text)) {
      return MediaError.connectionFailed(where, `not authorized: ${detail}`);
    }
    if (code === R_NOT_FOUND) return spec.kind === 'rtsp' ? MediaError.connectionFailed(where, detail) : MediaError.sourceNotFound(where, detail);
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
