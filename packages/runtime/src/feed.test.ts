import { ConfigError, MediaError, StageError, type HealthEvent } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { mediaDiagnostics } from '@nv/media';
import { skip, type Stage } from '@nv/perception';
import { BBox } from '@nv/core';
import { MockDetectorStage, MockStage, MockTrackerStage, SyntheticSource, frameSequence } from '@nv/test-util';
import type { MotionReport, ViewStateProvider } from '@nv/view';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FeedSettingsSchema, LatencyHistogram, Runtime, feedConfig, feedConfigFromSettings, type OutputEnvelope,
} from './index.js';

const collector = () => {
  const outs: OutputEnvelope[] = [];
  return { outs, sink: { emit: (o: OutputEnvelope) => { outs.push(o); } } };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Endless lazily-made frames (a camera). */
function* camera(): Generator<FrameEnvelope> { for (let i = 0; ; i++) yield frameSequence(1, { startSeq: i, fps: 100 })[0]!; }

describe('feed configuration', () => {
  it('builder and JSON settings produce the same checked config; errors name the field', () => {
    const stages = [new MockStage({ id: 'a' })];
    const built = feedConfig().source({ kind: 'file', path: '/tmp/x.mp4' }).cameraMode('fixed').stages(stages).sinkQueueCapacity(8).build();
    const fromJson = feedConfigFromSettings({ source: { kind: 'file', path: '/tmp/x.mp4' }, cameraMode: 'fixed', sinkQueueCapacity: 8 }, { stages });
    expect(fromJson.cameraMode).toBe(built.cameraMode);
    expect(fromJson.sinkQueueCapacity).toBe(8);
    expect(fromJson.stages).toBe(stages);
    const bad = () => feedConfigFromSettings({ source: { kind: 'file' }, cameraMode: 'sideways', backpressure: { queueDepth: 0 }, extra: 1 });
    try { bad(); expect.unreachable(); } catch (e) {
      expect(ConfigError.isInstance(e)).toBe(true);
      const json = JSON.stringify((e as ConfigError).toJSON());
      for (const f of ['source.path', 'cameraMode', 'backpressure.queueDepth', 'extra']) expect(json).toContain(f);
    }
    expect(() => feedConfig().cameraMode('fixed').stages([]).build()).toThrow(expect.objectContaining({ kind: 'MissingRequired' }));
    expect(() => feedConfig().source(() => new SyntheticSource([])).stages([]).build()).toThrow(expect.objectContaining({ kind: 'MissingRequired' }));
    expect(FeedSettingsSchema.safeParse({ source: { kind: 'rtsp', url: 'rtsp://cam/1' }, cameraMode: 'observed', frameInclusion: { everyNth: 5 } }).success).toBe(true);
    expect(FeedSettingsSchema.safeParse({ source: { kind: 'rtsp', url: 'rtsp://cam/1' }, cameraMode: 'observed', frameInclusion: { targetFps: 2.5 } }).success).toBe(true);
    for (const frameInclusion of [{ targetFps: 0 }, { everyNth: 0 }, { everyNth: 2, targetFps: 1 }]) {
      expect(FeedSettingsSchema.safeParse({ source: { kind: 'rtsp', url: 'rtsp://cam/1' }, cameraMode: 'observed', frameInclusion }).success).toBe(false);
      expect(() => feedConfig().source(() => new SyntheticSource([])).cameraMode('fixed').stages([]).frameInclusion(frameInclusion as never).build())
        .toThrow(expect.objectContaining({ kind: 'InvalidConfig' }));
    }
  });

  it('a feed name (settings, builder or config) reaches every output, the handle and diagnostics; a bad name is a ConfigError on "name"', async () => {
    const rt = new Runtime();
    const { outs, sink } = collector();
    const settings = FeedSettingsSchema.parse({ name: 'gate north', source: { kind: 'file', path: '/tmp/x.mp4' }, cameraMode: 'fixed' });
    expect(settings.name).toBe('gate north');
    expect(feedConfig().name('dock').source({ kind: 'file', path: '/tmp/x.mp4' }).cameraMode('fixed').stages([]).build().name).toBe('dock');
    const named = rt.addFeed({ ...feedConfigFromSettings({ name: 'gate north', source: { kind: 'file', path: '/tmp/x.mp4' }, cameraMode: 'fixed' }), source: () => new SyntheticSource(frameSequence(4)), stages: [], sink });
    const plain = collector();
    const unnamed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(2)), cameraMode: 'fixed', stages: [], sink: plain.sink });
    await Promise.all([named.done, unnamed.done]);
    expect(outs.map((o) => o.feedName)).toEqual(['gate north', 'gate north', 'gate north', 'gate north']);
    expect(plain.outs.map((o) => o.feedName)).toEqual([undefined, undefined]);
    expect(named.name).toBe('gate north');
    expect(rt.feed(named.id)?.name).toBe('gate north');
    expect(rt.diagnostics().feeds.map((f) => f.name)).toEqual(['gate north', undefined]);
    for (const bad of ['', 'a\nb', 'x'.repeat(129)]) {
      let err: unknown;
      try { rt.addFeed({ name: bad, source: () => new SyntheticSource([]), cameraMode: 'fixed', stages: [] }); } catch (e) { err = e; }
      expect(ConfigError.isInstance(err) && err.field, JSON.stringify(bad)).toBe('name');
      expect(FeedSettingsSchema.safeParse({ name: bad, source: { kind: 'file', path: '/x' }, cameraMode: 'fixed' }).success).toBe(false);
    }
    await rt.shutdown();
  });

  it('timeline and deadline settings are validated (JSON settings and addFeed), naming the field', () => {
    const ok = FeedSettingsSchema.safeParse({
      source: { kind: 'file', path: '/x' }, cameraMode: 'fixed', timeline: { forwardGapMs: 500 },
      deadlines: { stageTimeoutMs: 1000, stages: { det: 0 }, maxConsecutiveTimeouts: 2, stopTimeoutMs: 500 },
    });
    expect(ok.success).toBe(true);
    try { feedConfigFromSettings({ source: { kind: 'file', path: '/x' }, cameraMode: 'fixed', deadlines: { stageTimeoutMs: -1, maxConsecutiveTimeouts: 0 }, timeline: { forwardGapMs: 0 } }); expect.unreachable(); } catch (e) {
      const json = JSON.stringify((e as ConfigError).toJSON());
      for (const f of ['deadlines.stageTimeoutMs', 'deadlines.maxConsecutiveTimeouts', 'timeline.forwardGapMs']) expect(json).toContain(f);
    }
    const rt = new Runtime();
    expect(() => rt.addFeed({ source: () => new SyntheticSource([]), cameraMode: 'fixed', stages: [], deadlines: { stopTimeoutMs: 0 } }))
      .toThrow(expect.objectContaining({ field: expect.stringContaining('deadlines') }));
  });

  it('addFeed refuses what policy would refuse: custom pipelines (default reject), plain rtsp under requireTls, stages and pipeline together', () => {
    const rt = new Runtime();
    const e1 = (() => { try { rt.addFeed({ source: { kind: 'custom', pipeline: 'videotestsrc' }, cameraMode: 'fixed', stages: [] }); } catch (e) { return e; } })();
    expect(MediaError.isInstance(e1) && e1.kind).toBe('CustomPipelineRejected');
    const e2 = (() => { try { rt.addFeed({ source: { kind: 'rtsp', url: 'rtsp://user:pw@cam/live', security: 'requireTls' }, cameraMode: 'fixed', stages: [] }); } catch (e) { return e; } })();
    expect(MediaError.isInstance(e2) && e2.kind).toBe('InsecureRtspRejected');
    expect(String((e2 as Error).message)).not.toContain('pw');
    expect(rt.feedCount).toBe(0);
  });

  it('settings can never enable custom pipelines (media.customPipelinePolicy is refused, field named); only code can', async () => {
    const custom = { source: { kind: 'custom', pipeline: 'videotestsrc num-buffers=5' }, cameraMode: 'fixed' } as const;
    for (const policy of ['allowTrusted', 'reject']) {
      const settings = { ...custom, media: { customPipelinePolicy: policy, output: { format: 'GRAY8' } } };
      expect(FeedSettingsSchema.safeParse(settings).success).toBe(false);
      let err: unknown;
      try { feedConfigFromSettings(settings, { stages: [] }); } catch (e) { err = e; }
      expect(ConfigError.isInstance(err)).toBe(true);
      const ce = err as ConfigError;
      expect(ce.field).toBe('media.customPipelinePolicy');
      expect(ce.message).toContain('cannot enable custom pipelines');
      expect(ce.message).toContain('feedConfigFromSettings');
    }
    // Without the code option the policy stays `reject`, and addFeed refuses the custom source.
    const rt = new Runtime();
    const plain = feedConfigFromSettings(custom, { stages: [] });
    expect(plain.media?.customPipelinePolicy).toBeUndefined();
    expect(() => rt.addFeed(plain)).toThrow(expect.objectContaining({ kind: 'CustomPipelineRejected' }));
    // The code option sets it, keeping the other media settings.
    const { outs, sink } = collector();
    const trusted = feedConfigFromSettings({ ...custom, backpressure: { kind: 'block' }, media: { output: { format: 'GRAY8' } } }, { stages: [], sink, customPipelinePolicy: 'allowTrusted' });
    expect(trusted.media).toEqual({ output: { format: 'GRAY8' }, customPipelinePolicy: 'allowTrusted' });
    const feed = rt.addFeed(trusted);
    await feed.done;
    expect(outs).toHaveLength(5);
    expect(outs[0]!.frame).toBeUndefined();
    expect(feed.diagnostics().stopReason).toEqual({ kind: 'EndOfStream' });
    // A bad code value is a ConfigError too (code is checked as well as settings).
    expect(() => feedConfigFromSettings(custom, { stages: [], customPipelinePolicy: 'yes' as never })).toThrow(expect.objectContaining({ field: 'customPipelinePolicy' }));
    expect(() => rt.addFeed({ ...custom, stages: [], media: { customPipelinePolicy: 'always' as never } })).toThrow(expect.objectContaining({ field: 'media.customPipelinePolicy' }));
    await rt.shutdown();
  });
});

