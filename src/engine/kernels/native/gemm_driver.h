// What the F32 kernel (gemm.cc) and the BF16-weight kernel (gemm_bf16.cc) share: the blocked loop nest with its edge
// tiles, C scaled by beta, and the split of a product between threads. Written once, so that a fix is made once.
//
// The loop nest is BLIS's: columns of C in panels of NC, K in blocks of KC, rows in blocks of MC; the right operand's
// panel and the left's block are packed (by the caller's functions) into strips of NR columns and MR rows, each strip
// `depth` elements deep; the micro-kernel multiplies one MR × NR tile at a time. An edge tile is computed whole into a
// scratch tile and its valid part copied out. Each output's sums run over K in the same order whatever the split, so
// a product's result does not depend on the thread count.
#pragma once
#include <algorithm>
#include <cstring>
#include "pool.h"

namespace cm {

inline long round_up(long n, long to) { return (n + to - 1) / to * to; }

// C = beta · C; beta = 0 writes zeros without reading C (which may hold NaN or uninitialised memory)
inline void scale_c(int M, int N, float beta, float* C, int ldc) {
  if (beta == 1.f) return;
  for (int i = 0; i < M; i++) {
    float* row = C + (long)i * ldc;
    if (beta == 0.f)
      std::memset(row, 0, sizeof(float) * N);
    else
      for (int j = 0; j < N; j++) row[j] *= beta;
  }
}

// The blocked product C[M×N] (+)= A·B, in packed strips of element type E. PER values of K share one element (1 for
// F32, 2 for BF16 pairs), so a strip of kc values of K is ⌈kc / PER⌉ elements deep.
//   pack_b(j0, nc, p0, kc) → the packed panel of columns [j0, j0 + nc) and K [p0, p0 + kc)
//   pack_a(i0, mc, p0, kc) → the packed block of rows [i0, i0 + mc), same K
//   micro(depth, Ap, Bp, C, ldc, overwrite): C[MR×NR] += Ap·Bp, or = with overwrite
//   term: a term added to C as it is written, without a pass over C of its own (Term::active), in the last K block:
//     term.whole(depth, Ap, Bp, Cij, ldc, overwrite, i, j) instead of micro for a whole tile (from C[i][j]), adding
//     the term to the sums before they are stored; term.edge(i, j, rows, cols, Cij, ldc) after an edge tile is written
// overwrite: C holds nothing to keep (beta = 0), so the first K block stores its products instead of adding them: C is
// then written once and read K / KC - 1 times, where zeroing it first wrote it twice and read it K / KC times.
// An edge tile computed whole into `tile` (row stride NR): its valid rows × cols stored into C, or added to it
template <int NR>
inline void store_edge(const float* tile, int rows, int cols, float* C, int ldc, bool overwrite) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      C[(long)r * ldc + c] = overwrite ? tile[r * NR + c] : C[(long)r * ldc + c] + tile[r * NR + c];
}

struct NoTerm {
  static constexpr bool active = false;
  template <typename E>
  void whole(int, const E*, const E*, float*, int, bool, int, int) const {}
  void edge(int, int, int, int, float*, int) const {}
};

template <int MR, int NR, int PER, typename E, typename PackA, typename PackB, typename Micro, typename Term = NoTerm>
void blocked_product(int M, int N, int K, int MC, int NC, int KC, float* C, int ldc, bool overwrite,
                     const PackA& pack_a, const PackB& pack_b, const Micro& micro, const Term& term = Term()) {
  float tile[MR * NR];
  for (int j0 = 0; j0 < N; j0 += NC) {
    const int nc = std::min(NC, N - j0);
    const int ncPadded = (nc + NR - 1) / NR * NR;
    for (int p0 = 0; p0 < K; p0 += KC) {
      const int kc = std::min(KC, K - p0);
      const int depth = (kc + PER - 1) / PER;
      const E* panelB = pack_b(j0, nc, p0, kc);
      const bool first = overwrite && p0 == 0, last = p0 + kc >= K;
      for (int i0 = 0; i0 < M; i0 += MC) {
        const int mc = std::min(MC, M - i0);
        const E* blockA = pack_a(i0, mc, p0, kc);
        for (int js = 0; js < ncPadded; js += NR) {
          const E* Bp = panelB + (long)js * depth;
          const int cols = std::min(NR, nc - js);
          for (int is = 0; is < mc; is += MR) {
            const E* Ap = blockA + (long)is * depth;
            const int rows = std::min(MR, mc - is);
            float* Cij = C + (long)(i0 + is) * ldc + j0 + js;
            if (rows == MR && cols == NR) {
              if (Term::active && last)
                term.whole(depth, Ap, Bp, Cij, ldc, first, i0 + is, j0 + js);
              else
                micro(depth, Ap, Bp, Cij, ldc, first);
            } else {
              micro(depth, Ap, Bp, tile, NR, true);
              store_edge<NR>(tile, rows, cols, Cij, ldc, first);
              if (Term::active && last) term.edge(i0 + is, j0 + js, rows, cols, Cij, ldc);
            }
          }
        }
      }
    }
  }
}

// The tasks that pack one operand whole, before a multithreaded product's tasks share it: K in blocks of KC, each
// block's strips (of `width` rows or columns, the last one padded) in groups of eight per task, spread over the pool.
// pack(p0, kc, s0, count) packs rows or columns [s0, s0 + count) of K block [p0, p0 + kc); the caller's layout puts
// each K block after the other and, within one, the strips one after another.
template <typename Pack>
void pack_whole_tasks(int n, int K, int KC, int width, const Pack& pack) {
  const int blocks = (K + KC - 1) / KC, strips = (int)(round_up(n, width) / width);
  constexpr int STRIPS_PER_TASK = 8;
  const int per = (strips + STRIPS_PER_TASK - 1) / STRIPS_PER_TASK;
  parallel_for(blocks * per, [&](int t) {
    const int p0 = t / per * KC, s0 = t % per * STRIPS_PER_TASK * width;
    pack(p0, std::min(KC, K - p0), s0, std::min(STRIPS_PER_TASK * width, n - s0));
  });
}

// How a product is split between tasks: the larger of M and N (rows of C when M ≥ N, else columns) in blocks of whole
// micro-tiles (a block of 144 columns would run its last 32-column strip half empty), two tasks per thread at most.
struct ProductSplit {
  bool by_rows;
  long n, unit, units;
  int tasks;
  long begin(int t) const { return std::min(n, chunk_begin(units, tasks, t) * unit); }
  long end(int t) const { return begin(t + 1); }
};

// fine: with fewer micro-tiles than two per thread, blocks of at least 32 single rows or columns instead, so that
// every thread has work (edge tiles cost less than idle cores there)
inline ProductSplit split_product(int M, int N, int MR, int NR, bool fine) {
  const int threads = pool_threads();
  ProductSplit s;
  s.by_rows = M >= N;
  s.n = s.by_rows ? M : N;
  s.unit = s.by_rows ? MR : NR;
  s.units = (s.n + s.unit - 1) / s.unit;
  s.tasks = chunk_count(s.units, 1, threads * 2);
  if (fine && s.units < 2 * threads) s.tasks = chunk_count(s.n, 32, threads * 2), s.unit = 1, s.units = s.n;
  return s;
}

}  // namespace cm
