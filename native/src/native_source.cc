#include "native_source.h"

#include <limits>
#include <system_error>

#include "decode_policy.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace nv {

std::atomic<int64_t> NativeSource::live_sources{0};
std::atomic<int64_t> NativeSource::abandoned_sources{0};

namespace {

std::string ToStr(const gchar* s) { return s ? std::string(s) : std::string(); }

// Seeks of a resumed session: frame-accurate, flushing what was prerolled.
constexpr GstSeekFlags kResumeSeekFlags = static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE);

// Whether a dynamically added pad carries video (raw, encoded, or RTP media=video); unknown caps count as video.
bool IsVideoPad(GstPad* pad) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
  if (caps == nullptr) return true;
  bool video = true;
  if (gst_caps_get_size(caps) > 0) {
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    const std::string name = gst_structure_get_name(s);
    // Only video goes on: a file's decodebin also exposes audio, text and subtitle streams
    // undecoded (decode_policy.h).
    video = name.rfind("video/", 0) == 0 || name.rfind("image/", 0) == 0;
    if (name == "application/x-rtp") {
      const gchar* media = gst_structure_get_string(s, "media");
      video = media != nullptr && std::strcmp(media, "video") == 0;
    }
  }
  gst_caps_unref(caps);
  return video;
}

bool HasSometimesSrc(GstElement* e) {
  const GList* l = gst_element_class_get_pad_template_list(GST_ELEMENT_GET_CLASS(e));
  for (; l != nullptr; l = l->next) {
    auto* t = static_cast<GstPadTemplate*>(l->data);
    if (GST_PAD_TEMPLATE_DIRECTION(t) == GST_PAD_SRC && GST_PAD_TEMPLATE_PRESENCE(t) == GST_PAD_SOMETIMES) return true;
  }
  return false;
}

// An integer option from JS, checked as a double before any cast.
int IntOption(Napi::Env env, const Napi::Value& v, const char* name, int lo, int hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("NativeSource: ") + name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(d) && std::trunc(d) == d && d >= lo && d <= hi)) {
    throw Napi::RangeError::New(env, std::string("NativeSource: ") + name + " must be an integer in [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "]");
  }
  return static_cast<int>(d);
}

// options.output = { format: 'native' | RGB | BGR | RGBA | BGRA | I420 | NV12 | GRAY8, width?, height?, threads? }
OutputRequest ParseOutput(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "NativeSource: output must be an object");
  Napi::Object o = v.As<Napi::Object>();
  OutputRequest req;
  const std::string format = o.Get("format").IsString() ? o.Get("format").As<Napi::String>().Utf8Value() : "native";
  if (format != "native") {
    const GstVideoFormat f = gst_video_format_from_string(format.c_str());
    if (!IsNvFormat(f)) throw Napi::RangeError::New(env, "NativeSource: output.format must be native, RGB, BGR, RGBA, BGRA, I420, NV12 or GRAY8");
    req.native = false;
    req.format = f;
  }
  const bool has_w = !o.Get("width").IsUndefined(), has_h = !o.Get("height").IsUndefined();
  if (has_w != has_h) throw Napi::TypeError::New(env, "NativeSource: output.width and output.height must be given together");
  if (has_w) {
    req.width = IntOption(env, o.Get("width"), "output.width", 1, 16384);
    req.height = IntOption(env, o.Get("height"), "output.height", 1, 16384);
  }
  if (!o.Get("threads").IsUndefined()) {
    // 0: one per core, as GStreamer's n-threads=0. Capped at kMaxConvertThreads.
    int t = IntOption(env, o.Get("threads"), "output.threads", 0, 64);
    if (t == 0) t = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    req.threads = std::min(t, kMaxConvertThreads);
  }
  return req;
}

// An element name from JS: [A-Za-z0-9_-]{1,64}.
bool ValidElementName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

Napi::Function NativeSource::Init(Napi::Env env) {
  return DefineClass(env, "NativeSource", {
    InstanceMethod<&NativeSource::Start>("start"),
    InstanceMethod<&NativeSource::Pause>("pause"),
    InstanceMethod<&NativeSource::Resume>("resume"),
    InstanceMethod<&NativeSource::Stop>("stop"),
    InstanceMethod<&NativeSource::Dispose>("dispose"),
    InstanceMethod<&NativeSource::Pull>("pull"),
    InstanceMethod<&NativeSource::PollEvents>("pollEvents"),
    InstanceMethod<&NativeSource::Stats>("stats"),
#ifdef NV_TEST_HOOKS
    StaticMethod<&NativeSource::TestConvert>("__testConvert"),
    StaticMethod<&NativeSource::TestConvertBuffers>("__testConvertBuffers"),
#endif
  });
}

