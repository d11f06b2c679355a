#include "pool.h"
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

// Test builds (test/engine/native/pool-stress.cc) stall a worker at the claim point to widen the windows in which one
// round overlaps the next; release builds define it to nothing.
#ifdef CM_POOL_STRESS
#include <chrono>
#define CM_POOL_STALL() \
  do { if (std::rand() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(std::rand() % 50)); } while (0)
#else
#define CM_POOL_STALL() do {} while (0)
#endif

namespace cm {
namespace {
struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv;
  // The round being run (workers wake when it changes), and the round's claim counter: (round << 32) | next task.
  // A task is claimed by a compare-and-swap that also checks the round, so a worker still leaving one round can never
  // claim a task of the next before that round's fn and n_tasks are set, run one twice, or count one as done twice
  // (test/engine/native/pool-stress.cc found all three in a counter that carried no round).
  std::atomic<long> generation{0};
  std::atomic<long> next{0};
  std::atomic<int> done{0};
  std::atomic<int> n_tasks{0};
  const std::function<void(int)>* fn = nullptr;
  bool stop = false;
  int threads = 1;

  void run_tasks(long round) {
    for (;;) {
      long v = next.load();
      CM_POOL_STALL();
      if ((v >> 32) != round) return;  // a later round: this one's tasks are all claimed
      int t = (int)(v & 0xffffffffL);
      if (t >= n_tasks.load()) return;
      if (!next.compare_exchange_weak(v, v + 1)) continue;
      // claimed task t of this round, which cannot end before it is done: fn is this round's
      (*fn)(t);
      done.fetch_add(1);
    }
  }
  void worker_loop() {
    long seen = 0;
    for (;;) {
      // Spin briefly: a futex wake costs tens of microseconds, more than many of our kernels take. Not for long: a
      // spin twenty times longer made a prefill 2-3 % faster, but keeps a core busy in every process between its
      // kernels, which costs where servers, clients and workers share a few cores.
      long g = generation.load();
      for (int spin = 0; g == seen && spin < 20000; spin++) g = generation.load();
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stop || generation.load() != seen; });
        if (stop) return;
        g = generation.load();
      }
      seen = g;
      run_tasks(g);
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
  // Only this thread starts rounds, and the previous round has ended (every task done), so no worker is inside fn.
  // The claim counter is parked first (round 0 is never run): a worker that read the last round's counter before
  // this and its task count after cannot then claim, since its compare-and-swap meets the parked value. fn and
  // n_tasks are set next, and the counter names the new round last, which is what lets workers claim.
  long round = (p.generation.load() + 1) & 0x7fffffffL;
  if (round == 0) round = 1;
  p.next.store(0);
  p.fn = &fn;
  p.n_tasks.store(n_tasks);
  p.done.store(0);
  p.next.store(round << 32);
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.generation.store(round);
  }
  p.cv.notify_all();
  p.run_tasks(round);
  while (p.done.load() < n_tasks) {
  }
  // All tasks finished; workers that arrive late find every task claimed, or a later round, and go back to waiting.
}
}  // namespace cm
