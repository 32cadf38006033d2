/**
 * The analytics engine: per-track zone and line state with hysteresis, the events it emits,
 * and the per-zone / per-line counters. No pipeline needed: feed it one frame's tracks at a time.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, type FeedId, type MonotonicTs, type TrackId, type WallTs } from '@nv/core';
import type { Track } from '@nv/perception';
import { parseAnalyticsConfig, type AnalyticsConfig, type AnalyticsConfigInput, type Anchor, type LineConfig, type ZoneConfig } from './config.js';
import type { AnalyticsEvent } from './events.js';
import { anchorPoint, pointInPolygon, sideOfLine, stepCrossesSegment, type Vec2 } from './geometry.js';

/** One frame's input to {@link TrackAnalytics.update}. */
export interface AnalyticsFrame {
  /** The feed (copied into every event). */
  readonly feedId: FeedId;
  /** The frame's timestamp, ns, increasing from frame to frame. */
  readonly ts: MonotonicTs;
  /** The frame's wall-clock time (µs since epoch); 0 or absent when unknown. */
  readonly wallTs?: WallTs | undefined;
  /** The tracks reported for this frame. */
  readonly tracks: readonly Track[];
  /**
   * Whether `tracks` is the full set (default true). Only then does a held track that is absent
   * end (`trackEnded`); with false, absent tracks are left as they are.
   */
  readonly authoritative?: boolean;
}

/** Counters of one zone (see {@link TrackAnalytics.counters}). */
export interface ZoneCounters {
  /** The zone id (the `zone` metric label). */
  readonly id: string;
  /** `zoneEntered` events so far. */
  readonly entered: number;
  /** `zoneExited` events so far (both reasons). */
  readonly exited: number;
  /** Of `exited`, those because the track ended inside. */
  readonly exitedOnTrackEnd: number;
  /** Tracks inside now. */
  readonly occupancy: number;
  /** `dwell` events so far. */
  readonly dwell: number;
}

/** Counters of one line (see {@link TrackAnalytics.counters}). */
export interface LineCounters {
  /** The line id (the `line` metric label). */
  readonly id: string;
  /** `lineCrossed` events with direction `positive`. */
  readonly positive: number;
  /** `lineCrossed` events with direction `negative`. */
  readonly negative: number;
}

/** A plain snapshot of every counter (safe to keep: later frames do not change it). */
export interface AnalyticsCounters {
  /** One entry per zone, in config order. */
  readonly zones: readonly ZoneCounters[];
  /** One entry per line, in config order. */
  readonly lines: readonly LineCounters[];
  /** Track bookkeeping. */
  readonly tracks: {
    /** Tracks held now. */
    readonly active: number;
    /** `trackStarted` events so far. */
    readonly started: number;
    /** `trackEnded` events so far. */
    readonly ended: number;
    /** Tracks dropped without events because `maxTracks` were held. */
    readonly evicted: number;
  };
  /** Times the per-track state was reset ({@link TrackAnalytics.reset}, e.g. view epoch changes). */
  readonly resets: number;
}

type Side = 1 | -1;

interface ZoneState {
  /** Established state; undefined until `minFrames` agreeing frames. */
  inside: boolean | undefined;
  cand: boolean | undefined;
  len: number;
  candTs: MonotonicTs;
  candWall: WallTs | undefined;
  enteredTs: MonotonicTs;
  dwellFired: boolean;
}

interface LineState {
  side: Side | undefined;
  cand: Side | undefined;
  len: number;
  candTs: MonotonicTs;
  candWall: WallTs | undefined;
  /** Whether the step onto the candidate side went through the segment. */
  candCrossed: boolean;
  /** The last anchor that was not exactly on the line. */
  last: Vec2 | undefined;
}

interface TrackEntry {
  readonly id: TrackId;
  classId: number;
  readonly startedTs: MonotonicTs;
  lastSeenTs: MonotonicTs;
  lastFrame: number;
  readonly zones: ZoneState[];
  readonly lines: LineState[];
}

type MutableZoneCounters = { -readonly [K in keyof ZoneCounters]: ZoneCounters[K] };
type MutableLineCounters = { -readonly [K in keyof LineCounters]: LineCounters[K] };

