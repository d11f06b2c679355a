// Attention with AVX-512, one head's block of query rows at a time: scores against the visible keys,
// softmax, then the weighted sum of values, all on data that stays in L1/L2. The general path (attention.cc) goes
// through the blocked GEMM, whose packing costs as much as the products at head sizes of 64–128; here the keys are
// packed once per call (16 keys side by side per head dimension) and the values are read as they are stored. For a
// BF16 model with BF16 dot products, the keys are packed as BF16 pairs of head dimensions (scores_bf16) and the
// values, from 16 query rows on, as pairs of keys (weighted_values_bf16). Each output row is computed the same way
// whatever the task split, so results do not depend on the thread count.
#include "attention_rows.h"
#include "attention_scores.h"
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "attention_softmax.h"
#include "gemm_bf16.h"
#include "gemm_bf16_parts.h"
#include "gemm.h"
#include "pool.h"

namespace cm {
namespace {
constexpr int ROWS = QROWS;  // query rows per block: 6 × (2 key strips) score accumulators, 6 × 4 output accumulators
constexpr int CHUNK = 48;  // query rows per task (a multiple of ROWS)
constexpr int MIN_ROWS_BF16 = 16;  // query rows from which a BF16 model's weighted values run on BF16 pairs

// O[r][c0..c0 + 16·C) = Σ_j P[r][j] · V[j][c0..) over j < keys. C is a template argument so that the R × C
// accumulators stay in registers: with a run-time count the compiler kept them in memory, and this loop took two and
// a half times as long as the scores'.
template <int R, int C>
__attribute__((target("avx512f"))) void weighted_columns(float* O, int ldo, const float* P, int ldp, const float* V,
                                                         int ldv, int keys, int c0) {
  __m512 acc[R][C];
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
  for (int j = 0; j < keys; j++) {
    const float* vr = V + (long)j * ldv + c0;
    __m512 v[C];
    for (int c = 0; c < C; c++) v[c] = _mm512_loadu_ps(vr + 16 * c);
    for (int r = 0; r < R; r++) {
      const __m512 p = _mm512_set1_ps(P[(long)r * ldp + j]);
      for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(p, v[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++) _mm512_storeu_ps(O + (long)r * ldo + c0 + 16 * c, acc[r][c]);
}

// O[r][0..hd) = Σ_j P[r][j] · V[j] over j < keys, 64 columns of the head at a time (hd a multiple of 16)
template <int R>
void weighted_values(float* O, int ldo, const float* P, int ldp, const float* V, int ldv, int keys, int hd) {
  for (int c0 = 0; c0 < hd; c0 += 64) {
    switch (std::min(4, (hd - c0) / 16)) {
      case 4: weighted_columns<R, 4>(O, ldo, P, ldp, V, ldv, keys, c0); break;
      case 3: weighted_columns<R, 3>(O, ldo, P, ldp, V, ldv, keys, c0); break;
      case 2: weighted_columns<R, 2>(O, ldo, P, ldp, V, ldv, keys, c0); break;
      default: weighted_columns<R, 1>(O, ldo, P, ldp, V, ldv, keys, c0); break;
    }
  }
}

// The keys as the scores read them: packed by pack_keys (F32), or, with `pairs` set, by bf16::pack_along into strips
// of 16 keys (scores_bf16); then Qp holds the block's query rows as pairs (rows_to_pairs; a scratch of QROWS · hd / 2)
struct Keys {
  const float* Kt;
  const uint32_t* pairs;
  uint32_t* Qp;
};

// The values as the BF16 path reads them: pair p of column c (keys 2p and 2p + 1, as BF16) at [p·hd + c]
// (bf16::pack_across, one strip as wide as the head), or null for the F32 path that reads V as stored
struct Values {
  const float* V;
  int ldv;
  const uint32_t* pairs;
};

// A row of probabilities [0, width) (width a multiple of 16) rewritten in place as BF16 pairs at its start: pair p
// (values 2p and 2p + 1) in its 32-bit slot p. Each 32 values are read before their pairs, which end before the
// next unread value, are written.
__attribute__((target("avx512f,avx512bf16"))) void to_pairs(float* row, int width) {
  for (int j = 0; j < width; j += 32) {
    const __m512 lo = _mm512_loadu_ps(row + j);
    const bool two = j + 16 < width;
    const __m512 hi = two ? _mm512_loadu_ps(row + j + 16) : _mm512_setzero_ps();
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // lo's 16 values below hi's
    if (two)
      _mm512_storeu_si512(row + j / 2, both);
    else
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + j / 2), _mm512_castsi512_si256(both));
  }
}

// weighted_columns from BF16 pairs: P's row r at P + r·ldp (32-bit slots), the values' pairs as Values::pairs holds
// them, each vdpbf16ps two keys' products per lane with its sums in F32
template <int R, int C>
__attribute__((target("avx512f,avx512bf16"))) void weighted_columns_bf16(float* O, int ldo, const uint32_t* P,
                                                                         int ldp, const uint32_t* V, int hd,
                                                                         int pairs, int c0, const float* inv) {
  __m512 acc[R][C];
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
  for (int p = 0; p < pairs; p++) {
    const uint32_t* vr = V + (long)p * hd + c0;
    __m512bh v[C];
    for (int c = 0; c < C; c++) v[c] = (__m512bh)_mm512_loadu_si512(vr + 16 * c);
    for (int r = 0; r < R; r++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32((int)P[(long)r * ldp + p]);
      for (int c = 0; c < C; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], a, v[c]);
    }
  }
  for (int r = 0; r < R; r++) {
    const __m512 by = _mm512_set1_ps(inv[r]);
    for (int c = 0; c < C; c++) _mm512_storeu_ps(O + (long)r * ldo + c0 + 16 * c, _mm512_mul_ps(acc[r][c], by));
  }
}

// O[r][0..hd) = inv[r] · Σ_j P[r][j] · V[j] over j < keys, P's rows (stride ldp floats) already BF16 pairs
template <int R>
void weighted_values_bf16(float* O, int ldo, const float* P, int ldp, const uint32_t* V, int keys, int hd,
                          const float* inv) {
  const uint32_t* pairs = reinterpret_cast<const uint32_t*>(P);
  const int n = (keys + 1) / 2;
  for (int c0 = 0; c0 < hd; c0 += 64) {
    switch (std::min(4, (hd - c0) / 16)) {
      case 4: weighted_columns_bf16<R, 4>(O, ldo, pairs, ldp, V, hd, n, c0, inv); break;
      case 3: weighted_columns_bf16<R, 3>(O, ldo, pairs, ldp, V, hd, n, c0, inv); break;
      case 2: weighted_columns_bf16<R, 2>(O, ldo, pairs, ldp, V, hd, n, c0, inv); break;
      default: weighted_columns_bf16<R, 1>(O, ldo, pairs, ldp, V, hd, n, c0, inv); break;
    }
  }
}

// exp's Cody–Waite reduction, as fastmath.h's fast_exp computes it: x = n·ln 2 + r with |r| ≤ ln 2 / 2
__attribute__((target("avx512f"))) inline __m512 exp_reduced(__m512 x, __m512* n) {
  *n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                            _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(0.693359375f), x);
  return _mm512_fnmadd_ps(*n, _mm512_set1_ps(-2.12194440e-4f), r);
}

// e^r ≈ 1 + r + r²·p, then times 2ⁿ
__attribute__((target("avx512f"))) inline __m512 exp_rebuilt(__m512 p, __m512 r, __m512 n) {
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// exp(x) as fastmath.h's fast_exp computes it (the same reduction and polynomial), 16 lanes at a time
__attribute__((target("avx512f"))) inline __m512 exp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  const __mmask16 over = _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.7f), _CMP_GT_OQ);
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LE_OQ);
  x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
  __m512 n;
  const __m512 r = exp_reduced(x, &n);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_mask_mov_ps(exp_rebuilt(p, r, n), under, _mm512_setzero_ps());
  return _mm512_mask_mov_ps(y, over, _mm512_set1_ps(__builtin_inff()));
}

