// NativeSource: one GStreamer pipeline ending in an appsink, a bounded frame queue with a
// backpressure policy, a bus thread, and a thread-safe function that wakes JS.
//
// Threading model:
//  - JS thread: constructor, Start/Stop/Pause/Resume, Pull, PollEvents, Stats, Dispose.
//  - GStreamer streaming thread(s): OnNewSample -> Enqueue (applies the policy; under
//    `block` it waits for room, the one place a streaming thread waits, by design).
//  - Bus thread (one per source, own loop over gst_bus_timed_pop): converts bus messages to
//    Event records. Never calls JS.
//  - decodebin's child-bus hook (GuardDecodebinErrors) runs on whichever thread posts a message.
//  - Both non-JS threads wake JS through one ThreadSafeFunction call, coalesced by an atomic
//    flag, so at most one wake-up is pending. JS then drains with Pull/PollEvents.
// Lifetime model: Stop() sets the pipeline to NULL (joins streaming threads), joins the bus
// thread and frees queued frames; it is idempotent. Dispose() also releases the TSFN. The
// destructor (GC) runs Stop/Dispose if JS did not.
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
  // [sync] new NativeSource({ elements, appsink: { sync }, queue: { depth, policy }, loop, onWake })
  // Builds and links the pipeline. Throws Napi::Error naming the element on failure.
  explicit NativeSource(const Napi::CallbackInfo& info);
  ~NativeSource() override;

  static std::atomic<int64_t> live_sources;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);       // [sync] PLAYING; starts the bus thread
  Napi::Value Pause(const Napi::CallbackInfo& info);       // [sync] PAUSED
  Napi::Value Resume(const Napi::CallbackInfo& info);      // [sync] PLAYING
  Napi::Value Stop(const Napi::CallbackInfo& info);        // [sync] NULL, joins threads, frees queue
  Napi::Value Dispose(const Napi::CallbackInfo& info);     // [sync] Stop + release the TSFN
  Napi::Value Pull(const Napi::CallbackInfo& info);        // [sync] next frame object or null
  Napi::Value PollEvents(const Napi::CallbackInfo& info);  // [sync] array of pending events
  Napi::Value Stats(const Napi::CallbackInfo& info);       // [sync] queue/drop counters

  static GstFlowReturn OnNewSample(GstAppSink* sink, gpointer user_data);
  static void OnPadAdded(GstElement* element, GstPad* pad, gpointer next_element);
  void Enqueue(GstSample* sample);
  void PushEvent(Event ev);
  void Wake();
  void BusLoop();
  void HandleBusMessage(GstMessage* msg);
  void ReportDecoder();
  void StopInternal();

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
  Napi::ThreadSafeFunction tsfn_;
  bool tsfn_live_ = false;
  bool tsfn_ref_ = false;
  std::atomic<bool> wake_pending_{false};

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

  std::thread bus_thread_;
  std::atomic<bool> bus_run_{false};
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> decoder_reported_{false};

  std::mutex held_mu_;
  std::vector<HeldError> held_;           // under held_mu_
  std::vector<DecodebinHook*> hooks_;     // freed by the child buses' destroy notify
};

}  // namespace nv

#endif  // NV_NATIVE_SOURCE_H_
