import { describe, expect, it } from 'vitest';
import { PointColumns, STRIDE, TS, X } from './point-columns.js';

/** The (ts, x) pairs of rows [start, end) of a captured buffer. */
function rows(data: Float64Array, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let r = start; r < end; r++) out.push([data[r * STRIDE + TS]!, data[r * STRIDE + X]!]);
  return out;
}
const push = (c: PointColumns, i: number) => c.push(i, i / 10, 0, 0, 0, 0, 0, 0);

describe('PointColumns', () => {
  it.each<[string, (c: PointColumns) => void]>([
    ['push', (c) => push(c, 99)],
    ['push until the buffer grows', (c) => { for (let i = 0; i < 40; i++) push(c, 100 + i); }],
    ['dropFront', (c) => c.dropFront(2)],
    ['dropFront past the end', (c) => c.dropFront(100)],
    ['replace', (c) => c.replace(new Float64Array(8 * STRIDE), 0)],
    ['clear', (c) => c.clear()],
  ])('a capture (data, start, end) is unchanged by %s', (_n, mutate) => {
    const c = new PointColumns(4);
    for (let i = 0; i < 6; i++) push(c, i);
    c.dropFront(1);
    const cap = { data: c.data, start: c.start, end: c.end };
    const before = rows(cap.data, cap.start, cap.end);
    mutate(c);
    expect(rows(cap.data, cap.start, cap.end)).toEqual(before);
    expect(before.map((r) => r[0])).toEqual([1, 2, 3, 4, 5]);
  });

  it('grows by copying only the live rows, oldest first', () => {
    const c = new PointColumns(8);
    for (let i = 0; i < 8; i++) push(c, i);
    c.dropFront(5);
    expect(c.full).toBe(true);
    push(c, 8);
    expect(c.start).toBe(0);
    expect(c.length).toBe(4);
    expect(rows(c.data, c.start, c.end).map((r) => r[0])).toEqual([5, 6, 7, 8]);
    expect(c.lastTs()).toBe(8);
  });

  it('reports the newest timestamp and an empty window', () => {
    const c = new PointColumns();
    expect(c.lastTs()).toBeUndefined();
    push(c, 3);
    expect(c.dropFront(-1)).toBe(0);
    expect(c.dropFront(5)).toBe(1);
    expect(c.length).toBe(0);
    expect(c.lastTs()).toBeUndefined();
  });
});
