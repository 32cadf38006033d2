/** A seeded pseudo-random generator for tests and benchmarks. */

/**
 * A small deterministic PRNG (mulberry32): the same sequence for the same seed, on every run and
 * machine, so a test with "random" latencies, positions or noise never depends on luck.
 * @param seed - any 32-bit integer
 * @returns a function giving the next number in [0, 1)
 * @example
 * ```ts
 * const rand = seededRandom(7);
 * const delayMs = Math.floor(rand() * 5);
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
