/**
 * `@nv/test-util`: test your stages without media — synthetic frames with known content,
 * configurable mock stages, a controllable clock, and a harness that runs a stage list with
 * the real view system and temporal store, exactly as a feed would.
 *
 * @packageDocumentation
 */
export { TestClock } from './clock.js';
export {
  MockStage, NoOpStage, MockDetectorStage, MockTrackerStage, CountingSinkStage,
} from './mock-stages.js';
export type { MockStageOptions, MockCall, MockObject, MockTrackerOptions, PerFrame } from './mock-stages.js';
export {
  solidFrame, gradientFrame, gradientPixel, checkerFrame, boxFrame, frameSequence, readSeqMarker, readPixel, compareFrames, testFeedId,
} from './synthetic.js';
export type { SyntheticFrameOptions } from './synthetic.js';
export { PipelineHarness } from './harness.js';
export type { PipelineHarnessOptions, HarnessFrameResult, HarnessOutcome } from './harness.js';
export { SyntheticSource } from './synthetic-source.js';
export type { SyntheticSourceOptions } from './synthetic-source.js';
export { makeTextClip, DEFAULT_TEXT_CLIP_PLATES } from './text-clip.js'; export type { TextClipOptions, TextClipPlate, TextClipPoint, TextClipItem, TextClipGroundTruth } from './text-clip.js';
export {
  startRtspTestServer, stopRtspTestServers, rtspTestServerAvailable, freeTcpPort, RTSP_TEST_PYTHON, RTSP_TEST_SERVER_SCRIPT,
} from './rtsp-server.js';
export type { RtspTestServer, RtspTestServerOptions } from './rtsp-server.js';
export { startNatsTestCluster, NATS_SERVER_BIN } from './nats-server.js';
export type { NatsTestCluster, NatsTestClusterOptions, NatsTestServer } from './nats-server.js';
export { seededRandom } from './random.js';
