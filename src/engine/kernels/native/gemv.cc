// Matrix-vector products for decoding: a few activation rows against a row-major weight matrix, streamed once.
#include "gemv.h"
#include <immintrin.h>
#include <algorithm>
#include "pool.h"

namespace cm {
namespace {

constexpr int NB = 4;  // rows of B per step: four dot products share each load of A

template <int M>
__attribute__((target("avx512f"))) void block_avx512(int n0, int n1, int K, float alpha, const float* A, int lda,
                                                      const float* B, int ldb, float beta, float* C, int ldc) {
  const int K16 = K & ~15;
  const __mmask16 tail = (__mmask16)((1u << (K - K16)) - 1);
  for (int n = n0; n < n1; n += NB) {
    const int nb = std::min(NB, n1 - n);
    __m512 acc[M][NB];
    for (int m = 0; m < M; m++)
      for (int j = 0; j < NB; j++) acc[m][j] = _mm512_setzero_ps();
    const float* b[NB];
    for (int j = 0; j < NB; j++) b[j] = B + (long)(n + std::min(j, nb - 1)) * ldb;
    for (int k = 0; k < K16; k += 16) {
      __m512 w[NB];
      for (int j = 0; j < NB; j++) w[j] = _mm512_loadu_ps(b[j] + k);
      for (int m = 0; m < M; m++) {
        __m512 a = _mm512_loadu_ps(A + (long)m * lda + k);
        for (int j = 0; j < NB; j++) acc[m][j] = _mm512_fmadd_ps(a, w[j], acc[m][j]);
      }
    }
    if (tail) {
      __m512 w[NB];
      for (int j = 0; j < NB; j++) w[j] = _mm512_maskz_loadu_ps(tail, b[j] + K16);
      for (int m = 0; m < M; m++) {
        __m512 a = _mm512_maskz_loadu_ps(tail, A + (long)m * lda + K16);
        for (int j = 0; j < NB; j++) acc[m][j] = _mm512_fmadd_ps(a, w[j], acc[m][j]);
      }
    }
    for (int m = 0; m < M; m++)
      for (int j = 0; j < nb; j++) {
        float* c = C + (long)m * ldc + n + j;
        float s = alpha * _mm512_reduce_add_ps(acc[m][j]);
        *c = beta == 0.f ? s : s + beta * *c;
      }
  }
}

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int M>
__attribute__((target("avx2,fma"))) void block_avx2(int n0, int n1, int K, float alpha, const float* A, int lda,
                                                    const float* B, int ldb, float beta, float* C, int ldc) {
  const int K8 = K & ~7;
  for (int n = n0; n < n1; n += NB) {
    const int nb = std::min(NB, n1 - n);
    __m256 acc[M][NB];
    for (int m = 0; m < M; m++)
      for (int j = 0; j < NB; j++) acc[m][j] = _mm256_setzero_ps();
    const float* b[NB];
    for (int j = 0; j < NB; j++) b[j] = B + (long)(n + std::min(j, nb - 1)) * ldb;
    for (int k = 0; k < K8; k += 8) {
      __m256 w[NB];
      for (int j = 0; j < NB; j++) w[j] = _mm256_loadu_ps(b[j] + k);
      for (int m = 0; m < M; m++) {
        __m256 a = _mm256_loadu_ps(A + (long)m * lda + k);
        for (int j = 0; j < NB; j++) acc[m][j] = _mm256_fmadd_ps(a, w[j], acc[m][j]);
      }
    }
    for (int m = 0; m < M; m++)
      for (int j = 0; j < nb; j++) {
        float s = hsum256(acc[m][j]);
        for (int k = K8; k < K; k++) s += A[(long)m * lda + k] * b[j][k];
        float* c = C + (long)m * ldc + n + j;
        *c = beta == 0.f ? alpha * s : alpha * s + beta * *c;
      }
  }
}

template <int M>
void block_generic(int n0, int n1, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                   float* C, int ldc) {
  for (int n = n0; n < n1; n++)
    for (int m = 0; m < M; m++) {
      float s = 0.f;
      for (int k = 0; k < K; k++) s += A[(long)m * lda + k] * B[(long)n * ldb + k];
      float* c = C + (long)m * ldc + n;
      *c = beta == 0.f ? alpha * s : alpha * s + beta * *c;
    }
}

typedef void (*block_fn)(int, int, int, float, const float*, int, const float*, int, float, float*, int);

template <int M>
block_fn pick(int simd) {
  return simd == 2 ? block_avx512<M> : simd == 1 ? block_avx2<M> : block_generic<M>;
}

}  // namespace

void gemv_nt(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C,
             int ldc, int simd) {
  if (M <= 0 || N <= 0) return;
  block_fn fns[GEMV_MAX_ROWS] = {pick<1>(simd), pick<2>(simd), pick<3>(simd), pick<4>(simd)};
  // blocks of at least 64 rows of B (a multiple of NB, so blocks never split a step)
  int tasks = chunk_count(N / NB + 1, 16, pool_threads() * 4);
  parallel_for(tasks, [&](int t) {
    long blocks = N / NB + 1;
    int b0 = (int)std::min<long>(N, chunk_begin(blocks, tasks, t) * NB);
    int b1 = (int)std::min<long>(N, chunk_begin(blocks, tasks, t + 1) * NB);
    for (int m0 = 0; m0 < M; m0 += GEMV_MAX_ROWS) {
      int mr = std::min(GEMV_MAX_ROWS, M - m0);
      if (b1 > b0) fns[mr - 1](b0, b1, K, alpha, A + (long)m0 * lda, lda, B, ldb, beta, C + (long)m0 * ldc, ldc);
    }
  });
}

}  // namespace cm
