// discover(uri, timeoutMs) -> Promise<info>: what a media URI holds (GstDiscoverer), for
// `nv probe`. Runs on a libuv worker thread; the URI is passed to GStreamer as a URI, never
// parsed as launch syntax. A file:// URI is discovered under the file-source allow-list
// (decode_policy.h), exactly like a `file` source: a refusal rejects with an Error whose
// `refused` property is true.
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <napi.h>

#include <atomic>
#include <string>

#include "decode_policy.h"

namespace nv {
namespace {

// GstDiscoverer "source-setup" (on the thread that starts the discovery): the source's parent is
// the discoverer's uridecodebin, which proxies decodebin's autoplug signals; attach the
// allow-list to it before anything is autoplugged. Fails closed: without the allow-list the
// discovery is stopped with an error.
void OnSourceSetup(GstDiscoverer*, GstElement* source, gpointer attached_flag) {
  auto* attached = static_cast<std::atomic<bool>*>(attached_flag);
  GstObject* parent = gst_object_get_parent(GST_OBJECT(source));
  auto is_decodebin = [](GstObject* o) {
    return GST_IS_ELEMENT(o) && g_signal_lookup("autoplug-select", G_OBJECT_TYPE(o)) != 0;
  };
  while (parent != nullptr && !is_decodebin(parent)) {
    GstObject* up = gst_object_get_parent(parent);
    gst_object_unref(parent);
    parent = up;
  }
  if (parent != nullptr && AttachDecodePolicy(GST_ELEMENT(parent), DecodePref::kAuto, true)) {
    attached->store(true);
  } else {
    GError* err =
        g_error_new_literal(FilePolicyErrorQuark(), kFilePolicyRefused, "the file-source allow-list could not be applied");
    gst_element_post_message(source, gst_message_new_error(GST_OBJECT(source), err, nullptr));
    g_error_free(err);
  }
  if (parent != nullptr) gst_object_unref(parent);
}

struct VideoInfo {
  std::string codec;
  int width = 0, height = 0, fps_n = 0, fps_d = 1;
  unsigned bitrate = 0;
};

class DiscoverWorker : public Napi::AsyncWorker {
 public:
  DiscoverWorker(Napi::Env env, std::string uri, double timeout_ms)
      : Napi::AsyncWorker(env), uri_(std::move(uri)), timeout_ms_(timeout_ms), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    GError* err = nullptr;
    GstDiscoverer* d = gst_discoverer_new(static_cast<GstClockTime>(timeout_ms_ * GST_MSECOND), &err);
    if (!d) { SetError(err ? err->message : "discoverer could not be created"); if (err) g_error_free(err); return; }
    gchar* scheme = gst_uri_get_protocol(uri_.c_str());
    const bool local_only = scheme == nullptr || g_ascii_strcasecmp(scheme, "file") == 0;
    g_free(scheme);
    std::atomic<bool> attached{false};
    if (local_only) g_signal_connect(d, "source-setup", G_CALLBACK(&OnSourceSetup), &attached);
    GstDiscovererInfo* info = gst_discoverer_discover_uri(d, uri_.c_str(), &err);
    const GstDiscovererResult res = info ? gst_discoverer_info_get_result(info) : GST_DISCOVERER_ERROR;
    if (err != nullptr && err->domain == FilePolicyErrorQuark()) {
      refused_ = true;
      SetError(err->message);
    } else if (res != GST_DISCOVERER_OK) {
      std::string why = err ? err->message : "unknown error";
      if (res == GST_DISCOVERER_TIMEOUT) why = "timed out";
      else if (res == GST_DISCOVERER_MISSING_PLUGINS) why = "missing GStreamer plugins for this stream";
      SetError(why);
    } else if (local_only && !attached.load()) {
      refused_ = true;  // never trust a file discovered without the allow-list
      SetError("the file-source allow-list could not be applied");
    } else {
      duration_ns_ = static_cast<double>(gst_discoverer_info_get_duration(info));
      seekable_ = gst_discoverer_info_get_seekable(info);
      live_ = gst_discoverer_info_get_live(info);
      GList* vs = gst_discoverer_info_get_video_streams(info);
      if (vs) {
        auto* v = GST_DISCOVERER_VIDEO_INFO(vs->data);
        has_video_ = true;
        video_.width = static_cast<int>(gst_discoverer_video_info_get_width(v));
        video_.height = static_cast<int>(gst_discoverer_video_info_get_height(v));
        video_.fps_n = static_cast<int>(gst_discoverer_video_info_get_framerate_num(v));
        video_.fps_d = static_cast<int>(gst_discoverer_video_info_get_framerate_denom(v));
        video_.bitrate = gst_discoverer_video_info_get_bitrate(v);
        GstCaps* caps = gst_discoverer_stream_info_get_caps(GST_DISCOVERER_STREAM_INFO(v));
        if (caps) {
          gchar* desc = gst_pb_utils_get_codec_description(caps);
          video_.codec = desc ? desc : "";
          if (video_.codec.empty()) video_.codec = gst_structure_get_name(gst_caps_get_structure(caps, 0));
          g_free(desc);
          gst_caps_unref(caps);
        }
        gst_discoverer_stream_info_list_free(vs);
      }
      GList* as = gst_discoverer_info_get_audio_streams(info);
      audio_streams_ = static_cast<int>(g_list_length(as));
      if (as) gst_discoverer_stream_info_list_free(as);
    }
    if (err) g_error_free(err);
    if (info) gst_discoverer_info_unref(info);
    g_object_unref(d);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("durationNs", duration_ns_ >= 0 && duration_ns_ < 1.8e19 ? Napi::Number::New(env, duration_ns_) : env.Null());
    o.Set("seekable", seekable_);
    o.Set("live", live_);
    o.Set("audioStreams", audio_streams_);
    if (has_video_) {
      Napi::Object v = Napi::Object::New(env);
      v.Set("codec", video_.codec);
      v.Set("width", video_.width);
      v.Set("height", video_.height);
      v.Set("fpsN", video_.fps_n);
      v.Set("fpsD", video_.fps_d);
      v.Set("bitrate", video_.bitrate);
      o.Set("video", v);
    } else {
      o.Set("video", env.Null());
    }
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override {
    Napi::Object v = e.Value();
    if (refused_) v.Set("refused", true);  // typed for JS: the allow-list refused the file
    deferred_.Reject(v);
  }

 private:
  std::string uri_;
  double timeout_ms_;
  Napi::Promise::Deferred deferred_;
  double duration_ns_ = -1;
  bool seekable_ = false, live_ = false, has_video_ = false, refused_ = false;
  int audio_streams_ = 0;
  VideoInfo video_;
};

}  // namespace

Napi::Value Discover(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "discover(uri: string, timeoutMs: number)");
  auto* w = new DiscoverWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().DoubleValue());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace nv
