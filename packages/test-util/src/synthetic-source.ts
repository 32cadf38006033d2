/**
 * A `FrameSource` over synthetic frames, for driving runtime feeds in tests.
 */
import { MediaError } from '@nv/core';
import type { FrameEnvelope, FrameSource, FrameSourceEvent, FrameSourceStats } from '@nv/frame';

/** Options of {@link SyntheticSource}. */
export interface SyntheticSourceOptions {
  /** Milliseconds between frames (real timer; default 0 = as fast as pulled). */
  readonly intervalMs?: number;
  /** Fail (reject `next()` with `MediaError.connectionFailed`) before delivering this frame index. */
  readonly failAt?: number;
}

/**
 * Delivers the given frames in order, then ends. Frames not delivered by `stop()` are released.
 *
 * @example
 * ```ts
 * const source = () => new SyntheticSource(frameSequence(100));
 * runtime.addFeed({ source, cameraMode: 'fixed', stages: [...] });
 * ```
 */
export class SyntheticSource implements FrameSource {
  /** {@inheritDoc FrameSource.specificationVersion} */
  readonly specificationVersion = 'v1' as const;
  readonly #frames: FrameEnvelope[];
  readonly #opts: SyntheticSourceOptions;
  readonly #listeners = new Set<(e: FrameSourceEvent) => void>();
  #index = 0;
  #stopped = false;
  /** Frames handed out so far. */
  delivered = 0;

  /** @param frames - frames to deliver (ownership passes to the source) */
  constructor(frames: Iterable<FrameEnvelope>, options: SyntheticSourceOptions = {}) {
    this.#frames = [...frames];
    this.#opts = options;
  }
  /** {@inheritDoc FrameSource.next} */
  async next(): Promise<FrameEnvelope | undefined> {
    if (this.#stopped) return undefined;
    if (this.#opts.intervalMs) await new Promise((r) => setTimeout(r, this.#opts.intervalMs));
    if (this.#stopped) return undefined;
    if (this.#opts.failAt !== undefined && this.#index === this.#opts.failAt) {
      this.#index++;
      throw MediaError.connectionFailed('synthetic://source', 'injected failure');
    }
    const f = this.#frames[this.#index++];
    if (!f) { this.#emit({ type: 'eos' }); return undefined; }
    this.delivered++;
    return f;
  }
  /** {@inheritDoc FrameSource.stop} Releases undelivered frames. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (let i = this.#index; i < this.#frames.length; i++) { const f = this.#frames[i]!; if (!f.isReleased) f.release(); }
  }
  /** {@inheritDoc FrameSource.onEvent} */
  onEvent(listener: (e: FrameSourceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  /** {@inheritDoc FrameSource.stats} */
  stats(): FrameSourceStats { return { queued: Math.max(0, this.#frames.length - this.#index), capacity: this.#frames.length, dropped: 0 }; }
  #emit(e: FrameSourceEvent): void { for (const l of this.#listeners) l(e); }
}
