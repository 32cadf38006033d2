/**
 * `ClipRecorder`: a per-feed pre-roll ring of *encoded* video and the clips cut from it. Frames
 * are encoded as they pass (H.264 on a libuv thread, see `H264Encoder`); the ring keeps whole
 * GOPs, bounded in seconds and bytes; a clip asked for at time T holds the video from the
 * keyframe at or before T − pre to T + post, is written as an MP4 once T + post has been encoded
 * (or at close), and overlapping clips merge into one file. Disk use is bounded: the oldest
 * clips this recorder wrote are deleted, and counted.
 */
import { InvalidArgumentError, type MonotonicTs } from '@nv/core';
import type { FrameEnvelope } from '@nv/frame';
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { H264Encoder, type H264AccessUnit } from './h264-encoder.js';
import { buildMp4Parts } from './mp4.js';

/** Options of {@link ClipRecorder}. */
export interface ClipRecorderOptions {
  /** Directory the clips are written to (created if missing). */
  readonly dir: string;
  /** File name prefix (letters, digits, `_ . -`; default `clip`), e.g. the feed's name. */
  readonly prefix?: string;
  /** Seconds of video kept before an event (default 5; (0, 300]); the ring holds 1 s more, for events dated in the past. */
  readonly preSeconds?: number;
  /** Seconds of video after an event (default 5; [0, 300]). */
  readonly postSeconds?: number;
  /** Longest clip, seconds: overlapping events extend a clip up to this (default 60; ≥ pre + post). */
  readonly maxClipSeconds?: number;
  /** Most bytes the pre-roll ring holds (default 32 MiB); whole GOPs are dropped from its front. */
  readonly maxRingBytes?: number;
  /** Most bytes of clips on disk (default 1 GiB): past it the oldest clips are deleted. */
  readonly maxDiskBytes?: number;
  /** Width of the clip video (default: the frame's width, at most 1280; even). */
  readonly width?: number;
  /** Frames encoded per second at most (default 15): frames closer than 1/maxFps are skipped. */
  readonly maxFps?: number;
  /** H.264 bitrate, kbit/s (default 1000). */
  readonly bitrateKbps?: number;
  /** Seconds between keyframes (default 1): the pre-roll starts up to this much before T − pre. */
  readonly keyframeSeconds?: number;
  /** Called when a clip file is complete (or failed to be written). */
  readonly onClip?: (clip: ClipResult) => void;
  /**
   * The disk budget to count clips against (default: a new one over `dir` and `prefix` with
   * `maxDiskBytes`). Give the same budget to successive recorders of one feed (a restart makes a
   * new recorder) so the bound holds across them; `EventClipStage` does.
   */
  readonly budget?: ClipDiskBudget;
}

/**
 * The clips of one directory and prefix on disk, oldest first, kept under a byte bound. Made
 * once per feed: it starts from the `<prefix>-*.mp4` files already there (a previous run's),
 * oldest by modification time first, and removes their stale `.part` files (a process killed
 * mid-write).
 */
export class ClipDiskBudget {
  readonly #max: number;
  readonly #files: { path: string; bytes: number }[] = [];
  #deleted = 0;

  /**
   * @param dir - the clip directory (created if missing)
   * @param prefix - the clips' file name prefix
   * @param maxBytes - most bytes of clips kept (≥ 1 MiB)
   * @throws {InvalidArgumentError} for a bad prefix or bound
   */
  constructor(dir: string, prefix: string, maxBytes: number) {
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new InvalidArgumentError('prefix', '1–64 letters, digits, _ . -', prefix);
    if (!(typeof maxBytes === 'number' && maxBytes >= 1024 * 1024)) throw new InvalidArgumentError('maxDiskBytes', 'a number ≥ 1 MiB', maxBytes);
    this.#max = maxBytes;
    mkdirSync(dir, { recursive: true });
    const mine = readdirSync(dir).filter((f) => f.startsWith(`${prefix}-`));
    const found: { path: string; bytes: number; mtime: number }[] = [];
    for (const f of mine) {
      const path = `${dir}/${f}`;
      try {
        if (f.endsWith('.mp4.part')) { unlinkSync(path); continue; }
        if (!f.endsWith('.mp4')) continue;
        const st = statSync(path);
        if (st.isFile()) found.push({ path, bytes: st.size, mtime: st.mtimeMs });
      } catch { /* gone meanwhile */ }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) this.#files.push({ path: f.path, bytes: f.bytes });
  }

