/**
 * Worker-isolated feeds (`FeedConfig.isolation`): the source and stages run in a worker built
 * from a module; outputs, health events and diagnostics come back to the main thread; a
 * synchronous hang is detected, the worker replaced and the feed restarted per its policy while
 * main-thread feeds keep going.
 *
 * The worker runs the built JavaScript (`dist/`, from `tsc -b`), the fixture module below too: it
 * is written next to this package (so that `@nv/core` and `@nv/perception` resolve through the
 * workspace) and removed afterwards.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BBox, ConfigError, StageError, TypedMetadata, metadataKey, type HealthEvent, type MetadataKey,
} from '@nv/core';
import { ViewSnapshot } from '@nv/view';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleSpecifier } from './isolation.js';
import { Runtime, feedConfigFromSettings, type FeedConfig, type OutputEnvelope } from './index.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', `isolation-fixture-${process.pid}.mjs`);
const MODULE = pathToFileURL(FIXTURE);

const FIXTURE_SOURCE = `
import { BBox, StageError, TypedMetadata, detectionId, metadataKey } from '@nv/core';
import { createDetection } from '@nv/perception';
import { FeedPipeline } from '@nv/runtime';

const LABEL = metadataKey('test.label');
const COUNT = metadataKey('test.count');

/** A detector-like stage: one detection per frame with metadata, a typed artifact, a typed error on options.failAt. */
export default function build(options, ctx) {
  return {
    stages: [{
      id: 'det',
      process(c) {
        if (c.frame.seq === options.failAt) throw StageError.processingFailed('det', 'typed failure on purpose');
        const m = new TypedMetadata();
        m.set(LABEL, { text: 'f' + c.frame.seq, feed: ctx.feedId, worker: ctx.workerRestarts });
        const d = createDetection({ id: detectionId(c.frame.seq + 1), classId: 1, confidence: 0.9, bbox: BBox.of(0.1, 0.2, 0.3, 0.4), metadata: m, embedding: [1, 2] });
        const a = new TypedMetadata();
        a.set(COUNT, c.frame.seq);
        return { detections: [d], artifacts: a };
      },
    }],
  };
}

/** Enters a synchronous infinite loop on the frame whose raw ts is options.hangAt × 40 ms, or on every frame ('every'); flags it first. */
export function hang(options) {
  const flag = new Int32Array(options.flag);
  return {
    stages: [{
      id: 'hang',
      process(c) {
        if (options.hangAt === 'every' || Math.round(c.frame.ts / 40e6) === options.hangAt) { Atomics.store(flag, 0, 1); for (;;) { /* hung */ } }
      },
    }],
  };
}

/** A parallel section (head and a serial tail): refused in an isolated feed. */
export function parallelPipeline() {
  const stage = (id) => ({ id, process() {} });
  return { pipeline: FeedPipeline.builder().parallel(2, (h) => h.addStage(stage('head'))).addStage(stage('tail')).build() };
}

const ODD = metadataKey('test.odd');

/**
 * Typed artifacts that cannot all cross, by frame seq % 5: 0 a number; 1 a detached ArrayBuffer
 * (postMessage throws DataCloneError); 2 an object with a throwing getter (encoding throws); 3 an
 * object that looks like an encoded BBox but is not one (main cannot rebuild it); 4 a function and a
 * symbol beside a number (dropped from the value; the output crosses).
 */
export function uncloneable() {
  return {
    stages: [{
      id: 'odd',
      async process(c) {
        await new Promise((r) => setTimeout(r, 3));
        const a = new TypedMetadata();
        const seq = c.frame.seq;
        switch (seq % 5) {
          case 1: { const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] }); a.set(ODD, b); break; }
          case 2: a.set(ODD, { get boom() { throw new Error('getter fails on purpose'); } }); break;
          case 3: a.set(ODD, { __nv$: 'bbox', b: null }); break;
          case 4: a.set(ODD, { n: seq, fn: () => seq, sym: Symbol('s') }); break;
          default: a.set(ODD, seq);
        }
        return { artifacts: a };
      },
    }],
  };
}

