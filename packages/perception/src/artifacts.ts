/**
 * Stage outputs and the per-frame artifact accumulator with nv's merge rules.
 *
 * After each stage returns, its {@link StageOutput} is merged into the frame's
 * {@link PerceptionArtifacts} before the next stage runs, so stage N+1 sees the merge of
 * stages 0..N:
 *
 * | field          | rule |
 * |----------------|------|
 * | detections     | replace when present (a stage returning detections owns the full set) |
 * | tracks         | replace when present (and mark the set authoritative for this frame) |
 * | signals        | append |
 * | sceneFeatures  | append |
 * | artifacts      | insert-or-overwrite by key (last writer wins) |
 */
import { InvalidArgumentError, TypedMetadata, type MetadataKey } from '@nv/core';
import type { DetectionSet, Detection } from './detection.js';
import type { Track } from './track.js';
import type { DerivedSignal, SceneFeature } from './signal.js';

/** What a stage returns for one frame. Every field is optional; `{}` means "nothing new". */
export interface StageOutput {
  /** The full detection set as of this stage (replaces). */
  readonly detections?: DetectionSet;
  /** The full, authoritative track set as of this stage (replaces). */
  readonly tracks?: readonly Track[];
  /** Appended. */
  readonly signals?: readonly DerivedSignal[];
  /** Appended. */
  readonly sceneFeatures?: readonly SceneFeature[];
  /** Typed artifacts for later stages / outputs (overwrite by key). */
  readonly artifacts?: TypedMetadata;
}

/** An output with nothing in it. */
export const EMPTY_OUTPUT: StageOutput = Object.freeze({});

/**
 * Fluent builder for {@link StageOutput}.
 * @example
 * ```ts
 * return stageOutput().detections(dets).signal(signal.scalar('count', dets.length, ctx.frame.ts)).build();
 * ```
 */
export function stageOutput(): StageOutputBuilder { return new StageOutputBuilder(); }

/** See {@link stageOutput}. */
export class StageOutputBuilder {
  #detections: DetectionSet | undefined;
  #tracks: readonly Track[] | undefined;
  #signals: DerivedSignal[] = [];
  #scene: SceneFeature[] = [];
  #artifacts: TypedMetadata | undefined;
  /** Sets the full detection set. */
  detections(d: readonly Detection[]): this { this.#detections = d; return this; }
  /** Sets the full track set. */
  tracks(t: readonly Track[]): this { this.#tracks = t; return this; }
  /** Adds one signal. */
  signal(s: DerivedSignal): this { this.#signals.push(s); return this; }
  /** Adds signals. */
  signals(s: readonly DerivedSignal[]): this { this.#signals.push(...s); return this; }
  /** Adds one scene feature. */
  sceneFeature(f: SceneFeature): this { this.#scene.push(f); return this; }
  /** Sets a typed artifact. */
  artifact<T>(key: MetadataKey<T>, value: T): this { (this.#artifacts ??= new TypedMetadata()).set(key, value); return this; }
  /** The output. */
  build(): StageOutput {
    const o: { -readonly [K in keyof StageOutput]: StageOutput[K] } = {};
    if (this.#detections) o.detections = this.#detections;
    if (this.#tracks) o.tracks = this.#tracks;
    if (this.#signals.length) o.signals = this.#signals;
    if (this.#scene.length) o.sceneFeatures = this.#scene;
    if (this.#artifacts) o.artifacts = this.#artifacts;
    return o;
  }
}

/** The read-only view of the accumulator that stages get in their context. */
export interface ReadonlyArtifacts {
  /** The current detection set (from the last stage that returned detections). */
  readonly detections: DetectionSet;
  /** The current track set (from the last stage that returned tracks). */
  readonly tracks: readonly Track[];
  /** True once any stage in this frame returned `tracks` (absent tracks then end). */
  readonly tracksAuthoritative: boolean;
  /** All derived signals appended so far this frame, in stage order. */
  readonly signals: readonly DerivedSignal[];
  /** All scene features appended so far this frame, in stage order. */
  readonly sceneFeatures: readonly SceneFeature[];
  /** Typed artifacts; read with `get(key)`. Do not mutate. */
  readonly stageArtifacts: Pick<TypedMetadata, 'get' | 'has' | 'size' | 'keys' | 'toJSON'>;
}

/**
 * Per-frame accumulator of stage outputs. Owned by the executor; stages see it through
 * {@link ReadonlyArtifacts}. Arrays handed out are frozen, so a stage cannot mutate
 * what another stage produced.
 */
export class PerceptionArtifacts implements ReadonlyArtifacts {
  /** The current detection set (frozen; replaced on merge). */
  detections: DetectionSet = Object.freeze([]);
  /** The current track set (frozen; replaced on merge). */
  tracks: readonly Track[] = Object.freeze([]);
  /** True once any merged output in this frame carried `tracks`. */
  tracksAuthoritative = false;
  /** Derived signals appended so far this frame (frozen). */
  signals: readonly DerivedSignal[] = Object.freeze([]);
  /** Scene features appended so far this frame (frozen). */
  sceneFeatures: readonly SceneFeature[] = Object.freeze([]);
  /** Typed artifacts merged from stage outputs (last writer wins per key). */
  readonly stageArtifacts = new TypedMetadata();

  /**
   * Merges one stage's output using the rules in this module's header.
   * @throws {InvalidArgumentError} when `output` is not an object or a field has the wrong shape
   */
  merge(output: StageOutput): this {
    if (output === null || typeof output !== 'object') throw new InvalidArgumentError('stage output', 'a StageOutput object', output);
    if (output.detections !== undefined) {
      if (!Array.isArray(output.detections)) throw new InvalidArgumentError('output.detections', 'an array of detections', output.detections);
      this.detections = Object.freeze([...output.detections]);
    }
    if (output.tracks !== undefined) {
      if (!Array.isArray(output.tracks)) throw new InvalidArgumentError('output.tracks', 'an array of tracks', output.tracks);
      this.tracks = Object.freeze([...output.tracks]);
      this.tracksAuthoritative = true;
    }
    if (output.signals !== undefined) {
      if (!Array.isArray(output.signals)) throw new InvalidArgumentError('output.signals', 'an array of signals', output.signals);
      if (output.signals.length > 0) this.signals = Object.freeze([...this.signals, ...output.signals]);
    }
    if (output.sceneFeatures !== undefined) {
      if (!Array.isArray(output.sceneFeatures)) throw new InvalidArgumentError('output.sceneFeatures', 'an array of scene features', output.sceneFeatures);
      if (output.sceneFeatures.length > 0) this.sceneFeatures = Object.freeze([...this.sceneFeatures, ...output.sceneFeatures]);
    }
    if (output.artifacts !== undefined) {
      if (!(output.artifacts instanceof TypedMetadata)) throw new InvalidArgumentError('output.artifacts', 'a TypedMetadata', output.artifacts);
      this.stageArtifacts.merge(output.artifacts);
    }
    return this;
  }
}
