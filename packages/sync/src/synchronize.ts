/**
 * The async front end: read several (async) iterables concurrently into a {@link Synchronizer}
 * and iterate the tuples.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import { Synchronizer } from './synchronizer.js';
import type { StreamKey, StreamValues, SyncStats, SyncTuple, SynchronizerOptions } from './types.js';

/** Anything `synchronize` can read a stream from. */
export type SyncInput<T> = AsyncIterable<T> | Iterable<T>;

/** How `synchronize` reads each input value's timestamp (ms): one function, or one per stream. */
export type TimestampOf<V extends StreamValues> =
  | ((value: V[StreamKey<V>], stream: StreamKey<V>) => number)
  | { readonly [K in StreamKey<V>]: (value: V[K]) => number };

/** Options of {@link synchronize}: the synchronizer's options (the streams are the inputs' keys) plus `timestamp`. */
export interface SynchronizeOptions<V extends StreamValues> extends Omit<SynchronizerOptions<V>, 'streams'> {
  /**
   * Each value's timestamp, in ms on a clock shared by every input. For nv feed outputs pass
   * `outputWallClockMs` (wall clock): each feed's media `ts` starts at its own 0, so it cannot
   * be compared across feeds. A non-finite result drops the value (`invalid`); a throw ends the
   * iteration with that error.
   */
  readonly timestamp: TimestampOf<V>;
}

/** The tuples of {@link synchronize}, with the synchronizer's counters. Iterate it once. */
export interface SyncStream<V extends StreamValues> extends AsyncIterable<SyncTuple<V>> {
  /** The counters so far (final once the iteration has ended). */
  stats(): SyncStats<StreamKey<V>>;
  /** The stream names (the inputs' keys), in tuple order. */
  readonly streams: readonly StreamKey<V>[];
}

type Settled =
  | { readonly stream: string; readonly result: IteratorResult<unknown> }
  | { readonly stream: string; readonly error: unknown };

interface Reader {
  readonly stream: string;
  readonly it: AsyncIterator<unknown> | Iterator<unknown>;
  /** A `next()` is outstanding. */
  inflight: boolean;
  /** The input finished (done or threw): nothing to return. */
  done: boolean;
}

