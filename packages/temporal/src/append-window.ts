/**
 * An append-only window over a backing array, the building block that lets snapshots share
 * data with the live store without copying.
 *
 * Invariant: an element stored at an index below the backing array's current length is never
 * overwritten. Appending grows the array; dropping from the front only advances `start`;
 * compaction, clearing and replacement install a *new* array. A {@link WindowCapture} taken
 * at any moment therefore keeps seeing exactly the elements it captured, for as long as it
 * lives, in O(1) capture time.
 *
 * @packageDocumentation
 * @internal
 */

/** Compaction happens once at least this many dropped slots lead the backing array. */
const COMPACT_MIN = 32;

const EMPTY: readonly never[] = Object.freeze([]);

/** A frozen copy of `buf[start, end)` (a shared empty array when empty). */
export function frozenSlice<T>(buf: readonly T[], start: number, end: number): readonly T[] {
  return start >= end ? (EMPTY as readonly T[]) : Object.freeze(buf.slice(start, end));
}

/** Immutable view of `buf[start, end)` as it was when captured. */
export class WindowCapture<T> {
  readonly #buf: readonly T[];
  readonly #start: number;
  readonly #end: number;
  #frozen: readonly T[] | undefined;

  /**
   * @param buf - the backing array (elements below `end` must never change)
   * @param start - index of the oldest captured element
   * @param end - one past the newest captured element
   */
  constructor(buf: readonly T[], start: number, end: number) {
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }

  /** Number of captured elements. */
  get length(): number { return this.#end - this.#start; }

  /** Element `i` (0 = oldest), or undefined when out of range. */
  at(i: number): T | undefined {
    return Number.isInteger(i) && i >= 0 && i < this.#end - this.#start ? this.#buf[this.#start + i] : undefined;
  }

  /** A frozen array of the captured elements, materialized on first call and cached. */
  toFrozenArray(): readonly T[] {
    return (this.#frozen ??= frozenSlice(this.#buf, this.#start, this.#end));
  }
}


/** Growable window with O(1) append, amortized O(1) front drop, O(1) capture. */
export class AppendWindow<T> {
  #buf: T[] = [];
  #start = 0;

  /** Number of elements in the window. */
  get length(): number { return this.#buf.length - this.#start; }

  /** Element `i` (0 = oldest); caller guarantees `0 <= i < length`. */
  at(i: number): T { return this.#buf[this.#start + i]!; }

  /** Oldest element. */
  first(): T | undefined { return this.#start < this.#buf.length ? this.#buf[this.#start] : undefined; }

  /** Newest element. */
  last(): T | undefined { return this.#start < this.#buf.length ? this.#buf[this.#buf.length - 1] : undefined; }

  /** Appends `x`. */
  push(x: T): void { this.#buf.push(x); }

  /** Drops up to `n` oldest elements. @returns how many were dropped */
  dropFront(n: number): number {
    const k = Math.min(Math.max(0, n), this.length);
    if (k === 0) return 0;
    this.#start += k;
    if (this.#start === this.#buf.length) {
      this.#buf = [];
      this.#start = 0;
    } else if (this.#start >= COMPACT_MIN && this.#start * 2 >= this.#buf.length) {
      this.#buf = this.#buf.slice(this.#start);
      this.#start = 0;
    }
    return k;
  }

  /** Replaces the contents with `items` (which the window takes ownership of). */
  replace(items: T[]): void {
    this.#buf = items;
    this.#start = 0;
  }

  /** Removes everything. */
  clear(): void {
    this.#buf = [];
    this.#start = 0;
  }

  /** A fresh copy of the elements, oldest first. */
  toArray(): T[] { return this.#buf.slice(this.#start); }

  /** The backing array (read-only use: capture together with {@link AppendWindow.start} and its current length). */
  get buffer(): readonly T[] { return this.#buf; }

  /** Index of the oldest element in {@link AppendWindow.buffer}. */
  get start(): number { return this.#start; }

  /** O(1) immutable capture of the current elements. */
  capture(): WindowCapture<T> { return new WindowCapture(this.#buf, this.#start, this.#buf.length); }
}
