#include "native_frame.h"

#include <string>

namespace nv {

FrameCounters& Counters() {
  static FrameCounters c;
  return c;
}

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
  // Backstop only: every path frees explicitly (the source at eviction/stop, release(), the last
  // plane finalizer). An unfreed item destroyed here was dropped by native code without Free():
  // counted as a leak so that the bug shows.
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

// ---- Wrapped frames: slots, handles, plane finalizers (JS thread only) ----

namespace {
// A handle's `id` is gen * 2^21 + index: exact in a double (gen < 2^32).
constexpr uint32_t kIndexBits = 21;
constexpr uint32_t kMaxSlots = 1u << kIndexBits;
constexpr double kIndexSpan = static_cast<double>(kMaxSlots);
// Native bytes a wrapped frame holds per plane besides its pixels (an estimate): Node's
// external-ArrayBuffer bookkeeping (BackingStore, finalizer records, cleanup hook) and our weak
// reference to it.
constexpr int64_t kPlaneShellBytes = 256;

void ClearPendingException(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}
}  // namespace

// One wrapped frame's native record. Lives in its environment's FrameRegistry and is reused for
// later frames; see "Lifetime model" in native_frame.h. JS thread only.
struct FrameSlot {
  std::shared_ptr<FrameItem> item;              // until the frame's memory is freed
  napi_ref planes[GST_VIDEO_MAX_PLANES] = {};   // weak references to the plane ArrayBuffers
  FrameRegistry* owner = nullptr;               // nullptr once orphaned (environment teardown)
  uint32_t index = 0;
  uint32_t gen = 0;           // bumped when the handle stops being live
  uint32_t planes_alive = 0;  // plane ArrayBuffers whose finalizer has not run yet
  bool live = false;          // the handle with the current generation can reach the frame
  bool released = false;      // release() ran for the current frame
  int64_t external = 0;       // bytes reported to V8 for the current frame, not yet undone
};

// Per-environment state (instance data): the handle class and the slots.
struct FrameRegistry {
  napi_env env = nullptr;
  Napi::FunctionReference ctor;
  std::vector<FrameSlot*> slots;    // index -> slot; slots are never moved (finalizer hints)
  std::vector<uint32_t> free_list;  // slots with no frame and no pending finalizer

  ~FrameRegistry();
  // A slot with no frame (from the free list, or a new one). Throws when 2^21 are in use.
  FrameSlot* Acquire(Napi::Env e);
  // Back on the free list: no frame, no plane reference, no pending finalizer.
  void Recycle(FrameSlot* s) { free_list.push_back(s->index); }
  // The live slot `handle` names, or nullptr (not a handle, released, collected). Never throws.
  FrameSlot* Lookup(Napi::Value handle);
};

namespace {
FrameRegistry* Registry(napi_env env) { return Napi::Env(env).GetInstanceData<FrameRegistry>(); }

// [JS thread] Deletes the slot's plane references (its ArrayBuffers are not touched).
void DropPlaneRefs(napi_env env, FrameSlot* s) {
  for (napi_ref& r : s->planes) {
    if (r != nullptr) {
      napi_delete_reference(env, r);
      r = nullptr;
    }
  }
}

// [JS thread] Frees the slot's frame (unmap, unref) and undoes its external-memory report, once.
void FreeSlotItem(napi_env env, FrameSlot* s, bool leak) {
  if (!s->item) return;
  if (s->external != 0) {
    if (s->owner != nullptr) {
      int64_t ignored;
      napi_adjust_external_memory(env, -s->external, &ignored);
    }
    s->external = 0;
  }
  s->item->Free(leak);
  s->item.reset();  // the FrameItem (and its GstVideoFrame) is deleted here, not at GC
}

// [JS thread] The finalizer of every plane ArrayBuffer (hint: its slot). Node runs it after the
// ArrayBuffer is collected, or soon after it is detached. The last one of a frame means no
// ArrayBuffer over its memory is left: a frame still not released is freed now, as a leak.
void PlaneFinalize(napi_env env, void* /*data*/, void* hint) {
  auto* s = static_cast<FrameSlot*>(hint);
  if (s->planes_alive > 0) s->planes_alive--;
  if (s->planes_alive > 0) return;
  FreeSlotItem(env, s, /*leak=*/!s->released);
  if (s->live) {
    s->live = false;
    s->gen++;
  }
  if (s->owner == nullptr) {  // orphaned at environment teardown
    delete s;
    return;
  }
  DropPlaneRefs(env, s);
  s->owner->Recycle(s);
}

// [JS thread] release(): detaches every plane ArrayBuffer, then frees at once; or, when one of
// them was no longer ours to detach, leaves the free to the last plane finalizer. Idempotent.
void ReleaseSlot(napi_env env, FrameSlot* s) {
  if (!s->live) return;
  bool all_detached_here = true;
  for (napi_ref& r : s->planes) {
    if (r == nullptr) continue;
    napi_value ab = nullptr;
    bool detached = false;
    if (napi_get_reference_value(env, r, &ab) != napi_ok || ab == nullptr) {
      all_detached_here = false;  // collected; its finalizer is pending (or ran)
    } else if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached ||
               napi_detach_arraybuffer(env, ab) != napi_ok) {
      all_detached_here = false;  // detached by someone else: its backing store may live on
      ClearPendingException(env);
    }
    napi_delete_reference(env, r);
    r = nullptr;
  }
  s->live = false;
  s->released = true;
  s->gen++;
  if (all_detached_here || s->planes_alive == 0) FreeSlotItem(env, s, /*leak=*/false);
  if (s->planes_alive == 0) s->owner->Recycle(s);
}
}  // namespace

