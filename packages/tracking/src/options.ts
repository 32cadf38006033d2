/**
 * Tracker options, their defaults and their validation.
 *
 * @packageDocumentation
 */
import { ConfigError, InvalidArgumentError, type ConfigIssue } from '@nv/core';
import { DEFAULT_KALMAN_NOISE, type KalmanNoise } from './kalman.js';

/**
 * Options of {@link MultiObjectTracker} (and of {@link TrackerStage}). Every field is
 * optional; see {@link DEFAULT_TRACKER_OPTIONS} for the defaults.
 */
export interface TrackerOptions {
  /**
   * Minimum IoU between a track's predicted box and a detection for them to be matched, in
   * (0, 1]. Default 0.3.
   */
  readonly iouThreshold?: number;
  /**
   * Consecutive matched frames (including the first) before a tentative track is confirmed; a
   * positive integer. With 1, tracks are confirmed on their first frame. Default 3.
   */
  readonly minHits?: number;
  /**
   * Frames a confirmed track may go unmatched (coasted, position predicted) before it is
   * reported `lost`; a non-negative integer. Default 30.
   */
  readonly maxCoastFrames?: number;
  /**
   * Also report a coasted track `lost` once this many milliseconds have passed since its last
   * observation (frame timestamps); a positive number or `Infinity` (off). Default `Infinity`.
   */
  readonly maxCoastMs?: number;
  /**
   * Detections with a lower confidence are ignored: they never start nor extend a track.
   * In [0, 1]. Default 0.25.
   */
  readonly minConfidence?: number;
  /**
   * Optional ByteTrack-style score split, in [`minConfidence`, 1]. When set, only detections
   * with confidence ≥ `highConfidence` are associated first and may start tracks; the
   * remaining ones (≥ `minConfidence`) are offered, in a second round, to the confirmed and
   * coasted tracks still unmatched (typically partly occluded objects). Default undefined
   * (no split: every detection ≥ `minConfidence` is treated as high).
   */
  readonly highConfidence?: number;
  /** IoU gate of the second (low-score) round, in (0, 1]. Default 0.5. */
  readonly lowConfidenceIouThreshold?: number;
  /**
   * When true, a track may match a detection of any class (its `classId` becomes the class
   * with the highest summed confidence among its matched detections). When false, a track only
   * matches detections of its own class. Default false.
   */
  readonly classAgnostic?: boolean;
  /**
   * OC-SORT observation-centric re-update: when a track that went unmatched for some frames
   * is matched again, rewind its filter to the last real observation and re-run it over a
   * virtual trajectory interpolated between that observation and the new one, so the
   * velocity is not corrupted by the blind prediction during the gap. Default true.
   */
  readonly observationCentricReupdate?: boolean;
  /**
   * Weight of OC-SORT's observation-centric momentum term in the association score: how
   * much agreement between a track's direction of motion (from its recent observations) and
   * the direction towards a candidate detection adds to the IoU. Non-negative; 0 disables it.
   * Default 0.2.
   */
  readonly momentumWeight?: number;
  /** How many frames back the observation used for a track's direction lies; a positive integer. Default 3. */
  readonly momentumDeltaFrames?: number;
  /**
   * OC-SORT's last-observation recovery: after the main round, the still unmatched tracks
   * are matched by the IoU of their *last observed* box (not the prediction) against the
   * still unmatched detections. Recovers objects that stopped or turned while occluded.
   * Default true.
   */
  readonly lastObservationRecovery?: boolean;
  /**
   * Which box a matched track reports: `'filtered'` (the Kalman estimate, smoother) or
   * `'detection'` (the matched detection's own box, e.g. for crops). Default `'filtered'`.
   */
  readonly outputBox?: 'filtered' | 'detection';
  /**
   * Nominal frame interval in milliseconds, used to turn timestamp gaps into frame steps
   * (a dropped frame is then predicted over two steps). Default undefined: estimated as the
   * median of the recent timestamp gaps.
   */
  readonly frameIntervalMs?: number;
  /** Kalman noise weights (fractions of the box size). Default {@link DEFAULT_KALMAN_NOISE}. */
  readonly noise?: Partial<KalmanNoise>;
}

/** {@link TrackerOptions} with every default applied. */
export interface ResolvedTrackerOptions {
  /** See {@link TrackerOptions.iouThreshold}. */
  readonly iouThreshold: number;
  /** See {@link TrackerOptions.minHits}. */
  readonly minHits: number;
  /** See {@link TrackerOptions.maxCoastFrames}. */
  readonly maxCoastFrames: number;
  /** See {@link TrackerOptions.maxCoastMs}. */
  readonly maxCoastMs: number;
  /** See {@link TrackerOptions.minConfidence}. */
  readonly minConfidence: number;
  /** See {@link TrackerOptions.highConfidence}. */
  readonly highConfidence: number | undefined;
  /** See {@link TrackerOptions.lowConfidenceIouThreshold}. */
  readonly lowConfidenceIouThreshold: number;
  /** See {@link TrackerOptions.classAgnostic}. */
  readonly classAgnostic: boolean;
  /** See {@link TrackerOptions.observationCentricReupdate}. */
  readonly observationCentricReupdate: boolean;
  /** See {@link TrackerOptions.momentumWeight}. */
  readonly momentumWeight: number;
  /** See {@link TrackerOptions.momentumDeltaFrames}. */
  readonly momentumDeltaFrames: number;
  /** See {@link TrackerOptions.lastObservationRecovery}. */
  readonly lastObservationRecovery: boolean;
  /** See {@link TrackerOptions.outputBox}. */
  readonly outputBox: 'filtered' | 'detection';
  /** See {@link TrackerOptions.frameIntervalMs}. */
  readonly frameIntervalMs: number | undefined;
  /** See {@link TrackerOptions.noise} (complete). */
  readonly noise: KalmanNoise;
}

