// Node-API bindings of the native kernels. Every buffer's length is checked against what the kernel will touch, so a
// wrong shape from JavaScript throws a TypeError here instead of corrupting memory.
#include <napi.h>
#include <string>
#include "attention.h"
#include "gemm.h"
#include "gemm_bf16.h"
#include "ops.h"
#include "pool.h"

namespace {
struct Args {
  const Napi::CallbackInfo& info;
  const char* fn;
  bool failed = false;
  void fail(const std::string& msg) {
    if (!failed) Napi::TypeError::New(info.Env(), std::string(fn) + ": " + msg).ThrowAsJavaScriptException();
    failed = true;
  }
  double num(size_t i) {
    if (i >= info.Length() || !info[i].IsNumber()) {
      fail("argument " + std::to_string(i) + " must be a number");
      return 0;
    }
    return info[i].As<Napi::Number>().DoubleValue();
  }
  long integer(size_t i) { return (long)num(i); }
  bool flag(size_t i) {
    if (i >= info.Length() || !info[i].IsBoolean()) {
      fail("argument " + std::to_string(i) + " must be a boolean");
      return false;
    }
    return info[i].As<Napi::Boolean>().Value();
  }
  // A Float32Array with at least `need` elements, or nullptr when null is allowed and given.
  float* f32(size_t i, long need, bool nullable = false) {
    if (nullable && (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      fail("argument " + std::to_string(i) + " must be a Float32Array");
      return nullptr;
    }
    auto a = info[i].As<Napi::Float32Array>();
    if ((long)a.ElementLength() < need) {
      fail("argument " + std::to_string(i) + " has " + std::to_string(a.ElementLength()) + " elements, needs " +
           std::to_string(need));
      return nullptr;
    }
    return a.Data();
  }
  const uint16_t* u16(size_t i, long need) {
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
      fail("argument " + std::to_string(i) + " must be a Uint16Array");
      return nullptr;
    }
    auto a = info[i].As<Napi::Uint16Array>();
    if ((long)a.ElementLength() < need) {
      fail("argument " + std::to_string(i) + " has " + std::to_string(a.ElementLength()) + " elements, needs " +
           std::to_string(need));
      return nullptr;
    }
    return a.Data();
  }
  int* i32(size_t i, long need, bool nullable = false) {
    if (nullable && (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    if (i >= info.Length() || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      fail("argument " + std::to_string(i) + " must be an Int32Array");
      return nullptr;
    }
    auto a = info[i].As<Napi::Int32Array>();
    if ((long)a.ElementLength() < need) {
      fail("argument " + std::to_string(i) + " is too short");
      return nullptr;
    }
    return a.Data();
  }
};

long span(bool trans, long rows, long cols, long ld) {
  // elements touched by a row-major matrix op(X) of rows×cols with leading dimension ld
  long r = trans ? cols : rows, c = trans ? rows : cols;
  return r <= 0 || c <= 0 ? 0 : (r - 1) * ld + c;
}

// sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, own?)
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Args a{info, "sgemm"};
  bool ta = a.flag(0), tb = a.flag(1);
  long M = a.integer(2), N = a.integer(3), K = a.integer(4);
  float alpha = (float)a.num(5);
  long lda = a.integer(7), ldb = a.integer(9), ldc = a.integer(12);
  float beta = (float)a.num(10);
  const float* A = a.f32(6, span(ta, M, K, lda));
  const float* B = a.f32(8, span(tb, K, N, ldb));
  float* C = a.f32(11, span(false, M, N, ldc));
  bool own = info.Length() > 13 && info[13].IsBoolean() && info[13].As<Napi::Boolean>().Value();
  if (a.failed) return info.Env().Undefined();
  if (own)
    cm::sgemm_own(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    cm::sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return info.Env().Undefined();
}

// sgemmBf16(M, N, K, alpha, X, ldx, W (BF16 bits), ldw, beta, C, ldc) -> false where the CPU has no BF16 dot products
Napi::Value SgemmBf16(const Napi::CallbackInfo& info) {
  Args a{info, "sgemmBf16"};
  long M = a.integer(0), N = a.integer(1), K = a.integer(2);
  float alpha = (float)a.num(3);
  long ldx = a.integer(5), ldw = a.integer(7), ldc = a.integer(10);
  float beta = (float)a.num(8);
  const float* X = a.f32(4, span(false, M, K, ldx));
  const uint16_t* W = a.u16(6, span(false, N, K, ldw));
  float* C = a.f32(9, span(false, M, N, ldc));
  if (a.failed) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), cm::sgemm_bf16w(M, N, K, alpha, X, ldx, W, ldw, beta, C, ldc));
}

// rmsnormForward(out, rstd|null, x, w, rows, dim, eps)
Napi::Value RmsnormFwd(const Napi::CallbackInfo& info) {
  Args a{info, "rmsnormForward"};
  long rows = a.integer(4), dim = a.integer(5);
  float eps = (float)a.num(6);
  float* out = a.f32(0, rows * dim);
  float* rstd = a.f32(1, rows, true);
  const float* x = a.f32(2, rows * dim);
  const float* w = a.f32(3, dim);
  if (!a.failed) cm::rmsnorm_fwd(out, rstd, x, w, rows, dim, eps);
  return info.Env().Undefined();
}

// rmsnormBackward(dx, dw|null, dout, x, w, rstd, rows, dim, accumulateDx)
Napi::Value RmsnormBwd(const Napi::CallbackInfo& info) {
  Args a{info, "rmsnormBackward"};
  long rows = a.integer(6), dim = a.integer(7);
  bool acc = a.flag(8);
  float* dx = a.f32(0, rows * dim);
  float* dw = a.f32(1, dim, true);
  const float* dout = a.f32(2, rows * dim);
  const float* x = a.f32(3, rows * dim);
  const float* w = a.f32(4, dim);
  const float* rstd = a.f32(5, rows);
  if (!a.failed) cm::rmsnorm_bwd(dx, dw, dout, x, w, rstd, rows, dim, acc);
  return info.Env().Undefined();
}

// rope(x, rows, T, heads, headDim, pos0, cos, sin, inverse)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a{info, "rope"};
  long rows = a.integer(1), T = a.integer(2), heads = a.integer(3), hd = a.integer(4), pos0 = a.integer(5);
  bool inv = a.flag(8);
  float* x = a.f32(0, rows * heads * hd);
  long maxPos = T > 0 ? pos0 + (rows > T ? T : rows) : 0;
  const float* c = a.f32(6, maxPos * (hd / 2));
  const float* s = a.f32(7, maxPos * (hd / 2));
  if (T <= 0) a.fail("T must be positive");
  if (!a.failed) cm::rope_apply(x, rows, T, heads, hd, pos0, c, s, inv);
  return info.Env().Undefined();
}

