/**
 * Loading and validating a detection model: file checks, session creation on the
 * detector's inference executor (with its execution provider), input/output checks and head
 * resolution. Every failure is a `StageError` of kind `ModelLoadFailed` whose message names
 * the file and what was expected.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { StageError } from '@nv/core';
import { InferenceError, type InferenceExecutor, type InferenceModel, type TensorInfo } from '@nv/inference';
import { resolveHead, type ResolvedHead } from './heads.js';
import { parseClassNames, parseImageSize, readOnnxMetadata } from './model-metadata.js';
import type { ResolvedOptions } from './options.js';

/** What the detector learned about its model at load time. */
export interface OnnxModelInfo {
  /** The model file. */
  readonly modelPath: string;
  /** Name of the image input. */
  readonly inputName: string;
  /** Name of the detection output. */
  readonly outputName: string;
  /** Input width in pixels. */
  readonly inputWidth: number;
  /** Input height in pixels. */
  readonly inputHeight: number;
  /** Fixed batch size of the model, or `'dynamic'` when its batch dimension is symbolic. */
  readonly batch: number | 'dynamic';
  /** The model's declared output shape (symbolic dimensions as strings). */
  readonly outputShape: readonly (number | string)[];
  /** The head, once known (`undefined` until the first run when the output shape is symbolic). */
  readonly head: ResolvedHead | undefined;
  /** Class names (option, else the model's `names` metadata). */
  readonly classNames: readonly string[] | undefined;
  /** The model's metadata properties. */
  readonly metadata: ReadonlyMap<string, string>;
  /** The execution provider the session runs on. */
  readonly executionProvider: 'cpu' | 'cuda';
}

/** A loaded model: the executor's handle plus what was validated. @internal */
export interface LoadedModel {
  readonly model: InferenceModel;
  readonly info: OnnxModelInfo;
  /** Number of classes, if known (for deferred head resolution). */
  readonly numClasses: number | undefined;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Loads the model of `o` on `executor` and validates it, for stage `stageId`.
 * @internal
 * @throws {StageError} `ModelLoadFailed` for every failure
 */
export async function loadModel(stageId: string, o: ResolvedOptions, executor: InferenceExecutor): Promise<LoadedModel> {
  const file = o.modelPath;
  const fail = (detail: string, cause?: unknown): StageError => StageError.modelLoadFailed(stageId, detail, cause);

  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fail(`model file '${file}' does not exist (expected an ONNX model file)`, e);
    if (code === 'EISDIR') throw fail(`model path '${file}' is a directory (expected an ONNX model file)`, e);
    throw fail(`cannot read model file '${file}' (${code ?? message(e)})`, e);
  }
  if (bytes.length === 0) throw fail(`model file '${file}' is empty (expected an ONNX ModelProto)`);
  const metadata = readOnnxMetadata(bytes) ?? new Map<string, string>();

  let model: InferenceModel;
  try {
    model = await executor.load({
      model: bytes,
      name: file,
      session: {
        executionProvider: o.executionProvider,
        cudaDeviceId: o.cudaDeviceId,
        graphOptimizationLevel: o.graphOptimizationLevel,
        ...(o.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: o.intraOpNumThreads }),
        ...(o.interOpNumThreads === undefined ? {} : { interOpNumThreads: o.interOpNumThreads }),
      },
    });
  } catch (e) {
    if (!InferenceError.isInstance(e)) throw fail(`could not load '${file}': ${message(e)}`, e);
    switch (e.kind === 'ModelLoadFailed' ? e.reason : undefined) {
      case 'ProviderUnavailable':
        throw fail(`execution provider 'cuda' was requested for '${file}' but onnxruntime-node reports no CUDA backend here (it reports: ${e.availableProviders?.join(', ') || 'none'})`, e);
      case 'ProviderFailed':
        throw fail(`could not create a session for '${file}' on execution provider 'cuda' (device ${o.cudaDeviceId}): ${e.detail ?? e.message}`, e);
      case 'InvalidModel':
        throw fail(`'${file}' is not a loadable ONNX model (expected an ONNX ModelProto): ${e.detail ?? e.message}`, e);
      default:
        throw fail(`could not load '${file}' on the ${executor.kind} inference executor: ${e.message}`, e);
    }
  }
  try {
    return validate(model, o, metadata, fail);
  } catch (e) {
    await model.release().catch(() => undefined);
    throw e;
  }
}

