#include "core/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "core/logging.h"

namespace pdnsd {

void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto run = [&] {
    // A task that throws must not end the process from a pool thread (core/logging.h).
    for (size_t i = next++; i < count; i = next++) {
      RunCatching(nullptr, "a parallel task", [&] { fn(i); });
    }
  };
  std::vector<std::thread> pool;
  const size_t extra = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), count);
  for (size_t t = 1; t < extra; ++t) pool.emplace_back(run);
  run();
  for (auto& thread : pool) thread.join();
}

}  // namespace pdnsd
