import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { ctcGreedyDecode, trimCtcResult } from './ctc.js';
import { ctcCharset, loadDictionary, parseDictionary } from './keys.js';
import { defaultOcrModelPaths } from './models.js';

// labels: 0 blank, 1 'a', 2 'b', 3 'c', 4 ' '
const cs = ctcCharset(['a', 'b', 'c']);

/** One row per timestep: the arg-max label gets `p`, the rest share 1 − p. */
function steps(labels: readonly number[], p: number | readonly number[] = 0.9): Float32Array {
  const C = cs.labels.length;
  const out = new Float32Array(labels.length * C);
  labels.forEach((l, t) => {
    const pt = typeof p === 'number' ? p : p[t]!;
    for (let c = 0; c < C; c++) out[t * C + c] = c === l ? pt : (1 - pt) / (C - 1);
  });
  return out;
}

describe('ctcGreedyDecode', () => {
  it('collapses repeats and removes blanks', () => {
    expect(ctcGreedyDecode(steps([1, 1, 0, 2, 2, 2, 0, 0, 3]), 9, 5, cs).text).toBe('abc');
  });

  it('keeps a repeated character separated by a blank', () => {
    expect(ctcGreedyDecode(steps([1, 0, 1, 1, 0, 1]), 6, 5, cs).text).toBe('aaa');
    expect(ctcGreedyDecode(steps([2, 2, 2]), 3, 5, cs).text).toBe('b');
  });

  it('decodes the space label', () => {
    expect(ctcGreedyDecode(steps([1, 4, 4, 2]), 4, 5, cs).text).toBe('a b');
  });

  it('confidence is the mean max probability of the kept timesteps only', () => {
    const r = ctcGreedyDecode(steps([1, 1, 0, 2], [0.8, 0.2 + 0.7, 0.99, 0.6]), 4, 5, cs);
    expect(r.text).toBe('ab');
    // kept: t0 (a, 0.8), t3 (b, 0.6); t1 repeats a, t2 is blank
    expect(r.charConfidences).toHaveLength(2);
    expect(r.confidence).toBeCloseTo(0.7, 6);
  });

  it('an all-blank sequence is empty text with confidence 0', () => {
    const r = ctcGreedyDecode(steps([0, 0, 0]), 3, 5, cs);
    expect(r).toEqual({ text: '', confidence: 0, chars: [], charConfidences: [] });
    expect(ctcGreedyDecode(new Float32Array(0), 0, 5, cs).text).toBe('');
  });

  it('trimming drops edge spaces and their probabilities, keeps inner ones', () => {
    const r = ctcGreedyDecode(steps([4, 1, 4, 2, 4], [0.5, 0.9, 0.8, 0.7, 0.6]), 5, 5, cs);
    expect(r.text).toBe(' a b ');
    const t = trimCtcResult(r);
    expect(t.text).toBe('a b');
    expect(t.confidence).toBeCloseTo(0.8, 6);
    expect(trimCtcResult(t)).toBe(t);
    expect(trimCtcResult(ctcGreedyDecode(steps([4, 4]), 2, 5, cs)).text).toBe('');
  });

  it('rejects shapes that do not match the data or the charset', () => {
    expect(() => ctcGreedyDecode(steps([1, 2]), 2, 6, cs)).toThrow(InvalidArgumentError);
    expect(() => ctcGreedyDecode(steps([1, 2]), 3, 5, cs)).toThrow(InvalidArgumentError);
    expect(() => ctcGreedyDecode(steps([1, 2]), -1, 5, cs)).toThrow(InvalidArgumentError);
  });
});

describe('dictionary / charset', () => {
  it('parses one entry per line, with or without a trailing newline, CRLF too', () => {
    expect(parseDictionary('a\nb\nc\n')).toEqual(['a', 'b', 'c']);
    expect(parseDictionary('a\nb\nc')).toEqual(['a', 'b', 'c']);
    expect(parseDictionary('a\r\nb\r\n')).toEqual(['a', 'b']);
    expect(parseDictionary(' \nx\n')).toEqual([' ', 'x']);
  });

  it('rejects empty dictionaries and empty lines', () => {
    expect(() => parseDictionary('')).toThrow(InvalidArgumentError);
    expect(() => parseDictionary('\n')).toThrow(InvalidArgumentError);
    expect(() => parseDictionary('a\n\nb\n')).toThrow(/dictionary line 2/);
  });

  it('builds PaddleOCR labels: blank first, space last', () => {
    expect(ctcCharset(['x', 'y']).labels).toEqual(['', 'x', 'y', ' ']);
    expect(ctcCharset(['x', 'y'], false).labels).toEqual(['', 'x', 'y']);
    expect(ctcCharset(['x']).blank).toBe(0);
  });

  it('loads ppocr_keys_v1.txt: 6623 entries, 6625 labels, ASCII where PaddleOCR puts it', () => {
    const dict = loadDictionary(defaultOcrModelPaths().dictionary);
    expect(dict).toHaveLength(6623);
    const labels = ctcCharset(dict).labels;
    expect(labels).toHaveLength(6625);
    expect(labels[6624]).toBe(' ');
    for (const ch of 'KA01B234MHXY9876TNCD5') expect(labels.indexOf(ch)).toBeGreaterThan(0);
    expect(new Set(dict).size).toBeGreaterThan(6500);
  });
});
