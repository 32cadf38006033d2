/**
 * Leak check for the source lifecycle, in a file of its own: `leakedFrames` is process-wide,
 * and vitest runs each test file in its own process, so frames other tests drop (and the GC
 * collects at some arbitrary later moment) cannot show up here as this test's leaks — in a
 * shared file that made this test fail now and then (seen on a fresh machine).
 */
import { describe, expect, it } from 'vitest';
import { MediaSource, mediaDiagnostics } from './index.js';
import { threadCount } from './test-fixtures.js';

describe('MediaSource: lifecycle', () => {
  it('100 create/start/stop cycles leak no pipelines, threads or frames', async () => {
    const base = mediaDiagnostics();
    const threadsBefore = threadCount();
    for (let i = 0; i < 100; i++) {
      const src = new MediaSource({ kind: 'testPattern', frames: 3, width: 32, height: 32 });
      const f = await src.next();
      expect(f).toBeDefined();
      f!.release();
      await src.stop();
      await src.stop(); // idempotent
    }
    await new Promise((r) => setTimeout(r, 200));
    globalThis.gc?.();
    const after = mediaDiagnostics();
    expect(after.liveFrames).toBe(base.liveFrames);
    expect(after.leakedFrames).toBe(base.leakedFrames);
    // Sources are freed by GC once unreachable; their threads are joined at stop().
    expect(threadCount() - threadsBefore).toBeLessThan(8);
  }, 60_000);
});
