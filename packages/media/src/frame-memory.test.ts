/**
 * What a native frame costs and how leaks are counted (native/src/native_frame.h, "Lifetime
 * model"): `leakedFrames` counts exactly the frames the GC freed without `release()` — never a
 * frame the source dropped at stop, never a released one — and a frame's memory is not freed
 * while a view of it can still be reached. In a file of its own: the counters are process-wide
 * and vitest runs each file in its own process.
 *
 * The GC is forced in-process (`--expose-gc` set at run time, `gc` taken from a new context);
 * the waits below are hang guards, not timing assertions: each polls until the counters settle.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { loadBinding } from './binding.js';
import { MediaSource, mediaDiagnostics } from './index.js';
import type { NativeFrame } from './native-frame.js';

v8.setFlagsFromString('--expose-gc');
const gc = (globalThis.gc ?? vm.runInNewContext('gc')) as () => void;
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

/** Full GCs, each followed by a turn of the event loop (Node runs ArrayBuffer finalizers from an immediate). */
async function collect(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) { gc(); await tick(); }
}

/** Collects until `done()` holds (hang guard: ~2000 rounds), then a few more rounds so that nothing late is missed. */
async function collectUntil(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 2000) throw new Error(`never happened: ${what} (${JSON.stringify(mediaDiagnostics())})`);
    gc();
    await tick();
  }
  await collect();
}

/** Polls (event-loop turns) until `done()` holds; a hang guard, not a timing assertion. */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 4000) throw new Error(`never happened: ${what}`);
    await tick();
  }
}

const spec = { kind: 'testPattern', frames: 40, width: 64, height: 48 } as const;
const output = { format: 'I420' } as const; // three planes: three ArrayBuffers per frame

/** Pulls `n` frames; drops (never releases) those whose index `drop` selects, releases the rest. */
async function consume(src: MediaSource, n: number, drop: (i: number) => boolean): Promise<void> {
  for (let i = 0; i < n; i++) {
    const f = await src.next();
    if (!f) throw new Error(`source ended after ${i} frames`);
    if (!drop(i)) f.release();
  }
}

describe('native frames: memory and the leak counter', () => {
  it('frames dropped without release() are counted exactly once the GC frees them (N dropped: +N)', async () => {
    await collect();
    const base = mediaDiagnostics();
    const src = new MediaSource(spec, { output, backpressure: { kind: 'block', queueDepth: 4 } });
    await consume(src, 21, (i) => i % 3 === 0); // frames 0, 3, …, 18 dropped: 7
    await src.stop(); // whatever is still queued is the source's: freed there, not a leak
    await collectUntil(() => mediaDiagnostics().leakedFrames - base.leakedFrames >= 7, '7 leaks counted');
    const after = mediaDiagnostics();
    expect(after.leakedFrames - base.leakedFrames).toBe(7);
    expect(after.liveFrames).toBe(base.liveFrames);
  });

  it('a frame is not freed while a view of one of its planes can still be reached', async () => {
    await collect();
    const base = mediaDiagnostics();
    const src = new MediaSource(spec, { output, backpressure: { kind: 'block', queueDepth: 2 } });
    const keep = await (async () => {
      const f = (await src.next())!;
      const y = f.plane(0);
      return { y, first: y[0], length: y.length }; // `f` itself (and its chroma planes) is dropped
    })();
    await src.stop();
    await collect(8);
    let d = mediaDiagnostics();
    expect(d.liveFrames - base.liveFrames).toBe(1); // still mapped: `keep.y` can read it
    expect(d.leakedFrames).toBe(base.leakedFrames);
    expect([keep.y.length, keep.y[0]]).toEqual([keep.length, keep.first]);
    const release = (): void => { (keep as { y?: Uint8Array }).y = undefined; };
    release();
    await collectUntil(() => mediaDiagnostics().liveFrames === base.liveFrames, 'the frame freed once its last view is gone');
    d = mediaDiagnostics();
    expect(d.leakedFrames - base.leakedFrames).toBe(1); // it was never released: a leak, counted when freed
  });

  it('start/stop with frames queued, blocked in the streaming thread, pulled but not yet delivered, or released: no leak', async () => {
    await collect();
    const base = mediaDiagnostics();
    for (let i = 0; i < 20; i++) {
      const src = new MediaSource(spec, { output, backpressure: { kind: 'block', queueDepth: 2 } });
      const gen = src.frames();
      const first = (await gen.next()).value as NativeFrame;
      first.release(); // released normally
      // Queue full (2), the streaming thread blocked in Enqueue with the next frame.
      await waitFor(() => src.stats().queued === 2, 'a full queue');
      const pending = gen.next(); // pulls a frame now; the generator hands it over only after a microtask
      await src.stop(); // runs synchronously, before that hand-over
      const r = await pending;
      expect(r.done).toBe(false); // it was pulled before stop(), so it is delivered…
      if (!r.done) r.value.release(); // …and the caller owns it, even after stop()
      expect((await gen.next()).done).toBe(true);
    }
    // A live source under dropOldest: frames evicted from the queue, and queued ones at stop.
    const live = new MediaSource({ kind: 'testPattern', live: true, width: 64, height: 48 }, { output, backpressure: { kind: 'dropOldest', queueDepth: 2 } });
    live.start();
    await waitFor(() => live.stats().dropped > 0 && live.stats().queued > 0, 'a frame evicted');
    await live.stop();
    await collect(8);
    const after = mediaDiagnostics();
    expect(after.leakedFrames).toBe(base.leakedFrames);
    expect(after.liveFrames).toBe(base.liveFrames);
  });

  it('a released frame leaves nothing native behind: its slot is reused and its handle reads released', async () => {
    const b = loadBinding();
    if (!b.__testFrameSlots) return; // a build without NV_TEST_HOOKS
    const slots = b.__testFrameSlots;
    await collect();
    const base = mediaDiagnostics();
    const slotsBefore = slots().slots;
    const src = new MediaSource({ ...spec, frames: 200 }, { output, backpressure: { kind: 'block', queueDepth: 4 } });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 20; i++) {
        const f = (await src.next())!;
        const h = f._handle;
        f.release();
        expect(h.isReleased()).toBe(true);
        h.release(); // idempotent
      }
      // A slot is recycled once Node has run its plane finalizers (from an immediate).
      await waitFor(() => slots().pending === 0, 'pending plane finalizers run');
    }
    await src.stop();
    // 200 frames through at most one round's worth of slots, all back on the free list.
    expect(slots().slots).toBeLessThanOrEqual(Math.max(slotsBefore, 24));
    expect(slots().live).toBe(0);
    expect(slots().free).toBe(slots().slots);
    expect(mediaDiagnostics().leakedFrames).toBe(base.leakedFrames);
    expect(mediaDiagnostics().liveFrames).toBe(base.liveFrames);
  });
});
