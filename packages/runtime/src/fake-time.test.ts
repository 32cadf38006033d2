/**
 * Timer-driven behaviour of the runtime under a ManualClock: throttled health events, the
 * restart delay and window, the no-frame watchdog, stage and view-poll deadlines, stop and
 * shutdown timeouts. Time moves only when a test says so; nothing here sleeps or asserts on
 * elapsed real time.
 */
import { AffineTransform2D, ManualClock, MediaError, type HealthEvent, type HealthEventOf } from '@nv/core';
import type { FrameEnvelope, FrameSource, FrameSourceStats } from '@nv/frame';
import type { Stage, StageOutput } from '@nv/perception';
import { MockStage, SyntheticSource, frameSequence } from '@nv/test-util';
import { globalTransformEstimate, type MotionReport, type ViewStateProvider } from '@nv/view';
import { describe, expect, it } from 'vitest';
import { Runtime, type OutputEnvelope } from './index.js';

/** One event-loop turn (real macrotask; no time passes on the manual clock). */
const turn = (): Promise<void> => new Promise<void>((r) => { setImmediate(r); });
/** Lets everything that can run without time passing run. */
async function settle(turns = 30): Promise<void> { for (let i = 0; i < turns; i++) await turn(); }
/** Waits (in event-loop turns, never in time) until `cond` holds. */
async function until(cond: () => boolean, what: string, maxTurns = 5000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) { if (cond()) return; await turn(); }
  throw new Error(`never happened: ${what}`);
}
const ofType = <T extends HealthEvent['type']>(evs: readonly HealthEvent[], t: T) => evs.filter((e): e is HealthEventOf<T> => e.type === t);

/** A confident "the camera did not move" report: stable, valid. */
const stillCamera: MotionReport = { frameTransform: globalTransformEstimate(AffineTransform2D.IDENTITY, 0.9, 'featureMatching') };

function setup() {
  const clock = new ManualClock();
  const rt = new Runtime({ clock });
  const health: HealthEvent[] = [];
  rt.onHealth((e) => health.push(e));
  return { clock, rt, health };
}

interface Item { readonly v: FrameEnvelope | Error; readonly drops: number }

/**
 * A source the test drives: frames with chosen raw seqs, drops the test declares (as a media
 * source's bounded queue counts them), a failure on demand; waits (without time) when empty.
 */