FrameRegistry::~FrameRegistry() {
  // Environment teardown. Plane references go now, while `env` is still valid; a slot whose
  // plane finalizers have not all run is orphaned: the last one frees its frame (a leak unless it
  // was released) and deletes it.
  for (FrameSlot* s : slots) {
    DropPlaneRefs(env, s);
    s->owner = nullptr;
    if (s->planes_alive == 0) {
      FreeSlotItem(env, s, /*leak=*/true);  // no-op: a slot without ArrayBuffers has no frame
      delete s;
    }
  }
}

FrameSlot* FrameRegistry::Acquire(Napi::Env e) {
  if (!free_list.empty()) {
    FrameSlot* s = slots[free_list.back()];
    free_list.pop_back();
    return s;
  }
  if (slots.size() >= kMaxSlots) throw Napi::Error::New(e, "too many native frames alive (2^21): release frames");
  auto* s = new FrameSlot();
  s->owner = this;
  s->index = static_cast<uint32_t>(slots.size());
  slots.push_back(s);
  return s;
}

FrameSlot* FrameRegistry::Lookup(Napi::Value handle) {
  if (!handle.IsObject()) return nullptr;
  napi_value idv = nullptr;
  if (napi_get_named_property(env, handle, "id", &idv) != napi_ok) {
    ClearPendingException(env);  // a getter that threw
    return nullptr;
  }
  double d = -1;
  if (napi_get_value_double(env, idv, &d) != napi_ok || !(d >= 0 && d < 9007199254740992.0)) return nullptr;
  const auto u = static_cast<uint64_t>(d);
  if (static_cast<double>(u) != d) return nullptr;
  const auto index = static_cast<uint32_t>(u & (kMaxSlots - 1));
  const auto gen = static_cast<uint32_t>(u >> kIndexBits);
  if (index >= slots.size()) return nullptr;
  FrameSlot* s = slots[index];
  return s->live && s->gen == gen ? s : nullptr;
}

void NativeFrame::Init(Napi::Env env) {
  // The handle class: a plain constructor (no napi_wrap) and its prototype methods.
  Napi::Function ctor = Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return info.Env().Undefined();  // `new` returns `this`
  }, "NativeFrame");
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  proto.Set("release", Napi::Function::New<&NativeFrame::Release>(env, "release"));
  proto.Set("isReleased", Napi::Function::New<&NativeFrame::IsReleased>(env, "isReleased"));
#ifdef NV_TEST_HOOKS
  proto.Set("__testMappedAddress", Napi::Function::New<&NativeFrame::TestMappedAddress>(env, "__testMappedAddress"));
