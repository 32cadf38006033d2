// Converter: scaling and pixel-format conversion of decoded frames with libyuv, in the addon.
//
// GStreamer decodes to the decoder's own format; the appsink accepts a set of *carried* formats
// at any size (I420, NV12, Y444, I420_10LE, P010_10LE, Y444_10LE, GRAY8, RGB, BGR, RGBA, BGRA;
// packages/media/src/pipeline.ts). When the format or size JS asked for (OutputRequest) differs
// from the decoded frame, NativeSource::Enqueue hands the frame to its Converter, which scales in
// the decoded space first (plane by plane, bilinear: libyuv ScalePlane / ScalePlane_16; NV12's
// UV, P010 and packed RGB are split into planes first, because libyuv's interleaved bilinear
// scalers are biased — see convert.cc) and converts second (libyuv *ToRGB24Matrix /
// *ToARGBMatrix / I010ToARGBMatrix / P010ToARGBMatrix / I410ToARGBMatrix, plane copies and
// merges, Convert16To8Plane, a 2×2 box for 4:4:4 → 4:2:0), into a pooled nv-owned buffer
// wrapped as a GstBuffer with a video meta (the strides and offsets of gst_video_info_set_format,
// the same layout GStreamer's converter gave). Everything downstream (FrameItem, planes as external ArrayBuffers, RefBuffer
// for the encoder) sees an ordinary GstBuffer.
//
// Paths (source → target), all at any size:
//   I420, NV12, Y444, I420_10LE (libyuv I010), P010_10LE (P010), Y444_10LE (I410)
//       → RGB8, BGR8, RGBA8, BGRA8, I420, NV12, GRAY8
//   GRAY8 → GRAY8;   RGB, BGR, RGBA, BGRA → RGB8, BGR8, RGBA8, BGRA8
// Anything else has no libyuv path here: pipeline.ts leaves those formats out of the carried
// set for that target, so GStreamer's videoconvertscale converts them (RGB-family → YUV or
// GRAY8, GRAY8 → anything but GRAY8, and decoder formats outside the carried set). Configure()
// refuses a pair without a path (an error event; frames are dropped).
//
// Semantics:
//  - Colour matrix and range come from the decoded caps (GstVideoInfo.colorimetry): BT.601,
//    BT.709, BT.2020 (FCC is taken as BT.601, SMPTE 240M as BT.709: the closest libyuv has),
//    range 0_255 = full, anything else = limited. An unknown matrix is BT.709 for height ≥ 720,
//    BT.601 below (caps without any colorimetry already carry GStreamer's default for their
//    size: BT.601 up to 576 rows, BT.709 above, BT.2020 from 2160). Limited-range BT.709 and
//    BT.2020 are converted from range-expanded rows with libyuv's full-range constants (its
//    limited ones are off by up to 11 levels in blue). Results are within ±2 of the ITU
//    equations (tested). Matrix and range only: no transfer or primaries conversion (GStreamer 1.22's
//    videoconvert also converts primaries, e.g. BT.601 primaries → sRGB gave white 253 instead
//    of 255; FFmpeg's swscale does not).
//  - GRAY8 from Y'CbCr is full-range luma, as in @nv/frame's convertFrame: limited-range Y' is
//    stretched [16, 235] → [0, 255] with the same 16.16 fixed point (10-bit: [64, 940]); full range
//    is copied (10-bit: rounded to 8 bits). Measured before this change, videoconvertscale copied
//    Y' unchanged for BT.601 limited sources (SD) and did a colour-managed conversion for BT.709
//    (16 → 0, 126 → 126, 235 → 253).
//  - 10-bit → 8-bit YUV takes the top 8 bits (libyuv Convert16To8Plane).
//  - Size: with a requested size the picture keeps its display aspect ratio and is centred with
//    black borders when the aspects differ — the rectangle videoconvertscale's add-borders gave
//    (its arithmetic, borders split evenly; for 4:2:0 targets the offsets are rounded down to
//    even). Black: Y' 16 (full range: 0) with C 128, RGB 0 (alpha 255), GRAY8 0.
//  - RGB-family → RGB-family keeps alpha between 4-byte formats and sets 255 from 3-byte ones.
//
// Threading model:
//  - One Converter per NativeSource, used only from the appsink callback (the GStreamer streaming
//    thread), never concurrently with itself: Configure() at a caps change, Convert() per frame.
//  - The pixel work of a frame runs on nv's process-wide conversion pool (ConvertPool), not on
//    the streaming thread and never on the JS thread: the streaming thread splits it into tasks —
//    scaling by planes (Y on one task, the chroma planes on others: libyuv's bilinear scaler
//    cannot be banded without seams), conversion by row bands (even row counts for 4:2:0), the
//    border fill as one more task — submits them and waits for all of them (fork-join). So each
//    source has at most one frame in conversion and at most 17 tasks queued; the pool's queue
//    holds at most 17 × the sources converting at that moment (bounded by the sources).
//  - Pool threads are created lazily, up to the largest `threads` any source asked for (capped
//    at 16), and live as long as the process: they are never joined. The pool is a heap object
//    that is never destroyed, so no static destructor joins threads at process exit or at a
//    worker_threads environment's teardown (a worker's sources have stopped by then: their
//    streaming threads are joined, so no task of theirs is left). An idle pool thread waits on a
//    condition variable and holds nothing else. If no thread can be created at all, the tasks run
//    on the calling streaming thread.
//
// Lifetime model:
//  - Output memory comes from a BufferPool shared (shared_ptr) by the Converter and by every
//    GstBuffer it made: a buffer's destroy notify (any thread: JS release, a queue drop, the
//    encoder) puts its block back on the pool's free list, bounded to `max_free` blocks (the
//    source's queue depth + 2); beyond that, after a size change, or once the Converter is gone
//    (NativeSource drops it when it stops), the block is freed. Frames may outlive their source.
//  - Convert() takes the decoded buffer (transfer full) and unrefs it right after the conversion,
//    before the frame is queued, so it returns to the decoder's pool early.
#ifndef NV_CONVERT_H_
#define NV_CONVERT_H_

