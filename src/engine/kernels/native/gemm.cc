// SGEMM: OpenBLAS through dlopen when the system has it, and an own BLIS-style kernel (packed panels, register-tiled
// micro-kernel) for AVX-512, AVX2+FMA or plain C, chosen at run time from what the CPU reports.
#include "gemm.h"
#include <dlfcn.h>
#include <immintrin.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "gemm_driver.h"
#include "gemm_thin.h"
#include "gemv.h"
#include "transpose.h"
#include "pool.h"

namespace cm {
namespace {

// ---------------------------------------------------------------- OpenBLAS, found at run time
typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                               int);
typedef void (*set_threads_fn)(int);
cblas_sgemm_fn blas_sgemm = nullptr;
set_threads_fn blas_set_threads = nullptr;
// per shape class (row: one row or column, as in decoding; small: fewer than 64; large): 0 = auto (OpenBLAS when
// loaded), 1 = own kernel, 2 = OpenBLAS. Set by measurement on first use (src/engine/kernels/gemm-plan.ts).
int backend_plan[3] = {0, 0, 0};

int shape_class(int M, int N) {
  int rows = std::min(M, N);
  return rows <= 1 ? 0 : rows < 64 ? 1 : 2;
}
bool use_blas(int M, int N) {
  return blas_sgemm && backend_plan[shape_class(M, N)] != 1;
}

void load_openblas() {
  static bool tried = false;
  if (tried) return;
  tried = true;
  const char* env = std::getenv("CROSSMON_GEMM");
  if (env && std::strcmp(env, "own") == 0) backend_plan[0] = backend_plan[1] = backend_plan[2] = 1;
  // OpenBLAS 0.3.21 (Debian 12) does not know CPUs newer than its release and then falls back to a slow generic
  // kernel (65 against 300 GFLOP/s measured here on an AVX-512 Xeon). Unless the user chose a core type, name the
  // one that matches what this CPU reports, as OpenBLAS's own detection would for a CPU it knows.
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      setenv("OPENBLAS_CORETYPE", "Haswell", 0);
  }
  // OpenBLAS's threads spin after each call before they sleep; the own kernel's pool (and the next product on the
  // other backend) then shares the cores with spinning threads. Measured here: own-kernel products took up to twice as
  // long right after OpenBLAS ones, and the per-shape choice read noise. The shortest timeout lets them sleep at once.
  if (!std::getenv("OPENBLAS_THREAD_TIMEOUT")) setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
  const char* names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"};
  for (const char* n : names) {
    void* h = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    blas_sgemm = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
    blas_set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    if (blas_sgemm) break;
  }
  if (blas_sgemm && blas_set_threads) blas_set_threads(pool_threads());
}

// ---------------------------------------------------------------- own kernel: packing
// Packed A: strips of MR rows, each strip stored k-major (MR values per k), zero-padded, alpha folded in.
// Packed B: strips of NR columns, each stored k-major (NR values per k), zero-padded.
constexpr int KC = 256;
constexpr int MC_ROWS = 96;  // a multiple of every MR below
constexpr int NC = 2048;

template <int MR>
void pack_a(bool ta, const float* A, int lda, int i0, int mc, int p0, int kc, float alpha, float* out) {
  for (int is = 0; is < mc; is += MR) {
    int rows = std::min(MR, mc - is);
    float* o = out + (long)is * kc;
    int p = 0;
    if constexpr (MR == 12) {  // the AVX-512 kernel's strips
      if (!ta) {
        p = kc & ~15;
        pack_transposed16(A + (long)(i0 + is) * lda + p0, lda, rows, p, alpha, o, MR);
      } else {
        p = kc;  // Aᵀ's strips are already k-major: rows of 12 contiguous values
        pack_rows12(A + (long)p0 * lda + i0 + is, lda, rows, kc, alpha, o);
      }
    }
    for (; p < kc; p++) {
      for (int r = 0; r < MR; r++) {
        float v = 0.f;
        if (r < rows) {
          int i = i0 + is + r, k = p0 + p;
          v = ta ? A[(long)k * lda + i] : A[(long)i * lda + k];
        }
        o[p * MR + r] = v * alpha;
      }
    }
  }
}

template <int NR>
void pack_b(bool tb, const float* B, int ldb, int j0, int nc, int p0, int kc, float* out) {
  for (int js = 0; js < nc; js += NR) {
    int cols = std::min(NR, nc - js);
    float* o = out + (long)js * kc;
    if (!tb && cols == NR) {
      for (int p = 0; p < kc; p++) std::memcpy(o + p * NR, B + (long)(p0 + p) * ldb + j0 + js, NR * sizeof(float));
      continue;
    }
    int p = 0;
    if constexpr (NR == 32) {  // the AVX-512 kernel's strips: two halves of 16 columns
      if (tb) {
        p = kc & ~15;
        for (int h = 0; h < 2; h++)
          pack_transposed16(B + (long)(j0 + js + 16 * h) * ldb + p0, ldb, std::max(0, std::min(16, cols - 16 * h)), p,
                            1.f, o + 16 * h, NR);
      }
    }
    for (; p < kc; p++)
      for (int c = 0; c < NR; c++) {
        float v = 0.f;
        if (c < cols) {
          int j = j0 + js + c, k = p0 + p;
          v = tb ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
        }
        o[p * NR + c] = v;
      }
  }
}

