import { BBox, StageError, detectionId, feedId, metadataKey, TypedMetadata } from '@nv/core';
import { createOwnedFrame } from '@nv/frame';
import { ViewSnapshot, fixedInitialViewState, INITIAL_VIEW_EPOCH } from '@nv/view';
import { describe, expect, it } from 'vitest';
import {
  createDetection, enforceStageValidation, runStages, runStagesEager, signal, skip, StageCounters, validateStages,
  type RunStagesResult, type Stage, type StageContext, type StageOutput, type TemporalAccess,
} from './index.js';

const emptyTemporal: TemporalAccess = {
  viewEpoch: INITIAL_VIEW_EPOCH, trackCount: 0, trackIds: () => [], getTrack: () => undefined, recentObservations: () => [],
  firstSeen: () => undefined, lastSeen: () => undefined, trajectoryPointCount: () => 0, trajectorySegmentCount: () => 0,
};
const frame = () => createOwnedFrame({ feedId: 1, seq: 7, ts: 1000, width: 4, height: 4, format: 'GRAY8', data: new Uint8Array(16) });
const input = (clock?: () => number) => ({
  feedId: feedId(1), frame: frame(), view: ViewSnapshot.of(fixedInitialViewState()), temporal: emptyTemporal, ...(clock ? { clock } : {}),
});
const det = (n: number) => createDetection({ id: detectionId(n), classId: 0, confidence: 1, bbox: BBox.of(0, 0, 0.5, 0.5) });

function stage(id: string, fn: (ctx: StageContext) => StageOutput | void | Promise<StageOutput | void>): Stage {
  return { id, process: fn };
}

