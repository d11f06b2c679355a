#pragma once
// exp(x) for float without a library call, so loops that use it vectorise. Cody–Waite range reduction and a
// degree-6 polynomial: relative error below 2e-7 on [-87, 88]; saturates to 0 below -87.3 and to +inf above 88.7.
#include <cstdint>
#include <cstring>

namespace cm {
static inline float fast_exp(float x) {
  x = x < -87.3f ? -87.3f : x;
  bool over = x > 88.7f;
  x = over ? 88.7f : x;
  float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t e = ((int32_t)n + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof(scale));
  float y = p * scale;
  return over ? __builtin_inff() : (x <= -87.3f ? 0.f : y);
}
}  // namespace cm
