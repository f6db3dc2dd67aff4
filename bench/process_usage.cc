#include "process_usage.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "support/processes.h"

namespace pdnsd::bench {
namespace {

std::string ProcDir(pid_t pid) { return pid > 0 ? "/proc/" + std::to_string(pid) : "/proc/self"; }

double PeakRssMb(pid_t pid) {
  return static_cast<double>(std::max<int64_t>(0, testing::ProcessPeakRssBytes(pid))) /
         (1024.0 * 1024.0);
}

bool ResetPeakRss(pid_t pid) {
  std::ofstream clear_refs(ProcDir(pid) + "/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return clear_refs.good();
}

}  // namespace

void ResourceMeter::Begin(const std::vector<WatchedProcess>& processes) {
  start_ = std::chrono::steady_clock::now();
  cpu_at_begin_.clear();
  peak_reset_ = true;
  for (const WatchedProcess& p : processes) {
    cpu_at_begin_[p.pid] = testing::ProcessCpuSeconds(p.pid);
    peak_reset_ = ResetPeakRss(p.pid) && peak_reset_;
  }
}

std::vector<ProcessUsage> ResourceMeter::End(const std::vector<WatchedProcess>& processes,
                                             double* wall_seconds) const {
  *wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::vector<ProcessUsage> usage;
  for (const WatchedProcess& p : processes) {
    const double cpu = testing::ProcessCpuSeconds(p.pid);
    if (cpu < 0) continue;
    auto begin = cpu_at_begin_.find(p.pid);
    const double before = begin == cpu_at_begin_.end() ? 0 : std::max(0.0, begin->second);
    usage.push_back({p.process, cpu - before, PeakRssMb(p.pid)});
  }
  return usage;
}

}  // namespace pdnsd::bench
