// C = alpha · op(A) · op(B) + beta · C with both operands F32, each rounded to BF16 as it is packed and the products
// summed in F32 by the BF16 micro-kernel, at twice an F32 FMA's multiply-adds; one thread, the caller's tasks its
// parallelism. The attention backward packs its operands itself, each once, and multiplies them with product_packed
// (gemm_bf16_parts.h); sgemm_bf16_st packs both for every call and is that packing and product as one call, which the
// kernels test checks against a reference for every transposition.
#include <algorithm>
#include <cstdint>
#include <vector>
#include "gemm_bf16.h"
#include "gemm_bf16_parts.h"
#include "gemm_driver.h"

namespace cm {
using bf16::KC;
using bf16::MC;
using bf16::MR;
using bf16::NC;
using bf16::NR;

bool sgemm_bf16_st(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                   int ldb, float beta, float* C, int ldc) {
  if (!bf16_dot_supported()) return false;
  if (M <= 0 || N <= 0) return true;
  const bool overwrite = beta == 0.f && K > 0 && alpha != 0.f;
  if (!overwrite) scale_c(M, N, beta, C, ldc);
  if (K <= 0 || alpha == 0.f) return true;
  // sized for this product's blocks (an attention block pair's are a few tens of KiB, where the largest blocks'
  // would be 6 MiB per thread)
  const size_t depth = (std::min(K, KC) + 1) / 2;
  thread_local std::vector<uint32_t> bufA, bufB;
  bufA.resize(std::max(bufA.size(), (size_t)round_up(std::min(M, MC), MR) * depth));
  bufB.resize(std::max(bufB.size(), (size_t)round_up(std::min(N, NC), NR) * depth));
  // op(A)'s rows are A's rows (values along them) or A's columns; op(B)'s columns are B's columns or, with tb, rows
  const auto blockA = [&](int i0, int mc, int p0, int kc) -> const uint32_t* {
    (ta ? bf16::pack_across : bf16::pack_along)(MR, A, lda, i0, mc, p0, kc, alpha, bufA.data());
    return bufA.data();
  };
  const auto panelB = [&](int j0, int nc, int p0, int kc) -> const uint32_t* {
    (tb ? bf16::pack_along : bf16::pack_across)(NR, B, ldb, j0, nc, p0, kc, 1.f, bufB.data());
    return bufB.data();
  };
  blocked_product<MR, NR, 2, uint32_t>(M, N, K, MC, NC, KC, C, ldc, overwrite, blockA, panelB, bf16::micro);
  return true;
}

}  // namespace cm
