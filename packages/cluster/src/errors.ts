/**
 * The typed error of `@nv/cluster`.
 *
 * @packageDocumentation
 */
import { NvError } from '@nv/core';

const CLUSTER = Symbol.for('nv.error.cluster');

/** Variants of {@link ClusterError}. */
export type ClusterErrorKind =
  /** No NATS server of the given URLs answered (or JetStream is not enabled there). */
  | 'Unreachable'
  /** The cluster has no buckets yet: `nv cluster apply` was never run against it. */
  | 'NotApplied'
  /** What was applied is not a valid cluster config (a feed without a usable name, duplicates). */
  | 'InvalidDesiredState'
  /** The node was closed. */
  | 'Closed';

/**
 * A failure of the cluster layer.
 *
 * @example
 * ```ts
 * try { await ClusterStore.connect({ servers: 'nats://127.0.0.1:4222' }); } catch (e) {
 *   if (ClusterError.isInstance(e) && e.kind === 'Unreachable') console.error(e.message);
 * }
 * ```
 */
export class ClusterError extends NvError {
  /** Always `'runtime'`. */
  readonly category = 'runtime' as const;
  /** Error name as it appears in logs (`NV_ClusterError`). */
  override readonly name = 'NV_ClusterError';
  /** Which variant. */
  readonly kind: ClusterErrorKind;
  /** For `InvalidDesiredState`: the offending field (`feeds[2].name`). */
  readonly field: string | undefined;
  private readonly [CLUSTER] = true;

  /**
   * @param kind - the variant
   * @param message - the whole message (credentials already redacted by the caller)
   * @param extra - the field, the cause
   */
  constructor(kind: ClusterErrorKind, message: string, extra: { field?: string; cause?: unknown } = {}) {
    super({ message, cause: extra.cause });
    this.kind = kind;
    this.field = extra.field;
  }

  /**
   * @param e - any value
   * @returns whether `e` is a {@link ClusterError} (from any package copy)
   */
  static override isInstance(e: unknown): e is ClusterError {
    return NvError.isInstance(e) && (e as unknown as Record<symbol, unknown>)[CLUSTER] === true;
  }
}
