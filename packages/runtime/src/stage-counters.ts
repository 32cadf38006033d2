/**
 * Reading a stage's own counters (`Stage.counters()`) for diagnostics: only entries that keep
 * `StageCounter`'s rules get through (`validCounterSamples` in `@nv/core`), so a buggy stage
 * cannot break a metrics collection or flood it with series.
 */
import { MAX_COUNTER_SAMPLES, validCounterSamples } from '@nv/core';
import type { Stage, StageCounter } from '@nv/perception';

/** At most this many entries per stage per read. */
export const MAX_STAGE_COUNTERS = MAX_COUNTER_SAMPLES;

/**
 * The valid counters a stage reports now: plain frozen copies, at most
 * {@link MAX_STAGE_COUNTERS}; empty when it has no `counters()` or it throws.
 * @param stage - the stage
 * @returns the entries that keep the rules, in the stage's order
 */
export function stageCounters(stage: Stage): readonly StageCounter[] {
  if (typeof stage.counters !== 'function') return [];
  return validCounterSamples(() => stage.counters!());
}
