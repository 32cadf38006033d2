// NativeSource: one GStreamer pipeline ending in an appsink, a bounded frame queue with a
// backpressure policy, a bus thread, and a thread-safe function that wakes JS.
//
// Threading model:
//  - JS thread: constructor, Start/Stop/Pause/Resume, Pull, PollEvents, Stats, Dispose.
//  - GStreamer streaming thread(s): OnNewSample -> Enqueue (converts the frame on nv's
//    conversion pool when asked to, see "Output conversion" below, waiting for it; then applies
//    the policy; under `block` it waits for room, the one place a streaming thread waits for JS,
//    by design).
//  - Bus thread (one per source, own loop over gst_bus_timed_pop): converts bus messages to
//    Event records, and performs a resumed session's seek (see "Resume" below). Never calls JS.
//  - decodebin's child-bus hook (GuardDecodebinErrors) runs on whichever thread posts a message.
//  - Both non-JS threads wake JS through one ThreadSafeFunction call, coalesced by an atomic
//    flag, so at most one wake-up is pending. JS then drains with Pull/PollEvents.
// Lifetime model: Stop() sets the pipeline to NULL (joins streaming threads), joins the bus
// thread and frees queued frames; it is idempotent. Dispose() also releases the TSFN. The
// destructor (GC) runs Stop/Dispose if JS did not.
// Bounded stop: Stop()/Dispose() run the state change to NULL on a helper thread and wait at most
// `stopTimeoutMs` (default 5000) for it. An element that never finishes its state change (an
// rtspsrc deadlocked in its own task, a hung driver) would otherwise hang the JS thread forever:
// past the timeout the source is *abandoned* — the JS object pins itself (ObjectWrap::Ref), so
// the C++ object is not collected, and GStreamer's callbacks are detached from it; the pipeline,
// its queued frames and threads are leaked (counted: `abandonedSources`) and Stop() returns. The
// GC destructor path cannot pin, so it still waits without a bound (JS always disposes first).
// At an environment teardown (a worker terminated, process exit) Node finalizes the pinned
// object anyway: its destructor then only leaves everything leaked. Known limits: a streaming
// thread stuck *inside* one of our callbacks keeps a pointer to the object; a pipeline whose
// state change completes later is not reclaimed (it stays leaked).
//
// Resume (`options.resume = { afterTs, seek }`, FrameSource.resumeAfter): the session delivers
// only frames whose raw ts (the same ts a fresh session gives the same frame: pts minus the
// first frame's pts) is > afterTs; every earlier frame is dropped in Enqueue, before it is
// mapped, and counted (`resumeSkipped`). With `seek`, Start() goes to PAUSED only; the first
// preroll sample (new_preroll, streaming thread) gives the first frame's pts and stream time;
// at the pipeline's ASYNC_DONE the bus thread seeks FLUSH|ACCURATE to first + afterTs, the
// position of the frame taken last (the demuxer starts at the keyframe before it; the decoder
// drops the frames before the segment start: measured on H.264 in MP4/MKV/TS/FLV/raw, exactly
// that one frame reaches the appsink and is dropped here), and only then sets PLAYING, so no
// frame is rendered from the old position. A pipeline that answers the seeking query "not
// seekable", or refuses the seek, plays from the start: the drop in Enqueue alone gives the
// same frames, after decoding the ones before.
// Guard: the first frame of the session must be at or before afterTs (the frame sought, or
// without a seek the file's first); if it is later, frames may be missing (a demuxer that
// overshot), so the bus thread seeks back to the first frame and the drop does the rest: the
// overshooting segment's frames are discarded until the appsink sees that seek's FLUSH_STOP,
// and its EOS is ignored by seqnum. An EOS after the seek with no frame at all is an overshoot
// too (past the end): same seek back. If seeking back fails, the session goes on from there
// and says so (a `resume` event, mode `seekBackFailed`).
//
// Output conversion (`options.output = { format, width?, height?, threads? }`, convert.h): the
// appsink takes the decoder's format at any size (pipeline.ts lets only the *carried* formats
// through). Enqueue, after the resume/discard decision (a skipped frame is never converted) and
// before the queue, hands each frame whose format or size differs from the request to the
// source's Converter, which runs it on nv's conversion pool while the streaming thread waits
// (fork-join: at most one frame of a source in conversion; the streaming thread is busy for that
// time exactly as it was while GStreamer's converter ran on it before). The decoded buffer is
// unreffed as soon as it is converted; `block` backpressure then waits with the converted frame,
// as before. The Converter goes at Stop() (after the streaming threads are joined; an abandoned
// source leaks it with its pipeline). Without `output` frames are delivered as the appsink
// receives them.
#ifndef NV_NATIVE_SOURCE_H_
#define NV_NATIVE_SOURCE_H_

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "convert.h"
#include "native_frame.h"

