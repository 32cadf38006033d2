/**
 * YOLO-family output heads: which one a model has, and how to read candidate boxes from it.
 *
 * | head | channels per box | box | score |
 * |---|---|---|---|
 * | `yolov5`  | `5 + C`: cx, cy, w, h, objectness, C class scores | centre/size | objectness × best class score (objectness alone must pass the threshold too, as in YOLOv5) |
 * | `yolov8`  | `4 + C`: cx, cy, w, h, C class scores (v8, v9, v11, …) | centre/size | best class score |
 * | `end2end` | `6`: x1, y1, x2, y2, score, class (NMS-free: v10, YOLO26, `nms=True` exports) | corners | score |
 *
 * Each comes as `[batch, channels, boxes]` (`channelsFirst`, the Ultralytics default) or
 * `[batch, boxes, channels]` (`channelsLast`). Coordinates are in input-canvas pixels.
 *
 * @packageDocumentation
 */

/** A supported output head (see the module table). */
export type DetectionHead = 'yolov5' | 'yolov8' | 'end2end';

/** Where the per-box channels are: `[B, channels, N]` or `[B, N, channels]`. */
export type OutputLayout = 'channelsFirst' | 'channelsLast';

/** A head and layout fixed for one model output. */
export interface ResolvedHead {
  /** The head. */
  readonly head: DetectionHead;
  /** The layout. */
  readonly layout: OutputLayout;
  /** Channels per box (`4 + C`, `5 + C` or 6). */
  readonly channels: number;
  /** Number of classes; `undefined` for an end-to-end head when nothing says. */
  readonly numClasses: number | undefined;
}

/** What {@link resolveHead} decided. */
export type HeadResolution =
  | { readonly status: 'ok'; readonly head: ResolvedHead }
  /** The channel dimension is symbolic: decide from the first real output. */
  | { readonly status: 'deferred' }
  | { readonly status: 'error'; readonly detail: string };

/** What the caller asks for: `auto` or a fixed head/layout, and the class count if known. */
export interface HeadRequest {
  /** `auto` or a fixed head. */
  readonly head: DetectionHead | 'auto';
  /** `auto` or a fixed layout. */
  readonly layout: OutputLayout | 'auto';
  /** Number of classes, when known (option, class names, or model metadata). */
  readonly numClasses: number | undefined;
}

const HEADS: readonly DetectionHead[] = ['end2end', 'yolov8', 'yolov5'];
const LAYOUTS: readonly OutputLayout[] = ['channelsFirst', 'channelsLast'];

/**
 * Decides the head and layout of an output from its shape.
 *
 * With `numClasses` known, a head fits when the channel dimension is exactly `4 + C`
 * (yolov8), `5 + C` (yolov5) or 6 (end2end). Without it, `auto` cannot tell yolov5 from
 * yolov8 and fails; a fixed head takes the smaller dimension as the channels. More than one
 * fit is an error that asks for an explicit `head`/`layout`.
 *
 * @param shape - the output shape; symbolic dimensions as strings (or negative numbers)
 * @param req - requested head/layout and known class count
 * @returns the resolution, `deferred` when the channel dimension is not known yet
 * @example
 * ```ts
 * resolveHead([1, 84, 8400], { head: 'auto', layout: 'auto', numClasses: 80 })
 * // { status: 'ok', head: { head: 'yolov8', layout: 'channelsFirst', channels: 84, numClasses: 80 } }
 * ```
 */
