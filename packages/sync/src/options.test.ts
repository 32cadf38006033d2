import { ConfigError, InvalidArgumentError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPACITY } from './options.js';
import { synchronize } from './synchronize.js';
import { Synchronizer } from './synchronizer.js';
import type { SynchronizerOptions } from './types.js';

type AB = { a: number; b: number };

/** The `issues` fields of the ConfigError that `make` throws. */
function issues(make: () => unknown): string[] {
  try {
    make();
  } catch (e) {
    expect(ConfigError.isInstance(e)).toBe(true);
    if (!ConfigError.isInstance(e)) return [];
    expect(e.kind).toBe('InvalidConfig');
    return e.issues.map((i) => i.field);
  }
  throw new Error('expected a ConfigError');
}

const bad = (o: unknown): (() => unknown) => () => new Synchronizer<AB>(o as SynchronizerOptions<AB>);

describe('option validation (at construction)', () => {
  it('accepts valid options and fills in defaults', () => {
    const s = new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'realTime', toleranceMs: 0 } });
    expect(s.policy).toEqual({ kind: 'realTime', toleranceMs: 0, waitAll: true, target: undefined });
    expect(s.streams).toEqual(['a', 'b']);
    expect(Object.isFrozen(s.streams)).toBe(true);
    for (let i = 0; i < DEFAULT_CAPACITY + 5; i++) s.push('a', { ts: i, value: i });
    expect(s.stats().streams.a.buffered).toBe(DEFAULT_CAPACITY);
    expect(new Synchronizer<{ only: string }>({ streams: ['only'], policy: { kind: 'exact' } }).push('only', { ts: 1, value: 'x' })).toHaveLength(1);
  });

  it('rejects invalid streams', () => {
    expect(issues(bad({ policy: { kind: 'exact' } }))).toEqual(['streams']);
    expect(issues(bad({ streams: [], policy: { kind: 'exact' } }))).toEqual(['streams']);
    expect(issues(bad({ streams: ['a', 'a'], policy: { kind: 'exact' } }))).toEqual(['streams[1]']);
    expect(issues(bad({ streams: ['a', '', 3], policy: { kind: 'exact' } }))).toEqual(['streams[1]', 'streams[2]']);
  });

  it('rejects invalid policies', () => {
    const p = (policy: unknown): string[] => issues(bad({ streams: ['a', 'b'], policy }));
    expect(p(undefined)).toEqual(['policy']);
    expect(p({ kind: 'nearest' })).toEqual(['policy.kind']);
    expect(p({ kind: 'realTime' })).toEqual(['policy.toleranceMs']);
    expect(p({ kind: 'realTime', toleranceMs: -1 })).toEqual(['policy.toleranceMs']);
    expect(p({ kind: 'realTime', toleranceMs: Number.NaN })).toEqual(['policy.toleranceMs']);
    expect(p({ kind: 'realTime', toleranceMs: Infinity })).toEqual(['policy.toleranceMs']);
    expect(p({ kind: 'realTime', toleranceMs: 5, waitAll: 'yes' })).toEqual(['policy.waitAll']);
    expect(p({ kind: 'realTime', toleranceMs: 5, target: 'c' })).toEqual(['policy.target']);
    expect(p({ kind: 'realTime', tolerance: 5 })).toEqual(['policy.tolerance', 'policy.toleranceMs']);
    expect(p({ kind: 'exact', toleranceMs: 5 })).toEqual(['policy.toleranceMs']);
  });

  it('rejects invalid capacities, unknown options and a non-function onDrop', () => {
    const o = (extra: Record<string, unknown>): string[] => issues(bad({ streams: ['a', 'b'], policy: { kind: 'exact' }, ...extra }));
    expect(o({ capacity: 0 })).toEqual(['capacity']);
    expect(o({ capacity: 1.5 })).toEqual(['capacity']);
    expect(o({ capacity: '8' })).toEqual(['capacity']);
    expect(o({ capacity: { a: 0, c: 4 } })).toEqual(['capacity.a', 'capacity.c']);
    expect(() => new Synchronizer<AB>({ streams: ['a', 'b'], policy: { kind: 'exact' }, capacity: { a: 4 } })).not.toThrow();
    expect(o({ onDrop: 'log' })).toEqual(['onDrop']);
    expect(o({ buffer: 3 })).toEqual(['buffer']);
  });

  it('reports every problem at once, and a non-object', () => {
    expect(issues(bad({ streams: ['a', 'a'], policy: { kind: 'realTime', toleranceMs: -2, target: 'z' }, capacity: -1 })))
      .toEqual(['streams[1]', 'policy.toleranceMs', 'policy.target', 'capacity']);
    expect(issues(bad(null))).toEqual(['']);
  });
});

describe('synchronize() argument validation (at the call, before any read)', () => {
  it('throws for invalid options, inputs and timestamp', () => {
    let started = false;
    async function* gen(): AsyncGenerator<number> { started = true; yield 1; }
    const policy = { kind: 'exact' } as const;
    expect(issues(() => synchronize({ a: gen(), b: gen() }, { policy: { kind: 'realTime', toleranceMs: -1 }, timestamp: (v) => v }))).toEqual(['policy.toleranceMs']);
    expect(issues(() => synchronize({}, { policy, timestamp: () => 0 }))).toEqual(['streams']);
    expect(() => synchronize({ a: gen(), b: 42 as unknown as Iterable<number> }, { policy, timestamp: (v) => v })).toThrow(InvalidArgumentError);
    expect(() => synchronize({ a: gen() }, { policy } as unknown as Parameters<typeof synchronize<{ a: number }>>[1])).toThrow(InvalidArgumentError);
    expect(() => synchronize({ a: gen(), b: gen() }, { policy, timestamp: { a: (v: number) => v } as unknown as { a: (v: number) => number; b: (v: number) => number } }))
      .toThrow(/timestamp\.b/);
    expect(() => synchronize(null as unknown as Record<string, Iterable<number>>, { policy, timestamp: () => 0 })).toThrow(InvalidArgumentError);
    expect(started).toBe(false);
  });
});
