#include "decode_policy.h"

#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace nv {
namespace {

// decodebin's GstAutoplugSelectResult (not in the public headers).
enum AutoplugSelect { kAutoplugTry = 0, kAutoplugExpose = 1, kAutoplugSkip = 2 };

constexpr const char* kStateKey = "nv-decode-policy";

// The allow-list by factory name (decoders are admitted by klass, see FileAllowListAdmits).
constexpr const char* kAllowedFactories[] = {
  // demuxers
  "qtdemux", "matroskademux", "avidemux", "tsdemux", "flvdemux", "oggdemux", "mpegpsdemux", "ivfparse",
  // video parsers
  "h264parse", "h265parse", "mpeg4videoparse", "mpegvideoparse", "h263parse", "vc1parse", "vp9parse", "av1parse",
  "jpegparse",
  // an image decoder that video files need (MJPEG)
  "jpegdec",
};

// Types whose content points elsewhere (other hosts or files), named in the refusal.
struct ReferenceType { const char* caps; const char* what; };
constexpr ReferenceType kReferenceTypes[] = {
  {"application/x-hls", "an HLS playlist"},
  {"application/dash+xml", "a DASH manifest"},
  {"application/vnd.ms-sstr+xml", "a Smooth Streaming manifest"},
  {"application/sdp", "an SDP session description"},
  {"text/uri-list", "a URI list"},
  {"application/smil", "a SMIL presentation"},
  {"application/xspf+xml", "an XSPF playlist"},
  {"audio/x-mpegurl", "an M3U playlist"},
  {"audio/x-scpls", "a PLS playlist"},
};

struct PolicyState {
  DecodePref pref = DecodePref::kAuto;
  bool local_only = false;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> refused;  // caps name -> refused factories
  bool reported = false;
};

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool FactoryHas(GstElementFactory* f, const char* what) {
  const gchar* klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
  return klass != nullptr && std::strstr(klass, what) != nullptr;
}
bool IsVideoDecoder(GstElementFactory* f) { return FactoryHas(f, "Decoder") && FactoryHas(f, "Video"); }
bool IsHardware(GstElementFactory* f) { return FactoryHas(f, "Hardware"); }

std::string CapsName(GstCaps* caps) {
  if (caps == nullptr || gst_caps_is_empty(caps) || gst_caps_is_any(caps)) return "";
  return gst_structure_get_name(gst_caps_get_structure(caps, 0));
}

const char* ReferenceWhat(const std::string& name) {
  for (const auto& r : kReferenceTypes) {
    if (name == r.caps) return r.what;
  }
  return nullptr;
}

bool IsVideoName(const std::string& name) { return StartsWith(name, "video/") || StartsWith(name, "image/"); }

// A stream nv never decodes: exposed as it is and left unlinked.
bool IsSideStreamName(const std::string& name) {
  return StartsWith(name, "audio/") || StartsWith(name, "text/") || StartsWith(name, "subpicture/") ||
         StartsWith(name, "subtitle/") || StartsWith(name, "closedcaption/") ||
         StartsWith(name, "application/x-subtitle") ||
         name == "application/x-ssa" || name == "application/x-ass";
}

// Whether `pad` (or, for decodebin's ghost pads, its target) belongs to the bin's typefinder:
// its caps are then the type of the whole file.
bool IsTypefindPad(GstPad* pad) {
  GstPad* real = GST_IS_GHOST_PAD(pad) ? gst_ghost_pad_get_target(GST_GHOST_PAD(pad)) : GST_PAD(gst_object_ref(pad));
  if (real == nullptr) return false;
  bool top = false;
  if (GstElement* parent = gst_pad_get_parent_element(real)) {
    GstElementFactory* f = gst_element_get_factory(parent);
    top = f != nullptr && std::strcmp(GST_OBJECT_NAME(f), "typefind") == 0;
    gst_object_unref(parent);
  }
  gst_object_unref(real);
  return top;
}

std::string RefusalMessage(const std::string& name, const std::string& factories, bool top) {
  const std::string tail = factories.empty() ? "" : " (refused: " + factories + ")";
  if (const char* what = ReferenceWhat(name)) {
    return std::string("the file is ") + what + " (" + name + "): file sources only read local media" + tail;
  }
  if (top && !IsVideoName(name)) {
    return "the file is not video (" + name + "): file sources only decode video, through an allow-list of demuxers, "
           "parsers and decoders" + tail;
  }
  return "the file needs " + factories + " for " + name + ", which is not on the file-source allow-list (file sources "
         "only read local media, through an allow-list of demuxers, parsers and video decoders)";
}

// "autoplug-continue": side streams (audio, text, subtitles) are exposed undecoded, except when
// they are the whole file, which then goes on to be refused by the allow-list.
gboolean OnAutoplugContinue(GstElement*, GstPad* pad, GstCaps* caps, gpointer) {
  const std::string name = CapsName(caps);
  if (ReferenceWhat(name) != nullptr) return TRUE;
  if (IsSideStreamName(name) && !IsTypefindPad(pad)) return FALSE;
  return TRUE;
}

// "autoplug-select": the allow-list first, then the decoder preference. cpuOnly skips hardware
// decoders; requireHardware skips software video decoders (so a stream without a hardware
// decoder fails with "missing plugin").
gint OnAutoplugSelect(GstElement*, GstPad*, GstCaps* caps, GstElementFactory* factory, gpointer data) {
  auto* st = static_cast<PolicyState*>(data);
  if (st->local_only && !FileAllowListAdmits(factory)) {
    const std::string name = CapsName(caps);
    const std::string f = GST_OBJECT_NAME(factory);
    std::lock_guard<std::mutex> lock(st->mu);
    auto it = st->refused.begin();
    while (it != st->refused.end() && it->first != name) ++it;
    if (it == st->refused.end()) st->refused.emplace_back(name, f);
    else if ((", " + it->second + ",").find(", " + f + ",") == std::string::npos) it->second += ", " + f;
    return kAutoplugSkip;
  }
  if (st->pref == DecodePref::kCpuOnly && IsHardware(factory)) return kAutoplugSkip;
  if (st->pref == DecodePref::kRequireHardware && IsVideoDecoder(factory) && !IsHardware(factory)) return kAutoplugSkip;
  return kAutoplugTry;
}

// "unknown-type": a stream nothing could be plugged for. When it is the file itself or a video
// stream, and the allow-list is why (or the file is a reference type), post the typed refusal;
// decodebin's own "missing plugin" error follows it on the bus, and the first error wins.
void OnUnknownType(GstElement* bin, GstPad* pad, GstCaps* caps, gpointer data) {
  auto* st = static_cast<PolicyState*>(data);
  const std::string name = CapsName(caps);
  if (name.empty()) return;  // decodebin reports "could not determine type"
  const bool top = IsTypefindPad(pad);
  if (!top && !IsVideoName(name)) return;  // a side stream nv does not decode anyway
  std::string factories;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    if (st->reported) return;
    for (const auto& r : st->refused) {
      if (r.first == name) factories = r.second;
    }
    const bool not_video_file = top && !IsVideoName(name);
    if (factories.empty() && ReferenceWhat(name) == nullptr && !not_video_file) return;  // genuinely missing
    st->reported = true;
  }
  const std::string message = RefusalMessage(name, factories, top);
  GError* err = g_error_new_literal(FilePolicyErrorQuark(), kFilePolicyRefused, message.c_str());
  gst_element_post_message(bin, gst_message_new_error(GST_OBJECT(bin), err, "refused by nv's file-source allow-list"));
  g_error_free(err);
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
// "autoplug-sort": preferHardware moves hardware factories first (stable).
GValueArray* OnAutoplugSort(GstElement*, GstPad*, GstCaps*, GValueArray* factories, gpointer) {
  GValueArray* out = g_value_array_new(factories->n_values);
  for (int pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < factories->n_values; i++) {
      GValue* v = g_value_array_get_nth(factories, i);
      auto* f = GST_ELEMENT_FACTORY(g_value_get_object(v));
      if ((pass == 0) == IsHardware(f)) g_value_array_append(out, v);
    }
  }
  return out;
}
G_GNUC_END_IGNORE_DEPRECATIONS

}  // namespace