// exp(x) for x ≤ 0 (a score less its row's maximum) where the result is rounded to BF16: exp16's reduction with two
// terms fewer in its polynomial (relative error below 3.4e-6 on [−87, 0] against BF16's step of 4e-3; the
// log-normaliser the backward divides by moves as little), and no overflow to catch; below −87.3 it gives 2⁻¹²⁶·e^r
// (about 1e-38) rather than 0, which no sum or BF16 probability can tell apart. A third fewer instructions than
// exp16, whose exponentials were a fifth of a long prefill's attention.
__attribute__((target("avx512f"))) inline __m512 exp16_nonpositive(__m512 x) {
  __m512 n;
  const __m512 r = exp_reduced(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), &n);
  __m512 p = _mm512_set1_ps(8.3334519073e-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  return exp_rebuilt(p, r, n);
}

inline __mmask16 lanes(int from, int to) {  // lanes [from, to) of 16, clipped
  from = std::max(0, from), to = std::min(16, to);
  return to <= from ? 0 : (__mmask16)(((1u << (to - from)) - 1) << from);
}

// row[lo..n) = softmax(row[lo..n)), the rest of row[0..width) = 0 (width a multiple of 16); softcap and the returned
// log-normaliser as softmax_range
__attribute__((target("avx512f"))) float softmax16(float* row, int lo, int n, int width, float softcap) {
  if (softcap > 0.f || lo >= n) return softmax_range(row, lo, n, width, softcap);
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  for (int j = lo & ~15; j < n; j += 16)
    mx = _mm512_mask_max_ps(mx, lanes(lo - j, n - j), mx, _mm512_loadu_ps(row + j));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int j = 0; j < width; j += 16) {
    const __mmask16 in = lanes(lo - j, n - j);
    __m512 e = _mm512_maskz_mov_ps(in, exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), m)));
    sum = _mm512_add_ps(sum, e);
    _mm512_storeu_ps(row + j, e);
  }
  const float total = _mm512_reduce_add_ps(sum);
  const __m512 inv = _mm512_set1_ps(1.f / total);
  for (int j = lo & ~15; j < n; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
  return _mm512_cvtss_f32(m) + std::log(total);
}

