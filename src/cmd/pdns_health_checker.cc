// pdns-health-checker: finds out-of-sync secondaries and makes their syncers repair them.
#include "services/health_checker/health_checker.h"

int main(int argc, char** argv) {
  return pdnsd::RunServiceMain(argc, argv, pdnsd::HealthCheckerDefinition());
}
