import { describe, it, expect } from 'vitest';
import { AffineTransform2D, ConfigError, InvalidArgumentError, durationNs, monotonicTs } from '@nv/core';
import type { CameraMotionState } from './camera-motion.js';
import type { AccumulatedMotion, DefaultEpochPolicyOptions, EpochDecision, EpochPolicyContext } from './epoch-policy.js';
import { DefaultEpochPolicy, checkEpochDecision, compensateDecision, degradeDecision, resolveEpochPolicyOptions } from './epoch-policy.js';
import type { MotionReport } from './motion-report.js';
import { validateMotionReport } from './motion-report.js';
import type { PtzTelemetry } from './ptz.js';
import { ptzTelemetry } from './ptz.js';
import { globalTransformEstimate } from './transform.js';
import type { TransitionPhase } from './transition.js';
import { ViewSnapshot, observedInitialViewState } from './view-state.js';

const deg = (d: number): number => (d * Math.PI) / 180;
const C = { x: 0.5, y: 0.5 };
const P0 = ptzTelemetry(0, 0, 0.5, 0);
const at = (pan: number, tilt = 0, zoom = 0.5): PtzTelemetry => ptzTelemetry(pan, tilt, zoom, 33_000_000);
const est = (t: AffineTransform2D, confidence: number) => globalTransformEstimate(t, confidence, 'featureMatching');
const T01 = AffineTransform2D.translation(0.1, 0);
const T03 = AffineTransform2D.translation(0.3, 0);
const ROT6 = AffineTransform2D.rotation(deg(6), C).then(T01);
const ROT4 = AffineTransform2D.rotation(deg(4), C).then(T01);
const SCALE115 = AffineTransform2D.scale(1.15, 1.15, C);
const SCALE092 = AffineTransform2D.scale(0.92, 0.92, C);
const SCALE105 = AffineTransform2D.scale(1.05, 1.05, C);
// singular (det 0) yet unit column norms and zero rotation: passes the rotation/scale ceiling
const SINGULAR = new AffineTransform2D([1, 1, 0.3, 0, 0, 0]);
const COLLAPSE = AffineTransform2D.scale(0, 0, C); // everything onto the centre
const stable: CameraMotionState = { kind: 'stable' };
const unknown: CameraMotionState = { kind: 'unknown' };
const moving = (displacement?: number): CameraMotionState => (displacement === undefined ? { kind: 'moving' } : { kind: 'moving', displacement });
const preset = [{ kind: 'presetRecall' as const, presetId: 2, ts: monotonicTs(0) }];
/** Opts in to segmenting on accumulated motion (off by default). */
const ACC: Partial<DefaultEpochPolicyOptions> = { segmentOnAccumulatedMotion: true };

interface Row {
  prevPtz?: PtzTelemetry;
  report?: MotionReport;
  motion?: CameraMotionState;
  transition?: TransitionPhase;
  accumulated?: AccumulatedMotion;
  options?: Partial<DefaultEpochPolicyOptions>;
}

function ctxOf(r: Row): EpochPolicyContext {
  return {
    previousView: ViewSnapshot.of({ ...observedInitialViewState(), ptz: r.prevPtz }),
    report: validateMotionReport(r.report ?? {}),
    motionState: r.motion ?? stable,
    stateDuration: durationNs(0),
    transition: r.transition ?? (r.motion === undefined || r.motion.kind === 'stable' ? 'settled' : 'moving'),
    accumulated: r.accumulated,
  };
}

const SEGMENT: EpochDecision = { kind: 'segment' };
const CONTINUE: EpochDecision = { kind: 'continue' };
const degrade = (reason: Parameters<typeof degradeDecision>[0]): EpochDecision => ({ kind: 'degrade', reason });
const compensate = (reason: Parameters<typeof degradeDecision>[0], transform: AffineTransform2D): EpochDecision =>
  ({ kind: 'compensate', reason, transform });

