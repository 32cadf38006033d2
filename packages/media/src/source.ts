/**
 * `MediaSource`: one video source (file, RTSP, V4L2, test pattern, custom) decoded by
 * GStreamer into zero-copy `NativeFrame`s, with a bounded frame queue, typed events and —
 * for live sources — reconnection.
 */
import {
  ConfigError, InvalidArgumentError, MediaError, parseBackpressurePolicy, parseReconnectPolicy, parseSourceSpec, reconnectDelayMs, redactUrl,
  type BackpressurePolicy, type MediaBuildFailure, type CustomPipelinePolicy, type FeedId, type MonotonicTs, type ReconnectPolicy, type SourceSpec,
  feedId as toFeedId,
} from '@nv/core';
import type { FrameSource, FrameSourceEvent, PixelFormat } from '@nv/frame';
import { loadBinding, type RawEvent, type RawSource, type RawStats } from './binding.js';
import { isFilePolicyRefusal, isPermanentFailure, mapBusError, sourceLocation } from './errors.js';
import { NativeFrame } from './native-frame.js';
import { buildPipeline, checkOutputOptions, type OutputOptions } from './pipeline.js';

/** Options of a {@link MediaSource}. */
export interface MediaSourceOptions {
  /** Feed id stamped on frames (default 1). */
  readonly feedId?: FeedId | number;
  /** Output format, size, pacing, decoder preference. */
  readonly output?: OutputOptions;
  /** Frame-queue policy (depth 4; without a kind: `block` for files and non-live test patterns, `dropOldest` for live sources; `block` is refused for RTSP). */
  readonly backpressure?: Partial<BackpressurePolicy>;
  /** Reconnection of live sources (default: forever, 1 s → 30 s exponential). */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Whether `custom` sources and post-decode hooks are accepted (default `reject`). */
  readonly customPipelinePolicy?: CustomPipelinePolicy;
  /**
   * A source that delivers no frame for this long (from start, or since the last frame) is
   * treated as disconnected (live) or failed with `Timeout` (files). Default 10 000 ms.
   */
  readonly noFrameTimeoutMs?: number;
  /**
   * Longest wait for the pipeline to stop (its state change to NULL) when a session closes or
   * the source stops, in ms (default 5000, [1, 600000]). An element that never finishes its state
   * change (a deadlocked rtspsrc, a hung driver) would otherwise hang the JS thread: past the
   * timeout the pipeline is abandoned — its memory and threads are leaked until the process exits
   * (`mediaDiagnostics().abandonedSources`), a `warning` event says so — and the stop returns.
   */
  readonly stopTimeoutMs?: number;
  /**
   * Where frames live: `host` (default) or `cuda`. `cuda` is refused with `MediaError.Unsupported`
   * at construction when GStreamer's CUDA elements are missing (no GPU/driver) — never a silent
   * host fallback. The CUDA frame path itself is not implemented yet, so today `cuda` is refused
   * on every machine, with the reason.
   */
  readonly residency?: 'host' | 'cuda';
}

/** Something that happened to a source. */
export type MediaEvent =
  | {
      readonly type: 'streamStarted'; readonly width: number; readonly height: number; readonly format: PixelFormat | string;
      readonly fps: number | undefined; readonly decoder: string | undefined; readonly hardware: boolean;
    }
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected'; readonly error: MediaError }
  | { readonly type: 'reconnecting'; readonly attempt: number; readonly delayMs: number }
  | { readonly type: 'insecureRtsp'; readonly redactedUrl: string }
  | { readonly type: 'eos' }
  | { readonly type: 'loop' }
  | { readonly type: 'error'; readonly error: MediaError }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'stateChanged'; readonly from: string; readonly to: string }
  | { readonly type: 'qos'; readonly processed: number; readonly dropped: number }
  | { readonly type: 'stopped' };

/**
 * Where a {@link MediaSource} is in its life (see {@link MediaSource.state}):
 * - `idle`: not started yet.
 * - `connecting`: the first session is opening; no frame yet.
 * - `streaming`: the current session delivers frames.
 * - `reconnecting`: a live source lost its session (network error, the server ended the
 *   session, silence) and is waiting for, or trying, the next attempt. It stays here, across
 *   attempts, until a session streams again (`streaming`) or the policy gives up (`failed`).
 * - `ended`: end of stream (files, finite test patterns). Live RTSP and V4L2 sources never end.
 * - `failed`: a fatal error (thrown from the frame iterator).
 * - `stopped`: {@link MediaSource.stop} was called first.
 */
