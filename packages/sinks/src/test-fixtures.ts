/**
 * Test helpers: real brokers (mosquitto, nats-server) started and stopped by PID, a polling
 * wait with a deadline, an HTTP server with scripted answers. Not shipped.
 *
 * @internal
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A TCP port free on 127.0.0.1 right now (as `@nv/test-util`'s, which a non-test source may not import). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `cond` every `intervalMs` until it is truthy or `timeoutMs` passes (then throws, naming `what`). */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 10_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The first of `candidates` that is executable, else `name` found on PATH, else undefined. */
export function findBinary(name: string, candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    try { accessSync(c, constants.X_OK); return c; } catch { /* next */ }
  }
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}

/** Path of mosquitto, when installed. */
export const MOSQUITTO = findBinary('mosquitto', ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']);
/** Path of mosquitto_passwd, when installed. */
export const MOSQUITTO_PASSWD = findBinary('mosquitto_passwd', ['/usr/bin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd']);
/** Path of nats-server, when installed. */
export const NATS_SERVER = findBinary('nats-server', ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']);

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
});

/** A scratch directory, removed by {@link removeScratch}. */
export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `nv-sinks-${prefix}-`));
}

/** Removes a scratch directory (best effort). */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** A broker process the test started. */
export interface BrokerProcess {
  readonly port: number;
  /** PID of the running process (undefined while stopped). */
  readonly pid: number | undefined;
  /** Its stderr and stdout so far (for failure messages). */
  readonly log: () => string;
  /** Stops it by PID (`SIGTERM` by default; `SIGKILL` after 3 s) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again, same port and arguments; resolves once it accepts connections. */
  start(): Promise<void>;
}

/**
 * Starts `bin args…`, waits until `port` accepts connections (and `readyLine` appeared in its
 * output, when given).
 */
export async function startProcess(bin: string, args: readonly string[], port: number, readyLine?: RegExp): Promise<BrokerProcess> {
  let proc: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    let out = '';
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    running.add(p);
    p.once('exit', () => running.delete(p));
    const onData = (d: Buffer): void => { out += d.toString(); log += d.toString(); if (log.length > 20_000) log = log.slice(-10_000); };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    const deadline = performance.now() + 10_000;
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${bin} exited (${p.exitCode ?? p.signalCode}): ${out.slice(-2000)}`);
      if ((readyLine === undefined || readyLine.test(out)) && (await portOpen(port))) return;
      if (performance.now() > deadline) throw new Error(`${bin} not ready on port ${port} within 10 s: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    try { process.kill(p.pid!, signal); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 3000);
    await exited;
    clearTimeout(t);
    // The port is free again once nothing accepts on it.
    await waitFor(async () => !(await portOpen(port)), `port ${port} to close`, 5000, 25);
  };
  await start();
  return {
    port,
    get pid() { return proc?.pid; },
    log: () => log,
    stop,
    start,
  };
}

/** Starts mosquitto on a free port with `extraConfig` lines (persistence in `dir`). */
export async function startMosquitto(dir: string, extraConfig: readonly string[] = [], port?: number): Promise<BrokerProcess> {
  const p = port ?? await freeTcpPort();
  const conf = join(dir, `mosquitto-${p}.conf`);
  writeFileSync(conf, [
    `listener ${p} 127.0.0.1`,
    'persistence true',
    `persistence_location ${dir}/`,
    `persistence_file mosquitto-${p}.db`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    // Started as root, mosquitto drops to the `mosquitto` user, which cannot read or write a
    // private scratch directory: stay the user that started it.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    ...(extraConfig.some((l) => l.startsWith('allow_anonymous')) ? [] : ['allow_anonymous true']),
    ...extraConfig,
    '',
  ].join('\n'));
  return startProcess(MOSQUITTO!, ['-c', conf], p);
}

/** Makes a mosquitto password file with one user. */
export function mosquittoPasswordFile(dir: string, user: string, password: string): string {
  const file = join(dir, 'passwd');
  const r = spawnSync(MOSQUITTO_PASSWD!, ['-b', '-c', file, user, password], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  return file;
}

/** Starts nats-server on a free port (JetStream in `storeDir` when given) with extra arguments. */
export async function startNatsServer(opts: { storeDir?: string; args?: readonly string[]; port?: number } = {}): Promise<BrokerProcess> {
  const port = opts.port ?? await freeTcpPort();
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(opts.storeDir !== undefined ? ['-js', '-sd', opts.storeDir] : []), ...(opts.args ?? [])];
  return startProcess(NATS_SERVER!, args, port, /Server is ready/);
}

/** One request the {@link HookServer} received. */
export interface HookRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** An HTTP server whose answer to each request a test decides. */
export interface HookServer {
  readonly port: number;
  readonly url: string;
  readonly requests: HookRequest[];
  /** Decides the answer: status (and headers/body); default 200. */
  respond: (req: HookRequest, n: number) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };
  /** Stops listening (and drops open connections). */
  close(): Promise<void>;
  /** Listens again on the same port. */
  listen(): Promise<void>;
}

/** Starts a {@link HookServer} on `port` (default: a free one). */
export async function startHookServer(port?: number): Promise<HookServer> {
  const p = port ?? await freeTcpPort();
  let server: Server | undefined;
  const hook: HookServer = {
    port: p,
    url: `http://127.0.0.1:${p}/hook`,
    requests: [],
    respond: () => ({ status: 200 }),
    close: () => new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (s === undefined) { resolve(); return; }
      s.close(() => resolve());
      s.closeAllConnections();
    }),
    listen: () => new Promise<void>((resolve, reject) => {
      const s = createServer((req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const r: HookRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
          hook.requests.push(r);
          const a = hook.respond(r, hook.requests.length);
          const send = (): void => { res.writeHead(a.status, a.headers ?? {}); res.end(a.body ?? ''); };
          if (a.delayMs) setTimeout(send, a.delayMs); else send();
        });
      });
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => { server = s; resolve(); });
    }),
  };
  await hook.listen();
  return hook;
}

/** The port a server listens on. */
export function portOf(s: Server): number { return (s.address() as AddressInfo).port; }
