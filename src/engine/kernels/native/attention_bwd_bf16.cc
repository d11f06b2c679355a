// The attention backward's block products on BF16 dot products, each operand packed once (attention_bwd_parts.h
// says which and why). Against packing both operands for every product, a 16-head, 8-KV-head backward at 1,023
// tokens (head size 64) spent a sixth of its time packing.
#include <algorithm>
#include <cstdint>
#include "attention_bwd_parts.h"
#include "attention_rows.h"
#include "attention_scores.h"
#include "gemm_bf16.h"
#include "gemm_bf16_parts.h"
#include "gemm_driver.h"

namespace cm::attention_bwd_parts {
using bf16::MR;
using bf16::PairRange;
using bf16::NR;
static_assert(BQ % MR == 0 && BQ % 2 == 0, "a query block starts a strip of dO's rows and a whole pair of them");
static_assert(BK % 16 == 0, "a key block's scores are whole 16-key strips");

bool PackedBlocks::available() { return bf16_dot_supported(); }

void PackedBlocks::task(int group, int Tq, int hd) {
  Tq_ = Tq, hd_ = hd;
  bf16_scores_ = attention_bf16_scores(hd, true);
  const long pairs = (hd + 1) / 2, blocks = (Tq + BQ - 1) / BQ;
  panel_ = round_up(hd, NR) * (BQ / 2);
  head_panels_ = blocks * panel_;
  const auto grow = [](std::vector<uint32_t>& v, long n) { v.resize(std::max(v.size(), (size_t)n)); };
  grow(dO_left_, group * round_up(Tq, MR) * pairs);
  grow(dO_right_, group * blocks * panel_);
  grow(Q_right_, group * blocks * panel_);
  grow(Vt_right_, round_up(BK, NR) * pairs);
  grow(K_right_, round_up(hd, NR) * (BK / 2));
  grow(left_, std::max(round_up(BK, MR) * (BQ / 2), round_up(BQ, MR) * (BK / 2)));
  Kt_.resize(std::max(Kt_.size(), (size_t)BK * hd));
  if (bf16_scores_) grow(Q_pairs_, group * Tq * pairs);
}

// head g's packed panel of dO or Q for the query block at i0, and its packed dO rows from i0
long PackedBlocks::panel(int g, int i0) const { return g * head_panels_ + i0 / BQ * panel_; }
long PackedBlocks::dO_rows(int g, int i0) const { return (g * round_up(Tq_, MR) + i0) * ((hd_ + 1) / 2); }
long PackedBlocks::Q_rows(int g, int i0) const { return ((long)g * Tq_ + i0) * (hd_ / 2); }

void PackedBlocks::head(int g, const float* Qh, const float* dOh, int ldq) {
  bf16::pack_along(MR, dOh, ldq, 0, Tq_, 0, hd_, 1.f, dO_left_.data() + dO_rows(g, 0));
  if (bf16_scores_) rows_to_pairs(Qh, ldq, Tq_, hd_, Q_pairs_.data() + Q_rows(g, 0));
  for (int i0 = 0; i0 < Tq_; i0 += BQ) {
    const long at = panel(g, i0);
    const int rows = std::min(BQ, Tq_ - i0);
    bf16::pack_across(NR, dOh, ldq, 0, hd_, i0, rows, 1.f, dO_right_.data() + at);
    bf16::pack_across(NR, Qh, ldq, 0, hd_, i0, rows, 1.f, Q_right_.data() + at);
  }
}

void PackedBlocks::keys(const float* Kh, const float* Vh, int ldk, int j0, int keys) {
  j0_ = j0, keys_ = keys;
  if (bf16_scores_)
    bf16::pack_along(16, Kh, ldk, j0, keys, 0, hd_, 1.f, reinterpret_cast<uint32_t*>(Kt_.data()));
  else
    pack_keys(Kt_.data(), Kh + (long)j0 * ldk, ldk, keys, hd_);
  bf16::pack_along(NR, Vh, ldk, j0, keys, 0, hd_, 1.f, Vt_right_.data());
  bf16::pack_across(NR, Kh, ldk, 0, hd_, j0, keys, 1.f, K_right_.data());
}

void PackedBlocks::scores(int g, const float* Q, int ldq, int i0, int rows, float scale, float* S) const {
  const int strips = (keys_ + 15) / 16;
  for (int r0 = 0; r0 < rows; r0 += QROWS) {
    // the key strips up to the block's last row (causal): across the diagonal, probabilities() zeroes the rest
    const int n = std::min(QROWS, rows - r0), last = i0 + r0 + n - 1 - j0_, upto = std::min(strips, last / 16 + 1);
    if (bf16_scores_)
      score_rows_bf16(n, S + (long)r0 * BK, BK, Q_pairs_.data() + Q_rows(g, i0 + r0),
                      reinterpret_cast<const uint32_t*>(Kt_.data()), upto, hd_ / 2, scale);
    else
      score_rows(n, S + (long)r0 * BK, BK, Q + (long)r0 * ldq, ldq, Kt_.data(), upto, hd_, scale);
  }
}

// Which pairs of a block pair's products a tile needs, causally (query i sees key j ≤ i; P and dS are zero beyond):
// key j0 + c is seen by the block's rows from j0 + c − i0 on, and row i0 + r sees the keys up to i0 + r − j0. A key
// strip's tile (dV and dK: keys down C, query rows along K) starts at its first key's first row; a row strip's tile
// (dQ: rows down C, keys along K) ends at its last row's last key; dP's tile (rows down C, keys across) is empty where
// its first key is past its last row. Across the diagonal that skips about half of each product's tiles.
namespace {
constexpr int ALL = 1 << 30;
PairRange from_first_row(int i0, int j0, int key) { return {std::max(0, j0 + key - i0) / 2, ALL}; }
PairRange to_last_key(int i0, int j0, int row) { return {0, (i0 + row + MR - 1 - j0) / 2 + 1}; }
PairRange if_seen(int i0, int j0, int row, int key) { return {0, j0 + key <= i0 + row + MR - 1 ? ALL : 0}; }
}  // namespace

void PackedBlocks::value_gradients(int g, int i0, int rows, const float* P, float* dV, float* dP, bool first) {
  const int j0 = j0_;
  bf16::pack_across(MR, P, BK, 0, keys_, 0, rows, 1.f, left_.data());
  bf16::product_packed(keys_, hd_, rows, left_.data(), dO_right_.data() + panel(g, i0), dV, hd_, first,
                       [&](int key, int) { return from_first_row(i0, j0, key); });
  bf16::product_packed(rows, keys_, hd_, dO_left_.data() + dO_rows(g, i0), Vt_right_.data(), dP, BK, true,
                       [&](int row, int key) { return if_seen(i0, j0, row, key); });
}

void PackedBlocks::key_query_gradients(int g, int i0, int rows, const float* dS, float* dK, float* dQ, int ldq,
                                       bool first) {
  const int j0 = j0_;
  bf16::pack_across(MR, dS, BK, 0, keys_, 0, rows, 1.f, left_.data());
  bf16::product_packed(keys_, hd_, rows, left_.data(), Q_right_.data() + panel(g, i0), dK, hd_, first,
                       [&](int key, int) { return from_first_row(i0, j0, key); });
  bf16::pack_along(MR, dS, BK, 0, rows, 0, keys_, 1.f, left_.data());
  bf16::product_packed(rows, hd_, keys_, left_.data(), K_right_.data(), dQ, ldq, false,
                       [&](int row, int) { return to_last_key(i0, j0, row); });
}
}  // namespace cm::attention_bwd_parts
