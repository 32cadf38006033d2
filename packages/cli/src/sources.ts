/**
 * Turning a command-line source argument into a source spec.
 */
import { parseSourceSpec, type SourceSpec } from '@nv/core';

/**
 * `rtsp://…` / `rtsps://…` → RTSP camera; `/dev/video*` → V4L2 device; `testpattern:<name>`
 * → GStreamer test pattern (e.g. `testpattern:ball`); anything else → a file path.
 * The string is never interpreted as pipeline syntax.
 * @throws {ConfigError} for an empty argument
 */
export function sourceFromArg(arg: string): SourceSpec {
  if (/^rtsps?:\/\//i.test(arg)) return parseSourceSpec({ kind: 'rtsp', url: arg });
  if (/^\/dev\/video\d+$/.test(arg)) return parseSourceSpec({ kind: 'v4l2', device: arg });
  const tp = /^testpattern:([a-z0-9-]+)$/i.exec(arg);
  if (tp) return parseSourceSpec({ kind: 'testPattern', pattern: tp[1], frames: 300 });
  return parseSourceSpec({ kind: 'file', path: arg });
}

/** Whether a spec is a finite file (progress bar) rather than a live source (status line). */
export function isFinite(spec: SourceSpec): boolean {
  return spec.kind === 'file' ? !spec.loop : spec.kind === 'testPattern' ? spec.frames !== undefined : false;
}