describe('feed behaviour', () => {
  it('pause stops processing and the watchdog; resume continues; typed errors for double pause/resume', async () => {
    const rt = new Runtime();
    const { outs, sink } = collector();
    const src = new SyntheticSource(camera(), { live: { intervalMs: 5, queueDepth: 2 } });
    const feed = rt.addFeed({ source: () => src, cameraMode: 'fixed', stages: [new MockStage({ id: 'a' })], sink, noFrameTimeoutMs: 100 });
    await sleep(60);
    feed.pause();
    expect(feed.isPaused()).toBe(true);
    expect(() => feed.pause()).toThrow(expect.objectContaining({ kind: 'AlreadyPaused' }));
    await sleep(20);
    const atPause = outs.length;
    const producedAtPause = src.produced;
    await sleep(250); // longer than the watchdog: no restart while paused
    expect(outs.length).toBeLessThanOrEqual(atPause + 1);
    expect(src.produced).toBe(producedAtPause); // the source itself was paused
    expect(feed.metrics().restarts).toBe(0);
    expect(feed.diagnostics()).toMatchObject({ state: 'paused', paused: true, alive: true });
    feed.resume();
    expect(() => feed.resume()).toThrow(expect.objectContaining({ kind: 'NotPaused' }));
    await sleep(80);
    expect(outs.length).toBeGreaterThan(atPause + 2);
    await rt.shutdown();
    expect(feed.isAlive()).toBe(false);
  });

  it('a silent source trips the no-frame watchdog: typed Timeout, SourceDisconnected, restart', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    let sessions = 0;
    const feed = rt.addFeed({
      source: () => { sessions++; return new SyntheticSource(frameSequence(3), { stallAfter: 3 }); },
      cameraMode: 'fixed', stages: [new MockStage({ id: 'a' })], noFrameTimeoutMs: 300, restart: { maxRestarts: 1, restartDelayMs: 0 },
    });
    await feed.done;
    expect(sessions).toBe(2);
    const disc = health.filter((e) => e.type === 'SourceDisconnected');
    expect(disc.length).toBe(2);
    expect(disc.every((e) => e.type === 'SourceDisconnected' && e.reason.kind === 'Timeout')).toBe(true);
    expect(health.at(-1)).toMatchObject({ type: 'FeedStopped', reason: { kind: 'RestartLimitExceeded', restartCount: 1 } });
    expect(feed.metrics().framesProcessed).toBe(6);
    await rt.shutdown();
  });

  it('a slow stage under DropOldest: memory stays bounded (live frames ≤ queue + 1), drops are counted, the newest frames get processed', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const { outs, sink } = collector();
    const src = new SyntheticSource(camera(), { live: { intervalMs: 2, queueDepth: 4, policy: 'dropOldest' } });
    let maxLive = 0;
    const slow: Stage = {
      id: 'slow',
      async process() {
        maxLive = Math.max(maxLive, src.stats().queued + 1);
        await sleep(25);
      },
    };
    const feed = rt.addFeed({ source: () => src, cameraMode: 'fixed', stages: [slow], sink });
    await sleep(600);
    await feed.stop();
    const m = feed.metrics();
    expect(maxLive).toBeLessThanOrEqual(5);
    expect(m.framesDropped).toBeGreaterThan(m.framesProcessed); // producing ~10× faster than processing
    expect(m.framesDropped + m.framesReceived).toBeLessThanOrEqual(src.produced);
    expect(health.some((e) => e.type === 'BackpressureDrop')).toBe(true);
    // Processed frames are recent: the gap between consecutive processed seqs grows to ≥ queue depth.
    const seqs = outs.map((o) => o.seq);
    const gaps = seqs.slice(1).map((s, i) => s - seqs[i]!);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(4);
    expect(src.produced - seqs.at(-1)!).toBeLessThan(src.produced / 2);
    await rt.shutdown();
  });

  it('skip() and tagged StageErrors are recorded in provenance and counters; latency histograms fill', async () => {
    const rt = new Runtime();
    const { outs, sink } = collector();
    const picky: Stage = { id: 'picky', process: (ctx) => (ctx.frame.seq % 2 ? skip('odd frame') : undefined) };
    const tagged: Stage = { id: 'tag', process: (ctx) => { if (ctx.frame.seq === 4) throw StageError.tagged('tag', 'no-plate', 'nothing legible'); } };
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(6)), cameraMode: 'fixed', stages: [picky, tagged], sink });
    await feed.done;
    expect(outs.map((o) => o.seq)).toEqual([0, 1, 2, 3, 5]);
    expect(outs[1]!.provenance.stages[0]!.outcome).toEqual({ kind: 'skipped', reason: 'odd frame' });
    const m = feed.metrics();
    expect(m.stages['picky']).toMatchObject({ framesProcessed: 6, skipped: 3, errors: 0 });
    expect(m.stages['tag']).toMatchObject({ framesProcessed: 6, errors: 1 });
    expect(m.stages['tag']!.latency.count).toBe(6);
    expect(m.pipelineLatency.count).toBe(5);
    expect(m.pipelineLatency.p50Ms).toBeGreaterThan(0);
    expect(feed.diagnostics().lastError).toContain('[no-plate]');
    await rt.shutdown();
  });

  it('diagnostics: every feed, decode status of a spec source, JSON-serializable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nv-rt-'));
    const path = join(dir, 'clip.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=40', '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!', 'x264enc', 'tune=zerolatency', '!', 'mp4mux', '!', 'filesink', `location=${path}`]);
    const rt = new Runtime();
    const { outs, sink } = collector();
    const feed = rt.addFeed({ source: { kind: 'file', path }, backpressure: { kind: 'block' }, cameraMode: 'fixed', stages: [new MockStage({ id: 'noop' })], sink, frameInclusion: { everyNth: 10 } });
    await feed.done;
    expect(outs).toHaveLength(40);
    expect(outs.filter((o) => o.provenance.frameIncluded)).toHaveLength(4);
    const d = rt.diagnostics();
    expect(d.feedCount).toBe(1);
    expect(d.feeds[0]).toMatchObject({ state: 'stopped', alive: false, decode: { outcome: 'software' }, stopReason: { kind: 'EndOfStream' } });
    expect(d.feeds[0]!.metrics).toMatchObject({ framesReceived: 40, framesProcessed: 40, framesDropped: 0 });
    expect(() => JSON.stringify(d)).not.toThrow();
    await rt.shutdown();
    expect(mediaDiagnostics().liveFrames).toBe(0);
  });
});

