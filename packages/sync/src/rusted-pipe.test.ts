import { describe, expect, it } from 'vitest';
import { Synchronizer } from './synchronizer.js';
import { conservationViolations, RUSTED_PIPE_VECTORS, type RpStream, type RustedPipeVector } from './test-fixtures.js';
import type { SyncTuple } from './types.js';

type Values = Record<RpStream, string>;

/** A tuple as Rusted Pipe's tests check it: one timestamp per stream, in stream order, null for a gap. */
function versions(t: SyncTuple<Values>, streams: readonly RpStream[]): (number | null)[] {
  return streams.map((s) => t.items[s]?.ts ?? null);
}

function run(v: RustedPipeVector): void {
  const sync = new Synchronizer<Values>({ streams: v.streams, policy: v.policy, ...(v.capacity !== undefined ? { capacity: v.capacity } : {}) });
  v.steps.forEach((step, i) => {
    const where = `${v.source.test} step ${i}`;
    if ('add' in step) {
      for (const [s, ts] of step.add) sync.insert(s, { ts, value: 'data' });
    } else if ('sync' in step) {
      const got = sync.poll(1);
      if (step.sync === null) expect(got, where).toEqual([]);
      else {
        expect(got, where).toHaveLength(1);
        const t = got[0]!;
        expect(versions(t, v.streams), where).toEqual(step.sync);
        expect(t.complete, where).toBe(step.sync.every((x) => x !== null));
      }
    } else {
      const st = sync.stats();
      for (const [s, n] of Object.entries(step.counts.buffered ?? {})) expect(st.streams[s as RpStream].buffered, `${where} buffered ${s}: ${step.why}`).toBe(n);
      for (const [s, reasons] of Object.entries(step.counts.dropped ?? {})) {
        for (const [r, n] of Object.entries(reasons)) {
          expect(st.streams[s as RpStream].dropped[r as keyof typeof reasons], `${where} dropped ${s} ${r}: ${step.why}`).toBe(n);
        }
      }
    }
    expect(conservationViolations(sync.stats()), where).toEqual([]);
  });
}

describe('Rusted Pipe synchronizer test vectors (szandara/rusted_pipe)', () => {
  it('ports every synchronizer test of src/buffers/synchronizers and the drop-oldest buffer tests', () => {
    const tests = RUSTED_PIPE_VECTORS.map((v) => `${v.source.path}#${v.source.test}`);
    expect(tests).toEqual(expect.arrayContaining([
      'src/buffers/synchronizers/mod.rs#test_timestamp_synchronize_is_none_if_no_data_on_channel',
      'src/buffers/synchronizers/timestamp.rs#test_timestamp_synchronize_returns_all_data',
      'src/buffers/synchronizers/real_time.rs#test_realtime_synchronize_returns_all_data',
      'src/buffers/synchronizers/real_time.rs#test_realtime_synchronize_if_with_tolerance',
      'src/buffers/synchronizers/real_time.rs#test_realtime_synchronize_if_not_wait_all',
    ]));
  });

  for (const v of RUSTED_PIPE_VECTORS) {
    it(`${v.source.path} ${v.source.test}: ${v.name}`, () => run(v));
  }

  it('push (insert + poll) gives the same tuples as the step-by-step replay when each add is followed by a sync', () => {
    // Rusted Pipe's ReadChannel synchronizes after each received packet; push does the same.
    const sync = new Synchronizer<Values>({ streams: ['c1', 'c2', 'c3'], policy: { kind: 'realTime', toleranceMs: 2, waitAll: true } });
    for (let ts = 1; ts <= 5; ts++) expect(sync.push('c1', { ts, value: 'data' })).toEqual([]);
    expect(sync.push('c2', { ts: 1, value: 'data' })).toEqual([]);
    const [t] = sync.push('c3', { ts: 2, value: 'data' });
    expect(versions(t!, sync.streams)).toEqual([3, 1, 2]);
  });
});
