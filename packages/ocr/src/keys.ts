/**
 * The recognition alphabet: PaddleOCR's character dictionary (`ppocr_keys_v1.txt`, one
 * character per line) turned into the CTC label table the recognition model predicts over.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@nv/core';

/** The CTC label table of a recognition model: label `i` decodes to `labels[i]`. */
export interface CtcCharset {
  /** Label → string. Label 0 is the CTC blank (`''`); the last label is `' '` when `hasSpace`. */
  readonly labels: readonly string[];
  /** Index of the blank label (always 0, as in PaddleOCR). */
  readonly blank: number;
  /** Whether a space label was appended after the dictionary (PaddleOCR's `use_space_char`). */
  readonly hasSpace: boolean;
}

/**
 * Parses a PaddleOCR dictionary: one entry per line (`\n` or `\r\n`), used verbatim (a line
 * holding one space is the space character). A single trailing newline ends the last line and
 * does not add an empty entry.
 * @param text - the dictionary file's contents
 * @returns the entries, in file order
 * @throws {InvalidArgumentError} when the dictionary is empty or has an empty line
 * @example
 * ```ts
 * parseDictionary('a\nb\nc\n') // ['a', 'b', 'c']
 * ```
 */
export function parseDictionary(text: string): string[] {
  if (typeof text !== 'string') throw new InvalidArgumentError('dictionary', 'a string', text);
  const body = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (body.length === 0) throw new InvalidArgumentError('dictionary', 'at least one entry', '(empty)');
  const lines = body.split(/\r?\n/);
  const empty = lines.findIndex((l) => l.length === 0);
  if (empty >= 0) throw new InvalidArgumentError(`dictionary line ${empty + 1}`, 'a non-empty entry', '(empty line)');
  return lines;
}

/**
 * Builds the CTC label table PaddleOCR uses: `[blank, ...dictionary, ' '?]`.
 * @param dictionary - entries from {@link parseDictionary}
 * @param withSpace - append the space label (PP-OCR recognition models are trained with it; default true)
 * @returns the label table
 * @example
 * ```ts
 * const cs = ctcCharset(['a', 'b']); // labels: ['', 'a', 'b', ' ']
 * ```
 */
export function ctcCharset(dictionary: readonly string[], withSpace = true): CtcCharset {
  const labels = Object.freeze(['', ...dictionary, ...(withSpace ? [' '] : [])]);
  return Object.freeze({ labels, blank: 0, hasSpace: withSpace });
}

/**
 * Reads a PaddleOCR dictionary file.
 * @param path - e.g. `ppocr_keys_v1.txt`
 * @returns its entries (see {@link parseDictionary})
 * @throws {Error} the file-system error when the file cannot be read
 * @throws {InvalidArgumentError} when it is not a valid dictionary
 */
export function loadDictionary(path: string): string[] {
  return parseDictionary(readFileSync(path, 'utf8'));
}
