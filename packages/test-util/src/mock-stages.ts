/**
 * Configurable stages for tests: fixed outputs, typed failures, panics, latency, and
 * simple detector/tracker stand-ins that produce realistic data without a model.
 */
import {
  BBox, StageError, detectionId, trackId, type MonotonicTs,
} from '@nv/core';
import {
  createDetection, createObservation, createTrack, type Detection, type Stage, type StageCapabilities, type StageContext,
  type StageOutput, type Track, type TrackState,
} from '@nv/perception';
import type { ViewEpoch } from '@nv/view';

/** A value, or a function of the stage context computing it. */
export type PerFrame<T> = T | ((ctx: StageContext) => T);

/** Options of {@link MockStage}. */
export interface MockStageOptions {
  /** Stage id (default `'mock'`). */
  readonly id?: string;
  /** What `process` returns (default `{}`). */
  readonly output?: PerFrame<StageOutput>;
  /**
   * When it returns true for a frame, `process` throws `StageError.processingFailed`
   * (the typed, frame-dropping failure).
   */
  readonly failWhen?: (ctx: StageContext) => boolean;
  /** When it returns true for a frame, `process` throws a plain `Error` (a panic: the feed restarts). */
  readonly panicWhen?: (ctx: StageContext) => boolean;
  /** Milliseconds to wait (real timer) before returning; makes `process` async. */
  readonly latencyMs?: number;
  /** Makes `process` return a promise even without latency. */
  readonly async?: boolean;
  /** Throw from `onStart`. */
  readonly failOnStart?: boolean;
  readonly capabilities?: StageCapabilities;
}

/** One recorded `process` call. */
export interface MockCall {
  readonly seq: number;
  readonly ts: MonotonicTs;
  readonly epoch: number;
  /** Detection count this stage saw in `ctx.artifacts`. */
  readonly detectionsSeen: number;
  /** Track count this stage saw in `ctx.artifacts`. */
  readonly tracksSeen: number;
}

/**
 * A stage whose behaviour is set per test, and which records what it saw.
 *
 * @example
 * ```ts
 * const flaky = new MockStage({ id: 'flaky', failWhen: (ctx) => ctx.frame.seq === 3 });
 * const slow = new MockStage({ id: 'slow', latencyMs: 5 });
 * ```
 */
export class MockStage implements Stage {
  readonly id: string;
  readonly capabilities: StageCapabilities | undefined;
  /** Every `process` call, in order. */
  readonly calls: MockCall[] = [];
  /** Lifecycle calls, in order: `'start'`, `'stop'`, `'epoch:N'`. */
  readonly lifecycle: string[] = [];
  readonly #o: MockStageOptions;