#endif
  auto* reg = new FrameRegistry();
  reg->env = env;
  reg->ctor = Napi::Persistent(ctor);
  // Per-environment state (worker_threads safe); deleted by node-addon-api at env teardown.
  env.SetInstanceData<FrameRegistry>(reg);
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
  FrameRegistry* reg = Registry(env);
  FrameSlot* s = nullptr;
  try {
    s = reg->Acquire(env);
  } catch (...) {
    item->Free(false);  // never reached JS: not a leak
    throw;
  }
  s->item = std::move(item);
  s->live = true;
  s->released = false;
  s->planes_alive = 0;
  const FrameItem& it = *s->item;
  try {
    Napi::Object handle = reg->ctor.New({});
    const double id = static_cast<double>(s->gen) * kIndexSpan + static_cast<double>(s->index);
    handle.DefineProperty(Napi::PropertyDescriptor::Value("id", Napi::Number::New(env, id), napi_default));

    const GstVideoFrame& vf = it.vframe();
    const GstVideoInfo& vi = vf.info;
    Napi::Object out = Napi::Object::New(env);
    out.Set("handle", handle);
    out.Set("width", Napi::Number::New(env, GST_VIDEO_INFO_WIDTH(&vi)));
    out.Set("height", Napi::Number::New(env, GST_VIDEO_INFO_HEIGHT(&vi)));
    out.Set("format", Napi::String::New(env, FormatName(GST_VIDEO_INFO_FORMAT(&vi))));
    out.Set("seq", Napi::Number::New(env, static_cast<double>(it.seq)));
    out.Set("ts", Napi::Number::New(env, static_cast<double>(it.ts_ns)));
    out.Set("wallTs", Napi::Number::New(env, static_cast<double>(it.wall_us)));
    out.Set("duration", Napi::Number::New(env, static_cast<double>(it.duration_ns)));
    const guint n = GST_VIDEO_FRAME_N_PLANES(&vf);
    Napi::Array planes = Napi::Array::New(env, n);
    for (guint i = 0; i < n && i < GST_VIDEO_MAX_PLANES; i++) {
      const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, i);
      // Rows in plane i: height of its first component (chroma planes are subsampled).
      gint comp[GST_VIDEO_MAX_COMPONENTS];
      gst_video_format_info_component(vi.finfo, i, comp);
      const gint rows = GST_VIDEO_FRAME_COMP_HEIGHT(&vf, comp[0]);
      const gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&vf, comp[0]);
      const gint wcomp = GST_VIDEO_FRAME_COMP_WIDTH(&vf, comp[0]);
      const size_t size = static_cast<size_t>(stride) * static_cast<size_t>(rows);
      void* data = GST_VIDEO_FRAME_PLANE_DATA(&vf, i);
      napi_value ab = nullptr;
      // The finalizer hint is the slot: no allocation of ours per plane.
      NAPI_THROW_IF_FAILED(env, napi_create_external_arraybuffer(env, data, size, &PlaneFinalize, s, &ab), Napi::Object());
      s->planes_alive++;
      NAPI_THROW_IF_FAILED(env, napi_create_reference(env, ab, 0, &s->planes[i]), Napi::Object());
      Napi::Object p = Napi::Object::New(env);
      p.Set("buffer", ab);
      p.Set("stride", Napi::Number::New(env, stride));
      p.Set("rows", Napi::Number::New(env, rows));
      p.Set("rowBytes", Napi::Number::New(env, pstride * wcomp));
      planes.Set(i, p);
    }
    out.Set("planes", planes);
    // What this frame holds natively, for V8's GC heuristics; undone once, in FreeSlotItem.
    const int64_t bytes = static_cast<int64_t>(gst_buffer_get_size(it.buffer())) +
                          static_cast<int64_t>(sizeof(FrameItem) + sizeof(GstVideoFrame)) +
                          kPlaneShellBytes * static_cast<int64_t>(n);
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
    s->external = bytes;
    return out;
  } catch (...) {
    ReleaseSlot(env, s);  // nothing of this frame reached JS
    throw;
  }
}

GstBuffer* NativeFrame::RefBuffer(Napi::Env env, Napi::Value v) {
  FrameRegistry* reg = Registry(env);
  FrameSlot* s = reg != nullptr ? reg->Lookup(v) : nullptr;
  if (s == nullptr || !s->item || s->item->freed()) return nullptr;
  GstBuffer* b = s->item->buffer();
  return b ? gst_buffer_ref(b) : nullptr;
}

Napi::Value NativeFrame::Release(const Napi::CallbackInfo& info) {
  if (FrameSlot* s = Registry(info.Env())->Lookup(info.This())) ReleaseSlot(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value NativeFrame::IsReleased(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Registry(info.Env())->Lookup(info.This()) == nullptr);
}

#ifdef NV_TEST_HOOKS
Napi::Value NativeFrame::TestMappedAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FrameSlot* s = Registry(env)->Lookup(info.This());
  if (s == nullptr || !s->item || s->item->freed()) throw Napi::Error::New(env, "frame released");
  const guint plane = info[0].As<Napi::Number>().Uint32Value();
  if (plane >= GST_VIDEO_FRAME_N_PLANES(&s->item->vframe())) throw Napi::RangeError::New(env, "plane out of range");
  return Napi::BigInt::New(env, static_cast<uint64_t>(
      reinterpret_cast<uintptr_t>(GST_VIDEO_FRAME_PLANE_DATA(&s->item->vframe(), plane))));
}

Napi::Value NativeFrame::TestSlotStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FrameRegistry* reg = Registry(env);
  size_t live = 0, pending = 0;
  for (FrameSlot* s : reg->slots) {
    if (s->live) live++;
    else if (s->planes_alive > 0) pending++;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("slots", Napi::Number::New(env, static_cast<double>(reg->slots.size())));
  o.Set("free", Napi::Number::New(env, static_cast<double>(reg->free_list.size())));
  o.Set("live", Napi::Number::New(env, static_cast<double>(live)));
  o.Set("pending", Napi::Number::New(env, static_cast<double>(pending)));
  return o;
}
#endif

}  // namespace nv
