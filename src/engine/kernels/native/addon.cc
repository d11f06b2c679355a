// Node-API bindings of the native kernels: the boundary where JavaScript's numbers become C++ sizes and pointers.
// Every integer is checked (a finite whole number in [0, INT_MAX], so that the kernels' int arguments cannot narrow
// or wrap), every size a kernel derives from them is computed in 64 bits with saturation, every leading dimension
// covers its row, and every buffer's length is checked against what the kernel will touch: a wrong call from
// JavaScript throws a TypeError naming the argument instead of corrupting memory. A C++ exception inside a kernel
// (an allocation that fails, on any pool thread) comes back as a JavaScript Error.
#include <napi.h>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <string>
#include "attention.h"
#include "gemm.h"
#include "gemm_bf16.h"
#include "gemm_half.h"
#include "ops.h"
#include "peak.h"
#include "pool.h"

namespace {
// a·b, or INT64_MAX where that overflows (then no buffer is long enough, and the length check fails)
int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
int64_t mul(int64_t a, int64_t b, int64_t c) { return mul(mul(a, b), c); }
int64_t mul(int64_t a, int64_t b, int64_t c, int64_t d) { return mul(mul(a, b), mul(c, d)); }
int64_t add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

std::string show(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

struct Args {
  const Napi::CallbackInfo& info;
  const char* fn;
  bool failed = false;
  void fail(const std::string& msg) {
    if (!failed) Napi::TypeError::New(info.Env(), std::string(fn) + ": " + msg).ThrowAsJavaScriptException();
    failed = true;
  }
  std::string arg(size_t i, const char* name) { return "argument " + std::to_string(i) + " (" + name + ")"; }
  double num(size_t i, const char* name) {
    if (i >= info.Length() || !info[i].IsNumber()) {
      fail(arg(i, name) + " must be a number");
      return 0;
    }
    return info[i].As<Napi::Number>().DoubleValue();
  }
  // A size, count, position or leading dimension: a whole number in [min, INT_MAX] (0 when it is not one).
  int integer(size_t i, const char* name, int min = 0) {
    double x = num(i, name);
    if (failed) return 0;
    if (!std::isfinite(x) || x != std::floor(x) || x < min || x > INT_MAX) {
      fail(arg(i, name) + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(INT_MAX) +
           ", got " + show(x));
      return 0;
    }
    return (int)x;
  }
  bool flag(size_t i, const char* name) {
    if (i >= info.Length() || !info[i].IsBoolean()) {
      fail(arg(i, name) + " must be a boolean");
      return false;
    }
    return info[i].As<Napi::Boolean>().Value();
  }
  // The leading dimension of a row-major matrix with `cols` columns: at least cols (and 1).
  int ld(size_t i, const char* name, int cols) {
    int v = integer(i, name);
    if (!failed && v < (cols > 1 ? cols : 1))
      fail(arg(i, name) + " is " + std::to_string(v) + ", less than the " + std::to_string(cols) + " columns it spans");
    return v;
  }
  template <typename T>
  T* typed(size_t i, const char* name, napi_typedarray_type type, const char* type_name, int64_t need,
           bool nullable) {
    if (failed) return nullptr;
    if (nullable && (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    if (i >= info.Length() || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
      fail(arg(i, name) + " must be a " + type_name);
      return nullptr;
    }
    auto a = info[i].As<Napi::TypedArrayOf<T>>();
    if ((int64_t)a.ElementLength() < need) {
      fail(arg(i, name) + " has " + std::to_string(a.ElementLength()) + " elements, needs " +
           (need == INT64_MAX ? std::string("more than 2^63 (its sizes overflow)") : std::to_string(need)));
      return nullptr;
    }
    return a.Data();
  }
  // A Float32Array with at least `need` elements, or nullptr when null is allowed and given.
  float* f32(size_t i, const char* name, int64_t need, bool nullable = false) {
    return typed<float>(i, name, napi_float32_array, "Float32Array", need, nullable);
  }
  const uint16_t* u16(size_t i, const char* name, int64_t need) {
    return typed<uint16_t>(i, name, napi_uint16_array, "Uint16Array", need, false);
  }
  int32_t* i32(size_t i, const char* name, int64_t need, bool nullable = false) {
    return typed<int32_t>(i, name, napi_int32_array, "Int32Array", need, nullable);
  }
  // Runs a kernel; a C++ exception from it (on this thread or a pool thread) becomes a JavaScript Error.
  template <typename F>
  Napi::Value guarded(F&& run) {
    if (failed) return info.Env().Undefined();
    try {
      return run();
    } catch (const std::exception& e) {
      Napi::Error::New(info.Env(), std::string(fn) + ": " + e.what()).ThrowAsJavaScriptException();
    } catch (...) {
      Napi::Error::New(info.Env(), std::string(fn) + ": failed in native code").ThrowAsJavaScriptException();
    }
    return info.Env().Undefined();
  }
};

// Elements touched by a row-major matrix op(X) of rows×cols with leading dimension ld.
int64_t span(bool trans, int rows, int cols, int ld) {
  int64_t r = trans ? cols : rows, c = trans ? rows : cols;
  return r <= 0 || c <= 0 ? 0 : add(mul(r - 1, ld), c);
}
// The columns of X as stored, which its leading dimension must cover.
int stored_cols(bool trans, int rows, int cols) { return trans ? rows : cols; }

// sgemm's arguments (ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), checked
struct ProductArgs {
  bool ta, tb;
  int M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float* C;
};
ProductArgs product_args(Args& a) {
  ProductArgs p;
  p.ta = a.flag(0, "transA");
  p.tb = a.flag(1, "transB");
  p.M = a.integer(2, "M");
  p.N = a.integer(3, "N");
  p.K = a.integer(4, "K");
  p.alpha = (float)a.num(5, "alpha");
  p.lda = a.ld(7, "lda", stored_cols(p.ta, p.M, p.K));
  p.ldb = a.ld(9, "ldb", stored_cols(p.tb, p.K, p.N));
  p.ldc = a.ld(12, "ldc", p.N);
  p.beta = (float)a.num(10, "beta");
  p.A = a.f32(6, "A", span(p.ta, p.M, p.K, p.lda));
  p.B = a.f32(8, "B", span(p.tb, p.K, p.N, p.ldb));
  p.C = a.f32(11, "C", span(false, p.M, p.N, p.ldc));
  return p;
}

// sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, own?)
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Args a{info, "sgemm"};
  const ProductArgs p = product_args(a);
  bool own = info.Length() > 13 && info[13].IsBoolean() && info[13].As<Napi::Boolean>().Value();
  return a.guarded([&] {
    (own ? cm::sgemm_own : cm::sgemm)(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, p.C, p.ldc);
    return info.Env().Undefined();
  });
}

// sgemmRoundedBf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) -> false where the CPU has no BF16 dot
// products: both F32 operands rounded to BF16, one thread (the attention backward's packing and block products)
Napi::Value SgemmRoundedBf16(const Napi::CallbackInfo& info) {
  Args a{info, "sgemmRoundedBf16"};
  const ProductArgs p = product_args(a);
  return a.guarded([&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), cm::sgemm_bf16_st(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb,
                                                             p.beta, p.C, p.ldc));
  });
}

// sgemmBf16(M, N, K, alpha, X, ldx, W (BF16 bits), ldw, beta, C, ldc[, U, ldu, V, ldv, vRows, rank, scale]) -> false
// where the CPU has no BF16 dot products; sgemmBf16Rows the same with W [K×N] (C = X·W). With U (not null), the
// low-rank term C += scale·U·Vᵀ is added as C is written: U [M×rank], V [N×rank], or with vRows Vᵀ as [rank×N].
Napi::Value Bf16Product(const Napi::CallbackInfo& info, bool w_rows) {
  Args a{info, w_rows ? "sgemmBf16Rows" : "sgemmBf16"};
  int M = a.integer(0, "M"), N = a.integer(1, "N"), K = a.integer(2, "K");
  float alpha = (float)a.num(3, "alpha");
  int ldx = a.ld(5, "ldx", K), ldw = a.ld(7, "ldw", w_rows ? N : K), ldc = a.ld(10, "ldc", N);
  float beta = (float)a.num(8, "beta");
  const float* X = a.f32(4, "X", span(false, M, K, ldx));
  const uint16_t* W = a.u16(6, "W", w_rows ? span(false, K, N, ldw) : span(false, N, K, ldw));
  float* C = a.f32(9, "C", span(false, M, N, ldc));
  const bool low_rank = info.Length() > 11 && !info[11].IsNull() && !info[11].IsUndefined();
  cm::LowRank term{};
  if (low_rank) {
    term.r = a.integer(16, "rank", 1);
    term.v_rows = a.flag(15, "vRows");
    term.ldu = a.ld(12, "ldu", term.r);
    term.ldv = a.ld(14, "ldv", term.v_rows ? N : term.r);
    term.scale = (float)a.num(17, "scale");
    term.U = a.f32(11, "U", span(false, M, term.r, term.ldu));
    term.V = a.f32(13, "V", term.v_rows ? span(false, term.r, N, term.ldv) : span(false, N, term.r, term.ldv));
  }
  return a.guarded([&]() -> Napi::Value {
    const auto f = w_rows ? cm::sgemm_bf16w_rows : cm::sgemm_bf16w;
    return Napi::Boolean::New(info.Env(), f(M, N, K, alpha, X, ldx, W, ldw, beta, C, ldc, low_rank ? &term : nullptr));
  });
}
Napi::Value SgemmBf16(const Napi::CallbackInfo& info) { return Bf16Product(info, false); }

// sgemmHalf(wRows, f16, M, N, K, alpha, X, ldx, W (16-bit bits), ldw, beta, C, ldc): exact F32 products with a
// 16-bit weight, W [N×K] (C = X·Wᵀ) or with wRows [K×N] (C = X·W)
Napi::Value SgemmHalf(const Napi::CallbackInfo& info) {
  Args a{info, "sgemmHalf"};
  const bool w_rows = a.flag(0, "wRows"), f16 = a.flag(1, "f16");
  int M = a.integer(2, "M"), N = a.integer(3, "N"), K = a.integer(4, "K");
  float alpha = (float)a.num(5, "alpha");
  int ldx = a.ld(7, "ldx", K), ldw = a.ld(9, "ldw", w_rows ? N : K), ldc = a.ld(12, "ldc", N);
  float beta = (float)a.num(10, "beta");
  const float* X = a.f32(6, "X", span(false, M, K, ldx));
  const uint16_t* W = a.u16(8, "W", w_rows ? span(false, K, N, ldw) : span(false, N, K, ldw));
  float* C = a.f32(11, "C", span(false, M, N, ldc));
  return a.guarded([&]() -> Napi::Value {
    cm::sgemm_half(w_rows, f16, M, N, K, alpha, X, ldx, W, ldw, beta, C, ldc);
    return info.Env().Undefined();
  });
}
Napi::Value SgemmBf16Rows(const Napi::CallbackInfo& info) { return Bf16Product(info, true); }

// rmsnormForward(out, rstd|null, x, w, rows, dim, eps)
Napi::Value RmsnormFwd(const Napi::CallbackInfo& info) {
  Args a{info, "rmsnormForward"};
  int rows = a.integer(4, "rows"), dim = a.integer(5, "dim");
  float eps = (float)a.num(6, "eps");
  float* out = a.f32(0, "out", mul(rows, dim));
  float* rstd = a.f32(1, "rstd", rows, true);
  const float* x = a.f32(2, "x", mul(rows, dim));
  const float* w = a.f32(3, "w", dim);
  return a.guarded([&] {
    cm::rmsnorm_fwd(out, rstd, x, w, rows, dim, eps);
    return info.Env().Undefined();
  });
}

// rmsnormBackward(dx, dw|null, dout, x, w, rstd, rows, dim, accumulateDx)
Napi::Value RmsnormBwd(const Napi::CallbackInfo& info) {
  Args a{info, "rmsnormBackward"};
  int rows = a.integer(6, "rows"), dim = a.integer(7, "dim");
  bool acc = a.flag(8, "accumulateDx");
  float* dx = a.f32(0, "dx", mul(rows, dim));
  float* dw = a.f32(1, "dw", dim, true);
  const float* dout = a.f32(2, "dout", mul(rows, dim));
  const float* x = a.f32(3, "x", mul(rows, dim));
  const float* w = a.f32(4, "w", dim);
  const float* rstd = a.f32(5, "rstd", rows);
  return a.guarded([&] {
    cm::rmsnorm_bwd(dx, dw, dout, x, w, rstd, rows, dim, acc);
    return info.Env().Undefined();
  });
}

// rope(x, rows, T, heads, headDim, pos0, cos, sin, inverse): rows of T positions each, from pos0 on
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a{info, "rope"};
  int rows = a.integer(1, "rows"), T = a.integer(2, "T", 1), heads = a.integer(3, "heads"),
      hd = a.integer(4, "headDim"), pos0 = a.integer(5, "pos0");
  bool inv = a.flag(8, "inverse");
  float* x = a.f32(0, "x", mul(rows, heads, hd));
  int64_t positions = rows == 0 ? 0 : add(pos0, rows > T ? T : rows);
  const float* c = a.f32(6, "cos", mul(positions, hd / 2));
  const float* s = a.f32(7, "sin", mul(positions, hd / 2));
  return a.guarded([&] {
    cm::rope_apply(x, rows, T, heads, hd, pos0, c, s, inv);
    return info.Env().Undefined();
  });
}

