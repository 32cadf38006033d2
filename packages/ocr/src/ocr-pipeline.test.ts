/**
 * End to end: a generated clip with moving plate-like strings (known text, known positions)
 * through the real runtime — MediaSource → TextDetector → TrackerStage (@nv/tracking) →
 * TextRecognizer — scored against the clip's ground truth; plus a cross-check of one frame
 * against @gutenye/ocr-node, an independent PaddleOCR pipeline working on an encoded PNG.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import Ocr from '@gutenye/ocr-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFrame } from '@nv/frame';
import { MediaSource } from '@nv/media';
import { Runtime } from '@nv/runtime';
import { makeTextClip, type TextClipGroundTruth, type TextClipItem } from '@nv/test-util';
import { TrackerStage } from '@nv/tracking';
import { TEXT, TEXT_REGION } from './metadata.js';
import { TextDetector } from './text-detector.js';
import { TextRecognizer } from './text-recognizer.js';

const FRAMES = 75;
const CROSS_CHECK_FRAME = 40;

interface Box { readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number }
interface FrameRecord {
  readonly index: number;
  readonly detections: readonly Box[];
  readonly tracks: readonly { id: number; state: string; box: Box; text: string | undefined }[];
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
const charAccuracy = (read: string, truth: string) => Math.max(0, 1 - editDistance(read, truth) / truth.length);

/** A detection finds a plate when it is one box around the plate's whole text line. */
function findsPlate(d: Box, p: TextClipItem): boolean {
  const cx = (d.x0 + d.x1) / 2, cy = (d.y0 + d.y1) / 2, w = d.x1 - d.x0;
  return Math.abs(cx - p.cx) < 0.1 * p.w && Math.abs(cy - p.cy) < 0.35 * p.h && w > 0.7 * p.w && w < 1.2 * p.w;
}
const centreInside = (b: Box, p: TextClipItem) => {
  const cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2;
  return cx >= p.x && cx <= p.x + p.w && cy >= p.y && cy <= p.y + p.h;
};

