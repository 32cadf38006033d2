/**
 * DB (Differentiable Binarization) post-processing: from the text probability map of a DB
 * detector (PaddleOCR's `DBPostProcess`) to scored, unclipped text quadrilaterals.
 *
 * Steps: binarize the map at `threshold`; find 8-connected components of the text pixels;
 * for each, take the minimum-area rectangle around its pixels (convex hull + rotating
 * calipers); drop it when its short side is below `minSize` or its score — the mean
 * probability of the pixels inside the rectangle — is below `boxThreshold`; grow it by the
 * "unclip" offset `d = area × unclipRatio / perimeter` on every side (DB trains on text
 * regions shrunk by that rule); drop it when its grown short side is below `minSize + 2`.
 *
 * Coordinates are in map pixels, continuous: pixel `(i, j)` covers `[i, i+1) × [j, j+1)`.
 */
import { InvalidArgumentError } from '@nv/core';

/** A point in pixel coordinates. */
export interface PixelPoint {
  /** Horizontal coordinate in pixels. */
  readonly x: number;
  /** Vertical coordinate in pixels. */
  readonly y: number;
}

/** Four corners: top-left, top-right, bottom-right, bottom-left (PaddleOCR's order). */
export type Quad = readonly [PixelPoint, PixelPoint, PixelPoint, PixelPoint];

/** A rotated rectangle. */
export interface RotatedRect {
  /** Centre. */
  readonly center: PixelPoint;
  /** Side length along `angle`. */
  readonly width: number;
  /** Side length perpendicular to `angle`. */
  readonly height: number;
  /** Direction of the `width` side, radians. */
  readonly angle: number;
}

/** One text region found by {@link dbPostProcess}. */
export interface DbBox {
  /** The grown (unclipped) region: the text's extent. */
  readonly quad: Quad;
  /** The minimum-area rectangle of the component before growing. */
  readonly core: Quad;
  /** Mean probability inside `core`, in [0, 1]. */
  readonly score: number;
}

/** Options of {@link dbPostProcess}; defaults are PaddleOCR's. */
export interface DbOptions {
  /** Pixels with probability above this are text (default 0.3). */
  readonly threshold?: number;
  /** Regions scoring below this are dropped (default 0.6). */
  readonly boxThreshold?: number;
  /** Growth factor of the unclip step (default 1.5). */
  readonly unclipRatio?: number;
  /** Regions whose short side is below this many pixels are dropped (default 3). */
  readonly minSize?: number;
  /** At most this many components are considered, in scan order (default 1000). */
  readonly maxCandidates?: number;
}

/** Default {@link DbOptions}. */
export const DEFAULT_DB_OPTIONS: Readonly<Required<DbOptions>> = Object.freeze({
  threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSize: 3, maxCandidates: 1000,
});

