/**
 * The job's own stages: a frame limit at the front and the annotated-video writer at the end
 * (a stage, not a sink, so an offline job's encoder paces the pipeline instead of dropping
 * outputs).
 */
import { BBox, type TypedMetadata } from '@nv/core';
import { convertFrame, createOwnedFrame, layoutByteLength, planeLayout, type FrameEnvelope, type PixelFormat } from '@nv/frame';
import { VideoWriter } from '@nv/media';
import { TEXT } from '@nv/ocr';
import type { Stage, StageContext } from '@nv/perception';

/** Stops its feed after `max` frames (the frame that reaches the limit is still processed). */
export class FrameLimitStage implements Stage {
  readonly id = 'frame-limit';
  readonly category = 'custom' as const;
  #count = 0;
  /** Set by the job once the feed exists. */
  onLimit: (() => void) | undefined;
  constructor(readonly max: number) {}
  process(): void {
    this.#count++;
    if (this.#count === this.max) this.onLimit?.();
  }
}

const PALETTE: readonly (readonly [number, number, number])[] = [
  [0, 220, 0], [255, 170, 0], [0, 170, 255], [255, 60, 160], [160, 110, 255], [0, 230, 200], [255, 230, 0], [255, 90, 60],
];

function textOf(m: TypedMetadata): string {
  const t = m.get(TEXT);
  return t && t.text ? ` ${t.text} ${t.confidence.toFixed(2)}` : '';
}

/**
 * Draws tracks (or, without a tracker, detections) with id, class and recognized text, and
 * encodes the frames to an MP4. The writer opens on the first frame (its size and format).
 * A live source whose stream changes size or format mid-run (a camera that comes back from a
 * reconnect at another resolution) keeps writing the same file: later frames are scaled
 * (nearest neighbour; boxes are normalized, so they stay in place) and converted to the
 * first frame's size and format.
 */
export class AnnotateStage implements Stage {
  readonly id = 'annotate';
  readonly category = 'sink' as const;
  #writer: VideoWriter | undefined;
  /** The size and format of the video (the first frame's). */
  #shape: { readonly width: number; readonly height: number; readonly format: PixelFormat } | undefined;
  #frames = 0;
  #opened = false;
  constructor(readonly path: string, readonly fps: number, readonly classNames?: readonly string[]) {}

  /** Frames written. */
  get framesWritten(): number { return this.#frames; }
  /** Whether the encoder was opened (the file created), even if no frame reached it. */
  get opened(): boolean { return this.#opened; }

  async process(ctx: StageContext): Promise<void> {
    const f = ctx.frame;
    if (!this.#writer) {
      this.#opened = true;
      this.#shape = { width: f.width, height: f.height, format: f.format };
      this.#writer = VideoWriter.open({ path: this.path, ...this.#shape, fps: this.fps });
    }
    const w = this.#writer;
    const v = this.#shape!;
    const fit = f.width === v.width && f.height === v.height && f.format === v.format ? undefined : fitFrame(f, v.width, v.height, v.format);
    const a = ctx.artifacts;
    const name = (c: number) => this.classNames?.[c] ?? (a.tracks.length || a.detections.length ? `c${c}` : '');
    const boxes = a.tracks.length
      ? a.tracks.filter((t) => t.state === 'confirmed' || t.state === 'tentative').map((t) => ({
          bbox: clamp(t.current.bbox), color: PALETTE[t.id % PALETTE.length]!, label: `#${t.id} ${name(t.classId)}${textOf(t.metadata)}`.trim(),
        }))
      : a.detections.map((d) => ({ bbox: clamp(d.bbox), color: PALETTE[d.classId % PALETTE.length]!, label: `${name(d.classId)} ${d.confidence.toFixed(2)}${textOf(d.metadata)}`.trim() }));
    try {
      await w.write(fit ?? f, boxes, f.ts);
    } finally {
      fit?.release();
    }
    this.#frames++;
  }

  async onStop(): Promise<void> {
    const w = this.#writer;
    this.#writer = undefined;
    await w?.close();
  }
}

/**
 * A copy of `f` at `width` × `height` in `format` (converted, then scaled nearest-neighbour
 * plane by plane), for a frame that differs from that in size or format; the caller releases it.
 */
function fitFrame(f: FrameEnvelope, width: number, height: number, format: PixelFormat): FrameEnvelope {
  const converted = f.format === format ? undefined : convertFrame(f, format);
  const src = converted ?? f;
  if (converted && src.width === width && src.height === height) return converted;
  try {
    const layout = planeLayout(format, width, height);
    const data = new Uint8Array(layoutByteLength(layout));
    layout.forEach((dp, i) => {
      const sp = src.planes[i]!;
      const from = src.plane(i);
      const bytes = dp.rowBytes / dp.width; // per sample: 1 (Y, U, V, gray), 2 (NV12 UV), 3 (RGB), 4 (RGBA)
      const xs = new Int32Array(dp.width);
      for (let x = 0; x < dp.width; x++) xs[x] = Math.min(sp.width - 1, Math.floor(((x + 0.5) * sp.width) / dp.width)) * bytes;
      for (let y = 0; y < dp.height; y++) {
        const row = Math.min(sp.height - 1, Math.floor(((y + 0.5) * sp.height) / dp.height)) * sp.stride;
        let o = dp.offset + y * dp.stride;
        for (let x = 0; x < dp.width; x++) for (let b = 0; b < bytes; b++) data[o++] = from[row + xs[x]! + b]!;
      }
    });
    return createOwnedFrame({ feedId: f.feedId, seq: f.seq, ts: f.ts, wallTs: f.wallTs, width, height, format, data });
  } finally {
    converted?.release();
  }
}

function clamp(b: BBox): BBox {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return BBox.of(c(b.xMin), c(b.yMin), Math.max(c(b.xMin), c(b.xMax)), Math.max(c(b.yMin), c(b.yMax)));
}