export type MediaSourceState = 'idle' | 'connecting' | 'streaming' | 'reconnecting' | 'ended' | 'failed' | 'stopped';

/** The `type` of each {@link MediaEvent}. */
export type MediaEventType = MediaEvent['type'];
type Listener<T extends MediaEventType> = (ev: Extract<MediaEvent, { type: T }>) => void;

/** Queue and lifecycle counters. */
export interface MediaSourceStats extends RawStats {
  /** Sessions started (1 + reconnections). */
  readonly sessions: number;
  /** Frames handed out. */
  readonly delivered: number;
}

type Terminal = { kind: 'eos' } | { kind: 'stopped' } | { kind: 'error'; error: MediaError };

/**
 * A decoded video source.
 *
 * @example
 * ```ts
 * const src = new MediaSource({ kind: 'file', path: 'clip.mp4' }, { output: { format: 'RGB8', width: 640, height: 360 } });
 * src.on('streamStarted', (e) => console.log(e.width, e.height, e.decoder));
 * for await (const frame of src.frames()) {
 *   try { use(frame.plane(0)); } finally { frame.release(); }
 * }
 * ```
 */
export class MediaSource implements FrameSource {
  /** {@inheritDoc FrameSource.specificationVersion} */
  readonly specificationVersion = 'v1' as const;
  readonly spec: SourceSpec;
  readonly feedId: FeedId;
  readonly #opts: MediaSourceOptions;
  readonly #policy: BackpressurePolicy;
  readonly #reconnect: ReconnectPolicy;
  readonly #noFrameMs: number;
  readonly #listeners = new Map<MediaEventType, Set<(ev: MediaEvent) => void>>();
  #native: RawSource | undefined;
  #terminal: Terminal | undefined;
  #waiter: (() => void) | undefined;
  #state: 'idle' | 'running' | 'reconnecting' | 'stopped' = 'idle';
  /** A live session's end, waiting for the frames it left in the native queue to be pulled. */
  #ending: MediaError | undefined;
  #phase: MediaSourceState = 'idle';
  #sessions = 0;
  #delivered = 0;
  #attempt = 0;
  #everConnected = false;
  #plainRtsp = false;
  #insecureReported = false;
  #watchdog: NodeJS.Timeout | undefined;
  #lastFrameAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastStats: RawStats | undefined;
  #decoder: { name: string | undefined; hardware: boolean } = { name: undefined, hardware: false };
  #pendingStart: { width: number; height: number; format: string; fps: number | undefined } | undefined;
  /** Raw ts to resume after ({@link MediaSource.resumeAfter}); undefined: from the start. */
  #resumeAfterTs: number | undefined;

