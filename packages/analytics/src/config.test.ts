import { ConfigError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { AnalyticsConfigSchema, parseAnalyticsConfig, safeParseAnalyticsConfig } from './config.js';
import { AnalyticsStage } from './stage.js';

/** The field named by the ConfigError `input` raises. */
function fieldOf(input: unknown): string | undefined {
  const r = safeParseAnalyticsConfig(input);
  if (r.success) throw new Error('expected a ConfigError');
  expect(ConfigError.isInstance(r.error)).toBe(true);
  expect(r.error.kind).toBe('InvalidConfig');
  return r.error.field;
}

const door = { id: 'door', polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.9], [0.1, 0.9]] as [number, number][], dwellSeconds: 5 };

describe('AnalyticsConfigSchema', () => {
  it('accepts the documented YAML shape and fills in defaults', () => {
    // What a YAML loader makes of the README's `zones:` / `lines:` example.
    const c = parseAnalyticsConfig({ zones: [door], lines: [{ id: 'mid', from: [0.5, 0.0], to: [0.5, 1.0] }] });
    expect(c.zones[0]!.polygon).toHaveLength(4);
    expect(c.zones[0]!.dwellSeconds).toBe(5);
    expect(c.lines[0]!.to).toEqual([0.5, 1]);
    expect(c).toMatchObject({ anchor: 'bottomCenter', anchors: {}, minFrames: 3, includeTentative: false, maxTracks: 1024 });
    expect(parseAnalyticsConfig(undefined)).toMatchObject({ zones: [], lines: [] });
    expect(AnalyticsConfigSchema.parse({ anchors: { 2: 'center' } }).anchors).toEqual({ 2: 'center' });
  });

  it('names the offending field', () => {
    expect(fieldOf({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0]] }] })).toBe('zones[0].polygon');
    expect(fieldOf({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0], [1.5, 1]] }] })).toBe('zones[0].polygon[2][0]');
    expect(fieldOf({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0], [0.5, -0.1]] }] })).toBe('zones[0].polygon[2][1]');
    expect(fieldOf({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0], [Number.NaN, 1]] }] })).toBe('zones[0].polygon[2][0]');
    expect(fieldOf({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0], [Infinity, 1]] }] })).toBe('zones[0].polygon[2][0]');
    expect(fieldOf({ zones: [{ id: 'z', polygon: [[0, 0], [0.5, 0.5], [1, 1]] }] })).toBe('zones[0].polygon'); // collinear
    expect(fieldOf({ zones: [door, { ...door, dwellSeconds: 0 }] })).toBe('zones[1].dwellSeconds');
    expect(fieldOf({ zones: [{ ...door, dwell: 5 }] })).toBe('zones[0].dwell'); // unknown field
    expect(fieldOf({ zones: [{ ...door, id: '' }] })).toBe('zones[0].id');
    expect(fieldOf({ zones: [{ ...door, classes: [-1] }] })).toBe('zones[0].classes[0]');
    expect(fieldOf({ lines: [{ id: 'l', from: [0.5, 0.5], to: [0.5, 0.5] }] })).toBe('lines[0].to');
    expect(fieldOf({ lines: [{ id: 'l', from: [0.5], to: [0.5, 0.5] }] })).toMatch(/^lines\[0\]\.from/);
    expect(fieldOf({ zones: [door], lines: [{ id: 'door', from: [0, 0], to: [1, 1] }] })).toBe('lines[0].id'); // duplicate id
    expect(fieldOf({ minFrames: 0 })).toBe('minFrames');
    expect(fieldOf({ minFrames: 1.5 })).toBe('minFrames');
    expect(fieldOf({ maxTracks: 0 })).toBe('maxTracks');
    expect(fieldOf({ anchor: 'feet' })).toBe('anchor');
    expect(fieldOf({ anchors: { 0: 'feet' } })).toBe('anchors.0');
    expect(fieldOf({ anchors: { person: 'center' } })).toMatch(/^anchors/);
  });

  it('lists every problem and prefixes fields', () => {
    const r = safeParseAnalyticsConfig({ minFrames: 0, zones: [{ id: 'z', polygon: [[0, 0], [1, 0]] }] }, 'feeds[0].analytics');
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.issues.map((i) => i.field).sort()).toEqual(['feeds[0].analytics.minFrames', 'feeds[0].analytics.zones[0].polygon']);
    expect(r.error.message).toMatch(/invalid analytics config: .*feeds\[0\]\.analytics\.minFrames/);
    expect(() => parseAnalyticsConfig({ minFrames: -1 })).toThrow(/minFrames/);
  });

  it('is what the stage validates with', () => {
    expect(() => new AnalyticsStage({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0]] }] })).toThrow(ConfigError);
    expect(() => new AnalyticsStage({ id: '' })).toThrow(/stage/i);
    expect(new AnalyticsStage({ id: 'counting', zones: [door] }).analytics.config.zones[0]!.id).toBe('door');
  });
});
