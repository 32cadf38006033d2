/**
 * The live view's video path: a stage at the end of each feed hands frames, by reference, to a
 * GStreamer JPEG encoder (`JpegEncoder` of `@nv/media`, on a libuv thread) and broadcasts each
 * JPEG with its overlay boxes to the feed's viewers (WebSockets). Nothing here ever makes a
 * feed wait: the stage returns at once, a frame that arrives while the encoder is busy is
 * skipped, and a viewer whose socket has not drained gets no new frame (counted) until it does.
 */
import type { FeedId, TypedMetadata } from '@nv/core';
import { JpegEncoder } from '@nv/media';
import type { ReadonlyArtifacts, Stage, StageContext } from '@nv/perception';

/** One box of the overlay, in normalized frame coordinates, with its label and colour. */
export interface OverlayBox {
  /** Left, top, right, bottom in [0, 1]. */
  readonly box: readonly [number, number, number, number];
  /** e.g. `#3 car 0.91 KA01AB1234`. */
  readonly label: string;
  /** RGB, 0–255. */
  readonly color: readonly [number, number, number];
}

/** Options of the live view (`nv serve`'s `serve.liveView`). */
export interface LiveViewOptions {
  /** Frames per second sent to viewers, at most (default 15); frames in between are not encoded. */
  readonly fps?: number;
  /** Width of the JPEG frames, at most (default 640; the height keeps the aspect). */
  readonly maxWidth?: number;
  /** JPEG quality, 1–100 (default 70). */
  readonly quality?: number;
  /** A feed's encoder is closed after this long without viewers (default 10 000 ms). */
  readonly idleStopMs?: number;
  /** Viewers per feed, at most (default 32); one more is refused. */
  readonly maxViewersPerFeed?: number;
  /** A viewer with more than this many bytes not yet written to its socket gets no new frame (default 512 KiB). */
  readonly maxBufferedBytes?: number;
  /** A viewer that has not drained for this long is disconnected (default 30 000 ms). */
  readonly stalledViewerMs?: number;
  /** The boxes drawn for a frame (default: tracks, else detections, with class and confidence). */
  readonly overlay?: (artifacts: ReadonlyArtifacts) => OverlayBox[];
}

/** What the live view needs of a viewer's socket (a `ws` WebSocket fits). */
export interface ViewerSocket {
  /** Bytes queued for the socket and not yet written to the kernel. */
  readonly bufferedAmount: number;
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
}

/** Counters of one feed's live view. */
export interface LiveViewStats {
  /** Viewers connected now. */
  readonly viewers: number;
  /** Whether the feed's encoder is open. */
  readonly encoding: boolean;
  /** Frames encoded. */
  readonly framesEncoded: number;
  /** JPEG messages written to viewers (one per viewer per frame). */
  readonly framesSent: number;
  /** Frames a viewer did not get because its socket had not drained (per viewer per frame). */
  readonly framesDroppedSlowViewer: number;
  /** Frames not encoded because the encoder was still busy with the previous one. */
  readonly framesSkippedBusy: number;
  /** Encodes that failed (the encoder is reopened on the next frame). */
  readonly encodeErrors: number;
  /** Viewers disconnected because they stalled. */
  readonly viewersDisconnected: number;
  /** Encoder opens so far (a restart after idle counts again). */
  readonly encoderStarts: number;
  /** Mean encode time of the last frames, ms. */
  readonly encodeMs: number;
}

interface Resolved {
  readonly fps: number; readonly maxWidth: number; readonly quality: number; readonly idleStopMs: number;
  readonly maxViewersPerFeed: number; readonly maxBufferedBytes: number; readonly stalledViewerMs: number;
  readonly overlay: (a: ReadonlyArtifacts) => OverlayBox[];
}