// A pipeline that cannot be built, typed by cause for JS (`error.code`, mapped to nv's errors in
// packages/media/src/source.ts): ElementMissing (a plugin is not installed), ParseFailed (a
// custom fragment is not valid launch syntax), UnknownProperty, InvalidCaps, LinkFailed.
static Napi::Error BuildError(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

NativeSource::NativeSource(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSource>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "NativeSource: options object required");
  Napi::Object opts = info[0].As<Napi::Object>();
  if (!opts.Get("elements").IsArray()) throw Napi::TypeError::New(env, "NativeSource: options.elements must be an array");
  if (!opts.Get("onWake").IsFunction()) throw Napi::TypeError::New(env, "NativeSource: options.onWake must be a function");
  Napi::Array elements = opts.Get("elements").As<Napi::Array>();

  Napi::Object queue = opts.Get("queue").IsObject() ? opts.Get("queue").As<Napi::Object>() : Napi::Object::New(env);
  if (queue.Get("depth").IsNumber()) {
    const int64_t d = queue.Get("depth").As<Napi::Number>().Int64Value();
    if (d < 1 || d > 1024) throw Napi::RangeError::New(env, "NativeSource: queue.depth must be in [1, 1024]");
    depth_ = static_cast<size_t>(d);
  }
  const std::string policy = queue.Get("policy").IsString() ? queue.Get("policy").As<Napi::String>().Utf8Value() : "dropOldest";
  if (policy == "dropOldest") policy_ = Policy::kDropOldest;
  else if (policy == "dropNewest") policy_ = Policy::kDropNewest;
  else if (policy == "block") policy_ = Policy::kBlock;
  else throw Napi::RangeError::New(env, "NativeSource: queue.policy must be dropOldest, dropNewest or block");
  loop_ = opts.Get("loop").ToBoolean().Value();
  if (opts.Has("stopTimeoutMs") && !opts.Get("stopTimeoutMs").IsUndefined()) {
    if (!opts.Get("stopTimeoutMs").IsNumber()) throw Napi::TypeError::New(env, "NativeSource: stopTimeoutMs must be a number");
    const double t = opts.Get("stopTimeoutMs").As<Napi::Number>().DoubleValue();
    if (!(t >= 1 && t <= 600000)) throw Napi::RangeError::New(env, "NativeSource: stopTimeoutMs must be in [1, 600000]");
    stop_timeout_ms_ = static_cast<int>(t);
  }
  if (opts.Get("resume").IsObject()) {
    Napi::Object resume = opts.Get("resume").As<Napi::Object>();
    if (!resume.Get("afterTs").IsNumber()) {
      throw Napi::TypeError::New(env, "NativeSource: resume.afterTs must be a number");
    }
    const double after = resume.Get("afterTs").As<Napi::Number>().DoubleValue();
    if (!(after >= 0) || after > 9.2e18) {
      throw Napi::RangeError::New(env, "NativeSource: resume.afterTs must be a timestamp >= 0 (ns)");
    }
    if (loop_) throw Napi::RangeError::New(env, "NativeSource: resume is not supported with loop");
    resume_after_ = static_cast<int64_t>(after);
    resume_seek_ = resume.Get("seek").ToBoolean().Value();
#ifdef NV_TEST_HOOKS
    // Test hook: shifts the resume seek target, to make a demuxer land after the frame sought.
    const char* bias = std::getenv("NV_TEST_RESUME_SEEK_BIAS_NS");
    if (bias != nullptr) resume_seek_bias_ = std::strtoll(bias, nullptr, 10);
#endif
  }
  if (opts.Has("output") && !opts.Get("output").IsUndefined()) {
    // Blocks kept for reuse: the queue's frames, the one in conversion and one being released.
    converter_ = std::make_unique<Converter>(ParseOutput(env, opts.Get("output")), depth_ + 2);
  }
  bool sync = false;
  if (opts.Get("appsink").IsObject()) sync = opts.Get("appsink").As<Napi::Object>().Get("sync").ToBoolean().Value();

  pipeline_ = gst_pipeline_new(nullptr);
  gst_object_ref_sink(pipeline_);
  std::vector<GstElement*> chain;
  try {
    for (uint32_t i = 0; i < elements.Length(); i++) {
      if (!elements.Get(i).IsObject()) throw Napi::TypeError::New(env, "NativeSource: elements[" + std::to_string(i) + "] must be an object");
      Napi::Object spec = elements.Get(i).As<Napi::Object>();
      GstElement* el = nullptr;
      if (spec.Get("launch").IsString()) {
        // The explicit `custom` escape hatch: a trusted fragment parsed by GStreamer.
        GError* err = nullptr;
        const std::string launch = spec.Get("launch").As<Napi::String>().Utf8Value();
        el = gst_parse_bin_from_description(launch.c_str(), TRUE, &err);
        if (el == nullptr || err != nullptr) {
          const std::string msg = err ? err->message : "unknown error";
          const char* code = "ParseFailed";
          if (err != nullptr && err->domain == GST_PARSE_ERROR) {
            if (err->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT) code = "ElementMissing";
            else if (err->code == GST_PARSE_ERROR_NO_SUCH_PROPERTY) code = "UnknownProperty";
            else if (err->code == GST_PARSE_ERROR_LINK) code = "LinkFailed";
          }
          if (err) g_error_free(err);
          if (el) gst_object_unref(el);
          throw BuildError(env, code, "custom pipeline fragment could not be parsed: " + msg);
        }
      } else {
        const std::string factory = spec.Get("factory").As<Napi::String>().Utf8Value();
        std::string name;
        if (spec.Get("name").IsString()) {
          name = spec.Get("name").As<Napi::String>().Utf8Value();
          if (!ValidElementName(name)) throw Napi::RangeError::New(env, "element name must match [A-Za-z0-9_-]{1,64}");
        }
        el = gst_element_factory_make(factory.c_str(), name.empty() ? nullptr : name.c_str());
        if (el == nullptr) throw BuildError(env, "ElementMissing", "GStreamer element '" + factory + "' is not available (plugin missing)");
        if (spec.Get("props").IsObject()) {
          Napi::Object props = spec.Get("props").As<Napi::Object>();
          Napi::Array keys = props.GetPropertyNames();
          for (uint32_t k = 0; k < keys.Length(); k++) {
            const std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
            const std::string value = props.Get(key).ToString().Utf8Value();
            if (g_object_class_find_property(G_OBJECT_GET_CLASS(el), key.c_str()) == nullptr) {
              gst_object_unref(el);
              throw BuildError(env, "UnknownProperty", "element '" + factory + "' has no property '" + key + "'");
            }
            if (key == "caps") {
              GstCaps* caps = gst_caps_from_string(value.c_str());
              if (caps == nullptr) { gst_object_unref(el); throw BuildError(env, "InvalidCaps", "invalid caps for '" + factory + "'"); }
              g_object_set(el, "caps", caps, nullptr);
              gst_caps_unref(caps);
            } else {
              // A literal property value (never parsed as pipeline syntax).
              gst_util_set_object_arg(G_OBJECT(el), key.c_str(), value.c_str());
            }
          }
        }
      }
      const bool local_only = spec.Get("localOnly").ToBoolean().Value();
      if (spec.Get("decodePreference").IsString() || local_only) {
        const std::string pref = spec.Get("decodePreference").IsString() ? spec.Get("decodePreference").As<Napi::String>().Utf8Value() : "auto";
        DecodePref p = DecodePref::kAuto;
        if (pref == "cpuOnly") p = DecodePref::kCpuOnly;
        else if (pref == "preferHardware") p = DecodePref::kPreferHardware;
        else if (pref == "requireHardware") p = DecodePref::kRequireHardware;
        else if (pref != "auto") { gst_object_unref(el); throw Napi::RangeError::New(env, "decodePreference must be auto, cpuOnly, preferHardware or requireHardware"); }
        // A file's decodebin reads only local media (allow-list, see decode_policy.h).
        if (!AttachDecodePolicy(el, p, local_only)) {
          gst_object_unref(el);
          throw Napi::Error::New(env, local_only ? "localOnly needs a decodebin element" : "decodePreference needs a decodebin element");
        }
      }
      gst_bin_add(GST_BIN(pipeline_), el);
      chain.push_back(el);
      GstElementFactory* made_by = gst_element_get_factory(el);
      if (made_by != nullptr && std::strcmp(GST_OBJECT_NAME(made_by), "decodebin") == 0) GuardDecodebinErrors(el);
    }
    appsink_ = gst_element_factory_make("appsink", "nvsink");
    if (appsink_ == nullptr) throw BuildError(env, "ElementMissing", "GStreamer element 'appsink' is not available (plugin missing)");
    g_object_set(appsink_, "sync", sync ? TRUE : FALSE, "max-buffers", 1, "drop", FALSE, "emit-signals", FALSE,
                 "enable-last-sample", FALSE, nullptr);
    GstAppSinkCallbacks cb{};
    cb.new_sample = &NativeSource::OnNewSample;
    if (resume_seek_) cb.new_preroll = &NativeSource::OnNewPreroll;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink_), &cb, this, nullptr);
    if (resume_seek_) {
      GstPad* sinkpad = gst_element_get_static_pad(appsink_, "sink");
      gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_EVENT_FLUSH, &NativeSource::OnSinkFlush, this, nullptr);
      gst_object_unref(sinkpad);
    }
    gst_bin_add(GST_BIN(pipeline_), appsink_);
    chain.push_back(appsink_);
    for (size_t i = 0; i + 1 < chain.size(); i++) {
      if (gst_element_link(chain[i], chain[i + 1])) continue;
      if (HasSometimesSrc(chain[i]) || GST_IS_BIN(chain[i])) {
        g_signal_connect(chain[i], "pad-added", G_CALLBACK(&NativeSource::OnPadAdded), chain[i + 1]);
        continue;
      }
      throw BuildError(env, "LinkFailed", std::string("could not link ") + GST_ELEMENT_NAME(chain[i]) + " to " + GST_ELEMENT_NAME(chain[i + 1]));
    }
  } catch (...) {
    for (DecodebinHook* h : hooks_) h->self.store(nullptr);
    gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    appsink_ = nullptr;
    throw;
  }

  {
    // Sees errors as they reach the pipeline bus, so that a held error decodebin did pass on
    // is not raised twice (see HeldError). PASS: the bus thread still pops every message.
    GstBus* bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, &NativeSource::OnPipelineBusMessage, this, nullptr);
    gst_object_unref(bus);
  }

  wake_ = std::make_shared<WakeState>();
  tsfn_ = WakeFunction::New(env, opts.Get("onWake").As<Napi::Function>(), "nv-source-wake", 0, 1, new WakeRef(wake_),
                            [](Napi::Env, void*, WakeRef* state) {
                              (*state)->closed.store(true);
                              delete state;
                            });
  tsfn_live_ = true;
  tsfn_.Unref(env);  // only a started source keeps the event loop alive
  live_sources++;
}