function cross(o: PixelPoint, a: PixelPoint, b: PixelPoint): number {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/**
 * Convex hull (Andrew's monotone chain), counter-clockwise in y-down axes order, without
 * collinear points.
 * @param points - at least one point
 * @returns the hull's vertices
 */
export function convexHull(points: readonly PixelPoint[]): PixelPoint[] {
  const p = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (p.length <= 2) return p;
  const lower: PixelPoint[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: PixelPoint[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * The minimum-area enclosing rectangle of a point set (rotating calipers over its hull).
 * @param points - at least one point
 * @returns the rectangle; `angle` in [0, π/2)
 * @throws {InvalidArgumentError} on an empty set
 */
export function minAreaRect(points: readonly PixelPoint[]): RotatedRect {
  if (points.length === 0) throw new InvalidArgumentError('points', 'at least one point', '[]');
  const hull = convexHull(points);
  if (hull.length === 1) return { center: { x: hull[0]!.x, y: hull[0]!.y }, width: 0, height: 0, angle: 0 };
  let best: RotatedRect | undefined;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!, b = hull[(i + 1) % hull.length]!;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len === 0) continue;
    const ux = (b.x - a.x) / len, uy = (b.y - a.y) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const q of hull) {
      const u = q.x * ux + q.y * uy;
      const v = -q.x * uy + q.y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
      let angle = Math.atan2(uy, ux);
      let w = maxU - minU, h = maxV - minV;
      // Normalize the angle to [0, π/2), swapping sides when the direction turns by 90°.
      while (angle < 0) angle += Math.PI;
      while (angle >= Math.PI) angle -= Math.PI;
      if (angle >= Math.PI / 2) { angle -= Math.PI / 2; [w, h] = [h, w]; }
      best = { center: { x: cu * ux - cv * uy, y: cu * uy + cv * ux }, width: w, height: h, angle };
    }
  }
  return best!;
}

/**
 * The corners of a rotated rectangle, ordered as PaddleOCR's `get_mini_boxes` does: of the two
 * left-most corners the upper is top-left and the lower bottom-left; of the two right-most the
 * upper is top-right and the lower bottom-right.
 * @param r - the rectangle
 * @returns `[tl, tr, br, bl]`
 */
export function rectCorners(r: RotatedRect): Quad {
  const ux = Math.cos(r.angle), uy = Math.sin(r.angle);
  const hw = r.width / 2, hh = r.height / 2;
  const pts = [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]].map(([a, b]) => ({
    x: r.center.x + a! * ux - b! * uy,
    y: r.center.y + a! * uy + b! * ux,
  })).sort((p, q) => p.x - q.x || p.y - q.y);
  const [l0, l1, r0, r1] = pts as [PixelPoint, PixelPoint, PixelPoint, PixelPoint];
  const [tl, bl] = l0.y <= l1.y ? [l0, l1] : [l1, l0];
  const [tr, br] = r0.y <= r1.y ? [r0, r1] : [r1, r0];
  return [tl, tr, br, bl];
}

/**
 * Grows a rectangle by DB's unclip rule: every side moves out by
 * `d = area × ratio / perimeter` (the offset pyclipper applies in PaddleOCR, whose
 * minimum-area rectangle is exactly this one).
 * @param r - the rectangle
 * @param ratio - unclip ratio
 * @returns the grown rectangle (same centre and angle)
 */
export function unclipRect(r: RotatedRect, ratio: number): RotatedRect {
  const perimeter = 2 * (r.width + r.height);
  const d = perimeter > 0 ? (r.width * r.height * ratio) / perimeter : 0;
  return { center: r.center, width: r.width + 2 * d, height: r.height + 2 * d, angle: r.angle };
}

function checkOpt(name: string, v: number, min: number, max: number): number {
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw new InvalidArgumentError(`db.${name}`, `a number in [${min}, ${max}]`, v);
  return v;
}

/**
 * Resolves DB options against {@link DEFAULT_DB_OPTIONS}.
 * @throws {InvalidArgumentError} naming the first out-of-range option
 */
