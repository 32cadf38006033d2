/**
 * One JSON object per output frame (the `--out` file).
 */
import { ANALYTICS_EVENTS, eventToJson } from '@nv/analytics';
import type { TypedMetadata } from '@nv/core';
import { TEXT } from '@nv/ocr';
import type { Detection, Track } from '@nv/perception';
import type { OutputEnvelope } from '@nv/runtime';

const r4 = (n: number): number => Math.round(n * 1e4) / 1e4;

function text(m: TypedMetadata): { text: string; confidence: number } | undefined {
  const t = m.get(TEXT);
  return t ? { text: t.text, confidence: r4(t.confidence) } : undefined;
}

function det(d: Detection, names: readonly string[] | undefined) {
  const t = text(d.metadata);
  return {
    id: d.id, classId: d.classId, ...(names?.[d.classId] ? { className: names[d.classId] } : {}), confidence: r4(d.confidence),
    bbox: [r4(d.bbox.xMin), r4(d.bbox.yMin), r4(d.bbox.xMax), r4(d.bbox.yMax)], ...(t ? { text: t } : {}),
  };
}

function trk(t: Track, names: readonly string[] | undefined) {
  const x = text(t.metadata);
  const b = t.current.bbox;
  return {
    id: t.id, state: t.state, classId: t.classId, ...(names?.[t.classId] ? { className: names[t.classId] } : {}), confidence: r4(t.current.confidence),
    bbox: [r4(b.xMin), r4(b.yMin), r4(b.xMax), r4(b.yMax)], ...(x ? { text: x } : {}),
  };
}

/**
 * The JSON-line form of an output: feed id, feed name (`feedName`, only for a named feed), seq,
 * ts (ns), wall time, detections, tracks (with recognized text), signals, analytics `events`
 * (only when the feed has zones or lines: the frame's zone / line / dwell / track events, see
 * `eventToJson` in `@nv/analytics`), view, provenance (per-stage outcome and latency in ms).
 * @param o - a feed's output
 * @param classNames - class names of the detector, by class id
 * @returns a JSON-serializable object
 * @example
 * ```ts
 * sink.emit = (o) => { file.write(JSON.stringify(outputToJson(o)) + '\n'); };
 * ```
 */
export function outputToJson(o: OutputEnvelope, classNames?: readonly string[]): Record<string, unknown> {
  const p = o.provenance;
  const events = o.artifacts.stageArtifacts.get(ANALYTICS_EVENTS);
  return {
    feed: o.feedId,
    ...(o.feedName !== undefined ? { feedName: o.feedName } : {}),
    seq: o.seq,
    ts: o.ts,
    wallTs: o.wallTs,
    detections: o.artifacts.detections.map((d) => det(d, classNames)),
    tracks: o.artifacts.tracks.map((t) => trk(t, classNames)),
    signals: o.artifacts.signals.map((s) => ({ name: s.name, value: s.value, ts: s.ts })),
    ...(events ? { events: events.map((e) => ({ ...eventToJson(e), ...(o.feedName !== undefined ? { feedName: o.feedName } : {}) })) } : {}),
    view: { epoch: o.view.epoch, version: o.view.version, validity: o.view.validity.kind, stability: r4(o.view.stabilityScore), motionSource: p.view.motionSource.kind },
    provenance: {
      stages: p.stages.map((s) => ({
        id: s.stageId, outcome: s.outcome.kind, latencyMs: r4(s.latencyNs / 1e6),
        ...(s.outcome.kind === 'error' || s.outcome.kind === 'panic' ? { category: s.outcome.category } : {}),
        ...(s.outcome.kind === 'skipped' ? { reason: s.outcome.reason } : {}),
      })),
      totalLatencyMs: r4(p.totalLatencyNs / 1e6),
    },
  };
}
