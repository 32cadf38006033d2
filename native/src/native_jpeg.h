// NativeJpegEncoder: one frame in, one JPEG image out (live views, thumbnails) — or, with
// codec "h264", one frame in, one H.264 access unit out (event-clip pre-roll rings).
//
// H.264 (codec "h264"): appsrc ! videoconvertscale ! video/x-raw,format=I420,width=W,height=H,
// pixel-aspect-ratio=1/1 ! openh264enc complexity=low rate-control=bitrate bitrate=B gop-size=K
// enable-frame-skip=false qp-min=24 ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink.
// openh264 (Constrained Baseline: no B-frames) returns each frame's access unit as soon as the
// frame is pushed, so the one-in, one-out loop of JPEG holds; GStreamer 1.22's x264enc keeps one
// frame back even with tune=zerolatency (measured), so it is not used. Keyframe units carry
// SPS/PPS in-band, so any of them can start a clip. No range probe (H.264 is limited range).
// The promise resolves // { data: Buffer, keyframe: boolean } (keyframe = no DELTA_UNIT flag).
//
// Pipeline, built element by element (no launch syntax):
//   appsrc ! videoconvertscale ! video/x-raw,format=I420,width=W,height=H,pixel-aspect-ratio=1/1,
//            colorimetry=bt601 ! [range probe] ! jpegenc quality=Q ! appsink
// (`videoconvert ! videoscale` where videoconvertscale is missing, before GStreamer 1.22).
// A JPEG decoder takes the image as full-range BT.601 Y'CbCr (JFIF). GStreamer 1.22's converter
// cannot make that from limited-range Y'CbCr: between two Y'CbCr formats of the same matrix it
// ignores a range change (measured: white Y' 235 stays 235 with colorimetry=1:4:0:0), and through
// RGB its 8-bit matrix gives 253. So videoconvertscale converts to limited-range BT.601 (exact for
// BT.601 input, a plain copy/scale; RGB input is converted with its matrix) at the output size,
// and a buffer probe on the capsfilter's src pad (streaming thread) expands the scaled picture to
// full range with a table, in place (copying first when the buffer is shared). Y'CbCr input is
// taken as limited range, BT.601 below 720 rows and BT.709 from 720 (GStreamer's defaults for caps
// without colorimetry, as NativeEncoder); RGB input as sRGB. A size of another aspect keeps the
// display aspect with black borders (videoscale's add-borders), as MediaSource's scaling does.
//
// Threading: encode() validates and builds the input GstBuffer on the JS thread (a NativeFrame
// handle by reference, zero copy, holding its own buffer reference; a host frame copied once, see
// frame_input.h), then an AsyncWorker on a libuv thread pushes it into appsrc (block=FALSE: never
// blocks) and pulls the encoded sample with gst_app_sink_try_pull_sample in 50 ms slices, up to
// 5 s, checking between slices whether the encoder was closed or the bus reported an error (a
// bus sync handler records the first error the moment it is posted). The JPEG bytes are copied
// into a Node Buffer on the JS thread when the worker completes.
//
// Bounds: one encode in flight per encoder (a second call while one is pending throws "encoder
// busy"), so appsrc holds at most one frame and appsink at most one image (max-buffers 4, drop
// FALSE). PTS are made strictly increasing on the JS thread; a sample older than the frame being
// encoded (left behind by an earlier encode that gave up after 5 s) is discarded, never returned
// as this frame's image.
//
// Lifetime: JpegState is shared by the JS object and the in-flight worker (shared_ptr); the last
// one to let go (both on the JS thread) stops and frees the pipeline. close() marks the state
// closed and sets the pipeline to NULL at once, on the JS thread: appsink's pull wakes (it returns
// no sample once stopped), so an in-flight encode rejects ("jpeg encoder is closed") within one
// slice; the worker only touches the state it co-owns, never the JS object.
#ifndef NV_NATIVE_JPEG_H_
#define NV_NATIVE_JPEG_H_

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "frame_input.h"

namespace nv {

// Shared by NativeJpegEncoder (JS thread), its encode worker (a libuv thread) and the bus sync
// handler (the posting streaming thread, raw pointer: the pipeline is stopped before the state
// goes). `mu` guards `error`; `busy` and `last_pts` are only touched on the JS thread.
struct JpegState {
  GstElement* pipeline = nullptr;
  GstElement* appsrc = nullptr;
  GstElement* appsink = nullptr;
  GstBus* bus = nullptr;
  GstVideoInfo out_info{};        // the scaled I420 (read by the range probe on the streaming thread)
  std::mutex mu;
  std::string error;              // first bus error
  std::atomic<bool> closed{false};
  bool busy = false;              // an encode is in flight (JS thread only)
  int64_t last_pts = -1;          // PTS of the last frame pushed (JS thread only)
  bool h264 = false;              // codec "h264" (set once at construction)
  static std::atomic<int64_t> live;  // JpegState objects alive (pipelines not yet freed)
  JpegState() { live++; }
  ~JpegState();
  JpegState(const JpegState&) = delete;
  JpegState& operator=(const JpegState&) = delete;
  // [sync, any thread] Records `e` unless an error is already recorded.
  void RecordError(const std::string& e);
  // [sync, any thread] The recorded error ("" when none).
  std::string Error();
};

class NativeJpegEncoder : public Napi::ObjectWrap<NativeJpegEncoder> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new NativeJpegEncoder({ format, width, height, outWidth, outHeight, quality,
  //                         codec?: 'jpeg' | 'h264', bitrateKbps?, keyIntMax? })
  explicit NativeJpegEncoder(const Napi::CallbackInfo& info);
  ~NativeJpegEncoder() override;
  // Encoders whose pipeline is still alive (for counters()).
  static int64_t LiveCount() { return JpegState::live.load(); }

 private:
  // encode(frameHandleOrHostFrame, ptsNs) -> Promise<Buffer>
  Napi::Value Encode(const Napi::CallbackInfo& info);
  // close(): pipeline to NULL; an in-flight encode rejects. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info);
  // busy(): whether an encode is in flight.
  Napi::Value Busy(const Napi::CallbackInfo& info);

  std::shared_ptr<JpegState> st_;
  GstVideoInfo vinfo_{};
  PlaneGeometry planes_[GST_VIDEO_MAX_PLANES];
};

}  // namespace nv

#endif  // NV_NATIVE_JPEG_H_
