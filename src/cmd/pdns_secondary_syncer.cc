// pdns-secondary-syncer: keeps the local PowerDNS secondary in sync with the primary.
#include "services/secondary_syncer/secondary_syncer.h"

int main(int argc, char** argv) {
  return pdnsd::RunServiceMain(
      argc, argv,
      pdnsd::DefineService<pdnsd::SecondarySyncer>(
          "pdns-secondary-syncer", "keeps the local PowerDNS secondary in sync with the primary",
          &pdnsd::ReadSecondarySyncerConfig,
          /*unique_id=*/true));  // the ID names the secondary: one syncer per ID
}
