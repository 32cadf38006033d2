/**
 * `nv cluster apply`, `nv cluster status` and `nv node`: feeds spread over machines through
 * NATS JetStream (`@nv/cluster`). A node is `nv serve` whose feeds come from the cluster: it
 * claims the feeds assigned to it, runs them with the applied job's stages, publishes every
 * output and event (each with its `fence`) to the cluster's stream, and serves the API and live
 * view of its own feeds plus `GET /api/cluster` for the whole cluster.
 */
import { ClusterError, ClusterNode, ClusterStore, clusterNames, parseServers, type ClusterNodeEvent, type ClusterStatus, type Fence, type ParsedServers } from '@nv/cluster';
import { ConfigError, parseConfig, type FeedId } from '@nv/core';
import type { FeedSettings } from '@nv/runtime';
import { ensureOutputStream } from '@nv/sinks';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { positiveInt, portNumber } from './args.js';
import { JobConfigSchema, loadJobConfig, type JobConfig } from './config-file.js';
import { EXIT, JobError, type Io, type JobPlan } from './job.js';
import { runServe } from './serve.js';

/** What the cluster commands need from `runCli`. */
export interface ClusterCommandContext {
  readonly io: Io;
  readonly signal?: AbortSignal;
  setCode(code: number): void;
  /** Builds a job plan from a parsed config (as `nv serve` does). */
  planFrom(flags: Record<string, unknown>, file: JobConfig): JobPlan;
}


/** The config file as written (feeds' settings are stored as given; nodes validate them again). */
function rawConfig(path: string): Record<string, unknown> {
  loadJobConfig(path); // every field checked, with the same messages as nv run
  const text = readFileSync(path, 'utf8');
  const data = (/\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text)) as unknown;
  return (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
}

/** The first server of a list as one `nats://` URL with its credentials (the sinks' and stream helper's form). */
function firstServerUrl(servers: ParsedServers): string {
  const creds = servers.user !== undefined ? `${encodeURIComponent(servers.user)}:${encodeURIComponent(servers.pass ?? '')}@` : servers.token !== undefined ? `${encodeURIComponent(servers.token)}@` : '';
  return `nats://${creds}${servers.servers[0]}`;
}

/** The other servers of the list (`host:port`): the sinks' and stream helper's `servers`. */
function otherServers(servers: ParsedServers): string[] {
  return servers.servers.slice(1);
}

/** The cluster's errors as one `nv:` line and an exit code. */
function clusterFailure(e: unknown, io: Io): number | undefined {
  if (!ClusterError.isInstance(e)) return undefined;
  io.err(`nv: ${e.message}`);
  return e.kind === 'InvalidDesiredState' ? EXIT.usage : EXIT.source;
}

/** The NATS outage a node should survive (a leader election with room to spare): below it, apply warns. */
const MIN_SURVIVABLE_OUTAGE_MS = 10_000;

