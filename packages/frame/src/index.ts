/**
 * `@nv/frame`: the frame contract of nv — {@link FrameEnvelope} (ref-counted, zero-copy
 * views, deterministic release), pixel formats and plane layouts, residency and host-access
 * modes, frames over plain memory ({@link OwnedFrame}) and device frames for tests
 * ({@link DeviceFrame}), and opt-in pixel conversions ({@link convertFrame}).
 *
 * @packageDocumentation
 */
export {
  PixelFormat, PIXEL_FORMATS, MAX_FRAME_DIMENSION, isPixelFormat, bytesPerPixel, planeCount, isPlanar, planeLayout,
  layoutByteLength, packedFrameSize,
} from './pixel-format.js';
export type { FramePlane, PlaneLayoutOptions } from './pixel-format.js';
export { Residency, DataAccess } from './frame-envelope.js';
export type { FrameEnvelope, CudaFrameHandle, LetterboxIntoRequest, ResampleAxis, ResampleIntoRequest } from './frame-envelope.js';
export type { FrameHeaderInit } from './frame-header.js';
export { OwnedFrame, createOwnedFrame } from './owned-frame.js';
export type { OwnedFrameInit } from './owned-frame.js';
export { DeviceFrame, createDeviceFrame } from './device-frame.js';
export type { DeviceFrameInit } from './device-frame.js';
export { convertFrame, DEFAULT_CONVERT_OPTIONS, YUV_MATRIX_WEIGHTS } from './convert.js';
export type { ConvertOptions, YuvMatrix, YuvRange } from './convert.js';
export type { FrameSource, FrameSourceEvent, FrameSourceStats } from './frame-source.js';
export { RefCountedFrame, retimeFrame } from './frame-base.js';
export { RetimedFrame } from './retimed-frame.js';
export type { FrameHeader } from './frame-header.js';
export { validateHeader } from './frame-header.js';
