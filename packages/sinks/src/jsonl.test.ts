import { ConfigError } from '@nv/core';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlFileSink } from './jsonl.js';
import { removeScratch, scratch, waitFor } from './test-fixtures.js';
import type { SinkHealthEvent } from './types.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) removeScratch(d); });
const dir = (): string => { const d = scratch('jsonl'); dirs.push(d); return d; };
const lines = (file: string): { id: string; subject?: string; payload: unknown }[] =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { id: string; payload: unknown });

describe('JsonlFileSink', () => {
  it('appends one JSON line per message (id, subject, payload), in order; close flushes everything queued', async () => {
    const path = join(dir(), 'sub', 'events.jsonl');
    const s = new JsonlFileSink({ path });
    for (let i = 0; i < 1000; i++) s.publish({ id: `e${i}`, subject: i % 2 ? 'zone.entered' : undefined, payload: { i } });
    expect(s.stats().delivered).toBeLessThan(1000); // nothing is written on the caller
    const r = await s.close();
    expect(r).toEqual({ delivered: 1000, abandoned: 0, timedOut: false });
    const got = lines(path);
    expect(got.map((l) => l.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `e${i}`));
    expect(got[1]).toEqual({ id: 'e1', subject: 'zone.entered', payload: { i: 1 } });
    expect(s.target).toBe(path);
  });

  it('appends to an existing file', async () => {
    const path = join(dir(), 'events.jsonl');
    writeFileSync(path, '{"id":"old","payload":0}\n');
    const s = new JsonlFileSink({ path });
    s.publish({ id: 'new', payload: 1 });
    await s.close();
    expect(lines(path).map((l) => l.id)).toEqual(['old', 'new']);
  });

  it('rotates before a line would pass maxBytes, keeps at most maxFiles files, newest last, no line split', async () => {
    const d = dir();
    const path = join(d, 'events.jsonl');
    const s = new JsonlFileSink({ path, maxBytes: 1000, maxFiles: 3 });
    for (let i = 0; i < 300; i++) s.publish({ id: `r${String(i).padStart(3, '0')}`, payload: { pad: 'x'.repeat(20) } });
    await s.close();
    expect(readdirSync(d).sort()).toEqual(['events.jsonl', 'events.jsonl.1', 'events.jsonl.2']);
    for (const f of readdirSync(d)) expect(statSync(join(d, f)).size).toBeLessThanOrEqual(1000);
    const kept = [...lines(`${path}.2`), ...lines(`${path}.1`), ...lines(path)].map((l) => l.id);
    // The newest messages, contiguous, ending with the last one.
    expect(kept.at(-1)).toBe('r299');
    const first = Number(kept[0]!.slice(1));
    expect(kept).toEqual(Array.from({ length: 300 - first }, (_, i) => `r${String(first + i).padStart(3, '0')}`));
    expect(statSync(`${path}.2`).size).toBeGreaterThan(900); // rotated files are full
  });

  it('maxFiles 1 keeps only the current file; a line longer than maxBytes gets a file of its own', async () => {
    const d = dir();
    const path = join(d, 'one.jsonl');
    const s = new JsonlFileSink({ path, maxBytes: 100, maxFiles: 1 });
    s.publish({ id: 'a', payload: 'x'.repeat(50) });
    s.publish({ id: 'big', payload: 'y'.repeat(300) });
    s.publish({ id: 'c', payload: 1 });
    await s.close();
    expect(readdirSync(d)).toEqual(['one.jsonl']);
    expect(lines(path).map((l) => l.id)).toEqual(['c']);
  });

  it('an unwritable directory is a typed WriteFailed event, not a crash: messages stay queued (bounded) and close returns, counting them', async () => {
    const d = dir();
    const notADir = join(d, 'file');
    writeFileSync(notADir, 'x');
    const events: SinkHealthEvent[] = [];
    const s = new JsonlFileSink({ path: join(notADir, 'events.jsonl'), queueSize: 5, onHealth: (e) => events.push(e) });
    for (let i = 0; i < 8; i++) s.publish({ id: `u${i}`, payload: i });
    await waitFor(() => events.find((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
    const down = events.find((e) => e.type === 'SinkDisconnected');
    expect(down?.type === 'SinkDisconnected' && down.error).toMatchObject({ kind: 'WriteFailed', name: 'NV_SinkError' });
    expect(down?.type === 'SinkDisconnected' && down.error?.message).toMatch(/cannot create the directory of .*(EEXIST|ENOTDIR)/);
    expect(s.stats()).toMatchObject({ connected: false, delivered: 0, dropped: { overflow: 3 } });
    const t0 = performance.now();
    const r = await s.close({ timeoutMs: 300 });
    expect(performance.now() - t0).toBeLessThan(300 + 2000);
    expect(r).toMatchObject({ abandoned: 5, timedOut: true });
    expect(existsSync(join(notADir, 'events.jsonl'))).toBe(false);
  });

  it('a directory that appears later is picked up (retry with backoff), and what waited is written', async () => {
    const d = dir();
    const path = join(d, 'late', 'events.jsonl');
    const events: SinkHealthEvent[] = [];
    writeFileSync(join(d, 'late'), 'blocking file');
    const s = new JsonlFileSink({ path, onHealth: (e) => events.push(e) });
    s.publish({ id: 'w0', payload: 0 });
    await waitFor(() => events.some((e) => e.type === 'SinkDisconnected'), 'SinkDisconnected');
    removeScratch(join(d, 'late'));
    await waitFor(() => s.stats().delivered === 1, 'written once the path is usable', 10_000);
    expect(events.some((e) => e.type === 'SinkReconnected')).toBe(true);
    await s.close();
    expect(lines(path).map((l) => l.id)).toEqual(['w0']);
  });

  it('refuses bad options with a ConfigError naming the field', () => {
    for (const [opts, f] of [[{ maxBytes: 0 }, 'maxBytes'], [{ maxFiles: 1.5 }, 'maxFiles'], [{ queueSize: -1 }, 'queueSize']] as const) {
      try { new JsonlFileSink({ path: 'x.jsonl', ...opts }); expect.unreachable(); } catch (e) { expect(ConfigError.isInstance(e) && e.field).toBe(f); }
    }
  });
});
