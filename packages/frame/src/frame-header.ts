/**
 * The identifying fields every frame constructor takes, and their validation.
 *
 * @packageDocumentation
 */
import { feedId as toFeedId, InvalidArgumentError, monotonicTs, TypedMetadata, wallTs as toWallTs } from '@nv/core';
import type { FeedId, MonotonicTs, WallTs } from '@nv/core';
import { checkDimension, checkPixelFormat } from './pixel-format.js';
import type { PixelFormat } from './pixel-format.js';

/** Identity, timing and geometry of a frame to create. Plain numbers are validated and branded. */
export interface FrameHeaderInit {
  /** Feed id (non-negative safe integer). */
  readonly feedId: FeedId | number;
  /** Per-session frame counter (non-negative safe integer). */
  readonly seq: number;
  /** Media timestamp in nanoseconds since feed start (finite, ≥ 0). */
  readonly ts: MonotonicTs | number;
  /** Wall-clock receive time in µs since epoch; default 0 (= unknown, the way synthetic frames report it). */
  readonly wallTs?: WallTs | number;
  /** Width in pixels (integer in [1, 65536]). */
  readonly width: number;
  /** Height in pixels (integer in [1, 65536]). */
  readonly height: number;
  /** Pixel format. */
  readonly format: PixelFormat;
  /** Metadata to attach; the frame keeps this very object (not a copy). Default: empty. */
  readonly metadata?: TypedMetadata;
  /** Called once, synchronously, when the last reference is released (after the memory is detached). */
  readonly onRelease?: () => void;
}

/** @internal A validated header. */
export interface FrameHeader {
  readonly feedId: FeedId;
  readonly seq: number;
  readonly ts: MonotonicTs;
  readonly wallTs: WallTs;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly metadata: TypedMetadata;
  readonly onRelease: (() => void) | undefined;
}

function isMetadata(v: unknown): v is TypedMetadata {
  if (v instanceof TypedMetadata) return true;
  // Another copy of @nv/core: accept anything shaped like a TypedMetadata.
  const o = v as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && typeof o['get'] === 'function' && typeof o['set'] === 'function' && typeof o['clone'] === 'function';
}

/**
 * @internal Validates the common frame fields.
 * @throws {InvalidArgumentError} on any bad field
 */
export function validateHeader(init: FrameHeaderInit): FrameHeader {
  if (typeof init !== 'object' || init === null) throw new InvalidArgumentError('init', 'a frame init object', init);
  const seq: unknown = init.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new InvalidArgumentError('seq', 'a non-negative safe integer', seq);
  checkPixelFormat(init.format);
  checkDimension('width', init.width);
  checkDimension('height', init.height);
  const metadata = init.metadata ?? TypedMetadata.empty();
  if (!isMetadata(metadata)) throw new InvalidArgumentError('metadata', 'a TypedMetadata', metadata);
  if (init.onRelease !== undefined && typeof init.onRelease !== 'function') {
    throw new InvalidArgumentError('onRelease', 'a function', init.onRelease);
  }
  return {
    feedId: toFeedId(init.feedId),
    seq,
    ts: monotonicTs(init.ts),
    wallTs: toWallTs(init.wallTs ?? 0),
    width: init.width,
    height: init.height,
    format: init.format,
    metadata,
    onRelease: init.onRelease,
  };
}

/** @internal Plain description of a frame, without pixels. */
export function describeFrame(f: {
  feedId: FeedId; seq: number; ts: MonotonicTs; wallTs: WallTs; width: number; height: number; format: PixelFormat;
  residency: string; dataAccess: string; refCount: number;
}): Record<string, unknown> {
  return {
    feedId: f.feedId, seq: f.seq, ts: f.ts, wallTs: f.wallTs, width: f.width, height: f.height, format: f.format,
    residency: f.residency, dataAccess: f.dataAccess, refCount: f.refCount,
  };
}
