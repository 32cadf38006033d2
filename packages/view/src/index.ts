/**
 * `@nv/view`: camera view state — epochs and versions, motion state, transition phases,
 * epoch policy, stability score, the per-frame view system and view-bound context.
 *
 * @packageDocumentation
 */
export {
  ViewEpoch, ViewVersion, viewEpoch, viewVersion, INITIAL_VIEW_EPOCH, INITIAL_VIEW_VERSION, nextEpoch, nextVersion,
  versionsSince, epochsSince, formatViewEpoch, formatViewVersion,
} from './epoch.js';
