import { ConfigError, InvalidArgumentError, metadataKey, TypedMetadata } from '@nv/core';
import type { Detection, Track } from '@nv/perception';
import { describe, expect, it } from 'vitest';
import { LAST_DETECTION, TRACKER_INFO } from './keys.js';
import { DEFAULT_TRACKER_OPTIONS, resolveTrackerOptions, type TrackerOptions } from './options.js';
import { MultiObjectTracker } from './tracker.js';
import { det, FRAME_NS, gaussian, rng, tsOf } from './test-fixtures.js';

/** Runs `frames` frames; `detsAt(f)` gives frame f's detections. Returns the per-frame outputs. */
function drive(t: MultiObjectTracker, frames: number, detsAt: (f: number) => Detection[], start = 0): Track[][] {
  const out: Track[][] = [];
  for (let f = start; f < start + frames; f++) out.push(t.update(detsAt(f), tsOf(f)));
  return out;
}

const states = (frames: Track[][]): string[] => frames.map((ts) => ts.map((t) => `${t.id}:${t.state}`).join(',') || '-');

describe('MultiObjectTracker lifecycle', () => {
  it('tentative → confirmed after minHits → coasted for maxCoastFrames → lost once → gone (exact frames)', () => {
    const t = new MultiObjectTracker({ minHits: 3, maxCoastFrames: 4 });
    const out = drive(t, 13, (f) => (f < 6 ? [det(0.3 + 0.005 * f, 0.5)] : []));
    expect(states(out)).toEqual([
      '1:tentative', '1:tentative', '1:confirmed', '1:confirmed', '1:confirmed', '1:confirmed', // frames 0–5: seen
      '1:coasted', '1:coasted', '1:coasted', '1:coasted', // frames 6–9: 4 coasted frames
      '1:lost', // frame 10: reported lost once
      '-', '-', // then forgotten
    ]);
    expect(t.size).toBe(0);
    // Matched observations carry their detection; coasted ones do not.
    expect(out[5]![0]!.current.detectionId).toBeDefined();
    expect(out[5]![0]!.current.confidence).toBeCloseTo(0.9, 12);
    expect(out[7]![0]!.current.detectionId).toBeUndefined();
    expect(out[7]![0]!.current.confidence).toBe(0);
    expect(out[7]![0]!.current.state).toBe('coasted');
    expect(out[8]![0]!.metadata.get(TRACKER_INFO)).toMatchObject({ hits: 6, ageFrames: 8, framesSinceObservation: 3 });
  });

  it('minHits 1 confirms on the first frame; maxCoastFrames 0 loses on the first miss', () => {
    const t = new MultiObjectTracker({ minHits: 1, maxCoastFrames: 0 });
    expect(states(drive(t, 4, (f) => (f < 2 ? [det(0.5, 0.5)] : [])))).toEqual(['1:confirmed', '1:confirmed', '1:lost', '-']);
  });

  it('an unconfirmed track that misses a frame is dropped, and a later detection starts a new id', () => {
    const t = new MultiObjectTracker({ minHits: 3 });
    expect(states(drive(t, 5, (f) => (f === 2 ? [] : [det(0.5, 0.5)])))).toEqual(['1:tentative', '1:tentative', '-', '2:tentative', '2:tentative']);
  });

  it('a coasted track matched again is confirmed at once (no second tentative phase)', () => {
    const t = new MultiObjectTracker({ minHits: 3, maxCoastFrames: 10 });
    const out = drive(t, 8, (f) => (f === 4 || f === 5 ? [] : [det(0.5, 0.5)]));
    expect(states(out)).toEqual(['1:tentative', '1:tentative', '1:confirmed', '1:confirmed', '1:coasted', '1:coasted', '1:confirmed', '1:confirmed']);
  });

  it('maxCoastMs loses a track by time since its last observation', () => {
    const t = new MultiObjectTracker({ minHits: 1, maxCoastFrames: 100, maxCoastMs: 100 });
    // Last seen at frame 5; 100 ms later (frame 8) it still coasts, at 133 ms (frame 9) it is lost.
    const out = drive(t, 10, (f) => (f <= 5 ? [det(0.5, 0.5)] : []));
    expect(states(out).slice(5)).toEqual(['1:confirmed', '1:coasted', '1:coasted', '1:coasted', '1:lost']);
  });

  it('a coasted prediction that leaves the frame is lost before maxCoastFrames', () => {
    const t = new MultiObjectTracker({ minHits: 1, maxCoastFrames: 30 });
    const out = drive(t, 50, (f) => (f < 30 ? [det(0.3 + 0.02 * f, 0.5, 0.1, 0.1)] : []));
    const lostAt = out.findIndex((ts) => ts[0]?.state === 'lost');
    // Last seen at x = 0.88 moving 0.02/frame: the predicted box clears x = 1 about 9 frames
    // later, long before the 30 coasted frames are up.
    expect(out[30]![0]!.state).toBe('coasted');
    expect(lostAt).toBeGreaterThan(35);
    expect(lostAt).toBeLessThan(42);
    expect(out[lostAt + 1]).toEqual([]);
  });

  it('never reuses an id, even after reset', () => {
    const t = new MultiObjectTracker({ minHits: 1 });
    drive(t, 3, () => [det(0.2, 0.2), det(0.7, 0.7)]);
    expect(t.nextTrackId).toBe(3);
    t.reset();
    expect(t.size).toBe(0);
    const out = drive(t, 2, () => [det(0.2, 0.2)], 3);
    expect(out[0]!.map((x) => x.id)).toEqual([3]);
  });

  it('a dropped frame (timestamp gap) is predicted over two steps and counts towards maxCoastFrames', () => {
    const mk = (): MultiObjectTracker => new MultiObjectTracker({ minHits: 1, maxCoastFrames: 1 });
    const seq = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]; // frames seen; x moves 0.01 per frame
    const run = (t: MultiObjectTracker, last: number): Track[] => {
      let out: Track[] = [];
      for (const f of seq) out = t.update([det(0.2 + 0.01 * f, 0.5)], tsOf(f));
      return t.update([], tsOf(last)); // next frame: no detection
    };
    const oneStep = run(mk(), 12);
    expect(oneStep[0]!.state).toBe('coasted');
    expect(oneStep[0]!.current.bbox.center.x).toBeCloseTo(0.2 + 0.01 * 12, 2);
    const t2 = mk();
    const twoSteps = run(t2, 13); // frame 12 dropped: two steps without an observation > maxCoastFrames 1
    expect(twoSteps[0]!.state).toBe('lost');
    expect(twoSteps[0]!.current.bbox.center.x).toBeCloseTo(0.2 + 0.01 * 13, 2);
    // With an explicit interval the same gap is two steps as well.
    const t3 = new MultiObjectTracker({ minHits: 1, maxCoastFrames: 5, frameIntervalMs: FRAME_NS / 1e6 });
    for (const f of seq) t3.update([det(0.2 + 0.01 * f, 0.5)], tsOf(f));
    const gap = t3.update([], tsOf(14));
    expect(gap[0]!.metadata.get(TRACKER_INFO)!.framesSinceObservation).toBe(3);
  });
});