describe('DefaultEpochPolicy.decide', () => {
  it.each<[string, Row, EpochDecision]>([
    // 0. nothing happening
    ['stable camera, empty report → continue', {}, CONTINUE],
    // 1. preset recall
    ['preset recall → segment even when stable', { report: { ptzEvents: preset } }, SEGMENT],
    ['preset recall beats a compensable transform', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(T01, 0.95), ptzEvents: preset } }, SEGMENT],
    ['moveStart/moveStop events are informational', { report: { ptzEvents: [{ kind: 'moveStart', ts: monotonicTs(0) }, { kind: 'moveStop', ts: monotonicTs(0) }] } }, CONTINUE],
    // 2. PTZ deltas
    ['pan 20° without transform → segment', { prevPtz: P0, report: { ptz: at(20) } }, SEGMENT],
    ['tilt 16° → segment', { prevPtz: P0, report: { ptz: at(0, 16) } }, SEGMENT],
    ['pan 350° → 10° (20° across the wrap) → segment', { prevPtz: ptzTelemetry(350, 0, 0.5, 0), report: { ptz: at(10) } }, SEGMENT],
    ['pan 355° → 5° (10° across the wrap) → degrade', { prevPtz: ptzTelemetry(355, 0, 0.5, 0), report: { ptz: at(5) } }, degrade('ptzMoving')],
    ['pan exactly 15° is not above the threshold → degrade', { prevPtz: P0, report: { ptz: at(15) } }, degrade('ptzMoving')],
    ['zoom +0.4 without transform → segment', { prevPtz: P0, report: { ptz: at(0, 0, 0.9) } }, SEGMENT],
    ['pan 20° + transform conf 0.9 → compensate{ptzMoving}', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(T01, 0.9) } }, compensate('ptzMoving', T01)],
    ['pan 20° + transform conf exactly 0.8 → compensate', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(T01, 0.8) } }, compensate('ptzMoving', T01)],
    ['pan 20° + transform conf 0.79 → segment', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(T01, 0.79) } }, SEGMENT],
    ['zoom +0.4 + 5% scale transform → compensate{zoomChange}', { prevPtz: P0, report: { ptz: at(0, 0, 0.9), frameTransform: est(SCALE105, 0.9) } }, compensate('zoomChange', SCALE105)],
    ['pan 2° → degrade{ptzMoving}', { prevPtz: P0, report: { ptz: at(2) } }, degrade('ptzMoving')],
    ['zoom +0.05 only → degrade{zoomChange}', { prevPtz: P0, report: { ptz: at(0, 0, 0.55) } }, degrade('zoomChange')],
    ['pan 0.005° is inside the deadband → continue', { prevPtz: P0, report: { ptz: at(0.005) } }, CONTINUE],
    ['pan 2° with degradeOnSmallMotion=false → continue', { prevPtz: P0, report: { ptz: at(2) }, options: { degradeOnSmallMotion: false } }, CONTINUE],
    ['no previous ptz: deltas are skipped', { report: { ptz: at(40) } }, CONTINUE],
    // compensation ceiling (not enforced by the reference code)
    ['ceiling: pan 20° + 6° rotation (conf 0.95) → segment', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(ROT6, 0.95) } }, SEGMENT],
    ['ceiling: pan 20° + 4° rotation → compensate', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(ROT4, 0.95) } }, compensate('ptzMoving', ROT4)],
    ['ceiling: zoom +0.4 + 15% scale → segment', { prevPtz: P0, report: { ptz: at(0, 0, 0.9), frameTransform: est(SCALE115, 0.95) } }, SEGMENT],
    ['ceiling: zoom -0.4 + 8% shrink → compensate', { prevPtz: P0, report: { ptz: at(0, 0, 0.1), frameTransform: est(SCALE092, 0.95) } }, compensate('zoomChange', SCALE092)],
    ['ceiling: raised to 10° lets a 6° rotation compensate', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(ROT6, 0.95) }, options: { maxCompensationRotationDeg: 10 } }, compensate('ptzMoving', ROT6)],
    ['ceiling: lowered scale limit 3% refuses a 5% zoom', { prevPtz: P0, report: { ptz: at(0, 0, 0.9), frameTransform: est(SCALE105, 0.95) }, options: { maxCompensationScaleChange: 0.03 } }, SEGMENT],
    // 3. displacement
    ['displacement 0.3 without transform → segment', { motion: moving(0.3) }, SEGMENT],
    ['displacement 0.3 + conf 0.9 transform → compensate{largeJump}', { motion: moving(0.3), report: { frameTransform: est(T03, 0.9) } }, compensate('largeJump', T03)],
    ['displacement 0.3 + low-confidence transform → segment', { motion: moving(0.3), report: { frameTransform: est(T03, 0.6) } }, SEGMENT],
    ['ceiling: displacement 0.3 + 6° rotation → segment', { motion: moving(0.3), report: { frameTransform: est(ROT6, 0.99) } }, SEGMENT],
    ['ceiling: displacement 0.3 + 15% scale → segment', { motion: moving(0.3), report: { frameTransform: est(SCALE115, 0.99) } }, SEGMENT],
    // singular transforms never compensate
    ['singular: pan 20° + det-0 transform (conf 0.99) → segment', { prevPtz: P0, report: { ptz: at(20), frameTransform: est(SINGULAR, 0.99) } }, SEGMENT],
    ['singular: displacement 0.3 + det-0 transform → segment', { motion: moving(0.3), report: { frameTransform: est(SINGULAR, 0.99) } }, SEGMENT],
    ['singular: det 1e-10 transform → segment', { motion: moving(0.3), report: { frameTransform: est(new AffineTransform2D([1, 1, 0.3, 0, 1e-10, 0]), 0.99) } }, SEGMENT],
    ['singular: a collapse to a point → segment even with the ceilings lifted', { prevPtz: P0, report: { ptz: at(0, 0, 0.9), frameTransform: est(COLLAPSE, 0.99) }, options: { maxCompensationScaleChange: 10, maxCompensationRotationDeg: 180 } }, SEGMENT],
    // small motion: the degrade reason follows the report
    ['displacement 0.1, hint only → degrade{unknown}', { motion: moving(0.1) }, degrade('unknown')],
    ['displacement 0.1, confident inferred transform → degrade{unknown}', { motion: moving(0.1), report: { frameTransform: est(T01, 0.9) } }, degrade('unknown')],
    ['displacement 0.1, transform conf exactly 0.8 → degrade{unknown}', { motion: moving(0.1), report: { frameTransform: est(T01, 0.8) } }, degrade('unknown')],
    ['displacement 0.1, external transform → degrade{unknown}', { motion: moving(0.1), report: { frameTransform: globalTransformEstimate(T01, 1, 'external') } }, degrade('unknown')],
    ['displacement 0.1, transform conf 0.6 → degrade{inferredMotionLowConfidence}', { motion: moving(0.1), report: { frameTransform: est(T01, 0.6) } }, degrade('inferredMotionLowConfidence')],
    ['displacement 0.1, low-confidence external transform → degrade{inferredMotionLowConfidence}', { motion: moving(0.1), report: { frameTransform: globalTransformEstimate(T01, 0.5, 'external') } }, degrade('inferredMotionLowConfidence')],
    ['displacement 0.1, conf 0.9 under compensateMinConfidence 0.95 → degrade{inferredMotionLowConfidence}', { motion: moving(0.1), report: { frameTransform: est(T01, 0.9) }, options: { compensateMinConfidence: 0.95 } }, degrade('inferredMotionLowConfidence')],
    ['displacement 0.1, telemetry source → degrade{ptzMoving}', { motion: moving(0.1), report: { ptz: at(3), frameTransform: est(T01, 0.9) } }, degrade('ptzMoving')],
    ['displacement 0.1, telemetry beats a low-confidence transform → degrade{ptzMoving}', { motion: moving(0.1), report: { ptz: at(3), frameTransform: est(T01, 0.3) } }, degrade('ptzMoving')],
    ['displacement exactly 0.25 is not above the threshold → degrade', { motion: moving(0.25) }, degrade('unknown')],
    ['displacement 0 → continue', { motion: moving(0) }, CONTINUE],
    ['displacement 0.1 with degradeOnSmallMotion=false → continue', { motion: moving(0.1), options: { degradeOnSmallMotion: false } }, CONTINUE],
    ['moving without displacement → degrade{unknown}', { motion: moving() }, degrade('unknown')],
    ['moving without displacement, telemetry source → degrade{ptzMoving}', { motion: moving(), report: { ptz: at(3) } }, degrade('ptzMoving')],
    ['moving without displacement, low-confidence transform → degrade{inferredMotionLowConfidence}', { motion: moving(), report: { frameTransform: est(T01, 0.4) } }, degrade('inferredMotionLowConfidence')],
    ['moving without displacement, degradeOnSmallMotion=false → continue', { motion: moving(), options: { degradeOnSmallMotion: false } }, CONTINUE],
    ['unknown motion → continue (validity is degraded by the view system)', { motion: unknown }, CONTINUE],
    // 4. accumulated motion at moveEnd
    // (opt-in: off by default, as in the reference, which never segments on accumulated motion)
    ['moveEnd after a slow 20° pan, by default → continue', { motion: stable, transition: 'moveEnd', accumulated: { frames: 20, ptz: { pan: 20, tilt: 0, zoom: 0 } } }, CONTINUE],
    ['moveEnd large episode, by default → continue', { motion: stable, transition: 'moveEnd', accumulated: { frames: 20, displacement: 0.5 } }, CONTINUE],
    ['moveEnd after a slow 20° pan, opted in → segment', { motion: stable, transition: 'moveEnd', accumulated: { frames: 20, ptz: { pan: 20, tilt: 0, zoom: 0 } }, options: ACC }, SEGMENT],
    ['moveEnd after 0.4 zoom, opted in → segment', { motion: stable, transition: 'moveEnd', accumulated: { frames: 20, ptz: { pan: 0, tilt: 0, zoom: 0.4 } }, options: ACC }, SEGMENT],
    ['moveEnd after 0.3 accumulated displacement, opted in → segment', { motion: stable, transition: 'moveEnd', accumulated: { frames: 9, displacement: 0.3 }, options: ACC }, SEGMENT],
    ['moveEnd after a small episode, opted in → continue', { motion: stable, transition: 'moveEnd', accumulated: { frames: 3, ptz: { pan: 4, tilt: 1, zoom: 0 }, displacement: 0.05 }, options: ACC }, CONTINUE],
    ['mid-move large accumulation is not judged yet, opted in', { motion: moving(0.05), transition: 'moving', accumulated: { frames: 20, displacement: 0.5 }, options: ACC }, degrade('unknown')],
  ])('%s', (_n, row, want) => {
    const policy = new DefaultEpochPolicy(row.options);
    expect(policy.decide(ctxOf(row))).toEqual(want);
  });

  it('the singular test transforms pass the rotation/scale ceiling, so only invertibility refuses them', () => {
    const policy = new DefaultEpochPolicy({ maxCompensationScaleChange: 10, maxCompensationRotationDeg: 180 });
    expect(new DefaultEpochPolicy().withinCompensationCeiling(SINGULAR)).toBe(true);
    expect(policy.withinCompensationCeiling(COLLAPSE)).toBe(true);
  });

  it('has the documented defaults', () => {
    expect(new DefaultEpochPolicy().options).toEqual({
      segmentAngleThreshold: 15, segmentZoomThreshold: 0.3, segmentDisplacementThreshold: 0.25, compensateMinConfidence: 0.8,
      degradeOnSmallMotion: true, ptzDeadband: 0.01, maxCompensationRotationDeg: 5, maxCompensationScaleChange: 0.1,
      segmentOnAccumulatedMotion: false,
    });
  });
});

