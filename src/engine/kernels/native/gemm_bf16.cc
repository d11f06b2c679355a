// y = alpha · x · Wᵀ + beta · y with W kept in BF16 as Hugging Face stores it ([N, K]), on CPUs with AVX-512 BF16
// dot products (Zen 4, Sapphire Rapids): x is rounded to BF16 (to nearest even) as it is packed, and each
// vdpbf16ps multiplies 16 pairs of BF16 values and adds them to 16 F32 sums, twice the multiply-adds of an F32 FMA.
// Blocked like the F32 kernel: K in blocks of KC (whole pairs), W packed 32 columns at a time, x 12 rows at a time,
// each output computed in the same order whatever the thread split.
#include "gemm_bf16.h"
#include "gemm_bf16_parts.h"
#include <immintrin.h>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "gemm.h"
#include "gemm_driver.h"
#include "pool.h"
#include "transpose.h"

namespace cm {
namespace {
using bf16::KC;
using bf16::MC;
using bf16::MR;
using bf16::NC;
using bf16::NR;

inline uint16_t to_bf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

// pairs [from, pairs) of one row of W into a packed strip's column (the last pair of an odd kc half zero)
void pack_w_column(const uint16_t* w, int kc, int from, uint32_t* o) {
  const int whole = kc / 2;
  for (int p = from; p < whole; p++) {
    uint32_t v;
    std::memcpy(&v, w + 2 * p, 4);
    o[(long)p * NR] = v;
  }
  if (kc & 1) o[(long)whole * NR] = w[kc - 1];
}

// Packed W: for each strip of NR output columns, pair p of column c at [p·NR + c], zero-padded. With whole pairs per
// row (ldw even), 16 rows at a time go through a register transpose (the pairs are 32-bit values).
void pack_w(const uint16_t* W, int ldw, int j0, int nc, int p0, int kc, uint32_t* out) {
  const int pairs = (kc + 1) / 2;
  const int fast = ldw % 2 == 0 ? (kc / 2) & ~15 : 0;
  for (int js = 0; js < nc; js += NR) {
    const int cols = std::min(NR, nc - js);
    uint32_t* o = out + (long)js * pairs;
    for (int c0 = 0; c0 < NR; c0 += 16) {
      const uint16_t* w0 = W + (long)(j0 + js + c0) * ldw + p0;
      if (fast)
        pack_transposed16(reinterpret_cast<const float*>(w0), ldw / 2, std::max(0, std::min(16, cols - c0)), fast,
                          1.f, reinterpret_cast<float*>(o + c0), NR);
      for (int c = c0; c < c0 + 16; c++) {
        if (c < cols) {
          pack_w_column(W + (long)(j0 + js + c) * ldw + p0, kc, fast, o + c);
        } else {  // padding columns: zero where the transpose did not write
          for (int p = fast; p < pairs; p++) o[(long)p * NR + c] = 0;
        }
      }
    }
  }
}

// Packed W for C = X·W, W [K×N] row-major (dx = dy·W reads a weight [out, in] so): pair p of column c is
// (W[p0 + 2p][j0 + c], W[p0 + 2p + 1][j0 + c]), zero past K and past the panel's columns; 16 columns per step,
// each value widened to 32 bits with the next row's value above it
__attribute__((target("avx512f,avx512bw,avx512vl"))) void pack_w_rows(const uint16_t* W, int ldw, int j0, int nc,
                                                                      int p0, int kc, uint32_t* out) {
  const int pairs = (kc + 1) / 2;
  for (int js = 0; js < nc; js += NR) {
    const int cols = std::min(NR, nc - js);
    uint32_t* o = out + (long)js * pairs;
    for (int p = 0; p < pairs; p++) {
      const uint16_t* r0 = W + (long)(p0 + 2 * p) * ldw + j0 + js;
      const bool second = 2 * p + 1 < kc;
      for (int c0 = 0; c0 < NR; c0 += 16) {
        const int n = std::max(0, std::min(16, cols - c0));
        const __mmask16 m = (__mmask16)((1u << n) - 1);
        const __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, r0 + c0));
        const __m512i hi =
            second ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, r0 + ldw + c0)) : _mm512_setzero_si512();
        _mm512_storeu_si512(o + (long)p * NR + c0, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    }
  }
}