export function resolveHead(shape: readonly (number | string)[], req: HeadRequest): HeadResolution {
  const fmt = `[${shape.join(', ')}]`;
  if (shape.length !== 3) {
    return { status: 'error', detail: `output shape ${fmt} has rank ${shape.length}; expected rank 3: [batch, 4+C(+1) or 6, boxes] or [batch, boxes, 4+C(+1) or 6]` };
  }
  const dim = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d >= 0 ? d : undefined);
  const a = dim(shape[1]), b = dim(shape[2]);
  if (a === undefined && b === undefined) return { status: 'deferred' };
  const C = req.numClasses;
  const heads = req.head === 'auto' ? HEADS : [req.head];
  const layouts = req.layout === 'auto' ? LAYOUTS : [req.layout];
  const fits: ResolvedHead[] = [];
  for (const head of heads) {
    for (const layout of layouts) {
      const ch = layout === 'channelsFirst' ? a : b;
      if (ch === undefined) continue;
      if (head === 'end2end') {
        if (ch === 6) fits.push({ head, layout, channels: ch, numClasses: C });
      } else {
        const extra = head === 'yolov5' ? 5 : 4;
        const nc = C ?? ch - extra;
        if (nc >= 1 && ch === extra + nc) fits.push({ head, layout, channels: ch, numClasses: nc });
      }
    }
  }
  const expected = `expected ${C === undefined ? 'for C classes' : `for ${C} classes`}: yolov8 ${C === undefined ? '4+C' : 4 + C} channels, yolov5 ${C === undefined ? '5+C' : 5 + C}, end2end 6`;
  if (fits.length === 0) {
    return { status: 'error', detail: `output shape ${fmt} fits no supported head${req.head === 'auto' ? '' : ` '${req.head}'`}${req.layout === 'auto' ? '' : ` with layout '${req.layout}'`} (${expected})` };
  }
  if (fits.length === 1) return { status: 'ok', head: fits[0]! };
  // Without a class count, a fixed head takes the smaller dimension as its channels.
  if (C === undefined && req.head !== 'auto' && a !== undefined && b !== undefined && a !== b) {
    const layout: OutputLayout = a < b ? 'channelsFirst' : 'channelsLast';
    const pick = fits.find((f) => f.layout === layout);
    if (pick) return { status: 'ok', head: pick };
  }
  const list = fits.map((f) => `${f.head}/${f.layout}${f.numClasses === undefined ? '' : ` (${f.numClasses} classes)`}`).join(', ');
  const hint = C === undefined ? 'set numClasses or classNames (or head and layout)' : 'set head and/or layout';
  return { status: 'error', detail: `output shape ${fmt} is ambiguous: it fits ${list}; ${hint}` };
}

/**
 * Candidate boxes of one image, before NMS: corners in canvas pixels, score, class. Grows
 * as needed and is reused across frames.
 * @internal
 */
export class Candidates {
  /** Valid entries. */
  count = 0;
  /** `4 × capacity` corners x1, y1, x2, y2. */
  boxes = new Float32Array(4 * 256);
  /** Scores. */
  scores = new Float32Array(256);
  /** Class ids. */
  classes = new Int32Array(256);
  /** Best score per box (scratch for channels-first decoding). */
  best = new Float32Array(0);
  /** Best class per box (scratch). */
  bestClass = new Int32Array(0);

  /** Empties the set. */
  reset(): void { this.count = 0; }

  /** Appends one candidate. */
  push(x1: number, y1: number, x2: number, y2: number, score: number, cls: number): void {
    if (this.count === this.scores.length) this.#grow();
    const i = this.count++, k = 4 * i;
    this.boxes[k] = x1; this.boxes[k + 1] = y1; this.boxes[k + 2] = x2; this.boxes[k + 3] = y2;
    this.scores[i] = score;
    this.classes[i] = cls;
  }