const PALETTE: readonly (readonly [number, number, number])[] = [
  [0, 220, 0], [255, 170, 0], [0, 170, 255], [255, 60, 160], [160, 110, 255], [0, 230, 200], [255, 230, 0], [255, 90, 60],
];

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * The default overlay: confirmed and tentative tracks (`#id class confidence`), else detections
 * (`class confidence`); where `extra` returns text for a box (e.g. the plate OCR read from a
 * metadata key) it replaces the confidence (`#id class text`).
 * @param names - class names by class id
 * @param extra - more label text from a box's metadata
 * @returns an overlay function for {@link LiveViewOptions.overlay}
 */
export function defaultOverlay(names?: readonly string[], extra?: (m: TypedMetadata) => string): (a: ReadonlyArtifacts) => OverlayBox[] {
  const name = (c: number) => names?.[c] ?? `c${c}`;
  // With extra text (e.g. what OCR read) the label is `#id class text`; else `#id class confidence`.
  const more = (m: TypedMetadata, confidence: number) => { const t = extra?.(m); return t ? ` ${t}` : ` ${confidence.toFixed(2)}`; };
  const box = (b: { xMin: number; yMin: number; xMax: number; yMax: number }): OverlayBox['box'] =>
    [r4(clamp01(b.xMin)), r4(clamp01(b.yMin)), r4(clamp01(b.xMax)), r4(clamp01(b.yMax))];
  return (a) => a.tracks.length
    ? a.tracks.filter((t) => t.state === 'confirmed' || t.state === 'tentative').map((t) => ({
        box: box(t.current.bbox), color: PALETTE[t.id % PALETTE.length]!, label: `#${t.id} ${name(t.classId)}${more(t.metadata, t.current.confidence)}`,
      }))
    : a.detections.map((d) => ({ box: box(d.bbox), color: PALETTE[d.classId % PALETTE.length]!, label: `${name(d.classId)}${more(d.metadata, d.confidence)}` }));
}

function resolve(o: LiveViewOptions): Resolved {
  const num = (v: number | undefined, d: number, lo: number, hi: number, what: string, int = false) => {
    const x = v ?? d;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi || (int && !Number.isInteger(x))) {
      throw new RangeError(`liveView.${what} must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${String(v)}`);
    }
    return x;
  };
  return {
    fps: num(o.fps, 15, 0.1, 120, 'fps'),
    maxWidth: num(o.maxWidth, 640, 16, 7680, 'maxWidth', true),
    quality: num(o.quality, 70, 1, 100, 'quality', true),
    idleStopMs: num(o.idleStopMs, 10_000, 0, 86_400_000, 'idleStopMs', true),
    maxViewersPerFeed: num(o.maxViewersPerFeed, 32, 1, 10_000, 'maxViewersPerFeed', true),
    maxBufferedBytes: num(o.maxBufferedBytes, 512 * 1024, 1024, 1 << 30, 'maxBufferedBytes', true),
    stalledViewerMs: num(o.stalledViewerMs, 30_000, 100, 86_400_000, 'stalledViewerMs', true),
    overlay: o.overlay ?? defaultOverlay(),
  };
}

interface Viewer { readonly socket: ViewerSocket; stalledSince: number | undefined }

/**
 * One feed's tap: the last stage of a feed served by `nv serve`. Encodes only while someone
 * watches, at most {@link LiveViewOptions.fps} frames per second, one frame at a time.
 */
export class LiveViewStage implements Stage {
  readonly id = 'live-view';
  readonly category = 'sink' as const;
  readonly #o: Resolved;
  readonly #viewers = new Set<Viewer>();
  #enc: JpegEncoder | undefined;
  #shape = '';
  #lastTs = -Infinity;
  #noViewersSince = performance.now();
  #stopped = false;
  #disabled = false;
  #encodeMsAvg = 0;
  #c = { framesEncoded: 0, framesSent: 0, framesDroppedSlowViewer: 0, framesSkippedBusy: 0, encodeErrors: 0, viewersDisconnected: 0, encoderStarts: 0 };

