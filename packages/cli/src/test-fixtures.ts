/**
 * Shared helpers of this package's tests (not exported by the package, not published): a
 * minimal terminal screen that replays what the CLI wrote to a terminal, so a test can
 * assert what a user would see.
 */

/**
 * A terminal screen model for the sequences `nv` writes: printable text, `\r`, `\n` (as CR LF,
 * like a tty's `onlcr`), `ESC[nA` (cursor up), `ESC[J` (erase to the end of the screen),
 * `ESC[K` / `ESC[2K` (erase in line); text wraps at `columns`. Any other escape sequence
 * throws, so a test notices when the CLI starts writing something new. Nothing scrolls off.
 */
export class Screen {
  readonly #rows: string[][] = [[]];
  #row = 0;
  #col = 0;
  /** @param columns - terminal width */
  constructor(readonly columns = 80) {}

  /** Replays `data` (what the program wrote). */
  write(data: string): this {
    // eslint-disable-next-line no-control-regex
    for (const m of data.matchAll(/\x1b\[(\d*)([A-Za-z])|\x1b|\r|\n|[^\x1b\r\n]/gu)) {
      const t = m[0];
      if (m[2] !== undefined) this.#escape(m[1] ? Number(m[1]) : undefined, m[2]);
      else if (t === '\x1b') throw new Error(`unsupported escape sequence: ${JSON.stringify(data.slice(m.index, m.index + 8))}`);
      else if (t === '\r') this.#col = 0;
      else if (t === '\n') { this.#down(); this.#col = 0; }
      else {
        if (this.#col >= this.columns) { this.#down(); this.#col = 0; }
        const r = this.#rows[this.#row]!;
        while (r.length < this.#col) r.push(' ');
        r[this.#col++] = t;
      }
    }
    return this;
  }

  /** Every row, trailing blanks removed, trailing empty rows dropped. */
  lines(): string[] {
    const out = this.#rows.map((r) => r.join('').trimEnd());
    while (out.length && out.at(-1) === '') out.pop();
    return out;
  }

  #down(): void {
    this.#row++;
    while (this.#rows.length <= this.#row) this.#rows.push([]);
  }

  #escape(n: number | undefined, op: string): void {
    const r = this.#rows[this.#row]!;
    switch (op) {
      case 'A': this.#row = Math.max(0, this.#row - (n ?? 1)); return;
      case 'J':
        if ((n ?? 0) !== 0) throw new Error(`unsupported ESC[${n}J`);
        r.length = Math.min(r.length, this.#col);
        this.#rows.length = this.#row + 1;
        return;
      case 'K':
        if (n === 2) r.length = 0;
        else if ((n ?? 0) === 0) r.length = Math.min(r.length, this.#col);
        else throw new Error(`unsupported ESC[${n}K`);
        return;
      default: throw new Error(`unsupported escape sequence ESC[${n ?? ''}${op}`);
    }
  }
}

/** One terminal with two streams (stdout, stderr) writing to it; records what both write, in order (feed it to a {@link Screen}). */
export class RecordingTerminal {
  /** Everything written to either stream, in order. */
  data = '';
  /** The terminal's stdout. */
  readonly stdout: { readonly isTTY: boolean; readonly columns: number; readonly rows: number; write(chunk: string): boolean };
  /** The terminal's stderr. */
  readonly stderr: { readonly isTTY: boolean; readonly columns: number; readonly rows: number; write(chunk: string): boolean };
  /**
   * @param columns - terminal width
   * @param rows - terminal height
   * @param tty - which streams are terminals (a redirected stream is not)
   */
  constructor(readonly columns = 80, readonly rows = 24, tty: { stdout?: boolean; stderr?: boolean } = {}) {
    const sink = (isTTY: boolean) => ({ isTTY, columns, rows, write: (chunk: string) => { this.data += chunk; return true; } });
    this.stdout = sink(tty.stdout ?? true);
    this.stderr = sink(tty.stderr ?? true);
  }
  /** The screen a user would see now. */
  screen(): string[] { return new Screen(this.columns).write(this.data).lines(); }
}