// swigluForward / gegluForward(h, gate, up, n)
template <void (*Kernel)(float*, const float*, const float*, long)>
Napi::Value GluFwd(const Napi::CallbackInfo& info, const char* fn) {
  Args a{info, fn};
  int n = a.integer(3, "n");
  float* h = a.f32(0, "h", n);
  const float* g = a.f32(1, "gate", n);
  const float* u = a.f32(2, "up", n);
  return a.guarded([&] {
    Kernel(h, g, u, n);
    return info.Env().Undefined();
  });
}

// swigluBackward / gegluBackward(dgate, dup, dh, gate, up, n)
template <void (*Kernel)(float*, float*, const float*, const float*, const float*, long)>
Napi::Value GluBwd(const Napi::CallbackInfo& info, const char* fn) {
  Args a{info, fn};
  int n = a.integer(5, "n");
  float* dg = a.f32(0, "dgate", n);
  float* du = a.f32(1, "dup", n);
  const float* dh = a.f32(2, "dh", n);
  const float* g = a.f32(3, "gate", n);
  const float* u = a.f32(4, "up", n);
  return a.guarded([&] {
    Kernel(dg, du, dh, g, u, n);
    return info.Env().Undefined();
  });
}

Napi::Value SwigluFwd(const Napi::CallbackInfo& info) { return GluFwd<cm::swiglu_fwd>(info, "swigluForward"); }
Napi::Value SwigluBwd(const Napi::CallbackInfo& info) { return GluBwd<cm::swiglu_bwd>(info, "swigluBackward"); }
Napi::Value GegluFwd(const Napi::CallbackInfo& info) { return GluFwd<cm::geglu_fwd>(info, "gegluForward"); }
Napi::Value GegluBwd(const Napi::CallbackInfo& info) { return GluBwd<cm::geglu_bwd>(info, "gegluBackward"); }

