#include "native_frame.h"

#include <string>

namespace nv {

FrameCounters& Counters() {
  static FrameCounters c;
  return c;
}

namespace {
struct FrameClass {
  Napi::FunctionReference ctor;
};
}  // namespace

std::shared_ptr<FrameItem> FrameItem::Create(GstSample* sample, const GstVideoInfo& info) {
  GstBuffer* buf = gst_sample_get_buffer(sample);
  if (buf != nullptr) gst_buffer_ref(buf);
  gst_sample_unref(sample);
  if (buf == nullptr) return nullptr;
  return CreateFromBuffer(buf, info);
}

std::shared_ptr<FrameItem> FrameItem::CreateFromBuffer(GstBuffer* buffer, const GstVideoInfo& info) {
  std::shared_ptr<FrameItem> item(new FrameItem());
  item->buffer_ = buffer;
  GstVideoInfo vinfo = info;
  if (buffer == nullptr || !gst_video_frame_map(&item->vframe_, &vinfo, buffer, GST_MAP_READ)) {
    if (buffer != nullptr) gst_buffer_unref(buffer);
    item->buffer_ = nullptr;
    item->freed_ = true;
    return nullptr;
  }
  item->mapped_ = true;
  Counters().live++;
  Counters().created++;
  return item;
}

FrameItem::~FrameItem() {
  if (!freed_) Free(true);
}

void FrameItem::Free(bool leak) {
  if (freed_) return;
  freed_ = true;
  if (mapped_) {
    gst_video_frame_unmap(&vframe_);
    mapped_ = false;
  }
  if (buffer_ != nullptr) {
    gst_buffer_unref(buffer_);
    buffer_ = nullptr;
  }
  Counters().live--;
  if (leak) Counters().leaked++;
}

void NativeFrame::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeFrame", {
    InstanceMethod<&NativeFrame::Release>("release"),
    InstanceMethod<&NativeFrame::IsReleased>("isReleased"),
#ifdef NV_TEST_HOOKS
    InstanceMethod<&NativeFrame::TestMappedAddress>("__testMappedAddress"),
#endif
  });
  auto* data = new FrameClass();
  data->ctor = Napi::Persistent(ctor);
  // Per-environment state (worker_threads safe); deleted by node-addon-api at env teardown.
  env.SetInstanceData<FrameClass>(data);
}

