// The shipped broker configuration (config/nats-server.conf) for a test nats-server: its users
// and permissions as an operator deploys them — one user per role, one per secondary-syncer
// ID — with known passwords, and its TLS block with a throw-away CA, e.g.
//
//   TempDir certs;
//   PDNSD_ASSERT_OK(MakeTestCa(certs.path()));
//   auto config = ShippedBrokerConfig({"ns1", "ns2"}, certs.path());
//   PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithConfig(*config)));
//   auto bus = Bus::Connect(ShippedBrokerUser(nats, "syncer-ns1", certs.path()), logger);
//
// Everything here goes through the operator's own tools: scripts/make-test-ca for the CA and
// scripts/nats-syncer-user for each syncer's entry.
#pragma once

#include <string>
#include <vector>

#include "bus/bus.h"
#include "core/status.h"
#include "support/processes.h"

namespace pdnsd::testing {

// scripts/make-test-ca `dir` [clients...]: ca.crt, server.crt/key (127.0.0.1, ::1,
// localhost) and <client>.crt/key in `dir`.
Status MakeTestCa(const std::string& dir, const std::vector<std::string>& clients = {});

// The password the config below gives `user`: "pw-" and the name of the user's variable
// without PDNSD_ and _PASSWORD ("proxy" -> "pw-PROXY", "syncer-sec-a" -> "pw-SYNCER_SEC_A").
std::string ShippedBrokerPassword(const std::string& user);

// config/nats-server.conf with an entry for each of `syncer_ids` (what scripts/nats-syncer-user
// prints) and every $PDNSD_*_PASSWORD written in as ShippedBrokerPassword() says. `ca_dir`:
// the directory of MakeTestCa(), whose server certificate the tls block then names; empty: the
// tls block is left out (a plain broker with the shipped permissions).
StatusOr<std::string> ShippedBrokerConfig(const std::vector<std::string>& syncer_ids,
                                          const std::string& ca_dir);

// BusOptions of `user` for a nats server started with that config: its password, and, with
// `ca_dir`, TLS trusting that CA (a tls:// URL) and expecting the name "localhost".
BusOptions ShippedBrokerUser(const NatsServer& nats, const std::string& user,
                             const std::string& ca_dir);

}  // namespace pdnsd::testing
