import { feedId, monotonicTs, wallTs, type FeedId, type MonotonicTs, type WallTs } from '@nv/core';
import type { OutputEnvelope } from '@nv/runtime';
import { describe, expect, it } from 'vitest';
import { synchronize } from './synchronize.js';
import { conservationViolations } from './test-fixtures.js';
import type { SyncTuple } from './types.js';
import { outputWallClockMs } from './wall-clock.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function* numbers(list: readonly number[], onEnd?: () => void): AsyncGenerator<number> {
  try {
    for (const n of list) yield n;
  } finally {
    onEnd?.();
  }
}

describe('synchronize(): async inputs', () => {
  it('joins async generators (and plain iterables) and ends after every input ended', async () => {
    const stream = synchronize(
      { a: numbers([1, 2, 3, 4, 6]), b: [2, 4, 5, 6], c: numbers([0, 2, 4, 6, 8]) },
      { policy: { kind: 'exact' }, timestamp: (v) => v },
    );
    expect(stream.streams).toEqual(['a', 'b', 'c']);
    const out = await collect(stream);
    expect(out.map((t) => t.ts)).toEqual([2, 4, 6]);
    expect(out.every((t) => t.complete && t.items.a.value === t.ts && t.items.b.value === t.ts)).toBe(true);
    const st = stream.stats();
    expect(st.matched).toBe(3);
    expect(Object.values(st.streams).every((s) => s.ended && s.buffered === 0)).toBe(true);
    expect(conservationViolations(st)).toEqual([]);
    // A second iteration is the same, finished iterator.
    expect(await collect(stream)).toEqual([]);
  });

  it('per-stream timestamp functions and typed values', async () => {
    type Fix = { atMs: number; lat: number };
    type Frame = { wallUs: number; n: number };
    async function* fixes(): AsyncGenerator<Fix> { for (let i = 0; i < 5; i++) yield { atMs: 1000 + i * 100 + 3, lat: i }; }
    async function* frames(): AsyncGenerator<Frame> { for (let n = 0; n < 50; n++) yield { wallUs: (1000 + n * 10) * 1000, n }; }
    const stream = synchronize(
      { gps: fixes(), cam: frames() },
      { policy: { kind: 'realTime', toleranceMs: 5, waitAll: true }, timestamp: { gps: (f) => f.atMs, cam: (f) => f.wallUs / 1000 } },
    );
    const pairs: [number, number][] = [];
    for await (const t of stream) if (t.complete) pairs.push([t.items.gps.value.lat, t.items.cam.value.n]);
    // Every fix meets the frame 3 ms before it, whichever stream happens to be read first.
    expect(pairs).toEqual([[0, 0], [1, 10], [2, 20], [3, 30], [4, 40]]);
  });

  it('does not read before the iteration starts, and reads each input at most one item ahead', async () => {
    const pulled = { a: 0, b: 0 };
    async function* counting(k: 'a' | 'b'): AsyncGenerator<number> {
      for (let i = 0; ; i++) { pulled[k]++; yield i; }
    }
    const stream = synchronize({ a: counting('a'), b: counting('b') }, { policy: { kind: 'exact' }, timestamp: (v) => v });
    await Promise.resolve();
    expect(pulled).toEqual({ a: 0, b: 0 });
    let n = 0;
    for await (const t of stream) {
      expect(t.ts).toBe(n);
      // Reading is driven by the consumer: never more than a couple of items past what matched.
      expect(pulled.a).toBeLessThanOrEqual(n + 2);
      expect(pulled.b).toBeLessThanOrEqual(n + 2);
      if (++n === 20) break;
    }
    expect(stream.stats().matched).toBe(20);
  });

  it('never hangs and never grows beside a silent input: the fast input overflows its bounded buffer', async () => {
    const capacity = 32;
    let fastDone!: () => void;
    const done = new Promise<void>((r) => { fastDone = r; });
    let maxBuffered = 0;
    let stream: ReturnType<typeof synchronize<{ fast: number; slow: number }>>;
    async function* fast(): AsyncGenerator<number> {
      for (let i = 0; i < 5000; i++) {
        yield i;
        maxBuffered = Math.max(maxBuffered, stream.stats().streams.fast.buffered);
      }
      fastDone();
    }
    async function* slow(): AsyncGenerator<number> {
      await done; // silent until the fast input is over
      yield 4990;
    }
    stream = synchronize({ fast: fast(), slow: slow() }, { policy: { kind: 'exact' }, capacity, timestamp: (v) => v });
    const out = await collect(stream);
    expect(out.map((t) => t.ts)).toEqual([4990]);
    expect(maxBuffered).toBeLessThanOrEqual(capacity);
    const st = stream.stats();
    expect(st.streams.fast).toMatchObject({ received: 5000, emitted: 1, buffered: 0, dropped: { overflow: 5000 - capacity, unmatched: capacity - 1 } });
    expect(conservationViolations(st)).toEqual([]);
  });

  it('break returns every input, also one blocked in next() forever (without waiting for it)', async () => {
    const ended = { a: false, b: false };
    let blockedReturned = false;
    const blocked: AsyncIterableIterator<number> = {
      [Symbol.asyncIterator]() { return this; },
      next: () => new Promise<IteratorResult<number>>(() => { /* never */ }),
      return: () => { blockedReturned = true; return Promise.resolve({ done: true, value: undefined }); },
    };
    const stream = synchronize(
      { a: numbers([1, 2, 3, 4, 5, 6, 7, 8], () => { ended.a = true; }), b: numbers([1, 2, 3, 4, 5, 6, 7, 8], () => { ended.b = true; }), c: blocked },
      { policy: { kind: 'realTime', toleranceMs: 0, waitAll: false, target: 'a' }, timestamp: (v) => v },
    );
    const seen: number[] = [];
    for await (const t of stream) {
      seen.push(t.ts);
      if (seen.length === 2) break;
    }
    expect(seen).toHaveLength(2);
    expect(blockedReturned).toBe(true);
    // An input with a next() in flight at the break runs its return() once that settles.
    await new Promise((r) => setImmediate(r));
    expect(ended).toEqual({ a: true, b: true });
  });

  it('return() on the iterator returns the inputs too', async () => {
    let ended = 0;
    const stream = synchronize(
      { a: numbers([1, 2, 3], () => { ended++; }), b: numbers([1, 2, 3], () => { ended++; }) },
      { policy: { kind: 'exact' }, timestamp: (v) => v },
    );
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ ts: 1 });
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(2);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('an input that throws ends the iteration with its error, after the other inputs are returned', async () => {
    const boom = new Error('camera unplugged');
    let otherEnded = false;
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      throw boom;
    }
    const stream = synchronize(
      { ok: numbers(Array.from({ length: 100 }, (_, i) => i + 1), () => { otherEnded = true; }), bad: failing() },
      { policy: { kind: 'exact' }, timestamp: (v) => v },
    );
    const got: SyncTuple<{ ok: number; bad: number }>[] = [];
    await expect((async () => { for await (const t of stream) got.push(t); })()).rejects.toBe(boom);
    expect(got.map((t) => t.ts)).toEqual([1, 2]);
    await new Promise((r) => setImmediate(r));
    expect(otherEnded).toBe(true);
  });

  it('a timestamp function that throws ends the iteration with its error', async () => {
    let ended = 0;
    const stream = synchronize(
      { a: numbers([1, 2, 3], () => { ended++; }), b: numbers([1, 2, 3], () => { ended++; }) },
      { policy: { kind: 'exact' }, timestamp: (v) => { if (v === 3) throw new RangeError('no clock'); return v; } },
    );
    await expect(collect(stream)).rejects.toBeInstanceOf(RangeError);
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(2);
  });

  it('a synchronous iterable that throws is propagated too', async () => {
    function* bad(): Generator<number> { yield 1; throw new TypeError('bad input'); }
    const stream = synchronize({ a: bad(), b: [1, 2] }, { policy: { kind: 'exact' }, timestamp: (v) => v });
    await expect(collect(stream)).rejects.toBeInstanceOf(TypeError);
  });

  it('an empty input: the other input\'s items are unmatched, the iteration ends', async () => {
    const stream = synchronize({ a: [], b: numbers([1, 2, 3]) }, { policy: { kind: 'exact' }, timestamp: (v: number) => v });
    expect(await collect(stream)).toEqual([]);
    expect(stream.stats().streams.b).toMatchObject({ received: 3, dropped: { unmatched: 3 } });
  });
});

