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
// are pushed by reference (no copy); plain byte arrays are copied once into a GstBuffer.
#ifndef NV_NATIVE_ENCODER_H_
#define NV_NATIVE_ENCODER_H_

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nv {

struct Annotation {
  double x1, y1, x2, y2;  // pixels
  double r, g, b;         // 0..1
  double width;           // line width, px
  std::string label;
};

struct EncoderState {
  GstElement* pipeline = nullptr;
  GstElement* appsrc = nullptr;
  GstBus* bus = nullptr;
  std::mutex mu;
  std::map<int64_t, std::vector<Annotation>> pending;  // by PTS (ns)
  std::string error;                                   // first bus error, sanitized by JS
  bool finished = false;
  double font_px = 18;
  ~EncoderState();
  // [sync, any thread] Pops bus messages without waiting; records the first error.
  void DrainBus();
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

  std::shared_ptr<EncoderState> st_;
  GstVideoInfo vinfo_{};
};

}  // namespace nv

#endif  // NV_NATIVE_ENCODER_H_
