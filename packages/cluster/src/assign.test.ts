import { describe, expect, it } from 'vitest';
import { assignFeeds } from './assign.js';

const feeds = (n: number): string[] => Array.from({ length: n }, (_, i) => `cam-${i}`);
const counts = (m: Map<string, string>): Map<string, number> => {
  const c = new Map<string, number>();
  for (const v of m.values()) c.set(v, (c.get(v) ?? 0) + 1);
  return c;
};

describe('assignFeeds', () => {
  it('gives every node ⌊F/N⌋ or ⌈F/N⌉ feeds, for many sizes', () => {
    for (const f of [0, 1, 2, 5, 7, 30, 101]) {
      for (const n of [1, 2, 3, 4, 7]) {
        const nodes = Array.from({ length: n }, (_, i) => `node${i}`);
        const plan = assignFeeds(feeds(f), nodes);
        expect(plan.size).toBe(f);
        const c = counts(plan);
        for (const node of nodes) {
          const k = c.get(node) ?? 0;
          expect(k, `${f} feeds on ${n} nodes: ${node}`).toBeGreaterThanOrEqual(Math.floor(f / n));
          expect(k).toBeLessThanOrEqual(Math.ceil(f / n));
        }
      }
    }
  });

  it('is the same whatever the order of its inputs (every node computes the same plan)', () => {
    const a = assignFeeds(feeds(40), ['n1', 'n2', 'n3']);
    const b = assignFeeds([...feeds(40)].reverse(), ['n3', 'n1', 'n2', 'n1']);
    expect([...b].sort()).toEqual([...a].sort());
  });

  it('moves only what must move when a node joins or leaves, given the current owners', () => {
    const before = assignFeeds(feeds(61), ['n1', 'n2', 'n3']);
    const joined = assignFeeds(feeds(61), ['n1', 'n2', 'n3', 'n4'], before);
    const moved = [...before].filter(([f, n]) => joined.get(f) !== n);
    expect(moved.length).toBe([...joined.values()].filter((n) => n === 'n4').length); // only to the new node
    expect(moved.length).toBe(15);
    const left = assignFeeds(feeds(61), ['n1', 'n3'], before);
    for (const [f, n] of before) if (n !== 'n2') expect(left.get(f)).toBe(n); // survivors keep all theirs
    expect(counts(left).get('n1')! + counts(left).get('n3')!).toBe(61);
  });

  it('without current owners spreads by score; an owner that is gone or over its share is ignored', () => {
    const plan = assignFeeds(['a', 'b'], ['n1', 'n2'], new Map([['a', 'gone'], ['b', 'n1']]));
    expect(plan.get('b')).toBe('n1');
    expect(plan.get('a')).toBe('n2');
    const over = assignFeeds(['a', 'b', 'c', 'd'], ['n1', 'n2'], new Map([['a', 'n1'], ['b', 'n1'], ['c', 'n1'], ['d', 'n1']]));
    expect(counts(over).get('n1')).toBe(2);
  });

  it('assigns nothing without nodes', () => {
    expect(assignFeeds(['a'], []).size).toBe(0);
  });
});
