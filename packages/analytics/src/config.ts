/**
 * The analytics configuration: zones, directed lines, anchors and hysteresis, as zod schemas
 * (so a YAML or JSON config file loads through the same validation) with a `parse` that throws
 * a `ConfigError` naming each offending field.
 *
 * @packageDocumentation
 */
import { parseConfig, safeParseConfig, type ParseResult } from '@nv/core';
import { z } from 'zod';

/** A coordinate in normalized image space: finite and in [0, 1]. */
const unit = z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]');

/** A point `[x, y]` in normalized image coordinates (x to the right, y down), each in [0, 1]. */
export const PointSchema = z.tuple([unit, unit]);
/** `[x, y]`, normalized (x to the right, y down). */
export type PointTuple = z.output<typeof PointSchema>;

/** Which point of a track's box is tested against zones and lines. */
export const AnchorSchema = z.enum(['bottomCenter', 'center', 'topCenter']);
/**
 * - `bottomCenter` (default): the middle of the box's bottom edge — where a person or a vehicle
 *   touches the ground, the usual choice for floor zones;
 * - `center`: the box centre;
 * - `topCenter`: the middle of the top edge.
 */
export type Anchor = z.output<typeof AnchorSchema>;

const id = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters').regex(/^[A-Za-z0-9_.:-]+$/, 'may contain only letters, digits and _ . : -');
const classes = z.array(z.number().int('must be an integer').min(0, 'must be >= 0')).min(1, 'must list at least one class');

/** Twice the signed area of a polygon (shoelace). */
function signedArea2(points: readonly (readonly [number, number])[]): number {
  let s = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i]!, b = points[(i + 1) % points.length]!;
    s += a[0] * b[1] - b[0] * a[1];
  }
  return s;
}

/** One zone: a polygon in normalized coordinates. */
export const ZoneSchema = z.object({
  /** Unique among zones and lines; used in events and as the `zone` metric label. */
  id,
  /** Vertices in order (either winding), at least 3, each in [0, 1]; the last connects back to the first. May be concave. */
  polygon: z.array(PointSchema).min(3, 'must have at least 3 points').refine((p) => p.length < 3 || Math.abs(signedArea2(p)) > 1e-12, 'must enclose an area (points are collinear)'),
  /** Emit one `dwell` event per stay once a track has been inside this long (seconds, > 0). Absent: no dwell events. */
  dwellSeconds: z.number().positive('must be > 0').finite().optional(),
  /** Only tracks of these class ids are considered (absent: every class). */
  classes: classes.optional(),
}).strict();
/** A parsed zone. */
export type ZoneConfig = z.output<typeof ZoneSchema>;

/** One directed line segment. */
export const LineSchema = z.object({
  /** Unique among zones and lines; used in events and as the `line` metric label. */
  id,
  /** Start of the segment. */
  from: PointSchema,
  /** End of the segment; the direction `from → to` decides which side is `positive` (see `LineCrossedEvent`). */
  to: PointSchema,
  /** Only tracks of these class ids are considered (absent: every class). */
  classes: classes.optional(),
}).strict().refine((l) => l.from[0] !== l.to[0] || l.from[1] !== l.to[1], { message: 'must differ from from (zero-length line)', path: ['to'] });
/** A parsed line. */
export type LineConfig = z.output<typeof LineSchema>;

/** The whole analytics configuration (the `analytics` section of a config file). */
export const AnalyticsConfigSchema = z.object({
  /** Polygons that tracks enter, exit and dwell in. */
  zones: z.array(ZoneSchema).default([]),
  /** Directed segments that tracks cross. */
  lines: z.array(LineSchema).default([]),
  /** The box anchor for every class without an entry in `anchors`. Default `bottomCenter`. */
  anchor: AnchorSchema.default('bottomCenter'),
  /** Per-class anchor overrides, keyed by class id (`{ "2": "center" }`). */
  anchors: z.record(z.string().regex(/^(0|[1-9][0-9]*)$/, 'keys must be class ids (non-negative integers)'), AnchorSchema).default({}),
  /**
   * Hysteresis: a track must be observed this many consecutive frames inside / outside a zone,
   * or on the new side of a line, before the event fires (a positive integer, default 3). The
   * event's `ts` is the first of those frames; it appears in the output of the last.
   */
  minFrames: z.number().int('must be an integer').min(1, 'must be >= 1').default(3),
  /**
   * Also analyse `tentative` tracks (default false: a track takes part once the tracker has
   * confirmed it, so short-lived false positives make no events).
   */
  includeTentative: z.boolean().default(false),
  /**
   * Most tracks held at once (a positive integer, default 1024). A new track beyond it evicts
   * the least recently seen one, silently (no events), counted in `tracks.evicted`.
   */
  maxTracks: z.number().int('must be an integer').min(1, 'must be >= 1').default(1024),
}).strict().superRefine((c, ctx) => {
  const seen = new Map<string, string>();
  const check = (list: readonly { readonly id: string }[], kind: 'zones' | 'lines'): void => {
    list.forEach((item, i) => {
      const prev = seen.get(item.id);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', message: `duplicate id '${item.id}' (also ${prev})`, path: [kind, i, 'id'] });
      else seen.set(item.id, `${kind}[${i}]`);
    });
  };
  check(c.zones, 'zones');
  check(c.lines, 'lines');
});

/** The configuration as written (defaults optional). */
export type AnalyticsConfigInput = z.input<typeof AnalyticsConfigSchema>;
/** The configuration after parsing, with every default filled in. */
export type AnalyticsConfig = z.output<typeof AnalyticsConfigSchema>;

/**
 * Validates an analytics configuration and fills in its defaults.
 * @param input - the configuration, e.g. the `analytics` section of a parsed YAML file
 * @param prefix - path prefix for the fields named in errors (e.g. `'feeds[0].analytics'`)
 * @returns the parsed configuration
 * @throws {ConfigError} `InvalidConfig`, naming every offending field (e.g. `zones[0].polygon[2][0]: must be in [0, 1]`)
 * @example
 * ```ts
 * const config = parseAnalyticsConfig({
 *   zones: [{ id: 'door', polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.9], [0.1, 0.9]], dwellSeconds: 5 }],
 *   lines: [{ id: 'mid', from: [0.5, 0], to: [0.5, 1] }],
 * });
 * config.minFrames // 3
 * ```
 */
export function parseAnalyticsConfig(input: unknown, prefix = ''): AnalyticsConfig {
  return parseConfig(AnalyticsConfigSchema, input ?? {}, 'analytics config', prefix);
}

/**
 * Result-returning {@link parseAnalyticsConfig}.
 * @param input - the configuration
 * @param prefix - path prefix for the fields named in errors
 * @returns `{ success: true, value }` or `{ success: false, error }` (a `ConfigError`)
 * @example
 * ```ts
 * const r = safeParseAnalyticsConfig({ zones: [{ id: 'z', polygon: [[0, 0], [1, 0]] }] });
 * if (!r.success) console.error(r.error.field); // 'zones[0].polygon'
 * ```
 */
export function safeParseAnalyticsConfig(input: unknown, prefix = ''): ParseResult<AnalyticsConfig> {
  return safeParseConfig(AnalyticsConfigSchema, input ?? {}, 'analytics config', prefix);
}
