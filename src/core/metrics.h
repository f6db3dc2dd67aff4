// Prometheus metrics: the registry every service fills and the HTTP endpoint that serves it.
//
// Services create their counters on the registry passed in (no global registry). The
// MetricsServer serves the text exposition format on GET /metrics (and GET /) with the
// process_* basics added at each scrape.
#pragma once

#include <map>
#include <memory>

#include "core/http_listener.h"
#include "core/logging.h"
#include "core/net.h"
#include "core/status.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

namespace prometheus {
class Registry;
}

namespace pdnsd {

class MetricsServer {
 public:
  // REQUIRES: registry outlives the server.
  MetricsServer(HostPort listen, std::shared_ptr<prometheus::Registry> registry, Logger logger);
  ~MetricsServer();  // calls Stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds (port 0: any free port) and serves on its own thread; a port in use is an error
  // (HttpListener).
  Status Start();
  void Stop();
  HostPort address() const { return listener_ ? listener_->address() : HostPort{}; }

 private:
  HostPort listen_;
  std::shared_ptr<prometheus::Registry> registry_;
  Logger logger_;
  std::unique_ptr<HttpListener> listener_;
};

// Registering metrics on `registry`: a series without labels, or a family whose labelled series
// the caller adds. The returned references live as long as the registry.
prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help);
prometheus::Family<prometheus::Counter>& AddCounterFamily(prometheus::Registry& registry,
                                                          const std::string& name,
                                                          const std::string& help);
prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help);
prometheus::Family<prometheus::Gauge>& AddGaugeFamily(prometheus::Registry& registry,
                                                      const std::string& name,
                                                      const std::string& help);

prometheus::Family<prometheus::Histogram>& AddHistogramFamily(prometheus::Registry& registry,
                                                              const std::string& name,
                                                              const std::string& help);

// A gauge family's series set as a whole: each Update() gives the value of every series that
// should exist (by its labels), and the series of earlier updates missing from it are removed,
// so that a secondary gone from the fleet leaves no stale series. Not thread-safe: one updater.
// REQUIRES: `family` outlives it.
class GaugeSeries {
 public:
  explicit GaugeSeries(prometheus::Family<prometheus::Gauge>& family) : family_(family) {}
  void Update(const std::map<prometheus::Labels, double>& values);

 private:
  prometheus::Family<prometheus::Gauge>& family_;
  std::map<prometheus::Labels, prometheus::Gauge*> series_;
};

// The exposition text of `registry` plus process_* metrics (what GET /metrics returns).
std::string RenderMetrics(prometheus::Registry& registry);

}  // namespace pdnsd
