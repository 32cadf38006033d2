/**
 * Static validation of a stage list: duplicate ids and unmet artifact dependencies.
 */
import { ConfigError, InvalidArgumentError } from '@nv/core';
import type { BatchProcessor } from './batch.js';
import type { Stage, StageCapabilities } from './stage.js';

/** One problem found by {@link validateStages}. */
export type ValidationWarning =
  | { readonly kind: 'duplicateStageId'; readonly stageId: string }
  | { readonly kind: 'unsatisfiedDependency'; readonly stageId: string; readonly missing: 'detections' | 'tracks' };

/** What to do with warnings: ignore (`off`, default), report (`warn`), or refuse to build (`error`). */
export type ValidationMode = 'off' | 'warn' | 'error';

/** A pipeline split around an optional shared batch processor: `pre` stages, the batch step, `post` stages. */
export interface PhasedPipeline {
  /** Stages run before the batch step (or all stages when there is none). */
  readonly pre: readonly Stage[];
  /** The shared batch processor, if the pipeline uses one. */
  readonly batch?: BatchProcessor;
  /** Stages run after the batch step. */
  readonly post?: readonly Stage[];
}

function checkStage(s: unknown, i: number): asserts s is Stage {
  const st = s as Stage | undefined;
  if (!st || typeof st !== 'object' || typeof st.process !== 'function') {
    throw new InvalidArgumentError(`stages[${i}]`, 'an object with a process(ctx) method', s);
  }
  if (typeof st.id !== 'string' || st.id.length === 0) throw new InvalidArgumentError(`stages[${i}].id`, 'a non-empty string', st.id);
}

/**
 * Checks a pipeline: every stage is well-formed (throws), ids are unique (including the batch
 * processor's), and each declared consumer of detections/tracks has an earlier producer.
 * Stages without `capabilities` are not checked for dependencies.
 *
 * @returns the warnings, in pipeline order
 * @throws {InvalidArgumentError} when an entry is not a stage (no `process`, empty `id`)
 * @example
 * ```ts
 * const warnings = validateStages([tracker, detector]); // tracker consumes detections first
 * // [{ kind: 'unsatisfiedDependency', stageId: 'tracker', missing: 'detections' }]
 * ```
 */
export function validateStages(stages: readonly Stage[] | PhasedPipeline): ValidationWarning[] {
  const phased: PhasedPipeline = Array.isArray(stages) ? { pre: stages as readonly Stage[] } : (stages as PhasedPipeline);
  const steps: { id: string; caps: StageCapabilities | undefined }[] = [];
  phased.pre.forEach((s, i) => { checkStage(s, i); steps.push({ id: s.id, caps: s.capabilities }); });
  if (phased.batch) {
    const b = phased.batch;
    if (!b || typeof b.process !== 'function' || typeof b.id !== 'string' || !b.id) throw new InvalidArgumentError('batch', 'a BatchProcessor with id and process(entries)', b);
    steps.push({ id: b.id, caps: b.capabilities });
  }
  (phased.post ?? []).forEach((s, i) => { checkStage(s, phased.pre.length + i); steps.push({ id: s.id, caps: s.capabilities }); });

  const warnings: ValidationWarning[] = [];
  const seen = new Set<string>();
  let haveDetections = false, haveTracks = false;
  for (const { id, caps } of steps) {
    if (seen.has(id)) warnings.push({ kind: 'duplicateStageId', stageId: id });
    seen.add(id);
    if (caps?.consumesDetections && !haveDetections) warnings.push({ kind: 'unsatisfiedDependency', stageId: id, missing: 'detections' });
    if (caps?.consumesTracks && !haveTracks) warnings.push({ kind: 'unsatisfiedDependency', stageId: id, missing: 'tracks' });
    if (caps?.producesDetections) haveDetections = true;
    if (caps?.producesTracks) haveTracks = true;
  }
  return warnings;
}

/** Human-readable form of a warning. */
export function formatValidationWarning(w: ValidationWarning): string {
  return w.kind === 'duplicateStageId'
    ? `duplicate stage id '${w.stageId}'`
    : `stage '${w.stageId}' consumes ${w.missing} but no earlier stage produces them`;
}

/**
 * Applies a {@link ValidationMode}: `error` throws on any warning, `warn` passes them to
 * `report`, `off` does nothing. Duplicate ids are always an error: provenance and metrics
 * are keyed by stage id.
 * @throws {ConfigError} `StageValidation`
 */
export function enforceStageValidation(
  stages: readonly Stage[] | PhasedPipeline,
  mode: ValidationMode = 'off',
  report: (w: ValidationWarning) => void = () => {},
): ValidationWarning[] {
  const warnings = validateStages(stages);
  const dup = warnings.find((w) => w.kind === 'duplicateStageId');
  if (dup) throw ConfigError.stageValidation(formatValidationWarning(dup));
  if (mode === 'error' && warnings.length) throw ConfigError.stageValidation(warnings.map(formatValidationWarning).join('; '));
  if (mode === 'warn') warnings.forEach(report);
  return warnings;
}
