/**
 * `nv worker` and `detector.remote` on a real nats-server: the ready line, a remote executor
 * served, the drained stop and its summary, bad arguments, and `nv run` with its detector on a
 * worker giving the same JSON lines as a local run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceError } from '@nv/inference';
import { RemoteExecutor } from '@nv/remote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { EXIT, type Io } from './job.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/dist/bin.js');

function natsServerBinary(): string | undefined {
  for (const c of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    try { accessSync(c, constants.X_OK); return c; } catch { /* next */ }
  }
  const r = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
}
const NATS = natsServerBinary();

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
});

async function waitFor<T>(cond: () => T, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function capture(): { io: Io; out: string[]; err: string[] } {
  const out: string[] = [], err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

/**
 * A YOLOv8-shaped model built with onnx-proto (a devDependency of @nv/remote, loaded from
 * there): images [batch, 3, 64, 64] → output0 [batch, 84, 1024], a stride-2 convolution whose
 * first four rows are plausible cx, cy, w, h.
 */
function yoloShaped(): Uint8Array {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a devDependency of another package, loaded untyped
  const { onnx } = createRequire(join(ROOT, 'packages/remote/package.json'))('onnx-proto') as { onnx: any };
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  let s = 21;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 0x1000000 - 0.5; };
  const w = Array.from({ length: 84 * 27 }, rand);
  const b = Array.from({ length: 84 }, rand);
  b[0] = 32; b[1] = 32; b[2] = 16; b[3] = 16;
  const vi = (name: string, dims: (number | string)[]): unknown => ({
    name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
  return (onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'yolo-shaped', input: [vi('images', ['batch', 3, 64, 64])], output: [vi('output0', ['batch', 84, 1024])],
      initializer: [
        { name: 'W', dims: [84, 3, 3, 3], dataType: FLOAT, floatData: w },
        { name: 'B', dims: [84], dataType: FLOAT, floatData: b },
        { name: 'shape', dims: [3], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, 84, -1] },
      ],
      node: [
        { opType: 'Conv', input: ['images', 'W', 'B'], output: ['c'], attribute: [
          { name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] },
          { name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] },
        ] },
        { opType: 'Reshape', input: ['c', 'shape'], output: ['output0'] },
      ],
    },
  })).finish()) as Uint8Array;
}