  /** Bytes of clips on disk now (as far as this budget knows). */
  get bytes(): number { return this.#files.reduce((a, c) => a + c.bytes, 0); }
  /** Clips deleted to keep within the bound. */
  get deleted(): number { return this.#deleted; }
  /** Clips counted now. */
  get files(): number { return this.#files.length; }

  /**
   * Counts a new clip, then deletes the oldest until the total is within the bound (the newest
   * clip is always kept).
   * @param path - the clip written
   * @param bytes - its size
   */
  async add(path: string, bytes: number): Promise<void> {
    this.#files.push({ path, bytes });
    let total = this.bytes;
    while (total > this.#max && this.#files.length > 1) {
      const old = this.#files.shift()!;
      total -= old.bytes;
      this.#deleted++;
      await unlink(old.path).catch(() => {});
    }
  }
}

/** Process-unique part of clip names: recorders (feeds, runs) never write the same path. */
const RUN = `${Date.now().toString(36)}${process.pid.toString(36)}`;
let recorders = 0;

/** A clip asked for: where it will be and what it will cover. */
export interface ClipRef {
  /** The MP4's path (the file appears when the clip is complete: written under a temporary name, then renamed). */
  readonly path: string;
  /** Start of the requested window (T − pre), ns on the frames' timeline. */
  readonly fromTs: number;
  /** End of the requested window (T + post; later when merged with a later event). */
  readonly toTs: number;
}

/** A clip written (or not). */
export interface ClipResult {
  /** The file. */
  readonly path: string;
  /** Whether it was written; `error` says why not. */
  readonly ok: boolean;
  /** First and last frame in the file, ns (the first is the keyframe at or before the window's start, when the ring had it). */
  readonly firstTs: number;
  readonly lastTs: number;
  /** Frames in the file. */
  readonly frames: number;
  /** File size in bytes. */
  readonly bytes: number;
  /** Events merged into this clip. */
  readonly events: number;
  /** Why it was not written. */
  readonly error?: string;
}

/** Counters of a recorder. */
export interface ClipRecorderStats {
  /** Frames encoded into the ring. */
  readonly framesEncoded: number;
  /** Frames not encoded: the encoder was busy (skip, never queue) or the frame came sooner than 1/maxFps. */
  readonly framesSkipped: number;
  /** Encodes that failed (and encoders that could not start). */
  readonly encodeErrors: number;
  /** The last encode failure's message. */
  readonly lastError?: string;
  /** Access units and bytes in the ring now, and its span in seconds. */
  readonly ringFrames: number;
  readonly ringBytes: number;
  readonly ringSeconds: number;
  /** GOPs dropped from the ring's front to keep it within `maxRingBytes`. */
  readonly ringBytesDrops: number;
  /** Clips asked for, merged into an earlier one, written, failed, pending now. */
  readonly requested: number;
  readonly merged: number;
  readonly written: number;
  readonly failed: number;
  readonly pending: number;
  /** Clips deleted to keep within `maxDiskBytes`, and bytes on disk now. */
  readonly deleted: number;
  readonly diskBytes: number;
}

interface Pending {
  readonly path: string;
  readonly fromTs: number;
  toTs: number;
  readonly samples: H264AccessUnit[];
  bytes: number;
  events: number;
}

const NS = 1e9;

function num(name: string, v: unknown, def: number, min: number, max: number, minExclusive = false): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || (minExclusive ? v <= min : v < min) || v > max) {
    throw new InvalidArgumentError(name, `a number in ${minExclusive ? '(' : '['}${min}, ${max}]`, v);
  }
  return v;
}

/**
 * Keeps encoded pre-roll and writes event clips. Call {@link ClipRecorder.push} with every frame
 * (never blocks: a frame is encoded when the encoder is free and the frame rate allows, else
 * skipped and counted), {@link ClipRecorder.request} at an event's time, and
 * {@link ClipRecorder.close} at the end (pending clips are written with what was encoded).
 *
 * Memory: the ring (≤ `maxRingBytes`), plus each pending clip's own samples (≤ `maxClipSeconds`
 * of video at the bitrate). The MP4 is put together on the JS thread from the encoded units (a
 * copy, about 1 ms per MB) and written with asynchronous file I/O.
 *
 * @example
 * ```ts
 * const clips = new ClipRecorder({ dir: 'clips', prefix: 'gate', preSeconds: 3, postSeconds: 3 });
 * for await (const frame of source.frames()) {
 *   clips.push(frame);
 *   if (somethingHappened) console.log('clip at', clips.request(frame.ts).path);
 *   frame.release();
 * }
 * await clips.close();
 * ```
 */
export class ClipRecorder {
  readonly #dir: string;
  readonly #prefix: string;
  readonly #preNs: number;
  readonly #postNs: number;
  readonly #maxClipNs: number;
  readonly #maxRingBytes: number;
  readonly #width: number | undefined;
  readonly #minGapNs: number;
  readonly #bitrate: number;
  readonly #keySeconds: number;
  readonly #onClip: ((c: ClipResult) => void) | undefined;
  #enc: H264Encoder | undefined;
  #shape: string | undefined;
  #fps = 0;
  readonly #ring: H264AccessUnit[] = [];
  #ringBytes = 0;
  #lastPushedTs = -Infinity;
  #newestTs = -Infinity;
  #pending: Pending[] = [];
  readonly #budget: ClipDiskBudget;
  readonly #tag: string;
  readonly #writes = new Set<Promise<void>>();
  #closed = false;
  #retryAt = Infinity;
  /** The source's frame interval (ns), from the first two frames offered; 0 until then. */
  #gapNs = 0;
  #firstTs: number | undefined;
  #lastError: string | undefined;
  #seq = 0;
  #width0 = 0;
  #height0 = 0;
  readonly #s = { framesEncoded: 0, framesSkipped: 0, encodeErrors: 0, ringBytesDrops: 0, requested: 0, merged: 0, written: 0, failed: 0 };

