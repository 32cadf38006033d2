/**
 * `@nv/sync`: a multi-stream synchronizer. Joins streams of timestamped items — nv feed outputs
 * or any (async) iterable — into tuples, either of identical timestamps (`exact`, offline) or
 * within a tolerance of the freshest target (`realTime`, live; the semantics of Rusted Pipe's
 * real-time synchronizer), with bounded buffers, typed drop reasons and counters.
 *
 * @packageDocumentation
 */
export { Synchronizer } from './synchronizer.js';
export { synchronize } from './synchronize.js';
export type { SyncInput, SyncStream, SynchronizeOptions, TimestampOf } from './synchronize.js';
export { outputWallClockMs } from './wall-clock.js';
export type { WallClockStamped } from './wall-clock.js';
export { DEFAULT_CAPACITY } from './options.js';
export type { ResolvedPolicy } from './options.js';
export { DROP_REASONS } from './types.js';
export type {
  StreamValues, StreamKey, SyncItem, SyncTuple, CompleteTuple, PartialTuple, SyncPolicy, ExactPolicy, RealTimePolicy,
  DropReason, DropCounts, StreamStats, SyncStats, SyncDrop, SynchronizerOptions,
} from './types.js';