// W's panel of columns [j0, j0 + nc) and K [p0, p0 + kc), packed in NR strips
void pack_panel(bool w_rows, const uint16_t* W, int ldw, int j0, int nc, int p0, int kc, uint32_t* out) {
  if (w_rows)
    pack_w_rows(W, ldw, j0, nc, p0, kc, out);
  else
    pack_w(W, ldw, j0, nc, p0, kc, out);
}

// One operand packed whole, by all threads, for the tasks that all read it (x when the columns of C are split, W when
// its rows are): each K block after the other, block p0 at (p0 / 2) · (rows or columns rounded up to whole strips),
// its strips one after another (pack_whole_tasks). Packed once per task instead, each of a 2-thread product's four
// tasks paid a whole pass over it.
void pack_whole(bool x, const float* X, int ldx, float alpha, bool w_rows, const uint16_t* W, int ldw, int n, int K,
                uint32_t* out) {
  const int width = x ? MR : NR;
  const long npad = round_up(n, width);
  pack_whole_tasks(n, K, KC, width, [&](int p0, int kc, int s0, int count) {
    uint32_t* o = out + (long)(p0 / 2) * npad + (long)s0 * ((kc + 1) / 2);
    if (x)
      bf16::pack_along(MR, X, ldx, s0, count, p0, kc, alpha, o);
    else
      pack_panel(w_rows, W, ldw, s0, count, p0, kc, o);
  });
}

// The low-rank term as the tiles read it: U, and scale·Vᵀ as [r × N] (row stride ldvt); both start at the first row
// and column of the (part of the) product they are handed to
struct TileTerm {
  const float* U;
  int ldu;
  const float* Vt;
  int ldvt;
  int r;
  TileTerm at(long row, long col) const { return {U + row * ldu, ldu, Vt + col, ldvt, r}; }
};

// C[rows × cols] += U·(scale·Vᵀ) over an edge tile of at most MR × NR, from U's row i and Vᵀ's column j: each output
// adds its r products in order, as the micro-kernel does on whole tiles
__attribute__((target("avx512f"))) void add_term_tile(const TileTerm& t, int i, int j, int rows, int cols, float* C,
                                                      int ldc) {
  const __mmask16 m0 = bf16::first_lanes(cols), m1 = bf16::first_lanes(cols - 16);
  for (int row = 0; row < rows; row++) {
    float* c = C + (long)row * ldc;
    const float* u = t.U + (long)(i + row) * t.ldu;
    __m512 a0 = _mm512_maskz_loadu_ps(m0, c), a1 = _mm512_maskz_loadu_ps(m1, c + 16);
    for (int q = 0; q < t.r; q++) {
      const float* v = t.Vt + (long)q * t.ldvt + j;
      const __m512 s = _mm512_set1_ps(u[q]);
      a0 = _mm512_fmadd_ps(s, _mm512_maskz_loadu_ps(m0, v), a0);
      a1 = _mm512_fmadd_ps(s, _mm512_maskz_loadu_ps(m1, v + 16), a1);
    }
    _mm512_mask_storeu_ps(c, m0, a0);
    _mm512_mask_storeu_ps(c + 16, m1, a1);
  }
}

// the term over the whole of C[M×N], tile by tile (where no product runs to carry it: decoding's few rows, K = 0)
void add_term(const TileTerm& t, int M, int N, float* C, int ldc) {
  for (int i = 0; i < M; i += MR)
    for (int j = 0; j < N; j += NR)
      add_term_tile(t, i, j, std::min(MR, M - i), std::min(NR, N - j), C + (long)i * ldc + j, ldc);
}

// The term in the blocked loop (gemm_driver.h): whole tiles add it to their sums in the micro-kernel, edge tiles after
// they are written
struct WithTerm {
  static constexpr bool active = true;
  const TileTerm* t;
  void whole(int pairs, const uint32_t* Ap, const uint32_t* Bp, float* C, int ldc, bool overwrite, int i, int j) const {
    bf16::micro_with_term(pairs, Ap, Bp, C, ldc, overwrite, t->U + (long)i * t->ldu, t->ldu, t->Vt + j, t->ldvt, t->r);
  }
  void edge(int i, int j, int rows, int cols, float* C, int ldc) const { add_term_tile(*t, i, j, rows, cols, C, ldc); }
};