NativeSource::~NativeSource() {
  if (abandoned_) {
    // Only reachable at environment teardown (a worker terminated, the process exiting): Node
    // finalizes every wrap whatever its refcount, and has already freed the TSFN. The stuck
    // pipeline and whatever it holds stay leaked; GStreamer's callbacks were detached from this
    // object when it was abandoned (DetachCallbacks). Known limit: a streaming thread that is
    // inside one of our callbacks right now (it was stuck there) still holds `this`. The
    // Converter is leaked with the pipeline: a stuck streaming thread may be converting with it.
    (void)converter_.release();
    live_sources--;
    return;
  }
  // A source JS did not stop (the GC path) waits for its state change without a bound: this path
  // cannot pin itself, so it may not abandon.
  stop_timeout_ms_ = std::numeric_limits<int>::max();
  StopInternal();
  if (tsfn_live_) {
    // At an environment teardown the TSFN may be finalized already: nothing left to release.
    if (!(wake_ && wake_->closed.load())) tsfn_.Release();
    tsfn_live_ = false;
  }
  for (DecodebinHook* h : hooks_) h->self.store(nullptr);  // the hooks may outlive us with the bins
  if (pipeline_ != nullptr) {
    GstBus* bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(bus);
    gst_object_unref(pipeline_);
  }
  DropHeldErrors();
  if (last_caps_ != nullptr) gst_caps_unref(last_caps_);
  live_sources--;
}

GstFlowReturn NativeSource::OnNewSample(GstAppSink* sink, gpointer user_data) {
  auto* self = static_cast<NativeSource*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (sample == nullptr) return GST_FLOW_FLUSHING;
  self->Enqueue(sample);
  std::lock_guard<std::mutex> lock(self->mu_);
  return self->stopping_ ? GST_FLOW_FLUSHING : GST_FLOW_OK;
}

