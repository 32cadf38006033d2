// NativeFrame: a decoded GStreamer sample, mapped once, exposed to JS without copying.
//
// Threading model: a FrameItem is created on a GStreamer streaming thread (appsink
// callback), moves through the source's bounded queue, and is wrapped into a NativeFrame on
// the JS thread by NativeSource::Pull. From then on it is touched only on the JS thread,
// except that GStreamer may recycle the buffer from any thread once we unref it. Everything
// about wrapped frames below (slots, handles, plane finalizers, external-memory accounting)
// happens on the JS thread of the environment that wrapped them; Node runs external
// ArrayBuffer finalizers there too (from an immediate, after GC or after a detach).
//
// Lifetime model:
//  - FrameItem owns a reference to the GstBuffer and the GstVideoFrame mapping. It does not keep
//    the GstSample: appsink reuses its sample object and asserts that it is writable
//    (`gst_sample_set_caps: assertion 'gst_sample_is_writable (sample)' failed` after a seek
//    while we held one).
//    Free() unmaps and unrefs exactly once (idempotent). Frames dropped by the source (policy
//    eviction, stop, dispose) are freed there with Free(false): they are never leaks.
//  - Wrap() moves the item into a FrameSlot: a small per-environment record recycled through a
//    free list (no allocation per frame once warm). JS gets
//      - a handle: a plain object of the native class `NativeFrame` — no napi_wrap and no
//        finalizer, so a dead handle is reclaimed by a scavenge like any small object — whose
//        only state is `id`: the slot index and the slot's generation;
//      - one external ArrayBuffer per plane over the mapped memory (zero copy). Its finalizer
//        hint is the slot itself (no allocation); the slot keeps a weak reference to it, so that
//        release() can detach it.
//    A handle whose generation no longer matches its slot is released (stale handles can never
//    reach another frame's memory).
//  - release() (explicit, deterministic): detach every plane ArrayBuffer, then Free() at once —
//    the buffer returns to GStreamer, the item (with its GstVideoFrame) is deleted, stale views
//    read as length 0 — and bump the generation. The slot goes back to the free list when the
//    finalizers of its plane ArrayBuffers have run. If a plane ArrayBuffer was no longer ours to
//    detach (already detached by someone else, so its backing store may live on in another
//    ArrayBuffer; or collected with its finalizer still pending), the Free() waits for the last
//    plane finalizer instead.
//  - GC path: if JS drops the frame without release(), its plane ArrayBuffers are collected; the
//    last plane finalizer frees the item and counts a leak. This is the only place a leak is
//    counted, so `leakedFrames` counts exactly the frames the GC freed without release() (plus,
//    as a backstop, an unfreed FrameItem destroyed by native code — a native bug). Memory is
//    never freed while an ArrayBuffer over it can still be reached.
//  - External memory: Wrap() reports the buffer's size and the frame's native shell to V8
//    (AdjustExternalMemory), undone exactly once when the item is freed, so that V8 knows what a
//    frame nobody released is holding and collects it in time.
//  - Environment teardown (a worker exits): slots whose plane finalizers have not run yet are
//    orphaned, not deleted; their last finalizer frees and deletes them.
#ifndef NV_NATIVE_FRAME_H_
#define NV_NATIVE_FRAME_H_

#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace nv {

// Process-wide frame counters (diagnostics).
struct FrameCounters {
  std::atomic<int64_t> live{0};    // mapped frames not yet freed (queued + in JS)
  std::atomic<int64_t> leaked{0};  // frames freed by GC instead of release()
  std::atomic<int64_t> created{0};
};
FrameCounters& Counters();

class FrameItem {
 public:
  // [sync, any thread] Takes ownership of `sample` (transfer full): keeps a reference to its
  // buffer only, and maps that with `info`. Returns nullptr (and unrefs) when mapping fails.
  static std::shared_ptr<FrameItem> Create(GstSample* sample, const GstVideoInfo& info);
  // [sync, any thread] Takes ownership of `buffer` (transfer full) and maps it with `info`.
  // Returns nullptr (and unrefs) when mapping fails.
  static std::shared_ptr<FrameItem> CreateFromBuffer(GstBuffer* buffer, const GstVideoInfo& info);
  ~FrameItem();
  FrameItem(const FrameItem&) = delete;
  FrameItem& operator=(const FrameItem&) = delete;

  // [sync, any thread] Unmaps and unrefs; idempotent. `leak` marks a GC-path free.
  void Free(bool leak = false);
  bool freed() const { return freed_; }
  const GstVideoFrame& vframe() const { return vframe_; }
  // [sync] The frame's buffer (borrowed; nullptr once freed).
  GstBuffer* buffer() const { return buffer_; }

  uint64_t seq = 0;
  int64_t ts_ns = 0;
  int64_t wall_us = 0;
  int64_t duration_ns = -1;

 private:
  FrameItem() = default;
  GstBuffer* buffer_ = nullptr;
  GstVideoFrame vframe_{};
  bool mapped_ = false;
  bool freed_ = false;
};

struct FrameSlot;
struct FrameRegistry;

// The JS-facing side of a frame. Not an ObjectWrap: see "Lifetime model" above.
class NativeFrame {
 public:
  // [sync, JS thread] Defines the handle class and this environment's slot registry
  // (instance data; deleted by node-addon-api at environment teardown).
  static void Init(Napi::Env env);
  // [sync, JS thread] Wraps `item` into a JS object: { handle, width, height, format,
  // seq, ts, wallTs, duration, planes: [{ buffer, stride, rows, rowBytes }] }. `handle` has
  // release(), isReleased() (and __testMappedAddress(plane) with NV_TEST_HOOKS).
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<FrameItem> item);

  // [sync, JS thread] When `v` is a live NativeFrame handle: a new reference to its GstBuffer
  // (caller unrefs). Otherwise nullptr. Never throws.
  static GstBuffer* RefBuffer(Napi::Env env, Napi::Value v);

#ifdef NV_TEST_HOOKS
  // [sync, JS thread] Wrapped frames' slots: { slots (allocated), free (on the free list),
  // pending (released or collected, plane finalizers not all run yet) }.
  static Napi::Value TestSlotStats(const Napi::CallbackInfo& info);
#endif

 private:
  // [sync] Detaches every plane ArrayBuffer and frees the GStreamer buffer. Idempotent.
  static Napi::Value Release(const Napi::CallbackInfo& info);
  static Napi::Value IsReleased(const Napi::CallbackInfo& info);
#ifdef NV_TEST_HOOKS
  // [sync] __testMappedAddress(plane): the GstVideoFrame plane pointer, as a BigInt.
  static Napi::Value TestMappedAddress(const Napi::CallbackInfo& info);
#endif
};

}  // namespace nv

#endif  // NV_NATIVE_FRAME_H_
