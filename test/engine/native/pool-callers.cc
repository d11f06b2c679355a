// The thread pool's contract with its callers (run by test/engine/pool.test.ts):
//  1. an exception thrown by a task, on any thread, comes back to the caller of parallel_for once the round has
//     ended, and the pool runs the next round as usual;
//  2. several threads calling parallel_for at once each get every one of their tasks run exactly once (one waits for
//     the other's round), while a third resizes the pool;
//  3. a parallel_for from inside a task runs its tasks there.
// Prints "ok" or the first failure, and exits non-zero on failure.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include "../../../src/engine/kernels/native/pool.h"

static int fail(const std::string& what) {
  std::printf("%s\n", what.c_str());
  return 1;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 4;
  cm::pool_set_threads(threads);

  // 1. exceptions: each kind, from the task of every index in turn (so from workers and from the caller)
  for (int thrower = 0; thrower < 16; thrower++) {
    std::atomic<int> ran{0};
    bool caught = false;
    try {
      cm::parallel_for(16, [&](int t) {
        ran.fetch_add(1);
        if (t == thrower) {
          if (t % 2) throw std::bad_alloc();
          throw std::runtime_error("task " + std::to_string(t));
        }
      });
    } catch (const std::bad_alloc&) {
      caught = thrower % 2 == 1;
    } catch (const std::runtime_error& e) {
      caught = thrower % 2 == 0 && std::string(e.what()) == "task " + std::to_string(thrower);
    }
    if (!caught) return fail("exception from task " + std::to_string(thrower) + " not rethrown to the caller");
    if (ran.load() != 16) return fail("a throwing round ran " + std::to_string(ran.load()) + " of 16 tasks");
    std::atomic<int> after{0};
    cm::parallel_for(40, [&](int) { after.fetch_add(1); });
    if (after.load() != 40) return fail("the round after an exception ran " + std::to_string(after.load()) + " of 40");
  }

  // 2. callers on four threads at once, and one more resizing the pool between rounds
  std::atomic<int> errors{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; c++)
    callers.emplace_back([&, c] {
      std::vector<std::atomic<int>> runs(64);
      for (int r = 0; r < 3000; r++) {
        int n = 2 + (r * 7 + c) % 60;
        for (auto& x : runs) x.store(0);
        cm::parallel_for(n, [&](int t) { runs[t].fetch_add(1); });
        for (int t = 0; t < 64; t++)
          if (runs[t].load() != (t < n ? 1 : 0)) {
            std::printf("caller %d round %d: task %d ran %d times\n", c, r, t, runs[t].load());
            errors.fetch_add(1);
            return;
          }
      }
    });
  callers.emplace_back([&] {
    for (int i = 0; i < 50; i++) cm::pool_set_threads(1 + i % threads);
    cm::pool_set_threads(threads);
  });
  for (auto& t : callers) t.join();
  if (errors.load()) return 1;

  // 3. nested
  std::atomic<int> inner{0};
  cm::parallel_for(8, [&](int) { cm::parallel_for(8, [&](int) { inner.fetch_add(1); }); });
  if (inner.load() != 64) return fail("nested rounds ran " + std::to_string(inner.load()) + " of 64 tasks");
  std::printf("ok\n");
  return 0;
}
