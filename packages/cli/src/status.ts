/**
 * The live status display of `nv run`: one line per feed, built by pure functions from plain
 * feed states, so what a terminal shows is testable without one.
 */
import type { HealthEvent } from '@nv/core';
import type { FeedState } from '@nv/runtime';

/**
 * Whether a feed's source is delivering, as far as its health events tell:
 * `connected` (or not known to be otherwise), `disconnected`, or `reconnecting` with the
 * attempt under way. `framesAt` is the feed's received-frame count when the state was entered
 * (frames arriving after that mean the source is delivering again).
 */
export type SourceLink =
  | { readonly kind: 'connected' }
  | { readonly kind: 'disconnected'; readonly framesAt: number }
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly framesAt: number };

/** The initial {@link SourceLink}. */
export const CONNECTED: SourceLink = Object.freeze({ kind: 'connected' });

/**
 * The next {@link SourceLink} after a health event of the feed. `SourceReconnecting` →
 * reconnecting (attempt n); `SourceDisconnected` → disconnected, except during reconnection,
 * where it is the failed attempt and the state stays "reconnecting" until the next attempt
 * (or the end of the feed); `SourceConnected` → connected. Other events leave it as it is.
 *
 * @param link - the current state
 * @param event - a health event of the same feed
 * @param framesReceived - the feed's received-frame count now
 * @returns the new state (the same object when nothing changed)
 * @example
 * ```ts
 * nextSourceLink(CONNECTED, { type: 'SourceReconnecting', feedId, attempt: 2, delayMs: 500 }, 0)
 * // { kind: 'reconnecting', attempt: 2, framesAt: 0 }
 * ```
 */
export function nextSourceLink(link: SourceLink, event: HealthEvent, framesReceived: number): SourceLink {
  switch (event.type) {
    case 'SourceReconnecting': return { kind: 'reconnecting', attempt: event.attempt, framesAt: framesReceived };
    case 'SourceDisconnected': return link.kind === 'reconnecting' ? link : { kind: 'disconnected', framesAt: framesReceived };
    case 'SourceConnected': return link.kind === 'connected' ? link : CONNECTED;
    default: return link;
  }
}

/** What the status display shows of one feed. */
export interface FeedStatus {
  /** The feed's name, or `feed N`. */
  readonly label: string;
  /** Frames processed so far. */
  readonly processed: number;
  /** Frames taken from the source so far. */
  readonly received: number;
  /** Frames the source holds, for finite sources (files, test patterns): shows a progress bar. */
  readonly expected?: number | undefined;
  /** Frames processed per second. */
  readonly fps: number;
  /** Frames and outputs dropped (backpressure). */
  readonly drops: number;
  /** The feed's lifecycle state. */
  readonly state: FeedState;
  /** The source's connection state. */
  readonly link: SourceLink;
  /** How the feed ended, once it has: `done` (end of stream or frame limit), `failed`, `stopped` (interrupted). */
  readonly outcome?: 'done' | 'failed' | 'stopped' | undefined;
}

/**
 * The word(s) for a feed's state: its outcome once it ended; else `reconnecting (attempt n)` or
 * `disconnected` while its source is (unless frames arrived since); else its lifecycle state
 * (`running`, `starting`, `paused`, `restarting`, `stopping`).
 *
 * @param s - the feed's status
 * @returns e.g. `running`, `reconnecting (attempt 2)`, `failed`
 */
export function feedStateText(s: FeedStatus): string {
  if (s.outcome) return s.outcome;
  const l = s.link;
  if (l.kind !== 'connected' && s.received <= l.framesAt && s.state !== 'stopping' && s.state !== 'stopped') {
    return l.kind === 'reconnecting' ? `reconnecting (attempt ${l.attempt})` : 'disconnected';
  }
  return s.state;
}

/** Options of {@link renderStatus}. */
export interface RenderStatusOptions {
  /** Terminal width: every line is at most `columns - 1` characters (the last column is left free so a line never wraps). */
  readonly columns: number;
  /** Most lines to render (default: one per feed); extra feeds are summed up on the last line. */
  readonly maxLines?: number;
}

const LABEL_MAX = 16;
const LABEL_MIN = 6;
const BAR_MAX = 20;
const BAR_MIN = 5;

/** Whether a code point takes two terminal columns (East Asian wide/fullwidth, emoji). */
function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) || (cp >= 0xac00 && cp <= 0xd7a3)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6)
    || (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/** Columns a code point takes: 0 for combining marks, 2 for wide characters, else 1. */
function cpWidth(cp: number): number {
  if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f) return 0;
  return isWide(cp) ? 2 : 1;
}

/**
 * How many terminal columns `s` takes (wide East Asian characters and emoji count 2,
 * combining marks 0; an approximation of `wcwidth`).
 * @param s - text without control characters
 * @returns its width in columns
 */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += cpWidth(ch.codePointAt(0)!);
  return w;
}

