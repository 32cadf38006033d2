/**
 * File sources stay local: a `file` that is really an HLS playlist, a DASH or Smooth Streaming
 * manifest, an SDP description or a URI list is refused with a typed `MediaError` before
 * anything is fetched — by `MediaSource` and by `probeSource` alike — while ordinary video files
 * still decode. The manifests point at a local HTTP server that counts every connection.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { MediaError, parseSourceSpec } from '@nv/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MediaSource, probeSource } from './index.js';
import { buildPipeline } from './pipeline.js';
import { h264Clip, scratch } from './test-fixtures.js';

/** An HTTP server on 127.0.0.1 (random port) that counts connections and requests. */
let server: Server;
let base = '';
let connections = 0;
let requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.statusCode = 404;
    res.end();
  });
  server.on('connection', () => { connections++; });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => { await new Promise<void>((resolve) => server.close(() => resolve())); });
beforeEach(() => { connections = 0; requests = []; });

/** Manifests and playlists, each named `.mp4`, whose content points at the counting server. */
const REFERENCES: readonly { name: string; what: RegExp; body: () => string }[] = [
  {
    name: 'an HLS playlist',
    what: /the file is an HLS playlist \(application\/x-hls\): file sources only read local media/,
    body: () => '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n'
      + `#EXTINF:10.0,\n${base}/seg0.ts\n#EXTINF:10.0,\n${base}/seg1.ts\n#EXT-X-ENDLIST\n`,
  },
  {
    name: 'a DASH manifest',
    what: /the file is a DASH manifest \(application\/dash\+xml\)/,
    body: () => '<?xml version="1.0" encoding="UTF-8"?>\n'
      + '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S" '
      + `profiles="urn:mpeg:dash:profile:isoff-main:2011"><BaseURL>${base}/</BaseURL><Period>`
      + '<AdaptationSet mimeType="video/mp4" segmentAlignment="true"><Representation id="v" bandwidth="100000" width="320" '
      + 'height="240" codecs="avc1.42c01e"><SegmentList duration="10"><Initialization sourceURL="init.mp4"/>'
      + '<SegmentURL media="seg0.m4s"/></SegmentList></Representation></AdaptationSet></Period></MPD>\n',
  },
  {
    name: 'an SDP description',
    what: /the file is an SDP session description \(application\/sdp\)/,
    body: () => `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=nv\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=control:${base}/session\r\n`
      + `m=video 40000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:${base}/track\r\n`,
  },
  {
    name: 'a Smooth Streaming manifest',
    what: /the file is a Smooth Streaming manifest \(application\/vnd\.ms-sstr\+xml\)/,
    body: () => '<?xml version="1.0"?>\n<SmoothStreamingMedia MajorVersion="2" MinorVersion="0" Duration="100000000">'
      + `<StreamIndex Type="video" Url="${base}/q({bitrate})/f({start time})" Chunks="1"><QualityLevel Index="0" `
      + 'Bitrate="100000" FourCC="H264" MaxWidth="320" MaxHeight="240"/><c d="100000000"/></StreamIndex></SmoothStreamingMedia>\n',
  },
  {
    name: 'a URI list',
    what: /the file is a URI list \(text\/uri-list\)/,
    body: () => `${base}/a.mp4\r\n${base}/b.mp4\r\n`,
  },
];

function writeReference(i: number): string {
  const path = join(scratch, `allowlist-ref-${i}.mp4`);
  writeFileSync(path, REFERENCES[i]!.body());
  return path;
}

/** Runs a file source to its end. @returns the frame count, or the error it failed with */
async function decode(path: string): Promise<{ frames: number; error: unknown }> {
  // `block`: no frame is dropped, so every frame of the file is counted.
  const src = new MediaSource({ kind: 'file', path }, { backpressure: { kind: 'block' }, noFrameTimeoutMs: 10_000 });
  let frames = 0;
  let error: unknown;
  try {
    for await (const f of src.frames()) { f.release(); frames++; }
  } catch (e) {
    error = e;
  } finally {
    await src.stop();
  }
  return { frames, error };
}

/** A small media file made once per run: `launch` is a gst-launch description writing to `$OUT`. */
function generated(name: string, launch: string): string {
  const path = join(scratch, name);
  if (!existsSync(path)) {
    const args = launch.split(' ').filter(Boolean).map((w) => w.replace('$OUT', path));
    execFileSync('gst-launch-1.0', ['-q', ...args], { stdio: 'pipe', timeout: 60_000 });
  }
  return path;
}

