/**
 * `@nv/temporal`: a feed's temporal state — per-track histories with bounded observation
 * rings, trajectories segmented by view epoch with auditable segment boundaries, motion
 * features, camera-motion compensation, retention, and cheap immutable per-frame snapshots
 * for stages.
 *
 * @packageDocumentation
 */
export {
  computeMotionFeatures, DEFAULT_STATIONARY_SPEED_THRESHOLD, DIRECTION_EPSILON, STATIONARY_MOTION,
} from './motion.js';
export type { MotionFeatures, MotionOptions } from './motion.js';
export { SegmentBoundary, SEGMENT_BOUNDARY_KINDS } from './segment-boundary.js';
export type { SegmentBoundaryKind } from './segment-boundary.js';
export { trajectoryPoint } from './trajectory-point.js';
export type { TrajectoryPoint } from './trajectory-point.js';
export { Trajectory } from './trajectory.js';
export type { TrajectorySegment, ReadonlyTrajectory } from './trajectory.js';
export { ReadonlyTypedMetadata } from './frozen-track.js';
export { TrackHistory, TrackHistorySnapshot } from './track-history.js';
export type { TrackHistoryInit } from './track-history.js';
export { TemporalSnapshot } from './snapshot.js';
export { TemporalStore } from './store.js';
export type { TemporalStoreOptions, CommitFrameOptions, FrameCommitResult, RetentionReport } from './store.js';
