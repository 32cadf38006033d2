import { InvalidArgumentError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { solveAssignment, solveSparseAssignment } from './assignment.js';
import { rng } from './test-fixtures.js';

/** (number of allowed pairs, total cost of allowed pairs) of an assignment; throws if it is not one. */
function score(cost: ArrayLike<number>, rows: number, cols: number, a: Int32Array): { count: number; total: number } {
  expect(a.length).toBe(rows);
  const seen = new Set<number>();
  let count = 0, total = 0;
  for (let r = 0; r < rows; r++) {
    const c = a[r]!;
    if (c === -1) continue;
    expect(c).toBeGreaterThanOrEqual(0);
    expect(c).toBeLessThan(cols);
    expect(seen.has(c)).toBe(false);
    seen.add(c);
    const v = cost[r * cols + c]!;
    expect(v).not.toBe(Infinity);
    count++;
    total += v;
  }
  return { count, total };
}

/** Brute force: every injective map of the smaller side into the larger; best (count desc, cost asc). */
function bruteForce(cost: ArrayLike<number>, rows: number, cols: number): { count: number; total: number } {
  const at = rows <= cols ? (i: number, j: number) => cost[i * cols + j]! : (i: number, j: number) => cost[j * cols + i]!;
  const n = Math.min(rows, cols), m = Math.max(rows, cols);
  let best = { count: -1, total: Infinity };
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, count: number, total: number): void => {
    if (i === n) {
      if (count > best.count || (count === best.count && total < best.total - 1e-12)) best = { count, total };
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      const v = at(i, j);
      if (v === Infinity) rec(i + 1, count, total); else rec(i + 1, count + 1, total + v);
      used[j] = false;
    }
  };
  rec(0, 0, 0);
  return best.count < 0 ? { count: 0, total: 0 } : best;
}

/** Exact DP over column subsets (rows ≤ 20, cols ≤ 14): best (count desc, cost asc). */
function subsetDp(cost: ArrayLike<number>, rows: number, cols: number): { count: number; total: number } {
  const size = 1 << cols;
  let cnt = new Int32Array(size).fill(-1), tot = new Float64Array(size);
  cnt[0] = 0;
  for (let r = 0; r < rows; r++) {
    const nc = Int32Array.from(cnt), nt = Float64Array.from(tot); // row r left unassigned
    for (let mask = 0; mask < size; mask++) {
      if (cnt[mask]! < 0) continue;
      for (let c = 0; c < cols; c++) {
        if (mask & (1 << c)) continue;
        const v = cost[r * cols + c]!;
        if (v === Infinity) continue;
        const nm = mask | (1 << c), k = cnt[mask]! + 1, t = tot[mask]! + v;
        if (k > nc[nm]! || (k === nc[nm]! && t < nt[nm]!)) { nc[nm] = k; nt[nm] = t; }
      }
    }
    cnt = nc; tot = nt;
  }
  let best = { count: 0, total: 0 };
  for (let mask = 0; mask < size; mask++) {
    const k = cnt[mask]!;
    if (k > best.count || (k === best.count && tot[mask]! < best.total)) best = { count: k, total: tot[mask]! };
  }
  return best;
}

function randomMatrix(rand: () => number, rows: number, cols: number, forbidP: number, integer: boolean): Float64Array {
  const m = new Float64Array(rows * cols);
  for (let k = 0; k < m.length; k++) {
    if (rand() < forbidP) m[k] = Infinity;
    else m[k] = integer ? Math.floor(rand() * 7) - 3 : rand() * 2 - 1;
  }
  return m;
}

