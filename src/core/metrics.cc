#include "core/metrics.h"

#include <dirent.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace pdnsd {
namespace {

// process_* as the Prometheus client libraries export them, read from /proc at scrape time.
std::string RenderProcessMetrics() {
  std::ostringstream out;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream fields(stat.substr(paren + 2));
    std::string field;
    // Fields after the command: state(3) ... utime(14) stime(15) ... starttime(22) vsize(23)
    // rss(24).
    std::vector<std::string> values;
    while (fields >> field) values.push_back(field);
    auto at = [&](size_t number) -> double {
      const size_t index = number - 3;
      return index < values.size() ? std::stod(values[index]) : 0.0;
    };
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double boot_time = 0;
    std::ifstream proc_stat("/proc/stat");
    for (std::string line; std::getline(proc_stat, line);) {
      if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
    }
    out << "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        << "# TYPE process_cpu_seconds_total counter\n"
        << "process_cpu_seconds_total " << (at(14) + at(15)) / ticks << "\n"
        << "# HELP process_start_time_seconds Start time of the process since unix epoch in "
           "seconds.\n"
        << "# TYPE process_start_time_seconds gauge\n"
        << "process_start_time_seconds " << std::fixed << boot_time + at(22) / ticks
        << std::defaultfloat << "\n"
        << "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
        << "# TYPE process_virtual_memory_bytes gauge\n"
        << "process_virtual_memory_bytes " << std::fixed << at(23) << std::defaultfloat << "\n"
        << "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        << "# TYPE process_resident_memory_bytes gauge\n"
        << "process_resident_memory_bytes " << std::fixed
        << at(24) * static_cast<double>(sysconf(_SC_PAGESIZE)) << std::defaultfloat << "\n";
  }
  int open_fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++open_fds;
    closedir(dir);
    open_fds -= 3;  // ".", ".." and the directory's own descriptor
  }
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  out << "# HELP process_open_fds Number of open file descriptors.\n"
      << "# TYPE process_open_fds gauge\n"
      << "process_open_fds " << open_fds << "\n"
      << "# HELP process_max_fds Maximum number of open file descriptors.\n"
      << "# TYPE process_max_fds gauge\n"
      << "process_max_fds " << limit.rlim_cur << "\n";
  return out.str();
}

}  // namespace

prometheus::Family<prometheus::Counter>& AddCounterFamily(prometheus::Registry& registry,
                                                          const std::string& name,
                                                          const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return AddCounterFamily(registry, name, help).Add({});
}

void GaugeSeries::Update(const std::map<prometheus::Labels, double>& values) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (values.count(it->first) == 0) {
      family_.Remove(it->second);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [labels, value] : values) {
    auto [it, added] = series_.try_emplace(labels, nullptr);
    if (added) it->second = &family_.Add(labels);
    it->second->Set(value);
  }
}

prometheus::Family<prometheus::Gauge>& AddGaugeFamily(prometheus::Registry& registry,
                                                      const std::string& name,
                                                      const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& AddHistogramFamily(prometheus::Registry& registry,
                                                              const std::string& name,
                                                              const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return AddGaugeFamily(registry, name, help).Add({});
}

std::string RenderMetrics(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect()) + RenderProcessMetrics();
}

MetricsServer::MetricsServer(HostPort listen, std::shared_ptr<prometheus::Registry> registry,
                             Logger logger)
    : listen_(std::move(listen)), registry_(std::move(registry)), logger_(std::move(logger)) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start() {
  auto handler = [this](const HttpRequest&, HttpReply& reply) {
    if (!RunCatching(logger_, "the metrics page", [&] {
          reply.body = RenderMetrics(*registry_);
          reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
        })) {
      reply.JsonError(500, "internal error");
    }
  };
  HttpRoutes routes;
  routes.Add("GET", "/metrics", handler).Add("GET", "/", handler);
  HttpListenerOptions options;
  options.what = "Prometheus metrics";
  options.max_body_bytes = 64 * 1024;  // scrapes carry no body
  listener_ = std::make_unique<HttpListener>(std::move(options), std::move(routes), logger_);
  if (Status s = listener_->Start(listen_); !s.ok()) return s;
  logger_->info("serving Prometheus metrics on http://{}/metrics", address().ToString());
  return Status::Ok();
}

void MetricsServer::Stop() {
  if (listener_) listener_->Stop();
}

}  // namespace pdnsd
