#include "native_jpeg.h"

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "native_frame.h"

namespace nv {

std::atomic<int64_t> JpegState::live{0};

namespace {

const char kWho[] = "jpeg encoder";
constexpr auto kPullTimeout = std::chrono::seconds(5);
constexpr GstClockTime kPullSlice = 50 * GST_MSECOND;
constexpr double kMaxTimeNs = 9007199254740991.0;  // PTS in ns (2^53 - 1: exact as a JS number)

std::string TakeError(GstMessage* msg) {
  GError* err = nullptr;
  gchar* dbg = nullptr;
  gst_message_parse_error(msg, &err, &dbg);
  std::string s = err ? err->message : "unknown GStreamer error";
  if (err) g_error_free(err);
  g_free(dbg);
  return s;
}

bool HasFactory(const char* name) {
  GstElementFactory* f = gst_element_factory_find(name);
  if (f) gst_object_unref(f);
  return f != nullptr;
}

// [posting thread] Records an error the moment it is posted, so the worker's pull loop sees it
// within one slice. Every message is dropped: nothing else reads this bus.
GstBusSyncReply OnBusSync(GstBus*, GstMessage* msg, gpointer user) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) static_cast<JpegState*>(user)->RecordError(TakeError(msg));
  return GST_BUS_DROP;
}

// Limited → full range for 8-bit Y'CbCr: Y' [16, 235] → [0, 255], C [16, 240] → [0, 255] around 128.
struct RangeLut {
  uint8_t y[256], c[256];
  RangeLut() {
    for (int v = 0; v < 256; v++) {
      const double yy = std::round((v - 16) * 255.0 / 219.0), cc = std::round((v - 128) * 255.0 / 224.0 + 128);
      y[v] = static_cast<uint8_t>(yy < 0 ? 0 : yy > 255 ? 255 : yy);
      c[v] = static_cast<uint8_t>(cc < 0 ? 0 : cc > 255 ? 255 : cc);
    }
  }
};
const RangeLut kRange;

// [streaming thread] The scaled I420 (limited range) on its way to jpegenc: expanded in place to
// full range (see "Pipeline" in the header). A buffer shared with someone else (a decoded frame
// videoconvertscale passed through) is copied first by make_writable/map, never written.
GstPadProbeReturn ExpandRange(GstPad*, GstPadProbeInfo* info, gpointer user) {
  const GstVideoInfo* out = static_cast<const GstVideoInfo*>(user);
  GstBuffer* buf = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  GstVideoFrame f;
  if (!gst_video_frame_map(&f, out, buf, GST_MAP_READWRITE)) return GST_PAD_PROBE_OK;  // jpegenc maps it again and fails loudly
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&f); p++) {
    const uint8_t* lut = p == 0 ? kRange.y : kRange.c;
    uint8_t* row = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&f, p));
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f, p);
    const int w = GST_VIDEO_FRAME_COMP_WIDTH(&f, p), h = GST_VIDEO_FRAME_COMP_HEIGHT(&f, p);
    for (int y = 0; y < h; y++, row += stride) {
      for (int x = 0; x < w; x++) row[x] = lut[row[x]];
    }
  }
  gst_video_frame_unmap(&f);
  return GST_PAD_PROBE_OK;
}

