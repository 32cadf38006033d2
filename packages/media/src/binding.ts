/**
 * The only place the native addon is loaded. Declares exactly what the `.node` exports and
 * turns every load failure into one actionable error.
 *
 * @packageDocumentation
 * @internal
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MediaError } from '@nv/core';

/** One element of a pipeline, created with `gst_element_factory_make` and literal property values. */
export interface ElementSpec {
  readonly factory: string;
  /** Property values as strings, set with `gst_util_set_object_arg` (never parsed as launch syntax). */
  readonly props?: Readonly<Record<string, string>>;
  /** For `decodebin`: steer decoder selection (`cpuOnly` skips hardware decoders, `requireHardware` skips software ones, `preferHardware` tries hardware first). */
  readonly decodePreference?: 'auto' | 'cpuOnly' | 'preferHardware' | 'requireHardware';
}
/** The explicit `custom` escape hatch: a trusted launch fragment. */
export interface LaunchSpec {
  readonly launch: string;
}

/** A plane as the addon hands it over: an external ArrayBuffer over mapped GStreamer memory. */
export interface RawPlane {
  readonly buffer: ArrayBuffer;
  readonly stride: number;
  readonly rows: number;
  readonly rowBytes: number;
}

/** The native frame handle. */
export interface RawFrameHandle {
  /** Detaches every plane buffer and returns the GStreamer buffer. Idempotent. */
  release(): void;
  isReleased(): boolean;
  /** Test hook: the mapped plane address. */
  __testMappedAddress?(plane: number): bigint;
}

/** What `NativeSource.pull()` returns. */
export interface RawFrame {
  readonly handle: RawFrameHandle;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly seq: number;
  readonly ts: number;
  readonly wallTs: number;
  readonly duration: number;
  readonly planes: readonly RawPlane[];
}

/** A bus or streaming event from the addon. */
export interface RawEvent {
  readonly type: 'caps' | 'decoder' | 'error' | 'warning' | 'eos' | 'loop' | 'state' | 'qos';
  readonly [key: string]: string | number;
}

/** Queue counters of a native source. */
export interface RawStats {
  readonly queued: number;
  readonly capacity: number;
  readonly maxQueued: number;
  readonly pushed: number;
  readonly pulled: number;
  readonly dropped: number;
  readonly eventsDropped: number;
}

/** Constructor options of the native source. */
export interface RawSourceOptions {
  readonly elements: readonly (ElementSpec | LaunchSpec)[];
  readonly appsink: { readonly sync: boolean };
  readonly queue: { readonly depth: number; readonly policy: 'dropOldest' | 'dropNewest' | 'block' };
  readonly loop: boolean;
  readonly onWake: () => void;
}

/** The native pipeline object. */
export interface RawSource {
  start(): boolean;
  pause(): void;
  resume(): void;
  stop(): void;
  dispose(): void;
  pull(): RawFrame | null;
  pollEvents(): RawEvent[];
  stats(): RawStats;
}

/** Options of the native encoder (see native/src/native_encoder.h). */
export interface RawEncoderOptions {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** GStreamer format name (I420, NV12, RGB, BGR, RGBA, GRAY8). */
  readonly format: string;
  readonly fpsN: number;
  readonly fpsD: number;
  readonly bitrateKbps: number;
  /** x264 speed-preset enum value (1 ultrafast … 9 placebo). */
  readonly speedPreset: number;
  readonly fontPx: number;
}

/** One box to draw, in pixels, colour components in [0, 1]. */
export interface RawAnnotation {
  readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number;
  readonly r: number; readonly g: number; readonly b: number;
  readonly lineWidth: number;
  readonly label?: string;
}

/** A host frame copied into the encoder. */
export interface RawHostFrame {
  readonly data: Uint8Array;
  readonly offsets: readonly number[];
  readonly strides: readonly number[];
}

/** `NativeEncoder`: frames + annotations → H.264 MP4. */
export interface RawEncoder {
  push(frame: RawFrameHandle | RawHostFrame, ptsNs: number, durationNs: number, annotations?: readonly RawAnnotation[]): Promise<void>;
  finish(): Promise<void>;
  abort(): void;
}

/** Everything the addon exports. */
export interface Binding {
  readonly NativeSource: new (options: RawSourceOptions) => RawSource;
  readonly NativeEncoder: new (options: RawEncoderOptions) => RawEncoder;
  gstVersion(): string;
  counters(): { liveFrames: number; leakedFrames: number; createdFrames: number; liveSources: number };
  hasElement(factory: string): boolean;
  discover(uri: string, timeoutMs: number): Promise<{
    durationNs: number | null; seekable: boolean; live: boolean; audioStreams: number;
    video: { codec: string; width: number; height: number; fpsN: number; fpsD: number; bitrate: number } | null;
  }>;
  __testArrayBufferAddress?(buffer: ArrayBuffer): bigint;
}

let cached: Binding | undefined;

/**
 * Loads the addon once.
 * @throws {MediaError} `Unsupported`, listing every path tried and how to build the addon
 */
export function loadBinding(): Binding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  const candidates: string[] = [];
  try {
    candidates.push(join(dirname(require.resolve('@nv/native/package.json')), 'build', 'Release', 'nv_native.node'));
  } catch (e) {
    tried.push(`@nv/native: ${(e as Error).message}`);
  }
  if (process.env['NV_NATIVE_PATH']) candidates.unshift(process.env['NV_NATIVE_PATH']);
  for (const path of candidates) {
    try {
      cached = require(path) as Binding;
      return cached;
    } catch (e) {
      tried.push(`${path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw MediaError.unsupported(
    `the nv native addon could not be loaded on ${process.platform}-${process.arch} (Node ${process.version}); tried: ${tried.join('; ')}. ` +
    'It needs GStreamer >= 1.16 with development headers; build it with `npm test` (which sets everything up) or `pnpm --filter @nv/native build`.',
  );
}
