/**
 * A file feed restarted after a panic resumes just after the frame that caused it — end to end,
 * on a real 100-frame H.264 MP4 read by `@nv/media` (the feed makes its own `MediaSource` from
 * the spec, so this runs the runtime's real restart sequence: stop, new source, `resumeAfter`,
 * `start`). Before `MediaSource.resumeAfter` existed the file started over at each restart: one
 * panic on frame 50 gave 150 outputs (50 + 100).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HealthEvent } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { MediaSource } from '@nv/media';
import type { Stage } from '@nv/perception';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime, type OutputEnvelope } from './index.js';

let dir: string;
let path: string;
/** Raw ts and luma hash of each of the clip's 100 frames, read straight from a `MediaSource`. */
let frames: { ts: number; hash: string }[];

/** A frame's identity by content: the clip's moving ball makes every frame's luma different. */
function lumaHash(f: FrameEnvelope): string {
  return createHash('sha1').update(f.plane(0)).digest('hex');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nv-file-resume-'));
  path = join(dir, 'clip100.mp4');
  execFileSync('gst-launch-1.0', [
    '-q', 'videotestsrc', 'num-buffers=100', 'pattern=ball', '!', 'video/x-raw,format=I420,width=320,height=240,framerate=30/1', '!',
    'x264enc', 'speed-preset=ultrafast', 'tune=zerolatency', 'key-int-max=30', '!', 'mp4mux', '!', 'filesink', `location=${path}`,
  ], { stdio: 'pipe', timeout: 60_000 });
  frames = [];
  const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } });
  for await (const f of src.frames()) {
    frames.push({ ts: f.ts, hash: lumaHash(f) });
    f.release();
  }
  await src.stop();
  expect(frames).toHaveLength(100);
  expect(new Set(frames.map((f) => f.hash)).size).toBe(100);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one feed on the clip with `stage`; collects outputs and health events. */
async function runFeed(stage: Stage, maxRestarts: number) {
  const rt = new Runtime();
  const health: HealthEvent[] = [];
  rt.onHealth((e) => health.push(e));
  const outs: OutputEnvelope[] = [];
  const feed = rt.addFeed({
    source: { kind: 'file', path }, backpressure: { kind: 'block' }, cameraMode: 'fixed', stages: [stage],
    sink: { emit: (o) => { outs.push(o); } }, restart: { restartDelayMs: 0, maxRestarts },
  });
  await feed.done;
  const metrics = feed.metrics();
  await rt.shutdown();
  const of = <T extends HealthEvent['type']>(t: T) => health.filter((e): e is Extract<HealthEvent, { type: T }> => e.type === t);
  return { outs, health, metrics, of };
}

describe('a file feed restarted after a panic resumes just after the frame that caused it', () => {
  it('a stage that throws a plain Error once on frame 50: 99 outputs, none repeated, frame 50 dropped, seq and ts continue', async () => {
    let thrown = false;
    const poison: Stage = {
      id: 'poison',
      process: (ctx) => {
        if (!thrown && ctx.frame.seq === 50) { thrown = true; throw new Error('poisoned frame'); }
      },
    };
    const { outs, metrics, of } = await runFeed(poison, 3);
    expect(outs).toHaveLength(99);
    const mediaTs = outs.map((o) => o.provenance.source.mediaTs);
    expect(new Set(mediaTs).size).toBe(99); // no output repeats
    expect(mediaTs).toEqual(frames.filter((_, i) => i !== 50).map((f) => f.ts)); // and none is missing but frame 50
    expect(outs.map((o) => o.seq)).toEqual([...Array.from({ length: 50 }, (_, i) => i), ...Array.from({ length: 49 }, (_, i) => 51 + i)]);
    for (let i = 1; i < outs.length; i++) expect(outs[i]!.ts).toBeGreaterThan(outs[i - 1]!.ts);
    // The resumed session continues the file's own timestamps: the timeline needs no re-basing.
    expect(outs.map((o) => o.ts)).toEqual(mediaTs);
    expect(outs.map((o) => o.provenance.source.session)).toEqual([...Array<number>(50).fill(1), ...Array<number>(49).fill(2)]);
    expect(of('SourceDiscontinuity')).toEqual([]);
    expect(of('StagePanic')).toHaveLength(1);
    expect(of('FrameDropped')).toEqual([expect.objectContaining({ seq: 50, ts: frames[50]!.ts, mediaTs: frames[50]!.ts, cause: 'panic', at: 'poison' })]);
    expect(of('FeedRestarting')).toHaveLength(1);
    expect(of('FeedStopped')).toEqual([expect.objectContaining({ reason: { kind: 'EndOfStream' } })]);
    expect(metrics).toMatchObject({ framesReceived: 100, framesProcessed: 99, framesFailed: 1, restarts: 1 });
  }, 60_000);

  it('a stage that always throws on the same frame (by content) panics once: the resume never hands that frame out again', async () => {
    const poisoned = frames[50]!.hash;
    let calls = 0;
    const poison: Stage = {
      id: 'poison',
      process: (ctx) => {
        calls++;
        if (lumaHash(ctx.frame) === poisoned) throw new Error('poisoned frame');
      },
    };
    const { outs, metrics, of } = await runFeed(poison, 3);
    expect(calls).toBe(100);
    expect(outs).toHaveLength(99);
    expect(new Set(outs.map((o) => o.provenance.source.mediaTs)).size).toBe(99);
    expect(of('StagePanic')).toHaveLength(1);
    expect(of('FeedRestarting')).toHaveLength(1);
    expect(of('FeedStopped')).toEqual([expect.objectContaining({ reason: { kind: 'EndOfStream' } })]);
    expect(metrics).toMatchObject({ restarts: 1 });
  }, 60_000);

  it('a stage that throws on every frame from 50 on: each restart moves on by exactly one frame, and the restart limit stops the feed', async () => {
    const from50 = new Set(frames.slice(50).map((f) => f.hash));
    const poison: Stage = { id: 'poison', process: (ctx) => { if (from50.has(lumaHash(ctx.frame))) throw new Error('poisoned tail'); } };
    const { outs, metrics, of } = await runFeed(poison, 3);
    expect(outs.map((o) => o.provenance.source.mediaTs)).toEqual(frames.slice(0, 50).map((f) => f.ts));
    // 1 + 3 sessions, one panic each, on frames 50, 51, 52, 53: never the same frame twice.
    expect(of('FrameDropped').map((e) => e.mediaTs)).toEqual(frames.slice(50, 54).map((f) => f.ts));
    expect(of('FeedRestarting').map((e) => e.restartCount)).toEqual([1, 2, 3]);
    expect(of('FeedStopped')).toEqual([expect.objectContaining({ reason: expect.objectContaining({ kind: 'RestartLimitExceeded', restartCount: 3 }) })]);
    expect(metrics).toMatchObject({ restarts: 3, framesFailed: 4 });
  }, 60_000);
});
