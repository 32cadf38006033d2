/**
 * Both executors on real onnxruntime sessions, with models built here with onnx-proto:
 * `double` (y = x + x, tiny) and `slow` (a chain of 1024×1024 MatMuls: one run takes well over
 * 100 ms on these machines). Nothing here asserts a duration: only orders, counts and types.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { onnx } from 'onnx-proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InferenceError, type InferenceErrorKind } from './errors.js';
import { InlineExecutor } from './inline-executor.js';
import { TEST_MARK } from './protocol.js';
import type { InferenceExecutor, InferenceModel } from './types.js';
import { WorkerExecutor } from './worker-executor.js';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const valueInfo = (name: string, dims: readonly (number | string)[]): onnx.IValueInfoProto => ({
  name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
});
const encode = (graph: onnx.IGraphProto): Uint8Array =>
  onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, producerName: 'nv-inference-test', opsetImport: [{ domain: '', version: 13 }], graph })).finish();

/** y = x + x, x: [batch, 4]. */
const DOUBLE = encode({ name: 'double', input: [valueInfo('x', ['batch', 4])], output: [valueInfo('y', ['batch', 4])], node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'] }] });

/** y = x · x · … · x (SLOW_K MatMuls of SLOW_N × SLOW_N). */
const SLOW_N = 1024, SLOW_K = 12;
const SLOW = encode({
  name: 'slow', input: [valueInfo('x', [SLOW_N, SLOW_N])], output: [valueInfo('y', [SLOW_N, SLOW_N])],
  node: Array.from({ length: SLOW_K }, (_, i) => ({ opType: 'MatMul', input: [i === 0 ? 'x' : `t${i - 1}`, 'x'], output: [i === SLOW_K - 1 ? 'y' : `t${i}`] })),
});

let dir = '';
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'nv-inference-test-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const executors: InferenceExecutor[] = [];
afterEach(async () => { await Promise.all(executors.splice(0).map((e) => e.release())); });
function worker(options: ConstructorParameters<typeof WorkerExecutor>[0] = {}): WorkerExecutor {
  const e = new WorkerExecutor({ intraOpNumThreads: 1, ...options });
  executors.push(e);
  return e;
}
function inline(): InlineExecutor {
  const e = new InlineExecutor({ intraOpNumThreads: 1 });
  executors.push(e);
  return e;
}

async function rejection(p: Promise<unknown>): Promise<InferenceError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(InferenceError.isInstance(e), String(e)).toBe(true);
  return e as InferenceError;
}
const kindOf = async (p: Promise<unknown>): Promise<InferenceErrorKind> => (await rejection(p)).kind;

/** Runs `double` on one slot-backed row; checks the result. */
async function runDouble(ex: InferenceExecutor, model: InferenceModel, v: number): Promise<void> {
  const slot = await ex.pool.acquire(4);
  slot.data.set([v, v + 1, v + 2, v + 3]);
  const { y } = await model.run({ x: slot.input([1, 4]) });
  expect(slot.released).toBe(true);
  expect(y!.dims).toEqual([1, 4]);
  expect([...y!.data]).toEqual([2 * v, 2 * v + 2, 2 * v + 4, 2 * v + 6]);
}

/** What happens first after starting a slow run: a macrotask scheduled right after it, or its result. */
async function firstAfterStart(ex: InferenceExecutor): Promise<string[]> {
  const model = await ex.load({ model: SLOW, name: 'slow' });
  const slot = await ex.pool.acquire(SLOW_N * SLOW_N);
  slot.data.fill(1 / SLOW_N);
  const order: string[] = [];
  const run = model.run({ x: slot.input([SLOW_N, SLOW_N]) }).then((r) => { order.push('result'); return r; });
  setImmediate(() => order.push('setImmediate'));
  setTimeout(() => order.push('setTimeout'), 0);
  const { y } = await run;
  await new Promise((r) => setTimeout(r, 5)); // let both ticks land if they have not yet
  expect(y!.dims).toEqual([SLOW_N, SLOW_N]);
  expect(y!.data[0]).toBeCloseTo(1 / SLOW_N, 6); // (J/N)^k = J/N: every element stays 1/N
  return order;
}

describe('WorkerExecutor', () => {
  it('loads a model (bytes or path) with its metadata; a run returns plain float32 outputs on memory the caller owns', async () => {
    const ex = worker();
    const model = await ex.load({ model: DOUBLE, name: 'double' });
    expect(model.inputs).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] }]);
    expect(model.outputs).toEqual([{ name: 'y', isTensor: true, type: 'float32', shape: ['batch', 4] }]);
    await runDouble(ex, model, 1);
    // Plain (non-slot) inputs work too, batched.
    const { y } = await model.run({ x: { dims: [2, 4], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) } }, ['y']);
    expect(y!.data).toBeInstanceOf(Float32Array);
    expect(y!.data.buffer).toBeInstanceOf(ArrayBuffer); // transferred back: an ordinary buffer, not shared with the worker
    expect([...y!.data]).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    const path = join(dir, 'double.onnx');
    await writeFile(path, DOUBLE);
    const fromPath = await ex.load({ model: path });
    expect(fromPath.name).toBe(path);
    await runDouble(ex, fromPath, 10);
    expect(ex.stats()).toMatchObject({ kind: 'worker', workers: 1, runs: 3, failedRuns: 0, models: 2, pool: { inUse: 0 } });
  });

  it('inference in a worker keeps the event loop turning: macrotasks scheduled after the run start come before its result', async () => {
    const order = await firstAfterStart(worker());
    expect(order).toHaveLength(3);
    expect(order.at(-1)).toBe('result'); // a setImmediate turn and a timer both ran while the worker computed
  });

  it('inputs are shared, not copied: the worker writes into the very SharedArrayBuffer slot the caller filled', async () => {
    const ex = worker();
    const model = await ex.load({ model: DOUBLE });
    const slot = await ex.pool.acquire(4);
    expect(slot.buffer).toBeInstanceOf(SharedArrayBuffer);
    const view = slot.data;
    view.set([1, 2, 3, 4]);
    ex.__testNextRun('mark'); // the worker writes TEST_MARK into element 0 of the input it received, then runs
    const { y } = await model.run({ x: slot.input([1, 4]) });
    expect(view[0]).toBe(TEST_MARK); // seen here: the same memory
    expect(y!.data[0]).toBe(2 * TEST_MARK);
    expect(['shared', 'staged']).toContain(ex.stats().inputTransfer); // 'staged': onnxruntime-node 1.30 refuses SAB tensors, the worker copies (off this thread)
    const again = await ex.pool.acquire(4);
    expect(again.id).toBe(slot.id);
    expect(again.buffer).toBe(slot.buffer); // the pool hands the same slot back
    again.release();
  });

  it('concurrent callers never hold more pool slots than the bound; every run gets its own result', async () => {
    const ex = worker({ pool: { slots: 2 } });
    const model = await ex.load({ model: DOUBLE });
    // A slot is held from acquire until its run settles (the run releases it). Counted from the
    // leases themselves: the pool hands a freed slot to the next waiter in the same tick that
    // settles the run, before the run's own continuation could decrement a counter.
    const leases: { readonly released: boolean }[] = [];
    let maxHeld = 0;
    await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const slot = await ex.pool.acquire(4);
      leases.push(slot);
      maxHeld = Math.max(maxHeld, leases.filter((s) => !s.released).length);
      slot.data.set([i, i, i, i]);
      const { y } = await model.run({ x: slot.input([1, 4]) });
      expect(slot.released).toBe(true); // held until the run settled, returned then
      expect([...y!.data]).toEqual([2 * i, 2 * i, 2 * i, 2 * i]);
    }));
    expect(maxHeld).toBe(2); // 12 callers, 2 slots: both in use at once, never a third
    expect(ex.stats().pool).toMatchObject({ capacity: 2, inUse: 0, highWater: 2, acquisitions: 12 });
    expect(ex.stats().runs).toBe(12);
  });

  it('the run queue is bounded: beyond maxQueuedRuns a run is refused at once with QueueFull', async () => {
    const ex = worker({ maxQueuedRuns: 1 });
    const model = await ex.load({ model: DOUBLE });
    const input = () => ({ x: { dims: [1, 4], data: new Float32Array(4) } });
    const first = model.run(input()); // to the idle worker
    const second = model.run(input()); // waits
    expect(await kindOf(model.run(input()))).toBe('QueueFull');
    await Promise.all([first, second]);
    expect(ex.stats()).toMatchObject({ runs: 2, failedRuns: 1, queued: 0 });
  });

  it('load failures come back from the worker typed: missing file, directory, not a model, unavailable provider', async () => {
    const ex = worker();
    const missing = await rejection(ex.load({ model: join(dir, 'nope.onnx') }));
    expect(missing).toMatchObject({ kind: 'ModelLoadFailed', reason: 'NotFound' });
    expect(missing.message).toContain(join(dir, 'nope.onnx'));
    expect(await rejection(ex.load({ model: dir }))).toMatchObject({ kind: 'ModelLoadFailed', reason: 'Unreadable' });
    const garbage = await rejection(ex.load({ model: new TextEncoder().encode('not a protobuf at all \u0000\u00ff'), name: 'garbage' }));
    expect(garbage).toMatchObject({ kind: 'ModelLoadFailed', reason: 'InvalidModel' });
    expect(garbage.detail).toMatch(/protobuf|parse|model/i); // onnxruntime's own message
    // CUDA: this build lists a CUDA backend but cannot load its provider library here (no GPU
    // stack): ProviderFailed with onnxruntime's message; without a listed backend, ProviderUnavailable.
    const cuda = await rejection(ex.load({ model: DOUBLE, session: { executionProvider: 'cuda' } }));
    expect(cuda.kind).toBe('ModelLoadFailed');
    expect(['ProviderUnavailable', 'ProviderFailed']).toContain(cuda.reason);
    if (cuda.reason === 'ProviderUnavailable') expect(cuda.availableProviders).toContain('cpu');
    // The executor is still fine.
    await runDouble(ex, await ex.load({ model: DOUBLE }), 3);
  });

  it('a worker that dies fails its in-flight run with WorkerExited and is replaced; the queued run and the next ones work', async () => {
    const ex = worker();
    const model = await ex.load({ model: DOUBLE });
    ex.__testNextRun('exit'); // process.exit in the worker when it receives the run
    const slot = await ex.pool.acquire(4);
    const dying = model.run({ x: slot.input([1, 4]) });
    const queued = model.run({ x: { dims: [1, 4], data: new Float32Array([1, 1, 1, 1]) } });
    const e = await rejection(dying);
    expect(e.kind).toBe('WorkerExited');
    expect(e.message).toMatch(/exited with code 70/);
    expect(slot.released).toBe(true); // the slot came back anyway
    expect([...(await queued).y!.data]).toEqual([2, 2, 2, 2]); // served by the replacement
    ex.__testNextRun('throw'); // an uncaught exception in the worker
    const crash = await rejection(model.run({ x: { dims: [1, 4], data: new Float32Array(4) } }));
    expect(crash.kind).toBe('WorkerExited');
    expect(crash.message).toContain('test crash');
    await runDouble(ex, model, 5);
    expect(ex.stats()).toMatchObject({ workers: 1, workerRestarts: 2, failedRuns: 2, pool: { inUse: 0 } });
  });

  it('a malformed reply from the worker fails that run with RunFailed and returns its slot; the worker serves the next run', async () => {
    const ex = worker();
    const model = await ex.load({ model: DOUBLE });
    ex.__testNextRun('garbage'); // the worker answers with a 'result' whose outputs is not a tensor list
    const slot = await ex.pool.acquire(4);
    const bad = model.run({ x: slot.input([1, 4]) });
    const queued = model.run({ x: { dims: [1, 4], data: new Float32Array([1, 1, 1, 1]) } }); // waits behind it
    const e = await rejection(bad);
    expect(e.kind).toBe('RunFailed');
    expect(e.message).toMatch(/malformed reply/);
    expect(slot.released).toBe(true);
    expect([...(await queued).y!.data]).toEqual([2, 2, 2, 2]); // dispatched after the failure, same worker
    await runDouble(ex, model, 4);
    expect(ex.stats()).toMatchObject({ workers: 1, workerRestarts: 0, running: 0, failedRuns: 1, runs: 2, pool: { inUse: 0 } });
  });

  it('release terminates the workers: queued and running requests fail with Released, later calls too', async () => {
    const ex = worker();
    const model = await ex.load({ model: SLOW });
    const input = () => ({ x: { dims: [SLOW_N, SLOW_N], data: new Float32Array(SLOW_N * SLOW_N) } });
    const running = kindOf(model.run(input()));
    const queued = kindOf(model.run(input()));
    const released = ex.release();
    expect(await queued).toBe('Released');
    expect(await running).toBe('Released');
    await released;
    await ex.release(); // idempotent
    expect(ex.stats()).toMatchObject({ workers: 0, queued: 0, models: 0 });
    expect(await kindOf(model.run(input()))).toBe('Released');
    expect(await kindOf(ex.load({ model: DOUBLE }))).toBe('Released');
    expect(await kindOf(ex.pool.acquire(4))).toBe('Released');
  });

  it('a released model refuses runs; the executor and its other models go on', async () => {
    const ex = worker();
    const a = await ex.load({ model: DOUBLE, name: 'a' });
    const b = await ex.load({ model: DOUBLE, name: 'b' });
    await a.release();
    const e = await rejection(a.run({ x: { dims: [1, 4], data: new Float32Array(4) } }));
    expect(e.kind).toBe('Released');
    expect(e.message).toContain("model 'a'");
    await runDouble(ex, b, 7);
  });

  it('a missing or broken worker script is WorkerStartFailed with the file and the fix', async () => {
    const missing = join(dir, 'no-such-worker.js');
    const e = await rejection(worker({ workerScript: missing }).load({ model: DOUBLE }));
    expect(e.kind).toBe('WorkerStartFailed');
    expect(e.message).toContain(missing);
    const broken = join(dir, 'broken-worker.mjs');
    await writeFile(broken, "throw new Error('cannot start');\n");
    const b = await rejection(worker({ workerScript: broken }).load({ model: DOUBLE }));
    expect(b.kind).toBe('WorkerStartFailed');
    expect(b.message).toMatch(/exited before it was ready/);
  });

  it('never keeps the process alive: a script that releases, and one that just stops using it, both exit', async () => {
    const path = join(dir, 'double-child.onnx');
    await writeFile(path, DOUBLE);
    const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
    for (const release of [true, false]) {
      const script = [
        `import { WorkerExecutor } from ${JSON.stringify(dist)};`,
        'const ex = new WorkerExecutor({ intraOpNumThreads: 1 });',
        `const model = await ex.load({ model: ${JSON.stringify(path)} });`,
        "const { y } = await model.run({ x: { dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });",
        "console.log('ran', y.data.join(','));",
        release ? 'await ex.release();' : '',
      ].join('\n');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      expect(r.signal, `the script did not exit by itself (release: ${release})\n${r.stderr}`).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('ran 2,4,6,8');
    }
  }, 90_000);

  it('validates options and run inputs with InvalidArgumentError naming the field', async () => {
    expect(() => new WorkerExecutor({ workers: 0 })).toThrow(/workers/);
    expect(() => new WorkerExecutor({ maxQueuedRuns: -1 })).toThrow(/maxQueuedRuns/);
    const ex = worker();
    await expect(ex.load({ model: DOUBLE, session: { intraOpNumThreads: 0 } })).rejects.toThrow(/session\.intraOpNumThreads/);
    const model = await ex.load({ model: DOUBLE });
    await expect(model.run({ x: { dims: [2, 4], data: new Float32Array(4) } })).rejects.toThrow(/inputs\.x\.dims/);
    // An input onnxruntime refuses (wrong rank) is RunFailed with its message.
    const e = await rejection(model.run({ x: { dims: [4], data: new Float32Array(4) } }));
    expect(e.kind).toBe('RunFailed');
    expect(e.detail).toMatch(/rank|dimension|shape/i);
  });
});

