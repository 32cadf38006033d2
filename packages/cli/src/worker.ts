/**
 * `nv worker`: serves one ONNX model to remote executors over NATS (an `InferenceService` of
 * `@nv/remote`) until Ctrl-C / SIGTERM, then drains: every request it took gets its reply.
 */
import { InvalidArgumentError, NvError } from '@nv/core';
import { InferenceError } from '@nv/inference';
import { InferenceService } from '@nv/remote';
import type { Command } from 'commander';
import { basename } from 'node:path';
import { EXIT, type Io } from './job.js';

/** What `nv worker` needs from the program: where to print, the stop signal, the exit code. */
export interface WorkerCommandContext {
  /** Where the ready line, the summary and errors go. */
  readonly io: Io;
  /** Aborted on Ctrl-C / SIGTERM: the worker drains and stops. Without it, the worker runs until the process ends. */
  readonly signal?: AbortSignal;
  /** Sets the command's exit code (see `EXIT`). */
  setCode(n: number): void;
}

/** Flags of `nv worker`, as commander parses them. */
interface WorkerFlags {
  readonly model: string;
  readonly nats: string;
  readonly subject?: string;
  readonly queueGroup?: string;
  readonly maxBatch?: number;
  readonly batchWindowMs?: number;
  readonly maxQueued?: number;
  readonly threads?: number;
  readonly workers?: number;
}

/** Flags of `nv worker` as strings (numbers are checked here, so a bad one is one `nv:` line and exit 2). */
interface RawWorkerFlags {
  readonly model: string;
  readonly nats: string;
  readonly subject?: string;
  readonly queueGroup?: string;
  readonly maxBatch?: string;
  readonly batchWindowMs?: string;
  readonly maxQueued?: string;
  readonly threads?: string;
  readonly workers?: string;
}

class UsageError extends Error {}

