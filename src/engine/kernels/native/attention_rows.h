#pragma once
namespace cm {
// Whether attention_rows_fwd serves this head size on this machine (AVX-512, as the GEMM chose; head size a multiple
// of 16).
bool attention_rows_supported(int hd);
// attention_fwd, with its arguments and results (lse may be null).
void attention_rows_fwd(float* out, float* lse, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                        int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale, int window,
                        float softcap, bool bf16);
}  // namespace cm
