import { InvalidArgumentError, ManualClock } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { seededRandom as prng } from '@nv/test-util';
import { Resequencer, type ResequencedItem, type ResequencerOptions } from './resequencer.js';


/** Lets pending promise continuations run (no timers, no sleep). */
const flush = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

type Item = ResequencedItem<string, string>;

function setup(opts: Partial<ResequencerOptions<string, string>> & { capacity: number }) {
  const clock = new ManualClock();
  const items: Item[] = [];
  const discarded: [string, number][] = [];
  const rs = new Resequencer<string, string>({
    clock, gapTimeoutMs: 100, deliver: (it) => { items.push(it); }, discard: (v, s) => { discarded.push([v, s]); }, ...opts,
  });
  const show = () => items.map((it) => (it.kind === 'value' ? `${it.seq}=${it.value}` : `${it.seq}:${it.kind}${it.kind === 'tombstone' ? `(${it.reason})` : ''}`));
  return { clock, rs, items, discarded, show };
}

function expectInvalidArg(fn: () => unknown, argument: string): void {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  expect(InvalidArgumentError.isInstance(caught)).toBe(true);
  expect((caught as InvalidArgumentError).argument).toBe(argument);
}

describe('Resequencer', () => {
  it.each([1, 3, 8])('random head latencies with capacity %i: exact order, tombstones interleaved, bound never exceeded', (cap) => {
    const rand = prng(0xc0ffee + cap);
    const total = 600;
    const { clock, rs, items } = setup({ capacity: cap, gapTimeoutMs: Infinity });
    const inHead: number[] = [];
    const tombstoned = new Set<number>();
    let reserved = 0;
    let refused = 0;
    while (items.length < total) {
      // Fill the head up to the bound (sometimes less), as a feed taking frames would.
      while (reserved < total && rand() < 0.8) {
        const seq = rs.reserve();
        if (seq === undefined) { refused++; expect(rs.isFull).toBe(true); expect(rs.inFlight + rs.depth).toBe(cap); break; }
        expect(seq).toBe(reserved++);
        inHead.push(seq);
      }
      if (inHead.length === 0) continue;
      clock.advance(Math.floor(rand() * 20));
      const k = Math.floor(rand() * inHead.length);
      const seq = inHead[k]!;
      inHead[k] = inHead[inHead.length - 1]!;
      inHead.pop();
      if (rand() < 0.15) { tombstoned.add(seq); rs.tombstone(seq, `drop${seq}`); } else rs.complete(seq, `v${seq}`);
      const s = rs.stats();
      expect(s.inFlight + s.depth).toBeLessThanOrEqual(cap);
      expect(s.inFlight).toBe(inHead.length);
    }
    expect(items.map((it) => it.seq)).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const it of items) {
      if (tombstoned.has(it.seq)) expect(it).toEqual({ seq: it.seq, kind: 'tombstone', reason: `drop${it.seq}` });
      else expect(it).toEqual({ seq: it.seq, kind: 'value', value: `v${it.seq}` });
    }
    const s = rs.stats();
    expect(s).toMatchObject({ capacity: cap, nextSeq: total, inFlight: 0, depth: 0, delivered: total, tombstones: tombstoned.size, gapTimeouts: 0, discardedLate: 0, stale: 0 });
    expect(s.maxDepthSeen).toBeLessThanOrEqual(cap - 1); // a synchronous tail: the missing seq is always in flight
    expect(s.reorderWait.count).toBe(total - tombstoned.size);
    expect(s.reorderWait.maxMs).toBeLessThanOrEqual(s.reorderWait.totalMs);
    if (cap > 1) { expect(s.maxDepthSeen).toBeGreaterThan(0); expect(s.reorderWait.totalMs).toBeGreaterThan(0); }
    expect(refused).toBeGreaterThan(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('delivers synchronously within complete(), and a seq settling out of order waits for the earlier one', () => {
    const { clock, rs, show } = setup({ capacity: 4 });
    const [a, b, c] = [rs.reserve()!, rs.reserve()!, rs.reserve()!];
    expect([a, b, c]).toEqual([0, 1, 2]);
    clock.advance(5);
    rs.complete(2, 'c');
    rs.tombstone(1, 'failed');
    expect(show()).toEqual([]);
    expect(rs.stats()).toMatchObject({ inFlight: 1, depth: 2 });
    clock.advance(7);
    rs.complete(0, 'a');
    expect(show()).toEqual(['0=a', '1:tombstone(failed)', '2=c']);
    expect(rs.stats()).toMatchObject({ inFlight: 0, depth: 0, maxDepthSeen: 2, delivered: 3, tombstones: 1, gapTimeouts: 0 });
    expect(rs.stats().reorderWait).toEqual({ count: 2, totalMs: 7, maxMs: 7 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('the bound: reserve returns undefined at capacity until a delivery frees room; whenNotFull resolves then', async () => {
    const { rs, show } = setup({ capacity: 3 });
    expect([rs.reserve(), rs.reserve(), rs.reserve()]).toEqual([0, 1, 2]);
    expect(rs.isFull).toBe(true);
    expect(rs.reserve()).toBeUndefined();
    let notFull = false;
    void rs.whenNotFull().then(() => { notFull = true; });
    rs.complete(2, 'c');
    rs.complete(1, 'b');
    expect(rs.reserve()).toBeUndefined(); // settled but waiting still holds room
    expect(rs.stats()).toMatchObject({ inFlight: 1, depth: 2 });
    await flush();
    expect(notFull).toBe(false);
    rs.complete(0, 'a');
    expect(show()).toEqual(['0=a', '1=b', '2=c']);
    expect(rs.isFull).toBe(false);
    await flush();
    expect(notFull).toBe(true);
    expect(rs.reserve()).toBe(3);
    await expect(rs.whenNotFull()).resolves.toBeUndefined();
  });

  describe('gap deadline', () => {
    it('fires only after a later seq settled and gapTimeoutMs passed; the late value goes to discard', () => {
      const { clock, rs, show, discarded } = setup({ capacity: 4, gapTimeoutMs: 100 });
      rs.reserve(); rs.reserve(); rs.reserve();
      clock.advance(10_000); // nothing waits behind seq 0: no deadline at all
      expect(clock.pendingTimers).toBe(0);
      expect(show()).toEqual([]);
      rs.complete(1, 'b');
      expect(clock.nextDue()).toBe(10_100);
      clock.advance(99);
      expect(show()).toEqual([]);
      clock.advance(1);
      expect(show()).toEqual(['0:gap', '1=b']); // seq 2 is not overtaken: it is waited for
      expect(clock.pendingTimers).toBe(0);
      expect(rs.stats()).toMatchObject({ gapTimeouts: 1, stale: 1, inFlight: 1, depth: 0 });
      rs.complete(0, 'late');
      expect(discarded).toEqual([['late', 0]]);
      expect(rs.stats()).toMatchObject({ discardedLate: 1, stale: 0 });
      expectInvalidArg(() => rs.complete(0, 'again'), 'seq'); // no longer stale: already settled
      rs.complete(2, 'c');
      expect(show()).toEqual(['0:gap', '1=b', '2=c']);
    });

    it('is cancelled when the waited-for seq settles in time', () => {
      const { clock, rs, show } = setup({ capacity: 4, gapTimeoutMs: 100 });
      rs.reserve(); rs.reserve();
      rs.complete(1, 'b');
      clock.advance(99);
      rs.complete(0, 'a');
      expect(clock.pendingTimers).toBe(0);
      clock.advance(1000);
      expect(show()).toEqual(['0=a', '1=b']);
      expect(rs.stats().gapTimeouts).toBe(0);
    });

    it('counts from the first later settle, also a tombstone, and gives up every seq it overtook', () => {
      const { clock, rs, show, discarded } = setup({ capacity: 5, gapTimeoutMs: 100 });
      for (let i = 0; i < 5; i++) rs.reserve();
      rs.tombstone(2, 'x'); // overtakes 0 and 1 at t=0
      clock.advance(50);
      rs.complete(4, 'e'); // overtakes 3 at t=50
      clock.advance(50);
      expect(show()).toEqual(['0:gap', '1:gap', '2:tombstone(x)']);
      clock.advance(49);
      rs.tombstone(1, 'late'); // a late tombstone is dropped
      expect(show()).toHaveLength(3);
      clock.advance(1);
      expect(show()).toEqual(['0:gap', '1:gap', '2:tombstone(x)', '3:gap', '4=e']);
      expect(rs.stats()).toMatchObject({ gapTimeouts: 3, stale: 2, delivered: 5, tombstones: 1, inFlight: 0, depth: 0 });
      rs.complete(3, 'late3');
      expect(discarded).toEqual([['late3', 3]]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('given-up seqs leave the window; gapTimeoutMs 0 gives up at once', () => {
      const { rs, show } = setup({ capacity: 2, gapTimeoutMs: 0 });
      rs.reserve(); rs.reserve();
      rs.complete(1, 'b');
      expect(show()).toEqual(['0:gap', '1=b']);
      expect(rs.reserve()).toBe(2);
      expect(rs.reserve()).toBe(3);
      expect(rs.stats()).toMatchObject({ inFlight: 2, stale: 1 });
    });

    it('random latencies with losses: every seq delivered once, in order; every late value discarded', () => {
      const rand = prng(42);
      const cap = 6;
      const { clock, rs, items, discarded } = setup({ capacity: cap, gapTimeoutMs: 30 });
      const inHead: { seq: number; due: number }[] = [];
      let reserved = 0;
      for (let step = 0; step < 3000 && reserved < 400; step++) {
        for (let s = rs.reserve(); s !== undefined; s = reserved < 400 ? rs.reserve() : undefined) {
          reserved++;
          inHead.push({ seq: s, due: clock.now() + Math.floor(rand() * (rand() < 0.05 ? 200 : 25)) });
        }
        clock.advance(1);
        for (let k = inHead.length - 1; k >= 0; k--) {
          const h = inHead[k]!;
          if (h.due > clock.now()) continue;
          inHead.splice(k, 1);
          rs.complete(h.seq, `v${h.seq}`);
        }
        const st = rs.stats();
        expect(st.inFlight + st.depth).toBeLessThanOrEqual(cap);
      }
      clock.advance(1000);
      for (const h of inHead.splice(0)) rs.complete(h.seq, `v${h.seq}`);
      expect(items.map((it) => it.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i));
      const gaps = items.filter((it) => it.kind === 'gap').map((it) => it.seq);
      const st = rs.stats();
      expect(gaps.length).toBeGreaterThan(0);
      expect(st.gapTimeouts).toBe(gaps.length);
      expect(discarded.map(([, s]) => s).sort((x, y) => x - y)).toEqual(gaps);
      expect(st).toMatchObject({ discardedLate: gaps.length, stale: 0, inFlight: 0, depth: 0 });
    });
  });

  describe('async tail', () => {
    it('is strictly serial while completions keep arriving, and the bound holds behind a slow tail', async () => {
      const rand = prng(7);
      const cap = 5;
      const clock = new ManualClock();
      const seen: number[] = [];
      const pending: (() => void)[] = [];
      let active = 0;
      let maxActive = 0;
      const rs = new Resequencer<number>({
        capacity: cap, clock, gapTimeoutMs: Infinity,
        deliver: (it) => {
          active++;
          maxActive = Math.max(maxActive, active);
          seen.push(it.seq);
          return new Promise<void>((resolve) => pending.push(() => { active--; resolve(); }));
        },
      });
      const inHead: number[] = [];
      let reserved = 0;
      let refused = 0;
      while (seen.length < 300) {
        for (;;) {
          const s = reserved < 300 ? rs.reserve() : undefined;
          if (s === undefined) { if (reserved < 300) refused++; break; }
          reserved++;
          inHead.push(s);
        }
        const n = Math.floor(rand() * 3);
        for (let j = 0; j < n && inHead.length > 0; j++) {
          const k = Math.floor(rand() * inHead.length);
          const seq = inHead.splice(k, 1)[0]!;
          rs.complete(seq, seq * 2);
          expect(active).toBeLessThanOrEqual(1);
        }
        expect(rs.inFlight + rs.depth).toBeLessThanOrEqual(cap);
        if (rand() < 0.5 && pending.length > 0) { pending.shift()!(); await flush(); }
      }
      while (pending.length > 0) { pending.shift()!(); await flush(); }
      expect(maxActive).toBe(1);
      expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(refused).toBeGreaterThan(0);
      expect(rs.stats()).toMatchObject({ delivered: 300, depth: 0, inFlight: 0 });
      expect(rs.stats().maxDepthSeen).toBe(cap);
    });

    it('errors thrown or rejected by deliver go to onError and the next item follows', async () => {
      const errors: [unknown, number][] = [];
      const seen: number[] = [];
      const rs = new Resequencer<string>({
        capacity: 4, clock: new ManualClock(), onError: (e, s) => { errors.push([e, s]); },
        deliver: (it) => {
          seen.push(it.seq);
          if (it.seq === 0) throw new Error('sync');
          if (it.seq === 1) return Promise.reject(new Error('async'));
        },
      });
      for (let i = 0; i < 3; i++) rs.reserve();
      rs.complete(2, 'c'); rs.complete(1, 'b'); rs.complete(0, 'a');
      await rs.drain();
      expect(seen).toEqual([0, 1, 2]);
      expect(errors.map(([e, s]) => [(e as Error).message, s])).toEqual([['sync', 0], ['async', 1]]);
      expect(rs.stats()).toMatchObject({ delivered: 3, callbackErrors: 2 });
    });
  });

  it('a deliver that reenters (complete, reserve) is picked up by the running loop, in order', () => {
    const seen: number[] = [];
    let rs!: Resequencer<string>;
    rs = new Resequencer<string>({
      capacity: 3, clock: new ManualClock(),
      deliver: (it) => {
        seen.push(it.seq);
        if (it.seq === 0) { rs.complete(1, 'b'); const s = rs.reserve()!; rs.complete(s, 'd'); }
      },
    });
    rs.reserve(); rs.reserve(); rs.reserve();
    rs.complete(2, 'c');
    rs.complete(0, 'a');
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  describe('drain', () => {
    it('resolves only after every reserved seq is delivered and the async tail settled', async () => {
      const clock = new ManualClock();
      const release: (() => void)[] = [];
      const seen: number[] = [];
      const rs = new Resequencer<string>({
        capacity: 4, clock, gapTimeoutMs: 100,
        deliver: (it) => { seen.push(it.seq); return new Promise<void>((r) => release.push(r)); },
      });
      await expect(rs.drain()).resolves.toBeUndefined(); // nothing reserved: at once
      rs.reserve(); rs.reserve(); rs.reserve();
      let drained = false;
      void rs.drain().then(() => { drained = true; });
      rs.complete(1, 'b');
      rs.complete(0, 'a');
      const late = rs.reserve()!; // reserved after drain(): not covered
      await flush();
      expect(seen).toEqual([0]);
      release.shift()!(); await flush();
      expect(seen).toEqual([0, 1]);
      rs.complete(2, 'c');
      release.shift()!(); await flush();
      expect(seen).toEqual([0, 1, 2]);
      expect(drained).toBe(false); // the tail still runs seq 2
      release.shift()!(); await flush();
      expect(drained).toBe(true);
      expect(rs.inFlight).toBe(1);
      rs.complete(late, 'd');
      expect(seen).toEqual([0, 1, 2, 3]);
    });

    it('gives up a covered seq gapTimeoutMs after the drain began, so it always ends', async () => {
      const { clock, rs, show, discarded } = setup({ capacity: 4, gapTimeoutMs: 100 });
      rs.reserve(); rs.reserve();
      rs.complete(0, 'a');
      clock.advance(1000);
      let drained = false;
      void rs.drain().then(() => { drained = true; });
      clock.advance(99);
      await flush();
      expect(drained).toBe(false);
      clock.advance(1);
      await flush();
      expect(show()).toEqual(['0=a', '1:gap']);
      expect(drained).toBe(true);
      rs.complete(1, 'late');
      expect(discarded).toEqual([['late', 1]]);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  it('tombstone reasons that will never be delivered go to discardReason: late after a gap, stale after a reset, buffered at a reset', () => {
    const reasons: [string, number][] = [];
    const { clock, rs, show } = setup({ capacity: 4, discardReason: (r, s) => { reasons.push([r, s]); } });
    const [a, b] = [rs.reserve()!, rs.reserve()!];
    rs.complete(b, 'B');
    clock.advance(100); // a is given up
    expect(show()).toEqual(['0:gap', '1=B']);
    rs.tombstone(a, 'late');
    const [c, d, e] = [rs.reserve()!, rs.reserve()!, rs.reserve()!];
    rs.tombstone(d, 'buffered'); // waits behind c
    rs.reset(); // c and e become stale; d's reason is discarded now
    rs.tombstone(c, 'stale');
    rs.complete(e, 'E');
    expect(reasons).toEqual([['late', 0], ['buffered', 3], ['stale', 2]]);
    expect(show()).toEqual(['0:gap', '1=B']);
  });

  describe('reset', () => {
    it('discards buffered values and stale completions, clears timers, numbering continues', async () => {
      const { clock, rs, show, discarded } = setup({ capacity: 4, gapTimeoutMs: 100 });
      for (let i = 0; i < 4; i++) rs.reserve();
      rs.complete(0, 'a');
      rs.complete(2, 'c');
      rs.tombstone(3, 't');
      expect(clock.pendingTimers).toBe(1);
      let drained = false;
      void rs.drain().then(() => { drained = true; });
      rs.reset();
      await flush();
      expect(drained).toBe(true);
      expect(show()).toEqual(['0=a']);
      expect(discarded).toEqual([['c', 2]]);
      expect(clock.pendingTimers).toBe(0);
      expect(rs.stats()).toMatchObject({ inFlight: 0, depth: 0, stale: 1, discardedOnReset: 1, nextSeq: 4 });
      expect(rs.isFull).toBe(false);
      expect(rs.reserve()).toBe(4);
      rs.complete(1, 'stale');
      expect(discarded).toEqual([['c', 2], ['stale', 1]]);
      expect(rs.stats()).toMatchObject({ discardedLate: 1, stale: 0 });
      expectInvalidArg(() => rs.complete(2, 'again'), 'seq');
      rs.complete(4, 'e');
      expect(show()).toEqual(['0=a', '4=e']);
      clock.advance(10_000);
      expect(show()).toEqual(['0=a', '4=e']);
    });

    it('nextSeq restarts numbering only where no stale seq could collide', () => {
      const { rs, show } = setup({ capacity: 4 });
      rs.reserve(); rs.reserve();
      rs.complete(0, 'a');
      rs.reset();
      expectInvalidArg(() => rs.reset({ nextSeq: 0 }), 'nextSeq'); // seq 1 is stale and still due
      expectInvalidArg(() => rs.reset({ nextSeq: -1 }), 'nextSeq');
      rs.tombstone(1, 'late');
      rs.reset({ nextSeq: 0 });
      expect(rs.reserve()).toBe(0);
      rs.complete(0, 'again');
      expect(show()).toEqual(['0=a', '0=again']);
      rs.reset({ nextSeq: 100 });
      expect(rs.reserve()).toBe(100);
    });

    it('a reset while the async tail runs: it is not cancelled, the next delivery waits for it', async () => {
      const release: (() => void)[] = [];
      const seen: number[] = [];
      let active = 0;
      const rs = new Resequencer<string>({
        capacity: 2, clock: new ManualClock(),
        deliver: (it) => { active++; expect(active).toBe(1); seen.push(it.seq); return new Promise<void>((r) => release.push(() => { active--; r(); })); },
      });
      rs.reserve(); rs.reserve();
      rs.complete(0, 'a');
      rs.complete(1, 'b');
      rs.reset();
      const s = rs.reserve()!;
      rs.complete(s, 'c');
      await flush();
      expect(seen).toEqual([0]);
      let drained = false;
      void rs.drain().then(() => { drained = true; });
      release.shift()!(); await flush();
      expect(seen).toEqual([0, 2]);
      expect(drained).toBe(false);
      release.shift()!(); await flush();
      expect(drained).toBe(true);
    });
  });

  describe('misuse is a typed error', () => {
    it.each([0, -1, 1.5, NaN, Infinity])('capacity %s', (capacity) => {
      expectInvalidArg(() => new Resequencer({ capacity, deliver: () => undefined }), 'capacity');
    });

    it('bad gapTimeoutMs and firstSeq', () => {
      expectInvalidArg(() => new Resequencer({ capacity: 1, gapTimeoutMs: -1, deliver: () => undefined }), 'gapTimeoutMs');
      expectInvalidArg(() => new Resequencer({ capacity: 1, gapTimeoutMs: NaN, deliver: () => undefined }), 'gapTimeoutMs');
      expectInvalidArg(() => new Resequencer({ capacity: 1, firstSeq: -2, deliver: () => undefined }), 'firstSeq');
      const rs = new Resequencer({ capacity: 1, firstSeq: 7, deliver: () => undefined });
      expect(rs.reserve()).toBe(7);
    });

    it('complete or tombstone of an unknown, settled or delivered seq', () => {
      const { rs, show } = setup({ capacity: 4 });
      expectInvalidArg(() => rs.complete(0, 'x'), 'seq'); // never reserved
      rs.reserve(); rs.reserve();
      expectInvalidArg(() => rs.complete(2, 'x'), 'seq');
      expectInvalidArg(() => rs.complete(-1, 'x'), 'seq');
      expectInvalidArg(() => rs.complete(0.5, 'x'), 'seq');
      rs.complete(1, 'b');
      expectInvalidArg(() => rs.complete(1, 'b2'), 'seq'); // settled, waiting
      expectInvalidArg(() => rs.tombstone(1, 'r'), 'seq');
      rs.complete(0, 'a');
      expectInvalidArg(() => rs.complete(0, 'a2'), 'seq'); // delivered
      expect(show()).toEqual(['0=a', '1=b']);
      expect(rs.stats()).toMatchObject({ delivered: 2, inFlight: 0, depth: 0 });
    });
  });
});
