/**
 * The runtime-wide output channel (`runtime.outputs()`, `runtime.onOutput()`), through a real
 * Runtime with synthetic sources: every feed's outputs in per-feed order, the feed filter, a
 * lagging subscriber (oldest dropped, `lost` and `OutputLagged` agree, the sinks unaffected),
 * `close()`, shutdown (what was published is still delivered, then the iterators end), a throwing
 * listener, no frames attached, isolated feeds. Nothing here asserts on elapsed time.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidArgumentError, ManualClock, feedId, type HealthEvent, type HealthEventOf } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { MockStage, SyntheticSource, frameSequence } from '@nv/test-util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, type OutputEnvelope, type OutputSubscription } from './index.js';

const collector = () => {
  const outs: OutputEnvelope[] = [];
  return { outs, sink: { emit: (o: OutputEnvelope) => { outs.push(o); } } };
};
const lagEvents = (evs: readonly HealthEvent[]) => evs.filter((e): e is HealthEventOf<'OutputLagged'> => e.type === 'OutputLagged');
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
/** Reads a subscription to its end. */
async function drain(sub: OutputSubscription): Promise<OutputEnvelope[]> {
  const got: OutputEnvelope[] = [];
  for await (const o of sub) got.push(o);
  return got;
}
const seqsOf = (outs: readonly OutputEnvelope[], id?: number) => outs.filter((o) => id === undefined || o.feedId === id).map((o) => o.seq);
const turn = (): Promise<void> => new Promise<void>((r) => { setImmediate(r); });
async function until(cond: () => boolean, what: string, maxTurns = 20_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) { if (cond()) return; await turn(); }
  throw new Error(`never happened: ${what}`);
}
/** Endless lazily-made frames (a camera). */
function* camera(): Generator<FrameEnvelope> { for (let i = 0; ; i++) yield frameSequence(1, { startSeq: i, fps: 100 })[0]!; }

