import { NS_PER_MS, type HealthEvent, type MonotonicTs } from '@nv/core';
import type { FrameEnvelope, FrameSource } from '@nv/frame';
import { MockStage, frameSequence } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { Runtime, type OutputEnvelope } from './index.js';

/** A file-like source: frame i at i × 40 ms, seq i; seekable through `resumeAfter`. */
class SeekableClip implements FrameSource {
  readonly specificationVersion = 'v1' as const;
  resumedAfter: number | undefined;
  #next = 0;
  #stopped = false;
  constructor(readonly frames: number) {}
  resumeAfter(ts: MonotonicTs): void {
    this.resumedAfter = ts;
    this.#next = Math.floor(ts / (40 * NS_PER_MS)) + 1;
  }
  async next(): Promise<FrameEnvelope | undefined> {
    if (this.#stopped || this.#next >= this.frames) return undefined;
    const i = this.#next++;
    return frameSequence(1, { startSeq: i, fps: 25, width: 8, height: 8 })[0];
  }
  stop(): void { this.#stopped = true; }
}

describe('restarts repeat nothing', () => {
  it('a file feed restarted after a panic resumes just after the frame that caused it: no output repeats, seq and ts continue, the frame is reported dropped', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const outs: OutputEnvelope[] = [];
    const clips: SeekableClip[] = [];
    let panicked = false;
    const p = new MockStage({ id: 'p', panicWhen: (c) => !panicked && c.frame.seq === 2 && (panicked = true) });
    const feed = rt.addFeed({
      source: () => { const c = new SeekableClip(6); clips.push(c); return c; }, cameraMode: 'fixed', stages: [p],
      sink: { emit: (o) => { outs.push(o); } }, restart: { restartDelayMs: 0 },
    });
    await feed.done;
    expect(clips).toHaveLength(2);
    expect(clips[0]!.resumedAfter).toBeUndefined();
    expect(clips[1]!.resumedAfter).toBe(80 * NS_PER_MS); // the raw ts of the frame that panicked
    expect(outs.map((o) => o.seq)).toEqual([0, 1, 3, 4, 5]);
    expect(outs.map((o) => o.ts / NS_PER_MS)).toEqual([0, 40, 120, 160, 200]);
    expect(outs.map((o) => o.provenance.source.session)).toEqual([1, 1, 2, 2, 2]);
    expect(health.map((e) => e.type)).toEqual(['StagePanic', 'FrameDropped', 'FeedRestarting', 'ViewEpochChanged', 'SourceEos', 'FeedStopped']);
    expect(health[1]).toMatchObject({ type: 'FrameDropped', seq: 2, ts: 80 * NS_PER_MS, mediaTs: 80 * NS_PER_MS, cause: 'panic', at: 'p' });
    expect(feed.metrics()).toMatchObject({ framesReceived: 6, framesProcessed: 5, framesFailed: 1, restarts: 1 });
    await rt.shutdown();
  });

  it('a source without resumeAfter starts over (its frames repeat) but the feed timeline still continues', async () => {
    const rt = new Runtime();
    const outs: OutputEnvelope[] = [];
    let panicked = false;
    const p = new MockStage({ id: 'p', panicWhen: (c) => !panicked && c.frame.seq === 2 && (panicked = true) });
    const feed = rt.addFeed({
      source: () => {
        const c = new SeekableClip(4);
        return { specificationVersion: 'v1', next: () => c.next(), stop: () => c.stop() } satisfies FrameSource;
      },
      cameraMode: 'fixed', stages: [p], sink: { emit: (o) => { outs.push(o); } }, restart: { restartDelayMs: 0 },
    });
    await feed.done;
    expect(outs.map((o) => o.provenance.source.mediaSeq)).toEqual([0, 1, 0, 1, 2, 3]);
    expect(outs.map((o) => o.seq)).toEqual([0, 1, 3, 4, 5, 6]);
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.ts).toBeGreaterThan(outs[i - 1]!.ts);
    await rt.shutdown();
  });
});
