/**
 * Optimal rectangular assignment (the linear sum assignment problem) with forbidden pairs.
 *
 * The solver is the shortest-augmenting-path form of the Hungarian (Kuhn–Munkres) method
 * with row and column potentials, O(n²·m) for an n×m matrix with n ≤ m. Before solving, the
 * bipartite graph of allowed pairs is split into connected components and each component
 * is solved on its own: with IoU gating a tracker's matrix is very sparse, so a frame with
 * 200 objects becomes ~200 tiny problems instead of one 200×200 one.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';

/**
 * Solves the assignment problem for a row-major `rows × cols` cost matrix.
 *
 * Entries equal to `Infinity` mark forbidden pairs; they are never returned. Among all
 * assignments (each row to at most one column, each column to at most one row), the result
 * has the largest possible number of allowed pairs and, among those, the smallest total cost.
 * Costs may be negative.
 *
 * @param cost - `rows × cols` costs, row-major; finite numbers or `Infinity`
 * @param rows - number of rows (non-negative integer)
 * @param cols - number of columns (non-negative integer)
 * @returns for each row, the column assigned to it, or -1
 * @throws {InvalidArgumentError} when the sizes do not match `cost.length`, or an entry is NaN or `-Infinity`
 * @example
 * ```ts
 * // rows = tracks, columns = detections, cost = 1 − IoU (Infinity below the gate)
 * solveAssignment([4, 1, 3, 2, 0, 5, 3, 2, 2], 3, 3) // Int32Array [1, 0, 2] (total 1 + 2 + 2 = 5)
 * ```
 */
export function solveAssignment(cost: ArrayLike<number>, rows: number, cols: number): Int32Array {
  checkSize('rows', rows);
  checkSize('cols', cols);
  if (cost.length !== rows * cols) throw new InvalidArgumentError('cost.length', `rows × cols (${rows * cols})`, cost.length);
  const er: number[] = [], ec: number[] = [], ev: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = cost[r * cols + c]!;
      if (v === Infinity) continue;
      if (!Number.isFinite(v)) throw new InvalidArgumentError(`cost[${r * cols + c}]`, 'a finite number or Infinity', v);
      er.push(r); ec.push(c); ev.push(v);
    }
  }
  return solveEdges(rows, cols, er, ec, ev);
}

/**
 * Solves the assignment problem given only the allowed pairs ("edges"): pair `k` joins row
 * `edgeRows[k]` and column `edgeCols[k]` at cost `edgeCosts[k]`; every other pair is forbidden.
 * Same result as {@link solveAssignment} on the dense matrix with `Infinity` elsewhere, but the
 * work grows with the number of edges rather than with `rows × cols`, which is what a gated
 * tracker needs. When a pair is listed more than once, its lowest cost counts.
 *
 * @param rows - number of rows (non-negative integer)
 * @param cols - number of columns (non-negative integer)
 * @param edgeRows - row of each allowed pair
 * @param edgeCols - column of each allowed pair
 * @param edgeCosts - cost of each allowed pair (finite)
 * @returns for each row, the column assigned to it, or -1
 * @throws {InvalidArgumentError} on arrays of different lengths, an index out of range, or a non-finite cost
 * @example
 * ```ts
 * solveSparseAssignment(2, 3, [0, 0, 1], [0, 2, 0], [0.1, 0.5, 0.2]) // Int32Array [2, 0]
 * ```
 */
export function solveSparseAssignment(
  rows: number, cols: number, edgeRows: ArrayLike<number>, edgeCols: ArrayLike<number>, edgeCosts: ArrayLike<number>,
): Int32Array {
  checkSize('rows', rows);
  checkSize('cols', cols);
  const n = edgeRows.length;
  if (edgeCols.length !== n) throw new InvalidArgumentError('edgeCols.length', `edgeRows.length (${n})`, edgeCols.length);
  if (edgeCosts.length !== n) throw new InvalidArgumentError('edgeCosts.length', `edgeRows.length (${n})`, edgeCosts.length);
  for (let k = 0; k < n; k++) {
    const r = edgeRows[k]!, c = edgeCols[k]!, v = edgeCosts[k]!;
    if (!Number.isInteger(r) || r < 0 || r >= rows) throw new InvalidArgumentError(`edgeRows[${k}]`, `an integer in [0, ${rows})`, r);
    if (!Number.isInteger(c) || c < 0 || c >= cols) throw new InvalidArgumentError(`edgeCols[${k}]`, `an integer in [0, ${cols})`, c);
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`edgeCosts[${k}]`, 'a finite number', v);
  }
  return solveEdges(rows, cols, edgeRows, edgeCols, edgeCosts);
}

