// Register-only loops, one per pool thread: 24 independent sums, so that neither an instruction's latency nor a load
// limits the rate, only how many of them the core issues per cycle (on Zen 4 one 512-bit vdpbf16ps per cycle, since
// it splits 512-bit operations into two 256-bit halves; twice that where the units are 512 bits wide).
#include "peak.h"
#include <immintrin.h>
#include <chrono>
#include <cstring>
#include <vector>
#include "gemm.h"
#include "pool.h"

namespace cm {
namespace {
constexpr int SUMS = 24;
constexpr long STEPS = 1 << 20;  // per sum and round: a round is 24 × 2²⁰ instructions, ~7 ms at one a cycle

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One round of each kind, as a macro because a template or a lambda would not inherit its caller's target attribute
// (and could not use its instructions): SUMS sums of type V, each `s[i] = OP` STEPS times, in a function of its own
// that calls nothing, so that the sums stay in registers. The asm statement keeps each there and the loop from being
// folded; the round gives back one of them, which the caller keeps.
#define CM_PEAK_ROUND(NAME, TARGET, V, OP)                              \
  __attribute__((target(TARGET), noinline)) V NAME(V x) {               \
    V s[SUMS];                                                          \
    _Pragma("GCC unroll 24") for (int i = 0; i < SUMS; i++) s[i] = x;   \
    for (long n = 0; n < STEPS; n++) {                                  \
      _Pragma("GCC unroll 24") for (int i = 0; i < SUMS; i++) {         \
        s[i] = OP;                                                      \
        __asm__ volatile("" : "+v"(s[i]));                              \
      }                                                                 \
    }                                                                   \
    return s[SUMS - 1];                                                 \
  }
CM_PEAK_ROUND(bf16_round, "avx512f,avx512bf16", __m512, _mm512_dpbf16_ps(s[i], (__m512bh)x, (__m512bh)x))
CM_PEAK_ROUND(f32_round512, "avx512f", __m512, _mm512_fmadd_ps(x, x, s[i]))
CM_PEAK_ROUND(f32_round256, "avx2,fma", __m256, _mm256_fmadd_ps(x, x, s[i]))
CM_PEAK_ROUND(f32_round128, "sse2", __m128, _mm_add_ps(_mm_mul_ps(x, x), s[i]))
#undef CM_PEAK_ROUND

// Rounds until `seconds` have passed; the instructions issued.
#define CM_PEAK_ROUNDS(ROUND, X)                     \
  const auto t0 = std::chrono::steady_clock::now();  \
  auto x = X;                                        \
  long issued = 0;                                   \
  do {                                               \
    x = ROUND(x);                                    \
    __asm__ volatile("" : "+v"(x));                  \
    issued += STEPS * SUMS;                          \
  } while (since(t0) < seconds);                     \
  return issued

__attribute__((target("avx512f,avx512bf16"))) long bf16_issued(double seconds) {
  CM_PEAK_ROUNDS(bf16_round, _mm512_set1_ps(1e-30f));
}
__attribute__((target("avx512f"))) long f32_issued512(double seconds) {
  CM_PEAK_ROUNDS(f32_round512, _mm512_set1_ps(1e-30f));
}
__attribute__((target("avx2,fma"))) long f32_issued256(double seconds) {
  CM_PEAK_ROUNDS(f32_round256, _mm256_set1_ps(1e-30f));
}
long f32_issued128(double seconds) { CM_PEAK_ROUNDS(f32_round128, _mm_set1_ps(1e-30f)); }
#undef CM_PEAK_ROUNDS

// floating-point operations done in about `seconds` by one thread: 2 per multiply-add, a vdpbf16ps doing two per
// F32 lane
double flops(bool bf16, const char* simd, double seconds) {
  if (bf16) return 64.0 * bf16_issued(seconds);
  if (std::strcmp(simd, "avx512") == 0) return 32.0 * f32_issued512(seconds);
  if (std::strcmp(simd, "avx2") == 0) return 16.0 * f32_issued256(seconds);
  return 8.0 * f32_issued128(seconds);
}
}  // namespace

double peak_gflops(bool bf16, double seconds) {
  const char* simd = simd_level();
  const bool wide = std::strcmp(simd, "avx512") == 0;
  if (bf16 && !(wide && __builtin_cpu_supports("avx512bf16"))) return 0;
  // one task per pool thread; all the work over the wall time, so a thread that did not run alongside the others
  // lowers the figure rather than counting twice
  std::vector<double> done(pool_threads());
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for((int)done.size(), [&](int t) { done[t] = flops(bf16, simd, seconds); });
  const double wall = since(t0);
  double total = 0;
  for (double f : done) total += f;
  return total / wall / 1e9;
}
}  // namespace cm
