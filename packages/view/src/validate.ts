/**
 * Internal validation helpers (not exported from the package).
 * @internal
 */
import { InvalidArgumentError } from '@nv/core';

/** Throws unless `v` is a finite number. @internal */
export function checkFinite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(name, 'a finite number', v);
  return v;
}

/** Throws unless `v` is a finite number in `[lo, hi]`. @internal */
export function checkRange(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new InvalidArgumentError(name, `a finite number in [${lo}, ${hi}]`, v);
  }
  return v;
}

/** Throws unless `v` is a finite number `>= 0` (or `> 0` when `strict`). @internal */
export function checkNonNegative(name: string, v: unknown, strict = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (strict && v === 0)) {
    throw new InvalidArgumentError(name, strict ? 'a finite number > 0' : 'a finite number >= 0', v);
  }
  return v;
}

/** Throws unless `v` is a non-negative safe integer. @internal */
export function checkCount(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(name, 'a non-negative safe integer', v);
  }
  return v;
}

/** Whether `v` is a non-null object (arrays included). @internal */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Readable description of a value for error messages. @internal */
export function describeValue(v: unknown): string {
  if (typeof v === 'number') return `${v}`;
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
