/**
 * Read-only copies of tracks and observations, so that what the store keeps (and hands to
 * stages through snapshots) can be changed neither by the producer afterwards nor by a
 * consumer.
 *
 * @packageDocumentation
 * @internal
 */
import { BBox, InvalidArgumentError, TypedMetadata, type MetadataKey } from '@nv/core';
import { TRACK_STATES, type Track, type TrackObservation, type TrackState } from '@nv/perception';

function readOnly(): never {
  throw new InvalidArgumentError('metadata', 'a mutable TypedMetadata (temporal-store metadata is read-only; clone() it to derive a copy)', 'a read-only TypedMetadata');
}

/**
 * A {@link TypedMetadata} whose `set`, `delete` and `merge` throw. `get`, `has`, `keys`,
 * `clone` (which returns an ordinary mutable copy) and `toJSON` work as usual. Values are
 * shared by reference, as with `clone()`.
 */
export class ReadonlyTypedMetadata extends TypedMetadata {
  #sealed = false;

  /** The empty read-only map. */
  static readonly EMPTY: ReadonlyTypedMetadata = ReadonlyTypedMetadata.copyOf(new TypedMetadata());

  /** A read-only copy of `src` (`src` itself when already read-only). */
  static copyOf(src: TypedMetadata): ReadonlyTypedMetadata {
    if (src instanceof ReadonlyTypedMetadata) return src;
    if (ReadonlyTypedMetadata.EMPTY !== undefined && src.isEmpty) return ReadonlyTypedMetadata.EMPTY;
    const m = new ReadonlyTypedMetadata();
    m.merge(src);
    m.#sealed = true;
    Object.freeze(m);
    return m;
  }

  /** @throws {InvalidArgumentError} always (read-only) */
  override set<T>(_key: MetadataKey<T>, _value: T): T | undefined { return readOnly(); }
  /** @throws {InvalidArgumentError} always (read-only) */
  override delete<T>(_key: MetadataKey<T>): T | undefined { return readOnly(); }
  /** @throws {InvalidArgumentError} once sealed (read-only) */
  override merge(other: TypedMetadata): this {
    if (this.#sealed) readOnly();
    return super.merge(other);
  }
}

const STATES = new Set<string>(TRACK_STATES);
/** A validated, frozen observation copy (re-freezing it is a no-op). */
class SealedObservation implements TrackObservation {
  constructor(
    readonly ts: TrackObservation['ts'],
    readonly bbox: BBox,
    readonly confidence: number,
    readonly state: TrackState,
    readonly detectionId: TrackObservation['detectionId'],
    readonly metadata: TypedMetadata,
  ) {
    Object.freeze(this);
  }
}

/** A validated, frozen track copy (re-freezing it is a no-op). */
class SealedTrack implements Track {
  constructor(
    readonly id: Track['id'],
    readonly classId: number,
    readonly state: TrackState,
    readonly current: TrackObservation,
    readonly metadata: TypedMetadata,
  ) {
    Object.freeze(this);
  }
}

function checkMetadata(name: string, m: unknown): asserts m is TypedMetadata {
  if (!(m instanceof TypedMetadata)) throw new InvalidArgumentError(name, 'a TypedMetadata', m);
}

/**
 * Validates `o` and returns a frozen copy with read-only metadata.
 * @throws {InvalidArgumentError} on a malformed observation
 */
export function freezeObservation(o: TrackObservation, name = 'observation'): TrackObservation {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError(name, 'a TrackObservation', o);
  if (o instanceof SealedObservation) return o;
  if (!(o.bbox instanceof BBox)) throw new InvalidArgumentError(`${name}.bbox`, 'a BBox', o.bbox);
  if (!STATES.has(o.state)) throw new InvalidArgumentError(`${name}.state`, `one of ${TRACK_STATES.join(', ')}`, o.state);
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts) || o.ts < 0) throw new InvalidArgumentError(`${name}.ts`, 'finite nanoseconds >= 0', o.ts);
  if (typeof o.confidence !== 'number' || !(o.confidence >= 0 && o.confidence <= 1)) {
    throw new InvalidArgumentError(`${name}.confidence`, 'a number in [0, 1]', o.confidence);
  }
  checkMetadata(`${name}.metadata`, o.metadata);
  const metadata = ReadonlyTypedMetadata.copyOf(o.metadata);
  return new SealedObservation(o.ts, o.bbox, o.confidence, o.state, o.detectionId, metadata);
}

/**
 * Validates `t` and returns a frozen copy (frozen observation, read-only metadata).
 * @throws {InvalidArgumentError} on a malformed track
 */
export function freezeTrack(t: Track): Track {
  if (typeof t !== 'object' || t === null) throw new InvalidArgumentError('track', 'a Track', t);
  if (t instanceof SealedTrack) return t;
  if (!Number.isSafeInteger(t.id) || t.id < 0) throw new InvalidArgumentError('track.id', 'a non-negative safe integer', t.id);
  if (!Number.isSafeInteger(t.classId) || t.classId < 0) throw new InvalidArgumentError('track.classId', 'a non-negative integer', t.classId);
  if (!STATES.has(t.state)) throw new InvalidArgumentError('track.state', `one of ${TRACK_STATES.join(', ')}`, t.state);
  checkMetadata('track.metadata', t.metadata);
  const current = freezeObservation(t.current, 'track.current');
  const metadata = ReadonlyTypedMetadata.copyOf(t.metadata);
  return new SealedTrack(t.id, t.classId, t.state, current, metadata);
}
