/**
 * A real RTSP server for tests: GStreamer's gst-rtsp-server, run as a child process
 * (`rtsp-server.py`, beside this file, with the system Python that has GObject introspection).
 * It serves a live H.264 test pattern, or an MP4 clip once per session (the server then ends
 * the session), optionally behind basic auth. Every server started here is tracked and can be
 * stopped by its PID ({@link stopRtspTestServers}), even when a test fails.
 *
 * Needs Debian's `python3-gst-1.0`, `gir1.2-gst-rtsp-server-1.0` and the GStreamer plugins
 * (x264enc: `gstreamer1.0-plugins-ugly`); {@link rtspTestServerAvailable} says whether it can run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The system Python (Debian's, with `gi`); a pyenv `python3` on PATH has no GObject. */
export const RTSP_TEST_PYTHON = '/usr/bin/python3';

/** The server script (it lives in `src/`, also when this module runs from `dist/`). */
export const RTSP_TEST_SERVER_SCRIPT = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'rtsp-server.py');
  return existsSync(beside) ? beside : join(here, '..', 'src', 'rtsp-server.py');
})();

/** Options of {@link startRtspTestServer}. */
export interface RtspTestServerOptions {
  /** TCP port (default: a free one). */
  readonly port?: number;
  /** Test pattern width (default 320). */
  readonly width?: number;
  /** Test pattern height (default 240). */
  readonly height?: number;
  /** Test pattern frame rate (default 30). */
  readonly fps?: number;
  /** Frames between keyframes of the test pattern (default 15). */
  readonly keyIntMax?: number;
  /** Serve this H.264 MP4 instead, from its start for each session; the server ends the session at its end. */
  readonly clip?: string;
  /** Require basic auth with this user (and {@link RtspTestServerOptions.password}). */
  readonly user?: string;
  /** The password for {@link RtspTestServerOptions.user}. */
  readonly password?: string;
  /** How long to wait for the server to be ready (default 15 000 ms). */
  readonly readyTimeoutMs?: number;
}

/** A running test server. */
export interface RtspTestServer {
  /** The child process. */
  readonly proc: ChildProcess;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** `rtsp://127.0.0.1:<port>/test` (no credentials). */
  readonly url: string;
  /** `performance.now()` when it printed READY (serving). */
  readonly readyAt: number;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /**
   * Stops it by its PID (SIGKILL after 2 s) and waits for it to exit. Idempotent.
   * @param signal - default SIGTERM; SIGKILL for a camera that vanishes without a goodbye
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The pyenv Python on PATH may export variables that would confuse the system Python. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['PYTHONHOME'];
  delete env['PYTHONPATH'];
  return env;
}

let available: boolean | undefined;

/**
 * Whether the server can run here (the system Python imports GstRtspServer). Cached.
 * @example
 * ```ts
 * describe.skipIf(!rtspTestServerAvailable())('RTSP', () => { ... });
 * ```
 */
export function rtspTestServerAvailable(): boolean {
  if (available !== undefined) return available;
  if (!existsSync(RTSP_TEST_PYTHON) || !existsSync(RTSP_TEST_SERVER_SCRIPT)) return (available = false);
  const r = spawnSync(RTSP_TEST_PYTHON, ['-c', "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"], {
    stdio: 'ignore', timeout: 10_000, env: pythonEnv(),
  });
  return (available = r.status === 0);
}

/**
 * A TCP port free on 127.0.0.1 right now.
 * @returns the port
 */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();

function exited(proc: ChildProcess): boolean { return proc.exitCode !== null || proc.signalCode !== null; }

async function stopProc(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (exited(proc)) return;
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  const kill = (s: NodeJS.Signals): void => {
    if (proc.pid !== undefined && !exited(proc)) { try { process.kill(proc.pid, s); } catch { /* already gone */ } }
  };
  kill(signal);
  const timer = setTimeout(() => kill('SIGKILL'), 2_000);
  await done;
  clearTimeout(timer);
}

/**
 * Starts a server and waits for its READY line.
 * @param options - see {@link RtspTestServerOptions}
 * @returns the running server
 * @throws Error when it exits or is not ready in time (its stderr in the message)
 * @example
 * ```ts
 * const server = await startRtspTestServer({ clip: 'clip.mp4' });
 * const feed = runtime.addFeed({ source: { kind: 'rtsp', url: server.url }, cameraMode: 'fixed', stages });
 * await server.stop('SIGKILL'); // the camera reboots
 * ```
 */
export async function startRtspTestServer(options: RtspTestServerOptions = {}): Promise<RtspTestServer> {
  const port = options.port ?? await freeTcpPort();
  const args = [RTSP_TEST_SERVER_SCRIPT, '--port', String(port)];
  if (options.width !== undefined) args.push('--width', String(options.width));
  if (options.height !== undefined) args.push('--height', String(options.height));
  if (options.fps !== undefined) args.push('--fps', String(options.fps));
  if (options.keyIntMax !== undefined) args.push('--key-int-max', String(options.keyIntMax));
  if (options.clip !== undefined) args.push('--clip', options.clip);
  if (options.user !== undefined) args.push('--user', options.user, '--password', options.password ?? '');
  const proc = spawn(RTSP_TEST_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: pythonEnv() });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const waitMs = options.readyTimeoutMs ?? 15_000;
  const readyAt = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`RTSP test server not READY within ${waitMs} ms; stderr: ${stderr}`)), waitMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes(`READY ${port}`)) { cleanup(); resolve(performance.now()); }
    };
    const onExit = (code: number | null): void => fail(new Error(`RTSP test server exited (${code}) before READY; stderr: ${stderr}`));
    function cleanup(): void { clearTimeout(timer); proc.stdout!.off('data', onData); proc.off('exit', onExit); }
    function fail(e: Error): void { cleanup(); void stopProc(proc, 'SIGKILL'); reject(e); }
    proc.stdout!.on('data', onData);
    proc.once('exit', onExit);
  });
  proc.stdout!.resume();
  return {
    proc, port, url: `rtsp://127.0.0.1:${port}/test`, readyAt,
    stderr: () => stderr,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopProc(proc, signal),
  };
}

/**
 * Stops every server {@link startRtspTestServer} started and that is still running.
 * @param signal - default SIGKILL (nothing to drain after a failed test)
 */
export async function stopRtspTestServers(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...running].map((p) => stopProc(p, signal)));
}