export function resolveDbOptions(opts: DbOptions = {}): Required<DbOptions> {
  const o = { ...DEFAULT_DB_OPTIONS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<DbOptions>;
  checkOpt('threshold', o.threshold, 0, 1);
  checkOpt('boxThreshold', o.boxThreshold, 0, 1);
  checkOpt('unclipRatio', o.unclipRatio, 0, 10);
  checkOpt('minSize', o.minSize, 0, 1e6);
  if (!Number.isInteger(o.maxCandidates) || o.maxCandidates < 1) throw new InvalidArgumentError('db.maxCandidates', 'a positive integer', o.maxCandidates);
  return o;
}

/**
 * DB post-processing of one probability map.
 *
 * @param prob - row-major probabilities, `width × height` values in [0, 1]
 * @param width - map width
 * @param height - map height
 * @param opts - thresholds (PaddleOCR defaults)
 * @returns the text regions, in scan order of their first pixel
 * @throws {InvalidArgumentError} on a size mismatch or bad options
 * @example
 * ```ts
 * const boxes = dbPostProcess(output.data as Float32Array, 960, 544);
 * boxes[0]?.quad // [tl, tr, br, bl] in map pixels
 * ```
 */
export function dbPostProcess(prob: ArrayLike<number>, width: number, height: number, opts: DbOptions = {}): DbBox[] {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new InvalidArgumentError('db map size', 'positive integers', `${width}x${height}`);
  }
  if (prob.length < width * height) throw new InvalidArgumentError('db prob', `at least ${width * height} values`, prob.length);
  const o = resolveDbOptions(opts);
  const n = width * height;
  // 0 = background, 1 = unvisited text, 2 = visited
  const state = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (prob[i]! > o.threshold) state[i] = 1;
  const stack = new Int32Array(n);
  const pixels = new Int32Array(n);
  const out: DbBox[] = [];
  let candidates = 0;
  for (let start = 0; start < n && candidates < o.maxCandidates; start++) {
    if (state[start] !== 1) continue;
    // Flood fill one 8-connected component.
    let sp = 0, count = 0;
    stack[sp++] = start;
    state[start] = 2;
    let y0 = height, y1 = -1;
    while (sp > 0) {
      const i = stack[--sp]!;
      pixels[count++] = i;
      const x = i % width, y = (i - x) / width;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (state[j] === 1) { state[j] = 2; stack[sp++] = j; }
        }
      }
    }
    candidates++;
    // Outline: each row's left-most and right-most pixel edges.
    const rows = y1 - y0 + 1;
    const rowMin = new Int32Array(rows).fill(width), rowMax = new Int32Array(rows).fill(-1);
    for (let k = 0; k < count; k++) {
      const i = pixels[k]!;
      const x = i % width, r = (i - x) / width - y0;
      if (x < rowMin[r]!) rowMin[r] = x;
      if (x > rowMax[r]!) rowMax[r] = x;
    }
    const pts: PixelPoint[] = [];
    for (let r = 0; r < rows; r++) {
      if (rowMax[r]! < 0) continue;
      const y = y0 + r;
      pts.push({ x: rowMin[r]!, y }, { x: rowMin[r]!, y: y + 1 }, { x: rowMax[r]! + 1, y }, { x: rowMax[r]! + 1, y: y + 1 });
    }
    const rect = minAreaRect(pts);
    if (Math.min(rect.width, rect.height) < o.minSize) continue;
    const core = rectCorners(rect);
    const score = meanInside(prob, width, height, core);
    if (score < o.boxThreshold) continue;
    const grown = unclipRect(rect, o.unclipRatio);
    if (Math.min(grown.width, grown.height) < o.minSize + 2) continue;
    out.push({ quad: rectCorners(grown), core, score });
  }
  return out;
}

/** Mean of `prob` over pixels whose centre lies inside the convex quad. */
function meanInside(prob: ArrayLike<number>, width: number, height: number, q: Quad): number {
  let xMin = Infinity, yMin = Infinity, xMax = -Infinity, yMax = -Infinity;
  for (const p of q) {
    xMin = Math.min(xMin, p.x); xMax = Math.max(xMax, p.x);
    yMin = Math.min(yMin, p.y); yMax = Math.max(yMax, p.y);
  }
  const i0 = Math.max(0, Math.floor(xMin)), i1 = Math.min(width - 1, Math.ceil(xMax));
  const j0 = Math.max(0, Math.floor(yMin)), j1 = Math.min(height - 1, Math.ceil(yMax));
  // Edge functions of the quad (its corners run clockwise on screen: tl → tr → br → bl).
  const e = q.map((a, k) => {
    const b = q[(k + 1) % 4]!;
    return { ax: a.x, ay: a.y, dx: b.x - a.x, dy: b.y - a.y };
  });
  const eps = 1e-6;
  let sum = 0, cnt = 0;
  for (let j = j0; j <= j1; j++) {
    const cy = j + 0.5;
    for (let i = i0; i <= i1; i++) {
      const cx = i + 0.5;
      let inside = true;
      for (const s of e) {
        if (s.dx * (cy - s.ay) - s.dy * (cx - s.ax) < -eps) { inside = false; break; }
      }
      if (inside) { sum += prob[j * width + i]!; cnt++; }
    }
  }
  return cnt === 0 ? 0 : sum / cnt;
}
