#include "pool.h"
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
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
// A pause in spin loops: lets the sibling hyper-thread run and saves power while a thread waits on another.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Set on a pool worker while it runs tasks, and on a caller while its round runs: a parallel_for from inside a task
// runs its tasks on that thread (the pool is busy with the round that called it).
thread_local bool in_round = false;

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
  // One round at a time: the pool is one per process, and serve's model thread, the main thread and any other
  // thread may call the kernels. A second caller waits here for the first's round to end (resizing too).
  std::mutex caller;
  // The first exception a task of this round threw (the rest of the round still runs, so that every task counts as
  // done); the caller rethrows it when the round ends.
  std::mutex error_mu;
  std::exception_ptr error;

  void run_tasks(long round) {
    for (;;) {
      long v = next.load();
      CM_POOL_STALL();
      if ((v >> 32) != round) return;  // a later round: this one's tasks are all claimed
      int t = (int)(v & 0xffffffffL);
      if (t >= n_tasks.load()) return;
      if (!next.compare_exchange_weak(v, v + 1)) continue;
      // claimed task t of this round, which cannot end before it is done: fn is this round's
      try {
        (*fn)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lk(error_mu);
        if (!error) error = std::current_exception();
      }
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
      for (int spin = 0; g == seen && spin < 20000; spin++) {
        cpu_relax();
        g = generation.load();
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stop || generation.load() != seen; });
        if (stop) return;
        g = generation.load();
      }
      seen = g;
      in_round = true;
      run_tasks(g);
      in_round = false;
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

void pool_set_threads(int n) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.caller);
  p.resize(n);
}
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
  if (in_round || n_tasks == 1) {
    for (int t = 0; t < n_tasks; t++) fn(t);
    return;
  }
  std::unique_lock<std::mutex> turn(p.caller);
  if (p.threads == 1) {
    turn.unlock();
    for (int t = 0; t < n_tasks; t++) fn(t);
    return;
  }
  // Only this thread starts rounds (it holds the caller lock), and the previous round has ended (every task done), so
  // no worker is inside fn. The claim counter is parked first (round 0 is never run): a worker that read the last
  // round's counter before this and its task count after cannot then claim, since its compare-and-swap meets the
  // parked value. fn and n_tasks are set next, and the counter names the new round last, which is what lets workers
  // claim.
  long round = (p.generation.load() + 1) & 0x7fffffffL;
  if (round == 0) round = 1;
  p.error = nullptr;
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
  in_round = true;
  p.run_tasks(round);
  in_round = false;
  // The tasks left are running on workers: wait with a pause, then yielding the core, which the workers may need.
  for (long spin = 0; p.done.load() < n_tasks; spin++) {
    if (spin < 20000)
      cpu_relax();
    else
      std::this_thread::yield();
  }
  // All tasks finished; workers that arrive late find every task claimed, or a later round, and go back to waiting.
  std::exception_ptr error = p.error;
  p.error = nullptr;
  turn.unlock();
  if (error) std::rethrow_exception(error);
}
}  // namespace cm
