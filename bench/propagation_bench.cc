// propagation_bench: pdns-distribute side by side with PowerDNS's own NOTIFY/AXFR replication, in
// one run, on loopback, one system after the other (never both at once). Prints figures and
// asserts nothing (DESIGN 7: speed is measured here, never in a timed test). Issue 4.
//
//   (a) pdns-distribute: tests/support Cluster (nats-server, PowerDNS primary + 2 secondaries as
//       processes; api-proxy, zone-provider, secondary-syncers and, for the bootstrap, the
//       health-checker in-process).
//   (b) PowerDNS native replication in three profiles, each its own set of pdns_server processes
//       (1 primary + 2 secondaries), run one after the other:
//       - best-tuned (xfr/slave-cycle-interval=1, retrieval-threads=4, ...; STACK-NOTES): every
//         figure; the ratio column compares against it;
//       - spinning (xfr/slave-cycle-interval=0, otherwise best-tuned): changes only;
//       - stock defaults (only what replication needs to work): provisioning only.
//
// Figures: 1. change -> all secondaries (and the API call alone, the floor); 2. provisioning of
// N zones with R records each (lag from each create call returning until both secondaries serve
// it, and the time until all are served); 3. bootstrap of a third, empty secondary; 4. deletion;
// 6. peak RSS and CPU seconds per process. Secondaries are polled over DNS with QuerySoaSerial
// (~1 ms loop). The summary table is printed and written to bench/results/<date>-<host>.md.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dns/soa_query.h"
#include "model/messages.h"
#include "model/zone_name.h"
#include "support/cluster.h"
#include "support/processes.h"

#ifndef PDNSD_BENCH_RESULTS_DIR
#define PDNSD_BENCH_RESULTS_DIR "bench/results"
#endif

namespace pdnsd::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Cluster;
using testing::ClusterOptions;
using testing::HttpResponse;
using testing::PdnsOptions;
using testing::PdnsServer;

constexpr int kSecondaries = 2;
constexpr milliseconds kPollInterval{1};
constexpr milliseconds kQueryTimeout{1000};
constexpr milliseconds kChangeTimeout{30000};
constexpr milliseconds kProvisionSettleTimeout{120000};
constexpr milliseconds kDefaultsSettleTimeout{300000};  // stock cycles are 60 s
constexpr milliseconds kBootstrapTimeout{300000};
constexpr milliseconds kDeleteTimeout{30000};
constexpr const char* kZonesPath = "/api/v1/servers/localhost/zones";

// Where the benchmark's own messages go (fd 2 may be redirected to hide the services' logs).
FILE* g_err = stderr;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Progress(const char* format, const std::string& text) {
  std::printf(format, text.c_str());
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  int changes = 50;
  int zones = 1000;
  int records = 10;
  int native_changes = 15;
  int spin_changes = 10;
  int native_zones = 1000;
  int default_zones = 1000;
  int deletes = 5;
  int rate = 50;      // sustained load: changes/s
  int duration = 30;  // sustained load: seconds (0 skips)
  int load_zones = 10;
  bool bootstrap = true;
  bool quick = false;
  std::string log_path = "/dev/null";
  std::string out_path;  // empty: bench/results/<date>-<host>[-quick].md; "-": no file
};

void PrintUsage(const char* argv0) {
  std::printf(
      "usage: %s [--changes N] [--zones N] [--records N] [--native-changes N]\n"
      "          [--spin-changes N] [--native-zones N] [--default-zones N] [--deletes N]\n"
      "          [--rate N] [--duration S] [--no-bootstrap] [--quick] [--log FILE]\n"
      "          [--out FILE|-]\n"
      "  --changes N         pdns-distribute: PATCHes measured (default 50)\n"
      "  --zones N           zones provisioned, both systems (default 1000)\n"
      "  --records N         A records per provisioned zone besides SOA and NS (default 10)\n"
      "  --native-changes N  native best-tuned: PATCHes measured (default 15, ~1-2 s each)\n"
      "  --spin-changes N    native xfr-cycle-interval=0 profile: PATCHes (default 10; 0 skips)\n"
      "  --native-zones N    native best-tuned: catalog zones provisioned (default: --zones)\n"
      "  --default-zones N   native stock defaults: catalog zones provisioned (default: --zones;\n"
      "                      0 skips the stock-defaults cluster)\n"
      "  --deletes N         zones deleted and timed on each system (default 5)\n"
      "  --rate N            sustained load: changes/s over 10 zones (default 50)\n"
      "  --duration S        sustained load: seconds (default 30; 0 skips)\n"
      "  --no-bootstrap      skip the third-secondary bootstrap\n"
      "  --quick             10 changes, 50 zones, 5 native changes, 3 spin changes, 2 deletes,\n"
      "                      5 s of sustained load, no stock-defaults cluster (explicit flags\n"
      "                      still win); < 3 min\n"
      "  --log FILE          the in-process services' logs (default /dev/null)\n"
      "  --out FILE          results file (default " PDNSD_BENCH_RESULTS_DIR
      "/<date>-<host>.md,\n"
      "                      -quick.md with --quick; '-' writes none)\n",
      argv0);
}

std::optional<Options> ParseOptions(int argc, char** argv) {
  std::optional<int> changes, zones, records, native_changes, spin_changes, native_zones,
      default_zones, deletes, rate, duration;
  Options options;
  auto number = [&](int& i, std::optional<int>& out) {
    if (i + 1 >= argc) return false;
    char* end = nullptr;
    const long value = std::strtol(argv[++i], &end, 10);
    if (end == argv[i] || *end != '\0' || value < 0 || value > 1000000) return false;
    out = static_cast<int>(value);
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    bool ok = true;
    if (arg == "--changes") {
      ok = number(i, changes);
    } else if (arg == "--zones") {
      ok = number(i, zones);
    } else if (arg == "--records") {
      ok = number(i, records);
    } else if (arg == "--native-changes") {
      ok = number(i, native_changes);
    } else if (arg == "--spin-changes") {
      ok = number(i, spin_changes);
    } else if (arg == "--native-zones") {
      ok = number(i, native_zones);
    } else if (arg == "--default-zones") {
      ok = number(i, default_zones);
    } else if (arg == "--deletes") {
      ok = number(i, deletes);
    } else if (arg == "--rate") {
      ok = number(i, rate);
    } else if (arg == "--duration") {
      ok = number(i, duration);
    } else if (arg == "--no-bootstrap") {
      options.bootstrap = false;
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--log" && i + 1 < argc) {
      options.log_path = argv[++i];
    } else if (arg == "--out" && i + 1 < argc) {
      options.out_path = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      PrintUsage(argv[0]);
      std::exit(0);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "bad argument near '%s'\n", argv[i]);
      PrintUsage(argv[0]);
      return std::nullopt;
    }
  }
  if (options.quick) {
    options.changes = 10;
    options.zones = 50;
    options.native_changes = 5;
    options.spin_changes = 3;
    options.deletes = 2;
    options.duration = 5;
  }
  if (changes) options.changes = *changes;
  if (zones) options.zones = *zones;
  if (records) options.records = *records;
  if (native_changes) options.native_changes = *native_changes;
  if (spin_changes) options.spin_changes = *spin_changes;
  if (deletes) options.deletes = *deletes;
  if (rate) options.rate = std::max(1, *rate);
  if (duration) options.duration = *duration;
  options.native_zones = native_zones.value_or(options.zones);
  options.default_zones = default_zones.value_or(options.quick ? 0 : options.zones);
  options.deletes = std::min({options.deletes, options.zones, options.native_zones});
  return options;
}

// ---------------------------------------------------------------------------------------------
// Statistics, the detail table and the summary table

