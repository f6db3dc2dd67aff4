#include "workloads.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "dns/soa_query.h"
#include "model/messages.h"

namespace pdnsd::bench {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kPollInterval{1};
// Every prober sends at most one query per this long on average (2,000 queries/s per
// secondary), so that probing many pending zones does not load the secondaries it measures.
constexpr std::chrono::microseconds kQueryBudget{500};

// Sleeps so that a pass of `queries` queries begun at `pass_start` lasts at least
// max(kPollInterval, queries x kQueryBudget).
void PacePass(Clock::time_point pass_start, size_t queries) {
  const Clock::duration budget =
      std::max<Clock::duration>(kPollInterval, kQueryBudget * static_cast<Clock::rep>(queries));
  std::this_thread::sleep_until(pass_start + budget);
}
constexpr milliseconds kQueryTimeout{1000};

}  // namespace

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

uint32_t ServedSerial(const HostPort& server, const std::string& zone) {
  auto serial = QuerySoaSerial(server, zone, kQueryTimeout);
  return serial.ok() ? *serial : 0;
}

// The serial `server` serves for `zone` once it serves one ahead of `after` (any serial when
// `after` is 0), waiting up to `timeout`; 0 when it does not. A loaded machine can make single
// queries time out, so a zone just created is asked again.
uint32_t ServedSerialAfter(const HostPort& server, const std::string& zone, uint32_t after,
                           milliseconds timeout) {
  uint32_t serial = 0;
  testing::WaitFor(
      [&] {
        serial = ServedSerial(server, zone);
        return serial != 0 && (after == 0 || SerialGreater(serial, after));
      },
      timeout, milliseconds(2));
  return serial != 0 && (after == 0 || SerialGreater(serial, after)) ? serial : 0;
}

std::optional<int64_t> PdnsStatistic(const testing::PdnsServer& server, const std::string& name) {
  const HttpResponse response =
      server.Api("GET", "/api/v1/servers/localhost/statistics?statistic=" + name);
  if (response.status != 200) return std::nullopt;
  const nlohmann::json items = nlohmann::json::parse(response.body, nullptr, false);
  if (!items.is_array()) return std::nullopt;
  for (const auto& item : items) {
    if (!item.is_object() || item.value("name", "") != name) continue;
    const auto value = item.find("value");
    if (value == item.end() || !value->is_string()) return std::nullopt;
    char* end = nullptr;
    const long long number = std::strtoll(value->get_ref<const std::string&>().c_str(), &end, 10);
    if (end == nullptr || *end != '\0') return std::nullopt;
    return number;
  }
  return std::nullopt;
}

