// letterbox(): the content rows of @nv/onnx's fused letterbox (4:2:0 → RGB → bilinear blend →
// normalized float32 planes), run on a libuv worker thread instead of the JS thread.
//
// The sampling plan (taps, weights), the Y'CbCr coefficients (16.16 fixed point) and the
// normalization come from the caller (packages/onnx/src/preprocess.ts builds them once per frame
// size): this file only replays that plan, with the same integer conversion and the same double
// arithmetic as the JS path, so both give the same floats. The padding is filled by the caller.
// (At even-integer downscales the JS path averages 2×2 blocks directly instead of blending two
// rows; with weights of exactly ½ both are exact, so this generic blend still matches it.)
//
// The same entry point also runs @nv/ocr's resample (`kind: 'resample'`, ResampleWorker below):
// each plane sampled bilinearly at its own resolution (4:2:0 chroma at half size) — separable
// tables built by the caller, or a quad mapped bilinearly per pixel — then a double-precision
// Y'CbCr → RGB and the normalization, again the same double operations in the same order as the
// JS path (packages/ocr/src/preprocess.ts), so the same floats.
//
// Lifetime: the caller keeps the frame retained (its planes mapped) and the output array alive
// until the promise settles; this worker also holds references to every array it reads or writes,
// so none is collected meanwhile. The output may live in a SharedArrayBuffer.
#include "letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nv {
namespace {

struct View {
  const uint8_t* data = nullptr;
  size_t length = 0;
};

template <typename T>
const T* TypedData(const Napi::Value& v, size_t* count, const char* name, napi_typedarray_type type) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string("letterbox: ") + name + " must be a typed array");
  // napi_get_typedarray_info's data pointer works for arrays over a SharedArrayBuffer too
  // (napi_get_arraybuffer_info refuses those).
  napi_typedarray_type t;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(v.Env(), v, &t, &length, &data, nullptr, nullptr) != napi_ok) {
    throw Napi::TypeError::New(v.Env(), std::string("letterbox: ") + name + " is not readable");
  }
  if (t != type) throw Napi::TypeError::New(v.Env(), std::string("letterbox: ") + name + " has the wrong element type");
  *count = length;
  return static_cast<const T*>(data);
}

class LetterboxWorker : public Napi::AsyncWorker {
 public:
  LetterboxWorker(Napi::Env env, Napi::Promise::Deferred deferred) : Napi::AsyncWorker(env), deferred_(deferred) {}