/** VP8 video + Vorbis audio in Matroska (the audio stream is left undecoded). */
const mkvClip = () => generated('allowlist-vp8-vorbis.mkv',
  'videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,framerate=30/1 ! vp8enc deadline=1 ! queue ! matroskamux name=m '
  + '! filesink location=$OUT audiotestsrc num-buffers=20 ! audioconvert ! vorbisenc ! queue ! m.');

/** WMV2 video in ASF: a real, local container that is simply not on the allow-list. */
const asfClip = () => generated('allowlist-wmv2.asf',
  'videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120,framerate=30/1 ! avenc_wmv2 ! asfmux ! filesink location=$OUT');

/** Audio only (WAV): not video. */
const wavClip = () => generated('allowlist-audio.wav', 'audiotestsrc num-buffers=20 ! audioconvert ! wavenc ! filesink location=$OUT');

function expectRefusal(e: unknown, what: RegExp): void {
  expect(MediaError.isInstance(e)).toBe(true);
  expect((e as MediaError).kind).toBe('Unsupported');
  expect((e as MediaError).message).toMatch(what);
}

describe('file sources stay local (allow-list)', () => {
  it.each(REFERENCES.map((r, i) => [r.name, i] as const))('MediaSource refuses %s named .mp4, and nothing is fetched', async (_name, i) => {
    const { frames, error } = await decode(writeReference(i));
    expect(requests).toEqual([]);
    expect(connections).toBe(0);
    expect(frames).toBe(0);
    expectRefusal(error, REFERENCES[i]!.what);
  });

  it.each(REFERENCES.map((r, i) => [r.name, i] as const))('probeSource refuses %s named .mp4, and nothing is fetched', async (_name, i) => {
    const path = writeReference(i);
    const error = await probeSource({ kind: 'file', path }, { timeoutMs: 10_000 }).then(() => undefined, (e: unknown) => e);
    expect(requests).toEqual([]);
    expect(connections).toBe(0);
    expectRefusal(error, REFERENCES[i]!.what);
    expect((error as MediaError).message).toContain(path);
  });

  it('the HLS refusal names the demuxer that was refused', async () => {
    const { error } = await decode(writeReference(0));
    expect((error as MediaError).message).toMatch(/\(refused: [^)]*hlsdemux/);
  });

  it('an allow-list, not a block-list: an ASF file (asfdemux is not listed) is refused, naming asfdemux', async () => {
    const path = asfClip();
    const { frames, error } = await decode(path);
    expect(frames).toBe(0);
    expectRefusal(error, /the file needs asfdemux for video\/x-ms-asf, which is not on the file-source allow-list/);
    const probed = await probeSource({ kind: 'file', path }).then(() => undefined, (e: unknown) => e);
    expectRefusal(probed, /asfdemux/);
  });

  it('an audio-only file is refused as not video', async () => {
    const { frames, error } = await decode(wavClip());
    expect(frames).toBe(0);
    expectRefusal(error, /the file is not video \(audio\/x-wav\)/);
  });

  it('an H.264 MP4 still decodes, and probes', async () => {
    const path = h264Clip('allowlist-h264', 30, 320, 240);
    const { frames, error } = await decode(path);
    expect(error).toBeUndefined();
    expect(frames).toBe(30);
    const p = await probeSource({ kind: 'file', path });
    expect(p).toMatchObject({ width: 320, height: 240 });
    expect(p.codec).toMatch(/H\.264/);
    expect(p.decoder).toMatch(/h264/);
  });

  it('an MKV (VP8 video, Vorbis audio) still decodes its video, and probes', async () => {
    const path = mkvClip();
    const { frames, error } = await decode(path);
    expect(error).toBeUndefined();
    expect(frames).toBe(30);
    const p = await probeSource({ kind: 'file', path });
    expect(p).toMatchObject({ width: 160, height: 120 });
    expect(p.codec).toMatch(/VP8/);
    expect(p.decoder).toMatch(/vp8/);
  });

  it('only file sources get the allow-list: RTSP and V4L2 decodebins are unrestricted', () => {
    const decodebins = (spec: unknown) => buildPipeline(parseSourceSpec(spec)).elements.filter((e) => 'factory' in e && e.factory === 'decodebin');
    expect(decodebins({ kind: 'file', path: 'clip.mp4' })).toEqual([{ factory: 'decodebin', localOnly: true }]);
    expect(decodebins({ kind: 'rtsp', url: 'rtsps://cam.local/x' })).toEqual([{ factory: 'decodebin' }]);
    expect(decodebins({ kind: 'v4l2', device: '/dev/video0' })).toEqual([{ factory: 'decodebin' }]);
  });
});
