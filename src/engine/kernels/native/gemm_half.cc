// The 16-bit weight product of gemm_half.h. Blocks of about a million elements (4 MiB of F32): large enough that
// each block's product runs at full GEMM speed, small enough to stay in the caches next to it.
#include "gemm_half.h"
#include <immintrin.h>
#include <algorithm>
#include <cstring>
#include <vector>
#include "gemm.h"
#include "pool.h"

namespace cm {
namespace {
constexpr long BLOCK = 1L << 20;

float f16_scalar(uint16_t h) {  // IEEE half → float, subnormals, infinities and NaN included
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: value = man · 2^-24
    float f = (float)man * (1.f / 16777216.f);
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

__attribute__((target("avx2,f16c"))) void f16_avx2(const uint16_t* in, long n, float* out) {
  long i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  for (; i < n; i++) out[i] = f16_scalar(in[i]);
}

void bf16_widen(const uint16_t* in, long n, float* out) {  // a shift; the compiler vectorises it
  uint32_t* o = reinterpret_cast<uint32_t*>(out);
  for (long i = 0; i < n; i++) o[i] = (uint32_t)in[i] << 16;
}

// n values into F32
void widen(bool f16, const uint16_t* in, long n, float* out) {
  static const bool f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2");
  if (!f16)
    bf16_widen(in, n, out);
  else if (f16c)
    f16_avx2(in, n, out);
  else
    for (long j = 0; j < n; j++) out[j] = f16_scalar(in[j]);
}

// rows [r0, r1) of W (each `cols` long, `ldw` apart) into buf, the rows shared between the pool's threads
void widen_rows(bool f16, const uint16_t* W, int ldw, int r0, int r1, int cols, float* buf) {
  const int rows = r1 - r0;
  const int tasks = chunk_count(rows, 16, pool_threads());
  parallel_for(tasks, [&](int t) {
    const int b = (int)chunk_begin(rows, tasks, t), e = (int)chunk_begin(rows, tasks, t + 1);
    for (int r = b; r < e; r++) widen(f16, W + (long)(r0 + r) * ldw, cols, buf + (long)r * cols);
  });
}
}  // namespace

void sgemm_half(bool w_rows, bool f16, int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W,
                int ldw, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) {  // C = beta · C, without reading C when beta is 0
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(long)i * ldc + j] = beta == 0.f ? 0.f : beta * C[(long)i * ldc + j];
    return;
  }
  // the rows of W that a block holds: output columns (Wᵀ), or values of K (W)
  const int cols = w_rows ? N : K, total = w_rows ? K : N;
  const int step = (int)std::max(1L, std::min((long)total, BLOCK / cols));
  static thread_local std::vector<float> buf;
  buf.resize((size_t)step * cols);
  for (int r0 = 0; r0 < total; r0 += step) {
    const int r1 = std::min(total, r0 + step);
    widen_rows(f16, W, ldw, r0, r1, cols, buf.data());
    if (w_rows)  // K values [r0, r1): C (+)= X[:, r0:r1] · W[r0:r1, :]
      sgemm(false, false, M, N, r1 - r0, alpha, X + r0, ldx, buf.data(), N, r0 == 0 ? beta : 1.f, C, ldc);
    else  // output columns [r0, r1)
      sgemm(false, true, M, r1 - r0, K, alpha, X, ldx, buf.data(), K, beta, C + r0, ldc);
  }
}
}  // namespace cm
