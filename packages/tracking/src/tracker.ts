/**
 * The multi-object tracker: SORT's Kalman-filtered boxes and optimal IoU assignment, with
 * OC-SORT's observation-centric re-update, momentum and last-observation recovery, and an
 * optional ByteTrack-style second round for low-score detections.
 *
 * @packageDocumentation
 */
import { BBox, InvalidArgumentError, TypedMetadata, trackId, type MonotonicTs, type TrackId } from '@nv/core';
import { createObservation, createTrack, type Detection, type Track, type TrackState } from '@nv/perception';
import { solveSparseAssignment } from './assignment.js';
import { BoxKalmanFilter, type BoxCxCyWH, type KalmanSnapshot } from './kalman.js';
import { LAST_DETECTION, TRACKER_INFO } from './keys.js';
import { resolveTrackerOptions, type ResolvedTrackerOptions, type TrackerOptions } from './options.js';

/** Internal lifecycle state (a track reported `lost` is removed in the same frame). */
type LiveState = 'tentative' | 'confirmed' | 'coasted';

interface ObsPoint { readonly frame: number; readonly cx: number; readonly cy: number }

interface Entry {
  readonly id: TrackId;
  classId: number;
  /** Summed confidence per class (class-agnostic mode only). */
  readonly votes: Map<number, number> | undefined;
  readonly kf: BoxKalmanFilter;
  state: LiveState;
  hits: number;
  streak: number;
  readonly firstFrame: number;
  lastObsFrame: number;
  lastObsTs: number;
  lastObs: BoxCxCyWH;
  /** The filter just after the last real update (OC-SORT re-update rewinds to it). */
  frozen: KalmanSnapshot;
  /** The last few observations' centres, oldest first. */
  readonly recent: ObsPoint[];
  /** Unit direction of motion from recent observations (0,0 when unknown or still). */
  dirX: number;
  dirY: number;
  lastDetection: Detection;
}

interface Candidate {
  readonly det: Detection;
  readonly box: BoxCxCyWH;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly area: number;
}

const RECENT_DELTAS = 15;

/**
 * A multi-object tracker over normalized detection boxes. One instance tracks one feed;
 * call {@link MultiObjectTracker.update} once per frame with that frame's detections.
 *
 * Per frame:
 * 1. every track's Kalman filter predicts as many frame steps as the timestamp gap spans;
 * 2. detections below `minConfidence` (or with an empty box) are dropped; with
 *    `highConfidence` set, the rest are split into high and low;
 * 3. all tracks are matched to the high detections by an optimal assignment on
 *    IoU(prediction, detection) plus the momentum term, gated by `iouThreshold` and class;
 * 4. with the split, unmatched confirmed/coasted tracks are matched to low detections (IoU only);
 * 5. with `lastObservationRecovery`, still unmatched tracks are matched by the IoU of their last
 *    observed box to the still unmatched high detections;
 * 6. matched tracks are updated (with the observation-centric re-update after a gap);
 *    unmatched tentative tracks are dropped; unmatched confirmed tracks coast and are reported
 *    `lost` once after `maxCoastFrames` (or `maxCoastMs`, or when the prediction leaves the
 *    frame), then forgotten; unmatched high detections start tentative tracks.
 *
 * Track ids start at 1 and are never reused by the instance, not even after {@link reset}.
 *
 * @example
 * ```ts
 * const tracker = new MultiObjectTracker({ minHits: 2 });
 * for (const frame of frames) {
 *   const tracks = tracker.update(detectionsOf(frame), frame.ts);
 *   for (const t of tracks) if (t.state === 'confirmed') draw(t.id, t.current.bbox);
 * }
 * ```
 */
export class MultiObjectTracker {
  /** The resolved options. */
  readonly options: ResolvedTrackerOptions;
  #entries: Entry[] = [];
  #nextId = 1;
  #frame = 0;
  #lastTs: number | undefined;
  #deltas: number[] = [];

  /**
   * @param options - see {@link TrackerOptions}
   * @throws {InvalidArgumentError} on an option of the wrong type or range
   * @throws {ConfigError} on an unknown option or inconsistent options
   */
  constructor(options: TrackerOptions = {}) {
    this.options = resolveTrackerOptions(options);
  }

