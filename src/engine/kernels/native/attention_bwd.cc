// The attention backward from each row's log-sum-exp instead of kept probabilities: one block of keys at a time
// (BK of them), each block of queries that sees them (BQ rows) recomputes its scores, its probabilities
// P = exp(s − lse) and, through dP = dO·Vᵀ, its score gradients dS = P ⊙ (dP − D)·scale with D = rowsum(dO ⊙ O); the
// key block's dK and dV add up in a small buffer, dQ in place. Everything of a block pair stays in cache, where the
// kept probabilities were T² floats per head (1.75 GiB for a 1,024-token step of a 28-layer, 16-head model; 28 GiB at
// 4,096 tokens, so such a step could not run on a 24 GB machine).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "attention.h"
#include "attention_bwd_parts.h"
#include "attention_softmax.h"
#include "fastmath.h"
#include "gemm.h"
#include "pool.h"

namespace cm {
namespace attention_bwd_parts {
#define CM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

CM_CLONES void probabilities(float* S, float* G, int rows, int keys, int i0, int j0, int valid, int window,
                             float softcap, const float* lse) {
  for (int r = 0; r < rows; r++) {
    const int i = i0 + r;
    const int lo = std::max(0, first_key(i, window) - j0);
    const int hi = std::min(keys, std::min(i, valid - 1) - j0 + 1);  // visible keys of the block: [lo, hi)
    float* s = S + (long)r * BK;
    float* g = G + (long)r * BK;
    const float l = lse[i];
    if (softcap > 0.f)
      for (int c = lo; c < hi; c++) {
        const float t = std::tanh(s[c] / softcap);
        s[c] = softcap * t;
        g[c] = 1.f - t * t;
      }
    for (int c = 0; c < std::min(lo, keys); c++) s[c] = 0.f;
    for (int c = lo; c < hi; c++) s[c] = fast_exp(s[c] - l);
    for (int c = std::max(hi, lo); c < keys; c++) s[c] = 0.f;
  }
}

CM_CLONES void score_gradients(float* dP, const float* P, const float* G, int rows, int keys, const float* D,
                               float scale, bool capped) {
  for (int r = 0; r < rows; r++) {
    float* d = dP + (long)r * BK;
    const float* p = P + (long)r * BK;
    const float* g = G + (long)r * BK;
    const float dr = D[r];
    if (capped)
      for (int c = 0; c < keys; c++) d[c] = p[c] == 0.f ? 0.f : p[c] * (d[c] - dr) * scale * g[c];
    else
      for (int c = 0; c < keys; c++) d[c] = p[c] * (d[c] - dr) * scale;
  }
}

CM_CLONES void row_dots(float* D, const float* dO, const float* O, int ld, int rows, int hd) {
  for (int i = 0; i < rows; i++) {
    float s = 0.f;
    for (int d = 0; d < hd; d++) s += dO[(long)i * ld + d] * O[(long)i * ld + d];
    D[i] = s;
  }
}
}  // namespace attention_bwd_parts

void attention_bwd(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                   const float* q, const float* k, const float* v, int B, int Tq, int Tk, int nH, int nKV, int hd,
                   const int* validLen, float scale, int window, float softcap, bool bf16) {
  using namespace attention_bwd_parts;
  const int group = nH / nKV;
  // with BF16 dot products, the block products run on them, from operands packed once (attention_bwd_bf16.cc)
  const bool packed = bf16 && PackedBlocks::available();
  const int ldq = nH * hd, ldk = nKV * hd;
  // one task per sequence and kv head: it alone writes that head's dK and dV and its query heads' dQ
  parallel_for(B * nKV, [&](int task) {
    const int b = task / nKV, kh = task % nKV;
    const int valid = validLen ? validLen[b] : Tk;
    thread_local std::vector<float> S, G, dP, dKb, dVb, D;
    thread_local PackedBlocks blocks;
    S.resize((size_t)BQ * BK);
    dP.resize((size_t)BQ * BK);
    G.resize(softcap > 0.f ? (size_t)BQ * BK : 1);
    dKb.resize((size_t)BK * hd);
    dVb.resize((size_t)BK * hd);
    D.resize((size_t)group * Tq);
    if (packed) blocks.task(group, Tq, hd);
    const float* Kh = k + (long)b * Tk * ldk + kh * hd;
    const float* Vh = v + (long)b * Tk * ldk + kh * hd;
    for (int g = 0; g < group; g++) {
      const long at = (long)b * Tq * ldq + (kh * group + g) * hd;
      row_dots(D.data() + (long)g * Tq, dout + at, out + at, ldq, Tq, hd);
      for (int i = 0; i < Tq; i++) std::memset(dq + at + (long)i * ldq, 0, sizeof(float) * hd);
      if (packed) blocks.head(g, q + at, dout + at, ldq);
    }
    for (int j0 = 0; j0 < Tk; j0 += BK) {
      const int keys = std::min(BK, Tk - j0);
      bool touched = false;
      if (packed && j0 < valid) blocks.keys(Kh, Vh, ldk, j0, keys);
      for (int g = 0; g < group && j0 < valid; g++) {
        const int h = kh * group + g;
        const long at = (long)b * Tq * ldq + h * hd;
        const float* Qh = q + at;
        const float* dOh = dout + at;
        float* dQh = dq + at;
        const float* L = lse + ((long)b * nH + h) * Tq;
        // queries from j0 on see this block (causal, qPos0 = 0); with a window, only those within it of its first key
        const int iEnd = window > 0 ? std::min(Tq, j0 + keys - 1 + window) : Tq;
        for (int i0 = j0 / BQ * BQ; i0 < iEnd; i0 += BQ) {
          const int rows = std::min(BQ, Tq - i0);
          if (packed)
            blocks.scores(g, Qh + (long)i0 * ldq, ldq, i0, rows, scale, S.data());
          else
            sgemm_own_st(false, true, rows, keys, hd, scale, Qh + (long)i0 * ldq, ldq, Kh + (long)j0 * ldk, ldk, 0.f,
                         S.data(), BK);
          probabilities(S.data(), G.data(), rows, keys, i0, j0, valid, window, softcap, L);
          const float beta = touched ? 1.f : 0.f;
          // dV += Pᵀ·dO, dP = dO·Vᵀ, dS, dK += dSᵀ·Q, dQ += dS·K
          if (packed) {
            blocks.value_gradients(g, i0, rows, S.data(), dVb.data(), dP.data(), !touched);
          } else {
            sgemm_own_st(true, false, keys, hd, rows, 1.f, S.data(), BK, dOh + (long)i0 * ldq, ldq, beta, dVb.data(),
                         hd);
            sgemm_own_st(false, true, rows, keys, hd, 1.f, dOh + (long)i0 * ldq, ldq, Vh + (long)j0 * ldk, ldk, 0.f,
                         dP.data(), BK);
          }
          score_gradients(dP.data(), S.data(), G.data(), rows, keys, D.data() + (long)g * Tq + i0, scale,
                          softcap > 0.f);
          if (packed) {
            blocks.key_query_gradients(g, i0, rows, dP.data(), dKb.data(), dQh + (long)i0 * ldq, ldq, !touched);
          } else {
            sgemm_own_st(true, false, keys, hd, rows, 1.f, dP.data(), BK, Qh + (long)i0 * ldq, ldq, beta, dKb.data(),
                         hd);
            sgemm_own_st(false, false, rows, hd, keys, 1.f, dP.data(), BK, Kh + (long)j0 * ldk, ldk, 1.f,
                         dQh + (long)i0 * ldq, ldq);
          }
          touched = true;
        }
      }
      for (int c = 0; c < keys; c++) {
        float* dkr = dk + ((long)b * Tk + j0 + c) * ldk + kh * hd;
        float* dvr = dv + ((long)b * Tk + j0 + c) * ldk + kh * hd;
        if (touched) {
          std::memcpy(dkr, dKb.data() + (long)c * hd, sizeof(float) * hd);
          std::memcpy(dvr, dVb.data() + (long)c * hd, sizeof(float) * hd);
        } else {  // keys no query sees (past the valid length, or of no query at all)
          std::memset(dkr, 0, sizeof(float) * hd);
          std::memset(dvr, 0, sizeof(float) * hd);
        }
      }
    }
  });
}
}  // namespace cm
