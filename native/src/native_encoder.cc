#include "native_encoder.h"

#include <cairo.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "native_frame.h"

namespace nv {
namespace {

std::string TakeError(GstMessage* msg) {
  GError* err = nullptr;
  gchar* dbg = nullptr;
  gst_message_parse_error(msg, &err, &dbg);
  std::string s = err ? err->message : "unknown GStreamer error";
  if (err) g_error_free(err);
  g_free(dbg);
  return s;
}

void OnDraw(GstElement*, cairo_t* cr, guint64 timestamp, guint64, gpointer user) {
  auto* st = static_cast<EncoderState*>(user);
  std::vector<Annotation> anns;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    auto it = st->pending.find(static_cast<int64_t>(timestamp));
    if (it != st->pending.end()) anns.swap(it->second);
    // Drop this entry and anything older (frames never reach the overlay out of order).
    st->pending.erase(st->pending.begin(), st->pending.upper_bound(static_cast<int64_t>(timestamp)));
  }
  if (anns.empty()) return;
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, st->font_px);
  for (const Annotation& a : anns) {
    cairo_set_source_rgb(cr, a.r, a.g, a.b);
    cairo_set_line_width(cr, a.width);
    cairo_rectangle(cr, a.x1, a.y1, a.x2 - a.x1, a.y2 - a.y1);
    cairo_stroke(cr);
    if (a.label.empty()) continue;
    cairo_text_extents_t ext;
    cairo_text_extents(cr, a.label.c_str(), &ext);
    const double pad = 3;
    const double h = st->font_px + 2 * pad;
    double ty = a.y1 - h;
    if (ty < 0) ty = a.y2;  // no room above: label below the box
    cairo_rectangle(cr, a.x1 - a.width / 2, ty, ext.x_advance + 2 * pad, h);
    cairo_fill(cr);
    // Black or white text, whichever contrasts with the label background.
    const double luma = 0.299 * a.r + 0.587 * a.g + 0.114 * a.b;
    const double c = luma > 0.5 ? 0.0 : 1.0;
    cairo_set_source_rgb(cr, c, c, c);
    cairo_move_to(cr, a.x1 - a.width / 2 + pad, ty + pad + st->font_px * 0.82);
    cairo_show_text(cr, a.label.c_str());
  }
}

GstElement* Make(const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (!e) throw std::runtime_error(std::string("GStreamer element '") + factory + "' is not installed");
  return e;
}

// Limits on numbers from JS. Each is checked as a double before any cast (no UB), and keeps
// every product and sum far below 2^63 (the sums are still done with checked arithmetic).
constexpr double kMaxDim = 65536;                     // width/height (@nv/frame's MAX_FRAME_DIMENSION)
constexpr double kMaxTimeNs = 9007199254740991.0;     // PTS/duration in ns (~104 days at 2^53)
constexpr double kMaxCoord = 16777216;                // annotation coordinates / line width, px

// An integer in [lo, hi]: TypeError when `v` is not a number, RangeError when it is NaN,
// infinite, fractional or out of range.
int64_t IntArg(Napi::Env env, const Napi::Value& v, const std::string& what, double lo, double hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "encoder: " + what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(d) && std::trunc(d) == d && d >= lo && d <= hi)) {
    throw Napi::RangeError::New(env, "encoder: " + what + " must be an integer in [" + std::to_string(static_cast<int64_t>(lo)) + ", " +
                                     std::to_string(static_cast<int64_t>(hi)) + "]");
  }
  return static_cast<int64_t>(d);
}

// A finite number in [lo, hi] (TypeError / RangeError as IntArg).
double NumArg(Napi::Env env, const Napi::Value& v, const std::string& what, double lo, double hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "encoder: " + what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(d) && d >= lo && d <= hi)) throw Napi::RangeError::New(env, "encoder: " + what + " is out of range");
  return d;
}

using BufferPtr = std::unique_ptr<GstBuffer, decltype(&gst_buffer_unref)>;

// [streaming thread] A buffer left appsrc's queue: wake a push waiting for room.
GstPadProbeReturn OnBufferOut(GstPad*, GstPadProbeInfo*, gpointer user) {
  auto* st = static_cast<EncoderState*>(user);
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->drained++;
  }
  st->cv.notify_all();
  return GST_PAD_PROBE_OK;
}

