/**
 * Why a trajectory segment was opened or closed.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import { formatViewEpoch, viewEpoch, type ViewEpoch } from '@nv/view';

/**
 * The event at a trajectory segment boundary. A segment records the boundary that opened it
 * and, once closed, the one that closed it, so every split of a track's trajectory is
 * explained.
 *
 * - `trackCreated`: the track's first segment.
 * - `epochChange`: the view epoch moved from `fromEpoch` to `toEpoch` (the epoch policy
 *   decided to segment): the old segment is closed and the next one opened with the same
 *   boundary.
 * - `feedRestart`: the feed restarted; temporal state was discarded.
 * - `trackLost`: the tracker reported the track lost (or retention evicted it). A track
 *   re-acquired after being lost continues in a new segment opened by `trackLost`.
 * - `trackEnded`: the track ended normally (absent from an authoritative track set, or
 *   ended explicitly).
 * - `sourceDiscontinuity`: the feed's source timeline broke (a reconnect, timestamps going
 *   backwards, or a gap longer than the track max age): the track lives on, but its trajectory
 *   is split here — the old segment is closed and the next one opened with this boundary, in
 *   the same view epoch.
 */
export type SegmentBoundary =
  | { readonly kind: 'trackCreated' }
  | {
    readonly kind: 'epochChange';
    /** Epoch of the segment being closed. */
    readonly fromEpoch: ViewEpoch;
    /** Epoch of the segment being opened. */
    readonly toEpoch: ViewEpoch;
  }
  | { readonly kind: 'feedRestart' }
  | { readonly kind: 'trackLost' }
  | { readonly kind: 'trackEnded' }
  | { readonly kind: 'sourceDiscontinuity' };

/** The `kind` tags of {@link SegmentBoundary}. */
export type SegmentBoundaryKind = SegmentBoundary['kind'];

/** All six kinds, in declaration order. */
export const SEGMENT_BOUNDARY_KINDS: readonly SegmentBoundaryKind[] = Object.freeze([
  'trackCreated', 'epochChange', 'feedRestart', 'trackLost', 'trackEnded', 'sourceDiscontinuity',
]);

const TRACK_CREATED: SegmentBoundary = Object.freeze({ kind: 'trackCreated' });
const FEED_RESTART: SegmentBoundary = Object.freeze({ kind: 'feedRestart' });
const TRACK_LOST: SegmentBoundary = Object.freeze({ kind: 'trackLost' });
const TRACK_ENDED: SegmentBoundary = Object.freeze({ kind: 'trackEnded' });
const SOURCE_DISCONTINUITY: SegmentBoundary = Object.freeze({ kind: 'sourceDiscontinuity' });

/**
 * Builds an `epochChange` boundary.
 * @param fromEpoch - epoch the closed segment belongs to
 * @param toEpoch - epoch the new segment belongs to (must differ)
 * @returns a frozen `epochChange` boundary
 * @throws {InvalidArgumentError} on invalid epochs or `fromEpoch === toEpoch`
 */
function epochChange(fromEpoch: ViewEpoch, toEpoch: ViewEpoch): SegmentBoundary {
  viewEpoch(fromEpoch);
  viewEpoch(toEpoch);
  if (fromEpoch === toEpoch) throw new InvalidArgumentError('toEpoch', `an epoch different from fromEpoch (${fromEpoch})`, toEpoch);
  return Object.freeze({ kind: 'epochChange', fromEpoch, toEpoch });
}

/** Structural equality of two boundaries. */
function equals(a: SegmentBoundary, b: SegmentBoundary): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'epochChange' && b.kind === 'epochChange') return a.fromEpoch === b.fromEpoch && a.toEpoch === b.toEpoch;
  return true;
}

/** Human-readable form: `trackCreated`, `epochChange(epoch-1→epoch-2)`, … */
function format(b: SegmentBoundary): string {
  return b.kind === 'epochChange' ? `epochChange(${formatViewEpoch(b.fromEpoch)}→${formatViewEpoch(b.toEpoch)})` : b.kind;
}

/**
 * Constructors and helpers for {@link SegmentBoundary} values (all frozen).
 *
 * @example
 * ```ts
 * SegmentBoundary.trackCreated                      // { kind: 'trackCreated' }
 * SegmentBoundary.epochChange(viewEpoch(1), viewEpoch(2))
 * SegmentBoundary.format(SegmentBoundary.trackLost) // 'trackLost'
 * ```
 */
export const SegmentBoundary = Object.freeze({
  /** The track's first segment. */
  trackCreated: TRACK_CREATED,
  /** Feed restart. */
  feedRestart: FEED_RESTART,
  /** Track lost / evicted; also opens the segment of a re-acquired track. */
  trackLost: TRACK_LOST,
  /** Track ended normally. */
  trackEnded: TRACK_ENDED,
  /** The source timeline broke (reconnect, backward jump, long gap); the track continues in a new segment. */
  sourceDiscontinuity: SOURCE_DISCONTINUITY,
  /** Builds a validated, frozen `epochChange{fromEpoch → toEpoch}` boundary (throws InvalidArgumentError on equal or invalid epochs). */
  epochChange,
  /** Structural equality of two boundaries. */
  equals,
  /** Human-readable form, e.g. `epochChange(epoch-1→epoch-2)`. */
  format,
});
