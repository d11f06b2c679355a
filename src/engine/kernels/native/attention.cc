#include "attention.h"
#include <algorithm>
#include "attention_rows.h"
#include "attention_softmax.h"
#include <cmath>
#include <cstring>
#include <vector>
#include "gemm.h"
#include "fastmath.h"
#include "pool.h"

namespace cm {
#define CM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

CM_CLONES float softmax_range(float* row, int lo, int n, int Tk, float softcap) {
  // no key visible (a window past a padded sequence's last real key): all zero, nothing touched beyond Tk
  if (lo >= n) {
    for (int j = 0; j < Tk; j++) row[j] = 0.f;
    return __builtin_inff();
  }
  if (softcap > 0.f)
    for (int j = lo; j < n; j++) row[j] = softcap * std::tanh(row[j] / softcap);
  float mx = row[lo];
  for (int j = lo + 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
  float sum = 0.f;
  for (int j = lo; j < n; j++) {
    row[j] = fast_exp(row[j] - mx);
    sum += row[j];
  }
  float inv = 1.f / sum;
  for (int j = 0; j < lo; j++) row[j] = 0.f;
  for (int j = lo; j < n; j++) row[j] *= inv;
  for (int j = n; j < Tk; j++) row[j] = 0.f;
  return mx + std::log(sum);
}

namespace {
constexpr int QBLOCK = 64;
}  // namespace

void attention_fwd(float* out, float* lse, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                   int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale, int window,
                   float softcap, bool bf16) {
  if (attention_rows_supported(hd)) {
    attention_rows_fwd(out, lse, q, k, v, B, Tq, Tk, nH, nKV, hd, kvStride, qPos0, validLen, scale, window, softcap,
                       bf16);
    return;
  }
  int group = nH / nKV;
  int ldq = nH * hd, ldk = nKV * hd;
  parallel_for(B * nH, [&](int task) {
    int b = task / nH, h = task % nH;
    // one block of query rows' scores at a time, so memory grows with Tk, not Tq·Tk
    thread_local std::vector<float> scratch;
    scratch.resize((size_t)QBLOCK * Tk);
    const float* Qh = q + (long)b * Tq * ldq + h * hd;
    const float* Kh = k + (long)b * kvStride * ldk + (h / group) * hd;
    const float* Vh = v + (long)b * kvStride * ldk + (h / group) * hd;
    float* Oh = out + (long)b * Tq * ldq + h * hd;
    int valid = validLen ? validLen[b] : Tk;
    // Causal: a block of queries needs keys only up to its last query's position (and the valid length).
    for (int i0 = 0; i0 < Tq; i0 += QBLOCK) {
      int rows = Tq - i0 < QBLOCK ? Tq - i0 : QBLOCK;
      float* S = scratch.data();
      int keys = visible_keys(qPos0 + i0 + rows - 1, valid, Tk);
      if (keys > 0) sgemm_own_st(false, true, rows, keys, hd, scale, Qh + (long)i0 * ldq, ldq, Kh, ldk, 0.f, S, Tk);
      for (int r = 0; r < rows; r++) {
        const int i = i0 + r;
        float* row = S + (long)r * Tk;
        int last = qPos0 + i;  // last visible key
        if (last > valid - 1) last = valid - 1;
        float* rowLse = lse ? lse + (long)task * Tq + i : nullptr;
        if (last < 0) {  // nothing visible (cannot happen with right padding): output zeros
          std::memset(row, 0, sizeof(float) * Tk);
          if (rowLse) *rowLse = __builtin_inff();
          continue;
        }
        const float l = softmax_range(row, first_key(qPos0 + i, window), last + 1, Tk, softcap);
        if (rowLse) *rowLse = l;
      }
      sgemm_own_st(false, false, rows, hd, keys > 0 ? keys : 0, 1.f, S, Tk, Vh, ldk, 0.f, Oh + (long)i0 * ldq, ldq);
    }
  });
}

}  // namespace cm