// swigluForward(h, gate, up, n)
Napi::Value SwigluFwd(const Napi::CallbackInfo& info) {
  Args a{info, "swigluForward"};
  long n = a.integer(3);
  float* h = a.f32(0, n);
  const float* g = a.f32(1, n);
  const float* u = a.f32(2, n);
  if (!a.failed) cm::swiglu_fwd(h, g, u, n);
  return info.Env().Undefined();
}

// swigluBackward(dgate, dup, dh, gate, up, n)
Napi::Value SwigluBwd(const Napi::CallbackInfo& info) {
  Args a{info, "swigluBackward"};
  long n = a.integer(5);
  float* dg = a.f32(0, n);
  float* du = a.f32(1, n);
  const float* dh = a.f32(2, n);
  const float* g = a.f32(3, n);
  const float* u = a.f32(4, n);
  if (!a.failed) cm::swiglu_bwd(dg, du, dh, g, u, n);
  return info.Env().Undefined();
}

// gegluForward(h, gate, up, n)
Napi::Value GegluFwd(const Napi::CallbackInfo& info) {
  Args a{info, "gegluForward"};
  long n = a.integer(3);
  float* h = a.f32(0, n);
  const float* g = a.f32(1, n);
  const float* u = a.f32(2, n);
  if (!a.failed) cm::geglu_fwd(h, g, u, n);
  return info.Env().Undefined();
}