// softmax16 for the BF16 weighted values: row[0..width) becomes BF16 pairs of exp(s − max) (zero where not visible)
// in its first width / 2 slots, in the same pass as their exponentials, and *inv the normaliser's inverse that the
// weighted sum is scaled by (against normalising first, two passes over the row less: at 4,096 tokens a row block's
// scores outgrow L1). Returns the log-normaliser, as softmax16; its probabilities round as softmax16's would.
__attribute__((target("avx512f,avx512bf16"))) float softmax16_pairs(float* row, int lo, int n, int width,
                                                                    float softcap, float* inv) {
  if (softcap > 0.f || lo >= n) {
    const float l = softmax_range(row, lo, n, width, softcap);
    to_pairs(row, width);
    *inv = 1.f;
    return l;
  }
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  for (int j = lo & ~15; j < n; j += 16)
    mx = _mm512_mask_max_ps(mx, lanes(lo - j, n - j), mx, _mm512_loadu_ps(row + j));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int j = 0; j < width; j += 32) {  // 32 values read before their 16 pairs are written (to_pairs says why)
    const __m512 s0 = _mm512_sub_ps(_mm512_loadu_ps(row + j), m);
    const __m512 e0 = _mm512_maskz_mov_ps(lanes(lo - j, n - j), exp16_nonpositive(s0));
    const bool two = j + 16 < width;
    const __m512 e1 = two ? _mm512_maskz_mov_ps(lanes(lo - j - 16, n - j - 16),
                                                exp16_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(row + j + 16), m)))
                          : _mm512_setzero_ps();
    sum = _mm512_add_ps(sum, _mm512_add_ps(e0, e1));
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(e1, e0);
    if (two)
      _mm512_storeu_si512(row + j / 2, both);
    else
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + j / 2), _mm512_castsi512_si256(both));
  }
  const float total = _mm512_reduce_add_ps(sum);
  *inv = 1.f / total;
  return _mm512_cvtss_f32(m) + std::log(total);
}

template <int R>
void block(float* O, int ldo, const float* Q, int ldq, const Keys& K, const Values& V, int pos0, int valid, int Tk,
           int window, float scale, float softcap, int hd, float* S, int lds, float* L) {
  int keys = visible_keys(pos0 + R - 1, valid, Tk);
  int strips = (keys + 15) / 16;
  if (K.pairs) {
    rows_to_pairs(Q, ldq, R, hd, K.Qp);
    scores_bf16<R>(S, lds, K.Qp, K.pairs, strips, hd / 2, scale);
  } else {
    scores<R>(S, lds, Q, ldq, K.Kt, strips, hd, scale);
  }
  float inv[R];
  for (int r = 0; r < R; r++) {
    float* row = S + (long)r * lds;
    int last = std::min(pos0 + r, valid - 1);
    inv[r] = 1.f;
    if (last < 0) {  // nothing visible: an output of zeros (zero floats are zero pairs too)
      std::fill(row, row + strips * 16, 0.f);
      if (L) L[r] = __builtin_inff();
      continue;
    }
    const int lo = first_key(pos0 + r, window), width = strips * 16;
    const float l = V.pairs ? softmax16_pairs(row, lo, last + 1, width, softcap, &inv[r])
                            : softmax16(row, lo, last + 1, width, softcap);
    if (L) L[r] = l;  // training keeps each row's log-normaliser
  }
  if (V.pairs)
    weighted_values_bf16<R>(O, ldo, S, lds, V.pairs, keys, hd, inv);
  else
    weighted_values<R>(O, ldo, S, lds, V.V, V.ldv, keys, hd);
}

