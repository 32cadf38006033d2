/**
 * Permanent media failures through the runtime, with real @nv/media sources: a file or a
 * /dev/video device that does not exist, an RTSP server refusing the credentials (401). The
 * restart policy allows restarts; the feed must stop at once with the typed kind instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaError, type HealthEvent, type SourceSpecInput } from '@nv/core';
import type { FrameSource } from '@nv/frame';
import { rtspTestServerAvailable, startRtspTestServer, stopRtspTestServers } from '@nv/test-util';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from './index.js';

/** A restart policy that would retry: 5 restarts, no delay. */
const RETRYING = { maxRestarts: 5, restartDelayMs: 0, restartOn: 'sourceOrStagePanic' } as const;

async function runToEnd(source: SourceSpecInput | (() => FrameSource), media?: { reconnect?: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number } }) {
  const rt = new Runtime();
  const health: HealthEvent[] = [];
  rt.onHealth((e) => health.push(e));
  const feed = rt.addFeed({ source, cameraMode: 'fixed', stages: [], restart: RETRYING, ...(media ? { media } : {}) });
  await feed.done;
  const d = feed.diagnostics();
  await rt.shutdown();
  return { health, d };
}

describe('permanent media failures stop the feed at once, typed, with restarts allowed', () => {
  it('a file that does not exist: Fatal { media, SourceNotFound }, no restart', async () => {
    const { health, d } = await runToEnd({ kind: 'file', path: '/nonexistent/nv-permanent/clip.mp4' });
    expect(d.stopReason).toMatchObject({ kind: 'Fatal', error: { category: 'media', kind: 'SourceNotFound' } });
    expect(d.stopReason?.kind === 'Fatal' && d.stopReason.detail).toMatch(/SourceNotFound/);
    expect(d.metrics.restarts).toBe(0);
    expect(health.filter((e) => e.type === 'FeedRestarting')).toEqual([]);
    expect(health.at(-1)).toMatchObject({ type: 'FeedStopped', reason: { kind: 'Fatal', error: { category: 'media', kind: 'SourceNotFound' } } });
  }, 30_000);

  it('a file that is not valid media (an MP4 cut before its moov): Fatal { media, InvalidMedia }, no restart — a restart would read the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nv-permanent-'));
    const full = join(dir, 'full.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=30', '!', 'video/x-raw,width=64,height=48,framerate=30/1', '!',
      'x264enc', 'speed-preset=ultrafast', '!', 'mp4mux', '!', 'filesink', `location=${full}`], { stdio: 'pipe', timeout: 30_000 });
    const cut = join(dir, 'cut.mp4');
    const bytes = readFileSync(full);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const { health, d } = await runToEnd({ kind: 'file', path: cut });
    rmSync(dir, { recursive: true, force: true });
    expect(d.stopReason).toMatchObject({ kind: 'Fatal', error: { category: 'media', kind: 'InvalidMedia' } });
    expect(d.metrics.restarts).toBe(0);
    expect(health.filter((e) => e.type === 'FeedRestarting')).toEqual([]);
  }, 30_000);

  it('a /dev/video device that does not exist: Fatal { media, SourceNotFound }, no restart, no reconnection', async () => {
    const device = '/dev/video-nv-missing-7';
    expect(existsSync(device)).toBe(false);
    const { health, d } = await runToEnd({ kind: 'v4l2', device }, { reconnect: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 } });
    expect(d.stopReason).toMatchObject({ kind: 'Fatal', error: { category: 'media', kind: 'SourceNotFound' } });
    expect(d.metrics.restarts).toBe(0);
    expect(health.filter((e) => e.type === 'FeedRestarting' || e.type === 'SourceReconnecting')).toEqual([]);
  }, 30_000);

  it('the same kinds from any FrameSource (thrown by next() or by start()) stop the feed alike; a retryable one restarts', async () => {
    const failing = (e: MediaError, at: 'start' | 'next'): (() => FrameSource) => () => ({
      specificationVersion: 'v1',
      start: () => { if (at === 'start') throw e; },
      next: () => Promise.reject(e),
      stop: () => {},
    });
    for (const [e, at] of [
      [new MediaError('Unauthorized', { url: 'rtsp://admin:wrong@cam/live', detail: 'the server refused the credentials (401)' }), 'next'],
      [new MediaError('Unauthorized', { url: 'rtsp://admin:wrong@cam/live' }), 'start'],
      [MediaError.sourceNotFound('/dev/video9', 'no such device'), 'next'],
      [MediaError.sourceNotFound('/x.mp4', 'no such file'), 'start'],
    ] as const) {
      const { health, d } = await runToEnd(failing(e, at));
      expect(d.stopReason, `${e.kind} from ${at}`).toMatchObject({ kind: 'Fatal', error: { category: 'media', kind: e.kind } });
      expect(d.metrics.restarts).toBe(0);
      expect(JSON.stringify(health)).not.toContain('wrong'); // the password never shows
    }
    const { d } = await runToEnd(failing(MediaError.connectionFailed('rtsp://cam/live', 'stream not found (404)'), 'next'));
    expect(d.stopReason).toEqual({ kind: 'RestartLimitExceeded', restartCount: 5, error: { category: 'media', kind: 'ConnectionFailed' } });
  });
});

// ---------------------------------------------------------------------------------------------
// RTSP 401 against a real GStreamer RTSP server (@nv/test-util's startRtspTestServer).

afterAll(() => stopRtspTestServers());

describe.skipIf(!rtspTestServerAvailable())('RTSP with wrong credentials through the runtime', () => {
  it('401: Fatal { media, Unauthorized } at once — no restart, no reconnection, no password anywhere', async () => {
    const { port } = await startRtspTestServer({ user: 'admin', password: 'secret' });
    const { health, d } = await runToEnd(
      { kind: 'rtsp', url: `rtsp://admin:wrong@127.0.0.1:${port}/test` },
      { reconnect: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 } },
    );
    expect(d.stopReason).toMatchObject({ kind: 'Fatal', error: { category: 'media', kind: 'Unauthorized' } });
    expect(d.metrics.restarts).toBe(0);
    expect(health.filter((e) => e.type === 'FeedRestarting' || e.type === 'SourceReconnecting')).toEqual([]);
    const all = JSON.stringify([health, d]);
    expect(all).not.toContain('wrong');
    expect(all).toContain('***@127.0.0.1');
  }, 30_000);
});
