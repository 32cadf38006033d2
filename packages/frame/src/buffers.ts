/**
 * Internal ArrayBuffer helpers: ownership transfer and detachment.
 *
 * Node 20 has no `ArrayBuffer.prototype.transfer`, so we fall back to
 * `structuredClone(buf, { transfer: [buf] })`, which moves the backing store into a new
 * ArrayBuffer (no copy) and detaches the original: every view over it then has length 0.
 *
 * @internal
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';

type Transferable = ArrayBuffer & { transfer?: (this: ArrayBuffer) => ArrayBuffer };

/**
 * Moves `buf`'s memory into a new ArrayBuffer and detaches `buf`.
 * @internal
 * @returns the new owner of the memory
 */
export function transferArrayBuffer(buf: ArrayBuffer): ArrayBuffer {
  const t = (buf as Transferable).transfer;
  if (typeof t === 'function') return t.call(buf);
  return structuredClone(buf, { transfer: [buf] });
}

/**
 * Detaches `buf` so that every view over it reads as length 0. Idempotent.
 * @internal
 */
export function detachArrayBuffer(buf: ArrayBuffer): void {
  if (buf.byteLength === 0) return; // already detached (or empty: nothing to protect)
  transferArrayBuffer(buf);
}

/** @internal Whether `v` is a Uint8Array (including Node's Buffer), from any realm. */
export function isUint8Array(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array || Object.prototype.toString.call(v) === '[object Uint8Array]';
}

/**
 * Checks that the memory under `view` can be taken over: the view must cover its whole
 * ArrayBuffer (offset 0, full length) and that buffer must be a plain (non-shared) ArrayBuffer.
 * @internal
 * @throws {InvalidArgumentError} otherwise
 */
export function checkAdoptable(argument: string, view: Uint8Array): void {
  const buf = view.buffer;
  if (Object.prototype.toString.call(buf) !== '[object ArrayBuffer]') {
    throw new InvalidArgumentError(argument, 'a Uint8Array over a transferable ArrayBuffer (not a SharedArrayBuffer)', Object.prototype.toString.call(buf));
  }
  if (view.byteOffset !== 0 || view.byteLength !== buf.byteLength) {
    throw new InvalidArgumentError(
      argument,
      'a Uint8Array covering its whole ArrayBuffer when transferring ownership (pooled Node Buffers and subarrays cannot be transferred)',
      `a view of ${view.byteLength} bytes at offset ${view.byteOffset} into ${buf.byteLength}`,
    );
  }
}

/**
 * Takes ownership of the memory under `view` (see {@link checkAdoptable}); the caller's
 * buffer is detached and the returned view is over the moved memory.
 * @internal
 * @throws {InvalidArgumentError} when the view is not adoptable or the transfer fails
 */
export function adoptUint8Array(argument: string, view: Uint8Array): Uint8Array {
  checkAdoptable(argument, view);
  try {
    return new Uint8Array(transferArrayBuffer(view.buffer as ArrayBuffer));
  } catch (cause) {
    throw new InvalidArgumentError(argument, 'a transferable ArrayBuffer', String(cause));
  }
}
