#include "native_cluster.h"

#include <nlohmann/json.hpp>

#include "model/zone_name.h"
#include "workloads.h"

namespace pdnsd::bench {

const std::vector<std::string> kSecondaryCommon = {"cache-ttl=0"};
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

NativeCluster::NativeCluster(NativeProfile p) : profile(std::move(p)) {}
NativeCluster::~NativeCluster() = default;

PdnsOptions NativeCluster::SecondaryOptions(int i, uint16_t dns_port, uint16_t api_port) const {
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

Status NativeCluster::Start(int count, int spare) {
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
  if (primary_gpgsql) primary_options.WithGpgsql(*primary_gpgsql);
  if (Status s = primary.Start(primary_options); !s.ok()) return s;
  for (int i = 0; i < count; ++i) {
    if (Status s = AddSecondary(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status NativeCluster::AddSecondary() {
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

std::vector<HostPort> NativeCluster::SecondaryAddresses() const {
  std::vector<HostPort> addresses;
  for (const auto& secondary : secondaries) addresses.push_back(secondary->dns_address());
  return addresses;
}

std::vector<PdnsServer*> NativeCluster::SecondaryServers() const {
  std::vector<PdnsServer*> servers;
  for (const auto& secondary : secondaries) servers.push_back(secondary.get());
  return servers;
}

std::string NativeCluster::ZonePath(const std::string& zone) {
  return std::string(kZonesPath) + "/" + ZoneNameToApiId(zone);
}

Status NativeCluster::AddOn(PdnsServer& server, const std::string& zone, const std::string& kind) {
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

Status NativeCluster::AddOnSecondaries(const std::string& zone, const std::string& kind) {
  for (auto& secondary : secondaries) {
    if (Status s = AddOn(*secondary, zone, kind); !s.ok()) return s;
  }
  return Status::Ok();
}

Status NativeCluster::SetUpCatalog(const std::string& catalog) {
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

HttpResponse NativeCluster::CreateMember(const std::string& zone, const std::string& catalog,
                                         int records) {
  nlohmann::json body = nlohmann::json::parse(PrimaryZoneBody(zone, "Master", catalog));
  for (auto& rrset : ZoneRecords(zone, records)) body["rrsets"].push_back(rrset);
  return primary.Api("POST", kZonesPath, body.dump());
}

}  // namespace pdnsd::bench