function iteratorOf(stream: string, input: unknown): AsyncIterator<unknown> | Iterator<unknown> {
  if (typeof input === 'object' && input !== null) {
    const a = (input as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    if (typeof a === 'function') return a.call(input);
    const s = (input as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (typeof s === 'function') return s.call(input);
  }
  throw new InvalidArgumentError(`inputs.${stream}`, 'an async iterable or an iterable', input);
}

/**
 * Joins several async iterables (feed output streams, generators, arrays…) into tuples.
 *
 * All inputs are read concurrently, one item at a time each: a new item is requested from an
 * input only after its previous one went into the synchronizer, and nothing is read while no
 * one iterates — so reading never runs unboundedly ahead. Memory stays bounded by the
 * synchronizer's per-stream `capacity`: a fast input beside a silent one loses its oldest
 * buffered items (`overflow`) rather than growing or blocking.
 *
 * The iteration ends when every input has ended, after the synchronizer's `flush()` (what can
 * still match comes out, the rest is dropped as `unmatched`). An input that throws ends the
 * iteration with its error, after the other inputs are returned. Ending the iteration early
 * (`break`, `return()`) returns every input that has not finished; an input with a `next()`
 * still pending gets its `return()` without being awaited, so an input blocked forever cannot
 * block the `break`.
 *
 * @param inputs - one (async) iterable per stream, by stream name (at least one)
 * @param options - the policy, `timestamp`, and optionally `capacity` and `onDrop`
 * @throws {ConfigError} `InvalidConfig` for invalid options (at the call)
 * @throws {InvalidArgumentError} for an input that is not iterable or a missing `timestamp` (at the call)
 *
 * @example
 * ```ts
 * import { synchronize, outputWallClockMs } from '@nv/sync';
 *
 * // Two nv feeds' outputs (runtime.outputs({ feeds: [id] })), joined on the wall clock.
 * const pairs = synchronize(
 *   { left: runtime.outputs({ feeds: [leftId] }), right: runtime.outputs({ feeds: [rightId] }) },
 *   { policy: { kind: 'realTime', toleranceMs: 20, waitAll: true }, timestamp: outputWallClockMs },
 * );
 * for await (const t of pairs) {
 *   if (t.complete) console.log(t.items.left.value.seq, t.items.right.value.seq);
 * }
 * console.log(pairs.stats());
 * ```
 */
export function synchronize<V extends StreamValues>(
  inputs: { readonly [K in keyof V]: SyncInput<V[K]> },
  options: SynchronizeOptions<V>,
): SyncStream<V> {
  if (typeof inputs !== 'object' || inputs === null) throw new InvalidArgumentError('inputs', 'an object of (async) iterables', inputs);
  const streams = Object.keys(inputs) as StreamKey<V>[];
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  const { timestamp, ...rest } = options;
  const sync = new Synchronizer<V>({ ...rest, streams });
  const tsOf = timestampFn(streams, timestamp);
  const readers: Reader[] = streams.map((s) => ({ stream: s, it: iteratorOf(s, inputs[s]), inflight: false, done: false }));
  let iterator: AsyncGenerator<SyncTuple<V>, void, undefined> | undefined;
  return {
    streams: sync.streams,
    stats: () => sync.stats(),
    [Symbol.asyncIterator]() {
      iterator ??= run(sync, readers, tsOf);
      return iterator;
    },
  };
}

function timestampFn<V extends StreamValues>(streams: readonly StreamKey<V>[], timestamp: TimestampOf<V> | undefined): (value: unknown, stream: StreamKey<V>) => number {
  if (typeof timestamp === 'function') return timestamp as (value: unknown, stream: StreamKey<V>) => number;
  if (typeof timestamp === 'object' && timestamp !== null) {
    const byStream = timestamp as Record<string, unknown>;
    for (const s of streams) {
      if (typeof byStream[s] !== 'function') throw new InvalidArgumentError(`timestamp.${s}`, 'a function (value) => ms', byStream[s]);
    }
    return (value, stream) => (byStream[stream] as (v: unknown) => number)(value);
  }
  throw new InvalidArgumentError('timestamp', 'a function (value, stream) => ms, or one per stream', timestamp);
}

async function* run<V extends StreamValues>(
  sync: Synchronizer<V>,
  readers: readonly Reader[],
  tsOf: (value: unknown, stream: StreamKey<V>) => number,
): AsyncGenerator<SyncTuple<V>, void, undefined> {
  const settled: Settled[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => { const w = wake; wake = undefined; w?.(); };
  const request = (r: Reader): void => {
    r.inflight = true;
    let p: Promise<IteratorResult<unknown>>;
    try {
      p = Promise.resolve(r.it.next());
    } catch (error) {
      p = Promise.reject(error);
    }
    p.then(
      (result) => { r.inflight = false; settled.push({ stream: r.stream, result }); notify(); },
      (error: unknown) => { r.inflight = false; settled.push({ stream: r.stream, error }); notify(); },
    );
  };
  const byStream = new Map(readers.map((r) => [r.stream, r]));

  try {
    for (const r of readers) request(r);
    let open = readers.length;
    while (open > 0) {
      const s = settled.shift();
      if (s === undefined) {
        await new Promise<void>((resolve) => { wake = resolve; });
        continue;
      }
      const r = byStream.get(s.stream)!;
      const stream = s.stream as StreamKey<V>;
      if ('error' in s) {
        r.done = true;
        throw s.error;
      }
      if (s.result.done === true) {
        r.done = true;
        open--;
        yield* sync.end(stream);
        continue;
      }
      const value = s.result.value as V[StreamKey<V>];
      const ts = tsOf(value, stream);
      const tuples = sync.push(stream, { ts, value });
      request(r);
      yield* tuples;
    }
    yield* sync.flush();
  } finally {
    const waits: Promise<unknown>[] = [];
    for (const r of readers) {
      if (r.done) continue;
      r.done = true;
      const ret = (r.it as { return?: (this: unknown) => unknown }).return;
      if (typeof ret !== 'function') continue;
      let p: Promise<unknown>;
      try {
        p = Promise.resolve(ret.call(r.it));
      } catch (error) {
        p = Promise.reject(error);
      }
      const quiet = p.catch(() => undefined);
      // A reader with a pending next() may never settle: its return() is not awaited.
      if (!r.inflight) waits.push(quiet);
    }
    await Promise.all(waits);
  }
}
