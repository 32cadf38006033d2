/**
 * Real NATS servers for tests: one `nats-server` (Debian's 2.9, JetStream on) or a cluster of
 * several on 127.0.0.1 with JetStream replicated across them — each a child process the test
 * starts, kills (`SIGKILL` included) and restarts by PID, in a scratch directory removed at the
 * end. Every server started here is killed when the process exits, even when a test fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from './rtsp-server.js';

/** The `nats-server` binary, when installed (Debian: `/usr/sbin/nats-server`). */
export const NATS_SERVER_BIN: string | undefined = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p))
  ?? ((): string | undefined => {
    const r = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
  })();

/** One server of a {@link NatsTestCluster}. */
export interface NatsTestServer {
  /** Its name (`n1`, `n2`, …). */
  readonly name: string;
  /** Client port on 127.0.0.1. */
  readonly port: number;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** PID while running. */
  readonly pid: number | undefined;
  /** Whether it is running. */
  readonly running: boolean;
  /** Its output so far (last 20 kB). */
  log(): string;
  /** Stops it by PID (`SIGTERM` by default, `SIGKILL` for a crash) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (same ports and store); resolves when its health check passes. */
  start(): Promise<void>;
}

/** Servers started by {@link startNatsTestCluster}. */
export interface NatsTestCluster {
  /** The servers, in order. */
  readonly servers: readonly NatsTestServer[];
  /** Every server's URL, comma-separated: what a client is given. */
  readonly urls: string;
  /** Stops every server and removes the scratch directory. */
  close(): Promise<void>;
}

/** Options of {@link startNatsTestCluster}. */
export interface NatsTestClusterOptions {
  /** How many servers (1: a single server, no routes). Default 3. */
  readonly size?: number;
  /** `max_payload` in bytes. Default 8 MiB (nv's shipped config). */
  readonly maxPayload?: number;
  /** How long to wait for the servers (and JetStream's meta leader), in ms. Default 30000. */
  readonly readyTimeoutMs?: number;
}

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
});

function healthz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

/**
 * Starts `size` nats-servers with JetStream, routed into one NATS cluster (`size` 1: one
 * server), and waits until each answers its `/healthz` (JetStream current).
 * @param options - size, max payload, timeout
 * @returns the cluster
 * @throws Error when nats-server is not installed or a server does not get healthy in time
 * @example
 * ```ts
 * const nats = await startNatsTestCluster({ size: 3 });
 * // … connect to nats.urls; kill one: await nats.servers[0]!.stop('SIGKILL');
 * await nats.close();
 * ```
 */
export async function startNatsTestCluster(options: NatsTestClusterOptions = {}): Promise<NatsTestCluster> {
  if (NATS_SERVER_BIN === undefined) throw new Error('nats-server is not installed (Debian: apt-get install nats-server)');
  const size = options.size ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'nv-nats-'));
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freeTcpPort(), route: await freeTcpPort(), http: await freeTcpPort() })));
  const timeout = options.readyTimeoutMs ?? 30_000;
  const servers = ports.map((p, i): NatsTestServer => {
    const name = `n${i + 1}`;
    const conf = join(dir, `${name}.conf`);
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(conf, [
      `server_name: ${name}`,
      `listen: 127.0.0.1:${p.client}`,
      `http: 127.0.0.1:${p.http}`,
      `max_payload: ${options.maxPayload ?? 8 * 1024 * 1024}`,
      `jetstream { store_dir: "${join(dir, name)}" }`,
      ...(size > 1 ? [
        'cluster {',
        '  name: nvtest',
        `  listen: 127.0.0.1:${p.route}`,
        `  routes: [${ports.filter((_, j) => j !== i).map((q) => `nats-route://127.0.0.1:${q.route}`).join(', ')}]`,
        '}',
      ] : []),
      '',
    ].join('\n'));
    let proc: ChildProcess | undefined;
    let log = '';
    const server: NatsTestServer = {
      name, port: p.client, url: `nats://127.0.0.1:${p.client}`,
      get pid() { return proc?.pid; },
      get running() { return proc !== undefined && proc.exitCode === null && proc.signalCode === null; },
      log: () => log,
      async start() {
        const c = spawn(NATS_SERVER_BIN!, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
        proc = c;
        started.add(c);
        c.once('exit', () => started.delete(c));
        const onData = (d: Buffer): void => { log += d.toString(); if (log.length > 20_000) log = log.slice(-10_000); };
        c.stdout!.on('data', onData);
        c.stderr!.on('data', onData);
        const deadline = performance.now() + timeout;
        while (!(await healthz(p.http))) {
          if (c.exitCode !== null || c.signalCode !== null) throw new Error(`nats-server ${name} exited (${c.exitCode ?? c.signalCode}): ${log.slice(-2000)}`);
          if (performance.now() > deadline) throw new Error(`nats-server ${name} not healthy within ${timeout} ms: ${log.slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        const c = proc;
        proc = undefined;
        if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        try { c.kill(signal); } catch { /* gone */ }
        const t = setTimeout(() => { try { c.kill('SIGKILL'); } catch { /* gone */ } }, 3000);
        await exited;
        clearTimeout(t);
      },
    };
    return server;
  });
  try {
    // Started together: a clustered JetStream needs its peers to elect a meta leader before /healthz passes.
    await Promise.all(servers.map((s) => s.start()));
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    servers, urls: servers.map((s) => s.url).join(','),
    async close() {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
