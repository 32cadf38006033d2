/**
 * {@link OwnedFrame}: a {@link FrameEnvelope} over plain JS memory, for synthetic frames,
 * tests, and the results of conversions.
 *
 * @packageDocumentation
 */
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import { adoptUint8Array, checkAdoptable, detachArrayBuffer, isUint8Array } from './buffers.js';
import { DataAccess, Residency } from './frame-envelope.js';
import { RefCountedFrame } from './frame-base.js';
import { validateHeader } from './frame-header.js';
import type { FrameHeader, FrameHeaderInit } from './frame-header.js';
import { layoutByteLength, planeCount, planeLayout } from './pixel-format.js';
import type { FramePlane } from './pixel-format.js';

/**
 * Arguments of {@link createOwnedFrame}. Give exactly one of `data` (all planes in one
 * buffer) or `planes` (one buffer per plane).
 */
export interface OwnedFrameInit extends FrameHeaderInit {
  /** Every plane in one buffer, at `offsets` (default: consecutive from 0). */
  readonly data?: Uint8Array;
  /** One buffer per plane, each starting at the plane's first row. */
  readonly planes?: readonly Uint8Array[];
  /** Per-plane row strides in bytes (default: tightly packed). */
  readonly strides?: readonly number[];
  /** Per-plane byte offsets into `data` (only with `data`; default: consecutive from 0). */
  readonly offsets?: readonly number[];
  /**
   * `false` (default): the pixels are copied into memory the frame owns; the caller's arrays
   * stay untouched and usable.
   * `true`: zero-copy — the frame takes the caller's ArrayBuffer(s) over (each given array
   * must cover its whole, non-shared ArrayBuffer); the caller's arrays are detached at once
   * and must no longer be used.
   */
  readonly transferOwnership?: boolean;
}

const CONSTRUCT = Symbol('OwnedFrame.construct');

/** @internal What an OwnedFrame is built from: validated header, layout, and owned memory. */
export interface OwnedFrameParts {
  readonly header: FrameHeader;
  readonly planes: readonly FramePlane[];
  /** The owned memory: one view per buffer; either one buffer (contiguous) or one per plane. */
  readonly buffers: readonly Uint8Array[];
}

/**
 * A reference-counted frame over memory it owns exclusively (`residency: 'host'`,
 * `dataAccess: 'hostReadable'`). Create it with {@link createOwnedFrame}; conversions
 * ({@link convertFrame}) return one too.
 *
 * At the last {@link OwnedFrame.release} its ArrayBuffers are detached, so every view it
 * handed out reads as length 0.
 */
export class OwnedFrame extends RefCountedFrame {
  /** {@inheritDoc FrameEnvelope.planes} */
  readonly planes: readonly FramePlane[];
  /** Always `'host'`. */
  readonly residency: Residency = Residency.Host;
  /** Always `'hostReadable'`. */
  readonly dataAccess: DataAccess = DataAccess.HostReadable;
  /** Always `undefined`: owned frames live in host memory. */
  readonly deviceHandle: undefined = undefined;
  /** {@inheritDoc FrameEnvelope.isContiguous} */
  readonly isContiguous: boolean;

  #buffers: Uint8Array[];
  #views: Uint8Array[];
  /**
   * Not for direct use: call {@link createOwnedFrame}.
   * @internal
   */
  constructor(token: symbol, parts: OwnedFrameParts) {
    super(checkToken(token, parts.header));
    this.planes = parts.planes;
    this.#buffers = [...parts.buffers];
    this.isContiguous = parts.buffers.length === 1;
    this.#views = parts.planes.map((p, i) => {
      const b = this.isContiguous ? parts.buffers[0]! : parts.buffers[i]!;
      return b.subarray(p.offset, p.offset + p.size);
    });
  }

  /** Detaches the owned ArrayBuffers: every view handed out reads as length 0. */
  protected freeMemory(): void {
    for (const b of this.#buffers) detachArrayBuffer(b.buffer as ArrayBuffer);
    this.#buffers = [];
    this.#views = [];
  }

  /** {@inheritDoc FrameEnvelope.plane} */
  plane(index: number): Uint8Array {
    this.checkAccess(index);
    return this.#views[index]!;
  }

  /** {@inheritDoc FrameEnvelope.hostData} */
  hostData(): Uint8Array {
    this.checkAccess();
    if (!this.isContiguous) throw FrameAccessError.invalidLayout('planes are in separate buffers; use plane(i)');
    return this.#buffers[0]!;
  }
}

function checkToken(token: symbol, header: FrameHeader): FrameHeader {
  if (token !== CONSTRUCT) throw new InvalidArgumentError('OwnedFrame constructor', 'a call through createOwnedFrame()', 'a direct call');
  return header;
}

