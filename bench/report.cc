#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pdnsd::bench {

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nan("");
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string Fixed(double value, int decimals) {
  if (std::isnan(value)) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string Summary(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return "p50 " + Fixed(Percentile(samples, 50)) + " ms, p95 " + Fixed(Percentile(samples, 95)) +
         " ms, max " + Fixed(samples.empty() ? std::nan("") : samples.back()) + " ms";
}

std::string DetailTable(const std::vector<Row>& rows) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-46s %-38s %5s %5s %9s %9s %9s %9s\n", "method", "measured",
                "iter", "fail", "min ms", "p50 ms", "p95 ms", "max ms");
  out += line;
  out += std::string(46 + 1 + 38 + 1 + 5 + 1 + 5 + 4 * 10, '-') + "\n";
  for (const Row& row : rows) {
    std::vector<double> sorted = row.ms;
    std::sort(sorted.begin(), sorted.end());
    const double min = sorted.empty() ? std::nan("") : sorted.front();
    std::snprintf(line, sizeof line, "%-46s %-38s %5zu %5d %9s %9s %9s %9s\n", row.method.c_str(),
                  row.what.c_str(), row.ms.size() + static_cast<size_t>(row.failed), row.failed,
                  Fixed(min).c_str(), Fixed(Percentile(sorted, 50)).c_str(),
                  Fixed(Percentile(sorted, 95)).c_str(),
                  Fixed(sorted.empty() ? std::nan("") : sorted.back()).c_str());
    out += line;
  }
  for (const Row& row : rows) {
    if (!row.note.empty()) out += "  " + row.method + ", " + row.what + ": " + row.note + "\n";
  }
  return out;
}

const char* ColumnName(Column column) {
  switch (column) {
    case kDistribute:
      return "pdns-distribute";
    case kNative:
      return "native best-tuned (cycle 1 s)";
    case kSpin:
      return "native spinning (cycle 0)";
    case kDefaults:
      return "native stock defaults";
    case kColumns:
      break;
  }
  return "?";
}

Figure& Figures::Get(const std::string& name, bool lower_better, int decimals) {
  for (Figure& figure : figures_) {
    if (figure.name == name) return figure;
  }
  figures_.push_back({name, lower_better, decimals, true, {}, {}});
  return figures_.back();
}

void Figures::Set(const std::string& name, Column column, double value, bool lower_better,
                  int decimals) {
  if (std::isnan(value)) return;
  Get(name, lower_better, decimals).value[column] = value;
}

void Figures::SetNoRatio(const std::string& name, Column column, double value, int decimals) {
  Figure& figure = Get(name, true, decimals);
  figure.ratio = false;
  figure.value[column] = value;
}

void Figures::SetText(const std::string& name, Column column, const std::string& text) {
  Get(name).text[column] = text;
}

void Figures::SetPercentiles(const std::string& prefix, Column column,
                             std::vector<double> samples) {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  Set(prefix + " p50 (ms)", column, Percentile(samples, 50));
  Set(prefix + " p95 (ms)", column, Percentile(samples, 95));
  Set(prefix + " max (ms)", column, samples.back());
}

std::string Figures::Markdown() const {
  std::string out = std::string("| figure | ") + ColumnName(kDistribute) + " | " +
                    ColumnName(kNative) + " | ratio (>1: pdns-distribute better) | " +
                    ColumnName(kSpin) + " | " + ColumnName(kDefaults) +
                    " |\n|---|---:|---:|---:|---:|---:|\n";
  for (const Figure& f : figures_) {
    auto cell = [&](Column c) {
      if (!f.text[c].empty()) return f.text[c];
      return f.value[c] ? Fixed(*f.value[c], f.decimals) : std::string("");
    };
    std::string ratio;
    if (f.ratio && f.value[kDistribute] && f.value[kNative] && *f.value[kDistribute] > 0 &&
        *f.value[kNative] > 0) {
      const double r = f.lower_better ? *f.value[kNative] / *f.value[kDistribute]
                                      : *f.value[kDistribute] / *f.value[kNative];
      ratio = Fixed(r, r < 10 ? 2 : 1) + "x";
      if (r < 0.95) ratio += " **(pdns-distribute worse)**";
    }
    out += "| " + f.name + " | " + cell(kDistribute) + " | " + cell(kNative) + " | " + ratio +
           " | " + cell(kSpin) + " | " + cell(kDefaults) + " |\n";
  }
  return out;
}

void ResourceTables::Record(const std::string& test, Column column, double wall_seconds,
                            const std::vector<ProcessUsage>& usage) {
  auto it =
      std::find_if(tests_.begin(), tests_.end(), [&](const Test& t) { return t.name == test; });
  if (it == tests_.end()) {
    tests_.push_back({test, {}, {}});
    it = tests_.end() - 1;
  }
  it->wall_seconds[column] = wall_seconds;
  it->usage[column] = usage;
}

std::optional<double> ResourceTables::SystemCpu(const std::string& test, Column column) const {
  for (const Test& t : tests_) {
    if (t.name != test || !t.wall_seconds[column]) continue;
    double sum = 0;
    for (const ProcessUsage& u : t.usage[column]) {
      if (u.process != kBenchProcess) sum += u.cpu_seconds;
    }
    return sum;
  }
  return std::nullopt;
}

std::optional<double> ResourceTables::ProcessCpu(const std::string& test, Column column,
                                                 const std::string& process) const {
  for (const Test& t : tests_) {
    if (t.name != test || !t.wall_seconds[column]) continue;
    for (const ProcessUsage& u : t.usage[column]) {
      if (u.process == process) return u.cpu_seconds;
    }
  }
  return std::nullopt;
}

