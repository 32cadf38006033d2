/**
 * Normalized geometry. Coordinates are fractions of the frame: (0,0) is the top-left
 * corner and (1,1) the bottom-right, so geometry survives resolution changes.
 *
 * Construction validates: a {@link BBox} or {@link Point2} with NaN/∞, min > max, or (for the
 * normalized constructors) coordinates outside [0,1] is an {@link InvalidArgumentError}.
 * Geometry that has been carried through a camera-motion compensation transform may
 * legitimately leave the frame; it is built with the `unbounded` constructors, which
 * still reject NaN/∞ and min > max.
 */
import { InvalidArgumentError, ViewError } from './errors.js';

/** A point in normalized coordinates. */
export interface Point2 {
  /** Horizontal coordinate, normalized (0 = left edge, 1 = right edge). */
  readonly x: number;
  /** Vertical coordinate, normalized (0 = top edge, 1 = bottom edge). */
  readonly y: number;
}

function finite(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(name, 'a finite number', v);
}
function unit(name: string, v: number): void {
  finite(name, v);
  if (v < 0 || v > 1) throw new InvalidArgumentError(name, 'a normalized coordinate in [0, 1]', v);
}

/**
 * A normalized point in [0,1]².
 * @throws {InvalidArgumentError} on NaN/∞ or a coordinate outside [0,1]
 */
export function point2(x: number, y: number): Point2 {
  unit('point.x', x);
  unit('point.y', y);
  return Object.freeze({ x, y });
}
/**
 * A point that may lie outside the frame (e.g. after compensation). Still finite.
 * @throws {InvalidArgumentError} on NaN/∞
 */
export function point2Unbounded(x: number, y: number): Point2 {
  finite('point.x', x);
  finite('point.y', y);
  return Object.freeze({ x, y });
}
/** Euclidean distance between two points. */
export function distance(a: Point2, b: Point2): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/**
 * An axis-aligned bounding box in normalized coordinates. Immutable.
 *
 * @example
 * ```ts
 * const b = BBox.of(0.1, 0.2, 0.3, 0.4);
 * b.width // 0.2
 * BBox.of(0.5, 0, 0.4, 1) // throws InvalidArgumentError (xMin > xMax)
 * ```
 */
export class BBox {
  private constructor(
    /** Left edge, normalized (in [0,1] unless built unbounded). */
    readonly xMin: number,
    /** Top edge, normalized (in [0,1] unless built unbounded). */
    readonly yMin: number,
    /** Right edge, normalized (in [0,1] unless built unbounded). */
    readonly xMax: number,
    /** Bottom edge, normalized (in [0,1] unless built unbounded). */
    readonly yMax: number,
  ) {
    Object.freeze(this);
  }

  /**
   * A box inside the frame.
   * @throws {InvalidArgumentError} on NaN/∞, a coordinate outside [0,1], or min > max
   */
  static of(xMin: number, yMin: number, xMax: number, yMax: number): BBox {
    unit('bbox.xMin', xMin);
    unit('bbox.yMin', yMin);
    unit('bbox.xMax', xMax);
    unit('bbox.yMax', yMax);
    return BBox.ordered(xMin, yMin, xMax, yMax);
  }

  /**
   * A box that may extend past the frame edges (compensated geometry).
   * @throws {InvalidArgumentError} on NaN/∞ or min > max
   */
  static unbounded(xMin: number, yMin: number, xMax: number, yMax: number): BBox {
    finite('bbox.xMin', xMin);
    finite('bbox.yMin', yMin);
    finite('bbox.xMax', xMax);
    finite('bbox.yMax', yMax);
    return BBox.ordered(xMin, yMin, xMax, yMax);
  }

  /**
   * From pixel coordinates: divides by the frame size and clamps to [0,1].
   * @throws {InvalidArgumentError} on non-positive frame size or NaN/∞
   */
  static fromPixels(x: number, y: number, w: number, h: number, frameWidth: number, frameHeight: number): BBox {
    if (!(frameWidth > 0) || !(frameHeight > 0)) throw new InvalidArgumentError('frame size', 'positive width and height', `${frameWidth}x${frameHeight}`);
    const c = (v: number) => Math.min(1, Math.max(0, v));
    finite('bbox.x', x); finite('bbox.y', y); finite('bbox.w', w); finite('bbox.h', h);
    return BBox.of(c(x / frameWidth), c(y / frameHeight), c((x + Math.max(0, w)) / frameWidth), c((y + Math.max(0, h)) / frameHeight));
  }

