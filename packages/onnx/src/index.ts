/**
 * `@nv/onnx`: a YOLO-family object detector on onnxruntime-node — as a pipeline stage
 * ({@link OnnxDetector}) and as a cross-feed batch processor ({@link OnnxBatchDetector}) —
 * with fused letterbox preprocessing straight from the frame's own pixel format, v5 / v8 /
 * end-to-end heads in either layout, and class-aware NMS.
 *
 * @packageDocumentation
 */
export { OnnxDetector, OnnxBatchDetector } from './detector.js';
export { OnnxDetectorCore, CLASS_NAME_KEY } from './detector-core.js';
export type { DetectorInput, DetectOptions } from './detector-core.js';
export type { OnnxModelInfo } from './model.js';
export { ONNX_DETECTOR_DEFAULTS } from './options.js';
export type { OnnxDetectorOptions, ExecutionProvider, GraphOptimizationLevel, DetectorExecutor } from './options.js';
export { resolveHead } from './heads.js';
export type { DetectionHead, OutputLayout, ResolvedHead, HeadResolution, HeadRequest } from './heads.js';
export { nonMaxSuppression, topScores } from './nms.js';
export type { NmsOptions } from './nms.js';
export { reduceDetections, REDUCED_CHANNELS } from './reduce.js';
export { letterboxGeometry, inputToFrame, frameToInput } from './letterbox.js';
export type { LetterboxGeometry } from './letterbox.js';
export { LetterboxPreprocessor } from './preprocess.js';
export { letterboxReference } from './preprocess-reference.js';
export { DEFAULT_PREPROCESS_OPTIONS, resolvePreprocessOptions } from './preprocess-options.js';
export type { PreprocessOptions, ResolvedPreprocessOptions, Interpolation, ChannelOrder } from './preprocess-options.js';
export { readOnnxMetadata, parseClassNames, parseImageSize } from './model-metadata.js';
