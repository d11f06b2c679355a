// The scores of a block of query rows against keys packed 16 side by side, in F32 or, for a BF16 model with BF16 dot
// products, on BF16 pairs of head dimensions: the forward (attention_rows.cc) and the BF16 backward
// (attention_bwd_bf16.cc) compute them the same way (attention_bf16_scores says which), so that the backward's
// recomputed probabilities are those whose log-normaliser the forward kept.
#pragma once
#include <immintrin.h>
#include <algorithm>
#include <cstdint>
#include "transpose.h"

namespace cm {
// Kt[s][d][0..16) = K[16s + i][d] for the first `keys` keys, zero beyond; 16 dimensions at a time through a register
// transpose (element by element, a 16-head backward spent 2.5% of its time here)
inline __attribute__((target("avx512f"))) void pack_keys(float* Kt, const float* K, int ldk, int keys, int hd) {
  const int strips = (keys + 15) / 16, hd16 = hd & ~15;
  for (int s = 0; s < strips; s++) {
    float* o = Kt + (long)s * hd * 16;
    const int n = std::min(16, keys - 16 * s);
    pack_transposed16(K + (long)16 * s * ldk, ldk, n, hd16, 1.f, o, 16);
    for (int i = 0; i < 16; i++) {
      const float* row = K + (long)(16 * s + i) * ldk;
      for (int d = hd16; d < hd; d++) o[d * 16 + i] = i < n ? row[d] : 0.f;
    }
  }
}

// S[r][c..c + 16) = sc · a[r] for each of the R rows
template <int R>
inline __attribute__((target("avx512f"))) void store_scaled(float* S, int lds, int c, const __m512* a, __m512 sc) {
  for (int r = 0; r < R; r++) _mm512_storeu_ps(S + (long)r * lds + c, _mm512_mul_ps(a[r], sc));
}

// S[r][0..16·strips) = scale · q_r · k_j for `rows` query rows
template <int R>
inline __attribute__((target("avx512f"))) void scores(float* S, int lds, const float* Q, int ldq, const float* Kt,
                                                      int strips, int hd, float scale) {
  const __m512 sc = _mm512_set1_ps(scale);
  int s = 0;
  for (; s + 2 <= strips; s += 2) {
    __m512 a0[R], a1[R];
    for (int r = 0; r < R; r++) a0[r] = a1[r] = _mm512_setzero_ps();
    const float* k0 = Kt + (long)s * hd * 16;
    const float* k1 = k0 + hd * 16;
    for (int d = 0; d < hd; d++) {
      __m512 b0 = _mm512_loadu_ps(k0 + d * 16), b1 = _mm512_loadu_ps(k1 + d * 16);
      for (int r = 0; r < R; r++) {
        __m512 q = _mm512_set1_ps(Q[(long)r * ldq + d]);
        a0[r] = _mm512_fmadd_ps(q, b0, a0[r]);
        a1[r] = _mm512_fmadd_ps(q, b1, a1[r]);
      }
    }
    store_scaled<R>(S, lds, 16 * s, a0, sc);
    store_scaled<R>(S, lds, 16 * s + 16, a1, sc);
  }
  for (; s < strips; s++) {
    __m512 a0[R];
    for (int r = 0; r < R; r++) a0[r] = _mm512_setzero_ps();
    const float* k0 = Kt + (long)s * hd * 16;
    for (int d = 0; d < hd; d++) {
      __m512 b0 = _mm512_loadu_ps(k0 + d * 16);
      for (int r = 0; r < R; r++) a0[r] = _mm512_fmadd_ps(_mm512_set1_ps(Q[(long)r * ldq + d]), b0, a0[r]);
    }
    store_scaled<R>(S, lds, 16 * s, a0, sc);
  }
}

// scores<R> for a block of 1 to 6 rows
inline __attribute__((target("avx512f"))) void score_rows(int rows, float* S, int lds, const float* Q, int ldq,
                                                          const float* Kt, int strips, int hd, float scale) {
  switch (rows) {
#define CM_SCORE_ROWS(n)                              \
  case n:                                             \
    scores<n>(S, lds, Q, ldq, Kt, strips, hd, scale); \
    break;
    CM_SCORE_ROWS(1) CM_SCORE_ROWS(2) CM_SCORE_ROWS(3) CM_SCORE_ROWS(4) CM_SCORE_ROWS(5) CM_SCORE_ROWS(6)
#undef CM_SCORE_ROWS
  }
}

// Query rows and keys as the BF16 scores read them: each query row as hd / 2 BF16 pairs of head dimensions (pair p,
// dimensions 2p and 2p + 1, in its 32-bit slot p; rows_to_pairs), and the keys in strips of 16 from bf16::pack_along,
// pair p of key l at [p·16 + l] (strip s at s·16·pairs). QROWS query rows make a block.
constexpr int QROWS = 6;

// out[r·hd / 2 + p] = pair p of row r, for `rows` rows of Q (row stride ldq) and hd a multiple of 16, rounded to
// nearest even as the packing of the BF16 products rounds
inline __attribute__((target("avx512f,avx512bf16"))) void rows_to_pairs(const float* Q, int ldq, int rows, int hd,
                                                                         uint32_t* out) {
  for (int r = 0; r < rows; r++) {
    const float* q = Q + (long)r * ldq;
    uint32_t* o = out + (long)r * (hd / 2);
    for (int j = 0; j < hd; j += 32) {
      const bool two = j + 16 < hd;
      const __m512 lo = _mm512_loadu_ps(q + j), hi = two ? _mm512_loadu_ps(q + j + 16) : _mm512_setzero_ps();
      const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // lo's 16 values below hi's
      if (two)
        _mm512_storeu_si512(o + j / 2, both);
      else
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + j / 2), _mm512_castsi512_si256(both));
    }
  }
}

