/**
 * Read-only copies of tracks and observations, so that what the store keeps (and hands to
 * stages through snapshots) can be changed neither by the producer afterwards nor by a
 * consumer.
 *
 * Freezing is deferred to hand-out ("publishing"): `Object.freeze` costs far more than the
 * allocation it protects, and most stored copies are never read by anyone. The store never
 * mutates a copy; every path that hands one out of the package calls {@link publishTrack} /
 * {@link publishObservation} first, so everything a consumer can reach is frozen.
 *
 * @packageDocumentation
 * @internal
 */
import { BBox, InvalidArgumentError, TypedMetadata, type MetadataKey } from '@nv/core';
import { TRACK_STATES, type Track, type TrackObservation, type TrackState } from '@nv/perception';
import { frozenSlice } from './append-window.js';

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

/** Whether `s` is a {@link TrackState} (comparisons: cheaper than a set lookup on the commit path). */
function isTrackState(s: unknown): s is TrackState {
  return s === 'confirmed' || s === 'tentative' || s === 'coasted' || s === 'lost';
}
/** A validated observation copy (re-freezing it is a no-op); frozen when published. @internal */
export class SealedObservation implements TrackObservation {
  constructor(
    readonly ts: TrackObservation['ts'],
    readonly bbox: BBox,
    readonly confidence: number,
    readonly state: TrackState,
    readonly detectionId: TrackObservation['detectionId'],
    readonly metadata: TypedMetadata,
  ) {}

  /** Freezes this copy (once). @returns this */
  publish(): this {
    if (!Object.isFrozen(this)) {
      Object.freeze(this);
    }
    return this;
  }
}

/** A validated track copy (re-freezing it is a no-op); frozen, with its observation, when published. @internal */
export class SealedTrack implements Track {
  constructor(
    readonly id: Track['id'],
    readonly classId: number,
    readonly state: TrackState,
    readonly current: SealedObservation,
    readonly metadata: TypedMetadata,
  ) {}

  /** Freezes this copy and its observation (once). @returns this */
  publish(): this {
    if (!Object.isFrozen(this)) {
      this.current.publish();
      Object.freeze(this);
    }
    return this;
  }
}

/**
 * Freezes a stored track (and its observation) before it leaves the package.
 * @internal
 */
export function publishTrack(t: Track): Track {
  return t instanceof SealedTrack ? t.publish() : t;
}

/**
 * Freezes a stored observation before it leaves the package.
 * @internal
 */
export function publishObservation(o: TrackObservation): TrackObservation {
  return o instanceof SealedObservation ? o.publish() : o;
}

/**
 * A frozen copy of `buf[start, end)` with every element published (a shared empty array when empty).
 * @internal
 */
export function publishedObservations(buf: readonly TrackObservation[], start: number, end: number): readonly TrackObservation[] {
  for (let i = start; i < end; i++) publishObservation(buf[i]!);
  return frozenSlice(buf, start, end);
}

function checkMetadata(name: string, m: unknown): asserts m is TypedMetadata {
  if (!(m instanceof TypedMetadata)) throw new InvalidArgumentError(name, 'a TypedMetadata', m);
}

/**
 * Validates `o` and returns a read-only copy (read-only metadata; frozen when published).
 * @throws {InvalidArgumentError} on a malformed observation
 */
export function freezeObservation(o: TrackObservation, name = 'observation'): SealedObservation {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError(name, 'a TrackObservation', o);
  if (o instanceof SealedObservation) return o;
  if (!(o.bbox instanceof BBox)) throw new InvalidArgumentError(`${name}.bbox`, 'a BBox', o.bbox);
  if (!isTrackState(o.state)) throw new InvalidArgumentError(`${name}.state`, `one of ${TRACK_STATES.join(', ')}`, o.state);
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts) || o.ts < 0) throw new InvalidArgumentError(`${name}.ts`, 'finite nanoseconds >= 0', o.ts);
  if (typeof o.confidence !== 'number' || !(o.confidence >= 0 && o.confidence <= 1)) {
    throw new InvalidArgumentError(`${name}.confidence`, 'a number in [0, 1]', o.confidence);
  }
  checkMetadata(`${name}.metadata`, o.metadata);
  const metadata = ReadonlyTypedMetadata.copyOf(o.metadata);
  return new SealedObservation(o.ts, o.bbox, o.confidence, o.state, o.detectionId, metadata);
}

/**
 * Validates `t` and returns a read-only copy (copied observation, read-only metadata; frozen when published).
 * @throws {InvalidArgumentError} on a malformed track
 */
export function freezeTrack(t: Track): SealedTrack {
  if (typeof t !== 'object' || t === null) throw new InvalidArgumentError('track', 'a Track', t);
  if (t instanceof SealedTrack) return t;
  if (!Number.isSafeInteger(t.id) || t.id < 0) throw new InvalidArgumentError('track.id', 'a non-negative safe integer', t.id);
  if (!Number.isSafeInteger(t.classId) || t.classId < 0) throw new InvalidArgumentError('track.classId', 'a non-negative integer', t.classId);
  if (!isTrackState(t.state)) throw new InvalidArgumentError('track.state', `one of ${TRACK_STATES.join(', ')}`, t.state);
  checkMetadata('track.metadata', t.metadata);
  const current = freezeObservation(t.current, 'track.current');
  const metadata = ReadonlyTypedMetadata.copyOf(t.metadata);
  return new SealedTrack(t.id, t.classId, t.state, current, metadata);
}