// overwrite: beta = 0, C not read (the first K block stores); w_rows: W is [K×N] (C = X·W), else [N×K] (C = X·Wᵀ);
// packedX / packedW: that operand packed whole by pack_whole, or null to pack it here block by block; term: the
// low-rank term from this product's first row and column, or null
void gemm_st(int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw, bool w_rows,
             float* C, int ldc, bool overwrite, const uint32_t* packedX, const uint32_t* packedW,
             const TileTerm* term) {
  thread_local std::vector<uint32_t> bufX, bufW;
  if (!packedX) bufX.resize((size_t)MC * (KC / 2) + 64);
  if (!packedW) bufW.resize((size_t)(NC + NR) * (KC / 2) + 64);
  const long Mpad = round_up(M, MR), Npad = round_up(N, NR);
  const auto blockX = [&](int i0, int mc, int p0, int kc) -> const uint32_t* {
    if (packedX) return packedX + (long)(p0 / 2) * Mpad + (long)i0 * ((kc + 1) / 2);
    bf16::pack_along(MR, X, ldx, i0, mc, p0, kc, alpha, bufX.data());
    return bufX.data();
  };
  const auto panelW = [&](int j0, int nc, int p0, int kc) -> const uint32_t* {
    if (packedW) return packedW + (long)(p0 / 2) * Npad + (long)j0 * ((kc + 1) / 2);
    pack_panel(w_rows, W, ldw, j0, nc, p0, kc, bufW.data());
    return bufW.data();
  };
  if (term)
    blocked_product<MR, NR, 2, uint32_t>(M, N, K, MC, NC, KC, C, ldc, overwrite, blockX, panelW, bf16::micro,
                                         WithTerm{term});
  else
    blocked_product<MR, NR, 2, uint32_t>(M, N, K, MC, NC, KC, C, ldc, overwrite, blockX, panelW, bf16::micro);
}

// Decoding's few rows: y[m][n] = Σ_k x[m][k]·W[n][k], W streamed once, four of its rows per step
template <int M>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void gemv_rows(int n0, int n1, int K, const uint16_t* xb,
                                                                       const uint16_t* W, int ldw, float beta,
                                                                       float* C, int ldc) {
  constexpr int NB = 4;
  const int K32 = K & ~31;
  const __mmask32 tail = (__mmask32)((1ull << (K - K32)) - 1);
  for (int n = n0; n < n1; n += NB) {
    const int nb = std::min(NB, n1 - n);
    __m512 acc[M][NB];
    for (int m = 0; m < M; m++)
      for (int j = 0; j < NB; j++) acc[m][j] = _mm512_setzero_ps();
    const uint16_t* w[NB];
    for (int j = 0; j < NB; j++) w[j] = W + (long)(n + std::min(j, nb - 1)) * ldw;
    for (int k = 0; k <= K32; k += 32) {
      if (k == K32 && !tail) break;
      const __mmask32 mask = k < K32 ? (__mmask32)~0u : tail;
      __m512bh b[NB];
      for (int j = 0; j < NB; j++) b[j] = (__m512bh)_mm512_maskz_loadu_epi16(mask, w[j] + k);
      for (int m = 0; m < M; m++) {
        const __m512bh a = (__m512bh)_mm512_maskz_loadu_epi16(mask, xb + (long)m * K + k);
        for (int j = 0; j < NB; j++) acc[m][j] = _mm512_dpbf16_ps(acc[m][j], a, b[j]);
      }
    }
    for (int m = 0; m < M; m++)
      for (int j = 0; j < nb; j++) {
        float* c = C + (long)m * ldc + n + j;
        const float v = _mm512_reduce_add_ps(acc[m][j]);
        *c = beta == 0.f ? v : beta * *c + v;
      }
  }
}