  /** The smallest box containing all `points` (unbounded). @throws {InvalidArgumentError} if empty */
  static enclosing(points: readonly Point2[]): BBox {
    if (points.length === 0) throw new InvalidArgumentError('points', 'at least one point', '[]');
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const p of points) {
      if (p.x < x0) x0 = p.x;
      if (p.y < y0) y0 = p.y;
      if (p.x > x1) x1 = p.x;
      if (p.y > y1) y1 = p.y;
    }
    return BBox.unbounded(x0, y0, x1, y1);
  }

  private static ordered(xMin: number, yMin: number, xMax: number, yMax: number): BBox {
    if (xMin > xMax) throw new InvalidArgumentError('bbox.xMin', `a value <= xMax (${xMax})`, xMin);
    if (yMin > yMax) throw new InvalidArgumentError('bbox.yMin', `a value <= yMax (${yMax})`, yMin);
    return new BBox(xMin, yMin, xMax, yMax);
  }

  /** xMax − xMin */
  get width(): number { return this.xMax - this.xMin; }
  /** yMax − yMin */
  get height(): number { return this.yMax - this.yMin; }
  /** width × height */
  get area(): number { return this.width * this.height; }
  /** The centre point. */
  get center(): Point2 { return { x: (this.xMin + this.xMax) / 2, y: (this.yMin + this.yMax) / 2 }; }
  /** The four corners, clockwise from top-left. */
  corners(): [Point2, Point2, Point2, Point2] {
    return [
      { x: this.xMin, y: this.yMin },
      { x: this.xMax, y: this.yMin },
      { x: this.xMax, y: this.yMax },
      { x: this.xMin, y: this.yMax },
    ];
  }
  /** Whether the box lies within [0,1]². */
  get isInFrame(): boolean { return this.xMin >= 0 && this.yMin >= 0 && this.xMax <= 1 && this.yMax <= 1; }
  /** Intersection over union; 0 when the union is empty. */
  iou(other: BBox): number {
    const ix = Math.max(0, Math.min(this.xMax, other.xMax) - Math.max(this.xMin, other.xMin));
    const iy = Math.max(0, Math.min(this.yMax, other.yMax) - Math.max(this.yMin, other.yMin));
    const inter = ix * iy;
    const union = this.area + other.area - inter;
    return union <= 0 ? 0 : inter / union;
  }
  /** Whether `p` lies inside or on the edge. */
  contains(p: Point2): boolean { return p.x >= this.xMin && p.x <= this.xMax && p.y >= this.yMin && p.y <= this.yMax; }
  /** The box clamped to the frame. */
  clampToFrame(): BBox {
    const c = (v: number) => Math.min(1, Math.max(0, v));
    return BBox.of(c(this.xMin), c(this.yMin), c(this.xMax), c(this.yMax));
  }
  /** The box in pixels for a frame of the given size. */
  toPixels(frameWidth: number, frameHeight: number): { x: number; y: number; width: number; height: number } {
    return { x: this.xMin * frameWidth, y: this.yMin * frameHeight, width: this.width * frameWidth, height: this.height * frameHeight };
  }
  /** Structural equality within `eps`. */
  equals(other: BBox, eps = 0): boolean {
    return Math.abs(this.xMin - other.xMin) <= eps && Math.abs(this.yMin - other.yMin) <= eps &&
      Math.abs(this.xMax - other.xMax) <= eps && Math.abs(this.yMax - other.yMax) <= eps;
  }
  /** JSON form `{xMin,yMin,xMax,yMax}`. */
  toJSON(): { xMin: number; yMin: number; xMax: number; yMax: number } {
    return { xMin: this.xMin, yMin: this.yMin, xMax: this.xMax, yMax: this.yMax };
  }
}

/**
 * A closed polygon in normalized coordinates (zones, lines of interest). At least 3 vertices.
 * @throws {InvalidArgumentError} on fewer than 3 vertices or a vertex outside [0,1]
 */
export class Polygon {
  /** Vertices in order; the last connects back to the first. */
  readonly vertices: readonly Point2[];
  constructor(vertices: readonly Point2[]) {
    if (vertices.length < 3) throw new InvalidArgumentError('polygon.vertices', 'at least 3 vertices', vertices.length);
    this.vertices = Object.freeze(vertices.map((v) => point2(v.x, v.y)));
    Object.freeze(this);
  }
  /** Number of vertices. */
  get length(): number { return this.vertices.length; }
  /** Absolute area (shoelace). */
  get area(): number {
    let s = 0;
    const v = this.vertices;
    for (let i = 0; i < v.length; i++) {
      const a = v[i]!, b = v[(i + 1) % v.length]!;
      s += a.x * b.y - b.x * a.y;
    }
    return Math.abs(s) / 2;
  }
  /** Point-in-polygon (even-odd rule). */
  contains(p: Point2): boolean {
    let inside = false;
    const v = this.vertices;
    for (let i = 0, j = v.length - 1; i < v.length; j = i++) {
      const a = v[i]!, b = v[j]!;
      if ((a.y > p.y) !== (b.y > p.y) && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
    }
    return inside;
  }
  /** Bounding box of the vertices. */
  bbox(): BBox { const b = BBox.enclosing(this.vertices); return BBox.of(b.xMin, b.yMin, b.xMax, b.yMax); }
}

/**
 * A 2-D affine transform `[a, b, tx, c, d, ty]` mapping (x, y) to
 * (a·x + b·y + tx, c·x + d·y + ty), in normalized coordinates. Immutable.
 *
 * @example
 * ```ts
 * const t = AffineTransform2D.translation(0.1, 0);
 * t.apply({ x: 0.2, y: 0.5 }) // { x: 0.3, y: 0.5 }
 * t.then(t.invert()).isIdentity() // true
 * ```
 */
export class AffineTransform2D {
  /** The identity transform. */
  static readonly IDENTITY = new AffineTransform2D([1, 0, 0, 0, 1, 0]);
  /** `[a, b, tx, c, d, ty]` */
  readonly m: readonly [number, number, number, number, number, number];

