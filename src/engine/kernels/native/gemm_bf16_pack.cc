// Packing F32 operands into strips of BF16 pairs for the BF16 micro-kernel (gemm_bf16_parts.h says the layout).
#include <immintrin.h>
#include <algorithm>
#include "gemm_bf16_parts.h"
#include "transpose.h"

namespace cm::bf16 {

// 32 values of k per lane become 16 pairs in a register, and a 16×16 transpose of those 32-bit pairs writes them
// k-major, 16 lanes at a time
__attribute__((target("avx512f,avx512bf16"))) void pack_along(int width, const float* src, int ld, int l0, int n,
                                                               int p0, int kc, float alpha, uint32_t* out) {
  const int pairs = (kc + 1) / 2;
  const __m512 a = _mm512_set1_ps(alpha);
  for (int s = 0; s < n; s += width) {
    uint32_t* o = out + (long)s * pairs;
    for (int g = 0; g < width; g += 16) {
      const int lanes = std::max(0, std::min(std::min(16, width - g), n - s - g));
      const __mmask16 store = first_lanes(std::min(16, width - g));
      for (int k = 0; k < kc; k += 32) {
        const int m = std::min(32, kc - k);
        const __mmask16 lo = first_lanes(m), hi = first_lanes(m - 16);
        __m512 r[16];
        for (int c = 0; c < 16; c++) {
          if (c >= lanes) {
            r[c] = _mm512_setzero_ps();
            continue;
          }
          const float* x = src + (long)(l0 + s + g + c) * ld + p0 + k;
          const __m512 v0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(lo, x), a);
          const __m512 v1 = _mm512_mul_ps(_mm512_maskz_loadu_ps(hi, x + 16), a);
          // cvtne2ps_pbh(b, a) puts a's 16 values in the low half, b's in the high half
          r[c] = (__m512)_mm512_cvtne2ps_pbh(v1, v0);
        }
        transpose16(r);
        for (int q = 0; q < (m + 1) / 2; q++)
          _mm512_mask_storeu_ps(reinterpret_cast<float*>(o + (long)(k / 2 + q) * width + g), store, r[q]);
      }
    }
  }
}

// two source rows at a time: both rounded by one conversion (the first row's 16 values in the low half), then
// interleaved so that each 32-bit lane holds the first row's value below the second's
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_across(int width, const float* src, int ld, int l0,
                                                                         int n, int p0, int kc, float alpha,
                                                                         uint32_t* out) {
  const int pairs = (kc + 1) / 2;
  const __m512 a = _mm512_set1_ps(alpha);
  alignas(64) static constexpr uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,
                                                            23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                                            15, 31};
  const __m512i interleave = _mm512_load_si512(kInterleave);
  for (int s = 0; s < n; s += width) {
    uint32_t* o = out + (long)s * pairs;
    for (int p = 0; p < pairs; p++) {
      const float* r0 = src + (long)(p0 + 2 * p) * ld + l0 + s;
      const bool second = 2 * p + 1 < kc;
      for (int g = 0; g < width; g += 16) {
        const __mmask16 m = first_lanes(n - s - g);
        const __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, r0 + g), a);
        const __m512 hi = second ? _mm512_mul_ps(_mm512_maskz_loadu_ps(m, r0 + ld + g), a) : _mm512_setzero_ps();
        const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        _mm512_mask_storeu_epi32(o + (long)p * width + g, first_lanes(std::min(16, width - g)),
                                 _mm512_permutexvar_epi16(interleave, both));
      }
    }
  }
}
}  // namespace cm::bf16
