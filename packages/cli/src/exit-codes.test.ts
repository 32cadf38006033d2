import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from './job.js';

describe('exit codes come from the stop reason\'s typed kind, never from its message', () => {
  it('model load failure → 4; any media kind → 3; anything else → 1', () => {
    expect(exitCodeOf({ category: 'stage', kind: 'ModelLoadFailed' })).toBe(EXIT.model);
    for (const kind of ['SourceNotFound', 'Unauthorized', 'InvalidMedia', 'ConnectionFailed', 'Timeout']) {
      expect(exitCodeOf({ category: 'media', kind })).toBe(EXIT.source);
    }
    expect(exitCodeOf({ category: 'stage', kind: 'ProcessingFailed' })).toBe(EXIT.failed);
    expect(exitCodeOf({ category: 'unknown', kind: 'Exception' })).toBe(EXIT.failed);
    // A kind is not a message: an unknown exception whose text happens to say "ModelLoadFailed" is still 1.
    expect(exitCodeOf({ category: 'unknown', kind: 'ModelLoadFailed' })).toBe(EXIT.failed);
  });
  // End to end: `an unreachable RTSP host: exit code 3` and `a garbage model file: … exit code 4` (cli.test.ts) go through this mapping.
});
