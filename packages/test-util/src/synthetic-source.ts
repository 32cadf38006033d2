/**
 * A `FrameSource` over synthetic frames, for driving runtime feeds in tests.
 */
import { InvalidArgumentError, MediaError } from '@nv/core';
import type { FrameEnvelope, FrameSource, FrameSourceEvent, FrameSourceStats } from '@nv/frame';

/** Options of {@link SyntheticSource}. */
export interface SyntheticSourceOptions {
  /** Milliseconds between frames (real timer; default 0 = as fast as pulled). */
  readonly intervalMs?: number;
  /** Fail (reject `next()` with `MediaError.connectionFailed`) before delivering this frame index. */
  readonly failAt?: number;
  /**
   * Live mode: like a camera, frames arrive every `intervalMs` whether or not anyone pulls
   * them, into a bounded queue of `queueDepth` (default 4) with the given drop policy (default
   * `dropOldest`); drops are counted in `stats().dropped`. Frames are taken lazily from the
   * iterable, so an endless generator works. `pause()` stops arrivals.
   */
  readonly live?: { readonly intervalMs: number; readonly queueDepth?: number; readonly policy?: 'dropOldest' | 'dropNewest' };
  /** After this many frames, stop delivering without ending (a silent source; `next()` waits until `stop()`). */
  readonly stallAfter?: number;
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
  #stallWake: (() => void) | undefined;
  // live mode
  readonly #iter: Iterator<FrameEnvelope> | undefined;
  readonly #queue: FrameEnvelope[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #paused = false;
  #waiter: ((f: FrameEnvelope | undefined) => void) | undefined;
  #dropped = 0;
  /** Frames handed out so far. */
  delivered = 0;
  /** Frames produced so far (live mode). */
  produced = 0;

  /** @param frames - frames to deliver (ownership passes to the source) */
  constructor(frames: Iterable<FrameEnvelope>, options: SyntheticSourceOptions = {}) {
    this.#opts = options;
    if (options.live) {
      const { intervalMs, queueDepth = 4 } = options.live;
      if (!(intervalMs > 0)) throw new InvalidArgumentError('live.intervalMs', 'a positive number', intervalMs);
      if (!Number.isInteger(queueDepth) || queueDepth < 1) throw new InvalidArgumentError('live.queueDepth', 'a positive integer', queueDepth);
      this.#frames = [];
      this.#iter = frames[Symbol.iterator]();
    } else {
      this.#frames = [...frames];
    }
  }
  /** {@inheritDoc FrameSource.start} */
  start(): void {
    if (!this.#opts.live || this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => this.#produce(), this.#opts.live.intervalMs);
  }
  /** {@inheritDoc FrameSource.pause} */
  pause(): void { this.#paused = true; }
  /** {@inheritDoc FrameSource.resume} */
  resume(): void { this.#paused = false; }
  #produce(): void {
    if (this.#paused || this.#stopped || this.#ended) return;
    const live = this.#opts.live!;
    const r = this.#iter!.next();
    if (r.done) {
      this.#ended = true;
      clearInterval(this.#timer);
      if (this.#waiter) { const w = this.#waiter; this.#waiter = undefined; this.#emit({ type: 'eos' }); w(undefined); }
      return;
    }
    this.produced++;
    const f = r.value;
    if (this.#waiter) { const w = this.#waiter; this.#waiter = undefined; this.delivered++; w(f); return; }
    if (this.#queue.length >= (live.queueDepth ?? 4)) {
      this.#dropped++;
      if ((live.policy ?? 'dropOldest') === 'dropNewest') { f.release(); return; }
      this.#queue.shift()!.release();
    }
    this.#queue.push(f);
  }
  /** {@inheritDoc FrameSource.next} */
  async next(): Promise<FrameEnvelope | undefined> {
    if (this.#stopped) return undefined;
    if (this.#opts.stallAfter !== undefined && this.delivered >= this.#opts.stallAfter) {
      await new Promise<void>((r) => { this.#stallWake = r; });
      return undefined;
    }
    if (this.#iter) {
      const q = this.#queue.shift();
      if (q) { this.delivered++; return q; }
      if (this.#ended) { this.#emit({ type: 'eos' }); return undefined; }
      return new Promise((resolve) => { this.#waiter = resolve; });
    }
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
    clearInterval(this.#timer);
    this.#stallWake?.();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(undefined);
    for (const f of this.#queue.splice(0)) if (!f.isReleased) f.release();
    for (let i = this.#index; i < this.#frames.length; i++) { const f = this.#frames[i]!; if (!f.isReleased) f.release(); }
  }
  /** {@inheritDoc FrameSource.onEvent} */
  onEvent(listener: (e: FrameSourceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  /** {@inheritDoc FrameSource.stats} */
  stats(): FrameSourceStats {
    if (this.#opts.live) return { queued: this.#queue.length, capacity: this.#opts.live.queueDepth ?? 4, dropped: this.#dropped };
    return { queued: Math.max(0, this.#frames.length - this.#index), capacity: this.#frames.length, dropped: 0 };
  }
  #emit(e: FrameSourceEvent): void { for (const l of this.#listeners) l(e); }
}
