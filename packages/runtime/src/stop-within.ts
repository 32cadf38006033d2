/** The bounded wait shared by main-thread and worker-isolated feeds' `stop()`. */
import type { Clock, ClockTimer } from '@nv/core';

/**
 * The bounded wait of a feed's `stop()`: resolves when `done` does, or — at most — `timeoutMs`
 * after the call: then `abandon()` runs (every wait gives up), and after `graceMs` more
 * `force()` marks the feed stopped whatever is still running, and the wait resolves.
 * @internal
 */
export function stopWithin(clock: Clock, done: Promise<void>, timeoutMs: number, graceMs: number, abandon: () => void, force: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let grace: ClockTimer | undefined;
    const t = clock.setTimeout(() => {
      abandon();
      grace = clock.setTimeout(() => { force(); resolve(); }, graceMs);
    }, Math.max(0, timeoutMs));
    void done.then(() => { clock.clearTimeout(t); clock.clearTimeout(grace); resolve(); });
  });
}
