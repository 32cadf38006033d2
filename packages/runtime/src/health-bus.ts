/**
 * Fan-out of health events to listeners and bounded async-iterator subscribers.
 */
import type { HealthEvent } from '@nv/core';

/** A bounded async iterator over health events. */
export interface HealthSubscription extends AsyncIterableIterator<HealthEvent> {
  /** Events this subscriber lost because its buffer was full (oldest dropped first). */
  readonly lost: number;
  /** Ends the subscription. */
  close(): void;
}

/** @internal */
export class HealthBus {
  readonly #listeners = new Set<(e: HealthEvent) => void>();
  readonly #subs = new Set<Sub>();
  #closedLost = 0;
  constructor(readonly capacity: number) {}

  /** Events dropped by full subscriber buffers, over all subscriptions (closed ones included). */
  get lost(): number {
    let n = this.#closedLost;
    for (const s of this.#subs) n += s.lost;
    return n;
  }

  emit(e: HealthEvent): void {
    for (const l of this.#listeners) {
      try { l(e); } catch { /* a listener must never break a feed */ }
    }
    for (const s of this.#subs) s.push(e);
  }
  on(listener: (e: HealthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  subscribe(): HealthSubscription {
    const s = new Sub(this.capacity, () => { this.#closedLost += s.lost; this.#subs.delete(s); });
    this.#subs.add(s);
    return s;
  }
  closeAll(): void { for (const s of [...this.#subs]) s.close(); }
}

class Sub implements HealthSubscription {
  readonly #buf: HealthEvent[] = [];
  #waiter: ((r: IteratorResult<HealthEvent>) => void) | undefined;
  #closed = false;
  lost = 0;
  constructor(readonly capacity: number, readonly onClose: () => void) {}
  push(e: HealthEvent): void {
    if (this.#closed) return;
    const w = this.#waiter;
    if (w) { this.#waiter = undefined; w({ value: e, done: false }); return; }
    if (this.#buf.length >= this.capacity) { this.#buf.shift(); this.lost++; }
    this.#buf.push(e);
  }
  next(): Promise<IteratorResult<HealthEvent>> {
    const e = this.#buf.shift();
    if (e) return Promise.resolve({ value: e, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((r) => { this.#waiter = r; });
  }
  return(): Promise<IteratorResult<HealthEvent>> { this.close(); return Promise.resolve({ value: undefined, done: true }); }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
  }
  [Symbol.asyncIterator](): this { return this; }
}