describe('cross-feed joins on the wall clock', () => {
  type Out = Pick<OutputEnvelope, 'feedId' | 'seq' | 'ts' | 'wallTs'>;
  const EPOCH_US = 1_700_000_000_000_000;
  /** A 25 fps feed that started at `startUs` wall-clock µs: its own timeline starts at 0 ns. */
  async function* feed(id: FeedId, startUs: number, frames: number): AsyncGenerator<Out> {
    for (let seq = 0; seq < frames; seq++) {
      yield { feedId: id, seq, ts: monotonicTs(seq * 40_000_000) as MonotonicTs, wallTs: wallTs(startUs + seq * 40_000) as WallTs };
    }
  }

  it('pairs the frames taken at the same moment, although each feed\'s ts starts at 0', async () => {
    // Feed 2 started 2.5 s (and 10 ms) after feed 1: frame n of feed 2 was taken
    // 10 ms after frame n + 63 of feed 1 (frame n + 62 is 30 ms away, beyond the tolerance).
    const stream = synchronize(
      { one: feed(feedId(1), EPOCH_US, 125), two: feed(feedId(2), EPOCH_US + 2_510_000, 50) },
      { policy: { kind: 'realTime', toleranceMs: 20, waitAll: true }, timestamp: outputWallClockMs },
    );
    const pairs: [number, number][] = [];
    for await (const t of stream) if (t.complete) pairs.push([t.items.one.value.seq, t.items.two.value.seq]);
    expect(pairs.length).toBeGreaterThan(40);
    for (const [a, b] of pairs) expect(a).toBe(b + 63);
    for (const [a, b] of pairs) expect(Math.abs((EPOCH_US + a * 40_000) - (EPOCH_US + 2_510_000 + b * 40_000))).toBeLessThanOrEqual(20_000);
  });

  it('joined on media ts instead, the same feeds pair frames 2.5 s apart (why wall clock)', async () => {
    const stream = synchronize(
      { one: feed(feedId(1), EPOCH_US, 125), two: feed(feedId(2), EPOCH_US + 2_510_000, 50) },
      { policy: { kind: 'exact' }, timestamp: (o) => o.ts / 1e6 },
    );
    const first = (await collect(stream))[0]!;
    expect(first.complete && Math.abs(first.items.one.value.wallTs - first.items.two.value.wallTs)).toBe(2_510_000);
  });

  it('outputs without a wall clock (wallTs 0) are dropped as invalid', async () => {
    async function* synthetic(): AsyncGenerator<Out> { yield { feedId: feedId(3), seq: 0, ts: monotonicTs(0), wallTs: wallTs(0) }; }
    const stream = synchronize({ s: synthetic() }, { policy: { kind: 'exact' }, timestamp: outputWallClockMs });
    expect(await collect(stream)).toEqual([]);
    expect(stream.stats().streams.s.dropped.invalid).toBe(1);
  });
});