describe.skipIf(NATS === undefined)('nv worker', () => {
  let dir = '';
  let port = 0;
  let url = '';
  let natsPid: number | undefined;
  let model = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nv-cli-worker-'));
    port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, `listen: 127.0.0.1:${port}\nmax_payload: 8MB\n`);
    let log = '';
    const p = spawn(NATS!, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    natsPid = p.pid;
    p.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    p.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    await waitFor(() => /Server is ready/.test(log), 'nats-server');
    model = join(dir, 'yolo-shaped.onnx');
    writeFileSync(model, yoloShaped());
  }, 30_000);

  afterAll(() => {
    if (natsPid !== undefined) { try { process.kill(natsPid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints one ready line, serves a remote executor, and on the signal drains and prints a summary (exit 0)', async () => {
    const c = capture();
    const ac = new AbortController();
    const done = runCli(['worker', '--model', model, '--nats', `nats://user:pw-secret@127.0.0.1:${port}`, '--subject', 'nv.cli', '--max-batch', '4', '--threads', '1'], { io: c.io, signal: ac.signal });
    await waitFor(() => c.out.length > 0 || c.err.length > 0, 'the ready line');
    expect(c.err).toEqual([]);
    // Credentials are refused by a server without auth? No: this server has none, so user/pass are accepted and ignored.
    expect(c.out[0]).toMatch(new RegExp(`^nv worker: serving yolo-shaped\\.onnx \\(sha256 [0-9a-f]{16}…\\) on nats://127\\.0\\.0\\.1:${port} subject nv\\.cli\\.[0-9a-f]{16} \\(queue group nv-workers, batches of up to 4\\)$`));
    expect(c.out.join('\n')).not.toContain('pw-secret');
    const ex = new RemoteExecutor({ servers: url, subject: 'nv.cli' });
    const m = await ex.load({ model });
    const out = await m.run({ images: { dims: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64).fill(114 / 255) } });
    expect(out['output0']!.dims).toEqual([1, 84, 1024]);
    await ex.release();
    ac.abort();
    expect(await done).toBe(EXIT.ok);
    expect(c.out.at(-1)).toBe('nv worker: stopped: 1 requests, 1 batches (mean 1.00 per batch), 1 replies (0 decoded to detections here), 0 errors (0 refused: queue full)');
  });

  it.each([
    ['a bad --max-batch', ['--max-batch', '0'], EXIT.usage, /^nv: --max-batch: expected a positive integer, got '0'$/],
    ['a bad --nats URL', ['--nats', 'http://127.0.0.1:1'], EXIT.usage, /^nv: --nats: /],
    ['a bad --subject', ['--subject', 'a.>'], EXIT.usage, /^nv: --subject: /],
    ['a missing model', ['--model', '/nonexistent/m.onnx'], EXIT.model, /^nv: ModelLoadFailed \(NotFound\)/],
    ['an unreachable server', ['--nats', 'nats://127.0.0.1:1'], EXIT.failed, /^nv: ConnectionFailed: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/],
  ] as const)('%s: one `nv:` error line and its exit code', async (_what, args, code, line) => {
    const c = capture();
    const base: Record<string, string> = { '--model': model, '--nats': url };
    for (let i = 0; i < args.length; i += 2) base[args[i]!] = args[i + 1]!;
    const ac = new AbortController();
    const r = await runCli(['worker', ...Object.entries(base).flat()], { io: c.io, signal: ac.signal });
    expect(r).toBe(code);
    expect(c.err.length).toBe(1);
    expect(c.err[0]).toMatch(line);
    expect(c.out).toEqual([]);
  });

  it('nv run with detector.remote in the config: the same JSON lines as the local detector; without a worker, exit 4 naming the fix', async () => {
    const ac = new AbortController();
    const w = capture();
    const worker = runCli(['worker', '--model', model, '--nats', url, '--subject', 'nv.run'], { io: w.io, signal: ac.signal });
    await waitFor(() => w.out.length > 0, 'the worker');
    const run = async (remote: boolean, subject = 'nv.run'): Promise<{ code: number; lines: unknown[]; err: string[] }> => {
      const out = join(dir, `out-${remote}-${subject}.jsonl`);
      const cfg = join(dir, `cfg-${remote}-${subject}.json`);
      writeFileSync(cfg, JSON.stringify({ detector: { model, classNames: Array.from({ length: 80 }, (_, i) => `c${i}`), ...(remote ? { remote: { nats: url, subject, timeoutMs: 5000 } } : {}) } }));
      const c = capture();
      const code = await runCli(['run', 'testpattern:ball', '-n', '6', '--config', cfg, '--out', out, '--parallel', '2'], { io: c.io });
      const lines = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').map((l) => {
        // Detection ids are handed out in completion order with --parallel (either run): compare the rest.
        const o = JSON.parse(l) as { seq: number; detections: { id: unknown }[] };
        return { seq: o.seq, detections: o.detections.map(({ id: _id, ...d }) => d) };
      }) : [];
      return { code, lines, err: c.err };
    };
    const local = await run(false);
    const remote = await run(true);
    expect(local.code, local.err.join("\n")).toBe(EXIT.ok);
    expect(remote.code, remote.err.join('\n')).toBe(EXIT.ok);
    expect(remote.lines).toHaveLength(6);
    expect((local.lines as { detections: unknown[] }[]).some((l) => l.detections.length > 0)).toBe(true);
    expect(JSON.stringify(remote.lines)).toBe(JSON.stringify(local.lines));
    const none = await run(true, 'nv.nobody');
    expect(none.code).toBe(EXIT.model);
    expect(none.err.join('\n')).toMatch(/NoResponders.*nv worker --model .*yolo-shaped\.onnx --nats nats:\/\/127\.0\.0\.1/);
    // --remote-inference on the command line: the detector goes remote (no worker serves nv.infer here: exit 4 naming the fix) …
    const flag = capture();
    expect(await runCli(['run', 'testpattern:ball', '-n', '2', '-d', model, '--remote-inference', url], { io: flag.io })).toBe(EXIT.model);
    expect(flag.err.join('\n')).toMatch(/NoResponders.*nv worker --model/);
    // … and without a detector it is a usage error.
    const noDet = capture();
    expect(await runCli(['run', 'testpattern:ball', '-n', '2', '--remote-inference', url], { io: noDet.io })).toBe(EXIT.usage);
    expect(noDet.err.join('\n')).toContain('--remote-inference runs the detector on nv worker processes');
    ac.abort();
    expect(await worker).toBe(EXIT.ok);
    expect(w.out.at(-1)).toMatch(/^nv worker: stopped: 6 requests/);
    // A typed error reaches the API user too.
    const ex = new RemoteExecutor({ servers: url, subject: 'nv.run' });
    const e = await ex.load({ model }).catch((x: unknown) => x);
    expect(InferenceError.isInstance(e) && e.kind).toBe('NoResponders');
    await ex.release();
  }, 60_000);

  it.skipIf(!existsSync(BIN))('the built CLI: `node bin.js worker` serves, SIGTERM drains and exits 0 with the summary', async () => {
    const p = spawn(process.execPath, [BIN, 'worker', '--model', model, '--nats', url, '--subject', 'nv.bin'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    try {
      await waitFor(() => /nv worker: serving/.test(out), 'the ready line of the built CLI');
      const ex = new RemoteExecutor({ servers: url, subject: 'nv.bin' });
      const m = await ex.load({ model });
      await Promise.all([1, 2, 3].map(() => m.run({ images: { dims: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) } })));
      await ex.release();
      process.kill(p.pid!, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/nv worker: stopped: 3 requests, \d batches/);
    } finally {
      if (p.exitCode === null) process.kill(p.pid!, 'SIGKILL');
    }
  }, 30_000);
});