  /**
   * @param options - where, how much before and after, bounds (see {@link ClipRecorderOptions})
   * @throws {InvalidArgumentError} on a bad option, naming it
   */
  constructor(options: ClipRecorderOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'a ClipRecorderOptions object', options);
    if (typeof options.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('dir', 'a directory path', options.dir);
    const prefix = options.prefix ?? 'clip';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new InvalidArgumentError('prefix', '1–64 letters, digits, _ . -', prefix);
    const pre = num('preSeconds', options.preSeconds, 5, 0, 300, true);
    const post = num('postSeconds', options.postSeconds, 5, 0, 300);
    const maxClip = num('maxClipSeconds', options.maxClipSeconds, Math.max(60, pre + post), pre + post, 3600);
    this.#maxRingBytes = num('maxRingBytes', options.maxRingBytes, 32 * 1024 * 1024, 64 * 1024, 4 * 1024 ** 3);
    const maxDisk = num('maxDiskBytes', options.maxDiskBytes, 1024 ** 3, 1024 * 1024, Number.MAX_SAFE_INTEGER);
    if (options.budget !== undefined && !(options.budget instanceof ClipDiskBudget)) throw new InvalidArgumentError('budget', 'a ClipDiskBudget', options.budget);
    if (options.width !== undefined && !(Number.isInteger(options.width) && options.width >= 16 && options.width <= 4096 && options.width % 2 === 0)) {
      throw new InvalidArgumentError('width', 'an even integer in [16, 4096]', options.width);
    }
    this.#width = options.width;
    const maxFps = num('maxFps', options.maxFps, 15, 0, 120, true);
    this.#bitrate = num('bitrateKbps', options.bitrateKbps, 1000, 16, 100_000);
    if (!Number.isInteger(this.#bitrate)) throw new InvalidArgumentError('bitrateKbps', 'an integer in [16, 100000]', this.#bitrate);
    this.#keySeconds = num('keyframeSeconds', options.keyframeSeconds, 1, 0.1, 60);
    if (options.onClip !== undefined && typeof options.onClip !== 'function') throw new InvalidArgumentError('onClip', 'a function', options.onClip);
    this.#onClip = options.onClip;
    this.#dir = options.dir;
    this.#prefix = prefix;
    this.#preNs = pre * NS;
    this.#postNs = post * NS;
    this.#maxClipNs = maxClip * NS;
    // 0.9: a camera's 15 fps jitters; frames a little early are still taken.
    this.#minGapNs = (0.9 * NS) / maxFps;
    this.#fps = maxFps;
    this.#budget = options.budget ?? new ClipDiskBudget(this.#dir, prefix, maxDisk);
    this.#tag = `${RUN}${(++recorders).toString(36)}`;
  }

  /**
   * Offers a frame. Never blocks and never throws for a frame it cannot take: it is encoded when
   * the encoder is free and the frame is at least 1/maxFps after the last one encoded, else
   * skipped (counted). A frame of another size or format than the first restarts the encoder
   * (the ring is emptied: a clip cannot change size mid-file). The caller keeps ownership and may
   * release the frame as soon as this returns.
   * @param frame - the feed's frame (its `ts` is the timeline clips are asked on)
   */
  push(frame: FrameEnvelope): void {
    if (this.#closed) return;
    const ts = Number(frame.ts);
    if (!(ts > this.#lastPushedTs)) return; // not newer (a restarted source): nothing to do
    if (this.#gapNs === 0) {
      // The first frame only tells the time: the encoder starts at the second, knowing the rate.
      if (this.#firstTs === undefined || !(ts > this.#firstTs)) { this.#firstTs = ts; this.#s.framesSkipped++; return; }
      this.#gapNs = ts - this.#firstTs;
    }
    if (ts - this.#lastPushedTs < this.#minGapNs || this.#enc?.busy === true) { this.#s.framesSkipped++; return; }
    const shape = `${frame.width}x${frame.height}:${frame.format}`;
    if (shape !== this.#shape) this.#restart(frame, shape);
    else if (this.#enc === undefined && ts >= this.#retryAt) this.#reopen(frame);
    const enc = this.#enc;
    if (!enc) { this.#s.framesSkipped++; return; }
    this.#lastPushedTs = ts;
    let p: Promise<H264AccessUnit>;
    try {
      p = enc.encode(frame, ts);
    } catch (e) {
      this.#failed(e);
      return;
    }
    // A result of an encoder that was closed meanwhile (close, restart) is not this ring's.
    p.then((au) => { if (!this.#closed && this.#enc === enc) this.#take(au); }, (e: unknown) => { if (!this.#closed && this.#enc === enc) this.#failed(e); });
  }

  /**
   * Asks for a clip around time `ts` (from `ts − pre` to `ts + post`). When it overlaps a clip not
   * yet written, that clip is extended (up to `maxClipSeconds`) and its reference returned.
   * @param ts - the event's time, ns on the frames' timeline
   * @returns where the clip will be and what it covers
   * @throws {InvalidArgumentError} when `ts` is not a finite number
   * @example
   * ```ts
   * const { path } = clips.request(event.ts);
   * ```
   */
  request(ts: MonotonicTs | number): ClipRef {
    const t = Number(ts);
    if (!Number.isFinite(t)) throw new InvalidArgumentError('ts', 'a finite timestamp in ns', ts);
    this.#s.requested++;
    const from = t - this.#preNs, to = t + this.#postNs;
    // Merge only a window that starts within the pending clip (so the clip covers it) and whose
    // end keeps the clip within maxClipSeconds; else a clip of its own.
    const open = this.#pending.find((p) => from >= p.fromTs && from <= p.toTs && p.fromTs + this.#maxClipNs >= to);
    if (open) {
      open.toTs = Math.max(open.toTs, to);
      open.events++;
      this.#s.merged++;
      return { path: open.path, fromTs: open.fromTs, toTs: open.toTs };
    }
    // The ring's samples from the last keyframe at or before `from` (or its first keyframe).
    let start = -1;
    for (let i = 0; i < this.#ring.length; i++) {
      const s = this.#ring[i]!;
      if (s.ptsNs > from && start >= 0) break;
      if (s.keyframe) start = i;
    }
    const samples = start >= 0 ? this.#ring.slice(start).filter((s) => s.ptsNs <= to) : [];
    const path = join(this.#dir, `${this.#prefix}-${this.#tag}-${Math.max(0, Math.round(from / 1e6))}ms-${++this.#seq}.mp4`);
    const p: Pending = { path, fromTs: from, toTs: to, samples, bytes: samples.reduce((a, s) => a + s.data.length, 0), events: 1 };
    this.#pending.push(p);
    if (this.#newestTs >= to) this.#finish(p);
    return { path, fromTs: from, toTs: to };
  }

  /** Counters (see {@link ClipRecorderStats}). */
  stats(): ClipRecorderStats {
    const r = this.#ring;
    return {
      ...this.#s,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ringFrames: r.length, ringBytes: this.#ringBytes, ringSeconds: r.length > 1 ? (r[r.length - 1]!.ptsNs - r[0]!.ptsNs) / NS : 0,
      pending: this.#pending.length, diskBytes: this.#budget.bytes, deleted: this.#budget.deleted,
    };
  }

  /**
   * Stops encoding, writes every pending clip with the video it has (the post-roll may be shorter
   * than asked) and waits for every write. Idempotent.
   * @example
   * ```ts
   * await clips.close();
   * ```
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#enc?.close();
      this.#enc = undefined;
      for (const p of [...this.#pending]) this.#finish(p);
    }
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
  }

  #restart(frame: FrameEnvelope, shape: string): void {
    this.#enc?.close();
    this.#enc = undefined;
    this.#shape = shape;
    // A clip cannot change size: pending clips end here, the ring starts over.
    for (const p of [...this.#pending]) this.#finish(p);
    this.#ring.length = 0;
    this.#ringBytes = 0;
    this.#reopen(frame);
  }

  #reopen(frame: FrameEnvelope): void {
    this.#retryAt = Infinity;
    // Keyframes every keyframeSeconds of *encoded* frames: the encoded rate is the source's
    // (measured from the frames seen so far) capped at maxFps.
    const gap = this.#gapNs > 0 ? Math.max(this.#gapNs, NS / this.#fps) : NS / this.#fps;
    const interval = Math.max(1, Math.round((this.#keySeconds * NS) / gap));
    const outWidth = Math.min(this.#width ?? Math.min(frame.width, 1280), 2 * Math.floor(frame.width / 2));
    try {
      this.#enc = H264Encoder.open({
        width: frame.width, height: frame.height, format: frame.format, outWidth: Math.max(16, outWidth - (outWidth % 2)),
        bitrateKbps: this.#bitrate, keyframeInterval: interval,
      });
      this.#width0 = this.#enc.options.outWidth;
      this.#height0 = this.#enc.options.outHeight;
    } catch (e) {
      this.#failed(e);
    }
  }

  /**
   * An encode failed: a GStreamer error stops the encoder's pipeline for good, so it is closed and
   * the next frame at least a second later starts a new one (the ring starts over at its first
   * keyframe; pending clips keep what they have).
   */
  #failed(e: unknown): void {
    this.#s.encodeErrors++;
    this.#lastError = e instanceof Error ? e.message : String(e);
    this.#enc?.close();
    this.#enc = undefined;
    this.#retryAt = this.#lastPushedTs + NS;
  }

  #take(au: H264AccessUnit): void {
    this.#s.framesEncoded++;
    this.#newestTs = au.ptsNs;
    this.#ring.push(au);
    this.#ringBytes += au.data.length;
    this.#trim();
    for (const p of [...this.#pending]) {
      if (au.ptsNs <= p.toTs) {
        if (p.samples.length > 0 || au.keyframe) { p.samples.push(au); p.bytes += au.data.length; }
      }
      if (au.ptsNs >= p.toTs) this.#finish(p);
    }
  }

  /**
   * Drops whole GOPs from the ring's front: older than the pre-roll needs, or over the byte bound.
   * It keeps `preSeconds` + 1 s: events reach the recorder dated a little in the past (analytics
   * hysteresis dates an event to the first of its `minFrames` frames), and their pre-roll is
   * counted from that date.
   */
  #trim(): void {
    const r = this.#ring;
    const keep = this.#newestTs - this.#preNs - NS;
    for (;;) {
      // the second keyframe: dropping everything before it keeps whole GOPs
      let next = -1;
      for (let i = 1; i < r.length; i++) if (r[i]!.keyframe) { next = i; break; }
      if (next < 0) break;
      const tooOld = r[next]!.ptsNs <= keep;
      const tooBig = this.#ringBytes > this.#maxRingBytes;
      if (!tooOld && !tooBig) break;
      if (tooBig && !tooOld) this.#s.ringBytesDrops++;
      for (const s of r.splice(0, next)) this.#ringBytes -= s.data.length;
    }
    // A single GOP bigger than the bound: nothing whole can be kept.
    if (this.#ringBytes > this.#maxRingBytes) {
      this.#s.ringBytesDrops++;
      r.length = 0;
      this.#ringBytes = 0;
    }
  }

  #finish(p: Pending): void {
    this.#pending = this.#pending.filter((x) => x !== p);
    const w = this.#write(p).finally(() => { this.#writes.delete(w); });
    this.#writes.add(w);
  }

  async #write(p: Pending): Promise<void> {
    const { samples } = p;
    const base = { path: p.path, firstTs: samples[0]?.ptsNs ?? 0, lastTs: samples[samples.length - 1]?.ptsNs ?? 0, frames: samples.length, events: p.events };
    if (samples.length === 0) {
      this.#s.failed++;
      this.#onClip?.({ ...base, ok: false, bytes: 0, error: 'no video was encoded for the clip window' });
      return;
    }
    const tmp = `${p.path}.part`;
    try {
      // The file's boxes are built here (small); the encoded bytes go to the kernel by
      // reference, gathered by one writev on a libuv thread — no copy on the JS thread.
      const parts = buildMp4Parts(samples, this.#width0, this.#height0);
      const bytes = parts.reduce((a, b) => a + b.length, 0);
      const fh = await open(tmp, 'w');
      try {
        for (let i = 0; i < parts.length; i += 512) await fh.writev(parts.slice(i, i + 512));
      } finally {
        await fh.close();
      }
      await rename(tmp, p.path);
      this.#s.written++;
      await this.#budget.add(p.path, bytes);
      this.#onClip?.({ ...base, ok: true, bytes });
    } catch (e) {
      this.#s.failed++;
      await unlink(tmp).catch(() => {});
      this.#onClip?.({ ...base, ok: false, bytes: 0, error: (e as Error).message });
    }
  }

}