  void Keep(const Napi::Value& v) { refs_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

  // Inputs (set on the JS thread before Queue()).
  bool nv12 = true;
  const uint8_t* y = nullptr; const uint8_t* u = nullptr; const uint8_t* v = nullptr;
  size_t ylen = 0, ulen = 0, vlen = 0;
  int64_t ys = 0, us = 0, vs = 0;
  const int32_t* tapX = nullptr; const int32_t* cOff = nullptr; size_t taps = 0;
  const int32_t* colT0 = nullptr; const int32_t* colT1 = nullptr; const double* colW1 = nullptr; size_t cw = 0;
  const int32_t* rowY0 = nullptr; const int32_t* rowY1 = nullptr; const double* rowW1 = nullptr; size_t ch = 0;
  bool singleColumn = false;
  int64_t W = 0, H = 0, padLeft = 0, padTop = 0, frameH = 0;
  int32_t iy = 0, rv = 0, gu = 0, gv = 0, bu = 0, y0 = 0;
  double sR = 0, bR = 0, sG = 0, bG = 0, sB = 0, bB = 0;
  int64_t oR = 0, oG = 0, oB = 0;
  float* out = nullptr; size_t outLen = 0;

  void Execute() override {
    // Bounds: every index the plan can produce must fall inside the arrays (checked once here,
    // not per pixel; a bad plan is an error, never an out-of-bounds read or write).
    if (W <= 0 || H <= 0 || padLeft < 0 || padTop < 0 || padLeft + static_cast<int64_t>(cw) > W || padTop + static_cast<int64_t>(ch) > H ||
        ys < 0 || us < 0 || vs < 0) {
      SetError("letterbox: geometry out of range"); return;
    }
    for (size_t i = 0; i < taps; i++) {
      if (tapX[i] < 0 || cOff[i] < 0 || (i > 0 && (tapX[i] < tapX[i - 1] || cOff[i] < cOff[i - 1]))) { SetError("letterbox: taps must be ascending and non-negative"); return; }
    }
    for (size_t j = 0; j < cw; j++) {
      if (colT0[j] < 0 || colT1[j] < 0 || static_cast<size_t>(colT0[j]) + 2 >= taps * 3 || static_cast<size_t>(colT1[j]) + 2 >= taps * 3) {
        SetError("letterbox: column tap out of range"); return;
      }
    }
    const int64_t lastOut = std::max(std::max(oR, oG), oB) + (padTop + static_cast<int64_t>(ch) - 1) * W + padLeft + static_cast<int64_t>(cw);
    if (oR < 0 || oG < 0 || oB < 0 || lastOut > static_cast<int64_t>(outLen)) { SetError("letterbox: output slot out of range"); return; }
    for (size_t i = 0; i < ch; i++) {
      for (int32_t sy : {rowY0[i], rowY1[i]}) {
        if (sy < 0 || sy >= frameH) { SetError("letterbox: source row out of range"); return; }
        const int64_t yEnd = static_cast<int64_t>(sy) * ys + (taps ? tapX[taps - 1] : 0) + 1;
        const int64_t cy = sy >> 1;
        const int64_t cEnd = cy * us + (taps ? cOff[taps - 1] : 0) + (nv12 ? 2 : 1);
        const int64_t vEnd = cy * vs + (taps ? cOff[taps - 1] : 0) + 1;
        if (yEnd > static_cast<int64_t>(ylen) || cEnd > static_cast<int64_t>(ulen) || (!nv12 && vEnd > static_cast<int64_t>(vlen))) {
          SetError("letterbox: plane too small for the plan"); return;
        }
      }
    }
    std::vector<uint8_t> bufA(taps * 3), bufB(taps * 3);
    uint8_t* bufs[2] = {bufA.data(), bufB.data()};
    int32_t rows[2] = {-1, -1};
    const auto convert = [&](int32_t sy, uint8_t* o) {
      const uint8_t* yr = y + static_cast<int64_t>(sy) * ys;
      const int64_t cy = sy >> 1;
      const uint8_t* ur = u + cy * us;
      const uint8_t* vr = nv12 ? u + cy * us + 1 : v + cy * vs;
      for (size_t i = 0; i < taps; i++, o += 3) {
        const int32_t c = cOff[i];
        const int32_t Y = (static_cast<int32_t>(yr[tapX[i]]) - y0) * iy + 32768;
        const int32_t U = static_cast<int32_t>(ur[c]) - 128;
        const int32_t V = static_cast<int32_t>(vr[c]) - 128;
        const int32_t r = (Y + rv * V) >> 16, g = (Y - gu * U - gv * V) >> 16, b = (Y + bu * U) >> 16;
        o[0] = static_cast<uint8_t>(r < 0 ? 0 : r > 255 ? 255 : r);
        o[1] = static_cast<uint8_t>(g < 0 ? 0 : g > 255 ? 255 : g);
        o[2] = static_cast<uint8_t>(b < 0 ? 0 : b > 255 ? 255 : b);
      }
    };
    const auto getRow = [&](int32_t sy, int keep) -> int {
      if (rows[0] == sy) return 0;
      if (rows[1] == sy) return 1;
      const int s = keep == 0 ? 1 : keep == 1 ? 0 : (rows[0] < rows[1] ? 0 : 1);
      convert(sy, bufs[s]);
      rows[s] = sy;
      return s;
    };
    for (size_t i = 0; i < ch; i++) {
      const double wy = rowW1[i];
      const int64_t row = (padTop + static_cast<int64_t>(i)) * W + padLeft;
      float* R = out + oR + row;
      float* G = out + oG + row;
      float* B = out + oB + row;
      const int a = getRow(rowY0[i], -1);
      const uint8_t* A = bufs[a];
      if (wy > 0) {
        const int bi = getRow(rowY1[i], a);
        const uint8_t* Bb = bufs[bi];
        for (size_t j = 0; j < cw; j++) {
          const int32_t ta = colT0[j], tb = colT1[j];
          const double w1 = colW1[j];
          const double ra = A[ta], ga = A[ta + 1], ba = A[ta + 2];
          const double rb = Bb[ta], gb = Bb[ta + 1], bb = Bb[ta + 2];
          const double rt = ra + (A[tb] - ra) * w1, gt = ga + (A[tb + 1] - ga) * w1, bt = ba + (A[tb + 2] - ba) * w1;
          const double rl = rb + (Bb[tb] - rb) * w1, gl = gb + (Bb[tb + 1] - gb) * w1, bl = bb + (Bb[tb + 2] - bb) * w1;
          R[j] = static_cast<float>((rt + (rl - rt) * wy) * sR + bR);
          G[j] = static_cast<float>((gt + (gl - gt) * wy) * sG + bG);
          B[j] = static_cast<float>((bt + (bl - bt) * wy) * sB + bB);
        }
      } else if (singleColumn) {
        for (size_t j = 0; j < cw; j++) {
          const int32_t ta = colT0[j];
          R[j] = static_cast<float>(A[ta] * sR + bR);
          G[j] = static_cast<float>(A[ta + 1] * sG + bG);
          B[j] = static_cast<float>(A[ta + 2] * sB + bB);
        }
      } else {
        for (size_t j = 0; j < cw; j++) {
          const int32_t ta = colT0[j], tb = colT1[j];
          const double w1 = colW1[j];
          const double r0 = A[ta], g0 = A[ta + 1], b0 = A[ta + 2];
          R[j] = static_cast<float>((r0 + (A[tb] - r0) * w1) * sR + bR);
          G[j] = static_cast<float>((g0 + (A[tb + 1] - g0) * w1) * sG + bG);
          B[j] = static_cast<float>((b0 + (A[tb + 2] - b0) * w1) * sB + bB);
        }
      }
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

// One axis of a separable resample: per output sample, two source indices and the second's weight.
struct Axis {
  const int32_t* i0 = nullptr; const int32_t* i1 = nullptr; const float* w = nullptr; size_t n = 0;
};

// @nv/ocr's sampleToTensor for NV12/I420, replayed (see the comment at the top of this file).
class ResampleWorker : public Napi::AsyncWorker {
 public:
  ResampleWorker(Napi::Env env, Napi::Promise::Deferred deferred) : Napi::AsyncWorker(env), deferred_(deferred) {}

  void Keep(const Napi::Value& v) { refs_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

  bool nv12 = true;
  const uint8_t* y = nullptr; const uint8_t* u = nullptr; const uint8_t* v = nullptr;
  size_t ylen = 0, ulen = 0, vlen = 0;
  int64_t ys = 0, us = 0, vs = 0;
  int64_t pw = 0, ph = 0, cw = 0, ch = 0;       // luma and chroma plane sizes in samples
  int64_t outW = 0, outH = 0, rowStride = 0;
  bool quadMode = false;
  Axis X, Y, CX, CY;                            // axes mode; CX indices are byte offsets (× chroma step)
  double quad[8] = {0};                         // quad mode: tl, tr, br, bl (x, y)
  double sxC = 0, syC = 0;                      // chroma plane size / frame size
  double ky0 = 0, kiy = 1, krv = 0, kgu = 0, kgv = 0, kbu = 0;
  double sR = 0, bR = 0, sG = 0, bG = 0, sB = 0, bB = 0;
  int64_t oR = 0, oG = 0, oB = 0;
  float* out = nullptr; size_t outLen = 0;

  static double Clamp255(double c) { return c < 0 ? 0 : c > 255 ? 255 : c; }

  void Execute() override {
    const int64_t cstep = nv12 ? 2 : 1, vOff = nv12 ? 1 : 0;
    if (outW <= 0 || outH <= 0 || rowStride < outW || pw <= 0 || ph <= 0 || cw <= 0 || ch <= 0 || ys < 0 || us < 0 || vs < 0) {
      SetError("letterbox: resample geometry out of range"); return;
    }
    const int64_t lastOut = std::max(std::max(oR, oG), oB) + (outH - 1) * rowStride + outW;
    if (oR < 0 || oG < 0 || oB < 0 || lastOut > static_cast<int64_t>(outLen)) { SetError("letterbox: output slot out of range"); return; }
    // Every plane read stays inside [0, size − 1] per axis (the tables are checked below; the
    // quad path clamps by construction), so these bounds cover every read.
    if ((ph - 1) * ys + pw > static_cast<int64_t>(ylen) || (ch - 1) * us + (cw - 1) * cstep + vOff + 1 > static_cast<int64_t>(ulen) ||
        (!nv12 && (ch - 1) * vs + cw > static_cast<int64_t>(vlen))) {
      SetError("letterbox: plane too small for the resample"); return;
    }
    const uint8_t* vd = nv12 ? u : v;
    const int64_t vst = nv12 ? us : vs;
    if (!quadMode) {
      const auto ok = [](const Axis& a, size_t n, int64_t hi) {
        if (a.n != n) return false;
        for (size_t i = 0; i < n; i++) {
          if (a.i0[i] < 0 || a.i1[i] < 0 || a.i0[i] > hi || a.i1[i] > hi) return false;
        }
        return true;
      };
      if (!ok(X, static_cast<size_t>(outW), pw - 1) || !ok(Y, static_cast<size_t>(outH), ph - 1) ||
          !ok(CX, static_cast<size_t>(outW), (cw - 1) * cstep) || !ok(CY, static_cast<size_t>(outH), ch - 1)) {
        SetError("letterbox: resample table out of range"); return;
      }
      for (int64_t r = 0; r < outH; r++) {
        const int64_t ra = Y.i0[r] * ys, rb = Y.i1[r] * ys;
        const double ay = Y.w[r];
        const int64_t ua = CY.i0[r] * us, ub = CY.i1[r] * us, va = CY.i0[r] * vst + vOff, vb = CY.i1[r] * vst + vOff;
        const double by = CY.w[r];
        const int64_t row = r * rowStride;
        for (int64_t c = 0; c < outW; c++) {
          const double ax = X.w[c];
          const int64_t xa = X.i0[c], xb = X.i1[c];
          double t0 = y[ra + xa], t1 = y[rb + xa];
          t0 += (y[ra + xb] - t0) * ax; t1 += (y[rb + xb] - t1) * ax;
          const double Yn = (t0 + (t1 - t0) * ay - ky0) * kiy;
          const double bx = CX.w[c];
          const int64_t ca = CX.i0[c], cz = CX.i1[c];
          double p0 = u[ua + ca], p1 = u[ub + ca];
          p0 += (u[ua + cz] - p0) * bx; p1 += (u[ub + cz] - p1) * bx;
          const double U = p0 + (p1 - p0) * by - 128;
          p0 = vd[va + ca]; p1 = vd[vb + ca];
          p0 += (vd[va + cz] - p0) * bx; p1 += (vd[vb + cz] - p1) * bx;
          const double V = p0 + (p1 - p0) * by - 128;
          Write(row + c, Yn + krv * V, Yn - kgu * U - kgv * V, Yn + kbu * U);
        }
      }
      return;
    }
    // Bounded so that no intermediate below can overflow to inf/NaN (a NaN index cast to an
    // integer is undefined behaviour: INT64_MIN on x86, an out-of-bounds read).
    for (double q : quad) {
      if (!(std::fabs(q) <= 1073741824.0)) { SetError("letterbox: resample quad coordinates must be finite and within ±2^30"); return; }
    }
    if (!(sxC >= 0 && sxC <= 1024) || !(syC >= 0 && syC <= 1024)) { SetError("letterbox: resample chroma scale must be in [0, 1024]"); return; }
    const double tlx = quad[0], tly = quad[1], trx = quad[2], try_ = quad[3], brx = quad[4], bry = quad[5], blx = quad[6], bly = quad[7];
    for (int64_t r = 0; r < outH; r++) {
      const double t = (r + 0.5) / outH;
      const double lx = tlx + (blx - tlx) * t, ly = tly + (bly - tly) * t;
      const double rx = trx + (brx - trx) * t, ry = try_ + (bry - try_) * t;
      const int64_t row = r * rowStride;
      for (int64_t c = 0; c < outW; c++) {
        const double s = (c + 0.5) / outW;
        const double x = lx + (rx - lx) * s, yy = ly + (ry - ly) * s;
        double fx = x - 0.5, fy = yy - 0.5;
        if (!(fx >= 0)) fx = 0; else if (fx > pw - 1) fx = static_cast<double>(pw - 1);  // NaN-safe
        if (!(fy >= 0)) fy = 0; else if (fy > ph - 1) fy = static_cast<double>(ph - 1);
        const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
        const double ax = fx - x0, ay = fy - y0;
        const int64_t x1 = x0 + 1 < pw ? x0 + 1 : x0, y1 = y0 + 1 < ph ? y0 + 1 : y0;
        const double w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
        const int64_t r0 = y0 * ys, r1 = y1 * ys;
        const double L = y[r0 + x0] * w00 + y[r0 + x1] * w10 + y[r1 + x0] * w01 + y[r1 + x1] * w11;
        double gx = x * sxC - 0.5, gy = yy * syC - 0.5;
        if (!(gx >= 0)) gx = 0; else if (gx > cw - 1) gx = static_cast<double>(cw - 1);
        if (!(gy >= 0)) gy = 0; else if (gy > ch - 1) gy = static_cast<double>(ch - 1);
        const int64_t cx0 = static_cast<int64_t>(gx), cy0 = static_cast<int64_t>(gy);
        const double bx = gx - cx0, by = gy - cy0;
        const int64_t cx1 = cx0 + 1 < cw ? cx0 + 1 : cx0, cy1 = cy0 + 1 < ch ? cy0 + 1 : cy0;
        const double v00 = (1 - bx) * (1 - by), v10 = bx * (1 - by), v01 = (1 - bx) * by, v11 = bx * by;
        const int64_t a00 = cx0 * cstep, a10 = cx1 * cstep;
        const double U = u[cy0 * us + a00] * v00 + u[cy0 * us + a10] * v10 + u[cy1 * us + a00] * v01 + u[cy1 * us + a10] * v11 - 128;
        const double V = vd[cy0 * vst + a00 + vOff] * v00 + vd[cy0 * vst + a10 + vOff] * v10 + vd[cy1 * vst + a00 + vOff] * v01 +
                         vd[cy1 * vst + a10 + vOff] * v11 - 128;
        const double Yn = (L - ky0) * kiy;
        Write(row + c, Yn + krv * V, Yn - kgu * U - kgv * V, Yn + kbu * U);
      }
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void Write(int64_t idx, double r, double g, double b) {
    out[oR + idx] = static_cast<float>(Clamp255(r) * sR + bR);
    out[oG + idx] = static_cast<float>(Clamp255(g) * sG + bG);
    out[oB + idx] = static_cast<float>(Clamp255(b) * sB + bB);
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

double Num(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("letterbox: ") + k + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// An integer in [lo, hi], checked as a double before any cast (no UB, no overflow downstream:
// every product and sum of these stays far below 2^63).
int64_t Int(Napi::Env env, double d, const char* k, double lo, double hi) {
  if (!(std::isfinite(d) && std::trunc(d) == d && d >= lo && d <= hi)) {
    throw Napi::RangeError::New(env, std::string("letterbox: ") + k + " must be an integer in range");
  }
  return static_cast<int64_t>(d);
}
constexpr double kMaxDim = 1 << 20;       // sizes, strides, offsets into a plane row
constexpr double kMaxIndex = 2147483647;  // offsets into the output array
constexpr double kMaxCoeff = 1 << 20;     // 16.16 coefficients (|k| < 2^20, with |y0| ≤ 256, keeps the int32 sums exact)

// A frame's NV12/I420 planes and strides, read and checked once (shared by both request kinds).
struct Planes {
  bool nv12 = true;
  uint32_t count = 2;
  Napi::Value plane[3];
  int64_t stride[3] = {0, 0, 0};
};

Planes ReadPlanes(Napi::Env env, const Napi::Object& q) {
  Planes r;
  const std::string format = q.Get("format").ToString().Utf8Value();
  if (format != "NV12" && format != "I420") throw Napi::TypeError::New(env, "letterbox: format must be NV12 or I420");
  r.nv12 = format == "NV12";
  r.count = r.nv12 ? 2 : 3;
  Napi::Value planesV = q.Get("planes"), stridesV = q.Get("strides");
  if (!planesV.IsArray() || !stridesV.IsArray()) throw Napi::TypeError::New(env, "letterbox: planes and strides must be arrays");
  Napi::Array planes = planesV.As<Napi::Array>(), strides = stridesV.As<Napi::Array>();
  if (planes.Length() < r.count || strides.Length() < r.count) throw Napi::TypeError::New(env, "letterbox: planes/strides do not match the format");
  for (uint32_t i = 0; i < r.count; i++) {
    r.plane[i] = planes.Get(i);
    Napi::Value sv = strides.Get(i);
    if (!sv.IsNumber()) throw Napi::TypeError::New(env, "letterbox: strides must be numbers");
    r.stride[i] = Int(env, sv.As<Napi::Number>().DoubleValue(), "strides[i]", 0, kMaxDim);
  }
  return r;
}

// The `kind: 'resample'` request (see Letterbox below).
Napi::Value Resample(Napi::Env env, const Napi::Object& q) {
  const Planes pl = ReadPlanes(env, q);
  Napi::Value sizesV = q.Get("planeSizes");
  if (!sizesV.IsArray() || sizesV.As<Napi::Array>().Length() < 4) throw Napi::TypeError::New(env, "letterbox: planeSizes must be [lumaW, lumaH, chromaW, chromaH]");
  Napi::Array sizes = sizesV.As<Napi::Array>();
  int64_t dims[4];
  for (uint32_t i = 0; i < 4; i++) {
    Napi::Value d = sizes.Get(i);
    if (!d.IsNumber()) throw Napi::TypeError::New(env, "letterbox: planeSizes must be numbers");
    dims[i] = Int(env, d.As<Napi::Number>().DoubleValue(), "planeSizes[i]", 1, kMaxDim);
  }
  const int64_t outW = Int(env, Num(q, "width"), "width", 1, kMaxDim), outH = Int(env, Num(q, "height"), "height", 1, kMaxDim);
  const int64_t rowStride = Int(env, Num(q, "rowStride"), "rowStride", 1, kMaxDim);
  const int64_t oR = Int(env, Num(q, "oR"), "oR", 0, kMaxIndex), oG = Int(env, Num(q, "oG"), "oG", 0, kMaxIndex), oB = Int(env, Num(q, "oB"), "oB", 0, kMaxIndex);
  Napi::Value kV = q.Get("k"), nV = q.Get("norm"), sV = q.Get("sampling"), outV = q.Get("out");
  if (!kV.IsObject() || !nV.IsObject() || !sV.IsObject()) throw Napi::TypeError::New(env, "letterbox: sampling, k and norm must be objects");
  Napi::Object k = kV.As<Napi::Object>(), nm = nV.As<Napi::Object>(), sm = sV.As<Napi::Object>();
  double kk[6], nn[6];
  const char* kKeys[6] = {"y0", "iy", "rv", "gu", "gv", "bu"};
  const char* nKeys[6] = {"sR", "bR", "sG", "bG", "sB", "bB"};
  for (int i = 0; i < 6; i++) {
    kk[i] = Num(k, kKeys[i]);
    nn[i] = Num(nm, nKeys[i]);
    if (!std::isfinite(kk[i]) || !std::isfinite(nn[i])) throw Napi::RangeError::New(env, "letterbox: k and norm must be finite");
  }
  const std::string mode = sm.Get("kind").ToString().Utf8Value();
  if (mode != "axes" && mode != "quad") throw Napi::TypeError::New(env, "letterbox: sampling.kind must be 'axes' or 'quad'");

  auto deferred = Napi::Promise::Deferred::New(env);
  auto* w = new ResampleWorker(env, deferred);
  try {
    w->nv12 = pl.nv12;
    size_t len = 0;
    w->y = TypedData<uint8_t>(pl.plane[0], &len, "planes[0]", napi_uint8_array); w->ylen = len;
    w->u = TypedData<uint8_t>(pl.plane[1], &len, "planes[1]", napi_uint8_array); w->ulen = len;
    if (!pl.nv12) { w->v = TypedData<uint8_t>(pl.plane[2], &len, "planes[2]", napi_uint8_array); w->vlen = len; }
    for (uint32_t i = 0; i < pl.count; i++) w->Keep(pl.plane[i]);
    w->ys = pl.stride[0]; w->us = pl.stride[1]; w->vs = pl.stride[2];
    w->pw = dims[0]; w->ph = dims[1]; w->cw = dims[2]; w->ch = dims[3];
    w->outW = outW; w->outH = outH; w->rowStride = rowStride;
    if (mode == "quad") {
      w->quadMode = true;
      size_t n = 0;
      const double* qd = TypedData<double>(sm.Get("quad"), &n, "sampling.quad", napi_float64_array);
      if (n != 8) throw Napi::RangeError::New(env, "letterbox: sampling.quad must hold 8 numbers");
      std::copy(qd, qd + 8, w->quad);
      w->sxC = Num(sm, "sxC"); w->syC = Num(sm, "syC");
    } else {
      const char* names[4] = {"x", "y", "cx", "cy"};
      Axis* axes[4] = {&w->X, &w->Y, &w->CX, &w->CY};
      for (int i = 0; i < 4; i++) {
        Napi::Value av = sm.Get(names[i]);
        if (!av.IsObject()) throw Napi::TypeError::New(env, std::string("letterbox: sampling.") + names[i] + " must be an object");
        Napi::Object a = av.As<Napi::Object>();
        Napi::Value i0 = a.Get("i0"), i1 = a.Get("i1"), wt = a.Get("w");
        size_t n0 = 0, n1 = 0, n2 = 0;
        axes[i]->i0 = TypedData<int32_t>(i0, &n0, "sampling axis i0", napi_int32_array);
        axes[i]->i1 = TypedData<int32_t>(i1, &n1, "sampling axis i1", napi_int32_array);
        axes[i]->w = TypedData<float>(wt, &n2, "sampling axis w", napi_float32_array);
        if (n0 != n1 || n0 != n2) throw Napi::RangeError::New(env, "letterbox: sampling axis arrays differ in length");
        axes[i]->n = n0;
        w->Keep(i0); w->Keep(i1); w->Keep(wt);
      }
    }
    w->ky0 = kk[0]; w->kiy = kk[1]; w->krv = kk[2]; w->kgu = kk[3]; w->kgv = kk[4]; w->kbu = kk[5];
    w->sR = nn[0]; w->bR = nn[1]; w->sG = nn[2]; w->bG = nn[3]; w->sB = nn[4]; w->bB = nn[5];
    w->oR = oR; w->oG = oG; w->oB = oB;
    size_t ol = 0;
    w->out = const_cast<float*>(TypedData<float>(outV, &ol, "out", napi_float32_array));
    w->outLen = ol;
    w->Keep(outV);
    w->Queue();
  } catch (const Napi::Error& e) {
    delete w;
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  return deferred.Promise();
}

}  // namespace

// letterbox({ format: 'NV12'|'I420', planes: Uint8Array[], strides: number[], frameHeight,
//   plan: { tapX, cOff (Int32Array), colT0, colT1 (Int32Array), colW1 (Float64Array), rowY0, rowY1
//   (Int32Array), rowW1 (Float64Array), singleColumn }, k: { iy, rv, gu, gv, bu, y0 },
//   norm: { sR, bR, sG, bG, sB, bB }, W, H, padLeft, padTop, out: Float32Array, oR, oG, oB }) → Promise<void>
// letterbox({ kind: 'resample', format, planes, strides, planeSizes: [lumaW, lumaH, chromaW, chromaH],
//   width, height, rowStride, sampling: { kind: 'axes', x, y, cx, cy: { i0, i1 (Int32Array), w (Float32Array) } }
//   | { kind: 'quad', quad: Float64Array(8), sxC, syC }, k: { y0, iy, rv, gu, gv, bu } (doubles),
//   norm, out, oR, oG, oB }) → Promise<void>
Napi::Value Letterbox(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "letterbox: a request object is required");
  Napi::Object q = info[0].As<Napi::Object>();
  if (q.Has("kind") && q.Get("kind").IsString() && q.Get("kind").As<Napi::String>().Utf8Value() == "resample") return Resample(env, q);
  // Everything is read once and validated before the worker exists; the data pointers are
  // taken last, from the same values the worker keeps references to.
  const std::string format = q.Get("format").ToString().Utf8Value();
  if (format != "NV12" && format != "I420") throw Napi::TypeError::New(env, "letterbox: format must be NV12 or I420");
  const bool nv12 = format == "NV12";
  const uint32_t np = nv12 ? 2 : 3;
  Napi::Value planesV = q.Get("planes"), stridesV = q.Get("strides");
  if (!planesV.IsArray() || !stridesV.IsArray()) throw Napi::TypeError::New(env, "letterbox: planes and strides must be arrays");
  Napi::Array planes = planesV.As<Napi::Array>(), strides = stridesV.As<Napi::Array>();
  if (planes.Length() < np || strides.Length() < np) throw Napi::TypeError::New(env, "letterbox: planes/strides do not match the format");
  Napi::Value planeV[3], strideV[3];
  for (uint32_t i = 0; i < np; i++) {
    planeV[i] = planes.Get(i);
    strideV[i] = strides.Get(i);
    if (!strideV[i].IsNumber()) throw Napi::TypeError::New(env, "letterbox: strides must be numbers");
  }
  const int64_t ys = Int(env, strideV[0].As<Napi::Number>().DoubleValue(), "strides[0]", 0, kMaxDim);
  const int64_t us = Int(env, strideV[1].As<Napi::Number>().DoubleValue(), "strides[1]", 0, kMaxDim);
  const int64_t vs = nv12 ? 0 : Int(env, strideV[2].As<Napi::Number>().DoubleValue(), "strides[2]", 0, kMaxDim);
  const int64_t frameH = Int(env, Num(q, "frameHeight"), "frameHeight", 1, kMaxDim);
  Napi::Value pV = q.Get("plan"), kV = q.Get("k"), nV = q.Get("norm"), outV = q.Get("out");
  if (!pV.IsObject() || !kV.IsObject() || !nV.IsObject()) throw Napi::TypeError::New(env, "letterbox: plan, k and norm must be objects");
  Napi::Object p = pV.As<Napi::Object>(), k = kV.As<Napi::Object>(), nm = nV.As<Napi::Object>();
  const char* planKeys[8] = {"tapX", "cOff", "colT0", "colT1", "colW1", "rowY0", "rowY1", "rowW1"};
  Napi::Value planV[8];
  for (int i = 0; i < 8; i++) planV[i] = p.Get(planKeys[i]);
  const bool singleColumn = p.Get("singleColumn").ToBoolean().Value();
  int32_t kk[6];
  const char* kKeys[6] = {"iy", "rv", "gu", "gv", "bu", "y0"};
  for (int i = 0; i < 6; i++) kk[i] = static_cast<int32_t>(Int(env, Num(k, kKeys[i]), kKeys[i], -kMaxCoeff, kMaxCoeff));
  // y0 is a luma offset (16 or 0 in practice): bounded to ±256 so that (Y' − y0) · iy, at most
  // 511 · 2^20 < 2^29, and the sums with the chroma terms (≤ 128 · 2^20 each) stay within int32.
  if (kk[5] < -256 || kk[5] > 256) throw Napi::RangeError::New(env, "letterbox: k.y0 must be an integer in [-256, 256]");
  double nn[6];
  const char* nKeys[6] = {"sR", "bR", "sG", "bG", "sB", "bB"};
  for (int i = 0; i < 6; i++) {
    nn[i] = Num(nm, nKeys[i]);
    if (!std::isfinite(nn[i])) throw Napi::RangeError::New(env, std::string("letterbox: norm.") + nKeys[i] + " must be finite");
  }
  const int64_t W = Int(env, Num(q, "W"), "W", 1, kMaxDim), H = Int(env, Num(q, "H"), "H", 1, kMaxDim);
  const int64_t padLeft = Int(env, Num(q, "padLeft"), "padLeft", 0, kMaxDim), padTop = Int(env, Num(q, "padTop"), "padTop", 0, kMaxDim);
  const int64_t oR = Int(env, Num(q, "oR"), "oR", 0, kMaxIndex), oG = Int(env, Num(q, "oG"), "oG", 0, kMaxIndex), oB = Int(env, Num(q, "oB"), "oB", 0, kMaxIndex);

  auto deferred = Napi::Promise::Deferred::New(env);
  auto* w = new LetterboxWorker(env, deferred);
  try {
    w->nv12 = nv12;
    size_t len = 0;
    w->y = TypedData<uint8_t>(planeV[0], &len, "planes[0]", napi_uint8_array); w->ylen = len;
    w->u = TypedData<uint8_t>(planeV[1], &len, "planes[1]", napi_uint8_array); w->ulen = len;
    if (!nv12) { w->v = TypedData<uint8_t>(planeV[2], &len, "planes[2]", napi_uint8_array); w->vlen = len; }
    for (uint32_t i = 0; i < np; i++) w->Keep(planeV[i]);
    w->ys = ys; w->us = us; w->vs = vs; w->frameH = frameH;
    size_t n1 = 0, n2 = 0;
    w->tapX = TypedData<int32_t>(planV[0], &n1, "plan.tapX", napi_int32_array);
    w->cOff = TypedData<int32_t>(planV[1], &n2, "plan.cOff", napi_int32_array);
    if (n1 != n2) throw Napi::RangeError::New(env, "letterbox: tapX and cOff differ in length");
    w->taps = n1;
    size_t a = 0, b = 0, c = 0;
    w->colT0 = TypedData<int32_t>(planV[2], &a, "plan.colT0", napi_int32_array);
    w->colT1 = TypedData<int32_t>(planV[3], &b, "plan.colT1", napi_int32_array);
    w->colW1 = TypedData<double>(planV[4], &c, "plan.colW1", napi_float64_array);
    if (a != b || a != c) throw Napi::RangeError::New(env, "letterbox: column arrays differ in length");
    w->cw = a;
    w->rowY0 = TypedData<int32_t>(planV[5], &a, "plan.rowY0", napi_int32_array);
    w->rowY1 = TypedData<int32_t>(planV[6], &b, "plan.rowY1", napi_int32_array);
    w->rowW1 = TypedData<double>(planV[7], &c, "plan.rowW1", napi_float64_array);
    if (a != b || a != c) throw Napi::RangeError::New(env, "letterbox: row arrays differ in length");
    w->ch = a;
    for (int i = 0; i < 8; i++) w->Keep(planV[i]);
    w->singleColumn = singleColumn;
    w->iy = kk[0]; w->rv = kk[1]; w->gu = kk[2]; w->gv = kk[3]; w->bu = kk[4]; w->y0 = kk[5];
    w->sR = nn[0]; w->bR = nn[1]; w->sG = nn[2]; w->bG = nn[3]; w->sB = nn[4]; w->bB = nn[5];
    w->W = W; w->H = H; w->padLeft = padLeft; w->padTop = padTop; w->oR = oR; w->oG = oG; w->oB = oB;
    size_t ol = 0;
    w->out = const_cast<float*>(TypedData<float>(outV, &ol, "out", napi_float32_array));
    w->outLen = ol;
    w->Keep(outV);
    w->Queue();
  } catch (const Napi::Error& e) {
    delete w;
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
  return deferred.Promise();
}

}  // namespace nv
