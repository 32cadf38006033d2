// NativeEncoder: frames (+ box/label annotations) in, an H.264 MP4 file out.
//
// Pipeline, built element by element (the output path is a property, never launch syntax):
//   appsrc ! videoconvert ! video/x-raw,format=BGRx ! cairooverlay ! videoconvert
//          ! x264enc ! h264parse ! mp4mux ! filesink
// mp4mux writes fragmented MP4 when `fragmentMs` > 0 (moov up front, then one moof+mdat per
// fragment, unbuffered filesink), so a process killed mid-write leaves a file that plays up to
// its last complete fragment; x264enc's key-int-max (`keyIntMax`) keeps every fragment starting
// on a keyframe. `fragmentMs` 0 is the classic layout: one mdat, moov written only at EOS.
// Annotations are drawn by cairo (boxes, filled label backgrounds, text with cairo's toy font
// API) in cairooverlay's draw callback on the streaming thread; the JS thread hands them over
// through a mutex-protected map keyed by PTS.
//
// Threading: Push() and Finish() run their GStreamer calls on libuv worker threads
// (AsyncWorker) so a full encoder queue never blocks the JS thread; JS awaits each push before
// the next, so buffers enter appsrc in order. Frames from the decoder (NativeFrame handles)
// are pushed by reference (no copy); plain byte arrays are copied once into a GstBuffer, on the
// JS thread, before Push() returns (the worker never touches JS memory).
//
// Back-pressure: appsrc does not block (`block` is FALSE). A push blocked inside appsrc is never
// woken when the pipeline fails downstream (measured: a file on a full disk, /dev/full, hung the
// 7th push forever). The push worker waits itself instead, on EncoderState::cv, until appsrc's
// queue is below `max_bytes` (a buffer probe on appsrc's src pad counts buffers leaving the
// queue), an error is posted (a bus sync handler records it at once), or the encoder is
// finished/aborted; bounded by 120 s.
//
// Input validation: every number from JS is checked before use (integers as doubles before any
// cast). A host frame's plane count, offsets and strides must fit the encoder's caps (plane rows
// and row bytes come from the caps, never from JS) and the byte array's length with 64-bit
// checked arithmetic; a NativeFrame's buffer must match the caps too. Refusals are thrown
// synchronously as TypeError (wrong type) or RangeError (bad value), before anything is queued.
#ifndef NV_NATIVE_ENCODER_H_
#define NV_NATIVE_ENCODER_H_

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "frame_input.h"  // PlaneGeometry; the frame checks shared with NativeJpegEncoder

namespace nv {

struct Annotation {
  double x1, y1, x2, y2;  // pixels
  double r, g, b;         // 0..1
  double width;           // line width, px
  std::string label;
};

// Shared by the NativeEncoder (JS thread), its push/finish workers (libuv threads) and
// GStreamer's streaming threads (draw callback, buffer probe, bus sync handler); kept alive by
// shared_ptr until the last of the JS object and the workers lets go. Streaming-thread callbacks
// get a raw pointer: the pipeline they run in is owned here and stopped (NULL) before it goes.
// `mu` guards every field below it; no GStreamer call is made while holding it.
struct EncoderState {
  GstElement* pipeline = nullptr;
  GstElement* appsrc = nullptr;
  GstBus* bus = nullptr;
  guint64 max_bytes = 0;                               // appsrc queue bound used by the push worker
  std::mutex mu;
  std::condition_variable cv;                          // notified on drained/error/finished changes
  std::map<int64_t, std::vector<Annotation>> pending;  // by PTS (ns)
  std::string error;                                   // first bus error, sanitized by JS
  uint64_t drained = 0;                                // buffers that left appsrc's queue so far
  bool finished = false;
  std::atomic<bool> aborted{false};                    // abort(): a finish waiting for EOS gives up
  double font_px = 18;
  ~EncoderState();
  // [sync, any thread] Pops bus messages without waiting; records the first error.
  void DrainBus();
  // [sync, any thread] Records `e` as the error unless one is already recorded; wakes waiters.
  void RecordError(const std::string& e);
};

class NativeEncoder : public Napi::ObjectWrap<NativeEncoder> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeEncoder(const Napi::CallbackInfo& info);
  ~NativeEncoder() override;

 private:
  // push(frameHandleOrBytes, layout, ptsNs, annotations) -> Promise<void>
  Napi::Value Push(const Napi::CallbackInfo& info);
  // finish() -> Promise<void>: EOS, wait for the muxer to finalize the file, tear down.
  Napi::Value Finish(const Napi::CallbackInfo& info);
  // abort(): tear down at once without finalizing (idempotent).
  Napi::Value Abort(const Napi::CallbackInfo& info);

  // [sync, JS thread] Validates a NativeFrame's buffer against the caps (throws RangeError);
  // returns a writable sub-reference for timestamps (zero copy). Consumes `shared`.
  GstBuffer* WrapShared(Napi::Env env, GstBuffer* shared) const;
  // [sync, JS thread] Validates a host frame { data, offsets, strides } (TypeError/RangeError)
  // and copies the bytes the planes span into a new GstBuffer with a video meta.
  GstBuffer* CopyHostFrame(Napi::Env env, const Napi::Value& frame) const;

  std::shared_ptr<EncoderState> st_;
  GstVideoInfo vinfo_{};
  PlaneGeometry planes_[GST_VIDEO_MAX_PLANES];
};

}  // namespace nv

#endif  // NV_NATIVE_ENCODER_H_
