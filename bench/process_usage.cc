#include "process_usage.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "support/processes.h"

namespace pdnsd::bench {
namespace {

std::string ProcDir(pid_t pid) { return pid > 0 ? "/proc/" + std::to_string(pid) : "/proc/self"; }

// `p`'s pid, and with_children its children's.
std::vector<pid_t> Pids(const WatchedProcess& p) {
  std::vector<pid_t> pids = {p.pid};
  if (p.with_children) {
    for (pid_t child : testing::ChildPids(p.pid)) pids.push_back(child);
  }
  return pids;
}

double CpuSeconds(const WatchedProcess& p) {
  return p.with_children ? testing::ProcessTreeCpuSeconds(p.pid)
                         : testing::ProcessCpuSeconds(p.pid);
}

double PeakRssMb(const WatchedProcess& p) {
  int64_t bytes = 0;
  for (pid_t pid : Pids(p)) bytes += std::max<int64_t>(0, testing::ProcessPeakRssBytes(pid));
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

bool ResetPeakRss(const WatchedProcess& p) {
  bool reset = true;
  for (pid_t pid : Pids(p)) {
    std::ofstream clear_refs(ProcDir(pid) + "/clear_refs");
    clear_refs << "5";
    clear_refs.flush();
    reset = clear_refs.good() && reset;
  }
  return reset;
}

}  // namespace

void ResourceMeter::Begin(const std::vector<WatchedProcess>& processes) {
  start_ = std::chrono::steady_clock::now();
  cpu_at_begin_.clear();
  peak_reset_ = true;
  for (const WatchedProcess& p : processes) {
    cpu_at_begin_[p.pid] = CpuSeconds(p);
    peak_reset_ = ResetPeakRss(p) && peak_reset_;
  }
}

std::vector<ProcessUsage> ResourceMeter::End(const std::vector<WatchedProcess>& processes,
                                             double* wall_seconds) const {
  *wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::vector<ProcessUsage> usage;
  for (const WatchedProcess& p : processes) {
    const double cpu = CpuSeconds(p);
    if (cpu < 0) continue;
    auto begin = cpu_at_begin_.find(p.pid);
    const double before = begin == cpu_at_begin_.end() ? 0 : std::max(0.0, begin->second);
    usage.push_back({p.process, cpu - before, PeakRssMb(p)});
  }
  return usage;
}

}  // namespace pdnsd::bench