  /**
   * Validates everything up front; nothing is opened until {@link MediaSource.start}.
   * @throws {ConfigError} on an invalid spec or options (naming the field)
   * @throws {MediaError} `CustomPipelineRejected`, `InsecureRtspRejected`, or `Unsupported` when the addon is missing
   */
  constructor(spec: unknown, options: MediaSourceOptions = {}) {
    this.spec = parseSourceSpec(spec);
    this.#opts = options;
    this.feedId = toFeedId(options.feedId ?? 1);
    this.#policy = parseBackpressurePolicy(options.backpressure ?? {}, this.spec);
    if (this.spec.kind === 'rtsp' && this.#policy.kind === 'block') throw rtspBlockRefused();
    this.#reconnect = parseReconnectPolicy(options.reconnect ?? {});
    this.#noFrameMs = options.noFrameTimeoutMs ?? 10_000;
    if (!Number.isFinite(this.#noFrameMs) || this.#noFrameMs < 100) throw ConfigError.invalidPolicy('noFrameTimeoutMs must be >= 100', 'noFrameTimeoutMs');
    const st = options.stopTimeoutMs;
    if (st !== undefined && !(typeof st === 'number' && st >= 1 && st <= 600_000)) throw ConfigError.invalidPolicy('stopTimeoutMs must be in [1, 600000]', 'stopTimeoutMs');
    checkOutputOptions(options.output ?? {});
    // Build once now so that bad options and refused fragments fail at construction.
    buildPipeline(this.spec, options.output ?? {}, { customPipelinePolicy: options.customPipelinePolicy ?? 'reject' });
    const b = loadBinding();
    if (options.residency !== undefined && options.residency !== 'host' && options.residency !== 'cuda') {
      throw ConfigError.invalidPolicy(`residency must be 'host' or 'cuda', not '${String(options.residency)}'`, 'residency');
    }
    if (options.residency === 'cuda') {
      const missing = ['cudaupload', 'cudaconvert'].filter((e) => !b.hasElement(e));
      throw MediaError.unsupported(missing.length > 0
        ? `CUDA residency requested but GStreamer's CUDA elements (${missing.join(', ')}) are not available here (no NVIDIA GPU/driver, or GStreamer built without CUDA)`
        : 'CUDA residency requested: GStreamer CUDA elements are present, but nv does not implement CUDA frames yet');
    }
  }

  /**
   * Where the source is now. A live source that lost its session reads `reconnecting` from its
   * `disconnected` event until it streams again (`connected`) or gives up (`error`).
   */
  get state(): MediaSourceState { return this.#phase; }

  /** Subscribes to an event type. @returns a function that unsubscribes */
  on<T extends MediaEventType>(type: T, listener: Listener<T>): () => void {
    let set = this.#listeners.get(type);
    if (!set) { set = new Set(); this.#listeners.set(type, set); }
    set.add(listener as (ev: MediaEvent) => void);
    return () => set.delete(listener as (ev: MediaEvent) => void);
  }

  /**
   * {@inheritDoc FrameSource.onEvent} Maps media events to the runtime-neutral source events.
   */
  onEvent(listener: (e: FrameSourceEvent) => void): () => void {
    const offs = [
      this.on('connected', () => listener({ type: 'connected' })),
      this.on('disconnected', (e) => listener({ type: 'disconnected', error: e.error })),
      this.on('reconnecting', (e) => listener({ type: 'reconnecting', attempt: e.attempt, delayMs: e.delayMs })),
      this.on('insecureRtsp', (e) => listener({ type: 'insecure', redactedUrl: e.redactedUrl })),
      this.on('streamStarted', (e) => listener({ type: 'decoder', decoder: e.decoder, hardware: e.hardware })),
      this.on('eos', () => listener({ type: 'eos' })),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Starts decoding. Idempotent. @throws {MediaError} if the source was stopped */
  start(): void {
    if (this.#state === 'stopped') throw MediaError.unsupported('source was stopped; create a new MediaSource');
    if (this.#state !== 'idle') return;
    this.#openSession();
  }

  /**
   * {@inheritDoc FrameSource.resumeAfter}
   *
   * What this does per source kind (call it before {@link MediaSource.start}; the runtime calls
   * it on the new source it creates for a restarted feed):
   * - `file` (not looping): the source delivers exactly the frames whose `ts` is greater than
   *   `ts`, with the same `ts` a fresh source gives them (the media position: pts minus the first
   *   frame's pts) — none repeated, none skipped. It prerolls, seeks natively (FLUSH | ACCURATE
   *   to the position of the frame at `ts`: H.264 decodes from the keyframe before it and the
   *   decoder drops the frames before it), drops every frame at or before `ts` before it is
   *   mapped (counted in `stats().resumeSkipped`; measured: 1, the frame at `ts` itself), and
   *   only then plays. A file whose pipeline cannot seek (the seeking query says no, or the seek
   *   is refused, e.g. a FIFO) plays from its start instead, with the same frames after decoding
   *   the ones before `ts` (a `warning` event says so). A seek that lands after `ts` (the first
   *   frame must be the one at `ts`) is detected and undone the same way, with a `warning`.
   *   `seq` counts this session's frames from 0, as in any session.
   * - a finite (non-live) `testPattern`: frames up to `ts` are generated and dropped.
   * - live sources (`rtsp`, `v4l2`, a live `testPattern`) and `custom` pipelines: a no-op — there
   *   is no past to resume into; they start from now.
   * - a looping `file` (`loop: true`): a no-op — it starts from its beginning (its timestamps
   *   restart at 0; the runtime's feed timeline still continues).
   * @param ts - raw ts (ns) of the last frame taken from a previous source of the same spec
   * @throws {InvalidArgumentError} when `ts` is not a finite number >= 0
   * @throws {MediaError} `Unsupported` when the source was already started or stopped
   * @example
   * ```ts
   * const next = new MediaSource({ kind: 'file', path: 'clip.mp4' });
   * next.resumeAfter(lastFrame.ts); // continues with the frame after lastFrame
   * for await (const f of next.frames()) f.release();
   * ```
   */
  resumeAfter(ts: MonotonicTs): void {
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) throw new InvalidArgumentError('ts', 'a raw timestamp (ns) >= 0', ts);
    if (this.#state !== 'idle') throw MediaError.unsupported('resumeAfter must be called before start(): create a new MediaSource to resume');
    if (!this.#resumable()) return;
    this.#resumeAfterTs = ts;
  }

  /** Whether {@link MediaSource.resumeAfter} applies: finite, non-looping sources. */
  #resumable(): boolean {
    const s = this.spec;
    return (s.kind === 'file' && !s.loop) || (s.kind === 'testPattern' && !s.live);
  }

  /** Pauses a running pipeline (frames stop; nothing is torn down). */
  pause(): void { this.#native?.pause(); }
  /** Resumes after {@link MediaSource.pause}. */
  resume(): void { this.#native?.resume(); }

  /**
   * Stops and frees every native resource (pipeline, threads, queued frames). Frames already
   * handed out stay valid until released. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#phase !== 'ended') this.#phase = 'stopped';
    this.#clearTimers();
    this.#closeSession();
    this.#finish({ kind: 'stopped' });
    this.#emit({ type: 'stopped' });
  }

  /** Queue and lifecycle counters. */
  stats(): MediaSourceStats {
    const raw = this.#native?.stats() ?? this.#lastStats ?? { queued: 0, capacity: this.#policy.queueDepth, maxQueued: 0, pushed: 0, pulled: 0, dropped: 0, eventsDropped: 0, resumeSkipped: 0 };
    return { ...raw, sessions: this.#sessions, delivered: this.#delivered };
  }

  /**
   * Frames in decode order. Each frame is the caller's: `release()` it when done. Ends at end
   * of stream or `stop()`; throws the fatal `MediaError` if the source fails for good (files:
   * any error; live sources: reconnection attempts exhausted, or at once for a failure no retry
   * can fix — `Unauthorized` credentials, a `/dev/video*` device that does not exist). An RTSP or
   * V4L2 source never ends by itself: the server ending the session is a disconnect, and it
   * reconnects. Starts the source if needed.
   * A `file` source reads local media only: a file that is an HLS/DASH/Smooth Streaming manifest,
   * an SDP description or a playlist, or that needs an element outside the file-source
   * allow-list, fails with `MediaError` `Unsupported` naming what was detected — before anything
   * is fetched.
   * @throws {MediaError} the source's fatal error
   */
  async *frames(): AsyncGenerator<NativeFrame, void, undefined> {
    this.start();
    for (;;) {
      const f = this.#pull();
      if (f) { yield f; continue; }
      if (this.#terminal) {
        if (this.#terminal.kind === 'error') throw this.#terminal.error;
        return;
      }
      await new Promise<void>((resolve) => { this.#waiter = resolve; });
    }
  }

  /** The next frame, or `undefined` at the end. Same rules as {@link MediaSource.frames}. */
  async next(): Promise<NativeFrame | undefined> {
    this.start();
    for (;;) {
      const f = this.#pull();
      if (f) return f;
      if (this.#terminal) {
        if (this.#terminal.kind === 'error') throw this.#terminal.error;
        return undefined;
      }
      await new Promise<void>((resolve) => { this.#waiter = resolve; });
    }
  }

  #pull(): NativeFrame | undefined {
    const n = this.#native;
    if (!n) return undefined;
    const raw = n.pull();
    if (!raw) {
      // A live session that ended while frames were queued: now that JS has every frame it
      // decoded, the disconnect (close, reconnect per policy) goes ahead.
      const ending = this.#ending;
      if (ending !== undefined) { this.#ending = undefined; this.#onError(ending); }
      return undefined;
    }
    this.#delivered++;
    this.#lastFrameAt = performance.now(); // the watchdog reads this; no timer work per frame
    return new NativeFrame(raw, this.feedId);
  }

  #openSession(): void {
    const b = loadBinding();
    const built = buildPipeline(this.spec, this.#opts.output ?? {}, {
      customPipelinePolicy: this.#opts.customPipelinePolicy ?? 'reject', forcePlainRtsp: this.#plainRtsp,
    });
    if (built.insecure && built.url && !this.#insecureReported) {
      this.#insecureReported = true; // once per source, not on every reconnection
      this.#emit({ type: 'insecureRtsp', redactedUrl: redactUrl(built.url) });
    }
    this.#sessions++;
    this.#pendingStart = undefined;
    this.#decoder = { name: undefined, hardware: false };
    let native: RawSource;
    try {
      native = new b.NativeSource({
        elements: built.elements, appsink: { sync: built.sync }, queue: { depth: this.#policy.queueDepth, policy: this.#policy.kind },
        loop: built.loop, onWake: () => this.#onWake(native), output: built.convert,
        ...(this.#opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: this.#opts.stopTimeoutMs } : {}),
        ...(this.#resumeAfterTs !== undefined ? { resume: { afterTs: this.#resumeAfterTs, seek: this.spec.kind === 'file' } } : {}),
      });
    } catch (e) {
      this.#fail(buildError(e));
      return;
    }
    this.#native = native;
    this.#state = 'running';
    if (this.#phase === 'idle') this.#phase = 'connecting';
    this.#armWatchdog();
    native.start();
  }

  #closeSession(): void {
    const n = this.#native;
    if (!n) return;
    this.#native = undefined;
    n.dispose();
    this.#lastStats = n.stats();
    if (this.#lastStats.abandoned === true) {
      this.#emit({ type: 'warning', message: `the pipeline did not stop within ${this.#opts.stopTimeoutMs ?? 5000} ms (an element is stuck in its state change); it was abandoned: its memory and threads stay allocated until the process exits` });
    }
  }

  #onWake(native: RawSource): void {
    if (native !== this.#native) return; // a stale session's wake-up
    for (const ev of native.pollEvents()) this.#handle(ev);
    this.#wakeWaiter();
  }

  #wakeWaiter(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #handle(ev: RawEvent): void {
    switch (ev.type) {
      case 'caps': {
        if (ev['conversion'] === undefined) {
          // An addon from before the conversion moved into it ignores `output`: frames would come
          // in whatever format the decoder gave. Refuse rather than deliver the wrong format.
          this.#fail(MediaError.unsupported('the nv native addon is older than @nv/media (it does not convert frames): rebuild it (`npx nv-native-build`) or reinstall @nv/native'));
          break;
        }
        const fpsN = Number(ev['fpsN']), fpsD = Number(ev['fpsD']);
        this.#pendingStart = { width: Number(ev['width']), height: Number(ev['height']), format: gstToNv(String(ev['format'])), fps: fpsD > 0 && fpsN > 0 ? fpsN / fpsD : undefined };
        this.#announceStart();
        break;
      }
      case 'decoder':
        this.#decoder = { name: ev['factory'] ? String(ev['factory']) : undefined, hardware: Number(ev['hardware']) === 1 };
        if (this.#opts.output?.decode === 'requireHardware' && this.#decoder.name && !this.#decoder.hardware) {
          this.#fail(MediaError.unsupported(`a hardware decoder is required but GStreamer chose ${this.#decoder.name} (software)`), false);
        }
        this.#announceStart();
        break;
      case 'error': {
        let error = mapBusError(ev, this.spec);
        if (this.#opts.output?.decode === 'requireHardware' && this.#decoder.name === undefined && !isFilePolicyRefusal(ev)) {
          // Every software decoder was skipped and no hardware decoder could take the stream.
          error = MediaError.unsupported(`no hardware decoder available for this stream (decode: requireHardware): ${error.detail ?? error.message}`);
        }
        if (this.#isLive()) this.#endLiveSession(error); else this.#onError(error);
        break;
      }
      case 'warning':
        this.#emit({ type: 'warning', message: new MediaError('DecodeFailed', { detail: String(ev['message'] ?? '') }).detail ?? '' });
        break;
      case 'eos':
        // EOS ends files, test patterns and custom fragments. For cameras it is a disconnect —
        // the RTSP server ended the session (its media ended, or it closed the session), or the
        // device stopped — so they reconnect per the policy, exactly as after a network error.
        if (this.spec.kind !== 'rtsp' && this.spec.kind !== 'v4l2') {
          this.#emit({ type: 'eos' });
          if (this.#state === 'running') this.#phase = 'ended';
          this.#clearTimers();
          this.#finish({ kind: 'eos' });
        } else {
          this.#endLiveSession(MediaError.connectionFailed(sourceLocation(this.spec), this.spec.kind === 'rtsp'
            ? 'the server ended the session (end of stream)' : 'the device stopped streaming (end of stream)'));
        }
        break;
      case 'loop':
        this.#emit({ type: 'loop' });
        break;
      case 'state':
        this.#emit({ type: 'stateChanged', from: String(ev['from']), to: String(ev['to']) });
        break;
      case 'qos':
        this.#emit({ type: 'qos', processed: Number(ev['processed']), dropped: Number(ev['dropped']) });
        break;
      case 'resume': {
        // A resumed file that could not seek straight there still delivers the right frames,
        // after decoding the ones before: say so, since it takes longer.
        const mode = String(ev['mode']);
        const after = `resume after ${Number(ev['afterTs'])} ns`;
        const why = mode === 'notSeekable' ? 'the file is not seekable' : mode === 'seekRefused' ? 'the seek was refused'
          : mode === 'noTimestamps' ? 'its frames have no timestamps to seek by' : mode === 'seekBack' ? 'the seek landed after the frame sought' : undefined;
        if (why) this.#emit({ type: 'warning', message: `${after}: ${why}; decoding from the start and skipping the frames up to it` });
        if (mode === 'seekBackFailed') {
          this.#emit({ type: 'warning', message: `${after}: the first frame came later than it and the source cannot seek back; frames right after it may be missing` });
        }
        break;
      }
    }
  }

  #announceStart(): void {
    const s = this.#pendingStart;
    if (!s) return;
    this.#pendingStart = undefined;
    this.#emit({ type: 'streamStarted', ...s, decoder: this.#decoder.name, hardware: this.#decoder.hardware });
    if (this.#state === 'running') this.#phase = 'streaming';
    if (this.#isLive()) {
      this.#attempt = 0;
      this.#everConnected = true;
      this.#emit({ type: 'connected' });
    }
  }

  #isLive(): boolean {
    return this.spec.kind === 'rtsp' || this.spec.kind === 'v4l2' || this.spec.kind === 'custom' || (this.spec.kind === 'testPattern' && this.spec.live);
  }

  /**
   * A live session ended (EOS, or a retryable error) while decoded frames still wait in the
   * native queue: they are delivered first, then {@link MediaSource.#onError} closes the
   * session. Closing at once would free frames JS has not pulled (lost work).
   */
  #endLiveSession(error: MediaError): void {
    if (this.#state !== 'running' || this.#ending !== undefined) return;
    if (!isPermanentFailure(error, this.#everConnected) && (this.#native?.stats().queued ?? 0) > 0) {
      this.#ending = error;
      return;
    }
    this.#onError(error);
  }

  #onError(error: MediaError): void {
    if (this.#state !== 'running') return;
    if (!this.#isLive()) { this.#fail(error); return; }
    // Wrong credentials, a device that does not exist: no retry can fix them, so none is made.
    if (isPermanentFailure(error, this.#everConnected)) { this.#fail(error, true); return; }
    this.#ending = undefined;
    this.#closeSession();
    this.#clearTimers();
    if (this.spec.kind === 'rtsp' && this.spec.security === 'preferTls' && !this.#everConnected && !this.#plainRtsp) {
      this.#plainRtsp = true; // TLS refused: fall back to plain RTSP (reported as insecureRtsp on the next session)
    }
    this.#attempt++;
    const giveUp = this.#reconnect.maxAttempts > 0 && this.#attempt > this.#reconnect.maxAttempts;
    // Down until a session streams again: `reconnecting` is what listeners of `disconnected` read.
    this.#state = 'reconnecting';
    this.#phase = giveUp ? 'failed' : 'reconnecting';
    this.#emit({ type: 'disconnected', error });
    if (this.#state !== 'reconnecting') return; // a listener stopped the source
    if (giveUp) {
      this.#fail(MediaError.connectionFailed(sourceLocation(this.spec),
        `gave up after ${this.#reconnect.maxAttempts} reconnection attempts; last error: ${error.message}`, error));
      return;
    }
    const delayMs = reconnectDelayMs(this.#reconnect, this.#attempt - 1);
    this.#emit({ type: 'reconnecting', attempt: this.#attempt, delayMs });
    if (this.#state !== 'reconnecting') return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === 'reconnecting') this.#openSession();
    }, delayMs);
  }

  #fail(error: MediaError, emitDisconnected = false): void {
    this.#state = 'stopped';
    this.#phase = 'failed';
    if (emitDisconnected) this.#emit({ type: 'disconnected', error });
    this.#emit({ type: 'error', error });
    this.#clearTimers();
    this.#closeSession();
    this.#finish({ kind: 'error', error });
  }

  #finish(t: Terminal): void {
    if (!this.#terminal) this.#terminal = t;
    this.#wakeWaiter();
  }

  /** (Re)starts the no-frame watchdog for a new session. */
  #armWatchdog(): void {
    this.#lastFrameAt = performance.now();
    this.#scheduleWatchdog(this.#noFrameMs);
  }

  #scheduleWatchdog(ms: number): void {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#state !== 'running') return;
      const idle = performance.now() - this.#lastFrameAt;
      // A frame arrived meanwhile, or frames wait in the queue (a slow consumer, not a silent source).
      if (idle < this.#noFrameMs) { this.#scheduleWatchdog(this.#noFrameMs - idle); return; }
      if ((this.#native?.stats().queued ?? 0) > 0) { this.#scheduleWatchdog(this.#noFrameMs); return; }
      this.#onError(MediaError.timeout(`no frame for ${this.#noFrameMs} ms`));
    }, ms);
    this.#watchdog.unref();
  }

  #clearTimers(): void {
    if (this.#watchdog) { clearTimeout(this.#watchdog); this.#watchdog = undefined; }
    if (this.#retryTimer) { clearTimeout(this.#retryTimer); this.#retryTimer = undefined; }
  }

  #emit(ev: MediaEvent): void {
    const set = this.#listeners.get(ev.type);
    if (!set) return;
    for (const l of [...set]) {
      try { l(ev); } catch (e) {
        // A listener's exception must not break the source; surface it asynchronously.
        queueMicrotask(() => { throw e; });
      }
    }
  }
}

/**
 * `block` backpressure on an RTSP source is refused. A camera cannot be paused: blocking the
 * pipeline stalls rtspsrc's receive loop behind the decoder, and with GStreamer 1.22 an RTSP
 * session that ends in that state deadlocks rtspsrc, so that stopping the pipeline never
 * returns (reproduced with plain gst-launch). Live sources drop instead (`dropOldest`, with a
 * deeper queue to ride out bursts).
 * @returns the {@link ConfigError} to throw
 */
export function rtspBlockRefused(): ConfigError {
  return ConfigError.invalidPolicy("backpressure 'block' cannot be used with an RTSP source (a camera cannot be paused; "
    + "blocking stalls the RTSP client and can deadlock it at the end of a session): use 'dropOldest' or 'dropNewest', "
    + 'with a larger queueDepth to absorb bursts', 'backpressure.kind');
}

function gstToNv(f: string): string {
  return ({ RGB: 'RGB8', BGR: 'BGR8', RGBA: 'RGBA8', BGRA: 'BGRA8', NV12: 'NV12', I420: 'I420', GRAY8: 'GRAY8' } as Record<string, string>)[f] ?? f;
}

/** The addon's build-failure codes (native_source.cc `BuildError`) as nv's causes. */
const BUILD_FAILURES: Readonly<Record<string, MediaBuildFailure>> = {
  ElementMissing: 'elementMissing', ParseFailed: 'parseFailed', UnknownProperty: 'unknownProperty', InvalidCaps: 'invalidCaps', LinkFailed: 'linkFailed',
};

/** A pipeline that could not be built, typed by cause (anything uncoded stays `Unsupported`). */
function buildError(e: unknown): MediaError {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const failure = typeof code === 'string' ? BUILD_FAILURES[code] : undefined;
  const detail = `pipeline could not be built: ${message}`;
  return failure ? MediaError.pipelineBuildFailed(failure, detail, e) : MediaError.unsupported(detail);
}

/**
 * Native diagnostics across the process: live/leaked/created frames, live and abandoned sources,
 * open JPEG encoders (`JpegEncoder`s not yet closed) and the GStreamer version.
 */
export function mediaDiagnostics(): { liveFrames: number; leakedFrames: number; createdFrames: number; liveSources: number; abandonedSources: number; liveJpegEncoders: number; gstreamer: string } {
  const b = loadBinding();
  const c = b.counters();
  return { ...c, abandonedSources: c.abandonedSources ?? 0, liveJpegEncoders: c.liveJpegEncoders ?? 0, gstreamer: b.gstVersion() };
}
