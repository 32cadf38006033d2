import { describe, expect, it } from 'vitest';
import { AppendWindow } from './append-window.js';

describe('AppendWindow captures', () => {
  it.each<[string, (w: AppendWindow<number>) => void, number[]]>([
    ['push', (w) => { w.push(99); }, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]],
    ['sliding with compaction', (w) => { for (let i = 0; i < 200; i++) { w.push(100 + i); w.dropFront(1); } },
      [290, 291, 292, 293, 294, 295, 296, 297, 298, 299]],
    ['drop everything', (w) => { w.dropFront(100); }, []],
    ['replace', (w) => { w.replace([7, 7]); }, [7, 7]],
    ['clear', (w) => { w.clear(); }, []],
  ])('a capture is unaffected by %s', (_n, mutate, after) => {
    const w = new AppendWindow<number>();
    for (let i = 0; i < 10; i++) w.push(i);
    const c = w.capture();
    mutate(w);
    expect(c.length).toBe(10);
    expect(c.toFrozenArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.at(9)).toBe(9);
    expect(c.at(10)).toBeUndefined();
    expect(w.toArray()).toEqual(after);
  });

  it('sliding keeps the newest elements and compacts the backing array', () => {
    const w = new AppendWindow<number>();
    for (let i = 0; i < 1000; i++) {
      w.push(i);
      if (w.length > 10) w.dropFront(w.length - 10);
    }
    expect(w.toArray()).toEqual([990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
    expect(w.buffer.length).toBeLessThan(80);
    expect([w.first(), w.last(), w.length]).toEqual([990, 999, 10]);
  });
});
