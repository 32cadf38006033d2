/**
 * The synchronous core: per-stream bounded buffers and the two matching policies.
 *
 * The synchronizer never waits and never throws on data: every call returns at once with the
 * tuples that became ready, and an item that cannot be used (late, out of order, overflowing,
 * unmatchable, without a usable timestamp) is dropped and counted by reason. Only programming
 * errors throw (an unknown stream, a push after the stream ended, invalid options).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import { resolveOptions, type ResolvedPolicy } from './options.js';
import {
  DROP_REASONS, type DropCounts, type DropReason, type StreamKey, type StreamStats, type StreamValues, type SyncDrop,
  type SyncItem, type SyncStats, type SyncTuple, type SynchronizerOptions,
} from './types.js';

/** One stream's buffer and counters. Items are sorted by `ts` (non-decreasing). */
interface Lane {
  readonly key: string;
  readonly capacity: number;
  items: SyncItem<unknown>[];
  /** The newest in-order timestamp pushed (dropped items included); later items may not be older. */
  last: number | undefined;
  ended: boolean;
  received: number;
  emitted: number;
  readonly dropped: Record<DropReason, number>;
}

/** First index whose `ts` is >= `t` (items sorted by ts). */
function lowerBound(items: readonly SyncItem<unknown>[], t: number): number {
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.ts < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** First index whose `ts` is > `t`. */
function upperBound(items: readonly SyncItem<unknown>[], t: number): number {
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.ts <= t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Joins several streams of timestamped items into tuples, synchronously.
 *
 * Push items as they arrive with {@link Synchronizer.push}; it returns the tuples that became
 * ready (often none). Call {@link Synchronizer.end} when one stream is over and
 * {@link Synchronizer.flush} at shutdown. Timestamps are milliseconds on one clock shared by all
 * streams — for nv feeds, the wall clock (`outputWallClockMs`), because each feed's `ts` starts at 0.
 *
 * **Buffers.** Each stream buffers at most `capacity` items (default 64); when a new item arrives
 * at a full buffer the oldest is dropped (`overflow`). Timestamps must be non-decreasing per
 * stream: an older item is dropped (`outOfOrder`), never thrown.
 *
 * **`exact`** (offline): a tuple is the items of every stream with one identical timestamp,
 * oldest first. As streams are ordered, an item older than what another stream has already
 * reached can never match: it is dropped at once (`unmatched`) instead of blocking the streams
 * behind it, so a gap in one stream never hangs the join. A silent stream makes the others
 * buffer up to their capacity and then lose their oldest items.
 *
 * **`realTime`** (live; Rusted Pipe's `RealTimeSynchronizer`): the target is the newest buffered
 * item (of any stream, or of `policy.target`). Each stream contributes its newest item within
 * `toleranceMs` of the target. If `waitAll` is true and a stream has nothing in that window, the
 * next target tried is the newest target-stream item older than the window (with several target
 * streams, the oldest of those, as Rusted Pipe does), until a complete tuple is found or no
 * target is left. With `waitAll: false` the first target always yields a tuple, with an explicit
 * `undefined` for each stream that had nothing within tolerance. When a tuple goes out, the
 * watermark becomes its newest item's timestamp and every item at or below it is dropped
 * (`stale`): nothing at or older than the last-returned watermark is ever emitted.
 *
 * **Ends.** A stream that has ended with nothing buffered can no longer contribute: where every
 * tuple needs it (`exact`, `waitAll`, or it is the `target`), the other streams' items are
 * dropped as `unmatched` as they come. {@link Synchronizer.flush} ends every stream, emits what
 * can still be matched and drops the rest as `unmatched`.
 *
 * @typeParam V - the value type of each stream, by stream name
 *
 * @example
 * ```ts
 * import { Synchronizer } from '@nv/sync';
 *
 * const sync = new Synchronizer<{ cam: string; radar: string }>({
 *   streams: ['cam', 'radar'],
 *   policy: { kind: 'realTime', toleranceMs: 20, waitAll: true },
 * });
 * sync.push('cam', { ts: 1000, value: 'frame A' });      // [] — no radar item yet
 * const [t] = sync.push('radar', { ts: 1008, value: 'sweep 1' });
 * // t: { ts: 1008, complete: true, items: { cam: { ts: 1000, … }, radar: { ts: 1008, … } }, missing: [] }
 * sync.stats().watermark;                               // 1008
 * ```
 */
export class Synchronizer<V extends StreamValues = StreamValues> {
  /** The stream names, in tuple order. */
  readonly streams: readonly StreamKey<V>[];
  /** The policy, with its defaults filled in. */
  readonly policy: ResolvedPolicy<StreamKey<V>>;
  readonly #lanes: Lane[];
  readonly #byKey = new Map<string, Lane>();
  /** Lanes whose items can be targets (`realTime`). */
  readonly #refs: Lane[];
  readonly #onDrop: ((drop: SyncDrop<V>) => void) | undefined;
  #watermark: number | undefined;
  #matched = 0;
  #partial = 0;
  #flushed = false;

  /**
   * @param options - streams, policy, capacity and an optional drop callback
   * @throws {ConfigError} `InvalidConfig` naming each invalid option (no streams, duplicate
   *   names, a negative tolerance, an unknown target stream, a capacity below 1…)
   */
  constructor(options: SynchronizerOptions<V>) {
    const resolved = resolveOptions(options);
    this.streams = Object.freeze([...resolved.streams]);
    this.policy = Object.freeze({ ...resolved.policy });
    this.#onDrop = options.onDrop;
    this.#lanes = resolved.streams.map((key) => ({
      key, capacity: resolved.capacity.get(key)!, items: [], last: undefined, ended: false, received: 0, emitted: 0,
      dropped: { overflow: 0, stale: 0, outOfOrder: 0, unmatched: 0, invalid: 0 },
    }));
    for (const l of this.#lanes) this.#byKey.set(l.key, l);
    const target = this.policy.kind === 'realTime' ? this.policy.target : undefined;
    this.#refs = target === undefined ? this.#lanes : [this.#byKey.get(target)!];
  }

  /**
   * The last-returned watermark (ms), `undefined` before the first tuple. See
   * {@link SyncStats.watermark}.
   */
  get watermark(): number | undefined { return this.#watermark; }

  /** Whether {@link Synchronizer.flush} has run (no more items are accepted). */
  get flushed(): boolean { return this.#flushed; }

  /**
   * Adds an item and returns the tuples that became ready (oldest first; often none).
   *
   * @param stream - one of {@link Synchronizer.streams}
   * @param item - `{ ts, value }`, `ts` in ms; a non-finite `ts` drops the item (`invalid`)
   * @throws {InvalidArgumentError} for an unknown stream, an item that is not an object, or a
   *   stream that has ended
   */
  push<K extends StreamKey<V>>(stream: K, item: SyncItem<V[K]>): SyncTuple<V>[] {
    this.insert(stream, item);
    return this.poll();
  }

  /**
   * Adds an item without matching: the next {@link Synchronizer.poll} (or `push`, `end`, `flush`)
   * considers it. Use it to hand over several items that arrived together, then poll once.
   *
   * @returns whether the item was buffered (false: it was dropped — see {@link SyncStats})
   * @throws {InvalidArgumentError} as {@link Synchronizer.push}
   */
  insert<K extends StreamKey<V>>(stream: K, item: SyncItem<V[K]>): boolean {
    const lane = this.#lane(stream);
    if (lane.ended) throw new InvalidArgumentError('stream', 'a stream that has not ended', stream);
    if (typeof item !== 'object' || item === null) throw new InvalidArgumentError('item', 'an object { ts, value }', item);
    lane.received++;
    const ts = item.ts;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) { this.#drop(lane, item, 'invalid'); return false; }
    if (lane.last !== undefined && ts < lane.last) { this.#drop(lane, item, 'outOfOrder'); return false; }
    lane.last = ts;
    if (this.policy.kind === 'realTime' && this.#watermark !== undefined && ts <= this.#watermark) {
      this.#drop(lane, item, 'stale');
      return false;
    }
    if (lane.items.length >= lane.capacity) this.#drop(lane, lane.items.shift()!, 'overflow');
    lane.items.push(item);
    return true;
  }

  /**
   * Runs the matching on what is buffered and returns the tuples that are ready, oldest first.
   *
   * @param limit - at most this many tuples (a positive integer or `Infinity`, the default)
   * @throws {InvalidArgumentError} for an invalid `limit`
   */
  poll(limit = Infinity): SyncTuple<V>[] {
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
      throw new InvalidArgumentError('limit', 'a positive integer or Infinity', limit);
    }
    const out: SyncTuple<V>[] = [];
    while (out.length < limit) {
      const t = this.policy.kind === 'exact' ? this.#stepExact() : this.#stepRealTime(this.policy.toleranceMs, this.policy.waitAll);
      if (t === undefined) break;
      out.push(t);
    }
    return out;
  }

  /**
   * Marks one stream as over (no more items from it). Buffered items of it can still match;
   * once it is empty, streams that need it for every tuple drop their items as `unmatched`.
   * Idempotent.
   *
   * @returns the tuples that became ready (usually none)
   * @throws {InvalidArgumentError} for an unknown stream
   */
  end(stream: StreamKey<V>): SyncTuple<V>[] {
    const lane = this.#lane(stream);
    if (this.#flushed) return [];
    lane.ended = true;
    return this.poll();
  }

  /**
   * Shutdown: ends every stream, emits every tuple that can still be formed, and drops what is
   * left as `unmatched`. After it, the synchronizer accepts no more items; a second call returns
   * `[]`.
   *
   * - `exact`: the remaining exact matches (none are left when every item went through `push`).
   * - `realTime`: first the usual matching; then, as nothing newer can arrive, the remaining
   *   items are walked oldest first: each target item whose tolerance window holds an item of
   *   every stream (`waitAll: false`: any target item) forms a tuple, each stream contributing
   *   its item nearest the target (ties: the older). The watermark rule still holds.
   *
   * @returns the tuples, oldest first
   */
  flush(): SyncTuple<V>[] {
    if (this.#flushed) return [];
    for (const l of this.#lanes) l.ended = true;
    const out = this.poll();
    if (this.policy.kind === 'realTime') {
      const { toleranceMs, waitAll } = this.policy;
      for (;;) {
        const t = this.#drainStep(toleranceMs, waitAll);
        if (t === undefined) break;
        out.push(t);
      }
    }
    for (const l of this.#lanes) this.#dropAll(l, 'unmatched');
    this.#flushed = true;
    return out;
  }

  /** A snapshot of the counters. */
  stats(): SyncStats<StreamKey<V>> {
    const streams = {} as Record<StreamKey<V>, StreamStats>;
    let dropped = 0;
    for (const l of this.#lanes) {
      const counts = { ...l.dropped } as Record<DropReason, number>;
      let total = 0;
      for (const r of DROP_REASONS) total += counts[r];
      dropped += total;
      const d: DropCounts = { ...counts, total };
      streams[l.key as StreamKey<V>] = { received: l.received, emitted: l.emitted, buffered: l.items.length, dropped: d, ended: l.ended };
    }
    return { matched: this.#matched, partial: this.#partial, dropped, streams, watermark: this.#watermark };
  }

  #lane(stream: string): Lane {
    const lane = this.#byKey.get(stream);
    if (lane === undefined) throw new InvalidArgumentError('stream', `one of ${this.streams.map((s) => `'${s}'`).join(', ')}`, stream);
    return lane;
  }

  #drop(lane: Lane, item: SyncItem<unknown>, reason: DropReason): void {
    lane.dropped[reason]++;
    const cb = this.#onDrop;
    if (cb === undefined) return;
    try {
      cb({ stream: lane.key, item, reason } as SyncDrop<V>);
    } catch { /* a drop listener must never break the join */ }
  }

  #dropAll(lane: Lane, reason: DropReason): void {
    const items = lane.items;
    lane.items = [];
    for (const it of items) this.#drop(lane, it, reason);
  }

  /** Drops the `n` oldest items of `lane`. */
  #dropHead(lane: Lane, n: number, reason: DropReason): void {
    if (n <= 0) return;
    const gone = lane.items.splice(0, n);
    for (const it of gone) this.#drop(lane, it, reason);
  }

  /**
   * `exact`: drop heads that can no longer match, then emit the common head if every stream
   * has one. A stream's lower bound is its head, else (empty) its last timestamp, or +∞ once it
   * has ended: no item below the largest lower bound can ever be matched.
   */
  #stepExact(): SyncTuple<V> | undefined {
    for (;;) {
      let bound = -Infinity;
      for (const l of this.#lanes) {
        const lb = l.items.length > 0 ? l.items[0]!.ts : l.ended ? Infinity : (l.last ?? -Infinity);
        if (lb > bound) bound = lb;
      }
      let dropped = false;
      for (const l of this.#lanes) {
        const n = lowerBound(l.items, bound);
        if (n > 0) { this.#dropHead(l, n, 'unmatched'); dropped = true; }
      }
      if (dropped) continue;
      if (this.#lanes.some((l) => l.items.length === 0)) return undefined;
      return this.#emit(bound, this.#lanes.map(() => 0));
    }
  }

  /**
   * Whether no tuple can ever be formed any more because a stream that every tuple needs has
   * ended with nothing buffered; if so, everything buffered is dropped as `unmatched`.
   */
  #deadEnd(waitAll: boolean): boolean {
    const needed = waitAll ? this.#lanes : this.#refs.length === 1 ? this.#refs : [];
    if (!needed.some((l) => l.ended && l.items.length === 0)) return false;
    for (const l of this.#lanes) this.#dropAll(l, 'unmatched');
    return true;
  }

  /** `realTime`: one tuple for the newest target, falling back to older targets when `waitAll`. */
  #stepRealTime(tol: number, waitAll: boolean): SyncTuple<V> | undefined {
    if (this.#deadEnd(waitAll)) return undefined;
    // A complete tuple needs every stream; a cheap exit for the common "one stream is silent".
    if (waitAll && this.#lanes.some((l) => l.items.length === 0)) return undefined;
    let target: number | undefined;
    for (const l of this.#refs) {
      const newest = l.items.at(-1);
      if (newest !== undefined && (target === undefined || newest.ts > target)) target = newest.ts;
    }
    while (target !== undefined) {
      const t = target;
      const picks = this.#lanes.map((l) => {
        const j = upperBound(l.items, t + tol) - 1;
        return j >= 0 && l.items[j]!.ts >= t - tol ? j : -1;
      });
      if (!waitAll || picks.every((j) => j >= 0)) return this.#emit(t, picks);
      // Next target: the newest target-stream item older than this window; over several target
      // streams the oldest of those (Rusted Pipe's choice).
      target = undefined;
      for (const l of this.#refs) {
        const j = lowerBound(l.items, t - tol) - 1;
        if (j >= 0) {
          const c = l.items[j]!.ts;
          if (target === undefined || c < target) target = c;
        }
      }
    }
    return undefined;
  }

  /** `flush()` under `realTime`: the oldest target item that still forms a tuple, if any. */
  #drainStep(tol: number, waitAll: boolean): SyncTuple<V> | undefined {
    if (this.#deadEnd(waitAll)) return undefined;
    const targets: number[] = [];
    for (const l of this.#refs) for (const it of l.items) targets.push(it.ts);
    targets.sort((a, b) => a - b);
    for (const t of targets) {
      const picks = this.#lanes.map((l) => {
        let best = -1, bestDist = Infinity;
        for (let j = lowerBound(l.items, t - tol); j < l.items.length && l.items[j]!.ts <= t + tol; j++) {
          const d = Math.abs(l.items[j]!.ts - t);
          if (d < bestDist) { best = j; bestDist = d; }
        }
        return best;
      });
      if (!waitAll || picks.every((j) => j >= 0)) return this.#emit(t, picks);
    }
    return undefined;
  }

  /**
   * Emits the tuple of the items at `picks` (an index per lane, -1 for a gap): each picked item
   * leaves its buffer with the older items before it (`stale`), the watermark moves, and under
   * `realTime` every item at or below it goes (`stale`).
   */
  #emit(ts: number, picks: readonly number[]): SyncTuple<V> {
    const items: Record<string, SyncItem<unknown> | undefined> = {};
    const missing: string[] = [];
    let newest = -Infinity;
    this.#lanes.forEach((l, i) => {
      const j = picks[i]!;
      if (j < 0) { items[l.key] = undefined; missing.push(l.key); return; }
      this.#dropHead(l, j, 'stale');
      const it = l.items.shift()!;
      l.emitted++;
      items[l.key] = it;
      if (it.ts > newest) newest = it.ts;
    });
    if (this.policy.kind === 'realTime') {
      this.#watermark = newest;
      for (const l of this.#lanes) this.#dropHead(l, upperBound(l.items, newest), 'stale');
    } else {
      this.#watermark = ts;
    }
    const complete = missing.length === 0;
    if (complete) this.#matched++; else this.#partial++;
    return Object.freeze({ ts, complete, items: Object.freeze(items), missing: Object.freeze(missing) }) as unknown as SyncTuple<V>;
  }
}