describe('runStages', () => {
  it('runs in order; stage N+1 sees the merge of 0..N', async () => {
    const seen: number[] = [];
    const r = await runStages([
      stage('a', () => ({ detections: [det(1), det(2)], signals: [signal.scalar('s', 1, 0 as never)] })),
      stage('b', async (ctx) => { seen.push(ctx.artifacts.detections.length); return { detections: [det(3)] }; }),
      stage('c', (ctx) => { seen.push(ctx.artifacts.detections.length, ctx.artifacts.signals.length); }),
    ], input());
    expect(seen).toEqual([2, 1, 1]);
    expect(r.outcome).toEqual({ kind: 'ok' });
    expect(r.records.map((x) => [x.stageId, x.outcome.kind])).toEqual([['a', 'ok'], ['b', 'ok'], ['c', 'ok']]);
    expect(r.artifacts.detections.map((d) => d.id)).toEqual([3]);
  });

  it.each([
    ['thrown', () => { throw StageError.processingFailed('b', 'bad'); }],
    ['rejected', () => Promise.reject(StageError.resourceExhausted('b'))],
  ])('a %s StageError drops the frame and skips the remaining stages', async (_n, fail) => {
    const after: string[] = [];
    const r = await runStages([stage('a', () => ({})), stage('b', fail as never), stage('c', () => { after.push('c'); })], input());
    expect(r.outcome.kind).toBe('error');
    expect(r.outcome.kind === 'error' && r.outcome.stageId).toBe('b');
    expect(after).toEqual([]);
    expect(r.records.map((x) => x.outcome.kind)).toEqual(['ok', 'error', 'skipped']);
  });

  it.each([
    ['Error', () => { throw new Error('boom'); }],
    ['TypeError from a bug', (ctx: StageContext) => { (ctx as unknown as { nope: { x: number } }).nope.x; }],
    ['rejected non-error', () => Promise.reject('string')],
  ])('any other exception (%s) is a panic', async (_n, fail) => {
    const r = await runStages([stage('p', fail as never), stage('q', () => ({}))], input());
    expect(r.outcome.kind).toBe('panic');
    expect(r.records.map((x) => x.outcome.kind)).toEqual(['panic', 'skipped']);
  });

  it('skip(reason): the stage is recorded as skipped with its reason and counted; later stages still run and the frame is ok', async () => {
    const counters = new Map<string, StageCounters>();
    const after: number[] = [];
    const r = await runStages([
      stage('a', () => ({ detections: [det(1)] })),
      { id: 'ocr', process: () => skip('nothing new to read') },
      stage('c', (ctx) => { after.push(ctx.artifacts.detections.length); }),
    ], { ...input(), counters });
    expect(r.outcome).toEqual({ kind: 'ok' });
    expect(r.records[1]!.outcome).toEqual({ kind: 'skipped', reason: 'nothing new to read' });
    expect(after).toEqual([1]);
    expect(counters.get('ocr')).toMatchObject({ framesProcessed: 1, skipped: 1, errors: 0 });
  });

  it.each([
    [() => StageError.processingFailed('s', 'x'), 'processingFailed'],
    [() => StageError.resourceExhausted('s'), 'resourceExhausted'],
    [() => StageError.modelLoadFailed('s', 'no file'), 'dependencyUnavailable'],
    [() => StageError.tagged('s', 'no-plate', 'nothing legible'), 'other:no-plate'],
  ])('failures carry a category in provenance (%#)', async (mk, category) => {
    const e = mk();
    const r = await runStages([stage('s', () => { throw e; })], input());
    expect(r.records[0]!.outcome).toMatchObject({ kind: 'error', category });
    if (category.startsWith('other:')) expect(e.message).toContain('[no-plate]');
  });

  it('a tag must be a short identifier', () => {
    expect(() => StageError.tagged('s', 'has space')).toThrow(/Expected a 1–64 character tag/);
  });

  it('a malformed output is a typed StageError of that stage, not a crash', async () => {
    const r = await runStages([stage('bad', () => ({ detections: 'nope' } as never))], input());
    expect(r.outcome.kind).toBe('error');
    if (r.outcome.kind === 'error') {
      expect(StageError.isInstance(r.outcome.error)).toBe(true);
      expect(r.outcome.error.message).toContain('invalid stage output');
    }
  });

  it('records timing from the given clock and counts per stage', async () => {
    let t = 0;
    const counters = new Map<string, StageCounters>();
    const clock = () => (t += 10);
    const inp = { ...input(clock), counters };
    await runStages([stage('a', () => ({})), stage('b', () => { throw StageError.processingFailed('b', 'x'); })], inp);
    const r = await runStages([stage('a', () => ({}))], inp);
    expect(r.records[0]).toMatchObject({ stageId: 'a', latencyNs: 10 });
    expect(counters.get('a')).toMatchObject({ framesProcessed: 2, errors: 0 });
    expect(counters.get('b')).toMatchObject({ framesProcessed: 1, errors: 1 });
  });

  it('passes artifacts through typed keys', async () => {
    const K = metadataKey<number>('n');
    const r = await runStages([
      stage('w', () => { const m = new TypedMetadata(); m.set(K, 41); return { artifacts: m }; }),
      stage('r', (ctx) => { const m = new TypedMetadata(); m.set(K, (ctx.artifacts.stageArtifacts.get(K) ?? 0) + 1); return { artifacts: m }; }),
    ], input());
    expect(r.artifacts.stageArtifacts.get(K)).toBe(42);
  });
});

