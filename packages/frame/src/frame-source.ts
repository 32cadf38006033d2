/**
 * The contract between a feed and whatever produces its frames: `@nv/media`'s GStreamer
 * sources in production, synthetic sources in tests.
 */
import type { MonotonicTs } from '@nv/core';
import type { FrameEnvelope } from './frame-envelope.js';

/** Something that happened to a source, in runtime-neutral terms. */
export type FrameSourceEvent =
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected'; readonly error: Error }
  | { readonly type: 'reconnecting'; readonly attempt: number; readonly delayMs: number }
  | { readonly type: 'insecure'; readonly redactedUrl: string }
  | { readonly type: 'decoder'; readonly decoder: string | undefined; readonly hardware: boolean }
  | { readonly type: 'eos' };

/** Queue counters of a source. */
export interface FrameSourceStats {
  /** Frames waiting in the source's bounded queue. */
  readonly queued: number;
  /** The queue's bound. */
  readonly capacity: number;
  /** Frames dropped by backpressure so far. */
  readonly dropped: number;
}

/**
 * A producer of frames for one feed session.
 *
 * @example
 * ```ts
 * const src: FrameSource = { specificationVersion: 'v1', next: async () => frames.shift(), stop: () => {} };
 * ```
 */
export interface FrameSource {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /**
   * The next frame, or `undefined` at the end of the stream. The caller owns the returned
   * reference and must `release()` it. Rejects with a `MediaError` when the source fails for good.
   */
  next(): Promise<FrameEnvelope | undefined>;
  /**
   * Optional capability of seekable sources (files): called on a new source, before `start()`,
   * when a feed restarts, so that the new session continues just after the last frame the feed
   * took from the previous one and repeats nothing. `ts` is that frame's raw timestamp as a
   * source of the same spec produced it (the media time base, e.g. the file position). The source
   * delivers only frames with a later timestamp, with their own (raw) timestamps. Sources without
   * it start from their beginning again (live sources: from now).
   * @param ts - raw timestamp (ns) of the last frame taken in the previous session
   * @example
   * ```ts
   * resumeAfter(ts) { this.#skipUntil = ts; } // then next() skips frames with frame.ts <= ts
   * ```
   */
  resumeAfter?(ts: MonotonicTs): void | Promise<void>;
  /** Begins producing (optional; `next()` may start lazily). */
  start?(): void | Promise<void>;
  /** Stops and frees resources; pending `next()` calls resolve `undefined`. Idempotent. */
  stop(): void | Promise<void>;
  /** Stops producing until {@link FrameSource.resume} (optional; live sources keep their connection). */
  pause?(): void;
  /** Resumes after {@link FrameSource.pause}. */
  resume?(): void;
  /** Subscribes to source events; returns an unsubscribe function. */
  onEvent?(listener: (e: FrameSourceEvent) => void): () => void;
  /** Queue counters. */
  stats?(): FrameSourceStats;
}
