/**
 * The entry of a {@link WorkerExecutor} worker thread: one onnxruntime session per loaded
 * model, requests handled one at a time in arrival order (the executor sends a worker at
 * most one run at a time anyway). Runs as built JavaScript (`dist/inference-worker.js`):
 * Node 20 cannot start a worker from TypeScript.
 *
 * Inputs arrive on SharedArrayBuffers (pool slots: the same memory as the caller's); outputs
 * are copied out of onnxruntime's native memory once and their buffers transferred back.
 *
 * @packageDocumentation
 * @internal
 */
import { parentPort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { PROTOCOL_VERSION, TEST_MARK, type FromWorker, type ToWorker } from './protocol.js';
import { createSession, fromResult, probeSharedInputs, toFeeds, type Staging } from './session.js';

const port = parentPort;
if (!port) throw new Error('@nv/inference: inference-worker.js must run in a worker thread (new Worker(...)), not as a main script');

interface Loaded {
  readonly session: InferenceSession;
  readonly outputNames: readonly string[];
  readonly staging: Staging;
}

const models = new Map<number, Loaded>();
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const shared = await probeSharedInputs();

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'load': {
      const r = await createSession(m.source, m.options);
      if (!r.ok) { post({ type: 'failed', id: m.id, error: r.error }); return; }
      models.set(m.model, { session: r.session, outputNames: r.outputs.map((o) => o.name), staging: new Map() });
      post({ type: 'loaded', id: m.id, inputs: r.inputs, outputs: r.outputs });
      return;
    }
    case 'unload': {
      const l = models.get(m.model);
      models.delete(m.model);
      await l?.session.release().catch(() => undefined);
      post({ type: 'unloaded', id: m.id });
      return;
    }
    case 'run': {
      if (m.test === 'exit') process.exit(70);
      if (m.test === 'throw') {
        setImmediate(() => { throw new Error('@nv/inference test crash (uncaught exception in the worker)'); });
        return;
      }
      if (m.test === 'garbage') { post({ type: 'result', id: m.id, outputs: null as unknown as [] }); return; }
      const l = models.get(m.model);
      if (!l) { post({ type: 'failed', id: m.id, error: { kind: 'Released', detail: `model ${m.model} is not loaded in this worker` } }); return; }
      if (m.test === 'mark') for (const t of m.inputs) if (t.data.length > 0) t.data[0] = TEST_MARK;
      let result: InferenceSession.OnnxValueMapType;
      try {
        result = await l.session.run(toFeeds(m.inputs, !shared, l.staging), m.outputs ? [...m.outputs] : [...l.outputNames]);
      } catch (e) {
        post({ type: 'failed', id: m.id, error: { kind: 'RunFailed', detail: message(e) } });
        return;
      }
      const out = fromResult(result, m.outputs ?? l.outputNames, true);
      for (const v of Object.values(result)) v.dispose();
      if (!Array.isArray(out)) { post({ type: 'failed', id: m.id, error: out }); return; }
      post({ type: 'result', id: m.id, outputs: out }, out.map((t) => t.data.buffer as ArrayBuffer));
      return;
    }
  }
}

let chain: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  chain = chain.then(() => handle(m)).catch((e: unknown) => {
    // A bug here must not leave the caller waiting: report it against the request.
    post({ type: 'failed', id: m.id, error: { kind: 'RunFailed', detail: `inference worker error: ${message(e)}` } });
  });
});
post({ type: 'ready', protocol: PROTOCOL_VERSION, inputTransfer: shared ? 'shared' : 'staged' });
