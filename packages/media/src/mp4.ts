/**
 * A small MP4 (ISO BMFF) writer for H.264 access units already encoded (Annex B byte stream, as
 * `H264Encoder` returns them): one video track, the samples' own timestamps, keyframes marked.
 * Used for event clips, where the encoded pre-roll is kept and no re-encoding happens.
 */
import { InvalidArgumentError } from '@nv/core';

/** One encoded access unit. */
export interface H264Sample {
  /** Annex B bytes (start codes, NAL units); keyframes carry SPS and PPS. */
  readonly data: Uint8Array;
  /** Presentation time, ns (strictly increasing from sample to sample). */
  readonly ptsNs: number;
  /** An IDR access unit. */
  readonly keyframe: boolean;
}

const TIMESCALE = 90_000;
const MOVIE_TIMESCALE = 1000;

/** Splits an Annex B access unit into NAL units (without start codes). */
export function splitAnnexB(au: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0, start = -1;
  const n = au.length;
  while (i + 2 < n) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      if (start >= 0) {
        let end = i;
        while (end > start && au[end - 1] === 0) end--; // a 4-byte start code's leading zero
        out.push(au.subarray(start, end));
      }
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0 && start < n) out.push(au.subarray(start, n));
  return out.filter((u) => u.length > 0);
}

class Bytes {
  readonly parts: Uint8Array[] = [];
  length = 0;
  u8(v: number): this { return this.raw(Uint8Array.of(v & 0xff)); }
  u16(v: number): this { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v); return this.raw(b); }
  u32(v: number): this { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0); return this.raw(b); }
  zeros(n: number): this { return this.raw(new Uint8Array(n)); }
  str(s: string): this { return this.raw(new TextEncoder().encode(s)); }
  raw(b: Uint8Array): this { this.parts.push(b); this.length += b.length; return this; }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

function box(type: string, ...children: (Uint8Array | Bytes)[]): Uint8Array {
  const body = children.map((c) => (c instanceof Bytes ? c.bytes() : c));
  const size = 8 + body.reduce((a, b) => a + b.length, 0);
  const b = new Bytes().u32(size).str(type);
  for (const c of body) b.raw(c);
  return b.bytes();
}
const fullBox = (type: string, version: number, flags: number, body: Bytes, ...children: Uint8Array[]): Uint8Array =>
  box(type, new Bytes().u8(version).u8(flags >> 16).u8(flags >> 8).u8(flags).raw(body.bytes()), ...children);
const MATRIX = (b: Bytes): Bytes => b.u32(0x00010000).u32(0).u32(0).u32(0).u32(0x00010000).u32(0).u32(0).u32(0).u32(0x40000000);

/**
 * Builds an MP4 file from H.264 access units.
 * @param samples - the access units in decode (= presentation: no B-frames) order, the first a keyframe
 * @param width - picture width in pixels
 * @param height - picture height in pixels
 * @returns the whole file (`ftyp`, `moov`, `mdat`)
 * @throws {InvalidArgumentError} when there is no sample, the first is not a keyframe with SPS
 *   and PPS, or timestamps do not increase
 * @example
 * ```ts
 * await writeFile('clip.mp4', buildMp4(samples, 640, 360));
 * ```
 */
