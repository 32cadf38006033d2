/**
 * Event clips as a stage: every frame goes into a `ClipRecorder` (an encoded pre-roll ring, from
 * `@nv/media`), and each analytics event of the chosen types asks for a clip around its time; the
 * event then carries the clip's path.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, TypedMetadata, stageId } from '@nv/core';
import { ClipDiskBudget, ClipRecorder, type ClipRecorderOptions, type ClipRecorderStats, type ClipResult } from '@nv/media';
import type { Stage, StageContext, StageCounter, StageOutput } from '@nv/perception';
import { ANALYTICS_EVENTS, ANALYTICS_EVENT_TYPES, type AnalyticsEvent, type AnalyticsEventType } from './events.js';

/** Options of {@link EventClipStage}: the recorder's, plus which events make clips. */
export type EventClipStageOptions = Omit<ClipRecorderOptions, 'onClip'> & {
  /** Stage id (default `'event-clips'`). */
  readonly id?: string;
  /** Event types that ask for a clip (default `zoneEntered`, `lineCrossed`, `dwell`). */
  readonly events?: readonly AnalyticsEventType[];
  /** Called when a clip file is complete, or could not be written. */
  readonly onClip?: (clip: ClipResult) => void;
};

const ZERO: ClipRecorderStats = Object.freeze({
  framesEncoded: 0, framesSkipped: 0, encodeErrors: 0, ringFrames: 0, ringBytes: 0, ringSeconds: 0, ringBytesDrops: 0,
  requested: 0, merged: 0, written: 0, failed: 0, pending: 0, deleted: 0, diskBytes: 0,
});
const DEFAULT_EVENTS: readonly AnalyticsEventType[] = ['zoneEntered', 'lineCrossed', 'dwell'];

/**
 * Records event clips. Put it after an `AnalyticsStage`, one instance per feed. Each frame is
 * offered to the recorder (never waited for: a frame the encoder cannot take now is skipped and
 * counted); each event of the chosen types gets `clip: { path, fromTs, toTs }` — the file appears
 * once the window's end has been encoded (or at stop). Clips of overlapping events are one file.
 * The recorder is made at start and closed at stop (pending clips written with what they have),
 * so a restart begins a new pre-roll; `maxDiskBytes` bounds the clips of one recorder (clips
 * written before a restart are not counted against the next one's budget).
 *
 * @example
 * ```ts
 * stages: [detector, new TrackerStage(), new AnalyticsStage({ zones }), new EventClipStage({ dir: 'clips', prefix: 'gate', preSeconds: 5, postSeconds: 5 })]
 * // out.artifacts.stageArtifacts.get(ANALYTICS_EVENTS)[0].clip?.path → 'clips/gate-12000ms-1.mp4'
 * ```
 */
export class EventClipStage implements Stage {
  /** Stage id. */
  readonly id: string;
  /** Always `'sink'`. */
  readonly category = 'sink' as const;
  readonly #options: Omit<ClipRecorderOptions, 'onClip'>;
  readonly #types: ReadonlySet<AnalyticsEventType>;
  readonly #onClip: ((c: ClipResult) => void) | undefined;
  #recorder: ClipRecorder | undefined;
  /** One disk budget for the stage's life: the bound holds across restarts (and previous runs' clips count). */
  readonly #budget: ClipDiskBudget;
  #stopped = false;
  /** Counters of recorders already closed (a restart makes a new one). */
  #closedStats: ClipRecorderStats | undefined;

