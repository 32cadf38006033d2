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

/** One complete `moof`+`mdat` pair of a fragmented MP4. */
export interface Mp4Fragment {
  /** Samples (frames) in the fragment, from its `trun` boxes. */
  readonly samples: number;
  /** Whether the fragment's first sample is a sync sample (a keyframe). */
  readonly startsWithKeyframe: boolean;
}

/** The top-level layout of an MP4 file as it is on disk, possibly cut short. */
export interface Mp4Layout {
  /** Top-level box types in file order (a box cut short by the end of the file is left out). */
  readonly boxes: readonly string[];
  /** Complete fragments: a `moof` followed by its whole `mdat`. */
  readonly fragments: readonly Mp4Fragment[];
  /** Bytes of the first `mdat` present on disk (cut short or not), without its header. */
  readonly firstMdatBytes: number;
}

/**
 * Reads the top-level boxes of an MP4 (ISO BMFF) file, and from each `moof` the sample count
 * and first-sample flags of its `trun` boxes. Tolerates a file cut short at any byte.
 */
export function mp4Layout(path: string): Mp4Layout {
  const d = readFileSync(path);
  const boxes: string[] = [];
  const fragments: Mp4Fragment[] = [];
  let firstMdatBytes = -1;
  let pendingMoof: Mp4Fragment | undefined;
  for (let at = 0; at + 8 <= d.length;) {
    let size = d.readUInt32BE(at);
    const type = d.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > d.length) break;
      size = Number(d.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = d.length - at; // to the end of the file
    if (size < header) break; // garbage
    const complete = at + size <= d.length;
    if (type === 'mdat' && firstMdatBytes < 0) firstMdatBytes = Math.min(size, d.length - at) - header;
    if (!complete) break;
    boxes.push(type);
    if (type === 'moof') pendingMoof = moofSamples(d.subarray(at + header, at + size));
    else if (type === 'mdat' && pendingMoof) { fragments.push(pendingMoof); pendingMoof = undefined; }
    at += size;
  }
  return { boxes, fragments, firstMdatBytes: Math.max(0, firstMdatBytes) };
}

/** Children of a box body as `[type, body]`. */
function* children(b: Buffer): Generator<[string, Buffer]> {
  for (let at = 0; at + 8 <= b.length;) {
    const size = b.readUInt32BE(at);
    if (size < 8 || at + size > b.length) return;
    yield [b.toString('latin1', at + 4, at + 8), b.subarray(at + 8, at + size)];
    at += size;
  }
}

function moofSamples(moof: Buffer): Mp4Fragment {
  let samples = 0;
  let startsWithKeyframe = false;
  for (const [t, traf] of children(moof)) {
    if (t !== 'traf') continue;
    let defaultFlags = 0;
    for (const [u, body] of children(traf)) {
      if (u === 'tfhd') {
        // version/flags, track id, then optional fields in flag order (ISO 14496-12 8.8.7).
        const flags = body.readUInt32BE(0) & 0xffffff;
        let o = 8;
        if (flags & 0x1) o += 8;
        if (flags & 0x2) o += 4;
        if (flags & 0x8) o += 4;
        if (flags & 0x10) o += 4;
        if (flags & 0x20) defaultFlags = body.readUInt32BE(o);
      } else if (u === 'trun') {
        // version/flags, sample_count, [data_offset], [first_sample_flags], then per sample
        // [duration] [size] [flags] [composition offset] (ISO 14496-12 8.8.8).
        const flags = body.readUInt32BE(0) & 0xffffff;
        const count = body.readUInt32BE(4);
        let o = 8;
        if (flags & 0x1) o += 4;
        let first = defaultFlags;
        if (flags & 0x4) { first = body.readUInt32BE(o); o += 4; } else if (flags & 0x400 && count > 0) {
          o += (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0);
          first = body.readUInt32BE(o);
        }
        if (samples === 0 && count > 0) startsWithKeyframe = (first & 0x10000) === 0; // sample_is_non_sync_sample
        samples += count;
      }
    }
  }
  return { samples, startsWithKeyframe };
}
