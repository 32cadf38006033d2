/**
 * PTZ telemetry and PTZ events, plus the angular arithmetic used on them.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { MonotonicTs } from '@nv/core';
import { checkCount, checkFinite, checkNonNegative, checkRange, isObject } from './validate.js';

/**
 * One PTZ telemetry sample.
 *
 * `pan` and `tilt` are in degrees (any finite value; differences wrap at 360°), `zoom` is
 * normalized to [0, 1] (1 = maximum zoom), `ts` is when the sample was taken (media clock).
 */
export interface PtzTelemetry {
  /** Pan angle, degrees. */
  readonly pan: number;
  /** Tilt angle, degrees. */
  readonly tilt: number;
  /** Zoom, normalized [0, 1]; 1 = maximum zoom. */
  readonly zoom: number;
  /** Sample time (ns since feed start). */
  readonly ts: MonotonicTs;
}

/**
 * A discrete PTZ event reported alongside telemetry. `presetRecall` always opens a new epoch
 * under the {@link DefaultEpochPolicy}; `moveStart`/`moveStop` are informational.
 */
export type PtzEvent =
  | { readonly kind: 'moveStart'; readonly ts: MonotonicTs }
  | { readonly kind: 'moveStop'; readonly ts: MonotonicTs }
  | { readonly kind: 'presetRecall'; readonly presetId: number; readonly ts: MonotonicTs };

/** Absolute pan/tilt/zoom differences between two PTZ samples. */
export interface PtzDeltas {
  /** Shortest angular distance between pans, degrees in [0, 180]. */
  readonly pan: number;
  /** Shortest angular distance between tilts, degrees in [0, 180]. */
  readonly tilt: number;
  /** Absolute zoom difference in [0, 1]. */
  readonly zoom: number;
}

/**
 * Validating constructor for {@link PtzTelemetry}.
 * @param pan - degrees, finite
 * @param tilt - degrees, finite
 * @param zoom - normalized [0, 1]
 * @param ts - sample time, ns since feed start (finite, >= 0)
 * @returns a frozen sample
 * @throws {InvalidArgumentError} for NaN/infinite angles, zoom outside [0, 1] or a bad `ts`
 * @example `ptzTelemetry(10, -5, 0.25, monotonicTs(0))`
 */
export function ptzTelemetry(pan: number, tilt: number, zoom: number, ts: number): PtzTelemetry {
  return Object.freeze({
    pan: checkFinite('ptz.pan', pan),
    tilt: checkFinite('ptz.tilt', tilt),
    zoom: checkRange('ptz.zoom', zoom, 0, 1),
    ts: checkNonNegative('ptz.ts', ts) as MonotonicTs,
  });
}

/**
 * Checks and copies a {@link PtzTelemetry}.
 * @throws {InvalidArgumentError} as {@link ptzTelemetry}, or when `v` is not an object
 */
export function checkPtzTelemetry(name: string, v: unknown): PtzTelemetry {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'a PtzTelemetry object', v);
  return Object.freeze({
    pan: checkFinite(`${name}.pan`, v['pan']),
    tilt: checkFinite(`${name}.tilt`, v['tilt']),
    zoom: checkRange(`${name}.zoom`, v['zoom'], 0, 1),
    ts: checkNonNegative(`${name}.ts`, v['ts']) as MonotonicTs,
  });
}

/**
 * Checks and copies a {@link PtzEvent}.
 * @throws {InvalidArgumentError} for an unknown kind, a bad `ts`, or a `presetId` that is not a non-negative integer
 */
export function checkPtzEvent(name: string, v: unknown): PtzEvent {
  if (!isObject(v)) throw new InvalidArgumentError(name, 'a PtzEvent object', v);
  const ts = checkNonNegative(`${name}.ts`, v['ts']) as MonotonicTs;
  switch (v['kind']) {
    case 'moveStart': return Object.freeze({ kind: 'moveStart', ts });
    case 'moveStop': return Object.freeze({ kind: 'moveStop', ts });
    case 'presetRecall': return Object.freeze({ kind: 'presetRecall', presetId: checkCount(`${name}.presetId`, v['presetId']), ts });
    default: throw new InvalidArgumentError(`${name}.kind`, "'moveStart', 'moveStop' or 'presetRecall'", v['kind']);
  }
}

/**
 * Shortest angular distance between two angles, wrapping at 360°.
 * @param a - degrees, finite
 * @param b - degrees, finite
 * @returns the unsigned distance in [0, 180]
 * @throws {InvalidArgumentError} when either angle is not finite
 * @example `angularDistance(350, 10) // 20`
 */
export function angularDistance(a: number, b: number): number {
  checkFinite('a', a);
  checkFinite('b', b);
  const raw = Math.abs(a - b) % 360;
  return Math.min(raw, 360 - raw);
}

/**
 * Pan/tilt/zoom differences between two samples (order does not matter).
 * @returns {@link PtzDeltas}
 */
export function ptzDeltas(prev: PtzTelemetry, curr: PtzTelemetry): PtzDeltas {
  return {
    pan: angularDistance(curr.pan, prev.pan),
    tilt: angularDistance(curr.tilt, prev.tilt),
    zoom: Math.abs(curr.zoom - prev.zoom),
  };
}

/** Whether two samples describe the same pose (pan, tilt, zoom; `ts` ignored). */
export function ptzPoseEquals(a: PtzTelemetry | undefined, b: PtzTelemetry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.pan === b.pan && a.tilt === b.tilt && a.zoom === b.zoom;
}