describe('runtime.outputs()', () => {
  it('delivers every output of two feeds to a subscriber, in frame order per feed, the same envelopes the sinks get', async () => {
    const rt = new Runtime();
    const sub = rt.outputs();
    const reading = drain(sub);
    const heard: OutputEnvelope[] = [];
    rt.onOutput((o) => heard.push(o));
    const a = collector(), b = collector();
    const fa = rt.addFeed({ name: 'a', source: () => new SyntheticSource(frameSequence(30)), cameraMode: 'fixed', stages: [new MockStage({ id: 's', async: true })], sink: a.sink });
    const fb = rt.addFeed({ name: 'b', source: () => new SyntheticSource(frameSequence(20)), cameraMode: 'fixed', stages: [new MockStage({ id: 's' })], sink: b.sink });
    await Promise.all([fa.done, fb.done]);
    expect(rt.diagnostics()).toMatchObject({ outputSubscribers: 2, outputsLost: 0 });
    await rt.shutdown();
    const got = await reading;
    expect(seqsOf(got, fa.id)).toEqual(seqsOf(a.outs));
    expect(seqsOf(got, fb.id)).toEqual(seqsOf(b.outs));
    expect(seqsOf(a.outs)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(seqsOf(b.outs)).toHaveLength(20);
    expect(got).toHaveLength(50);
    expect(heard.map((o) => [o.feedId, o.seq])).toEqual(got.map((o) => [o.feedId, o.seq]));
    // The sink's envelope, field for field (artifacts, view and provenance are shared), but frameless.
    const sinkOf = (o: OutputEnvelope) => (o.feedId === fa.id ? a.outs : b.outs).find((x) => x.seq === o.seq)!;
    for (const o of got) {
      const s = sinkOf(o);
      expect(o).toEqual({ ...s, frame: undefined });
      expect(o.artifacts).toBe(s.artifacts);
      expect(o.provenance).toBe(s.provenance);
    }
    expect(got.map((o) => o.feedName)).toEqual(got.map((o) => (o.feedId === fa.id ? 'a' : 'b')));
    expect(sub.lost).toBe(0);
    expect(rt.diagnostics()).toMatchObject({ outputSubscribers: 0, outputsLost: 0 });
  });

  it('filters by feed: a subscription for one feed sees only its outputs', async () => {
    const rt = new Runtime();
    const onlyB = rt.outputs({ feeds: [feedId(2)] });
    const both = rt.outputs({ feeds: [feedId(1), feedId(2)] });
    const readingB = drain(onlyB), readingBoth = drain(both);
    const fa = rt.addFeed({ source: () => new SyntheticSource(frameSequence(12)), cameraMode: 'fixed', stages: [] });
    const fb = rt.addFeed({ source: () => new SyntheticSource(frameSequence(7)), cameraMode: 'fixed', stages: [] });
    expect([fa.id, fb.id]).toEqual([feedId(1), feedId(2)]);
    await Promise.all([fa.done, fb.done]);
    await rt.shutdown();
    const gotB = await readingB, gotBoth = await readingBoth;
    // Feeds without a sink publish too.
    expect(gotB.map((o) => [o.feedId, o.seq])).toEqual(Array.from({ length: 7 }, (_, i) => [fb.id, i]));
    expect(seqsOf(gotBoth, fa.id)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(seqsOf(gotBoth, fb.id)).toEqual(Array.from({ length: 7 }, (_, i) => i));
  });

  it('a subscriber that never reads loses the oldest; lost, diagnostics and OutputLagged agree; the sinks still get every output', async () => {
    const run = async (lagging: boolean) => {
      const rt = new Runtime();
      const health: HealthEvent[] = [];
      rt.onHealth((e) => health.push(e));
      const sub = lagging ? rt.outputs({ capacity: 4, name: 'slow' }) : undefined;
      const { outs, sink } = collector();
      const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(60)), cameraMode: 'fixed', stages: [new MockStage({ id: 's', async: true })], sink });
      await feed.done;
      const lostBefore = sub?.lost;
      const diag = rt.diagnostics();
      await rt.shutdown();
      return { rt, health, sub, outs, metrics: feed.metrics(), lostBefore, diag };
    };
    const plain = await run(false);
    const lag = await run(true);
    // The feed and its sink do exactly the same with and without the lagging subscriber.
    expect(lag.outs.map((o) => o.seq)).toEqual(plain.outs.map((o) => o.seq));
    expect(lag.outs).toHaveLength(60);
    expect(lag.metrics).toMatchObject({ framesProcessed: 60, outputsEmitted: 60, outputsDropped: 0 });
    expect(plain.metrics).toMatchObject({ framesProcessed: 60, outputsEmitted: 60, outputsDropped: 0 });
    expect(lag.health.filter((e) => e.type === 'SinkBackpressure')).toEqual([]);
    // The subscriber kept the newest 4 and lost the other 56.
    const sub = lag.sub!;
    expect(lag.lostBefore).toBe(56);
    expect(lag.diag).toMatchObject({ outputSubscribers: 1, outputsLost: 56 });
    const events = lagEvents(lag.health);
    expect(events.length).toBeGreaterThan(0);
    expect(sum(events.map((e) => e.messagesLost))).toBe(56);
    expect(events.every((e) => e.subscriber === 'slow')).toBe(true);
    // Shutdown keeps what was buffered for the reader.
    expect(seqsOf(await drain(sub))).toEqual([56, 57, 58, 59]);
    expect(sub.lost).toBe(56);
    expect(lag.rt.diagnostics()).toMatchObject({ outputSubscribers: 0, outputsLost: 56 });
    expect(lagEvents(plain.health)).toEqual([]);
    expect(plain.diag).toMatchObject({ outputSubscribers: 0, outputsLost: 0 });
  });

  it('reports a lag episode when the subscriber next reads, at most once a second while it keeps losing, and the rest at its end', async () => {
    const clock = new ManualClock();
    const rt = new Runtime({ clock });
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    // Reads after the feed ended: one event, at the read, for everything lost so far.
    const reader = rt.outputs({ capacity: 3, name: 'reader' });
    // Never reads; the runtime clock moves 1 s while frame 2 is processed.
    const stalled = rt.outputs({ capacity: 1, name: 'stalled' });
    const tick = new MockStage({ id: 'tick', output: (c) => { if (c.frame.seq === 2) clock.advance(1000); return {}; } });
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(10)), cameraMode: 'fixed', stages: [tick] });
    await feed.done;
    const of = (name: string) => lagEvents(health).filter((e) => e.subscriber === name).map((e) => e.messagesLost);
    expect(reader.lost).toBe(7);
    expect(of('reader')).toEqual([]); // not read yet, and no second passed while it lagged (seq 3 on)
    // Stalled: the loss at seq 1 opened the episode; at seq 2 a second had passed → reported (2); 7 more since.
    expect(stalled.lost).toBe(9);
    expect(of('stalled')).toEqual([2]);
    expect(await reader.next()).toMatchObject({ done: false, value: { seq: 7 } });
    expect(of('reader')).toEqual([7]);
    expect(await reader.next()).toMatchObject({ value: { seq: 8 } });
    expect(of('reader')).toEqual([7]); // nothing lost since
    await rt.shutdown();
    expect(of('stalled')).toEqual([2, 7]); // the rest, when it ended
    expect(await stalled.next()).toMatchObject({ done: false, value: { seq: 9 } });
    expect(await stalled.next()).toMatchObject({ done: true });
    expect(seqsOf(await drain(reader))).toEqual([9]);
    expect(rt.diagnostics().outputsLost).toBe(16);
    expect(sum(lagEvents(health).map((e) => e.messagesLost))).toBe(16);
  });

  it('close() mid-stream ends the iterator (a pending read too); the feed and the other subscribers go on', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const early = rt.outputs({ name: 'early' });
    const full = rt.outputs();
    const readingFull = drain(full);
    const idle = rt.outputs({ feeds: [feedId(99)] }); // a feed that never publishes
    const pending = idle.next();
    const { outs, sink } = collector();
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(80)), cameraMode: 'fixed', stages: [new MockStage({ id: 's', async: true })], sink });
    const firstFive: number[] = [];
    for await (const o of early) { firstFive.push(o.seq); if (firstFive.length === 5) break; } // break → return() → close()
    expect(firstFive).toEqual([0, 1, 2, 3, 4]);
    expect(await early.next()).toEqual({ value: undefined, done: true });
    idle.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(rt.diagnostics().outputSubscribers).toBe(1);
    early.close(); // idempotent
    await feed.done;
    await rt.shutdown();
    expect(seqsOf(outs)).toHaveLength(80);
    expect(seqsOf(await readingFull)).toEqual(seqsOf(outs));
    expect(early.lost).toBe(0);
    expect(lagEvents(health)).toEqual([]);
  });

  it('shutdown delivers every output published before the end to a subscriber that keeps reading, then ends every iterator', async () => {
    const rt = new Runtime();
    const { outs, sink } = collector();
    const unread = rt.outputs({ capacity: 100_000 }); // read only after shutdown
    const reading = rt.outputs();
    const readingAll = drain(reading);
    rt.addFeed({
      source: () => new SyntheticSource(camera(), { live: { intervalMs: 1, queueDepth: 64 } }), cameraMode: 'fixed',
      stages: [new MockStage({ id: 's', async: true })], sink: { emit: async (o) => { await turn(); sink.emit(o); } },
    });
    await until(() => outs.length >= 15, '15 outputs');
    await rt.shutdown();
    const afterShutdown = await drain(unread);
    expect(afterShutdown.length).toBeGreaterThanOrEqual(15);
    // The draining stop delivered every output to the sink; the subscribers got each of them too.
    expect(seqsOf(afterShutdown)).toEqual(seqsOf(outs));
    expect(seqsOf(await readingAll)).toEqual(seqsOf(outs));
    expect(unread.lost + reading.lost).toBe(0);
    expect(await unread.next()).toEqual({ value: undefined, done: true });
    // After shutdown a new subscription is already over, and a listener is never called.
    const late = rt.outputs();
    expect(await late.next()).toEqual({ value: undefined, done: true });
    const unsub = rt.onOutput(() => { throw new Error('never called'); });
    unsub();
    expect(rt.diagnostics().outputSubscribers).toBe(0);
  });

  it('a throwing onOutput listener breaks nothing: the feed, its sink, the other listeners and subscribers get every output', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    let thrown = 0;
    const unsubThrowing = rt.onOutput(() => { thrown++; throw new Error('listener fails on purpose'); });
    const heard: number[] = [];
    const unsubHeard = rt.onOutput((o) => heard.push(o.seq));
    const sub = rt.outputs();
    const reading = drain(sub);
    const { outs, sink } = collector();
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(20)), cameraMode: 'fixed', stages: [new MockStage({ id: 's' })], sink });
    await feed.done;
    expect(thrown).toBe(20);
    expect(heard).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(seqsOf(outs)).toEqual(heard);
    expect(feed.metrics()).toMatchObject({ framesProcessed: 20, framesFailed: 0, outputsEmitted: 20, restarts: 0 });
    expect(health.filter((e) => e.type === 'FeedPanic' || e.type === 'StagePanic' || e.type === 'SinkPanic')).toEqual([]);
    expect(feed.diagnostics().stopReason).toMatchObject({ kind: 'EndOfStream' });
    expect(rt.diagnostics().outputSubscribers).toBe(3);
    unsubThrowing();
    unsubThrowing(); // idempotent
    unsubHeard();
    expect(rt.diagnostics().outputSubscribers).toBe(1);
    await rt.shutdown();
    expect(seqsOf(await reading)).toEqual(heard);
  });

  it('never attaches the frame: the sink gets it (frame inclusion), subscribers get a frozen, frameless copy', async () => {
    const rt = new Runtime();
    const sub = rt.outputs();
    const reading = drain(sub);
    const heard: OutputEnvelope[] = [];
    rt.onOutput((o) => heard.push(o));
    const sinkFrames: FrameEnvelope[] = [];
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(6)), cameraMode: 'fixed', stages: [], frameInclusion: 'always',
      sink: { emit: (o) => { if (o.frame) sinkFrames.push(o.frame); } },
    });
    await feed.done;
    await rt.shutdown();
    const got = await reading;
    expect(sinkFrames).toHaveLength(6);
    expect(sinkFrames.every((f) => f.isReleased)).toBe(true); // the runtime released them after the sink
    expect(got).toHaveLength(6);
    for (const o of [...got, ...heard]) {
      expect(o.frame).toBeUndefined();
      expect('frame' in o).toBe(true);
      expect(o.provenance.frameIncluded).toBe(true); // the sink's copy carried it
      expect(Object.isFrozen(o)).toBe(true);
    }
    expect(got[0]).toBe(heard[0]); // one copy per output, shared by every subscriber
  });

  it('validates its options', () => {
    const rt = new Runtime();
    for (const capacity of [0, -1, 1.5, Number.NaN]) expect(() => rt.outputs({ capacity })).toThrow(InvalidArgumentError);
    expect(() => rt.outputs({ feeds: 'all' as never })).toThrow(InvalidArgumentError);
    expect(() => rt.outputs({ feeds: [0 as never] })).toThrow(InvalidArgumentError);
    expect(() => rt.outputs({ name: 3 as never })).toThrow(InvalidArgumentError);
    expect(() => rt.onOutput(undefined as never)).toThrow(InvalidArgumentError);
    expect(rt.outputs({ capacity: 1, feeds: [], name: 'x' }).name).toBe('x');
  });
});