class ScriptedSource implements FrameSource {
  readonly specificationVersion = 'v1' as const;
  dropped = 0;
  stopped = false;
  readonly #queue: Item[] = [];
  #waiter: ((v: Item | undefined) => void) | undefined;
  /** Queues a frame with raw seq `seq`; `dropsBefore` frames are counted as dropped when it is delivered. */
  push(seq: number, dropsBefore = 0): void { this.#deliver({ v: frameSequence(1, { startSeq: seq, fps: 100 })[0]!, drops: dropsBefore }); }
  /** The next `next()` rejects with `e`. */
  fail(e: Error): void { this.#deliver({ v: e, drops: 0 }); }
  #deliver(item: Item): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    if (w) w(item); else this.#queue.push(item);
  }
  async next(): Promise<FrameEnvelope | undefined> {
    if (this.stopped) return undefined;
    const item = this.#queue.shift() ?? await new Promise<Item | undefined>((r) => { this.#waiter = r; });
    if (!item) return undefined;
    this.dropped += item.drops;
    if (item.v instanceof Error) throw item.v;
    return item.v;
  }
  stop(): void {
    this.stopped = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(undefined);
    for (const { v } of this.#queue.splice(0)) if (!(v instanceof Error) && !v.isReleased) v.release();
  }
  stats(): FrameSourceStats { return { queued: this.#queue.length, capacity: 4, dropped: this.dropped }; }
}

/** A sink whose every `emit` waits until the test lets it finish. */
function heldSink() {
  const outs: OutputEnvelope[] = [];
  const pending: (() => void)[] = [];
  return {
    outs, pending,
    sink: { emit: (o: OutputEnvelope) => new Promise<void>((r) => { pending.push(() => { outs.push(o); r(); }); }) },
    releaseAll: () => { for (const p of pending.splice(0)) p(); },
  };
}

describe('throttled health events (fake time)', () => {
  it('SinkBackpressure: the first drop at once, then at most one per second carrying the count since the last', async () => {
    const { clock, rt, health } = setup();
    const sink = heldSink();
    // 20 frames, then silence (the session stays up); the sink holds its first output forever.
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(20), { stallAfter: 20 }), cameraMode: 'fixed', stages: [new MockStage()], sink: sink.sink, sinkQueueCapacity: 2 });
    await until(() => feed.metrics().framesProcessed === 20, '20 frames processed');
    // 1 output at the sink, 2 queued, 17 dropped — all at the same instant.
    expect(feed.metrics().outputsDropped).toBe(17);
    expect(ofType(health, 'SinkBackpressure')).toEqual([{ type: 'SinkBackpressure', feedId: feed.id, outputsDropped: 1 }]);
    clock.advance(999);
    await settle();
    expect(ofType(health, 'SinkBackpressure')).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(ofType(health, 'SinkBackpressure').map((e) => e.outputsDropped)).toEqual([1, 16]);
    clock.advance(5000);
    await settle();
    expect(ofType(health, 'SinkBackpressure')).toHaveLength(2); // nothing new, nothing repeated
    const stopped = feed.stop();
    await until(() => sink.pending.length > 0, 'sink call');
    while (feed.isAlive()) { sink.releaseAll(); await turn(); }
    await stopped;
    expect(sink.outs.map((o) => o.seq)).toEqual([0, 1, 2]);
    expect(feed.metrics()).toMatchObject({ outputsEmitted: 3, outputsDropped: 17 });
    await rt.shutdown();
  });

  it('BackpressureDrop: a raw seq gap reports the source queue\'s drops at once; later ones wait for the second, summed', async () => {
    const { clock, rt, health } = setup();
    const src = new ScriptedSource();
    const feed = rt.addFeed({ source: () => src, cameraMode: 'fixed', stages: [new MockStage()] });
    src.push(0); src.push(1); src.push(4, 2); // frames 2 and 3 dropped by the queue
    await until(() => feed.metrics().framesProcessed === 3, '3 frames');
    expect(ofType(health, 'BackpressureDrop')).toEqual([{ type: 'BackpressureDrop', feedId: feed.id, framesDropped: 2 }]);
    src.push(7, 2); src.push(10, 2);
    await until(() => feed.metrics().framesProcessed === 5, '5 frames');
    clock.advance(999);
    await settle();
    expect(ofType(health, 'BackpressureDrop')).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(ofType(health, 'BackpressureDrop').map((e) => e.framesDropped)).toEqual([2, 4]);
    expect(feed.metrics().framesDropped).toBe(6);
    await feed.stop();
    await rt.shutdown();
  });

  it('BackpressureDrop: drops no frame reveals (no seq gap) are found by the housekeeping tick, then throttled the same way', async () => {
    const { clock, rt, health } = setup();
    const src = new ScriptedSource();
    const feed = rt.addFeed({ source: () => src, cameraMode: 'fixed', stages: [] });
    src.push(0);
    await until(() => feed.metrics().framesProcessed === 1, 'first frame');
    src.dropped = 3; // the queue dropped frames and nothing was taken since
    clock.advance(249);
    await settle();
    expect(ofType(health, 'BackpressureDrop')).toEqual([]);
    clock.advance(1); // the 250 ms tick
    expect(ofType(health, 'BackpressureDrop').map((e) => e.framesDropped)).toEqual([3]);
    src.dropped = 5;
    clock.advance(250); // seen at the next tick, but within the second: held
    expect(ofType(health, 'BackpressureDrop')).toHaveLength(1);
    clock.advance(750);
    expect(ofType(health, 'BackpressureDrop').map((e) => e.framesDropped)).toEqual([3, 2]);
    await feed.stop();
    await rt.shutdown();
  });

  it('ViewProviderFailed: a provider that throws on every frame is reported at once, then at most once per second with the count; every frame goes on Unknown/Degraded', async () => {
    const { clock, rt, health } = setup();
    const outs: OutputEnvelope[] = [];
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(5), { stallAfter: 5 }), cameraMode: 'observed', stages: [],
      viewProvider: { poll: () => { throw new Error('PTZ API down'); } }, sink: { emit: (o) => { outs.push(o); } },
    });
    await until(() => outs.length === 5, '5 outputs');
    expect(outs.every((o) => o.view.motion.kind === 'unknown' && o.view.validity.kind === 'degraded')).toBe(true);
    expect(ofType(health, 'ViewProviderFailed')).toEqual([
      { type: 'ViewProviderFailed', feedId: feed.id, kind: 'InvalidMotionReport', detail: expect.stringContaining('PTZ API down'), count: 1 },
    ]);
    clock.advance(1000);
    expect(ofType(health, 'ViewProviderFailed').map((e) => e.count)).toEqual([1, 4]);
    await feed.stop();
    await rt.shutdown();
  });

  it('what a throttle still holds when the feed stops is emitted before FeedStopped (no count lost)', async () => {
    const { rt, health } = setup();
    const src = new ScriptedSource();
    const feed = rt.addFeed({ source: () => src, cameraMode: 'fixed', stages: [] });
    src.push(0); src.push(2, 1); src.push(4, 1); src.push(7, 2);
    await until(() => feed.metrics().framesProcessed === 4, '4 frames');
    expect(ofType(health, 'BackpressureDrop').map((e) => e.framesDropped)).toEqual([1]);
    await feed.stop(); // no time passed: the 3 held drops go out with the stop
    expect(ofType(health, 'BackpressureDrop').map((e) => e.framesDropped)).toEqual([1, 3]);
    const types = health.map((e) => e.type);
    expect(types.lastIndexOf('BackpressureDrop')).toBeLessThan(types.indexOf('FeedStopped'));
    await rt.shutdown();
  });
});

