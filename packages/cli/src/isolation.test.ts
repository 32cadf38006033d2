/**
 * `nv run` with a config file whose feed asks for worker isolation (`isolation:`): the feed's
 * stages come from the module, in a worker; JSON lines are written on the main thread, with the
 * recognized text mapped back onto the OCR key. The fixture module is written next to this
 * package (so that `@nv/core` resolves through the workspace) and removed afterwards.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'nv-cli-iso-'));
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', `isolation-fixture-${process.pid}.mjs`);

beforeAll(() => {
  writeFileSync(FIXTURE, `
import { BBox, TypedMetadata, detectionId, metadataKey } from '@nv/core';
const TEXT = metadataKey('ocr.text'); // the name of @nv/ocr's TEXT key
export function plates(options) {
  return {
    stages: [{
      id: 'plates',
      process(c) {
        const m = new TypedMetadata();
        m.set(TEXT, { text: options.text, confidence: 0.9 });
        return { detections: [{ id: detectionId(c.frame.seq + 1), classId: 0, confidence: 0.8, bbox: BBox.of(0.1, 0.1, 0.5, 0.5), embedding: undefined, metadata: m }] };
      },
    }],
  };
}
`);
});
afterAll(() => { rmSync(FIXTURE, { force: true }); rmSync(dir, { recursive: true, force: true }); });

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => { out.push(l); }, err: (l: string) => { err.push(l); } } };
}

function config(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify({
    feeds: [{
      name: 'iso', cameraMode: 'fixed', source: { kind: 'testPattern', pattern: 'ball', width: 64, height: 48, frames: 6 },
      isolation: { module: FIXTURE, export: 'plates', options: { text: 'AB12' }, heartbeatTimeoutMs: 5000 },
    }],
  }));
  return p;
}

describe('nv run with an isolated feed from a config file', () => {
  it('runs the module\'s stages in a worker and writes one JSON line per frame, text included; --max-frames counts at the sink', async () => {
    const out = join(dir, 'iso.jsonl');
    const c = capture();
    expect(await runCli(['run', '--config', config('iso.json'), '--out', out], { io: c.io })).toBe(EXIT.ok);
    expect(c.err).toEqual([]);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; feedName: string; detections: { text?: { text: string } }[]; provenance: { stages: { id: string }[] } });
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(lines[0]!.feedName).toBe('iso');
    expect(lines[0]!.provenance.stages.map((s) => s.id)).toEqual(['plates']);
    expect(lines.every((l) => l.detections[0]?.text?.text === 'AB12')).toBe(true);

    const limited = join(dir, 'limited.jsonl');
    expect(await runCli(['run', '--config', config('limited.json'), '--out', limited, '--max-frames', '3'], { io: capture().io })).toBe(EXIT.ok);
    expect(readFileSync(limited, 'utf8').trim().split('\n')).toHaveLength(3);
  }, 30_000);

  it('refuses CLI stages for an isolated feed (usage error, nothing written)', async () => {
    const c = capture();
    expect(await runCli(['run', '--config', config('track.json'), '--track'], { io: c.io })).toBe(EXIT.usage);
    expect(c.err.join('\n')).toContain('an isolated feed (isolation:) runs only the stages its module builds');
  });
});
