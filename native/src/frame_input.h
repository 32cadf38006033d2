// frame_input: frames handed to a native encoder (NativeEncoder, NativeJpegEncoder), checked
// against the encoder's caps and turned into a GstBuffer on the JS thread.
//
// Two kinds of input:
//  - a NativeFrame handle (a decoded frame): its GstBuffer is referenced, never copied
//    (WrapShared); the encoder then holds its own reference, so the caller may release the
//    frame as soon as the call returns;
//  - a host frame { data: Uint8Array, offsets: number[], strides: number[] }: validated and the
//    bytes its planes reach copied once into a new GstBuffer with a video meta (CopyHost), so no
//    worker thread ever reads JS memory.
//
// Validation: every number from JS is checked as a double before any cast; plane rows and row
// bytes come from the caps (PlanesOf), never from JS; plane extents are computed with 64-bit
// checked arithmetic. Refusals throw TypeError (wrong type) or RangeError (bad value), each
// message prefixed with `who` (e.g. "encoder: …").
#ifndef NV_FRAME_INPUT_H_
#define NV_FRAME_INPUT_H_

#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

namespace nv {

// Where one plane of an encoder's format lives in a host frame, from the caps.
struct PlaneGeometry {
  uint64_t rows = 0;       // lines in this plane
  uint64_t row_bytes = 0;  // meaningful bytes per line (width × pixel stride)
};

namespace frame_input {

// Limits on numbers from JS. Each is checked as a double before any cast (no UB), and keeps
// every product and sum far below 2^63 (the sums are still done with checked arithmetic).
constexpr double kMaxDim = 65536;                  // width/height (@nv/frame's MAX_FRAME_DIMENSION)
constexpr double kMaxStride = 2147483647;          // GstVideoMeta strides are gint
constexpr double kMaxOffset = 9007199254740991.0;  // 2^53 - 1: exact as a JS number

// An integer in [lo, hi]: TypeError when `v` is not a number, RangeError when it is NaN,
// infinite, fractional or out of range.
inline int64_t IntArg(Napi::Env env, const Napi::Value& v, const std::string& who, const std::string& what, double lo, double hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, who + ": " + what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(d) && std::trunc(d) == d && d >= lo && d <= hi)) {
    throw Napi::RangeError::New(env, who + ": " + what + " must be an integer in [" + std::to_string(static_cast<int64_t>(lo)) + ", " +
                                     std::to_string(static_cast<int64_t>(hi)) + "]");
  }
  return static_cast<int64_t>(d);
}

// a + b × c in uint64, or false on overflow.
inline bool MulAdd(uint64_t a, uint64_t b, uint64_t c, uint64_t* out) {
  uint64_t bc = 0;
  return !__builtin_mul_overflow(b, c, &bc) && !__builtin_add_overflow(a, bc, out);
}

// The last byte (exclusive) a plane's rows reach: offset + stride × (rows − 1) + row_bytes.
inline bool PlaneEnd(uint64_t offset, uint64_t stride, const PlaneGeometry& g, uint64_t* end) {
  uint64_t last = 0;
  return g.rows > 0 && MulAdd(offset, stride, g.rows - 1, &last) && !__builtin_add_overflow(last, g.row_bytes, end);
}

// Rows and row bytes of every plane of `vinfo` (one component's height, and width × pixel
// stride: right for I420, NV12, RGB, BGR, RGBA, BGRA, GRAY8). False when a plane has no component.
inline bool PlanesOf(const GstVideoInfo& vinfo, PlaneGeometry* planes) {
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&vinfo); p++) {
    gint comps[GST_VIDEO_MAX_COMPONENTS];
    gst_video_format_info_component(vinfo.finfo, p, comps);
    const gint c = comps[0];
    if (c < 0) return false;
    planes[p].rows = static_cast<uint64_t>(GST_VIDEO_INFO_COMP_HEIGHT(&vinfo, c));
    planes[p].row_bytes = static_cast<uint64_t>(GST_VIDEO_INFO_COMP_WIDTH(&vinfo, c)) * static_cast<uint64_t>(GST_VIDEO_INFO_COMP_PSTRIDE(&vinfo, c));
  }
  return true;
}

