#include "ops.h"
#include <cmath>
#include <cstring>
#include <vector>
#include "fastmath.h"
#include "pool.h"

// Hot loops are compiled for AVX-512, AVX2 and the baseline; the loader picks one for this CPU at run time.
#define CM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

namespace cm {
namespace {
// Task counts depend on the size of the work only, never on the thread count, so reductions are reproducible.
constexpr int MAX_TASKS = 64;
template <class F>
void for_rows(long rows, long min_rows, F&& f) {
  int tasks = chunk_count(rows, min_rows, MAX_TASKS);
  parallel_for(tasks, [&](int t) { f(chunk_begin(rows, tasks, t), chunk_begin(rows, tasks, t + 1), t); });
}
}  // namespace

CM_CLONES static float row_max(const float* row, int n) {
  float mx = row[0];
  for (int i = 1; i < n; i++) mx = row[i] > mx ? row[i] : mx;
  return mx;
}

// row[i] = exp(row[i] - shift); returns the sum
CM_CLONES static float exp_shift_sum(float* row, int n, float shift) {
  float sum = 0.f;
  for (int i = 0; i < n; i++) {
    float ex = fast_exp(row[i] - shift);
    row[i] = ex;
    sum += ex;
  }
  return sum;
}

CM_CLONES static void scale_row(float* row, int n, float s) {
  for (int i = 0; i < n; i++) row[i] *= s;
}

CM_CLONES static void adamw_range(float* p, const float* g, float* m, float* v, long b, long e, float lr, float b1,
                                   float b2, float eps, float wd, float bc1, float bc2) {
  for (long i = b; i < e; i++) {
    float gi = g[i];
    float pi = p[i] - lr * wd * p[i];
    float mi = b1 * m[i] + (1.f - b1) * gi;
    float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - lr * (mi / bc1) / (std::sqrt(vi / bc2) + eps);
  }
}

// Row loops below are clones too: the baseline build vectorises them for SSE2 only (a quarter of AVX-512's width).
CM_CLONES static void rmsnorm_fwd_rows(float* out, float* rstd, const float* x, const float* w, long b, long e, int dim,
                                       float eps) {
  for (long r = b; r < e; r++) {
    const float* xr = x + r * dim;
    float* o = out + r * dim;
    float ss = 0.f;
    for (int i = 0; i < dim; i++) ss += xr[i] * xr[i];
    float s = 1.f / std::sqrt(ss / dim + eps);
    if (rstd) rstd[r] = s;
    for (int i = 0; i < dim; i++) o[i] = xr[i] * s * w[i];
  }
}

void rmsnorm_fwd(float* out, float* rstd, const float* x, const float* w, long rows, int dim, float eps) {
  for_rows(rows, 8, [&](long b, long e, int) { rmsnorm_fwd_rows(out, rstd, x, w, b, e, dim, eps); });
}

CM_CLONES static void rmsnorm_bwd_rows(float* dx, float* pw, const float* dout, const float* x, const float* w,
                                       const float* rstd, long b, long e, int dim, bool accumulate_dx) {
  for (long r = b; r < e; r++) {
    const float* xr = x + r * dim;
    const float* go = dout + r * dim;
    float* d = dx + r * dim;
    float s = rstd[r];
    float dot = 0.f;
    for (int i = 0; i < dim; i++) dot += go[i] * w[i] * xr[i];
    float c = s * s * s * dot / dim;
    if (accumulate_dx)
      for (int i = 0; i < dim; i++) d[i] += s * go[i] * w[i] - c * xr[i];
    else
      for (int i = 0; i < dim; i++) d[i] = s * go[i] * w[i] - c * xr[i];
    if (pw)
      for (int i = 0; i < dim; i++) pw[i] += go[i] * xr[i] * s;
  }
}

void rmsnorm_bwd(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd, long rows,
                 int dim, bool accumulate_dx) {
  int tasks = chunk_count(rows, 8, MAX_TASKS);
  std::vector<float> partial(dw ? (size_t)tasks * dim : 0, 0.f);
  parallel_for(tasks, [&](int t) {
    long b = chunk_begin(rows, tasks, t), e = chunk_begin(rows, tasks, t + 1);
    float* pw = dw ? partial.data() + (size_t)t * dim : nullptr;
    rmsnorm_bwd_rows(dx, pw, dout, x, w, rstd, b, e, dim, accumulate_dx);
  });
  if (dw)
    for (int t = 0; t < tasks; t++) {
      const float* pw = partial.data() + (size_t)t * dim;
      for (int i = 0; i < dim; i++) dw[i] += pw[i];
    }
}

CM_CLONES static void rope_rows(float* x, long b, long e, int T, int heads, int hd, int pos0, const float* cos,
                                const float* sin, float sign) {
  int half = hd / 2;
  for (long r = b; r < e; r++) {
    long pos = pos0 + (r % T);
    const float* c = cos + pos * half;
    const float* s = sin + pos * half;
    for (int h = 0; h < heads; h++) {
      float* v = x + (r * heads + h) * hd;
      for (int i = 0; i < half; i++) {
        float a = v[i], bb = v[i + half], si = sign * s[i];
        v[i] = a * c[i] - bb * si;
        v[i + half] = bb * c[i] + a * si;
      }
    }
  }
}

void rope_apply(float* x, long rows, int T, int heads, int hd, int pos0, const float* cos, const float* sin,
                bool inverse) {
  float sign = inverse ? -1.f : 1.f;
  for_rows(rows, 16, [&](long b, long e, int) { rope_rows(x, b, e, T, heads, hd, pos0, cos, sin, sign); });
}

CM_CLONES static void swiglu_fwd_range(float* h, const float* gate, const float* up, long b, long e) {
  for (long i = b; i < e; i++) {
    float g = gate[i];
    h[i] = g / (1.f + fast_exp(-g)) * up[i];
  }
}

void swiglu_fwd(float* h, const float* gate, const float* up, long n) {
  for_rows(n, 4096, [&](long b, long e, int) { swiglu_fwd_range(h, gate, up, b, e); });
}

CM_CLONES static void swiglu_bwd_range(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                                        long b, long e) {
  for (long i = b; i < e; i++) {
    float g = gate[i], s = 1.f / (1.f + fast_exp(-g));
    float d = dh[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (1.f + g * (1.f - s));
  }
}

void swiglu_bwd(float* dgate, float* dup, const float* dh, const float* gate, const float* up, long n) {
  for_rows(n, 4096, [&](long b, long e, int) { swiglu_bwd_range(dgate, dup, dh, gate, up, b, e); });
}

// GELU with the tanh approximation (PyTorch's gelu(approximate="tanh"), Gemma's gelu_pytorch_tanh)
constexpr float GELU_C = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float GELU_A = 0.044715f;

CM_CLONES static void geglu_fwd_range(float* h, const float* gate, const float* up, long b, long e) {
  for (long i = b; i < e; i++) {
    float g = gate[i];
    h[i] = 0.5f * g * (1.f + std::tanh(GELU_C * (g + GELU_A * g * g * g))) * up[i];
  }
}

void geglu_fwd(float* h, const float* gate, const float* up, long n) {
  for_rows(n, 4096, [&](long b, long e, int) { geglu_fwd_range(h, gate, up, b, e); });
}

CM_CLONES static void geglu_bwd_range(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                                       long b, long e) {
  for (long i = b; i < e; i++) {
    float g = gate[i], t = std::tanh(GELU_C * (g + GELU_A * g * g * g));
    float gelu = 0.5f * g * (1.f + t);
    float dgelu = 0.5f * (1.f + t) + 0.5f * g * (1.f - t * t) * GELU_C * (1.f + 3.f * GELU_A * g * g);
    dup[i] = dh[i] * gelu;
    dgate[i] = dh[i] * up[i] * dgelu;
  }
}

void geglu_bwd(float* dgate, float* dup, const float* dh, const float* gate, const float* up, long n) {
  for_rows(n, 4096, [&](long b, long e, int) { geglu_bwd_range(dgate, dup, dh, gate, up, b, e); });
}

double cross_entropy(float* z, const int* targets, const float* weights, long rows, int V, float scale) {
  int tasks = chunk_count(rows, 4, MAX_TASKS);
  std::vector<double> loss(tasks, 0.0);
  parallel_for(tasks, [&](int t) {
    long b = chunk_begin(rows, tasks, t), e = chunk_begin(rows, tasks, t + 1);
    for (long r = b; r < e; r++) {
      float* row = z + r * (long)V;
      float w = weights ? weights[r] : 1.f;
      if (w == 0.f) {
        std::memset(row, 0, sizeof(float) * V);
        continue;
      }
      float mx = row_max(row, V);
      int tgt = targets[r];
      // The loss from the shifted logit itself: the log of its exponential underflows to -inf below about -87.
      double shifted = (double)row[tgt] - mx;
      double sum = exp_shift_sum(row, V, mx);
      loss[t] += -(double)w * (shifted - std::log(sum));
      scale_row(row, V, (float)(w * scale / sum));
      row[tgt] -= w * scale;
    }
  });
  double total = 0.0;
  for (double l : loss) total += l;
  return total;
}

void adamw(float* p, const float* g, float* m, float* v, long n, float lr, float b1, float b2, float eps, float wd,
           float bc1, float bc2) {
  for_rows(n, 8192, [&](long b, long e, int) { adamw_range(p, g, m, v, b, e, lr, b1, b2, eps, wd, bc1, bc2); });
}

CM_CLONES static void add_range(float* a, const float* b, long s, long e) {
  for (long i = s; i < e; i++) a[i] += b[i];
}

void add_inplace(float* a, const float* b, long n) {
  for_rows(n, 16384, [&](long s, long e, int) { add_range(a, b, s, e); });
}

CM_CLONES static void scale_range(float* a, float f, long s, long e) {
  for (long i = s; i < e; i++) a[i] *= f;
}

void scale_inplace(float* a, float f, long n) {
  for_rows(n, 16384, [&](long s, long e, int) { scale_range(a, f, s, e); });
}

double sum_squares(const float* a, long n) {
  int tasks = chunk_count(n, 16384, MAX_TASKS);
  std::vector<double> part(tasks, 0.0);
  parallel_for(tasks, [&](int t) {
    long b = chunk_begin(n, tasks, t), e = chunk_begin(n, tasks, t + 1);
    double s = 0.0;
    for (long i = b; i < e; i++) s += (double)a[i] * a[i];
    part[t] = s;
  });
  double s = 0.0;
  for (double x : part) s += x;
  return s;
}
}  // namespace cm
