import { BBox, monotonicTs, trackId, type FeedStep, type HealthEvent } from '@nv/core';
import { RetimedFrame, type FrameEnvelope, type FrameSource } from '@nv/frame';
import { createObservation, createTrack, type Stage } from '@nv/perception';
import { MockStage, frameSequence } from '@nv/test-util';
import type { EpochDecision, EpochPolicy } from '@nv/view';
import { describe, expect, it } from 'vitest';
import { Runtime, type FeedConfig } from './index.js';

/** A finite source that records whether it was stopped; `make` may turn a frame into a broken one. */
class RecordingSource implements FrameSource {
  readonly specificationVersion = 'v1' as const;
  stopped = false;
  readonly #frames: FrameEnvelope[];
  constructor(n: number, make: (f: FrameEnvelope) => FrameEnvelope = (f) => f) { this.#frames = frameSequence(n, { width: 8, height: 8 }).map(make); }
  async next(): Promise<FrameEnvelope | undefined> { return this.stopped ? undefined : this.#frames.shift(); }
  stop(): void {
    this.stopped = true;
    for (const f of this.#frames.splice(0)) if (!f.isReleased) f.release();
  }
}

const track = (ts: number) => createTrack({ id: trackId(1), classId: 0, state: 'confirmed', current: createObservation({ ts: monotonicTs(ts), bbox: BBox.of(0, 0, 0.1, 0.1), confidence: 0.9, state: 'confirmed' }) });
const throwingPolicy: EpochPolicy = { decide: () => { throw new TypeError('policy bug'); } };
const invalidPolicy: EpochPolicy = { decide: () => ({ kind: 'teleport' }) as unknown as EpochDecision };
/** A (buggy) stage that releases the runtime's reference to the frame. */
const releaser: Stage = { id: 'releaser', process: (ctx) => { ctx.frame.release(); } };

type Injection = (rt: Runtime) => Promise<{ cfg: Partial<FeedConfig>; broken?: (f: FrameEnvelope) => FrameEnvelope }>;

describe('an exception at any step outside a stage is a feed panic, handled like a stage panic', () => {
  it.each<[string, FeedStep, Injection]>([
    ['a source frame with a NaN timestamp (timeline)', 'timeline', async () => ({ cfg: {}, broken: (f) => new RetimedFrame(f, Number.NaN as never, f.seq) })],
    ['a throwing user EpochPolicy (view)', 'view', async () => ({ cfg: { cameraMode: 'observed', viewProvider: { poll: () => ({}) }, epochPolicy: throwingPolicy } })],
    ['an EpochPolicy returning an invalid decision (view)', 'view', async () => ({ cfg: { cameraMode: 'observed', viewProvider: { poll: () => ({}) }, epochPolicy: invalidPolicy } })],
    ['a tracker reporting one id twice (temporal commit)', 'temporal', async () => ({
      cfg: { stages: [new MockStage({ id: 'watch' }), { id: 'trk', process: (ctx) => ({ tracks: [track(ctx.frame.ts), track(ctx.frame.ts)] }) }] },
    })],
    ['a released frame reaching the batch point (batch)', 'batch', async (rt) => {
      const b = await rt.createBatch({ id: `det-${Math.random()}`, process: () => undefined }, { maxLatencyMs: 1 });
      const { FeedPipeline } = await import('./index.js');
      return { cfg: { stages: undefined, pipeline: FeedPipeline.builder().addStage(new MockStage({ id: 'watch' })).addStage(releaser).batch(b).build() } };
    }],
    ['a released frame to attach to the output (output)', 'output', async () => ({ cfg: { stages: [new MockStage({ id: 'watch' }), releaser], frameInclusion: 'always' } })],
  ])('%s', async (_name, step, inject) => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const { cfg, broken } = await inject(rt);
    const sources: RecordingSource[] = [];
    const watch = new MockStage({ id: 'watch' });
    const stages = cfg.pipeline ? undefined : (cfg.stages ?? [watch]);
    const lifecycleOf = (cfg.pipeline?.pre[0] ?? stages?.[0]) as MockStage;
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const feed = rt.addFeed({
      cameraMode: 'fixed', sink: { emit: () => undefined }, restart: { maxRestarts: 1, restartDelayMs: 0 },
      ...cfg, ...(stages ? { stages } : {}),
      source: () => { const s = new RecordingSource(3, broken); sources.push(s); return s; },
    } as FeedConfig);
    await feed.done;
    // Both sessions ended the same way: source stopped, stages stopped, then the restart policy.
    expect(sources).toHaveLength(2);
    expect(sources.every((s) => s.stopped)).toBe(true);
    expect(lifecycleOf.lifecycle).toEqual(['start', 'stop', 'epoch:1', 'start', 'stop']);
    expect(feed.state()).toBe('stopped');
    expect(feed.metrics()).toMatchObject({ framesReceived: 2, framesProcessed: 0, framesFailed: 2, restarts: 1 });
    const evs = health.filter((e) => !('feedId' in e) || e.feedId === feed.id);
    // (The second session starts over at raw ts 0: a `reconnect` on the feed timeline, unless the timeline step itself failed.)
    expect(evs.map((e) => e.type).filter((t) => t !== 'ViewDegraded' && t !== 'SourceDiscontinuity')).toEqual([
      'FeedPanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'FeedPanic', 'FrameDropped', 'FeedStopped',
    ]);
    expect(evs.filter((e) => e.type === 'SourceDiscontinuity').map((e) => e.type === 'SourceDiscontinuity' && e.kind)).toEqual(step === 'timeline' ? [] : ['reconnect']);
    expect(evs[0]).toMatchObject({ type: 'FeedPanic', step });
    expect(evs[1]).toMatchObject({ type: 'FrameDropped', cause: 'panic', at: step, seq: 0 });
    expect(evs.at(-1)).toMatchObject({ type: 'FeedStopped', reason: { kind: 'RestartLimitExceeded', restartCount: 1 } });
    expect(feed.diagnostics().lastError).toBeTruthy();
    // The ticker (and any other timer of the feed) is gone.
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timersBefore);
    await rt.shutdown();
  });

  it('with restarts off, the same panic stops the feed Fatal — still with the source and stages stopped', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const watch = new MockStage({ id: 'watch' });
    let src: RecordingSource | undefined;
    const feed = rt.addFeed({
      source: () => (src = new RecordingSource(3)), cameraMode: 'observed', viewProvider: { poll: () => ({}) }, epochPolicy: throwingPolicy,
      stages: [watch], restart: { restartOn: 'never' },
    });
    await feed.done;
    expect(src?.stopped).toBe(true);
    expect(watch.lifecycle).toEqual(['start', 'stop']);
    expect(health.at(-1)).toMatchObject({ type: 'FeedStopped', reason: { kind: 'Fatal', detail: expect.stringContaining('policy bug') } });
    await rt.shutdown();
  });
});