// [sync, JS thread] Validates a NativeFrame's buffer against the caps (RangeError) and returns a
// writable sub-reference of it for timestamps (zero copy). Consumes `shared` (also on a throw).
inline GstBuffer* WrapShared(Napi::Env env, const std::string& who, const GstVideoInfo& vinfo, const PlaneGeometry* planes, GstBuffer* shared) {
  std::unique_ptr<GstBuffer, decltype(&gst_buffer_unref)> hold(shared, gst_buffer_unref);
  const gsize size = gst_buffer_get_size(shared);
  const guint n = GST_VIDEO_INFO_N_PLANES(&vinfo);
  // The same consistency gst_video_frame_map() asks for, plus every plane inside the buffer.
  if (GstVideoMeta* m = gst_buffer_get_video_meta(shared)) {
    if (m->format != GST_VIDEO_INFO_FORMAT(&vinfo) || m->width < static_cast<guint>(GST_VIDEO_INFO_WIDTH(&vinfo)) ||
        m->height < static_cast<guint>(GST_VIDEO_INFO_HEIGHT(&vinfo)) || m->n_planes != n) {
      throw Napi::RangeError::New(env, who + ": the frame's format or size does not match the encoder's");
    }
    for (guint i = 0; i < n; i++) {
      uint64_t end = 0;
      if (m->stride[i] < 0 || static_cast<uint64_t>(m->stride[i]) < planes[i].row_bytes ||
          !PlaneEnd(m->offset[i], static_cast<uint64_t>(m->stride[i]), planes[i], &end) || end > size) {
        throw Napi::RangeError::New(env, who + ": the frame's plane " + std::to_string(i) + " does not fit its buffer");
      }
    }
  } else if (size < GST_VIDEO_INFO_SIZE(&vinfo)) {
    throw Napi::RangeError::New(env, who + ": the frame's buffer is smaller than the encoder's frame size");
  }
  // Zero copy: the decoder's buffer itself (made a writable sub-reference for timestamps).
  GstBuffer* buf = gst_buffer_copy_region(shared, static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_METADATA | GST_BUFFER_COPY_MEMORY), 0, static_cast<gsize>(-1));
  if (!buf) throw Napi::Error::New(env, who + ": could not reference the frame's buffer");
  return buf;
}

// [sync, JS thread] Validates a host frame { data, offsets, strides } against the caps
// (TypeError/RangeError) and copies the bytes its planes span into a new GstBuffer with a video
// meta. Only the bytes the planes reach are copied (a huge array behind a small frame is not).
inline GstBuffer* CopyHost(Napi::Env env, const std::string& who, const GstVideoInfo& vinfo, const PlaneGeometry* planes, const Napi::Value& fv) {
  if (!fv.IsObject()) throw Napi::TypeError::New(env, who + ": frame must be a NativeFrame handle or { data, offsets, strides }");
  Napi::Object f = fv.As<Napi::Object>();
  Napi::Value dataV = f.Get("data"), offsV = f.Get("offsets"), stridesV = f.Get("strides");
  if (!dataV.IsTypedArray() || dataV.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, who + ": frame.data must be a Uint8Array");
  }
  if (!offsV.IsArray() || !stridesV.IsArray()) throw Napi::TypeError::New(env, who + ": frame.offsets and frame.strides must be arrays");
  Napi::Uint8Array data = dataV.As<Napi::Uint8Array>();
  Napi::Array offs = offsV.As<Napi::Array>(), strides = stridesV.As<Napi::Array>();
  const guint n = GST_VIDEO_INFO_N_PLANES(&vinfo);
  if (offs.Length() != n || strides.Length() != n) throw Napi::RangeError::New(env, who + ": plane count does not match the encoder format");
  // Read once: the length, then each number; a detached array reads as 0 bytes (refused below).
  const uint64_t length = data.ByteLength();
  gsize offset[GST_VIDEO_MAX_PLANES] = {0};
  gint stride[GST_VIDEO_MAX_PLANES] = {0};
  uint64_t need = 0;
  for (guint i = 0; i < n; i++) {
    const std::string k = std::to_string(i);
    const uint64_t o = static_cast<uint64_t>(IntArg(env, offs.Get(i), who, "frame.offsets[" + k + "]", 0, kMaxOffset));
    const uint64_t s = static_cast<uint64_t>(IntArg(env, strides.Get(i), who, "frame.strides[" + k + "]", 1, kMaxStride));
    if (s < planes[i].row_bytes) {
      throw Napi::RangeError::New(env, who + ": frame.strides[" + k + "] " + std::to_string(s) + " is smaller than the plane's row of " +
                                       std::to_string(planes[i].row_bytes) + " bytes");
    }
    uint64_t end = 0;
    if (!PlaneEnd(o, s, planes[i], &end) || end > length) {
      throw Napi::RangeError::New(env, who + ": plane " + k + " (offset " + std::to_string(o) + ", stride " + std::to_string(s) + ", " +
                                       std::to_string(planes[i].rows) + " rows) does not fit frame.data's " + std::to_string(length) + " bytes");
    }
    offset[i] = static_cast<gsize>(o);
    stride[i] = static_cast<gint>(s);
    need = std::max(need, end);
  }
  // Looked up again: node-addon-api caches the pointer and length, and a getter on offsets or
  // strides could have detached the array since.
  Napi::Uint8Array now = dataV.As<Napi::Uint8Array>();
  if (now.ByteLength() != length) throw Napi::RangeError::New(env, who + ": frame.data changed size while the frame was read");
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, static_cast<gsize>(need), nullptr);
  if (!buf) throw Napi::Error::New(env, who + ": out of memory for a " + std::to_string(need) + "-byte frame");
  gst_buffer_fill(buf, 0, now.Data(), static_cast<gsize>(need));
  gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&vinfo), GST_VIDEO_INFO_WIDTH(&vinfo),
                                 GST_VIDEO_INFO_HEIGHT(&vinfo), n, offset, stride);
  return buf;
}

}  // namespace frame_input
}  // namespace nv

#endif  // NV_FRAME_INPUT_H_
