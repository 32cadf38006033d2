/**
 * Constant-velocity Kalman filter on boxes.
 *
 * State: `[cx, cy, w, h, vcx, vcy, vw, vh]` — box centre, width and height (normalized frame
 * coordinates) and their velocities per frame step. Measurement: `[cx, cy, w, h]`.
 *
 * Noise follows the scale-dependent scheme popularized by DeepSORT/BoT-SORT: standard
 * deviations are a fraction of the box size, width for the horizontal components and height
 * for the vertical ones, so a small distant object and a large near one are tracked with
 * the same relative tolerance. Process noise Q, measurement noise R and the initial
 * covariance are diagonal and the transition F couples each component only with its own
 * velocity, so the 8×8 covariance stays block-diagonal: the filter is exactly four
 * independent 2-state filters (position, velocity), which is how it is stored and computed
 * (12 numbers instead of 64, no matrix inverse). {@link BoxKalmanFilter.covariance} expands
 * it back to the full matrix.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';

/** A box as the filter sees it: centre, width, height (normalized coordinates). */
export interface BoxCxCyWH {
  /** Horizontal centre. */
  readonly cx: number;
  /** Vertical centre. */
  readonly cy: number;
  /** Width (> 0). */
  readonly w: number;
  /** Height (> 0). */
  readonly h: number;
}

/** Noise weights of {@link BoxKalmanFilter}, as fractions of the box size. */
export interface KalmanNoise {
  /**
   * Position noise weight (default 1/20): the process noise of each of cx, cy, w, h and the
   * measurement noise are `positionWeight × size` (standard deviation per frame step).
   */
  readonly positionWeight: number;
  /** Velocity noise weight (default 1/160): process noise of the velocities is `velocityWeight × size`. */
  readonly velocityWeight: number;
}

/** The default {@link KalmanNoise} (DeepSORT's weights). */
export const DEFAULT_KALMAN_NOISE: KalmanNoise = Object.freeze({ positionWeight: 1 / 20, velocityWeight: 1 / 160 });

/** Smallest width/height the filter keeps (a prediction never collapses a box to zero or below). */
const MIN_SIZE = 1e-6;

/** A copy of a filter's state, see {@link BoxKalmanFilter.snapshot}. */
export interface KalmanSnapshot {
  /** `[cx, cy, w, h, vcx, vcy, vw, vh]`. */
  readonly mean: Float64Array;
  /** Per component k: `[var(pos_k), cov(pos_k, vel_k), var(vel_k)]`, k = cx, cy, w, h. */
  readonly blocks: Float64Array;
}

/**
 * A constant-velocity Kalman filter on one box (see the module header for the model).
 *
 * @example
 * ```ts
 * const kf = BoxKalmanFilter.fromBox({ cx: 0.5, cy: 0.5, w: 0.1, h: 0.2 });
 * kf.predict();
 * kf.update({ cx: 0.51, cy: 0.5, w: 0.1, h: 0.2 });
 * kf.box      // filtered box
 * kf.velocity // per frame step
 * ```
 */
export class BoxKalmanFilter {
  /** `[cx, cy, w, h, vcx, vcy, vw, vh]`. */
  readonly #x = new Float64Array(8);
  /** Per component k (cx, cy, w, h): P[k][k], P[k][k+4], P[k+4][k+4] at 3k, 3k+1, 3k+2. */
  readonly #p = new Float64Array(12);
  readonly #pw: number;
  readonly #vw: number;

  private constructor(noise: KalmanNoise) {
    this.#pw = noise.positionWeight;
    this.#vw = noise.velocityWeight;
  }

  /**
   * A filter initialized on a first measurement: zero velocity, position standard deviation
   * `2 × positionWeight × size`, velocity standard deviation `10 × velocityWeight × size`.
   * @param box - the first measurement
   * @param noise - noise weights (default {@link DEFAULT_KALMAN_NOISE})
   * @throws {InvalidArgumentError} on a non-finite box, a non-positive size, or a non-positive noise weight
   */
  static fromBox(box: BoxCxCyWH, noise: KalmanNoise = DEFAULT_KALMAN_NOISE): BoxKalmanFilter {
    checkBox(box);
    if (!(noise.positionWeight > 0) || !Number.isFinite(noise.positionWeight)) {
      throw new InvalidArgumentError('noise.positionWeight', 'a finite number > 0', noise.positionWeight);
    }
    if (!(noise.velocityWeight > 0) || !Number.isFinite(noise.velocityWeight)) {
      throw new InvalidArgumentError('noise.velocityWeight', 'a finite number > 0', noise.velocityWeight);
    }
    const f = new BoxKalmanFilter(noise);
    const x = f.#x, p = f.#p;
    x[0] = box.cx; x[1] = box.cy; x[2] = box.w; x[3] = box.h;
    for (let k = 0; k < 4; k++) {
      const s = k % 2 === 0 ? box.w : box.h;
      const sp = 2 * f.#pw * s, sv = 10 * f.#vw * s;
      p[3 * k] = sp * sp;
      p[3 * k + 1] = 0;
      p[3 * k + 2] = sv * sv;
    }
    return f;
  }

  /** The current box estimate (a fresh object). */
  get box(): BoxCxCyWH {
    const x = this.#x;
    return { cx: x[0]!, cy: x[1]!, w: x[2]!, h: x[3]! };
  }

