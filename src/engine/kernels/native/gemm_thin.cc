// Products whose output is at most 16 wide or 16 tall: a LoRA adapter's rank (x·Aᵀ, dy·B, dyᵀ·xa, dxaᵀ·x). The
// blocked kernel packs the long operand before multiplying (a second pass over it, as long as the product itself) and
// runs its 12×32 tiles half or two thirds empty: in a 0.36B model's LoRA step (npm run bench -- profile --shape
// llama-0.36b), the adapters' products took 574 ms, 93 GFLOP/s. Here the 16-wide side is one AVX-512 register and the
// long operand is read once, where it lies. Each output's sum runs over k in order, whatever the split between
// threads. A narrow inner dimension (xa·Bᵀ, dxa·A) stays with the blocked kernel: it packs only the narrow operands
// there, and a register kernel measured slower inside the step.
#include "gemm_thin.h"
#include <immintrin.h>
#include <algorithm>
#include <cstring>
#include <vector>
#include "gemm.h"
#include "gemm_driver.h"
#include "pool.h"

namespace cm {
namespace {
constexpr int W = 16;  // the narrow side's most, one register of floats

// Narrow output, rows of A: C[m][0..n) = alpha · Σ_k A[m·lda + k] · Bk[k] + beta · C[m], m in [m0, m0 + R)
template <int R>
__attribute__((target("avx512f"))) void narrow_out_rows(int m0, int n, int K, float alpha, const float* A, int lda,
                                                        const float* Bk, float beta, float* C, int ldc) {
  __m512 acc[R];
  for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
  const float* a = A + (long)m0 * lda;
  for (int k = 0; k < K; k++) {
    const __m512 b = _mm512_loadu_ps(Bk + (long)k * W);
    for (int r = 0; r < R; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[(long)r * lda + k]), b, acc[r]);
  }
  const __mmask16 mask = (__mmask16)((1u << n) - 1);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < R; r++) {
    float* c = C + (long)(m0 + r) * ldc;
    const __m512 v = _mm512_mul_ps(acc[r], va);
    _mm512_mask_storeu_ps(c, mask, beta == 0.f ? v : _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, c), vb, v));
  }
}

// Narrow output, columns of A (op(A) = Aᵀ, A [K×M]): C[m] for m in [m0, m1) from A's rows streamed eight at a time,
// each row's values m0..m1 multiplied into per-m sums kept in a scratch (16 floats per m, in L1). Reading A a column
// block at a time instead steps a row apart per k, a page apart for a 1,024-wide A, where the prefetchers stop.
__attribute__((target("avx512f"))) void narrow_out_cols(int m0, int m1, int n, int K, float alpha, const float* A,
                                                        int lda, const float* Bk, float beta, float* C, int ldc) {
  thread_local std::vector<float> scratch;
  const int count = m1 - m0;
  scratch.assign((size_t)count * W, 0.f);
  float* sums = scratch.data();
  constexpr int KB = 8;
  int k = 0;
  for (; k + KB <= K; k += KB) {
    __m512 b[KB];
    for (int i = 0; i < KB; i++) b[i] = _mm512_loadu_ps(Bk + (long)(k + i) * W);
    const float* a = A + (long)k * lda + m0;
    for (int m = 0; m < count; m++) {
      __m512 acc = _mm512_loadu_ps(sums + (long)m * W);
      for (int i = 0; i < KB; i++) acc = _mm512_fmadd_ps(_mm512_set1_ps(a[(long)i * lda + m]), b[i], acc);
      _mm512_storeu_ps(sums + (long)m * W, acc);
    }
  }
  for (; k < K; k++) {
    const __m512 b = _mm512_loadu_ps(Bk + (long)k * W);
    const float* a = A + (long)k * lda + m0;
    for (int m = 0; m < count; m++)
      _mm512_storeu_ps(sums + (long)m * W,
                       _mm512_fmadd_ps(_mm512_set1_ps(a[m]), b, _mm512_loadu_ps(sums + (long)m * W)));
  }
  const __mmask16 mask = (__mmask16)((1u << n) - 1);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int m = 0; m < count; m++) {
    float* c = C + (long)(m0 + m) * ldc;
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(sums + (long)m * W), va);
    _mm512_mask_storeu_ps(c, mask, beta == 0.f ? v : _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, c), vb, v));
  }
}

// C[M×n] (n ≤ 16) = alpha · op(A) · Bk + beta · C, Bk [K×16] zero-padded; rows of C split between tasks in blocks
// of 48 (whole register blocks of either form)
void narrow_out(bool ta, int M, int n, int K, float alpha, const float* A, int lda, const float* Bk, float beta,
                float* C, int ldc) {
  constexpr int BLOCK = 48;
  const long blocks = (M + BLOCK - 1) / BLOCK;
  const int tasks = chunk_count(blocks, 1, pool_threads() * 2);
  parallel_for(tasks, [&](int t) {
    const int b = (int)std::min<long>(M, chunk_begin(blocks, tasks, t) * BLOCK);
    const int e = (int)std::min<long>(M, chunk_begin(blocks, tasks, t + 1) * BLOCK);
    int m = b;
    if (ta) {
      narrow_out_cols(b, e, n, K, alpha, A, lda, Bk, beta, C, ldc);
    } else {
      for (; m + 12 <= e; m += 12) narrow_out_rows<12>(m, n, K, alpha, A, lda, Bk, beta, C, ldc);
      for (; m + 4 <= e; m += 4) narrow_out_rows<4>(m, n, K, alpha, A, lda, Bk, beta, C, ldc);
      for (; m < e; m++) narrow_out_rows<1>(m, n, K, alpha, A, lda, Bk, beta, C, ldc);
    }
  });
}

// rows [0, K) of op(X) restricted to its first n ≤ 16 columns, as K rows of 16 (zero past n): op(X)[k][j] is
// X[k·ld + j], or X[j·ld + k] when trans
std::vector<float> rows16(bool trans, const float* X, int ld, int K, int n) {
  std::vector<float> out((size_t)K * W, 0.f);
  for (int k = 0; k < K; k++)
    for (int j = 0; j < n; j++) out[(size_t)k * W + j] = trans ? X[(long)j * ld + k] : X[(long)k * ld + j];
  return out;
}
}  // namespace

bool sgemm_thin(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc) {
  if (std::strcmp(simd_level(), "avx512") != 0 || alpha == 0.f) return false;
  constexpr int LONG = 64;
  if (N <= W && N >= 1 && M >= LONG && K >= LONG) {
    // op(B) [K×N] as K registers
    const std::vector<float> Bk = rows16(tb, B, ldb, K, N);
    narrow_out(ta, M, N, K, alpha, A, lda, Bk.data(), beta, C, ldc);
    return true;
  }
  if (M <= W && M >= 1 && N >= LONG && K >= LONG) {
    // Cᵀ = op(B)ᵀ · op(A)ᵀ: N rows of at most 16, computed into a scratch and written back transposed
    const std::vector<float> Ak = rows16(!ta, A, lda, K, M);  // op(A)ᵀ [K×M]: row k holds op(A)[0..M)[k]
    std::vector<float> Ct((size_t)N * W);
    narrow_out(!tb, N, M, K, 1.f, B, ldb, Ak.data(), 0.f, Ct.data(), W);
    for (int i = 0; i < M; i++) {
      float* c = C + (long)i * ldc;
      for (int j = 0; j < N; j++) c[j] = alpha * Ct[(size_t)j * W + i] + (beta == 0.f ? 0.f : beta * c[j]);
    }
    return true;
  }
  return false;
}
}  // namespace cm