  /** Number of tracks currently held (tentative, confirmed and coasted). */
  get size(): number { return this.#entries.length; }

  /** The id the next new track will get. */
  get nextTrackId(): TrackId { return trackId(this.#nextId); }

  /**
   * Forgets every track and the timing history (the camera moved, or the feed restarted).
   * Ids keep counting: a track started after a reset never reuses an earlier id.
   */
  reset(): void {
    this.#entries = [];
    this.#frame = 0;
    this.#lastTs = undefined;
    this.#deltas = [];
  }

  /**
   * Processes one frame.
   * @param detections - the frame's detections (normalized boxes)
   * @param ts - the frame's timestamp (ns)
   * @returns every track held after this frame, in id order: tentative, confirmed, coasted,
   *   plus those reported `lost` this frame (which are then forgotten)
   * @throws {InvalidArgumentError} when `detections` is not an array or `ts` is not a finite number (nothing changes)
   */
  update(detections: readonly Detection[], ts: MonotonicTs): Track[] {
    if (!Array.isArray(detections)) throw new InvalidArgumentError('detections', 'an array of Detection', detections);
    if (typeof ts !== 'number' || !Number.isFinite(ts)) throw new InvalidArgumentError('ts', 'a finite timestamp in nanoseconds', ts);
    const o = this.options;
    const steps = this.#advance(ts);
    const frame = this.#frame;
    const entries = this.#entries;
    const predictSteps = Math.min(steps, o.maxCoastFrames + 2);
    for (const e of entries) for (let s = 0; s < predictSteps; s++) e.kf.predict();

    // Detections: drop weak or empty ones, split high/low.
    const high: Candidate[] = [];
    const low: Candidate[] = [];
    const split = o.highConfidence;
    for (const det of detections) {
      if (det.confidence < o.minConfidence) continue;
      const b = det.bbox;
      if (!(b.width > 0) || !(b.height > 0)) continue;
      const c: Candidate = {
        det, box: { cx: (b.xMin + b.xMax) / 2, cy: (b.yMin + b.yMax) / 2, w: b.width, h: b.height },
        x1: b.xMin, y1: b.yMin, x2: b.xMax, y2: b.yMax, area: b.width * b.height,
      };
      if (split === undefined || det.confidence >= split) high.push(c); else low.push(c);
    }

    const matchOf = new Int32Array(entries.length).fill(-1); // entry → index into `matched`
    const matched: Candidate[] = [];
    const highUsed = new Uint8Array(high.length);

    // Round 1: every track vs high detections, IoU of the prediction + momentum.
    this.#associate(entries, allIndices(entries.length), high, allIndices(high.length), o.iouThreshold, true, false, matchOf, matched, highUsed);

    // Round 2 (ByteTrack): unmatched confirmed/coasted tracks vs low detections, IoU only.
    if (low.length > 0) {
      const rows = unmatchedIndices(matchOf, (i) => entries[i]!.state !== 'tentative');
      if (rows.length > 0) {
        this.#associate(entries, rows, low, allIndices(low.length), o.lowConfidenceIouThreshold, false, false, matchOf, matched, new Uint8Array(low.length));
      }
    }

    // Round 3 (OC-SORT recovery): unmatched tracks' last observation vs unmatched high detections.
    if (o.lastObservationRecovery) {
      const rows = unmatchedIndices(matchOf, () => true);
      const cols: number[] = [];
      for (let j = 0; j < high.length; j++) if (!highUsed[j]) cols.push(j);
      if (rows.length > 0 && cols.length > 0) this.#associate(entries, rows, high, cols, o.iouThreshold, false, true, matchOf, matched, highUsed);
    }

    // Update, coast, lose.
    const out: Track[] = [];
    const keep: Entry[] = [];
    const maxCoastNs = o.maxCoastMs * 1e6;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const mi = matchOf[i]!;
      if (mi >= 0) {
        const c = matched[mi]!;
        this.#applyMatch(e, c, frame, ts);
        keep.push(e);
        out.push(this.#report(e, e.state, frame, ts, c.det));
        continue;
      }
      if (e.state === 'tentative') continue; // an unconfirmed track that missed: dropped
      e.state = 'coasted';
      e.streak = 0;
      const p = e.kf.box;
      const leftFrame = p.cx + p.w / 2 <= 0 || p.cx - p.w / 2 >= 1 || p.cy + p.h / 2 <= 0 || p.cy - p.h / 2 >= 1;
      if (frame - e.lastObsFrame > o.maxCoastFrames || ts - e.lastObsTs > maxCoastNs || leftFrame) {
        out.push(this.#report(e, 'lost', frame, ts, undefined));
        continue;
      }
      keep.push(e);
      out.push(this.#report(e, 'coasted', frame, ts, undefined));
    }

    // New tracks from unmatched high detections.
    for (let j = 0; j < high.length; j++) {
      if (highUsed[j]) continue;
      const c = high[j]!;
      const kf = BoxKalmanFilter.fromBox(c.box, o.noise);
      const e: Entry = {
        id: trackId(this.#nextId++), classId: c.det.classId, votes: o.classAgnostic ? new Map([[c.det.classId, c.det.confidence]]) : undefined,
        kf, state: o.minHits <= 1 ? 'confirmed' : 'tentative', hits: 1, streak: 1, firstFrame: frame, lastObsFrame: frame, lastObsTs: ts,
        lastObs: c.box, frozen: kf.snapshot(), recent: [{ frame, cx: c.box.cx, cy: c.box.cy }], dirX: 0, dirY: 0, lastDetection: c.det,
      };
      keep.push(e);
      out.push(this.#report(e, e.state, frame, ts, c.det));
    }
    this.#entries = keep;
    return out;
  }

  /** Advances the frame counter by the number of frame steps since the previous frame. */
  #advance(ts: number): number {
    const prev = this.#lastTs;
    this.#lastTs = ts;
    if (prev === undefined) return 0;
    const d = ts - prev;
    let steps = 1;
    if (d > 0) {
      let interval: number;
      if (this.options.frameIntervalMs !== undefined) interval = this.options.frameIntervalMs * 1e6;
      else {
        this.#deltas.push(d);
        if (this.#deltas.length > RECENT_DELTAS) this.#deltas.shift();
        const s = [...this.#deltas].sort((a, b) => a - b);
        interval = s[s.length >> 1]!;
      }
      steps = Math.max(1, Math.round(d / interval));
    }
    this.#frame += steps;
    return steps;
  }

  /**
   * Solves one association round between `rows` (entry indices) and `cols` (candidate
   * indices), recording matches in `matchOf`/`matched` and marking used candidates. Only
   * gated pairs become edges of the (sparse) assignment problem.
   */
  #associate(
    entries: readonly Entry[], rows: readonly number[], cands: readonly Candidate[], cols: readonly number[], gate: number,
    momentum: boolean, useLastObservation: boolean, matchOf: Int32Array, matched: Candidate[], used: Uint8Array,
  ): void {
    const nr = rows.length, nc = cols.length;
    if (nr === 0 || nc === 0) return;
    const o = this.options;
    // Candidates sorted by centre x: a track only needs to look at those whose centre lies
    // within (its half width + the widest candidate's half width), found by binary search.
    const order = cols.slice().sort((a, b) => cands[a]!.box.cx - cands[b]!.box.cx);
    const xs = new Float64Array(nc);
    let maxHalfW = 0;
    for (let k = 0; k < nc; k++) {
      const c = cands[order[k]!]!;
      xs[k] = c.box.cx;
      if (c.box.w / 2 > maxHalfW) maxHalfW = c.box.w / 2;
    }
    const er: number[] = [], ec: number[] = [], ev: number[] = [];
    const useMomentum = momentum && o.momentumWeight > 0;
    for (let r = 0; r < nr; r++) {
      const e = entries[rows[r]!]!;
      const b = useLastObservation ? e.lastObs : e.kf.box;
      const x1 = b.cx - b.w / 2, y1 = b.cy - b.h / 2, x2 = b.cx + b.w / 2, y2 = b.cy + b.h / 2;
      const area = b.w * b.h;
      let px = 0, py = 0;
      const withDir = useMomentum && (e.dirX !== 0 || e.dirY !== 0);
      if (withDir) { const p = previousObservation(e.recent, this.#frame - o.momentumDeltaFrames); px = p.cx; py = p.cy; }
      const reach = b.w / 2 + maxHalfW;
      for (let k = lowerBound(xs, b.cx - reach); k < nc && xs[k]! < b.cx + reach; k++) {
        const col = order[k]!;
        const c = cands[col]!;
        if (!o.classAgnostic && c.det.classId !== e.classId) continue;
        const ix = Math.min(x2, c.x2) - Math.max(x1, c.x1);
        if (ix <= 0) continue;
        const iy = Math.min(y2, c.y2) - Math.max(y1, c.y1);
        if (iy <= 0) continue;
        const inter = ix * iy;
        const iou = inter / (area + c.area - inter);
        if (iou < gate) continue;
        let score = iou;
        if (withDir) {
          const dx = c.box.cx - px, dy = c.box.cy - py;
          const n = Math.hypot(dx, dy);
          if (n > 1e-9) {
            const cos = Math.max(-1, Math.min(1, (e.dirX * dx + e.dirY * dy) / n));
            score += o.momentumWeight * c.det.confidence * ((Math.PI / 2 - Math.acos(cos)) / Math.PI);
          }
        }
        er.push(r); ec.push(col); ev.push(-score);
      }
    }
    if (er.length === 0) return;
    const a = solveSparseAssignment(nr, cands.length, er, ec, ev);
    for (let r = 0; r < nr; r++) {
      const col = a[r]!;
      if (col < 0) continue;
      matchOf[rows[r]!] = matched.length;
      matched.push(cands[col]!);
      used[col] = 1;
    }
  }

  #applyMatch(e: Entry, c: Candidate, frame: number, ts: number): void {
    const o = this.options;
    const gap = frame - e.lastObsFrame;
    if (gap > 1 && o.observationCentricReupdate) {
      // Rewind to the last observation and re-run over a straight virtual trajectory to the new one.
      const kf = e.kf, from = e.lastObs, to = c.box;
      kf.restore(e.frozen);
      for (let i = 1; i < gap; i++) {
        const t = i / gap;
        kf.predict();
        kf.update({ cx: from.cx + (to.cx - from.cx) * t, cy: from.cy + (to.cy - from.cy) * t, w: from.w + (to.w - from.w) * t, h: from.h + (to.h - from.h) * t });
      }
      kf.predict();
    }
    e.kf.update(c.box);
    e.kf.snapshot(e.frozen);
    const p = previousObservation(e.recent, frame - o.momentumDeltaFrames);
    const dx = c.box.cx - p.cx, dy = c.box.cy - p.cy;
    const n = Math.hypot(dx, dy);
    if (n > 1e-9) { e.dirX = dx / n; e.dirY = dy / n; } else { e.dirX = 0; e.dirY = 0; }
    e.recent.push({ frame, cx: c.box.cx, cy: c.box.cy });
    if (e.recent.length > o.momentumDeltaFrames + 1) e.recent.shift();
    e.lastObs = c.box;
    e.lastObsFrame = frame;
    e.lastObsTs = ts;
    e.lastDetection = c.det;
    e.hits++;
    e.streak++;
    if (e.votes) {
      e.votes.set(c.det.classId, (e.votes.get(c.det.classId) ?? 0) + c.det.confidence);
      let best = e.classId, bestScore = -Infinity;
      for (const [cls, s] of e.votes) if (s > bestScore) { best = cls; bestScore = s; }
      e.classId = best;
    }
    if (e.state === 'coasted') e.state = 'confirmed';
    else if (e.state === 'tentative' && e.streak >= o.minHits) e.state = 'confirmed';
  }

  #report(e: Entry, state: TrackState, frame: number, ts: MonotonicTs, det: Detection | undefined): Track {
    const b = det !== undefined && this.options.outputBox === 'detection' ? det.bbox : toFrameBox(e.kf.box);
    const v = e.kf.velocity;
    const meta = new TypedMetadata();
    meta.set(TRACKER_INFO, Object.freeze({
      hits: e.hits, ageFrames: frame - e.firstFrame, framesSinceObservation: frame - e.lastObsFrame, velocity: Object.freeze({ x: v.vcx, y: v.vcy }),
    }));
    meta.set(LAST_DETECTION, e.lastDetection);
    const current = createObservation({
      ts, bbox: b, confidence: det?.confidence ?? 0, state,
      ...(det !== undefined ? { detectionId: det.id, metadata: det.metadata.clone() } : {}),
    });
    return createTrack({ id: e.id, classId: e.classId, state, current, metadata: meta });
  }
}

/** The first index of the ascending `xs` whose value is ≥ `v`. */
function lowerBound(xs: Float64Array, v: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function allIndices(n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function unmatchedIndices(matchOf: Int32Array, include: (i: number) => boolean): number[] {
  const a: number[] = [];
  for (let i = 0; i < matchOf.length; i++) if (matchOf[i]! < 0 && include(i)) a.push(i);
  return a;
}

/**
 * The observation OC-SORT measures direction from: the oldest kept one at or after frame
 * `since`, else the latest one.
 */
function previousObservation(recent: readonly ObsPoint[], since: number): ObsPoint {
  for (const p of recent) if (p.frame >= since) return p;
  return recent[recent.length - 1]!;
}

/** The filter's box as a frame-clamped BBox. */
function toFrameBox(b: BoxCxCyWH): BBox {
  const c = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
  return BBox.of(c(b.cx - b.w / 2), c(b.cy - b.h / 2), c(b.cx + b.w / 2), c(b.cy + b.h / 2));
}