  constructor(options: MockStageOptions = {}) {
    this.#o = options;
    this.id = options.id ?? 'mock';
    this.capabilities = options.capabilities;
  }
  /** Records the call, then fails, panics, waits and/or returns the configured output. */
  process(ctx: StageContext): StageOutput | Promise<StageOutput> {
    this.calls.push({
      seq: ctx.frame.seq, ts: ctx.frame.ts, epoch: ctx.view.epoch,
      detectionsSeen: ctx.artifacts.detections.length, tracksSeen: ctx.artifacts.tracks.length,
    });
    const compute = (): StageOutput => {
      if (this.#o.panicWhen?.(ctx)) throw new Error(`mock panic in '${this.id}' at seq ${ctx.frame.seq}`);
      if (this.#o.failWhen?.(ctx)) throw StageError.processingFailed(this.id, `mock failure at seq ${ctx.frame.seq}`);
      const o = this.#o.output;
      return (typeof o === 'function' ? o(ctx) : o) ?? {};
    };
    const latency = this.#o.latencyMs ?? 0;
    if (latency > 0) return new Promise((resolve, reject) => setTimeout(() => { try { resolve(compute()); } catch (e) { reject(e); } }, latency));
    if (this.#o.async) return Promise.resolve().then(compute);
    return compute();
  }
  /** Records `'start'`; throws a StageError when `failOnStart`. */
  onStart(): void {
    this.lifecycle.push('start');
    if (this.#o.failOnStart) throw StageError.modelLoadFailed(this.id, 'mock start failure');
  }
  /** Records `'stop'`. */
  onStop(): void { this.lifecycle.push('stop'); }
  /** Records `'epoch:N'`. */
  onViewEpochChange(epoch: ViewEpoch): void { this.lifecycle.push(`epoch:${epoch}`); }
}

/** A stage that does nothing and returns nothing. */
export class NoOpStage implements Stage {
  /** @param id - stage id (default `'noop'`) */
  constructor(readonly id = 'noop') {}
  /** Returns no output. */
  process(): void {}
}

/** A moving object for {@link MockDetectorStage}: where it is as a function of time. */
export interface MockObject {
  readonly classId: number;
  /** Box at time `tsSecs` (seconds since feed start); `undefined` = not visible. */
  readonly at: (tsSecs: number) => BBox | undefined;
  readonly confidence?: number;
}

/**
 * A detector stand-in that reports scripted objects (or `count` static boxes), with ids
 * unique within the stage.
 */
export class MockDetectorStage implements Stage {
  readonly capabilities: StageCapabilities = { producesDetections: true };
  #nextId = 1;
  readonly #objects: readonly MockObject[];

  /**
   * @param id - stage id
   * @param objects - scripted objects, or a count of static boxes spread across the frame
   */
  constructor(readonly id = 'detector', objects: readonly MockObject[] | number = 1) {
    this.#objects = typeof objects === 'number'
      ? Array.from({ length: objects }, (_, i) => {
        const w = 1 / Math.max(1, objects);
        const b = BBox.of(i * w, 0, Math.min(1, i * w + w * 0.8), 0.5);
        return { classId: 0, at: () => b };
      })
      : objects;
  }
  /** Detections of every object visible at the frame's timestamp. */
  process(ctx: StageContext): StageOutput {
    const t = ctx.frame.ts / 1e9;
    const detections: Detection[] = [];
    for (const o of this.#objects) {
      const bbox = o.at(t);
      if (bbox) detections.push(createDetection({ id: detectionId(this.#nextId++), classId: o.classId, confidence: o.confidence ?? 0.9, bbox }));
    }
    return { detections };
  }
}

/** Options of {@link MockTrackerStage}. */
export interface MockTrackerOptions {
  /** Minimum IoU to associate a detection with a track (default 0.3). */
  readonly iouThreshold?: number;
  /** Hits before a tentative track is confirmed (default 2). */
  readonly confirmHits?: number;
  /** Consecutive misses before a coasted track is reported lost (default 3). */
  readonly lostAfterMisses?: number;
}

interface TrackerEntry { id: number; classId: number; bbox: BBox; hits: number; misses: number; state: TrackState }

/**
 * A small greedy-IoU tracker: detections associate to tracks of the same class by IoU;
 * tracks go tentative → confirmed after `confirmHits`, coast when missed, are reported lost
 * after `lostAfterMisses`, and then dropped. Returns the full track set each frame.
 */
export class MockTrackerStage implements Stage {
  readonly capabilities: StageCapabilities = { consumesDetections: true, producesTracks: true };
  #tracks: TrackerEntry[] = [];
  #nextId = 1;
  readonly #opts: Required<MockTrackerOptions>;

  constructor(readonly id = 'tracker', options: MockTrackerOptions = {}) {
    this.#opts = { iouThreshold: options.iouThreshold ?? 0.3, confirmHits: options.confirmHits ?? 2, lostAfterMisses: options.lostAfterMisses ?? 3 };
  }
  /** Associates this frame's detections and returns every live track. */
  process(ctx: StageContext): StageOutput {
    const dets = [...ctx.artifacts.detections];
    const used = new Set<number>();
    const out: Track[] = [];
    const matched = new Map<TrackerEntry, Detection>();
    const pairs: { t: TrackerEntry; d: number; iou: number }[] = [];
    for (const t of this.#tracks) dets.forEach((d, i) => { if (d.classId === t.classId) { const iou = t.bbox.iou(d.bbox); if (iou >= this.#opts.iouThreshold) pairs.push({ t, d: i, iou }); } });
    pairs.sort((a, b) => b.iou - a.iou);
    for (const p of pairs) if (!matched.has(p.t) && !used.has(p.d)) { matched.set(p.t, dets[p.d]!); used.add(p.d); }
    const survivors: TrackerEntry[] = [];
    for (const t of this.#tracks) {
      const d = matched.get(t);
      if (d) { t.bbox = d.bbox; t.hits++; t.misses = 0; t.state = t.hits >= this.#opts.confirmHits ? 'confirmed' : 'tentative'; }
      else { t.misses++; t.state = t.misses >= this.#opts.lostAfterMisses ? 'lost' : 'coasted'; }
      out.push(this.#toTrack(t, ctx.frame.ts, d));
      if (t.state !== 'lost') survivors.push(t);
    }
    dets.forEach((d, i) => {
      if (used.has(i)) return;
      const t: TrackerEntry = { id: this.#nextId++, classId: d.classId, bbox: d.bbox, hits: 1, misses: 0, state: this.#opts.confirmHits <= 1 ? 'confirmed' : 'tentative' };
      survivors.push(t);
      out.push(this.#toTrack(t, ctx.frame.ts, d));
    });
    this.#tracks = survivors;
    return { tracks: out };
  }
  /** Forgets every track (the camera view changed). */
  onViewEpochChange(): void { this.#tracks = []; }
  #toTrack(t: TrackerEntry, ts: MonotonicTs, d: Detection | undefined): Track {
    const current = createObservation({ ts, bbox: t.bbox, confidence: d?.confidence ?? 0, state: t.state, ...(d ? { detectionId: d.id } : {}) });
    return createTrack({ id: trackId(t.id), classId: t.classId, state: t.state, current });
  }
}

/** A terminal stage that counts frames and what reached it. */
export class CountingSinkStage implements Stage {
  readonly category = 'sink' as const;
  framesSeen = 0;
  lastDetections = 0;
  lastTracks = 0;
  lastSignals = 0;
  constructor(readonly id = 'sink') {}
  /** Counts. */
  process(ctx: StageContext): void {
    this.framesSeen++;
    this.lastDetections = ctx.artifacts.detections.length;
    this.lastTracks = ctx.artifacts.tracks.length;
    this.lastSignals = ctx.artifacts.signals.length;
  }
}