export const notAFunction = 42;
export function throwsPlain() { throw new Error('plain failure'); }
export function throwsTyped() { throw StageError.modelLoadFailed('det', 'model.onnx is missing'); }
`;

beforeAll(() => { writeFileSync(FIXTURE, FIXTURE_SOURCE); });
afterAll(() => { rmSync(FIXTURE, { force: true }); });

function collect(rt: Runtime) {
  const health: HealthEvent[] = [];
  rt.onHealth((e) => health.push(e));
  const of = <T extends HealthEvent['type']>(t: T, feedId?: number) =>
    health.filter((e): e is Extract<HealthEvent, { type: T }> => e.type === t && (feedId === undefined || ('feedId' in e && e.feedId === feedId)));
  return { health, of };
}

const pattern = (frames: number | undefined, extra: Record<string, unknown> = {}) =>
  ({ kind: 'testPattern', pattern: 'ball', width: 64, height: 48, fps: 25, ...(frames ? { frames } : {}), ...extra }) as const;

describe('a worker-isolated feed', () => {
  it('runs its module-built stage in the worker: outputs in order on the main-thread sink, rebuilt artifacts, health, diagnostics, frames when asked, draining stop', async () => {
    const rt = new Runtime();
    const { of } = collect(rt);
    const LABEL: MetadataKey<{ text: string; feed: number; worker: number }> = metadataKey('test.label');
    const outs: OutputEnvelope[] = [];
    const feed = rt.addFeed({
      name: 'iso', source: pattern(10), cameraMode: 'fixed', frameInclusion: { everyNth: 4 },
      isolation: { module: MODULE, options: { failAt: 3 }, metadataKeys: [LABEL] },
      sink: { emit: (o) => { outs.push(o); } },
    });
    // A second isolated feed with an endless source and a slow async sink: stopped while it runs.
    const slowOuts: OutputEnvelope[] = [];
    const slow = rt.addFeed({
      source: pattern(undefined), cameraMode: 'fixed', sinkQueueCapacity: 4, isolation: { module: MODULE, options: {} },
      sink: { emit: async (o) => { slowOuts.push(o); await new Promise((r) => setTimeout(r, 5)); } },
    });
    await feed.done;

    expect(outs.map((o) => o.seq)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.ts).toBeGreaterThan(outs[i - 1]!.ts);
    const o = outs[0]!;
    expect(o.feedId).toBe(feed.id);
    expect(o.feedName).toBe('iso');
    const d = o.artifacts.detections[0]!;
    expect(d.bbox).toBeInstanceOf(BBox);
    expect([d.bbox.xMin, d.bbox.yMin, d.bbox.xMax, d.bbox.yMax]).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(d.embedding).toEqual(Float32Array.of(1, 2));
    expect(d.metadata).toBeInstanceOf(TypedMetadata);
    expect(d.metadata.get(LABEL)).toEqual({ text: 'f0', feed: feed.id, worker: 0 }); // mapped onto the main thread's key by name
    expect(o.artifacts.stageArtifacts.toJSON()).toEqual({ 'test.count': 0 }); // an unlisted key: a fresh key of that name
    expect([...o.artifacts.stageArtifacts.keys()].map((k) => k.name)).toEqual(['test.count']);
    expect(o.view).toBeInstanceOf(ViewSnapshot);
    expect(o.provenance.stages.map((s) => [s.stageId, s.outcome.kind])).toEqual([['det', 'ok']]);
    expect(o.provenance.source).toMatchObject({ mediaSeq: 0, session: 1 });
    // Frame inclusion (every 4th output): an owned copy of the frame, released after the sink returned.
    expect(outs.map((x) => x.frame !== undefined)).toEqual(outs.map((x) => x.provenance.frameIncluded));
    const withFrame = outs.filter((x) => x.frame !== undefined);
    expect(withFrame).toHaveLength(2);
    const f = withFrame[0]!.frame!;
    expect([f.seq, f.ts, f.width, f.height]).toEqual([withFrame[0]!.seq, withFrame[0]!.ts, 64, 48]);
    expect(f.isReleased).toBe(true);

    const errs = of('StageError', feed.id);
    expect(errs).toHaveLength(1);
    expect(StageError.isInstance(errs[0]!.error)).toBe(true);
    expect(errs[0]!.error).toMatchObject({ kind: 'ProcessingFailed', stageId: 'det', category: 'stage' });
    expect(errs[0]!.error.message).toContain('typed failure on purpose');
    expect(of('SourceEos', feed.id)).toHaveLength(1);
    expect(of('FeedStopped', feed.id)).toEqual([expect.objectContaining({ reason: { kind: 'EndOfStream' } })]);
    const diag = feed.diagnostics();
    expect(diag).toMatchObject({ state: 'stopped', alive: false, name: 'iso', stopReason: { kind: 'EndOfStream' } });
    expect(diag.metrics).toMatchObject({ framesReceived: 10, framesProcessed: 9, framesFailed: 1, outputsEmitted: 9, outputsDropped: 0, restarts: 0 });
    expect(diag.metrics.stages['det']).toMatchObject({ framesProcessed: 10, errors: 1 });
    expect(diag.metrics.pipelineLatency.count).toBe(9);
    expect(rt.diagnostics().feeds.map((x) => x.id)).toEqual([feed.id, slow.id]);

    // The endless feed: running, with a live snapshot; stop() drains what reached the main thread.
    await expect.poll(() => slowOuts.length, { timeout: 10_000 }).toBeGreaterThan(5);
    await expect.poll(() => slow.state(), { timeout: 5000 }).toBe('running');
    await expect.poll(() => slow.metrics().framesReceived, { timeout: 5000 }).toBeGreaterThan(0); // from the worker's latest snapshot (≤ 250 ms old)
    await slow.stop({ timeoutMs: 5000 });
    const m = slow.metrics();
    expect(slow.state()).toBe('stopped');
    expect(m.outputsEmitted).toBe(slowOuts.length); // every output that crossed was delivered
    expect(m.framesProcessed).toBe(m.outputsEmitted + m.outputsDropped); // the rest were dropped (and counted) in the worker's bounded queue
    for (let i = 1; i < slowOuts.length; i++) expect(slowOuts[i]!.seq).toBeGreaterThan(slowOuts[i - 1]!.seq);
    expect(of('FeedStopped', slow.id)).toEqual([expect.objectContaining({ reason: { kind: 'UserRequested' } })]);
    await rt.shutdown();
  }, 20_000);

  it('THE must-show: a synchronous infinite loop in an isolated stage is detected, the worker replaced and the feed restarted after that frame, while a main-thread feed keeps its outputs', async () => {
    const rt = new Runtime();
    const { health, of } = collect(rt);
    const flag = new SharedArrayBuffer(4);
    const hung = () => Atomics.load(new Int32Array(flag), 0) === 1;
    let restarted = false;
    rt.onHealth((e) => { if (e.type === 'FeedRestarting') restarted = true; });

    // The main-thread feed: a live 30 fps pattern, counting its outputs by phase of the other feed.
    const during: number[] = [];
    let mainOutputs = 0;
    const main = rt.addFeed({
      source: { kind: 'testPattern', pattern: 'smpte', width: 64, height: 48, fps: 30, live: true }, cameraMode: 'fixed', stages: [],
      sink: { emit: (o) => { mainOutputs++; if (hung() && !restarted) during.push(o.seq); } },
    });
    await expect.poll(() => mainOutputs, { timeout: 10_000 }).toBeGreaterThan(0);

    const outs: OutputEnvelope[] = [];
    const iso = rt.addFeed({
      source: pattern(30), cameraMode: 'fixed', restart: { restartDelayMs: 0, maxRestarts: 3 },
      isolation: { module: MODULE, export: 'hang', options: { flag, hangAt: 5 }, heartbeatTimeoutMs: 500 },
      sink: { emit: (o) => { outs.push(o); } },
    });
    await iso.done;
    const mainAfter = mainOutputs;
    await expect.poll(() => mainOutputs, { timeout: 5000 }).toBeGreaterThan(mainAfter); // and it still runs
    await main.stop();

    // Detected, terminated, restarted — in this order, once (the resumed worker never sees frame 5 again).
    const kinds = new Set(['FeedWorkerUnresponsive', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'SourceEos', 'FeedStopped']);
    expect(health.filter((e) => 'feedId' in e && e.feedId === iso.id && kinds.has(e.type)).map((e) => e.type))
      .toEqual(['FeedWorkerUnresponsive', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'SourceEos', 'FeedStopped']);
    const [u] = of('FeedWorkerUnresponsive', iso.id);
    expect(u).toMatchObject({ stageId: 'hang', frame: { seq: 5, ts: 200e6, mediaTs: 200e6 } });
    expect(u!.silentMs).toBeGreaterThan(500);
    expect(of('FrameDropped', iso.id)).toEqual([expect.objectContaining({ seq: 5, ts: 200e6, mediaTs: 200e6, cause: 'timeout', at: 'hang' })]);
    expect(of('FeedRestarting', iso.id)).toEqual([expect.objectContaining({ restartCount: 1 })]);
    expect(of('FeedStopped', iso.id)).toEqual([expect.objectContaining({ reason: { kind: 'EndOfStream' } })]);
    expect(of('SourceDiscontinuity', iso.id)).toEqual([]); // the resumed file continues its own timeline

    // Outputs continue after frame 5 with strictly increasing seq and ts; frame 5 is not retried.
    const frame = (o: OutputEnvelope) => Math.round(o.provenance.source.mediaTs / 40e6);
    expect(outs.map(frame)).toEqual([0, 1, 2, 3, 4, ...Array.from({ length: 24 }, (_, i) => 6 + i)]);
    expect(outs.map((o) => o.seq)).toEqual([0, 1, 2, 3, 4, ...Array.from({ length: 24 }, (_, i) => 6 + i)]);
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.ts).toBeGreaterThan(outs[i - 1]!.ts);
    expect(outs.map((o) => o.ts)).toEqual(outs.map((o) => o.provenance.source.mediaTs));
    expect(outs.map((o) => o.provenance.source.session)).toEqual([...Array<number>(5).fill(1), ...Array<number>(24).fill(2)]);
    expect(outs.map((o) => o.view.epoch)).toEqual([...Array<number>(5).fill(0), ...Array<number>(24).fill(1)]);
    expect(iso.metrics()).toMatchObject({ framesReceived: 30, framesProcessed: 29, framesFailed: 1, framesTimedOut: 1, outputsEmitted: 29, restarts: 1 });
    expect(iso.diagnostics().stopReason).toEqual({ kind: 'EndOfStream' });

    // The main-thread feed was not affected: it produced outputs while the worker hung.
    expect(during.length).toBeGreaterThan(0);
    expect(of('FeedStopped', main.id)).toEqual([expect.objectContaining({ reason: { kind: 'UserRequested' } })]);
    await rt.shutdown();
  }, 20_000);

  it('a worker that hangs again after its restart counts against the restart policy: RestartLimitExceeded, each hung frame dropped once', async () => {
    const rt = new Runtime();
    const { health, of } = collect(rt);
    const iso = rt.addFeed({
      source: pattern(30), cameraMode: 'fixed', restart: { restartDelayMs: 0, maxRestarts: 1 },
      isolation: { module: MODULE, export: 'hang', options: { flag: new SharedArrayBuffer(4), hangAt: 'every' }, heartbeatTimeoutMs: 300 },
      sink: { emit: () => {} },
    });
    await iso.done;
    expect(health.filter((e) => 'feedId' in e && e.feedId === iso.id && e.type !== 'DecodeDecision').map((e) => e.type)).toEqual([
      'FeedWorkerUnresponsive', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'FeedWorkerUnresponsive', 'FrameDropped', 'FeedStopped',
    ]);
    expect(of('FrameDropped').map((e) => [e.seq, e.ts, e.mediaTs])).toEqual([[0, 0, 0], [1, 40e6, 40e6]]); // the second worker resumed after frame 0
    expect(of('FeedStopped')[0]!.reason).toEqual({ kind: 'RestartLimitExceeded', restartCount: 1, error: { category: 'stage', kind: 'ProcessingFailed' } });
    expect(iso.metrics()).toMatchObject({ framesReceived: 2, framesFailed: 2, framesTimedOut: 2, framesProcessed: 0, restarts: 1 });
    await rt.shutdown();
  }, 20_000);

  it('stop on a worker stuck in a synchronous loop returns within its timeout plus the 500 ms grace (the worker terminated); done follows within 2 s more', async () => {
    const rt = new Runtime();
    const { of } = collect(rt);
    const flag = new SharedArrayBuffer(4);
    const iso = rt.addFeed({
      source: pattern(30), cameraMode: 'fixed',
      isolation: { module: MODULE, export: 'hang', options: { flag, hangAt: 'every' }, heartbeatTimeoutMs: 60_000 }, // no hang detection meanwhile
      sink: { emit: () => {} },
    });
    await expect.poll(() => Atomics.load(new Int32Array(flag), 0), { timeout: 10_000 }).toBe(1);
    const t0 = performance.now();
    await iso.stop({ timeoutMs: 200 });
    const stopMs = performance.now() - t0;
    // Bounded: the stop returned although the worker never yields (generous margin: the machine may be loaded).
    expect(stopMs).toBeLessThan(200 + 500 + 3000);
    expect(iso.state()).toBe('stopped');
    expect(of('StopTimeout', iso.id)).toEqual([expect.objectContaining({ stragglers: [{ kind: 'stage', stageId: 'hang', call: 'process' }] })]);
    expect(of('FeedStopped', iso.id)).toEqual([expect.objectContaining({ reason: { kind: 'UserRequested' } })]);
    await iso.done;
    expect(performance.now() - t0).toBeLessThan(200 + 500 + 2000 + 3000);
    await rt.shutdown();
  }, 20_000);

  it('a module that cannot be loaded, has no such function or throws stops its feed with a typed Fatal reason, never a crash or a restart', async () => {
    const rt = new Runtime();
    const { of } = collect(rt);
    const add = (isolation: FeedConfig['isolation'], extra: Partial<FeedConfig> = {}) => rt.addFeed({ source: pattern(3), cameraMode: 'fixed', isolation, ...extra });
    const missing = add({ module: join(dirname(FIXTURE), 'no-such-isolation-module.mjs') });
    const notFn = add({ module: MODULE, export: 'notAFunction' });
    const typed = add({ module: MODULE, export: 'throwsTyped' });
    const plain = add({ module: MODULE, export: 'throwsPlain' });
    const observed = add({ module: MODULE }, { cameraMode: 'observed' }); // the module gives no view provider
    const parallel = add({ module: MODULE, export: 'parallelPipeline' }); // its tail would never run: refused
    await Promise.all([missing, notFn, typed, plain, observed, parallel].map((f) => f.done));
    const reason = (id: number) => of('FeedStopped', id)[0]?.reason;
    expect(reason(missing.id)).toMatchObject({ kind: 'Fatal', error: { category: 'runtime', kind: 'WorkerStartFailed' }, detail: expect.stringContaining('no-such-isolation-module') });
    expect(reason(notFn.id)).toMatchObject({ kind: 'Fatal', error: { category: 'config', kind: 'InvalidPolicy' }, detail: expect.stringContaining("no function export 'notAFunction'") });
    expect(reason(typed.id)).toMatchObject({ kind: 'Fatal', error: { category: 'stage', kind: 'ModelLoadFailed' }, detail: expect.stringContaining('model.onnx is missing') });
    expect(reason(plain.id)).toMatchObject({ kind: 'Fatal', error: { category: 'runtime', kind: 'WorkerStartFailed' }, detail: expect.stringContaining('plain failure') });
    expect(reason(observed.id)).toMatchObject({ kind: 'Fatal', error: { category: 'config', kind: 'CameraModeConflict' } });
    expect(reason(parallel.id)).toMatchObject({
      kind: 'Fatal', error: { category: 'config', kind: 'InvalidPolicy' }, detail: expect.stringContaining('pipeline.parallel: parallel pipelines do not run in isolated feeds yet'),
    });
    expect(of('StageError', parallel.id)).toEqual([]);
    expect(parallel.metrics()).toMatchObject({ framesReceived: 0, outputsEmitted: 0 });
    for (const f of [missing, notFn, typed, plain, observed, parallel]) {
      expect(f.diagnostics()).toMatchObject({ state: 'stopped', stopReason: { kind: 'Fatal' } });
      expect(of('FeedStopped', f.id)).toHaveLength(1);
    }
    expect(of('FeedRestarting')).toEqual([]);
    await rt.shutdown();
  }, 20_000);

  it('an output that cannot cross (DataCloneError, a throwing encoding, a value main cannot rebuild) is dropped, counted and reported; it costs no credit, so every other output keeps coming', async () => {
    const rt = new Runtime();
    const { of } = collect(rt);
    const ODD: MetadataKey<unknown> = metadataKey('test.odd');
    const outs: OutputEnvelope[] = [];
    // 40 frames, 24 outputs that cannot cross: far more than the 3 sink credits.
    const feed = rt.addFeed({
      source: pattern(40), cameraMode: 'fixed', sinkQueueCapacity: 3,
      isolation: { module: MODULE, export: 'uncloneable', metadataKeys: [ODD] },
      sink: { emit: (o) => { outs.push(o); } },
    });
    await feed.done;
    const seqs = Array.from({ length: 40 }, (_, i) => i);
    expect(outs.map((o) => o.seq)).toEqual(seqs.filter((s) => s % 5 === 0 || s % 5 === 4));
    for (const o of outs) {
      const v = o.artifacts.stageArtifacts.get(ODD);
      expect(v).toEqual(o.seq % 5 === 0 ? o.seq : { n: o.seq }); // the function and the symbol are left out
    }
    const panics = of('SinkPanic', feed.id).map((e) => e.detail);
    expect(panics).toHaveLength(24);
    const sent = (s: number, what: string) => `isolated feed: the output of frame ${s} could not be sent to the main thread: ${what}`;
    expect(panics.filter((d) => d.includes('could not be sent'))).toEqual(seqs.filter((s) => s % 5 === 1 || s % 5 === 2).map((s) =>
      expect.stringContaining(s % 5 === 1 ? sent(s, 'DataCloneError') : sent(s, 'getter fails on purpose'))));
    expect(panics.filter((d) => d.includes('could not be rebuilt on the main thread'))).toHaveLength(8);
    expect(feed.metrics()).toMatchObject({ framesReceived: 40, framesProcessed: 40, framesFailed: 0, outputsEmitted: 16, outputsDropped: 24, sinkErrors: 0, restarts: 0 });
    expect(of('FeedStopped', feed.id)).toEqual([expect.objectContaining({ reason: { kind: 'EndOfStream' } })]);
    expect(of('FeedRestarting', feed.id)).toEqual([]);
    await rt.shutdown();
  }, 20_000);

  it('config errors name the field: stages, pipeline, view provider or a source factory next to isolation; bad isolation fields; settings', async () => {
    const rt = new Runtime();
    const base: FeedConfig = { source: pattern(3), cameraMode: 'fixed', isolation: { module: MODULE } };
    const fieldOf = (c: unknown): string | undefined => {
      try { rt.addFeed(c as FeedConfig); } catch (e) { return ConfigError.isInstance(e) ? e.field : `not a ConfigError: ${String(e)}`; }
      return 'accepted';
    };
    expect(fieldOf({ ...base, stages: [] })).toBe('stages');
    expect(fieldOf({ ...base, viewProvider: { poll: () => ({}) } })).toBe('viewProvider');
    expect(fieldOf({ ...base, source: () => ({ specificationVersion: 'v1', next: async () => undefined, stop: () => {} }) })).toBe('source');
    expect(fieldOf({ ...base, isolation: { module: '' } })).toBe('isolation.module');
    expect(fieldOf({ ...base, isolation: { module: MODULE, heartbeatTimeoutMs: -1 } })).toBe('isolation.heartbeatTimeoutMs');
    expect(fieldOf({ ...base, isolation: { module: MODULE, options: { f: () => 1 } } })).toBe('isolation.options');
    expect(fieldOf({ ...base, isolation: { module: MODULE, exports: 'x' } })).toBe('isolation.exports');
    expect(rt.feedCount).toBe(0);

    // JSON settings (config files) accept isolation; the code must then not give stages.
    const settings = { source: pattern(3), cameraMode: 'fixed', isolation: { module: './iso.mjs', export: 'build', options: { a: 1 }, heartbeatTimeoutMs: 1000 } };
    expect(feedConfigFromSettings(settings).isolation).toEqual(settings.isolation);
    expect(fieldOf(feedConfigFromSettings(settings, { stages: [] }))).toBe('stages');
    const settingsField = (s: unknown) => { try { feedConfigFromSettings(s); } catch (e) { return ConfigError.isInstance(e) ? e.field : String(e); } return 'accepted'; };
    expect(settingsField({ ...settings, isolation: { export: 'x' } })).toBe('isolation.module');
    expect(settingsField({ ...settings, isolation: { module: 'x', extra: 1 } })).toBe('isolation.extra');
    expect(settingsField({ ...settings, isolation: { module: 'x', heartbeatTimeoutMs: 0 } })).toBe('isolation.heartbeatTimeoutMs');

    // Where the worker imports the module from.
    expect(moduleSpecifier('./x/iso.mjs')).toBe(pathToFileURL(join(process.cwd(), 'x/iso.mjs')).href);
    expect(moduleSpecifier(MODULE)).toBe(MODULE.href);
    expect(moduleSpecifier('my-stages')).toBe('my-stages');
    await rt.shutdown();
  });
});