// S[r][0..16·strips) = scale · q_r · k_j for `rows` query rows (row r's pairs at Qp + r·pairs, as rows_to_pairs
// writes them), their products in BF16 and sums in F32 (each vdpbf16ps adds two head dimensions' products per key);
// `pairs` = hd / 2
template <int R>
inline __attribute__((target("avx512f,avx512bf16"))) void scores_bf16(float* S, int lds, const uint32_t* Qp,
                                                                       const uint32_t* Kp, int strips, int pairs,
                                                                       float scale) {
  const __m512 sc = _mm512_set1_ps(scale);
  int s = 0;
  for (; s + 2 <= strips; s += 2) {
    __m512 a0[R], a1[R];
    for (int r = 0; r < R; r++) a0[r] = a1[r] = _mm512_setzero_ps();
    const uint32_t* k0 = Kp + (long)s * pairs * 16;
    const uint32_t* k1 = k0 + pairs * 16;
    for (int p = 0; p < pairs; p++) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(k0 + p * 16), b1 = (__m512bh)_mm512_loadu_si512(k1 + p * 16);
      for (int r = 0; r < R; r++) {
        const __m512bh q = (__m512bh)_mm512_set1_epi32((int)Qp[r * pairs + p]);
        a0[r] = _mm512_dpbf16_ps(a0[r], q, b0);
        a1[r] = _mm512_dpbf16_ps(a1[r], q, b1);
      }
    }
    store_scaled<R>(S, lds, 16 * s, a0, sc);
    store_scaled<R>(S, lds, 16 * s + 16, a1, sc);
  }
  for (; s < strips; s++) {
    __m512 a0[R];
    for (int r = 0; r < R; r++) a0[r] = _mm512_setzero_ps();
    const uint32_t* k0 = Kp + (long)s * pairs * 16;
    for (int p = 0; p < pairs; p++) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(k0 + p * 16);
      for (int r = 0; r < R; r++)
        a0[r] = _mm512_dpbf16_ps(a0[r], (__m512bh)_mm512_set1_epi32((int)Qp[r * pairs + p]), b0);
    }
    store_scaled<R>(S, lds, 16 * s, a0, sc);
  }
}

// scores_bf16<R> for a block of 1 to QROWS rows
inline __attribute__((target("avx512f,avx512bf16"))) void score_rows_bf16(int rows, float* S, int lds,
                                                                           const uint32_t* Qp, const uint32_t* Kp,
                                                                           int strips, int pairs, float scale) {
  switch (rows) {
#define CM_SCORE_ROWS(n)                                      \
  case n:                                                     \
    scores_bf16<n>(S, lds, Qp, Kp, strips, pairs, scale);     \
    break;
    CM_SCORE_ROWS(1) CM_SCORE_ROWS(2) CM_SCORE_ROWS(3) CM_SCORE_ROWS(4) CM_SCORE_ROWS(5) CM_SCORE_ROWS(6)
#undef CM_SCORE_ROWS
  }
}
}  // namespace cm
