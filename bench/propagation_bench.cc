// propagation_bench: pdns-distribute side by side with PowerDNS's own NOTIFY/AXFR replication, in
// one run, on loopback, one system after the other (never both at once). Prints figures and
// asserts nothing (speed is measured here, never in a timed test). Issue 4.
//
//   (a) pdns-distribute: tests/support Cluster in process mode: nats-server, PowerDNS primary
//       + 2 secondaries, and the four pdns-* binaries of this build, each its own process.
//   (b) PowerDNS native replication (native_cluster.h) in three profiles, each its own set of
//       pdns_server processes, run one after the other: best-tuned (the ratio column),
//       spinning (changes only) and stock defaults.
//
// The workloads (workloads.h) are the same for every system; each test's CPU seconds and peak
// RSS are read per process (process_usage.h). The report (report.h) is printed and written to
// bench/results/<date>-<host>.md.
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "native_cluster.h"
#include "primary_backend.h"
#include "process_usage.h"
#include "report.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "workloads.h"

#ifndef PDNSD_BENCH_RESULTS_DIR
#define PDNSD_BENCH_RESULTS_DIR "bench/results"
#endif
#ifndef PDNSD_BIN_DIR
#define PDNSD_BIN_DIR "build/bench/src/cmd"
#endif

namespace pdnsd::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Cluster;
using testing::ClusterOptions;

constexpr int kSecondaries = 2;
constexpr milliseconds kDefaultsSettleTimeout{300000};  // stock cycles are 60 s

void Progress(const std::string& text) {
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  int changes = 50;
  int native_changes = 50;
  int spin_changes = 50;
  int default_changes = 50;
  int zones = 1000;
  int native_zones = 1000;
  int default_zones = 1000;
  int records = 10;
  int deletes = 5;
  std::vector<int> rates = {50, 200};  // sustained load: changes/s, one test each
  int duration = 30;                   // sustained load: seconds (0 skips)
  int load_zones = 10;
  bool bootstrap = true;
  bool quick = false;
  std::string out_path;             // empty: bench/results/<date>-<host>[-quick].md; "-": no file
  std::string perf_dir;             // not empty: perf record -a of every test into this directory
  int proxy_write_concurrency = 0;  // the api-proxy's [PowerDNS] WriteConcurrency
  // pdns-distribute's nats-server: with JetStream (the services' [JetStream] Mode "auto" then
  // distributes zone versions through it) or core NATS only.
  bool jetstream = true;
  // The fan-out test: one fresh cluster per N of `fanout_secondaries` (empty: not run), each
  // system `fanout_changes` changes of a signed zone of `fanout_records` A records.
  std::vector<int> fanout_secondaries;
  int fanout_changes = 20;
  int fanout_records = 500;
  bool fanout_only = false;  // only the fan-out test
  // Every primary (both systems) on PostgreSQL (gpgsql) instead of sqlite3 (gsqlite3).
  bool gpgsql = false;
};

void PrintUsage(const char* argv0) {
  std::printf(
      "usage: %s [--changes N] [--native-changes N] [--spin-changes N] [--default-changes N]\n"
      "          [--zones N] [--native-zones N] [--default-zones N] [--records N] [--deletes N]\n"
      "          [--rate N[,N...]] [--duration S] [--no-bootstrap] [--quick] [--out FILE|-]\n"
      "          [--perf DIR] [--proxy-write-concurrency N] [--transport jetstream|core]\n"
      "          [--secondaries N[,N...]] [--fanout-changes N] [--fanout-records N]\n"
      "          [--only-fanout] [--primary-backend gsqlite3|gpgsql]\n"
      "  --changes N          pdns-distribute: PATCHes measured (default 50)\n"
      "  --native-changes N   native best-tuned: PATCHes measured (default 50)\n"
      "  --spin-changes N     native spinning profile: PATCHes (default 50; 0 skips the profile)\n"
      "  --default-changes N  native stock defaults: PATCHes (default 50)\n"
      "  --zones N            zones provisioned by pdns-distribute (default 1000)\n"
      "  --native-zones N     native best-tuned: catalog zones provisioned (default: --zones)\n"
      "  --default-zones N    native stock defaults: catalog zones provisioned (default: --zones)\n"
      "  --records N          A records per provisioned zone besides SOA and NS (default 10)\n"
      "  --deletes N          zones deleted and timed on each system (default 5)\n"
      "  --rate N[,N...]      sustained load: changes/s over 10 zones, one test per rate\n"
      "                       (default 50,200)\n"
      "  --duration S         sustained load: seconds per rate (default 30; 0 skips)\n"
      "  --no-bootstrap       skip the third-secondary bootstrap\n"
      "  --quick              10 changes (5 native, 3 spinning), 50 zones, 2 deletions, 5 s of\n"
      "                       50/s, no stock-defaults profile (explicit flags still win); < 3 min\n"
      "  --out FILE           results file (default " PDNSD_BENCH_RESULTS_DIR
      "/<date>-<host>.md,\n"
      "                       -quick.md with --quick; '-' writes none)\n"
      "  --perf DIR           record every test with 'perf record -a -g' (cpu-clock) into\n"
      "                       DIR/<system>-<test>.data, pids of the processes in .pids files\n"
      "  --proxy-write-concurrency N  the api-proxy's [PowerDNS] WriteConcurrency (default 0:\n"
      "                       no limit, the product's default)\n"
      "  --transport T        pdns-distribute's nats-server: jetstream (default; the services'\n"
      "                       [JetStream] Mode auto uses it) or core (core NATS only)\n"
      "  --secondaries N[,N...]  the fan-out test: for each N a fresh cluster of each system\n"
      "                       (pdns-distribute, native best-tuned) with N secondaries; per\n"
      "                       change of a signed zone: the primary's AXFRs and CPU, change ->\n"
      "                       all secondaries (default: not run; e.g. 1,2,4,8)\n"
      "  --fanout-changes N   fan-out test: changes per system and N (default 20)\n"
      "  --fanout-records N   fan-out test: A records of the signed zone (default 500)\n"
      "  --only-fanout        run the fan-out test only (needs --secondaries)\n"
      "  --primary-backend B  every primary's backend, both systems: gsqlite3 (default, the\n"
      "                       small profile) or gpgsql (one PostgreSQL started for the run,\n"
      "                       stock settings, a database per primary; its CPU counts for both)\n",
      argv0);
}