std::optional<int64_t> ServedAxfrs(const testing::PdnsServer& server) {
  return PdnsStatistic(server, "tcp-queries");
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

namespace {

// A distinct address per iteration, so that every PATCH really changes the zone.
std::string IterationAddress(int i) {
  return "10." + std::to_string((i / 62500) % 250) + "." + std::to_string((i / 250) % 250) + "." +
         std::to_string(i % 250 + 1);
}

}  // namespace

namespace {

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
      std::fprintf(stderr,
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

}  // namespace

// `count` changes of `zone`, with a random pause of up to `max_gap` between them (so that the
// changes do not lock onto the phase of a periodic check cycle). `warmup` first, not counted.
std::string PrimaryZoneBody(const std::string& zone, const std::string& kind,
                            const std::string& catalog) {
  return testing::Cluster::ZoneBody(zone, kind, 1, "[]", false, catalog);
}

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
    const std::string body = testing::Cluster::ARecordPatch(name, IterationAddress(i + warmup));
    Sample sample = MeasureChange(secondaries, primary_dns, zone, [&] { return send_patch(body); });
    if (i < 0) {
      if (!sample.ok) std::fprintf(stderr, "  warm-up change failed: %s\n", sample.error.c_str());
      continue;
    }
    if (sample.ok && sample.ms > 5000) {
      std::fprintf(stderr, "  change %d: outlier %.0f ms (%s; PATCH call %.1f ms)\n", i + 1,
                   sample.ms, sample.per_secondary.c_str(), sample.api_ms);
    }
    if (sample.ok) {
      row.ms.push_back(sample.ms);
      row.api_ms.push_back(sample.api_ms);
    } else {
      ++row.failed;
      std::fprintf(stderr, "  change %d failed: %s\n", i + 1, sample.error.c_str());
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

Provisioning RunProvisioning(const std::string& method, const std::vector<HostPort>& secondaries,
                             const HostPort& primary_dns, const std::vector<std::string>& zones,
                             const std::function<HttpResponse(const std::string& zone)>& create,
                             milliseconds settle_timeout) {
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
        const Clock::time_point pass_start = Clock::now();
        const size_t queries = pending.size();
        std::erase_if(pending, [&](size_t i) {
          auto serial = QuerySoaSerial(secondaries[k], zones[i], kQueryTimeout);
          if (!serial.ok() || *serial != entries[i].serial) return false;
          served[k][i] = Clock::now();
          return true;
        });
        PacePass(pass_start, queries);
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
        std::fprintf(stderr, "  %s: the primary does not serve %s\n", method.c_str(),
                     zones[i].c_str());
      }
    } else {
      std::fprintf(stderr, "  %s: creating %s answered %d %s%s\n", method.c_str(), zones[i].c_str(),
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

void RecordProvisioning(Figures& figures, Column column, const Provisioning& p, size_t requested) {
  const std::string n = std::to_string(requested);
  figures.SetPercentiles("new zone: create call returned -> both secondaries serve", column,
                         p.row.ms);
  std::vector<double> api = p.row.api_ms;
  std::sort(api.begin(), api.end());
  figures.Set("new zone: the create call alone p50 (ms)", column, Percentile(api, 50));
  const std::string all = "all " + n + " zones served by both secondaries, from first create (s)";
  if (p.served == static_cast<int>(requested)) {
    figures.Set(all, column, p.total_seconds, true, 2);
    figures.Set("provisioning throughput (zones/s)", column,
                p.total_seconds > 0 ? p.served / p.total_seconds : 0, false);
  } else {
    figures.SetText(all, column,
                    "only " + std::to_string(p.served) + " of " + n + " served (timeout)");
  }
  figures.Set("creating the " + n + " zones alone (s)", column, p.api_seconds, true, 2);
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

Bootstrap WaitServesAll(const HostPort& server, const std::vector<std::string>& zones,
                        const std::vector<uint32_t>& serials, Clock::time_point start,
                        milliseconds timeout) {
  // One zone at a time: the first one not yet served is asked every millisecond; once it is
  // served the next is asked at once. The last zone's time is then exact to a millisecond,
  // with a light probe load (per-zone times are not reported).
  Bootstrap result;
  Clock::time_point last = start;
  const Clock::time_point deadline = Clock::now() + timeout;
  size_t next = 0;
  while (next < zones.size() && Clock::now() < deadline) {
    auto serial = QuerySoaSerial(server, zones[next], kQueryTimeout);
    if (serial.ok() && *serial == serials[next]) {
      last = Clock::now();
      ++result.served;
      ++next;
      continue;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  result.seconds = Ms(last - start) / 1000;
  return result;
}

void RecordBootstrap(Figures& figures, Column column, const Bootstrap& b, size_t zones,
                     milliseconds timeout) {
  const std::string name =
      "bootstrap: a third empty secondary serves all " + std::to_string(zones) + " zones (s)";
  if (b.served == static_cast<int>(zones)) {
    figures.Set(name, column, b.seconds, true, 2);
  } else {
    figures.SetText(name, column,
                    "only " + std::to_string(b.served) + " after " +
                        std::to_string(timeout.count() / 1000) + " s");
  }
}

namespace {

bool Gone(const HostPort& server, const std::string& zone) {
  // Two failed SOA queries in a row, so that one lost UDP packet is not taken for a removal.
  return !QuerySoaSerial(server, zone, kQueryTimeout).ok() &&
         !QuerySoaSerial(server, zone, kQueryTimeout).ok();
}

}  // namespace

Row RunDeletions(const std::string& method, const std::vector<HostPort>& secondaries,
                 const std::vector<std::string>& zones,
                 const std::function<HttpResponse(const std::string& zone)>& remove,
                 milliseconds timeout) {
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
      std::fprintf(stderr, "  %s: deleting %s answered %d %s%s\n", method.c_str(), zone.c_str(),
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
        timeout, kPollInterval);
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
      std::fprintf(stderr, "  %s: %s still served by%s %lld s after its deletion\n", method.c_str(),
                   zone.c_str(), which.c_str(), static_cast<long long>(timeout.count() / 1000));
      row.note += zone + " still served by" + which + " after " +
                  std::to_string(timeout.count() / 1000) + " s; ";
    }
  }
  row.note += "the DELETE call alone: " + Summary(row.api_ms);
  return row;
}

void RecordDeletions(Figures& figures, Column column, const Row& row, milliseconds timeout) {
  const std::string prefix = "deletion -> no secondary serves it";
  if (row.ms.empty()) {
    figures.SetText(prefix + " p50 (ms)", column,
                    "never (" + std::to_string(row.failed) + " of " + std::to_string(row.failed) +
                        " still served after " + std::to_string(timeout.count() / 1000) + " s)");
    return;
  }
  std::vector<double> sorted = row.ms;
  std::sort(sorted.begin(), sorted.end());
  figures.Set(prefix + " p50 (ms)", column, Percentile(sorted, 50));
  figures.Set(prefix + " max (ms)", column, sorted.back());
  if (row.failed > 0) {
    figures.SetText(prefix + " not removed within " + std::to_string(timeout.count() / 1000) + " s",
                    column, std::to_string(row.failed));
  }
}

void RecordChanges(Figures& figures, Column column, const Row& row) {
  figures.SetPercentiles("change -> all secondaries", column, row.ms);
  std::vector<double> api = row.api_ms;
  std::sort(api.begin(), api.end());
  figures.Set("change: the PATCH call alone p50 (ms) (floor)", column, Percentile(api, 50));
  figures.Set("change: the PATCH call alone p95 (ms)", column, Percentile(api, 95));
  figures.SetText(
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

Sustained RunSustained(
    const std::string& method, const std::vector<HostPort>& secondaries,
    const HostPort& primary_dns, const std::vector<std::string>& zones, int rate, int duration_s,
    milliseconds settle,
    const std::function<HttpResponse(const std::string& zone, const std::string& body)>& patch,
    bool stop_at_duration) {
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
        const Clock::time_point pass_start = Clock::now();
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
        PacePass(pass_start, zones.size());
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
        if (stop_at_duration && Clock::now() >= start + std::chrono::seconds(duration_s)) break;
        std::this_thread::sleep_until(start + period * i);
        const std::string body =
            testing::Cluster::ARecordPatch("www." + zones[z], IterationAddress(i + 7));
        const Clock::time_point sent_at = Clock::now();
        const HttpResponse response = patch(zones[z], body);
        ++sent;
        if (response.status != 204) {
          if (failed++ < 5) {
            std::fprintf(stderr, "  %s: PATCH of %s answered %d %s%s\n", method.c_str(),
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

void RecordSustained(Figures& figures, Column column, const Sustained& s, int rate) {
  const std::string prefix = "sustained " + std::to_string(rate) + "/s: change lag";
  figures.SetPercentiles(prefix, column, s.row.ms);
  figures.Set("sustained " + std::to_string(rate) + "/s: rate achieved (changes/s)", column,
              s.achieved_rate, false);
  figures.SetText("sustained " + std::to_string(rate) +
                      "/s: no change lost (secondaries on the primary's final serials)",
                  column, s.no_loss ? "yes" : "NO");
  figures.SetText("sustained " + std::to_string(rate) + "/s: PATCH calls that failed", column,
                  std::to_string(s.patch_failed) + " of " + std::to_string(s.sent));
}

}  // namespace pdnsd::bench