  /**
   * @param options - clip directory, pre/post seconds, bounds, event types
   * @throws {InvalidArgumentError} on a bad option (checked here, by building a recorder's options)
   */
  constructor(options: EventClipStageOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an EventClipStageOptions object', options);
    const { id, events, onClip, ...rec } = options;
    this.id = stageId(id ?? 'event-clips');
    const types = events ?? DEFAULT_EVENTS;
    if (!Array.isArray(types) || types.some((t) => !(ANALYTICS_EVENT_TYPES as readonly string[]).includes(t))) {
      throw new InvalidArgumentError('events', `a list of ${ANALYTICS_EVENT_TYPES.join(', ')}`, types);
    }
    this.#types = new Set(types);
    this.#onClip = onClip;
    // Validates every option now (a recorder is cheap until its first frames: no encoder yet).
    void new ClipRecorder({ ...rec, budget: (this.#budget = new ClipDiskBudget(rec.dir, rec.prefix ?? 'clip', rec.maxDiskBytes ?? 1024 ** 3)) });
    this.#options = { ...rec, budget: this.#budget };
  }

  /** Starts a new recorder (a new pre-roll). */
  onStart(): void {
    this.#stopped = false;
    this.#recorder ??= new ClipRecorder({ ...this.#options, ...(this.#onClip ? { onClip: this.#onClip } : {}) });
  }

  /** Closes the recorder: pending clips are written with the video they have. */
  async onStop(): Promise<void> {
    this.#stopped = true;
    const r = this.#recorder;
    this.#recorder = undefined;
    if (!r) return;
    await r.close();
    this.#closedStats = sum(this.#closedStats, r.stats());
  }

  /**
   * Offers the frame to the recorder and asks for clips for this frame's events.
   * @returns the events with their `clip`, when any asked for one
   */
  process(ctx: StageContext): StageOutput | undefined {
    if (!this.#recorder && !this.#stopped) this.onStart(); // a host that never called onStart
    const r = this.#recorder;
    if (!r) return undefined; // stopped: nothing is recorded
    r.push(ctx.frame);
    const events = ctx.artifacts.stageArtifacts.get(ANALYTICS_EVENTS);
    if (!events || !events.some((e) => this.#types.has(e.type))) return undefined;
    const withClips: AnalyticsEvent[] = events.map((e) => (this.#types.has(e.type) ? { ...e, clip: r.request(e.ts) } : e));
    const artifacts = new TypedMetadata();
    artifacts.set(ANALYTICS_EVENTS, Object.freeze(withClips));
    return { artifacts };
  }

  /** The recorder's counters, over every recorder this stage had (restarts included). */
  stats(): ClipRecorderStats {
    const now = this.#recorder?.stats();
    return sum(this.#closedStats, now) ?? ZERO;
  }

  /**
   * For `@nv/metrics`: `clips.written`, `clips.failed`, `clips.deleted`, `clips.frames_skipped`,
   * `clips.encode_errors` (counters), `clips.pending`, `clips.disk_bytes`, `clips.ring_bytes` (gauges).
   * @returns a new list
   */
  counters(): readonly StageCounter[] {
    const s = sum(this.#closedStats, this.#recorder?.stats());
    if (!s) return [];
    return [
      { name: 'clips.written', kind: 'counter', value: s.written },
      { name: 'clips.failed', kind: 'counter', value: s.failed },
      { name: 'clips.deleted', kind: 'counter', value: s.deleted },
      { name: 'clips.frames_skipped', kind: 'counter', value: s.framesSkipped },
      { name: 'clips.encode_errors', kind: 'counter', value: s.encodeErrors },
      { name: 'clips.pending', kind: 'gauge', value: s.pending },
      { name: 'clips.disk_bytes', kind: 'gauge', value: s.diskBytes },
      { name: 'clips.ring_bytes', kind: 'gauge', value: s.ringBytes },
    ];
  }
}

/** Cumulative counters of two recorders (levels — ring, pending, disk — from the newer). */
function sum(a: ClipRecorderStats | undefined, b: ClipRecorderStats | undefined): ClipRecorderStats | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    ...b,
    framesEncoded: a.framesEncoded + b.framesEncoded, framesSkipped: a.framesSkipped + b.framesSkipped, encodeErrors: a.encodeErrors + b.encodeErrors,
    ringBytesDrops: a.ringBytesDrops + b.ringBytesDrops, requested: a.requested + b.requested, merged: a.merged + b.merged,
    written: a.written + b.written, failed: a.failed + b.failed,
    // deleted and diskBytes come from the shared disk budget: the newer recorder's are the totals
    deleted: b.deleted, diskBytes: b.diskBytes,
  };
}