// ---------------------------------------------------------------- micro-kernels: C[MR×NR] += Ap · Bp over kc
// (C = Ap · Bp when overwrite is set: the first K block of a product with beta = 0, whose C is not read at all)
__attribute__((target("avx512f"))) void micro_avx512(int kc, const float* Ap, const float* Bp, float* C, int ldc,
                                                     bool overwrite) {
  constexpr int MR = 12;
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++) {
    __m512 b0 = _mm512_loadu_ps(Bp), b1 = _mm512_loadu_ps(Bp + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      __m512 a = _mm512_set1_ps(Ap[r]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
    Ap += MR;
    Bp += 32;
  }
  if (overwrite) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      _mm512_storeu_ps(C + (long)r * ldc, c0[r]);
      _mm512_storeu_ps(C + (long)r * ldc + 16, c1[r]);
    }
    return;
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) {
    float* row = C + (long)r * ldc;
    _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), c0[r]));
    _mm512_storeu_ps(row + 16, _mm512_add_ps(_mm512_loadu_ps(row + 16), c1[r]));
  }
}

__attribute__((target("avx2,fma"))) void micro_avx2(int kc, const float* Ap, const float* Bp, float* C, int ldc,
                                                    bool overwrite) {
  constexpr int MR = 6;
  __m256 c0[MR], c1[MR];
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++) {
    __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      __m256 a = _mm256_broadcast_ss(Ap + r);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
    Ap += MR;
    Bp += 16;
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) {
    float* row = C + (long)r * ldc;
    _mm256_storeu_ps(row, overwrite ? c0[r] : _mm256_add_ps(_mm256_loadu_ps(row), c0[r]));
    _mm256_storeu_ps(row + 8, overwrite ? c1[r] : _mm256_add_ps(_mm256_loadu_ps(row + 8), c1[r]));
  }
}

void micro_generic(int kc, const float* Ap, const float* Bp, float* C, int ldc, bool overwrite) {
  constexpr int MR = 4, NR = 8;
  float acc[MR][NR] = {};
  for (int p = 0; p < kc; p++) {
    for (int r = 0; r < MR; r++)
      for (int c = 0; c < NR; c++) acc[r][c] += Ap[r] * Bp[c];
    Ap += MR;
    Bp += NR;
  }
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NR; c++) C[(long)r * ldc + c] = overwrite ? acc[r][c] : C[(long)r * ldc + c] + acc[r][c];
}

typedef void (*micro_fn)(int, const float*, const float*, float*, int, bool);

// One operand packed whole, by all threads, so that the tasks of a multithreaded product share it: A's rows in MR
// strips (a = true) or B's columns in NR strips. Layout: the KC blocks of K one after another, block p0 at
// p0 · (rows or columns rounded up to whole strips), and within a block, strip s at s · (strip width) · kc.
template <int MR, int NR>
void pack_whole(bool a, bool trans, const float* X, int ld, int n, int K, float alpha, float* out) {
  const int width = a ? MR : NR;
  const long npad = round_up(n, width);
  pack_whole_tasks(n, K, KC, width, [&](int p0, int kc, int s0, int count) {
    float* o = out + (long)p0 * npad + (long)s0 * kc;
    if (a)
      pack_a<MR>(trans, X, ld, s0, count, p0, kc, alpha, o);
    else
      pack_b<NR>(trans, X, ld, s0, count, p0, kc, o);
  });
}

// packedA / packedB: that operand already packed whole by pack_whole (above), or null to pack it here block by block.
template <int MR, int NR>
void gemm_blocked(micro_fn micro, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float* C, int ldc, bool overwrite, const float* packedA = nullptr,
                  const float* packedB = nullptr) {
  constexpr int MC = (MC_ROWS / MR) * MR;
  thread_local std::vector<float> bufA, bufB;
  if (!packedA) bufA.resize((size_t)MC * KC + 64);
  if (!packedB) bufB.resize((size_t)(NC + NR) * KC + 64);
  const long Mpad = round_up(M, MR), Npad = round_up(N, NR);
  const auto blockA = [&](int i0, int mc, int p0, int kc) -> const float* {
    if (packedA) return packedA + (long)p0 * Mpad + (long)i0 * kc;
    pack_a<MR>(ta, A, lda, i0, mc, p0, kc, alpha, bufA.data());
    return bufA.data();
  };
  const auto panelB = [&](int j0, int nc, int p0, int kc) -> const float* {
    if (packedB) return packedB + (long)p0 * Npad + (long)j0 * kc;
    pack_b<NR>(tb, B, ldb, j0, nc, p0, kc, bufB.data());
    return bufB.data();
  };
  blocked_product<MR, NR, 1, float>(M, N, K, MC, NC, KC, C, ldc, overwrite, blockA, panelB, micro);
}

