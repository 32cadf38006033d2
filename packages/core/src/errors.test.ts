import { describe, expect, it } from 'vitest';
import {
  ConfigError, FrameAccessError, InvalidArgumentError, MediaError, NvError, RuntimeError, StageError, TemporalError, ViewError,
} from './index.js';

describe('error hierarchy', () => {
  const cases: [string, NvError, string, string][] = [
    ['media', MediaError.decodeFailed('bad nal'), 'media', 'DecodeFailed'],
    ['media eos', MediaError.eos(), 'media', 'Eos'],
    ['media timeout', MediaError.timeout(), 'media', 'Timeout'],
    ['media unsupported', MediaError.unsupported('cuda'), 'media', 'Unsupported'],
    ['media insecure', MediaError.insecureRtspRejected('rtsp://c/x'), 'media', 'InsecureRtspRejected'],
    ['media custom', MediaError.customPipelineRejected(), 'media', 'CustomPipelineRejected'],
    ['stage', StageError.processingFailed('det', 'x'), 'stage', 'ProcessingFailed'],
    ['stage exhausted', StageError.resourceExhausted('det'), 'stage', 'ResourceExhausted'],
    ['stage model', StageError.modelLoadFailed('det', 'missing'), 'stage', 'ModelLoadFailed'],
    ['temporal', TemporalError.trackNotFound(3), 'temporal', 'TrackNotFound'],
    ['temporal cap', TemporalError.retentionLimitExceeded('500'), 'temporal', 'RetentionLimitExceeded'],
    ['view', ViewError.invalidMotionReport('NaN'), 'view', 'InvalidMotionReport'],
    ['runtime', RuntimeError.feedNotFound(2), 'runtime', 'FeedNotFound'],
    ['runtime limit', RuntimeError.feedLimitExceeded(64), 'runtime', 'FeedLimitExceeded'],
    ['config', ConfigError.missingRequired('cameraMode'), 'config', 'MissingRequired'],
    ['config camera', ConfigError.cameraModeConflict('observed without provider'), 'config', 'CameraModeConflict'],
    ['frame', FrameAccessError.released(), 'frame', 'Released'],
    ['argument', new InvalidArgumentError('x', 'a number', 'y'), 'argument', 'InvalidArgument'],
  ];
  it.each(cases)('%s has category and kind and is an NvError and an Error', (_n, e, category, kind) => {
    expect(e).toBeInstanceOf(Error);
    expect(NvError.isInstance(e)).toBe(true);
    expect(e.category).toBe(category);
    expect(e.kind).toBe(kind);
    expect(e.name).toMatch(/^NV_/);
    expect(e.toJSON()).toMatchObject({ category, kind });
  });

  it('category guards do not cross', () => {
    const s = StageError.processingFailed('a', 'b');
    expect(StageError.isInstance(s)).toBe(true);
    expect(MediaError.isInstance(s)).toBe(false);
    expect(ConfigError.isInstance(new Error('x'))).toBe(false);
    expect(NvError.isInstance({ message: 'fake' })).toBe(false);
    expect(NvError.isInstance(null)).toBe(false);
  });

  it('brand checks work across package copies (no instanceof)', () => {
    // An error from "another copy" of @nv/core: same Symbol.for brands, different class object.
    const foreign = Object.assign(Object.create(Error.prototype), {
      [Symbol.for('nv.error')]: true,
      [Symbol.for('nv.error.stage')]: true,
      category: 'stage',
      kind: 'ProcessingFailed',
    });
    expect(foreign instanceof StageError).toBe(false);
    expect(StageError.isInstance(foreign)).toBe(true);
    expect(NvError.isInstance(foreign)).toBe(true);
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    expect(StageError.processingFailed('a', 'b', cause).cause).toBe(cause);
  });

  it('stage error fields', () => {
    const e = StageError.modelLoadFailed('detector', 'input shape [1,3,320,320] != [1,3,640,640]');
    expect(e.stageId).toBe('detector');
    expect(e.message).toBe("ModelLoadFailed in stage 'detector': input shape [1,3,320,320] != [1,3,640,640]");
  });
});
