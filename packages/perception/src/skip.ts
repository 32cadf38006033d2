/**
 * Letting a stage say "I did not run on this frame" — distinct from an empty output and from
 * a failure — so provenance and metrics can tell them apart.
 */
import { StageError } from '@nv/core';

const SKIP = Symbol.for('nv.stage.skip');

/** Returned by a stage's `process` to report that it skipped this frame (see {@link skip}). */
export interface StageSkip {
  /** Why the stage skipped the frame (shown in provenance). */
  readonly reason: string;
  /** @internal brand */
  readonly [SKIP]: true;
}

/**
 * Returns a value that a stage's `process` can return to report that it deliberately did
 * not process this frame (e.g. a recognizer with nothing new to read). The frame continues
 * through the later stages; provenance records the stage as `skipped` with the reason and the
 * stage's `skipped` counter increases.
 *
 * @example
 * ```ts
 * process(ctx) {
 *   if (ctx.artifacts.detections.length === 0) return skip('no detections');
 *   ...
 * }
 * ```
 */
export function skip(reason: string): StageSkip {
  return Object.freeze({ reason: String(reason), [SKIP]: true as const });
}

/** @returns whether `v` was made by {@link skip} (works across package copies). */
export function isSkip(v: unknown): v is StageSkip {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[SKIP] === true;
}

/**
 * How a stage's failure is classified in provenance and metrics:
 * `processingFailed`, `resourceExhausted`, `dependencyUnavailable` (model could not load),
 * `panic` (not a `StageError`), or `other:<tag>` for {@link StageError.tagged} failures.
 */
export type StageOutcomeCategory = 'processingFailed' | 'resourceExhausted' | 'dependencyUnavailable' | 'panic' | `other:${string}`;

/** Classifies a failure (see {@link StageOutcomeCategory}). */
export function outcomeCategory(error: unknown): StageOutcomeCategory {
  if (!StageError.isInstance(error)) return 'panic';
  if (error.tag) return `other:${error.tag}`;
  switch (error.kind) {
    case 'ResourceExhausted': return 'resourceExhausted';
    case 'ModelLoadFailed': return 'dependencyUnavailable';
    default: return 'processingFailed';
  }
}
