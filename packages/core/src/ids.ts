/**
 * Branded identifiers. Brands make a `FeedId` and a `TrackId` different types even though
 * both are numbers at run time, so one can never be passed where the other is expected.
 */
import { InvalidArgumentError } from './errors.js';

declare const brand: unique symbol;
/** A nominal brand on top of a primitive type. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Identifies a feed within a runtime. Allocated from 1, never reused within a runtime. */
export type FeedId = Brand<number, 'FeedId'>;
/** Identifies a track within a feed. */
export type TrackId = Brand<number, 'TrackId'>;
/** Identifies a detection within a feed. */
export type DetectionId = Brand<number, 'DetectionId'>;
/** Names a stage (or batch processor); unique within a feed's pipeline. */
export type StageId = Brand<string, 'StageId'>;

function checkIntId(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(name, 'a non-negative safe integer', n);
}

/**
 * @param n - non-negative safe integer
 * @returns `n` as a {@link FeedId}
 * @throws {InvalidArgumentError} when `n` is not a non-negative safe integer
 * @example `const id = feedId(1); formatFeedId(id) // 'feed-1'`
 */
export function feedId(n: number): FeedId { checkIntId('feedId', n); return n as FeedId; }
/** @param n - non-negative safe integer @returns `n` as a {@link TrackId} @throws {InvalidArgumentError} */
export function trackId(n: number): TrackId { checkIntId('trackId', n); return n as TrackId; }
/** @param n - non-negative safe integer @returns `n` as a {@link DetectionId} @throws {InvalidArgumentError} */
export function detectionId(n: number): DetectionId { checkIntId('detectionId', n); return n as DetectionId; }
/**
 * @param s - non-empty name without control characters
 * @returns `s` as a {@link StageId}
 * @throws {InvalidArgumentError} when empty or containing control characters
 */
export function stageId(s: string): StageId {
  // eslint-disable-next-line no-control-regex
  if (typeof s !== 'string' || s.length === 0 || /[\u0000-\u001f]/.test(s)) {
    throw new InvalidArgumentError('stageId', 'a non-empty string without control characters', s);
  }
  return s as StageId;
}

/** `feed-N` */
export function formatFeedId(id: FeedId): string { return `feed-${id}`; }
/** `track-N` */
export function formatTrackId(id: TrackId): string { return `track-${id}`; }
/** `det-N` */
export function formatDetectionId(id: DetectionId): string { return `det-${id}`; }
