#include "pool.h"
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace cm {
namespace {
struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<long> generation{0};
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  int n_tasks = 0;
  const std::function<void(int)>* fn = nullptr;
  bool stop = false;
  int threads = 1;

  void run_tasks() {
    for (;;) {
      int t = next.fetch_add(1);
      if (t >= n_tasks) break;
      (*fn)(t);
      done.fetch_add(1);
    }
  }
  void worker_loop() {
    long seen = 0;
    for (;;) {
      // Spin briefly: a futex wake costs tens of microseconds, more than many of our kernels take.
      long g = generation.load();
      for (int spin = 0; g == seen && spin < 20000; spin++) g = generation.load();
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stop || generation.load() != seen; });
        if (stop) return;
        g = generation.load();
      }
      seen = g;
      run_tasks();
    }
  }
  void resize(int n) {
    shutdown();
    stop = false;
    threads = n < 1 ? 1 : n;
    for (int i = 1; i < threads; i++) workers.emplace_back([this] { worker_loop(); });
  }
  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
  }
  ~Pool() { shutdown(); }
};

Pool& pool() {
  static Pool* p = [] {
    auto* q = new Pool();
    int n = (int)std::thread::hardware_concurrency();
    if (const char* e = std::getenv("CROSSMON_THREADS")) n = std::atoi(e);
    q->resize(n < 1 ? 1 : n);
    return q;
  }();
  return *p;
}
}  // namespace

void pool_set_threads(int n) { pool().resize(n); }
int pool_threads() { return pool().threads; }

int chunk_count(long n, long min_chunk, int max_chunks) {
  if (min_chunk < 1) min_chunk = 1;
  long c = n / min_chunk;
  if (c > max_chunks) c = max_chunks;
  return c < 1 ? 1 : (int)c;
}

void parallel_for(int n_tasks, const std::function<void(int)>& fn) {
  Pool& p = pool();
  if (n_tasks <= 0) return;
  if (p.threads == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; t++) fn(t);
    return;
  }
  // Park the task counter out of range first, so a worker still leaving the previous round cannot claim a task
  // of this one before fn and n_tasks are set; the store of 0 below publishes them.
  p.next.store(1 << 30);
  p.fn = &fn;
  p.n_tasks = n_tasks;
  p.done.store(0);
  p.next.store(0);
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.generation.fetch_add(1);
  }
  p.cv.notify_all();
  p.run_tasks();
  while (p.done.load() < n_tasks) {
  }
  // All tasks finished; workers that arrive late find next >= n_tasks and go back to waiting.
}
}  // namespace cm