  /** @internal use {@link LiveView.createStage} */
  constructor(options: Resolved) { this.#o = options; }

  /** Whether this feed has video (false after {@link LiveViewStage.disable}). */
  get enabled(): boolean { return !this.#disabled; }

  /** Marks the stage as not part of its feed (e.g. an isolated feed, whose frames stay in its worker): the feed then has no live view. */
  disable(): void { this.#disabled = true; }

  /** Counters. */
  stats(): LiveViewStats {
    return { viewers: this.#viewers.size, encoding: this.#enc !== undefined, ...this.#c, encodeMs: Math.round(this.#encodeMsAvg * 100) / 100 };
  }

  /** @internal */
  addViewer(socket: ViewerSocket): (() => void) | undefined {
    if (this.#viewers.size >= this.#o.maxViewersPerFeed) return undefined;
    const v: Viewer = { socket, stalledSince: undefined };
    this.#viewers.add(v);
    return () => {
      this.#viewers.delete(v);
      if (this.#viewers.size === 0) this.#noViewersSince = performance.now();
    };
  }

  /** @internal closes the encoder when nobody has watched for `idleStopMs`; disconnects stalled viewers. */
  tick(now: number): void {
    if (this.#enc && this.#viewers.size === 0 && now - this.#noViewersSince >= this.#o.idleStopMs) this.#closeEncoder();
    for (const v of this.#viewers) {
      if (v.socket.bufferedAmount <= this.#o.maxBufferedBytes) { v.stalledSince = undefined; continue; }
      v.stalledSince ??= now;
      if (now - v.stalledSince >= this.#o.stalledViewerMs) {
        this.#viewers.delete(v);
        this.#c.viewersDisconnected++;
        try { v.socket.close(1008, 'viewer stalled'); } catch { /* already gone */ }
      }
    }
  }

  process(ctx: StageContext): void {
    if (this.#stopped || this.#viewers.size === 0) return;
    const f = ctx.frame;
    if (f.ts - this.#lastTs < 1e9 / this.#o.fps - 1e6) return; // 1 ms slack for jittery timestamps
    if (this.#enc?.busy) { this.#c.framesSkippedBusy++; return; }
    const w = Math.max(16, Math.min(this.#o.maxWidth, f.width) & ~1);
    const h = Math.max(16, Math.round((f.height * w) / f.width) & ~1);
    const shape = `${f.width}x${f.height}:${f.format}->${w}x${h}`;
    if (this.#enc && shape !== this.#shape) this.#closeEncoder();
    if (!this.#enc) {
      try {
        this.#enc = JpegEncoder.open({ width: f.width, height: f.height, format: f.format, outWidth: w, outHeight: h, quality: this.#o.quality });
      } catch {
        this.#c.encodeErrors++;
        return;
      }
      this.#shape = shape;
      this.#c.encoderStarts++;
    }
    this.#lastTs = f.ts;
    const enc = this.#enc;
    const header = {
      feed: ctx.feedId, seq: f.seq, ts: f.ts, wallTs: f.wallTs, width: w, height: h, sourceWidth: f.width, sourceHeight: f.height,
      boxes: this.#o.overlay(ctx.artifacts),
    };
    const t0 = performance.now();
    let pending: Promise<Uint8Array>;
    try {
      pending = enc.encode(f); // by reference: the encoder holds its own reference to the pixels
    } catch {
      this.#c.encodeErrors++;
      this.#closeEncoder();
      return;
    }
    pending.then((jpeg) => {
      const ms = performance.now() - t0;
      this.#encodeMsAvg = this.#c.framesEncoded === 0 ? ms : this.#encodeMsAvg * 0.9 + ms * 0.1;
      this.#c.framesEncoded++;
      this.#broadcast(header, jpeg);
    }, () => {
      if (this.#enc === enc) { this.#c.encodeErrors++; this.#closeEncoder(); }
    });
  }

  #broadcast(header: object, jpeg: Uint8Array): void {
    if (this.#viewers.size === 0) return;
    const head = Buffer.from(JSON.stringify({ ...header, sentAtMs: Date.now() }), 'utf8');
    const msg = Buffer.allocUnsafe(4 + head.length + jpeg.length);
    msg.writeUInt32LE(head.length, 0);
    head.copy(msg, 4);
    msg.set(jpeg, 4 + head.length);
    for (const v of this.#viewers) {
      if (v.socket.bufferedAmount > this.#o.maxBufferedBytes) { this.#c.framesDroppedSlowViewer++; continue; }
      try { v.socket.send(msg); this.#c.framesSent++; } catch { /* closing: its close handler removes it */ }
    }
  }

  #closeEncoder(): void {
    const e = this.#enc;
    this.#enc = undefined;
    this.#shape = '';
    this.#lastTs = -Infinity;
    try { e?.close(); } catch { /* already closed */ }
  }

  onStop(): void {
    // A restart calls onStop then onStart: viewers stay connected, the encoder reopens on the next frame.
    this.#closeEncoder();
  }

  /** @internal the feed is gone: disconnect viewers, close the encoder, take no more frames. */
  dispose(reason: string): void {
    this.#stopped = true;
    this.#closeEncoder();
    for (const v of this.#viewers) { try { v.socket.close(1001, reason); } catch { /* gone */ } }
    this.#viewers.clear();
  }
}

/**
 * Every feed's live view: creates the per-feed stage, attaches it to the feed id once the
 * feed exists, connects viewers, and runs the idle/stall timer (1 s).
 * @example
 * ```ts
 * const live = new LiveView({ fps: 10 });
 * const stage = live.createStage();
 * const feed = runtime.addFeed({ source, cameraMode: 'fixed', stages: [detector, stage] });
 * live.attach(feed.id, stage);
 * ```
 */
export class LiveView {
  readonly #o: Resolved;
  readonly #feeds = new Map<FeedId, LiveViewStage>();
  readonly #timer: ReturnType<typeof setInterval>;

  /** @throws {RangeError} on an option out of range */
  constructor(options: LiveViewOptions = {}) {
    this.#o = resolve(options);
    this.#timer = setInterval(() => { const now = performance.now(); for (const s of this.#feeds.values()) s.tick(now); }, 1000);
    this.#timer.unref();
  }

  /** The resolved options (for `/api/config`). */
  get options(): Omit<Resolved, 'overlay'> {
    const { overlay: _o, ...rest } = this.#o;
    return rest;
  }

  /** A new tap stage, to put last in a feed's stages. */
  createStage(): LiveViewStage { return new LiveViewStage(this.#o); }

  /** Binds a stage to its feed's id (after `runtime.addFeed`). */
  attach(feedId: FeedId, stage: LiveViewStage): void { this.#feeds.set(feedId, stage); }

  /** The feed was removed: its viewers are disconnected. */
  detach(feedId: FeedId): void {
    this.#feeds.get(feedId)?.dispose('feed removed');
    this.#feeds.delete(feedId);
  }

  /** Whether the feed has a live view (isolated feeds have none: their frames stay in the worker). */
  has(feedId: FeedId): boolean { return this.#feeds.get(feedId)?.enabled === true; }

  /**
   * Connects a viewer to a feed.
   * @returns a function to call when the socket closes, or `undefined` when the feed has no live
   *   view or already has `maxViewersPerFeed` viewers
   */
  addViewer(feedId: FeedId, socket: ViewerSocket): (() => void) | undefined { return this.has(feedId) ? this.#feeds.get(feedId)?.addViewer(socket) : undefined; }

  /** Counters of one feed's live view. */
  stats(feedId: FeedId): LiveViewStats | undefined { return this.#feeds.get(feedId)?.stats(); }

  /** Disconnects every viewer and stops every encoder. */
  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#feeds.values()) s.dispose('server closing');
    this.#feeds.clear();
  }
}