int simd = -1;  // 2 = avx512, 1 = avx2, 0 = generic
int detect_simd() {
  if (simd >= 0) return simd;
  __builtin_cpu_init();
  const char* env = std::getenv("CROSSMON_SIMD");
  if (env && std::strcmp(env, "generic") == 0) return simd = 0;
  if (env && std::strcmp(env, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return simd = 1;
  if (__builtin_cpu_supports("avx512f")) return simd = 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return simd = 1;
  return simd = 0;
}

// Splits the product between tasks (split_product); the operand every task reads whole (A when the columns are split,
// B when the rows are) is packed once, before the tasks start, instead of once per task: a prefill's products spent a
// fifth of their time packing. The packed operand is the one along the shorter side, so it is never larger than the
// longer side's operand, already in memory.
template <int MR, int NR>
void gemm_threaded(micro_fn micro, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc) {
  const ProductSplit split = split_product(M, N, MR, NR, true);
  const bool splitM = split.by_rows;
  if (K <= 0 || alpha == 0.f) return scale_c(M, N, beta, C, ldc);
  const bool overwrite = beta == 0.f;
  thread_local std::vector<float> shared;
  shared.resize(splitM ? round_up(N, NR) * K : round_up(M, MR) * K);
  float* packed = shared.data();  // by pointer: inside the tasks, `shared` would name each pool thread's own vector
  if (splitM)
    pack_whole<MR, NR>(false, tb, B, ldb, N, K, 1.f, packed);
  else
    pack_whole<MR, NR>(true, ta, A, lda, M, K, alpha, packed);
  parallel_for(split.tasks, [&](int t) {
    const long b = split.begin(t), e = split.end(t);
    if (e <= b) return;
    if (splitM) {
      const float* Ab = ta ? A + b : A + b * lda;
      if (!overwrite) scale_c((int)(e - b), N, beta, C + b * ldc, ldc);
      gemm_blocked<MR, NR>(micro, ta, tb, (int)(e - b), N, K, alpha, Ab, lda, B, ldb, C + b * ldc, ldc, overwrite,
                           nullptr, packed);
    } else {
      const float* Bb = tb ? B + b * ldb : B + b;
      if (!overwrite) scale_c(M, (int)(e - b), beta, C + b, ldc);
      gemm_blocked<MR, NR>(micro, ta, tb, M, (int)(e - b), K, alpha, A, lda, Bb, ldb, C + b, ldc, overwrite, packed,
                           nullptr);
    }
  });
}
}  // namespace

void sgemm_own_st(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                  int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  bool overwrite = beta == 0.f && K > 0 && alpha != 0.f;
  if (!overwrite) scale_c(M, N, beta, C, ldc);
  if (K <= 0 || alpha == 0.f) return;
  switch (detect_simd()) {
    case 2: gemm_blocked<12, 32>(micro_avx512, ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc, overwrite); break;
    case 1: gemm_blocked<6, 16>(micro_avx2, ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc, overwrite); break;
    default: gemm_blocked<4, 8>(micro_generic, ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc, overwrite); break;
  }
}

void sgemm_own(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  // decoding's x · Wᵀ: a few rows against a weight matrix is memory-bound, and the blocked kernel's packing of W
  // would read it twice; the GEMV streams it once
  if (!ta && tb && M <= GEMV_MAX_ROWS && K >= 16 && N >= 64 && alpha != 0.f) {
    gemv_nt(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, detect_simd());
    return;
  }
  // a side at most 16 wide (a LoRA adapter's rank): one register wide, the long operand read once where it lies
  if (sgemm_thin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return;
  long work = (long)M * N * (K > 0 ? K : 1);
  int threads = pool_threads();
  if (threads == 1 || work < 64L * 64 * 64) {
    sgemm_own_st(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  switch (detect_simd()) {
    case 2: gemm_threaded<12, 32>(micro_avx512, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 1: gemm_threaded<6, 16>(micro_avx2, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: gemm_threaded<4, 8>(micro_generic, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
  }
}

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
           float beta, float* C, int ldc) {
  load_openblas();
  if (use_blas(M, N)) {
    if (M <= 0 || N <= 0) return;
    // CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112
    blas_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  sgemm_own(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

bool openblas_loaded() {
  load_openblas();
  return blas_sgemm != nullptr;
}
void set_gemm_backend(int which) {
  load_openblas();
  backend_plan[0] = backend_plan[1] = backend_plan[2] = which;
}
void set_gemm_plan(int row, int small, int large) {
  load_openblas();
  backend_plan[0] = row;
  backend_plan[1] = small;
  backend_plan[2] = large;
}
const char* gemm_backend_for(int shape) {
  load_openblas();
  return (blas_sgemm && backend_plan[shape] != 1) ? "openblas" : "own";
}
const char* gemm_backend_name() {
  const char* row = gemm_backend_for(0);
  const char* small = gemm_backend_for(1);
  const char* large = gemm_backend_for(2);
  return std::strcmp(row, small) == 0 && std::strcmp(small, large) == 0 ? large : "per-shape";
}
const char* simd_level() {
  switch (detect_simd()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
  }
}
void set_blas_threads(int n) {
  load_openblas();
  if (blas_set_threads) blas_set_threads(n);
}
}  // namespace cm
