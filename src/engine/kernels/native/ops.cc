#include "ops.h"
#include <cmath>
#include <cstring>
#include <vector>
#include "pool.h"

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

void rmsnorm_fwd(float* out, float* rstd, const float* x, const float* w, long rows, int dim, float eps) {
  for_rows(rows, 8, [&](long b, long e, int) {
    for (long r = b; r < e; r++) {
      const float* xr = x + r * dim;
      float* o = out + r * dim;
      float ss = 0.f;
      for (int i = 0; i < dim; i++) ss += xr[i] * xr[i];
      float s = 1.f / std::sqrt(ss / dim + eps);
      if (rstd) rstd[r] = s;
      for (int i = 0; i < dim; i++) o[i] = xr[i] * s * w[i];
    }
  });
}

void rmsnorm_bwd(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd, long rows,
                 int dim, bool accumulate_dx) {
  int tasks = chunk_count(rows, 8, MAX_TASKS);
  std::vector<float> partial(dw ? (size_t)tasks * dim : 0, 0.f);
  parallel_for(tasks, [&](int t) {
    long b = chunk_begin(rows, tasks, t), e = chunk_begin(rows, tasks, t + 1);
    float* pw = dw ? partial.data() + (size_t)t * dim : nullptr;
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
  });
  if (dw)
    for (int t = 0; t < tasks; t++) {
      const float* pw = partial.data() + (size_t)t * dim;
      for (int i = 0; i < dim; i++) dw[i] += pw[i];
    }
}

void rope_apply(float* x, long rows, int T, int heads, int hd, int pos0, const float* cos, const float* sin,
                bool inverse) {
  int half = hd / 2;
  float sign = inverse ? -1.f : 1.f;
  for_rows(rows, 16, [&](long b, long e, int) {
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
  });
}

void swiglu_fwd(float* h, const float* gate, const float* up, long n) {
  for_rows(n, 4096, [&](long b, long e, int) {
    for (long i = b; i < e; i++) {
      float g = gate[i];
      h[i] = g / (1.f + std::exp(-g)) * up[i];
    }
  });
}

void swiglu_bwd(float* dgate, float* dup, const float* dh, const float* gate, const float* up, long n) {
  for_rows(n, 4096, [&](long b, long e, int) {
    for (long i = b; i < e; i++) {
      float g = gate[i], s = 1.f / (1.f + std::exp(-g));
      float d = dh[i];
      dup[i] = d * g * s;
      dgate[i] = d * up[i] * s * (1.f + g * (1.f - s));
    }
  });
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
      float mx = row[0];
      for (int i = 1; i < V; i++) mx = row[i] > mx ? row[i] : mx;
      double sum = 0.0;
      for (int i = 0; i < V; i++) {
        float ex = std::exp(row[i] - mx);
        row[i] = ex;
        sum += ex;
      }
      int tgt = targets[r];
      float pt = row[tgt] / (float)sum;
      loss[t] += -(double)w * (std::log((double)row[tgt]) - std::log(sum));
      (void)pt;
      float k = (float)(w * scale / sum);
      for (int i = 0; i < V; i++) row[i] *= k;
      row[tgt] -= w * scale;
    }
  });
  double total = 0.0;
  for (double l : loss) total += l;
  return total;
}

void adamw(float* p, const float* g, float* m, float* v, long n, float lr, float b1, float b2, float eps, float wd,
           float bc1, float bc2) {
  for_rows(n, 8192, [&](long b, long e, int) {
    for (long i = b; i < e; i++) {
      float gi = g[i];
      p[i] -= lr * wd * p[i];
      m[i] = b1 * m[i] + (1.f - b1) * gi;
      v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
      p[i] -= lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps);
    }
  });
}

void add_inplace(float* a, const float* b, long n) {
  for_rows(n, 16384, [&](long s, long e, int) {
    for (long i = s; i < e; i++) a[i] += b[i];
  });
}

void scale_inplace(float* a, float f, long n) {
  for_rows(n, 16384, [&](long s, long e, int) {
    for (long i = s; i < e; i++) a[i] *= f;
  });
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
