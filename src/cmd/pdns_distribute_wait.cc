// pdns-distribute-wait: waits until a change made through the api-proxy is live on every
// secondary (src/tools/change_wait.h). Wiring only: arguments, environment, exit code.
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "model/messages.h"
#include "model/zone_name.h"
#include "tools/change_wait.h"

namespace {

constexpr const char* kHelp =
    R"(usage: pdns-distribute-wait [--proxy URL] [--timeout DURATION] [--insecure | --ca-file FILE]
                            (CHANGE-ID | --zone ZONE)

Waits until a change made through pdns-api-proxy is served by every active secondary, printing
each secondary as it arrives with its lag. CHANGE-ID is the X-Change-Id header of the proxy's
answer; --zone takes the newest change of ZONE. The API key comes from $PDNS_API_KEY (never
from the command line, where other users could read it); the proxy checks it with PowerDNS.

  --proxy URL          the api-proxy (default https://127.0.0.1:8443)
  --timeout DURATION   give up after this long (default 60s; "500ms", "2m" or seconds)
  --insecure           do not check the proxy's certificate (its self-signed default one)
  --ca-file FILE       trust the CAs in this PEM file for the proxy's certificate
  --help, --version

Exit status: 0 INSYNC; 1 not in sync when the time was up (the laggards are named);
2 bad arguments; 3 the proxy refused or could not answer (wrong API key, unknown change).

Example, after a change in a shell script:
  export PDNS_API_KEY=...
  id=$(curl -sk -D - -o /dev/null -X PATCH -H "X-API-Key: $PDNS_API_KEY" \
         --data @change.json https://proxy:8443/api/v1/servers/localhost/zones/example.org. \
       | sed -n 's/^X-Change-Id: *//Ip' | tr -d '\r')
  pdns-distribute-wait --proxy https://proxy:8443 --insecure --timeout 30s "$id"
)";

int Usage(const std::string& problem) {
  std::cerr << "pdns-distribute-wait: " << problem << " (--help shows the usage)\n";
  return pdnsd::kWaitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  pdnsd::ChangeWaitOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    const auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (argument == "--help" || argument == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (argument == "--version") {
      std::cout << "pdns-distribute-wait " << PDNSD_VERSION << "\n";
      return 0;
    } else if (argument == "--proxy") {
      const char* url = value();
      if (url == nullptr) return Usage("--proxy needs a URL");
      options.proxy_url = url;
      while (!options.proxy_url.empty() && options.proxy_url.back() == '/') {
        options.proxy_url.pop_back();
      }
    } else if (argument == "--timeout") {
      const char* text = value();
      auto timeout = text != nullptr ? pdnsd::ParseDuration(text)
                                     : pdnsd::StatusOr<std::chrono::milliseconds>(
                                           pdnsd::Status::InvalidArgument("missing"));
      if (!timeout.ok()) return Usage("--timeout needs a duration such as 30s");
      options.timeout = *timeout;
    } else if (argument == "--insecure") {
      options.tls.verify = false;
    } else if (argument == "--ca-file") {
      const char* file = value();
      if (file == nullptr) return Usage("--ca-file needs a file");
      options.tls.ca_file = file;
    } else if (argument == "--zone") {
      const char* zone = value();
      if (zone == nullptr) return Usage("--zone needs a zone");
      auto normal = pdnsd::NormalizeZoneName(zone);
      if (!normal.ok()) return Usage("--zone: " + normal.status().message());
      options.zone = *normal;
    } else if (!argument.empty() && argument[0] != '-' && options.change_id.empty()) {
      if (!pdnsd::IsValidChangeId(argument)) return Usage(argument + " is not a change id");
      options.change_id = argument;
    } else {
      return Usage("unknown argument " + argument);
    }
  }
  if (options.change_id.empty() == options.zone.empty()) {
    return Usage("give a CHANGE-ID or --zone ZONE");
  }
  const char* key = std::getenv("PDNS_API_KEY");
  if (key == nullptr || *key == '\0') return Usage("set PDNS_API_KEY to the PowerDNS API key");
  options.api_key = key;
  return pdnsd::RunChangeWait(options, std::cout, std::cerr, pdnsd::SystemClock());
}
