/**
 * The `nv` command's output on a real process: lines to stdout/stderr and, when stderr is a
 * terminal, a live multi-line status display that every other line is printed above — never
 * over it.
 */
import type { Io } from './job.js';
import { cutToWidth } from './status.js';

/** Where the terminal {@link Io} writes: `process.stdout` / `process.stderr`, or anything shaped like them. */
export interface TextSink {
  /** Writes a chunk as is. */
  write(chunk: string): unknown;
  /** Whether this is a terminal (status display and clearing only then). */
  readonly isTTY?: boolean;
  /** Terminal width in columns, when a terminal. */
  readonly columns?: number;
  /** Terminal height in rows, when a terminal. */
  readonly rows?: number;
}

/** Moves to the first column of the first status line and clears from there to the end of the screen. */
function eraseSequence(lines: number): string {
  return lines <= 0 ? '' : `\r${lines > 1 ? `\x1b[${lines - 1}A` : ''}\x1b[J`;
}

/**
 * An {@link Io} over two text sinks. When `stderr` is a terminal it has a `status` display:
 * the lines are drawn at the bottom of stderr (each cut to the terminal width minus one, so
 * nothing wraps), and every `out`/`err` line first erases the display, is printed on its own
 * line, and then the display is drawn again below it. `status([])` erases it for good. When
 * stderr is not a terminal there is no status display and lines are written as they come.
 *
 * @param stdout - where `out` lines go
 * @param stderr - where `err` lines and the status display go
 * @returns the Io
 * @example
 * ```ts
 * const io = terminalIo(process.stdout, process.stderr);
 * io.status?.(['feed 1 [=====     ] 50% 150/300 29.9 fps running']);
 * io.err('nv: feed 2 (rtsp://***@cam/live): ConnectionFailed: …'); // above the status line
 * io.status?.([]);
 * ```
 */
export function terminalIo(stdout: TextSink, stderr: TextSink): Io {
  const write = (sink: TextSink, line: string) => { sink.write(`${line}\n`); };
  if (!stderr.isTTY) return { out: (l) => write(stdout, l), err: (l) => write(stderr, l) };
  let shown: readonly string[] = [];
  const columns = () => (stderr.columns && stderr.columns > 0 ? stderr.columns : 80);
  const rows = () => (stderr.rows && stderr.rows > 0 ? stderr.rows : 24);
  const draw = (lines: readonly string[]) => (lines.length ? lines.map((l) => cutToWidth(l, columns() - 1)).join('\n') : '');
  /** Prints a line above the status display (erased first, drawn again after). */
  const above = (sink: TextSink, line: string) => {
    if (!shown.length) { write(sink, line); return; }
    if (sink === stderr) { stderr.write(`${eraseSequence(shown.length)}${line}\n${draw(shown)}`); return; }
    stderr.write(eraseSequence(shown.length));
    write(sink, line);
    stderr.write(draw(shown));
  };
  return {
    out: (l) => { if (stdout.isTTY) above(stdout, l); else write(stdout, l); },
    err: (l) => above(stderr, l),
    status: (lines) => {
      const next = lines.slice(0, Math.max(1, rows() - 1));
      stderr.write(`${eraseSequence(shown.length)}${draw(next)}`);
      shown = next;
    },
    get columns() { return columns(); },
    get rows() { return rows(); },
  };
}
