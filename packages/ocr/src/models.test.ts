import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, StageError } from '@nv/core';
import { WorkerExecutor } from '@nv/inference';
import { Runtime } from '@nv/runtime';
import { SyntheticSource, frameSequence } from '@nv/test-util';
import { defaultOcrModelPaths } from './models.js';
import { TextDetector } from './text-detector.js';
import { TextRecognizer } from './text-recognizer.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-ocr-models-'));
const models = defaultOcrModelPaths();
const garbage = join(dir, 'garbage.onnx');
writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)));
const shortDict = join(dir, 'short-keys.txt');
writeFileSync(shortDict, 'a\nb\nc\n');
const missing = join(dir, 'does-not-exist.onnx');

async function loadError(start: () => Promise<void>): Promise<StageError> {
  const e = await start().then(() => undefined, (err: unknown) => err);
  expect(StageError.isInstance(e)).toBe(true);
  const se = e as StageError;
  expect(se.kind).toBe('ModelLoadFailed');
  return se;
}

describe('model validation at onStart', () => {
  const started: { onStop(): Promise<void> }[] = [];
  afterAll(async () => { for (const s of started) await s.onStop(); });

  it('loads the default PP-OCRv4 models', async () => {
    const det = new TextDetector({ intraOpNumThreads: 1 });
    const rec = new TextRecognizer({ intraOpNumThreads: 1 });
    started.push(det, rec);
    await det.onStart();
    await rec.onStart();
    expect(rec.charset?.labels).toHaveLength(6625);
    expect(rec.charset?.hasSpace).toBe(true);
    // Each stage runs its model on its own worker thread by default.
    expect(det.executor?.kind).toBe('worker');
    expect(rec.executor?.kind).toBe('worker');
    expect(det.executor).not.toBe(rec.executor);
  });

  it('runs inline on request; a stage releases only an executor it created', async () => {
    const inline = new TextDetector({ intraOpNumThreads: 1, executor: 'inline' });
    await inline.onStart();
    expect(inline.executor?.kind).toBe('inline');
    await inline.onStop();
    const shared = new WorkerExecutor({ intraOpNumThreads: 1 });
    try {
      const rec = new TextRecognizer({ executor: shared });
      await rec.onStart();
      expect(rec.executor).toBe(shared);
      await rec.onStop();
      expect(shared.stats()).toMatchObject({ workers: 1, models: 0 });
    } finally {
      await shared.release();
    }
    expect(() => new TextDetector({ executor: 'remote' as never })).toThrow(/executor/);
  });

  it('a missing detection model is ModelLoadFailed naming the file', async () => {
    const e = await loadError(() => new TextDetector({ id: 'det', modelPath: missing }).onStart());
    expect(e.stageId).toBe('det');
    expect(e.message).toContain(missing);
    expect(e.message).toMatch(/missing or unreadable/);
  });

  it('a garbage file is ModelLoadFailed naming the file, for both stages', async () => {
    expect((await loadError(() => new TextDetector({ modelPath: garbage }).onStart())).message).toContain(garbage);
    expect((await loadError(() => new TextRecognizer({ modelPath: garbage }).onStart())).message).toContain(garbage);
  });

  it('a recognition model where a detection model belongs is refused by its shapes (and vice versa)', async () => {
    const a = await loadError(() => new TextDetector({ modelPath: models.recognition }).onStart());
    expect(a.message).toContain(models.recognition);
    expect(a.message).toMatch(/output shape \[\?, \?, 6625\] is not a probability map/);
    const b = await loadError(() => new TextRecognizer({ modelPath: models.detection }).onStart());
    expect(b.message).toContain(models.detection);
    expect(b.message).toMatch(/output shape .* is not \[N, T, classes\]/);
  });

  it('a dictionary that does not fit the model is ModelLoadFailed naming both files', async () => {
    const e = await loadError(() => new TextRecognizer({ dictionaryPath: shortDict }).onStart());
    expect(e.message).toContain(shortDict);
    expect(e.message).toContain(models.recognition);
    expect(e.message).toMatch(/6625 classes .* 3 entries/);
    const m = await loadError(() => new TextRecognizer({ dictionaryPath: join(dir, 'nope.txt') }).onStart());
    expect(m.message).toContain(join(dir, 'nope.txt'));
  });

  it('processing before onStart is a ProcessingFailed StageError (the frame is dropped, nothing crashes)', async () => {
    const [frame] = frameSequence(1);
    const e = await new TextDetector().detect(frame!).catch((err: unknown) => err);
    expect(StageError.isInstance(e) && e.kind === 'ProcessingFailed').toBe(true);
    const r = await new TextRecognizer().recognize(frame!, []).catch((err: unknown) => err);
    expect(StageError.isInstance(r) && r.kind === 'ProcessingFailed').toBe(true);
    frame!.release();
  });

  it('bad options are InvalidArgumentError naming the option', () => {
    expect(() => new TextDetector({ limitSideLen: 10 })).toThrow(/limitSideLen/);
    expect(() => new TextDetector({ intraOpNumThreads: 0 })).toThrow(InvalidArgumentError);
    expect(() => new TextDetector({ db: { unclipRatio: -1 } })).toThrow(/db\.unclipRatio/);
    expect(() => new TextRecognizer({ minConfidence: 2 })).toThrow(/minConfidence/);
    expect(() => new TextRecognizer({ readStates: ['moving' as never] })).toThrow(/readStates/);
    expect(() => new TextRecognizer({ minWidth: 400, maxWidth: 300 })).toThrow(/maxWidth/);
  });

  it('a feed whose detector model is missing never starts: it stops with the file named', async () => {
    const rt = new Runtime();
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(3)),
      cameraMode: 'fixed',
      stages: [new TextDetector({ modelPath: missing }), new TextRecognizer()],
    });
    await feed.done;
    const d = feed.diagnostics();
    expect(d.state).toBe('stopped');
    expect(d.metrics.framesProcessed).toBe(0);
    expect(d.lastError).toContain(missing);
    await rt.shutdown();
  });
});