// Worker-isolated feeds publish too. The worker runs the built JavaScript (`dist/`, from `tsc -b`)
// and this fixture module, written next to the package (so that `@nv/core` resolves) and removed afterwards.
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', `output-bus-fixture-${process.pid}.mjs`);
beforeAll(() => { writeFileSync(FIXTURE, `export default function build() { return { stages: [{ id: 'w', process() {} }] }; }\n`); });
afterAll(() => { rmSync(FIXTURE, { force: true }); });

describe('runtime.outputs() with worker-isolated feeds', () => {
  it('publishes the outputs of isolated feeds, with or without a sink, in order and frameless', async () => {
    const rt = new Runtime();
    const sub = rt.outputs();
    const reading = drain(sub);
    const { outs, sink } = collector();
    const pattern = { kind: 'testPattern', pattern: 'ball', width: 64, height: 48, fps: 25, frames: 8 } as const;
    const withSink = rt.addFeed({ source: pattern, cameraMode: 'fixed', frameInclusion: { everyNth: 2 }, isolation: { module: pathToFileURL(FIXTURE) }, sink });
    const sinkless = rt.addFeed({ source: pattern, cameraMode: 'fixed', isolation: { module: pathToFileURL(FIXTURE) } });
    await Promise.all([withSink.done, sinkless.done]);
    await rt.shutdown();
    const got = await reading;
    expect(seqsOf(outs)).toEqual(Array.from({ length: 8 }, (_, i) => i));
    expect(seqsOf(got, withSink.id)).toEqual(seqsOf(outs));
    expect(seqsOf(got, sinkless.id)).toEqual(Array.from({ length: 8 }, (_, i) => i));
    expect(outs.filter((o) => o.provenance.frameIncluded)).toHaveLength(4);
    expect(got.every((o) => o.frame === undefined)).toBe(true);
    expect(sinkless.metrics()).toMatchObject({ framesProcessed: 8, outputsDropped: 0 });
  }, 30_000);
});