GstFlowReturn NativeSource::OnNewPreroll(GstAppSink* sink, gpointer user_data) {
  auto* self = static_cast<NativeSource*>(user_data);
  if (self->first_pts_ >= 0) return GST_FLOW_OK;  // only the session's very first frame matters
  GstSample* sample = gst_app_sink_pull_preroll(sink);  // transfer full; available at once here
  if (sample == nullptr) return GST_FLOW_OK;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  if (buf != nullptr && GST_BUFFER_PTS_IS_VALID(buf)) {
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    self->first_pts_ = static_cast<int64_t>(pts);  // the base of raw ts, exactly as a fresh session's
    const GstSegment* seg = gst_sample_get_segment(sample);
    const guint64 st = seg != nullptr ? gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pts) : GST_CLOCK_TIME_NONE;
    self->resume_first_stream_.store(static_cast<int64_t>(GST_CLOCK_TIME_IS_VALID(st) ? st : pts));
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

GstPadProbeReturn NativeSource::OnSinkFlush(GstPad* /*pad*/, GstPadProbeInfo* info, gpointer user_data) {
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (ev != nullptr && GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP) static_cast<NativeSource*>(user_data)->flushes_++;
  return GST_PAD_PROBE_OK;
}

void NativeSource::SeekForResume() {
  int expected = kResumeAwaitPreroll;
  if (!resume_phase_.compare_exchange_strong(expected, kResumeDone)) return;
  Event ev{"resume", {}, {}};
  ev.num["afterTs"] = static_cast<double>(resume_after_);
  gboolean seekable = FALSE;
  GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
  if (gst_element_query(pipeline_, q)) gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
  gst_query_unref(q);
  const int64_t first = resume_first_stream_.load();
  bool seeked = false;
  // No lock is held across a seek: a flushing seek may wait for the streaming thread (here it
  // cannot, as nothing has been rendered yet), and Stop() must never wait for a seek.
  if (seekable && first >= 0) {
    const int64_t target = first + resume_after_ + resume_seek_bias_;
    resume_seeked_.store(true);
    seeked = gst_element_seek(pipeline_, 1.0, GST_FORMAT_TIME, kResumeSeekFlags, GST_SEEK_TYPE_SET,
                              static_cast<guint64>(target), GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
    if (!seeked) resume_seeked_.store(false);
    ev.num["target"] = static_cast<double>(target);
  }
  // Not seekable, no timestamps, or refused: play from the start; Enqueue drops the frames up to afterTs.
  ev.str["mode"] = seeked ? "seek" : !seekable ? "notSeekable" : first < 0 ? "noTimestamps" : "seekRefused";
  {
    std::lock_guard<std::mutex> lock(play_mu_);  // never PLAYING after Stop(), nor while paused
    if (!stopped_ && want_playing_) gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  }
  PushEvent(std::move(ev));
}

void NativeSource::SeekBackForResume() {
  if (stopped_.load() || seek_back_tried_.exchange(true)) return;
  // Unlocked: this flushing seek waits for the streaming thread, which under `block` may wait
  // for JS to pull a frame; JS must stay free to pull, pause or stop meanwhile.
  const int64_t first = resume_first_stream_.load();
  bool ok = false;
  if (first >= 0) {
    GstEvent* seek = gst_event_new_seek(1.0, GST_FORMAT_TIME, kResumeSeekFlags, GST_SEEK_TYPE_SET,
                                        static_cast<guint64>(first), GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
    // An EOS of the overshooting segment may already wait on the bus: only this seek's counts.
    seek_back_seqnum_.store(gst_event_get_seqnum(seek));
    ok = gst_element_send_event(pipeline_, seek);  // takes the event
    if (!ok) seek_back_seqnum_.store(GST_SEQNUM_INVALID);
  }
  // Failed (the pipeline cannot seek): stop discarding and go on from here, reported as such.
  if (!ok) flushes_++;
  Event ev{"resume", {{"mode", ok ? "seekBack" : "seekBackFailed"}}, {}};
  ev.num["afterTs"] = static_cast<double>(resume_after_);
  PushEvent(std::move(ev));
}

void NativeSource::Enqueue(GstSample* sample) {
  GstCaps* caps = gst_sample_get_caps(sample);
  if (caps == nullptr) { gst_sample_unref(sample); return; }
  if (last_caps_ == nullptr || !gst_caps_is_equal(caps, last_caps_)) {
    if (!gst_video_info_from_caps(&vinfo_, caps)) {
      gst_sample_unref(sample);
      PushEvent(Event{"error", {{"domain", "nv"}, {"message", "caps are not raw video"}}, {}});
      return;
    }
    if (last_caps_ != nullptr) gst_caps_unref(last_caps_);
    last_caps_ = gst_caps_ref(caps);
    ReportDecoder();  // the decoder exists by now, so `decoder` precedes `caps`
    // `caps` describes the frames JS gets: after the Converter when there is one.
    Event ev{"caps", {}, {}};
    ConfigureOutput(&ev);
    const GstVideoInfo* shown = converter_ && convert_ok_ ? &converter_->out_info() : &vinfo_;
    ev.str["format"] = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(shown));
    ev.num["width"] = GST_VIDEO_INFO_WIDTH(shown);
    ev.num["height"] = GST_VIDEO_INFO_HEIGHT(shown);
    ev.num["fpsN"] = GST_VIDEO_INFO_FPS_N(shown);
    ev.num["fpsD"] = GST_VIDEO_INFO_FPS_D(shown);
    PushEvent(std::move(ev));
  }
  GstBuffer* buf = gst_sample_get_buffer(sample);
  const int64_t pts = (buf && GST_BUFFER_PTS_IS_VALID(buf)) ? static_cast<int64_t>(GST_BUFFER_PTS(buf)) : -1;
  const int64_t dur = (buf && GST_BUFFER_DURATION_IS_VALID(buf)) ? static_cast<int64_t>(GST_BUFFER_DURATION(buf)) : -1;
  if (loop_restart_.exchange(false)) {
    loop_offset_ = last_end_ts_;
    first_pts_ = -1;
  }
  if (first_pts_ < 0 && pts >= 0) first_pts_ = pts;
  int64_t ts = pts >= 0 ? (pts - first_pts_) + loop_offset_ : last_end_ts_;
  if (ts < last_end_ts_ - (dur > 0 ? dur : 0) && ts < 0) ts = last_end_ts_;
  if (resume_after_ >= 0) {
    bool skip = false;
    if (discard_until_flush_ >= 0) {
      // Still the overshooting segment until the seek back's FLUSH_STOP.
      if (flushes_.load() == static_cast<uint64_t>(discard_until_flush_)) skip = true;
      else discard_until_flush_ = -1;
    }
    if (!skip && !resume_checked_) {
      resume_checked_ = true;
      resume_frame_seen_.store(true);
      if (ts > resume_after_) {
        // The first frame must be the frame sought (or, without a seek, the first of the file),
        // both at or before afterTs: a later one means frames may be missing. Seek back.
        discard_until_flush_ = static_cast<int64_t>(flushes_.load());
        skip = true;
        GstBus* bus = gst_element_get_bus(pipeline_);
        GstStructure* what = gst_structure_new_empty("nv-resume-seek-back");
        gst_bus_post(bus, gst_message_new_application(GST_OBJECT(pipeline_), what));
        gst_object_unref(bus);
      }
    }
    if (skip || ts <= resume_after_) {
      last_end_ts_ = ts + (dur > 0 ? dur : 0);
      gst_sample_unref(sample);
      std::lock_guard<std::mutex> lock(mu_);
      resume_skipped_++;
      return;
    }
  }
  std::shared_ptr<FrameItem> item;
  if (converter_ && !convert_ok_) {  // no conversion path (reported once, at the caps)
    gst_sample_unref(sample);
    return;
  }
  if (converter_ && !converter_->passthrough()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) { gst_sample_unref(sample); return; }  // not worth converting
    }
    GstBuffer* in = gst_sample_get_buffer(sample);
    if (in != nullptr) gst_buffer_ref(in);
    gst_sample_unref(sample);
    if (in == nullptr) return;
    std::string err;
    GstBuffer* out = converter_->Convert(in, &err);  // fork-join on the conversion pool; unrefs `in`
    if (out == nullptr) {
      PushEvent(Event{"error", {{"domain", "nv"}, {"message", "frame conversion failed: " + err}}, {}});
      return;
    }
    item = FrameItem::CreateFromBuffer(out, converter_->out_info());
    std::lock_guard<std::mutex> lock(mu_);
    converted_++;
  } else {
    item = FrameItem::Create(sample, vinfo_);
  }
  if (!item) {
    PushEvent(Event{"error", {{"domain", "nv"}, {"message", "could not map video frame"}}, {}});
    return;
  }
  item->seq = seq_++;
  item->ts_ns = ts;
  item->duration_ns = dur;
  item->wall_us = g_get_real_time();
  last_end_ts_ = ts + (dur > 0 ? dur : 0);

  std::shared_ptr<FrameItem> evicted;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Stopping: the frame is freed here, not left to the destructor (which counts a GC leak).
    if (stopping_) { lock.unlock(); item->Free(false); return; }
    if (queue_.size() >= depth_) {
      if (policy_ == Policy::kDropOldest) {
        evicted = std::move(queue_.front());
        queue_.pop_front();
        dropped_++;
      } else if (policy_ == Policy::kDropNewest) {
        dropped_++;
        lock.unlock();
        item->Free(false);
        return;
      } else {
        space_cv_.wait(lock, [this] { return stopping_ || queue_.size() < depth_; });
        if (stopping_) { lock.unlock(); item->Free(false); return; }
      }
    }
    queue_.push_back(std::move(item));
    pushed_++;
    if (queue_.size() > max_depth_seen_) max_depth_seen_ = queue_.size();
  }
  if (evicted) evicted->Free(false);
  Wake();
}

