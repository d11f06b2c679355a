// What the BF16 kernels share (gemm_bf16.cc: F32 × BF16 weights; gemm_bf16_f32.cc: F32 × F32 rounded to BF16): the
// micro-kernel's tile, the blocking, the micro-kernel and the packing of F32 operands into strips of BF16 pairs.
#pragma once
#include <immintrin.h>
#include <algorithm>
#include <cstdint>
#include "gemm_driver.h"

namespace cm::bf16 {
constexpr int MR = 12, NR = 32;
// BF16 values of K per block (768 pairs). Each block past the first reads and writes C again, and a LoRA step's C is
// 4–12 MB: against 512, the 0.36B shape's step products ran 4–10% faster (bench/lib/step-products.ts, 1536 against
// 512, 1024, 2048 and 3072 in turns); the strip of W (96 KiB) then streams from L2, as the block of x does.
constexpr int KC = 1536;
constexpr int MC = 96;  // rows of x per block (a multiple of MR)
constexpr int NC = 2048;

// the mask of a 16-lane register's first n lanes (none for n ≤ 0, all for n ≥ 16)
inline __mmask16 first_lanes(int n) { return (__mmask16)(n <= 0 ? 0 : n >= 16 ? 0xffff : (1u << n) - 1); }

// C[MR×NR] += Ap · Bp over `pairs` pairs (C = Ap · Bp when overwrite is set, as in the F32 kernel)
void micro(int pairs, const uint32_t* Ap, const uint32_t* Bp, float* C, int ldc, bool overwrite);
// the same, and C[MR×NR] += U·Vt (F32; U [MR × r] at row stride ldu, Vt [r × NR] at ldvt) before the sums are stored
void micro_with_term(int pairs, const uint32_t* Ap, const uint32_t* Bp, float* C, int ldc, bool overwrite,
                     const float* U, int ldu, const float* Vt, int ldvt, int r);

// Strips of `width` lanes (MR for a left operand, NR for a right one), each ⌈kc / 2⌉ pairs deep: pair p of lane l at
// [p·width + l], lanes past n zero, and the second value of an odd kc's last pair zero; values times alpha, rounded
// to BF16 (to nearest even) as they are packed.
// Lanes whose values run along a source row: value k of lane l is src[(l0 + l)·ld + p0 + k] (x's rows; Wᵀ's columns).
void pack_along(int width, const float* src, int ld, int l0, int n, int p0, int kc, float alpha, uint32_t* out);
// Lanes that are source columns: value k of lane l is src[(p0 + k)·ld + l0 + l] (Aᵀ's rows; W's columns).
void pack_across(int width, const float* src, int ld, int l0, int n, int p0, int kc, float alpha, uint32_t* out);

// The pairs of K [lo, hi) that one tile of a product adds up
struct PairRange {
  int lo, hi;
};

// C[M×N] (+)= A·B from operands already packed whole: A's M rows in strips of MR lanes, B's N columns in strips of
// NR, both ⌈K / 2⌉ pairs deep as pack_along / pack_across write them; C = A·B with overwrite. One thread, no blocking
// (for the small products of the attention backward, whose operands it packs once and shares between products). Each
// tile, from row i and column j of C, adds up only the pairs range(i, j) gives, for operands known to be zero
// elsewhere (across the causal diagonal); a tile given none is zero where C is overwritten and untouched otherwise.
template <typename Range>
void product_packed(int M, int N, int K, const uint32_t* A, const uint32_t* B, float* C, int ldc, bool overwrite,
                    const Range& range) {
  const int depth = (K + 1) / 2;
  float tile[MR * NR];
  for (int j = 0; j < N; j += NR) {
    const int cols = std::min(NR, N - j);
    for (int i = 0; i < M; i += MR) {
      const int rows = std::min(MR, M - i);
      const PairRange r = range(i, j);
      const int lo = std::max(0, r.lo), pairs = std::max(0, std::min(depth, r.hi) - lo);
      if (pairs == 0 && !overwrite) continue;
      const uint32_t* Ap = A + (long)i * depth + (long)lo * MR;
      const uint32_t* Bp = B + (long)j * depth + (long)lo * NR;
      float* Cij = C + (long)i * ldc + j;
      if (rows == MR && cols == NR) {
        micro(pairs, Ap, Bp, Cij, ldc, overwrite);
      } else {
        micro(pairs, Ap, Bp, tile, NR, true);
        store_edge<NR>(tile, rows, cols, Cij, ldc, overwrite);
      }
    }
  }
}
}  // namespace cm::bf16