describe('view epochs through the runtime', () => {
  it('an observed camera: a PTZ preset recall segments — ViewEpochChanged, stages notified, trajectories split by epoch, provenance says segment', async () => {
    const rt = new Runtime();
    const health: HealthEvent[] = [];
    rt.onHealth((e) => health.push(e));
    const { outs, sink } = collector();
    let seen = 0;
    const provider: ViewStateProvider<FrameEnvelope> = {
      poll: ({ ts }): MotionReport => {
        const recall = seen++ === 5;
        return { ptz: { pan: 10, tilt: 0, zoom: 0.2, ts }, ...(recall ? { ptzEvents: [{ kind: 'presetRecall', presetId: 3, ts }] } : {}) } as MotionReport;
      },
    };
    const mover = { classId: 0, at: (t: number) => BBox.of(0.1 + 0.02 * t, 0.4, 0.2 + 0.02 * t, 0.5) };
    const watcher = new MockStage({ id: 'watch' });
    const storeEpochs: number[] = [];
    const probe: Stage = { id: 'probe', process: (ctx) => { storeEpochs.push(ctx.temporal.viewEpoch); } };
    const feed = rt.addFeed({
      source: () => new SyntheticSource(frameSequence(10, { fps: 10 })), cameraMode: 'observed', viewProvider: provider, sink,
      stages: [new MockDetectorStage('det', [mover]), new MockTrackerStage('trk'), watcher, probe],
    });
    await feed.done;
    expect(outs).toHaveLength(10);
    expect(outs[5]!.provenance.view.decision?.kind).toBe('segment');
    expect(outs[5]!.view.epoch).toBe(1);
    expect(outs[4]!.view.epoch).toBe(0);
    expect(health).toContainEqual(expect.objectContaining({ type: 'ViewEpochChanged', epoch: 1, cause: 'segment' }));
    expect(watcher.lifecycle).toContain('epoch:1');
    expect(storeEpochs).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]); // the temporal store moved to the new epoch on the same frame
    expect(outs.at(-1)!.provenance.view.motionSource.kind).toBe('telemetry');
    await rt.shutdown();
  });
});