describe('DefaultEpochPolicy options', () => {
  it.each<[string, Record<string, unknown>, 'argument' | 'config']>([
    ['zero angle threshold', { segmentAngleThreshold: 0 }, 'argument'],
    ['negative zoom threshold', { segmentZoomThreshold: -0.1 }, 'argument'],
    ['NaN displacement threshold', { segmentDisplacementThreshold: Number.NaN }, 'argument'],
    ['confidence above 1', { compensateMinConfidence: 1.2 }, 'argument'],
    ['non-boolean flag', { degradeOnSmallMotion: 'yes' }, 'argument'],
    ['negative deadband', { ptzDeadband: -0.01 }, 'argument'],
    ['negative rotation ceiling', { maxCompensationRotationDeg: -1 }, 'argument'],
    ['infinite scale ceiling', { maxCompensationScaleChange: Number.POSITIVE_INFINITY }, 'argument'],
    ['unknown option', { segmentThreshold: 3 }, 'config'],
    ['deadband not below the zoom threshold', { ptzDeadband: 0.3 }, 'config'],
    ['deadband not below the angle threshold', { ptzDeadband: 2, segmentAngleThreshold: 2, segmentZoomThreshold: 5 }, 'config'],
  ])('rejects %s', (_n, options, kind) => {
    let caught: unknown;
    try { resolveEpochPolicyOptions(options as never); } catch (e) { caught = e; }
    if (kind === 'argument') expect(InvalidArgumentError.isInstance(caught)).toBe(true);
    else {
      expect(ConfigError.isInstance(caught)).toBe(true);
      expect((caught as ConfigError).kind).toBe('InvalidPolicy');
    }
  });
});

