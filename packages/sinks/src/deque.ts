/**
 * A fixed-capacity ring buffer with both ends open: push at the tail, take or put back at the
 * head. O(1) each; it never grows.
 *
 * @internal
 */
export class Deque<T> {
  readonly #ring: (T | undefined)[];
  #head = 0;
  #size = 0;

  /** @param capacity - slots, at least 1 */
  constructor(capacity: number) {
    this.#ring = new Array<T | undefined>(capacity);
  }

  /** Items held. */
  get size(): number { return this.#size; }
  /** Slots in all. */
  get capacity(): number { return this.#ring.length; }
  /** Whether every slot is taken. */
  get full(): boolean { return this.#size === this.#ring.length; }

  /** Adds at the tail. The caller makes room first (see {@link Deque.full}). */
  push(item: T): void {
    if (this.full) throw new RangeError('deque full');
    this.#ring[(this.#head + this.#size) % this.#ring.length] = item;
    this.#size++;
  }

  /** Puts back at the head (it becomes the next {@link Deque.shift}). The caller makes room first. */
  unshift(item: T): void {
    if (this.full) throw new RangeError('deque full');
    this.#head = (this.#head - 1 + this.#ring.length) % this.#ring.length;
    this.#ring[this.#head] = item;
    this.#size++;
  }

  /** Takes from the head. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#size--;
    return item;
  }

  /** Takes from the tail. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const i = (this.#head + this.#size - 1) % this.#ring.length;
    const item = this.#ring[i];
    this.#ring[i] = undefined;
    this.#size--;
    return item;
  }

  /** The head, without taking it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#ring[this.#head];
  }

  /** Empties it. @returns what it held, head first */
  drain(): T[] {
    const out: T[] = [];
    for (let x = this.shift(); x !== undefined; x = this.shift()) out.push(x);
    return out;
  }
}