void rows_of(int rows, float* O, int ldo, const float* Q, int ldq, const Keys& K, const Values& V, int pos0,
             int valid, int Tk, int window, float scale, float softcap, int hd, float* S, int lds, float* L) {
  switch (rows) {
#define CM_ROWS(n)                                                                                  \
  case n:                                                                                           \
    block<n>(O, ldo, Q, ldq, K, V, pos0, valid, Tk, window, scale, softcap, hd, S, lds, L); \
    break;
    CM_ROWS(1) CM_ROWS(2) CM_ROWS(3) CM_ROWS(4) CM_ROWS(5) CM_ROWS(6)
#undef CM_ROWS
  }
}
}  // namespace

bool attention_rows_supported(int hd) { return hd % 16 == 0 && std::strcmp(simd_level(), "avx512") == 0; }

bool attention_bf16_scores(int hd, bool bf16) { return bf16 && attention_rows_supported(hd) && bf16_dot_supported(); }

void attention_rows_fwd(float* out, float* lse, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                        int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale, int window,
                        float softcap, bool bf16) {
  const int group = nH / nKV;
  const int ldq = nH * hd, ldk = nKV * hd;
  const int chunks = (Tq + CHUNK - 1) / CHUNK;
  // each sequence's keys are packed once per kv head, before the tasks, and shared by the query heads of its group
  // and every chunk of query rows (packed per task, a long prompt's keys were packed hundreds of times per layer). A
  // task reads the strips it needs: its last strip may hold keys past its visible ones, whose scores softmax masks.
  // With BF16 scores, the same strips hold pairs (half the bytes) in the same vector.
  const bool bf16_keys = attention_bf16_scores(hd, bf16);
  const long packed = (long)((Tk + 15) / 16) * 16 * hd / (bf16_keys ? 2 : 1);
  thread_local std::vector<float> Kall;
  Kall.resize((size_t)(B * nKV) * packed + 16);
  float* Kt0 = Kall.data();  // by pointer: inside the tasks, Kall would name each pool thread's own vector
  // with BF16 dot products (a BF16 model), the values too, as pairs of keys: packing them costs about as much as a
  // single query row's products, so decoding's few rows keep the F32 path
  const bool pairs = bf16 && Tq >= MIN_ROWS_BF16 && bf16_dot_supported();
  const long packedV = pairs ? (long)(Tk + 1) / 2 * hd : 0;
  thread_local std::vector<uint32_t> Vall;
  if (pairs) Vall.resize((size_t)(B * nKV) * packedV);
  uint32_t* Vp0 = Vall.data();
  parallel_for(B * nKV, [&](int t) {
    const int b = t / nKV, g = t % nKV;
    const float* Kg = k + (long)b * kvStride * ldk + g * hd;
    if (bf16_keys)
      bf16::pack_along(16, Kg, ldk, 0, Tk, 0, hd, 1.f, reinterpret_cast<uint32_t*>(Kt0 + t * packed));
    else
      pack_keys(Kt0 + t * packed, Kg, ldk, Tk, hd);
    if (pairs) bf16::pack_across(hd, v + (long)b * kvStride * ldk + g * hd, ldk, 0, hd, 0, Tk, 1.f, Vp0 + t * packedV);
  });
  parallel_for(B * nH * chunks, [&](int task) {
    const int c = task % chunks, h = (task / chunks) % nH, b = task / (chunks * nH);
    const int i0 = c * CHUNK, rows = std::min(CHUNK, Tq - i0);
    const int valid = validLen ? validLen[b] : Tk;
    const int keys = visible_keys(qPos0 + i0 + rows - 1, valid, Tk);
    const int lds = ((keys + 15) / 16) * 16;
    thread_local std::vector<float> S;
    S.resize((size_t)ROWS * lds + 16);
    thread_local std::vector<uint32_t> Qp;
    Qp.resize((size_t)QROWS * hd / 2);
    const float* Kt = Kt0 + ((long)b * nKV + h / group) * packed;
    const Keys K{Kt, bf16_keys ? reinterpret_cast<const uint32_t*>(Kt) : nullptr, Qp.data()};
    const Values V{v + (long)b * kvStride * ldk + (h / group) * hd, ldk,
                   pairs ? Vp0 + ((long)b * nKV + h / group) * packedV : nullptr};
    const float* Qh = q + ((long)b * Tq + i0) * ldq + h * hd;
    float* Oh = out + ((long)b * Tq + i0) * ldq + h * hd;
    float* Lh = lse ? lse + ((long)b * nH + h) * Tq + i0 : nullptr;
    for (int r0 = 0; r0 < rows; r0 += ROWS)
      rows_of(std::min(ROWS, rows - r0), Oh + (long)r0 * ldq, ldq, Qh + (long)r0 * ldq, ldq, K, V, qPos0 + i0 + r0,
              valid, Tk, window, scale, softcap, hd, S.data(), lds, Lh ? Lh + r0 : nullptr);
  });
}
}  // namespace cm
