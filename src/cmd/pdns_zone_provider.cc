// pdns-zone-provider: serves zone data from the primary (AXFR) to the secondary-syncers.
#include "services/zone_provider/zone_provider.h"

int main(int argc, char** argv) {
  return pdnsd::RunServiceMain(argc, argv, pdnsd::ZoneProviderDefinition());
}
