// CPU seconds and peak RSS of processes over one test, read from /proc: utime + stime from
// /proc/<pid>/stat, peak RSS from VmHWM in /proc/<pid>/status, reset at the start of the test by
// writing "5" to /proc/<pid>/clear_refs (our own children, same user), so that each test has
// its own peak.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "report.h"

namespace pdnsd::bench {

// A process to watch: its role in the tables and its pid (0: this process). `with_children`:
// its CPU includes its children's (testing::ProcessTreeCpuSeconds) and its peak RSS is the sum
// of theirs (shared memory counted once per process), e.g. PostgreSQL's backends.
struct WatchedProcess {
  std::string process;
  pid_t pid = 0;
  bool with_children = false;
};

class ResourceMeter {
 public:
  // Starts a test: remembers each process's CPU seconds and resets its peak RSS.
  void Begin(const std::vector<WatchedProcess>& processes);
  // Ends it: CPU seconds since Begin (since its start for a process not seen at Begin) and the
  // peak RSS since Begin, of each of `processes` (the ones running now); and the wall time.
  std::vector<ProcessUsage> End(const std::vector<WatchedProcess>& processes,
                                double* wall_seconds) const;
  // False when a peak could not be reset at Begin: that peak then counts from the start.
  bool peak_was_reset() const { return peak_reset_; }

 private:
  std::chrono::steady_clock::time_point start_;
  std::map<pid_t, double> cpu_at_begin_;
  bool peak_reset_ = true;
};

}  // namespace pdnsd::bench
