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

CM_CLONES void softmax_range(float* row, int lo, int n, int Tk, float softcap) {
  // no key visible (a window past a padded sequence's last real key): all zero, nothing touched beyond Tk
  if (lo >= n) {
    for (int j = 0; j < Tk; j++) row[j] = 0.f;
    return;
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
}

namespace {
constexpr int QBLOCK = 64;

// d = p ⊙ (d − Σ d ⊙ p) · scale over the first n entries
CM_CLONES void softmax_backward_row(float* d, const float* p, int n, float scale) {
  float dot = 0.f;
  for (int j = 0; j < n; j++) dot += d[j] * p[j];
  for (int j = 0; j < n; j++) d[j] = p[j] * (d[j] - dot) * scale;
}
}  // namespace

void attention_fwd(float* out, float* probs, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                   int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale, int window,
                   float softcap) {
  if (attention_rows_supported(hd)) {
    attention_rows_fwd(out, probs, q, k, v, B, Tq, Tk, nH, nKV, hd, kvStride, qPos0, validLen, scale, window, softcap);
    return;
  }
  int group = nH / nKV;
  int ldq = nH * hd, ldk = nKV * hd;
  parallel_for(B * nH, [&](int task) {
    int b = task / nH, h = task % nH;
    // inference keeps no probabilities: one block of query rows' scores at a time, so memory grows with Tk, not Tq·Tk
    thread_local std::vector<float> scratch;
    if (!probs) scratch.resize((size_t)QBLOCK * Tk);
    const float* Qh = q + (long)b * Tq * ldq + h * hd;
    const float* Kh = k + (long)b * kvStride * ldk + (h / group) * hd;
    const float* Vh = v + (long)b * kvStride * ldk + (h / group) * hd;
    float* Oh = out + (long)b * Tq * ldq + h * hd;
    int valid = validLen ? validLen[b] : Tk;
    // Causal: a block of queries needs keys only up to its last query's position (and the valid length).
    for (int i0 = 0; i0 < Tq; i0 += QBLOCK) {
      int rows = Tq - i0 < QBLOCK ? Tq - i0 : QBLOCK;
      float* S = probs ? probs + (long)task * Tq * Tk + (long)i0 * Tk : scratch.data();
      int keys = visible_keys(qPos0 + i0 + rows - 1, valid, Tk);
      if (keys > 0) sgemm_own_st(false, true, rows, keys, hd, scale, Qh + (long)i0 * ldq, ldq, Kh, ldk, 0.f, S, Tk);
      for (int r = 0; r < rows; r++) {
        const int i = i0 + r;
        float* row = S + (long)r * Tk;
        int last = qPos0 + i;  // last visible key
        if (last > valid - 1) last = valid - 1;
        if (last < 0) {  // nothing visible (cannot happen with right padding): output zeros
          std::memset(row, 0, sizeof(float) * Tk);
          continue;
        }
        softmax_range(row, first_key(qPos0 + i, window), last + 1, Tk, softcap);
      }
      sgemm_own_st(false, false, rows, hd, keys > 0 ? keys : 0, 1.f, S, Tk, Vh, ldk, 0.f, Oh + (long)i0 * ldq, ldq);
    }
  });
}

void attention_bwd(float* dq, float* dk, float* dv, const float* dout, const float* probs, const float* q,
                   const float* k, const float* v, int B, int Tq, int Tk, int nH, int nKV, int hd, float scale,
                   int window, float softcap) {
  (void)window;  // probabilities outside the window are zero, and so are their gradients
  int group = nH / nKV;
  int ldq = nH * hd, ldk = nKV * hd;
  parallel_for(B * nKV, [&](int task) {
    int b = task / nKV, kh = task % nKV;
    thread_local std::vector<float> dS, raw;
    dS.resize((size_t)Tq * Tk);
    if (softcap > 0.f) raw.resize((size_t)QBLOCK * Tk);
    const float* Kh = k + (long)b * Tk * ldk + kh * hd;
    const float* Vh = v + (long)b * Tk * ldk + kh * hd;
    float* dKh = dk + (long)b * Tk * ldk + kh * hd;
    float* dVh = dv + (long)b * Tk * ldk + kh * hd;
    for (int g = 0; g < group; g++) {
      int h = kh * group + g;
      const float* P = probs + ((long)b * nH + h) * Tq * Tk;
      const float* Qh = q + (long)b * Tq * ldq + h * hd;
      const float* dOh = dout + (long)b * Tq * ldq + h * hd;
      float* dQh = dq + (long)b * Tq * ldq + h * hd;
      float beta = g == 0 ? 0.f : 1.f;
      // Training is causal with qPos0 = 0: query block [i0, i0+rows) sees keys [0, i0+rows). Probabilities beyond
      // are zero, so those products are skipped. With Tq = Tk the products below read dS only where a query block
      // wrote it (key block j0 from query row j0 on); otherwise dS is zeroed first so that they stay exact.
      if (Tq != Tk) std::memset(dS.data(), 0, sizeof(float) * (size_t)Tq * Tk);
      for (int i0 = 0; i0 < Tq; i0 += QBLOCK) {
        int rows = Tq - i0 < QBLOCK ? Tq - i0 : QBLOCK;
        int keys = visible_keys(i0 + rows - 1, Tk, Tk);
        // dP = dO · Vᵀ, then softmax backward: dS = P ⊙ (dP − Σ_j dP ⊙ P), times the score scale
        float* dSb = dS.data() + (long)i0 * Tk;
        sgemm_own_st(false, true, rows, keys, hd, 1.f, dOh + (long)i0 * ldq, ldq, Vh, ldk, 0.f, dSb, Tk);
        for (int i = 0; i < rows; i++) softmax_backward_row(dSb + (long)i * Tk, P + (long)(i0 + i) * Tk, keys, scale);
        if (softcap > 0.f) {
          // through the cap: d(c·tanh(u/c))/du = 1 − tanh²(u/c), with u = scale·q·k recomputed here
          sgemm_own_st(false, true, rows, keys, hd, scale, Qh + (long)i0 * ldq, ldq, Kh, ldk, 0.f, raw.data(), Tk);
          for (int i = 0; i < rows; i++)
            for (int j = 0; j < keys; j++) {
              float t = std::tanh(raw[(long)i * Tk + j] / softcap);
              dSb[(long)i * Tk + j] *= 1.f - t * t;
            }
        }
        // dQ = dS · K
        sgemm_own_st(false, false, rows, hd, keys, 1.f, dSb, Tk, Kh, ldk, 0.f, dQh + (long)i0 * ldq, ldq);
      }
      // dV += Pᵀ · dO ; dK += dSᵀ · Q. P and dS are zero above the causal limit, so key block [j0, j0 + QBLOCK) only
      // takes the query rows from j0 on: three eighths of these products skipped at 256 tokens.
      for (int j0 = 0; j0 < Tk; j0 += QBLOCK) {
        int keys = std::min(QBLOCK, Tk - j0), from = Tq == Tk ? j0 : 0;
        long at = (long)from * Tk + j0;
        sgemm_own_st(true, false, keys, hd, Tq - from, 1.f, P + at, Tk, dOh + (long)from * ldq, ldq, beta,
                     dVh + (long)j0 * ldk, ldk);
        sgemm_own_st(true, false, keys, hd, Tq - from, 1.f, dS.data() + at, Tk, Qh + (long)from * ldq, ldq, beta,
                     dKh + (long)j0 * ldk, ldk);
      }
    }
  });
}
}  // namespace cm
