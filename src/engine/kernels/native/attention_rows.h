#pragma once
namespace cm {
// Whether attention_rows_fwd serves this head size on this machine (AVX-512, as the GEMM chose; head size a multiple
// of 16).
bool attention_rows_supported(int hd);
// Whether the scores run on BF16 dot products (a BF16 model, `bf16`, on a CPU with them, through the row kernel): the
// forward and the BF16 backward ask this alike, so that the backward recomputes the scores the forward normalised.
bool attention_bf16_scores(int hd, bool bf16);
// attention_fwd, with its arguments and results (lse may be null).
void attention_rows_fwd(float* out, float* lse, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                        int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale, int window,
                        float softcap, bool bf16);
}  // namespace cm
