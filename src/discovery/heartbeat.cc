#include "discovery/heartbeat.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "model/json_fields.h"
#include "model/messages.h"
#include "model/zone_name.h"

namespace pdnsd {
namespace {

using nlohmann::json;

// A required identity field: present, a string, not empty.
Status ReadIdentity(const json& doc, const char* field, std::string* out) {
  if (Status s = ReadStringField(doc, field, true, out); !s.ok()) return s;
  if (out->empty()) return Status::InvalidArgument(std::string("field \"") + field + "\" is empty");
  return Status::Ok();
}

Status ReadTags(const json& doc, std::vector<std::string>* out) {
  auto it = doc.find("tags");
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Status::InvalidArgument("field \"tags\" is not an array");
  for (const json& tag : *it) {
    if (!tag.is_string()) return Status::InvalidArgument("field \"tags\" holds a non-string");
    out->push_back(tag.get<std::string>());
  }
  return Status::Ok();
}

// load1 may be missing (0); when present it must be a finite, non-negative number. A null
// counts as wrong: it is what a NaN load turns into when encoded.
Status ReadLoad(const json& doc, double* out) {
  auto it = doc.find("load1");
  if (it == doc.end()) return Status::Ok();
  if (!it->is_number()) return Status::InvalidArgument("field \"load1\" is not a number");
  const double load = it->get<double>();
  if (!std::isfinite(load) || load < 0) {
    return Status::InvalidArgument("field \"load1\" is negative or not finite");
  }
  *out = load;
  return Status::Ok();
}

}  // namespace

std::string EncodeHeartbeat(const Heartbeat& heartbeat) {
  json doc = {
      {"id", heartbeat.id},
      {"service", heartbeat.service},
      {"version", heartbeat.version},
      {"tags", heartbeat.tags},
      {"host", heartbeat.host},
      {"load1", heartbeat.load1},
      {"boot_id", heartbeat.boot_id},
      {"sent_at", heartbeat.sent_at.empty() ? FormatRfc3339(std::chrono::system_clock::now())
                                            : heartbeat.sent_at}};
  if (!heartbeat.dns_address.empty()) doc["dns_address"] = heartbeat.dns_address;
  // Invalid UTF-8 (say in a host name) is replaced rather than thrown on the sender's thread.
  return EncodeJson(doc);
}

StatusOr<Heartbeat> DecodeHeartbeat(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  Heartbeat heartbeat;
  if (Status s = ReadIdentity(*doc, "id", &heartbeat.id); !s.ok()) return s;
  if (!IsValidSubjectToken(heartbeat.id)) {
    return Status::InvalidArgument("field \"id\" is not one NATS subject token");
  }
  if (Status s = ReadIdentity(*doc, "service", &heartbeat.service); !s.ok()) return s;
  if (Status s = ReadIdentity(*doc, "boot_id", &heartbeat.boot_id); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "version", false, &heartbeat.version); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "host", false, &heartbeat.host); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "sent_at", false, &heartbeat.sent_at); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "dns_address", false, &heartbeat.dns_address); !s.ok())
    return s;
  if (Status s = ReadTags(*doc, &heartbeat.tags); !s.ok()) return s;
  if (Status s = ReadLoad(*doc, &heartbeat.load1); !s.ok()) return s;
  return heartbeat;
}

std::string NewBootId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string id;
  id.reserve(32);
  for (int word = 0; word < 4; ++word) {  // 4 x 32 bits = 16 bytes
    uint32_t bits = static_cast<uint32_t>(device());
    for (int byte = 0; byte < 4; ++byte, bits >>= 8) {
      id += kHex[(bits >> 4) & 0xf];
      id += kHex[bits & 0xf];
    }
  }
  return id;
}

double HostLoadAverage() {
  double load[1] = {0};
  if (getloadavg(load, 1) != 1) return 0;
  return load[0];
}

HeartbeatSender::HeartbeatSender(Bus* bus, std::string subject_prefix, Heartbeat heartbeat,
                                 std::chrono::milliseconds interval, Logger logger,
                                 std::function<double()> load_source)
    : bus_(bus),
      subject_prefix_(std::move(subject_prefix)),
      heartbeat_(std::move(heartbeat)),
      interval_(interval),
      logger_(std::move(logger)),
      load_source_(load_source ? std::move(load_source) : HostLoadAverage) {}

HeartbeatSender::~HeartbeatSender() { Stop(); }

void HeartbeatSender::Start() {
  MutexLock lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  const uint64_t generation = ++generation_;
  thread_ = std::thread(
      [this, generation] { RunCatching(logger_, "the heartbeat loop", [&] { Run(generation); }); });
}

void HeartbeatSender::Stop() {
  std::thread thread;
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

std::string HeartbeatSender::subject() const {
  return subject_prefix_ + "." + heartbeat_.service + "." + heartbeat_.id;
}

void HeartbeatSender::Run(uint64_t generation) {
  // heartbeat_.load1 and sent_at are written only here; id and service never change, so
  // subject() may read them from any thread.
  const std::string subject = this->subject();
  MutexLock lock(mutex_);
  // A Start() right after a Stop() (before this thread has seen stopping_) begins a new
  // generation; this thread must still end then.
  while (!stopping_ && generation_ == generation) {
    lock.Unlock();
    heartbeat_.load1 = load_source_();
    heartbeat_.sent_at = FormatRfc3339(std::chrono::system_clock::now());
    Status status = bus_->Publish(subject, EncodeHeartbeat(heartbeat_));
    if (!status.ok() && logger_) {
      logger_->debug("heartbeat on {} not published: {}", subject, status.ToString());
    }
    lock.Lock();
    const auto deadline = std::chrono::steady_clock::now() + interval_;
    while (!stopping_ && generation_ == generation &&
           cv_.wait_until(lock.native(), deadline) == std::cv_status::no_timeout) {
    }
  }
}

}  // namespace pdnsd
