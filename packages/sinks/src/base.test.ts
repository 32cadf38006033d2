import { ConfigError, NvError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { QueuedSink, subjectProblem, type Pending } from './base.js';
import { backoffDelay, parseRetryAfter, resolveBackoff } from './backoff.js';
import { Deque } from './deque.js';
import { SinkError, scrubSecrets } from './errors.js';
import type { MessageSinkStats, SinkCommonOptions, SinkHealthEvent } from './types.js';
import { waitFor } from './test-fixtures.js';

/** A sink whose transport the test drives: taken messages wait in `taken` until the test settles them. */
class ManualSink extends QueuedSink {
  readonly taken: Pending[] = [];
  up = false;
  maxInFlight = 1;
  teardowns: boolean[] = [];
  constructor(options: SinkCommonOptions = {}) { super('webhook', 'manual://target', ['s3cret'], options); }
  protected onWake(): void {
    while (this.up && this.inFlightCount < this.maxInFlight) {
      const p = this.take();
      if (!p) return;
      this.taken.push(p);
    }
  }
  protected async teardown(graceful: boolean): Promise<void> { this.teardowns.push(graceful); }
  deliverAll(): void { for (const p of this.taken.splice(0)) this.settleDelivered(p); this.wake(); }
  failAll(): void { this.requeue(this.taken.splice(0)); }
  kick(): void { this.wake(); }
  setUp(up: boolean): void { this.up = up; this.setConnected(up, up ? undefined : this.error('ConnectionFailed', 'down: password s3cret')); }
  permanent(): void { const p = this.taken.shift()!; this.settleFailed(p, this.error('Rejected', 'HTTP 400')); this.wake(); }
}

const invariant = (s: MessageSinkStats): void => {
  expect(s.accepted).toBe(s.queued + s.inFlight + s.delivered + s.dropped.overflow + s.dropped.failed + s.dropped.shutdown);
};

describe('QueuedSink (the semantics every sink shares)', () => {
  it('encodes once at publish, keeps order, delivers, and counts everything (accepted = queued + in flight + delivered + drops)', async () => {
    const s = new ManualSink();
    s.setUp(true);
    for (let i = 0; i < 5; i++) expect(s.publish({ id: `m${i}`, subject: 'a.b', payload: { i } })).toBe(true);
    await waitFor(() => s.taken.length === 1, 'first take');
    expect(JSON.parse(s.taken[0]!.body.toString())).toEqual({ id: 'm0', subject: 'a.b', payload: { i: 0 } });
    for (let i = 0; i < 5; i++) { await waitFor(() => s.taken.length === 1, 'take'); expect(s.taken[0]!.id).toBe(`m${i}`); s.deliverAll(); }
    const st = s.stats();
    expect(st).toMatchObject({ accepted: 5, delivered: 5, queued: 0, inFlight: 0, connected: true, closed: false, kind: 'webhook', target: 'manual://target' });
    invariant(st);
    expect((await s.close()).abandoned).toBe(0);
  });

  it('dropOldest: a full queue evicts the oldest, counts it, and reports SinkDropped at once then at most once a second with the accumulated count; counts add up at close', async () => {
    const events: SinkHealthEvent[] = [];
    const s = new ManualSink({ queueSize: 3, onHealth: (e) => events.push(e) });
    for (let i = 0; i < 10; i++) expect(s.publish({ id: `m${i}`, payload: i })).toBe(true);
    expect(s.stats()).toMatchObject({ queued: 3, dropped: { overflow: 7, total: 7 } });
    // First drop reported at once, the rest (6) held back by the 1 s throttle.
    const drops = () => events.filter((e) => e.type === 'SinkDropped');
    expect(drops()).toEqual([expect.objectContaining({ reason: 'overflow', count: 1 })]);
    await waitFor(() => drops().length === 2, 'the throttled SinkDropped', 3000);
    expect(drops()[1]).toMatchObject({ reason: 'overflow', count: 6 });
    s.setUp(true);
    await waitFor(() => s.taken.length === 1, 'take');
    expect(s.taken[0]!.id).toBe('m7'); // the three newest survived: m7, m8, m9
    invariant(s.stats());
    const r = await s.close({ timeoutMs: 50 });
    expect(r).toMatchObject({ abandoned: 3, timedOut: true });
    const sum = (reason: string) => drops().filter((e) => e.type === 'SinkDropped' && e.reason === reason).reduce((n, e) => n + (e.type === 'SinkDropped' ? e.count : 0), 0);
    expect(sum('overflow')).toBe(7);
    expect(sum('shutdown')).toBe(3);
    expect(s.stats().dropped).toEqual({ overflow: 7, failed: 0, shutdown: 3, rejected: 0, total: 10 });
    expect(s.teardowns).toEqual([false]);
  });

  it('dropNewest: a full queue refuses the new message (publish returns false), counted as overflow', async () => {
    const s = new ManualSink({ queueSize: 2, overflow: 'dropNewest' });
    expect([1, 2, 3, 4].map((i) => s.publish({ id: `m${i}`, payload: i }))).toEqual([true, true, false, false]);
    s.setUp(true);
    await waitFor(() => s.taken.length === 1, 'take');
    expect(s.taken[0]!.id).toBe('m1');
    invariant(s.stats());
    await s.close({ timeoutMs: 0 });
  });

  it('requeued messages go back to the head in order (retries counted); a permanent failure is counted failed with SinkDeliveryFailed', async () => {
    const events: SinkHealthEvent[] = [];
    const s = new ManualSink({ onHealth: (e) => events.push(e) });
    s.maxInFlight = 2;
    s.setUp(true);
    for (let i = 0; i < 4; i++) s.publish({ id: `m${i}`, payload: i });
    await waitFor(() => s.taken.length === 2, 'two taken');
    s.failAll();
    s.kick();
    await waitFor(() => s.taken.length === 2, 'retaken');
    expect(s.taken.map((p) => p.id)).toEqual(['m0', 'm1']);
    expect(s.stats().retries).toBe(2);
    s.permanent();
    expect(events.find((e) => e.type === 'SinkDeliveryFailed')).toMatchObject({ id: 'm0', error: { kind: 'Rejected' } });
    expect(s.stats().dropped.failed).toBe(1);
    invariant(s.stats());
    await s.close({ timeoutMs: 0 });
  });

  it('connection events: SinkDisconnected once per outage (scrubbed error), SinkReconnected with the downtime; a throwing listener is ignored', async () => {
    const events: SinkHealthEvent[] = [];
    const s = new ManualSink({ onHealth: (e) => { events.push(e); throw new Error('listener bug'); } });
    s.setUp(false);
    s.setUp(false);
    s.setUp(true);
    s.setUp(true);
    s.setUp(false);
    expect(events.map((e) => e.type)).toEqual(['SinkDisconnected', 'SinkReconnected', 'SinkDisconnected']);
    const down = events[0]!;
    expect(down.type === 'SinkDisconnected' && SinkError.isInstance(down.error) && NvError.isInstance(down.error)).toBe(true);
    expect(JSON.stringify(events)).not.toContain('s3cret');
    expect(s.stats()).toMatchObject({ connected: false, reconnects: 1 });
    expect(s.stats().lastError).toContain('***');
    expect(s.stats().lastError).not.toContain('s3cret');
    await s.close({ timeoutMs: 0 });
  });

  it('publish never throws: invalid id, subject or payload, and publishing after close, are refused and counted rejected', async () => {
    const s = new ManualSink();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad: unknown[] = [
      { id: '', payload: 1 }, { id: 7, payload: 1 }, { id: 'a', subject: 'a..b', payload: 1 }, { id: 'a', subject: 'a/b', payload: 1 },
      { id: 'a', subject: 'a.#', payload: 1 }, { id: 'a', payload: undefined }, { id: 'a', payload: circular }, { id: 'a', payload: 1n }, null,
    ];
    for (const m of bad) expect(s.publish(m as never)).toBe(false);
    expect(s.stats().dropped.rejected).toBe(bad.length);
    expect(s.stats().accepted).toBe(0);
    await s.close({ timeoutMs: 0 });
    expect(s.publish({ id: 'late', payload: 1 })).toBe(false);
    expect(s.stats()).toMatchObject({ closed: true, dropped: { rejected: bad.length + 1 } });
  });

  it('close is idempotent, delivers what is buffered when it can (graceful teardown) and reports it', async () => {
    const s = new ManualSink();
    for (let i = 0; i < 3; i++) s.publish({ id: `m${i}`, payload: i });
    const p1 = s.close({ timeoutMs: 5000 });
    const p2 = s.close({ timeoutMs: 1 });
    expect(p1).toBe(p2);
    s.setUp(true);
    const drain = setInterval(() => s.deliverAll(), 5);
    const r = await p1;
    clearInterval(drain);
    expect(r).toEqual({ delivered: 3, abandoned: 0, timedOut: false });
    expect(s.teardowns).toEqual([true]);
  });

  it('rejects bad common options with a ConfigError naming the field', () => {
    expect(() => new ManualSink({ queueSize: 0 })).toThrow(ConfigError);
    try { new ManualSink({ queueSize: 1.5 }); } catch (e) { expect(ConfigError.isInstance(e) && e.field).toBe('queueSize'); }
    try { new ManualSink({ overflow: 'nope' as never }); } catch (e) { expect(ConfigError.isInstance(e) && e.field).toBe('overflow'); }
    try { new ManualSink({ closeTimeoutMs: -1 }); } catch (e) { expect(ConfigError.isInstance(e) && e.field).toBe('closeTimeoutMs'); }
  });
});

describe('helpers', () => {
  it('Deque: push, shift, unshift, pop around the ring', () => {
    const d = new Deque<number>(3);
    d.push(1); d.push(2); d.push(3);
    expect(d.full).toBe(true);
    expect(d.shift()).toBe(1);
    d.push(4);
    d.shift();
    d.unshift(9);
    expect(d.drain()).toEqual([9, 3, 4]);
    d.push(5); d.push(6);
    expect(d.pop()).toBe(6);
    expect(d.peek()).toBe(5);
  });

  it('subjectProblem accepts dotted tokens and names what is wrong', () => {
    expect(subjectProblem('events.lineCrossed')).toBeUndefined();
    expect(subjectProblem('a..b')).toMatch(/empty token/);
    expect(subjectProblem('a b')).toMatch(/invalid token/);
    expect(subjectProblem('>')).toMatch(/invalid token/);
  });

  it('backoff: exponential, capped, jittered between half and full; Retry-After seconds and dates', () => {
    const b = resolveBackoff({ initialMs: 100, maxMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, b, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, b, () => 0)).toBe(200);
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(() => resolveBackoff({ initialMs: -1 })).toThrow(ConfigError);
  });

  it('scrubSecrets replaces raw and URL-encoded secrets and redacts URLs of any scheme', () => {
    const s = scrubSecrets('failed nats://bob:p@ss w0rd@h:4222 and mqtt://u:x@h with p%40ss%20w0rd and p@ss w0rd', ['p@ss w0rd']);
    expect(s).not.toContain('p@ss');
    expect(s).not.toContain('p%40ss');
    expect(s).toContain('mqtt://***@h');
  });
});
