// TSIG (RFC 8945) on ldns packets for the zone server: checking a request, signing the
// answers (every message of an AXFR), and the unsigned error answers of RFC 8945 5.3.2.
// Internal to src/dns.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include "dns/tsig.h"
#include "dns/wire.h"

namespace pdnsd::dnswire {

// What a request's TSIG is worth (RFC 8945 5.2).
enum class TsigVerdict {
  kUnsigned,  // no TSIG record
  kValid,
  kBadKey,   // another key name or algorithm
  kBadSig,   // the MAC does not verify
  kBadTime,  // outside the fudge window
};
const char* TsigVerdictText(TsigVerdict verdict);

// Checks the TSIG of `query`, parsed from `wire`, against `key` at `now` (unix seconds).
// With kValid, *request_mac is the request's MAC (for signing the answer).
TsigVerdict CheckRequestTsig(ldns_pkt* query, const uint8_t* wire, size_t length,
                             const TsigKey& key, time_t now, RdfPtr* request_mac);

// Signs the messages of one answer in order: the first with the request's MAC, each later
// one with the previous message's MAC and the timers only (RFC 8945 5.3.1).
class TsigSigner {
 public:
  // REQUIRES: request_mac from CheckRequestTsig; key outlives the signer.
  TsigSigner(const TsigKey& key, RdfPtr request_mac);
  // Adds the TSIG record to `message`; false when ldns failed.
  bool Sign(ldns_pkt* message);

 private:
  const TsigKey& key_;
  std::string algorithm_name_;  // "hmac-sha256."
  RdfPtr previous_mac_;
  bool first_ = true;
};

// Sets on `reply` (an answer to `query`, rcode already set) an unsigned TSIG record with
// `error` (RFC 8945 5.3.2: BADKEY, BADSIG and, here, BADTIME: empty MAC). The record's name
// and algorithm are the request's.
void SetTsigError(const ldns_pkt* query, ldns_pkt* reply, TsigVerdict error, time_t now);

}  // namespace pdnsd::dnswire
