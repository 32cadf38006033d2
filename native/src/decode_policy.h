// Steering of decodebin / uridecodebin autoplugging: the decoder preference (cpuOnly,
// preferHardware, requireHardware) and, for file sources, the local-media allow-list.
//
// File sources stay local. A local file may really be an HLS playlist, a DASH or Smooth
// Streaming manifest, an SDP description or a URI list; decodebin would autoplug hlsdemux,
// dashdemux, mssdemux or sdpdemux for it, and those open network connections. With
// `local_only`, decodebin may only plug the factories of an allow-list (never a block-list):
//   - demuxers:  qtdemux matroskademux avidemux tsdemux flvdemux oggdemux mpegpsdemux ivfparse
//   - parsers:   h264parse h265parse mpeg4videoparse mpegvideoparse h263parse vc1parse vp9parse
//                av1parse jpegparse
//   - decoders:  every factory whose klass has both "Decoder" and "Video" (software and
//                hardware), plus jpegdec (MJPEG)
// Audio, text and subtitle streams are exposed undecoded and left unlinked (nv only decodes
// video), so no audio parser or decoder ever runs on a file. When a file, or a video stream in
// it, needs a factory outside the list (or is a known reference type with no factory at all),
// the bin posts one GStreamer ERROR in the domain FilePolicyErrorQuark(), naming what was
// detected, e.g. "the file is an HLS playlist (application/x-hls): file sources only read local
// media (refused: hlsdemux)". Source elements are never autoplugged by decodebin, so nothing in
// the allow-list can open a URI or another file.
//
// Threading model: the signal handlers run on GStreamer streaming threads (and on the thread
// that changes the bin's state); they share one PolicyState guarded by a mutex, never block,
// never call JS, and report only through a bus message.
// Lifetime model: the state is owned by the bin (g_object_set_data_full) and freed with it;
// handlers cannot outlive it.
#ifndef NV_DECODE_POLICY_H_
#define NV_DECODE_POLICY_H_

#include <gst/gst.h>

namespace nv {

/** Decoder preference of a decodebin (mirrors `DecodePreference` in @nv/core). */
enum class DecodePref { kAuto = 0, kCpuOnly = 1, kPreferHardware = 2, kRequireHardware = 3 };

/** [sync] The GError domain of allow-list refusals: "nv-file-policy-error-quark". */
GQuark FilePolicyErrorQuark();
/** The only code in FilePolicyErrorQuark(): the file needs a refused element or is a reference type. */
constexpr int kFilePolicyRefused = 1;

/**
 * [sync] Whether the file-source allow-list admits `factory` (see the list above).
 * @param factory (transfer none)
 */
bool FileAllowListAdmits(GstElementFactory* factory);

/**
 * [sync] Connects the autoplug handlers that apply `pref` and, when `local_only`, the file
 * allow-list to `bin` (a decodebin or uridecodebin). Idempotent per bin: a second call is a no-op.
 * @param bin (transfer none) an element with decodebin's autoplug signals
 * @returns false when `bin` has no `autoplug-select` signal (nothing connected)
 */
bool AttachDecodePolicy(GstElement* bin, DecodePref pref, bool local_only);

}  // namespace nv

#endif  // NV_DECODE_POLICY_H_
