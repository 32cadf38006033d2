/**
 * The job's own stages: a frame limit at the front and the annotated-video writer at the end
 * (a stage, not a sink, so an offline job's encoder paces the pipeline instead of dropping
 * outputs).
 */
import { BBox, type TypedMetadata } from '@nv/core';
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
 */
export class AnnotateStage implements Stage {
  readonly id = 'annotate';
  readonly category = 'sink' as const;
  #writer: VideoWriter | undefined;
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
      this.#writer = VideoWriter.open({ path: this.path, width: f.width, height: f.height, format: f.format, fps: this.fps });
    }
    const a = ctx.artifacts;
    const name = (c: number) => this.classNames?.[c] ?? (a.tracks.length || a.detections.length ? `c${c}` : '');
    const boxes = a.tracks.length
      ? a.tracks.filter((t) => t.state === 'confirmed' || t.state === 'tentative').map((t) => ({
          bbox: clamp(t.current.bbox), color: PALETTE[t.id % PALETTE.length]!, label: `#${t.id} ${name(t.classId)}${textOf(t.metadata)}`.trim(),
        }))
      : a.detections.map((d) => ({ bbox: clamp(d.bbox), color: PALETTE[d.classId % PALETTE.length]!, label: `${name(d.classId)} ${d.confidence.toFixed(2)}${textOf(d.metadata)}`.trim() }));
    await this.#writer.write(f, boxes, f.ts);
    this.#frames++;
  }

  async onStop(): Promise<void> {
    const w = this.#writer;
    this.#writer = undefined;
    await w?.close();
  }
}

function clamp(b: BBox): BBox {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return BBox.of(c(b.xMin), c(b.yMin), Math.max(c(b.xMin), c(b.xMax)), Math.max(c(b.yMin), c(b.yMax)));
}
