/**
 * Columnar storage of trajectory points: one `Float64Array` row per point instead of three
 * objects (point, position, box). A long-lived trajectory otherwise keeps hundreds of
 * thousands of small objects alive, which the garbage collector copies and traces on every
 * cycle; rows cost it nothing. Points are materialized as frozen objects only when read.
 *
 * Same invariant as {@link AppendWindow}: a row below the buffer's current end is never
 * overwritten. Appending writes past the end; dropping from the front only advances `start`;
 * growth, compaction, clearing and replacement install a *new* buffer. A capture
 * (`data`, `start`, `end`) taken at any moment therefore keeps reading exactly the rows it
 * captured, in O(1) capture time.
 *
 * @packageDocumentation
 * @internal
 */

/** Floats per row. */
export const STRIDE = 8;
/** Column offsets within a row. */
export const TS = 0;
export const X = 1;
export const Y = 2;
export const X_MIN = 3;
export const Y_MIN = 4;
export const X_MAX = 5;
export const Y_MAX = 6;
/** How many compensations had been applied to the segment when the point was appended. */
export const STAMP = 7;

const MIN_ROWS = 8;

/** Growable window of point rows with O(1) append, O(1) front drop and O(1) capture. */
export class PointColumns {
  #data: Float64Array;
  #start = 0;
  #end = 0;

  /** @param rows - initial capacity in rows */
  constructor(rows = MIN_ROWS) {
    this.#data = new Float64Array(Math.max(MIN_ROWS, rows) * STRIDE);
  }

  /** Number of rows in the window. */
  get length(): number { return this.#end - this.#start; }
  /** The backing buffer (read-only use: rows in [start, end) of a capture never change). */
  get data(): Float64Array { return this.#data; }
  /** Row index of the oldest row in {@link PointColumns.data}. */
  get start(): number { return this.#start; }
  /** One past the newest row in {@link PointColumns.data}. */
  get end(): number { return this.#end; }
  /** Whether the next push installs a new (larger) buffer. */
  get full(): boolean { return (this.#end + 1) * STRIDE > this.#data.length; }
  /** Timestamp of the newest row (undefined when empty). */
  lastTs(): number | undefined { return this.#end > this.#start ? this.#data[(this.#end - 1) * STRIDE + TS] : undefined; }

  /** Appends one row. */
  push(ts: number, x: number, y: number, xMin: number, yMin: number, xMax: number, yMax: number, stamp: number): void {
    if ((this.#end + 1) * STRIDE > this.#data.length) this.#grow();
    const d = this.#data;
    const o = this.#end * STRIDE;
    d[o + TS] = ts;
    d[o + X] = x;
    d[o + Y] = y;
    d[o + X_MIN] = xMin;
    d[o + Y_MIN] = yMin;
    d[o + X_MAX] = xMax;
    d[o + Y_MAX] = yMax;
    d[o + STAMP] = stamp;
    this.#end++;
  }

  /** A new buffer twice the live size, live rows copied to its front (the old buffer stays intact for captures). */
  #grow(): void {
    const n = this.#end - this.#start;
    const next = new Float64Array(Math.max(MIN_ROWS, n * 2) * STRIDE);
    next.set(this.#data.subarray(this.#start * STRIDE, this.#end * STRIDE));
    this.#data = next;
    this.#start = 0;
    this.#end = n;
  }

  /** Drops up to `n` oldest rows. @returns how many were dropped */
  dropFront(n: number): number {
    const k = Math.min(Math.max(0, n), this.#end - this.#start);
    this.#start += k;
    return k;
  }

  /** Replaces the contents with the first `rows` rows of `data` (which the window takes ownership of). */
  replace(data: Float64Array, rows: number): void {
    this.#data = data;
    this.#start = 0;
    this.#end = rows;
  }

  /** Removes everything (a fresh buffer). */
  clear(): void {
    this.#data = new Float64Array(MIN_ROWS * STRIDE);
    this.#start = 0;
    this.#end = 0;
  }
}