describe('runStagesEager', () => {
  const outcomeOf = (r: RunStagesResult) => ({ outcome: r.outcome.kind, records: r.records.map((x) => [x.stageId, x.outcome.kind]), dets: r.artifacts.detections.length });

  it('synchronous stages: the result comes back directly, no promise', () => {
    const r = runStagesEager([stage('a', () => ({ detections: [det(1)] })), stage('b', (ctx) => ({ detections: [...ctx.artifacts.detections, det(2)] }))], input());
    expect(r).not.toBeInstanceOf(Promise);
    expect(outcomeOf(r as RunStagesResult)).toEqual({ outcome: 'ok', records: [['a', 'ok'], ['b', 'ok']], dets: 2 });
  });

  it('from the first asynchronous stage on it returns a promise and keeps the order', async () => {
    const order: string[] = [];
    const r = runStagesEager([
      stage('a', () => { order.push('a'); }),
      stage('b', async () => { await new Promise((res) => setTimeout(res, 5)); order.push('b'); return { detections: [det(1)] }; }),
      stage('c', (ctx) => { order.push(`c${ctx.artifacts.detections.length}`); }),
    ], input());
    expect(r).toBeInstanceOf(Promise);
    expect(order).toEqual(['a']);
    expect(outcomeOf(await r)).toEqual({ outcome: 'ok', records: [['a', 'ok'], ['b', 'ok'], ['c', 'ok']], dets: 1 });
    expect(order).toEqual(['a', 'b', 'c1']);
  });

  it.each<[string, Stage]>([
    ['throws a StageError', stage('x', () => { throw StageError.processingFailed('x', 'bad'); })],
    ['rejects with a StageError', stage('x', async () => { throw StageError.processingFailed('x', 'bad'); })],
    ['throws something else', stage('x', () => { throw new Error('boom'); })],
    ['rejects with something else', stage('x', () => Promise.reject(new Error('boom')))],
    ['returns a malformed output', stage('x', () => ({ detections: 5 }) as unknown as StageOutput)],
    ['skips', { id: 'x', process: () => skip('idle') }],
  ])('same result as runStages when a stage %s', async (_n, x) => {
    const list = [stage('a', () => ({ detections: [det(1)] })), x, stage('z', () => undefined)];
    const eager = await runStagesEager(list, input());
    const plain = await runStages(list, input());
    expect(outcomeOf(eager)).toEqual(outcomeOf(plain));
  });
});

describe('stage validation', () => {
  const producer: Stage = { id: 'det', process: () => ({}), capabilities: { producesDetections: true } };
  const consumer: Stage = { id: 'trk', process: () => ({}), capabilities: { consumesDetections: true, producesTracks: true } };
  const trackUser: Stage = { id: 'zone', process: () => ({}), capabilities: { consumesTracks: true } };
  it.each<[string, Stage[], string[]]>([
    ['ordered pipeline', [producer, consumer, trackUser], []],
    ['consumer first', [consumer, producer], ['trk:detections']],
    ['tracks never produced', [producer, trackUser], ['zone:tracks']],
    ['duplicate ids', [producer, { ...producer }], ['dup:det']],
  ])('%s', (_n, stages, expected) => {
    const w = validateStages(stages).map((x) => (x.kind === 'duplicateStageId' ? `dup:${x.stageId}` : `${x.stageId}:${x.missing}`));
    expect(w).toEqual(expected);
  });
  it('the batch processor takes part (phased pipelines)', () => {
    const batch = { id: 'det', process: () => {}, capabilities: { producesDetections: true } };
    expect(validateStages({ pre: [], batch, post: [consumer] })).toEqual([]);
    expect(validateStages({ pre: [producer], batch, post: [] })).toEqual([{ kind: 'duplicateStageId', stageId: 'det' }]);
  });
  it('modes: error throws ConfigError, warn reports, duplicates always throw', () => {
    expect(() => enforceStageValidation([consumer], 'error')).toThrow(/StageValidation|consumes detections/);
    const reported: unknown[] = [];
    enforceStageValidation([consumer], 'warn', (w) => reported.push(w));
    expect(reported).toHaveLength(1);
    expect(() => enforceStageValidation([producer, producer], 'off')).toThrow(/duplicate stage id 'det'/);
  });
  it('rejects non-stages with a typed error', () => {
    expect(() => validateStages([{ id: 'x' } as never])).toThrow(/process/);
    expect(() => validateStages([{ id: '', process: () => {} }])).toThrow(/stages\[0\]\.id/);
  });
});