describe('restarts (fake time)', () => {
  it('the restart delay is the policy\'s, on the runtime clock: no new session before it is over', async () => {
    const { clock, rt, health } = setup();
    const sources: ScriptedSource[] = [];
    const feed = rt.addFeed({
      source: () => { const s = new ScriptedSource(); sources.push(s); return s; },
      cameraMode: 'fixed', stages: [], restart: { maxRestarts: 3, restartDelayMs: 2000 },
    });
    await until(() => sources.length === 1, 'first session');
    sources[0]!.push(0);
    sources[0]!.fail(MediaError.connectionFailed('synthetic://cam', 'cable pulled'));
    await until(() => ofType(health, 'FeedRestarting').length === 1, 'FeedRestarting');
    clock.advance(1999);
    await settle();
    expect(sources).toHaveLength(1);
    expect(feed.state()).toBe('restarting');
    clock.advance(1);
    await until(() => sources.length === 2, 'second session');
    expect(feed.state()).toBe('running');
    expect(ofType(health, 'SourceDisconnected').map((e) => e.reason.kind)).toEqual(['ConnectionFailed']);
    await feed.stop();
    await rt.shutdown();
  });

  it('the restart window: failures inside it count towards maxRestarts; a session that ran a full window resets the count', async () => {
    const { clock, rt, health } = setup();
    const sources: ScriptedSource[] = [];
    const feed = rt.addFeed({
      source: () => { const s = new ScriptedSource(); sources.push(s); return s; },
      cameraMode: 'fixed', stages: [], noFrameTimeoutMs: 0, restart: { maxRestarts: 1, restartWindowMs: 10_000, restartDelayMs: 0 },
    });
    const failSession = async (n: number, runForMs: number) => {
      await until(() => sources.length === n, `session ${n}`);
      clock.advance(runForMs);
      sources[n - 1]!.fail(MediaError.connectionFailed('synthetic://cam', `failure ${n}`));
    };
    await failSession(1, 100); // restart 1 of 1
    await failSession(2, 10_000); // this session ran a full window: the count resets, restart again
    await failSession(3, 9_999); // inside the window: the limit
    await feed.done;
    expect(sources).toHaveLength(3);
    expect(ofType(health, 'FeedRestarting').map((e) => e.restartCount)).toEqual([1, 2]);
    expect(feed.diagnostics().stopReason).toEqual({ kind: 'RestartLimitExceeded', restartCount: 2, error: { category: 'media', kind: 'ConnectionFailed' } });
    await rt.shutdown();
  });

  it('the no-frame watchdog trips after noFrameTimeoutMs of runtime-clock silence (typed Timeout), never before', async () => {
    const { clock, rt, health } = setup();
    let sessions = 0;
    const feed = rt.addFeed({
      source: () => { sessions++; return new SyntheticSource(frameSequence(2), { stallAfter: 2 }); },
      cameraMode: 'fixed', stages: [], noFrameTimeoutMs: 1000, restart: { maxRestarts: 1, restartDelayMs: 0 },
    });
    await until(() => feed.metrics().framesProcessed === 2, '2 frames');
    clock.advance(1000); // exactly the limit: not yet
    await settle();
    expect(ofType(health, 'SourceDisconnected')).toEqual([]);
    clock.advance(250); // the next tick sees 1250 ms of silence
    await until(() => ofType(health, 'SourceDisconnected').length === 1, 'watchdog');
    expect(ofType(health, 'SourceDisconnected')[0]!.reason.kind).toBe('Timeout');
    await until(() => sessions === 2, 'restart');
    await feed.stop();
    await rt.shutdown();
  });
});