// gegluBackward(dgate, dup, dh, gate, up, n)
Napi::Value GegluBwd(const Napi::CallbackInfo& info) {
  Args a{info, "gegluBackward"};
  long n = a.integer(5);
  float* dg = a.f32(0, n);
  float* du = a.f32(1, n);
  const float* dh = a.f32(2, n);
  const float* g = a.f32(3, n);
  const float* u = a.f32(4, n);
  if (!a.failed) cm::geglu_bwd(dg, du, dh, g, u, n);
  return info.Env().Undefined();
}

// crossEntropy(logits→grad, targets, weights|null, rows, V, scale) → Σ weight · nll
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args a{info, "crossEntropy"};
  long rows = a.integer(3), V = a.integer(4);
  float scale = (float)a.num(5);
  float* z = a.f32(0, rows * V);
  const int* t = a.i32(1, rows);
  const float* w = a.f32(2, rows, true);
  if (a.failed) return info.Env().Undefined();
  for (long r = 0; r < rows; r++)
    if (t[r] < 0 || t[r] >= V) {
      a.fail("target " + std::to_string(t[r]) + " at row " + std::to_string(r) + " is outside the vocabulary");
      return info.Env().Undefined();
    }
  return Napi::Number::New(info.Env(), cm::cross_entropy(z, t, w, rows, V, scale));
}

// adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2)
Napi::Value Adamw(const Napi::CallbackInfo& info) {
  Args a{info, "adamw"};
  long n = a.integer(4);
  float* p = a.f32(0, n);
  const float* g = a.f32(1, n);
  float* m = a.f32(2, n);
  float* v = a.f32(3, n);
  float lr = (float)a.num(5), b1 = (float)a.num(6), b2 = (float)a.num(7), eps = (float)a.num(8), wd = (float)a.num(9),
        bc1 = (float)a.num(10), bc2 = (float)a.num(11);
  if (!a.failed) cm::adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2);
  return info.Env().Undefined();
}

Napi::Value AddInplace(const Napi::CallbackInfo& info) {
  Args a{info, "addInPlace"};
  long n = a.integer(2);
  float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  if (!a.failed) cm::add_inplace(x, y, n);
  return info.Env().Undefined();
}

Napi::Value ScaleInplace(const Napi::CallbackInfo& info) {
  Args a{info, "scaleInPlace"};
  long n = a.integer(2);
  float* x = a.f32(0, n);
  float s = (float)a.num(1);
  if (!a.failed) cm::scale_inplace(x, s, n);
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a{info, "sumSquares"};
  long n = a.integer(1);
  const float* x = a.f32(0, n);
  if (a.failed) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), cm::sum_squares(x, n));
}

// attentionForward(out, probs|null, q, k, v, B, Tq, Tk, nH, nKV, hd, kvStride, qPos0, validLen|null, scale, window,
//                  softcap)
Napi::Value AttnFwd(const Napi::CallbackInfo& info) {
  Args a{info, "attentionForward"};
  long B = a.integer(5), Tq = a.integer(6), Tk = a.integer(7), nH = a.integer(8), nKV = a.integer(9),
       hd = a.integer(10), kvStride = a.integer(11), qPos0 = a.integer(12);
  float scale = (float)a.num(14);
  long window = a.integer(15);
  float softcap = (float)a.num(16);
  if (nKV <= 0 || nH % nKV != 0) a.fail("heads must be a multiple of kv heads");
  if (Tk > kvStride) a.fail("Tk exceeds kvStride");
  float* out = a.f32(0, B * Tq * nH * hd);
  float* probs = a.f32(1, B * nH * Tq * Tk, true);
  const float* q = a.f32(2, B * Tq * nH * hd);
  const float* k = a.f32(3, B * kvStride * nKV * hd);
  const float* v = a.f32(4, B * kvStride * nKV * hd);
  const int* valid = a.i32(13, B, true);
  if (!a.failed)
    cm::attention_fwd(out, probs, q, k, v, B, Tq, Tk, nH, nKV, hd, kvStride, qPos0, valid, scale, window, softcap);
  return info.Env().Undefined();
}