// [posting thread, usually a streaming thread] Records an error the moment it is posted, so a
// waiting push fails at once. The message stays on the bus (PASS) for Finish/DrainBus.
GstBusSyncReply OnBusSync(GstBus*, GstMessage* msg, gpointer user) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) static_cast<EncoderState*>(user)->RecordError(TakeError(msg));
  return GST_BUS_PASS;
}

constexpr auto kPushTimeout = std::chrono::seconds(120);

// Runs a GStreamer push on a worker thread.
class PushWorker : public Napi::AsyncWorker {
 public:
  PushWorker(Napi::Env env, std::shared_ptr<EncoderState> st, GstBuffer* buf)
      : Napi::AsyncWorker(env), st_(std::move(st)), buf_(buf), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~PushWorker() override { if (buf_) gst_buffer_unref(buf_); }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    // Wait for room in appsrc's queue, an error or the end (see "Back-pressure" in the header).
    // The level is read outside `mu` (appsrc takes its own lock); `drained` read before it
    // closes the race with a buffer leaving in between (no lost wake-up).
    const auto deadline = std::chrono::steady_clock::now() + kPushTimeout;
    for (;;) {
      st_->DrainBus();
      uint64_t seen = 0;
      {
        std::lock_guard<std::mutex> lock(st_->mu);
        if (!st_->error.empty()) { SetError(st_->error); return; }
        if (st_->finished || !st_->appsrc) { SetError("encoder is finished"); return; }
        seen = st_->drained;
      }
      if (gst_app_src_get_current_level_bytes(GST_APP_SRC(st_->appsrc)) < st_->max_bytes) break;
      std::unique_lock<std::mutex> lock(st_->mu);
      if (!st_->cv.wait_until(lock, deadline, [&] { return st_->drained != seen || !st_->error.empty() || st_->finished; })) {
        SetError("encoder did not accept the frame within 120 s");
        return;
      }
    }
    GstBuffer* b = buf_;
    buf_ = nullptr;
    const GstFlowReturn r = gst_app_src_push_buffer(GST_APP_SRC(st_->appsrc), b);  // takes ownership; never blocks (block=FALSE)
    if (r != GST_FLOW_OK) {
      st_->DrainBus();
      std::lock_guard<std::mutex> lock(st_->mu);
      SetError(st_->error.empty() ? std::string("encoder refused the frame: ") + gst_flow_get_name(r) : st_->error);
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::shared_ptr<EncoderState> st_;
  GstBuffer* buf_;
  Napi::Promise::Deferred deferred_;
};

class FinishWorker : public Napi::AsyncWorker {
 public:
  FinishWorker(Napi::Env env, std::shared_ptr<EncoderState> st)
      : Napi::AsyncWorker(env), st_(std::move(st)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    st_->DrainBus();
    std::string failed;
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      if (st_->finished) return;
      st_->finished = true;
      failed = st_->error;
    }
    st_->cv.notify_all();
    if (!failed.empty()) {
      // The pipeline already failed (its error message may have been popped by a push): no EOS
      // will come, so do not wait 120 s for one.
      gst_element_set_state(st_->pipeline, GST_STATE_NULL);
      SetError(failed);
      return;
    }
    gst_app_src_end_of_stream(GST_APP_SRC(st_->appsrc));
    // Wait (bounded) for the muxer to write its index and the sink to see EOS — in 100 ms slices,
    // so that an abort() (which flushes the bus: no EOS will come) or an error a concurrent push
    // popped from the bus ends the wait at once instead of after 120 s.
    GstMessage* msg = nullptr;
    std::string err;
    for (int slice = 0; slice < 1200 && msg == nullptr; slice++) {
      msg = gst_bus_timed_pop_filtered(st_->bus, 100 * GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      if (msg != nullptr) break;
      if (st_->aborted.load()) { err = "encoder was aborted"; break; }
      std::lock_guard<std::mutex> lock(st_->mu);
      if (!st_->error.empty()) { err = st_->error; break; }
    }
    if (!msg && err.empty()) err = "encoder did not finish within 120 s";
    else if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) err = TakeError(msg);
    if (msg) gst_message_unref(msg);
    gst_element_set_state(st_->pipeline, GST_STATE_NULL);
    std::lock_guard<std::mutex> lock(st_->mu);
    if (err.empty() && !st_->error.empty()) err = st_->error;
    if (!err.empty()) SetError(err);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::shared_ptr<EncoderState> st_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

EncoderState::~EncoderState() {
  // The sync handler goes first; the probe and draw callbacks may still run until the pipeline
  // reaches NULL (streaming threads joined), while every member is still alive.
  if (bus) gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  if (pipeline) {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
  if (bus) gst_object_unref(bus);
}

void EncoderState::RecordError(const std::string& e) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (error.empty()) error = e;
  }
  cv.notify_all();
}

void EncoderState::DrainBus() {
  if (!bus) return;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    std::string e = TakeError(m);
    gst_message_unref(m);
    RecordError(e);
  }
}