  /** @throws {InvalidArgumentError} if any coefficient is NaN/∞ */
  constructor(m: readonly [number, number, number, number, number, number]) {
    m.forEach((v, i) => finite(`transform.m[${i}]`, v));
    this.m = Object.freeze([...m]) as unknown as AffineTransform2D['m'];
    Object.freeze(this);
  }
  /** Pure translation. */
  static translation(tx: number, ty: number): AffineTransform2D { return new AffineTransform2D([1, 0, tx, 0, 1, ty]); }
  /** Scale about the origin (or about `center`). */
  static scale(sx: number, sy = sx, center?: Point2): AffineTransform2D {
    const cx = center?.x ?? 0, cy = center?.y ?? 0;
    return new AffineTransform2D([sx, 0, cx - sx * cx, 0, sy, cy - sy * cy]);
  }
  /** Rotation by `radians` (counter-clockwise in x-right/y-down image axes appears clockwise) about the origin or `center`. */
  static rotation(radians: number, center?: Point2): AffineTransform2D {
    const c = Math.cos(radians), s = Math.sin(radians);
    const cx = center?.x ?? 0, cy = center?.y ?? 0;
    return new AffineTransform2D([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy]);
  }

  /** Applies the transform to a point (result may lie outside [0,1]). */
  apply(p: Point2): Point2 {
    const [a, b, tx, c, d, ty] = this.m;
    return { x: a * p.x + b * p.y + tx, y: c * p.x + d * p.y + ty };
  }
  /**
   * Transforms a box by re-bounding its four transformed corners (the axis-aligned envelope).
   * Under rotation the result is larger than the original; see compensation ceiling in `@nv/view`.
   */
  applyToBBox(b: BBox): BBox {
    return BBox.enclosing(b.corners().map((p) => this.apply(p)));
  }
  /** `this` first, then `next`: `this.then(next).apply(p) === next.apply(this.apply(p))`. */
  then(next: AffineTransform2D): AffineTransform2D {
    const [a1, b1, t1, c1, d1, u1] = this.m;
    const [a2, b2, t2, c2, d2, u2] = next.m;
    return new AffineTransform2D([
      a2 * a1 + b2 * c1, a2 * b1 + b2 * d1, a2 * t1 + b2 * u1 + t2,
      c2 * a1 + d2 * c1, c2 * b1 + d2 * d1, c2 * t1 + d2 * u1 + u2,
    ]);
  }
  /** Mathematical composition `this ∘ inner` (apply `inner` first). */
  compose(inner: AffineTransform2D): AffineTransform2D { return inner.then(this); }
  /** Determinant of the linear part. */
  get determinant(): number { const [a, b, , c, d] = this.m; return a * d - b * c; }
  /**
   * The inverse transform.
   * @throws {ViewError} `TransformFailed` when the transform is singular
   */
  invert(): AffineTransform2D {
    const [a, b, tx, c, d, ty] = this.m;
    const det = a * d - b * c;
    if (Math.abs(det) < 1e-12) throw ViewError.transformFailed(`transform is not invertible (determinant ${det})`);
    const ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
    return new AffineTransform2D([ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)]);
  }
  /** Translation magnitude √(tx² + ty²). */
  get translationMagnitude(): number { return Math.hypot(this.m[2], this.m[5]); }
  /** Rotation of the linear part in degrees (atan2(c, a)). */
  get rotationDegrees(): number { return (Math.atan2(this.m[3], this.m[0]) * 180) / Math.PI; }
  /** Scale factors along x and y (column norms of the linear part). */
  get scaleFactors(): { sx: number; sy: number } {
    return { sx: Math.hypot(this.m[0], this.m[3]), sy: Math.hypot(this.m[1], this.m[4]) };
  }
  /** Whether every coefficient is within `eps` of the identity. */
  isIdentity(eps = 1e-9): boolean {
    const id = AffineTransform2D.IDENTITY.m;
    return this.m.every((v, i) => Math.abs(v - id[i]!) <= eps);
  }
  /** JSON form: the six coefficients. */
  toJSON(): number[] { return [...this.m]; }
}
