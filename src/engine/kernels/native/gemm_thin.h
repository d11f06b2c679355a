#pragma once
namespace cm {
// C[M×N] = alpha · op(A) · op(B) + beta · C (as sgemm) where M or N is at most 16 and the other two sizes at least
// 64, on CPUs with AVX-512; false (nothing done) for any other product or CPU.
bool sgemm_thin(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc);
}  // namespace cm