// Pushes one buffer and pulls its JPEG, on a libuv thread.
class EncodeWorker : public Napi::AsyncWorker {
 public:
  EncodeWorker(Napi::Env env, std::shared_ptr<JpegState> st, GstBuffer* buf)
      : Napi::AsyncWorker(env), st_(std::move(st)), buf_(buf), pts_(GST_BUFFER_PTS(buf)), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~EncodeWorker() override {
    if (buf_) gst_buffer_unref(buf_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (Failed()) return;
    GstBuffer* b = buf_;
    buf_ = nullptr;
    const GstFlowReturn r = gst_app_src_push_buffer(GST_APP_SRC(st_->appsrc), b);  // takes ownership; never blocks (block=FALSE)
    if (r != GST_FLOW_OK) {
      if (!Failed()) SetError(std::string("jpeg encoder refused the frame: ") + gst_flow_get_name(r));
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + kPullTimeout;
    for (;;) {
      if (Failed()) return;
      const auto sliceStart = std::chrono::steady_clock::now();
      GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(st_->appsink), kPullSlice);
      if (s == nullptr) {
        if (Failed()) return;
        // A sink that is not started answers at once: do not spin until the deadline.
        if (std::chrono::steady_clock::now() - sliceStart < std::chrono::milliseconds(1)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (gst_app_sink_is_eos(GST_APP_SINK(st_->appsink))) { SetError("jpeg encoder: the pipeline ended"); return; }
        if (std::chrono::steady_clock::now() >= deadline) { SetError("jpeg encoder produced no image within 5 s"); return; }
        continue;
      }
      GstBuffer* out = gst_sample_get_buffer(s);
      // An image of an earlier frame (its encode gave up after 5 s) is not this frame's.
      if (out != nullptr && GST_BUFFER_PTS_IS_VALID(out) && GST_BUFFER_PTS(out) < pts_) {
        gst_sample_unref(s);
        continue;
      }
      GstMapInfo map;
      if (out == nullptr || !gst_buffer_map(out, &map, GST_MAP_READ)) {
        gst_sample_unref(s);
        SetError("jpeg encoder: could not read the encoded image");
        return;
      }
      bytes_.assign(map.data, map.data + map.size);
      keyframe_ = !GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DELTA_UNIT);
      gst_buffer_unmap(out, &map);
      gst_sample_unref(s);
      return;
    }
  }
  void OnOK() override {
    st_->busy = false;
    Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(Env(), bytes_.data(), bytes_.size());
    if (!st_->h264) {
      deferred_.Resolve(data);
      return;
    }
    Napi::Object r = Napi::Object::New(Env());
    r.Set("data", data);
    r.Set("keyframe", Napi::Boolean::New(Env(), keyframe_));
    deferred_.Resolve(r);
  }
  void OnError(const Napi::Error& e) override {
    st_->busy = false;
    deferred_.Reject(e.Value());
  }

 private:
  // [worker] Whether the encoder was closed or reported an error (and if so, SetError with it).
  bool Failed() {
    if (st_->closed.load()) { SetError("jpeg encoder is closed"); return true; }
    std::string e = st_->Error();
    if (!e.empty()) { SetError(e); return true; }
    return false;
  }

  std::shared_ptr<JpegState> st_;
  GstBuffer* buf_;
  const GstClockTime pts_;
  std::vector<uint8_t> bytes_;
  bool keyframe_ = false;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

JpegState::~JpegState() {
  // The pipeline is stopped (streaming threads joined) before the sync handler goes, so the
  // handler never runs on a freed state.
  if (pipeline) {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    if (bus) gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(pipeline);
  }
  if (bus) gst_object_unref(bus);
  live--;
}

void JpegState::RecordError(const std::string& e) {
  std::lock_guard<std::mutex> lock(mu);
  if (error.empty()) error = e;
}

std::string JpegState::Error() {
  std::lock_guard<std::mutex> lock(mu);
  return error;
}

Napi::Function NativeJpegEncoder::Init(Napi::Env env) {
  return DefineClass(env, "NativeJpegEncoder", {
    InstanceMethod<&NativeJpegEncoder::Encode>("encode"),
    InstanceMethod<&NativeJpegEncoder::Close>("close"),
    InstanceMethod<&NativeJpegEncoder::Busy>("busy"),
  });
}

NativeJpegEncoder::NativeJpegEncoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeJpegEncoder>(info) {
  Napi::Env env = info.Env();
  // Every option is checked before anything is built (JpegEncoder.open validates them too).
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "jpeg encoder: an options object is required");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value formatV = o.Get("format");
  if (!formatV.IsString()) throw Napi::TypeError::New(env, "jpeg encoder: format must be a string");
  const std::string format = formatV.As<Napi::String>().Utf8Value();
  const int width = static_cast<int>(frame_input::IntArg(env, o.Get("width"), kWho, "width", 1, frame_input::kMaxDim));
  const int height = static_cast<int>(frame_input::IntArg(env, o.Get("height"), kWho, "height", 1, frame_input::kMaxDim));
  const int out_w = static_cast<int>(frame_input::IntArg(env, o.Get("outWidth"), kWho, "outWidth", 1, frame_input::kMaxDim));
  const int out_h = static_cast<int>(frame_input::IntArg(env, o.Get("outHeight"), kWho, "outHeight", 1, frame_input::kMaxDim));
  const int quality = static_cast<int>(frame_input::IntArg(env, o.Get("quality"), kWho, "quality", 1, 100));
  Napi::Value codecV = o.Get("codec");
  if (!codecV.IsUndefined() && !codecV.IsString()) throw Napi::TypeError::New(env, "jpeg encoder: codec must be 'jpeg' or 'h264'");
  const std::string codec = codecV.IsUndefined() ? "jpeg" : codecV.As<Napi::String>().Utf8Value();
  if (codec != "jpeg" && codec != "h264") throw Napi::TypeError::New(env, "jpeg encoder: codec must be 'jpeg' or 'h264'");
  const bool h264 = codec == "h264";
  const guint bitrate = h264 ? static_cast<guint>(frame_input::IntArg(env, o.Get("bitrateKbps"), kWho, "bitrateKbps", 1, 2048000)) : 0;
  const guint keyint = h264 ? static_cast<guint>(frame_input::IntArg(env, o.Get("keyIntMax"), kWho, "keyIntMax", 1, 1000)) : 0;
  if (h264 && (out_w % 2 != 0 || out_h % 2 != 0)) throw Napi::RangeError::New(env, "jpeg encoder: h264 output sizes must be even");

  // The formats JpegEncoder maps to (pipeline.ts NV_FORMAT_TO_GST): PlanesOf is right for exactly these.
  const GstVideoFormat vf = gst_video_format_from_string(format.c_str());
  if (vf != GST_VIDEO_FORMAT_I420 && vf != GST_VIDEO_FORMAT_NV12 && vf != GST_VIDEO_FORMAT_RGB && vf != GST_VIDEO_FORMAT_BGR &&
      vf != GST_VIDEO_FORMAT_RGBA && vf != GST_VIDEO_FORMAT_BGRA && vf != GST_VIDEO_FORMAT_GRAY8) {
    throw Napi::TypeError::New(env, "jpeg encoder: unsupported pixel format " + format);
  }
  if (!gst_video_info_set_format(&vinfo_, vf, width, height)) throw Napi::RangeError::New(env, "jpeg encoder: frame size too large");
  if (!frame_input::PlanesOf(vinfo_, planes_)) throw Napi::Error::New(env, "jpeg encoder: a plane of " + format + " has no component");

  st_ = std::make_shared<JpegState>();
  try {
    GstElement* pipeline = gst_pipeline_new("nv-jpeg");
    st_->pipeline = pipeline;
    // Every element is made before any is added, so that a missing one leaks nothing.
    const bool one = HasFactory("videoconvertscale");
    // names[4] is the encoder, names[5] (h264 only) the caps filter on its output.
    const char* names[] = {"appsrc", one ? "videoconvertscale" : "videoconvert", "videoscale", "capsfilter", h264 ? "openh264enc" : "jpegenc", "capsfilter", "appsink"};
    GstElement* all[7] = {nullptr};
    std::string missing;
    for (size_t i = 0; i < 7; i++) {
      if (i == 2 && one) continue;  // videoconvertscale scales too
      if (i == 5 && !h264) continue;
      all[i] = gst_element_factory_make(names[i], nullptr);
      if (all[i] == nullptr && missing.empty()) missing = names[i];
    }
    if (!missing.empty()) {
      for (GstElement* e : all) {
        if (e) gst_object_unref(gst_object_ref_sink(e));
      }
      throw std::runtime_error(std::string("GStreamer element '") + missing + "' is not installed");
    }
    GstElement *src = all[0], *conv = all[1], *scale = all[2], *capsf = all[3], *enc = all[4], *encCaps = all[5], *sink = all[6];
    gst_bin_add_many(GST_BIN(pipeline), src, conv, capsf, enc, sink, nullptr);
    if (scale) gst_bin_add(GST_BIN(pipeline), scale);
    if (encCaps) gst_bin_add(GST_BIN(pipeline), encCaps);
    st_->h264 = h264;

    GstCaps* caps = gst_video_info_to_caps(&vinfo_);
    // block=FALSE and a bound of two frames: with one encode in flight appsrc never holds more
    // than one, so a push never waits.
    const guint64 max_bytes = static_cast<guint64>(GST_VIDEO_INFO_SIZE(&vinfo_)) * 2;
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE, "block", FALSE, "max-bytes", max_bytes, nullptr);
    gst_caps_unref(caps);
    GstCaps* outCaps = h264
        ? gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, out_w, "height", G_TYPE_INT, out_h,
                              "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr)
        : gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, out_w, "height", G_TYPE_INT, out_h,
                              "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, "colorimetry", G_TYPE_STRING, "bt601", nullptr);
    g_object_set(capsf, "caps", outCaps, nullptr);
    gst_caps_unref(outCaps);
    if (!gst_video_info_set_format(&st_->out_info, GST_VIDEO_FORMAT_I420, out_w, out_h)) throw std::runtime_error("jpeg encoder: output size too large");
    if (h264) {
      // openh264 (not x264enc): it gives each frame's access unit back at once, where GStreamer's
      // x264enc holds one frame even with tune=zerolatency (measured), which this one-in,
      // one-out loop cannot wait for. Frame skipping off: every frame pushed comes back.
      gst_util_set_object_arg(G_OBJECT(enc), "complexity", "low");
      gst_util_set_object_arg(G_OBJECT(enc), "rate-control", "bitrate");
      gst_util_set_object_arg(G_OBJECT(enc), "usage-type", "camera");
      // qp-min 24: without a floor, rate control lets frames of noisy content (a camera at night)
      // grow until openh264 fails the frame and the pipeline stops (measured at 320x240: frames
      // grew 42 -> 75 KB, then "Could not encode frame"); at 24 they stay flat.
      g_object_set(enc, "bitrate", bitrate * 1000u, "max-bitrate", bitrate * 2000u, "gop-size", keyint, "enable-frame-skip", FALSE, "multi-thread", 1u,
                   "qp-min", 24u, nullptr);
      GstCaps* h = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream", "alignment", G_TYPE_STRING, "au", nullptr);
      g_object_set(encCaps, "caps", h, nullptr);
      gst_caps_unref(h);
    } else {
      GstPad* scaled = gst_element_get_static_pad(capsf, "src");
      gst_pad_add_probe(scaled, GST_PAD_PROBE_TYPE_BUFFER, ExpandRange, &st_->out_info, nullptr);
      gst_object_unref(scaled);
      g_object_set(enc, "quality", quality, nullptr);
    }
    // No clock (sync FALSE), no preroll wait (async FALSE), no retained last sample; a bounded
    // queue that never drops (at most one image is ever in it).
    g_object_set(sink, "sync", FALSE, "async", FALSE, "emit-signals", FALSE, "max-buffers", 4u, "drop", FALSE, "enable-last-sample", FALSE, nullptr);
    GstElement* head = scale ? scale : conv;
    bool linked = gst_element_link(src, conv) && (!scale || gst_element_link(conv, scale)) && gst_element_link_many(head, capsf, enc, nullptr);
    linked = linked && (encCaps ? gst_element_link_many(enc, encCaps, sink, nullptr) : gst_element_link(enc, sink));
    if (!linked) throw std::runtime_error("could not link the jpeg encoder pipeline");
    st_->appsrc = src;
    st_->appsink = sink;
    st_->bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(st_->bus, OnBusSync, st_.get(), nullptr);  // removed in ~JpegState
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      const std::string e = st_->Error();
      throw std::runtime_error(e.empty() ? "jpeg encoder pipeline failed to start" : e);
    }
  } catch (const std::exception& e) {
    st_.reset();
    throw Napi::Error::New(env, e.what());
  }
}