void NativeSource::ConfigureOutput(Event* caps_event) {
  const std::string carried = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vinfo_));
  std::string err;
  if (converter_) convert_ok_ = converter_->Configure(vinfo_, &err);
  // The decoder's own format: what GStreamer's converter receives (pipeline.ts names it nvconvert).
  std::string decoded;
  GstElement* conv = gst_bin_get_by_name(GST_BIN(pipeline_), "nvconvert");
  if (conv != nullptr) {
    GstPad* pad = gst_element_get_static_pad(conv, "sink");
    GstCaps* c = pad != nullptr ? gst_pad_get_current_caps(pad) : nullptr;
    GstVideoInfo di;
    if (c != nullptr && gst_video_info_from_caps(&di, c)) decoded = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&di));
    if (c != nullptr) gst_caps_unref(c);
    if (pad != nullptr) gst_object_unref(pad);
    gst_object_unref(conv);
  }
  if (decoded.empty()) decoded = carried;
  const bool by_gst = decoded != carried;
  const bool by_yuv = converter_ && convert_ok_ && !converter_->passthrough();
  const char* mode = by_gst && by_yuv ? "gstreamer+libyuv" : by_gst ? "gstreamer" : by_yuv ? "libyuv" : "none";
  {
    std::lock_guard<std::mutex> lock(mu_);
    conversion_ = mode;
    decoded_format_ = decoded;
    carried_format_ = carried;
    conversion_plan_ = converter_ ? (convert_ok_ ? converter_->describe() : err) : "";
  }
  caps_event->str["decodedFormat"] = decoded;
  caps_event->str["conversion"] = mode;
  if (converter_ && !convert_ok_) PushEvent(Event{"error", {{"domain", "nv"}, {"message", err}}, {}});
}

void NativeSource::PushEvent(Event ev) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (events_.size() >= kMaxEvents) {
      events_dropped_++;
      return;
    }
    events_.push_back(std::move(ev));
  }
  Wake();
}

void NativeSource::Wake() {
  // JS releases the TSFN only after the streaming and bus threads are gone (StopInternal joins
  // them first; an abandoned source keeps its TSFN); an environment teardown finalizes it under
  // running threads, which `closed` reports.
  if (!tsfn_live_.load() || !wake_ || wake_->closed.load()) return;
  if (wake_->pending.exchange(true)) return;  // coalesced: at most one wake-up queued
  if (tsfn_.NonBlockingCall() != napi_ok) wake_->pending.store(false);
}

void NativeSource::CallWake(Napi::Env env, Napi::Function fn, WakeRef* state, void* /*data*/) {
  // A null env: the TSFN is being torn down and drains its queue after its finalizer ran, so
  // `state` may already be freed — touch nothing.
  if (env == nullptr || fn == nullptr) return;
  if (state != nullptr && *state) (*state)->pending.store(false);
  // Raw call: while an environment (e.g. a terminating worker) cannot run JS, the call fails;
  // the C++ wrapper would then try to build an Error object, which also fails and aborts.
  napi_value result;
  napi_value undefined;
  if (napi_get_undefined(env, &undefined) != napi_ok) return;
  if (napi_call_function(env, undefined, fn, 0, nullptr, &result) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);  // a throwing onWake is a bug in the JS layer: report it as uncaught
  }
}

void NativeSource::OnPadAdded(GstElement* element, GstPad* pad, gpointer next_element) {
  auto* next = static_cast<GstElement*>(next_element);
  if (!IsVideoPad(pad)) return;
  GstPad* sinkpad = gst_element_get_static_pad(next, "sink");
  if (sinkpad == nullptr) return;
  if (!gst_pad_is_linked(sinkpad)) gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

void NativeSource::ReportDecoder() {
  if (decoder_reported_.load() || pipeline_ == nullptr) return;
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(pipeline_));
  GValue item = G_VALUE_INIT;
  bool done = false;
  Event ev{"decoder", {}, {}};
  while (!done) {
    switch (gst_iterator_next(it, &item)) {
      case GST_ITERATOR_OK: {
        auto* el = GST_ELEMENT(g_value_get_object(&item));
        GstElementFactory* f = gst_element_get_factory(el);
        if (f != nullptr) {
          const gchar* klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
          if (klass && std::strstr(klass, "Decoder") && std::strstr(klass, "Video")) {
            ev.str["factory"] = GST_OBJECT_NAME(f);
            ev.str["klass"] = klass;
            ev.num["hardware"] = std::strstr(klass, "Hardware") ? 1 : 0;
            done = true;
          }
        }
        g_value_reset(&item);
        break;
      }
      case GST_ITERATOR_RESYNC: gst_iterator_resync(it); break;
      default: done = true; break;
    }
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  // Live pipelines (rtspsrc) reach PAUSED before decodebin has created its decoder: only report
  // once one exists (checked again when the first caps arrive).
  if (ev.str.count("factory") == 0) return;
  if (decoder_reported_.exchange(true)) return;
  PushEvent(std::move(ev));
}

void NativeSource::HandleBusMessage(GstMessage* msg) {
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING: {
      GError* err = nullptr;
      gchar* dbg = nullptr;
      const bool is_err = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
      if (is_err) gst_message_parse_error(msg, &err, &dbg);
      else gst_message_parse_warning(msg, &err, &dbg);
      Event ev{is_err ? "error" : "warning", {}, {}};
      ev.str["domain"] = err ? g_quark_to_string(err->domain) : "";
      ev.num["code"] = err ? err->code : 0;
      ev.str["message"] = err ? ToStr(err->message) : "";
      ev.str["debug"] = ToStr(dbg);
      ev.str["source"] = GST_MESSAGE_SRC(msg) ? ToStr(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) : "";
      if (GST_MESSAGE_SRC(msg) && GST_IS_ELEMENT(GST_MESSAGE_SRC(msg))) {
        GstElementFactory* f = gst_element_get_factory(GST_ELEMENT(GST_MESSAGE_SRC(msg)));
        if (f) ev.str["factory"] = GST_OBJECT_NAME(f);
      }
      if (err) g_error_free(err);
      g_free(dbg);
      PushEvent(std::move(ev));
      break;
    }
    case GST_MESSAGE_EOS:
      if (seek_back_seqnum_.load() != GST_SEQNUM_INVALID && gst_message_get_seqnum(msg) != seek_back_seqnum_.load()) {
        break;  // the overshooting segment's end (see SeekBackForResume)
      }
      if (resume_seeked_.load() && !resume_frame_seen_.load() && seek_back_seqnum_.load() == GST_SEQNUM_INVALID) {
        // A resume seek always finds at least the frame sought: an end without any frame means
        // the seek overshot (possibly past the end) and frames may be missing.
        SeekBackForResume();
        if (seek_back_seqnum_.load() != GST_SEQNUM_INVALID) break;  // this EOS was the overshooting segment's
      }
      if (loop_) {
        loop_restart_.store(true);
        if (!gst_element_seek_simple(pipeline_, GST_FORMAT_TIME, static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT), 0)) {
          PushEvent(Event{"eos", {}, {}});
        } else {
          PushEvent(Event{"loop", {}, {}});
        }
      } else {
        PushEvent(Event{"eos", {}, {}});
      }
      break;
    case GST_MESSAGE_ASYNC_DONE:
      if (GST_MESSAGE_SRC(msg) == GST_OBJECT(pipeline_) && resume_phase_.load() == kResumeAwaitPreroll) SeekForResume();
      break;
    case GST_MESSAGE_APPLICATION: {
      const GstStructure* s = gst_message_get_structure(msg);
      if (s != nullptr && gst_structure_has_name(s, "nv-resume-seek-back")) SeekBackForResume();
      break;
    }
    case GST_MESSAGE_STATE_CHANGED:
      if (GST_MESSAGE_SRC(msg) == GST_OBJECT(pipeline_)) {
        GstState old_state, new_state, pending;
        gst_message_parse_state_changed(msg, &old_state, &new_state, &pending);
        PushEvent(Event{"state", {{"from", gst_element_state_get_name(old_state)}, {"to", gst_element_state_get_name(new_state)}}, {}});
        if (new_state == GST_STATE_PAUSED || new_state == GST_STATE_PLAYING) ReportDecoder();
      }
      break;
    case GST_MESSAGE_QOS: {
      guint64 processed = 0, dropped = 0;
      GstFormat fmt;
      gst_message_parse_qos_stats(msg, &fmt, &processed, &dropped);
      Event ev{"qos", {}, {}};
      ev.num["processed"] = static_cast<double>(processed);
      ev.num["dropped"] = static_cast<double>(dropped);
      PushEvent(std::move(ev));
      break;
    }
    default:
      break;
  }
}

