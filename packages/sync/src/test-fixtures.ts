/**
 * Test vectors ported from Rusted Pipe (`szandara/rusted_pipe`, the Rust pipeline whose
 * synchronizers `@nv/sync` follows), as data: the input sequences and the expected outputs of its
 * synchronizer and buffer unit tests, restated in this package's terms. Not published.
 *
 * Mapping:
 * - Rusted Pipe's test buffer is a `ReadChannel3` with channels `c1`, `c2`, `c3`; an `add_data`
 *   call is one item here (`add`), its timestamp unit-free (we read it as ms).
 * - One `synchronize()` call followed by `get_packets_for_version` (which takes the returned
 *   versions out of the buffers, and, in the real-time tests, everything older than them) is one
 *   `poll(1)` here, which does both (`sync`). Expected tuples list one timestamp per stream in
 *   stream order (Rusted Pipe's `check_packet_set_contains_versions`), `null` for a gap; a
 *   `sync: null` step expects no tuple.
 * - `counts` steps are ours, not Rusted Pipe's: they assert our buffer and drop counters where
 *   our semantics add something (eager drops), and say why.
 *
 * Where our spec differs from Rusted Pipe, the vector's `note` says so and the vector asserts
 * our behaviour.
 *
 * @packageDocumentation
 */
import type { DropReason, StreamStats, SyncPolicy, SyncStats } from './types.js';

/** The channel names of Rusted Pipe's tests. */
export type RpStream = 'c1' | 'c2' | 'c3';

/** One step of a vector. */
export type RpStep =
  /** Push these items (stream, ts), in order, without matching (Rusted Pipe's `add_data`). */
  | { readonly add: readonly (readonly [RpStream, number])[] }
  /** One `synchronize()` + take: the expected tuple's timestamps per stream (null: gap), or null for none. */
  | { readonly sync: readonly (number | null)[] | null }
  /** Our counters after the previous steps (only the fields listed). */
  | {
    readonly counts: {
      readonly buffered?: Partial<Record<RpStream, number>>;
      readonly dropped?: Partial<Record<RpStream, Partial<Record<DropReason, number>>>>;
    };
    /** Why these counts (our semantics, not Rusted Pipe's). */
    readonly why: string;
  };

/** One ported test. */
export interface RustedPipeVector {
  /** A short name for the test report. */
  readonly name: string;
  /** Where it comes from in `szandara/rusted_pipe` (file and test function). */
  readonly source: { readonly path: string; readonly test: string };
  readonly streams: readonly RpStream[];
  readonly policy: SyncPolicy<RpStream>;
  readonly capacity?: number;
  readonly steps: readonly RpStep[];
  /** Where our semantics differ from Rusted Pipe's, and what the vector asserts. */
  readonly note?: string;
}

const c1to5: readonly (readonly [RpStream, number])[] = [['c1', 1], ['c1', 2], ['c1', 3], ['c1', 4], ['c1', 5]];

