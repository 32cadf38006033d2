/**
 * Test media generated at test time with gst-launch (never committed).
 * @internal Used by this package's tests only; not exported.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A per-run scratch directory. */
export const scratch = join(tmpdir(), `nv-media-test-${process.pid}`);
mkdirSync(scratch, { recursive: true });

/**
 * An H.264 MP4 of `frames` frames (videotestsrc `pattern`), made once per run.
 * @returns its path
 */
export function h264Clip(name: string, frames: number, width = 320, height = 240, pattern = 'smpte'): string {
  const path = join(scratch, `${name}.mp4`);
  if (existsSync(path)) return path;
  execFileSync('gst-launch-1.0', [
    '-q', 'videotestsrc', `num-buffers=${frames}`, `pattern=${pattern}`, '!',
    `video/x-raw,format=I420,width=${width},height=${height},framerate=30/1`, '!',
    'x264enc', 'speed-preset=ultrafast', 'tune=zerolatency', 'key-int-max=30', '!', 'mp4mux', '!', 'filesink', `location=${path}`,
  ], { stdio: 'pipe', timeout: 60_000 });
  return path;
}

/** The first `fraction` of a clip's bytes: a truncated MP4 (moov atom missing). */
export function truncatedClip(): string {
  const src = h264Clip('full-for-truncation', 60);
  const path = join(scratch, 'truncated.mp4');
  const bytes = readFileSync(src);
  writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 3)));
  return path;
}

/** A text file with a video extension. */
export function textFile(): string {
  const path = join(scratch, 'not-a-video.mp4');
  writeFileSync(path, 'this is not a video\n'.repeat(100));
  return path;
}

/** Number of OS threads of this process. */
export function threadCount(): number {
  const m = /Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}