std::optional<Options> ParseOptions(int argc, char** argv) {
  std::map<std::string, int> given;
  std::optional<std::vector<int>> rates;
  Options options;
  auto number = [&](int& i, const std::string& name) {
    if (i + 1 >= argc) return false;
    char* end = nullptr;
    const long value = std::strtol(argv[++i], &end, 10);
    if (end == argv[i] || *end != '\0' || value < 0 || value > 1000000) return false;
    given[name] = static_cast<int>(value);
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    bool ok = true;
    if (arg == "--changes" || arg == "--native-changes" || arg == "--spin-changes" ||
        arg == "--default-changes" || arg == "--zones" || arg == "--native-zones" ||
        arg == "--default-zones" || arg == "--records" || arg == "--deletes" ||
        arg == "--duration" || arg == "--proxy-write-concurrency" || arg == "--fanout-changes" ||
        arg == "--fanout-records") {
      ok = number(i, std::string(arg));
    } else if (arg == "--secondaries" && i + 1 < argc) {
      std::istringstream list(argv[++i]);
      for (std::string item; ok && std::getline(list, item, ',');) {
        char* end = nullptr;
        const long value = std::strtol(item.c_str(), &end, 10);
        ok = end != item.c_str() && *end == '\0' && value >= 1 && value <= 32;
        if (ok) options.fanout_secondaries.push_back(static_cast<int>(value));
      }
      ok = ok && !options.fanout_secondaries.empty();
    } else if (arg == "--transport" && i + 1 < argc) {
      const std::string_view transport = argv[++i];
      ok = transport == "jetstream" || transport == "core";
      options.jetstream = transport == "jetstream";
    } else if (arg == "--primary-backend" && i + 1 < argc) {
      const std::string_view backend = argv[++i];
      ok = backend == "gsqlite3" || backend == "gpgsql";
      options.gpgsql = backend == "gpgsql";
    } else if (arg == "--only-fanout") {
      options.fanout_only = true;
    } else if (arg == "--rate" && i + 1 < argc) {
      rates.emplace();
      std::istringstream list(argv[++i]);
      for (std::string item; ok && std::getline(list, item, ',');) {
        char* end = nullptr;
        const long value = std::strtol(item.c_str(), &end, 10);
        ok = end != item.c_str() && *end == '\0' && value >= 1 && value <= 100000;
        if (ok) rates->push_back(static_cast<int>(value));
      }
      ok = ok && !rates->empty();
    } else if (arg == "--no-bootstrap") {
      options.bootstrap = false;
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--out" && i + 1 < argc) {
      options.out_path = argv[++i];
    } else if (arg == "--perf" && i + 1 < argc) {
      options.perf_dir = argv[++i];
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
    options.native_changes = 5;
    options.spin_changes = 3;
    options.default_changes = 0;
    options.zones = 50;
    options.deletes = 2;
    options.rates = {50};
    options.duration = 5;
  }
  auto take = [&](const char* name, int& field) {
    if (given.count(name)) field = given[name];
  };
  take("--changes", options.changes);
  take("--native-changes", options.native_changes);
  take("--spin-changes", options.spin_changes);
  take("--default-changes", options.default_changes);
  take("--zones", options.zones);
  take("--records", options.records);
  take("--deletes", options.deletes);
  take("--duration", options.duration);
  take("--proxy-write-concurrency", options.proxy_write_concurrency);
  take("--fanout-changes", options.fanout_changes);
  take("--fanout-records", options.fanout_records);
  if (options.fanout_only && options.fanout_secondaries.empty()) {
    std::fprintf(stderr, "--only-fanout needs --secondaries\n");
    return std::nullopt;
  }
  if (rates) options.rates = *rates;
  options.native_zones = options.zones;
  options.default_zones = options.quick ? 0 : options.zones;
  take("--native-zones", options.native_zones);
  take("--default-zones", options.default_zones);
  options.deletes = std::min({options.deletes, options.zones, options.native_zones});
  return options;
}

bool RunsStockDefaults(const Options& options) {
  return options.default_changes > 0 || options.default_zones > 0;
}

// ---------------------------------------------------------------------------------------------
// One system's tests: each test is measured for resources (ResourceMeter) and recorded.

// "native best-tuned (cycle 1 s)" -> "native-best-tuned-cycle-1-s"
std::string Slug(const std::string& text) {
  std::string slug;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      slug += c;
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

class SystemRun {
 public:
  // `perf_dir` not empty: each test is also recorded by `perf record -a` into
  // <perf_dir>/<system>-<test>.data, with the pid of every process in a .pids file beside it.
  SystemRun(Report& report, Column column, std::function<std::vector<WatchedProcess>()> processes,
            std::string perf_dir)
      : report_(report),
        column_(column),
        processes_(std::move(processes)),
        perf_dir_(std::move(perf_dir)) {}

  // Runs `body` as test `test` and records the CPU and peak RSS of every process over it.
  void Measure(const std::string& test, const std::function<void()>& body) {
    const std::string perf_base = perf_dir_ + "/" + Slug(ColumnName(column_)) + "-" + Slug(test);
    testing::ChildProcess perf;
    if (!perf_dir_.empty()) {
      const Status started = perf.Start(
          {"perf", "record", "-e", "cpu-clock", "-F", "499", "-g", "-a", "-o", perf_base + ".data"},
          perf_base + ".log");
      if (!started.ok()) std::fprintf(stderr, "  perf: %s\n", started.ToString().c_str());
    }
    ResourceMeter meter;
    meter.Begin(processes_());
    body();
    double wall = 0;
    const std::vector<ProcessUsage> usage = meter.End(processes_(), &wall);
    if (perf.pid() > 0) {
      perf.Signal(SIGINT);
      perf.WaitExit(seconds(30));
      std::string pids;
      for (const WatchedProcess& p : processes_()) {
        pids += std::to_string(p.pid > 0 ? p.pid : getpid()) + " " + p.process + "\n";
      }
      if (Status s = testing::WriteFile(perf_base + ".pids", pids); !s.ok()) {
        std::fprintf(stderr, "  perf: %s\n", s.ToString().c_str());
      }
    }
    report_.resources.Record(test, column_, wall, usage);
    if (!meter.peak_was_reset()) {
      report_.notes.push_back("peak RSS of " + test + " (" + ColumnName(column_) +
                              ") counts from each process's start: clear_refs was refused");
    }
  }
  // The CPU of the system's processes over `test` in milliseconds per one of `units`.
  void RecordCpuPer(const std::string& test, const std::string& figure, double units) {
    const std::optional<double> cpu = report_.resources.SystemCpu(test, column_);
    if (cpu && units > 0) report_.figures.Set(figure, column_, *cpu * 1000 / units);
  }
  // The CPU seconds of the system's processes over `test`, as they are.
  void RecordCpu(const std::string& test, const std::string& figure) {
    const std::optional<double> cpu = report_.resources.SystemCpu(test, column_);
    if (cpu) report_.figures.Set(figure, column_, *cpu);
  }

  Report& report() { return report_; }
  Column column() const { return column_; }

 private:
  Report& report_;
  Column column_;
  std::function<std::vector<WatchedProcess>()> processes_;
  std::string perf_dir_;
};

const char* const kChangesTest = "1. changes";
const char* const kProvisioningTest = "2. provisioning";
const char* const kBootstrapTest = "3. bootstrap";
const char* const kDeletionTest = "4. deletion";
std::string SustainedTest(int rate) { return "5. sustained " + std::to_string(rate) + "/s"; }

void RunChangesTest(SystemRun& run, const std::string& method,
                    const std::vector<HostPort>& secondaries, const HostPort& primary_dns,
                    const std::string& zone, int count, milliseconds max_gap,
                    const std::function<HttpResponse(const std::string& body)>& patch) {
  Report& report = run.report();
  run.Measure(kChangesTest, [&] {
    report.rows.push_back(
        RunChanges(method, secondaries, primary_dns, zone, count, 3, max_gap, patch));
  });
  RecordChanges(report.figures, run.column(), report.rows.back());
  const Row& row = report.rows.back();
  run.RecordCpuPer(kChangesTest, "change: CPU ms per change, all the system's processes",
                   static_cast<double>(row.ms.size() + row.failed + 3));
}

void RunSustainedTests(
    SystemRun& run, const std::string& method, const Options& options,
    const std::vector<HostPort>& secondaries, const HostPort& primary_dns,
    const std::vector<std::string>& zones, milliseconds settle,
    const std::function<HttpResponse(const std::string& zone, const std::string& body)>& patch,
    const std::function<std::optional<int64_t>()>& primary_sessions) {
  for (int rate : options.rates) {
    Progress("  " + method + ": sustained load, " + std::to_string(rate) + " changes/s for " +
             std::to_string(options.duration) + " s");
    Sustained sustained;
    const std::optional<int64_t> sessions_before = primary_sessions();
    run.Measure(SustainedTest(rate), [&] {
      sustained = RunSustained(method, secondaries, primary_dns, zones, rate, options.duration,
                               settle, patch);
    });
    const std::optional<int64_t> sessions_after = primary_sessions();
    RecordSustained(run.report().figures, run.column(), sustained, rate);
    run.report().rows.push_back(sustained.row);
    run.RecordCpuPer(SustainedTest(rate),
                     "sustained " + std::to_string(rate) +
                         "/s: CPU ms per accepted change, all the system's processes",
                     sustained.sent - sustained.patch_failed);
    const int accepted = sustained.sent - sustained.patch_failed;
    if (sessions_before && sessions_after && accepted > 0) {
      // What a PostgreSQL primary pays per change beyond its queries: a backend process forked
      // and authenticated for every session (PowerDNS 4.7: every API call and AXFR opens one).
      run.report().figures.Set(
          "sustained " + std::to_string(rate) + "/s: PostgreSQL sessions per accepted change",
          run.column(), static_cast<double>(*sessions_after - *sessions_before) / accepted,
          /*lower_better=*/true, /*decimals=*/2);
    }
  }
}

Provisioning RunProvisioningTest(SystemRun& run, const std::string& method,
                                 const std::vector<HostPort>& secondaries,
                                 const HostPort& primary_dns, const std::vector<std::string>& zones,
                                 const std::function<HttpResponse(const std::string&)>& create,
                                 milliseconds settle, int compare_zones) {
  Progress("  " + method + ": provisioning " + std::to_string(zones.size()) + " zones");
  Provisioning provisioning;
  run.Measure(kProvisioningTest, [&] {
    provisioning = RunProvisioning(method, secondaries, primary_dns, zones, create, settle);
  });
  Report& report = run.report();
  if (static_cast<int>(zones.size()) == compare_zones) {
    RecordProvisioning(report.figures, run.column(), provisioning, zones.size());
    run.RecordCpuPer(kProvisioningTest, "provisioning: CPU ms per zone, all the system's processes",
                     static_cast<double>(zones.size()));
  } else {
    report.notes.push_back(std::string(ColumnName(run.column())) + " provisioned " +
                           std::to_string(zones.size()) + " zones, not " +
                           std::to_string(compare_zones) + ": see the detail table only");
  }
  report.rows.push_back(provisioning.row);
  return provisioning;
}

void RunDeletionTest(SystemRun& run, const std::string& method,
                     const std::vector<HostPort>& secondaries,
                     const std::vector<std::string>& zones,
                     const std::function<HttpResponse(const std::string&)>& remove,
                     milliseconds timeout) {
  Progress("  " + method + ": deleting " + std::to_string(zones.size()) + " zones");
  Report& report = run.report();
  run.Measure(kDeletionTest, [&] {
    report.rows.push_back(RunDeletions(method, secondaries, zones, remove, timeout));
  });
  RecordDeletions(report.figures, run.column(), report.rows.back(), timeout);
}

// The AXFRs the primary served while a new secondary bootstrapped (with the catalog: none).
void RecordBootstrapAxfrs(Figures& figures, Column column, std::optional<int64_t> before,
                          std::optional<int64_t> after) {
  const std::string name = "bootstrap: AXFRs the primary served meanwhile";
  if (before && after) {
    figures.Set(name, column, static_cast<double>(*after - *before), true, 0);
  } else {
    figures.SetText(name, column, "? (statistics API did not answer)");
  }
}

// ---- 6. Fan-out: the primary's cost per change for N secondaries.

constexpr int kWarmupChanges = 3;  // RunChanges' warm-up, inside the measured window

// "1 secondary", "4 secondaries"
std::string Secondaries(int n) {
  return std::to_string(n) + (n == 1 ? " secondary" : " secondaries");
}

// The zone-provider's own counts, from its metrics endpoint (process mode): nullopt when the
// endpoint does not answer.
struct ProviderCounts {
  int64_t axfrs = 0;        // successful AXFRs of the primary, both paths
  int64_t sweep_marks = 0;  // zones the catalog sweep found differing from the primary
  int64_t unchanged = 0;    // catalog transfers that found the version already published
  int64_t events = 0;       // zone events the catalog publisher took
  int64_t in_progress = 0;  // catalog transfers running at the time of reading
};

std::optional<ProviderCounts> ReadProviderCounts(const Cluster& cluster) {
  for (const testing::ServiceProcess* service : cluster.RunningServices()) {
    if (service->binary != "pdns-zone-provider") continue;
    const HttpResponse metrics = testing::HttpCall("GET", Cluster::MetricsUrl(*service));
    if (metrics.status != 200) return std::nullopt;
    const auto count = [&](std::string_view name, std::initializer_list<std::string_view> labels) {
      return static_cast<int64_t>(testing::MetricSum(metrics.body, name, labels).value_or(0));
    };
    ProviderCounts counts;
    counts.axfrs =
        count("zoneprovider_powerdns_dns_query_total", {"qtype=\"axfr\"", "state=\"successful\""}) +
        count("zoneprovider_catalog_transfers_total", {"state=\"successful\""});
    counts.sweep_marks = count("zoneprovider_catalog_sweep_marks_total", {});
    counts.unchanged = count("zoneprovider_catalog_publishes_total", {"result=\"unchanged\""});
    counts.events = count("zoneprovider_catalog_events_total", {"result=\"accepted\""});
    counts.in_progress = count("zoneprovider_catalog_transfers_in_progress", {});
    return counts;
  }
  return std::nullopt;
}

// Before each fan-out window: how long the primary's idle CPU rate is measured.
constexpr std::chrono::milliseconds kFanOutIdleSpell{5000};

std::string FanOutTest(int secondaries) { return "6. fan-out, " + Secondaries(secondaries); }

// Changes of `zone` on one system with `n` secondaries, measured as FanOutTest(n): the
// primary's AXFRs (its TCP queries) and CPU over the window, and change -> all secondaries.
// `provider_counts`, when given, reads the zone-provider's own counts (a cross-check, in the
// notes).
void RunFanOutChanges(SystemRun& run, const testing::PdnsServer& primary, int n,
                      const std::string& method, const std::vector<HostPort>& secondaries,
                      const std::string& zone, int count, milliseconds max_gap,
                      const std::function<HttpResponse(const std::string& body)>& patch,
                      const std::function<std::optional<ProviderCounts>()>& provider_counts = {}) {
  const std::string test = FanOutTest(n);
  Progress("  " + method + ": " + std::to_string(count) + " changes of a signed zone, " +
           Secondaries(n));
  Report& report = run.report();
  FanOutPoint point;
  point.secondaries = n;
  point.column = run.column();
  point.changes = count + kWarmupChanges;
  std::optional<int64_t> before, after;
  std::optional<ProviderCounts> provider_before, provider_after;
  // The primary's idle rate: what it spends with the system running and no change.
  const double idle_begin = testing::ProcessCpuSeconds(primary.process().pid());
  std::this_thread::sleep_for(kFanOutIdleSpell);
  const double idle_end = testing::ProcessCpuSeconds(primary.process().pid());
  if (idle_begin >= 0 && idle_end >= idle_begin) {
    point.primary_idle_cpu_rate =
        (idle_end - idle_begin) / std::chrono::duration<double>(kFanOutIdleSpell).count();
  }
  const auto window_start = std::chrono::steady_clock::now();
  run.Measure(test, [&] {
    before = ServedAxfrs(primary);
    if (provider_counts) provider_before = provider_counts();
    point.row = RunChanges("fan-out N=" + std::to_string(n) + ": " + method, secondaries,
                           primary.dns_address(), zone, count, kWarmupChanges, max_gap, patch);
    after = ServedAxfrs(primary);
    if (provider_counts) provider_after = provider_counts();
  });
  point.window_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
  if (before && after) point.axfrs = static_cast<double>(*after - *before);
  point.primary_cpu_seconds = report.resources.ProcessCpu(test, run.column(), "PowerDNS primary");
  if (provider_before && provider_after && point.axfrs) {
    report.fan_out_notes.push_back(
        std::string(ColumnName(run.column())) + ", " + test.substr(test.find(", ") + 2) +
        ": the primary's TCP queries moved by " + Fixed(*point.axfrs, 0) +
        ", the zone-provider counted " +
        std::to_string(provider_after->axfrs - provider_before->axfrs) +
        " successful AXFRs (zonedata and catalog paths), " +
        std::to_string(provider_after->sweep_marks - provider_before->sweep_marks) +
        " sweep marks and " +
        std::to_string(provider_after->unchanged - provider_before->unchanged) +
        " transfers that found the version already published, " +
        std::to_string(provider_after->events - provider_before->events) + " zone events (" +
        std::to_string(provider_before->in_progress) + " transfers running at the start), over " +
        std::to_string(point.changes) + " changes");
  }
  report.rows.push_back(point.row);
  report.fan_out.Add(std::move(point));
}

// ---------------------------------------------------------------------------------------------
// (a) pdns-distribute

ClusterOptions DistributeOptions(const Options& bench,
                                 const std::optional<testing::PgsqlDatabase>& primary_database) {
  ClusterOptions options;
  options.primary_gpgsql = primary_database;
  options.proxy_write_concurrency = bench.proxy_write_concurrency;
  options.secondaries = kSecondaries;
  options.secondary_config = kSecondaryCommon;
  options.service_binaries = PDNSD_BIN_DIR;
  options.jetstream = bench.jetstream;
  // The health-checker is started only for the bootstrap.
  options.checker.event_check_wait = milliseconds(20000);
  options.checker.periodic_interval = seconds(3600);
  options.checker.refresh_interval = seconds(60);
  options.checker.nsec3_interval = seconds(3600);
  options.checker.ensure_nsec3 = false;
  options.checker.state_timeout = seconds(5);
  return options;
}

// True once the checker has finished its first full check of `secondaries` secondaries.
bool CheckerSettled(const Cluster& cluster, size_t secondaries) {
  return testing::WaitFor(
      [&] {
        auto status = nlohmann::json::parse(cluster.CheckerStatus(), nullptr, false);
        if (!status.is_object() || !status.contains("secondaries")) return false;
        size_t checked = 0;
        for (const auto& entry : status["secondaries"]) {
          checked += entry.contains("last_check") ? 1 : 0;
        }
        return checked >= secondaries;
      },
      seconds(120), milliseconds(50));
}

// "pdns-distribute (api-proxy + NATS JetStream)"
std::string DistributeMethod(const Options& options) {
  return std::string("pdns-distribute (api-proxy + ") +
         (options.jetstream ? "NATS JetStream)" : "core NATS)");
}

std::vector<WatchedProcess> DistributeProcesses(const Cluster& cluster,
                                                const PrimaryBackend& backend) {
  std::vector<WatchedProcess> processes = {{"nats-server", cluster.nats.process().pid()},
                                           {"PowerDNS primary", cluster.primary.process().pid()}};
  for (size_t i = 0; i < cluster.secondaries.size(); ++i) {
    processes.push_back(
        {"PowerDNS secondary " + std::to_string(i + 1), cluster.secondaries[i]->process().pid()});
  }
  for (const testing::ServiceProcess* service : cluster.RunningServices()) {
    std::string name = service->binary;
    if (service->binary == "pdns-secondary-syncer") {
      name += " " + std::to_string(std::stoi(service->name.substr(6)) + 1);
    }
    processes.push_back({name, service->process.pid()});
  }
  for (const WatchedProcess& p : backend.Processes()) processes.push_back(p);
  processes.push_back({kBenchProcess, 0});
  return processes;
}

Status RunDistribute(const Options& options, PrimaryBackend& backend, Report& report) {
  Progress("pdns-distribute: starting nats-server, PowerDNS primary + 2 secondaries, services");
  auto database = backend.NewDatabase();
  if (!database.ok()) return database.status();
  Cluster cluster;
  if (Status s = cluster.Start(DistributeOptions(options, *database)); !s.ok()) return s;
  SystemRun run(
      report, kDistribute, [&] { return DistributeProcesses(cluster, backend); }, options.perf_dir);
  std::vector<HostPort> secondaries;
  for (const auto& secondary : cluster.secondaries) secondaries.push_back(secondary->dns_address());
  const HostPort primary_dns = cluster.primary.dns_address();
  const std::string method = DistributeMethod(options);

  const std::string zone = "change.distribute.bench.";
  const HttpResponse created = cluster.CreateZone(zone, 1);
  if (created.status != 201) {
    return Status::Internal("creating " + zone + " through the proxy: " +
                            std::to_string(created.status) + " " + created.error + created.body);
  }
  if (!WaitAllServe(secondaries, zone, cluster.PrimarySerial(zone), kChangeTimeout)) {
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
  report.notes.push_back(
      "pdns-distribute: GET of a zone (20x) via the api-proxy (a new HTTPS connection per "
      "call): " +
      Summary(via_proxy) + "; the same GET sent to PowerDNS directly: " + Summary(direct) + ".");
  if (options.changes > 0) {
    RunChangesTest(run, method, secondaries, primary_dns, zone, options.changes, milliseconds(20),
                   [&](const std::string& body) {
                     return cluster.Proxy("PATCH", Cluster::ZonesPath(zone), body);
                   });
  }
  if (options.duration > 0 && !options.rates.empty()) {
    const std::vector<std::string> load = ZoneNames("load.distribute.bench.", options.load_zones);
    for (const auto& name : load) {
      if (cluster.CreateZone(name, 1).status != 201) return Status::Internal("creating " + name);
    }
    for (const auto& name : load) {
      if (!WaitAllServe(secondaries, name, cluster.PrimarySerial(name), kChangeTimeout)) {
        return Status::Timeout(name + " not served by both secondaries");
      }
    }
    RunSustainedTests(
        run, method, options, secondaries, primary_dns, load, seconds(60),
        [&](const std::string& name, const std::string& body) {
          return cluster.Proxy("PATCH", Cluster::ZonesPath(name), body);
        },
        [&] { return backend.Sessions(*database); });
  }
  Provisioning provisioning;
  if (options.zones > 0) {
    provisioning = RunProvisioningTest(
        run, method, secondaries, primary_dns, ZoneNames("prov.distribute.bench.", options.zones),
        [&](const std::string& name) {
          return cluster.CreateZone(name, 1, ZoneRecords(name, options.records).dump());
        },
        kProvisionSettleTimeout, options.zones);
  }
  if (options.bootstrap && !provisioning.zones.empty()) {
    Progress("  pdns-distribute: starting the health-checker, then a third secondary");
    Status status = Status::Ok();
    Bootstrap bootstrap;
    std::optional<int64_t> axfrs_before, axfrs_after;
    run.Measure(kBootstrapTest, [&] {
      if (status = cluster.StartHealthChecker(); !status.ok()) return;
      // Its first full checks of the two running secondaries must not overlap the bootstrap.
      if (!CheckerSettled(cluster, kSecondaries)) {
        std::fprintf(stderr, "  the health-checker did not finish its first checks in 120 s\n");
      }
      axfrs_before = ServedAxfrs(cluster.primary);
      const Clock::time_point start = Clock::now();
      if (status = cluster.AddSecondary(); !status.ok()) return;
      bootstrap = WaitServesAll(cluster.secondaries.back()->dns_address(), provisioning.zones,
                                provisioning.serials, start);
      axfrs_after = ServedAxfrs(cluster.primary);
    });
    if (!status.ok()) return status;
    RecordBootstrap(report.figures, kDistribute, bootstrap, provisioning.zones.size());
    RecordBootstrapAxfrs(report.figures, kDistribute, axfrs_before, axfrs_after);
    run.RecordCpu(kBootstrapTest, "bootstrap: CPU s, all the system's processes");
    secondaries.push_back(cluster.secondaries.back()->dns_address());
  }
  if (options.deletes > 0 && !provisioning.zones.empty()) {
    RunDeletionTest(
        run, method, secondaries, Pick(provisioning.zones, options.deletes),
        [&](const std::string& name) { return cluster.Proxy("DELETE", Cluster::ZonesPath(name)); },
        kDeleteTimeout);
  }
  Progress("pdns-distribute: done, stopping");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// (b) PowerDNS native NOTIFY/AXFR replication

// What one native profile runs.
struct NativePlan {
  int changes = 0;
  bool sustained = false;
  int zones = 0;  // provisioning, then bootstrap and deletion when enabled
  milliseconds settle = kProvisionSettleTimeout;
  milliseconds bootstrap_timeout = kBootstrapTimeout;
  milliseconds delete_timeout = kDeleteTimeout;
};

std::vector<WatchedProcess> NativeProcesses(const NativeCluster& native,
                                            const PrimaryBackend& backend) {
  std::vector<WatchedProcess> processes = {{"PowerDNS primary", native.primary.process().pid()}};
  for (size_t i = 0; i < native.secondaries.size(); ++i) {
    processes.push_back(
        {"PowerDNS secondary " + std::to_string(i + 1), native.secondaries[i]->process().pid()});
  }
  for (const WatchedProcess& p : backend.Processes()) processes.push_back(p);
  processes.push_back({kBenchProcess, 0});
  return processes;
}

Status RunNative(const Options& options, PrimaryBackend& backend, const NativeProfile& profile,
                 Column column, const NativePlan& plan, Report& report) {
  const std::string name = "PowerDNS native " + profile.name;
  Progress(name + ": starting primary + 2 secondaries");
  auto database = backend.NewDatabase();
  if (!database.ok()) return database.status();
  NativeCluster native(profile);
  native.primary_gpgsql = *database;
  const bool bootstrap = options.bootstrap && plan.zones > 0;
  if (Status s = native.Start(kSecondaries, bootstrap ? 1 : 0); !s.ok()) return s;
  SystemRun run(
      report, column, [&] { return NativeProcesses(native, backend); }, options.perf_dir);
  const HostPort primary_dns = native.primary.dns_address();
  auto patch = [&](const std::string& zone, const std::string& body) {
    return native.primary.Api("PATCH", NativeCluster::ZonePath(zone), body);
  };
  // Zones `Master` on the primary, `Slave` on each secondary, served everywhere.
  auto create_replicated = [&](const std::vector<std::string>& zones) -> Status {
    for (const auto& zone : zones) {
      HttpResponse r = native.primary.Api("POST", kZonesPath, PrimaryZoneBody(zone, "Master"));
      if (r.status != 201) {
        return Status::Internal("creating " + zone + " on the primary: " +
                                std::to_string(r.status) + " " + r.error + r.body);
      }
      if (Status s = native.AddOnSecondaries(zone, "Slave"); !s.ok()) return s;
    }
    for (const auto& zone : zones) {
      if (!WaitAllServe(native.SecondaryAddresses(), zone, ServedSerialAfter(primary_dns, zone, 0),
                        kChangeTimeout)) {
        return Status::Timeout(zone + " not served by both native secondaries");
      }
    }
    return Status::Ok();
  };

  if (plan.changes > 0) {
    const std::string zone = "change.native.bench.";
    if (Status s = create_replicated({zone}); !s.ok()) return s;
    // Pauses of up to 1 s, so that changes do not lock onto the 1 s cycles.
    RunChangesTest(run, name + " NOTIFY/AXFR", native.SecondaryAddresses(), primary_dns, zone,
                   plan.changes, milliseconds(1000),
                   [&](const std::string& body) { return patch(zone, body); });
  }
  if (plan.sustained && options.duration > 0 && !options.rates.empty()) {
    const std::vector<std::string> load = ZoneNames("load.native.bench.", options.load_zones);
    if (Status s = create_replicated(load); !s.ok()) return s;
    RunSustainedTests(run, name + " NOTIFY/AXFR", options, native.SecondaryAddresses(), primary_dns,
                      load, seconds(60), patch, [&] { return backend.Sessions(*database); });
  }
  if (plan.zones > 0) {
    const std::string catalog = "catalog.native.bench.";
    if (Status s = native.SetUpCatalog(catalog); !s.ok()) return s;
    const std::string method = name + " (catalog zones)";
    const Provisioning provisioning = RunProvisioningTest(
        run, method, native.SecondaryAddresses(), primary_dns,
        ZoneNames("prov.native.bench.", plan.zones),
        [&](const std::string& zone) {
          return native.CreateMember(zone, catalog, options.records);
        },
        plan.settle, options.zones);
    if (bootstrap && !provisioning.zones.empty()) {
      Progress("  " + name + ": a third secondary consumes the catalog");
      Status status = Status::Ok();
      Bootstrap result;
      std::optional<int64_t> axfrs_before, axfrs_after;
      run.Measure(kBootstrapTest, [&] {
        axfrs_before = ServedAxfrs(native.primary);
        const Clock::time_point start = Clock::now();
        if (status = native.AddSecondary(); !status.ok()) return;
        if (status = native.AddOn(*native.secondaries.back(), catalog, "Consumer"); !status.ok()) {
          return;
        }
        result = WaitServesAll(native.secondaries.back()->dns_address(), provisioning.zones,
                               provisioning.serials, start, plan.bootstrap_timeout);
        axfrs_after = ServedAxfrs(native.primary);
      });
      if (!status.ok()) return status;
      RecordBootstrap(report.figures, column, result, provisioning.zones.size(),
                      plan.bootstrap_timeout);
      RecordBootstrapAxfrs(report.figures, column, axfrs_before, axfrs_after);
      run.RecordCpu(kBootstrapTest, "bootstrap: CPU s, all the system's processes");
    }
    if (options.deletes > 0 && !provisioning.zones.empty()) {
      RunDeletionTest(
          run, method, native.SecondaryAddresses(), Pick(provisioning.zones, options.deletes),
          [&](const std::string& zone) {
            return native.primary.Api("DELETE", NativeCluster::ZonePath(zone));
          },
          plan.delete_timeout);
    }
  }
  Progress(name + ": done, stopping");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// (c) The fan-out test: each system with N secondaries, a fresh cluster for every N.

// The fan-out test's zone: signed (PowerDNS's default keys), so that the primary signs every
// outgoing AXFR, with `records` A records.
std::string FanOutZoneRrsets(const std::string& zone, int records) {
  return ZoneRecords(zone, records).dump();
}

Status RunDistributeFanOut(const Options& options, PrimaryBackend& backend, int n, Report& report) {
  Progress("pdns-distribute fan-out: nats-server, PowerDNS primary + " + Secondaries(n) +
           ", services");
  auto database = backend.NewDatabase();
  if (!database.ok()) return database.status();
  ClusterOptions cluster_options = DistributeOptions(options, *database);
  cluster_options.secondaries = n;
  Cluster cluster;
  if (Status s = cluster.Start(cluster_options); !s.ok()) return s;
  SystemRun run(
      report, kDistribute, [&] { return DistributeProcesses(cluster, backend); }, options.perf_dir);
  std::vector<HostPort> secondaries;
  for (const auto& secondary : cluster.secondaries) secondaries.push_back(secondary->dns_address());
  const std::string zone = "fanout.distribute.bench.";
  const HttpResponse created =
      cluster.CreateZone(zone, 1, FanOutZoneRrsets(zone, options.fanout_records), true);
  if (created.status != 201) {
    return Status::Internal("creating " + zone + " through the proxy: " +
                            std::to_string(created.status) + " " + created.error + created.body);
  }
  if (!WaitAllServe(secondaries, zone, cluster.PrimarySerial(zone), kChangeTimeout)) {
    return Status::Timeout(zone + " not served by all " + std::to_string(n) + " secondaries");
  }
  RunFanOutChanges(
      run, cluster.primary, n,
      std::string("pdns-distribute (") + (options.jetstream ? "JetStream)" : "core NATS)"),
      secondaries, zone, options.fanout_changes, milliseconds(20),
      [&](const std::string& body) {
        return cluster.Proxy("PATCH", Cluster::ZonesPath(zone), body);
      },
      [&] { return ReadProviderCounts(cluster); });
  Progress("pdns-distribute fan-out, " + Secondaries(n) + ": done, stopping");
  return Status::Ok();
}

Status RunNativeFanOut(const Options& options, PrimaryBackend& backend, int n, Report& report) {
  const NativeProfile profile = BestTuned();
  Progress("PowerDNS native " + profile.name + " fan-out: primary + " + Secondaries(n));
  auto database = backend.NewDatabase();
  if (!database.ok()) return database.status();
  NativeCluster native(profile);
  native.primary_gpgsql = *database;
  if (Status s = native.Start(n, 0); !s.ok()) return s;
  SystemRun run(
      report, kNative, [&] { return NativeProcesses(native, backend); }, options.perf_dir);
  const std::string zone = "fanout.native.bench.";
  const HttpResponse created = native.primary.Api(
      "POST", kZonesPath,
      Cluster::ZoneBody(zone, "Master", 1, FanOutZoneRrsets(zone, options.fanout_records), true));
  if (created.status != 201) {
    return Status::Internal("creating " + zone + " on the primary: " +
                            std::to_string(created.status) + " " + created.error + created.body);
  }
  if (Status s = native.AddOnSecondaries(zone, "Slave"); !s.ok()) return s;
  const HostPort primary_dns = native.primary.dns_address();
  if (!WaitAllServe(native.SecondaryAddresses(), zone, ServedSerialAfter(primary_dns, zone, 0),
                    kChangeTimeout)) {
    return Status::Timeout(zone + " not served by all " + std::to_string(n) +
                           " native secondaries");
  }
  // The primary NOTIFYs a new zone at its next cycle (1 s): let those transfers end before
  // the window opens, so that only the changes' AXFRs are counted.
  std::this_thread::sleep_for(seconds(3));
  RunFanOutChanges(run, native.primary, n, "native " + profile.name + " NOTIFY/AXFR",
                   native.SecondaryAddresses(), zone, options.fanout_changes, milliseconds(1000),
                   [&](const std::string& body) {
                     return native.primary.Api("PATCH", NativeCluster::ZonePath(zone), body);
                   });
  Progress("PowerDNS native fan-out, " + Secondaries(n) + ": done, stopping");
  return Status::Ok();
}

std::string FanOutNotes(const Options& options, const Report& report) {
  std::string out;
  out +=
      "- Each row: a fresh cluster of each system with that many secondaries (pdns-distribute: "
      "one syncer per secondary; native: best-tuned, every secondary in the primary's "
      "also-notify), one system after the other. The zone: DNSSEC-signed (PowerDNS's default "
      "keys), " +
      std::to_string(options.fanout_records) + " A records + SOA + NS; " +
      std::to_string(options.fanout_changes) +
      " changes (PATCH of one A record; pdns-distribute through the api-proxy, native to the "
      "primary's API) after " +
      std::to_string(kWarmupChanges) +
      " warm-up changes, pauses as in test 1 (0-20 ms, native 0-1000 ms).\n";
  out +=
      "- primary AXFRs per change: the primary PowerDNS's `tcp-queries` statistic "
      "(/api/v1/servers/localhost/statistics; it moves by exactly one per AXFR served, and "
      "every other query here is UDP) over the changes, warm-up included, divided by their "
      "number. primary CPU per change: the primary pdns_server's utime+stime over the same "
      "window / the same number (includes answering the bench's SOA probes of the "
      "primary). (x fewest secondaries): that CPU relative to the system's row with the fewest "
      "secondaries. above idle: the same CPU less the primary's idle rate (its CPU per second "
      "over " +
      std::to_string(std::chrono::duration_cast<seconds>(kFanOutIdleSpell).count()) +
      " s with the system running and no change, just before) times the window's length: what "
      "the changes cost, without the time-driven work (the provider's sweep, the bench's "
      "probes) that a longer window — slower propagation on a loaded machine — adds.\n";
  for (const std::string& note : report.fan_out_notes) out += "- " + note + ".\n";
  return out;
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

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "`" : ", `") + line + "`";
  return out.empty() ? "(none)" : out;
}

// "50, 200"
std::string Numbers(const std::vector<int>& values) {
  std::string out;
  for (int value : values) out += (out.empty() ? "" : ", ") + std::to_string(value);
  return out;
}

std::string Settings(const Options& options, const PrimaryBackend& backend) {
  const NativeProfile best = BestTuned(), spin = Spinning();
  std::string s;
  s += "Every pdns_server (both systems) runs the test fixture's base config "
       "(tests/support/processes.cc): `launch=gsqlite3`, `gsqlite3-dnssec=yes`, `api=yes`, "
       "`loglevel=6`, `log-dns-queries=no`; primaries `primary=yes`, "
       "`allow-axfr-ips=127.0.0.0/8,::1`; secondaries `secondary=yes`, "
       "`allow-notify-from=127.0.0.0/8,::1`. Loopback only, sqlite3 backend";
  s += backend.gpgsql()
           ? " on the secondaries; every primary on " + backend.Description() +
                 " instead (`launch=gpgsql`, `gpgsql-dnssec=yes`, a database of its own on one "
                 "PostgreSQL started by the bench: tests/support/postgres.h).\n\n"
           : ".\n\n";
  s += "| | pdns-distribute | native best-tuned | native spinning | native stock defaults |\n";
  s += "|---|---|---|---|---|\n";
  s += "| primary pdns.conf, extra | (none) | `also-notify=<secondaries>`, " +
       Join(kPrimaryRequired) + ", " + Join(best.primary) + " | same, " + Join(spin.primary) +
       " | `also-notify=<secondaries>`, " + Join(kPrimaryRequired) + " |\n";
  s += "| secondary pdns.conf, extra | " + Join(kSecondaryCommon) + " | " + Join(kSecondaryCommon) +
       ", " + Join(kSecondaryRequired) + ", " + Join(best.secondary) + " | same, " +
       Join(spin.secondary) + " | " + Join(kSecondaryCommon) + ", " + Join(kSecondaryRequired) +
       " (stock cycles: 60 s, `retrieval-threads=2`) |\n";
  s += "| services | the pdns-* binaries of this build (Release), one process each, configured "
       "by TOML files as an operator would (tests/support/cluster.cc, process mode): api-proxy "
       "(16 HTTPS workers, `WriteConcurrency = " +
       std::to_string(options.proxy_write_concurrency) +
       "`), zone-provider (8 workers), one secondary-syncer per secondary "
       "(4 API workers, `DNSAddress` set, heartbeat every 200 ms), health-checker for the "
       "bootstrap only "
       "(8 workers, event-check wait 20 s, refresh 60 s, periodic check 3600 s, NSEC3 check "
       "off); nats-server 2.9 without auth, " +
       std::string(options.jetstream
                       ? "with JetStream (its store in its temporary directory; the services' "
                         "[JetStream] Mode is the default, auto)"
                       : "core NATS only (no JetStream)") +
       " | - | - | - |\n";
  s += "| how a change travels | PATCH via api-proxy (HTTPS) -> NATS event -> syncers -> "
       "`axfr-retrieve` from the syncer's AXFR endpoint, which asks the zone-provider (AXFR "
       "from the primary) | PATCH to the primary's API -> NOTIFY -> AXFR by each secondary | "
       "same | same |\n";
  s += "| how a zone is provisioned | POST via api-proxy -> NATS -> syncers create + retrieve | "
       "catalog zones: member `kind: Master`, `catalog` set, Producer on the primary, Consumer "
       "on each secondary | (not measured) | same as best-tuned |\n";
  s += "| bootstrap of a third secondary | `Cluster::AddSecondary()` (a new PowerDNS and "
       "syncer); the health-checker, started before and waited for until its first full checks "
       "of the 2 running secondaries are done, runs a full check at the new syncer's first "
       "heartbeat | a third pdns_server (already in the primary's also-notify) + its Consumer "
       "zone, `axfr-retrieve` | (not measured) | same as best-tuned |\n";
  s += "| sustained load | PATCHes via api-proxy | PATCHes to the primary's API, zones `Master` "
       "on the primary and `Slave` on the secondaries | (not measured) | (not measured) |\n";
  if (!options.fanout_secondaries.empty()) {
    s += "| fan-out test (" + Numbers(options.fanout_secondaries) +
         " secondaries) | a fresh cluster per N as above, with N secondaries and N syncers; "
         "PATCHes via api-proxy | best-tuned, a fresh primary + N secondaries, all in "
         "also-notify; PATCHes to the primary's API, zone `Master` on the primary and `Slave` "
         "on the secondaries | (not measured) | (not measured) |\n";
  }
  s += "| deletion | DELETE via api-proxy | DELETE on the primary: member leaves the catalog, "
       "consumers drop it | (not measured) | same as best-tuned |\n";
  s += "\nSizes: changes " + std::to_string(options.changes) + " (pdns-distribute), " +
       std::to_string(options.native_changes) + " (native best-tuned), " +
       std::to_string(options.spin_changes) + " (native spinning), " +
       std::to_string(RunsStockDefaults(options) ? options.default_changes : 0) +
       " (native stock defaults), each after 3 warm-up changes; " + std::to_string(options.zones) +
       " zones of " + std::to_string(options.records) +
       " A records + SOA + NS (pdns-distribute), " + std::to_string(options.native_zones) +
       " (native best-tuned), " + std::to_string(options.default_zones) +
       " (native stock defaults); " + std::to_string(options.deletes) +
       " deletions per system, 1.5 s apart; sustained load " + Numbers(options.rates) +
       " changes/s, " + std::to_string(options.duration) + " s each, over " +
       std::to_string(options.load_zones) +
       " zones. Pause before each change: random 0-20 ms (pdns-distribute), "
       "0-1000 ms (native, so that changes do not lock onto the 1 s cycles). Secondaries are "
       "polled over DNS (SOA, UDP) in a ~1 ms loop, one thread per secondary.\n";
  return s;
}

// The primary's own limit: PATCHes straight to its API as fast as it answers them (5 senders,
// one zone's PATCHes in order, as the sustained tests send them), no secondary and nothing
// else running: what neither system can go beyond. A note in the report.
Status RunPrimaryAlone(const Options& options, PrimaryBackend& backend, Report& report) {
  constexpr int kAskedRate = 100000;  // far beyond what a primary answers: as fast as it can
  const int duration = std::min(options.duration, 10);
  Progress("the primary alone: PATCHes as fast as it answers, " + std::to_string(duration) + " s");
  auto database = backend.NewDatabase();
  if (!database.ok()) return database.status();
  testing::PdnsOptions primary_options = testing::PdnsOptions().WithName("primary-alone").Primary();
  for (const auto& line : kPrimaryRequired) primary_options.WithConfig(line);
  if (*database) primary_options.WithGpgsql(**database);
  testing::PdnsServer primary;
  if (Status s = primary.Start(primary_options); !s.ok()) return s;
  const std::vector<std::string> zones = ZoneNames("alone.bench.", options.load_zones);
  for (const auto& zone : zones) {
    const HttpResponse r = primary.Api("POST", kZonesPath, PrimaryZoneBody(zone, "Master"));
    if (r.status != 201) return Status::Internal("creating " + zone + ": " + r.body + r.error);
  }
  // CPU of the primary and its database over the run: whether the limit is the cores.
  auto primary_cpu = [&] {
    double cpu = testing::ProcessCpuSeconds(primary.process().pid());
    for (const WatchedProcess& p : backend.Processes()) {
      cpu += testing::ProcessTreeCpuSeconds(p.pid);
    }
    return cpu;
  };
  const double cpu_before = primary_cpu();
  const Clock::time_point start = Clock::now();
  const Sustained alone = RunSustained(
      "the primary alone", {}, primary.dns_address(), zones, kAskedRate, duration, seconds(5),
      [&](const std::string& zone, const std::string& body) {
        return primary.Api("PATCH", NativeCluster::ZonePath(zone), body);
      },
      /*stop_at_duration=*/true);
  const double cpu = primary_cpu() - cpu_before;
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  char note[640];
  std::snprintf(note, sizeof note,
                "The primary alone (PowerDNS on %s, no secondary, nothing else running): %.1f "
                "PATCHes/s answered at full speed from 5 concurrent senders over %zu zones, %d "
                "of %d answered an error: the most either system can take (%d s). PowerDNS and "
                "its database used %.1f ms CPU per PATCH, %.2f cores.",
                backend.Description().c_str(), alone.achieved_rate, zones.size(),
                alone.patch_failed, alone.sent, duration,
                alone.sent > 0 ? cpu * 1000 / alone.sent : 0.0, wall > 0 ? cpu / wall : 0.0);
  report.notes.push_back(note);
  Progress(std::string("  ") + note);
  return Status::Ok();
}

// Tests 1-5: pdns-distribute, then each native profile.
void RunMainTests(const Options& options, PrimaryBackend& backend, Report& report,
                  const std::function<void(const std::string&, Status)>& run) {
  run("pdns-distribute", RunDistribute(options, backend, report));
  NativePlan best;
  best.changes = options.native_changes;
  best.sustained = true;
  best.zones = options.native_zones;
  run("PowerDNS native best-tuned",
      RunNative(options, backend, BestTuned(), kNative, best, report));
  if (options.spin_changes > 0) {
    NativePlan spin;
    spin.changes = options.spin_changes;
    run("PowerDNS native spinning", RunNative(options, backend, Spinning(), kSpin, spin, report));
  }
  if (RunsStockDefaults(options)) {
    NativePlan defaults;
    defaults.changes = options.default_changes;
    defaults.zones = options.default_zones;
    defaults.settle = kDefaultsSettleTimeout;
    defaults.bootstrap_timeout = kDefaultsSettleTimeout;
    defaults.delete_timeout = milliseconds(150000);
    run("PowerDNS native stock defaults",
        RunNative(options, backend, Defaults(), kDefaults, defaults, report));
  }
}

int Main(int argc, char** argv) {
  std::optional<Options> parsed = ParseOptions(argc, argv);
  if (!parsed) return 2;
  const Options options = *parsed;
  if (!options.perf_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.perf_dir, ec);
  }

  PrimaryBackend backend(options.gpgsql);
  if (Status s = backend.Start(); !s.ok()) {
    std::fprintf(stderr, "starting the primaries' backend: %s\n", s.ToString().c_str());
    return 1;
  }
  char date[64], day[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
  const std::string load_start = LoadAverage();
  const std::string header =
      "propagation_bench " + std::string(date) + "\nmachine: " + MachineDescription() +
      "; PowerDNS " +
      FirstLineAfter("pdns_server --version 2>&1", "PowerDNS Authoritative Server ") +
      ", nats-server " + FirstLineAfter("nats-server --version 2>&1", ": v") + "; primaries on " +
      backend.Description() + "; loopback, 2 secondaries" +
      (options.fanout_secondaries.empty()
           ? ""
           : " (fan-out test: " + Numbers(options.fanout_secondaries) + ")") +
      "; pdns-distribute over " + (options.jetstream ? "NATS JetStream" : "core NATS") +
      "; load average at the start " + load_start + "\n";
  Progress(header);

  Report report;
  int exit_code = 0;
  auto run = [&](const std::string& name, Status status) {
    if (!status.ok()) {
      std::fprintf(stderr, "%s run failed: %s\n", name.c_str(), status.ToString().c_str());
      report.notes.push_back(name + " run failed: " + status.ToString());
      exit_code = 1;
    }
  };
  // One system after the other; each cluster is stopped before the next starts.
  if (!options.fanout_only && options.duration > 0) {
    run("the primary alone", RunPrimaryAlone(options, backend, report));
  }
  if (!options.fanout_only) RunMainTests(options, backend, report, run);
  for (int n : options.fanout_secondaries) {
    run("pdns-distribute fan-out " + std::to_string(n),
        RunDistributeFanOut(options, backend, n, report));
    run("PowerDNS native fan-out " + std::to_string(n),
        RunNativeFanOut(options, backend, n, report));
  }
  const std::string load_end = LoadAverage();

  report.notes.push_back(
      "(*) new zone: measured from the create call returning; the create call alone is the "
      "floor of what a client waits for before that.");
  report.notes.push_back(
      "CPU per change / zone / accepted change: CPU seconds of all the system's processes "
      "(every pdns_server; for pdns-distribute also nats-server and the four services) over "
      "the test, divided by its count, warm-up changes included; this includes what the "
      "servers spend idle or on their cycles during the test, and answering the bench's SOA "
      "probes (the same ~1 ms polling on every system; longer waits mean more probes). The "
      "resource tables below give each process.");
  report.notes.push_back(
      "ratio: native best-tuned / pdns-distribute for times and CPU, pdns-distribute / native "
      "for rates; below 0.95 the cell says (pdns-distribute worse).");
  report.notes.push_back("Load average at the start " + load_start + ", at the end " + load_end +
                         " (2 cores; other work on the machine inflates every figure).");

  std::string command = "build/bench/bench/propagation_bench";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  std::string summary = report.figures.Markdown() + "\n";
  for (const auto& note : report.notes) summary += "- " + note + "\n";
  const std::string detail = DetailTable(report.rows);
  const std::string resources = report.resources.Markdown();
  std::string fan_out;
  if (!report.fan_out.empty()) {
    fan_out = "## Fan-out: the primary's cost per change, by number of secondaries\n\n" +
              report.fan_out.Markdown(std::string(ColumnName(kDistribute)) +
                                      (options.jetstream ? " (JetStream)" : " (core NATS)")) +
              "\n" + FanOutNotes(options, report) + "\n";
  }
  const std::string text = "# propagation_bench results\n\n```\n" + header + "```\n\nCommand: `" +
                           command + "`\n\n" +
                           (options.fanout_only ? "" : "## Summary\n\n" + summary + "\n") +
                           fan_out + "## Detail\n\n```\n" + detail +
                           "```\n\n## Resources per test\n\nCPU seconds (user + "
                           "system) and peak RSS (VmHWM, reset at the start of each test) of "
                           "every process.\n\n" +
                           resources + "## Settings\n\n" + Settings(options, backend);
  std::printf("\n%s\n%s\n%s\n%s", detail.c_str(), resources.c_str(),
              options.fanout_only ? "" : summary.c_str(), fan_out.c_str());
  std::fflush(stdout);

  if (options.out_path != "-") {
    std::string path = options.out_path;
    if (path.empty()) {
      path = std::string(PDNSD_BENCH_RESULTS_DIR) + "/" + day + "-" + HostName() +
             (options.quick ? "-quick" : "") + (options.fanout_only ? "-fanout" : "") + ".md";
      std::error_code ec;
      std::filesystem::create_directories(PDNSD_BENCH_RESULTS_DIR, ec);
    }
    std::ofstream out(path);
    out << text;
    if (out.good()) {
      std::printf("\nwritten to %s\n", path.c_str());
    } else {
      std::fprintf(stderr, "could not write %s\n", path.c_str());
    }
  }
  return exit_code;
}

}  // namespace
}  // namespace pdnsd::bench

int main(int argc, char** argv) { return pdnsd::bench::Main(argc, argv); }
