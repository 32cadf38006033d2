// NativeFrame: a decoded GStreamer sample, mapped once, exposed to JS without copying.
//
// Threading model: a FrameItem is created on a GStreamer streaming thread (appsink
// callback), moves through the source's bounded queue, and is wrapped into a NativeFrame on
// the JS thread by NativeSource::Pull. From then on it is touched only on the JS thread,
// except that GStreamer may recycle the buffer from any thread once we unref it.
//
// Lifetime model:
//  - FrameItem owns a reference to the GstBuffer and the GstVideoFrame mapping. It does not keep
//    the GstSample: appsink reuses its sample object and asserts that it is writable
//    (`gst_sample_set_caps: assertion 'gst_sample_is_writable (sample)' failed` after a seek
//    while we held one).
//    Free() unmaps and unrefs exactly once (idempotent).
//  - JS sees each plane as an external ArrayBuffer over the mapped memory (zero copy).
//    Each ArrayBuffer's finalizer holds only a shared_ptr to the small FrameItem shell.
//  - release() (explicit, deterministic): detach every ArrayBuffer, then Free(). The buffer
//    returns to GStreamer at once; stale views read as length 0.
//  - If JS drops the frame without release(), the last shared_ptr holder (frame object or
//    ArrayBuffer finalizer, at GC) destroys the shell, which frees and counts a leak. Memory
//    is never freed while an ArrayBuffer over it can still be reached.
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

class NativeFrame : public Napi::ObjectWrap<NativeFrame> {
 public:
  static void Init(Napi::Env env);
  // [sync, JS thread] Wraps `item` into a JS object: { handle, width, height, format,
  // seq, ts, wallTs, duration, planes: [{ buffer, stride, rowBytes, height, offset }] }.
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<FrameItem> item);

  // [sync, JS thread] When `v` is a live NativeFrame handle: a new reference to its GstBuffer
  // (caller unrefs). Otherwise nullptr. Never throws.
  static GstBuffer* RefBuffer(Napi::Env env, Napi::Value v);

  explicit NativeFrame(const Napi::CallbackInfo& info);
  ~NativeFrame() override;

 private:
  // [sync] Detaches every plane ArrayBuffer and frees the GStreamer buffer. Idempotent.
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value IsReleased(const Napi::CallbackInfo& info);
#ifdef NV_TEST_HOOKS
  // [sync] __testMappedAddress(plane): the GstVideoFrame plane pointer, as a BigInt.
  Napi::Value TestMappedAddress(const Napi::CallbackInfo& info);
#endif

  std::shared_ptr<FrameItem> item_;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> buffers_;
};

}  // namespace nv

#endif  // NV_NATIVE_FRAME_H_