namespace nv {

enum class Policy { kDropOldest = 0, kDropNewest = 1, kBlock = 2 };

struct Event {
  std::string type;
  std::map<std::string, std::string> str;
  std::map<std::string, double> num;
};

class NativeSource : public Napi::ObjectWrap<NativeSource> {
 public:
  static Napi::Function Init(Napi::Env env);
  // [sync] new NativeSource({ elements, appsink: { sync }, queue: { depth, policy }, loop, onWake,
  //   stopTimeoutMs?, resume?, output? }) — `output`: see "Output conversion" above.
  // Builds and links the pipeline. Throws Napi::Error naming the element on failure.
  explicit NativeSource(const Napi::CallbackInfo& info);
  ~NativeSource() override;

  static std::atomic<int64_t> live_sources;
  static std::atomic<int64_t> abandoned_sources;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);       // [sync] PLAYING; starts the bus thread
  Napi::Value Pause(const Napi::CallbackInfo& info);       // [sync] PAUSED
  Napi::Value Resume(const Napi::CallbackInfo& info);      // [sync] PLAYING
  Napi::Value Stop(const Napi::CallbackInfo& info);        // [sync] NULL, joins threads, frees queue
  Napi::Value Dispose(const Napi::CallbackInfo& info);     // [sync] Stop + release the TSFN
  Napi::Value Pull(const Napi::CallbackInfo& info);        // [sync] next frame object or null
  Napi::Value PollEvents(const Napi::CallbackInfo& info);  // [sync] array of pending events
  Napi::Value Stats(const Napi::CallbackInfo& info);       // [sync] queue/drop counters
#ifdef NV_TEST_HOOKS
  // [sync] NativeSource.__testConvert(input, output): runs a Converter over one frame built from
  // JS bytes (on the conversion pool) and returns a copy of the result. Tests only.
  static Napi::Value TestConvert(const Napi::CallbackInfo& info);
  // [sync] NativeSource.__testConvertBuffers(): pooled conversion blocks alive (in frames or free lists).
  static Napi::Value TestConvertBuffers(const Napi::CallbackInfo& info);
#endif

  static GstFlowReturn OnNewSample(GstAppSink* sink, gpointer user_data);
  static GstFlowReturn OnNewPreroll(GstAppSink* sink, gpointer user_data);  // resume only
  static GstPadProbeReturn OnSinkFlush(GstPad* pad, GstPadProbeInfo* info, gpointer user_data);  // resume only
  // [sync, bus thread] The resume seek at the first preroll (see "Resume" above).
  void SeekForResume();
  // [sync, bus thread] After an overshooting resume seek: back to the first frame.
  void SeekBackForResume();
  static void OnPadAdded(GstElement* element, GstPad* pad, gpointer next_element);
  void Enqueue(GstSample* sample);
  void PushEvent(Event ev);
  void Wake();
  void BusLoop();
  void HandleBusMessage(GstMessage* msg);
  void ReportDecoder();
  void StopInternal();
  // [streaming thread] At a caps change: plans the conversion and fills the `caps` event's fields.
  void ConfigureOutput(Event* caps_event);

  // decodebin drops every error posted by an element it is still trying out (its "error
  // filter", lifted only after the element reached PAUSED). An error raised in the instant
  // between the trial succeeding and the filter being lifted is lost for good, and the
  // pipeline then waits forever (qtdemux's "no moov atom" on a truncated MP4 does exactly
  // that, depending on thread timing). So errors from elements on trial are held here and
  // raised again once the element is known to have survived its trial without decodebin
  // having passed them on; errors of elements that failed their trial (removed from the bin)
  // were consumed by decodebin and are discarded.
  struct HeldError {
    GstMessage* msg;       // our reference
    GstElement* element;   // our reference: the element that posted it
    GstElement* bin;       // the decodebin (owned by the pipeline)
    bool handled = false;  // decodebin's handler has returned
    bool forwarded = false;  // ... and it passed the error on to the pipeline bus
  };
  struct DecodebinHook {
    std::atomic<NativeSource*> self;
    GstBin* bin;
  };
  void GuardDecodebinErrors(GstElement* decodebin);
  static GstBusSyncReply OnDecodebinChildMessage(GstBus* bus, GstMessage* msg, gpointer user_data);
  static GstBusSyncReply OnPipelineBusMessage(GstBus* bus, GstMessage* msg, gpointer user_data);
  void RaiseSwallowedErrors();
  void DropHeldErrors();

