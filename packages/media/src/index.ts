/**
 * `@nv/media`: video sources decoded by GStreamer into zero-copy, ref-counted frames. The
 * only package that loads nv's native addon.
 *
 * @packageDocumentation
 */
export { MediaSource, mediaDiagnostics, rtspBlockRefused } from './source.js';
export type { MediaSourceOptions, MediaEvent, MediaEventType, MediaSourceState, MediaSourceStats } from './source.js';
export { mediaErrorKind } from './errors.js';
export type { MediaSourceErrorKind } from './errors.js';
export { NativeFrame } from './native-frame.js';
export { buildPipeline } from './pipeline.js';
export type { OutputOptions, PipelinePolicies, BuiltPipeline } from './pipeline.js';
export { VideoWriter } from './writer.js';
export type { VideoWriterOptions, BoxAnnotation } from './writer.js';
export { JpegEncoder } from './jpeg-encoder.js';
export { H264Encoder } from './h264-encoder.js';
export type { H264EncoderOptions, ResolvedH264EncoderOptions, H264AccessUnit } from './h264-encoder.js';
export { ClipRecorder, ClipDiskBudget } from './clip-recorder.js';
export type { ClipRecorderOptions, ClipRef, ClipResult, ClipRecorderStats } from './clip-recorder.js';
export { buildMp4, buildMp4Parts, splitAnnexB } from './mp4.js';
export type { H264Sample } from './mp4.js';
export type { JpegEncoderOptions, ResolvedJpegEncoderOptions } from './jpeg-encoder.js';
export { probeSource } from './probe.js';
export type { ProbeResult } from './probe.js';
