/**
 * `@nv/pipeline`: the one per-frame step of nv — view update, epoch decision and compensation,
 * retention, the temporal snapshot, the stages around an optional batch point, the commit and
 * the output record — in explicit phases with a synchronous fast path. `@nv/runtime`'s feeds
 * and `@nv/test-util`'s harness both run their frames through it, so a stage test exercises the
 * production frame path. Pure TypeScript: no media, no native addon.
 *
 * @packageDocumentation
 */
export { FrameStep, ABANDONED, describeError, panicEvents } from './frame-step.js';
export type {
  Abandoned, BatchPoint, BatchPointResult, FrameOutcome, FrameStepHooks, FrameStepOptions, FrameStepResult, PlanSegment,
} from './frame-step.js';
export { FrameSampler } from './frame-inclusion.js';
