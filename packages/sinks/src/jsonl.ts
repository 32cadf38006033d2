/**
 * `JsonlFileSink`: one JSON line per message, appended asynchronously, with size-based
 * rotation (`events.jsonl` → `events.jsonl.1` → …).
 *
 * @packageDocumentation
 */
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { backoffDelay, type ResolvedBackoff } from './backoff.js';
import { QueuedSink, type Pending } from './base.js';
import { describeError } from './errors.js';
import { positiveInt } from './options.js';
import type { SinkCommonOptions } from './types.js';

/** Default size at which the file rotates (bytes): 64 MiB. */
export const DEFAULT_JSONL_MAX_BYTES = 64 * 1024 * 1024;
/** Default number of files kept, the current one included. */
export const DEFAULT_JSONL_MAX_FILES = 5;
/** Most bytes written in one call. */
const MAX_WRITE_BYTES = 1024 * 1024;
/** Delays between attempts to open or write a file that failed. */
const REOPEN_BACKOFF: ResolvedBackoff = Object.freeze({ initialMs: 250, maxMs: 5000 });

/** Options of {@link JsonlFileSink}. */
export interface JsonlFileSinkOptions extends SinkCommonOptions {
  /** The file (e.g. `out/events.jsonl`); appended to when it exists. */
  readonly path: string;
  /** Rotate before a line would take the file past this size (bytes; default 64 MiB). A line longer than that gets a file of its own. */
  readonly maxBytes?: number;
  /**
   * Files kept, the current one included (default 5: `events.jsonl` and `.1` … `.4`, `.1` the
   * newest). 1 keeps only the current file (rotation truncates it).
   */
  readonly maxFiles?: number;
  /** Create the file's directory when missing (default `true`). */
  readonly mkdir?: boolean;
}

/**
 * Appends each message as one line, its JSON body (`{"id":…,"subject":…,"payload":…}`) then
 * `\n`, through an async file handle in a single delivery loop (batched, ≤ 1 MiB per write;
 * never a synchronous write on the caller). Before a line would take the file past `maxBytes`
 * it rotates: `path.(maxFiles−2)` → `path.(maxFiles−1)`, …, `path` → `path.1`, and a fresh
 * `path`, so at most `maxFiles` files exist (older numbered files from a larger `maxFiles` are
 * left alone).
 *
 * A file that cannot be opened or written (missing or unwritable directory, a full disk) is a
 * `SinkDisconnected` event with a `WriteFailed` {@link SinkError} — never a crash: messages
 * stay queued (bounded, drops counted) and the sink retries with backoff (250 ms → 5 s). A
 * write that fails half way is truncated back, so no torn line is left behind. `close()`
 * writes what is queued and closes the file.
 *
 * @example
 * ```ts
 * const sink = new JsonlFileSink({ path: 'out/events.jsonl', maxBytes: 10_000_000, maxFiles: 3 });
 * sink.publish({ id: 'cam1:7:0', subject: 'trackStarted', payload: { trackId: 1 } });
 * await sink.close();
 * ```
 */
export class JsonlFileSink extends QueuedSink {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #mkdir: boolean;
  #fh: FileHandle | undefined;
  #size = 0;
  #failures = 0;

  /**
   * @param options - see {@link JsonlFileSinkOptions}
   * @throws {ConfigError} for a bad option (naming the field)
   */
  constructor(options: JsonlFileSinkOptions) {
    const path = resolve(String(options.path));
    super('file', path, [], options);
    this.#path = path;
    this.#maxBytes = positiveInt(options.maxBytes, DEFAULT_JSONL_MAX_BYTES, 'maxBytes');
    this.#maxFiles = positiveInt(options.maxFiles, DEFAULT_JSONL_MAX_FILES, 'maxFiles');
    this.#mkdir = options.mkdir ?? true;
  }

  /** The file written to (absolute). */
  get path(): string { return this.#path; }

  protected onWake(): void {
    this.runLoop(() => this.#run());
  }

  protected async teardown(): Promise<void> {
    await this.loop;
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }

  async #run(): Promise<void> {
    while (!this.abandoned && this.queuedCount > 0) {
      if (this.#fh === undefined && !(await this.#open())) {
        await this.#pause();
        continue;
      }
      const head = this.peek()!;
      if (this.#size > 0 && this.#size + head.body.length + 1 > this.#maxBytes) {
        if (!(await this.#rotate())) await this.#pause();
        continue;
      }
      const batch: Pending[] = [];
      let bytes = 0;
      for (let p = this.peek(); p !== undefined; p = this.peek()) {
        const len = p.body.length + 1;
        if (batch.length > 0 && (bytes + len > MAX_WRITE_BYTES || this.#size + bytes + len > this.#maxBytes)) break;
        batch.push(this.take()!);
        bytes += len;
      }
      if (!(await this.#write(batch, bytes))) {
        this.requeue(batch);
        await this.#pause();
        continue;
      }
      for (const p of batch) this.settleDelivered(p);
    }
  }

  async #write(batch: readonly Pending[], bytes: number): Promise<boolean> {
    const fh = this.#fh!;
    const buf = Buffer.allocUnsafe(bytes);
    let off = 0;
    for (const p of batch) {
      p.attempts++;
      off += p.body.copy(buf, off);
      buf[off++] = 0x0a;
    }
    const before = this.#size;
    try {
      for (let done = 0; done < bytes;) done += (await fh.write(buf, done, bytes - done)).bytesWritten;
      this.#size += bytes;
      this.#failures = 0;
      return true;
    } catch (e) {
      await fh.truncate(before).catch(() => undefined);
      await this.#fail('write', e);
      return false;
    }
  }

  async #open(): Promise<boolean> {
    if (this.#mkdir) {
      try {
        await mkdir(dirname(this.#path), { recursive: true });
      } catch (e) {
        await this.#fail('create the directory of', e);
        return false;
      }
    }
    try {
      const fh = await open(this.#path, 'a');
      try {
        this.#size = (await fh.stat()).size;
      } catch (e) {
        await fh.close().catch(() => undefined);
        throw e;
      }
      if (this.abandoned) { await fh.close().catch(() => undefined); return false; }
      this.#fh = fh;
      this.#failures = 0;
      this.setConnected(true);
      return true;
    } catch (e) {
      await this.#fail('open', e);
      return false;
    }
  }

  async #rotate(): Promise<boolean> {
    const fh = this.#fh;
    this.#fh = undefined;
    try {
      await fh?.close();
      if (this.#maxFiles === 1) {
        await unlink(this.#path).catch(ignoreMissing);
      } else {
        for (let k = this.#maxFiles - 1; k >= 2; k--) await rename(`${this.#path}.${k - 1}`, `${this.#path}.${k}`).catch(ignoreMissing);
        await rename(this.#path, `${this.#path}.1`);
      }
    } catch (e) {
      await this.#fail('rotate', e);
      return false;
    }
    return this.#open();
  }

  async #fail(what: 'open' | 'write' | 'rotate' | 'create the directory of', e: unknown): Promise<void> {
    this.#failures++;
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
    this.setConnected(false, this.error('WriteFailed', `cannot ${what} ${this.#path}: ${describeError(e)}`));
  }

  #pause(): Promise<void> {
    return this.sleep(backoffDelay(Math.max(1, this.#failures), REOPEN_BACKOFF));
  }
}

function ignoreMissing(e: unknown): void {
  if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
}
