/**
 * A typed, heterogeneous map: one value per typed key.
 *
 * Keys are created with {@link metadataKey}; each key carries the type of its value, so
 * `get(key)` is typed without casts. Two keys with the same name are still different keys
 * (identity, like Rust's `TypeId` per type), which keeps independent stages from colliding.
 */

/** A typed key. Create with {@link metadataKey}. */
export interface MetadataKey<T> {
  /** Name for debugging and serialization. Not used for identity. */
  readonly name: string;
  /** Phantom: the value type. */
  readonly __type?: T;
}

/**
 * Creates a new key. Keep the returned object and share it between writer and reader.
 * @param name - descriptive name, e.g. `'plate.text'`
 * @example
 * ```ts
 * const Plate = metadataKey<{ text: string }>('plate');
 * meta.set(Plate, { text: 'AB123' });
 * meta.get(Plate)?.text // 'AB123'
 * ```
 */
export function metadataKey<T>(name: string): MetadataKey<T> {
  return Object.freeze({ name }) as MetadataKey<T>;
}

/** Shared empty map for iterating an unset metadata. */
const NO_ENTRIES: ReadonlyMap<MetadataKey<unknown>, unknown> = new Map();

/**
 * A typed map with last-writer-wins merge.
 *
 * Clone semantics: {@link TypedMetadata.clone} copies the map (adding or removing keys in the
 * clone does not affect the original) but shares the values by reference — values are not
 * deep-copied. Store immutable values (or treat them as immutable once stored).
 */
export class TypedMetadata {
  /** Created on the first write: most metadata (one per detection, track and observation) stays empty. */
  #map: Map<MetadataKey<unknown>, unknown> | undefined;

  /** An empty map. */
  static empty(): TypedMetadata { return new TypedMetadata(); }

  /**
   * Sets `key` to `value`.
   * @returns the previous value, if any
   */
  set<T>(key: MetadataKey<T>, value: T): T | undefined {
    const m = (this.#map ??= new Map());
    const prev = m.get(key) as T | undefined;
    m.set(key, value);
    return prev;
  }
  /** The value for `key`, or `undefined`. */
  get<T>(key: MetadataKey<T>): T | undefined { return this.#map?.get(key) as T | undefined; }
  /** Whether `key` has a value. */
  has(key: MetadataKey<unknown>): boolean { return this.#map?.has(key) === true; }
  /**
   * Removes `key`.
   * @returns the removed value, if any
   */
  delete<T>(key: MetadataKey<T>): T | undefined {
    const m = this.#map;
    if (m === undefined) return undefined;
    const prev = m.get(key) as T | undefined;
    m.delete(key);
    return prev;
  }
  /** Number of keys. */
  get size(): number { return this.#map?.size ?? 0; }
  /** Whether it has no keys. */
  get isEmpty(): boolean { return this.size === 0; }
  /** Keys in insertion order. */
  keys(): IterableIterator<MetadataKey<unknown>> { return (this.#map ?? NO_ENTRIES).keys(); }
  /**
   * Copies every entry of `other` into this map; on a shared key `other`'s value wins
   * (last writer wins). `other` is not modified.
   * @returns this
   */
  merge(other: TypedMetadata): this {
    const o = other.#map;
    if (o === undefined || o.size === 0) return this;
    const m = (this.#map ??= new Map());
    for (const [k, v] of o) m.set(k, v);
    return this;
  }
  /** A new map with the same entries (values shared by reference). */
  clone(): TypedMetadata {
    const c = new TypedMetadata();
    if (this.#map !== undefined && this.#map.size > 0) c.#map = new Map(this.#map);
    return c;
  }
  /** Debug/JSON form: `{ [key.name]: value }` (later keys with a duplicate name win). */
  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    if (this.#map !== undefined) for (const [k, v] of this.#map) o[k.name] = v;
    return o;
  }
}
