// Converter, ConvertPool, BufferPool: see convert.h for the paths, semantics, threading and
// lifetime model.
//
// libyuv names formats by little-endian words: libyuv "RGB24" is B,G,R in memory (nv BGR8),
// "RAW" is R,G,B (nv RGB8), "ARGB" is B,G,R,A (nv BGRA8), "ABGR" is R,G,B,A (nv RGBA8). Its
// *ToARGBMatrix / *ToRGB24Matrix functions write B,G,R order; R,G,B order comes from the same
// functions with U and V swapped and the kYvu* constants (that is how libyuv's own I420ToRAW,
// NV12ToRAWMatrix and I010ToABGRMatrix are built). libyuv's 16-bit functions take strides in
// uint16 elements; GStreamer's are in bytes (always even for these formats).
#include "convert.h"

#include <libyuv.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

#ifdef __linux__
#include <pthread.h>
#endif

namespace nv {
namespace {

// The layouts the Converter works in, named by memory order as in libyuv.
enum class Kind { kNone, kI420, kNV12, kI444, kI010, kP010, kI410, kGray, kRGB24, kRAW, kARGB, kABGR };

Kind KindOf(GstVideoFormat f) {
  switch (f) {
    case GST_VIDEO_FORMAT_I420: return Kind::kI420;
    case GST_VIDEO_FORMAT_NV12: return Kind::kNV12;
    case GST_VIDEO_FORMAT_Y444: return Kind::kI444;
    case GST_VIDEO_FORMAT_I420_10LE: return Kind::kI010;
    case GST_VIDEO_FORMAT_P010_10LE: return Kind::kP010;
    case GST_VIDEO_FORMAT_Y444_10LE: return Kind::kI410;
    case GST_VIDEO_FORMAT_GRAY8: return Kind::kGray;
    case GST_VIDEO_FORMAT_BGR: return Kind::kRGB24;
    case GST_VIDEO_FORMAT_RGB: return Kind::kRAW;
    case GST_VIDEO_FORMAT_BGRA: return Kind::kARGB;
    case GST_VIDEO_FORMAT_RGBA: return Kind::kABGR;
    default: return Kind::kNone;
  }
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kI420: return "I420";
    case Kind::kNV12: return "NV12";
    case Kind::kI444: return "Y444";
    case Kind::kI010: return "I420_10LE";
    case Kind::kP010: return "P010_10LE";
    case Kind::kI410: return "Y444_10LE";
    case Kind::kGray: return "GRAY8";
    case Kind::kRGB24: return "BGR";
    case Kind::kRAW: return "RGB";
    case Kind::kARGB: return "BGRA";
    case Kind::kABGR: return "RGBA";
    default: return "?";
  }
}

bool IsYuv(Kind k) {
  return k == Kind::kI420 || k == Kind::kNV12 || k == Kind::kI444 || k == Kind::kI010 || k == Kind::kP010 || k == Kind::kI410;
}
bool IsRgb(Kind k) { return k == Kind::kRGB24 || k == Kind::kRAW || k == Kind::kARGB || k == Kind::kABGR; }
bool Is420(Kind k) { return k == Kind::kI420 || k == Kind::kNV12 || k == Kind::kI010 || k == Kind::kP010; }
int Planes(Kind k) {
  switch (k) {
    case Kind::kI420: case Kind::kI444: case Kind::kI010: case Kind::kI410: return 3;
    case Kind::kNV12: case Kind::kP010: return 2;
    default: return 1;
  }
}
// Bytes per sample of plane p (an NV12/P010 chroma sample is a U,V pair).
int SampleBytes(Kind k, int p) {
  switch (k) {
    case Kind::kNV12: return p == 0 ? 1 : 2;
    case Kind::kP010: return p == 0 ? 2 : 4;
    case Kind::kI010: case Kind::kI410: return 2;
    case Kind::kRGB24: case Kind::kRAW: return 3;
    case Kind::kARGB: case Kind::kABGR: return 4;
    default: return 1;
  }
}
// Samples per row and rows of plane p of a w×h image.
void PlaneDims(Kind k, int p, int w, int h, int* pw, int* ph) {
  if (p > 0 && Is420(k)) {
    *pw = (w + 1) / 2;
    *ph = (h + 1) / 2;
  } else {
    *pw = w;
    *ph = h;
  }
}

// Whether the Converter has a path from `s` to `d` (see convert.h "Paths").
bool HasPath(Kind s, Kind d) {
  if (IsYuv(s)) return IsYuv(d) ? (d == Kind::kI420 || d == Kind::kNV12) : (IsRgb(d) || d == Kind::kGray);
  if (s == Kind::kGray) return d == Kind::kGray;
  if (IsRgb(s)) return IsRgb(d);
  return false;
}

struct Plane {
  uint8_t* data = nullptr;
  int stride = 0;  // bytes
};
struct Image {
  Kind kind = Kind::kNone;
  int width = 0;
  int height = 0;
  Plane p[3];
};

inline uint8_t* RowOf(const Plane& p, int row) { return p.data + static_cast<ptrdiff_t>(row) * p.stride; }
inline const uint16_t* Row16(const Plane& p, int row) { return reinterpret_cast<const uint16_t*>(RowOf(p, row)); }
inline uint16_t* Row16w(const Plane& p, int row) { return reinterpret_cast<uint16_t*>(RowOf(p, row)); }
inline int S16(const Plane& p) { return p.stride / 2; }

constexpr size_t kAlign = 64;
size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

// Lays out a `k` image of w×h with 64-byte aligned rows from `base` (nullptr: only sizes it).
size_t LayOut(Kind k, int w, int h, uint8_t* base, Image* img) {
  size_t off = 0;
  img->kind = k;
  img->width = w;
  img->height = h;
  for (int p = 0; p < Planes(k); p++) {
    int pw, ph;
    PlaneDims(k, p, w, h, &pw, &ph);
    const size_t stride = AlignUp(static_cast<size_t>(pw) * SampleBytes(k, p));
    img->p[p].data = base ? base + off : nullptr;
    img->p[p].stride = static_cast<int>(stride);
    off += stride * static_cast<size_t>(ph);
  }
  return off;
}

// The w×h window of `full` at (x, y); x and y even when the image is 4:2:0.
Image Window(const Image& full, int x, int y, int w, int h) {
  Image out = full;
  out.width = w;
  out.height = h;
  for (int p = 0; p < Planes(full.kind); p++) {
    const bool sub = p > 0 && Is420(full.kind);
    const int px = sub ? x / 2 : x, py = sub ? y / 2 : y;
    out.p[p].data = RowOf(full.p[p], py) + static_cast<ptrdiff_t>(px) * SampleBytes(full.kind, p);
  }
  return out;
}

// An aligned scratch allocation, reused across frames.
struct Scratch {
  uint8_t* data = nullptr;
  size_t size = 0;
  ~Scratch() { std::free(data); }
  bool Reserve(size_t n) {
    if (n <= size) return true;
    std::free(data);
    data = nullptr;
    size = 0;
    void* p = nullptr;
    if (posix_memalign(&p, kAlign, n) != 0) return false;
    data = static_cast<uint8_t*>(p);
    size = n;
    return true;
  }
};

struct Matrix {
  const libyuv::YuvConstants* yuv = &libyuv::kYuvI601Constants;  // U, V in order: B,G,R output
  const libyuv::YuvConstants* yvu = &libyuv::kYvuI601Constants;  // U, V swapped: R,G,B output
  bool full = false;
  const char* name = "bt601";
};

// `force_full`: the full-range constants of the same matrix (for range-expanded input).
Matrix MatrixFor(const GstVideoInfo& in, bool force_full) {
  Matrix m;
  m.full = force_full || in.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  GstVideoColorMatrix cm = in.colorimetry.matrix;
  if (cm == GST_VIDEO_COLOR_MATRIX_FCC) cm = GST_VIDEO_COLOR_MATRIX_BT601;          // Kr .30 vs .299
  if (cm == GST_VIDEO_COLOR_MATRIX_SMPTE240M) cm = GST_VIDEO_COLOR_MATRIX_BT709;    // Kr .212 vs .2126
  if (cm != GST_VIDEO_COLOR_MATRIX_BT601 && cm != GST_VIDEO_COLOR_MATRIX_BT709 && cm != GST_VIDEO_COLOR_MATRIX_BT2020) {
    // Unknown (or RGB on a YUV format): BT.709 for HD, BT.601 below.
    cm = GST_VIDEO_INFO_HEIGHT(&in) >= 720 ? GST_VIDEO_COLOR_MATRIX_BT709 : GST_VIDEO_COLOR_MATRIX_BT601;
  }
  switch (cm) {
    case GST_VIDEO_COLOR_MATRIX_BT709:
      m.yuv = m.full ? &libyuv::kYuvF709Constants : &libyuv::kYuvH709Constants;
      m.yvu = m.full ? &libyuv::kYvuF709Constants : &libyuv::kYvuH709Constants;
      m.name = "bt709";
      break;
    case GST_VIDEO_COLOR_MATRIX_BT2020:
      m.yuv = m.full ? &libyuv::kYuvV2020Constants : &libyuv::kYuv2020Constants;
      m.yvu = m.full ? &libyuv::kYvuV2020Constants : &libyuv::kYvu2020Constants;
      m.name = "bt2020";
      break;
    default:
      m.yuv = m.full ? &libyuv::kYuvJPEGConstants : &libyuv::kYuvI601Constants;
      m.yvu = m.full ? &libyuv::kYvuJPEGConstants : &libyuv::kYvuI601Constants;
      m.name = "bt601";
      break;
  }
  return m;
}

// Rows of a two-pass conversion done at a time per band (even: 4:2:0 chroma rows stay whole).
constexpr int kChunkRows = 16;

// Image `img` moved down by `rows` rows (even for 4:2:0), for converting a band as rows 0….
Image Shift(const Image& img, int rows) {
  Image out = img;
  for (int p = 0; p < Planes(img.kind); p++) {
    out.p[p].data = RowOf(img.p[p], p > 0 && Is420(img.kind) ? rows / 2 : rows);
  }
  out.height = img.height - rows;
  return out;
}

// The plain loops below are vectorized by the compiler; on x86-64 they are also compiled for
// AVX2 and the variant is picked at load time (GCC function multiversioning, an ifunc).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NV_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NV_VECTOR_CLONES
#endif

// Limited → full range, per sample, rounded and clamped: 8-bit luma (v − 16) · 149/128 (for
// 255/219), chroma (v − 128) · 146/128 + 128 (for 255/224), in 16-bit lanes so they vectorize
// 16 or 32 wide; 10-bit (v − 64) · 1023/876 and (v − 512) · 1023/896 + 512 in 2.14 fixed point.
NV_VECTOR_CLONES void ExpandRow8(const uint8_t* __restrict s, uint8_t* __restrict d, int n, bool luma) {
  if (luma) {
    for (int i = 0; i < n; i++) {
      const uint16_t t = s[i] > 16 ? static_cast<uint16_t>(s[i] - 16) : 0;
      const uint16_t v = static_cast<uint16_t>(static_cast<uint16_t>(t * 149 + 64) >> 7);
      d[i] = static_cast<uint8_t>(v > 255 ? 255 : v);
    }
  } else {
    for (int i = 0; i < n; i++) {
      const int16_t t = static_cast<int16_t>(static_cast<int16_t>(s[i]) - 128);
      const int16_t v = static_cast<int16_t>((static_cast<int16_t>(t * 146 + 64) >> 7) + 128);
      d[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
}
// `shift`: 0 for LSB-aligned samples (I010, I410), 6 for MSB-aligned ones (P010), kept as found.
NV_VECTOR_CLONES void ExpandRow16(const uint16_t* __restrict s, uint16_t* __restrict d, int n, bool luma, int shift) {
  if (luma) {
    for (int i = 0; i < n; i++) {
      const int v = ((static_cast<int>(s[i] >> shift) - 64) * 19133 + 8192) >> 14;
      d[i] = static_cast<uint16_t>((v < 0 ? 0 : v > 1023 ? 1023 : v) << shift);
    }
  } else {
    for (int i = 0; i < n; i++) {
      const int v = (((static_cast<int>(s[i] >> shift) - 512) * 18706 + 8192) >> 14) + 512;
      d[i] = static_cast<uint16_t>((v < 0 ? 0 : v > 1023 ? 1023 : v) << shift);
    }
  }
}

// GRAY8 rows from 8-bit luma: a copy (full range) or @nv/frame's limited-range stretch,
// ((y − 16) · 76309 + 2^15) >> 16 clamped (76309 = round(2^16 · 255/219)); vectorized.
NV_VECTOR_CLONES void GrayRow8(const uint8_t* __restrict s, uint8_t* __restrict d, int n) {
  for (int i = 0; i < n; i++) {
    const int v = ((static_cast<int>(s[i]) - 16) * 76309 + 32768) >> 16;
    d[i] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

void GrayFrom8(const uint8_t* s, int ss, uint8_t* d, int ds, int w, int h, bool full) {
  if (full) {
    libyuv::CopyPlane(s, ss, d, ds, w, h);
    return;
  }
  for (int y = 0; y < h; y++) GrayRow8(s + static_cast<ptrdiff_t>(y) * ss, d + static_cast<ptrdiff_t>(y) * ds, w);
}

// The first `rows` rows of Y'CbCr image `s`, range-expanded into `d` (same kind and width).
void ExpandRows(const Image& s, const Image& d, int rows) {
  for (int p = 0; p < Planes(s.kind); p++) {
    int pw, ph;
    PlaneDims(s.kind, p, s.width, rows, &pw, &ph);
    const int values = pw * (SampleBytes(s.kind, p) == 4 || (s.kind == Kind::kNV12 && p == 1) ? 2 : 1);  // U,V pairs
    for (int r = 0; r < ph; r++) {
      if (s.kind == Kind::kI010 || s.kind == Kind::kI410 || s.kind == Kind::kP010) {
        ExpandRow16(Row16(s.p[p], r), Row16w(d.p[p], r), values, p == 0, s.kind == Kind::kP010 ? 6 : 0);
      } else {
        ExpandRow8(RowOf(s.p[p], r), RowOf(d.p[p], r), values, p == 0);
      }
    }
  }
}

// GRAY8 rows from 10-bit luma (LSB-aligned after `shift`) through a 1024-entry `lut`.
void GrayFrom16(const uint16_t* s, int ss16, uint8_t* d, int ds, int w, int h, const uint8_t* lut, int shift) {
  for (int y = 0; y < h; y++) {
    const uint16_t* sr = s + static_cast<ptrdiff_t>(y) * ss16;
    uint8_t* dr = d + static_cast<ptrdiff_t>(y) * ds;
    for (int x = 0; x < w; x++) dr[x] = lut[(sr[x] >> shift) & 1023];
  }
}

// 4:4:4 → 4:2:0 chroma for rows [y0, y1) of a full-size plane (y0 even): the 2×2 block average,
// rounded; edge blocks of odd sizes average the samples they have (as @nv/frame's convertFrame).
// `T` = uint8_t, or uint16_t with `shift` 2 for 10-bit samples (→ 8 bits). Writes chroma rows
// y0/2 … of `d` (its row 0 is chroma row 0), every `step` bytes.
template <typename T>
void BoxDown2(const Plane& s, int w, int y0, int y1, const Plane& d, int step, int shift) {
  for (int y = y0; y < y1; y += 2) {
    const T* r0 = reinterpret_cast<const T*>(RowOf(s, y));
    const T* r1 = y + 1 < y1 ? reinterpret_cast<const T*>(RowOf(s, y + 1)) : r0;  // last row of an odd height
    uint8_t* o = RowOf(d, y / 2);
    int x = 0;
    for (; x + 1 < w; x += 2, o += step) {
      *o = static_cast<uint8_t>((r0[x] + r0[x + 1] + r1[x] + r1[x + 1] + (2 << shift)) >> (2 + shift));
    }
    if (x < w) *o = static_cast<uint8_t>((r0[x] + r1[x] + (1 << shift)) >> (1 + shift));
  }
}

// Packed RGB-family → packed RGB-family (see the memory orders at the top of the file).
void Shuffle(Kind s, Kind d, const uint8_t* sp, int ss, uint8_t* dp, int ds, int w, int h) {
  using namespace libyuv;
  switch (s) {
    case Kind::kRAW:
      if (d == Kind::kRGB24) RAWToRGB24(sp, ss, dp, ds, w, h);
      else if (d == Kind::kARGB) RAWToARGB(sp, ss, dp, ds, w, h);
      else RGB24ToARGB(sp, ss, dp, ds, w, h);  // R,G,B read as "B,G,R" → R,G,B,A = ABGR
      break;
    case Kind::kRGB24:
      if (d == Kind::kRAW) RAWToRGB24(sp, ss, dp, ds, w, h);  // the same R↔B swap
      else if (d == Kind::kARGB) RGB24ToARGB(sp, ss, dp, ds, w, h);
      else RAWToARGB(sp, ss, dp, ds, w, h);  // B,G,R read as "R,G,B" → R,G,B,A = ABGR
      break;
    case Kind::kARGB:
      if (d == Kind::kRGB24) ARGBToRGB24(sp, ss, dp, ds, w, h);
      else if (d == Kind::kRAW) ARGBToRAW(sp, ss, dp, ds, w, h);
      else ARGBToABGR(sp, ss, dp, ds, w, h);
      break;
    case Kind::kABGR:
      if (d == Kind::kRAW) ARGBToRGB24(sp, ss, dp, ds, w, h);  // keeps bytes 0,1,2: R,G,B
      else if (d == Kind::kRGB24) ARGBToRAW(sp, ss, dp, ds, w, h);  // bytes 2,1,0: B,G,R
      else ABGRToARGB(sp, ss, dp, ds, w, h);
      break;
    default:
      break;
  }
}

// 4-byte B,G,R,A rows (`argb`) → the packed target `d`.
void FromArgbRows(const uint8_t* argb, int as, Kind d, uint8_t* dp, int ds, int w, int h) {
  switch (d) {
    case Kind::kRGB24: libyuv::ARGBToRGB24(argb, as, dp, ds, w, h); break;
    case Kind::kRAW: libyuv::ARGBToRAW(argb, as, dp, ds, w, h); break;
    case Kind::kABGR: libyuv::ARGBToABGR(argb, as, dp, ds, w, h); break;
    default: break;
  }
}

}  // namespace

bool IsNvFormat(GstVideoFormat f) {
  const Kind k = KindOf(f);
  return k == Kind::kI420 || k == Kind::kNV12 || k == Kind::kGray || IsRgb(k);
}


// ---------------------------------------------------------------------------------------------
// ConvertPool

ConvertPool& ConvertPool::Get() {
  // Never destroyed (see convert.h "Threading model"): its threads are never joined.
  static ConvertPool* pool = [] {
    libyuv::InitCpuFlags();  // once, before any thread uses libyuv (it caches the CPU flags lazily)
    return new ConvertPool();
  }();
  return *pool;
}

void ConvertPool::Reserve(int n) {
  n = std::min(std::max(n, 1), kMaxConvertThreads);
  std::lock_guard<std::mutex> lock(mu_);
  while (threads_ < n) {
    try {
      std::thread([this] { Loop(); }).detach();
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones we have share the work (none: Run() runs inline)
    }
    threads_++;
  }
}

int ConvertPool::threads() {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_;
}

void ConvertPool::Run(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  std::unique_lock<std::mutex> lock(mu_);
  if (threads_ == 0) {
    lock.unlock();
    for (int i = 0; i < n; i++) fn(i);
    return;
  }
  Batch batch{&fn, n, {}};
  for (int i = 0; i < n; i++) tasks_.push_back(Task{&batch, i});
  if (n == 1) work_.notify_one();
  else work_.notify_all();
  // The last task notifies under mu_, and `batch` is only destroyed after this wait reacquires
  // mu_, so no pool thread touches it afterwards.
  batch.done.wait(lock, [&] { return batch.left == 0; });
}

void ConvertPool::Loop() {
#ifdef __linux__
  pthread_setname_np(pthread_self(), "nv-convert");  // shows in top -H, gdb, perf
#endif
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_.wait(lock, [this] { return !tasks_.empty(); });
    Task t = tasks_.front();
    tasks_.pop_front();
    lock.unlock();
    (*t.batch->fn)(t.index);
    lock.lock();
    if (--t.batch->left == 0) t.batch->done.notify_all();
  }
}

// ---------------------------------------------------------------------------------------------
// BufferPool

namespace {
std::atomic<int64_t> g_live_blocks{0};
}

int64_t BufferPool::live_blocks() { return g_live_blocks.load(); }

BufferPool::~BufferPool() {
  for (uint8_t* p : free_) {
    std::free(p);
    g_live_blocks--;
  }
}

void BufferPool::SetBlockSize(size_t size) {
  std::vector<uint8_t*> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (size == block_size_) return;
    block_size_ = size;
    drop.swap(free_);
  }
  for (uint8_t* p : drop) {
    std::free(p);
    g_live_blocks--;
  }
}

GstBuffer* BufferPool::Acquire(uint8_t** data) {
  uint8_t* p = nullptr;
  size_t size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    size = block_size_;
    if (!free_.empty()) {
      p = free_.back();
      free_.pop_back();
    }
  }
  if (size == 0) return nullptr;
  if (p == nullptr) {
    void* v = nullptr;
    if (posix_memalign(&v, kAlign, size) != 0) return nullptr;
    p = static_cast<uint8_t*>(v);
    g_live_blocks++;
  }
  auto* block = new Block{shared_from_this(), p, size};
  *data = p;
  return gst_buffer_new_wrapped_full(static_cast<GstMemoryFlags>(0), p, size, 0, size, block, &BufferPool::Return);
}

void BufferPool::Return(gpointer user) {
  auto* block = static_cast<Block*>(user);
  BufferPool* pool = block->pool.get();
  {
    std::lock_guard<std::mutex> lock(pool->mu_);
    if (block->size == pool->block_size_ && pool->free_.size() < pool->max_free_) {
      pool->free_.push_back(block->data);
      block->data = nullptr;
    }
  }
  if (block->data != nullptr) {
    std::free(block->data);
    g_live_blocks--;
  }
  delete block;  // may drop the last reference to the pool (its destructor frees the free list)
}

// ---------------------------------------------------------------------------------------------
// Converter

struct Converter::Impl {
  GstVideoInfo in{};       // the decoded frames (their caps)
  Kind src = Kind::kNone;  // decoded
  Kind mid = Kind::kNone;  // after the scaling step
  Kind dst = Kind::kNone;  // delivered
  int sw = 0, sh = 0;      // decoded size
  int W = 0, H = 0;        // delivered size
  int rx = 0, ry = 0, rw = 0, rh = 0;  // the picture inside the delivered frame (the rest is border)
  bool scale = false;      // rw×rh differs from sw×sh
  bool convert = false;    // mid differs from dst
  // Before scaling, formats whose interleaved samples libyuv cannot scale accurately are split
  // into planes (libyuv's UVScale / ARGBScale / RGBScale bilinear filters weigh neighbours by
  // 127/128 and darkened a solid colour by 1–2 levels; ScalePlane is exact; UVScale_16 handles
  // only some ratios): NV12 → the U and V planes of an I420 image (its Y plane borrowed), P010 →
  // I010, packed RGB → one plane per byte.
  enum class Pre { kNone, kNV12, kP010, kRgb } pre = Pre::kNone;
  bool borders = false;
  int bands = 1;
  std::vector<int> band_start;  // bands + 1 row indices (even, except possibly the last)
  Matrix m;
  // libyuv's limited-range BT.709 and BT.2020 constants are inexact: their U → B coefficient
  // (2.11, 2.14) does not fit the 8-bit multiplier of its SIMD kernels and is clamped to 2.0
  // (measured: blue off by up to 11 levels). For those, Y'CbCr → RGB expands the rows to full
  // range first (a vectorized pass, in chunks per band) and converts with the full-range constants
  // (measured: within 1–2 levels). BT.601 limited (2.02 → 2.0) and every full-range set are used directly.
  bool expand = false;
  Matrix m_full;
  size_t expand_bytes = 0;  // per band: the expanded chunk, before the two-pass scratch
  uint8_t gray10[1024];     // 10-bit luma → GRAY8 (8-bit: GrayFrom8's arithmetic)
  Image pre_img;           // Pre::kNV12 (I420, Y unset) / Pre::kP010 (I010) at the decoded size
  int rgb_channels = 0;    // Pre::kRgb: planes per pixel (3 or 4), by byte position
  uint8_t* rgb_src[4] = {};  // ... at the decoded size
  uint8_t* rgb_dst[4] = {};  // ... scaled
  int rgb_src_stride = 0, rgb_dst_stride = 0;
  Image scaled;            // the scaling step's output when a conversion follows
  Scratch pre_mem, scaled_mem, band_mem;
  size_t band_bytes = 0;
  int threads = 2;

  void PlanBands() {
    const int rows = rh;
    int n = std::max(1, std::min(threads, rows / 16));
    band_start.assign(1, 0);
    for (int i = 1; i < n; i++) {
      int r = static_cast<int>(static_cast<int64_t>(rows) * i / n) & ~1;
      if (r <= band_start.back()) continue;
      band_start.push_back(r);
    }
    band_start.push_back(rows);
    bands = static_cast<int>(band_start.size()) - 1;
  }

  void BuildGrayLuts() {
    // 10 bits, in the same 16.16 fixed point as @nv/frame's convertFrame uses for 8 bits.
    const int iy10 = static_cast<int>(65536.0 * 255.0 / 876.0 + 0.5);
    const int full10 = static_cast<int>(65536.0 * 255.0 / 1023.0 + 0.5);
    for (int v = 0; v < 1024; v++) {
      const int g = m.full ? ((v * full10 + 32768) >> 16) : (((v - 64) * iy10 + 32768) >> 16);
      gray10[v] = static_cast<uint8_t>(std::min(255, std::max(0, g)));
    }
  }

  // Scales plane p of `s` into plane p of `d` (kinds may differ in chroma subsampling only).
  void ScaleOne(const Image& s, const Image& d, int p) const {
    int spw, sph, dpw, dph;
    PlaneDims(s.kind, p, s.width, s.height, &spw, &sph);
    PlaneDims(d.kind, p, d.width, d.height, &dpw, &dph);
    const libyuv::FilterMode f = libyuv::kFilterBilinear;
    switch (s.kind) {
      case Kind::kI010: case Kind::kI410:
        libyuv::ScalePlane_16(Row16(s.p[p], 0), S16(s.p[p]), spw, sph, Row16w(d.p[p], 0), S16(d.p[p]), dpw, dph, f);
        break;
      default:  // I420, Y444, GRAY8 (NV12, P010 and packed RGB are split first: see Pre)
        libyuv::ScalePlane(s.p[p].data, s.p[p].stride, spw, sph, d.p[p].data, d.p[p].stride, dpw, dph, f);
        break;
    }
  }

  // Converts rows [y0, y1) of `s` into the same rows of `d` (same size; y0 even).
  // Rows [y0, y1) of `s` → the same rows of `d` (see `expand`).
  void Band(const Image& s, const Image& d, int y0, int y1, uint8_t* scratch) const {
    if (!expand || !IsRgb(d.kind)) {
      ConvertBand(s, d, y0, y1, scratch, m);
      return;
    }
    for (int c0 = y0; c0 < y1; c0 += kChunkRows) {
      const int n = std::min(kChunkRows, y1 - c0);
      Image tmp;
      LayOut(s.kind, s.width, n, scratch, &tmp);
      ExpandRows(Shift(s, c0), tmp, n);
      ConvertBand(tmp, Shift(d, c0), 0, n, scratch + expand_bytes, m_full);
    }
  }

  // Converts rows [y0, y1) of `s` into the same rows of `d` (same size; y0 even) with matrix `m`.
  void ConvertBand(const Image& s, const Image& d, int y0, int y1, uint8_t* scratch, const Matrix& m) const {
    using namespace libyuv;
    const int w = s.width, h = y1 - y0;
    const int sc = Is420(s.kind) ? y0 / 2 : y0;  // the band's first source chroma row
    const int dc = y0 / 2;                       // ... and a 4:2:0 target's
    const int cw = (w + 1) / 2;
    const int ch = (y1 + 1) / 2 - y0 / 2;        // 4:2:0 chroma rows of the band
    const Plane& S0 = s.p[0];
    const Plane& S1 = s.p[1];
    const Plane& S2 = s.p[2];
    uint8_t* D0 = RowOf(d.p[0], y0);
    const int ds0 = d.p[0].stride;
    switch (s.kind) {
      case Kind::kI420: {
        const uint8_t* Y = RowOf(S0, y0);
        const uint8_t* U = RowOf(S1, sc);
        const uint8_t* V = RowOf(S2, sc);
        switch (d.kind) {
          case Kind::kRAW: I420ToRGB24Matrix(Y, S0.stride, V, S2.stride, U, S1.stride, D0, ds0, m.yvu, w, h); break;
          case Kind::kRGB24: I420ToRGB24Matrix(Y, S0.stride, U, S1.stride, V, S2.stride, D0, ds0, m.yuv, w, h); break;
          case Kind::kARGB: I420ToARGBMatrix(Y, S0.stride, U, S1.stride, V, S2.stride, D0, ds0, m.yuv, w, h); break;
          case Kind::kABGR: I420ToARGBMatrix(Y, S0.stride, V, S2.stride, U, S1.stride, D0, ds0, m.yvu, w, h); break;
          case Kind::kNV12:
            CopyPlane(Y, S0.stride, D0, ds0, w, h);
            MergeUVPlane(U, S1.stride, V, S2.stride, RowOf(d.p[1], dc), d.p[1].stride, cw, ch);
            break;
          case Kind::kGray: GrayFrom8(Y, S0.stride, D0, ds0, w, h, m.full); break;
          default: break;
        }
        break;
      }
      case Kind::kNV12: {
        const uint8_t* Y = RowOf(S0, y0);
        const uint8_t* UV = RowOf(S1, sc);
        switch (d.kind) {
          case Kind::kRAW: NV21ToRGB24Matrix(Y, S0.stride, UV, S1.stride, D0, ds0, m.yvu, w, h); break;
          case Kind::kRGB24: NV12ToRGB24Matrix(Y, S0.stride, UV, S1.stride, D0, ds0, m.yuv, w, h); break;
          case Kind::kARGB: NV12ToARGBMatrix(Y, S0.stride, UV, S1.stride, D0, ds0, m.yuv, w, h); break;
          case Kind::kABGR: NV21ToARGBMatrix(Y, S0.stride, UV, S1.stride, D0, ds0, m.yvu, w, h); break;
          case Kind::kI420:
            CopyPlane(Y, S0.stride, D0, ds0, w, h);
            SplitUVPlane(UV, S1.stride, RowOf(d.p[1], dc), d.p[1].stride, RowOf(d.p[2], dc), d.p[2].stride, cw, ch);
            break;
          case Kind::kGray: GrayFrom8(Y, S0.stride, D0, ds0, w, h, m.full); break;
          default: break;
        }
        break;
      }
      case Kind::kI444: {
        const uint8_t* Y = RowOf(S0, y0);
        const uint8_t* U = RowOf(S1, y0);
        const uint8_t* V = RowOf(S2, y0);
        switch (d.kind) {
          case Kind::kRAW: I444ToRGB24Matrix(Y, S0.stride, V, S2.stride, U, S1.stride, D0, ds0, m.yvu, w, h); break;
          case Kind::kRGB24: I444ToRGB24Matrix(Y, S0.stride, U, S1.stride, V, S2.stride, D0, ds0, m.yuv, w, h); break;
          case Kind::kARGB: I444ToARGBMatrix(Y, S0.stride, U, S1.stride, V, S2.stride, D0, ds0, m.yuv, w, h); break;
          case Kind::kABGR: I444ToARGBMatrix(Y, S0.stride, V, S2.stride, U, S1.stride, D0, ds0, m.yvu, w, h); break;
          case Kind::kI420:
            CopyPlane(Y, S0.stride, D0, ds0, w, h);
            BoxDown2<uint8_t>(S1, w, y0, y1, d.p[1], 1, 0);
            BoxDown2<uint8_t>(S2, w, y0, y1, d.p[2], 1, 0);
            break;
          case Kind::kNV12: {
            CopyPlane(Y, S0.stride, D0, ds0, w, h);
            Plane v = d.p[1];
            v.data += 1;
            BoxDown2<uint8_t>(S1, w, y0, y1, d.p[1], 2, 0);
            BoxDown2<uint8_t>(S2, w, y0, y1, v, 2, 0);
            break;
          }
          case Kind::kGray: GrayFrom8(Y, S0.stride, D0, ds0, w, h, m.full); break;
          default: break;
        }
        break;
      }
      case Kind::kI010: case Kind::kI410: {
        const bool sub = s.kind == Kind::kI010;
        const uint16_t* Y = Row16(S0, y0);
        const uint16_t* U = Row16(S1, sc);
        const uint16_t* V = Row16(S2, sc);
        const auto argb = [&](const uint16_t* y, const uint16_t* u, const uint16_t* v, const libyuv::YuvConstants* k,
                              uint8_t* out, int os, int rows) {
          if (sub) I010ToARGBMatrix(y, S16(S0), u, S16(S1), v, S16(S2), out, os, k, w, rows);
          else I410ToARGBMatrix(y, S16(S0), u, S16(S1), v, S16(S2), out, os, k, w, rows);
        };
        switch (d.kind) {
          case Kind::kARGB: argb(Y, U, V, m.yuv, D0, ds0, h); break;
          case Kind::kABGR: argb(Y, V, U, m.yvu, D0, ds0, h); break;
          case Kind::kRAW: case Kind::kRGB24:
            // No 10-bit → 24-bit function in libyuv: B,G,R,A rows in scratch, then repacked.
            for (int c0 = 0; c0 < h; c0 += kChunkRows) {
              const int n = std::min(kChunkRows, h - c0);
              const int cr = sub ? c0 / 2 : c0;
              argb(Y + static_cast<ptrdiff_t>(c0) * S16(S0), U + static_cast<ptrdiff_t>(cr) * S16(S1),
                   V + static_cast<ptrdiff_t>(cr) * S16(S2), m.yuv, scratch, w * 4, n);
              FromArgbRows(scratch, w * 4, d.kind, D0 + static_cast<ptrdiff_t>(c0) * ds0, ds0, w, n);
            }
            break;
          case Kind::kI420: case Kind::kNV12: {
            Convert16To8Plane(Y, S16(S0), D0, ds0, 16384, w, h);
            if (!sub) {  // 4:4:4 → 4:2:0 with the box, straight from 10 bits
              Plane du = d.p[1], dv = d.kind == Kind::kI420 ? d.p[2] : d.p[1];
              if (d.kind == Kind::kNV12) dv.data += 1;
              const int step = d.kind == Kind::kNV12 ? 2 : 1;
              BoxDown2<uint16_t>(S1, w, y0, y1, du, step, 2);
              BoxDown2<uint16_t>(S2, w, y0, y1, dv, step, 2);
            } else if (d.kind == Kind::kI420) {
              Convert16To8Plane(U, S16(S1), RowOf(d.p[1], dc), d.p[1].stride, 16384, cw, ch);
              Convert16To8Plane(V, S16(S2), RowOf(d.p[2], dc), d.p[2].stride, 16384, cw, ch);
            } else {
              // U and V to 8 bits in scratch, then interleaved.
              const int rows = kChunkRows / 2;
              uint8_t* su = scratch;
              uint8_t* sv = scratch + static_cast<size_t>(cw) * rows;
              for (int c0 = 0; c0 < ch; c0 += rows) {
                const int n = std::min(rows, ch - c0);
                Convert16To8Plane(U + static_cast<ptrdiff_t>(c0) * S16(S1), S16(S1), su, cw, 16384, cw, n);
                Convert16To8Plane(V + static_cast<ptrdiff_t>(c0) * S16(S2), S16(S2), sv, cw, 16384, cw, n);
                MergeUVPlane(su, cw, sv, cw, RowOf(d.p[1], dc + c0), d.p[1].stride, cw, n);
              }
            }
            break;
          }
          case Kind::kGray: GrayFrom16(Y, S16(S0), D0, ds0, w, h, gray10, 0); break;
          default: break;
        }
        break;
      }
      case Kind::kP010: {
        const uint16_t* Y = Row16(S0, y0);
        const uint16_t* UV = Row16(S1, sc);
        switch (d.kind) {
          case Kind::kARGB: P010ToARGBMatrix(Y, S16(S0), UV, S16(S1), D0, ds0, m.yuv, w, h); break;
          case Kind::kABGR: case Kind::kRAW: case Kind::kRGB24:
            // P010 cannot swap U and V by pointer: B,G,R,A rows in scratch, then repacked.
            for (int c0 = 0; c0 < h; c0 += kChunkRows) {
              const int n = std::min(kChunkRows, h - c0);
              P010ToARGBMatrix(Y + static_cast<ptrdiff_t>(c0) * S16(S0), S16(S0), UV + static_cast<ptrdiff_t>(c0 / 2) * S16(S1), S16(S1),
                               scratch, w * 4, m.yuv, w, n);
              FromArgbRows(scratch, w * 4, d.kind, D0 + static_cast<ptrdiff_t>(c0) * ds0, ds0, w, n);
            }
            break;
          case Kind::kNV12:
            Convert16To8Plane(Y, S16(S0), D0, ds0, 256, w, h);  // MSB-aligned: the top 8 bits
            Convert16To8Plane(UV, S16(S1), RowOf(d.p[1], dc), d.p[1].stride, 256, cw * 2, ch);
            break;
          case Kind::kI420: {
            Convert16To8Plane(Y, S16(S0), D0, ds0, 256, w, h);
            const int rows = kChunkRows / 2;
            for (int c0 = 0; c0 < ch; c0 += rows) {
              const int n = std::min(rows, ch - c0);
              Convert16To8Plane(UV + static_cast<ptrdiff_t>(c0) * S16(S1), S16(S1), scratch, cw * 2, 256, cw * 2, n);
              SplitUVPlane(scratch, cw * 2, RowOf(d.p[1], dc + c0), d.p[1].stride, RowOf(d.p[2], dc + c0), d.p[2].stride, cw, n);
            }
            break;
          }
          case Kind::kGray: GrayFrom16(Y, S16(S0), D0, ds0, w, h, gray10, 6); break;
          default: break;
        }
        break;
      }
      case Kind::kRGB24: case Kind::kRAW: case Kind::kARGB: case Kind::kABGR:
        Shuffle(s.kind, d.kind, RowOf(S0, y0), S0.stride, D0, ds0, w, h);
        break;
      default:
        break;
    }
  }

  // Fills everything of `o` outside the picture rectangle with black.
  void FillBorders(const Image& o) const {
    const int x0 = rx, y0 = ry, x1 = rx + rw, y1 = ry + rh;
    const auto fill = [](const Plane& p, int bytes_per, int w, int h, int px0, int py0, int px1, int py1, uint32_t v8) {
      // Rows above and below the picture, then the columns left and right of it.
      if (py0 > 0) libyuv::SetPlane(p.data, p.stride, w * bytes_per, py0, v8);
      if (py1 < h) libyuv::SetPlane(RowOf(p, py1), p.stride, w * bytes_per, h - py1, v8);
      if (px0 > 0) libyuv::SetPlane(RowOf(p, py0), p.stride, px0 * bytes_per, py1 - py0, v8);
      if (px1 < w) libyuv::SetPlane(RowOf(p, py0) + static_cast<ptrdiff_t>(px1) * bytes_per, p.stride, (w - px1) * bytes_per, py1 - py0, v8);
    };
    switch (o.kind) {
      case Kind::kARGB: case Kind::kABGR: {
        const uint32_t black = 0xFF000000u;  // bytes 0,0,0,255 in both orders
        if (y0 > 0) libyuv::ARGBRect(o.p[0].data, o.p[0].stride, 0, 0, W, y0, black);
        if (y1 < H) libyuv::ARGBRect(o.p[0].data, o.p[0].stride, 0, y1, W, H - y1, black);
        if (x0 > 0) libyuv::ARGBRect(o.p[0].data, o.p[0].stride, 0, y0, x0, y1 - y0, black);
        if (x1 < W) libyuv::ARGBRect(o.p[0].data, o.p[0].stride, x1, y0, W - x1, y1 - y0, black);
        break;
      }
      case Kind::kRGB24: case Kind::kRAW: fill(o.p[0], 3, W, H, x0, y0, x1, y1, 0); break;
      case Kind::kGray: fill(o.p[0], 1, W, H, x0, y0, x1, y1, 0); break;
      case Kind::kI420: case Kind::kNV12: {
        fill(o.p[0], 1, W, H, x0, y0, x1, y1, m.full ? 0 : 16);
        const int cw = (W + 1) / 2, chh = (H + 1) / 2;
        const int cx0 = x0 / 2, cy0 = y0 / 2, cx1 = (x1 + 1) / 2, cy1 = (y1 + 1) / 2;
        if (o.kind == Kind::kNV12) {
          fill(o.p[1], 2, cw, chh, cx0, cy0, cx1, cy1, 128);
        } else {
          fill(o.p[1], 1, cw, chh, cx0, cy0, cx1, cy1, 128);
          fill(o.p[2], 1, cw, chh, cx0, cy0, cx1, cy1, 128);
        }
        break;
      }
      default:
        break;
    }
  }
};

Converter::Converter(const OutputRequest& req, size_t max_free)
    : impl_(new Impl()), req_(req), pool_(std::make_shared<BufferPool>(max_free)) {
  impl_->threads = std::min(std::max(req.threads, 1), kMaxConvertThreads);
}

Converter::~Converter() {
  // Frees the free list now; blocks still in frames are freed as those are released.
  pool_->SetBlockSize(0);
}

bool Converter::Configure(const GstVideoInfo& in, std::string* error) {
  Impl& k = *impl_;
  configured_ = false;
  passthrough_ = false;
  const GstVideoFormat in_fmt = GST_VIDEO_INFO_FORMAT(&in);
  k.in = in;
  k.src = KindOf(in_fmt);
  if (k.src == Kind::kNone) {
    *error = std::string("nv cannot convert the decoded format ") + gst_video_format_to_string(in_fmt);
    return false;
  }
  // `native`: the decoder's format when nv's PixelFormat has it; Y444 and the 10-bit formats
  // become I420 (8-bit), which nv has.
  GstVideoFormat out_fmt = req_.native ? (IsNvFormat(in_fmt) ? in_fmt : GST_VIDEO_FORMAT_I420) : req_.format;
  k.dst = KindOf(out_fmt);
  if (!HasPath(k.src, k.dst) && !(k.src == k.dst)) {
    *error = std::string("no conversion from ") + gst_video_format_to_string(in_fmt) + " to " + gst_video_format_to_string(out_fmt);
    return false;
  }
  k.sw = GST_VIDEO_INFO_WIDTH(&in);
  k.sh = GST_VIDEO_INFO_HEIGHT(&in);
  if (k.sw <= 0 || k.sh <= 0) {
    *error = "the decoded frames have no size";
    return false;
  }
  k.W = req_.width > 0 ? req_.width : k.sw;
  k.H = req_.height > 0 ? req_.height : k.sh;
  // The picture rectangle: videoconvertscale's add-borders arithmetic (display aspect kept, output
  // pixels square, the borders split evenly).
  k.rx = k.ry = 0;
  k.rw = k.W;
  k.rh = k.H;
  if (req_.width > 0) {
    const int par_n = GST_VIDEO_INFO_PAR_N(&in) > 0 ? GST_VIDEO_INFO_PAR_N(&in) : 1;
    const int par_d = GST_VIDEO_INFO_PAR_D(&in) > 0 ? GST_VIDEO_INFO_PAR_D(&in) : 1;
    gint from_n = 0, from_d = 0, to_n = 0, to_d = 0;
    if (gst_util_fraction_multiply(k.sw, k.sh, par_n, par_d, &from_n, &from_d) &&
        gst_util_fraction_multiply(k.W, k.H, 1, 1, &to_n, &to_d) && (from_n != to_n || from_d != to_d)) {
      const int to_h = static_cast<int>(gst_util_uint64_scale_int(k.W, from_d, from_n));
      if (to_h <= k.H) {
        k.rh = std::max(1, to_h);
        k.ry = (k.H - k.rh) / 2;
      } else {
        k.rw = std::max(1, std::min(k.W, static_cast<int>(gst_util_uint64_scale_int(k.H, from_n, from_d))));
        k.rx = (k.W - k.rw) / 2;
      }
      if (Is420(k.dst)) {
        k.rx &= ~1;
        k.ry &= ~1;
      }
    }
  }
  k.borders = k.rw != k.W || k.rh != k.H;
  k.scale = k.rw != k.sw || k.rh != k.sh;
  k.pre = Impl::Pre::kNone;
  k.mid = k.src;
  if (k.scale) {
    if (k.src == Kind::kNV12) { k.pre = Impl::Pre::kNV12; k.mid = Kind::kI420; }
    if (k.src == Kind::kP010) { k.pre = Impl::Pre::kP010; k.mid = Kind::kI010; }
    if (Is420(k.dst) && k.src == Kind::kI444) k.mid = Kind::kI420;  // chroma scaled straight to 4:2:0
    if (Is420(k.dst) && k.src == Kind::kI410) k.mid = Kind::kI010;
    if (IsRgb(k.src)) { k.pre = Impl::Pre::kRgb; k.mid = k.dst; }       // split, scaled, merged in the target's order
  }
  k.convert = k.mid != k.dst;
  passthrough_ = !k.scale && !k.convert && !k.borders;

  k.m = MatrixFor(in, false);
  k.m_full = MatrixFor(in, true);
  k.expand = !k.m.full && std::strcmp(k.m.name, "bt601") != 0;
  k.BuildGrayLuts();

  // The delivered frames: GStreamer's default layout for the format and size.
  if (!gst_video_info_set_format(&out_, out_fmt, k.W, k.H)) {
    *error = "cannot describe the output frames";
    return false;
  }
  GST_VIDEO_INFO_FPS_N(&out_) = GST_VIDEO_INFO_FPS_N(&in);
  GST_VIDEO_INFO_FPS_D(&out_) = GST_VIDEO_INFO_FPS_D(&in);
  if (req_.width == 0) {
    GST_VIDEO_INFO_PAR_N(&out_) = GST_VIDEO_INFO_PAR_N(&in);
    GST_VIDEO_INFO_PAR_D(&out_) = GST_VIDEO_INFO_PAR_D(&in);
  }
  if (!IsRgb(k.dst)) out_.colorimetry = in.colorimetry;  // Y'CbCr values keep their matrix and range
  if (passthrough_) {
    out_ = in;
    configured_ = true;
    describe_ = std::string("none (") + KindName(k.src) + ")";
    return true;
  }
  pool_->SetBlockSize(GST_VIDEO_INFO_SIZE(&out_));

  // Scratch: the I010 copy of a P010 frame, the scaled picture when a conversion follows, and per
  // band the rows of a two-pass conversion.
  if (k.pre == Impl::Pre::kP010) {
    const size_t n = LayOut(Kind::kI010, k.sw, k.sh, nullptr, &k.pre_img);
    if (!k.pre_mem.Reserve(n)) { *error = "out of memory"; return false; }
    LayOut(Kind::kI010, k.sw, k.sh, k.pre_mem.data, &k.pre_img);
  } else if (k.pre == Impl::Pre::kNV12) {
    // The U and V planes only (Y is the decoded frame's, per frame).
    const int cw = (k.sw + 1) / 2, ch = (k.sh + 1) / 2;
    const size_t stride = AlignUp(static_cast<size_t>(cw));
    if (!k.pre_mem.Reserve(2 * stride * ch)) { *error = "out of memory"; return false; }
    k.pre_img = Image{Kind::kI420, k.sw, k.sh, {}};
    k.pre_img.p[1] = Plane{k.pre_mem.data, static_cast<int>(stride)};
    k.pre_img.p[2] = Plane{k.pre_mem.data + stride * ch, static_cast<int>(stride)};
  } else if (k.pre == Impl::Pre::kRgb) {
    k.rgb_channels = k.src == Kind::kARGB || k.src == Kind::kABGR ? 4 : 3;
    k.rgb_src_stride = static_cast<int>(AlignUp(static_cast<size_t>(k.sw)));
    k.rgb_dst_stride = static_cast<int>(AlignUp(static_cast<size_t>(k.rw)));
    const size_t a = static_cast<size_t>(k.rgb_src_stride) * k.sh, b = static_cast<size_t>(k.rgb_dst_stride) * k.rh;
    if (!k.pre_mem.Reserve((a + b) * k.rgb_channels)) { *error = "out of memory"; return false; }
    for (int c = 0; c < k.rgb_channels; c++) {
      k.rgb_src[c] = k.pre_mem.data + a * c;
      k.rgb_dst[c] = k.pre_mem.data + a * k.rgb_channels + b * c;
    }
  }
  if (k.scale && k.convert) {
    const size_t n = LayOut(k.mid, k.rw, k.rh, nullptr, &k.scaled);
    if (!k.scaled_mem.Reserve(n)) { *error = "out of memory"; return false; }
    LayOut(k.mid, k.rw, k.rh, k.scaled_mem.data, &k.scaled);
  }
  k.PlanBands();
  Image probe;  // sizing only
  k.expand_bytes = AlignUp(LayOut(k.mid, k.rw, kChunkRows, nullptr, &probe));
  k.band_bytes = k.expand_bytes + AlignUp(static_cast<size_t>(k.rw) * 4 * kChunkRows + 2 * kAlign);
  if (k.convert && !k.band_mem.Reserve(k.band_bytes * k.bands)) { *error = "out of memory"; return false; }
  ConvertPool::Get().Reserve(k.threads);

  describe_.clear();
  if (k.pre == Impl::Pre::kP010) describe_ += "P010_10LE→I420_10LE, ";
  if (k.pre == Impl::Pre::kNV12) describe_ += "NV12→I420, ";
  if (k.pre == Impl::Pre::kRgb) describe_ += std::string(KindName(k.src)) + "→planes, ";
  if (k.scale) describe_ += std::string("scale ") + (k.pre == Impl::Pre::kRgb ? "planes" : KindName(k.mid)) + " " + std::to_string(k.sw) + "x" + std::to_string(k.sh) + "→" +
                            std::to_string(k.rw) + "x" + std::to_string(k.rh) + ", ";
  if (k.convert) {
    describe_ += std::string(KindName(k.mid)) + "→" + KindName(k.dst) + " (" + k.m.name + (k.m.full ? " full" : " limited") +
                 (k.expand && IsRgb(k.dst) ? ", range-expanded" : "") + "), ";
  }
  if (k.pre == Impl::Pre::kRgb) describe_ += std::string("planes→") + KindName(k.dst) + ", ";
  if (k.borders) describe_ += "borders, ";
  describe_ += std::to_string(k.bands) + " band(s)";
  configured_ = true;
  return true;
}

GstBuffer* Converter::Convert(GstBuffer* in, std::string* error) {
  Impl& k = *impl_;
  if (!configured_ || passthrough_) {
    gst_buffer_unref(in);
    *error = "conversion not configured";
    return nullptr;
  }
  // The decoded frame as planned for (its caps), mapped through its video meta.
  GstVideoFrame vf;
  GstVideoInfo in_info = k.in;
  if (!gst_video_frame_map(&vf, &in_info, in, GST_MAP_READ)) {
    gst_buffer_unref(in);
    *error = "could not map the decoded frame";
    return nullptr;
  }
  Image S;
  S.kind = k.src;
  S.width = k.sw;
  S.height = k.sh;
  for (int p = 0; p < Planes(k.src); p++) {
    S.p[p].data = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vf, p));
    S.p[p].stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p);
  }
  uint8_t* base = nullptr;
  GstBuffer* out = pool_->Acquire(&base);
  if (out == nullptr) {
    gst_video_frame_unmap(&vf);
    gst_buffer_unref(in);
    *error = "out of memory for the converted frame";
    return nullptr;
  }
  Image O;
  O.kind = k.dst;
  O.width = k.W;
  O.height = k.H;
  for (int p = 0; p < Planes(k.dst); p++) {
    O.p[p].data = base + GST_VIDEO_INFO_PLANE_OFFSET(&out_, p);
    O.p[p].stride = GST_VIDEO_INFO_PLANE_STRIDE(&out_, p);
  }
  const Image C = Window(O, k.rx, k.ry, k.rw, k.rh);
  ConvertPool& pool = ConvertPool::Get();

  Image src = S;
  if (k.pre == Impl::Pre::kP010) {
    pool.Run(1, [&](int) {
      libyuv::P010ToI010(Row16(S.p[0], 0), S16(S.p[0]), Row16(S.p[1], 0), S16(S.p[1]), Row16w(k.pre_img.p[0], 0), S16(k.pre_img.p[0]),
                         Row16w(k.pre_img.p[1], 0), S16(k.pre_img.p[1]), Row16w(k.pre_img.p[2], 0), S16(k.pre_img.p[2]), k.sw, k.sh);
    });
    src = k.pre_img;
  } else if (k.pre == Impl::Pre::kNV12) {
    src = k.pre_img;
    src.p[0] = S.p[0];
    pool.Run(1, [&](int) {
      libyuv::SplitUVPlane(S.p[1].data, S.p[1].stride, src.p[1].data, src.p[1].stride, src.p[2].data, src.p[2].stride,
                           (k.sw + 1) / 2, (k.sh + 1) / 2);
    });
  }
  if (k.pre == Impl::Pre::kRgb) {
    // Packed RGB: split by byte, scale each plane, merge into the target's byte order.
    const int n = k.rgb_channels;
    pool.Run(1, [&](int) {
      if (n == 3) {
        libyuv::SplitRGBPlane(S.p[0].data, S.p[0].stride, k.rgb_src[0], k.rgb_src_stride, k.rgb_src[1], k.rgb_src_stride, k.rgb_src[2],
                              k.rgb_src_stride, k.sw, k.sh);
      } else {  // SplitARGBPlane names bytes 0..3 b, g, r, a
        libyuv::SplitARGBPlane(S.p[0].data, S.p[0].stride, k.rgb_src[2], k.rgb_src_stride, k.rgb_src[1], k.rgb_src_stride, k.rgb_src[0],
                               k.rgb_src_stride, k.rgb_src[3], k.rgb_src_stride, k.sw, k.sh);
      }
    });
    pool.Run(n, [&](int c) {
      libyuv::ScalePlane(k.rgb_src[c], k.rgb_src_stride, k.sw, k.sh, k.rgb_dst[c], k.rgb_dst_stride, k.rw, k.rh, libyuv::kFilterBilinear);
    });
    // The plane holding each byte of the target: channel positions R, G, B, A per kind.
    const auto pos = [](Kind kind, int channel) { return (kind == Kind::kRAW || kind == Kind::kABGR) ? channel : channel == 3 ? 3 : 2 - channel; };
    const uint8_t* by[4] = {nullptr, nullptr, nullptr, nullptr};
    for (int b = 0; b < (k.dst == Kind::kARGB || k.dst == Kind::kABGR ? 4 : 3); b++) {
      const int channel = (k.dst == Kind::kRAW || k.dst == Kind::kABGR) ? b : (b == 3 ? 3 : 2 - b);
      const int from = pos(k.src, channel);
      by[b] = from < n ? k.rgb_dst[from] : nullptr;  // no alpha in the source: opaque
    }
    pool.Run(k.bands + (k.borders ? 1 : 0), [&](int t) {
      if (t == k.bands) { k.FillBorders(O); return; }
      const int y0 = k.band_start[t], rows = k.band_start[t + 1] - y0;
      const ptrdiff_t off = static_cast<ptrdiff_t>(y0) * k.rgb_dst_stride;
      uint8_t* d = RowOf(C.p[0], y0);
      if (k.dst == Kind::kRAW || k.dst == Kind::kRGB24) {
        libyuv::MergeRGBPlane(by[0] + off, k.rgb_dst_stride, by[1] + off, k.rgb_dst_stride, by[2] + off, k.rgb_dst_stride, d, C.p[0].stride,
                              k.rw, rows);
      } else {  // MergeARGBPlane writes bytes 0..3 from its b, g, r, a arguments
        libyuv::MergeARGBPlane(by[2] + off, k.rgb_dst_stride, by[1] + off, k.rgb_dst_stride, by[0] + off, k.rgb_dst_stride,
                               by[3] ? by[3] + off : nullptr, k.rgb_dst_stride, d, C.p[0].stride, k.rw, rows);
      }
    });
  } else if (k.scale) {
    const Image& to = k.convert ? k.scaled : C;
    const int planes = Planes(k.mid);
    // Y alone, the chroma planes together (or each alone when there are threads for it).
    const int groups = planes == 1 ? 1 : (k.threads >= planes ? planes : std::min(k.threads, 2));
    const bool fill_here = !k.convert && k.borders;
    pool.Run(groups + (fill_here ? 1 : 0), [&](int t) {
      if (t == groups) { k.FillBorders(O); return; }
      if (groups == 1) { for (int p = 0; p < planes; p++) k.ScaleOne(src, to, p); return; }
      if (groups == planes) { k.ScaleOne(src, to, t); return; }
      if (t == 0) { k.ScaleOne(src, to, 0); return; }
      for (int p = 1; p < planes; p++) k.ScaleOne(src, to, p);
    });
    src = to;
  }
  if (k.convert) {
    pool.Run(k.bands + (k.borders ? 1 : 0), [&](int t) {
      if (t == k.bands) { k.FillBorders(O); return; }
      k.Band(src, C, k.band_start[t], k.band_start[t + 1], k.band_mem.data + k.band_bytes * t);
    });
  }
  gst_video_frame_unmap(&vf);
  gst_buffer_copy_into(out, in, static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  gst_buffer_unref(in);  // back to the decoder's pool now, before the frame is queued
  gsize offsets[GST_VIDEO_MAX_PLANES];
  gint strides[GST_VIDEO_MAX_PLANES];
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&out_); p++) {
    offsets[p] = GST_VIDEO_INFO_PLANE_OFFSET(&out_, p);
    strides[p] = GST_VIDEO_INFO_PLANE_STRIDE(&out_, p);
  }
  gst_buffer_add_video_meta_full(out, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&out_), k.W, k.H, GST_VIDEO_INFO_N_PLANES(&out_),
                                 offsets, strides);
  return out;
}

}  // namespace nv
