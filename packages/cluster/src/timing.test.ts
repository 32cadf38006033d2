/**
 * The lease timing arithmetic: planning tick, renewal interval, fence margin, and the NATS
 * outage a node's feeds survive.
 */
import { describe, expect, it } from 'vitest';
import { ClusterNode } from './node.js';

describe('lease timing', () => {
  it.each([
    // ttl, tick (undefined: default), expected tick, renew, margin, survivable outage
    [15_000, undefined, 3750, 1500, 1500, 12_000],
    [15_000, 1000, 1000, 1000, 1500, 12_500],
    [10_000, undefined, 2500, 1000, 1000, 8000],
    [10_000, 1000, 1000, 1000, 1000, 8000],
    [60_000, undefined, 15_000, 6000, 6000, 48_000],
    [3000, undefined, 666, 300, 1000, 1700],
    [3000, 100, 100, 100, 1000, 1900],
  ] as const)('TTL %i ms, tick %s: tick %i, renewals every %i ms, fence margin %i ms, survives %i ms without NATS', (ttl, tick, wantTick, renew, margin, survives) => {
    const t = tick ?? ClusterNode.defaultTickMs(ttl);
    expect(t).toBe(wantTick);
    expect(ClusterNode.renewIntervalMs(ttl, t)).toBe(renew);
    expect(ClusterNode.fenceMarginMs(ttl)).toBe(margin);
    expect(ClusterNode.survivableOutageMs(ttl, t)).toBe(survives);
    // Three renewals fit before the fence (a lease survives two lost in a row).
    expect(renew * 3).toBeLessThanOrEqual(ttl - margin);
  });

  it('the default TTL (15 s) survives a JetStream leader election (up to ~9 s) with room', () => {
    expect(ClusterNode.survivableOutageMs(15_000)).toBeGreaterThanOrEqual(10_000);
  });
});
