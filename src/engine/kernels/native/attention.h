#pragma once
namespace cm {
// Grouped-query attention over one batch. q: [B, Tq, nH*hd]; k, v: [B, kvStride, nKV*hd] (the first Tk rows of each
// batch are used); out: [B, Tq, nH*hd]; lse: [B, nH, Tq], each row's log Σ exp of its visible scores (+inf where it
// sees none), kept for the backward (null at inference).
// Query i of batch b sits at absolute position qPos0 + i and sees keys j <= qPos0 + i with j < validLen[b] and, with
// a sliding window (window > 0), qPos0 + i - j < window. Scores are scale * q.k, then softcap * tanh(score /
// softcap) when softcap > 0 (Gemma 2). bf16 (a model whose weights are BF16), where the CPU has BF16 dot products and
// the head size suits the row kernel (attention_rows.cc): the scores on them, queries and keys rounded to BF16, and
// the weighted sum of values from probabilities and values rounded to BF16, except for fewer than 16 query rows
// (decoding), whose packing of the values would cost more than it saves.
void attention_fwd(float* out, float* lse, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                   int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale, int window,
                   float softcap, bool bf16);
// Backward of the above with kvStride == Tk and qPos0 == 0, from its output and lse (attention_bwd.cc); dq, dk and
// dv are overwritten. bf16: the products on BF16 dot products where the CPU has them, their operands rounded to BF16
// (for a model whose weights are BF16: the precision it holds); the scores recomputed as the forward computed them
// with the same flag, from which lse must come.
void attention_bwd(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                   const float* q, const float* k, const float* v, int B, int Tq, int Tk, int nH, int nKV, int hd,
                   const int* validLen, float scale, int window, float softcap, bool bf16);
}  // namespace cm
