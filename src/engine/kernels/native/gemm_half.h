#pragma once
#include <cstdint>
namespace cm {
// Products with a 16-bit weight (BF16, or F16 when f16 is set) in exact F32 arithmetic: W is widened to F32 a block
// at a time in native code (F16C / AVX-512 conversions where the CPU has them) and each block multiplied by the F32
// kernel, so no F32 copy of the whole matrix exists. For F16 weights, and for BF16 where the CPU has no BF16 dot
// products (or they are switched off).
//   w_rows false: C[M×N] = alpha · X[M×K] · Wᵀ + beta · C, W [N×K]
//   w_rows true:  C[M×N] = alpha · X[M×K] · W  + beta · C, W [K×N]
void sgemm_half(bool w_rows, bool f16, int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W,
                int ldw, float beta, float* C, int ldc);
}  // namespace cm