void NativeSource::BusLoop() {
  GstBus* bus = gst_element_get_bus(pipeline_);
  while (bus_run_.load()) {
    GstMessage* msg = gst_bus_timed_pop(bus, 50 * GST_MSECOND);
    if (msg != nullptr) {
      HandleBusMessage(msg);
      gst_message_unref(msg);
    }
    RaiseSwallowedErrors();
  }
  gst_object_unref(bus);
  bus_exited_.store(true);
}

void NativeSource::GuardDecodebinErrors(GstElement* decodebin) {
  // A bin hands its children's messages to its class's handle_message from a sync handler on
  // its child bus (that is all GstBin's own handler does). Ours does the same, noting first
  // the errors decodebin may filter. GstBin sets its handler without a destroy notify, so
  // clearing it first and installing ours is the public way to take its place.
  GstBus* child_bus = GST_BIN(decodebin)->child_bus;
  if (child_bus == nullptr) return;
  auto* hook = new DecodebinHook{{this}, GST_BIN(decodebin)};
  hooks_.push_back(hook);
  gst_bus_set_sync_handler(child_bus, nullptr, nullptr, nullptr);
  gst_bus_set_sync_handler(child_bus, &NativeSource::OnDecodebinChildMessage, hook,
                           [](gpointer data) { delete static_cast<DecodebinHook*>(data); });
}

GstBusSyncReply NativeSource::OnDecodebinChildMessage(GstBus* /*bus*/, GstMessage* msg, gpointer user_data) {
  auto* hook = static_cast<DecodebinHook*>(user_data);
  NativeSource* self = hook->self.load();
  GstMessage* held = nullptr;
  if (self != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR && GST_MESSAGE_SRC(msg) != nullptr &&
      GST_IS_ELEMENT(GST_MESSAGE_SRC(msg))) {
    auto* src = GST_ELEMENT(GST_MESSAGE_SRC(msg));
    GstObject* parent = gst_object_get_parent(GST_OBJECT(src));
    // decodebin locks the state of an element for exactly as long as it is on trial.
    if (parent == GST_OBJECT(hook->bin) && gst_element_is_locked_state(src)) {
      held = gst_message_ref(msg);
      std::lock_guard<std::mutex> lock(self->held_mu_);
      self->held_.push_back(HeldError{held, GST_ELEMENT(gst_object_ref(src)), GST_ELEMENT(hook->bin)});
    }
    if (parent != nullptr) gst_object_unref(parent);
  }
  GstBinClass* klass = GST_BIN_GET_CLASS(hook->bin);
  if (klass->handle_message != nullptr) klass->handle_message(hook->bin, msg);  // takes msg
  else gst_message_unref(msg);
  if (held != nullptr) {
    std::lock_guard<std::mutex> lock(self->held_mu_);
    for (auto it = self->held_.begin(); it != self->held_.end(); ++it) {
      if (it->msg != held) continue;
      if (it->forwarded) {  // decodebin passed it on: the bus thread reports it as usual
        gst_message_unref(it->msg);
        gst_object_unref(it->element);
        self->held_.erase(it);
      } else {
        it->handled = true;
      }
      break;
    }
  }
  return GST_BUS_DROP;
}

GstBusSyncReply NativeSource::OnPipelineBusMessage(GstBus* /*bus*/, GstMessage* msg, gpointer user_data) {
  if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ERROR) return GST_BUS_PASS;
  auto* self = static_cast<NativeSource*>(user_data);
  std::lock_guard<std::mutex> lock(self->held_mu_);
  for (auto& h : self->held_) {
    if (h.msg == msg) h.forwarded = true;
  }
  return GST_BUS_PASS;
}

void NativeSource::RaiseSwallowedErrors() {
  std::vector<GstMessage*> raise;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    for (auto it = held_.begin(); it != held_.end();) {
      if (!it->handled) { ++it; continue; }
      GstObject* parent = gst_object_get_parent(GST_OBJECT(it->element));
      const bool kept = parent == GST_OBJECT(it->bin);
      if (parent != nullptr) gst_object_unref(parent);
      if (kept && gst_element_is_locked_state(it->element)) { ++it; continue; }  // still on trial
      // Kept and unlocked: it passed its trial, so decodebin dropped its error. Removed: it
      // failed its trial and decodebin consumed the error while trying something else.
      if (kept) raise.push_back(it->msg);
      else gst_message_unref(it->msg);
      gst_object_unref(it->element);
      it = held_.erase(it);
    }
  }
  for (GstMessage* m : raise) {
    HandleBusMessage(m);
    gst_message_unref(m);
  }
}

