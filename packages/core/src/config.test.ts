import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError, DEFAULT_BACKPRESSURE_POLICY, DEFAULT_RECONNECT_POLICY, DEFAULT_RESTART_POLICY, DEFAULT_RETENTION_POLICY,
  SourceSpecSchema, parseBackpressurePolicy, parseCameraMode, parseConfig, parseReconnectPolicy, parseSourceSpec, reconnectDelayMs, safeParseSourceSpec,
} from './index.js';

function configError(fn: () => unknown): ConfigError {
  try { fn(); } catch (e) { if (ConfigError.isInstance(e)) return e; throw e; }
  throw new Error('expected a ConfigError');
}

describe('SourceSpec', () => {
  it('fills defaults per kind', () => {
    expect(parseSourceSpec({ kind: 'file', path: '/v.mp4' })).toEqual({ kind: 'file', path: '/v.mp4', loop: false });
    expect(parseSourceSpec({ kind: 'rtsp', url: 'rtsp://cam/live' })).toEqual({
      kind: 'rtsp', url: 'rtsp://cam/live', transport: 'tcp', security: 'allowInsecure', latencyMs: 200, tcpTimeoutMs: 10_000,
    });
    expect(parseSourceSpec({ kind: 'testPattern' })).toMatchObject({ pattern: 'smpte', width: 1280, height: 720, fps: 30, live: false });
    expect(parseSourceSpec({ kind: 'v4l2', device: '/dev/video0' })).toEqual({ kind: 'v4l2', device: '/dev/video0' });
    expect(parseSourceSpec({ kind: 'custom', pipeline: 'videotestsrc' })).toEqual({ kind: 'custom', pipeline: 'videotestsrc' });
  });

  it.each([
    ['rtsp://cam/x', undefined, 'allowInsecure'],
    ['rtsps://cam/x', undefined, 'preferTls'],
    ['cam/x', undefined, 'preferTls'],
    ['rtsp://cam/x', 'requireTls', 'requireTls'],
  ] as const)('rtsp %s with security %s → %s (reference defaults)', (url, security, expected) => {
    expect(parseSourceSpec({ kind: 'rtsp', url, ...(security ? { security } : {}) })).toMatchObject({ security: expected });
  });

  it.each([
    ['missing kind', { path: '/x' }, 'kind'],
    ['unknown kind', { kind: 'ftp', path: '/x' }, 'kind'],
    ['empty path', { kind: 'file', path: '' }, 'path'],
    ['control char in path', { kind: 'file', path: '/a\nb' }, 'path'],
    ['loop not boolean', { kind: 'file', path: '/a', loop: 'yes' }, 'loop'],
    ['url with spaces', { kind: 'rtsp', url: 'rtsp://cam/x ! fakesink' }, 'url'],
    ['bad transport', { kind: 'rtsp', url: 'rtsp://c/x', transport: 'sctp' }, 'transport'],
    ['negative latency', { kind: 'rtsp', url: 'rtsp://c/x', latencyMs: -1 }, 'latencyMs'],
    ['device not in /dev', { kind: 'v4l2', device: 'video0' }, 'device'],
    ['zero fps', { kind: 'testPattern', fps: 0 }, 'fps'],
    ['unknown field', { kind: 'file', path: '/a', lopo: true }, 'lopo'],
    ['http url for rtsp', { kind: 'rtsp', url: 'http://cam/x' }, 'url'],
    ['file url for rtsp', { kind: 'rtsp', url: 'file:///etc/passwd' }, 'url'],
  ])('%s → ConfigError naming the field', (_n, input, field) => {
    const e = configError(() => parseSourceSpec(input));
    expect(e.kind).toBe('InvalidConfig');
    expect(e.field).toBe(field);
    if (field) expect(e.message).toContain(`${field}:`);
  });

  it('safeParse returns instead of throwing', () => {
    const r = safeParseSourceSpec({ kind: 'file' });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.field).toBe('path');
  });

  it('names every unknown key as its own field, never as *** (the sanitizer read "key: <name>" as a secret)', () => {
    const e = configError(() => parseConfig(z.strictObject({ a: z.strictObject({ b: z.number().optional() }) }), { a: { bogus: 1, other: 2 }, maxFrame: 5 }, 'job'));
    expect(e.issues).toEqual([
      { field: 'a.bogus', message: 'unknown field' }, { field: 'a.other', message: 'unknown field' }, { field: 'maxFrame', message: 'unknown field' },
    ]);
    expect(e.message).toBe('invalid job: a.bogus: unknown field; a.other: unknown field; maxFrame: unknown field');
    expect(e.message).not.toContain('***');
    const p = configError(() => parseSourceSpec({ kind: 'file', path: '/a', lopo: true }));
    expect(p.message).toBe('invalid source: lopo: unknown field');
    const withPrefix = configError(() => parseConfig(SourceSpecSchema, { kind: 'file', path: '/a', x: 1 }, 'source', 'feeds[2].source'));
    expect(withPrefix.field).toBe('feeds[2].source.x');
  });

  it('an unknown key holding a credential names the key, never the value', () => {
    const e = configError(() => parseSourceSpec({ kind: 'rtsp', url: 'rtsp://cam/x', password: 'hunter2', token: 'abc' }));
    expect(e.issues.map((i) => i.field)).toEqual(['password', 'token']);
    expect(e.message).toContain('password: unknown field');
    expect(e.message).toContain('token: unknown field');
    expect(e.message + JSON.stringify(e.toJSON())).not.toMatch(/hunter2|abc/);
  });

  it('a secret inside a field message is still redacted', () => {
    const e = ConfigError.invalidConfig('settings', [{ field: 'feeds[0].source', message: 'cannot open rtsp://admin:hunter2@cam/x password=hunter2' }]);
    expect(e.message).toContain('feeds[0].source: cannot open rtsp://***@cam/x password=***');
    expect(e.message).not.toContain('hunter2');
  });

  it('never echoes credentials in a validation error', () => {
    const e = configError(() => parseSourceSpec({ kind: 'rtsp', url: 'rtsp://admin:hunter2@cam/x y' }));
    expect(e.message + JSON.stringify(e.toJSON())).not.toContain('hunter2');
  });
});

