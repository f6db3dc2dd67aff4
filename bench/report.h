// What propagation_bench reports: the detail rows (one per measured series), the summary table
// (one row per figure, one column per system/profile, with the ratio against native
// best-tuned) and the resource tables (CPU seconds and peak RSS of every process, per test).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pdnsd::bench {

// A measured series: latencies of the successful samples, failures counted apart.
struct Row {
  std::string method;
  std::string what;
  std::vector<double> ms;      // successful samples
  std::vector<double> api_ms;  // the API call alone (request sent -> answer), when measured
  int failed = 0;
  std::string note;  // printed below the detail table
};

// Nearest-rank percentile of sorted samples; NaN when there are none.
double Percentile(const std::vector<double>& sorted, double p);
// `value` with `decimals` decimals; "-" for NaN.
std::string Fixed(double value, int decimals = 1);
// "p50 X ms, p95 Y ms, max Z ms"
std::string Summary(std::vector<double> samples);
// The fixed-width detail table of `rows`, with their notes below.
std::string DetailTable(const std::vector<Row>& rows);

// The systems compared, in column order; the ratio column compares kDistribute with kNative.
enum Column { kDistribute = 0, kNative = 1, kSpin = 2, kDefaults = 3, kColumns = 4 };
const char* ColumnName(Column column);

struct Figure {
  std::string name;
  bool lower_better = true;
  int decimals = 1;
  bool ratio = true;  // false: the columns' runs did different work
  std::array<std::optional<double>, kColumns> value;
  std::array<std::string, kColumns> text;  // instead of a value ("never", "failed", ...)
};

// The summary table, in the order the figures are first set.
class Figures {
 public:
  void Set(const std::string& name, Column column, double value, bool lower_better = true,
           int decimals = 1);
  // A figure without a ratio (the columns' runs did different work).
  void SetNoRatio(const std::string& name, Column column, double value, int decimals = 1);
  void SetText(const std::string& name, Column column, const std::string& text);
  // p50, p95 and max of `samples` as three rows "<prefix> p50 (ms)", ...
  void SetPercentiles(const std::string& prefix, Column column, std::vector<double> samples);
  std::string Markdown() const;

 private:
  Figure& Get(const std::string& name, bool lower_better = true, int decimals = 1);
  std::vector<Figure> figures_;
};

// CPU seconds and peak RSS of one process over one test.
struct ProcessUsage {
  std::string process;  // its role: "PowerDNS primary", "pdns-api-proxy", ...
  double cpu_seconds = 0;
  double peak_rss_mb = 0;
};

// Per test, per column: what every process used, and the test's wall time.
class ResourceTables {
 public:
  void Record(const std::string& test, Column column, double wall_seconds,
              const std::vector<ProcessUsage>& usage);
  // CPU seconds of all processes of `column`'s system in `test` except the bench's own;
  // nullopt when the test did not run there.
  std::optional<double> SystemCpu(const std::string& test, Column column) const;
  // CPU seconds of the one process named `process` in `test` on `column`; nullopt when it was
  // not measured there.
  std::optional<double> ProcessCpu(const std::string& test, Column column,
                                   const std::string& process) const;
  // One Markdown table per test: a row per process, a column per system.
  std::string Markdown() const;

 private:
  struct Test {
    std::string name;
    std::array<std::optional<double>, kColumns> wall_seconds;
    std::array<std::vector<ProcessUsage>, kColumns> usage;
  };
  std::vector<Test> tests_;
};

// The fan-out test (--secondaries): what the primary pays per change for N secondaries.
struct FanOutPoint {
  int secondaries = 0;
  Column column = kDistribute;  // kDistribute or kNative
  int changes = 0;              // PATCHes sent in the measured window, warm-up included
  std::optional<double> axfrs;  // AXFRs the primary served in the window (its TCP queries)
  std::optional<double> primary_cpu_seconds;  // the primary PowerDNS's CPU over the window
  // The primary's CPU seconds per second in a quiet spell just before the window (sweeps,
  // health checks: what it costs with no change), and the window's length.
  std::optional<double> primary_idle_cpu_rate;
  double window_seconds = 0;
  Row row;  // change -> all secondaries
};

// Two rows per N (pdns-distribute, then native): AXFRs and primary CPU per change (and that CPU
// relative to the system's row with the fewest secondaries), the same CPU less the primary's
// idle rate over the window (what the changes themselves cost; the window is longer where
// propagation is slower), change -> all secondaries p50/p95.
class FanOutTable {
 public:
  void Add(FanOutPoint point) { points_.push_back(std::move(point)); }
  bool empty() const { return points_.empty(); }
  // `distribute_name` names the pdns-distribute rows (e.g. with its transport).
  std::string Markdown(const std::string& distribute_name) const;

 private:
  std::vector<FanOutPoint> points_;
};

// The name of the bench's own process in the resource tables (probes and API clients).
inline constexpr const char* kBenchProcess = "bench (DNS probes, API clients)";

// Everything one run reports.
struct Report {
  std::vector<Row> rows;
  Figures figures;
  ResourceTables resources;
  std::vector<std::string> notes;  // printed under the summary
  FanOutTable fan_out;
  std::vector<std::string> fan_out_notes;  // printed under the fan-out table
};

}  // namespace pdnsd::bench
