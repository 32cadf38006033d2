/**
 * The per-feed temporal store: track histories, trajectories, retention and snapshots.
 *
 * @packageDocumentation
 */
import {
  InvalidArgumentError, NS_PER_MS, parseRetentionPolicy, type MonotonicTs, type RetentionPolicy,
  type AffineTransform2D, type TrackId,
} from '@nv/core';
import type { Track, TrackState } from '@nv/perception';
import { INITIAL_VIEW_EPOCH, viewEpoch, type ViewEpoch } from '@nv/view';
import { freezeTrack, type SealedTrack } from './frozen-track.js';
import { resolveStationaryThreshold, type MotionOptions } from './motion.js';
import { SegmentBoundary } from './segment-boundary.js';
import { SNAPSHOT_TOKEN, TemporalSnapshot } from './snapshot.js';
import { TrackHistory, type TrackHistorySnapshot } from './track-history.js';
import { canonicalBoundary, checkCompensation, type ReadonlyTrajectory } from './trajectory.js';

/** Options of a {@link TemporalStore}. */
export interface TemporalStoreOptions {
  /** Retention policy (partial; missing fields take the defaults: 30 s, 100, 500, 1000). */
  readonly retention?: Partial<RetentionPolicy>;
  /** Epoch the store starts in (default 0). */
  readonly initialEpoch?: ViewEpoch;
  /** Motion-feature options for every trajectory (stationary threshold). */
  readonly motion?: MotionOptions;
}

/** Options of {@link TemporalStore.commitFrame}. */
export interface CommitFrameOptions {
  /**
   * The track set is the tracker's complete set for this frame: tracks held by the store but
   * absent from it end (segment closed `trackEnded`, history removed) before the set is
   * committed, freeing capacity for new tracks. Default false.
   */
  readonly authoritative?: boolean;
}

/** What {@link TemporalStore.commitFrame} did. */
export interface FrameCommitResult {
  /** Tracks committed (updates plus new admissions). */
  readonly admitted: number;
  /** New tracks refused because the store was full of confirmed tracks. */
  readonly rejected: number;
  /** Ids of the refused tracks, in input order. */
  readonly rejectedIds: readonly TrackId[];
  /** Ids of tracks ended because they were absent from an authoritative set. */
  readonly ended: readonly TrackId[];
  /** Ids of tracks evicted to make room for new ones. */
  readonly evicted: readonly TrackId[];
}

/** What a retention pass ({@link TemporalStore.enforceRetention}) did. */
export interface RetentionReport {
  /** Lost tracks evicted because `now − lastSeen ≥ maxTrackAgeMs`. */
  readonly evictedByAge: readonly TrackId[];
  /** Tracks evicted because the store held more than `maxConcurrentTracks`. */
  readonly evictedByCap: readonly TrackId[];
  /** Trajectory points pruned to meet `maxTrajectoryPointsPerTrack`. */
  readonly prunedPoints: number;
}

/** Eviction priority: lower goes first; confirmed tracks are absent (never evicted). */
const EVICTION_RANK: Partial<Record<TrackState, number>> = { lost: 0, coasted: 1, tentative: 2 };

const EMPTY_IDS: readonly TrackId[] = Object.freeze([]);
const NOTHING_RETAINED: RetentionReport = Object.freeze({ evictedByAge: EMPTY_IDS, evictedByCap: EMPTY_IDS, prunedPoints: 0 });

