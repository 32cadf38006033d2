/**
 * Helpers of the system fault suite (`../faults.test.ts`): real child processes — a GStreamer
 * RTSP server, the built `nv` binary — and a local HTTP server that counts requests. Every
 * process started here is tracked and stopped by its PID ({@link stopAll}), even when a test
 * fails. Not exported by the package and not published (`files` excludes `test-fixtures.*`).
 */
import { MediaSource } from '@nv/media';
import { freeTcpPort, rtspTestServerAvailable, startRtspTestServer, type RtspTestServer } from '@nv/test-util';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The built `nv` binary (`pnpm exec turbo run build`). */
export const NV_BIN = join(here, '..', '..', 'dist', 'bin.js');

/** A scratch directory for this run. */
export const scratch = mkdtempSync(join(tmpdir(), 'nv-faults-'));

/** Whether the GStreamer RTSP server can run here (system python with GstRtspServer). */
export const rtspServerAvailable = rtspTestServerAvailable;

/** A free TCP port on 127.0.0.1. */
export const freePort = freeTcpPort;

/** Child processes started by these helpers and not yet exited. */
const children = new Set<ChildProcess>();

function tracked(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** Whether `proc` has exited. */
export function exited(proc: ChildProcess): boolean { return proc.exitCode !== null || proc.signalCode !== null; }

/**
 * Sends `signal` to `proc` (by its PID) and waits for it to exit; SIGKILL after `graceMs`.
 * @returns its exit code and signal
 */
export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!exited(proc)) {
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    if (proc.pid !== undefined) { try { process.kill(proc.pid, signal); } catch { /* already gone */ } }
    const timer = setTimeout(() => { if (proc.pid !== undefined && !exited(proc)) { try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ } } }, graceMs);
    await done;
    clearTimeout(timer);
  }
  return { code: proc.exitCode, signal: proc.signalCode };
}

/** Stops every process these helpers started (SIGKILL: nothing to drain in a failed test). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((p) => stopProcess(p, 'SIGKILL')));
}

/** A running RTSP test server. */
export type RtspServer = RtspTestServer;

/** Options of {@link startRtspServer}. */
export interface RtspServerOptions {
  /** Test pattern width (default 160). */
  readonly width?: number;
  /** Test pattern height (default 120). */
  readonly height?: number;
  /** Test pattern frame rate (default 15; one keyframe per second). */
  readonly fps?: number;
  /** Serve this H.264 MP4 once per session (then the server ends the session). */
  readonly clip?: string;
}

/**
 * Starts the RTSP test server (@nv/test-util) on `port`, small and slow by default, with a
 * keyframe every second (the suite's reconnect timings assume it). Stopped by {@link stopAll}.
 */
export async function startRtspServer(port: number, options: RtspServerOptions = {}): Promise<RtspTestServer> {
  const { width = 160, height = 120, fps = 15 } = options;
  const server = await startRtspTestServer({ port, width, height, fps, keyIntMax: fps, ...(options.clip !== undefined ? { clip: options.clip } : {}) });
  tracked(server.proc);
  return server;
}

/** A spawned `nv` (or `node`) process with what it wrote so far. */
export interface NvProcess {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code and signal once it exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns the built `nv` binary with `args` (cwd `cwd`, stdin closed, no terminal).
 * @throws when the binary is not built
 */
export function spawnNv(args: readonly string[], cwd: string = scratch): NvProcess {
  if (!existsSync(NV_BIN)) throw new Error(`build the cli first (${NV_BIN} missing): pnpm exec turbo run build`);
  return captured(tracked(spawn(process.execPath, [NV_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })));
}

/** A child's stdout/stderr collected as they come, and its exit. */
function captured(proc: ChildProcess): NvProcess {
  let out = '', err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { proc, stdout: () => out, stderr: () => err, exit };
}

/**
 * Runs an ES module `code` in a child `node` (`-e`, cwd: this package, so `@nv/*` resolve to the
 * built packages) with `args` as `process.argv[1…]`; tracked like every other child.
 */
export function spawnNode(code: string, args: readonly string[] = []): NvProcess {
  return captured(tracked(spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { cwd: join(here, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] })));
}

/**
 * Polls `probe` every `everyMs` until it returns a value other than `undefined`.
 * @throws after `timeoutMs` (a hang guard, never a timing assertion), naming `what`
 */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** An HTTP server on 127.0.0.1 that answers 404 and counts every connection and request. */
export interface CountingHttpServer {
  readonly base: string;
  readonly requests: string[];
  connections(): number;
  close(): Promise<void>;
}

/** Starts a {@link CountingHttpServer} on a random port. */
export async function countingHttpServer(): Promise<CountingHttpServer> {
  const requests: string[] = [];
  let connections = 0;
  const server: Server = createHttpServer((req, res) => { requests.push(req.url ?? ''); res.statusCode = 404; res.end(); });
  server.on('connection', () => { connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base, requests, connections: () => connections,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/**
 * An H.264 MP4 of `frames` frames at `fps` (videotestsrc `pattern`), made once per run.
 * @returns its path
 */
export function h264Clip(name: string, frames: number, { width = 160, height = 120, fps = 30, pattern = 'ball' } = {}): string {
  const dir = join(scratch, 'clips');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.mp4`);
  if (existsSync(path)) return path;
  execFileSync('gst-launch-1.0', [
    '-q', 'videotestsrc', `num-buffers=${frames}`, `pattern=${pattern}`, '!',
    `video/x-raw,format=I420,width=${width},height=${height},framerate=${fps}/1`, '!',
    'x264enc', 'speed-preset=ultrafast', 'tune=zerolatency', `key-int-max=${fps}`, '!', 'mp4mux', '!', 'filesink', `location=${path}`,
  ], { stdio: 'pipe', timeout: 60_000 });
  return path;
}

/**
 * Decodes a video to its end with `gst-launch-1.0` (decodebin → fakesink), independently of nv.
 * @returns whether it decoded to the end (exit 0) and what gst-launch wrote on stderr
 */
export function gstDecodes(path: string): { ok: boolean; stderr: string } {
  const r = spawnSync('gst-launch-1.0', ['-q', 'filesrc', `location=${path}`, '!', 'decodebin', '!', 'fakesink', 'sync=false'], {
    encoding: 'utf8', timeout: 60_000,
  });
  return { ok: r.status === 0, stderr: r.stderr };
}

/**
 * Counts the frames of a video file with `@nv/media` (`block` backpressure: none dropped).
 * @returns the frame count and size, or the error it failed with
 */
export async function mediaFrameCount(path: string): Promise<{ frames: number; width: number; height: number; error: unknown }> {
  const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' }, noFrameTimeoutMs: 10_000 });
  let frames = 0, width = 0, height = 0;
  let error: unknown;
  try {
    for await (const f of src.frames()) { width = f.width; height = f.height; f.release(); frames++; }
  } catch (e) {
    error = e;
  } finally {
    await src.stop();
  }
  return { frames, width, height, error };
}