GQuark FilePolicyErrorQuark() { return g_quark_from_static_string("nv-file-policy-error-quark"); }

bool FileAllowListAdmits(GstElementFactory* factory) {
  if (factory == nullptr) return false;
  const char* name = GST_OBJECT_NAME(factory);
  for (const char* allowed : kAllowedFactories) {
    if (std::strcmp(name, allowed) == 0) return true;
  }
  return IsVideoDecoder(factory);
}

bool AttachDecodePolicy(GstElement* bin, DecodePref pref, bool local_only) {
  if (g_signal_lookup("autoplug-select", G_OBJECT_TYPE(bin)) == 0) return false;
  if (g_object_get_data(G_OBJECT(bin), kStateKey) != nullptr) return true;
  auto* st = new PolicyState();
  st->pref = pref;
  st->local_only = local_only;
  g_object_set_data_full(G_OBJECT(bin), kStateKey, st, [](gpointer p) { delete static_cast<PolicyState*>(p); });
  if (local_only || pref == DecodePref::kCpuOnly || pref == DecodePref::kRequireHardware) {
    g_signal_connect(bin, "autoplug-select", G_CALLBACK(&OnAutoplugSelect), st);
  }
  if (pref == DecodePref::kPreferHardware) g_signal_connect(bin, "autoplug-sort", G_CALLBACK(&OnAutoplugSort), nullptr);
  if (local_only) {
    g_signal_connect(bin, "autoplug-continue", G_CALLBACK(&OnAutoplugContinue), st);
    g_signal_connect(bin, "unknown-type", G_CALLBACK(&OnUnknownType), st);
  }
  return true;
}

}  // namespace nv
