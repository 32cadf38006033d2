/**
 * A stage's own counters (`Stage.counters()`) in the feed's diagnostics: read fresh at each
 * snapshot, invalid entries left out, a throwing `counters()` leaves them all out, and the feed
 * is never affected.
 */
import type { Stage, StageCounter } from '@nv/perception';
import { SyntheticSource, frameSequence } from '@nv/test-util';
import { describe, expect, it } from 'vitest';
import { Runtime } from './index.js';
import { MAX_STAGE_COUNTERS, stageCounters } from './stage-counters.js';

class Counting implements Stage {
  readonly id = 'counting';
  frames = 0;
  process(): void { this.frames++; }
  counters(): readonly StageCounter[] {
    return [
      { name: 'demo.frames', kind: 'counter', value: this.frames },
      { name: 'demo.zone.occupancy', kind: 'gauge', labels: { zone: 'door' }, value: this.frames % 3 },
    ];
  }
}

describe('stage counters', () => {
  it('appear in the feed diagnostics under the stage, read at each snapshot', async () => {
    const stage = new Counting();
    const rt = new Runtime();
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(10)), cameraMode: 'fixed', stages: [stage], sink: { emit() {} } });
    await feed.done;
    expect(feed.metrics().stages['counting']!.counters).toEqual([
      { name: 'demo.frames', kind: 'counter', value: 10 },
      { name: 'demo.zone.occupancy', kind: 'gauge', labels: { zone: 'door' }, value: 1 },
    ]);
    expect(rt.diagnostics().feeds[0]!.metrics.stages['counting']!.counters?.[0]?.value).toBe(10);
    await rt.shutdown();
  });

  it('keeps only entries that follow the rules; a throw or a non-array reports none', () => {
    const bad: unknown[] = [
      { name: 'ok.one', kind: 'counter', value: 1 },
      { name: 'Upper', kind: 'counter', value: 1 },
      { name: 'x', kind: 'histogram', value: 1 },
      { name: 'neg', kind: 'counter', value: -1 },
      { name: 'neg.gauge', kind: 'gauge', value: -1 },
      { name: 'nan', kind: 'gauge', value: Number.NaN },
      { name: 'reserved', kind: 'gauge', value: 1, labels: { feed_id: '9' } },
      { name: 'toomany', kind: 'gauge', value: 1, labels: { a: '1', b: '2', c: '3', d: '4', e: '5' } },
      { name: 'nonstring', kind: 'gauge', value: 1, labels: { a: 1 } },
      null,
      'text',
    ];
    const s = (counters: () => unknown): Stage => ({ id: 's', process() {}, counters: counters as () => readonly StageCounter[] });
    expect(stageCounters(s(() => bad)).map((c) => c.name)).toEqual(['ok.one', 'neg.gauge']);
    expect(stageCounters(s(() => { throw new Error('boom'); }))).toEqual([]);
    expect(stageCounters(s(() => 42))).toEqual([]);
    expect(stageCounters({ id: 'plain', process() {} })).toEqual([]);
    const many = Array.from({ length: 1000 }, (_, i) => ({ name: 'n', kind: 'gauge', labels: { i: String(i) }, value: i }));
    expect(stageCounters(s(() => many))).toHaveLength(MAX_STAGE_COUNTERS);
  });

  it('a stage whose counters() throws runs normally and reports none', async () => {
    const stage: Stage = { id: 'thrower', process() {}, counters() { throw new Error('boom'); } };
    const rt = new Runtime();
    const outs: number[] = [];
    const feed = rt.addFeed({ source: () => new SyntheticSource(frameSequence(5)), cameraMode: 'fixed', stages: [stage], sink: { emit(o) { outs.push(o.seq); } } });
    await feed.done;
    expect(outs).toEqual([0, 1, 2, 3, 4]);
    expect(feed.metrics().stages['thrower']!.counters).toBeUndefined();
    await rt.shutdown();
  });
});