const ago = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s ago` : `${Math.round(ms / 1000)} s ago`);

/** The status as a table. */
export function formatClusterStatus(s: ClusterStatus): string[] {
  const lines = [`cluster ${s.cluster}: ${s.nodes.length} node${s.nodes.length === 1 ? '' : 's'}, ${s.feeds.length} feed${s.feeds.length === 1 ? '' : 's'} (lease TTL ${s.leaseTtlMs / 1000} s)`];
  const table = (rows: string[][]): string[] => {
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd());
  };
  if (s.feeds.length > 0) {
    lines.push('', ...table([['FEED', 'OWNER', 'TOKEN', 'STATE', 'FRAMES'], ...s.feeds.map((f) => [
      f.name, f.owner ?? '-', f.token !== undefined ? String(f.token) : '-', f.state + (f.error ? ` (${f.error})` : ''), f.frames !== undefined ? String(f.frames) : '-',
    ])]));
  }
  if (s.nodes.length > 0) {
    lines.push('', ...table([['NODE', 'FEEDS', 'HEARTBEAT', 'API'], ...s.nodes.map((n) => [n.name, String(n.feeds), ago(n.heartbeatAgeMs), n.url ?? '-'])]));
  }
  return lines;
}

/** One line for a node's event. */
function eventLine(e: ClusterNodeEvent): string {
  switch (e.type) {
    case 'FeedClaimed': return `claimed ${e.feed} (lease ${e.token})`;
    case 'FeedStarted': return `started ${e.feed} (lease ${e.token}) in ${e.ms} ms`;
    case 'FeedFailed': return `feed ${e.feed} failed to start: ${e.error}`;
    case 'FeedReleased': return `released ${e.feed} (lease ${e.token}): ${e.reason}`;
    case 'FeedRestarted': return `restarting ${e.feed} with its new settings`;
    case 'LeaseLost': return `lost the lease of ${e.feed} (lease ${e.token}) to ${e.owner ?? 'nobody yet'}: stopped it`;
    case 'LeaseExpired': return `could not renew the lease of ${e.feed} (lease ${e.token}) in time: stopped it before it expires`;
    case 'Disconnected': return 'disconnected from NATS; reconnecting (feeds keep running while their leases are valid)';
    case 'Reconnected': return 'reconnected to NATS';
  }
}

/**
 * Adds `nv cluster apply|status` and `nv node` to the program.
 * @param program - the `nv` command
 * @param ctx - io, signal, the exit code setter and the plan builder
 */
export function registerClusterCommands(program: Command, ctx: ClusterCommandContext): void {
  const { io } = ctx;
  const cluster = program.command('cluster').description('feeds spread over several machines through NATS JetStream: write the desired feeds, see who runs what');

  cluster.command('apply')
    .description('write the feeds of a config file (every feed named) and its job settings into the cluster; nodes start, restart and stop feeds to match')
    .requiredOption('-c, --config <file>', 'job config (JSON or YAML): named feeds plus detector, ocr, track, analytics, sinks…')
    .requiredOption('--nats <urls>', 'nats://[user:pass@]host[:port], several comma-separated')
    .option('--cluster <name>', 'the cluster (default nv): buckets NV_<name>_FEEDS/_LEASES/_NODES, stream NV_<name>_OUTPUTS')
    .option('--replicas <N>', 'copies of each bucket and of the outputs stream (1, or 3 on a 3-server NATS cluster; used when creating)', positiveInt)
    .option('--lease-ttl-ms <ms>', 'how long a lease lives without renewal (default 15000: a node survives a NATS outage of about 80 % of it, 12 s, and a JetStream leader election takes up to about 9 s)', positiveInt)
    .action(async (flags: { config: string; nats: string; cluster?: string; replicas?: number; leaseTtlMs?: number }) => {
      const raw = rawConfig(flags.config);
      const { feeds: rawFeeds, ...job } = raw;
      const feeds = (Array.isArray(rawFeeds) ? rawFeeds : []).map((f: unknown, i) => {
        const name = (f as { name?: unknown }).name;
        if (typeof name !== 'string') throw new JobError(`feeds[${i}]: every feed of a cluster needs a name: (letters, digits, _ and -)`, EXIT.usage);
        return { name, settings: f };
      });
      const names = clusterNames(flags.cluster);
      const servers = parseServers(flags.nats);
      const store = await ClusterStore.connect({ servers: flags.nats, cluster: names.cluster }).catch((e: unknown) => {
        const code = clusterFailure(e, io);
        if (code === undefined) throw e;
        ctx.setCode(code);
        return undefined;
      });
      if (!store) return;
      try {
        const r = await store.apply({ job, feeds }, { ...(flags.replicas !== undefined ? { replicas: flags.replicas } : {}), ...(flags.leaseTtlMs !== undefined ? { leaseTtlMs: flags.leaseTtlMs } : {}) });
        // The stream every node publishes outputs and events to.
        const stream = await ensureOutputStream({
          url: firstServerUrl(servers), servers: otherServers(servers), name: names.outputs, subjects: [`${names.subjectBase}.>`],
          ...(flags.replicas !== undefined ? { replicas: flags.replicas } : {}),
        });
        const list = (what: string, xs: readonly string[]) => (xs.length > 0 ? [`${what} ${xs.join(', ')}`] : []);
        io.out(`nv cluster ${names.cluster}: ${feeds.length} feed${feeds.length === 1 ? '' : 's'} applied (lease TTL ${r.leaseTtlMs / 1000} s; outputs in stream ${stream.name} on ${names.subjectBase}.<feed>.outputs)`);
        for (const l of [...list('added', r.added), ...list('updated', r.updated), ...list('removed', r.removed), ...list('unchanged', r.unchanged)]) io.out(`  ${l}`);
        if (r.jobChanged) io.out('  job settings written (nodes started from now on use them; restart running nodes to apply them there)');
        const survives = ClusterNode.survivableOutageMs(r.leaseTtlMs);
        if (survives < MIN_SURVIVABLE_OUTAGE_MS) {
          io.err(`nv: warning: with a lease TTL of ${r.leaseTtlMs / 1000} s a node stops its feeds when NATS takes no lease renewal for ${(survives / 1000).toFixed(1)} s; a JetStream leader election after a NATS server dies took up to 8.3 s in our tests: on a NATS cluster use --lease-ttl-ms 15000 or more`);
        }
      } catch (e) {
        const code = clusterFailure(e, io);
        if (code === undefined) throw e;
        ctx.setCode(code);
      } finally {
        await store.close();
      }
    });

  cluster.command('status')
    .description('every desired feed with its owner node, lease (fencing token), state and frames; every live node')
    .requiredOption('--nats <urls>', 'nats://[user:pass@]host[:port], several comma-separated')
    .option('--cluster <name>', 'the cluster (default nv)')
    .option('--json', 'print JSON')
    .action(async (flags: { nats: string; cluster?: string; json?: boolean }) => {
      let store: ClusterStore | undefined;
      try {
        store = await ClusterStore.connect({ servers: flags.nats, ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}) });
        const s = await store.status();
        if (flags.json) io.out(JSON.stringify(s));
        else for (const l of formatClusterStatus(s)) io.out(l);
      } catch (e) {
        const code = clusterFailure(e, io);
        if (code === undefined) throw e;
        ctx.setCode(code);
      } finally {
        await store?.close();
      }
    });

  program.command('node')
    .description('join a cluster: run the feeds assigned to this node (leases with a TTL), publish their outputs to the cluster\'s stream, serve the API and live view')
    .requiredOption('--nats <urls>', 'nats://[user:pass@]host[:port], several comma-separated')
    .requiredOption('--name <name>', 'this node\'s name, unique in the cluster (letters, digits, _ and -)')
    .option('--cluster <name>', 'the cluster (default nv)')
    .option('--host <address>', 'interface of the API (default 127.0.0.1; any other needs NV_SERVE_TOKEN)')
    .option('--port <N>', 'TCP port of the API (default 8080; 0 picks a free one)', portNumber)
    .option('--tick-ms <ms>', 'how often to re-plan: claim, hand over (default: the lease TTL ÷ 4; leases are renewed every min(tick, TTL ÷ 10))', positiveInt)
    .option('--wait-ms <ms>', 'wait this long for nv cluster apply when the cluster has no state yet (default 0: fail at once)', positiveInt)
    .option('--allow-custom-pipeline', 'run custom GStreamer pipelines from the applied config (trusted configs only)')
    .addHelpText('after', [
      '',
      'Start one nv node per machine, each with its own --name, pointing at the same NATS.',
      'Feeds are spread evenly; a node that stops (Ctrl-C) hands its feeds over at once, one',
      'that dies loses them after the lease TTL. Outputs and events of every feed go to',
      'nv.<cluster>.<feed>.outputs / .events.<type> (stream NV_<cluster>_OUTPUTS), each with',
      'fence: { node, token } — read them with nv outputs --nats URL/nv.<cluster> --feed NAME',
      '--stream NV_<cluster>_OUTPUTS. GET /api/cluster on any node shows the whole cluster.',
    ].join('\n'))
    .action(async (flags: Record<string, unknown> & { nats: string; name: string; cluster?: string; host?: string; port?: number; tickMs?: number; waitMs?: number }) => {
      ctx.setCode(await runNode(flags, ctx));
    });
}

/** `nv node` until the signal: returns the exit code. */
async function runNode(
  flags: Record<string, unknown> & { nats: string; name: string; cluster?: string; host?: string; port?: number; tickMs?: number; waitMs?: number },
  ctx: ClusterCommandContext,
): Promise<number> {
  const { io } = ctx;
  const names = clusterNames(flags.cluster);
  const servers = parseServers(flags.nats);
  // The applied job settings give the stages (read once at start: a node keeps them until it restarts).
  let job: JobConfig;
  const until = Date.now() + (flags.waitMs ?? 0);
  for (;;) {
    let store: ClusterStore | undefined;
    try {
      store = await ClusterStore.connect({ servers: flags.nats, cluster: names.cluster });
      const raw = (await store.status()).job;
      job = parseConfig(JobConfigSchema, raw ?? {}, `the job applied to cluster ${names.cluster}`);
      break;
    } catch (e) {
      if (ClusterError.isInstance(e) && e.kind === 'NotApplied' && Date.now() < until && !ctx.signal?.aborted) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const code = clusterFailure(e, io);
      if (code === undefined) throw e;
      return code;
    } finally {
      await store?.close();
    }
  }
  // Only the operator's flag passes through; --name is this node's, not a feed's.
  const plan = ctx.planFrom({ allowCustomPipeline: flags['allowCustomPipeline'] === true }, { ...job, feeds: undefined });
  // Every output and event to the cluster's stream (created by nv cluster apply), plus the job's own sinks.
  // With every server of the list, so a node started while the first one is down still delivers.
  const more = otherServers(servers);
  const sinkUrl = `${firstServerUrl(servers)}/${names.subjectBase}${more.length > 0 ? `?servers=${more.join(',')}` : ''}`;
  const nodePlan: JobPlan = { ...plan, sinks: [...(plan.sinks ?? []), { url: sinkUrl, publish: 'both', field: '--nats' }] };
  let node: ClusterNode | undefined;
  const handles = new Map<string, FeedId>();
  const fences = new Map<string, Fence>();
  const envToken = process.env['NV_SERVE_TOKEN'];
  return runServe(nodePlan, job, {
    host: flags.host ?? job.serve?.host,
    port: flags.port ?? job.serve?.port,
    token: envToken !== undefined && envToken !== '' ? envToken : job.serve?.token,
    liveView: job.serve?.liveView,
    decorate: (o) => {
      const f = o.feedName !== undefined ? fences.get(o.feedName) : undefined;
      return f ? { fence: f } : undefined;
    },
    cluster: async () => {
      if (!node) throw new Error('not joined yet');
      return node.status();
    },
    attach: async (server, runtime) => {
      try {
        node = await ClusterNode.start({
          servers: flags.nats, cluster: names.cluster, name: flags.name, url: server.url,
          ...(flags.tickMs !== undefined ? { tickMs: flags.tickMs } : {}),
          onEvent: (e) => { io.err(`nv: node ${flags.name}: ${eventLine(e)}`); },
          controller: {
            start: async (feed, settings, _job, fence) => {
              fences.set(feed, fence);
              try {
                const h = await server.addFeed({ ...(settings as object), name: feed } as FeedSettings);
                handles.set(feed, h.id);
              } catch (e) {
                if (fences.get(feed) === fence) fences.delete(feed);
                throw e;
              }
            },
            stop: async (feed, opts) => {
              const id = handles.get(feed);
              const fence = fences.get(feed);
              handles.delete(feed);
              // A lost lease: no new frames at once, at most a second for what is in flight.
              if (id !== undefined && opts?.urgent) await runtime.feed(id)?.stop({ timeoutMs: 1000 }).catch(() => undefined);
              if (id !== undefined) await server.removeFeed(id).catch(() => undefined);
              if (fences.get(feed) === fence) fences.delete(feed);
            },
            report: (feed) => {
              const id = handles.get(feed);
              const h = id !== undefined ? runtime.feed(id) : undefined;
              if (!h) return undefined;
              const d = h.diagnostics();
              return { state: d.alive ? 'running' : d.state, frames: d.metrics.framesProcessed };
            },
          },
        });
      } catch (e) {
        if (ClusterError.isInstance(e) || ConfigError.isInstance(e)) throw new JobError(e.message, ClusterError.isInstance(e) ? EXIT.source : EXIT.usage);
        throw e;
      }
      io.out(`nv node ${flags.name}: joined cluster ${names.cluster} on ${servers.display} (lease TTL ${node.leaseTtlMs / 1000} s); API ${server.url}/ (GET /api/cluster)`);
      return {
        close: async () => {
          const n = node!;
          await n.close();
          const st = n.stats();
          io.out(`nv node ${flags.name}: left cluster ${names.cluster} (${st.claims} claimed, ${st.releases} released, ${st.lost} lost)`);
        },
      };
    },
  }, io, ctx.signal);
}