/** Minimal PNG encoder (RGB8, no filtering) for the cross-check. */
function png(rgb: Uint8Array, w: number, h: number): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Buffer) => { let c = 0xffffffff; for (const x of b) c = table[(c ^ x) & 255]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) Buffer.from(rgb.buffer, rgb.byteOffset + y * w * 3, w * 3).copy(raw, y * (w * 3 + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', Buffer.alloc(0))]);
}

describe('OCR through the runtime on a clip with moving text', () => {
  let truth: TextClipGroundTruth;
  const records: FrameRecord[] = [];
  let reads = 0;
  let outputsDropped = -1;
  let seqMismatches = 0;
  let quadless = 0;
  let crossPng: string | undefined;
  let crossReadings: string[] = [];

  beforeAll(async () => {
    const clip = await makeTextClip({ frames: FRAMES });
    truth = clip.groundTruth;
    const scratch = mkdtempSync(join(tmpdir(), 'nv-ocr-e2e-'));
    const detector = new TextDetector({ limitSideLen: 800 }); // 800×448 model input
    const recognizer = new TextRecognizer();
    const rt = new Runtime();
    const feed = rt.addFeed({
      source: () => new MediaSource({ kind: 'file', path: clip.path }, { backpressure: { kind: 'block' } }),
      cameraMode: 'fixed',
      stages: [detector, new TrackerStage(), recognizer],
      // Every output carries its frame, so frame CROSS_CHECK_FRAME has one whichever way
      // `everyNth` counts (0-based in nv 0.1, 1-based since @nv/pipeline's FrameSampler).
      frameInclusion: 'always',
      sink: {
        emit(out) {
          const index = Math.round((Number(out.ts) * truth.fps) / 1e9);
          if (index !== out.seq) seqMismatches++;
          const W = truth.width, H = truth.height;
          const px = (b: { xMin: number; yMin: number; xMax: number; yMax: number }): Box => ({ x0: b.xMin * W, y0: b.yMin * H, x1: b.xMax * W, y1: b.yMax * H });
          for (const d of out.artifacts.detections) if (d.metadata.get(TEXT_REGION)?.quad.length !== 4) quadless++;
          records.push({
            index,
            detections: out.artifacts.detections.map((d) => px(d.bbox)),
            tracks: out.artifacts.tracks.map((t) => ({ id: t.id, state: t.state, box: px(t.current.bbox), text: t.metadata.get(TEXT)?.text })),
          });
          if (index === CROSS_CHECK_FRAME && out.frame) {
            const rgb = convertFrame(out.frame, 'RGB8');
            try {
              crossPng = join(scratch, `frame-${index}.png`);
              writeFileSync(crossPng, png(rgb.plane(0), rgb.width, rgb.height));
            } finally { rgb.release(); }
            crossReadings = out.artifacts.tracks.filter((t) => t.state === 'confirmed').map((t) => t.metadata.get(TEXT)?.text ?? '').sort();
          }
        },
      },
    });
    await feed.done;
    outputsDropped = feed.metrics().outputsDropped;
    reads = recognizer.readCount;
    await rt.shutdown();
  }, 120_000);

  it('detects each string on ≥ 95% of frames, keeps one track id per string, reads it with ≥ 95% character accuracy', () => {
    expect(outputsDropped).toBe(0);
    expect(seqMismatches).toBe(0);
    expect(quadless).toBe(0);
    expect(records.map((r) => r.index)).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
    const lines: string[] = [];
    for (const [k, plate] of truth.plates.entries()) {
      let found = 0, confirmedFrames = 0, accSum = 0, switches = 0;
      const missed: number[] = [];
      let lastId: number | undefined;
      const ids = new Set<number>();
      for (const r of records) {
        const p = truth.perFrame[r.index]!.plates[k]!;
        if (r.detections.some((d) => findsPlate(d, p))) found++;
        else missed.push(r.index);
        // the track on this plate: its box centre inside the plate box, nearest centre first
        const on = r.tracks.filter((t) => centreInside(t.box, p))
          .sort((a, b) => Math.hypot((a.box.x0 + a.box.x1) / 2 - p.cx, (a.box.y0 + a.box.y1) / 2 - p.cy) - Math.hypot((b.box.x0 + b.box.x1) / 2 - p.cx, (b.box.y0 + b.box.y1) / 2 - p.cy))[0];
        if (!on) continue;
        ids.add(on.id);
        if (lastId !== undefined && on.id !== lastId) switches++;
        lastId = on.id;
        if (on.state === 'confirmed') {
          confirmedFrames++;
          accSum += charAccuracy(on.text ?? '', plate.text);
        }
      }
      const detectionRate = found / records.length;
      const accuracy = confirmedFrames === 0 ? 0 : accSum / confirmedFrames;
      lines.push(`  "${plate.text}": detected on ${found}/${records.length} frames (${(100 * detectionRate).toFixed(1)}%), ` +
        `track ids ${[...ids].join(',')} (${switches} switch${switches === 1 ? '' : 'es'}), ` +
        `char accuracy over ${confirmedFrames} confirmed frames ${(100 * accuracy).toFixed(1)}%` +
        (missed.length > 0 ? `; not found on frames ${missed.join(',')}` : ''));
      expect.soft(detectionRate, `${plate.text} detection rate`).toBeGreaterThanOrEqual(0.95);
      expect.soft(switches, `${plate.text} id switches`).toBeLessThanOrEqual(1);
      expect.soft(confirmedFrames, `${plate.text} confirmed frames`).toBeGreaterThanOrEqual(0.8 * FRAMES);
      expect.soft(accuracy, `${plate.text} character accuracy`).toBeGreaterThanOrEqual(0.95);
    }
    const falsePositives = records.reduce((n, r) => n + r.detections.filter((d) => !truth.perFrame[r.index]!.plates.some((p) => findsPlate(d, p))).length, 0);
    lines.push(`  recognizer crops read: ${reads} (vs ${truth.plates.length * FRAMES} for every plate on every frame); unmatched detections: ${falsePositives}`);
    console.log(`OCR pipeline on ${FRAMES} frames of ${truth.width}x${truth.height} @ ${truth.fps} fps:\n${lines.join('\n')}`);
    // Once per track: never more than one read per track per retry interval (default 5 frames).
    expect(reads).toBeLessThanOrEqual(truth.plates.length * Math.ceil(FRAMES / 5));
    expect(reads).toBeGreaterThanOrEqual(truth.plates.length);
  });

  it('reads the same strings as @gutenye/ocr-node on one extracted frame', async () => {
    expect(crossPng).toBeDefined();
    const ocr = await Ocr.create();
    const lines = (await ocr.detect(crossPng!)) as { text: string; mean: number }[];
    const theirs = lines.map((l) => l.text.trim()).filter((t) => t.length > 0).sort();
    console.log(`cross-check on frame ${CROSS_CHECK_FRAME}: nv ${JSON.stringify(crossReadings)} | @gutenye/ocr-node ${JSON.stringify(theirs)}`);
    expect(crossReadings).toHaveLength(truth.plates.length);
    expect(theirs).toEqual(crossReadings);
  }, 60_000);
});