std::string FanOutTable::Markdown(const std::string& distribute_name) const {
  std::vector<int> sizes;
  for (const FanOutPoint& p : points_) {
    if (std::find(sizes.begin(), sizes.end(), p.secondaries) == sizes.end()) {
      sizes.push_back(p.secondaries);
    }
  }
  std::sort(sizes.begin(), sizes.end());
  const std::array<Column, 2> columns = {kDistribute, kNative};
  auto find = [&](int n, Column c) -> const FanOutPoint* {
    for (const FanOutPoint& p : points_) {
      if (p.secondaries == n && p.column == c) return &p;
    }
    return nullptr;
  };
  auto per_change = [](const std::optional<double>& total, int changes) -> std::optional<double> {
    if (!total || changes <= 0) return std::nullopt;
    return *total / changes;
  };
  std::string out =
      "| secondaries | system | primary AXFRs per change | primary CPU ms per change | "
      "(x fewest secondaries) | above idle, ms per change | (x fewest secondaries) | change -> "
      "all secondaries p50 (ms) | p95 (ms) | samples (failed) |\n"
      "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (int n : sizes) {
    for (Column c : columns) {
      const FanOutPoint* p = find(n, c);
      if (!p) continue;
      const std::optional<double> axfrs = per_change(p->axfrs, p->changes);
      std::optional<double> cpu = per_change(p->primary_cpu_seconds, p->changes);
      if (cpu) *cpu *= 1000;
      const auto above_idle = [&](const FanOutPoint& point) -> std::optional<double> {
        if (!point.primary_cpu_seconds || !point.primary_idle_cpu_rate) return std::nullopt;
        return per_change(std::max(0.0, *point.primary_cpu_seconds -
                                            *point.primary_idle_cpu_rate * point.window_seconds),
                          point.changes);
      };
      std::optional<double> net = above_idle(*p);
      if (net) *net *= 1000;
      std::optional<double> base, net_base;
      for (int m : sizes) {
        const FanOutPoint* first = find(m, c);
        if (!first) continue;
        base = per_change(first->primary_cpu_seconds, first->changes);
        if (base) *base *= 1000;
        net_base = above_idle(*first);
        if (net_base) *net_base *= 1000;
        break;
      }
      std::vector<double> sorted = p->row.ms;
      std::sort(sorted.begin(), sorted.end());
      const std::string name = c == kDistribute ? distribute_name : ColumnName(c);
      out +=
          "| " + std::to_string(n) + " | " + name + " | " +
          (axfrs ? Fixed(*axfrs, 2) : std::string("?")) + " | " +
          (cpu ? Fixed(*cpu, 1) : std::string("?")) + " | " +
          (cpu && base && *base > 0 ? Fixed(*cpu / *base, 2) + "x" : std::string("")) + " | " +
          (net ? Fixed(*net, 1) : std::string("?")) + " | " +
          (net && net_base && *net_base > 0 ? Fixed(*net / *net_base, 2) + "x" : std::string("")) +
          " | " + Fixed(Percentile(sorted, 50)) + " | " + Fixed(Percentile(sorted, 95)) + " | " +
          std::to_string(p->row.ms.size() + static_cast<size_t>(p->row.failed)) + " (" +
          std::to_string(p->row.failed) + ") |\n";
    }
  }
  return out;
}

std::string ResourceTables::Markdown() const {
  std::string out;
  for (const Test& t : tests_) {
    out += "### " + t.name + "\n\n| process | ";
    std::vector<Column> columns;
    for (int c = 0; c < kColumns; ++c) {
      if (t.wall_seconds[c]) columns.push_back(static_cast<Column>(c));
    }
    std::string align = "|---|";
    for (Column c : columns) {
      out += std::string(ColumnName(c)) + " | ";
      align += "---:|";
    }
    out += "\n" + align + "\n";
    // Process rows in first-seen order over the columns.
    std::vector<std::string> processes;
    for (Column c : columns) {
      for (const ProcessUsage& u : t.usage[c]) {
        if (std::find(processes.begin(), processes.end(), u.process) == processes.end()) {
          processes.push_back(u.process);
        }
      }
    }
    for (const std::string& process : processes) {
      out += "| " + process + " | ";
      for (Column c : columns) {
        for (const ProcessUsage& u : t.usage[c]) {
          if (u.process == process) {
            out += Fixed(u.cpu_seconds, 2) + " s, " + Fixed(u.peak_rss_mb, 1) + " MB";
          }
        }
        out += " | ";
      }
      out += "\n";
    }
    out += "| **all the system's processes** (CPU; peak RSS summed) | ";
    for (Column c : columns) {
      double cpu = 0, rss = 0;
      for (const ProcessUsage& u : t.usage[c]) {
        if (u.process == kBenchProcess) continue;
        cpu += u.cpu_seconds;
        rss += u.peak_rss_mb;
      }
      out += Fixed(cpu, 2) + " s, " + Fixed(rss, 1) + " MB | ";
    }
    out += "\n| wall time of the test; cores busy (system CPU s / wall s) | ";
    for (Column c : columns) {
      const double wall = *t.wall_seconds[c];
      out +=
          Fixed(wall, 1) + " s; " + Fixed(wall > 0 ? *SystemCpu(t.name, c) / wall : 0, 2) + " | ";
    }
    out += "\n\n";
  }
  return out;
}

}  // namespace pdnsd::bench
