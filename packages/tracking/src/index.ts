/**
 * `@nv/tracking`: a multi-object tracker stage — Kalman-filtered boxes, optimal IoU
 * association (Hungarian), OC-SORT observation-centric re-update, momentum and recovery,
 * an optional ByteTrack low-score round, and the tentative → confirmed → coasted → lost
 * lifecycle.
 *
 * @packageDocumentation
 */
export { TrackerStage } from './stage.js';
export type { TrackerStageOptions } from './stage.js';
export { MultiObjectTracker } from './tracker.js';
export { resolveTrackerOptions, DEFAULT_TRACKER_OPTIONS } from './options.js';
export type { TrackerOptions, ResolvedTrackerOptions } from './options.js';
export { BoxKalmanFilter, DEFAULT_KALMAN_NOISE } from './kalman.js';
export type { BoxCxCyWH, KalmanNoise, KalmanSnapshot } from './kalman.js';
export { solveAssignment, solveSparseAssignment } from './assignment.js';
export { TRACKER_INFO, LAST_DETECTION } from './keys.js';
export type { TrackerInfo } from './keys.js';
