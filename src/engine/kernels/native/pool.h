// A small fork-join thread pool. Work is split into a fixed number of tasks that does not depend on the
// thread count, and every reduction sums task partials in task order, so results are the same on 1 or N threads.
#pragma once
#include <functional>

namespace cm {
void pool_set_threads(int n);
int pool_threads();
// Runs fn(task) for task in [0, n_tasks), spread over the pool; returns when all are done.
void parallel_for(int n_tasks, const std::function<void(int)>& fn);
// Splits [0, n) into at most max_chunks contiguous chunks of at least min_chunk items each.
int chunk_count(long n, long min_chunk, int max_chunks);
inline long chunk_begin(long n, int chunks, int c) { return n * c / chunks; }
}  // namespace cm