describe('EpochDecision helpers', () => {
  it('validate decisions from user policies', () => {
    expect(checkEpochDecision('d', { kind: 'compensate', reason: 'largeJump', transform: { m: [1, 0, 0.1, 0, 1, 0] } }).kind).toBe('compensate');
    expect(() => checkEpochDecision('d', { kind: 'jump' })).toThrow(InvalidArgumentError);
    expect(() => checkEpochDecision('d', { kind: 'degrade', reason: 'rain' })).toThrow(InvalidArgumentError);
    expect(() => checkEpochDecision('d', { kind: 'compensate', reason: 'largeJump' })).toThrow(InvalidArgumentError);
    expect(() => compensateDecision('ptzMoving', { m: [1, 0, Number.NaN, 0, 1, 0] } as never)).toThrow(InvalidArgumentError);
  });

  it.each<[string, readonly number[]]>([
    ['determinant 0 (rank 1)', [1, 1, 0.3, 0, 0, 0]],
    ['determinant 1e-10', [1, 1, 0, 0, 1e-10, 0]],
    ['all-zero linear part', [0, 0, 0.5, 0, 0, 0.5]],
  ])('refuse a singular compensation transform: %s', (_n, m) => {
    const t = new AffineTransform2D(m as [number, number, number, number, number, number]);
    expect(() => compensateDecision('largeJump', t)).toThrow(InvalidArgumentError);
    let caught: unknown;
    try { checkEpochDecision('d', { kind: 'compensate', reason: 'largeJump', transform: { m } }); } catch (e) { caught = e; }
    expect(InvalidArgumentError.isInstance(caught)).toBe(true);
    expect((caught as InvalidArgumentError).argument).toBe('d.transform');
  });

  it.each<[string, readonly number[]]>([
    ['determinant exactly 1e-9', [1, 1, 0, 0, 1e-9, 0]],
    ['a reflection (determinant -1)', [-1, 0, 1, 0, 1, 0]],
    ['identity', [1, 0, 0, 0, 1, 0]],
  ])('accept an invertible compensation transform: %s', (_n, m) => {
    const t = new AffineTransform2D(m as [number, number, number, number, number, number]);
    expect(compensateDecision('largeJump', t)).toEqual({ kind: 'compensate', reason: 'largeJump', transform: t });
    expect(checkEpochDecision('d', { kind: 'compensate', reason: 'largeJump', transform: { m } }).kind).toBe('compensate');
  });
});
