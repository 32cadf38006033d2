
import { BBox, StageError, TypedMetadata, detectionId, metadataKey } from '@nv/core';
import { createDetection } from '@nv/perception';
import { FeedPipeline } from '@nv/runtime';

const LABEL = metadataKey('test.label');
const COUNT = metadataKey('test.count');

/** A detector-like stage: one detection per frame with metadata, a typed artifact, a typed error on options.failAt. */
export default function build(options, ctx) {
  return {
    stages: [{
      id: 'det',
      process(c) {
        if (c.frame.seq === options.failAt) throw StageError.processingFailed('det', 'typed failure on purpose');
        const m = new TypedMetadata();
        m.set(LABEL, { text: 'f' + c.frame.seq, feed: ctx.feedId, worker: ctx.workerRestarts });
        const d = createDetection({ id: detectionId(c.frame.seq + 1), classId: 1, confidence: 0.9, bbox: BBox.of(0.1, 0.2, 0.3, 0.4), metadata: m, embedding: [1, 2] });
        const a = new TypedMetadata();
        a.set(COUNT, c.frame.seq);
        return { detections: [d], artifacts: a };
      },
    }],
  };
}

/** Enters a synchronous infinite loop on the frame whose raw ts is options.hangAt × 40 ms, or on every frame ('every'); flags it first. */
export function hang(options) {
  const flag = new Int32Array(options.flag);
  return {
    stages: [{
      id: 'hang',
      process(c) {
        if (options.hangAt === 'every' || Math.round(c.frame.ts / 40e6) === options.hangAt) { Atomics.store(flag, 0, 1); for (;;) { /* hung */ } }
      },
    }],
  };
}

/** A parallel section (head and a serial tail): refused in an isolated feed. */
export function parallelPipeline() {
  const stage = (id) => ({ id, process() {} });
  return { pipeline: FeedPipeline.builder().parallel(2, (h) => h.addStage(stage('head'))).addStage(stage('tail')).build() };
}

const ODD = metadataKey('test.odd');

/**
 * Typed artifacts that cannot all cross, by frame seq % 5: 0 a number; 1 a detached ArrayBuffer
 * (postMessage throws DataCloneError); 2 an object with a throwing getter (encoding throws); 3 an
 * object that looks like an encoded BBox but is not one (main cannot rebuild it); 4 a function and a
 * symbol beside a number (dropped from the value; the output crosses).
 */
export function uncloneable() {
  return {
    stages: [{
      id: 'odd',
      async process(c) {
        await new Promise((r) => setTimeout(r, 3));
        const a = new TypedMetadata();
        const seq = c.frame.seq;
        switch (seq % 5) {
          case 1: { const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] }); a.set(ODD, b); break; }
          case 2: a.set(ODD, { get boom() { throw new Error('getter fails on purpose'); } }); break;
          case 3: a.set(ODD, { __nv$: 'bbox', b: null }); break;
          case 4: a.set(ODD, { n: seq, fn: () => seq, sym: Symbol('s') }); break;
          default: a.set(ODD, seq);
        }
        return { artifacts: a };
      },
    }],
  };
}

export const notAFunction = 42;
export function throwsPlain() { throw new Error('plain failure'); }
export function throwsTyped() { throw StageError.modelLoadFailed('det', 'model.onnx is missing'); }
