import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nv/core';
import { InferenceError } from './errors.js';
import { TensorPool, type TensorSlot } from './tensor-pool.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('TensorPool', () => {
  it('hands out SharedArrayBuffer slots of the requested length, and the same slot (same memory) again after release', async () => {
    const pool = new TensorPool({ slots: 2 });
    const a = await pool.acquire(1000);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.data).toHaveLength(1000);
    expect(a.data.buffer).toBe(a.buffer);
    const { id, buffer } = a;
    a.release();
    expect(a.released).toBe(true);
    const b = await pool.acquire(1000);
    expect(b.id).toBe(id);
    expect(b.buffer).toBe(buffer); // no new allocation: the slot's memory is reused
    expect(pool.stats()).toMatchObject({ capacity: 2, inUse: 1, allocations: 1, acquisitions: 2 });
    b.release();
    expect(new TensorPool({ shared: false }).tryAcquire(4)!.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('never exceeds its slot count under concurrent callers: the rest wait, in FIFO order', async () => {
    const pool = new TensorPool({ slots: 3 });
    let held = 0, maxHeld = 0;
    const served: number[] = [];
    const caller = async (i: number): Promise<void> => {
      const slot = await pool.acquire(64 + i);
      served.push(i);
      held++;
      maxHeld = Math.max(maxHeld, held);
      expect(pool.stats().inUse).toBeLessThanOrEqual(3);
      slot.data.fill(i);
      await turn();
      expect(slot.data.every((v) => v === i)).toBe(true); // nobody else wrote into a held slot
      held--;
      slot.release();
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => caller(i)));
    expect(served).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxHeld).toBe(3);
    expect(pool.stats()).toMatchObject({ capacity: 3, inUse: 0, highWater: 3, waiting: 0, acquisitions: 20 });
    expect(pool.stats().allocations).toBeLessThanOrEqual(3); // 64..83 floats fit one allocation granule
  });

  it('a full pool is backpressure, not growth: tryAcquire says no, acquire waits until a release', async () => {
    const pool = new TensorPool({ slots: 1 });
    const a = pool.tryAcquire(10)!;
    expect(pool.tryAcquire(10)).toBeUndefined();
    let got: TensorSlot | undefined;
    const waiting = pool.acquire(10).then((s) => { got = s; });
    await turn();
    expect(got).toBeUndefined();
    expect(pool.stats().waiting).toBe(1);
    a.release();
    await waiting;
    expect(got!.id).toBe(a.id);
    a.release(); // a stale lease: no effect on the slot's new holder
    expect(pool.stats().inUse).toBe(1);
  });

  it('grows a free slot for a bigger tensor (the count stays), refuses one above maxSlotBytes', async () => {
    const pool = new TensorPool({ slots: 1, maxSlotBytes: 1 << 20 });
    const small = await pool.acquire(10);
    const first = small.buffer;
    small.release();
    const big = await pool.acquire(100_000);
    expect(big.buffer).not.toBe(first);
    expect(big.buffer.byteLength).toBeGreaterThanOrEqual(400_000);
    big.release();
    expect(pool.stats()).toMatchObject({ capacity: 1, allocations: 2 });
    await expect(pool.acquire((1 << 18) + 1)).rejects.toSatisfy((e: unknown) => InvalidArgumentError.isInstance(e) && /maxSlotBytes/.test((e as Error).message));
    expect(() => pool.tryAcquire(0)).toThrow(/elements/);
    expect(() => new TensorPool({ slots: 0 })).toThrow(/slots/);
  });

  it('a waiter can give up with an AbortSignal; close() fails waiters and later calls with Released', async () => {
    const pool = new TensorPool({ slots: 1 });
    const held = pool.tryAcquire(4)!;
    const ac = new AbortController();
    const aborted = pool.acquire(4, { signal: ac.signal });
    ac.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    expect(pool.stats().waiting).toBe(0);
    const waiting = pool.acquire(4);
    pool.close();
    await expect(waiting).rejects.toSatisfy((e: unknown) => InferenceError.isInstance(e) && e.kind === 'Released');
    await expect(pool.acquire(4)).rejects.toMatchObject({ kind: 'Released' });
    held.release();
    pool.close();
  });

  it('slot.input checks the dimensions and refuses a released slot', () => {
    const pool = new TensorPool();
    const s = pool.tryAcquire(12)!;
    expect(s.input([1, 3, 4])).toMatchObject({ dims: [1, 3, 4], data: s.data, slot: s });
    expect(() => s.input([2, 3, 4])).toThrow(/product is 12/);
    s.release();
    expect(() => s.input([12])).toThrow(/released/);
  });
});

describe('session options', () => {
  it('allowSpinning defaults to false (idle onnxruntime threads sleep: nv shares the cores) and must be a boolean', async () => {
    const { resolveSessionOptions } = await import('./common.js');
    expect(resolveSessionOptions(undefined, 2)).toMatchObject({ allowSpinning: false, intraOpNumThreads: 2 });
    expect(resolveSessionOptions({ allowSpinning: true }, 2).allowSpinning).toBe(true);
    expect(() => resolveSessionOptions({ allowSpinning: 'yes' as unknown as boolean }, 2)).toThrow(/session\.allowSpinning/);
  });
});