/** The ported vectors. */
export const RUSTED_PIPE_VECTORS: readonly RustedPipeVector[] = [
  {
    name: 'exact: no tuple while one channel is empty',
    source: { path: 'src/buffers/synchronizers/mod.rs', test: 'test_timestamp_synchronize_is_none_if_no_data_on_channel' },
    streams: ['c1', 'c2', 'c3'],
    policy: { kind: 'exact' },
    steps: [
      { add: [['c1', 2], ['c1', 3]] },
      { sync: null },
      { counts: { buffered: { c1: 2 } }, why: 'c2 and c3 have sent nothing yet: c1 waits, nothing is dropped' },
    ],
  },
  {
    name: 'exact: matches the minimum timestamps, in order, until the buffers are empty',
    source: { path: 'src/buffers/synchronizers/timestamp.rs', test: 'test_timestamp_synchronize_returns_all_data' },
    streams: ['c1', 'c2', 'c3'],
    policy: { kind: 'exact' },
    steps: [
      { add: [['c1', 2], ['c1', 3], ['c3', 2], ['c3', 3]] },
      { sync: null },
      { add: [['c2', 2], ['c2', 3], ['c1', 4], ['c3', 4]] },
      { sync: [2, 2, 2] },
      { sync: [3, 3, 3] },
      { add: [['c2', 4]] },
      { sync: [4, 4, 4] },
      { sync: null },
      { counts: { buffered: { c1: 0, c2: 0, c3: 0 } }, why: 'Rusted Pipe ends with are_buffers_empty()' },
    ],
  },
  {
    name: 'realTime tolerance 0, waitAll: newest common timestamp, older ones skipped',
    source: { path: 'src/buffers/synchronizers/real_time.rs', test: 'test_realtime_synchronize_returns_all_data' },
    streams: ['c1', 'c2', 'c3'],
    policy: { kind: 'realTime', toleranceMs: 0, waitAll: true },
    steps: [
      { add: c1to5 },
      { sync: null },
      { add: [['c2', 1], ['c3', 1]] },
      { sync: [1, 1, 1] },
      { add: [['c2', 5], ['c3', 5]] },
      { sync: [5, 5, 5] },
      {
        counts: { buffered: { c1: 0, c2: 0, c3: 0 }, dropped: { c1: { stale: 3 } } },
        why: 'the tuple at 5 takes c1 4, 3, 2 out with it: they are older than what went out (stale)',
      },
    ],
  },
  {
    name: 'realTime tolerance 2, waitAll: falls back to an older target, newest item within tolerance per channel',
    source: { path: 'src/buffers/synchronizers/real_time.rs', test: 'test_realtime_synchronize_if_with_tolerance' },
    streams: ['c1', 'c2', 'c3'],
    policy: { kind: 'realTime', toleranceMs: 2, waitAll: true },
    steps: [
      { add: c1to5 },
      { sync: null },
      { add: [['c2', 1], ['c3', 2]] },
      // Target 5 finds nothing on c2/c3; the oldest per-channel candidate below the window is 1
      // (c2); within [-1, 3] each channel gives its newest item: c1 3, c2 1, c3 2.
      { sync: [3, 1, 2] },
      { add: [['c2', 4], ['c3', 5]] },
      { sync: [5, 4, 5] },
      { counts: { buffered: { c1: 0, c2: 0, c3: 0 }, dropped: { c1: { stale: 3 } } }, why: 'c1 1, 2 went out with the tuple that took c1 3, c1 4 with the one that took c1 5' },
    ],
  },
  {
    name: 'realTime tolerance 2, no waitAll: partial tuples with gaps, late items never emitted',
    source: { path: 'src/buffers/synchronizers/real_time.rs', test: 'test_realtime_synchronize_if_not_wait_all' },
    streams: ['c1', 'c2', 'c3'],
    policy: { kind: 'realTime', toleranceMs: 2, waitAll: false },
    note:
      'Rusted Pipe keeps items at or below the last-returned watermark in the buffers (skipped by later ' +
      'searches, taken out only when a newer item of the same channel is taken); we drop them as stale ' +
      'at once, so they cannot fill a buffer. The tuples are the same; the counts steps assert our drops.',
    steps: [
      { add: c1to5 },
      { sync: [5, null, null] },
      { add: [['c2', 1], ['c3', 2]] },
      { sync: null },
      { counts: { buffered: { c1: 0, c2: 0, c3: 0 }, dropped: { c2: { stale: 1 }, c3: { stale: 1 } } }, why: 'c2 1 and c3 2 are at or below the watermark 5' },
      { add: [['c1', 6], ['c2', 10], ['c3', 11]] },
      { sync: [null, 10, 11] },
      { counts: { buffered: { c1: 0 }, dropped: { c1: { stale: 5 } } }, why: 'c1 6 is now below the watermark 11 (c1 1–4 went out with c1 5 earlier)' },
      { add: [['c2', 11], ['c3', 12]] },
      { sync: [null, null, 12] },
      { add: [['c2', 13], ['c2', 14], ['c2', 15], ['c3', 14], ['c3', 15]] },
      { sync: [null, 15, 15] },
      { sync: null },
    ],
  },
  {
    name: 'buffer past capacity drops the oldest',
    source: { path: 'src/buffers/single_buffers.rs', test: 'test_buffer_inserts_and_drops_data_if_past_capacity' },
    streams: ['c1', 'c2'],
    policy: { kind: 'exact' },
    capacity: 32,
    note:
      'A buffer test in Rusted Pipe (42 inserts into a 32-slot drop-oldest buffer, the head is then 10); ported ' +
      'through the synchronizer: c2 is silent while c1 overflows, then c2 10 matches the oldest item c1 kept.',
    steps: [
      { add: Array.from({ length: 42 }, (_, i) => ['c1', i] as const) },
      { sync: null },
      { counts: { buffered: { c1: 32 }, dropped: { c1: { overflow: 10 } } }, why: 'capacity 32: c1 0–9 were dropped to make room' },
      { add: [['c2', 10]] },
      { sync: [10, 10] },
    ],
  },
  {
    name: 'a full buffer loses its oldest item; a late match for it is unmatched',
    source: { path: 'src/buffers/single_buffers.rs', test: 'test_buffer_contains_key_returns_expected' },
    streams: ['c1', 'c2'],
    policy: { kind: 'exact' },
    capacity: 2,
    note:
      "Rusted Pipe's exact synchronizer never jumps over a timestamp (with c2's head at 0 and c1's at 1 it would " +
      'return nothing forever). Ours drops c2 0 as unmatched: c1 is past 0, so it can never match — no hang. ' +
      "Rusted Pipe's block-on-full mode (test_read_channel_try_read_returns_error_when_buffer_is_full in " +
      'src/channels/read_channel.rs, which refuses the third insert) is not offered: our buffers always drop the oldest.',
    steps: [
      { add: [['c1', 0], ['c1', 1], ['c1', 2]] },
      { counts: { buffered: { c1: 2 }, dropped: { c1: { overflow: 1 } } }, why: 'c1 0 is gone, as contains_key(0) is false in Rusted Pipe' },
      { add: [['c2', 0]] },
      { sync: null },
      { counts: { buffered: { c2: 0 }, dropped: { c2: { unmatched: 1 } } }, why: 'c2 0 can never match: c1 is already at 1' },
      { add: [['c2', 1]] },
      { sync: [1, 1] },
      { add: [['c2', 2]] },
      { sync: [2, 2] },
    ],
  },
  {
    name: 'an out-of-order item is dropped, not an error',
    source: { path: 'src/buffers/single_buffers.rs', test: 'test_buffer_returns_error_if_data_out_of_order' },
    streams: ['c1', 'c2'],
    policy: { kind: 'exact' },
    note:
      'Rusted Pipe returns BufferError::OutOfOrder from insert; our push never throws on data: the item is ' +
      'dropped and counted (outOfOrder). Rusted Pipe checks the new timestamp against the oldest buffered ' +
      'item and refuses equal ones; we check it against the previous item of the stream and accept equal ones.',
    steps: [
      { add: [['c1', 1], ['c1', 0]] },
      { counts: { buffered: { c1: 1 }, dropped: { c1: { outOfOrder: 1 } } }, why: 'c1 0 came after c1 1' },
      { add: [['c2', 1]] },
      { sync: [1, 1] },
    ],
  },
];

/**
 * Checks the accounting invariant of every stream — each item pushed is in exactly one place:
 * `received = emitted + dropped.total + buffered` — and that `dropped.total` sums the reasons.
 * @returns the names of the streams that break it (empty when all is well)
 */
export function conservationViolations(stats: SyncStats): string[] {
  const bad: string[] = [];
  for (const [name, s] of Object.entries(stats.streams) as [string, StreamStats][]) {
    const d = s.dropped;
    const sum = d.overflow + d.stale + d.outOfOrder + d.unmatched + d.invalid;
    if (s.received !== s.emitted + d.total + s.buffered || sum !== d.total) bad.push(name);
  }
  return bad;
}