  GstElement* pipeline_ = nullptr;
  GstElement* appsink_ = nullptr;
  // The wake-up: a typed ThreadSafeFunction whose context is a shared WakeState (the coalescing
  // flag, and whether the TSFN is gone). The TSFN owns one reference (dropped by its finalizer,
  // after its last queued call has run), this object another. A queued call therefore never
  // touches this object — safe even if it is gone by the time the JS thread runs the call (no
  // reliance on a JS closure keeping the wrap alive) — and a streaming thread that wakes after
  // the TSFN was finalized (an environment torn down under a running pipeline: Node finalizes
  // TSFNs before wraps) sees `closed` instead of calling into a freed TSFN.
  struct WakeState {
    std::atomic<bool> pending{false};
    std::atomic<bool> closed{false};
  };
  using WakeRef = std::shared_ptr<WakeState>;
  // [JS thread] Runs a queued wake: clears the flag, calls onWake.
  static void CallWake(Napi::Env env, Napi::Function fn, WakeRef* state, void* data);
  using WakeFunction = Napi::TypedThreadSafeFunction<WakeRef, void, &NativeSource::CallWake>;
  WakeFunction tsfn_;
  WakeRef wake_;                        // this object's reference to the TSFN's WakeState
  std::atomic<bool> tsfn_live_{false};  // written on the JS thread, read by the streaming/bus threads
  bool tsfn_ref_ = false;

  std::mutex mu_;
  std::condition_variable space_cv_;
  std::deque<std::shared_ptr<FrameItem>> queue_;
  size_t depth_ = 4;
  Policy policy_ = Policy::kDropOldest;
  bool stopping_ = false;
  uint64_t pushed_ = 0;
  uint64_t dropped_ = 0;
  uint64_t pulled_ = 0;
  size_t max_depth_seen_ = 0;

  std::deque<Event> events_;
  uint64_t events_dropped_ = 0;
  static constexpr size_t kMaxEvents = 256;

  // Streaming-thread state (only touched from the streaming thread, or under mu_).
  GstCaps* last_caps_ = nullptr;
  GstVideoInfo vinfo_{};
  uint64_t seq_ = 0;
  int64_t first_pts_ = -1;
  int64_t loop_offset_ = 0;
  int64_t last_end_ts_ = 0;
  std::atomic<bool> loop_restart_{false};
  bool loop_ = false;

  // Resume (see "Resume" above). Set in the constructor, then read-only, except where noted.
  int64_t resume_after_ = -1;              // raw ts; -1: no resume
  bool resume_seek_ = false;
  int64_t resume_seek_bias_ = 0;           // test hook (NV_TEST_HOOKS): added to the seek target
  enum ResumePhase : int { kResumeNone = 0, kResumeAwaitPreroll = 1, kResumeDone = 2 };
  std::atomic<int> resume_phase_{kResumeNone};
  std::atomic<int64_t> resume_first_stream_{-1};  // stream time of the first frame (preroll)
  std::atomic<bool> resume_seeked_{false};        // a resume seek was made
  std::atomic<uint64_t> flushes_{0};              // FLUSH_STOPs seen by the appsink
  std::atomic<guint32> seek_back_seqnum_{GST_SEQNUM_INVALID};  // after a seek back: the only EOS that counts
  bool resume_checked_ = false;                   // streaming thread: first frame after the seek checked
  std::atomic<bool> resume_frame_seen_{false};    // ... and the bus thread may read that it was
  std::atomic<bool> seek_back_tried_{false};      // at most one seek back
  int64_t discard_until_flush_ = -1;              // streaming thread: drop frames while flushes_ == this
  uint64_t resume_skipped_ = 0;                   // under mu_
  std::mutex play_mu_;                            // orders PLAYING/PAUSED between JS and the bus thread
  bool want_playing_ = true;                      // under play_mu_

  // Output conversion (see "Output conversion" above). The Converter is used by the streaming
  // thread only; the diagnostics below are written under mu_.
  std::unique_ptr<Converter> converter_;  // null: no `output` option
  bool convert_ok_ = true;                // streaming thread: false after Configure() found no path
  std::string conversion_ = "none";       // under mu_: none | libyuv | gstreamer | gstreamer+libyuv
  std::string decoded_format_;            // under mu_: the decoder's output (videoconvertscale's input)
  std::string carried_format_;            // under mu_: what the appsink received
  std::string conversion_plan_;           // under mu_: Converter::describe()
  uint64_t converted_ = 0;                // under mu_: frames converted by the Converter

  std::thread bus_thread_;
  std::atomic<bool> bus_run_{false};
  std::atomic<bool> bus_exited_{false};
  // Bounded stop (see "Bounded stop" above).
  int stop_timeout_ms_ = 5000;
  bool abandoned_ = false;  // JS thread only
  bool pinned_ = false;     // JS thread only
  // Sets the pipeline to NULL on a helper thread; false when it did not finish within stop_timeout_ms_.
  bool SetNullBounded();
  // After StopInternal: pins an abandoned source (JS thread, never from the destructor).
  void PinIfAbandoned();
  // At abandonment: GStreamer's callbacks (appsink, the bus sync handler, decodebin hooks) no longer reach this object.
  void DetachCallbacks();
  bool started_ = false;
  std::atomic<bool> stopped_{false};  // written on the JS thread (under play_mu_), read by the bus thread too
  std::atomic<bool> decoder_reported_{false};

  std::mutex held_mu_;
  std::vector<HeldError> held_;           // under held_mu_
  std::vector<DecodebinHook*> hooks_;     // freed by the child buses' destroy notify
};

}  // namespace nv

#endif  // NV_NATIVE_SOURCE_H_