Napi::Function NativeEncoder::Init(Napi::Env env) {
  return DefineClass(env, "NativeEncoder", {
    InstanceMethod<&NativeEncoder::Push>("push"),
    InstanceMethod<&NativeEncoder::Finish>("finish"),
    InstanceMethod<&NativeEncoder::Abort>("abort"),
  });
}

// new NativeEncoder({ path, width, height, format, fpsN, fpsD, bitrateKbps, speedPreset, fontPx, keyIntMax,
//                     fragmentMs })
NativeEncoder::NativeEncoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEncoder>(info) {
  Napi::Env env = info.Env();
  // Every option is checked before anything is built (VideoWriter.open validates them too).
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "encoder: an options object is required");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value pathV = o.Get("path"), formatV = o.Get("format");
  if (!pathV.IsString() || !formatV.IsString()) throw Napi::TypeError::New(env, "encoder: path and format must be strings");
  const std::string path = pathV.As<Napi::String>().Utf8Value();
  // filesink's location is a C string: an embedded NUL would silently write somewhere else.
  if (path.empty() || path.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "encoder: path must be a non-empty string without NUL");
  const std::string format = formatV.As<Napi::String>().Utf8Value();
  const int width = static_cast<int>(IntArg(env, o.Get("width"), "width", 1, kMaxDim));
  const int height = static_cast<int>(IntArg(env, o.Get("height"), "height", 1, kMaxDim));
  const int fps_n = static_cast<int>(IntArg(env, o.Get("fpsN"), "fpsN", 1, 2147483647));
  const int fps_d = static_cast<int>(IntArg(env, o.Get("fpsD"), "fpsD", 1, 2147483647));
  const guint bitrate = static_cast<guint>(IntArg(env, o.Get("bitrateKbps"), "bitrateKbps", 1, 2048000));  // x264enc's range
  const int preset = static_cast<int>(IntArg(env, o.Get("speedPreset"), "speedPreset", 0, 10));
  // Both chosen by VideoWriter (writer.ts): keyframe spacing in frames, and the mp4mux fragment
  // length in ms (0 = one moov at the end, the classic layout).
  const guint key_int_max = static_cast<guint>(IntArg(env, o.Get("keyIntMax"), "keyIntMax", 0, 2147483647));
  const guint fragment_ms = static_cast<guint>(IntArg(env, o.Get("fragmentMs"), "fragmentMs", 0, 3600000));
  const double font_px = NumArg(env, o.Get("fontPx"), "fontPx", 1, 4096);

  // Only the formats VideoWriter maps to (pipeline.ts NV_FORMAT_TO_GST): the plane geometry
  // below (one component's width × pixel stride per plane) is right for exactly these.
  const GstVideoFormat vf = gst_video_format_from_string(format.c_str());
  if (vf != GST_VIDEO_FORMAT_I420 && vf != GST_VIDEO_FORMAT_NV12 && vf != GST_VIDEO_FORMAT_RGB && vf != GST_VIDEO_FORMAT_BGR &&
      vf != GST_VIDEO_FORMAT_RGBA && vf != GST_VIDEO_FORMAT_GRAY8) {
    throw Napi::TypeError::New(env, "encoder: unsupported pixel format " + format);
  }
  if (!gst_video_info_set_format(&vinfo_, vf, width, height)) throw Napi::RangeError::New(env, "encoder: frame size too large");
  GST_VIDEO_INFO_FPS_N(&vinfo_) = fps_n;
  GST_VIDEO_INFO_FPS_D(&vinfo_) = fps_d;
  if (!frame_input::PlanesOf(vinfo_, planes_)) throw Napi::Error::New(env, "encoder: a plane of " + format + " has no component");
  st_ = std::make_shared<EncoderState>();
  st_->font_px = font_px;

  try {
    GstElement* pipeline = gst_pipeline_new("nv-encoder");
    st_->pipeline = pipeline;
    GstElement* src = Make("appsrc", "src");
    GstElement* conv1 = Make("videoconvert", nullptr);
    GstElement* capsf = Make("capsfilter", nullptr);
    GstElement* overlay = Make("cairooverlay", nullptr);
    GstElement* conv2 = Make("videoconvert", nullptr);
    GstElement* enc = Make("x264enc", nullptr);
    GstElement* parse = Make("h264parse", nullptr);
    GstElement* mux = Make("mp4mux", nullptr);
    GstElement* sink = Make("filesink", nullptr);
    gst_bin_add_many(GST_BIN(pipeline), src, conv1, capsf, overlay, conv2, enc, parse, mux, sink, nullptr);

    GstCaps* caps = gst_video_info_to_caps(&vinfo_);
    // block=FALSE: the push worker bounds the queue itself (see "Back-pressure" in the header);
    // max-bytes is that bound (appsrc only emits enough-data past it).
    st_->max_bytes = static_cast<guint64>(GST_VIDEO_INFO_SIZE(&vinfo_)) * 4;
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE, "block", FALSE, "max-bytes", st_->max_bytes, nullptr);
    gst_caps_unref(caps);
    GstPad* srcpad = gst_element_get_static_pad(src, "src");
    gst_pad_add_probe(srcpad, GST_PAD_PROBE_TYPE_BUFFER, OnBufferOut, st_.get(), nullptr);
    gst_object_unref(srcpad);
    GstCaps* bgrx = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGRx", nullptr);
    g_object_set(capsf, "caps", bgrx, nullptr);
    gst_caps_unref(bgrx);
    g_object_set(enc, "bitrate", bitrate, "speed-preset", preset, "key-int-max", key_int_max, nullptr);
    g_object_set(sink, "location", path.c_str(), nullptr);  // a property: no launch syntax is ever parsed
    if (fragment_ms > 0) {
      // Fragmented MP4 (moov first, then moof+mdat per fragment; mp4mux also cuts a fragment at
      // every keyframe). Each fragment goes to the kernel as soon as the muxer emits it (no
      // 64 KiB stdio buffer in filesink), so a killed process leaves every finished fragment
      // on disk. On a clean EOS mp4mux (streamable=false, the default) still seeks back to
      // write the duration (mehd) and appends the random-access index (mfra).
      // No B-frames: fragmented mp4mux writes no edit list, so B-frame reordering would shift
      // every PTS by the reorder delay and qtdemux would cut the last frames at the duration
      // (measured: 298 of 300 frames at veryfast). Costs ~2% size at the same quality.
      g_object_set(mux, "fragment-duration", fragment_ms, nullptr);
      g_object_set(enc, "bframes", 0u, nullptr);
      gst_util_set_object_arg(G_OBJECT(sink), "buffer-mode", "unbuffered");
    }
    g_signal_connect(overlay, "draw", G_CALLBACK(OnDraw), st_.get());
    if (!gst_element_link_many(src, conv1, capsf, overlay, conv2, enc, parse, mux, sink, nullptr)) {
      throw std::runtime_error("could not link the encoder pipeline");
    }
    st_->appsrc = src;
    st_->bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(st_->bus, OnBusSync, st_.get(), nullptr);  // removed in ~EncoderState
    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      st_->DrainBus();
      throw std::runtime_error(st_->error.empty() ? "encoder pipeline failed to start" : st_->error);
    }
  } catch (const std::exception& e) {
    st_.reset();
    throw Napi::Error::New(env, e.what());
  }
}

