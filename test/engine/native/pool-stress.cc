// Stress test of the thread pool (run by test/engine/pool.test.ts): thousands of fork-join rounds whose task counts
// alternate between small and large, with the workers made to stall at the pool's claim point (CM_POOL_STRESS), so
// that a worker leaving one round overlaps the next. Every task of every round must run exactly once, inside its
// own round. Prints "ok ROUNDS" or the first failure, and exits non-zero on failure.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "../../../src/engine/kernels/native/pool.h"

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 4;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 20000;
  cm::pool_set_threads(threads);
  std::vector<std::atomic<int>> runs(64);
  std::atomic<int> current{-1};
  std::atomic<long> stray{0};
  for (int r = 0; r < rounds; r++) {
    int n = (r % 2 == 0) ? 2 : 2 + r % 60;
    for (auto& x : runs) x.store(0);
    current.store(r);
    cm::parallel_for(n, [&, r](int t) {
      if (current.load() != r) stray.fetch_add(1);
      runs[t].fetch_add(1);
    });
    current.store(-1);
    for (int t = 0; t < 64; t++) {
      int want = t < n ? 1 : 0;
      if (runs[t].load() != want) {
        std::printf("round %d (%d tasks): task %d ran %d times\n", r, n, t, runs[t].load());
        return 1;
      }
    }
    if (stray.load()) {
      std::printf("round %d: a task ran after its round had ended\n", r);
      return 1;
    }
  }
  std::printf("ok %d\n", rounds);
  return 0;
}