  /** Velocity of the centre, width and height, in normalized units per frame step (a fresh object). */
  get velocity(): { readonly vcx: number; readonly vcy: number; readonly vw: number; readonly vh: number } {
    const x = this.#x;
    return { vcx: x[4]!, vcy: x[5]!, vw: x[6]!, vh: x[7]! };
  }

  /** A copy of the state mean `[cx, cy, w, h, vcx, vcy, vw, vh]`. */
  get mean(): Float64Array { return Float64Array.from(this.#x); }

  /** The full 8×8 covariance, row-major (a fresh array). */
  get covariance(): Float64Array {
    const c = new Float64Array(64);
    const p = this.#p;
    for (let k = 0; k < 4; k++) {
      c[k * 8 + k] = p[3 * k]!;
      c[k * 8 + k + 4] = p[3 * k + 1]!;
      c[(k + 4) * 8 + k] = p[3 * k + 1]!;
      c[(k + 4) * 8 + k + 4] = p[3 * k + 2]!;
    }
    return c;
  }

  /**
   * Advances one frame step: `x ← F x`, `P ← F P Fᵀ + Q`, with Q computed from the box size
   * before the step. A width or height that would fall to zero or below keeps its previous
   * value and its velocity is set to zero.
   */
  predict(): void {
    const x = this.#x, p = this.#p;
    const w = x[2]!, h = x[3]!;
    for (let k = 0; k < 4; k++) {
      const s = k % 2 === 0 ? w : h;
      const qp = this.#pw * s, qv = this.#vw * s;
      const a = p[3 * k]!, b = p[3 * k + 1]!, c = p[3 * k + 2]!;
      p[3 * k] = a + 2 * b + c + qp * qp;
      p[3 * k + 1] = b + c;
      p[3 * k + 2] = c + qv * qv;
      x[k] = x[k]! + x[k + 4]!;
    }
    for (let k = 2; k < 4; k++) {
      if (x[k]! < MIN_SIZE) { x[k] = Math.max(MIN_SIZE, x[k]! - x[k + 4]!); x[k + 4] = 0; }
    }
  }

  /**
   * Corrects the estimate with a measured box: `K = P Hᵀ (H P Hᵀ + R)⁻¹`, `x ← x + K (z − H x)`,
   * `P ← (I − K H) P`, with R computed from the predicted box size.
   * @param z - the measured box
   * @throws {InvalidArgumentError} on a non-finite box or a non-positive size
   */
  update(z: BoxCxCyWH): void {
    checkBox(z);
    const x = this.#x, p = this.#p;
    const w = x[2]!, h = x[3]!;
    const zs = [z.cx, z.cy, z.w, z.h];
    for (let k = 0; k < 4; k++) {
      const s = k % 2 === 0 ? w : h;
      const r = (this.#pw * s) ** 2;
      const a = p[3 * k]!, b = p[3 * k + 1]!, c = p[3 * k + 2]!;
      const S = a + r;
      const kp = a / S, kv = b / S;
      const y = zs[k]! - x[k]!;
      x[k] = x[k]! + kp * y;
      x[k + 4] = x[k + 4]! + kv * y;
      p[3 * k] = a - kp * a;
      p[3 * k + 1] = b - kp * b;
      p[3 * k + 2] = c - kv * b;
    }
    if (x[2]! < MIN_SIZE) x[2] = MIN_SIZE;
    if (x[3]! < MIN_SIZE) x[3] = MIN_SIZE;
  }

  /** The box `steps` frame steps ahead under constant velocity, without changing the filter. */
  predictedBox(steps = 1): BoxCxCyWH {
    const x = this.#x;
    return {
      cx: x[0]! + steps * x[4]!, cy: x[1]! + steps * x[5]!,
      w: Math.max(MIN_SIZE, x[2]! + steps * x[6]!), h: Math.max(MIN_SIZE, x[3]! + steps * x[7]!),
    };
  }

  /**
   * A copy of the current state, to {@link BoxKalmanFilter.restore} later (OC-SORT's re-update
   * needs it).
   * @param into - an earlier snapshot to overwrite instead of allocating a new one
   * @returns `into` (filled) or a new snapshot
   */
  snapshot(into?: KalmanSnapshot): KalmanSnapshot {
    if (into === undefined) return { mean: Float64Array.from(this.#x), blocks: Float64Array.from(this.#p) };
    into.mean.set(this.#x);
    into.blocks.set(this.#p);
    return into;
  }

  /** Returns the filter to a state taken with {@link BoxKalmanFilter.snapshot}. */
  restore(s: KalmanSnapshot): void {
    this.#x.set(s.mean);
    this.#p.set(s.blocks);
  }
}

function checkBox(b: BoxCxCyWH): void {
  for (const k of ['cx', 'cy', 'w', 'h'] as const) {
    if (!Number.isFinite(b[k])) throw new InvalidArgumentError(`box.${k}`, 'a finite number', b[k]);
  }
  if (!(b.w > 0)) throw new InvalidArgumentError('box.w', 'a width > 0', b.w);
  if (!(b.h > 0)) throw new InvalidArgumentError('box.h', 'a height > 0', b.h);
}