NativeEncoder::~NativeEncoder() { st_.reset(); }

GstBuffer* NativeEncoder::WrapShared(Napi::Env env, GstBuffer* shared) const {
  return frame_input::WrapShared(env, "encoder", vinfo_, planes_, shared);
}

GstBuffer* NativeEncoder::CopyHostFrame(Napi::Env env, const Napi::Value& fv) const {
  return frame_input::CopyHost(env, "encoder", vinfo_, planes_, fv);
}

// push(frame, ptsNs, durationNs, annotations?) where frame is either a NativeFrame handle or
// { data: Uint8Array, offsets: number[], strides: number[] } in this encoder's format/size.
// Everything is validated (synchronous TypeError/RangeError) before a buffer exists or an
// annotation is registered, so a refused push leaves the encoder as it was.
Napi::Value NativeEncoder::Push(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!st_) throw Napi::Error::New(env, "encoder is closed");
  const int64_t pts = IntArg(env, info[1], "ptsNs", 0, kMaxTimeNs);
  const int64_t dur = IntArg(env, info[2], "durationNs", 0, kMaxTimeNs);

  std::vector<Annotation> anns;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsArray()) throw Napi::TypeError::New(env, "encoder: annotations must be an array");
    Napi::Array arr = info[3].As<Napi::Array>();
    anns.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value av = arr.Get(i);
      if (!av.IsObject()) throw Napi::TypeError::New(env, "encoder: annotations[" + std::to_string(i) + "] must be an object");
      Napi::Object a = av.As<Napi::Object>();
      const std::string k = "annotations[" + std::to_string(i) + "].";
      Annotation x{};
      x.x1 = NumArg(env, a.Get("x1"), k + "x1", -kMaxCoord, kMaxCoord);
      x.y1 = NumArg(env, a.Get("y1"), k + "y1", -kMaxCoord, kMaxCoord);
      x.x2 = NumArg(env, a.Get("x2"), k + "x2", -kMaxCoord, kMaxCoord);
      x.y2 = NumArg(env, a.Get("y2"), k + "y2", -kMaxCoord, kMaxCoord);
      x.r = NumArg(env, a.Get("r"), k + "r", 0, 1);
      x.g = NumArg(env, a.Get("g"), k + "g", 0, 1);
      x.b = NumArg(env, a.Get("b"), k + "b", 0, 1);
      x.width = NumArg(env, a.Get("lineWidth"), k + "lineWidth", 0, kMaxCoord);
      Napi::Value l = a.Get("label");
      if (l.IsString()) x.label = l.As<Napi::String>().Utf8Value();
      else if (!l.IsUndefined()) throw Napi::TypeError::New(env, "encoder: " + k + "label must be a string");
      anns.push_back(std::move(x));
    }
  }

  GstBuffer* shared = NativeFrame::RefBuffer(env, info[0]);
  BufferPtr buf(shared ? WrapShared(env, shared) : CopyHostFrame(env, info[0]), gst_buffer_unref);
  GST_BUFFER_PTS(buf.get()) = static_cast<GstClockTime>(pts);
  GST_BUFFER_DTS(buf.get()) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buf.get()) = dur > 0 ? static_cast<GstClockTime>(dur) : GST_CLOCK_TIME_NONE;

  if (!anns.empty()) {
    std::lock_guard<std::mutex> lock(st_->mu);
    st_->pending[pts] = std::move(anns);
  }
  auto* w = new PushWorker(env, st_, buf.release());  // the worker owns the buffer from here
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value NativeEncoder::Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!st_) throw Napi::Error::New(env, "encoder is closed");
  auto* w = new FinishWorker(env, st_);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value NativeEncoder::Abort(const Napi::CallbackInfo& info) {
  if (st_) {
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      st_->finished = true;
    }
    st_->aborted.store(true);  // a finish waiting for EOS gives up within 100 ms
    st_->cv.notify_all();  // a push waiting for room fails now ("encoder is finished")
    gst_element_set_state(st_->pipeline, GST_STATE_NULL);
  }
  return info.Env().Undefined();
}

}  // namespace nv