describe('deadlines and stop timeouts (fake time)', () => {
  it('an async stage past its deadline: StageTimeout exactly at the deadline, the frame dropped, the feed goes on', async () => {
    const { clock, rt, health } = setup();
    const outs: OutputEnvelope[] = [];
    let hung = false;
    const hang: Stage = { id: 'hang', process: (ctx) => { if (ctx.frame.seq !== 1) return undefined; hung = true; return new Promise<StageOutput>(() => { /* never */ }); } };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(3)), cameraMode: 'fixed', stages: [hang], sink: { emit: (o) => { outs.push(o); } },
      deadlines: { stages: { hang: 100 } },
    });
    await until(() => hung, 'frame 1 in the stage');
    clock.advance(99);
    await settle();
    expect(ofType(health, 'StageTimeout')).toEqual([]);
    clock.advance(1);
    await feed.done;
    expect(ofType(health, 'StageTimeout')).toEqual([{ type: 'StageTimeout', feedId: feed.id, stageId: 'hang', timeoutMs: 100, consecutive: 1 }]);
    expect(outs.map((o) => o.seq)).toEqual([0, 2]);
    await rt.shutdown();
  });

  it('shutdown timeout with a hung sink: StopTimeout names the sink and its pending outputs; every one of them is counted as dropped', async () => {
    const { clock, rt, health } = setup();
    const sink = heldSink();
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(6), { stallAfter: 6 }), cameraMode: 'fixed', stages: [], sink: sink.sink });
    await until(() => feed.metrics().framesProcessed === 6, '6 frames');
    let done = false;
    const shut = rt.shutdown({ timeoutMs: 500 }).then(() => { done = true; });
    await settle();
    clock.advance(499);
    await settle();
    expect(done).toBe(false);
    expect(ofType(health, 'StopTimeout')).toEqual([]);
    clock.advance(1);
    await shut;
    // 1 output at the sink and 5 queued were abandoned: all 6 counted, none delivered.
    expect(ofType(health, 'StopTimeout')).toEqual([{ type: 'StopTimeout', feedId: feed.id, stragglers: [{ kind: 'sink', pendingOutputs: 6 }] }]);
    expect(ofType(health, 'SinkTimeout')).toHaveLength(1);
    expect(feed.metrics()).toMatchObject({ framesProcessed: 6, outputsEmitted: 0, outputsDropped: 6 });
    expect(ofType(health, 'FeedStopped')).toEqual([{ type: 'FeedStopped', feedId: feed.id, reason: { kind: 'UserRequested' } }]);
    sink.releaseAll(); // the sink finishing late changes nothing
    await settle();
    expect(feed.metrics()).toMatchObject({ outputsEmitted: 0, outputsDropped: 6 });
  });

  it('an observed camera whose provider never answers: each frame waits at most viewPollTimeoutMs, is Unknown/Degraded, and is counted', async () => {
    const { clock, rt, health } = setup();
    const outs: OutputEnvelope[] = [];
    let polls = 0;
    const provider: ViewStateProvider<FrameEnvelope> = {
      poll: () => { polls++; return polls === 1 ? stillCamera : new Promise<MotionReport>(() => { /* hung */ }); },
    };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(4), { stallAfter: 4 }), cameraMode: 'observed', viewProvider: provider, stages: [],
      sink: { emit: (o) => { outs.push(o); } }, deadlines: { viewPollTimeoutMs: 200 },
    });
    await until(() => outs.length === 1, 'frame 0');
    expect(outs[0]!.view.validity.kind).toBe('valid');
    await settle();
    expect(outs).toHaveLength(1); // frame 1 waits for its poll
    clock.advance(200);
    await until(() => outs.length === 4, 'frames 1-3');
    // Frame 1 timed out; frames 2 and 3 did not wait (the provider is not called while its late poll is out).
    expect(polls).toBe(2);
    expect(outs.slice(1).map((o) => [o.view.motion.kind, o.view.validity.kind])).toEqual([['unknown', 'degraded'], ['unknown', 'degraded'], ['unknown', 'degraded']]);
    expect(feed.diagnostics().view.pollTimeouts).toBe(3);
    expect(ofType(health, 'ViewDegraded')).toMatchObject([{ reason: 'unknown' }]);
    await feed.stop();
    await rt.shutdown();
  });
});