function intFlag(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag}: expected ${min === 0 ? 'a non-negative' : 'a positive'} integer, got '${v}'`);
  return n;
}

function parseFlags(raw: RawWorkerFlags): WorkerFlags {
  const out: Record<string, unknown> = { model: raw.model, nats: raw.nats };
  if (raw.subject !== undefined) out['subject'] = raw.subject;
  if (raw.queueGroup !== undefined) out['queueGroup'] = raw.queueGroup;
  const ints: [keyof RawWorkerFlags, string, number][] = [
    ['maxBatch', '--max-batch', 1], ['batchWindowMs', '--batch-window-ms', 0], ['maxQueued', '--max-queued', 1], ['threads', '--threads', 1], ['workers', '--workers', 1],
  ];
  for (const [key, flag, min] of ints) {
    const n = intFlag(flag, raw[key], min);
    if (n !== undefined) out[key] = n;
  }
  return out as unknown as WorkerFlags;
}

/** The flag of an option of `InferenceService.start`. */
const FLAG_OF: Record<string, string> = {
  servers: '--nats', subject: '--subject', queueGroup: '--queue-group', maxBatch: '--max-batch', batchWindowMs: '--batch-window-ms',
  maxQueued: '--max-queued', intraOpNumThreads: '--threads', workers: '--workers', model: '--model', name: '--model',
};

/**
 * Adds `nv worker` to `program`.
 * @param program - the `nv` program
 * @param ctx - the Io, the stop signal and the exit-code setter
 * @returns the `worker` command
 * @example
 * ```ts
 * registerWorkerCommand(program, { io, signal, setCode: (n) => { code = n; } });
 * ```
 */
export function registerWorkerCommand(program: Command, ctx: WorkerCommandContext): Command {
  return program.command('worker')
    .description('serve an ONNX model to remote executors over NATS (nv run --remote-inference): requests of every client are batched together')
    .requiredOption('-m, --model <file.onnx>', 'the model; clients must load the very same file (it is identified by its sha256)')
    .requiredOption('--nats <url>', 'the NATS server: nats://[user:pass@]host[:port] (max_payload 8MB: see deploy/nats/nats-server.conf)')
    .option('--subject <subject>', 'base subject; the model is served on <subject>.<sha16> (default nv.infer)')
    .option('--queue-group <name>', 'NATS queue group shared by the workers of a model (default nv-workers)')
    .option('--max-batch <N>', 'items stacked into one run for a model with a dynamic batch dimension (default 8)')
    .option('--batch-window-ms <ms>', 'how long an idle worker waits to fill a batch (default 2)')
    .option('--max-queued <N>', 'requests that may wait (at least 1); more are refused with QueueFull (default 64)')
    .option('--threads <N>', 'intra-op threads of the session (default: cores ÷ workers)')
    .option('--workers <N>', 'inference worker threads, each running one batch at a time (default 1)')
    .addHelpText('after', [
      '',
      'Start as many workers as you like (on one or many machines): they share the requests of',
      'the model\'s subject. Ctrl-C (or SIGTERM) stops taking requests, finishes the ones taken',
      'and replies to each, then prints a summary.',
    ].join('\n'))
    .action(async (raw: RawWorkerFlags) => {
      let flags: WorkerFlags;
      try {
        flags = parseFlags(raw);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        ctx.io.err(`nv: ${e.message}`);
        ctx.setCode(EXIT.usage);
        return;
      }
      ctx.setCode(await runWorker(flags, ctx));
    });
}

async function runWorker(flags: WorkerFlags, ctx: WorkerCommandContext): Promise<number> {
  const { io, signal } = ctx;
  let service: InferenceService;
  try {
    service = await InferenceService.start({
      servers: flags.nats,
      model: flags.model,
      name: basename(flags.model),
      ...(flags.subject !== undefined ? { subject: flags.subject } : {}),
      ...(flags.queueGroup !== undefined ? { queueGroup: flags.queueGroup } : {}),
      ...(flags.maxBatch !== undefined ? { maxBatch: flags.maxBatch } : {}),
      ...(flags.batchWindowMs !== undefined ? { batchWindowMs: flags.batchWindowMs } : {}),
      ...(flags.maxQueued !== undefined ? { maxQueued: flags.maxQueued } : {}),
      ...(flags.threads !== undefined ? { intraOpNumThreads: flags.threads } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    });
  } catch (e) {
    if (InvalidArgumentError.isInstance(e)) {
      io.err(`nv: ${FLAG_OF[e.argument] ?? 'worker'}: ${e.message}`);
      return EXIT.usage;
    }
    if (InferenceError.isInstance(e) && e.kind === 'ModelLoadFailed') { io.err(`nv: ${e.message}`); return EXIT.model; }
    io.err(`nv: ${NvError.isInstance(e) || e instanceof Error ? e.message : String(e)}`);
    return EXIT.failed;
  }
  io.out(`nv worker: serving ${service.name} (sha256 ${service.sha256.slice(0, 16)}…) on ${service.servers} subject ${service.subject}` +
    ` (queue group ${service.queueGroup}, ${service.dynamicBatch ? `batches of up to ${service.maxBatch}` : 'fixed batch: one request per run'})`);
  // Until Ctrl-C / SIGTERM — or until the connection closes for good by itself.
  const lost = service.closed().then((e) => ({ lost: true as const, error: e }));
  const stopped = signal === undefined ? new Promise<never>(() => {})
    : signal.aborted ? Promise.resolve({ lost: false as const }) : new Promise<{ lost: false }>((r) => signal.addEventListener('abort', () => r({ lost: false }), { once: true }));
  const why = await Promise.race([lost, stopped]);
  await service.close();
  if (why.lost) {
    io.err(`nv: worker: the NATS connection closed${why.error ? `: ${why.error.message}` : ''}; exiting so that a supervisor restarts it`);
    return EXIT.source;
  }
  const s = service.stats();
  io.out(`nv worker: stopped: ${s.requests} requests, ${s.batches} batches (mean ${s.meanBatchSize.toFixed(2)} per batch), ${s.replies} replies (${s.reduced} decoded to detections here), ${s.errors} errors (${s.refused} refused: queue full)`);
  return EXIT.ok;
}
