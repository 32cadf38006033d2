/**
 * Derived signals and scene features: named values stages compute per frame.
 */
import type { MonotonicTs } from '@nv/core';

/** Value of a {@link DerivedSignal}. */
export type SignalValue =
  | { readonly kind: 'scalar'; readonly value: number }
  | { readonly kind: 'vector'; readonly value: readonly number[] }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'categorical'; readonly value: string };

/**
 * A named per-frame value (e.g. `crowd_density`). Names are user-defined; duplicates from
 * different stages are allowed and disambiguated by provenance.
 */
export interface DerivedSignal {
  /** User-defined signal name (e.g. `crowd_density`). */
  readonly name: string;
  /** The tagged value (scalar, vector, boolean or categorical). */
  readonly value: SignalValue;
  /** Timestamp of the frame the signal was computed for. */
  readonly ts: MonotonicTs;
}

/** Value of a {@link SceneFeature}. */
export type SceneFeatureValue =
  | SignalValue
  | { readonly kind: 'distribution'; readonly value: readonly (readonly [string, number])[] };

/** A scene-level observation (e.g. `weather: rain`, `occupancy distribution`). */
export interface SceneFeature {
  /** User-defined feature name (e.g. `weather`). */
  readonly name: string;
  /** The tagged value (any signal value, or a label→weight distribution). */
  readonly value: SceneFeatureValue;
  /** In [0, 1] when the producer knows it. */
  readonly confidence: number | undefined;
  /** Timestamp of the frame the feature was observed in. */
  readonly ts: MonotonicTs;
}

/** Shorthand constructors for {@link SignalValue}. */
export const signal = {
  /** @example `signal.scalar('speed', 3.2, ts)` */
  scalar: (name: string, value: number, ts: MonotonicTs): DerivedSignal => ({ name, value: { kind: 'scalar', value }, ts }),
  /** A signal with a numeric vector value. */
  vector: (name: string, value: readonly number[], ts: MonotonicTs): DerivedSignal => ({ name, value: { kind: 'vector', value }, ts }),
  /** A signal with a boolean value. */
  boolean: (name: string, value: boolean, ts: MonotonicTs): DerivedSignal => ({ name, value: { kind: 'boolean', value }, ts }),
  /** A signal with a categorical (string label) value. */
  categorical: (name: string, value: string, ts: MonotonicTs): DerivedSignal => ({ name, value: { kind: 'categorical', value }, ts }),
} as const;
