// pdns-api-proxy: HTTPS proxy in front of the primary's PowerDNS API; publishes zone events.
#include "services/api_proxy/api_proxy.h"

int main(int argc, char** argv) {
  return pdnsd::RunServiceMain(argc, argv, pdnsd::ApiProxyDefinition());
}