struct Row {
  std::string method;
  std::string what;
  std::vector<double> ms;      // successful samples
  std::vector<double> api_ms;  // the API call alone (request sent -> answer), when measured
  int failed = 0;
  std::string note;  // printed below the table
};

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nan("");
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string Fixed(double value, int decimals = 1) {
  if (std::isnan(value)) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// "p50 X ms, p95 Y ms, max Z ms"
std::string Summary(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return "p50 " + Fixed(Percentile(samples, 50)) + " ms, p95 " + Fixed(Percentile(samples, 95)) +
         " ms, max " + Fixed(samples.empty() ? std::nan("") : samples.back()) + " ms";
}

std::string DetailTable(const std::vector<Row>& rows) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-44s %-38s %5s %5s %9s %9s %9s %9s\n", "method", "measured",
                "iter", "fail", "min ms", "p50 ms", "p95 ms", "max ms");
  out += line;
  out += std::string(44 + 1 + 38 + 1 + 5 + 1 + 5 + 4 * 10, '-') + "\n";
  for (const Row& row : rows) {
    std::vector<double> sorted = row.ms;
    std::sort(sorted.begin(), sorted.end());
    const double min = sorted.empty() ? std::nan("") : sorted.front();
    std::snprintf(line, sizeof line, "%-44s %-38s %5zu %5d %9s %9s %9s %9s\n", row.method.c_str(),
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

// The summary: one row per figure, one column per system/profile.
enum Column { kDistribute = 0, kNative = 1, kSpin = 2, kDefaults = 3, kColumns = 4 };

struct Figure {
  std::string name;
  bool lower_better = true;
  int decimals = 1;
  bool ratio = true;  // false: the columns' runs did different work (resources)
  std::array<std::optional<double>, kColumns> value;
  std::array<std::string, kColumns> text;  // instead of a value ("never", "failed", ...)
};

class Figures {
 public:
  Figure& Get(const std::string& name, bool lower_better = true, int decimals = 1) {
    for (Figure& figure : figures_) {
      if (figure.name == name) return figure;
    }
    figures_.push_back({name, lower_better, decimals, true, {}, {}});
    return figures_.back();
  }
  void Set(const std::string& name, Column column, double value, bool lower_better = true,
           int decimals = 1) {
    if (std::isnan(value)) return;
    Get(name, lower_better, decimals).value[column] = value;
  }
  // A resource figure: no ratio (the columns' runs did different work).
  void SetResource(const std::string& name, Column column, double value, int decimals = 1) {
    Figure& figure = Get(name, true, decimals);
    figure.ratio = false;
    figure.value[column] = value;
  }
  void SetText(const std::string& name, Column column, const std::string& text) {
    Get(name).text[column] = text;
  }
  // p50, p95 and max of `samples` as three rows "<prefix> p50 (ms)", ...
  void SetPercentiles(const std::string& prefix, Column column, std::vector<double> samples) {
    if (samples.empty()) return;
    std::sort(samples.begin(), samples.end());
    Set(prefix + " p50 (ms)", column, Percentile(samples, 50));
    Set(prefix + " p95 (ms)", column, Percentile(samples, 95));
    Set(prefix + " max (ms)", column, samples.back());
  }

  std::string Markdown() const {
    std::string out =
        "| figure | pdns-distribute | native best-tuned (cycle 1 s) | ratio (>1: pdns-distribute "
        "better) | native spinning (cycle 0) | native stock defaults |\n"
        "|---|---:|---:|---:|---:|---:|\n";
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

 private:
  std::vector<Figure> figures_;
};

Figures g_figures;
std::vector<std::string> g_notes;  // printed under the tables

// ---------------------------------------------------------------------------------------------
// Resources of a process: peak RSS (VmHWM) and CPU seconds (utime + stime) from /proc.

struct Usage {
  bool ok = false;
  double cpu_seconds = 0;
  double peak_rss_mb = 0;
};

Usage ReadUsage(pid_t pid) {
  Usage usage;
  const std::string base = pid > 0 ? "/proc/" + std::to_string(pid) : "/proc/self";
  const std::string stat = testing::ReadFile(base + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return usage;
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> tokens;
  for (std::string token; fields >> token;) tokens.push_back(token);
  if (tokens.size() < 13) return usage;
  // tokens[0] is field 3 (state); utime and stime are fields 14 and 15.
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  usage.cpu_seconds = (std::stod(tokens[11]) + std::stod(tokens[12])) / ticks;
  std::istringstream status(testing::ReadFile(base + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) usage.peak_rss_mb = std::stod(line.substr(6)) / 1024.0;
  }
  usage.ok = true;
  return usage;
}

// The resources of one system's run, read just before its processes stop.
struct Resources {
  Clock::time_point start = Clock::now();
  Usage self_at_start = ReadUsage(0);

  void Record(Column column, PdnsServer& primary, const std::vector<PdnsServer*>& secondaries,
              testing::NatsServer* nats) {
    const double wall = Ms(Clock::now() - start) / 1000;
    g_figures.SetResource("run: wall time (s)", column, wall);
    const Usage p = ReadUsage(primary.process().pid());
    double pdns_cpu = p.cpu_seconds, secondary_cpu = 0, secondary_rss = 0;
    for (PdnsServer* s : secondaries) {
      const Usage u = ReadUsage(s->process().pid());
      secondary_cpu += u.cpu_seconds;
      secondary_rss = std::max(secondary_rss, u.peak_rss_mb);
    }
    pdns_cpu += secondary_cpu;
    g_figures.SetResource("CPU s: PowerDNS primary", column, p.cpu_seconds);
    g_figures.SetResource("CPU s: PowerDNS secondaries (sum)", column, secondary_cpu);
    g_figures.SetResource("cores busy: all pdns_server CPU s / wall s", column, pdns_cpu / wall, 2);
    g_figures.SetResource("peak RSS MB: PowerDNS primary", column, p.peak_rss_mb);
    g_figures.SetResource("peak RSS MB: PowerDNS secondary (largest)", column, secondary_rss);
    if (nats) {
      const Usage n = ReadUsage(nats->process().pid());
      g_figures.SetResource("CPU s: nats-server", column, n.cpu_seconds, 2);
      g_figures.SetResource("peak RSS MB: nats-server", column, n.peak_rss_mb);
    }
    const Usage self = ReadUsage(0);
    g_figures.SetResource("CPU s: bench process (see note)", column,
                          self.cpu_seconds - self_at_start.cpu_seconds);
    if (column == kDistribute) {
      g_figures.SetResource("peak RSS MB: bench process (see note)", column, self.peak_rss_mb);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// DNS polling

uint32_t ServedSerial(const HostPort& server, const std::string& zone) {
  auto serial = QuerySoaSerial(server, zone, kQueryTimeout);
  return serial.ok() ? *serial : 0;
}

// The serial `server` serves for `zone` once it serves one ahead of `after` (any serial when
// `after` is 0), waiting up to `timeout`; 0 when it does not. A loaded machine can make single
// queries time out, so a zone just created is asked again.
uint32_t ServedSerialAfter(const HostPort& server, const std::string& zone, uint32_t after,
                           milliseconds timeout = milliseconds(10000)) {
  uint32_t serial = 0;
  testing::WaitFor(
      [&] {
        serial = ServedSerial(server, zone);
        return serial != 0 && (after == 0 || SerialGreater(serial, after));
      },
      timeout, milliseconds(2));
  return serial != 0 && (after == 0 || SerialGreater(serial, after)) ? serial : 0;
}

bool WaitAllServe(const std::vector<HostPort>& servers, const std::string& zone, uint32_t serial,
                  milliseconds timeout) {
  return testing::WaitFor(
      [&] {
        for (const auto& server : servers) {
          if (ServedSerial(server, zone) != serial) return false;
        }
        return true;
      },
      timeout, milliseconds(5));
}

std::string ARecordPatch(const std::string& name, const std::string& ip) {
  nlohmann::json body = {{"rrsets",
                          {{{"name", name},
                            {"type", "A"},
                            {"ttl", 60},
                            {"changetype", "REPLACE"},
                            {"records", {{{"content", ip}, {"disabled", false}}}}}}}};
  return body.dump();
}

// A distinct address per iteration, so that every PATCH really changes the zone.
std::string IterationAddress(int i) {
  return "10." + std::to_string((i / 62500) % 250) + "." + std::to_string((i / 250) % 250) + "." +
         std::to_string(i % 250 + 1);
}

std::string SoaContent(uint32_t serial) {
  return "ns1.example.net. hostmaster.example.net. " + std::to_string(serial) +
         " 10800 3600 604800 3600";
}

// The body to create `zone` of `kind` on a primary, like Cluster::CreateZone: SOA serial 1,
// NS ns1.example.net., SOA-EDIT-API INCREASE; a member of `catalog` when that is given.
std::string PrimaryZoneBody(const std::string& zone, const std::string& kind,
                            const std::string& catalog = "") {
  nlohmann::json body = {{"name", zone},
                         {"kind", kind},
                         {"nameservers", {"ns1.example.net."}},
                         {"soa_edit_api", "INCREASE"},
                         {"rrsets",
                          {{{"name", zone},
                            {"type", "SOA"},
                            {"ttl", 3600},
                            {"changetype", "REPLACE"},
                            {"records", {{{"content", SoaContent(1)}, {"disabled", false}}}}}}}};
  if (!catalog.empty()) body["catalog"] = catalog;
  return body.dump();
}

// ---------------------------------------------------------------------------------------------
// One change: PATCH, then poll every secondary until it serves a serial ahead of the old one.

struct Sample {
  bool ok = false;
  double ms = 0;
  double api_ms = 0;
  std::string error;
  std::string per_secondary;  // "secondary0 12.3 ms, secondary1 14.0 ms"
};

Sample MeasureChange(const std::vector<HostPort>& secondaries, const HostPort& primary_dns,
                     const std::string& zone, const std::function<HttpResponse()>& patch) {
  Sample sample;
  const uint32_t before = ServedSerialAfter(primary_dns, zone, 0);
  if (before == 0) {
    sample.error = "primary does not serve " + zone;
    return sample;
  }
  struct Seen {
    bool ok = false;
    uint32_t serial = 0;
    Clock::time_point at;
  };
  std::vector<Seen> seen(secondaries.size());
  std::atomic<bool> stop{false};
  const Clock::time_point deadline = Clock::now() + kChangeTimeout;
  std::vector<std::thread> pollers;
  for (size_t i = 0; i < secondaries.size(); ++i) {
    pollers.emplace_back([&, i] {
      while (!stop.load(std::memory_order_relaxed) && Clock::now() < deadline) {
        auto serial = QuerySoaSerial(secondaries[i], zone, kQueryTimeout);
        const Clock::time_point now = Clock::now();
        if (serial.ok() && SerialGreater(*serial, before)) {
          seen[i] = {true, *serial, now};
          return;
        }
        std::this_thread::sleep_for(kPollInterval);
      }
    });
  }
  const Clock::time_point start = Clock::now();
  const HttpResponse response = patch();
  sample.api_ms = Ms(Clock::now() - start);
  uint32_t target = 0;
  if (response.status != 204) {
    stop = true;
    sample.error =
        "PATCH answered " + std::to_string(response.status) + " " + response.error + response.body;
  } else {
    // The serial the primary serves now (SOA-EDIT-API moved it). Waited for, because the
    // primary's own packet cache could still hold the old SOA.
    target = ServedSerialAfter(primary_dns, zone, before, kChangeTimeout);
    if (target == 0) {
      stop = true;
      sample.error =
          "the primary still serves serial " + std::to_string(before) + " after the PATCH";
    } else if (Clock::now() - start > milliseconds(1000)) {
      std::fprintf(g_err,
                   "  note: the primary served the new serial %u only %.0f ms after the PATCH\n",
                   target, Ms(Clock::now() - start));
    }
  }
  for (auto& poller : pollers) poller.join();
  if (!sample.error.empty()) return sample;
  Clock::time_point last = start;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i].ok) {
      sample.error = "secondary" + std::to_string(i) + " did not serve a serial after " +
                     std::to_string(before) + " within " + std::to_string(kChangeTimeout.count()) +
                     " ms";
      return sample;
    }
    if (seen[i].serial != target) {
      sample.error = "secondary" + std::to_string(i) + " served " + std::to_string(seen[i].serial) +
                     ", the primary " + std::to_string(target);
      return sample;
    }
    last = std::max(last, seen[i].at);
  }
  sample.ok = true;
  sample.ms = Ms(last - start);
  for (size_t i = 0; i < seen.size(); ++i) {
    sample.per_secondary += (i ? ", secondary" : "secondary") + std::to_string(i) + " " +
                            Fixed(Ms(seen[i].at - start)) + " ms";
  }
  return sample;
}

// `count` changes of `zone`, with a random pause of up to `max_gap` between them (so that the
// changes do not lock onto the phase of a periodic check cycle). `warmup` first, not counted.
Row RunChanges(const std::string& method, const std::vector<HostPort>& secondaries,
               const HostPort& primary_dns, const std::string& zone, int count, int warmup,
               milliseconds max_gap,
               const std::function<HttpResponse(const std::string& body)>& send_patch) {
  Row row;
  row.method = method;
  row.what = "change -> all secondaries";
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> gap(0, static_cast<int>(max_gap.count()));
  const std::string name = "www." + zone;
  for (int i = -warmup; i < count; ++i) {
    std::this_thread::sleep_for(milliseconds(gap(random)));
    const std::string body = ARecordPatch(name, IterationAddress(i + warmup));
    Sample sample = MeasureChange(secondaries, primary_dns, zone, [&] { return send_patch(body); });
    if (i < 0) {
      if (!sample.ok) std::fprintf(g_err, "  warm-up change failed: %s\n", sample.error.c_str());
      continue;
    }
    if (sample.ok && sample.ms > 5000) {
      std::fprintf(g_err, "  change %d: outlier %.0f ms (%s; PATCH call %.1f ms)\n", i + 1,
                   sample.ms, sample.per_secondary.c_str(), sample.api_ms);
    }
    if (sample.ok) {
      row.ms.push_back(sample.ms);
      row.api_ms.push_back(sample.api_ms);
    } else {
      ++row.failed;
      std::fprintf(g_err, "  change %d failed: %s\n", i + 1, sample.error.c_str());
      // Let the secondaries catch up before the next change is measured.
      const uint32_t serial = ServedSerialAfter(primary_dns, zone, 0);
      WaitAllServe(secondaries, zone, serial, kChangeTimeout);
    }
    if ((i + 1) % 10 == 0 || i + 1 == count) {
      std::printf("  %s: %d/%d changes\n", method.c_str(), i + 1, count);
      std::fflush(stdout);
    }
  }
  row.note = "the PATCH call alone: " + Summary(row.api_ms);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Provisioning: zones created one after another; pollers (one per secondary) watch every zone
// created so far until it serves the primary's serial.

// R A records r0..r<R-1> for a new zone (the same data on both systems).
nlohmann::json ZoneRecords(const std::string& zone, int records) {
  nlohmann::json rrsets = nlohmann::json::array();
  for (int j = 0; j < records; ++j) {
    rrsets.push_back(
        {{"name", "r" + std::to_string(j) + "." + zone},
         {"type", "A"},
         {"ttl", 3600},
         {"changetype", "REPLACE"},
         {"records",
          {{{"content", "192.0.2." + std::to_string(j % 250 + 1)}, {"disabled", false}}}}});
  }
  return rrsets;
}

struct Provisioning {
  Row row;
  std::vector<std::string> zones;  // created and served by the primary
  std::vector<uint32_t> serials;   // the primary's serial of each
  double api_seconds = 0;          // creating all zones (API calls + reading the primary's serial)
  double total_seconds = 0;        // first create sent -> last zone served by every secondary
  int served = 0;
};

Provisioning RunProvisioning(const std::string& method, const std::vector<HostPort>& secondaries,
                             const HostPort& primary_dns, const std::vector<std::string>& zones,
                             const std::function<HttpResponse(const std::string& zone)>& create,
                             milliseconds settle_timeout = kProvisionSettleTimeout) {
  Provisioning result;
  result.row.method = method;
  result.row.what = "new zone -> all secondaries (*)";
  struct Entry {
    Clock::time_point sent;
    Clock::time_point returned;
    uint32_t serial = 0;  // 0: creation failed
  };
  const size_t n = zones.size();
  std::vector<Entry> entries(n);
  // served[k][i]: when secondary k was first seen serving zone i (written by poller k only).
  std::vector<std::vector<std::optional<Clock::time_point>>> served(
      secondaries.size(), std::vector<std::optional<Clock::time_point>>(n));
  std::atomic<size_t> published{0};
  std::atomic<bool> creating{true};
  std::atomic<Clock::rep> deadline{std::numeric_limits<Clock::rep>::max()};

  std::vector<std::thread> pollers;
  for (size_t k = 0; k < secondaries.size(); ++k) {
    pollers.emplace_back([&, k] {
      std::vector<size_t> pending;
      size_t seen_published = 0;
      while (true) {
        const bool still_creating = creating.load(std::memory_order_acquire);
        const size_t now_published = published.load(std::memory_order_acquire);
        for (; seen_published < now_published; ++seen_published) {
          if (entries[seen_published].serial != 0) pending.push_back(seen_published);
        }
        if (!still_creating && pending.empty()) return;
        if (Clock::now().time_since_epoch().count() >= deadline.load()) return;
        std::erase_if(pending, [&](size_t i) {
          auto serial = QuerySoaSerial(secondaries[k], zones[i], kQueryTimeout);
          if (!serial.ok() || *serial != entries[i].serial) return false;
          served[k][i] = Clock::now();
          return true;
        });
        std::this_thread::sleep_for(kPollInterval);
      }
    });
  }

  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    entries[i].sent = Clock::now();
    const HttpResponse response = create(zones[i]);
    entries[i].returned = Clock::now();
    result.row.api_ms.push_back(Ms(entries[i].returned - entries[i].sent));
    if (response.status == 201) {
      entries[i].serial = ServedSerialAfter(primary_dns, zones[i], 0);
      if (entries[i].serial == 0) {
        std::fprintf(g_err, "  %s: the primary does not serve %s\n", method.c_str(),
                     zones[i].c_str());
      }
    } else {
      std::fprintf(g_err, "  %s: creating %s answered %d %s%s\n", method.c_str(), zones[i].c_str(),
                   response.status, response.error.c_str(), response.body.c_str());
    }
    published.store(i + 1, std::memory_order_release);
    if ((i + 1) % 250 == 0) {
      std::printf("  %s: %zu/%zu zones created\n", method.c_str(), i + 1, n);
      std::fflush(stdout);
    }
  }
  const Clock::time_point created = Clock::now();
  deadline = (created + settle_timeout).time_since_epoch().count();
  creating.store(false, std::memory_order_release);
  for (auto& poller : pollers) poller.join();

  Clock::time_point last = start;
  for (size_t i = 0; i < n; ++i) {
    if (entries[i].serial != 0) {
      result.zones.push_back(zones[i]);
      result.serials.push_back(entries[i].serial);
    }
    std::optional<Clock::time_point> all;
    for (size_t k = 0; k < secondaries.size() && entries[i].serial != 0; ++k) {
      if (!served[k][i]) {
        all.reset();
        break;
      }
      all = all ? std::max(*all, *served[k][i]) : *served[k][i];
    }
    if (!all) {
      ++result.row.failed;
      continue;
    }
    ++result.served;
    // From the create call returning; a zone seen before that counts as 0.
    result.row.ms.push_back(std::max(0.0, Ms(*all - entries[i].returned)));
    last = std::max(last, *all);
  }
  result.api_seconds = Ms(created - start) / 1000;
  result.total_seconds = Ms(last - start) / 1000;
  char note[256];
  std::snprintf(note, sizeof note,
                "%d of %zu zones served by all secondaries %.2f s after the first create "
                "(%.0f zones/s); the creates alone took %.2f s",
                result.served, n, result.total_seconds,
                result.total_seconds > 0 ? result.served / result.total_seconds : 0.0,
                result.api_seconds);
  result.row.note = std::string(note) + "; one create call: " + Summary(result.row.api_ms);
  return result;
}

void RecordProvisioning(Column column, const Provisioning& p, size_t requested) {
  const std::string n = std::to_string(requested);
  g_figures.SetPercentiles("new zone: create call returned -> both secondaries serve", column,
                           p.row.ms);
  std::vector<double> api = p.row.api_ms;
  std::sort(api.begin(), api.end());
  g_figures.Set("new zone: the create call alone p50 (ms)", column, Percentile(api, 50));
  const std::string all = "all " + n + " zones served by both secondaries, from first create (s)";
  if (p.served == static_cast<int>(requested)) {
    g_figures.Set(all, column, p.total_seconds, true, 2);
    g_figures.Set("provisioning throughput (zones/s)", column,
                  p.total_seconds > 0 ? p.served / p.total_seconds : 0, false);
  } else {
    g_figures.SetText(all, column,
                      "only " + std::to_string(p.served) + " of " + n + " served (timeout)");
  }
  g_figures.Set("creating the " + n + " zones alone (s)", column, p.api_seconds, true, 2);
}

std::vector<std::string> ZoneNames(const std::string& suffix, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    char label[16];
    std::snprintf(label, sizeof label, "z%05d.", i);
    names.push_back(label + suffix);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Bootstrap: time from `start` until `server` serves every zone at the primary's serial.

struct Bootstrap {
  int served = 0;
  double seconds = 0;  // until the last zone was served
};

Bootstrap WaitServesAll(const HostPort& server, const std::vector<std::string>& zones,
                        const std::vector<uint32_t>& serials, Clock::time_point start) {
  Bootstrap result;
  std::vector<size_t> pending(zones.size());
  for (size_t i = 0; i < zones.size(); ++i) pending[i] = i;
  Clock::time_point last = start;
  const Clock::time_point deadline = Clock::now() + kBootstrapTimeout;
  while (!pending.empty() && Clock::now() < deadline) {
    std::erase_if(pending, [&](size_t i) {
      auto serial = QuerySoaSerial(server, zones[i], kQueryTimeout);
      if (!serial.ok() || *serial != serials[i]) return false;
      last = Clock::now();
      ++result.served;
      return true;
    });
    std::this_thread::sleep_for(kPollInterval);
  }
  result.seconds = Ms(last - start) / 1000;
  return result;
}

void RecordBootstrap(Column column, const Bootstrap& b, size_t zones) {
  const std::string name =
      "bootstrap: a third empty secondary serves all " + std::to_string(zones) + " zones (s)";
  if (b.served == static_cast<int>(zones)) {
    g_figures.Set(name, column, b.seconds, true, 2);
  } else {
    g_figures.SetText(name, column,
                      "only " + std::to_string(b.served) + " after " +
                          std::to_string(kBootstrapTimeout.count() / 1000) + " s");
  }
}

// ---------------------------------------------------------------------------------------------
// Deletion: from the DELETE call until no secondary answers the zone authoritatively.

bool Gone(const HostPort& server, const std::string& zone) {
  // Two failed SOA queries in a row, so that one lost UDP packet is not taken for a removal.
  return !QuerySoaSerial(server, zone, kQueryTimeout).ok() &&
         !QuerySoaSerial(server, zone, kQueryTimeout).ok();
}

Row RunDeletions(const std::string& method, const std::vector<HostPort>& secondaries,
                 const std::vector<std::string>& zones,
                 const std::function<HttpResponse(const std::string& zone)>& remove) {
  Row row;
  row.method = method;
  row.what = "zone deleted -> no secondary serves it";
  for (const std::string& zone : zones) {
    // Deletions 1.5 s apart on both systems: a native catalog's serial is the time in whole
    // seconds, so two catalog changes within one second can be missed by a consumer.
    std::this_thread::sleep_for(milliseconds(1500));
    std::vector<std::optional<Clock::time_point>> gone(secondaries.size());
    const Clock::time_point start = Clock::now();
    const HttpResponse response = remove(zone);
    row.api_ms.push_back(Ms(Clock::now() - start));
    if (response.status != 204) {
      ++row.failed;
      std::fprintf(g_err, "  %s: deleting %s answered %d %s%s\n", method.c_str(), zone.c_str(),
                   response.status, response.error.c_str(), response.body.c_str());
      continue;
    }
    testing::WaitFor(
        [&] {
          bool all = true;
          for (size_t k = 0; k < secondaries.size(); ++k) {
            if (!gone[k] && Gone(secondaries[k], zone)) gone[k] = Clock::now();
            all = all && gone[k].has_value();
          }
          return all;
        },
        kDeleteTimeout, kPollInterval);
    Clock::time_point last = start;
    bool all = true;
    for (const auto& at : gone) {
      if (!at) all = false;
      if (at) last = std::max(last, *at);
    }
    if (all) {
      row.ms.push_back(Ms(last - start));
    } else {
      ++row.failed;
      std::string which;
      for (size_t k = 0; k < gone.size(); ++k) {
        if (!gone[k]) which += " secondary" + std::to_string(k);
      }
      std::fprintf(g_err, "  %s: %s still served by%s %lld s after its deletion\n", method.c_str(),
                   zone.c_str(), which.c_str(),
                   static_cast<long long>(kDeleteTimeout.count() / 1000));
      row.note += zone + " still served by" + which + " after " +
                  std::to_string(kDeleteTimeout.count() / 1000) + " s; ";
    }
  }
  row.note += "the DELETE call alone: " + Summary(row.api_ms);
  return row;
}

void RecordDeletions(Column column, const Row& row) {
  const std::string prefix = "deletion -> no secondary serves it";
  if (row.ms.empty()) {
    g_figures.SetText(prefix + " p50 (ms)", column,
                      "never (" + std::to_string(row.failed) + " of " + std::to_string(row.failed) +
                          " still served after " + std::to_string(kDeleteTimeout.count() / 1000) +
                          " s)");
    return;
  }
  std::vector<double> sorted = row.ms;
  std::sort(sorted.begin(), sorted.end());
  g_figures.Set(prefix + " p50 (ms)", column, Percentile(sorted, 50));
  g_figures.Set(prefix + " max (ms)", column, sorted.back());
  if (row.failed > 0) {
    g_figures.SetText(
        prefix + " not removed within " + std::to_string(kDeleteTimeout.count() / 1000) + " s",
        column, std::to_string(row.failed));
  }
}

void RecordChanges(Column column, const Row& row) {
  g_figures.SetPercentiles("change -> all secondaries", column, row.ms);
  std::vector<double> api = row.api_ms;
  std::sort(api.begin(), api.end());
  g_figures.Set("change: the PATCH call alone p50 (ms) (floor)", column, Percentile(api, 50));
  g_figures.Set("change: the PATCH call alone p95 (ms)", column, Percentile(api, 95));
  g_figures.SetText(
      "change: samples (failed)", column,
      std::to_string(row.ms.size() + row.failed) + " (" + std::to_string(row.failed) + ")");
}

// Every n-th of `zones`, `count` of them (spread over the set).
std::vector<std::string> Pick(const std::vector<std::string>& zones, int count) {
  std::vector<std::string> picked;
  if (zones.empty() || count <= 0) return picked;
  const size_t step = std::max<size_t>(1, zones.size() / static_cast<size_t>(count));
  for (size_t i = 0; i < zones.size() && static_cast<int>(picked.size()) < count; i += step) {
    picked.push_back(zones[i]);
  }
  return picked;
}

// ---------------------------------------------------------------------------------------------
// Sustained load: PATCHes at a fixed rate, round-robin over a few zones, for a fixed time. Each
// change's lag runs from its PATCH being sent until every secondary serves that change's serial
// or a later one (SOA-EDIT-API INCREASE: each PATCH moves a zone's serial by exactly 1). At the
// end, every secondary must serve the primary's final serial of every zone (no change lost).

struct Sustained {
  Row row;
  int sent = 0;
  int patch_failed = 0;
  double achieved_rate = 0;
  bool no_loss = false;
  std::string loss;
};

Sustained RunSustained(
    const std::string& method, const std::vector<HostPort>& secondaries,
    const HostPort& primary_dns, const std::vector<std::string>& zones, int rate, int duration_s,
    milliseconds settle,
    const std::function<HttpResponse(const std::string& zone, const std::string& body)>& patch) {
  Sustained result;
  result.row.method = method;
  result.row.what = "sustained " + std::to_string(rate) + "/s: change lag";
  struct Change {
    uint32_t serial;
    Clock::time_point sent;
    std::vector<std::optional<Clock::time_point>> seen;  // per secondary
  };
  std::mutex mutex;
  std::vector<std::vector<Change>> changes(zones.size());
  std::vector<uint32_t> serial(zones.size());
  for (size_t z = 0; z < zones.size(); ++z) serial[z] = ServedSerialAfter(primary_dns, zones[z], 0);
  std::atomic<bool> stop{false};
  std::vector<std::thread> pollers;
  for (size_t k = 0; k < secondaries.size(); ++k) {
    pollers.emplace_back([&, k] {
      while (!stop.load(std::memory_order_relaxed)) {
        for (size_t z = 0; z < zones.size(); ++z) {
          auto served = QuerySoaSerial(secondaries[k], zones[z], kQueryTimeout);
          if (!served.ok()) continue;
          const Clock::time_point now = Clock::now();
          std::lock_guard lock(mutex);
          for (Change& change : changes[z]) {
            if (change.seen[k]) continue;
            if (*served == change.serial || SerialGreater(*served, change.serial)) {
              change.seen[k] = now;
            }
          }
        }
        std::this_thread::sleep_for(kPollInterval);
      }
    });
  }
  // Senders: zone z belongs to sender z % kSenders, so that one zone's PATCHes stay in order
  // while calls slower than the period do not hold back the other zones.
  const size_t senders = std::min<size_t>(5, zones.size());
  const Clock::time_point start = Clock::now();
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) / rate;
  const int total = rate * duration_s;
  std::atomic<int> sent{0}, failed{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < senders; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < total; ++i) {
        const size_t z = static_cast<size_t>(i) % zones.size();
        if (z % senders != t) continue;
        std::this_thread::sleep_until(start + period * i);
        const std::string body = ARecordPatch("www." + zones[z], IterationAddress(i + 7));
        const Clock::time_point sent_at = Clock::now();
        const HttpResponse response = patch(zones[z], body);
        ++sent;
        if (response.status != 204) {
          if (failed++ < 5) {
            std::fprintf(g_err, "  %s: PATCH of %s answered %d %s%s\n", method.c_str(),
                         zones[z].c_str(), response.status, response.error.c_str(),
                         response.body.substr(0, 200).c_str());
          }
          continue;
        }
        std::lock_guard lock(mutex);
        ++serial[z];
        changes[z].push_back({serial[z], sent_at,
                              std::vector<std::optional<Clock::time_point>>(secondaries.size())});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  result.sent = sent;
  result.patch_failed = failed;
  const double elapsed = Ms(Clock::now() - start) / 1000;
  result.achieved_rate = elapsed > 0 ? result.sent / elapsed : 0;
  // Let the last changes arrive, then check that nothing was lost.
  std::vector<uint32_t> final_serial(zones.size());
  for (size_t z = 0; z < zones.size(); ++z) {
    final_serial[z] = ServedSerialAfter(primary_dns, zones[z], 0);
  }
  const bool all = testing::WaitFor(
      [&] {
        for (size_t z = 0; z < zones.size(); ++z) {
          for (const auto& secondary : secondaries) {
            if (ServedSerial(secondary, zones[z]) != final_serial[z]) return false;
          }
        }
        return true;
      },
      settle, milliseconds(20));
  stop = true;
  for (auto& poller : pollers) poller.join();
  result.no_loss = all;
  if (!all) {
    for (size_t z = 0; z < zones.size(); ++z) {
      for (size_t k = 0; k < secondaries.size(); ++k) {
        const uint32_t s = ServedSerial(secondaries[k], zones[z]);
        if (s != final_serial[z]) {
          result.loss += zones[z] + " secondary" + std::to_string(k) + " " + std::to_string(s) +
                         " (primary " + std::to_string(final_serial[z]) + "); ";
        }
      }
    }
  }
  for (size_t z = 0; z < zones.size(); ++z) {
    if (serial[z] != final_serial[z]) {
      result.loss += zones[z] + ": expected serial " + std::to_string(serial[z]) +
                     ", the primary serves " + std::to_string(final_serial[z]) + "; ";
    }
  }
  for (const auto& zone_changes : changes) {
    for (const Change& change : zone_changes) {
      std::optional<Clock::time_point> last;
      for (const auto& at : change.seen) {
        if (!at) {
          last.reset();
          break;
        }
        last = last ? std::max(*last, *at) : *at;
      }
      if (last) {
        result.row.ms.push_back(Ms(*last - change.sent));
      } else {
        ++result.row.failed;
      }
    }
  }
  char note[256];
  std::snprintf(note, sizeof note,
                "%d PATCHes over %zu zones in %.1f s (%.1f/s achieved; 5 concurrent senders, one "
                "zone's PATCHes in order), %d answered an error; every secondary on the primary's "
                "final serial of every zone: %s",
                result.sent, zones.size(), elapsed, result.achieved_rate, result.patch_failed,
                result.no_loss ? "yes" : "NO");
  result.row.note = note + (result.loss.empty() ? "" : " -- " + result.loss);
  return result;
}

void RecordSustained(Column column, const Sustained& s, int rate) {
  const std::string prefix = "sustained " + std::to_string(rate) + "/s: change lag";
  g_figures.SetPercentiles(prefix, column, s.row.ms);
  g_figures.Set("sustained " + std::to_string(rate) + "/s: rate achieved (changes/s)", column,
                s.achieved_rate, false);
  g_figures.SetText("sustained " + std::to_string(rate) +
                        "/s: no change lost (secondaries on the primary's final serials)",
                    column, s.no_loss ? "yes" : "NO");
  g_figures.SetText("sustained " + std::to_string(rate) + "/s: PATCH calls that failed", column,
                    std::to_string(s.patch_failed) + " of " + std::to_string(s.sent));
}

// ---------------------------------------------------------------------------------------------
// (a) pdns-distribute

// The secondaries of both systems share these pdns.conf lines (fairness).
const std::vector<std::string> kSecondaryCommon = {"cache-ttl=0"};

ClusterOptions DistributeOptions() {
  ClusterOptions options;
  options.secondaries = kSecondaries;
  options.secondary_config = kSecondaryCommon;
  // The health-checker is started only for the bootstrap (Cluster::StartHealthChecker).
  options.checker.event_check_wait = milliseconds(20000);
  options.checker.periodic_interval = seconds(3600);
  options.checker.refresh_interval = seconds(60);
  options.checker.nsec3_interval = seconds(3600);
  options.checker.ensure_nsec3 = false;
  options.checker.state_timeout = seconds(5);
  return options;
}

// True once the checker has finished its first full check of `secondaries` secondaries.
bool CheckerSettled(HealthChecker& checker, size_t secondaries) {
  return testing::WaitFor(
      [&] {
        auto status = nlohmann::json::parse(checker.StatusJson(), nullptr, false);
        if (!status.is_object() || !status.contains("secondaries")) return false;
        size_t checked = 0;
        for (const auto& entry : status["secondaries"]) {
          checked += entry.contains("last_check") ? 1 : 0;
        }
        return checked >= secondaries;
      },
      seconds(120), milliseconds(50));
}

Status RunDistribute(const Options& options, std::vector<Row>& rows) {
  Progress("%s: starting nats-server, PowerDNS primary + 2 secondaries, services\n",
           "pdns-distribute");
  Resources resources;
  Cluster cluster;
  if (Status s = cluster.Start(DistributeOptions()); !s.ok()) return s;
  std::vector<HostPort> secondaries;
  for (const auto& secondary : cluster.secondaries) secondaries.push_back(secondary->dns_address());
  const HostPort primary_dns = cluster.primary.dns_address();
  const std::string method = "pdns-distribute (api-proxy + NATS)";

  const std::string zone = "change.distribute.bench.";
  const HttpResponse created = cluster.CreateZone(zone, 1);
  if (created.status != 201) {
    return Status::Internal("creating " + zone + " through the proxy: " +
                            std::to_string(created.status) + " " + created.error + created.body);
  }
  const uint32_t serial = cluster.PrimarySerial(zone);
  if (!WaitAllServe(secondaries, zone, serial, kChangeTimeout)) {
    return Status::Timeout(zone + " not served by both secondaries");
  }
  // What the proxy adds to one API call (a new HTTPS connection per call from this client, as
  // Cluster::Proxy makes it, vs plain HTTP to PowerDNS): GET of the zone, no change.
  std::vector<double> via_proxy, direct;
  for (int i = 0; i < 20; ++i) {
    const std::string path = Cluster::ZonesPath(zone) + "?rrsets=false";
    Clock::time_point start = Clock::now();
    cluster.Proxy("GET", path);
    via_proxy.push_back(Ms(Clock::now() - start));
    start = Clock::now();
    cluster.primary.Api("GET", path);
    direct.push_back(Ms(Clock::now() - start));
  }
  g_notes.push_back(
      "pdns-distribute: GET of a zone (20x) via the api-proxy (a new HTTPS "
      "connection per call): " +
      Summary(via_proxy) + "; the same GET sent to PowerDNS directly: " + Summary(direct) + ".");
  if (options.changes > 0) {
    rows.push_back(RunChanges(method, secondaries, primary_dns, zone, options.changes, 3,
                              milliseconds(20), [&](const std::string& body) {
                                return cluster.Proxy("PATCH", Cluster::ZonesPath(zone), body);
                              }));
    RecordChanges(kDistribute, rows.back());
  }
  if (options.duration > 0) {
    const std::vector<std::string> load = ZoneNames("load.distribute.bench.", options.load_zones);
    for (const auto& name : load) {
      if (cluster.CreateZone(name, 1).status != 201) return Status::Internal("creating " + name);
    }
    for (const auto& name : load) {
      if (!WaitAllServe(secondaries, name, cluster.PrimarySerial(name), kChangeTimeout)) {
        return Status::Timeout(name + " not served by both secondaries");
      }
    }
    std::printf("  pdns-distribute: sustained load, %d changes/s for %d s\n", options.rate,
                options.duration);
    std::fflush(stdout);
    Sustained sustained =
        RunSustained(method, secondaries, primary_dns, load, options.rate, options.duration,
                     seconds(30), [&](const std::string& name, const std::string& body) {
                       return cluster.Proxy("PATCH", Cluster::ZonesPath(name), body);
                     });
    RecordSustained(kDistribute, sustained, options.rate);
    rows.push_back(sustained.row);
  }
  Provisioning provisioning;
  if (options.zones > 0) {
    std::printf("  pdns-distribute: provisioning %d zones (%d records each)\n", options.zones,
                options.records);
    std::fflush(stdout);
    provisioning = RunProvisioning(
        method, secondaries, primary_dns, ZoneNames("prov.distribute.bench.", options.zones),
        [&](const std::string& name) {
          return cluster.CreateZone(name, 1, ZoneRecords(name, options.records).dump());
        });
    RecordProvisioning(kDistribute, provisioning, options.zones);
    rows.push_back(provisioning.row);
  }
  if (options.bootstrap && !provisioning.zones.empty()) {
    std::printf("  pdns-distribute: starting the health-checker, then a third secondary\n");
    std::fflush(stdout);
    if (Status s = cluster.StartHealthChecker(); !s.ok()) return s;
    // Its first full checks of the two running secondaries must not overlap the bootstrap.
    if (!CheckerSettled(*cluster.checker, kSecondaries)) {
      std::fprintf(g_err, "  the health-checker did not finish its first checks in 120 s\n");
    }
    const Clock::time_point start = Clock::now();
    if (Status s = cluster.AddSecondary(); !s.ok()) return s;
    const Bootstrap bootstrap = WaitServesAll(cluster.secondaries.back()->dns_address(),
                                              provisioning.zones, provisioning.serials, start);
    RecordBootstrap(kDistribute, bootstrap, provisioning.zones.size());
    secondaries.push_back(cluster.secondaries.back()->dns_address());
  }
  if (options.deletes > 0 && !provisioning.zones.empty()) {
    std::printf("  pdns-distribute: deleting %d zones\n", options.deletes);
    std::fflush(stdout);
    rows.push_back(RunDeletions(method, secondaries, Pick(provisioning.zones, options.deletes),
                                [&](const std::string& name) {
                                  return cluster.Proxy("DELETE", Cluster::ZonesPath(name));
                                }));
    RecordDeletions(kDistribute, rows.back());
  }
  std::vector<PdnsServer*> pdns_secondaries;
  for (auto& s : cluster.secondaries) pdns_secondaries.push_back(s.get());
  resources.Record(kDistribute, cluster.primary, pdns_secondaries, &cluster.nats);
  Progress("%s: done, stopping\n", "pdns-distribute");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// (b) PowerDNS native NOTIFY/AXFR replication.

struct NativeProfile {
  std::string name;
  std::vector<std::string> primary;    // besides also-notify
  std::vector<std::string> secondary;  // besides kSecondaryCommon
};

// Needed for replication to work at all (the zones' NS names do not resolve), in every profile.
const std::vector<std::string> kPrimaryRequired = {"only-notify=",
                                                   "allow-axfr-ips=127.0.0.0/8,::1"};
const std::vector<std::string> kSecondaryRequired = {"allow-notify-from=127.0.0.0/8,::1"};

NativeProfile BestTuned() {
  return {"best-tuned",
          {"xfr-cycle-interval=1", "slave-cycle-interval=1", "max-tcp-connections=200"},
          {"xfr-cycle-interval=1", "slave-cycle-interval=1", "retrieval-threads=4"}};
}
NativeProfile Spinning() {
  return {"spinning",
          {"xfr-cycle-interval=0", "slave-cycle-interval=0", "max-tcp-connections=200"},
          {"xfr-cycle-interval=0", "slave-cycle-interval=0", "retrieval-threads=4"}};
}
NativeProfile Defaults() { return {"stock defaults", {}, {}}; }

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "`" : ", `") + line + "`";
  return out.empty() ? "(none)" : out;
}

// A loopback port held (TCP and UDP sockets bound to it) until Release(), so that no ephemeral
// socket of the bench's pollers takes it meanwhile. FreePort alone does not hold a port, and a
// spare secondary started minutes later could find its port taken.
class HeldPort {
 public:
  HeldPort() {
    for (int attempt = 0; attempt < 50 && port_ == 0; ++attempt) {
      const int tcp = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t length = sizeof address;
      if (tcp < 0 || bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
          getsockname(tcp, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        if (tcp >= 0) close(tcp);
        continue;
      }
      const int udp = socket(AF_INET, SOCK_DGRAM, 0);
      if (udp < 0 || bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        close(tcp);
        if (udp >= 0) close(udp);
        continue;
      }
      tcp_ = tcp;
      udp_ = udp;
      port_ = ntohs(address.sin_port);
    }
  }
  ~HeldPort() { Release(); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  uint16_t port() const { return port_; }
  void Release() {
    if (tcp_ >= 0) close(tcp_);
    if (udp_ >= 0) close(udp_);
    tcp_ = udp_ = -1;
  }

 private:
  int tcp_ = -1;
  int udp_ = -1;
  uint16_t port_ = 0;
};

struct NativeCluster {
  explicit NativeCluster(NativeProfile p) : profile(std::move(p)) {}
  NativeProfile profile;
  PdnsServer primary;
  std::vector<std::unique_ptr<PdnsServer>> secondaries;

  PdnsOptions SecondaryOptions(int i, uint16_t dns_port, uint16_t api_port) const {
    PdnsOptions o = PdnsOptions()
                        .WithName("native-secondary" + std::to_string(i))
                        .Secondary()
                        .WithHost("127.0.0.1")
                        .WithPorts(dns_port, api_port);
    for (const auto& line : kSecondaryRequired) o.WithConfig(line);
    for (const auto& line : kSecondaryCommon) o.WithConfig(line);
    for (const auto& line : profile.secondary) o.WithConfig(line);
    return o;
  }

  // `count` secondaries now, plus `spare` whose ports the primary's also-notify names already
  // (so that a secondary added later gets NOTIFYs like the others).
  Status Start(int count, int spare) {
    const std::string host = "127.0.0.1";
    std::string also_notify;
    for (int i = 0; i < count + spare; ++i) {
      held_.push_back(std::make_unique<HeldPort>());
      held_.push_back(std::make_unique<HeldPort>());
      ports_.emplace_back(held_[held_.size() - 2]->port(), held_.back()->port());
      also_notify += (i ? "," : "") + host + ":" + std::to_string(ports_.back().first);
    }
    PdnsOptions primary_options = PdnsOptions().WithName("native-primary").Primary().WithHost(host);
    primary_options.WithConfig("also-notify=" + also_notify);
    for (const auto& line : kPrimaryRequired) primary_options.WithConfig(line);
    for (const auto& line : profile.primary) primary_options.WithConfig(line);
    if (Status s = primary.Start(primary_options); !s.ok()) return s;
    for (int i = 0; i < count; ++i) {
      if (Status s = AddSecondary(); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status AddSecondary() {
    const size_t i = secondaries.size();
    if (i >= ports_.size()) return Status::Internal("no spare secondary port");
    held_[2 * i]->Release();
    held_[2 * i + 1]->Release();
    auto server = std::make_unique<PdnsServer>();
    if (Status s =
            server->Start(SecondaryOptions(static_cast<int>(i), ports_[i].first, ports_[i].second));
        !s.ok()) {
      return s;
    }
    secondaries.push_back(std::move(server));
    return Status::Ok();
  }

  std::vector<HostPort> SecondaryAddresses() const {
    std::vector<HostPort> addresses;
    for (const auto& secondary : secondaries) addresses.push_back(secondary->dns_address());
    return addresses;
  }
  std::vector<PdnsServer*> SecondaryServers() const {
    std::vector<PdnsServer*> servers;
    for (const auto& secondary : secondaries) servers.push_back(secondary.get());
    return servers;
  }

  static std::string ZonePath(const std::string& zone) {
    return std::string(kZonesPath) + "/" + ZoneNameToApiId(zone);
  }

  // A zone on `server`: kind `kind` (Slave or Consumer), masters = the primary, retrieved now.
  Status AddOn(PdnsServer& server, const std::string& zone, const std::string& kind) {
    const nlohmann::json body = {
        {"name", zone}, {"kind", kind}, {"masters", {primary.dns_address().ToString()}}};
    HttpResponse r = server.Api("POST", kZonesPath, body.dump());
    if (r.status != 201) {
      return Status::Internal("creating " + kind + " " + zone + " on a secondary: " +
                              std::to_string(r.status) + " " + r.error + r.body);
    }
    r = server.Api("PUT", ZonePath(zone) + "/axfr-retrieve");
    if (r.status != 200) {
      return Status::Internal("axfr-retrieve " + zone + ": " + std::to_string(r.status) + " " +
                              r.error + r.body);
    }
    return Status::Ok();
  }
  Status AddOnSecondaries(const std::string& zone, const std::string& kind) {
    for (auto& secondary : secondaries) {
      if (Status s = AddOn(*secondary, zone, kind); !s.ok()) return s;
    }
    return Status::Ok();
  }

  // The catalog: a Producer on the primary, a Consumer on each secondary.
  Status SetUpCatalog(const std::string& catalog) {
    HttpResponse r = primary.Api("POST", kZonesPath, PrimaryZoneBody(catalog, "Producer"));
    if (r.status != 201) {
      return Status::Internal("creating the producer zone: " + std::to_string(r.status) + " " +
                              r.error + r.body);
    }
    if (Status s = AddOnSecondaries(catalog, "Consumer"); !s.ok()) return s;
    const uint32_t serial = ServedSerialAfter(primary.dns_address(), catalog, 0);
    if (!WaitAllServe(SecondaryAddresses(), catalog, serial, kChangeTimeout)) {
      return Status::Timeout("catalog " + catalog + " not served by all native secondaries");
    }
    return Status::Ok();
  }

  HttpResponse CreateMember(const std::string& zone, const std::string& catalog, int records) {
    nlohmann::json body = nlohmann::json::parse(PrimaryZoneBody(zone, "Master", catalog));
    for (auto& rrset : ZoneRecords(zone, records)) body["rrsets"].push_back(rrset);
    return primary.Api("POST", kZonesPath, body.dump());
  }

 private:
  std::vector<std::pair<uint16_t, uint16_t>> ports_;
  std::vector<std::unique_ptr<HeldPort>> held_;  // two per secondary: DNS, API
};

std::string NativeMethod(const NativeProfile& profile) { return "PowerDNS native " + profile.name; }

// The change test on a fresh native cluster of `profile`.
Status NativeChanges(NativeCluster& native, int count, std::vector<Row>& rows, Column column) {
  const std::string zone = "change.native.bench.";
  HttpResponse r = native.primary.Api("POST", kZonesPath, PrimaryZoneBody(zone, "Master"));
  if (r.status != 201) {
    return Status::Internal("creating " + zone + " on the primary: " + std::to_string(r.status) +
                            " " + r.error + r.body);
  }
  if (Status s = native.AddOnSecondaries(zone, "Slave"); !s.ok()) return s;
  const HostPort primary_dns = native.primary.dns_address();
  const std::vector<HostPort> secondaries = native.SecondaryAddresses();
  const uint32_t serial = ServedSerialAfter(primary_dns, zone, 0);
  if (!WaitAllServe(secondaries, zone, serial, kChangeTimeout)) {
    return Status::Timeout(zone + " (serial " + std::to_string(serial) +
                           ") not served by both native secondaries");
  }
  rows.push_back(RunChanges(NativeMethod(native.profile) + " NOTIFY/AXFR", secondaries, primary_dns,
                            zone, count, 1, milliseconds(1000), [&](const std::string& body) {
                              return native.primary.Api("PATCH", NativeCluster::ZonePath(zone),
                                                        body);
                            }));
  rows.back().what = "change -> all secondaries";
  RecordChanges(column, rows.back());
  return Status::Ok();
}

Status RunNativeBest(const Options& options, std::vector<Row>& rows) {
  Progress("PowerDNS native %s: starting primary + 2 secondaries\n", "best-tuned");
  Resources resources;
  NativeCluster native(BestTuned());
  if (Status s = native.Start(kSecondaries, 1); !s.ok()) return s;
  const HostPort primary_dns = native.primary.dns_address();
  const std::string method = NativeMethod(native.profile) + " (catalog zones)";

  if (options.native_changes > 0) {
    if (Status s = NativeChanges(native, options.native_changes, rows, kNative); !s.ok()) return s;
  }
  if (options.duration > 0) {
    const std::vector<std::string> load = ZoneNames("load.native.bench.", options.load_zones);
    for (const auto& name : load) {
      HttpResponse r = native.primary.Api("POST", kZonesPath, PrimaryZoneBody(name, "Master"));
      if (r.status != 201) return Status::Internal("creating " + name + ": " + r.body);
      if (Status s = native.AddOnSecondaries(name, "Slave"); !s.ok()) return s;
    }
    for (const auto& name : load) {
      if (!WaitAllServe(native.SecondaryAddresses(), name, ServedSerialAfter(primary_dns, name, 0),
                        kChangeTimeout)) {
        return Status::Timeout(name + " not served by both native secondaries");
      }
    }
    std::printf("  PowerDNS native best-tuned: sustained load, %d changes/s for %d s\n",
                options.rate, options.duration);
    std::fflush(stdout);
    Sustained sustained =
        RunSustained(NativeMethod(native.profile) + " NOTIFY/AXFR", native.SecondaryAddresses(),
                     primary_dns, load, options.rate, options.duration, seconds(60),
                     [&](const std::string& name, const std::string& body) {
                       return native.primary.Api("PATCH", NativeCluster::ZonePath(name), body);
                     });
    RecordSustained(kNative, sustained, options.rate);
    rows.push_back(sustained.row);
  }
  if (options.native_zones > 0) {
    const std::string catalog = "catalog.native.bench.";
    if (Status s = native.SetUpCatalog(catalog); !s.ok()) return s;
    std::printf("  PowerDNS native best-tuned: provisioning %d catalog member zones\n",
                options.native_zones);
    std::fflush(stdout);
    Provisioning provisioning = RunProvisioning(
        method, native.SecondaryAddresses(), primary_dns,
        ZoneNames("prov.native.bench.", options.native_zones), [&](const std::string& name) {
          return native.CreateMember(name, catalog, options.records);
        });
    RecordProvisioning(kNative, provisioning, options.native_zones);
    rows.push_back(provisioning.row);

    if (options.bootstrap && !provisioning.zones.empty()) {
      std::printf("  PowerDNS native best-tuned: a third secondary consumes the catalog\n");
      std::fflush(stdout);
      const Clock::time_point start = Clock::now();
      if (Status s = native.AddSecondary(); !s.ok()) return s;
      if (Status s = native.AddOn(*native.secondaries.back(), catalog, "Consumer"); !s.ok()) {
        return s;
      }
      const Bootstrap bootstrap = WaitServesAll(native.secondaries.back()->dns_address(),
                                                provisioning.zones, provisioning.serials, start);
      RecordBootstrap(kNative, bootstrap, provisioning.zones.size());
    }
    if (options.deletes > 0 && !provisioning.zones.empty()) {
      std::printf("  PowerDNS native best-tuned: deleting %d catalog member zones\n",
                  options.deletes);
      std::fflush(stdout);
      rows.push_back(
          RunDeletions(method, native.SecondaryAddresses(),
                       Pick(provisioning.zones, options.deletes), [&](const std::string& name) {
                         return native.primary.Api("DELETE", NativeCluster::ZonePath(name));
                       }));
      RecordDeletions(kNative, rows.back());
    }
  }
  resources.Record(kNative, native.primary, native.SecondaryServers(), nullptr);
  Progress("PowerDNS native %s: done, stopping\n", "best-tuned");
  return Status::Ok();
}

Status RunNativeSpin(const Options& options, std::vector<Row>& rows) {
  Progress("PowerDNS native %s: starting primary + 2 secondaries\n", "spinning (cycle 0)");
  Resources resources;
  NativeCluster native(Spinning());
  if (Status s = native.Start(kSecondaries, 0); !s.ok()) return s;
  if (Status s = NativeChanges(native, options.spin_changes, rows, kSpin); !s.ok()) return s;
  resources.Record(kSpin, native.primary, native.SecondaryServers(), nullptr);
  Progress("PowerDNS native %s: done, stopping\n", "spinning");
  return Status::Ok();
}

Status RunNativeDefaults(const Options& options, std::vector<Row>& rows) {
  Progress("PowerDNS native %s: starting primary + 2 secondaries\n", "stock defaults");
  Resources resources;
  NativeCluster native(Defaults());
  if (Status s = native.Start(kSecondaries, 0); !s.ok()) return s;
  const std::string catalog = "catalog.native.bench.";
  if (Status s = native.SetUpCatalog(catalog); !s.ok()) return s;
  std::printf("  PowerDNS native stock defaults: provisioning %d catalog member zones\n",
              options.default_zones);
  std::fflush(stdout);
  Provisioning provisioning = RunProvisioning(
      NativeMethod(native.profile) + " (catalog zones)", native.SecondaryAddresses(),
      native.primary.dns_address(), ZoneNames("prov.native.bench.", options.default_zones),
      [&](const std::string& name) { return native.CreateMember(name, catalog, options.records); },
      kDefaultsSettleTimeout);
  if (options.default_zones == options.zones) {
    RecordProvisioning(kDefaults, provisioning, options.default_zones);
  } else {
    g_notes.push_back("native stock defaults provisioned " + std::to_string(options.default_zones) +
                      " zones, not " + std::to_string(options.zones) +
                      ": see the detail table only");
  }
  rows.push_back(provisioning.row);
  resources.Record(kDefaults, native.primary, native.SecondaryServers(), nullptr);
  Progress("PowerDNS native %s: done, stopping\n", "stock defaults");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------

std::string MachineDescription() {
  std::string cpu;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname uts{};
  uname(&uts);
  return std::to_string(std::thread::hardware_concurrency()) + " cores" +
         (cpu.empty() ? "" : " (" + cpu + ")") + ", " + uts.sysname + " " + uts.release + " " +
         uts.machine;
}

std::string HostName() {
  utsname uts{};
  uname(&uts);
  return uts.nodename;
}

// "0.52 0.31 0.20" (1, 5, 15 min): other work on the machine skews every figure.
std::string LoadAverage() {
  std::string text = testing::ReadFile("/proc/loadavg");
  size_t end = 0;
  for (int fields = 0; fields < 3 && end != std::string::npos; ++fields) {
    end = text.find(' ', end + (fields ? 1 : 0));
  }
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string FirstLineAfter(const std::string& command, const std::string& marker) {
  std::string out = testing::RunCommand(command);
  const size_t at = out.find(marker);
  if (at == std::string::npos) return "?";
  const size_t begin = at + marker.size();
  return out.substr(begin, out.find_first_of(" \n,", begin) - begin);
}

std::string Settings(const Options& options) {
  const NativeProfile best = BestTuned(), spin = Spinning();
  std::string s;
  s += "Every pdns_server (both systems) runs the test fixture's base config "
       "(tests/support/processes.cc): `launch=gsqlite3`, `gsqlite3-dnssec=yes`, `api=yes`, "
       "`loglevel=6`, `log-dns-queries=no`; primaries `primary=yes`, "
       "`allow-axfr-ips=127.0.0.0/8,::1`; secondaries `secondary=yes`, "
       "`allow-notify-from=127.0.0.0/8,::1`. Loopback only, sqlite3 backend.\n\n";
  s += "| | pdns-distribute | native best-tuned | native spinning | native stock defaults |\n";
  s += "|---|---|---|---|---|\n";
  s += "| primary pdns.conf, extra | (none) | `also-notify=<secondaries>`, " +
       Join(kPrimaryRequired) + ", " + Join(best.primary) + " | same, " + Join(spin.primary) +
       " | `also-notify=<secondaries>`, " + Join(kPrimaryRequired) + " |\n";
  s += "| secondary pdns.conf, extra | " + Join(kSecondaryCommon) + " | " + Join(kSecondaryCommon) +
       ", " + Join(kSecondaryRequired) + ", " + Join(best.secondary) + " | same, " +
       Join(spin.secondary) + " | " + Join(kSecondaryCommon) + ", " + Join(kSecondaryRequired) +
       " |\n";
  s += "| how a change travels | PATCH via api-proxy (HTTPS) -> NATS event -> syncers -> "
       "`axfr-retrieve` from the syncer's AXFR endpoint | PATCH to the primary's API -> "
       "NOTIFY at the primary's next xfr cycle -> AXFR at the secondary's next cycle | same | "
       "(not measured) |\n";
  s += "| how a zone is provisioned | POST via api-proxy -> NATS -> syncers create + retrieve | "
       "catalog zones: member `kind: Master`, `catalog` set, Producer on the primary, Consumer "
       "on each secondary | (not measured) | same as best-tuned |\n";
  s += "| bootstrap of a third secondary | `Cluster::AddSecondary()`; the health-checker "
       "(started just before, in-process, after its first full checks) runs a full check at "
       "the new syncer's first heartbeat (ping every 200 ms; checker: 8 workers, "
       "event-check wait 20 s, refresh 60 s, periodic check 3600 s, NSEC3 check off) | a third "
       "pdns_server (already in "
       "the primary's also-notify) + its Consumer zone, `axfr-retrieve` | (not measured) | (not "
       "measured) |\n";
  s += "| sustained load | PATCHes via api-proxy | PATCHes to the primary's API, zones `Master` "
       "on the primary and `Slave` on the secondaries | (not measured) | (not measured) |\n";
  s += "| deletion | DELETE via api-proxy | DELETE on the primary: member leaves the catalog, "
       "consumers drop it | (not measured) | (not measured) |\n";
  s += "\nSizes: " + std::to_string(options.changes) + " changes (pdns-distribute), " +
       std::to_string(options.native_changes) + " (native best-tuned), " +
       std::to_string(options.spin_changes) + " (native spinning); " +
       std::to_string(options.zones) + " zones of " + std::to_string(options.records) +
       " A records + SOA + NS (pdns-distribute), " + std::to_string(options.native_zones) +
       " (native best-tuned), " + std::to_string(options.default_zones) +
       " (native stock defaults); " + std::to_string(options.deletes) +
       " deletions per system, 1.5 s apart; sustained load " + std::to_string(options.rate) +
       " changes/s for " + std::to_string(options.duration) + " s over " +
       std::to_string(options.load_zones) +
       " zones. Pause between changes: random 0-20 ms (pdns-distribute), "
       "0-1000 ms (native, so that changes do not lock onto the 1 s cycles). Secondaries are "
       "polled over DNS (SOA, UDP) in a ~1 ms loop, one thread per secondary.\n";
  return s;
}

int Main(int argc, char** argv) {
  std::optional<Options> parsed = ParseOptions(argc, argv);
  if (!parsed) return 2;
  const Options options = *parsed;

  // The in-process services log to stderr (debug level in the test cluster): send fd 2 to the
  // log file and keep our own messages on a copy of the original stderr.
  const int saved_stderr = dup(STDERR_FILENO);
  const int log_fd = open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (saved_stderr < 0 || log_fd < 0) {
    std::perror(options.log_path.c_str());
    return 2;
  }
  g_err = fdopen(saved_stderr, "w");
  std::setvbuf(g_err, nullptr, _IONBF, 0);
  dup2(log_fd, STDERR_FILENO);
  close(log_fd);

  char date[64], day[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
  const std::string load_start = LoadAverage();
  std::string header =
      "propagation_bench " + std::string(date) + "\nmachine: " + MachineDescription() +
      "; PowerDNS " +
      FirstLineAfter("pdns_server --version 2>&1", "PowerDNS Authoritative Server ") +
      ", nats-server " + FirstLineAfter("nats-server --version 2>&1", ": v") +
      "; loopback, 2 secondaries; load average at the start " + load_start + "\n";
  std::printf("%s\n", header.c_str());
  std::fflush(stdout);

  std::vector<Row> rows;
  int exit_code = 0;
  auto run = [&](const char* name, Status status) {
    if (!status.ok()) {
      std::fprintf(g_err, "%s run failed: %s\n", name, status.ToString().c_str());
      g_notes.push_back(std::string(name) + " run failed: " + status.ToString());
      exit_code = 1;
    }
  };
  // One system after the other; each cluster is stopped before the next starts.
  run("pdns-distribute", RunDistribute(options, rows));
  run("PowerDNS native best-tuned", RunNativeBest(options, rows));
  if (options.spin_changes > 0) {
    run("PowerDNS native spinning", RunNativeSpin(options, rows));
  }
  if (options.default_zones > 0) {
    run("PowerDNS native stock defaults", RunNativeDefaults(options, rows));
  }
  const std::string load_end = LoadAverage();

  g_notes.push_back(
      "(*) new zone: measured from the create call returning; the create call alone is the "
      "floor of what a client waits for before that.");
  g_notes.push_back(
      "Resources are per run (from the start of each system's cluster to just before it "
      "stops) and are not comparable across columns whose runs did different work. "
      "pdns-distribute's api-proxy, zone-provider, syncers and health-checker run inside the "
      "bench process: their CPU and memory are in the 'bench process' row, together with the "
      "bench's own DNS pollers and HTTP clients; in the native columns that row is the pollers "
      "and clients alone. Peak RSS is VmHWM; a secondary added for the bootstrap counts from "
      "its start. The pdns_server CPU includes answering the bench's SOA probes (the same "
      "~1 ms polling on both systems; longer waits mean more probes).");
  g_notes.push_back(
      "ratio: native best-tuned / pdns-distribute for times, pdns-distribute / native for "
      "rates; below 0.95 the cell says (pdns-distribute worse).");
  g_notes.push_back("Load average at the start " + load_start + ", at the end " + load_end +
                    " (2 cores; other work on the machine inflates every figure).");

  std::string report = "# propagation_bench results\n\n```\n" + header + "```\n\n";
  std::string command = "build/bench/bench/propagation_bench";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  report += "Command: `" + command + "`\n\n## Summary\n\n" + g_figures.Markdown() + "\n";
  for (const auto& note : g_notes) report += "- " + note + "\n";
  report +=
      "\n## Detail\n\n```\n" + DetailTable(rows) + "```\n\n## Settings\n\n" + Settings(options);

  std::printf("\n%s\n", DetailTable(rows).c_str());
  std::printf("%s\n", g_figures.Markdown().c_str());
  for (const auto& note : g_notes) std::printf("- %s\n", note.c_str());
  std::fflush(stdout);

  if (options.out_path != "-") {
    std::string path = options.out_path;
    if (path.empty()) {
      path = std::string(PDNSD_BENCH_RESULTS_DIR) + "/" + day + "-" + HostName() +
             (options.quick ? "-quick" : "") + ".md";
      std::error_code ec;
      std::filesystem::create_directories(PDNSD_BENCH_RESULTS_DIR, ec);
    }
    std::ofstream out(path);
    out << report;
    if (out.good()) {
      std::printf("\nwritten to %s\n", path.c_str());
    } else {
      std::fprintf(g_err, "could not write %s\n", path.c_str());
    }
  }
  if (exit_code != 0 && options.log_path == "/dev/null") {
    std::fprintf(g_err, "(run with --log FILE to keep the services' logs)\n");
  }
  return exit_code;
}

}  // namespace
}  // namespace pdnsd::bench

int main(int argc, char** argv) { return pdnsd::bench::Main(argc, argv); }