interface ResolvedZone { readonly config: ZoneConfig; readonly polygon: readonly Vec2[]; readonly dwellNs: number | undefined; readonly classes: ReadonlySet<number> | undefined }
interface ResolvedLine { readonly config: LineConfig; readonly from: Vec2; readonly to: Vec2; readonly classes: ReadonlySet<number> | undefined }

/**
 * Zone, line and lifecycle analytics over a feed's tracks. Call {@link TrackAnalytics.update}
 * once per frame with that frame's tracks; it returns the events that frame produced.
 *
 * Semantics:
 * - **Anchor.** Each track is reduced to one point of its box (`anchors[classId]` or `anchor`,
 *   default bottom centre), tested against zones (even-odd point-in-polygon) and lines.
 * - **Hysteresis.** A zone's inside/outside state, and a line's side, change only after
 *   `minFrames` consecutive observed frames agree; the event's `ts` is the first of them. Jitter
 *   across a boundary that never holds `minFrames` frames makes no events. A track's first
 *   `minFrames` frames establish its state: one that appears inside a zone enters it; one that
 *   appears on one side of a line has not crossed it (a crossing inside that first window is
 *   not counted).
 * - **Lines.** A crossing counts only when the anchor's step onto the new side passes through
 *   the segment (not the infinite line through it), and the side then holds `minFrames` frames.
 *   `direction` is the side it ended on (see `sideOfLine`: positive = left of `from → to` on
 *   the image). A point exactly on the line is ignored.
 * - **Dwell.** Once per stay: on the first observed frame inside with `ts − enteredTs ≥ dwellSeconds`.
 * - **Coasting.** `coasted` and `lost` tracks are not evaluated: their zone and line state is
 *   kept unchanged (the predicted box is not trusted), so a track that coasts and comes back
 *   makes no exit/enter flap; a line step is measured from the last observed anchor.
 *   `tentative` tracks take part only with `includeTentative`.
 * - **End.** A held track absent from an authoritative track set ends: a `zoneExited`
 *   (`reason: 'trackEnded'`) for each zone it was inside, then `trackEnded`; its state is freed.
 * - **Reset** (view epoch change): all per-track state is dropped with **no** events (no
 *   synthetic exits, no `trackEnded`); occupancies go to 0; cumulative counters are kept. Tracks
 *   seen afterwards are new (`trackStarted`).
 * - **Memory.** At most `maxTracks` tracks are held; beyond that the least recently seen is
 *   evicted silently (occupancy adjusted) and counted in `tracks.evicted`.
 *
 * Events of one frame come in track order, and per track: `trackStarted`, then per zone (config
 * order) `zoneEntered` / `dwell` / `zoneExited`, then `lineCrossed` per line; ended tracks last.
 *
 * @example
 * ```ts
 * const analytics = new TrackAnalytics({ lines: [{ id: 'mid', from: [0.5, 0], to: [0.5, 1] }] });
 * for (const { ts, tracks } of frames) {
 *   for (const e of analytics.update({ feedId, ts, tracks })) console.log(eventToJson(e));
 * }
 * analytics.counters().lines[0] // { id: 'mid', positive: …, negative: … }
 * ```
 */
export class TrackAnalytics {
  /** The parsed configuration. */
  readonly config: AnalyticsConfig;
  readonly #zones: readonly ResolvedZone[];
  readonly #lines: readonly ResolvedLine[];
  readonly #anchors: ReadonlyMap<number, Anchor>;
  /** Held tracks, least recently seen first (re-inserted on every frame they appear). */
  readonly #tracks = new Map<TrackId, TrackEntry>();
  readonly #zoneCounters: MutableZoneCounters[];
  readonly #lineCounters: MutableLineCounters[];
  #started = 0;
  #ended = 0;
  #evicted = 0;
  #resets = 0;
  #frame = 0;

