import { BBox, MONOTONIC_ZERO, TypedMetadata, detectionId, metadataKey, trackId } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { PerceptionArtifacts, createDetection, createObservation, createTrack, signal, stageOutput, type StageOutput } from './index.js';

const det = (n: number) => createDetection({ id: detectionId(n), classId: 0, confidence: 0.9, bbox: BBox.of(0, 0, 0.1 * n, 0.1 * n) });
const trk = (n: number) => createTrack({
  id: trackId(n), classId: 0, state: 'confirmed',
  current: createObservation({ ts: MONOTONIC_ZERO, bbox: BBox.of(0, 0, 0.5, 0.5), confidence: 0.8, state: 'confirmed' }),
});
const Key = metadataKey<string>('k');
const Other = metadataKey<number>('o');
const meta = (k: string) => { const m = new TypedMetadata(); m.set(Key, k); return m; };
const sig = (name: string) => signal.scalar(name, 1, MONOTONIC_ZERO);

describe('artifact merge rules', () => {
  // Each row: outputs of successive stages → what the accumulator holds afterwards.
  it.each<[string, StageOutput[], { dets: number[]; tracks: number[]; authoritative: boolean; signals: string[]; key?: string }]>([
    ['empty outputs keep defaults', [{}, {}], { dets: [], tracks: [], authoritative: false, signals: [] }],
    ['detections replace', [{ detections: [det(1), det(2)] }, { detections: [det(3)] }], { dets: [3], tracks: [], authoritative: false, signals: [] }],
    ['absent detections keep the previous set', [{ detections: [det(1)] }, { signals: [sig('a')] }], { dets: [1], tracks: [], authoritative: false, signals: ['a'] }],
    ['empty detections clear the set', [{ detections: [det(1)] }, { detections: [] }], { dets: [], tracks: [], authoritative: false, signals: [] }],
    ['tracks replace and become authoritative', [{ tracks: [trk(1), trk(2)] }, { tracks: [trk(5)] }], { dets: [], tracks: [5], authoritative: true, signals: [] }],
    ['empty tracks are still authoritative', [{ tracks: [] }], { dets: [], tracks: [], authoritative: true, signals: [] }],
    ['signals append across stages', [{ signals: [sig('a')] }, { signals: [sig('b'), sig('a')] }], { dets: [], tracks: [], authoritative: false, signals: ['a', 'b', 'a'] }],
    ['artifacts: last writer wins per key', [{ artifacts: meta('first') }, { artifacts: meta('second') }], { dets: [], tracks: [], authoritative: false, signals: [], key: 'second' }],
    ['artifacts: absent keeps previous', [{ artifacts: meta('first') }, { detections: [det(1)] }], { dets: [1], tracks: [], authoritative: false, signals: [], key: 'first' }],
  ])('%s', (_name, outputs, expected) => {
    const acc = new PerceptionArtifacts();
    for (const o of outputs) acc.merge(o);
    expect(acc.detections.map((d) => d.id)).toEqual(expected.dets);
    expect(acc.tracks.map((t) => t.id)).toEqual(expected.tracks);
    expect(acc.tracksAuthoritative).toBe(expected.authoritative);
    expect(acc.signals.map((s) => s.name)).toEqual(expected.signals);
    expect(acc.stageArtifacts.get(Key)).toBe(expected.key);
  });

  it('artifact merge keeps other keys', () => {
    const acc = new PerceptionArtifacts();
    const a = new TypedMetadata(); a.set(Other, 1); a.set(Key, 'x');
    acc.merge({ artifacts: a }).merge({ artifacts: meta('y') });
    expect(acc.stageArtifacts.get(Other)).toBe(1);
    expect(acc.stageArtifacts.get(Key)).toBe('y');
  });

  it('scene features append', () => {
    const f = { name: 'weather', value: { kind: 'categorical', value: 'rain' } as const, confidence: 0.7, ts: MONOTONIC_ZERO };
    const acc = new PerceptionArtifacts().merge({ sceneFeatures: [f] }).merge({ sceneFeatures: [f] });
    expect(acc.sceneFeatures).toHaveLength(2);
  });

  it('a stage cannot mutate what it is handed', () => {
    const acc = new PerceptionArtifacts().merge({ detections: [det(1)] });
    expect(() => (acc.detections as unknown as unknown[]).push(det(2))).toThrow(TypeError);
    const input = [det(1)];
    acc.merge({ detections: input });
    input.push(det(2));
    expect(acc.detections).toHaveLength(1);
  });

  it.each([
    ['not an object', 42],
    ['detections not an array', { detections: 'x' }],
    ['artifacts not TypedMetadata', { artifacts: { k: 1 } }],
    ['signals not an array', { signals: 5 }],
    ['scene features not an array', { sceneFeatures: {} }],
  ])('rejects a malformed output: %s', (_n, bad) => {
    expect(() => new PerceptionArtifacts().merge(bad as StageOutput)).toThrow(/Expected/);
  });

  it('builder produces only what was set', () => {
    expect(stageOutput().build()).toEqual({});
    const o = stageOutput().detections([det(1)]).signal(sig('a')).artifact(Key, 'v').build();
    expect(o.detections).toHaveLength(1);
    expect(o.signals).toHaveLength(1);
    expect(o.artifacts?.get(Key)).toBe('v');
    expect(o.tracks).toBeUndefined();
  });
});

describe('detections and tracks', () => {
  it.each([[1.7, 1], [-0.2, 0], [Number.NaN, 0], [0.42, 0.42]])('confidence %d is clamped to %d', (c, e) => {
    expect(createDetection({ id: detectionId(1), classId: 0, confidence: c, bbox: BBox.of(0, 0, 1, 1) }).confidence).toBe(e);
  });
  it('rejects bad class ids and states', () => {
    expect(() => createDetection({ id: detectionId(1), classId: -1, confidence: 1, bbox: BBox.of(0, 0, 1, 1) })).toThrow(/classId/);
    expect(() => createObservation({ ts: MONOTONIC_ZERO, bbox: BBox.of(0, 0, 1, 1), confidence: 1, state: 'gone' as never })).toThrow(/state/);
  });
  it('keeps embeddings as Float32Array', () => {
    const d = createDetection({ id: detectionId(1), classId: 2, confidence: 1, bbox: BBox.of(0, 0, 1, 1), embedding: [0.5, 1] });
    expect(d.embedding).toBeInstanceOf(Float32Array);
    expect(Array.from(d.embedding!)).toEqual([0.5, 1]);
  });
});
