/**
 * A bounded pool of tensor slots. A caller acquires a slot, writes its input tensor straight
 * into the slot's `Float32Array`, and hands it to a run; the slot comes back when the run
 * settles. Slots are `SharedArrayBuffer`s by default, so a worker sees the same memory — no
 * copy crosses threads. The pool never grows past its slot count: when every slot is out,
 * `acquire` waits (FIFO) — that is the backpressure.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import { InferenceError } from './errors.js';
import type { InferenceInput, SlotLease } from './tensor.js';

/** Options of a {@link TensorPool}. */
export interface TensorPoolOptions {
  /** Number of slots: at most this many tensors exist at once. Default 2. */
  readonly slots?: number;
  /** Largest slot in bytes; a bigger request is refused. Default 256 MiB. */
  readonly maxSlotBytes?: number;
  /** `SharedArrayBuffer` slots (default `true`); `false`: plain `ArrayBuffer`s (one thread only). */
  readonly shared?: boolean;
}

/** A pool's state. */
export interface TensorPoolStats {
  /** The slot bound. */
  readonly capacity: number;
  /** Slots handed out now. */
  readonly inUse: number;
  /** The most slots ever handed out at once (never above `capacity`). */
  readonly highWater: number;
  /** Callers waiting in `acquire`. */
  readonly waiting: number;
  /** Bytes allocated across slots. */
  readonly allocatedBytes: number;
  /** Acquisitions so far. */
  readonly acquisitions: number;
  /** Slot buffers (re)allocated because a request was larger than every free slot. */
  readonly allocations: number;
}

/** Options of {@link TensorPool.acquire}. */
export interface AcquireOptions {
  /** Gives up waiting: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

const DEFAULT_SLOTS = 2;
const DEFAULT_MAX_SLOT_BYTES = 256 * 1024 * 1024;
/** Slot buffers are rounded up to this, so slightly different sizes reuse a slot. */
const GRANULE = 64 * 1024;

interface Slot {
  readonly id: number;
  buffer: SharedArrayBuffer | ArrayBuffer | undefined;
  lease: TensorSlot | undefined;
}

interface Waiter {
  readonly elements: number;
  readonly resolve: (s: TensorSlot) => void;
  readonly reject: (e: unknown) => void;
  readonly cleanup: () => void;
}

/**
 * One acquired slot: a `Float32Array` of exactly the requested length over the slot's
 * buffer. Write the tensor into {@link TensorSlot.data}, then pass {@link TensorSlot.input}
 * to a run (which releases the slot when it settles), or call {@link TensorSlot.release}.
 * The contents are whatever the previous user left: write every element (or `fill(0)`).
 */
export class TensorSlot implements SlotLease {
  /** The slot's index in its pool (the same slot keeps its id and, when big enough, its buffer). */
  readonly id: number;
  /** The slot's buffer (`SharedArrayBuffer` unless the pool is not shared). */
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  /** The tensor's values: `elements` floats from the start of `buffer`. */
  readonly data: Float32Array;
  readonly #pool: TensorPool;
  #released = false;

  /** @internal Created by {@link TensorPool.acquire}. */
  constructor(pool: TensorPool, id: number, buffer: SharedArrayBuffer | ArrayBuffer, elements: number) {
    this.#pool = pool;
    this.id = id;
    this.buffer = buffer;
    this.data = new Float32Array(buffer, 0, elements);
  }

  /** Whether the slot went back to the pool. */
  get released(): boolean { return this.#released; }

  /**
   * This slot as a run input: the run takes the slot over and releases it when it settles.
   * @param dims - tensor dimensions; their product must be `data.length`
   * @returns `{ dims, data, slot }`
   * @throws {InvalidArgumentError} when the dimensions do not fit, or the slot was released
   * @example
   * ```ts
   * await model.run({ images: slot.input([1, 3, 640, 640]) });
   * ```
   */
  input(dims: readonly number[]): InferenceInput {
    if (this.#released) throw new InvalidArgumentError('slot', 'a slot that is still held', 'a released slot');
    const n = dims.reduce((a, d) => a * d, 1);
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0) || n !== this.data.length) {
      throw new InvalidArgumentError('dims', `non-negative integers whose product is ${this.data.length}`, `[${dims.join(', ')}]`);
    }
    return Object.freeze({ dims: Object.freeze([...dims]), data: this.data, slot: this });
  }

  /** Returns the slot to its pool (idempotent). Do not touch `data` afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#pool._return(this);
  }
}

/**
 * A bounded pool of tensor slots (see the module description).
 *
 * Bound: at most `slots` tensors of at most `maxSlotBytes` each, so the pool never holds
 * more than `slots × maxSlotBytes`. A slot's buffer is allocated on first use and replaced
 * by a larger one only when a request does not fit any free slot.
 *
 * @example
 * ```ts
 * const pool = new TensorPool({ slots: 2 });
 * const slot = await pool.acquire(3 * 640 * 640);   // waits while both slots are out
 * preprocessor.run(frame, slot.data);
 * await model.run({ images: slot.input([1, 3, 640, 640]) });   // released when settled
 * ```
 */
export class TensorPool {
  /** The slot bound. */
  readonly capacity: number;
  /** Largest slot in bytes. */
  readonly maxSlotBytes: number;
  /** Whether slots are `SharedArrayBuffer`s. */
  readonly shared: boolean;
  readonly #slots: Slot[];
  readonly #waiters: Waiter[] = [];
  #inUse = 0;
  #highWater = 0;
  #acquisitions = 0;
  #allocations = 0;
  #closed = false;

