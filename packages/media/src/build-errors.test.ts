/**
 * A pipeline that cannot be built fails with a MediaError typed by its cause (the addon's
 * `BuildError` codes), not a blanket `Unsupported`.
 */
import { MediaError } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { MediaSource } from './index.js';

async function failure(pipeline: string): Promise<unknown> {
  const src = new MediaSource({ kind: 'custom', pipeline }, { customPipelinePolicy: 'allowTrusted' });
  try {
    const f = await src.next();
    f?.release();
    return undefined;
  } catch (e) {
    return e;
  } finally {
    await src.stop();
  }
}

describe('pipeline build failures are typed by cause', () => {
  it.each([
    ['a missing plugin', 'videotestsrc num-buffers=2 ! nvnosuchelement', 'Unsupported', 'elementMissing'],
    ['an unknown property', 'videotestsrc num-buffers=2 nvnosuchproperty=1', 'PipelineInvalid', 'unknownProperty'],
    ['launch syntax that does not parse', 'videotestsrc num-buffers=2 ! ! !', 'PipelineInvalid', 'parseFailed'],
  ])('%s', async (_name, pipeline, kind, buildFailure) => {
    const e = await failure(pipeline);
    expect(MediaError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ kind, buildFailure });
    expect((e as MediaError).message).toMatch(/pipeline could not be built/);
  });

  it('a fragment that builds is not affected', async () => {
    expect(await failure('videotestsrc num-buffers=2')).toBeUndefined();
  });
});