  /**
   * @param config - the configuration (validated with {@link AnalyticsConfigSchema}), or an already parsed one
   * @throws {ConfigError} `InvalidConfig`, naming each offending field
   */
  constructor(config: AnalyticsConfigInput = {}) {
    this.config = parseAnalyticsConfig(config);
    this.#zones = this.config.zones.map((z) => ({
      config: z, polygon: z.polygon, dwellNs: z.dwellSeconds === undefined ? undefined : z.dwellSeconds * 1e9, classes: z.classes ? new Set(z.classes) : undefined,
    }));
    this.#lines = this.config.lines.map((l) => ({ config: l, from: l.from, to: l.to, classes: l.classes ? new Set(l.classes) : undefined }));
    this.#anchors = new Map(Object.entries(this.config.anchors).map(([k, v]) => [Number(k), v]));
    this.#zoneCounters = this.config.zones.map((z) => ({ id: z.id, entered: 0, exited: 0, exitedOnTrackEnd: 0, occupancy: 0, dwell: 0 }));
    this.#lineCounters = this.config.lines.map((l) => ({ id: l.id, positive: 0, negative: 0 }));
  }

  /** Number of tracks held now. */
  get trackCount(): number { return this.#tracks.size; }

  /**
   * Processes one frame's tracks.
   * @param frame - the frame's feed, timestamp, wall time and tracks
   * @returns the events of this frame (a new frozen array; empty when nothing happened)
   * @throws {InvalidArgumentError} when `tracks` is not an array, a track is malformed (no id,
   *   class, state or finite box), or `ts` is not a finite number — nothing changes then
   */
  update(frame: AnalyticsFrame): readonly AnalyticsEvent[] {
    const { feedId, ts, tracks } = frame;
    if (!Array.isArray(tracks)) throw new InvalidArgumentError('tracks', 'an array of Track', tracks);
    if (typeof ts !== 'number' || !Number.isFinite(ts)) throw new InvalidArgumentError('ts', 'a finite timestamp in nanoseconds', ts);
    // Every track is checked before anything changes: a malformed one leaves the state as it was.
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i] as Partial<Track> | null | undefined;
      const b = t?.current?.bbox;
      if (t === null || typeof t !== 'object' || typeof t.id !== 'number' || typeof t.classId !== 'number' || typeof t.state !== 'string'
        || b === undefined || b === null || !Number.isFinite(b.xMin) || !Number.isFinite(b.yMin) || !Number.isFinite(b.xMax) || !Number.isFinite(b.yMax)) {
        throw new InvalidArgumentError(`tracks[${i}]`, 'a Track with an id, classId, state and a finite current.bbox', t);
      }
    }
    const wall = frame.wallTs !== undefined && frame.wallTs !== 0 ? frame.wallTs : undefined;
    const n = ++this.#frame;
    const out: AnalyticsEvent[] = [];
    const k = this.config.minFrames;
    for (const t of tracks) {
      let e = this.#tracks.get(t.id);
      if (e === undefined) {
        if (t.state === 'tentative' && !this.config.includeTentative) continue;
        if (this.#tracks.size >= this.config.maxTracks) this.#evictOldest();
        e = {
          id: t.id, classId: t.classId, startedTs: ts, lastSeenTs: ts, lastFrame: n,
          zones: this.#zones.map(() => ({ inside: undefined, cand: undefined, len: 0, candTs: ts, candWall: undefined, enteredTs: ts, dwellFired: false })),
          lines: this.#lines.map(() => ({ side: undefined, cand: undefined, len: 0, candTs: ts, candWall: undefined, candCrossed: false, last: undefined })),
        };
        this.#started++;
        out.push({ type: 'trackStarted', feedId, trackId: t.id, classId: t.classId, ts, wallTs: wall });
      } else {
        this.#tracks.delete(t.id); // re-inserted below: the map stays in least-recently-seen order
      }
      this.#tracks.set(t.id, e);
      e.lastFrame = n;
      e.classId = t.classId;
      if (t.state === 'coasted' || t.state === 'lost') continue; // state frozen while not observed
      e.lastSeenTs = ts;
      const p = anchorPoint(t.current.bbox, this.#anchors.get(t.classId) ?? this.config.anchor);
      const base = { feedId, trackId: t.id, classId: t.classId } as const;
      this.#zones.forEach((zone, i) => {
        if (zone.classes && !zone.classes.has(t.classId)) return;
        const z = e.zones[i]!;
        const c = this.#zoneCounters[i]!;
        const v = pointInPolygon(p, zone.polygon);
        if (v === z.inside) { z.cand = undefined; z.len = 0; }
        else if (v === z.cand) z.len++;
        else { z.cand = v; z.len = 1; z.candTs = ts; z.candWall = wall; }
        if (z.cand !== undefined && z.len >= k) {
          const was = z.inside;
          z.inside = z.cand;
          z.cand = undefined;
          z.len = 0;
          if (z.inside) {
            z.enteredTs = z.candTs;
            z.dwellFired = false;
            c.entered++; c.occupancy++;
            out.push({ type: 'zoneEntered', ...base, ts: z.candTs, wallTs: z.candWall, zoneId: zone.config.id });
          } else if (was === true) {
            c.exited++; c.occupancy--;
            out.push({ type: 'zoneExited', ...base, ts: z.candTs, wallTs: z.candWall, zoneId: zone.config.id, reason: 'left', durationNs: Math.max(0, z.candTs - z.enteredTs) });
          }
        }
        if (zone.dwellNs !== undefined && z.inside === true && v && !z.dwellFired && ts - z.enteredTs >= zone.dwellNs) {
          z.dwellFired = true;
          c.dwell++;
          out.push({ type: 'dwell', ...base, ts, wallTs: wall, zoneId: zone.config.id, durationNs: ts - z.enteredTs });
        }
      });
      this.#lines.forEach((line, i) => {
        if (line.classes && !line.classes.has(t.classId)) return;
        const l = e.lines[i]!;
        const s = sideOfLine(p, line.from, line.to);
        if (s === 0) return;
        const crossed = l.last !== undefined && sideOfLine(l.last, line.from, line.to) !== s && stepCrossesSegment(l.last, p, line.from, line.to);
        l.last = p;
        if (s === l.side) { l.cand = undefined; l.len = 0; }
        else if (s === l.cand) l.len++;
        else { l.cand = s; l.len = 1; l.candTs = ts; l.candWall = wall; l.candCrossed = crossed; }
        if (l.cand !== undefined && l.len >= k) {
          const was = l.side;
          l.side = l.cand;
          l.cand = undefined;
          l.len = 0;
          if (was !== undefined && l.candCrossed) {
            const direction = l.side === 1 ? 'positive' : 'negative';
            this.#lineCounters[i]![direction]++;
            out.push({ type: 'lineCrossed', ...base, ts: l.candTs, wallTs: l.candWall, lineId: line.config.id, direction });
          }
        }
      });
    }
    if (frame.authoritative ?? true) {
      const gone: TrackEntry[] = [];
      for (const e of this.#tracks.values()) if (e.lastFrame !== n) gone.push(e);
      for (const e of gone) this.#end(e, feedId, ts, wall, out);
    }
    return Object.freeze(out);
  }

  /**
   * Drops every track's state with no events (no synthetic exits, no `trackEnded`): the view
   * changed discontinuously, so old positions mean nothing. Occupancies become 0; cumulative
   * counters (entered, exited, crossings…) are kept; `resets` goes up by one.
   */
  reset(): void {
    this.#tracks.clear();
    for (const c of this.#zoneCounters) c.occupancy = 0;
    this.#resets++;
  }

  /**
   * A snapshot of the counters, for a metrics exporter (label by `zone` / `line` id).
   * @returns a new plain object
   */
  counters(): AnalyticsCounters {
    return {
      zones: this.#zoneCounters.map((c) => ({ ...c })),
      lines: this.#lineCounters.map((c) => ({ ...c })),
      tracks: { active: this.#tracks.size, started: this.#started, ended: this.#ended, evicted: this.#evicted },
      resets: this.#resets,
    };
  }

  #end(e: TrackEntry, feedId: FeedId, ts: MonotonicTs, wall: WallTs | undefined, out: AnalyticsEvent[]): void {
    this.#tracks.delete(e.id);
    const base = { feedId, trackId: e.id, classId: e.classId, ts, wallTs: wall } as const;
    e.zones.forEach((z, i) => {
      if (z.inside !== true) return;
      const c = this.#zoneCounters[i]!;
      c.exited++; c.exitedOnTrackEnd++; c.occupancy--;
      out.push({ type: 'zoneExited', ...base, zoneId: this.#zones[i]!.config.id, reason: 'trackEnded', durationNs: Math.max(0, e.lastSeenTs - z.enteredTs) });
    });
    this.#ended++;
    out.push({ type: 'trackEnded', ...base, lastSeenTs: e.lastSeenTs, durationNs: Math.max(0, e.lastSeenTs - e.startedTs) });
  }

  #evictOldest(): void {
    const first = this.#tracks.values().next();
    if (first.done) return;
    const e = first.value;
    this.#tracks.delete(e.id);
    e.zones.forEach((z, i) => { if (z.inside === true) this.#zoneCounters[i]!.occupancy--; });
    this.#evicted++;
  }
}
