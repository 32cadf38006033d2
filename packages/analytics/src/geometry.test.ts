import { BBox } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { anchorPoint, pointInPolygon, sideOfLine, stepCrossesSegment, type Vec2 } from './geometry.js';

describe('pointInPolygon', () => {
  const square: Vec2[] = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]];
  it('tells inside from outside for a convex polygon, either winding', () => {
    expect(pointInPolygon([0.4, 0.4], square)).toBe(true);
    expect(pointInPolygon([0.1, 0.4], square)).toBe(false);
    expect(pointInPolygon([0.4, 0.7], square)).toBe(false);
    expect(pointInPolygon([0.4, 0.4], [...square].reverse())).toBe(true);
    expect(pointInPolygon([0.7, 0.4], [...square].reverse())).toBe(false);
  });

  it('handles a concave polygon: the notch of a U is outside', () => {
    // A U open at the bottom: the notch is x in (0.4, 0.6), y in (0.4, 1).
    const u: Vec2[] = [[0, 0], [1, 0], [1, 1], [0.6, 1], [0.6, 0.4], [0.4, 0.4], [0.4, 1], [0, 1]];
    expect(pointInPolygon([0.5, 0.7], u)).toBe(false); // in the notch
    expect(pointInPolygon([0.5, 0.2], u)).toBe(true); // the bar above it
    expect(pointInPolygon([0.2, 0.8], u)).toBe(true); // left leg
    expect(pointInPolygon([0.8, 0.8], u)).toBe(true); // right leg
    expect(pointInPolygon([0.5, 0.7], [...u].reverse())).toBe(false);
    expect(pointInPolygon([0.8, 0.8], [...u].reverse())).toBe(true);
  });
});

describe('sideOfLine', () => {
  it('positive is the left of the arrow as drawn on the image (x right, y down)', () => {
    // Pointing down the image: positive is to the right (x > 0.5).
    expect(sideOfLine([0.7, 0.5], [0.5, 0], [0.5, 1])).toBe(1);
    expect(sideOfLine([0.3, 0.5], [0.5, 0], [0.5, 1])).toBe(-1);
    expect(sideOfLine([0.5, 0.3], [0.5, 0], [0.5, 1])).toBe(0);
    // Reversed: the sides swap.
    expect(sideOfLine([0.7, 0.5], [0.5, 1], [0.5, 0])).toBe(-1);
    // Pointing right: positive is up the image (y < 0.5).
    expect(sideOfLine([0.5, 0.3], [0, 0.5], [1, 0.5])).toBe(1);
    expect(sideOfLine([0.5, 0.8], [0, 0.5], [1, 0.5])).toBe(-1);
  });
});

describe('stepCrossesSegment', () => {
  it('counts a step through the segment, not one past its end', () => {
    expect(stepCrossesSegment([0.4, 0.3], [0.6, 0.3], [0.5, 0], [0.5, 0.5])).toBe(true);
    expect(stepCrossesSegment([0.6, 0.3], [0.4, 0.3], [0.5, 0], [0.5, 0.5])).toBe(true);
    expect(stepCrossesSegment([0.4, 0.8], [0.6, 0.8], [0.5, 0], [0.5, 0.5])).toBe(false); // below its end
    expect(stepCrossesSegment([0.4, 0.5], [0.6, 0.5], [0.5, 0], [0.5, 0.5])).toBe(true); // through the end point
    expect(stepCrossesSegment([0.4, 0.2], [0.45, 0.4], [0.5, 0], [0.5, 0.5])).toBe(false); // same side
    // A diagonal step whose line meets the segment's line outside the segment.
    expect(stepCrossesSegment([0.4, 0.55], [0.6, 0.65], [0.5, 0], [0.5, 0.5])).toBe(false);
    expect(stepCrossesSegment([0.4, 0.45], [0.6, 0.35], [0.5, 0], [0.5, 0.5])).toBe(true);
  });
});

describe('anchorPoint', () => {
  it('picks the bottom centre, centre or top centre of a box', () => {
    const b = BBox.of(0.2, 0.2, 0.4, 0.6);
    expect(anchorPoint(b, 'bottomCenter')[0]).toBeCloseTo(0.3);
    expect(anchorPoint(b, 'bottomCenter')[1]).toBeCloseTo(0.6);
    expect(anchorPoint(b, 'center')[1]).toBeCloseTo(0.4);
    expect(anchorPoint(b, 'topCenter')[1]).toBeCloseTo(0.2);
  });
});