describe('MultiObjectTracker association', () => {
  /** Maps each ground-truth object to the sequence of track ids its detections were given. */
  function idsPerObject(out: Track[][], owner: Map<number, number>): Map<number, number[]> {
    const m = new Map<number, number[]>();
    for (const frame of out) {
      for (const tr of frame) {
        const d = tr.current.detectionId;
        if (d === undefined) continue;
        const obj = owner.get(d)!;
        const l = m.get(obj) ?? [];
        if (l.at(-1) !== tr.id) l.push(tr.id);
        m.set(obj, l);
      }
    }
    return m;
  }

  it('two crossing objects keep their ids', () => {
    const t = new MultiObjectTracker({ minHits: 2 });
    const owner = new Map<number, number>();
    const out = drive(t, 80, (f) => {
      const a = det(0.1 + 0.01 * f, 0.5), b = det(0.9 - 0.01 * f, 0.53);
      owner.set(a.id, 0); owner.set(b.id, 1);
      return [a, b];
    });
    const ids = idsPerObject(out, owner);
    expect(ids.get(0)).toHaveLength(1);
    expect(ids.get(1)).toHaveLength(1);
    expect(ids.get(0)![0]).not.toBe(ids.get(1)![0]);
  });

  it('two crossing objects keep their ids when the one behind is hidden during the overlap', () => {
    const t = new MultiObjectTracker({ minHits: 2 });
    const owner = new Map<number, number>();
    const out = drive(t, 80, (f) => {
      const a = det(0.1 + 0.01 * f, 0.5), b = det(0.9 - 0.01 * f, 0.52);
      owner.set(a.id, 0); owner.set(b.id, 1);
      return f >= 36 && f <= 44 ? [a] : [a, b]; // b passes behind a for 9 frames
    });
    const ids = idsPerObject(out, owner);
    expect(ids.get(0)).toHaveLength(1);
    expect(ids.get(1)).toHaveLength(1);
    expect(ids.get(0)![0]).not.toBe(ids.get(1)![0]);
    expect(out[40]!.find((x) => x.id === ids.get(1)![0])?.state).toBe('coasted');
  });

  it('an object occluded for N < maxCoastFrames frames comes back with the same id; longer, it gets a new one', () => {
    for (const [n, sameId] of [[12, true], [25, true], [31, false]] as const) {
      const t = new MultiObjectTracker({ maxCoastFrames: 30 });
      const out = drive(t, 70, (f) => (f >= 20 && f < 20 + n ? [] : [det(0.2 + 0.004 * f, 0.4 + 0.002 * f, 0.1, 0.2)]));
      const after = out[20 + n]!.filter((x) => x.state !== 'lost');
      expect(after, `n=${n}`).toHaveLength(1);
      expect(after[0]!.id === out[19]![0]!.id, `n=${n}`).toBe(sameId);
      if (sameId) {
        expect(out[20 + n - 1]![0]!.state).toBe('coasted');
        expect(after[0]!.state).toBe('confirmed');
      }
    }
  });

  it('observation-centric re-update: after a motion change during occlusion, predictions after re-appearance are closer to the truth', () => {
    // The object moves right, reverses while hidden for 8 frames, re-appears for one frame, and
    // is hidden again: the outputs of the next 3 frames are pure predictions.
    const scenario = (reupdate: boolean, reverse: boolean): { err: number; ids: Set<number> } => {
      const t = new MultiObjectTracker({ minHits: 1, observationCentricReupdate: reupdate });
      let x = 0.2;
      const ids = new Set<number>();
      let err = 0;
      for (let f = 0; f < 42; f++) {
        if (f > 0) x += f < 30 || !reverse ? 0.01 : -0.004;
        const visible = f < 30 || f === 38;
        const out = t.update(visible ? [det(x, 0.4, 0.15, 0.3)] : [], tsOf(f));
        for (const tr of out) ids.add(tr.id);
        if (f > 38) err += Math.abs(out[0]!.current.bbox.center.x - x);
      }
      return { err, ids };
    };
    const withOru = scenario(true, true), without = scenario(false, true);
    expect(withOru.ids.size).toBe(1);
    expect(without.ids.size).toBe(1);
    expect(withOru.err).toBeLessThan(without.err * 0.95);
    // For motion the blind prediction got right, the re-update changes nothing.
    const straightOru = scenario(true, false), straight = scenario(false, false);
    expect(straightOru.err).toBeLessThan(1e-3);
    expect(Math.abs(straightOru.err - straight.err)).toBeLessThan(1e-4);
  });

  it('observation-centric momentum prefers the detection in the direction of motion', () => {
    // A track moving right and slightly down; two detections near its prediction: one displaced
    // along x (consistent with the motion) and one displaced along y with a slightly higher IoU.
    const pick = (momentumWeight: number, swap: boolean): 'x' | 'y' => {
      const t = new MultiObjectTracker({ minHits: 1, momentumWeight, lastObservationRecovery: false });
      for (let f = 0; f < 20; f++) t.update([det(0.2 + 0.01 * f, 0.3 + 0.002 * f, 0.1, 0.1)], tsOf(f));
      const px = 0.2 + 0.01 * 20, py = 0.3 + 0.002 * 20;
      const dx = det(px + 0.02, py, 0.1, 0.1), dy = det(px, py + 0.019, 0.1, 0.1);
      const out = t.update(swap ? [dy, dx] : [dx, dy], tsOf(20));
      const tr = out.find((x) => x.id === 1)!;
      return tr.current.detectionId === dx.id ? 'x' : 'y';
    };
    expect(pick(0, false)).toBe('y');
    expect(pick(0, true)).toBe('y');
    expect(pick(0.2, false)).toBe('x');
    expect(pick(0.2, true)).toBe('x');
  });

  it('last-observation recovery re-acquires an object that stopped while hidden', () => {
    // Moving fast, it stops as soon as it is hidden: the prediction runs away, the last observation does not.
    const run = (recovery: boolean): number => {
      const t = new MultiObjectTracker({ minHits: 1, lastObservationRecovery: recovery });
      const ids = new Set<number>();
      for (let f = 0; f < 30; f++) {
        const x = 0.1 + 0.02 * Math.min(f, 15);
        const out = t.update(f >= 16 && f < 24 ? [] : [det(x, 0.5, 0.1, 0.2)], tsOf(f));
        for (const tr of out) if (tr.state !== 'lost') ids.add(tr.id);
      }
      return ids.size;
    };
    expect(run(true)).toBe(1);
    expect(run(false)).toBe(2);
  });

  it('class consistency: a track only matches its own class unless class-agnostic', () => {
    const strict = new MultiObjectTracker({ minHits: 1 });
    const out = drive(strict, 6, (f) => [det(0.5, 0.5, 0.1, 0.1, { classId: f < 3 ? 0 : 1 })]);
    expect(out[3]!.map((x) => `${x.id}:${x.classId}:${x.state}`)).toEqual(['1:0:coasted', '2:1:confirmed']);
    // Two overlapping objects of different classes (a rider on a bike) keep separate tracks.
    const both = drive(new MultiObjectTracker({ minHits: 1 }), 10, () => [det(0.5, 0.5, 0.1, 0.2, { classId: 0 }), det(0.5, 0.52, 0.1, 0.18, { classId: 1 })]);
    expect(both[9]!.map((x) => `${x.id}:${x.classId}`)).toEqual(['1:0', '2:1']);

    const agnostic = new MultiObjectTracker({ minHits: 1, classAgnostic: true });
    const out2 = drive(agnostic, 12, (f) => [det(0.5, 0.5, 0.1, 0.1, { classId: f < 3 ? 0 : 1 })]);
    expect(new Set(out2.flat().map((x) => x.id))).toEqual(new Set([1]));
    // The reported class follows the summed confidence: class 0 for 3 frames, then class 1 wins.
    expect(out2[3]!.map((x) => x.classId)).toEqual([0]);
    expect(out2[5]!.map((x) => x.classId)).toEqual([0]);
    expect(out2[6]!.map((x) => x.classId)).toEqual([1]);
  });

  it('detections below minConfidence never start (or extend) tracks', () => {
    const t = new MultiObjectTracker({ minHits: 1, minConfidence: 0.5 });
    const out = drive(t, 20, (f) => [det(0.3 + 0.005 * f, 0.5, 0.1, 0.1, { confidence: 0.49 })]);
    expect(out.flat()).toEqual([]);
    expect(t.size).toBe(0);
    const out2 = drive(t, 6, (f) => [det(0.5, 0.5, 0.1, 0.1, { confidence: f < 23 ? 0.9 : 0.3 })], 20);
    expect(states(out2)).toEqual(['1:confirmed', '1:confirmed', '1:confirmed', '1:coasted', '1:coasted', '1:coasted']);
  });

  it('high/low split: low-score detections extend confirmed tracks but never start or confirm one', () => {
    const t = new MultiObjectTracker({ minHits: 2, minConfidence: 0.1, highConfidence: 0.6 });
    const out = drive(t, 8, (f) => [
      det(0.3, 0.5, 0.1, 0.1, { confidence: f < 3 ? 0.9 : 0.3 }), // strong, then weak (partly occluded)
      det(0.7, 0.5, 0.1, 0.1, { confidence: 0.3 }), // always weak
    ]);
    expect(states(out)).toEqual(['1:tentative', '1:confirmed', '1:confirmed', '1:confirmed', '1:confirmed', '1:confirmed', '1:confirmed', '1:confirmed']);
    expect(out[5]![0]!.current.confidence).toBeCloseTo(0.3, 12);
    // Without the split the weak detections are ignored below minConfidence 0.5.
    const t2 = new MultiObjectTracker({ minHits: 2, minConfidence: 0.5 });
    expect(states(drive(t2, 5, (f) => [det(0.3, 0.5, 0.1, 0.1, { confidence: f < 3 ? 0.9 : 0.3 })]))).toEqual([
      '1:tentative', '1:confirmed', '1:confirmed', '1:coasted', '1:coasted',
    ]);
    // A tentative track is not extended by a low-score detection.
    const t3 = new MultiObjectTracker({ minHits: 3, highConfidence: 0.6 });
    expect(states(drive(t3, 3, (f) => [det(0.3, 0.5, 0.1, 0.1, { confidence: f === 0 ? 0.9 : 0.4 })]))).toEqual(['1:tentative', '-', '-']);
  });

  it('the detection and its metadata stay reachable from the track', () => {
    const Plate = metadataKey<{ text: string }>('plate');
    const t = new MultiObjectTracker({ minHits: 1 });
    const meta = new TypedMetadata();
    meta.set(Plate, { text: 'AB123' });
    const d = det(0.5, 0.5, 0.1, 0.1, { metadata: meta });
    const [tr] = t.update([d], tsOf(0));
    expect(tr!.current.detectionId).toBe(d.id);
    expect(tr!.current.metadata.get(Plate)).toEqual({ text: 'AB123' });
    expect(tr!.current.metadata).not.toBe(meta); // a copy: the detection's map stays untouched
    expect(tr!.metadata.get(LAST_DETECTION)).toBe(d);
    const [coasting] = t.update([], tsOf(1));
    expect(coasting!.state).toBe('coasted');
    expect(coasting!.current.metadata.get(Plate)).toBeUndefined();
    expect(coasting!.metadata.get(LAST_DETECTION)?.metadata.get(Plate)?.text).toBe('AB123');
  });

  it("outputBox 'detection' reports the matched detection's box; 'filtered' the smoothed estimate", () => {
    const rand = rng(5);
    const dets = Array.from({ length: 10 }, (_, f) => det(0.4 + 0.01 * f + 0.003 * gaussian(rand), 0.5, 0.1, 0.1));
    const a = new MultiObjectTracker({ minHits: 1, outputBox: 'detection' });
    const b = new MultiObjectTracker({ minHits: 1 });
    let la: Track[] = [], lb: Track[] = [];
    dets.forEach((d, f) => { la = a.update([d], tsOf(f)); lb = b.update([d], tsOf(f)); });
    expect(la[0]!.current.bbox).toBe(dets[9]!.bbox);
    expect(lb[0]!.current.bbox.equals(dets[9]!.bbox, 1e-12)).toBe(false);
    expect(lb[0]!.current.bbox.center.x).toBeCloseTo(0.49, 1);
  });

  it('reports tracks in id order and skips empty boxes', () => {
    const t = new MultiObjectTracker({ minHits: 1 });
    const out = drive(t, 3, (f) => (f === 0 ? [det(0.2, 0.2), det(0.8, 0.8)] : [det(0.8, 0.8), det(0.5, 0.5, 0, 0.1), det(0.2, 0.2)]));
    expect(out[2]!.map((x) => x.id)).toEqual([1, 2]);
  });
});

