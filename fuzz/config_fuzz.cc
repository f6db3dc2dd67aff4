// Fuzz target: the services' config reader (core/config.h). The first byte picks the mode:
// even, the rest is a duration ("1h30m") for ParseDuration: an accepted one is not negative and
// prints and parses back to the same number of milliseconds; odd, the rest is a config file
// (TOML), read as a service reads its own: typed getters of keys that may or may not be there,
// then the unknown-key warnings. A bad file or value is InvalidArgument, never a crash or an
// exception out of the reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "fuzz_input.h"

namespace {

using pdnsd::fuzz::Check;

void CheckDuration(std::string_view text) {
  auto duration = pdnsd::ParseDuration(text);
  if (!duration.ok()) {
    Check(duration.status().code() == pdnsd::StatusCode::kInvalidArgument);
    return;
  }
  Check(duration->count() >= 0);
  auto again = pdnsd::ParseDuration(std::to_string(duration->count()) + "ms");
  Check(again.ok() && *again == *duration);
}

void CheckConfig(std::string_view text) {
  auto reader = pdnsd::ConfigReader::Parse(text, "fuzz.toml");
  if (!reader.ok()) {
    Check(reader.status().code() == pdnsd::StatusCode::kInvalidArgument);
    return;
  }
  (void)reader->String("Service", "ID", "fallback");
  (void)reader->RequiredString("NATS", "URL");
  (void)reader->Bool("Service", "Debug", false);
  (void)reader->Int("Service", "MaxBodySize", 1, 0, int64_t{1} << 40);
  const auto duration = reader->Duration("Service", "Timeout", std::chrono::seconds(5));
  Check(duration.count() >= 0);
  (void)reader->StringList("AXFRPrimary", "AllowFrom");
  (void)reader->Has("AXFRPrimary", "TSIGKeyName");
  reader->AcceptSection("ServiceMetaData");
  (void)reader->Warnings();
  Check(reader->status().ok() || reader->status().code() == pdnsd::StatusCode::kInvalidArgument);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    CheckDuration(rest);
  } else {
    CheckConfig(rest);
  }
  return 0;
}
