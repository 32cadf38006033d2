/**
 * Turning a source string (a command-line argument or a config file's `source:` string) into
 * a source spec.
 */
import { parseSourceSpec, type SourceSpec } from '@nv/core';

/** What a source string stands for, before validation (see {@link sourceInputFromArg}). */
export type SourceArgInput =
  | { readonly kind: 'rtsp'; readonly url: string }
  | { readonly kind: 'v4l2'; readonly device: string }
  | { readonly kind: 'testPattern'; readonly pattern: string; readonly frames: number }
  | { readonly kind: 'file'; readonly path: string };

/**
 * The unvalidated source spec a source string stands for: `rtsp://…` / `rtsps://…` → RTSP
 * camera; `/dev/video*` → V4L2 device; `testpattern:<name>` → GStreamer test pattern of 300
 * frames (e.g. `testpattern:ball`); anything else → a file path. The string is never
 * interpreted as pipeline syntax. Validation (and its field-naming errors) is left to the
 * caller's schema, so a config file reports `feeds[0].source.url` and the like.
 *
 * @param arg - the string as the user wrote it
 * @returns the source spec object, not yet validated
 * @example
 * ```ts
 * sourceInputFromArg('rtsp://cam/live') // { kind: 'rtsp', url: 'rtsp://cam/live' }
 * sourceInputFromArg('clip.mp4')        // { kind: 'file', path: 'clip.mp4' }
 * ```
 */
export function sourceInputFromArg(arg: string): SourceArgInput {
  if (/^rtsps?:\/\//i.test(arg)) return { kind: 'rtsp', url: arg };
  if (/^\/dev\/video\d+$/.test(arg)) return { kind: 'v4l2', device: arg };
  const tp = /^testpattern:([a-z0-9-]+)$/i.exec(arg);
  if (tp) return { kind: 'testPattern', pattern: tp[1]!, frames: 300 };
  return { kind: 'file', path: arg };
}

/**
 * {@link sourceInputFromArg}, validated: the source spec with its defaults filled in.
 * @param arg - a video file, `rtsp://` URL, `/dev/videoN` or `testpattern:NAME`
 * @returns the parsed source spec
 * @throws {ConfigError} for an empty argument, an unknown test pattern or a malformed URL
 * @example
 * ```ts
 * sourceFromArg('testpattern:ball') // { kind: 'testPattern', pattern: 'ball', frames: 300, … }
 * ```
 */
export function sourceFromArg(arg: string): SourceSpec {
  return parseSourceSpec(sourceInputFromArg(arg));
}

/**
 * Whether a spec is a finite file (progress bar) rather than a live source (status line).
 * @param spec - a parsed source spec
 * @returns `true` for a non-looping file or a test pattern with a frame count
 */
export function isFinite(spec: SourceSpec): boolean {
  return spec.kind === 'file' ? !spec.loop : spec.kind === 'testPattern' ? spec.frames !== undefined : false;
}