// crossEntropy(logits→grad, targets, weights|null, rows, V, scale) → Σ weight · nll
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args a{info, "crossEntropy"};
  int rows = a.integer(3, "rows"), V = a.integer(4, "V", 1);
  float scale = (float)a.num(5, "scale");
  float* z = a.f32(0, "logits", mul(rows, V));
  const int32_t* t = a.i32(1, "targets", rows);
  const float* w = a.f32(2, "weights", rows, true);
  if (a.failed) return info.Env().Undefined();
  for (int r = 0; r < rows; r++)
    if (t[r] < 0 || t[r] >= V) {
      a.fail("target " + std::to_string(t[r]) + " at row " + std::to_string(r) + " is outside the vocabulary");
      return info.Env().Undefined();
    }
  return a.guarded([&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), cm::cross_entropy(z, t, w, rows, V, scale));
  });
}

// adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2)
Napi::Value Adamw(const Napi::CallbackInfo& info) {
  Args a{info, "adamw"};
  int n = a.integer(4, "n");
  float* p = a.f32(0, "p", n);
  const float* g = a.f32(1, "g", n);
  float* m = a.f32(2, "m", n);
  float* v = a.f32(3, "v", n);
  float lr = (float)a.num(5, "lr"), b1 = (float)a.num(6, "b1"), b2 = (float)a.num(7, "b2"),
        eps = (float)a.num(8, "eps"), wd = (float)a.num(9, "wd"), bc1 = (float)a.num(10, "bc1"),
        bc2 = (float)a.num(11, "bc2");
  return a.guarded([&] {
    cm::adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2);
    return info.Env().Undefined();
  });
}

