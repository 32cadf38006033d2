/**
 * {@link DeviceFrame}: a {@link FrameEnvelope} whose pixels live in CUDA memory, described
 * by a {@link CudaFrameHandle}, with an optional host materializer. Use it to exercise code
 * paths for `mappableToHost` and `opaque` frames without a GPU; the native addon provides
 * its own implementation of the same interface.
 *
 * @packageDocumentation
 */
import { FrameAccessError, InvalidArgumentError } from '@nv/core';
import { detachArrayBuffer, isUint8Array } from './buffers.js';
import { DataAccess, Residency } from './frame-envelope.js';
import type { CudaFrameHandle } from './frame-envelope.js';
import { RefCountedFrame } from './frame-base.js';
import { validateHeader } from './frame-header.js';
import type { FrameHeader, FrameHeaderInit } from './frame-header.js';
import { layoutByteLength, planeCount, planeLayout } from './pixel-format.js';
import type { FramePlane, PixelFormat } from './pixel-format.js';

/** Arguments of {@link createDeviceFrame}. */
export interface DeviceFrameInit extends FrameHeaderInit {
  /** Where the pixels are on the device. Validated against the format and dimensions. */
  readonly handle: CudaFrameHandle;
  /**
   * Copies the pixels to host memory. Called at most once per frame, on the first host
   * access; its result — or its failure — is cached. It must return every plane in one
   * buffer laid out as `strides`/`offsets` say (default tightly packed). The frame copies the
   * result into memory it owns, so the returned array may be reused by the caller.
   * Without a materializer the frame is `opaque`.
   */
  readonly materialize?: () => Uint8Array;
  /** Row strides of the materialized host buffer (default: tightly packed). */
  readonly strides?: readonly number[];
  /** Plane offsets in the materialized host buffer (default: consecutive from 0). */
  readonly offsets?: readonly number[];
}

type HostCache = { readonly ok: true; readonly data: Uint8Array; readonly views: readonly Uint8Array[] } | { readonly ok: false; readonly error: FrameAccessError };

const CONSTRUCT = Symbol('DeviceFrame.construct');

function checkBigint(argument: string, v: unknown, min: bigint): bigint {
  if (typeof v !== 'bigint' || v < min) throw new InvalidArgumentError(argument, `a bigint >= ${min}`, typeof v === 'bigint' ? `${v}n` : v);
  return v;
}

function checkIntList(argument: string, v: unknown, n: number, min: number): readonly number[] {
  if (!Array.isArray(v) || v.length !== n) throw new InvalidArgumentError(argument, `an array of ${n} integer(s)`, v);
  for (const [i, x] of (v as unknown[]).entries()) {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`${argument}[${i}]`, `a safe integer >= ${min}`, x);
  }
  return v as readonly number[];
}

function validateHandle(format: PixelFormat, width: number, height: number, h: unknown): CudaFrameHandle {
  if (typeof h !== 'object' || h === null) throw new InvalidArgumentError('handle', 'a CudaFrameHandle', h);
  const r = h as Record<string, unknown>;
  const devicePtr = checkBigint('handle.devicePtr', r['devicePtr'], 1n);
  const stream = checkBigint('handle.stream', r['stream'], 0n);
  const deviceId = r['deviceId'];
  if (typeof deviceId !== 'number' || !Number.isSafeInteger(deviceId) || deviceId < 0) {
    throw new InvalidArgumentError('handle.deviceId', 'a non-negative integer', deviceId);
  }
  const size = r['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    throw new InvalidArgumentError('handle.size', 'a positive safe integer', size);
  }
  const n = planeCount(format);
  const pitches = checkIntList('handle.pitches', r['pitches'], n, 1);
  const planeOffsets = checkIntList('handle.planeOffsets', r['planeOffsets'], n, 0);
  // Reuses the host layout rules: pitches ≥ row bytes, planes do not overlap.
  const device = planeLayout(format, width, height, { strides: pitches, offsets: planeOffsets });
  const need = layoutByteLength(device);
  if (size < need) throw FrameAccessError.invalidLayout(`device buffer of ${size} bytes; the pitches and offsets need ${need}`);
  return Object.freeze({
    devicePtr,
    pitches: Object.freeze(device.map((p) => p.stride)),
    planeOffsets: Object.freeze(device.map((p) => p.offset)),
    size,
    deviceId,
    stream,
  });
}

/**
 * A reference-counted CUDA-resident frame (`residency: 'cuda'`). `dataAccess` is
 * `'mappableToHost'` with a materializer, `'opaque'` without. Create it with
 * {@link createDeviceFrame}.
 *
 * Host access (`plane`, `hostData`) runs the materializer once and caches the outcome:
 * later calls return the same views, or throw the same `MaterializationFailed` error.
 * At the last release the cached host copy is detached and `onRelease` runs.
 */
export class DeviceFrame extends RefCountedFrame {
  /** Layout of the *materialized host* buffer (see {@link DeviceFrameInit.strides}). */
  readonly planes: readonly FramePlane[];
  /** Always `'cuda'`. */
  readonly residency: Residency = Residency.Cuda;
  /** `'mappableToHost'` with a materializer, else `'opaque'`. */
  readonly dataAccess: DataAccess;
  /** The device memory handle (frozen copy of the one given). */
  readonly deviceHandle: CudaFrameHandle;
  /** Always true: the materialized host copy is one buffer. */
  readonly isContiguous = true;