function checkSize(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(name, 'a non-negative integer', v);
}

/** Splits the edge graph into connected components and solves each (inputs already validated). */
function solveEdges(rows: number, cols: number, er: ArrayLike<number>, ec: ArrayLike<number>, ev: ArrayLike<number>): Int32Array {
  const out = new Int32Array(rows).fill(-1);
  const n = er.length;
  if (n === 0) return out;
  // Union-find over rows (0..rows-1) and columns (rows..rows+cols-1) joined by edges.
  const parent = new Int32Array(rows + cols);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) { const p = parent[parent[x]!]!; parent[x] = p; x = p; }
    return x;
  };
  for (let k = 0; k < n; k++) {
    const a = find(er[k]!), b = find(rows + ec[k]!);
    if (a !== b) parent[a] = b;
  }
  // Edges grouped by component.
  const byComp = new Map<number, number[]>();
  for (let k = 0; k < n; k++) {
    const root = find(er[k]!);
    const l = byComp.get(root);
    if (l) l.push(k); else byComp.set(root, [k]);
  }
  const localRow = new Int32Array(rows).fill(-1), localCol = new Int32Array(cols).fill(-1);
  for (const edges of byComp.values()) {
    if (edges.length === 1) { const k = edges[0]!; out[er[k]!] = ec[k]!; continue; }
    const rs: number[] = [], cs: number[] = [];
    for (const k of edges) {
      const r = er[k]!, c = ec[k]!;
      if (localRow[r] === -1) { localRow[r] = rs.length; rs.push(r); }
      if (localCol[c] === -1) { localCol[c] = cs.length; cs.push(c); }
    }
    const m = new Float64Array(rs.length * cs.length).fill(Infinity);
    for (const k of edges) {
      const at = localRow[er[k]!]! * cs.length + localCol[ec[k]!]!;
      if (ev[k]! < m[at]!) m[at] = ev[k]!;
    }
    const sub = solveDense(m, rs.length, cs.length);
    for (let i = 0; i < rs.length; i++) {
      const j = sub[i]!;
      if (j >= 0 && m[i * cs.length + j] !== Infinity) out[rs[i]!] = cs[j]!;
    }
    for (const r of rs) localRow[r] = -1;
    for (const c of cs) localCol[c] = -1;
  }
  return out;
}

/**
 * Hungarian method on a dense `nr × nc` matrix (row-major, `Infinity` = forbidden). Forbidden
 * entries become a cost `big` that exceeds the spread of any set of allowed pairs, so the
 * optimum first maximizes the number of allowed pairs. Returns, per row, the column (-1 if
 * there are more rows than columns and the row is left out).
 */
function solveDense(cost: Float64Array, nr: number, nc: number): Int32Array {
  const transpose = nr > nc;
  const n = transpose ? nc : nr;
  const m = transpose ? nr : nc;
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < cost.length; k++) {
    const v = cost[k]!;
    if (v === Infinity) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const big = (hi - lo + 1) * (n + 1);
  // a[(i-1)*m + (j-1)] for 1-based i ≤ n, j ≤ m, shifted so allowed costs are ≥ 0.
  const a = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const v = transpose ? cost[j * nc + i]! : cost[i * nc + j]!;
      a[i * m + j] = v === Infinity ? big : v - lo;
    }
  }
  const u = new Float64Array(n + 1), v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1), way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity, j1 = 0;
      const row = (i0 - 1) * m;
      const ui0 = u[i0]!;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[row + j - 1]! - ui0 - v[j]!;
        if (cur < minv[j]!) { minv[j] = cur; way[j] = j0; }
        if (minv[j]! < delta) { delta = minv[j]!; j1 = j; }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) { const pj = p[j]!; u[pj] = u[pj]! + delta; v[j] = v[j]! - delta; } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const res = new Int32Array(nr).fill(-1);
  for (let j = 1; j <= m; j++) {
    const i = p[j]!;
    if (i === 0) continue;
    if (transpose) res[j - 1] = i - 1; else res[i - 1] = j - 1;
  }
  return res;
}
