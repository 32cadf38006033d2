/**
 * `@nv/remote`: remote inference over NATS. {@link RemoteExecutor} is an `InferenceExecutor`
 * (give it to `OnnxDetector` as `executor`) whose runs go by request/reply to a queue group of
 * inference workers; {@link InferenceService} (`nv worker`) is such a worker: it serves one
 * model on `<subject>.<sha16 of the model file>` and stacks requests from every client into
 * its own batches.
 *
 * @packageDocumentation
 */
export { RemoteExecutor, REMOTE_EXECUTOR_DEFAULTS } from './remote-executor.js';
export type { RemoteExecutorOptions, RemoteExecutorStats } from './remote-executor.js';
export { InferenceService, INFERENCE_SERVICE_DEFAULTS } from './service.js';
export type { InferenceServiceOptions, InferenceServiceStats } from './service.js';
export type { InputEncoding } from './wire.js';