  /** Keeps, in order, the candidates whose corners pass `keep`. */
  retain(keep: (x1: number, y1: number, x2: number, y2: number) => boolean): void {
    const b = this.boxes, s = this.scores, c = this.classes;
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const k = 4 * i;
      if (!keep(b[k]!, b[k + 1]!, b[k + 2]!, b[k + 3]!)) continue;
      if (n !== i) { b.copyWithin(4 * n, k, k + 4); s[n] = s[i]!; c[n] = c[i]!; }
      n++;
    }
    this.count = n;
  }

  /** Scratch arrays of at least `n` entries. */
  scratch(n: number): void {
    if (this.best.length < n) { this.best = new Float32Array(n); this.bestClass = new Int32Array(n); }
  }

  #grow(): void {
    const n = this.scores.length * 2;
    const b = new Float32Array(4 * n); b.set(this.boxes); this.boxes = b;
    const s = new Float32Array(n); s.set(this.scores); this.scores = s;
    const c = new Int32Array(n); c.set(this.classes); this.classes = c;
  }
}

/**
 * Reads the candidates of one image from a head's output.
 *
 * @param data - the output tensor data
 * @param base - index of this image's first value (`b × channels × boxes`)
 * @param head - the resolved head
 * @param boxes - number of boxes N in this output
 * @param scoreThreshold - candidates need a score ≥ this
 * @param out - receives the candidates (reset first)
 * @internal
 */
export function decodeHead(data: Float32Array, base: number, head: ResolvedHead, boxes: number, scoreThreshold: number, out: Candidates): void {
  out.reset();
  const ch = head.channels;
  if (head.head === 'end2end') {
    const first = head.layout === 'channelsFirst';
    const cs = first ? boxes : 1, bs = first ? 1 : ch;
    for (let n = 0; n < boxes; n++) {
      const o = base + n * bs;
      const score = data[o + 4 * cs]!;
      if (!(score >= scoreThreshold)) continue;
      const cls = Math.round(data[o + 5 * cs]!);
      if (!(cls >= 0) || !Number.isSafeInteger(cls)) continue;
      out.push(data[o]!, data[o + cs]!, data[o + 2 * cs]!, data[o + 3 * cs]!, score, cls);
    }
    return;
  }
  const v5 = head.head === 'yolov5';
  const first0 = v5 ? 5 : 4;
  const nc = ch - first0;
  if (head.layout === 'channelsLast') {
    for (let n = 0; n < boxes; n++) {
      const o = base + n * ch;
      const obj = v5 ? data[o + 4]! : 1;
      if (v5 && !(obj >= scoreThreshold)) continue; // class scores ≤ 1 cannot lift it over
      let best = -Infinity, bestC = 0;
      for (let c = 0, k = o + first0; c < nc; c++, k++) { const s = data[k]!; if (s > best) { best = s; bestC = c; } }
      const score = best * obj;
      if (!(score >= scoreThreshold)) continue;
      pushCenter(out, data[o]!, data[o + 1]!, data[o + 2]!, data[o + 3]!, score, bestC);
    }
    return;
  }
  // Channels first: walk each class plane in memory order, keeping the best per box.
  out.scratch(boxes);
  const best = out.best, bestClass = out.bestClass;
  best.fill(-Infinity, 0, boxes);
  bestClass.fill(0, 0, boxes);
  for (let c = 0; c < nc; c++) {
    const p = base + (first0 + c) * boxes;
    for (let n = 0; n < boxes; n++) {
      const s = data[p + n]!;
      if (s > best[n]!) { best[n] = s; bestClass[n] = c; }
    }
  }
  for (let n = 0; n < boxes; n++) {
    const obj = v5 ? data[base + 4 * boxes + n]! : 1;
    if (v5 && !(obj >= scoreThreshold)) continue;
    const score = best[n]! * obj;
    if (!(score >= scoreThreshold)) continue;
    const o = base + n;
    pushCenter(out, data[o]!, data[o + boxes]!, data[o + 2 * boxes]!, data[o + 3 * boxes]!, score, bestClass[n]!);
  }
}

function pushCenter(out: Candidates, cx: number, cy: number, w: number, h: number, score: number, cls: number): void {
  const hw = w / 2, hh = h / 2;
  out.push(cx - hw, cy - hh, cx + hw, cy + hh, score, cls);
}