void gemv(int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw, float beta,
          float* C, int ldc) {
  std::vector<uint16_t> xb((size_t)M * K);
  for (int m = 0; m < M; m++)
    for (int k = 0; k < K; k++) xb[(size_t)m * K + k] = to_bf16(X[(long)m * ldx + k] * alpha);
  // blocks of 64 rows of W per task: the same sums whatever the split
  const int tasks = chunk_count((N + 63) / 64, 1, pool_threads() * 4);
  const long units = (N + 63) / 64;
  parallel_for(tasks, [&](int t) {
    const int b = (int)std::min<long>(N, chunk_begin(units, tasks, t) * 64);
    const int e = (int)std::min<long>(N, chunk_begin(units, tasks, t + 1) * 64);
    if (e <= b) return;
    switch (M) {
      case 1: gemv_rows<1>(b, e, K, xb.data(), W, ldw, beta, C, ldc); break;
      case 2: gemv_rows<2>(b, e, K, xb.data(), W, ldw, beta, C, ldc); break;
      case 3: gemv_rows<3>(b, e, K, xb.data(), W, ldw, beta, C, ldc); break;
      default: gemv_rows<4>(b, e, K, xb.data(), W, ldw, beta, C, ldc); break;
    }
  });
}
}  // namespace

namespace {
int bf16_wanted = -1;  // -1: as CROSSMON_BF16 says (on unless "f32"), 0: off, 1: on where the CPU has them
}

void set_bf16(int on) { bf16_wanted = on; }

bool bf16_dot_supported() {
  if (bf16_wanted < 0) {
    const char* env = std::getenv("CROSSMON_BF16");
    bf16_wanted = env && std::strcmp(env, "f32") == 0 ? 0 : 1;
  }
  return bf16_wanted == 1 && std::strcmp(simd_level(), "avx512") == 0 && __builtin_cpu_supports("avx512bf16");
}

namespace {
bool product(bool w_rows, int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw,
             float beta, float* C, int ldc, const LowRank* extra) {
  if (!bf16_dot_supported()) return false;
  if (M <= 0 || N <= 0) return true;
  // the low-rank term reads scale·Vᵀ a row of N at a time, copied once here (N·r floats: 200 KB for a 3,072-wide
  // layer of rank 16)
  thread_local std::vector<float> turned;
  TileTerm term{};
  if (extra) {
    const int r = extra->r;
    turned.resize((size_t)r * N);
    for (int q = 0; q < r; q++)
      for (int n = 0; n < N; n++)
        turned[(size_t)q * N + n] =
            extra->scale * (extra->v_rows ? extra->V[(long)q * extra->ldv + n] : extra->V[(long)n * extra->ldv + q]);
    term = {extra->U, extra->ldu, turned.data(), N, r};
  }
  if (!w_rows && M <= 4 && K > 0 && alpha != 0.f) {
    gemv(M, N, K, alpha, X, ldx, W, ldw, beta, C, ldc);
    if (extra) add_term(term, M, N, C, ldc);
    return true;
  }
  const bool overwrite = beta == 0.f && K > 0 && alpha != 0.f;
  if (!overwrite) scale_c(M, N, beta, C, ldc);
  if (K <= 0 || alpha == 0.f) {
    if (extra) add_term(term, M, N, C, ldc);
    return true;
  }
  // split as the F32 kernel does (one task for a small product)
  ProductSplit split = split_product(M, N, MR, NR, false);
  if ((long)M * N * K < 64L * 64 * 64) split.tasks = 1;
  const int P = (K + 1) / 2;
  thread_local std::vector<uint32_t> shared;
  const uint32_t *packedX = nullptr, *packedW = nullptr;
  if (split.tasks > 1) {
    shared.resize((size_t)(split.by_rows ? round_up(N, NR) : round_up(M, MR)) * P);
    pack_whole(!split.by_rows, X, ldx, alpha, w_rows, W, ldw, split.by_rows ? N : M, K, shared.data());
    // by pointer: inside the tasks, `shared` would name each pool thread's own vector
    (split.by_rows ? packedW : packedX) = shared.data();
  }
  parallel_for(split.tasks, [&](int t) {
    const long b = split.begin(t), e = split.end(t);
    if (e <= b) return;
    TileTerm part{};
    if (extra) part = split.by_rows ? term.at(b, 0) : term.at(0, b);
    const TileTerm* tp = extra ? &part : nullptr;
    if (split.by_rows)
      gemm_st((int)(e - b), N, K, alpha, X + b * ldx, ldx, W, ldw, w_rows, C + b * ldc, ldc, overwrite, nullptr,
              packedW, tp);
    else  // columns of C: rows of W [N×K], or columns of W [K×N]
      gemm_st(M, (int)(e - b), K, alpha, X, ldx, W + (w_rows ? b : b * ldw), ldw, w_rows, C + b, ldc, overwrite,
              packedX, nullptr, tp);
  });
  return true;
}
}  // namespace