Napi::Value AddInplace(const Napi::CallbackInfo& info) {
  Args a{info, "addInPlace"};
  int n = a.integer(2, "n");
  float* x = a.f32(0, "x", n);
  const float* y = a.f32(1, "y", n);
  return a.guarded([&] {
    cm::add_inplace(x, y, n);
    return info.Env().Undefined();
  });
}

Napi::Value ScaleInplace(const Napi::CallbackInfo& info) {
  Args a{info, "scaleInPlace"};
  int n = a.integer(2, "n");
  float* x = a.f32(0, "x", n);
  float s = (float)a.num(1, "scale");
  return a.guarded([&] {
    cm::scale_inplace(x, s, n);
    return info.Env().Undefined();
  });
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a{info, "sumSquares"};
  int n = a.integer(1, "n");
  const float* x = a.f32(0, "x", n);
  return a.guarded([&]() -> Napi::Value { return Napi::Number::New(info.Env(), cm::sum_squares(x, n)); });
}

// attentionForward(out, lse|null, q, k, v, B, Tq, Tk, nH, nKV, hd, kvStride, qPos0, validLen|null, scale, window,
//                  softcap[, bf16])
Napi::Value AttnFwd(const Napi::CallbackInfo& info) {
  Args a{info, "attentionForward"};
  int B = a.integer(5, "B"), Tq = a.integer(6, "Tq"), Tk = a.integer(7, "Tk"), nH = a.integer(8, "nH"),
      nKV = a.integer(9, "nKV", 1), hd = a.integer(10, "hd"), kvStride = a.integer(11, "kvStride"),
      qPos0 = a.integer(12, "qPos0");
  float scale = (float)a.num(14, "scale");
  int window = a.integer(15, "window");
  float softcap = (float)a.num(16, "softcap");
  const bool bf16 = info.Length() > 17 && !info[17].IsUndefined() && a.flag(17, "bf16");
  if (!a.failed && nH % nKV != 0) a.fail("heads must be a multiple of kv heads");
  if (!a.failed && Tk > kvStride) a.fail("Tk exceeds kvStride");
  float* out = a.f32(0, "out", mul(B, Tq, nH, hd));
  float* lse = a.f32(1, "lse", mul(B, nH, Tq), true);
  const float* q = a.f32(2, "q", mul(B, Tq, nH, hd));
  const float* k = a.f32(3, "k", mul(B, kvStride, nKV, hd));
  const float* v = a.f32(4, "v", mul(B, kvStride, nKV, hd));
  const int32_t* valid = a.i32(13, "validLen", B, true);
  return a.guarded([&] {
    cm::attention_fwd(out, lse, q, k, v, B, Tq, Tk, nH, nKV, hd, kvStride, qPos0, valid, scale, window, softcap,
                      bf16);
    return info.Env().Undefined();
  });
}

// attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, B, Tq, Tk, nH, nKV, hd, validLen|null, scale, window,
//                   softcap[, bf16])
Napi::Value AttnBwd(const Napi::CallbackInfo& info) {
  Args a{info, "attentionBackward"};
  int B = a.integer(9, "B"), Tq = a.integer(10, "Tq"), Tk = a.integer(11, "Tk"), nH = a.integer(12, "nH"),
      nKV = a.integer(13, "nKV", 1), hd = a.integer(14, "hd");
  float scale = (float)a.num(16, "scale");
  int window = a.integer(17, "window");
  float softcap = (float)a.num(18, "softcap");
  const bool bf16 = info.Length() > 19 && !info[19].IsUndefined() && a.flag(19, "bf16");
  if (!a.failed && nH % nKV != 0) a.fail("heads must be a multiple of kv heads");
  float* dq = a.f32(0, "dq", mul(B, Tq, nH, hd));
  float* dk = a.f32(1, "dk", mul(B, Tk, nKV, hd));
  float* dv = a.f32(2, "dv", mul(B, Tk, nKV, hd));
  const float* dout = a.f32(3, "dout", mul(B, Tq, nH, hd));
  const float* out = a.f32(4, "out", mul(B, Tq, nH, hd));
  const float* lse = a.f32(5, "lse", mul(B, nH, Tq));
  const float* q = a.f32(6, "q", mul(B, Tq, nH, hd));
  const float* k = a.f32(7, "k", mul(B, Tk, nKV, hd));
  const float* v = a.f32(8, "v", mul(B, Tk, nKV, hd));
  const int32_t* valid = a.i32(15, "validLen", B, true);
  return a.guarded([&] {
    cm::attention_bwd(dq, dk, dv, dout, out, lse, q, k, v, B, Tq, Tk, nH, nKV, hd, valid, scale, window, softcap,
                      bf16);
    return info.Env().Undefined();
  });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info, "setThreads"};
  int n = a.integer(0, "threads", 1);
  return a.guarded([&] {
    cm::pool_set_threads(n);
    cm::set_blas_threads(n);
    return info.Env().Undefined();
  });
}

