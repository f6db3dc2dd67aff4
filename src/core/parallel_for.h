// ParallelFor: fork-join over N independent tasks. WorkerPool (core/worker_pool.h) is for a
// long-lived queue of tasks; this is for "do these N things, at most `threads` at once, and
// return when all are done".
#pragma once

#include <cstddef>
#include <functional>

namespace pdnsd {

// Runs fn(i) once for every i in [0, count), on the calling thread and up to `threads` - 1
// owned threads (at least one thread in all; never more threads than tasks), and returns after
// every call has returned and the threads are joined. `fn` must be safe to call concurrently
// and must not throw.
void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& fn);

}  // namespace pdnsd
