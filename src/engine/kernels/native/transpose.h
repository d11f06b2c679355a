#pragma once
// Packing GEMM operands for the AVX-512 kernel: 16×16 transposes of 32-bit values in registers (for operands whose
// rows run along k), and strips that are already k-major.
#include <immintrin.h>
#include <algorithm>

namespace cm {
// r[q] = column q of the 16×16 block r held row by row (unpacks of pairs, of quads, then of 128-bit lanes)
__attribute__((target("avx512f"))) inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
  }
}

// Packing a strip whose source rows run along k (x's rows for A, W's rows for Bᵀ) is a transpose: 16 rows × 16
// values of k at a time through registers, instead of one scalar load per element (a third of a prefill's GEMM time).
// out[p·width + c] = alpha · src[c·ld + p] for c < rows (≤ 16, the rest zero), p < kc16 (a multiple of 16); the first
// min(width, 16) of each 16 outputs are stored.
__attribute__((target("avx512f"))) inline void pack_transposed16(const float* src, long ld, int rows, int kc16,
                                                                 float alpha, float* out, int width) {
  const __m512 a = _mm512_set1_ps(alpha);
  const __mmask16 keep = (__mmask16)((1u << std::min(width, 16)) - 1);
  for (int p = 0; p < kc16; p += 16) {
    __m512 r[16];
    for (int c = 0; c < 16; c++) {
      r[c] = c < rows ? _mm512_loadu_ps(src + c * ld + p) : _mm512_setzero_ps();
      if (alpha != 1.f) r[c] = _mm512_mul_ps(r[c], a);  // 1: a plain copy, so BF16 pairs pass bit for bit
    }
    transpose16(r);
    for (int q = 0; q < 16; q++) _mm512_mask_storeu_ps(out + (long)(p + q) * width, keep, r[q]);
  }
}

// out[p·12 + c] = alpha · src[p·ld + c] for c < rows (≤ 12, the rest zero), p < kc: strips of Aᵀ
__attribute__((target("avx512f"))) inline void pack_rows12(const float* src, long ld, int rows, int kc, float alpha,
                                                           float* out) {
  const __m512 a = _mm512_set1_ps(alpha);
  const __mmask16 in = (__mmask16)((1u << rows) - 1);
  for (int p = 0; p < kc; p++)
    _mm512_mask_storeu_ps(out + (long)p * 12, 0x0fff, _mm512_mul_ps(_mm512_maskz_loadu_ps(in, src + p * ld), a));
}
}  // namespace cm
