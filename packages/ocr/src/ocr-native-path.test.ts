/**
 * The OCR stages on media frames take the native resample (`letterboxInto` with a
 * `ResampleIntoRequest`) for the detector's input and the recognizer's crops; the same frames
 * with that capability hidden take the JavaScript path. Through the real runtime on the OCR test
 * clip (MediaSource → TextDetector → TrackerStage → TextRecognizer), both give identical boxes,
 * quads, tracks, texts and confidences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetimedFrame, type FrameEnvelope, type FrameSource, type LetterboxIntoRequest, type ResampleIntoRequest } from '@nv/frame';
import { MediaSource, NativeFrame } from '@nv/media';
import { Runtime } from '@nv/runtime';
import { makeTextClip } from '@nv/test-util';
import { TrackerStage } from '@nv/tracking';
import { TEXT, TEXT_REGION } from './metadata.js';
import { TextDetector } from './text-detector.js';
import { TextRecognizer } from './text-recognizer.js';

const FRAMES = 24;

/** The first FRAMES frames of a media source; with `hideNative`, each behind a view without `letterboxInto`. */
class LimitedSource implements FrameSource {
  readonly specificationVersion = 'v1' as const;
  readonly #inner: MediaSource;
  readonly #hideNative: boolean;
  #n = 0;
  constructor(inner: MediaSource, hideNative: boolean) { this.#inner = inner; this.#hideNative = hideNative; }
  async next(): Promise<FrameEnvelope | undefined> {
    if (this.#n >= FRAMES) return undefined;
    const f = await this.#inner.next();
    if (!f) return undefined;
    this.#n++;
    return this.#hideNative ? new RetimedFrame(f, f.ts, f.seq) : f;
  }
  start(): void { this.#inner.start(); }
  async stop(): Promise<void> { await this.#inner.stop(); }
}

interface Run { outputs: unknown[]; reads: number }

async function run(path: string, hideNative: boolean): Promise<Run> {
  const recognizer = new TextRecognizer();
  const rt = new Runtime();
  const outputs: unknown[] = [];
  const feed = rt.addFeed({
    source: () => new LimitedSource(new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } }), hideNative),
    cameraMode: 'fixed',
    stages: [new TextDetector({ limitSideLen: 800 }), new TrackerStage(), recognizer],
    sink: {
      emit(out) {
        outputs.push({
          seq: out.seq,
          detections: out.artifacts.detections.map((d) => ({ bbox: d.bbox, confidence: d.confidence, quad: d.metadata.get(TEXT_REGION)?.quad.vertices })),
          tracks: out.artifacts.tracks.map((t) => ({ id: t.id, state: t.state, bbox: t.current.bbox, text: t.metadata.get(TEXT)?.text, confidence: t.metadata.get(TEXT)?.confidence })),
        });
      },
    },
  });
  await feed.done;
  const reads = recognizer.readCount;
  await rt.shutdown();
  return { outputs, reads };
}

describe('OCR on media frames: native resample path = JavaScript path, through the runtime', () => {
  const calls = { resample: 0, other: 0 };
  const original = NativeFrame.prototype.letterboxInto;
  let native: Run, js: Run;

  beforeAll(async () => {
    NativeFrame.prototype.letterboxInto = function (this: NativeFrame, r: LetterboxIntoRequest | ResampleIntoRequest) {
      if (r.kind === 'resample') calls.resample++; else calls.other++;
      return original.call(this, r);
    };
    const { path } = await makeTextClip({ frames: 75 });
    native = await run(path, false);
    const nativeCalls = calls.resample;
    js = await run(path, true);
    expect(calls.resample).toBe(nativeCalls); // the hidden run never reached the native path
  }, 120_000);
  afterAll(() => { NativeFrame.prototype.letterboxInto = original; });

  it('the native run resampled the detector input and the crops natively', () => {
    expect(native.outputs).toHaveLength(FRAMES);
    // One detector input per frame, plus one per recognizer crop.
    expect(calls.resample).toBe(FRAMES + native.reads);
    expect(native.reads).toBeGreaterThan(0);
    expect(calls.other).toBe(0);
  });

  it('identical detections (boxes, quads, scores), tracks, texts and confidences', () => {
    expect(js.outputs).toHaveLength(FRAMES);
    expect(js.reads).toBe(native.reads);
    expect(js.outputs).toEqual(native.outputs);
    const texts = new Set(native.outputs.flatMap((o) => (o as { tracks: { text?: string }[] }).tracks.map((t) => t.text).filter(Boolean)));
    expect(texts.size).toBeGreaterThanOrEqual(3); // the clip's three plates were read
  });
});

describe('TextDetector in a parallel head: runs reach the model in call order', () => {
  it('a call whose native sampling finishes last still gets the lower detection ids (ids follow frame order)', async () => {
    const { path } = await makeTextClip({ frames: 75 });
    const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' } });
    const frames: NativeFrame[] = [];
    for (let i = 0; i < 12; i++) { const f = await src.next(); if (f) frames.push(f); }
    await src.stop();
    const det = new TextDetector({ limitSideLen: 800 });
    await det.onStart();
    try {
      const a = frames[10]!, b = frames[11]!;
      // `a`'s sampling is held back, so `b`'s finishes first.
      const slow = new Proxy(a, {
        get(t, k) {
          if (k === 'letterboxInto') return async (r: LetterboxIntoRequest | ResampleIntoRequest) => { await new Promise((res) => setTimeout(res, 200)); return t.letterboxInto(r); };
          const v: unknown = Reflect.get(t, k, t);
          return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
        },
      });
      const ctx = (frame: FrameEnvelope) => ({ frame, signal: new AbortController().signal }) as unknown as Parameters<TextDetector['process']>[0];
      const [ra, rb] = await Promise.all([det.process(ctx(slow)), det.process(ctx(b))]);
      const ids = (r: unknown) => (r as { detections: { id: number }[] }).detections.map((d) => d.id);
      expect(ids(ra).length).toBeGreaterThan(0);
      expect(ids(rb).length).toBeGreaterThan(0);
      expect(Math.max(...ids(ra))).toBeLessThan(Math.min(...ids(rb)));
    } finally {
      await det.onStop();
      for (const f of frames) f.release();
    }
  }, 60_000);
});
