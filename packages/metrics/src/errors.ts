/**
 * The one error of this package that `@nv/core` has no kind for: a push to the OTLP endpoint
 * failed (unreachable, refused, timed out, rejected by the collector).
 */
import { NvError, redactUrl } from '@nv/core';

const EXPORT = Symbol.for('nv.error.metrics-export');

/**
 * Metrics could not be pushed to the OTLP endpoint. Reported to `onExportError` for periodic
 * exports and thrown by `forceFlush()` / `shutdown()` when their own export fails. The
 * endpoint in `endpoint` and in the message is redacted (no credentials, no secret params).
 *
 * @example
 * ```ts
 * try { await metrics.forceFlush(); } catch (e) {
 *   if (MetricsExportError.isInstance(e)) console.warn(e.endpoint, e.message);
 * }
 * ```
 */
export class MetricsExportError extends NvError {
  /** Always `'runtime'`: the layer that raised it. */
  readonly category = 'runtime' as const;
  /** Error name as it appears in stack traces and logs (`NV_MetricsExportError`). */
  override readonly name = 'NV_MetricsExportError';
  /** Always `'ExportFailed'`. */
  readonly kind = 'ExportFailed' as const;
  /** The OTLP endpoint, redacted. */
  readonly endpoint: string;
  /** Exports that failed since the exporter was created (this one included). */
  readonly failures: number;
  private readonly [EXPORT] = true;

  /**
   * @param endpoint - the OTLP URL (redacted before it is stored)
   * @param detail - what went wrong
   * @param failures - failed exports so far, this one included
   * @param cause - the exporter's own error, if any
   */
  constructor(endpoint: string, detail: string, failures: number, cause?: unknown) {
    const safe = redactUrl(endpoint);
    super({ message: `metrics export to ${safe} failed: ${detail}`, cause });
    this.endpoint = safe;
    this.failures = failures;
  }

  /** @returns whether `e` is a {@link MetricsExportError} (from any package copy). */
  static override isInstance(e: unknown): e is MetricsExportError {
    return NvError.isInstance(e) && (e as unknown as Record<symbol, unknown>)[EXPORT] === true;
  }
}
