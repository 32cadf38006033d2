/**
 * {@link MotionReport} (what a provider returns each frame), its validation, and the
 * derivation of {@link MotionSource} from which fields are present.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, ViewError } from '@nv/core';
import type { CameraMotionState, MotionSource } from './camera-motion.js';
import { checkCameraMotionState, externalSource, inferredSource, noneSource, telemetrySource } from './camera-motion.js';
import type { PtzEvent, PtzTelemetry } from './ptz.js';
import { checkPtzEvent, checkPtzTelemetry } from './ptz.js';
import type { GlobalTransformEstimate, GlobalTransformEstimateInput } from './transform.js';
import { checkGlobalTransformEstimate } from './transform.js';
import { isObject } from './validate.js';

/**
 * What the view system receives from a {@link ViewStateProvider} each frame. Every field is
 * optional; which ones are present decides the {@link MotionSource} (see
 * {@link deriveMotionSource}). A report with none of `ptz`, `frameTransform`, `motionHint` is
 * *empty*: motion is then unknown and validity degraded, never stable.
 */
export interface MotionReport {
  /** PTZ telemetry, when the camera reports it. */
  readonly ptz?: PtzTelemetry | undefined;
  /** Previous → current frame transform (optical flow, homography, PTZ model, external). */
  readonly frameTransform?: GlobalTransformEstimateInput | undefined;
  /** The provider's own verdict on motion; when present it is used as is. */
  readonly motionHint?: CameraMotionState | undefined;
  /** Discrete PTZ events since the previous frame (a `presetRecall` opens a new epoch by default). */
  readonly ptzEvents?: readonly PtzEvent[] | undefined;
}

/** The empty report (frozen). */
export const EMPTY_MOTION_REPORT: MotionReport = Object.freeze({});

/**
 * Validates a provider's report and returns a frozen, normalized copy.
 * @param report - the provider's output
 * @returns a frozen copy with validated fields (absent fields stay absent)
 * @throws {ViewError} `InvalidMotionReport` naming the offending field: NaN/∞ numbers,
 *   confidence outside [0, 1], zoom outside [0, 1], negative timestamps/magnitudes, unknown kinds
 * @example `validateMotionReport({ ptz: { pan: 0, tilt: 0, zoom: 2, ts: 0 } }) // throws: ptz.zoom`
 */
export function validateMotionReport(report: unknown): MotionReport {
  try {
    if (!isObject(report) || Array.isArray(report)) throw new InvalidArgumentError('report', 'a MotionReport object', report);
    const out: { -readonly [K in keyof MotionReport]: MotionReport[K] } = {};
    if (report['ptz'] !== undefined) out.ptz = checkPtzTelemetry('ptz', report['ptz']);
    if (report['frameTransform'] !== undefined) out.frameTransform = checkGlobalTransformEstimate('frameTransform', report['frameTransform']);
    if (report['motionHint'] !== undefined) out.motionHint = checkCameraMotionState('motionHint', report['motionHint']);
    const events = report['ptzEvents'];
    if (events !== undefined) {
      if (!Array.isArray(events)) throw new InvalidArgumentError('ptzEvents', 'an array of PtzEvent', events);
      out.ptzEvents = Object.freeze(events.map((e, i) => checkPtzEvent(`ptzEvents[${i}]`, e)));
    }
    return Object.freeze(out);
  } catch (e) {
    if (InvalidArgumentError.isInstance(e)) throw ViewError.invalidMotionReport(e.message);
    throw e;
  }
}

/**
 * Whether a report carries no motion information (no `ptz`, no `frameTransform`, no
 * `motionHint`; `ptzEvents` alone do not count).
 */
export function isEmptyMotionReport(report: MotionReport): boolean {
  return report.ptz === undefined && report.frameTransform === undefined && report.motionHint === undefined;
}

/** A provider inconsistency noticed while deriving the motion source. */
export interface MotionSourceWarning {
  /** `ptzModelWithoutTelemetry`: a `ptzModel` transform arrived without `ptz` telemetry. */
  readonly kind: 'ptzModelWithoutTelemetry';
  /** Human-readable explanation. */
  readonly message: string;
}

/**
 * Derives the {@link MotionSource} from the fields present in a report:
 *
 * | report                                                   | source                         |
 * |----------------------------------------------------------|--------------------------------|
 * | `ptz` present                                            | telemetry                      |
 * | no `ptz`, `frameTransform` with method `featureMatching` | inferred{transform confidence} |
 * | no `ptz`, `frameTransform` with method `external`        | external                       |
 * | no `ptz`, `frameTransform` with method `ptzModel`        | external + warning (provider bug) |
 * | `ptz` and `frameTransform` both present                  | telemetry (authoritative)      |
 * | neither, `motionHint` present                            | external                       |
 * | nothing                                                  | none                           |
 *
 * @param report - a validated report
 * @param onWarning - called once for the `ptzModel`-without-telemetry case
 * @returns the derived source
 * @example `deriveMotionSource({ motionHint: { kind: 'stable' } }) // { kind: 'external' }`
 */
export function deriveMotionSource(report: MotionReport, onWarning?: (warning: MotionSourceWarning) => void): MotionSource {
  if (report.ptz !== undefined) return telemetrySource();
  const t = report.frameTransform;
  if (t !== undefined) {
    switch (t.method) {
      case 'featureMatching': return inferredSource(t.confidence);
      case 'external': return externalSource();
      case 'ptzModel':
        onWarning?.({
          kind: 'ptzModelWithoutTelemetry',
          message: 'frameTransform has method ptzModel but the report carries no ptz telemetry; treating the source as external',
        });
        return externalSource();
    }
  }
  if (report.motionHint !== undefined) return externalSource();
  return noneSource();
}