export function buildMp4(samples: readonly H264Sample[], width: number, height: number): Uint8Array {
  const parts = buildMp4Parts(samples, width, height);
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * {@link buildMp4} as the file's pieces in order, without copying the encoded bytes: the boxes
 * (`ftyp`, `moov`, the `mdat` header), then per NAL unit its 4-byte length and a view of it in
 * the caller's access unit — for a gathering write (`filehandle.writev`).
 * @param samples - as for {@link buildMp4}
 * @param width - picture width
 * @param height - picture height
 * @returns the pieces (their concatenation is the file)
 * @throws {InvalidArgumentError} as {@link buildMp4}
 */
export function buildMp4Parts(samples: readonly H264Sample[], width: number, height: number): Uint8Array[] {
  if (samples.length === 0) throw new InvalidArgumentError('samples', 'at least one access unit', 0);
  if (!samples[0]!.keyframe) throw new InvalidArgumentError('samples[0]', 'a keyframe', 'a delta unit');
  let sps: Uint8Array | undefined, pps: Uint8Array | undefined;
  /** Per sample: its pieces (length, NAL, length, NAL…) and their size. */
  const payloads: { parts: Uint8Array[]; length: number }[] = [];
  for (const s of samples) {
    const b = new Bytes();
    for (const nal of splitAnnexB(s.data)) {
      const t = nal[0]! & 0x1f;
      if (t === 7) { sps ??= nal; continue; }
      if (t === 8) { pps ??= nal; continue; }
      if (t === 9) continue; // access unit delimiter
      b.u32(nal.length).raw(nal);
    }
    payloads.push({ parts: b.parts, length: b.length });
  }
  if (!sps || !pps || sps.length < 4) throw new InvalidArgumentError('samples[0]', 'a keyframe with SPS and PPS', 'no parameter sets');
  // Durations from the timestamps (90 kHz); the last repeats the one before (or 1/30 s).
  const durations: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const next = samples[i + 1];
    if (next !== undefined && !(next.ptsNs > samples[i]!.ptsNs)) throw new InvalidArgumentError(`samples[${i + 1}].ptsNs`, 'a time after the previous sample', next.ptsNs);
    const d = next !== undefined ? Math.max(1, Math.round(((next.ptsNs - samples[i]!.ptsNs) * TIMESCALE) / 1e9)) : (durations[i - 1] ?? TIMESCALE / 30);
    durations.push(d);
  }
  const total = durations.reduce((a, b) => a + b, 0);
  const movieDuration = Math.round((total * MOVIE_TIMESCALE) / TIMESCALE);

  const stts = new Bytes();
  const runs: [number, number][] = [];
  for (const d of durations) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d) last[0]++;
    else runs.push([1, d]);
  }
  stts.u32(runs.length);
  for (const [c, d] of runs) stts.u32(c).u32(d);
  const keys = samples.map((s, i) => (s.keyframe ? i + 1 : 0)).filter((i) => i > 0);
  const stss = new Bytes().u32(keys.length);
  for (const k of keys) stss.u32(k);
  const stsz = new Bytes().u32(0).u32(payloads.length);
  for (const p of payloads) stsz.u32(p.length);
  const avcC = box('avcC', new Bytes().u8(1).u8(sps[1]!).u8(sps[2]!).u8(sps[3]!).u8(0xff).u8(0xe1).u16(sps.length).raw(sps).u8(1).u16(pps.length).raw(pps));
  const avc1 = box('avc1', new Bytes().zeros(6).u16(1).zeros(16).u16(width).u16(height).u32(0x00480000).u32(0x00480000).u32(0).u16(1).zeros(32).u16(0x0018).u16(0xffff), avcC);

  const moov = (chunkOffset: number): Uint8Array => box('moov',
    fullBox('mvhd', 0, 0, MATRIX(new Bytes().u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(movieDuration).u32(0x00010000).u16(0x0100).zeros(10)).zeros(24).u32(2)),
    box('trak',
      fullBox('tkhd', 0, 3, MATRIX(new Bytes().u32(0).u32(0).u32(1).u32(0).u32(movieDuration).zeros(8).u16(0).u16(0).u16(0).u16(0)).u32(width * 65536).u32(height * 65536)),
      box('mdia',
        fullBox('mdhd', 0, 0, new Bytes().u32(0).u32(0).u32(TIMESCALE).u32(total).u16(0x55c4).u16(0)),
        fullBox('hdlr', 0, 0, new Bytes().u32(0).str('vide').zeros(12).str('nv clip\0')),
        box('minf',
          fullBox('vmhd', 0, 1, new Bytes().zeros(8)),
          box('dinf', fullBox('dref', 0, 0, new Bytes().u32(1), fullBox('url ', 0, 1, new Bytes()))),
          box('stbl',
            fullBox('stsd', 0, 0, new Bytes().u32(1), avc1),
            fullBox('stts', 0, 0, stts),
            fullBox('stss', 0, 0, stss),
            fullBox('stsc', 0, 0, new Bytes().u32(1).u32(1).u32(payloads.length).u32(1)),
            fullBox('stsz', 0, 0, stsz),
            fullBox('stco', 0, 0, new Bytes().u32(1).u32(chunkOffset)),
          ),
        ),
      ),
    ),
  );
  const ftyp = box('ftyp', new Bytes().str('isom').u32(0x200).str('isomiso2avc1mp41'));
  const moovLength = moov(0).length;
  const mdatLength = payloads.reduce((a, p) => a + p.length, 0);
  if (mdatLength + 8 > 0xffffffff) throw new InvalidArgumentError('samples', 'less than 4 GiB of video', mdatLength);
  const head = new Bytes().raw(ftyp).raw(moov(ftyp.length + moovLength + 8)).u32(mdatLength + 8).str('mdat');
  return [head.bytes(), ...payloads.flatMap((p) => p.parts)];
}
