/**
 * The synchronizer's vocabulary: items, tuples, policies, drop reasons and statistics.
 *
 * Timestamps are plain numbers in **milliseconds**. The synchronizer compares them only with one
 * another: they must share one clock across every stream of a synchronizer. For nv feeds that
 * clock is the wall clock (see `outputWallClockMs`), never the feed timeline `ts`, which starts
 * at 0 on each feed.
 *
 * @packageDocumentation
 */

/** The value type of each stream, by stream name: `{ left: Frame; right: Frame; gps: Fix }`. */
export type StreamValues = Record<string, unknown>;

/** The stream names of `V`. */
export type StreamKey<V extends StreamValues> = keyof V & string;

/** One timestamped item of a stream. */
export interface SyncItem<T> {
  /** Its timestamp (ms, on the clock every stream of the synchronizer shares). */
  readonly ts: number;
  /** The payload, returned untouched in tuples. */
  readonly value: T;
}

/** A tuple with an item from every stream. */
export interface CompleteTuple<V extends StreamValues> {
  /**
   * The tuple's reference timestamp (ms): the common timestamp under `exact`; the target the
   * items were matched to under `realTime` (each item keeps its own `ts`).
   */
  readonly ts: number;
  /** `true`: every stream has an item. */
  readonly complete: true;
  /** One item per stream. */
  readonly items: { readonly [K in StreamKey<V>]: SyncItem<V[K]> };
  /** Streams without an item: none. */
  readonly missing: readonly [];
}

/**
 * A tuple with gaps (only `realTime` with `waitAll: false` makes them): every stream is a key of
 * `items`, and a stream without a match has the explicit value `undefined`.
 */
export interface PartialTuple<V extends StreamValues> {
  /** The target timestamp the items were matched to (ms). */
  readonly ts: number;
  /** `false`: at least one stream has no item. */
  readonly complete: false;
  /** One entry per stream; `undefined` is a gap. */
  readonly items: { readonly [K in StreamKey<V>]: SyncItem<V[K]> | undefined };
  /** The streams that have a gap, in stream order (at least one). */
  readonly missing: readonly StreamKey<V>[];
}

/**
 * What a synchronizer emits: complete or partial (narrow on `complete`).
 *
 * @example
 * ```ts
 * for (const t of sync.push('gps', { ts: 1000, value: fix })) {
 *   if (t.complete) use(t.items.camera.value, t.items.gps.value);
 *   else console.log('no match for', t.missing);
 * }
 * ```
 */
export type SyncTuple<V extends StreamValues> = CompleteTuple<V> | PartialTuple<V>;

/**
 * `exact`: tuples only of items with identical timestamps, one per stream — for offline work
 * (recordings, replays) where every stream stamps the same instants.
 */
export interface ExactPolicy {
  readonly kind: 'exact';
}

/**
 * `realTime`: match each stream's item within `toleranceMs` of a target, freshest first (the
 * semantics of Rusted Pipe's `RealTimeSynchronizer`; see the package README).
 */
export interface RealTimePolicy<K extends string = string> {
  readonly kind: 'realTime';
  /** How far (ms, finite, ≥ 0) an item may be from the target and still join its tuple. */
  readonly toleranceMs: number;
  /**
   * `true` (default): only complete tuples. `false`: a tuple whenever a target exists, with an
   * explicit `undefined` for each stream that has nothing within tolerance.
   */
  readonly waitAll?: boolean;
  /**
   * The stream whose items are the targets (absent: every stream's — the newest item of any
   * stream is the target, as in Rusted Pipe). With a target stream, every tuple carries an item
   * of that stream.
   */
  readonly target?: K;
}

/** How a synchronizer pairs items. */
export type SyncPolicy<K extends string = string> = ExactPolicy | RealTimePolicy<K>;

/**
 * Why an item was dropped instead of joining a tuple. Every item pushed ends up in exactly one
 * place: a tuple, a drop counter, or still buffered.
 *
 * - `overflow`: its stream's buffer was full when a newer item arrived; the oldest goes.
 * - `stale` (`realTime`): at or below the watermark — it arrived too late, or a tuple took a
 *   newer item of its stream, or the watermark passed it. It can never be emitted.
 * - `outOfOrder`: older than the previous item of its stream (timestamps must be non-decreasing
 *   per stream).
 * - `unmatched`: it can never be part of a tuple: under `exact`, another stream is already past
 *   its timestamp; after a stream ended with nothing buffered, when every tuple needs that stream;
 *   and whatever is left over at `flush()`.
 * - `invalid`: its timestamp is not a finite number (for example a feed output whose wall clock
 *   is unknown).
 */
export type DropReason = 'overflow' | 'stale' | 'outOfOrder' | 'unmatched' | 'invalid';

/** Every {@link DropReason}, in a fixed order. */
export const DROP_REASONS: readonly DropReason[] = Object.freeze(['overflow', 'stale', 'outOfOrder', 'unmatched', 'invalid']);

/** Items dropped, by reason, and their sum. */
export type DropCounts = { readonly [R in DropReason]: number } & {
  /** The sum over the reasons. */
  readonly total: number;
};

/** One stream's counters (see {@link SyncStats}). */
export interface StreamStats {
  /** Items pushed so far (dropped ones included). */
  readonly received: number;
  /** Items that went out in a tuple. */
  readonly emitted: number;
  /** Items buffered now, waiting for a match (at most the stream's capacity). */
  readonly buffered: number;
  /** Items dropped, by reason. `received = emitted + dropped.total + buffered` always holds. */
  readonly dropped: DropCounts;
  /** Whether the stream has ended (`end()` or `flush()`). */
  readonly ended: boolean;
}

/** A snapshot of a synchronizer's counters. */
export interface SyncStats<K extends string = string> {
  /** Complete tuples emitted. */
  readonly matched: number;
  /** Partial tuples emitted (with at least one gap). */
  readonly partial: number;
  /** Items dropped over all streams. */
  readonly dropped: number;
  /** Per-stream counters. */
  readonly streams: { readonly [S in K]: StreamStats };
  /**
   * The last-returned watermark (ms), `undefined` before the first tuple: under `realTime` the
   * newest item timestamp that went out in a tuple — nothing at or below it is ever emitted again;
   * under `exact` the last tuple's timestamp — tuples never go back in time.
   */
  readonly watermark: number | undefined;
}

/** One dropped item, as {@link SynchronizerOptions.onDrop} gets it. */
export type SyncDrop<V extends StreamValues> = {
  [K in StreamKey<V>]: {
    /** The stream it came from. */
    readonly stream: K;
    /** The item. */
    readonly item: SyncItem<V[K]>;
    /** Why it was dropped. */
    readonly reason: DropReason;
  };
}[StreamKey<V>];

/** Options of a `Synchronizer`. */
export interface SynchronizerOptions<V extends StreamValues> {
  /** The stream names, at least one, unique and non-empty. Tuples list them in this order. */
  readonly streams: readonly StreamKey<V>[];
  /** How items are paired. */
  readonly policy: SyncPolicy<StreamKey<V>>;
  /**
   * Buffered items per stream, at most (a positive integer; default 64), as one number or per
   * stream. When a stream's buffer is full, its oldest item is dropped (`overflow`) to make room:
   * buffers never grow past this and a silent stream never blocks the others.
   */
  readonly capacity?: number | { readonly [K in StreamKey<V>]?: number };
  /**
   * Called synchronously for each dropped item, for example to release a retained frame.
   * Exceptions it throws are ignored.
   */
  readonly onDrop?: (drop: SyncDrop<V>) => void;
}