NativeFrame::NativeFrame(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeFrame>(info) {}

NativeFrame::~NativeFrame() {
  // GC path: only drop our handle. If release() never ran, the FrameItem is freed (and a
  // leak counted) when the last ArrayBuffer over it is collected too.
  item_.reset();
}

static const char* FormatName(GstVideoFormat f) {
  switch (f) {
    case GST_VIDEO_FORMAT_RGB: return "RGB8";
    case GST_VIDEO_FORMAT_BGR: return "BGR8";
    case GST_VIDEO_FORMAT_RGBA: return "RGBA8";
    case GST_VIDEO_FORMAT_BGRA: return "BGRA8";
    case GST_VIDEO_FORMAT_NV12: return "NV12";
    case GST_VIDEO_FORMAT_I420: return "I420";
    case GST_VIDEO_FORMAT_GRAY8: return "GRAY8";
    default: return gst_video_format_to_string(f);
  }
}

Napi::Object NativeFrame::Wrap(Napi::Env env, std::shared_ptr<FrameItem> item) {
  FrameClass* cls = env.GetInstanceData<FrameClass>();
  Napi::Object handle = cls->ctor.New({});
  NativeFrame* self = Napi::ObjectWrap<NativeFrame>::Unwrap(handle);
  self->item_ = item;

  const GstVideoFrame& vf = item->vframe();
  const GstVideoInfo& vi = vf.info;
  Napi::Object out = Napi::Object::New(env);
  out.Set("handle", handle);
  out.Set("width", Napi::Number::New(env, GST_VIDEO_INFO_WIDTH(&vi)));
  out.Set("height", Napi::Number::New(env, GST_VIDEO_INFO_HEIGHT(&vi)));
  out.Set("format", Napi::String::New(env, FormatName(GST_VIDEO_INFO_FORMAT(&vi))));
  out.Set("seq", Napi::Number::New(env, static_cast<double>(item->seq)));
  out.Set("ts", Napi::Number::New(env, static_cast<double>(item->ts_ns)));
  out.Set("wallTs", Napi::Number::New(env, static_cast<double>(item->wall_us)));
  out.Set("duration", Napi::Number::New(env, static_cast<double>(item->duration_ns)));
  const guint n = GST_VIDEO_FRAME_N_PLANES(&vf);
  Napi::Array planes = Napi::Array::New(env, n);
  for (guint i = 0; i < n; i++) {
    const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, i);
    // Rows in plane i: height of its first component (chroma planes are subsampled).
    gint comp[GST_VIDEO_MAX_COMPONENTS];
    gst_video_format_info_component(vi.finfo, i, comp);
    const gint rows = GST_VIDEO_FRAME_COMP_HEIGHT(&vf, comp[0]);
    const gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&vf, comp[0]);
    const gint wcomp = GST_VIDEO_FRAME_COMP_WIDTH(&vf, comp[0]);
    const size_t size = static_cast<size_t>(stride) * static_cast<size_t>(rows);
    void* data = GST_VIDEO_FRAME_PLANE_DATA(&vf, i);
    auto* hint = new std::shared_ptr<FrameItem>(item);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
        env, data, size,
        [](Napi::Env, void*, std::shared_ptr<FrameItem>* h) { delete h; },  // drops the small handle only
        hint);
    self->buffers_.push_back(Napi::Persistent(ab));
    Napi::Object p = Napi::Object::New(env);
    p.Set("buffer", ab);
    p.Set("stride", Napi::Number::New(env, stride));
    p.Set("rows", Napi::Number::New(env, rows));
    p.Set("rowBytes", Napi::Number::New(env, pstride * wcomp));
    planes.Set(i, p);
  }
  out.Set("planes", planes);
  return out;
}

GstBuffer* NativeFrame::RefBuffer(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  FrameClass* cls = env.GetInstanceData<FrameClass>();
  if (!cls || !v.As<Napi::Object>().InstanceOf(cls->ctor.Value())) return nullptr;
  NativeFrame* self = Napi::ObjectWrap<NativeFrame>::Unwrap(v.As<Napi::Object>());
  if (!self || !self->item_ || self->item_->freed()) return nullptr;
  GstBuffer* b = self->item_->buffer();
  return b ? gst_buffer_ref(b) : nullptr;
}

Napi::Value NativeFrame::Release(const Napi::CallbackInfo& info) {
  for (auto& ref : buffers_) {
    if (!ref.IsEmpty()) {
      Napi::ArrayBuffer ab = ref.Value();
      if (!ab.IsDetached()) ab.Detach();
    }
    ref.Reset();
  }
  buffers_.clear();
  if (item_) item_->Free(false);
  return info.Env().Undefined();
}

Napi::Value NativeFrame::IsReleased(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !item_ || item_->freed());
}

#ifdef NV_TEST_HOOKS
Napi::Value NativeFrame::TestMappedAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!item_ || item_->freed()) throw Napi::Error::New(env, "frame released");
  const guint plane = info[0].As<Napi::Number>().Uint32Value();
  if (plane >= GST_VIDEO_FRAME_N_PLANES(&item_->vframe())) throw Napi::RangeError::New(env, "plane out of range");
  return Napi::BigInt::New(env, static_cast<uint64_t>(
      reinterpret_cast<uintptr_t>(GST_VIDEO_FRAME_PLANE_DATA(&item_->vframe(), plane))));
}
#endif

}  // namespace nv
