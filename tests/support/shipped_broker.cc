#include "support/shipped_broker.h"

#include <cctype>
#include <regex>

#include "services/common/service_config.h"
#include "support/cluster.h"

namespace pdnsd::testing {
namespace {

const std::string kSourceDir = PDNSD_SUPPORT_SOURCE_DIR;

StatusOr<std::string> Run(const std::string& command) {
  int code = -1;
  std::string output = RunCommand(command + " 2>&1", &code);
  if (code != 0)
    return Status::Internal(command + " failed (" + std::to_string(code) + "): " + output);
  return output;
}

}  // namespace

Status MakeTestCa(const std::string& dir, const std::vector<std::string>& clients) {
  std::string command = kSourceDir + "/scripts/make-test-ca " + ShellQuote(dir);
  for (const std::string& client : clients) command += " " + ShellQuote(client);
  return Run(command).status();
}

std::string ShippedBrokerPassword(const std::string& user) {
  std::string variable;
  for (char c : user) {
    variable += std::isalnum(static_cast<unsigned char>(c)) != 0
                    ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                    : '_';
  }
  return "pw-" + variable;
}

StatusOr<std::string> ShippedBrokerConfig(const std::vector<std::string>& syncer_ids,
                                          const std::string& ca_dir) {
  const std::string path = kSourceDir + "/config/nats-server.conf";
  std::string text = ReadFile(path);
  if (text.empty()) return Status::NotFound("cannot read " + path);
  if (!syncer_ids.empty()) {
    std::string command = kSourceDir + "/scripts/nats-syncer-user";
    for (const std::string& id : syncer_ids) command += " " + ShellQuote(id);
    auto entries = Run(command);
    if (!entries.ok()) return entries.status();
    const std::string marker = "# END syncer secondary1\n";
    const size_t at = text.find(marker);
    if (at == std::string::npos) return Status::NotFound("no \"" + marker + "\" in " + path);
    text.insert(at + marker.size(), *entries);
  }
  text = std::regex_replace(text, std::regex(R"(\$PDNSD_([A-Z0-9_]+)_PASSWORD)"), "\"pw-$1\"");
  if (ca_dir.empty()) {
    text = std::regex_replace(text, std::regex(R"(\ntls \{[^}]*\})"), "\n");
  } else {
    text = std::regex_replace(text, std::regex(R"(\$PDNSD_NATS_TLS_CERT)"),
                              "\"" + ca_dir + "/server.crt\"");
    text = std::regex_replace(text, std::regex(R"(\$PDNSD_NATS_TLS_KEY)"),
                              "\"" + ca_dir + "/server.key\"");
  }
  return text;
}

BusOptions ShippedBrokerUser(const NatsServer& nats, const std::string& user,
                             const std::string& ca_dir) {
  BusOptions options = TestBusOptions(nats, user);
  options.username = user;
  options.password = ShippedBrokerPassword(user);
  // As ReadCommonConfig() does when [MessageBroker] InboxPrefix is not set.
  options.inbox_prefix = DefaultInboxPrefix(user);
  if (!ca_dir.empty()) {
    options.url = "tls://" + options.url.substr(std::string_view("nats://").size());
    options.tls_ca_file = ca_dir + "/ca.crt";
    options.tls_hostname = "localhost";  // the server certificate's DNS name (MakeTestCa)
  }
  return options;
}

}  // namespace pdnsd::testing