describe('tracker options', () => {
  it('has the documented defaults', () => {
    const o = new MultiObjectTracker().options;
    expect(o).toEqual(DEFAULT_TRACKER_OPTIONS);
    expect(o).toMatchObject({ iouThreshold: 0.3, minHits: 3, maxCoastFrames: 30, minConfidence: 0.25, momentumWeight: 0.2, outputBox: 'filtered' });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects wrong types and ranges with "Expected … for … but received …"', () => {
    const bad: [TrackerOptions, RegExp][] = [
      [{ iouThreshold: 0 }, /Expected a number in \(0, 1\] for tracker.iouThreshold but received 0 of type number/],
      [{ iouThreshold: 1.5 }, /tracker.iouThreshold/],
      [{ minHits: 0 }, /Expected a positive integer for tracker.minHits but received 0/],
      [{ minHits: 2.5 }, /tracker.minHits/],
      [{ maxCoastFrames: -1 }, /Expected a non-negative integer for tracker.maxCoastFrames/],
      [{ maxCoastMs: 0 }, /tracker.maxCoastMs/],
      [{ minConfidence: NaN }, /Expected a number in \[0, 1\] for tracker.minConfidence but received NaN/],
      [{ highConfidence: 2 }, /tracker.highConfidence/],
      [{ classAgnostic: 'yes' as unknown as boolean }, /Expected a boolean for tracker.classAgnostic but received 'yes' of type string/],
      [{ momentumWeight: -0.1 }, /tracker.momentumWeight/],
      [{ momentumDeltaFrames: 0 }, /tracker.momentumDeltaFrames/],
      [{ outputBox: 'raw' as 'filtered' }, /Expected 'filtered' or 'detection' for tracker.outputBox/],
      [{ frameIntervalMs: 0 }, /tracker.frameIntervalMs/],
      [{ noise: { positionWeight: 0 } }, /Expected a finite number > 0 for tracker.noise.positionWeight/],
    ];
    for (const [o, msg] of bad) {
      let err: unknown;
      try { new MultiObjectTracker(o); } catch (e) { err = e; }
      expect(InvalidArgumentError.isInstance(err), JSON.stringify(o)).toBe(true);
      expect((err as Error).message).toMatch(msg);
    }
    expect(() => resolveTrackerOptions(null as unknown as TrackerOptions)).toThrow(/Expected an object for tracker options but received null/);
  });

  it('rejects unknown and inconsistent options with a ConfigError naming the field', () => {
    let err: unknown;
    try { new MultiObjectTracker({ iouTreshold: 0.5 } as TrackerOptions); } catch (e) { err = e; }
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as ConfigError).field).toBe('tracker.iouTreshold');
    err = undefined;
    try { new MultiObjectTracker({ minConfidence: 0.5, highConfidence: 0.4 }); } catch (e) { err = e; }
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as ConfigError).field).toBe('tracker.highConfidence');
    expect((err as Error).message).toMatch(/Expected a number >= minConfidence \(0.5\) for tracker.highConfidence but received 0.4/);
  });

  it('undefined fields take their defaults', () => {
    expect(resolveTrackerOptions({ minHits: undefined, noise: { velocityWeight: 0.01 } })).toMatchObject({ minHits: 3, noise: { positionWeight: 1 / 20, velocityWeight: 0.01 } });
  });
});