describe('LatencyHistogram', () => {
  it('buckets, quantiles and snapshot', () => {
    const h = new LatencyHistogram();
    expect(h.snapshot()).toMatchObject({ count: 0, p50Ms: 0, minMs: 0 });
    for (let i = 1; i <= 100; i++) h.recordMs(i / 10); // 0.1 .. 10 ms
    h.recordNs(-5); h.recordMs(Number.NaN);
    const s = h.snapshot();
    expect(s.count).toBe(100);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(100);
    expect(s.minMs).toBeCloseTo(0.1);
    expect(s.maxMs).toBe(10);
    expect(s.sumMs).toBeCloseTo(505);
    expect(s.p50Ms).toBeGreaterThan(4);
    expect(s.p50Ms).toBeLessThan(6);
    expect(s.p99Ms).toBeGreaterThan(9);
    expect(s.p99Ms).toBeLessThanOrEqual(10);
    h.recordMs(60_000);
    expect(h.snapshot().counts.at(-1)).toBe(1);
  });
});

describe('fair scheduling on the JS thread', () => {
  it('4 feeds, one with a 5 ms synchronous stage and frames always ready: the 3 live feeds keep getting frames and timers keep firing', async () => {
    const HEAVY = 30;
    const rt = new Runtime();
    let ticks = 0;
    const iv = setInterval(() => { ticks++; }, 10);
    const busy: Stage = { id: 'busy', process: () => { const end = performance.now() + 5; while (performance.now() < end) { /* a CPU-bound JS stage */ } } };
    const heavy = rt.addFeed({ source: () => new SyntheticSource(frameSequence(HEAVY, { width: 8, height: 8 })), cameraMode: 'fixed', stages: [busy] });
    const lights = [1, 2, 3].map(() => rt.addFeed({
      source: () => new SyntheticSource(camera(), { live: { intervalMs: 1, queueDepth: 2 } }), cameraMode: 'fixed', stages: [new MockStage({ id: 'light' })],
    }));
    await heavy.done;
    clearInterval(iv);
    const light = lights.map((l) => l.metrics().framesProcessed);
    await rt.shutdown();
    expect(heavy.metrics().framesProcessed).toBe(HEAVY);
    // Live frames arrive on timers: without a yield after each synchronous frame, none would arrive.
    for (const n of light) expect(n).toBeGreaterThanOrEqual(HEAVY / 2);
    // HEAVY × 5 ms of busy work is ≥ 150 ms: a 10 ms interval must have fired a fair share of its ~15 ticks.
    expect(ticks).toBeGreaterThanOrEqual(4);
  });
});
