import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INSTRUMENTS, VERSION } from './index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// NextVision's nv-metrics instruments (its 30 periodic gauges and 19 health counters).
const REFERENCE_GAUGES = [
  'runtime.uptime_seconds', 'runtime.feed_count', 'runtime.max_feeds', 'runtime.output_lag', 'runtime.output_lag_pending_lost',
  'feed.alive', 'feed.paused', 'feed.uptime_seconds', 'feed.frames_received', 'feed.frames_dropped', 'feed.frames_processed',
  'feed.tracks_active', 'feed.view_epoch', 'feed.restarts', 'feed.queue_source_depth', 'feed.queue_source_capacity',
  'feed.queue_sink_depth', 'feed.queue_sink_capacity', 'feed.view_stability_score', 'feed.view_status',
  'batch.dispatched', 'batch.items_processed', 'batch.items_submitted', 'batch.items_rejected', 'batch.items_timed_out',
  'batch.avg_processing_ms', 'batch.avg_formation_ms', 'batch.avg_fill_ratio', 'batch.consecutive_errors', 'batch.pending_items',
].map((n) => `nv.${n}`);
const REFERENCE_COUNTERS = [
  'source_disconnections', 'source_reconnections', 'stage_errors', 'stage_panics', 'feed_restarts', 'feeds_stopped',
  'backpressure_drops', 'view_epoch_changes', 'view_degradations', 'output_lag_events', 'sink_panics', 'sink_timeouts',
  'sink_backpressure', 'track_admission_rejected', 'batch_errors', 'batch_submission_rejected', 'batch_timeouts',
  'batch_in_flight_exceeded', 'frame_lag_events',
].map((n) => `nv.health.${n}`);

describe('instrument catalogue', () => {
  it('has 49 observable instruments, 33 health counters and 3 histograms, with unique names', () => {
    const by = (k: string) => INSTRUMENTS.filter((i) => i.kind === k).length;
    expect([by('observableCounter') + by('observableGauge'), by('counter'), by('histogram')]).toEqual([49, 33, 3]);
    expect(new Set(INSTRUMENTS.map((i) => i.name)).size).toBe(INSTRUMENTS.length);
  });

  it('follows OTel naming: nv.* lower-case dotted names, no _total suffix, no name doubling as a namespace, UCUM units', () => {
    const names = INSTRUMENTS.map((i) => i.name);
    for (const i of INSTRUMENTS) {
      expect(i.name).toMatch(/^nv(\.[a-z][a-z0-9_]*)+$/);
      expect(i.name).not.toMatch(/_total$/);
      expect(names.filter((n) => n.startsWith(`${i.name}.`))).toEqual([]);
      expect(i.unit).toMatch(/^(s|1|\{[a-z]+\})$/);
      if (i.unit === 's') expect(i.valueType).toBe('double');
      expect(i.description.length).toBeGreaterThan(10);
    }
  });

  it('maps every one of the reference\'s 30 gauges and 19 health counters', () => {
    const refs = new Set(INSTRUMENTS.flatMap((i) => (i.reference ? i.reference.split(', ') : [])));
    expect(REFERENCE_GAUGES).toHaveLength(30);
    expect(REFERENCE_COUNTERS).toHaveLength(19);
    expect([...REFERENCE_GAUGES, ...REFERENCE_COUNTERS].filter((r) => !refs.has(r))).toEqual([]);
    expect([...refs].filter((r) => !REFERENCE_GAUGES.includes(r) && !REFERENCE_COUNTERS.includes(r))).toEqual([]);
  });

  it('the README lists exactly these instruments, with the same type, unit, attributes and reference', () => {
    const rows = readme.split('\n').filter((l) => /^\| `nv\./.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    const strip = (c: string) => c.replace(/`/g, '');
    const listed = rows.map((c) => ({
      name: strip(c[1]!), type: c[2]!, unit: strip(c[3]!), attributes: c[4] === '—' ? '' : strip(c[4]!), reference: c[6] === '—' ? '' : strip(c[6]!),
    }));
    const expected = INSTRUMENTS.map((i) => ({
      name: i.name, type: `${i.kind} (${i.valueType})`, unit: i.unit, attributes: i.attributes.join(', '), reference: i.reference ?? '',
    }));
    expect(listed).toEqual(expected);
  });

  it('VERSION is the package version', () => {
    expect(VERSION).toBe(pkg.version);
  });
});