NativeJpegEncoder::~NativeJpegEncoder() { st_.reset(); }

// encode(frame, ptsNs) where frame is a NativeFrame handle or { data: Uint8Array, offsets:
// number[], strides: number[] } in this encoder's format and size. Everything is validated
// (synchronous TypeError/RangeError) before the buffer is queued; a refusal leaves the encoder as
// it was.
Napi::Value NativeJpegEncoder::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!st_) throw Napi::Error::New(env, "jpeg encoder is closed");
  if (st_->busy) throw Napi::Error::New(env, "encoder busy");
  int64_t pts = frame_input::IntArg(env, info[1], kWho, "ptsNs", 0, kMaxTimeNs);
  GstBuffer* shared = NativeFrame::RefBuffer(env, info[0]);
  GstBuffer* buf = shared ? frame_input::WrapShared(env, kWho, vinfo_, planes_, shared) : frame_input::CopyHost(env, kWho, vinfo_, planes_, info[0]);
  if (pts <= st_->last_pts) pts = st_->last_pts + 1;  // strictly increasing (see "Bounds" in the header)
  st_->last_pts = pts;
  GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(pts);
  GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buf) = GST_CLOCK_TIME_NONE;
  auto* w = new EncodeWorker(env, st_, buf);  // the worker owns the buffer from here
  Napi::Promise p = w->Promise();
  st_->busy = true;
  w->Queue();
  return p;
}

Napi::Value NativeJpegEncoder::Close(const Napi::CallbackInfo& info) {
  if (st_) {
    st_->closed.store(true);
    // Stops appsrc and appsink: a pull in progress returns within its slice, a push is refused.
    gst_element_set_state(st_->pipeline, GST_STATE_NULL);
    st_.reset();  // an in-flight worker keeps the state (and the stopped pipeline) until it completes
  }
  return info.Env().Undefined();
}

Napi::Value NativeJpegEncoder::Busy(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), st_ != nullptr && st_->busy);
}

}  // namespace nv