function validate(
  model: InferenceModel, o: ResolvedOptions, metadata: Map<string, string>, fail: (detail: string) => StageError,
): LoadedModel {
  const file = o.modelPath;
  const fmt = (s: readonly unknown[]): string => `[${s.join(', ')}]`;
  // Input: one float32 image tensor [batch, 3, H, W].
  const inputs: readonly TensorInfo[] = model.inputs;
  const inputName = o.inputName ?? inputs[0]?.name;
  const input = inputs.find((m) => m.name === inputName);
  if (input === undefined || inputName === undefined) {
    throw fail(`model '${file}' has no input${o.inputName ? ` named '${o.inputName}'` : ''} (inputs: ${inputs.map((m) => m.name).join(', ') || 'none'}); expected an image input [batch, 3, height, width]`);
  }
  if (inputs.length > 1) throw fail(`model '${file}' has ${inputs.length} inputs (${inputs.map((m) => m.name).join(', ')}); expected exactly one image input [batch, 3, height, width]`);
  if (!input.isTensor || input.type !== 'float32') {
    throw fail(`model '${file}' input '${inputName}' is ${input.isTensor ? input.type : 'not a tensor'}; expected a float32 tensor [batch, 3, height, width]`);
  }
  const shape = input.shape;
  const num = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d >= 0 ? d : undefined);
  if (shape.length !== 4) {
    throw fail(`model '${file}' input '${inputName}' has shape ${fmt(shape)} (rank ${shape.length}); expected rank 4 [batch, 3, height, width]`);
  }
  const ch = num(shape[1]);
  if (ch !== undefined && ch !== 3) throw fail(`model '${file}' input '${inputName}' has shape ${fmt(shape)}; expected 3 channels at dimension 1 ([batch, 3, height, width])`);
  const batchDim = num(shape[0]);
  if (batchDim === 0) throw fail(`model '${file}' input '${inputName}' has batch dimension 0; expected a positive or dynamic batch`);
  const mh = num(shape[2]), mw = num(shape[3]);
  const metaSize = metadata.has('imgsz') ? parseImageSize(metadata.get('imgsz')!) : undefined;
  let width: number, height: number;
  if (mw !== undefined && mh !== undefined) {
    if (o.inputSize && (o.inputSize.width !== mw || o.inputSize.height !== mh)) {
      throw fail(`model '${file}' input '${inputName}' is fixed at ${mw}x${mh} but inputSize asks for ${o.inputSize.width}x${o.inputSize.height}`);
    }
    if (mw === 0 || mh === 0) throw fail(`model '${file}' input '${inputName}' has shape ${fmt(shape)}; expected positive height and width`);
    width = mw; height = mh;
  } else {
    const size = o.inputSize ?? metaSize;
    if (!size) throw fail(`model '${file}' input '${inputName}' has dynamic spatial dimensions ${fmt(shape)}; set inputSize (expected e.g. { width: 640, height: 640 })`);
    if ((mw !== undefined && mw !== size.width) || (mh !== undefined && mh !== size.height)) {
      throw fail(`model '${file}' input '${inputName}' has shape ${fmt(shape)} which does not match inputSize ${size.width}x${size.height}`);
    }
    width = size.width; height = size.height;
  }

  // Output: one float32 tensor whose shape fits a supported head.
  const outputs: readonly TensorInfo[] = model.outputs;
  const outputName = o.outputName ?? outputs[0]?.name;
  const output = outputs.find((m) => m.name === outputName);
  if (output === undefined || outputName === undefined) {
    throw fail(`model '${file}' has no output${o.outputName ? ` named '${o.outputName}'` : ''} (outputs: ${outputs.map((m) => m.name).join(', ') || 'none'})`);
  }
  if (!output.isTensor || output.type !== 'float32') {
    throw fail(`model '${file}' output '${outputName}' is ${output.isTensor ? output.type : 'not a tensor'}; expected a float32 detection tensor`);
  }
  let classNames = o.classNames;
  if (classNames === undefined && metadata.has('names')) classNames = parseClassNames(metadata.get('names')!);
  const numClasses = o.numClasses ?? classNames?.length;
  const res = resolveHead(output.shape, { head: o.head, layout: o.layout, numClasses });
  if (res.status === 'error') throw fail(`model '${file}' output '${outputName}': ${res.detail}`);
  const outBatch = num(output.shape[0]);
  if (outBatch !== undefined && batchDim !== undefined && outBatch !== batchDim) {
    throw fail(`model '${file}' output '${outputName}' has batch ${outBatch} but the input has batch ${batchDim}; expected the same batch dimension`);
  }
  return {
    model,
    numClasses,
    info: Object.freeze({
      modelPath: file, inputName, outputName, inputWidth: width, inputHeight: height,
      batch: batchDim ?? 'dynamic', outputShape: Object.freeze([...output.shape]),
      head: res.status === 'ok' ? res.head : undefined,
      classNames: classNames === undefined ? undefined : Object.freeze([...classNames]),
      metadata, executionProvider: o.executionProvider,
    }),
  };
}
