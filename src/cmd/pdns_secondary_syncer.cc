// pdns-secondary-syncer: keeps the local PowerDNS secondary in sync with the primary.
#include "services/secondary_syncer/secondary_syncer.h"

int main(int argc, char** argv) {
  return pdnsd::RunServiceMain(argc, argv, pdnsd::SecondarySyncerDefinition());
}
