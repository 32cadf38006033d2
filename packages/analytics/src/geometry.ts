/**
 * The plane geometry behind zones and lines, in normalized image coordinates (x to the
 * right, y down).
 *
 * @packageDocumentation
 */
import type { BBox } from '@nv/core';
import type { Anchor } from './config.js';

/** A point `[x, y]`. */
export type Vec2 = readonly [number, number];

/**
 * Whether `p` lies inside the polygon (even-odd rule, so concave and self-touching polygons
 * work; the winding does not matter). A point exactly on an edge may fall either way.
 * @param p - the point
 * @param polygon - vertices in order; the last connects back to the first
 * @returns true when inside
 * @example
 * ```ts
 * pointInPolygon([0.5, 0.5], [[0, 0], [1, 0], [1, 1], [0, 1]]) // true
 * ```
 */
export function pointInPolygon(p: Vec2, polygon: readonly Vec2[]): boolean {
  const [x, y] = p;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!, b = polygon[j]!;
    if ((a[1] > y) !== (b[1] > y) && x < ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
  }
  return inside;
}

/** `(b − a) × (p − a)`: > 0, < 0 or 0 as `p` is on one side of the line through a→b, the other, or on it. */
function cross(a: Vec2, b: Vec2, p: Vec2): number {
  return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

/**
 * Which side of the directed line `from → to` the point is on: `1` for the positive side, `-1`
 * for the negative side, `0` on the line. **Positive is the left of the arrow as drawn on the
 * image** (x right, y down): for a line from `[0.5, 0]` to `[0.5, 1]` (pointing down) the
 * positive side is x > 0.5, so moving left → right crosses it in the positive direction; for
 * `[0, 0.5]` → `[1, 0.5]` (pointing right) it is y < 0.5 (moving up the image is positive).
 * @param p - the point
 * @param from - start of the line
 * @param to - end of the line
 * @returns 1, -1 or 0
 * @example
 * ```ts
 * sideOfLine([0.7, 0.5], [0.5, 0], [0.5, 1]) // 1
 * ```
 */
export function sideOfLine(p: Vec2, from: Vec2, to: Vec2): 1 | -1 | 0 {
  const c = cross(from, to, p);
  return c < 0 ? 1 : c > 0 ? -1 : 0;
}

/**
 * Whether the step `p → q` crosses the segment `from → to` (closed: touching an end point
 * counts), given that `p` and `q` lie strictly on opposite sides of the segment's line. Only
 * the segment counts, not the infinite line through it.
 * @param p - where the point was
 * @param q - where it is now
 * @param from - start of the segment
 * @param to - end of the segment
 * @returns true when the step passes through the segment
 * @example
 * ```ts
 * stepCrossesSegment([0.4, 0.5], [0.6, 0.5], [0.5, 0], [0.5, 1]) // true
 * stepCrossesSegment([0.4, 0.9], [0.6, 0.9], [0.5, 0], [0.5, 0.5]) // false: passes below its end
 * ```
 */
export function stepCrossesSegment(p: Vec2, q: Vec2, from: Vec2, to: Vec2): boolean {
  const s1 = cross(from, to, p), s2 = cross(from, to, q);
  if ((s1 > 0 && s2 > 0) || (s1 < 0 && s2 < 0)) return false;
  const o1 = cross(p, q, from), o2 = cross(p, q, to);
  return (o1 <= 0 && o2 >= 0) || (o1 >= 0 && o2 <= 0);
}

/**
 * The anchor point of a box.
 * @param bbox - a normalized box
 * @param anchor - which point
 * @returns `[x, y]`
 * @example
 * ```ts
 * anchorPoint(BBox.of(0.2, 0.2, 0.4, 0.6), 'bottomCenter') // [0.3, 0.6]
 * ```
 */
export function anchorPoint(bbox: BBox, anchor: Anchor): Vec2 {
  const x = (bbox.xMin + bbox.xMax) / 2;
  switch (anchor) {
    case 'bottomCenter': return [x, bbox.yMax];
    case 'topCenter': return [x, bbox.yMin];
    case 'center': return [x, (bbox.yMin + bbox.yMax) / 2];
  }
}
