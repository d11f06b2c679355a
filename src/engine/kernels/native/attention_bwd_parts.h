// What the attention backward's two paths share (attention_bwd.cc: any CPU; attention_bwd_bf16.cc: BF16 dot
// products with operands packed once): the blocking and the element-wise steps between the block products.
#pragma once
#include <cstdint>
#include <vector>

namespace cm::attention_bwd_parts {
// Query rows and keys per block: multiples of the kernel's 12-row and 32-column strips, and equal, so that a key
// block's first query block starts at its first key (blocks across the causal diagonal compute the least they do not
// need). Against 96 × 128, a 16-head backward at 1,023 and 4,095 tokens took 2–7% less time; the block pair's scores
// and their gradients (2 × 144 KiB) stay in L2.
constexpr int BQ = 192;
constexpr int BK = 192;

// S[r][c] (scores of query i0 + r against key j0 + c, scaled; row stride BK) becomes P = exp(S − lse), and G the soft
// cap's derivative 1 − tanh² where there is a cap. Keys a query does not see get P = 0: its causal limit, the valid
// length, its window.
void probabilities(float* S, float* G, int rows, int keys, int i0, int j0, int valid, int window, float softcap,
                   const float* lse);
// dP (= dO·Vᵀ, row stride BK) becomes dS = P ⊙ (dP − D)·scale, times the cap's derivative where there is one
void score_gradients(float* dP, const float* P, const float* G, int rows, int keys, const float* D, float scale,
                     bool capped);
// D[i] = Σ_d dO[i][d] · O[i][d]: Σ_j P·dP of the row, from what the forward kept
void row_dots(float* D, const float* dO, const float* O, int ld, int rows, int hd);

// The block products on BF16 dot products (a BF16 model's backward: operands rounded to BF16, sums in F32) with each
// operand packed once where the generic path packed it for every product: per query head, dO as dP = dO·Vᵀ's left
// operand and dO and Q as the right operands of dV += Pᵀ·dO and dK += dSᵀ·Q (one panel per query block); per key
// block, Vᵀ and K as the right operands of dP and dQ += dS·K, and K in strips for the scores. A block pair then
// packs only what it computed: P once, dS twice. The scores are computed as the forward computed them
// (attention_scores.h; on BF16 pairs where attention_bf16_scores says so, F32 otherwise), so that exp(s − lse) against
// the forward's lse sums to one: scores rounded differently, a score of 20 would move by ~0.04 and its probability by
// ~4%. One per pool thread; a task calls task(), then head() for each of its query heads, then per key block keys()
// and, per query block, scores(), value_gradients() and key_query_gradients().
class PackedBlocks {
 public:
  static bool available();
  void task(int group, int Tq, int hd);
  void head(int g, const float* Qh, const float* dOh, int ldq);
  void keys(const float* Kh, const float* Vh, int ldk, int j0, int keys);
  // S[rows × keys] (row stride BK) = scale · Q·Kᵀ of the current key block for head g's query rows from i0 (Q points
  // at row i0), where the query sees the key (causal); elsewhere S is left as it was
  void scores(int g, const float* Q, int ldq, int i0, int rows, float scale, float* S) const;
  // dV (+)= Pᵀ·dO and dP = dO·Vᵀ for head g's query block at i0 (first: dV is overwritten)
  void value_gradients(int g, int i0, int rows, const float* P, float* dV, float* dP, bool first);
  // dK (+)= dSᵀ·Q and dQ += dS·K
  void key_query_gradients(int g, int i0, int rows, const float* dS, float* dK, float* dQ, int ldq, bool first);

 private:
  long panel(int g, int i0) const;
  long dO_rows(int g, int i0) const;
  long Q_rows(int g, int i0) const;
  int Tq_ = 0, hd_ = 0, j0_ = 0, keys_ = 0;
  bool bf16_scores_ = false;
  long panel_ = 0;        // one query block's packed panel of dO or Q (uint32 pairs)
  long head_panels_ = 0;  // one head's panels
  std::vector<uint32_t> dO_left_, dO_right_, Q_right_, Vt_right_, K_right_, left_;
  std::vector<float> Kt_;                   // the key block for the scores: F32 strips, or BF16 pairs in half of it
  std::vector<uint32_t> Q_pairs_;           // with BF16 scores, each head's query rows as scores_bf16 reads them
};
}  // namespace cm::attention_bwd_parts
