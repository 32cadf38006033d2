import { InvalidArgumentError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { Synchronizer } from './synchronizer.js';
import { conservationViolations } from './test-fixtures.js';
import type { SyncDrop, SyncPolicy, SyncTuple } from './types.js';

type AB = { a: string; b: string };
type FS = { fast: number; slow: number };

const ts = <V extends Record<string, unknown>>(t: SyncTuple<V>, streams: readonly (keyof V & string)[]): (number | null)[] =>
  streams.map((s) => t.items[s]?.ts ?? null);

/** A small deterministic PRNG (LCG), so property tests are reproducible. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

describe('exact', () => {
  it('emits only tuples of identical timestamps, oldest first', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    expect(sync.push('a', { ts: 10, value: 'a10' })).toEqual([]);
    expect(sync.push('a', { ts: 20, value: 'a20' })).toEqual([]);
    const [t1, ...more] = sync.push('b', { ts: 10, value: 'b10' });
    expect(more).toEqual([]);
    expect(t1).toEqual({ ts: 10, complete: true, items: { a: { ts: 10, value: 'a10' }, b: { ts: 10, value: 'b10' } }, missing: [] });
    expect(Object.isFrozen(t1)).toBe(true);
    expect(sync.push('b', { ts: 20, value: 'b20' }).map((t) => t.ts)).toEqual([20]);
    expect(sync.watermark).toBe(20);
    expect(sync.stats()).toMatchObject({ matched: 2, partial: 0, dropped: 0 });
  });

  it('drops an item at once when another stream is already past it (no hang on a gap)', () => {
    const drops: SyncDrop<AB>[] = [];
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' }, onDrop: (d) => drops.push(d) });
    sync.push('a', { ts: 1, value: 'a1' });
    sync.push('a', { ts: 2, value: 'a2' });
    sync.push('a', { ts: 3, value: 'a3' });
    // b skips 1 and 2: a1 and a2 can never match any more.
    expect(sync.push('b', { ts: 3, value: 'b3' }).map((t) => ts(t, ['a', 'b']))).toEqual([[3, 3]]);
    expect(drops).toEqual([
      { stream: 'a', item: { ts: 1, value: 'a1' }, reason: 'unmatched' },
      { stream: 'a', item: { ts: 2, value: 'a2' }, reason: 'unmatched' },
    ]);
    // A stream that is behind while the other is empty: b 4 waits for a (a may still send 4)...
    expect(sync.push('b', { ts: 4, value: 'b4' })).toEqual([]);
    expect(sync.stats().streams.b.buffered).toBe(1);
    // ...until a moves past it.
    expect(sync.push('a', { ts: 5, value: 'a5' })).toEqual([]);
    expect(sync.stats().streams.b).toMatchObject({ buffered: 0, dropped: { unmatched: 1 } });
    expect(conservationViolations(sync.stats())).toEqual([]);
  });

  it('matches duplicate timestamps pairwise (timestamps are non-decreasing, not strictly increasing)', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    sync.insert('a', { ts: 5, value: 'a5#1' });
    sync.insert('a', { ts: 5, value: 'a5#2' });
    sync.insert('b', { ts: 5, value: 'b5#1' });
    sync.insert('b', { ts: 5, value: 'b5#2' });
    const out = sync.poll();
    expect(out.map((t) => [t.items.a?.value, t.items.b?.value])).toEqual([['a5#1', 'b5#1'], ['a5#2', 'b5#2']]);
  });

  it('never hangs and never grows with one stream silent: the bounded buffer drops its oldest, counted', () => {
    const capacity = 16;
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' }, capacity });
    for (let i = 0; i < 1000; i++) {
      expect(sync.push('a', { ts: i, value: `a${i}` })).toEqual([]);
      expect(sync.stats().streams.a.buffered).toBeLessThanOrEqual(capacity);
    }
    expect(sync.stats().streams.a).toMatchObject({ received: 1000, buffered: capacity, dropped: { overflow: 1000 - capacity, total: 1000 - capacity } });
    // b wakes up: the items a kept still match.
    expect(sync.push('b', { ts: 990, value: 'b990' }).map((t) => t.ts)).toEqual([990]);
    expect(sync.stats().streams.a).toMatchObject({ buffered: 9, dropped: { unmatched: 6 } });
    expect(conservationViolations(sync.stats())).toEqual([]);
  });

  it('per-stream capacity', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' }, capacity: { a: 2 } });
    for (let i = 0; i < 100; i++) { sync.push('a', { ts: i, value: '' }); sync.push('b', { ts: 1000 + i, value: '' }); }
    // b is ahead of a the whole time: a's items are unmatched at once, b's wait (b may be matched by a later a).
    expect(sync.stats().streams.a).toMatchObject({ buffered: 0, dropped: { unmatched: 100 } });
    expect(sync.stats().streams.b).toMatchObject({ buffered: 64, dropped: { overflow: 36 } });
  });

  it('flush drops what is left as unmatched and emits nothing partial', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    sync.push('a', { ts: 1, value: '' });
    sync.push('a', { ts: 2, value: '' });
    expect(sync.flush()).toEqual([]);
    expect(sync.stats().streams.a).toMatchObject({ buffered: 0, ended: true, dropped: { unmatched: 2 } });
    expect(sync.flushed).toBe(true);
    expect(sync.flush()).toEqual([]);
    expect(() => sync.push('a', { ts: 3, value: '' })).toThrow(InvalidArgumentError);
  });

  it('flush still emits exact matches that were only inserted', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    for (const t of [1, 2, 3]) { sync.insert('a', { ts: t, value: '' }); sync.insert('b', { ts: t, value: '' }); }
    sync.insert('a', { ts: 4, value: '' });
    expect(sync.flush().map((t) => t.ts)).toEqual([1, 2, 3]);
    expect(sync.stats()).toMatchObject({ matched: 3, dropped: 1 });
  });

  it('end(): once a stream has ended with nothing buffered, the others drop their items as unmatched', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    sync.push('a', { ts: 1, value: '' });
    sync.push('b', { ts: 1, value: '' });
    sync.push('b', { ts: 2, value: '' });
    sync.push('b', { ts: 3, value: '' });
    expect(sync.end('a')).toEqual([]);
    expect(sync.stats().streams.b).toMatchObject({ buffered: 0, dropped: { unmatched: 2 } });
    sync.push('b', { ts: 4, value: '' });
    expect(sync.stats().streams.b).toMatchObject({ buffered: 0, dropped: { unmatched: 3 } });
    expect(() => sync.push('a', { ts: 5, value: '' })).toThrow(InvalidArgumentError);
    expect(sync.end('a')).toEqual([]); // idempotent
  });

  it('an ended stream with items buffered still matches them', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    sync.push('a', { ts: 1, value: '' });
    sync.push('a', { ts: 2, value: '' });
    sync.end('a');
    expect(sync.push('b', { ts: 1, value: '' }).map((t) => t.ts)).toEqual([1]);
    expect(sync.push('b', { ts: 2, value: '' }).map((t) => t.ts)).toEqual([2]);
    sync.push('b', { ts: 3, value: '' });
    expect(sync.stats().streams.b).toMatchObject({ buffered: 0, dropped: { unmatched: 1 } });
  });
});

describe('data problems are dropped and counted, never thrown', () => {
  it('out-of-order, invalid and (realTime) stale items', () => {
    const drops: SyncDrop<AB>[] = [];
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 5 }, onDrop: (d) => drops.push(d) });
    expect(sync.insert('a', { ts: 100, value: 'a100' })).toBe(true);
    expect(sync.insert('a', { ts: 90, value: 'a90' })).toBe(false);
    expect(sync.insert('a', { ts: Number.NaN, value: 'nan' })).toBe(false);
    expect(sync.insert('a', { ts: Infinity, value: 'inf' })).toBe(false);
    expect(sync.poll()).toEqual([]);
    expect(sync.push('b', { ts: 102, value: 'b102' }).map((t) => ts(t, ['a', 'b']))).toEqual([[100, 102]]);
    // Too late: at or below the watermark 102.
    expect(sync.insert('a', { ts: 101, value: 'a101' })).toBe(false);
    expect(sync.insert('b', { ts: 102, value: 'b102 again' })).toBe(false);
    expect(drops.map((d) => [d.stream, d.item.value, d.reason])).toEqual([
      ['a', 'a90', 'outOfOrder'], ['a', 'nan', 'invalid'], ['a', 'inf', 'invalid'], ['a', 'a101', 'stale'], ['b', 'b102 again', 'stale'],
    ]);
    expect(sync.stats().streams.a.dropped).toEqual({ overflow: 0, stale: 1, outOfOrder: 1, unmatched: 0, invalid: 2, total: 4 });
    expect(conservationViolations(sync.stats())).toEqual([]);
  });

  it('an onDrop that throws does not break the synchronizer', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' }, capacity: 1, onDrop: () => { throw new Error('boom'); } });
    sync.push('a', { ts: 1, value: '' });
    expect(() => sync.push('a', { ts: 2, value: '' })).not.toThrow();
    expect(sync.stats().streams.a.dropped.overflow).toBe(1);
  });

  it('programming errors throw InvalidArgumentError', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' } });
    expect(() => sync.push('c' as 'a', { ts: 1, value: '' })).toThrow(InvalidArgumentError);
    expect(() => sync.push('a', null as unknown as { ts: number; value: string })).toThrow(InvalidArgumentError);
    expect(() => sync.poll(0)).toThrow(InvalidArgumentError);
    expect(() => sync.poll(1.5)).toThrow(InvalidArgumentError);
    expect(() => sync.end('zz' as 'a')).toThrow(InvalidArgumentError);
    expect(sync.stats().streams.a.received).toBe(0);
  });
});

describe('realTime: a 1 fps stream joined with a 25 fps one', () => {
  // 10 s of a 25 fps camera (every 40 ms from 0) and a 1 fps sensor stamped 5 ms after each second.
  const fast = Array.from({ length: 250 }, (_, k) => k * 40);
  const slow = Array.from({ length: 10 }, (_, j) => j * 1000 + 5);

  it('waitAll true: one complete tuple per slow item, with the fast frame nearest it; fast frames in between are dropped as stale', () => {
    // Arrival order: each item when its timestamp passes, except that the slow stream is
    // delivered 100 ms late — a real-time consumer sees the fast frames first.
    const arrivals = [...fast.map((t) => ({ s: 'fast' as const, t, at: t })), ...slow.map((t) => ({ s: 'slow' as const, t, at: t + 100 }))]
      .sort((x, y) => x.at - y.at || (x.s === 'slow' ? -1 : 1));
    const sync = new Synchronizer<FS>({ streams: ['fast', 'slow'], policy: { kind: 'realTime', toleranceMs: 20, waitAll: true } });
    const out: SyncTuple<FS>[] = [];
    for (const a of arrivals) out.push(...sync.push(a.s, { ts: a.t, value: a.t }));
    out.push(...sync.flush());
    expect(out.map((t) => ts(t, ['fast', 'slow']))).toEqual(slow.map((s) => [s - 5, s]));
    expect(out.every((t) => t.complete)).toBe(true);
    const st = sync.stats();
    expect(st).toMatchObject({ matched: 10, partial: 0, watermark: 9005 });
    // The frames newer than the last slow item (9040 … 9960) can never be completed: unmatched at flush.
    expect(st.streams.fast).toMatchObject({ received: 250, emitted: 10, buffered: 0, dropped: { stale: 216, unmatched: 24, overflow: 0 } });
    expect(st.streams.slow).toMatchObject({ received: 10, emitted: 10, dropped: { total: 0 } });
    expect(conservationViolations(st)).toEqual([]);
  });

  it('waitAll true with buffers too small for the slow stream\'s latency: overflow drops, counted, no hang', () => {
    const sync = new Synchronizer<FS>({ streams: ['fast', 'slow'], policy: { kind: 'realTime', toleranceMs: 20, waitAll: true }, capacity: 2 });
    const out: SyncTuple<FS>[] = [];
    let slowPushed = 0;
    for (const t of fast) {
      out.push(...sync.push('fast', { ts: t, value: t }));
      // Each slow item arrives 100 ms late: after the fast frame that passes its arrival time. By
      // then the 2-slot fast buffer only holds frames 80 and 120 ms after the one it would match.
      for (const s of slow) {
        if (s + 100 > t - 40 && s + 100 <= t) { out.push(...sync.push('slow', { ts: s, value: s })); slowPushed++; }
      }
      expect(sync.stats().streams.fast.buffered).toBeLessThanOrEqual(2);
    }
    expect(slowPushed).toBe(10);
    expect(out).toEqual([]);
    const st = sync.stats();
    expect(st.streams.fast).toMatchObject({ buffered: 2, dropped: { overflow: 248 } });
    expect(st.streams.slow).toMatchObject({ buffered: 2, dropped: { overflow: 8 } });
    expect(sync.flush()).toEqual([]);
    expect(sync.stats().streams.slow.dropped.unmatched).toBe(2);
    expect(conservationViolations(sync.stats())).toEqual([]);
  });

  it('waitAll false: every fast frame yields a tuple, complete when a slow item is within tolerance, else with an explicit gap', () => {
    // The consumer polls once per fast frame interval, taking what arrived since the last poll.
    const sync = new Synchronizer<FS>({ streams: ['fast', 'slow'], policy: { kind: 'realTime', toleranceMs: 20, waitAll: false } });
    const out: SyncTuple<FS>[] = [];
    for (let k = 0; k < 250; k++) {
      const until = k * 40 + 39;
      for (const t of fast) if (t > until - 40 && t <= until) sync.insert('fast', { ts: t, value: t });
      for (const t of slow) if (t > until - 40 && t <= until) sync.insert('slow', { ts: t, value: t });
      out.push(...sync.poll());
    }
    out.push(...sync.flush());
    expect(out).toHaveLength(250);
    const complete = out.filter((t) => t.complete);
    expect(complete.map((t) => ts(t, ['fast', 'slow']))).toEqual(slow.map((s) => [s - 5, s]));
    const partial = out.filter((t) => !t.complete);
    expect(partial).toHaveLength(240);
    for (const t of partial) {
      expect(t.missing).toEqual(['slow']);
      expect('slow' in t.items).toBe(true);
      expect(t.items.slow).toBeUndefined();
      expect(t.items.fast?.ts).toBe(t.ts);
    }
    expect(sync.stats()).toMatchObject({ matched: 10, partial: 240, dropped: 0 });
  });

  it('waitAll false with the fast stream as target: a tuple per fast frame as it arrives, the slow item joins the frame it precedes', () => {
    // Slow items stamped 5 ms before the second, pushed item by item in timestamp order.
    const slowEarly = slow.map((s) => s - 10);
    const arrivals = [...fast.map((t) => ({ s: 'fast' as const, t })), ...slowEarly.map((t) => ({ s: 'slow' as const, t }))].sort((x, y) => x.t - y.t);
    const sync = new Synchronizer<FS>({ streams: ['fast', 'slow'], policy: { kind: 'realTime', toleranceMs: 20, waitAll: false, target: 'fast' } });
    const out: SyncTuple<FS>[] = [];
    for (const a of arrivals) {
      const got = sync.push(a.s, { ts: a.t, value: a.t });
      // The slow stream is not a target: it never makes a tuple on its own.
      if (a.s === 'slow') expect(got).toEqual([]);
      else expect(got).toHaveLength(1);
      out.push(...got);
    }
    out.push(...sync.flush());
    expect(out).toHaveLength(250);
    expect(out.every((t) => t.items.fast !== undefined && t.ts === t.items.fast.ts)).toBe(true);
    expect(out.filter((t) => t.complete).map((t) => ts(t, ['fast', 'slow']))).toEqual(slowEarly.map((s) => [s + 5, s]));
  });
});

describe('realTime', () => {
  it('the target stream is the reference: other streams\' newer items wait for it', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 10, waitAll: true, target: 'a' } });
    expect(sync.push('b', { ts: 100, value: '' })).toEqual([]);
    expect(sync.push('b', { ts: 105, value: '' })).toEqual([]);
    const [t] = sync.push('a', { ts: 98, value: '' });
    // The newest b within [88, 108] is 105.
    expect(t && ts(t, ['a', 'b'])).toEqual([98, 105]);
    expect(t?.ts).toBe(98);
  });

  it('with a target stream that ended empty, the others drop their items as unmatched', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 10, waitAll: false, target: 'a' } });
    sync.push('b', { ts: 100, value: '' });
    sync.end('a');
    expect(sync.stats().streams.b).toMatchObject({ buffered: 0, dropped: { unmatched: 1 } });
  });

  it('waitAll: a stream that ended empty makes every other item unmatched', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 10, waitAll: true } });
    sync.push('a', { ts: 1, value: '' });
    sync.end('b');
    sync.push('a', { ts: 2, value: '' });
    expect(sync.stats().streams.a).toMatchObject({ buffered: 0, dropped: { unmatched: 2 } });
  });

  it('flush drains what can still match: a complete tuple the live search (like Rusted Pipe\'s) cannot reach', () => {
    type ABC = { a: string; b: string; c: string };
    const sync = new Synchronizer<ABC>({ streams: ['a', 'b', 'c'], policy: { kind: 'realTime', toleranceMs: 1, waitAll: true } });
    const items: [keyof ABC, number][] = [['a', 1], ['b', 3], ['b', 4], ['b', 6], ['c', 0], ['c', 2]];
    for (const [s, t] of items) expect(sync.push(s, { ts: t, value: `${s}${t}` })).toEqual([]);
    // Live: target 6 fails on a; the fallback jumps to the oldest per-stream candidate, 1, which
    // fails on b, and no target is left. Target 2 would work: flush walks every target.
    const out = sync.flush();
    expect(out.map((t) => [t.ts, ...ts(t, ['a', 'b', 'c'])])).toEqual([[2, 1, 3, 2]]);
    expect(sync.stats().streams.b.dropped).toMatchObject({ unmatched: 2 });
    expect(sync.stats().streams.c.dropped).toMatchObject({ stale: 1 });
    expect(conservationViolations(sync.stats())).toEqual([]);
  });

  it('flush with waitAll false: the freshest tuple first, as live; with a target stream, items newer than every target are unmatched', () => {
    const sync = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 3, waitAll: false } });
    for (const t of [10, 20, 30]) sync.insert('a', { ts: t, value: '' });
    for (const t of [11, 31]) sync.insert('b', { ts: t, value: '' });
    // Real time: the matching prefers the freshest data; what it passes over is stale, not drained.
    expect(sync.flush().map((t) => ts(t, ['a', 'b']))).toEqual([[30, 31]]);
    expect(sync.stats().streams.a.dropped).toMatchObject({ stale: 2, unmatched: 0 });
    const targeted = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 3, waitAll: false, target: 'a' } });
    expect(targeted.push('a', { ts: 10, value: '' })).toHaveLength(1);
    expect(targeted.push('b', { ts: 50, value: '' })).toEqual([]);
    expect(targeted.flush()).toEqual([]);
    expect(targeted.stats().streams.b.dropped.unmatched).toBe(1);
  });
});

describe('watermark: nothing at or older than the last-returned watermark is ever emitted', () => {
  const policies: SyncPolicy<'a' | 'b' | 'c'>[] = [
    { kind: 'exact' },
    { kind: 'realTime', toleranceMs: 0, waitAll: true },
    { kind: 'realTime', toleranceMs: 3, waitAll: true },
    { kind: 'realTime', toleranceMs: 3, waitAll: false },
    { kind: 'realTime', toleranceMs: 8, waitAll: true, target: 'b' },
    { kind: 'realTime', toleranceMs: 8, waitAll: false, target: 'c' },
  ];
  for (const policy of policies) {
    it(`random interleavings, ${JSON.stringify(policy)}`, () => {
      type ABC = { a: number; b: number; c: number };
      const streams = ['a', 'b', 'c'] as const;
      let emitted = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const rnd = lcg(seed);
        const capacity = 1 + Math.floor(rnd() * 8);
        const sync = new Synchronizer<ABC>({ streams: [...streams], policy, capacity });
        // Each stream samples a shared 2 ms grid (70 %), with ±1 ms jitter under realTime and, 1 in
        // 30, an item that goes back 3 ms; delivery is mostly in timestamp order across streams.
        const queues = streams.map(() => [] as number[]);
        for (let g = 0; g < 120; g++) {
          for (const q of queues) {
            if (rnd() >= 0.7) continue;
            const jitter = policy.kind === 'exact' ? 0 : Math.floor(rnd() * 3) - 1;
            q.push(rnd() < 1 / 30 ? g * 2 - 3 : g * 2 + jitter);
          }
        }
        const out: SyncTuple<ABC>[] = [];
        let last: number | undefined;
        const check = (tuples: SyncTuple<ABC>[]): void => {
          for (const t of tuples) {
            const present = streams.filter((s) => t.items[s] !== undefined);
            expect(present.length).toBeGreaterThan(0);
            expect(t.complete).toBe(present.length === 3);
            expect(t.missing).toEqual(streams.filter((s) => t.items[s] === undefined));
            if (policy.kind === 'exact') {
              for (const s of present) expect(t.items[s]!.ts).toBe(t.ts);
              if (last !== undefined) expect(t.ts).toBeGreaterThanOrEqual(last);
              last = t.ts;
            } else {
              if (policy.waitAll !== false) expect(t.complete).toBe(true);
              if (policy.target !== undefined) expect(t.items[policy.target]?.ts).toBe(t.ts);
              for (const s of present) {
                expect(Math.abs(t.items[s]!.ts - t.ts)).toBeLessThanOrEqual(policy.toleranceMs);
                if (last !== undefined) expect(t.items[s]!.ts).toBeGreaterThan(last);
              }
              last = Math.max(...present.map((s) => t.items[s]!.ts));
            }
            expect(sync.watermark).toBeDefined();
          }
          out.push(...tuples);
          for (const s of streams) expect(sync.stats().streams[s].buffered).toBeLessThanOrEqual(capacity);
        };
        for (;;) {
          const open = [0, 1, 2].filter((i) => queues[i]!.length > 0);
          if (open.length === 0) break;
          const i = rnd() < 0.7
            ? open.reduce((x, y) => (queues[y]![0]! < queues[x]![0]! ? y : x))
            : open[Math.floor(rnd() * open.length)]!;
          const s = streams[i]!;
          const t = queues[i]!.shift()!;
          if (rnd() < 0.3) sync.insert(s, { ts: t, value: t });
          else check(sync.push(s, { ts: t, value: t }));
        }
        check(sync.flush());
        const st = sync.stats();
        expect(conservationViolations(st)).toEqual([]);
        expect(st.matched + st.partial).toBe(out.length);
        for (const s of streams) expect(st.streams[s].buffered).toBe(0);
        emitted += out.length;
      }
      expect(emitted).toBeGreaterThan(200);
    });
  }
});