#include <gst/gst.h>
#include <gst/video/video.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nv {

// What JS asked for (validated by NativeSource's constructor).
struct OutputRequest {
  bool native = true;                                 // `native`: the decoder's format when nv has it, else I420
  GstVideoFormat format = GST_VIDEO_FORMAT_UNKNOWN;   // when !native: one of RGB, BGR, RGBA, BGRA, I420, NV12, GRAY8
  int width = 0;                                      // 0: the decoded size (width and height come together)
  int height = 0;
  int threads = 2;                                    // bands per frame, [1, 16]
};

// The most pool threads, and so the most bands per frame.
constexpr int kMaxConvertThreads = 16;

// [sync, any thread] Whether `f` is one nv's PixelFormat has (RGB8 … GRAY8, by GStreamer name).
bool IsNvFormat(GstVideoFormat f);

// Process-wide fork-join pool (see "Threading model" above).
class ConvertPool {
 public:
  // [sync, any thread] The pool (created on first use, never destroyed).
  static ConvertPool& Get();
  // [sync, any thread] Ensures min(n, kMaxConvertThreads) threads exist (never fewer than before).
  void Reserve(int n);
  // [sync, blocking] Runs fn(0) … fn(n - 1) on the pool's threads and returns when all returned.
  // `fn` must not throw. Without any pool thread, runs them on the calling thread.
  void Run(int n, const std::function<void(int)>& fn);
  // [sync, any thread] Threads started so far.
  int threads();

 private:
  ConvertPool() = default;
  struct Batch {
    const std::function<void(int)>* fn;
    int left;  // under mu_
    std::condition_variable done;
  };
  struct Task {
    Batch* batch;
    int index;
  };
  void Loop();
  std::mutex mu_;
  std::condition_variable work_;
  std::deque<Task> tasks_;  // under mu_; bounded by the callers (see "Threading model")
  int threads_ = 0;         // under mu_
};

// Pooled output memory (see "Lifetime model" above). Create with std::make_shared.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  explicit BufferPool(size_t max_free) : max_free_(max_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  // [sync, streaming thread] Blocks of `size` bytes from now on; free blocks of another size are freed.
  void SetBlockSize(size_t size);
  // [sync, streaming thread] A GstBuffer over one block (64-byte aligned; *data is its address), or nullptr.
  GstBuffer* Acquire(uint8_t** data);
  // [sync, any thread] Blocks allocated and not yet freed (in buffers or on the free list).
  static int64_t live_blocks();

 private:
  struct Block {
    std::shared_ptr<BufferPool> pool;  // keeps the pool alive while the buffer lives
    uint8_t* data;
    size_t size;
  };
  static void Return(gpointer block);  // the GstBuffer's destroy notify (any thread)
  std::mutex mu_;
  std::vector<uint8_t*> free_;  // under mu_; at most max_free_
  size_t block_size_ = 0;       // under mu_
  const size_t max_free_;
};

class Converter {
 public:
  // `max_free`: blocks kept for reuse (the source's queue depth + 2 is enough for steady state).
  Converter(const OutputRequest& req, size_t max_free);
  ~Converter();
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  // [sync, streaming thread] Plans the conversion of frames described by `in` (a caps change).
  // false (and *error) when there is no path: every frame is then refused by Convert().
  bool Configure(const GstVideoInfo& in, std::string* error);
  // After Configure(): frames are delivered as decoded (no scaling, same format).
  bool passthrough() const { return passthrough_; }
  // After Configure(): what frames look like after Convert() (or as decoded when passthrough).
  const GstVideoInfo& out_info() const { return out_; }
  // [sync, streaming thread, blocking: fork-join on the pool] Scales/converts `in` (transfer
  // full; unreffed before returning) into a new pooled buffer (transfer full), timestamps and
  // flags copied, with a video meta for out_info(). nullptr (and *error) on failure.
  GstBuffer* Convert(GstBuffer* in, std::string* error);

  // What the plan does, for diagnostics: e.g. "scale I420 1920x1080→640x360, I420→RGB (bt709
  // limited, range-expanded), 2 band(s)".
  const std::string& describe() const { return describe_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  OutputRequest req_;
  GstVideoInfo out_{};
  bool configured_ = false;
  bool passthrough_ = false;
  std::string describe_;
  std::shared_ptr<BufferPool> pool_;
};

}  // namespace nv

#endif  // NV_CONVERT_H_
