// letterbox(): @nv/onnx's fused letterbox plan, replayed on a libuv worker thread (see letterbox.cc).
#ifndef NV_LETTERBOX_H_
#define NV_LETTERBOX_H_

#include <napi.h>

namespace nv {

// [async] Fills the content rows of a letterboxed float32 tensor from an NV12/I420 frame.
Napi::Value Letterbox(const Napi::CallbackInfo& info);

}  // namespace nv

#endif  // NV_LETTERBOX_H_