describe('solveAssignment', () => {
  it('solves the textbook 3×3 example', () => {
    const a = solveAssignment([4, 1, 3, 2, 0, 5, 3, 2, 2], 3, 3);
    expect([...a]).toEqual([1, 0, 2]);
  });

  it('matches brute force on 600 random small matrices (square and rectangular, ties, negatives, forbidden pairs)', () => {
    const rand = rng(12345);
    for (let t = 0; t < 600; t++) {
      const rows = 1 + Math.floor(rand() * 6), cols = 1 + Math.floor(rand() * 6);
      const cost = randomMatrix(rand, rows, cols, [0, 0.3, 0.6, 0.9][t % 4]!, t % 2 === 0);
      const got = score(cost, rows, cols, solveAssignment(cost, rows, cols));
      const want = bruteForce(cost, rows, cols);
      expect(got.count, `trial ${t} (${rows}×${cols})`).toBe(want.count);
      expect(got.total, `trial ${t} (${rows}×${cols})`).toBeCloseTo(want.total, 9);
    }
  });

  it('matches an exact subset DP on 60 medium sparse matrices (exercises component splitting)', () => {
    const rand = rng(777);
    for (let t = 0; t < 60; t++) {
      const rows = 6 + Math.floor(rand() * 10), cols = 6 + Math.floor(rand() * 7);
      const cost = randomMatrix(rand, rows, cols, 0.5 + 0.4 * rand(), t % 3 === 0);
      const got = score(cost, rows, cols, solveAssignment(cost, rows, cols));
      const want = subsetDp(cost, rows, cols);
      expect(got.count, `trial ${t}`).toBe(want.count);
      expect(got.total, `trial ${t}`).toBeCloseTo(want.total, 9);
    }
  });

  it('the sparse form gives the same optimum as the dense form (duplicates: lowest cost counts)', () => {
    const rand = rng(4242);
    for (let t = 0; t < 200; t++) {
      const rows = 1 + Math.floor(rand() * 7), cols = 1 + Math.floor(rand() * 7);
      const dense = randomMatrix(rand, rows, cols, 0.5, t % 2 === 0);
      const er: number[] = [], ec: number[] = [], ev: number[] = [];
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
        const v = dense[r * cols + c]!;
        if (v === Infinity) continue;
        er.push(r); ec.push(c); ev.push(v);
        if (rand() < 0.2) { er.push(r); ec.push(c); ev.push(v + 1 + rand()); } // a worse duplicate
      }
      const got = score(dense, rows, cols, solveSparseAssignment(rows, cols, er, ec, ev));
      const want = bruteForce(dense, rows, cols);
      expect(got.count, `trial ${t}`).toBe(want.count);
      expect(got.total, `trial ${t}`).toBeCloseTo(want.total, 9);
    }
    expect([...solveSparseAssignment(2, 3, [0, 0, 1], [0, 2, 0], [0.1, 0.5, 0.2])]).toEqual([2, 0]);
    expect([...solveSparseAssignment(3, 3, [], [], [])]).toEqual([-1, -1, -1]);
  });

  it('the sparse form rejects malformed edges', () => {
    expect(() => solveSparseAssignment(2, 2, [0, 1], [0], [1, 1])).toThrow(/Expected edgeRows.length \(2\) for edgeCols.length but received 1/);
    expect(() => solveSparseAssignment(2, 2, [2], [0], [1])).toThrow(/Expected an integer in \[0, 2\) for edgeRows\[0\] but received 2/);
    expect(() => solveSparseAssignment(2, 2, [0], [-1], [1])).toThrow(/edgeCols\[0\]/);
    expect(() => solveSparseAssignment(2, 2, [0], [0], [Infinity])).toThrow(/Expected a finite number for edgeCosts\[0\] but received Infinity/);
  });

  it('prefers more allowed pairs over a lower total cost', () => {
    // Row 0 alone would take column 0 (cost -10), but then row 1 (only column 0 allowed) goes
    // unmatched; two pairs (0→1, 1→0) win.
    const a = solveAssignment([-10, 5, 0, Infinity], 2, 2);
    expect([...a]).toEqual([1, 0]);
  });

  it('handles empty and fully forbidden matrices', () => {
    expect([...solveAssignment([], 0, 3)]).toEqual([]);
    expect([...solveAssignment([], 2, 0)]).toEqual([-1, -1]);
    expect([...solveAssignment([Infinity, Infinity], 2, 1)]).toEqual([-1, -1]);
  });

  it('rejects NaN, -Infinity and a size mismatch with typed errors', () => {
    expect(() => solveAssignment([1, NaN], 1, 2)).toThrow(/Expected a finite number or Infinity for cost\[1\] but received NaN/);
    expect(() => solveAssignment([1, -Infinity], 1, 2)).toThrow(InvalidArgumentError);
    expect(() => solveAssignment([1, 2, 3], 2, 2)).toThrow(/Expected rows × cols \(4\) for cost.length but received 3/);
    expect(() => solveAssignment([], -1, 0)).toThrow(InvalidArgumentError);
  });
});