  /**
   * @param options - see {@link TensorPoolOptions}
   * @throws {InvalidArgumentError} on a non-positive slot count or size
   */
  constructor(options: TensorPoolOptions = {}) {
    const slots = options.slots ?? DEFAULT_SLOTS;
    if (!Number.isSafeInteger(slots) || slots < 1 || slots > 1024) throw new InvalidArgumentError('slots', 'an integer in [1, 1024]', slots);
    const max = options.maxSlotBytes ?? DEFAULT_MAX_SLOT_BYTES;
    if (!Number.isSafeInteger(max) || max < 4) throw new InvalidArgumentError('maxSlotBytes', 'an integer ≥ 4', max);
    this.capacity = slots;
    this.maxSlotBytes = max;
    this.shared = options.shared ?? true;
    this.#slots = Array.from({ length: slots }, (_, id) => ({ id, buffer: undefined, lease: undefined }));
  }

  /**
   * A slot of `elements` floats; waits (FIFO) while every slot is out.
   * @param elements - tensor length in floats
   * @param options - an abort signal
   * @returns the slot
   * @throws {InvalidArgumentError} when `elements` is not a positive integer or exceeds `maxSlotBytes`
   * @throws {InferenceError} `Released` when the pool is (or gets) closed
   */
  acquire(elements: number, options: AcquireOptions = {}): Promise<TensorSlot> {
    try {
      this.#check(elements);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#closed) return Promise.reject(InferenceError.released('tensor pool'));
    const now = this.#take(elements);
    if (now) return Promise.resolve(now);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<TensorSlot>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = { elements, resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * A slot now, or `undefined` when every slot is out (or the pool is closed).
   * @param elements - tensor length in floats
   * @returns the slot, or `undefined`
   * @throws {InvalidArgumentError} when `elements` is not a positive integer or exceeds `maxSlotBytes`
   */
  tryAcquire(elements: number): TensorSlot | undefined {
    this.#check(elements);
    return this.#take(elements);
  }

  /** @returns the pool's state */
  stats(): TensorPoolStats {
    let bytes = 0;
    for (const s of this.#slots) bytes += s.buffer?.byteLength ?? 0;
    return Object.freeze({
      capacity: this.capacity, inUse: this.#inUse, highWater: this.#highWater, waiting: this.#waiters.length,
      allocatedBytes: bytes, acquisitions: this.#acquisitions, allocations: this.#allocations,
    });
  }

  /**
   * Closes the pool: waiting and later `acquire` calls fail with `Released`; slots still out
   * stay usable until released, then their memory is dropped. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = InferenceError.released('tensor pool');
    for (const w of this.#waiters.splice(0)) { w.cleanup(); w.reject(err); }
  }

  /** @internal Called by {@link TensorSlot.release}. */
  _return(lease: TensorSlot): void {
    const slot = this.#slots[lease.id];
    if (!slot || slot.lease !== lease) return;
    slot.lease = undefined;
    this.#inUse--;
    if (this.#closed) { slot.buffer = undefined; return; }
    const w = this.#waiters.shift();
    if (w) {
      w.cleanup();
      w.resolve(this.#lease(slot, w.elements));
    }
  }

  #check(elements: number): void {
    if (!Number.isSafeInteger(elements) || elements < 1) throw new InvalidArgumentError('elements', 'a positive integer', elements);
    if (elements * 4 > this.maxSlotBytes) {
      throw new InvalidArgumentError('elements', `at most ${Math.floor(this.maxSlotBytes / 4)} floats (maxSlotBytes ${this.maxSlotBytes})`, elements);
    }
  }

  #take(elements: number): TensorSlot | undefined {
    if (this.#closed) return undefined;
    if (this.#waiters.length > 0) return undefined; // FIFO: nobody overtakes a waiter
    const bytes = elements * 4;
    let fit: Slot | undefined, any: Slot | undefined;
    for (const s of this.#slots) {
      if (s.lease) continue;
      const len = s.buffer?.byteLength ?? 0;
      if (len >= bytes && (!fit || len < fit.buffer!.byteLength)) fit = s;
      if (!any || len > (any.buffer?.byteLength ?? 0)) any = s;
    }
    const slot = fit ?? any;
    return slot ? this.#lease(slot, elements) : undefined;
  }

  #lease(slot: Slot, elements: number): TensorSlot {
    const bytes = elements * 4;
    if (!slot.buffer || slot.buffer.byteLength < bytes) {
      const size = Math.min(this.maxSlotBytes, Math.ceil(bytes / GRANULE) * GRANULE);
      slot.buffer = this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
      this.#allocations++;
    }
    const lease = new TensorSlot(this, slot.id, slot.buffer, elements);
    slot.lease = lease;
    this.#inUse++;
    this.#acquisitions++;
    if (this.#inUse > this.#highWater) this.#highWater = this.#inUse;
    return lease;
  }
}