  #materialize: (() => Uint8Array) | undefined;
  #materializing = false;
  #cache: HostCache | undefined;

  /**
   * Not for direct use: call {@link createDeviceFrame}.
   * @internal
   */
  constructor(token: symbol, init: DeviceFrameInit) {
    super(checkInit(token, init));
    this.deviceHandle = validateHandle(this.format, this.width, this.height, init.handle);
    this.planes = planeLayout(this.format, this.width, this.height, { strides: init.strides, offsets: init.offsets });
    this.#materialize = init.materialize;
    this.dataAccess = init.materialize === undefined ? DataAccess.Opaque : DataAccess.MappableToHost;
  }

  /** Detaches the cached host copy and drops the materializer. */
  protected freeMemory(): void {
    if (this.#cache?.ok === true) detachArrayBuffer(this.#cache.data.buffer as ArrayBuffer);
    this.#cache = undefined;
    this.#materialize = undefined;
  }

  /** {@inheritDoc FrameEnvelope.plane} */
  plane(index: number): Uint8Array {
    this.checkAccess(index);
    return this.#host().views[index]!;
  }

  /** {@inheritDoc FrameEnvelope.hostData} */
  hostData(): Uint8Array {
    this.checkAccess();
    return this.#host().data;
  }

  #host(): { data: Uint8Array; views: readonly Uint8Array[] } {
    if (this.dataAccess === DataAccess.Opaque) {
      throw FrameAccessError.notHostAccessible(`${this.format} frame in CUDA memory has no host materializer`);
    }
    if (this.#cache === undefined) {
      if (this.#materializing) throw FrameAccessError.materializationFailed('materializer re-entered host access of its own frame');
      this.#materializing = true;
      try {
        this.#cache = this.#runMaterializer();
      } finally {
        this.#materializing = false;
      }
      if (this.isReleased) {
        // The materializer released the frame: do not keep (or hand out) the host copy.
        if (this.#cache.ok) detachArrayBuffer(this.#cache.data.buffer as ArrayBuffer);
        this.#cache = undefined;
        throw FrameAccessError.released();
      }
    }
    if (!this.#cache.ok) throw this.#cache.error;
    return this.#cache;
  }

  #runMaterializer(): HostCache {
    const fn = this.#materialize!;
    let out: unknown;
    try {
      out = fn();
    } catch (cause) {
      const error = FrameAccessError.isInstance(cause) && cause.kind === 'MaterializationFailed'
        ? cause
        : FrameAccessError.materializationFailed(`materializer threw: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
      return { ok: false, error };
    }
    if (!isUint8Array(out)) {
      return { ok: false, error: FrameAccessError.materializationFailed(`materializer returned ${Object.prototype.toString.call(out)}, not a Uint8Array`) };
    }
    const need = layoutByteLength(this.planes);
    if (out.byteLength < need) {
      return { ok: false, error: FrameAccessError.materializationFailed(`materializer returned ${out.byteLength} bytes; the ${this.format} ${this.width}x${this.height} layout needs ${need}`) };
    }
    const data = out.slice(); // our own buffer, so release can detach it
    const views = Object.freeze(this.planes.map((p) => data.subarray(p.offset, p.offset + p.size)));
    return { ok: true, data, views };
  }
}

function checkInit(token: symbol, init: DeviceFrameInit): FrameHeader {
  if (token !== CONSTRUCT) throw new InvalidArgumentError('DeviceFrame constructor', 'a call through createDeviceFrame()', 'a direct call');
  const h = validateHeader(init);
  if (init.materialize !== undefined && typeof init.materialize !== 'function') {
    throw new InvalidArgumentError('materialize', 'a function', init.materialize);
  }
  return h;
}

/**
 * Creates a CUDA-resident frame with one reference. No device memory is touched: the
 * handle is only validated and carried.
 *
 * @param init - header fields, the device handle, and an optional host materializer
 * @returns a new {@link DeviceFrame}
 * @throws {InvalidArgumentError} for bad header fields or handle fields (null pointer,
 *   pitch/offset arrays of the wrong length, negative device id…)
 * @throws {FrameAccessError} (`InvalidLayout`) when pitches are smaller than a row, device
 *   planes overlap, or `handle.size` cannot hold them
 * @example
 * ```ts
 * const frame = createDeviceFrame({
 *   feedId: 1, seq: 0, ts: 0, width: 4, height: 2, format: 'NV12',
 *   handle: { devicePtr: 0x7f00_0000n, pitches: [512, 512], planeOffsets: [0, 1024], size: 1536, deviceId: 0, stream: 0n },
 *   materialize: () => copyFromDevice(),   // runs once, on the first plane()/hostData()
 * });
 * frame.dataAccess;   // 'mappableToHost'
 * ```
 */
export function createDeviceFrame(init: DeviceFrameInit): DeviceFrame {
  return new DeviceFrame(CONSTRUCT, init);
}
