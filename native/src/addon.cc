// nv_native: the addon's entry point. Initialises GStreamer once per process and exports a
// small surface: NativeSource, NativeEncoder, NativeJpegEncoder, gstVersion(), counters(); test hooks (__test*) only when
// built with NV_TEST_HOOKS.
#include "letterbox.h"
#include <gst/gst.h>
#include <napi.h>

#include <mutex>
#include <string>

#include "native_encoder.h"
#include "native_frame.h"
#include "native_jpeg.h"
#include "native_source.h"

#if !GST_CHECK_VERSION(1, 16, 0)
#error "nv requires GStreamer >= 1.16"
#endif

namespace nv {
Napi::Value Discover(const Napi::CallbackInfo& info);  // native_discover.cc
namespace {

std::once_flag g_gst_once;
bool g_gst_ok = false;
std::string g_gst_error;

Napi::Value GstVersion(const Napi::CallbackInfo& info) {
  guint major, minor, micro, nano;
  gst_version(&major, &minor, &micro, &nano);
  return Napi::String::New(info.Env(), std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro));
}

Napi::Value CountersJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("liveFrames", Napi::Number::New(env, static_cast<double>(Counters().live.load())));
  o.Set("leakedFrames", Napi::Number::New(env, static_cast<double>(Counters().leaked.load())));
  o.Set("createdFrames", Napi::Number::New(env, static_cast<double>(Counters().created.load())));
  o.Set("liveSources", Napi::Number::New(env, static_cast<double>(NativeSource::live_sources.load())));
  o.Set("abandonedSources", Napi::Number::New(env, static_cast<double>(NativeSource::abandoned_sources.load())));
  o.Set("liveJpegEncoders", Napi::Number::New(env, static_cast<double>(NativeJpegEncoder::LiveCount())));
  return o;
}

Napi::Value HasElement(const Napi::CallbackInfo& info) {
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  GstElementFactory* f = gst_element_factory_find(name.c_str());
  if (f) gst_object_unref(f);
  return Napi::Boolean::New(info.Env(), f != nullptr);
}

#ifdef NV_TEST_HOOKS
// __testArrayBufferAddress(ab): the address of an ArrayBuffer's backing store, as a BigInt.
Napi::Value TestArrayBufferAddress(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ab.Data())));
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::call_once(g_gst_once, [] {
    GError* err = nullptr;
    g_gst_ok = gst_init_check(nullptr, nullptr, &err);
    if (!g_gst_ok) g_gst_error = err ? err->message : "gst_init_check failed";
    if (err) g_error_free(err);
  });
  if (!g_gst_ok) throw Napi::Error::New(env, "GStreamer could not be initialised: " + g_gst_error);
  NativeFrame::Init(env);
  exports.Set("NativeSource", NativeSource::Init(env));
  exports.Set("NativeEncoder", NativeEncoder::Init(env));
  exports.Set("NativeJpegEncoder", NativeJpegEncoder::Init(env));
  exports.Set("gstVersion", Napi::Function::New(env, GstVersion));
  exports.Set("counters", Napi::Function::New(env, CountersJs));
  exports.Set("hasElement", Napi::Function::New(env, HasElement));
  exports.Set("discover", Napi::Function::New(env, Discover));
  exports.Set("letterbox", Napi::Function::New(env, Letterbox));
#ifdef NV_TEST_HOOKS
  exports.Set("__testArrayBufferAddress", Napi::Function::New(env, TestArrayBufferAddress));
  exports.Set("__testFrameSlots", Napi::Function::New(env, NativeFrame::TestSlotStats));
#endif
  return exports;
}

}  // namespace
}  // namespace nv

static Napi::Object InitNvNative(Napi::Env env, Napi::Object exports) { return nv::Init(env, exports); }

NODE_API_MODULE(nv_native, InitNvNative)
