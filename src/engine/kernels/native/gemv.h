#pragma once
namespace cm {
// C[M×N] = alpha · A · Bᵀ + beta · C for a few rows of A (M ≤ GEMV_MAX_ROWS), B row-major [N × K]: the product of
// decoding (x · Wᵀ, one token per sequence). Memory-bound, so it streams each row of B once for all rows of A, spread
// over the pool by blocks of B's rows; every output is one task's, so results do not depend on the thread count.
constexpr int GEMV_MAX_ROWS = 4;
void gemv_nt(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C,
             int ldc, int simd);
}  // namespace cm
