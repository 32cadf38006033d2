/**
 * Greedy CTC decoding of a recognition model's per-timestep class probabilities.
 */
import { InvalidArgumentError } from '@nv/core';
import type { CtcCharset } from './keys.js';

/** One decoded string. */
export interface CtcResult {
  /** The text: labels of the kept timesteps, repeats collapsed, blanks removed. */
  readonly text: string;
  /** Mean of the kept timesteps' maximum probabilities, in [0, 1]; 0 when `text` is empty. */
  readonly confidence: number;
  /** The kept labels' strings (usually one character each), in order; `chars.join('') === text`. */
  readonly chars: readonly string[];
  /** The kept labels' probabilities, one per entry of `chars`. */
  readonly charConfidences: readonly number[];
}

/**
 * Greedy (best-path) CTC decoding, as PaddleOCR's `CTCLabelDecode`: take the arg-max label at
 * every timestep, drop a label equal to the previous timestep's label (collapse repeats), drop
 * blanks, map the rest through the charset. A blank between two equal labels keeps both
 * (`a, blank, a` → `aa`).
 *
 * @param probs - row-major `[timesteps, classes]` probabilities (one sequence; a view is fine)
 * @param timesteps - number of rows
 * @param classes - number of columns; must equal `charset.labels.length`
 * @param charset - the label table
 * @returns the text and its confidence
 * @throws {InvalidArgumentError} when the shape does not match `probs` or the charset
 * @example
 * ```ts
 * // labels ['', 'a', 'b', ' ']; steps: a a blank a b → "aab"
 * ctcGreedyDecode(probs, 5, 4, ctcCharset(['a', 'b'])).text // 'aab'
 * ```
 */
export function ctcGreedyDecode(probs: ArrayLike<number>, timesteps: number, classes: number, charset: CtcCharset): CtcResult {
  if (!Number.isInteger(timesteps) || timesteps < 0) throw new InvalidArgumentError('timesteps', 'a non-negative integer', timesteps);
  if (classes !== charset.labels.length) throw new InvalidArgumentError('classes', `${charset.labels.length} (the charset's label count)`, classes);
  if (probs.length < timesteps * classes) throw new InvalidArgumentError('probs', `at least ${timesteps * classes} values`, probs.length);
  const labels = charset.labels;
  const blank = charset.blank;
  const chars: string[] = [];
  const confs: number[] = [];
  let prev = -1;
  for (let t = 0; t < timesteps; t++) {
    const row = t * classes;
    let best = 0;
    let bestP = probs[row]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c]!;
      if (p > bestP) { bestP = p; best = c; }
    }
    if (best !== blank && best !== prev) {
      chars.push(labels[best]!);
      confs.push(bestP);
    }
    prev = best;
  }
  return result(chars, confs);
}

function result(chars: readonly string[], confs: readonly number[]): CtcResult {
  let sum = 0;
  for (const c of confs) sum += c;
  return { text: chars.join(''), confidence: confs.length === 0 ? 0 : sum / confs.length, chars, charConfidences: confs };
}

/**
 * Drops leading and trailing whitespace labels (a crop with margin often decodes a space at
 * either end) and recomputes the confidence over the labels that remain.
 * @param r - a decoded result
 * @returns the trimmed result (`r` itself when there is nothing to trim)
 * @example
 * ```ts
 * trimCtcResult(ctcGreedyDecode(...)).text // 'AB 12' rather than ' AB 12 '
 * ```
 */
export function trimCtcResult(r: CtcResult): CtcResult {
  let a = 0, b = r.chars.length;
  while (a < b && r.chars[a]!.trim() === '') a++;
  while (b > a && r.chars[b - 1]!.trim() === '') b--;
  if (a === 0 && b === r.chars.length) return r;
  return result(r.chars.slice(a, b), r.charConfidences.slice(a, b));
}