void NativeSource::DropHeldErrors() {
  std::vector<HeldError> held;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    held.swap(held_);
  }
  for (auto& h : held) {
    gst_message_unref(h.msg);
    gst_object_unref(h.element);
  }
}

Napi::Value NativeSource::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (stopped_) throw Napi::Error::New(env, "source was stopped; create a new one");
  if (started_) return Napi::Boolean::New(env, true);
  started_ = true;
  if (tsfn_live_ && !tsfn_ref_) { tsfn_.Ref(env); tsfn_ref_ = true; }
  bus_run_.store(true);
  // A resumed file prerolls in PAUSED first; the bus thread seeks, then plays (SeekForResume).
  if (resume_seek_) resume_phase_.store(kResumeAwaitPreroll);
  bus_thread_ = std::thread([this] { BusLoop(); });
  GstStateChangeReturn r;
  {
    std::lock_guard<std::mutex> lock(play_mu_);
    r = gst_element_set_state(pipeline_, resume_seek_ || !want_playing_ ? GST_STATE_PAUSED : GST_STATE_PLAYING);
  }
  return Napi::Boolean::New(env, r != GST_STATE_CHANGE_FAILURE);
}

Napi::Value NativeSource::Pause(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(play_mu_);
  want_playing_ = false;
  if (started_ && !stopped_) gst_element_set_state(pipeline_, GST_STATE_PAUSED);
  return info.Env().Undefined();
}

Napi::Value NativeSource::Resume(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(play_mu_);
  want_playing_ = true;
  // While a resume seek is pending the bus thread plays once it has sought.
  if (started_ && !stopped_ && resume_phase_.load() != kResumeAwaitPreroll) {
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  }
  return info.Env().Undefined();
}

void NativeSource::DetachCallbacks() {
  // No GStreamer callback may reach this object once it is abandoned (it can be freed at an
  // environment teardown). Each call takes only the element's or bus's object lock briefly.
  GstAppSinkCallbacks none{};
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink_), &none, nullptr, nullptr);
  GstBus* bus = gst_element_get_bus(pipeline_);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  for (DecodebinHook* h : hooks_) h->self.store(nullptr);
}

bool NativeSource::SetNullBounded() {
  struct Done {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
  };
  auto done = std::make_shared<Done>();
  GstElement* p = GST_ELEMENT(gst_object_ref(pipeline_));
  try {
    std::thread([p, done] {
      gst_element_set_state(p, GST_STATE_NULL);
      gst_object_unref(p);
      {
        std::lock_guard<std::mutex> lock(done->m);
        done->done = true;
      }
      done->cv.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    // No thread to be had: stop on this one, unbounded (as before the bounded stop).
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    return true;
  }
  std::unique_lock<std::mutex> lock(done->m);
  return done->cv.wait_for(lock, std::chrono::milliseconds(stop_timeout_ms_), [&] { return done->done; });
}

void NativeSource::PinIfAbandoned() {
  if (abandoned_ && !pinned_) {
    Ref();  // never freed: GStreamer threads still stuck in the pipeline may call back into us
    pinned_ = true;
  }
}

void NativeSource::StopInternal() {
  if (stopped_) return;
  {
    std::lock_guard<std::mutex> lock(play_mu_);  // the bus thread no longer seeks or plays after this
    stopped_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  space_cv_.notify_all();
  if (pipeline_ != nullptr && !SetNullBounded()) {
    // Abandoned: the state change is stuck. Stop the bus thread if it can stop (it pops with a
    // 50 ms timeout; a resume seek it is running could be stuck too), leave everything else.
    abandoned_ = true;
    abandoned_sources++;
    DetachCallbacks();
    bus_run_.store(false);
    for (int i = 0; i < 20 && !bus_exited_.load(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (bus_thread_.joinable()) {
      if (bus_exited_.load()) bus_thread_.join();
      else bus_thread_.detach();
    }
    return;
  }
  bus_run_.store(false);
  if (bus_thread_.joinable()) bus_thread_.join();
  DropHeldErrors();
  std::deque<std::shared_ptr<FrameItem>> drained;
  {
    std::lock_guard<std::mutex> lock(mu_);
    drained.swap(queue_);
  }
  for (auto& f : drained) f->Free(false);
  // The streaming threads are gone: the Converter's scratch and free buffers go now, not at GC
  // (frames still held by JS keep their own blocks, freed when released).
  converter_.reset();
}

Napi::Value NativeSource::Stop(const Napi::CallbackInfo& info) {
  StopInternal();
  PinIfAbandoned();
  if (tsfn_live_ && tsfn_ref_) { tsfn_.Unref(info.Env()); tsfn_ref_ = false; }
  return info.Env().Undefined();
}

Napi::Value NativeSource::Dispose(const Napi::CallbackInfo& info) {
  StopInternal();
  PinIfAbandoned();
  if (tsfn_live_ && abandoned_) {
    // Stuck GStreamer threads may still wake us: keep the TSFN (unreferenced, so it does not
    // keep the process alive) rather than release it under them.
    if (tsfn_ref_) { tsfn_.Unref(info.Env()); tsfn_ref_ = false; }
    return info.Env().Undefined();
  }
  if (tsfn_live_) {
    if (tsfn_ref_) { tsfn_.Unref(info.Env()); tsfn_ref_ = false; }
    tsfn_.Release();
    tsfn_live_ = false;
  }
  return info.Env().Undefined();
}

Napi::Value NativeSource::Pull(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<FrameItem> item;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty() || stopping_) return env.Null();  // nothing after a stop (an abandoned source keeps its queue)
    item = std::move(queue_.front());
    queue_.pop_front();
    pulled_++;
  }
  space_cv_.notify_one();
  return NativeFrame::Wrap(env, std::move(item));
}

Napi::Value NativeSource::PollEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::deque<Event> evs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    evs.swap(events_);
  }
  Napi::Array out = Napi::Array::New(env, evs.size());
  uint32_t i = 0;
  for (auto& e : evs) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", e.type);
    for (auto& kv : e.str) o.Set(kv.first, kv.second);
    for (auto& kv : e.num) o.Set(kv.first, Napi::Number::New(env, kv.second));
    out.Set(i++, o);
  }
  return out;
}