/**
 * A feed's temporal state: one {@link TrackHistory} per track (latest state, bounded
 * observation ring, epoch-segmented trajectory with motion features), a retention policy
 * and the current view epoch. Owned by one feed's executor, which mutates it between frames;
 * stages read it through immutable per-frame {@link TemporalSnapshot}s.
 *
 * Per-frame protocol (executor):
 * 1. `beginFrame(now)` — retention (age eviction, cap, pruning) before the frame;
 * 2. `snapshot()` — handed to every stage of the frame;
 * 3. on the view system's decision: `applyCompensation(t)` (Compensate) or
 *    `onEpochChange(from, to)` (Segment);
 * 4. after the stages: `commitFrame(tracks, now, epoch, { authoritative })`.
 *
 * Track cap (`maxConcurrentTracks`): confirmed tracks are never evicted, neither at
 * admission nor by retention — the store never silently drops a confirmed track. When the
 * store is full and no lost, coasted or tentative track can make room, the new track is
 * refused and reported (`commitTrack` returns false; `commitFrame` lists it in
 * `rejectedIds`). Commits therefore never exceed the cap; the number of held tracks can
 * exceed it only after the cap was lowered with {@link TemporalStore.setRetentionPolicy}
 * below the number of confirmed tracks held, and it stays above the cap until those tracks
 * end, are lost and age out, or are removed.
 *
 * Time (`now`, ns on the feed's media clock) must not go backwards between calls; `clear()`
 * (feed restart) resets it. Bad arguments throw {@link InvalidArgumentError} before
 * anything changes.
 *
 * @example
 * ```ts
 * const store = new TemporalStore({ retention: { maxConcurrentTracks: 200 } });
 * store.beginFrame(frame.ts);
 * const snap = store.snapshot();           // stages read snap
 * const r = store.commitFrame(tracks, frame.ts, view.epoch, { authoritative: true });
 * if (r.rejected > 0) emitHealth({ type: 'TrackAdmissionRejected', rejectedCount: r.rejected });
 * ```
 */
export class TemporalStore {
  readonly #tracks = new Map<TrackId, TrackHistory>();
  #retention: RetentionPolicy;
  #epoch: ViewEpoch;
  #clock = 0;
  readonly #motion: MotionOptions;
  #gen = 0;
  #snap: TemporalSnapshot | undefined;
  #snapGen = -1;
  /** Frozen ids and id → position index of the last snapshot; rebuilt when membership changes. */
  #ids: readonly TrackId[] = Object.freeze([]);
  #index: ReadonlyMap<TrackId, number> = new Map();
  #membershipChanged = false;
  /** Sequence number of the current/last commitFrame (duplicate and absence detection). */
  #commitSeq = 0;
  /** The last result of a commit that only updated held tracks (reused while the count is the same). */
  #plainResult: FrameCommitResult | undefined;