/** The defaults of every {@link TrackerOptions} field. */
export const DEFAULT_TRACKER_OPTIONS: ResolvedTrackerOptions = Object.freeze({
  iouThreshold: 0.3,
  minHits: 3,
  maxCoastFrames: 30,
  maxCoastMs: Infinity,
  minConfidence: 0.25,
  highConfidence: undefined,
  lowConfidenceIouThreshold: 0.5,
  classAgnostic: false,
  observationCentricReupdate: true,
  momentumWeight: 0.2,
  momentumDeltaFrames: 3,
  lastObservationRecovery: true,
  outputBox: 'filtered',
  frameIntervalMs: undefined,
  noise: DEFAULT_KALMAN_NOISE,
});

const KNOWN = new Set<string>([...Object.keys(DEFAULT_TRACKER_OPTIONS)]);

type Check = (v: unknown) => boolean;
const num = (lo: number, hi: number, loOpen = false): Check => (v) =>
  typeof v === 'number' && !Number.isNaN(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
const int = (lo: number): Check => (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= lo;
const bool: Check = (v) => typeof v === 'boolean';

const FIELDS: ReadonlyArray<readonly [keyof TrackerOptions, string, Check]> = [
  ['iouThreshold', 'a number in (0, 1]', num(0, 1, true)],
  ['minHits', 'a positive integer', int(1)],
  ['maxCoastFrames', 'a non-negative integer', int(0)],
  ['maxCoastMs', 'a number > 0 (or Infinity)', num(0, Infinity, true)],
  ['minConfidence', 'a number in [0, 1]', num(0, 1)],
  ['highConfidence', 'a number in [0, 1]', num(0, 1)],
  ['lowConfidenceIouThreshold', 'a number in (0, 1]', num(0, 1, true)],
  ['classAgnostic', 'a boolean', bool],
  ['observationCentricReupdate', 'a boolean', bool],
  ['momentumWeight', 'a finite number >= 0', num(0, Number.MAX_VALUE)],
  ['momentumDeltaFrames', 'a positive integer', int(1)],
  ['lastObservationRecovery', 'a boolean', bool],
  ['outputBox', "'filtered' or 'detection'", (v) => v === 'filtered' || v === 'detection'],
  ['frameIntervalMs', 'a finite number > 0', num(0, Number.MAX_VALUE, true)],
];

/**
 * Applies the defaults to `options` and validates the result.
 *
 * @param options - user options (`undefined` fields take their default)
 * @returns the resolved, frozen options
 * @throws {InvalidArgumentError} when `options` is not an object, or a field has the wrong
 *   type or range (the message reads "Expected … for tracker.<field> but received …")
 * @throws {ConfigError} `InvalidConfig` for an unknown field or inconsistent fields
 *   (`highConfidence` below `minConfidence`)
 * @example
 * ```ts
 * resolveTrackerOptions({ minHits: 1 }).minHits // 1
 * resolveTrackerOptions({ iouThreshold: 2 })   // throws InvalidArgumentError
 * ```
 */
export function resolveTrackerOptions(options: TrackerOptions = {}): ResolvedTrackerOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError('tracker options', 'an object', options);
  }
  const unknown = Object.keys(options).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    const issues: ConfigIssue[] = unknown.map((k) => ({
      field: `tracker.${k}`,
      message: `Expected one of ${[...KNOWN].join(', ')} for tracker option name but received '${k}'`,
    }));
    throw ConfigError.invalidConfig('tracker options', issues);
  }
  const o = options as Record<string, unknown>;
  for (const [name, expected, ok] of FIELDS) {
    const v = o[name];
    if (v !== undefined && !ok(v)) throw new InvalidArgumentError(`tracker.${name}`, expected, v);
  }
  const noiseIn = options.noise;
  if (noiseIn !== undefined && (noiseIn === null || typeof noiseIn !== 'object')) {
    throw new InvalidArgumentError('tracker.noise', 'an object', noiseIn);
  }
  const noise: KalmanNoise = Object.freeze({ ...DEFAULT_KALMAN_NOISE, ...stripUndefined(noiseIn ?? {}) });
  for (const k of ['positionWeight', 'velocityWeight'] as const) {
    if (!num(0, Number.MAX_VALUE, true)(noise[k])) throw new InvalidArgumentError(`tracker.noise.${k}`, 'a finite number > 0', noise[k]);
  }
  const r: ResolvedTrackerOptions = Object.freeze({ ...DEFAULT_TRACKER_OPTIONS, ...stripUndefined(options), noise });
  if (r.highConfidence !== undefined && r.highConfidence < r.minConfidence) {
    throw ConfigError.invalidConfig('tracker options', [{
      field: 'tracker.highConfidence',
      message: `Expected a number >= minConfidence (${r.minConfidence}) for tracker.highConfidence but received ${r.highConfidence}`,
    }]);
  }
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
