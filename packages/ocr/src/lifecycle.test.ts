/**
 * The OCR stages under concurrency, on the real PP-OCRv4 models: concurrent `onStart` calls
 * (one stage shared by two feeds), a stop during a pending start, and a frame released while
 * its call waits for a tensor slot.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BBox, StageError, detectionId, feedId } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { WorkerExecutor } from '@nv/inference';
import { createDetection, type StageContext } from '@nv/perception';
import { solidFrame } from '@nv/test-util';
import { TextDetector } from './text-detector.js';
import { TextRecognizer } from './text-recognizer.js';

const settle = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);
const frame = (): FrameEnvelope => solidFrame({ width: 96, height: 64, rgb: [200, 200, 200] });
const stages: { onStop(): Promise<void> }[] = [];
afterEach(async () => { for (const s of stages.splice(0)) await s.onStop(); });

type Ocr = TextDetector | TextRecognizer;
const makers: readonly [string, (o: { executor?: WorkerExecutor }) => Ocr][] = [
  ['TextDetector', (o) => new TextDetector({ intraOpNumThreads: 1, limitSideLen: 64, ...o })],
  ['TextRecognizer', (o) => new TextRecognizer({ intraOpNumThreads: 1, ...o })],
];
function make(which: (o: { executor?: WorkerExecutor }) => Ocr, o: { executor?: WorkerExecutor } = {}): Ocr {
  const s = which(o);
  stages.push(s);
  return s;
}
/** One call of the stage's own inference on `f` (detect, or recognize one whole-frame box). */
const infer = (s: Ocr, f: FrameEnvelope, signal?: AbortSignal): Promise<unknown> =>
  s instanceof TextDetector ? s.detect(f, { signal }) : s.recognize(f, [BBox.of(0.1, 0.2, 0.9, 0.8)], { signal });

describe.each(makers)('%s lifecycle', (_name, which) => {
  it('two concurrent onStart calls load one executor and one model; onStop releases them', async () => {
    const load = vi.spyOn(WorkerExecutor.prototype, 'load');
    try {
      const s = make(which);
      await Promise.all([s.onStart(), s.onStart()]);
      expect(load).toHaveBeenCalledTimes(1); // unguarded: 2 executors, the first leaked (a thread and a model)
      const executor = load.mock.contexts[0] as WorkerExecutor;
      expect(s.executor).toBe(executor);
      expect(executor.stats()).toMatchObject({ workers: 1, models: 1 });
      await s.onStart(); // started: nothing new
      expect(load).toHaveBeenCalledTimes(1);
      await s.onStop();
      expect(executor.stats()).toMatchObject({ workers: 0, models: 0 });
      expect(s.executor).toBeUndefined();
    } finally {
      load.mockRestore();
    }
  });

  it('an onStop during a pending onStart releases what it loads (the start fails); a later onStart loads again', async () => {
    const load = vi.spyOn(WorkerExecutor.prototype, 'load');
    try {
      const s = make(which);
      const starting = settle(s.onStart());
      await s.onStop();
      const err = await starting;
      expect(StageError.isInstance(err)).toBe(true);
      expect(err).toMatchObject({ kind: 'ModelLoadFailed' });
      expect((err as StageError).message).toMatch(/stopped before its start completed/);
      expect(s.executor).toBeUndefined();
      expect((load.mock.contexts[0] as WorkerExecutor).stats()).toMatchObject({ workers: 0, models: 0 });
      await s.onStart();
      expect(load).toHaveBeenCalledTimes(2);
      expect(s.executor?.stats().workers).toBe(1);
    } finally {
      load.mockRestore();
    }
  });

  it('a frame released while its call waits for the only tensor slot fails that call (ProcessingFailed) and returns the slot; the signal aborts the wait', async () => {
    const shared = new WorkerExecutor({ intraOpNumThreads: 1, pool: { slots: 1 } });
    try {
      const s = make(which, { executor: shared });
      await s.onStart();
      const first = infer(s, frame()); // takes the only slot at once, then runs
      const late = frame();
      const second = settle(infer(s, late));
      expect(shared.pool.stats()).toMatchObject({ inUse: 1, waiting: 1 });
      late.release();
      await first;
      const err = await second;
      expect(StageError.isInstance(err)).toBe(true);
      expect(err).toMatchObject({ kind: 'ProcessingFailed' });
      expect((err as StageError).message).toContain('frame was released while waiting for a tensor slot');
      expect(shared.pool.stats()).toMatchObject({ inUse: 0, waiting: 0 });
      expect(shared.stats().runs).toBe(1); // the released frame never reached the model

      const held = await shared.pool.acquire(4);
      const ac = new AbortController();
      const f = frame();
      // Through process: the stage passes ctx.signal (the recognizer reads the one detection).
      const detections = [createDetection({ id: detectionId(1), classId: 0, confidence: 0.9, bbox: BBox.of(0.1, 0.2, 0.9, 0.8) })];
      const ctx = { feedId: feedId(1), frame: f, signal: ac.signal, artifacts: { detections, tracks: [], tracksAuthoritative: false } } as unknown as StageContext;
      const waiting = settle(s.process(ctx));
      expect(shared.pool.stats().waiting).toBe(1);
      ac.abort(new Error('feed stopping'));
      const aborted = await waiting;
      expect(aborted).toMatchObject({ kind: 'ProcessingFailed' });
      expect((aborted as StageError).message).toMatch(/no input tensor slot: feed stopping/);
      expect(shared.pool.stats()).toMatchObject({ inUse: 1, waiting: 0 });
      held.release();
      await infer(s, f); // the slot is back in service
      expect(shared.stats().runs).toBe(2);
      f.release();
    } finally {
      await shared.release();
    }
  });
});