/**
 * `s` cut to at most `width` columns; with `ellipsis`, a cut string ends in `…`.
 * @param s - text without control characters
 * @param width - the most columns it may take
 * @param ellipsis - whether to mark a cut with `…`
 * @returns the text, cut where needed
 */
export function cutToWidth(s: string, width: number, ellipsis = false): string {
  if (displayWidth(s) <= width) return s;
  const room = ellipsis ? width - 1 : width;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = cpWidth(ch.codePointAt(0)!);
    if (w + cw > room) break;
    out += ch;
    w += cw;
  }
  return ellipsis && width > 0 ? `${out}…` : out;
}

const padTo = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - displayWidth(s)));
const join = (parts: readonly string[]): string => parts.filter((p) => p !== '').join(' ');

/** The ways to write one feed's line, widest first, for a label cut to `labelWidth`. */
function variants(s: FeedStatus, labelWidth: number, width: number): string[] {
  const label = padTo(cutToWidth(s.label, labelWidth, true), labelWidth);
  const state = feedStateText(s);
  const fps = `${s.fps.toFixed(1)} fps`;
  const drops = s.drops > 0 ? `drops ${s.drops}` : '';
  if (!s.expected) {
    const counts = `${s.processed} frames`;
    return [join([label, counts, fps, drops, state]), join([label, counts, drops, state]), join([label, counts, state])];
  }
  const frac = Math.min(1, s.received / s.expected);
  const pct = `${String(Math.round(frac * 100)).padStart(3)}%`;
  const counts = `${s.processed}/${s.expected}`;
  const withBar = (extra: readonly string[]): string => {
    const rest = join([label, pct, counts, ...extra, state]);
    const w = Math.min(BAR_MAX, width - displayWidth(rest) - 3); // "[", "]" and a space
    if (w < BAR_MIN) return rest;
    const n = Math.round(frac * w);
    return join([label, `[${'='.repeat(n)}${' '.repeat(w - n)}]`, pct, counts, ...extra, state]);
  };
  return [withBar([fps, drops]), withBar([drops]), withBar([])];
}

/** One feed's line: the widest variant that fits; then a shorter label; then without counts; then cut. */
function line(s: FeedStatus, labelWidth: number, width: number): string {
  let lw = labelWidth;
  for (;;) {
    const vs = variants(s, lw, width);
    for (const v of vs) if (displayWidth(v) <= width) return v;
    if (lw <= LABEL_MIN) break;
    lw = Math.max(LABEL_MIN, lw - (displayWidth(vs.at(-1)!) - width));
  }
  const label = cutToWidth(s.label, Math.min(lw, labelWidth), true);
  const pct = s.expected ? `${Math.round(Math.min(1, s.received / s.expected) * 100)}%` : '';
  return cutToWidth(join([label, pct, feedStateText(s)]), width, true);
}

/**
 * The status display: one line per feed — label, a progress bar for finite sources (or a
 * frame count for live ones), frames/s, drops (when any) and the state from
 * {@link feedStateText}. Every line fits in `columns - 1` columns (wide characters count
 * two): the bar shrinks, then frames/s and drops are left out, then the label is cut further,
 * then the counts go; the state stays. Labels are cut to 16 columns.
 *
 * @param feeds - one status per feed, in feed order
 * @param options - terminal width and height
 * @returns the lines to display (empty for no feeds)
 * @example
 * ```ts
 * renderStatus([{ label: 'gate', processed: 120, received: 121, fps: 29.9, drops: 0, state: 'running', link: CONNECTED }], { columns: 80 })
 * // ['gate 120 frames 29.9 fps running']
 * ```
 */
export function renderStatus(feeds: readonly FeedStatus[], options: RenderStatusOptions): string[] {
  const width = Math.max(10, Math.floor(options.columns) - 1);
  const maxLines = Math.max(1, Math.floor(options.maxLines ?? feeds.length));
  const shown = feeds.length > maxLines ? feeds.slice(0, maxLines - 1) : feeds;
  const labelWidth = Math.min(LABEL_MAX, Math.max(0, ...shown.map((f) => displayWidth(f.label))));
  const lines = shown.map((f) => line(f, labelWidth, width));
  if (shown.length < feeds.length) {
    const rest = feeds.slice(shown.length);
    const byState = new Map<string, number>();
    for (const f of rest) {
      const k = feedStateText(f).replace(/ \(attempt \d+\)$/, '');
      byState.set(k, (byState.get(k) ?? 0) + 1);
    }
    lines.push(cutToWidth(`… ${rest.length} more feeds: ${[...byState].map(([k, n]) => `${n} ${k}`).join(', ')}`, width, true));
  }
  return lines;
}
