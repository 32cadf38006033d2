/**
 * RTSP end-to-end tests against a real GStreamer RTSP server (@nv/test-util's
 * startRtspTestServer: gst-rtsp-server run by the system python). Skipped when it cannot run.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, MediaError, reconnectDelayMs, parseReconnectPolicy } from '@nv/core';
import { freeTcpPort, rtspTestServerAvailable, startRtspTestServer, stopRtspTestServers } from '@nv/test-util';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaSource, mediaErrorKind, type MediaEvent, type MediaSourceState } from './index.js';
import type { NativeFrame } from './native-frame.js';
import { h264Clip, scratch } from './test-fixtures.js';

interface RtspServer { readonly port: number; readonly proc: ChildProcess; readonly url: string }

/**
 * Starts the RTSP test server (@nv/test-util) on `port`. With `clip`, the server plays that MP4
 * once per session and then ends the session.
 */
async function startServer(port: number, auth?: { user: string; password: string }, clip?: string): Promise<RtspServer> {
  return startRtspTestServer({ port, ...(auth ? { user: auth.user, password: auth.password } : {}), ...(clip !== undefined ? { clip } : {}) });
}

/** SIGTERM (or `signal`), then SIGKILL after 2 s; resolves once the process has exited. */
async function stopServer(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Records every event of interest, in order. */
function record(src: MediaSource): MediaEvent[] {
  const events: MediaEvent[] = [];
  for (const t of ['streamStarted', 'connected', 'disconnected', 'reconnecting', 'insecureRtsp', 'error', 'warning', 'stopped'] as const) {
    src.on(t, (e) => events.push(e));
  }
  return events;
}

/** Pulls `n` frames (checking their size), releasing each; fails after `timeoutMs`. */
async function takeFrames(src: MediaSource, n: number, timeoutMs: number): Promise<NativeFrame[]> {
  const seen: NativeFrame[] = [];
  const deadline = Date.now() + timeoutMs;
  while (seen.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`only ${seen.length}/${n} frames within ${timeoutMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    const f = await Promise.race([
      src.next(),
      new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), left); }),
    ]).finally(() => clearTimeout(timer));
    if (f === 'timeout') throw new Error(`only ${seen.length}/${n} frames within ${timeoutMs} ms`);
    if (f === undefined) throw new Error(`stream ended after ${seen.length}/${n} frames`);
    try {
      expect(f.width).toBe(320);
      expect(f.height).toBe(240);
    } finally { f.release(); }
    seen.push(f);
  }
  return seen;
}

/**
 * Pulls up to `n` frames (releasing each); for each, `'frame'`, or `'end'` if the stream ended
 * instead. Fails after `timeoutMs` without one (a hang guard, not a timing check).
 */
async function takeFramesOrEnd(src: MediaSource, n: number, timeoutMs: number): Promise<('frame' | 'end')[]> {
  const out: ('frame' | 'end')[] = [];
  while (out.length < n) {
    let timer: NodeJS.Timeout | undefined;
    const f = await Promise.race([
      src.next(),
      new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); }),
    ]).finally(() => clearTimeout(timer));
    if (f === 'timeout') throw new Error(`no frame within ${timeoutMs} ms`);
    if (f === undefined) { out.push('end'); break; }
    f.release();
    out.push('frame');
  }
  return out;
}

/** Runs the source to its end and returns the error it failed with. */
async function expectFailure(src: MediaSource): Promise<unknown> {
  try {
    for await (const f of src.frames()) f.release();
  } catch (e) {
    return e;
  }
  throw new Error('expected the source to fail');
}

/** Every textual trace of an error: message, JSON, stack, and the same for its causes. */
function errorTexts(e: unknown, depth = 0): string[] {
  if (depth > 5 || e === undefined || e === null) return [];
  if (!(e instanceof Error)) return [String(e)];
  const json = typeof (e as { toJSON?: unknown }).toJSON === 'function' ? JSON.stringify((e as unknown as { toJSON(): unknown }).toJSON()) : '';
  return [e.message, String(e), json, e.stack ?? '', ...errorTexts((e as { cause?: unknown }).cause, depth + 1)];
}

function eventTexts(events: MediaEvent[]): string[] {
  return events.flatMap((ev) => [
    JSON.stringify(ev, (_k, v: unknown) => (v instanceof Error ? { texts: errorTexts(v) } : v)),
    ...('error' in ev ? errorTexts(ev.error) : []),
  ]);
}

const sources = new Set<MediaSource>();
function track(src: MediaSource): MediaSource { sources.add(src); return src; }

describe.skipIf(!rtspTestServerAvailable())('MediaSource: RTSP against a real RTSP server', () => {
  afterEach(async () => {
    for (const s of sources) await s.stop();
    sources.clear();
    await stopRtspTestServers('SIGTERM');
  });

  it('frames flow from rtsp://127.0.0.1:PORT/test with streamStarted and connected', async () => {
    const server = await startServer(await freeTcpPort());
    const src = track(new MediaSource({ kind: 'rtsp', url: server.url }, { noFrameTimeoutMs: 5_000, reconnect: { maxAttempts: 1 } }));
    const events = record(src);
    await takeFrames(src, 10, 10_000);
    await src.stop();
    const types = events.map((e) => e.type);
    expect(events[0]).toEqual({ type: 'insecureRtsp', redactedUrl: server.url }); // plain rtsp:// is reported
    expect(types.slice(1, 3)).toEqual(['streamStarted', 'connected']);
    expect(events[1]).toMatchObject({ type: 'streamStarted', width: 320, height: 240, hardware: false });
    expect(String((events[1] as { decoder?: string }).decoder)).toMatch(/h264/); // the decoder decodebin chose (software here)
    expect(types).not.toContain('disconnected');
    expect(types).not.toContain('error');
    expect(types.at(-1)).toBe('stopped');
  });

  it('survives the server being killed mid-stream and restarted on the same port', async () => {
    const port = await freeTcpPort();
    let server = await startServer(port);
    const reconnect = { baseDelayMs: 200, maxDelayMs: 1_000, backoff: 'exponential' } as const;
    const src = track(new MediaSource({ kind: 'rtsp', url: server.url }, { reconnect, noFrameTimeoutMs: 2_000 }));
    const events = record(src);
    await takeFrames(src, 5, 10_000);
    const before = events.length;

    await stopServer(server.proc, 'SIGKILL');
    await sleep(1_500);
    server = await startServer(port);

    await takeFrames(src, 5, 25_000);
    const after = events.slice(before).filter((e) => e.type !== 'warning' && e.type !== 'insecureRtsp');
    const types = after.map((e) => e.type);

    // disconnected, reconnecting #1, (disconnected, reconnecting #n)*, streamStarted, connected.
    expect(types[0]).toBe('disconnected');
    const lastConnected = types.lastIndexOf('connected');
    expect(lastConnected).toBeGreaterThan(0);
    expect(types.indexOf('connected')).toBe(lastConnected); // connected exactly once after the kill
    const reconnecting = after.filter((e): e is Extract<MediaEvent, { type: 'reconnecting' }> => e.type === 'reconnecting');
    expect(reconnecting.length).toBeGreaterThanOrEqual(1);
    expect(types.lastIndexOf('reconnecting')).toBeLessThan(lastConnected);
    expect(types.slice(lastConnected - 1, lastConnected + 1)).toEqual(['streamStarted', 'connected']);
    // Every reconnecting follows a disconnected; nothing else before the session comes back.
    const retries = types.slice(0, lastConnected - 1);
    for (let i = 0; i < retries.length; i += 2) expect(retries.slice(i, i + 2)).toEqual(['disconnected', 'reconnecting']);
    // Attempts count 1, 2, …; delays follow the policy (200, 400, 800, capped at 1000) and never decrease.
    const policy = parseReconnectPolicy(reconnect);
    reconnecting.forEach((e, i) => {
      expect(e.attempt).toBe(i + 1);
      expect(e.delayMs).toBe(reconnectDelayMs(policy, i));
      expect(e.delayMs).toBe(Math.min(1_000, 200 * 2 ** i));
      if (i > 0) expect(e.delayMs).toBeGreaterThanOrEqual(reconnecting[i - 1]!.delayMs);
    });
    for (const e of after) if (e.type === 'disconnected') expect(MediaError.isInstance(e.error)).toBe(true);
    expect(src.stats().sessions).toBe(1 + reconnecting.length);
    expect(events.some((e) => e.type === 'error')).toBe(false);
    await src.stop();
  }, 45_000);

  it('a session the server ends (a finite clip) is a disconnect: reconnecting, then connected again and frames resume', async () => {
    // 45 frames = 1.5 s at 30 fps; every new session plays the clip again from its start.
    const server = await startServer(await freeTcpPort(), undefined, h264Clip('rtsp-finite', 45));
    const reconnect = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 200 } as const;
    // The watchdog is far longer than the whole test, so only the end of the session can
    // cause the disconnect.
    const src = track(new MediaSource({ kind: 'rtsp', url: server.url }, { reconnect, noFrameTimeoutMs: 120_000 }));
    const events = record(src);
    const stateAt: Partial<Record<MediaEvent['type'], MediaSourceState>> = {};
    let eos = 0;
    src.on('eos', () => { eos++; });
    for (const t of ['disconnected', 'reconnecting', 'connected'] as const) src.on(t, () => { stateAt[t] ??= src.state; });
    const connectedCount = () => events.filter((e) => e.type === 'connected').length;

    // Frames of the first session, up to its end; then frames of the second session.
    let firstSession = 0, secondSession = 0;
    while (secondSession < 10) {
      const [f] = await takeFramesOrEnd(src, 1, 30_000);
      expect(f).toBe('frame'); // never the end of the stream
      if (connectedCount() >= 2) secondSession++; else firstSession++;
    }
    await src.stop();

    const types = events.filter((e) => e.type !== 'warning' && e.type !== 'insecureRtsp').map((e) => e.type);
    expect(types.slice(0, 6)).toEqual(['streamStarted', 'connected', 'disconnected', 'reconnecting', 'streamStarted', 'connected']);
    expect(firstSession).toBeGreaterThan(0);
    expect(secondSession).toBe(10);
    const disconnected = events.find((e): e is Extract<MediaEvent, { type: 'disconnected' }> => e.type === 'disconnected')!;
    expect(disconnected.error.kind).toBe('ConnectionFailed');
    expect(disconnected.error.message).toMatch(/the server ended the session \(end of stream\)/);
    expect(events.find((e) => e.type === 'reconnecting')).toEqual({ type: 'reconnecting', attempt: 1, delayMs: 200 });
    // Visible while it is down; streaming again once connected.
    expect(stateAt).toEqual({ disconnected: 'reconnecting', reconnecting: 'reconnecting', connected: 'streaming' });
    expect(eos).toBe(0);
    expect(types).not.toContain('error');
    expect(src.stats().sessions).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('wrong credentials fail with Unauthorized at once: 0 reconnection attempts, no password anywhere', async () => {
    const server = await startServer(await freeTcpPort(), { user: 'admin', password: 'secret' });
    // A policy that would retry 3 times: a 401 must not use it.
    const src = track(new MediaSource({ kind: 'rtsp', url: `rtsp://admin:wrong@127.0.0.1:${server.port}/test` }, {
      reconnect: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 }, noFrameTimeoutMs: 60_000,
    }));
    const events = record(src);
    const err = await expectFailure(src);
    expect(mediaErrorKind(err)).toBe('Unauthorized');
    expect((err as MediaError).message).toMatch(/refused the credentials \(401\)/);
    expect(events.filter((e) => e.type === 'reconnecting')).toHaveLength(0);
    expect(events.filter((e) => e.type !== 'insecureRtsp' && e.type !== 'warning').map((e) => e.type)).toEqual(['disconnected', 'error']);
    expect(src.stats().sessions).toBe(1);
    expect(src.state).toBe('failed');
    const texts = [...errorTexts(err), ...eventTexts(events)];
    expect(texts.join('\n')).toMatch(/rtsp:\/\/\*\*\*@127\.0\.0\.1/);
    for (const t of texts) expect(t).not.toContain('wrong');
  }, 30_000);

  it('a stream path the server does not have (404) is retried per the policy, then ConnectionFailed', async () => {
    // Not permanent: a restreaming server answers 404 while its camera is away.
    const server = await startServer(await freeTcpPort());
    const src = track(new MediaSource({ kind: 'rtsp', url: `rtsp://127.0.0.1:${server.port}/nope` }, {
      reconnect: { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 100 }, noFrameTimeoutMs: 60_000,
    }));
    const events = record(src);
    const err = await expectFailure(src);
    expect(mediaErrorKind(err)).toBe('ConnectionFailed');
    expect((err as MediaError).message).toMatch(/gave up after 1 reconnection attempts.*stream not found \(404\)/);
    expect(events.filter((e) => e.type !== 'insecureRtsp' && e.type !== 'warning').map((e) => e.type))
      .toEqual(['disconnected', 'reconnecting', 'disconnected', 'error']);
  }, 30_000);

  it('an unreachable host fails with ConnectionFailed after the allowed attempts', async () => {
    const src = track(new MediaSource({ kind: 'rtsp', url: 'rtsp://127.0.0.1:1/test' }, {
      reconnect: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 }, noFrameTimeoutMs: 5_000,
    }));
    const events = record(src);
    const err = await expectFailure(src);
    expect(MediaError.isInstance(err)).toBe(true);
    expect((err as MediaError).kind).toBe('ConnectionFailed');
    const reconnecting = events.filter((e) => e.type === 'reconnecting');
    expect(reconnecting).toEqual([
      { type: 'reconnecting', attempt: 1, delayMs: 100 },
      { type: 'reconnecting', attempt: 2, delayMs: 100 },
    ]);
    expect(events.filter((e) => e.type === 'disconnected')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'connected')).toHaveLength(0);
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
  }, 25_000);

  it('right credentials stream and never show the password', async () => {
    const server = await startServer(await freeTcpPort(), { user: 'admin', password: 'secret' });
    const good = track(new MediaSource({ kind: 'rtsp', url: `rtsp://admin:secret@127.0.0.1:${server.port}/test` }, {
      reconnect: { maxAttempts: 1 }, noFrameTimeoutMs: 5_000,
    }));
    const goodEvents = record(good);
    await takeFrames(good, 5, 10_000);
    expect(goodEvents.map((e) => e.type)).toContain('connected');
    for (const t of eventTexts(goodEvents)) expect(t).not.toContain('secret');
  }, 30_000);

  it('an RTSP URL carrying launch syntax is refused by validation and nothing runs', async () => {
    const port = await freeTcpPort();
    const target = join(scratch, 'pwned-rtsp');
    let caught: unknown;
    try {
      track(new MediaSource({ kind: 'rtsp', url: `rtsp://127.0.0.1:${port}/test ! filesink location=${target}` }));
    } catch (e) { caught = e; }
    expect(ConfigError.isInstance(caught)).toBe(true);
    expect((caught as ConfigError).message).toMatch(/url/);
    await sleep(200);
    expect(existsSync(target)).toBe(false);
  });
});