/**
 * @internal Builds an OwnedFrame over freshly allocated, already-owned memory (no validation
 * of the layout beyond what the caller guarantees). Used by conversions.
 */
export function ownedFrameFromParts(parts: OwnedFrameParts): OwnedFrame {
  return new OwnedFrame(CONSTRUCT, parts);
}

/**
 * Creates a host frame over memory it owns, with one reference.
 *
 * The layout is validated: strides must be at least a row, planes must not overlap, and the
 * given buffer(s) must hold every plane (`offset + stride × height` bytes).
 *
 * @param init - header fields plus `data` or `planes` (see {@link OwnedFrameInit})
 * @returns a new {@link OwnedFrame} with `refCount` 1
 * @throws {InvalidArgumentError} for bad header fields, both/neither of `data` and `planes`,
 *   a non-Uint8Array buffer, the wrong number of planes, `offsets` with `planes`, or a
 *   buffer that cannot be transferred under `transferOwnership`
 * @throws {FrameAccessError} (`InvalidLayout`) when strides, offsets or buffer sizes do not
 *   fit the format and dimensions
 * @example
 * ```ts
 * const frame = createOwnedFrame({
 *   feedId: 1, seq: 0, ts: 0, width: 2, height: 1, format: 'RGB8',
 *   data: Uint8Array.of(255, 0, 0, 0, 255, 0),
 * });
 * frame.plane(0)[0];   // 255
 * frame.release();     // views now read as length 0
 * ```
 */
export function createOwnedFrame(init: OwnedFrameInit): OwnedFrame {
  const header = validateHeader(init);
  const { format, width, height } = header;
  const n = planeCount(format);
  const transfer = init.transferOwnership ?? false;
  if (typeof transfer !== 'boolean') throw new InvalidArgumentError('transferOwnership', 'a boolean', transfer);
  const hasData = init.data !== undefined;
  const hasPlanes = init.planes !== undefined;
  if (hasData === hasPlanes) {
    throw new InvalidArgumentError('data/planes', 'exactly one of data or planes', hasData ? 'both' : 'neither');
  }

  if (hasData) {
    const data: unknown = init.data;
    if (!isUint8Array(data)) throw new InvalidArgumentError('data', 'a Uint8Array', data);
    const planes = planeLayout(format, width, height, { strides: init.strides, offsets: init.offsets });
    const need = layoutByteLength(planes);
    if (data.byteLength < need) {
      throw FrameAccessError.invalidLayout(`${format} ${width}x${height}: data has ${data.byteLength} bytes, the layout needs ${need}`);
    }
    const own = transfer ? adoptUint8Array('data', data) : data.slice();
    return new OwnedFrame(CONSTRUCT, { header, planes, buffers: [own] });
  }

  const given: unknown = init.planes;
  if (!Array.isArray(given) || given.length !== n) {
    throw new InvalidArgumentError('planes', `an array of ${n} Uint8Array(s) for ${format}`, given);
  }
  if (init.offsets !== undefined) {
    throw new InvalidArgumentError('offsets', 'no offsets when planes are given separately', init.offsets);
  }
  const packed = planeLayout(format, width, height, { strides: init.strides });
  for (let i = 0; i < n; i++) {
    const p: unknown = given[i];
    if (!isUint8Array(p)) throw new InvalidArgumentError(`planes[${i}]`, 'a Uint8Array', p);
    const need = packed[i]!.size;
    if (p.byteLength < need) {
      throw FrameAccessError.invalidLayout(`${format} ${width}x${height}: plane ${i} has ${p.byteLength} bytes, it needs ${need}`);
    }
  }
  const arrays = given as Uint8Array[];
  if (transfer) {
    const seen = new Set<unknown>();
    for (const [i, p] of arrays.entries()) {
      if (seen.has(p.buffer)) {
        throw new InvalidArgumentError(`planes[${i}]`, 'a plane in its own ArrayBuffer when transferring ownership (use data + offsets for a shared buffer)', 'a shared buffer');
      }
      seen.add(p.buffer);
      checkAdoptable(`planes[${i}]`, p); // all checked before any is detached
    }
    const owned = arrays.map((p, i) => adoptUint8Array(`planes[${i}]`, p));
    const planes = Object.freeze(packed.map((p) => Object.freeze({ ...p, offset: 0 })));
    return new OwnedFrame(CONSTRUCT, { header, planes, buffers: owned });
  }
  const own = new Uint8Array(layoutByteLength(packed));
  for (let i = 0; i < n; i++) {
    const p = packed[i]!;
    own.set(arrays[i]!.subarray(0, p.size), p.offset);
  }
  return new OwnedFrame(CONSTRUCT, { header, planes: packed, buffers: [own] });
}