describe('InlineExecutor', () => {
  it('runs on the calling thread: the result comes before any macrotask scheduled after the run started', async () => {
    // onnxruntime-node runs the session inside a setImmediate callback that blocks the thread
    // until inference is done; the promise chain then completes in that callback's microtasks.
    // (The timer may fire before or after: the loop's timer phase can come before that callback.)
    const order = await firstAfterStart(inline());
    expect(order).toHaveLength(3);
    expect(order.indexOf('result')).toBeLessThan(order.indexOf('setImmediate'));
  });

  it('same models, same results, same typed load errors', async () => {
    const ex = inline();
    const model = await ex.load({ model: DOUBLE });
    expect(model.inputs).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] }]);
    await runDouble(ex, model, 2);
    expect((await ex.pool.acquire(4)).buffer).toBeInstanceOf(ArrayBuffer); // one thread: plain slots, used in place
    expect(await rejection(ex.load({ model: join(dir, 'nope.onnx') }))).toMatchObject({ kind: 'ModelLoadFailed', reason: 'NotFound' });
    expect(await rejection(ex.load({ model: new Uint8Array([1, 2, 3]) }))).toMatchObject({ kind: 'ModelLoadFailed', reason: 'InvalidModel' });
    // A SharedArrayBuffer input works inline too (staged for onnxruntime-node, which refuses SAB tensors).
    const shared = new Float32Array(new SharedArrayBuffer(16));
    shared.set([1, 2, 3, 4]);
    expect([...(await model.run({ x: { dims: [1, 4], data: shared } })).y!.data]).toEqual([2, 4, 6, 8]);
    await ex.release();
    expect(await kindOf(model.run({ x: { dims: [1, 4], data: shared } }))).toBe('Released');
  });
});
