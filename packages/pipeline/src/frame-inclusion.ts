/**
 * {@link FrameSampler}: which outputs carry their frame.
 */
import { FrameInclusionSchema, NS_PER_MS, parseConfig, type FrameInclusion } from '@nv/core';

const NEVER = 0;
const ALWAYS = 1;
const EVERY_NTH = 2;
const TARGET_FPS = 3;

/**
 * A slot boundary this close (in periods) counts as reached: frame timestamps are integer
 * nanoseconds, so `k` frames of a 30 fps source end 1 ns short of `k/30` s.
 */
const SLOT_TOLERANCE = 1e-6;

/**
 * Decides, output by output in frame order, whether an output carries its frame — the one
 * implementation of {@link FrameInclusion} (runtime feeds and the test harness both use it
 * through `FrameStep`):
 * - `never` / `always`;
 * - `{ everyNth: N }` keeps the N-th, 2N-th, 3N-th… output (1-based, as the reference does;
 *   nv 0.1 kept the 0th, N-th, 2N-th…);
 * - `{ targetFps: f }` decides by the frame's `ts` (media time, so it is deterministic and the
 *   same live or offline): the first output of each period `1/f` after the first output's `ts`
 *   is kept — the first at or after `origin + k/f` for k = 1, 2, 3…; a slow source (or a gap)
 *   gets one frame per output, never a burst.
 *
 * The first output is never included (for any `N ≥ 2` or any `f`), like the reference's sampled
 * inclusion. State lives for the sampler's life: a feed keeps counting across restarts (its
 * timeline stays monotonic, so `ts` keeps rising).
 *
 * @example
 * ```ts
 * const s = new FrameSampler({ everyNth: 3 });
 * [0, 1, 2, 3, 4, 5].map((i) => s.include(i * 33_333_333)); // [false, false, true, false, false, true]
 * const fps = new FrameSampler({ targetFps: 10 }); // 30 fps in → frames 3, 6, 9… (0-based) out
 * ```
 */
export class FrameSampler {
  /** The inclusion rule, as given. */
  readonly inclusion: FrameInclusion;
  readonly #mode: number;
  readonly #n: number;
  readonly #periodNs: number;
  #count = 0;
  #origin = Number.NaN;
  #slot = 0;

  /**
   * @param inclusion - the rule (default `never`)
   * @throws {ConfigError} `InvalidConfig` naming `frameInclusion` for an invalid rule
   */
  constructor(inclusion: FrameInclusion = 'never') {
    const r = parseConfig(FrameInclusionSchema, inclusion, 'frameInclusion', 'frameInclusion');
    this.inclusion = inclusion;
    if (r === 'never') { this.#mode = NEVER; this.#n = 0; this.#periodNs = 0; }
    else if (r === 'always') { this.#mode = ALWAYS; this.#n = 0; this.#periodNs = 0; }
    else if ('everyNth' in r) { this.#mode = EVERY_NTH; this.#n = r.everyNth; this.#periodNs = 0; }
    else { this.#mode = TARGET_FPS; this.#n = 0; this.#periodNs = (1000 * NS_PER_MS) / r.targetFps; }
  }

  /**
   * Whether the next output, of a frame at `ts`, carries its frame. Call once per output, in order.
   * @param ts - the frame's timestamp (ns); used by `targetFps` only
   * @returns true to include the frame
   */
  include(ts: number): boolean {
    switch (this.#mode) {
      case NEVER: return false;
      case ALWAYS: return true;
      case EVERY_NTH: return ++this.#count % this.#n === 0;
      default: {
        if (Number.isNaN(this.#origin)) { this.#origin = ts; return false; }
        const slot = Math.floor((ts - this.#origin) / this.#periodNs + SLOT_TOLERANCE);
        if (slot <= this.#slot) return false;
        this.#slot = slot;
        return true;
      }
    }
  }
}