  /**
   * @param options - retention policy, initial epoch, motion options
   * @throws {ConfigError} on an invalid retention policy
   * @throws {InvalidArgumentError} on a bad epoch or stationary threshold
   */
  constructor(options: TemporalStoreOptions = {}) {
    this.#retention = Object.freeze(parseRetentionPolicy(options.retention ?? {}));
    this.#epoch = options.initialEpoch === undefined ? INITIAL_VIEW_EPOCH : viewEpoch(options.initialEpoch);
    this.#motion = Object.freeze({ stationarySpeedThreshold: resolveStationaryThreshold(options.motion) });
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  /** Current view epoch. */
  get viewEpoch(): ViewEpoch { return this.#epoch; }
  /** The retention policy in force (frozen, fully populated). */
  get retention(): RetentionPolicy { return this.#retention; }
  /** Number of tracks held. */
  get trackCount(): number { return this.#tracks.size; }
  /** Latest time passed to the store (0 after construction or `clear()`). */
  get latestTs(): MonotonicTs { return this.#clock as MonotonicTs; }

  /** Whether the track is held. */
  has(id: TrackId): boolean { return this.#tracks.has(id); }
  /** Ids of the held tracks, in admission order (a fresh array). */
  trackIds(): TrackId[] { return [...this.#tracks.keys()]; }
  /** Lifecycle state of the track's latest commit. */
  trackState(id: TrackId): TrackState | undefined { return this.#tracks.get(id)?.state; }
  /** Frozen view of the track's current history. */
  history(id: TrackId): TrackHistorySnapshot | undefined { return this.#tracks.get(id)?.snapshot(); }
  /** Frozen view of the track's current trajectory. */
  trajectory(id: TrackId): ReadonlyTrajectory | undefined { return this.#tracks.get(id)?.trajectory.view(); }

  /**
   * The immutable per-frame snapshot. Consecutive snapshots share the frozen data of every
   * track that did not change in between; with no change at all, the same snapshot object is
   * returned.
   *
   * @returns the snapshot (implements `TemporalAccess`)
   * @example
   * ```ts
   * const before = store.snapshot();
   * store.commitFrame(tracks, now);
   * before.trackCount // unchanged by the commit
   * ```
   */
  snapshot(): TemporalSnapshot {
    if (this.#snap !== undefined && this.#snapGen === this.#gen) return this.#snap;
    if (this.#membershipChanged) {
      const ids = [...this.#tracks.keys()];
      this.#ids = Object.freeze(ids);
      this.#index = new Map(ids.map((id, i) => [id, i]));
      this.#membershipChanged = false;
    }
    const entries = new Array<TrackHistorySnapshot>(this.#tracks.size);
    let i = 0;
    for (const h of this.#tracks.values()) entries[i++] = h.capture();
    this.#snap = new TemporalSnapshot(SNAPSHOT_TOKEN, this.#ids, this.#index, entries, this.#epoch);
    this.#snapGen = this.#gen;
    return this.#snap;
  }

  #add(id: TrackId, h: TrackHistory): void {
    this.#tracks.set(id, h);
    this.#membershipChanged = true;
  }

  #remove(id: TrackId): void {
    if (this.#tracks.delete(id)) this.#membershipChanged = true;
  }

  // ------------------------------------------------------------------------------------------
  // Configuration and epochs

  /**
   * Replaces the retention policy. Observation rings are truncated at once; the track cap,
   * age and trajectory-point limits apply from the next {@link TemporalStore.enforceRetention}.
   * Lowering `maxConcurrentTracks` below the number of confirmed tracks held is the only way
   * the store can hold more tracks than the cap: confirmed tracks are never evicted to meet it.
   * @param policy - the new policy (partial; missing fields take the defaults, not the old values)
   * @throws {ConfigError} on an invalid policy
   */
  setRetentionPolicy(policy: Partial<RetentionPolicy>): void {
    this.#retention = Object.freeze(parseRetentionPolicy(policy));
    for (const h of this.#tracks.values()) h.maxObservations = this.#retention.maxObservationsPerTrack;
    this.#gen++;
  }

  /**
   * Moves to a later epoch without touching segments: each live track is segmented lazily,
   * at its next commit (`epochChange`). Prefer {@link TemporalStore.onEpochChange}, which
   * segments every live track at once.
   * @throws {InvalidArgumentError} on an invalid epoch or one before the current epoch
   */
  setViewEpoch(epoch: ViewEpoch): void {
    this.#checkEpoch('epoch', epoch);
    if (epoch !== this.#epoch) {
      this.#epoch = epoch;
      this.#gen++;
    }
  }

  /**
   * The epoch policy decided to segment: moves to epoch `to` and, for every track with an
   * open segment, closes it with `epochChange{from: segment's epoch, to}` and opens a new one
   * with the same boundary (see `Trajectory.changeEpoch` for how repeated changes with no point
   * in between coalesce). Lost tracks (no open segment) are untouched.
   *
   * @param from - the epoch being left (≤ the current epoch)
   * @param to - the new epoch (> `from`, ≥ the current epoch)
   * @returns number of tracks segmented
   * @throws {InvalidArgumentError} on invalid or out-of-order epochs
   */
  onEpochChange(from: ViewEpoch, to: ViewEpoch): number {
    viewEpoch(from);
    this.#checkEpoch('to', to);
    if (from > this.#epoch) throw new InvalidArgumentError('from', `an epoch <= the current epoch (${this.#epoch})`, from);
    if (to <= from) throw new InvalidArgumentError('to', `an epoch > from (${from})`, to);
    this.#epoch = to;
    let n = 0;
    for (const h of this.#tracks.values()) if (h.trajectory.changeEpoch(to)) n++;
    this.#gen++;
    return n;
  }

  /**
   * The epoch policy decided to compensate: transforms the geometry of every *active* segment
   * of `epoch` (points directly, boxes re-bounded from their transformed corners; either may
   * leave the frame), composes each segment's cumulative compensation and increments its
   * count, and recomputes motion features. Observations, confidences and classes are not
   * touched; closed segments are not touched; points committed later are not transformed
   * (they are recorded in the compensated frame). All-or-nothing.
   *
   * @param transform - the compensation transform; its linear part must be invertible (|determinant| ≥ 1e-9)
   * @param epoch - whose segments to compensate (default: the current epoch)
   * @returns number of segments compensated
   * @throws {InvalidArgumentError} on a transform that is not an `AffineTransform2D` or is
   *   (near-)singular, a bad epoch, or non-finite results (nothing changed)
   * @example
   * ```ts
   * store.applyCompensation(AffineTransform2D.translation(-0.02, 0));
   * const seg = store.trajectory(id)!.activeSegment!;
   * seg.originalPosition(seg.pointCount - 1) // the last point as recorded
   * ```
   */
  applyCompensation(transform: AffineTransform2D, epoch: ViewEpoch = this.#epoch): number {
    checkCompensation(transform);
    viewEpoch(epoch);
    const commits: Array<() => void> = [];
    for (const h of this.#tracks.values()) {
      const c = h.trajectory.prepareCompensation(transform, epoch);
      if (c !== undefined) commits.push(c);
    }
    for (const c of commits) c();
    if (commits.length > 0) this.#gen++;
    return commits.length;
  }

  // ------------------------------------------------------------------------------------------
  // Commits

  /**
   * Commits one track's state for the frame at `now`.
   *
   * - New track: when the store is full, a victim is evicted first (oldest `lastSeen` among
   *   lost, then coasted, then tentative tracks; confirmed tracks never); if there is none the
   *   track is refused (`false`). Otherwise a history is created with a segment opened by
   *   `trackCreated`.
   * - The state and last-seen time are replaced and the observation is pushed (ring capped).
   * - If the open segment belongs to another epoch, it is closed and a new one opened
   *   (`epochChange`).
   * - A track re-acquired after being lost (no open segment, state not lost) gets a new
   *   segment opened by `trackLost`.
   * - A point (bbox centre, bbox, `now`) is appended to the open segment; a lost track that is
   *   still reported lost records observations but no points.
   * - State `lost` closes the open segment with `trackLost`.
   * - Trajectory points are pruned to the cap.
   *
   * @param track - the tracker's output for this frame
   * @param now - frame time (not before earlier calls)
   * @param epoch - view epoch of the frame (default: the current epoch; a later one advances the store)
   * @returns false when a new track was refused at the cap
   * @throws {InvalidArgumentError} on a malformed track, time going backwards, or an epoch before the current one
   */
  commitTrack(track: Track, now: MonotonicTs, epoch?: ViewEpoch): boolean {
    const t = freezeTrack(track);
    this.#checkNow(now);
    const e = epoch === undefined ? this.#epoch : this.#checkEpoch('epoch', epoch);
    this.#clock = now;
    this.#epoch = e;
    this.#gen++;
    const h = this.#tracks.get(t.id);
    if (h !== undefined) {
      this.#update(h, t, now, e);
      return true;
    }
    return this.#admit(t, now, e, undefined) !== false;
  }

  /**
   * Commits a frame's track set: ends absent tracks first when `authoritative`, then updates
   * the tracks already held, then admits the new ones in input order (tracks admitted in this
   * call are never chosen as eviction victims for one another). See
   * {@link TemporalStore.commitTrack} for the per-track rules.
   *
   * @param tracks - the frame's tracks (ids must be unique)
   * @param now - frame time
   * @param epoch - view epoch of the frame (default: current)
   * @param options - `authoritative`
   * @returns counts and ids of admitted, rejected, ended and evicted tracks (frozen)
   * @throws {InvalidArgumentError} on malformed tracks, duplicate ids, time going backwards or a stale epoch (nothing changed)
   * @example
   * ```ts
   * const r = store.commitFrame(output.tracks, frame.ts, view.epoch, { authoritative: output.tracksAuthoritative });
   * r.ended    // ids that left the scene
   * r.rejected // admissions refused at the cap
   * ```
   */
  commitFrame(tracks: readonly Track[], now: MonotonicTs, epoch?: ViewEpoch, options: CommitFrameOptions = {}): FrameCommitResult {
    if (!Array.isArray(tracks)) throw new InvalidArgumentError('tracks', 'an array of Track', tracks);
    const n = tracks.length;
    const frozen = new Array<SealedTrack>(n);
    const held = new Array<TrackHistory | undefined>(n);
    // Duplicate ids: held tracks are stamped with this commit's sequence number; new ids go
    // through a set (usually empty). Stamps are invisible, so a throw below changes nothing.
    const seq = ++this.#commitSeq;
    let freshIds: Set<TrackId> | undefined;
    for (let i = 0; i < n; i++) {
      const t = freezeTrack(tracks[i]!);
      const h = this.#tracks.get(t.id);
      let dup: boolean;
      if (h !== undefined) {
        dup = h.commitSeq === seq;
        h.commitSeq = seq;
      } else {
        dup = freshIds?.has(t.id) === true;
        (freshIds ??= new Set()).add(t.id);
      }
      if (dup) throw new InvalidArgumentError(`tracks[${i}].id`, 'a track id unique within the frame', t.id);
      frozen[i] = t;
      held[i] = h;
    }
    this.#checkNow(now);
    const e = epoch === undefined ? this.#epoch : this.#checkEpoch('epoch', epoch);
    this.#clock = now;
    this.#epoch = e;
    this.#gen++;

    let ended: TrackId[] | undefined;
    if (options.authoritative === true) {
      for (const h of this.#tracks.values()) {
        if (h.commitSeq === seq) continue;
        h.trajectory.closeActiveSegment(SegmentBoundary.trackEnded);
        this.#remove(h.id);
        (ended ??= []).push(h.id);
      }
    }
    let admitted = 0;
    let fresh: SealedTrack[] | undefined;
    for (let i = 0; i < n; i++) {
      const h = held[i];
      if (h === undefined) (fresh ??= []).push(frozen[i]!);
      else {
        this.#update(h, frozen[i]!, now, e);
        admitted++;
      }
    }
    if (fresh === undefined && ended === undefined) {
      const r = this.#plainResult;
      if (r?.admitted === admitted) return r;
      return (this.#plainResult = Object.freeze({ admitted, rejected: 0, rejectedIds: EMPTY_IDS, ended: EMPTY_IDS, evicted: EMPTY_IDS }));
    }
    let rejectedIds: TrackId[] | undefined;
    let evicted: TrackId[] | undefined;
    let newcomers: Set<TrackId> | undefined;
    for (const t of fresh ?? []) {
      const r = this.#admit(t, now, e, newcomers);
      if (r === false) (rejectedIds ??= []).push(t.id);
      else {
        admitted++;
        (newcomers ??= new Set()).add(t.id);
        if (r !== true) (evicted ??= []).push(r);
      }
    }
    return Object.freeze({
      admitted,
      rejected: rejectedIds?.length ?? 0,
      rejectedIds: rejectedIds === undefined ? EMPTY_IDS : Object.freeze(rejectedIds),
      ended: ended === undefined ? EMPTY_IDS : Object.freeze(ended),
      evicted: evicted === undefined ? EMPTY_IDS : Object.freeze(evicted),
    });
  }

  /** @returns true (admitted), the evicted victim's id (admitted after eviction), or false (refused) */
  #admit(t: SealedTrack, now: MonotonicTs, epoch: ViewEpoch, protect: ReadonlySet<TrackId> | undefined): boolean | TrackId {
    let victim: TrackId | undefined;
    if (this.#tracks.size >= this.#retention.maxConcurrentTracks) {
      victim = this.#findVictim(protect);
      if (victim === undefined) return false;
      this.#remove(victim);
    }
    const h = new TrackHistory({
      track: t, firstSeen: now, viewEpochAtCreation: epoch, maxObservations: this.#retention.maxObservationsPerTrack,
      motion: this.#motion,
    });
    h.trajectory.openSegment(epoch, SegmentBoundary.trackCreated);
    this.#add(t.id, h);
    this.#update(h, t, now, epoch);
    return victim ?? true;
  }

  #update(h: TrackHistory, t: SealedTrack, now: MonotonicTs, epoch: ViewEpoch): void {
    h.commit(t, now);
    h.trajectory.commitObservation(now, t.current.bbox, epoch, t.state === 'lost', this.#retention.maxTrajectoryPointsPerTrack);
  }

  #findVictim(protect: ReadonlySet<TrackId> | undefined): TrackId | undefined {
    let best: TrackId | undefined;
    let bestRank = Infinity;
    let bestSeen = Infinity;
    for (const [id, h] of this.#tracks) {
      const rank = EVICTION_RANK[h.state];
      if (rank === undefined || protect?.has(id) === true) continue;
      if (rank < bestRank || (rank === bestRank && h.lastSeen < bestSeen)) {
        best = id;
        bestRank = rank;
        bestSeen = h.lastSeen;
      }
    }
    return best;
  }

  // ------------------------------------------------------------------------------------------
  // Retention and endings

  /**
   * Runs retention before a frame (call it before {@link TemporalStore.snapshot}); same as
   * {@link TemporalStore.enforceRetention}.
   * @param now - the frame's time
   * @throws {InvalidArgumentError} when time goes backwards
   */
  beginFrame(now: MonotonicTs): RetentionReport {
    return this.enforceRetention(now);
  }

  /**
   * Applies the retention policy at `now`:
   * 1. lost tracks with `now − lastSeen ≥ maxTrackAgeMs` are evicted;
   * 2. while more than `maxConcurrentTracks` are held, the oldest (by `lastSeen`) lost, then
   *    coasted, then tentative track is evicted. Confirmed tracks are never evicted: when only
   *    confirmed tracks remain above the cap, the pass stops and the store stays over the cap
   *    (it is not an error; new admissions are refused and reported until there is room).
   *    Being over the cap is only possible after lowering it with
   *    {@link TemporalStore.setRetentionPolicy}, since commits enforce the cap strictly;
   * 3. trajectories are pruned to `maxTrajectoryPointsPerTrack`.
   *
   * @param now - the frame's time (not before earlier calls)
   * @returns evicted ids and pruned point count (frozen)
   * @throws {InvalidArgumentError} when time goes backwards
   */
  enforceRetention(now: MonotonicTs): RetentionReport {
    this.#checkNow(now);
    this.#clock = now;
    const maxAgeNs = this.#retention.maxTrackAgeMs * NS_PER_MS;
    let byAge: TrackId[] | undefined;
    for (const h of this.#tracks.values()) {
      if (h.state === 'lost' && now - h.lastSeen >= maxAgeNs) {
        this.#remove(h.id);
        (byAge ??= []).push(h.id);
      }
    }
    let byCap: TrackId[] | undefined;
    while (this.#tracks.size > this.#retention.maxConcurrentTracks) {
      const v = this.#findVictim(undefined);
      if (v === undefined) break;
      this.#remove(v);
      (byCap ??= []).push(v);
    }
    let prunedPoints = 0;
    const maxPts = this.#retention.maxTrajectoryPointsPerTrack;
    for (const h of this.#tracks.values()) if (h.trajectory.totalPoints > maxPts) prunedPoints += h.trajectory.pruneOldestPoints(maxPts);
    if (byAge !== undefined || byCap !== undefined || prunedPoints > 0) this.#gen++;
    else return NOTHING_RETAINED;
    return Object.freeze({
      evictedByAge: byAge === undefined ? EMPTY_IDS : Object.freeze(byAge),
      evictedByCap: byCap === undefined ? EMPTY_IDS : Object.freeze(byCap),
      prunedPoints,
    });
  }

  /**
   * Ends a track normally: closes its open segment with `trackEnded` and removes it.
   * @returns the final history (frozen), or undefined for an unknown id
   */
  endTrack(id: TrackId): TrackHistorySnapshot | undefined {
    const h = this.#tracks.get(id);
    if (h === undefined) return undefined;
    h.trajectory.closeActiveSegment(SegmentBoundary.trackEnded);
    this.#remove(id);
    this.#gen++;
    return h.snapshot();
  }

  /**
   * The feed's source timeline broke (a reconnect, timestamps going backwards, a gap longer than
   * the track max age): every track with an open segment has it closed with
   * `sourceDiscontinuity` and continues in a new segment of the same epoch opened with the same
   * boundary. Tracks, observations and the store's clock are kept (the feed timeline stays
   * monotonic across the jump); lost tracks (no open segment) are untouched.
   * @returns number of tracks split
   * @example
   * ```ts
   * store.onSourceDiscontinuity();
   * store.trajectory(id)!.activeSegment!.openedBy // { kind: 'sourceDiscontinuity' }
   * ```
   */
  onSourceDiscontinuity(): number {
    let n = 0;
    for (const h of this.#tracks.values()) if (h.trajectory.splitAtDiscontinuity()) n++;
    if (n > 0) this.#gen++;
    return n;
  }

  /**
   * Closes every open segment with `boundary` (tracks stay).
   * @returns number of segments closed
   * @throws {InvalidArgumentError} on a bad boundary
   */
  closeAllSegments(boundary: SegmentBoundary): number {
    const b = canonicalBoundary('boundary', boundary);
    let n = 0;
    for (const h of this.#tracks.values()) if (h.trajectory.closeActiveSegment(b)) n++;
    if (n > 0) this.#gen++;
    return n;
  }

  /**
   * Feed restart: closes every open segment with `feedRestart`, then removes every track and
   * resets the store's clock (the new session's timestamps start over). The epoch is kept;
   * the runtime moves it forward for the new session.
   * @returns the final histories (frozen)
   */
  clear(): readonly TrackHistorySnapshot[] {
    this.closeAllSegments(SegmentBoundary.feedRestart);
    const out = Object.freeze([...this.#tracks.values()].map((h) => h.snapshot()));
    this.#tracks.clear();
    this.#membershipChanged = true;
    this.#clock = 0;
    this.#gen++;
    return out;
  }

  // ------------------------------------------------------------------------------------------

  #checkNow(now: MonotonicTs): void {
    if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) throw new InvalidArgumentError('now', 'finite nanoseconds >= 0', now);
    if (now < this.#clock) throw new InvalidArgumentError('now', `a timestamp >= the latest one given to the store (${this.#clock})`, now);
  }

  #checkEpoch(name: string, epoch: ViewEpoch): ViewEpoch {
    viewEpoch(epoch);
    if (epoch < this.#epoch) throw new InvalidArgumentError(name, `an epoch >= the current epoch (${this.#epoch})`, epoch);
    return epoch;
  }
}
