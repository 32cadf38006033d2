// discover(uri, timeoutMs) -> Promise<info>: what a media URI holds (GstDiscoverer), for
// `nv probe`. Runs on a libuv worker thread; the URI is passed to GStreamer as a URI, never
// parsed as launch syntax.
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <napi.h>

#include <string>

namespace nv {
namespace {

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
    GstDiscovererInfo* info = gst_discoverer_discover_uri(d, uri_.c_str(), &err);
    const GstDiscovererResult res = info ? gst_discoverer_info_get_result(info) : GST_DISCOVERER_ERROR;
    if (res != GST_DISCOVERER_OK) {
      std::string why = err ? err->message : "unknown error";
      if (res == GST_DISCOVERER_TIMEOUT) why = "timed out";
      else if (res == GST_DISCOVERER_MISSING_PLUGINS) why = "missing GStreamer plugins for this stream";
      SetError(why);
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
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string uri_;
  double timeout_ms_;
  Napi::Promise::Deferred deferred_;
  double duration_ns_ = -1;
  bool seekable_ = false, live_ = false, has_video_ = false;
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