// attentionBackward(dq, dk, dv, dout, probs, q, k, v, B, Tq, Tk, nH, nKV, hd, scale, window, softcap)
Napi::Value AttnBwd(const Napi::CallbackInfo& info) {
  Args a{info, "attentionBackward"};
  long B = a.integer(8), Tq = a.integer(9), Tk = a.integer(10), nH = a.integer(11), nKV = a.integer(12),
       hd = a.integer(13);
  float scale = (float)a.num(14);
  long window = a.integer(15);
  float softcap = (float)a.num(16);
  if (nKV <= 0 || nH % nKV != 0) a.fail("heads must be a multiple of kv heads");
  float* dq = a.f32(0, B * Tq * nH * hd);
  float* dk = a.f32(1, B * Tk * nKV * hd);
  float* dv = a.f32(2, B * Tk * nKV * hd);
  const float* dout = a.f32(3, B * Tq * nH * hd);
  const float* probs = a.f32(4, B * nH * Tq * Tk);
  const float* q = a.f32(5, B * Tq * nH * hd);
  const float* k = a.f32(6, B * Tk * nKV * hd);
  const float* v = a.f32(7, B * Tk * nKV * hd);
  if (!a.failed) cm::attention_bwd(dq, dk, dv, dout, probs, q, k, v, B, Tq, Tk, nH, nKV, hd, scale, window, softcap);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info, "setThreads"};
  long n = a.integer(0);
  if (a.failed) return info.Env().Undefined();
  cm::pool_set_threads((int)n);
  cm::set_blas_threads((int)n);
  return info.Env().Undefined();
}

Napi::Value SetGemmBackend(const Napi::CallbackInfo& info) {
  Args a{info, "setGemmBackend"};
  long n = a.integer(0);
  if (!a.failed) cm::set_gemm_backend((int)n);
  return info.Env().Undefined();
}

Napi::Value SetBf16(const Napi::CallbackInfo& info) {
  Args a{info, "setBf16"};
  bool on = a.flag(0);
  if (!a.failed) cm::set_bf16(on ? 1 : 0);
  return info.Env().Undefined();
}

Napi::Value SetGemmPlan(const Napi::CallbackInfo& info) {
  Args a{info, "setGemmPlan"};
  long row = a.integer(0), small = a.integer(1), large = a.integer(2);
  if (!a.failed) cm::set_gemm_plan((int)row, (int)small, (int)large);
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("threads", cm::pool_threads());
  o.Set("gemm", cm::gemm_backend_name());
  Napi::Object plan = Napi::Object::New(info.Env());
  plan.Set("row", cm::gemm_backend_for(0));
  plan.Set("small", cm::gemm_backend_for(1));
  plan.Set("large", cm::gemm_backend_for(2));
  o.Set("gemmPlan", plan);
  o.Set("openblas", cm::openblas_loaded());
  o.Set("simd", cm::simd_level());
  o.Set("bf16", cm::bf16_dot_supported());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("sgemmBf16", Napi::Function::New(env, SgemmBf16));
  exports.Set("rmsnormForward", Napi::Function::New(env, RmsnormFwd));
  exports.Set("rmsnormBackward", Napi::Function::New(env, RmsnormBwd));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("swigluForward", Napi::Function::New(env, SwigluFwd));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBwd));
  exports.Set("gegluForward", Napi::Function::New(env, GegluFwd));
  exports.Set("gegluBackward", Napi::Function::New(env, GegluBwd));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy));
  exports.Set("adamw", Napi::Function::New(env, Adamw));
  exports.Set("addInPlace", Napi::Function::New(env, AddInplace));
  exports.Set("scaleInPlace", Napi::Function::New(env, ScaleInplace));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
  exports.Set("attentionForward", Napi::Function::New(env, AttnFwd));
  exports.Set("attentionBackward", Napi::Function::New(env, AttnBwd));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setGemmBackend", Napi::Function::New(env, SetGemmBackend));
  exports.Set("setGemmPlan", Napi::Function::New(env, SetGemmPlan));
  exports.Set("setBf16", Napi::Function::New(env, SetBf16));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}
}  // namespace

NODE_API_MODULE(crossmon_kernels, Init)
