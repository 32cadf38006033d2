import { InvalidArgumentError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { BoxKalmanFilter, DEFAULT_KALMAN_NOISE, type BoxCxCyWH } from './kalman.js';
import { rng } from './test-fixtures.js';

// ---- A textbook dense 8×8 Kalman filter (full matrices, explicit S⁻¹) to check the
// ---- decoupled implementation against.
type M = number[][];
const zeros = (r: number, c: number): M => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const eye = (n: number): M => { const m = zeros(n, n); for (let i = 0; i < n; i++) m[i]![i] = 1; return m; };
const mul = (a: M, b: M): M => {
  const out = zeros(a.length, b[0]!.length);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b[0]!.length; j++) {
    let s = 0;
    for (let k = 0; k < b.length; k++) s += a[i]![k]! * b[k]![j]!;
    out[i]![j] = s;
  }
  return out;
};
const tr = (a: M): M => a[0]!.map((_, j) => a.map((row) => row[j]!));
const add = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
const sub = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v - b[i]![j]!));
const diag = (v: number[]): M => { const m = zeros(v.length, v.length); v.forEach((x, i) => { m[i]![i] = x; }); return m; };
function inv(a: M): M {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...eye(n)[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const d = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return m.map((row) => row.slice(n));
}

class DenseKf {
  x: M; P: M;
  readonly F: M; readonly H: M;
  constructor(z: BoxCxCyWH, readonly pw: number, readonly vw: number) {
    this.x = [[z.cx], [z.cy], [z.w], [z.h], [0], [0], [0], [0]];
    const s = [z.w, z.h, z.w, z.h];
    this.P = diag([...s.map((v) => (2 * pw * v) ** 2), ...s.map((v) => (10 * vw * v) ** 2)]);
    this.F = eye(8);
    for (let i = 0; i < 4; i++) this.F[i]![i + 4] = 1;
    this.H = zeros(4, 8);
    for (let i = 0; i < 4; i++) this.H[i]![i] = 1;
  }
  predict(): void {
    const w = this.x[2]![0]!, h = this.x[3]![0]!;
    const s = [w, h, w, h];
    const Q = diag([...s.map((v) => (this.pw * v) ** 2), ...s.map((v) => (this.vw * v) ** 2)]);
    this.x = mul(this.F, this.x);
    this.P = add(mul(mul(this.F, this.P), tr(this.F)), Q);
  }
  update(z: BoxCxCyWH): void {
    const w = this.x[2]![0]!, h = this.x[3]![0]!;
    const R = diag([w, h, w, h].map((v) => (this.pw * v) ** 2));
    const S = add(mul(mul(this.H, this.P), tr(this.H)), R);
    const K = mul(mul(this.P, tr(this.H)), inv(S));
    const y = sub([[z.cx], [z.cy], [z.w], [z.h]], mul(this.H, this.x));
    this.x = add(this.x, mul(K, y));
    this.P = mul(sub(eye(8), mul(K, this.H)), this.P);
  }
}

describe('BoxKalmanFilter', () => {
  it('predict/update give the hand-computed numbers', () => {
    const kf = BoxKalmanFilter.fromBox({ cx: 0.5, cy: 0.5, w: 0.1, h: 0.2 });
    // Initial: var(cx) = (2·w/20)² = 1e-4, var(vcx) = (10·w/160)² = 3.90625e-5.
    expect(kf.covariance[0]).toBeCloseTo(1e-4, 15);
    expect(kf.covariance[4 * 8 + 4]).toBeCloseTo(3.90625e-5, 15);
    kf.predict();
    // var(cx) = 1e-4 + 3.90625e-5 + (w/20)² ; cov = 3.90625e-5 ; var(vcx) = 3.90625e-5 + (w/160)²
    const c = kf.covariance;
    expect(c[0]).toBeCloseTo(1.640625e-4, 15);
    expect(c[4]).toBeCloseTo(3.90625e-5, 15);
    expect(c[4 * 8]).toBeCloseTo(3.90625e-5, 15);
    expect(c[4 * 8 + 4]).toBeCloseTo(3.9453125e-5, 15);
    expect(kf.box).toEqual({ cx: 0.5, cy: 0.5, w: 0.1, h: 0.2 }); // zero initial velocity
    kf.update({ cx: 0.51, cy: 0.5, w: 0.1, h: 0.2 });
    // S = 1.640625e-4 + (w/20)² = 1.890625e-4; gains 0.8677685950…, 0.2066115702…
    expect(kf.box.cx).toBeCloseTo(0.5086776859504132, 14);
    expect(kf.velocity.vcx).toBeCloseTo(0.0020661157024793385, 14);
    const c2 = kf.covariance;
    expect(c2[0]).toBeCloseTo(2.1694214876033063e-5, 15);
    expect(c2[4]).toBeCloseTo(5.165289256198348e-6, 15);
    expect(c2[4 * 8 + 4]).toBeCloseTo(3.138236053719009e-5, 15);
    // Components that saw no innovation keep their value and get zero velocity.
    expect(kf.box.cy).toBe(0.5);
    expect(kf.velocity.vcy).toBe(0);
  });

  it('equals a dense 8×8 Kalman filter over a random sequence of predicts and updates', () => {
    const rand = rng(99);
    const start = { cx: 0.3, cy: 0.6, w: 0.12, h: 0.25 };
    const kf = BoxKalmanFilter.fromBox(start);
    const dense = new DenseKf(start, DEFAULT_KALMAN_NOISE.positionWeight, DEFAULT_KALMAN_NOISE.velocityWeight);
    let truth = { ...start };
    for (let step = 0; step < 60; step++) {
      kf.predict(); dense.predict();
      truth = { cx: truth.cx + 0.004, cy: truth.cy - 0.002, w: truth.w * 1.003, h: truth.h * 1.002 };
      if (rand() < 0.7) {
        const z = { cx: truth.cx + (rand() - 0.5) * 0.01, cy: truth.cy + (rand() - 0.5) * 0.01, w: truth.w * (1 + (rand() - 0.5) * 0.05), h: truth.h * (1 + (rand() - 0.5) * 0.05) };
        kf.update(z); dense.update(z);
      }
      const mean = kf.mean, cov = kf.covariance;
      for (let i = 0; i < 8; i++) expect(mean[i]).toBeCloseTo(dense.x[i]![0]!, 12);
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(cov[i * 8 + j]).toBeCloseTo(dense.P[i]![j]!, 14);
    }
    // And the filter tracked the motion.
    expect(kf.velocity.vcx).toBeCloseTo(0.004, 3);
    expect(kf.velocity.vcy).toBeCloseTo(-0.002, 3);
  });

  it('converges to a constant velocity and predicts ahead without changing state', () => {
    const kf = BoxKalmanFilter.fromBox({ cx: 0.1, cy: 0.5, w: 0.1, h: 0.1 });
    for (let i = 1; i <= 40; i++) { kf.predict(); kf.update({ cx: 0.1 + 0.01 * i, cy: 0.5, w: 0.1, h: 0.1 }); }
    expect(Math.abs(kf.velocity.vcx - 0.01)).toBeLessThan(5e-5);
    expect(kf.box.cx).toBeCloseTo(0.5, 3);
    const before = kf.mean;
    expect(kf.predictedBox(5).cx).toBeCloseTo(kf.box.cx + 5 * kf.velocity.vcx, 12);
    expect(kf.predictedBox(5).cx).toBeCloseTo(0.55, 3);
    expect(kf.mean).toEqual(before);
  });

  it('snapshot/restore returns to the same state', () => {
    const kf = BoxKalmanFilter.fromBox({ cx: 0.5, cy: 0.5, w: 0.1, h: 0.1 });
    kf.predict(); kf.update({ cx: 0.52, cy: 0.5, w: 0.1, h: 0.1 });
    const s = kf.snapshot();
    const mean = kf.mean, cov = kf.covariance;
    for (let i = 0; i < 5; i++) kf.predict();
    expect(kf.mean).not.toEqual(mean);
    kf.restore(s);
    expect(kf.mean).toEqual(mean);
    expect(kf.covariance).toEqual(cov);
  });

  it('never lets a predicted size reach zero', () => {
    const kf = BoxKalmanFilter.fromBox({ cx: 0.5, cy: 0.5, w: 0.05, h: 0.05 });
    kf.predict(); kf.update({ cx: 0.5, cy: 0.5, w: 0.01, h: 0.01 });
    kf.predict(); kf.update({ cx: 0.5, cy: 0.5, w: 0.001, h: 0.001 });
    for (let i = 0; i < 50; i++) kf.predict();
    expect(kf.box.w).toBeGreaterThan(0);
    expect(kf.box.h).toBeGreaterThan(0);
  });

  it('rejects bad boxes and noise with typed errors', () => {
    expect(() => BoxKalmanFilter.fromBox({ cx: NaN, cy: 0, w: 1, h: 1 })).toThrow(/Expected a finite number for box.cx but received NaN/);
    expect(() => BoxKalmanFilter.fromBox({ cx: 0, cy: 0, w: 0, h: 1 })).toThrow(InvalidArgumentError);
    expect(() => BoxKalmanFilter.fromBox({ cx: 0, cy: 0, w: 1, h: 1 }, { positionWeight: 0, velocityWeight: 1 })).toThrow(/noise.positionWeight/);
    const kf = BoxKalmanFilter.fromBox({ cx: 0, cy: 0, w: 1, h: 1 });
    expect(() => kf.update({ cx: 0, cy: 0, w: 1, h: -1 })).toThrow(/Expected a height > 0 for box.h/);
  });
});