bool sgemm_bf16w(int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw, float beta,
                 float* C, int ldc, const LowRank* extra) {
  return product(false, M, N, K, alpha, X, ldx, W, ldw, beta, C, ldc, extra);
}

bool sgemm_bf16w_rows(int M, int N, int K, float alpha, const float* X, int ldx, const uint16_t* W, int ldw,
                      float beta, float* C, int ldc, const LowRank* extra) {
  return product(true, M, N, K, alpha, X, ldx, W, ldw, beta, C, ldc, extra);
}

namespace bf16 {
namespace {
// TERM: before the sums are stored, C's tile += U·Vt over q < r (U [MR × r] at row stride ldu, Vt [r × NR] at ldvt),
// in F32, each output's products in order of q
template <bool TERM>
__attribute__((target("avx512f,avx512bf16"))) inline void micro_impl(int pairs, const uint32_t* Ap,
                                                                    const uint32_t* Bp, float* C, int ldc,
                                                                    bool overwrite, const float* U, int ldu,
                                                                    const float* Vt, int ldvt, int r) {
  // C's tile is written once, after the loop, and is seldom in cache (a step's outputs are 4–25 MB): its lines, asked
  // for now, arrive while the loop runs. The loops are unrolled so that the 24 sums live in registers throughout; as
  // arrays indexed in a loop they were zeroed on the stack (rep stos, 3–4% of this kernel's samples under perf) and
  // stored there again before the write-back.
  for (int row = 0; row < MR; row++) {
    __builtin_prefetch(C + (long)row * ldc, 1, 3);
    __builtin_prefetch(C + (long)row * ldc + 16, 1, 3);
  }
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int row = 0; row < MR; row++) c0[row] = c1[row] = _mm512_setzero_ps();
  for (int p = 0; p < pairs; p++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(Bp), b1 = (__m512bh)_mm512_loadu_si512(Bp + 16);
#pragma GCC unroll 12
    for (int row = 0; row < MR; row++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[row]);
      c0[row] = _mm512_dpbf16_ps(c0[row], a, b0);
      c1[row] = _mm512_dpbf16_ps(c1[row], a, b1);
    }
    Ap += MR;
    Bp += NR;
  }
  if (TERM)
    for (int q = 0; q < r; q++) {
      const __m512 v0 = _mm512_loadu_ps(Vt + (long)q * ldvt), v1 = _mm512_loadu_ps(Vt + (long)q * ldvt + 16);
#pragma GCC unroll 12
      for (int row = 0; row < MR; row++) {
        const __m512 u = _mm512_set1_ps(U[(long)row * ldu + q]);
        c0[row] = _mm512_fmadd_ps(u, v0, c0[row]);
        c1[row] = _mm512_fmadd_ps(u, v1, c1[row]);
      }
    }
  if (overwrite) {
#pragma GCC unroll 12
    for (int row = 0; row < MR; row++) {
      float* out = C + (long)row * ldc;
      _mm512_storeu_ps(out, c0[row]);
      _mm512_storeu_ps(out + 16, c1[row]);
    }
  } else {
#pragma GCC unroll 12
    for (int row = 0; row < MR; row++) {
      float* out = C + (long)row * ldc;
      _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps(out), c0[row]));
      _mm512_storeu_ps(out + 16, _mm512_add_ps(_mm512_loadu_ps(out + 16), c1[row]));
    }
  }
}
}  // namespace

void micro(int pairs, const uint32_t* Ap, const uint32_t* Bp, float* C, int ldc, bool overwrite) {
  micro_impl<false>(pairs, Ap, Bp, C, ldc, overwrite, nullptr, 0, nullptr, 0, 0);
}

void micro_with_term(int pairs, const uint32_t* Ap, const uint32_t* Bp, float* C, int ldc, bool overwrite,
                     const float* U, int ldu, const float* Vt, int ldvt, int r) {
  micro_impl<true>(pairs, Ap, Bp, C, ldc, overwrite, U, ldu, Vt, ldvt, r);
}
}  // namespace bf16
}  // namespace cm