Napi::Value NativeSource::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  std::lock_guard<std::mutex> lock(mu_);
  o.Set("queued", Napi::Number::New(env, static_cast<double>(queue_.size())));
  o.Set("capacity", Napi::Number::New(env, static_cast<double>(depth_)));
  o.Set("maxQueued", Napi::Number::New(env, static_cast<double>(max_depth_seen_)));
  o.Set("pushed", Napi::Number::New(env, static_cast<double>(pushed_)));
  o.Set("pulled", Napi::Number::New(env, static_cast<double>(pulled_)));
  o.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_)));
  o.Set("eventsDropped", Napi::Number::New(env, static_cast<double>(events_dropped_)));
  o.Set("resumeSkipped", Napi::Number::New(env, static_cast<double>(resume_skipped_)));
  o.Set("abandoned", Napi::Boolean::New(env, abandoned_));
  o.Set("conversion", Napi::String::New(env, conversion_));
  if (!decoded_format_.empty()) o.Set("decodedFormat", Napi::String::New(env, decoded_format_));
  if (!carried_format_.empty()) o.Set("carriedFormat", Napi::String::New(env, carried_format_));
  if (!conversion_plan_.empty()) o.Set("conversionPlan", Napi::String::New(env, conversion_plan_));
  o.Set("convertedFrames", Napi::Number::New(env, static_cast<double>(converted_)));
  return o;
}

#ifdef NV_TEST_HOOKS
// __testConvert({ format, width, height, colorimetry?, par?: [n, d], planes: Uint8Array[], strides: number[] },
//   { format, width?, height?, threads? }) → { passthrough, format, width, height, plan,
//   planes: [{ data: Uint8Array (a copy), stride, rows }] }
Napi::Value NativeSource::TestConvert(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject()) throw Napi::TypeError::New(env, "__testConvert(input, output)");
  Napi::Object in = info[0].As<Napi::Object>();
  const OutputRequest req = ParseOutput(env, info[1]);
  const std::string format = in.Get("format").ToString().Utf8Value();
  const int w = IntOption(env, in.Get("width"), "input.width", 1, 16384);
  const int h = IntOption(env, in.Get("height"), "input.height", 1, 16384);
  std::string caps_str = "video/x-raw,format=" + format + ",width=" + std::to_string(w) + ",height=" + std::to_string(h) + ",framerate=0/1";
  if (in.Get("colorimetry").IsString()) caps_str += ",colorimetry=" + in.Get("colorimetry").As<Napi::String>().Utf8Value();
  if (in.Get("par").IsArray()) {
    Napi::Array par = in.Get("par").As<Napi::Array>();
    caps_str += ",pixel-aspect-ratio=" + std::to_string(IntOption(env, par.Get(0u), "par[0]", 1, 1000)) + "/" +
                std::to_string(IntOption(env, par.Get(1u), "par[1]", 1, 1000));
  }
  GstCaps* caps = gst_caps_from_string(caps_str.c_str());
  GstVideoInfo vinfo;
  const bool ok = caps != nullptr && gst_video_info_from_caps(&vinfo, caps);
  if (caps != nullptr) gst_caps_unref(caps);
  if (!ok) throw Napi::Error::New(env, "__testConvert: bad input caps " + caps_str);
  if (!in.Get("planes").IsArray() || !in.Get("strides").IsArray()) throw Napi::TypeError::New(env, "__testConvert: planes and strides arrays");
  Napi::Array planes = in.Get("planes").As<Napi::Array>(), strides = in.Get("strides").As<Napi::Array>();
  const guint n = GST_VIDEO_INFO_N_PLANES(&vinfo);
  if (planes.Length() != n || strides.Length() != n) throw Napi::RangeError::New(env, "__testConvert: wrong number of planes");
  gsize offsets[GST_VIDEO_MAX_PLANES];
  gint pstrides[GST_VIDEO_MAX_PLANES];
  size_t total = 0;
  std::vector<Napi::Uint8Array> data;
  for (guint i = 0; i < n; i++) {
    if (!planes.Get(i).IsTypedArray()) throw Napi::TypeError::New(env, "__testConvert: planes must be Uint8Arrays");
    Napi::Uint8Array a = planes.Get(i).As<Napi::Uint8Array>();
    gint comp[GST_VIDEO_MAX_COMPONENTS];
    gst_video_format_info_component(vinfo.finfo, i, comp);
    const int rows = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT(vinfo.finfo, comp[0], h);
    const int stride = IntOption(env, strides.Get(i), "input.strides[i]", 1, 1 << 20);
    if (a.ByteLength() < static_cast<size_t>(stride) * rows) throw Napi::RangeError::New(env, "__testConvert: a plane is too small");
    offsets[i] = total;
    pstrides[i] = stride;
    total += static_cast<size_t>(stride) * rows;
    data.push_back(a);
  }
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, total, nullptr);
  for (guint i = 0; i < n; i++) gst_buffer_fill(buf, offsets[i], data[i].Data(), std::min(data[i].ByteLength(), total - offsets[i]));
  gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&vinfo), w, h, n, offsets, pstrides);
  Converter conv(req, 2);
  std::string err;
  if (!conv.Configure(vinfo, &err)) {
    gst_buffer_unref(buf);
    throw Napi::Error::New(env, "__testConvert: " + err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("passthrough", Napi::Boolean::New(env, conv.passthrough()));
  out.Set("plan", Napi::String::New(env, conv.describe()));
  if (conv.passthrough()) {
    gst_buffer_unref(buf);
    return out;
  }
  GstBuffer* res = conv.Convert(buf, &err);
  if (res == nullptr) throw Napi::Error::New(env, "__testConvert: " + err);
  GstVideoInfo oi = conv.out_info();
  GstVideoFrame vf;
  if (!gst_video_frame_map(&vf, &oi, res, GST_MAP_READ)) {
    gst_buffer_unref(res);
    throw Napi::Error::New(env, "__testConvert: cannot map the result");
  }
  out.Set("format", Napi::String::New(env, gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&oi))));
  out.Set("width", Napi::Number::New(env, GST_VIDEO_INFO_WIDTH(&oi)));
  out.Set("height", Napi::Number::New(env, GST_VIDEO_INFO_HEIGHT(&oi)));
  Napi::Array op = Napi::Array::New(env, GST_VIDEO_FRAME_N_PLANES(&vf));
  for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES(&vf); i++) {
    gint comp[GST_VIDEO_MAX_COMPONENTS];
    gst_video_format_info_component(oi.finfo, i, comp);
    const int rows = GST_VIDEO_FRAME_COMP_HEIGHT(&vf, comp[0]);
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, i);
    Napi::Uint8Array copy = Napi::Uint8Array::New(env, static_cast<size_t>(stride) * rows);
    std::memcpy(copy.Data(), GST_VIDEO_FRAME_PLANE_DATA(&vf, i), static_cast<size_t>(stride) * rows);
    Napi::Object p = Napi::Object::New(env);
    p.Set("data", copy);
    p.Set("stride", Napi::Number::New(env, stride));
    p.Set("rows", Napi::Number::New(env, rows));
    op.Set(i, p);
  }
  out.Set("planes", op);
  gst_video_frame_unmap(&vf);
  gst_buffer_unref(res);
  return out;
}

Napi::Value NativeSource::TestConvertBuffers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(BufferPool::live_blocks()));
}
#endif

}  // namespace nv
