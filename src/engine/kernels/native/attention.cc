#include "attention.h"
#include <cmath>
#include <cstring>
#include <vector>
#include "gemm.h"
#include "pool.h"

namespace cm {

void attention_fwd(float* out, float* probs, const float* q, const float* k, const float* v, int B, int Tq, int Tk,
                   int nH, int nKV, int hd, int kvStride, int qPos0, const int* validLen, float scale) {
  int group = nH / nKV;
  int ldq = nH * hd, ldk = nKV * hd;
  parallel_for(B * nH, [&](int task) {
    int b = task / nH, h = task % nH;
    thread_local std::vector<float> scratch;
    float* S;
    if (probs) {
      S = probs + (long)task * Tq * Tk;
    } else {
      scratch.resize((size_t)Tq * Tk);
      S = scratch.data();
    }
    const float* Qh = q + (long)b * Tq * ldq + h * hd;
    const float* Kh = k + (long)b * kvStride * ldk + (h / group) * hd;
    const float* Vh = v + (long)b * kvStride * ldk + (h / group) * hd;
    float* Oh = out + (long)b * Tq * ldq + h * hd;
    sgemm_own_st(false, true, Tq, Tk, hd, scale, Qh, ldq, Kh, ldk, 0.f, S, Tk);
    int valid = validLen ? validLen[b] : Tk;
    for (int i = 0; i < Tq; i++) {
      float* row = S + (long)i * Tk;
      int last = qPos0 + i;  // last visible key
      if (last > valid - 1) last = valid - 1;
      if (last < 0) {  // nothing visible (cannot happen with right padding): output zeros
        std::memset(row, 0, sizeof(float) * Tk);
        continue;
      }
      float mx = row[0];
      for (int j = 1; j <= last; j++) mx = row[j] > mx ? row[j] : mx;
      float sum = 0.f;
      for (int j = 0; j <= last; j++) {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
      float inv = 1.f / sum;
      for (int j = 0; j <= last; j++) row[j] *= inv;
      for (int j = last + 1; j < Tk; j++) row[j] = 0.f;
    }
    sgemm_own_st(false, false, Tq, hd, Tk, 1.f, S, Tk, Vh, ldk, 0.f, Oh, ldq);
  });
}

void attention_bwd(float* dq, float* dk, float* dv, const float* dout, const float* probs, const float* q,
                   const float* k, const float* v, int B, int Tq, int Tk, int nH, int nKV, int hd, float scale) {
  int group = nH / nKV;
  int ldq = nH * hd, ldk = nKV * hd;
  parallel_for(B * nKV, [&](int task) {
    int b = task / nKV, kh = task % nKV;
    thread_local std::vector<float> dS;
    dS.resize((size_t)Tq * Tk);
    const float* Kh = k + (long)b * Tk * ldk + kh * hd;
    const float* Vh = v + (long)b * Tk * ldk + kh * hd;
    float* dKh = dk + (long)b * Tk * ldk + kh * hd;
    float* dVh = dv + (long)b * Tk * ldk + kh * hd;
    for (int g = 0; g < group; g++) {
      int h = kh * group + g;
      const float* P = probs + ((long)b * nH + h) * Tq * Tk;
      const float* Qh = q + (long)b * Tq * ldq + h * hd;
      const float* dOh = dout + (long)b * Tq * ldq + h * hd;
      float* dQh = dq + (long)b * Tq * ldq + h * hd;
      float beta = g == 0 ? 0.f : 1.f;
      // dV += Pᵀ · dO
      sgemm_own_st(true, false, Tk, hd, Tq, 1.f, P, Tk, dOh, ldq, beta, dVh, ldk);
      // dP = dO · Vᵀ, then softmax backward: dS = P ⊙ (dP − Σ_j dP ⊙ P), times the score scale
      sgemm_own_st(false, true, Tq, Tk, hd, 1.f, dOh, ldq, Vh, ldk, 0.f, dS.data(), Tk);
      for (int i = 0; i < Tq; i++) {
        float* d = dS.data() + (long)i * Tk;
        const float* p = P + (long)i * Tk;
        float dot = 0.f;
        for (int j = 0; j < Tk; j++) dot += d[j] * p[j];
        for (int j = 0; j < Tk; j++) d[j] = p[j] * (d[j] - dot) * scale;
      }
      // dQ = dS · K ; dK += dSᵀ · Q
      sgemm_own_st(false, false, Tq, hd, Tk, 1.f, dS.data(), Tk, Kh, ldk, 0.f, dQh, ldq);
      sgemm_own_st(true, false, Tk, hd, Tq, 1.f, dS.data(), Tk, Qh, ldq, beta, dKh, ldk);
    }
  });
}
}  // namespace cm
