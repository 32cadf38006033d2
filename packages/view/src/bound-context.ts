/**
 * {@link ViewBoundContext}: user data (calibration, regions, a reference transform) tied to
 * the view it was valid for, with a single correct staleness test.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '@nv/core';
import type { ViewEpoch, ViewVersion } from './epoch.js';
import { epochsSince, viewEpoch, viewVersion, versionsSince } from './epoch.js';
import type { ViewStamp } from './view-state.js';
import { isObject } from './validate.js';

/**
 * Whether bound data still matches a view.
 *
 * - `current`: same epoch, same version — exactly current.
 * - `staleWithinEpoch`: same epoch, later version — the view changed a little (small moves,
 *   compensations); the data may be approximately right and should be checked.
 * - `invalidAcrossEpoch`: a later epoch — the view changed fundamentally (or the feed
 *   restarted); re-derive the data.
 */
export type BoundContextValidity =
  | { readonly kind: 'current' }
  | { readonly kind: 'staleWithinEpoch'; readonly versionsBehind: number }
  | { readonly kind: 'invalidAcrossEpoch'; readonly epochsBehind: number };

function stampOf(name: string, view: unknown): ViewStamp {
  if (!isObject(view)) throw new InvalidArgumentError(name, 'a ViewSnapshot or ViewState', view);
  let epoch: ViewEpoch, version: ViewVersion;
  try { epoch = viewEpoch(view['epoch'] as number); } catch { throw new InvalidArgumentError(`${name}.epoch`, 'a non-negative safe integer', view['epoch']); }
  try { version = viewVersion(view['version'] as number); } catch { throw new InvalidArgumentError(`${name}.version`, 'a non-negative safe integer', view['version']); }
  return { epoch, version };
}

/**
 * User data bound to the view (epoch and version) at which it was valid. The library never
 * looks inside `data`.
 *
 * @example
 * ```ts
 * let cal = ViewBoundContext.bind(computeCalibration(frame), ctx.view);
 * // later, each frame:
 * const v = cal.validity(ctx.view);
 * if (v.kind === 'invalidAcrossEpoch') cal = ViewBoundContext.bind(computeCalibration(frame), ctx.view);
 * else if (v.kind === 'staleWithinEpoch' && stillGood(cal.data)) cal.rebind(ctx.view);
 * ```
 */
export class ViewBoundContext<T> {
  /** The user's data. */
  readonly data: T;
  #boundAt: ViewVersion;
  #boundEpoch: ViewEpoch;

  private constructor(data: T, stamp: ViewStamp) {
    this.data = data;
    this.#boundAt = stamp.version;
    this.#boundEpoch = stamp.epoch;
  }

  /**
   * Binds `data` to a view.
   * @param data - any user data
   * @param view - the view it is valid for (a {@link ViewSnapshot} or {@link ViewState})
   * @returns a new binding
   * @throws {InvalidArgumentError} when `view` lacks a valid epoch/version
   */
  static bind<T>(data: T, view: ViewStamp): ViewBoundContext<T> {
    return new ViewBoundContext(data, stampOf('view', view));
  }

  /** Version the data was bound at (or last confirmed at). */
  get boundAt(): ViewVersion { return this.#boundAt; }
  /** Epoch the data was bound in. */
  get boundEpoch(): ViewEpoch { return this.#boundEpoch; }

  /**
   * Re-binds to `view` (the caller asserts the data is still valid for it). Mutates this binding.
   * @param view - the view to bind to
   * @returns this binding
   * @throws {InvalidArgumentError} when `view` lacks a valid epoch/version
   */
  rebind(view: ViewStamp): this {
    const s = stampOf('view', view);
    this.#boundAt = s.version;
    this.#boundEpoch = s.epoch;
    return this;
  }

  /**
   * Whether the binding still matches `view`. Epochs are compared first, then versions.
   * @param view - the current view
   * @returns `current`, `staleWithinEpoch{versionsBehind}` or `invalidAcrossEpoch{epochsBehind}`
   * @throws {InvalidArgumentError} when `view` is *older* than the binding (earlier epoch, or
   *   same epoch and earlier version): the binding cannot be judged against a past view
   */
  validity(view: ViewStamp): BoundContextValidity {
    const s = stampOf('view', view);
    if (s.epoch < this.#boundEpoch || (s.epoch === this.#boundEpoch && s.version < this.#boundAt)) {
      throw new InvalidArgumentError(
        'view', `a view at or after the binding (epoch ${this.#boundEpoch}, version ${this.#boundAt})`,
        `epoch ${s.epoch}, version ${s.version}`,
      );
    }
    if (s.epoch !== this.#boundEpoch) return { kind: 'invalidAcrossEpoch', epochsBehind: epochsSince(s.epoch, this.#boundEpoch) };
    if (s.version === this.#boundAt) return { kind: 'current' };
    return { kind: 'staleWithinEpoch', versionsBehind: versionsSince(s.version, this.#boundAt) };
  }
}
