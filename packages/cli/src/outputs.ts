/**
 * `nv outputs`: one feed's outputs read back from JetStream, in order — a JSON line each on
 * stdout; gaps and the final counts on stderr.
 */
import { ConfigError } from '@nv/core';
import { readFeedOutputs } from '@nv/sinks';
import type { Io } from './job.js';
import { EXIT } from './job.js';
import { natsServerAndBase } from './publish.js';

/**
 * Reads `<base subject>.<feed>.outputs` from the stream until `idleMs` without an output or the
 * signal aborts.
 * @param flags - `--nats` (with the base subject, as given to `nv run`), `--feed`, `--stream`, `--from`, `--idle-ms`
 * @param io - where lines go
 * @param signal - Ctrl-C
 * @returns the exit code: 0, 2 (bad arguments), 3 (server unreachable, no such stream)
 */
export async function readOutputs(
  flags: { nats: string; feed: string; stream?: string; from?: 'start' | 'new'; idleMs?: number }, io: Io, signal?: AbortSignal,
): Promise<number> {
  let u: URL;
  try { u = new URL(flags.nats); } catch { throw ConfigError.invalidConfig('nv outputs', [{ field: '--nats', message: 'not a nats:// URL' }]); }
  if (u.protocol !== 'nats:') throw ConfigError.invalidConfig('nv outputs', [{ field: '--nats', message: 'not a nats:// URL' }]);
  const token = flags.feed.replace(/[^A-Za-z0-9_-]/g, '_');
  if (token === '') throw ConfigError.invalidConfig('nv outputs', [{ field: '--feed', message: 'a feed name' }]);
  const { server, base } = natsServerAndBase(flags.nats);
  const subject = `${base === '' ? '' : `${base}.`}${token}.outputs`;
  const reader = readFeedOutputs({
    url: server, subject, ...(flags.stream ? { stream: flags.stream } : {}), ...(flags.from ? { from: flags.from } : {}),
    ...(flags.idleMs ? { idleMs: flags.idleMs } : {}), ...(signal ? { signal } : {}),
    onGap: (g) => { io.err(`nv: ${subject}: ${g.count} output${g.count === 1 ? '' : 's'} missing before seq ${g.got}`); },
  });
  try {
    for await (const o of reader) io.out(JSON.stringify(o.payload));
  } catch (e) {
    io.err(`nv: ${subject}: ${(e as Error).message}`);
    return EXIT.source;
  }
  const s = reader.stats();
  io.err(`nv: ${subject}: ${s.delivered} outputs in order${s.duplicates ? `, ${s.duplicates} duplicates dropped` : ''}${s.stale ? `, ${s.stale} stale (an old owner's) dropped` : ''}${s.runs > 1 ? `, ${s.runs} producer runs` : ''}${s.gaps ? `, ${s.missing} missing in ${s.gaps} gap${s.gaps === 1 ? '' : 's'}` : ''}${s.resumes ? `, resumed ${s.resumes} time${s.resumes === 1 ? '' : 's'} after a NATS failure` : ''}`);
  return EXIT.ok;
}