Napi::Value SetGemmBackend(const Napi::CallbackInfo& info) {
  Args a{info, "setGemmBackend"};
  int n = a.integer(0, "backend");
  if (!a.failed && n > 2) a.fail("argument 0 (backend) must be 0, 1 or 2");
  return a.guarded([&] {
    cm::set_gemm_backend(n);
    return info.Env().Undefined();
  });
}

Napi::Value SetBf16(const Napi::CallbackInfo& info) {
  Args a{info, "setBf16"};
  bool on = a.flag(0, "on");
  return a.guarded([&] {
    cm::set_bf16(on ? 1 : 0);
    return info.Env().Undefined();
  });
}

Napi::Value SetGemmPlan(const Napi::CallbackInfo& info) {
  Args a{info, "setGemmPlan"};
  int row = a.integer(0, "row"), small = a.integer(1, "small"), large = a.integer(2, "large");
  if (!a.failed && (row > 2 || small > 2 || large > 2)) a.fail("each backend must be 0, 1 or 2");
  return a.guarded([&] {
    cm::set_gemm_plan(row, small, large);
    return info.Env().Undefined();
  });
}

Napi::Value PeakGflops(const Napi::CallbackInfo& info) {
  Args a{info, "peakGflops"};
  bool bf16 = a.flag(0, "bf16");
  double seconds = a.num(1, "seconds");
  if (!a.failed && !(seconds > 0 && seconds <= 60)) a.fail("argument 1 (seconds) must be in (0, 60]");
  return a.guarded([&] { return Napi::Number::New(info.Env(), cm::peak_gflops(bf16, seconds)); });
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
  exports.Set("sgemmBf16Rows", Napi::Function::New(env, SgemmBf16Rows));
  exports.Set("sgemmRoundedBf16", Napi::Function::New(env, SgemmRoundedBf16));
  exports.Set("sgemmHalf", Napi::Function::New(env, SgemmHalf));
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
  exports.Set("peakGflops", Napi::Function::New(env, PeakGflops));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}
}  // namespace

NODE_API_MODULE(crossmon_kernels, Init)
