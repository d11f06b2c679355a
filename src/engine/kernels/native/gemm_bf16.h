#pragma once
#include <cstdint>
namespace cm {
// Whether this CPU has AVX-512 BF16 dot products and they are not switched off (CROSSMON_BF16=f32, or a SIMD level
// below AVX-512 chosen with CROSSMON_SIMD).
bool bf16_dot_supported();
// 1: use them where the CPU has them, 0: products with BF16 weights convert W to F32 instead (exact F32 math).
void set_bf16(int on);
// A low-rank term added to a product's output as it is written, in F32: C += scale · U·Vᵀ with U [M×r] (row stride
// ldu) and V [N×r] (ldv), or with v_rows Vᵀ given as [r×N] (ldv). A LoRA adapter's xa·Bᵀ (forward) or dxa·A
// (backward) this way costs r multiply-adds per output on a tile still in L1; as a product of its own, it read and
// wrote the whole of C again (a 1,024 × 3,072 output: 25 MB).
struct LowRank {
  const float* U;
  int ldu;
  const float* V;
  int ldv;
  bool v_rows;
  int r;
  float scale;
};
// C[M×N] = alpha · X[M×K] · Wᵀ + beta · C (+ the low-rank term, where given), W [N×K] as BF16 bits; X is rounded to
// BF16 (alpha applied first) and the products summed in F32. Returns false, doing nothing, where
// bf16_dot_supported() is false.
bool sgemm_bf16w(int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw, float beta,
                 float* C, int ldc, const LowRank* extra = nullptr);
// C[M×N] = alpha · X[M×K] · W + beta · C (+ the low-rank term), W [K×N] as BF16 bits (the backward product dx = dy·W
// through a frozen weight [out, in]); X rounded and summed as above. Returns false, doing nothing, where sgemm_bf16w
// would.
bool sgemm_bf16w_rows(int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw,
                      float beta, float* C, int ldc, const LowRank* extra = nullptr);
// C[M×N] = alpha · op(A) · op(B) + beta · C (op: transposed where ta / tb is set) with both operands F32, each
// rounded to BF16 as it is packed (alpha applied first) and the products summed in F32; one thread. Returns false,
// doing nothing, where sgemm_bf16w would.
bool sgemm_bf16_st(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                   int ldb, float beta, float* C, int ldc);
}  // namespace cm