describe('CameraMode is required and closed', () => {
  it.each([['fixed'], ['observed']])('%s parses', (m) => expect(parseCameraMode(m)).toBe(m));
  it.each([[undefined], ['ptz'], [0]])('%s is rejected', (m) => expect(() => parseCameraMode(m)).toThrow(/cameraMode|Invalid/));
});

describe('policies', () => {
  it('defaults match the reference', () => {
    expect(DEFAULT_RECONNECT_POLICY).toEqual({ maxAttempts: 0, baseDelayMs: 1000, maxDelayMs: 30000, backoff: 'exponential' });
    expect(DEFAULT_RESTART_POLICY).toEqual({ maxRestarts: 5, restartWindowMs: 300000, restartDelayMs: 2000, restartOn: 'sourceOrStagePanic' });
    expect(DEFAULT_BACKPRESSURE_POLICY).toEqual({ kind: 'dropOldest', queueDepth: 4 });
    expect(DEFAULT_RETENTION_POLICY).toEqual({ maxTrackAgeMs: 30000, maxObservationsPerTrack: 100, maxConcurrentTracks: 500, maxTrajectoryPointsPerTrack: 1000 });
  });

  it.each([
    ['exponential', 0, 1000], ['exponential', 1, 2000], ['exponential', 4, 16000], ['exponential', 5, 30000], ['exponential', 80, 30000],
    ['linear', 0, 1000], ['linear', 2, 3000], ['linear', 40, 30000],
  ] as const)('%s backoff attempt %i → %i ms', (backoff, attempt, ms) => {
    expect(reconnectDelayMs(parseReconnectPolicy({ backoff }), attempt)).toBe(ms);
  });

  it.each([
    [() => parseBackpressurePolicy({ queueDepth: 0 }), 'queueDepth'],
    [() => parseBackpressurePolicy({ kind: 'dropAll' }), 'kind'],
    [() => parseReconnectPolicy({ baseDelayMs: 5000, maxDelayMs: 100 }), 'maxDelayMs'],
    [() => parseReconnectPolicy({ maxAttempts: 1.5 }), 'maxAttempts'],
  ])('invalid policy names its field (%#)', (fn, field) => {
    expect(configError(fn).field).toBe(field);
  });
});

describe('backpressure defaults per source', () => {
  it('files and non-live test patterns block; live sources drop the oldest; an explicit kind wins', () => {
    const file = parseSourceSpec({ kind: 'file', path: '/v.mp4' });
    expect(parseBackpressurePolicy({}, file)).toEqual({ kind: 'block', queueDepth: 4 });
    expect(parseBackpressurePolicy({ queueDepth: 8 }, file)).toEqual({ kind: 'block', queueDepth: 8 });
    expect(parseBackpressurePolicy({ kind: 'dropNewest' }, file).kind).toBe('dropNewest');
    expect(parseBackpressurePolicy({}, parseSourceSpec({ kind: 'testPattern' })).kind).toBe('block');
    expect(parseBackpressurePolicy({}, parseSourceSpec({ kind: 'testPattern', live: true })).kind).toBe('dropOldest');
    expect(parseBackpressurePolicy({}, parseSourceSpec({ kind: 'rtsp', url: 'rtsp://cam/live' })).kind).toBe('dropOldest');
    expect(parseBackpressurePolicy({}).kind).toBe('dropOldest'); // no source: the schema's default
  });
});
