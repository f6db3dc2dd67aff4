#include "dns/tsig.h"

#include <array>
#include <cstring>

#include "dns/tsig_wire.h"
#include "model/zone_name.h"

namespace pdnsd {
namespace {

// RFC 8945 and its registry; the names PowerDNS's tsigkeys API takes.
constexpr std::array<const char*, 4> kAlgorithms = {"hmac-sha256", "hmac-sha384", "hmac-sha512",
                                                    "hmac-sha224"};
constexpr size_t kMinSecretOctets = 16;
// RFC 8945 10: 300 s is the recommended fudge.
constexpr uint16_t kFudge = 300;
// TSIG error codes (RFC 8945 3).
constexpr uint16_t kBadSig = 16;
constexpr uint16_t kBadKey = 17;
constexpr uint16_t kBadTime = 18;

}  // namespace

bool IsSupportedTsigAlgorithm(const std::string& algorithm) {
  for (const char* known : kAlgorithms) {
    if (algorithm == known) return true;
  }
  return false;
}

StatusOr<TsigKey> ValidateTsigKey(TsigKey key) {
  auto name = NormalizeZoneName(key.name);
  if (!name.ok() || *name == ".") {
    return Status::InvalidArgument("TSIG key name \"" + key.name + "\" is not a domain name");
  }
  key.name = *name;
  if (!IsSupportedTsigAlgorithm(key.algorithm)) {
    return Status::InvalidArgument("TSIG algorithm \"" + key.algorithm +
                                   "\" is not one of hmac-sha256, hmac-sha384, hmac-sha512, "
                                   "hmac-sha224");
  }
  // ldns reads the secret up to a NUL, and signs with what it read: "secret\0junk" would be
  // accepted with the junk silently dropped.
  if (key.secret.find('\0') != std::string::npos) {
    return Status::InvalidArgument("TSIG secret must not contain a NUL character");
  }
  ldns_rdf* decoded = nullptr;
  const ldns_status status = ldns_str2rdf_b64(&decoded, key.secret.c_str());
  dnswire::RdfPtr owned(decoded);
  if (status != LDNS_STATUS_OK || !owned || ldns_rdf_size(owned.get()) < kMinSecretOctets) {
    return Status::InvalidArgument(
        "TSIG secret is not base64 of at least 16 octets (make one "
        "with: openssl rand -base64 32)");
  }
  return key;
}

namespace dnswire {
namespace {

RdfPtr Int16Rdf(uint16_t value) {
  return RdfPtr(ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, value));
}

// An INT16_DATA rdf with no data (a zero length).
RdfPtr EmptyInt16Data() {
  const uint8_t zero[2] = {0, 0};
  return RdfPtr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, sizeof zero, zero));
}

RdfPtr TimeRdf(time_t now) {
  uint8_t octets[6];
  const uint64_t t = static_cast<uint64_t>(now);
  for (int i = 0; i < 6; ++i) octets[i] = static_cast<uint8_t>(t >> (8 * (5 - i)));
  return RdfPtr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_TSIGTIME, sizeof octets, octets));
}

uint64_t TimeValue(const ldns_rdf* rdf) {
  if (rdf == nullptr || ldns_rdf_size(rdf) != 6) return 0;
  uint64_t t = 0;
  for (size_t i = 0; i < 6; ++i) t = (t << 8) | ldns_rdf_data(rdf)[i];
  return t;
}

std::string AlgorithmName(const std::string& algorithm) { return algorithm + "."; }

bool SameName(const ldns_rdf* name, const std::string& expected) {
  RdfPtr wanted(ldns_dname_new_frm_str(expected.c_str()));
  return wanted && name != nullptr && ldns_dname_compare(name, wanted.get()) == 0;
}

}  // namespace

const char* TsigVerdictText(TsigVerdict verdict) {
  switch (verdict) {
    case TsigVerdict::kUnsigned:
      return "not signed";
    case TsigVerdict::kValid:
      return "valid";
    case TsigVerdict::kBadKey:
      return "signed with an unknown key (BADKEY)";
    case TsigVerdict::kBadSig:
      return "bad signature (BADSIG)";
    case TsigVerdict::kBadTime:
      return "signed outside the time window (BADTIME)";
  }
  return "?";
}

TsigVerdict CheckRequestTsig(ldns_pkt* query, const uint8_t* wire, size_t length,
                             const TsigKey& key, time_t now, RdfPtr* request_mac) {
  ldns_rr* tsig = ldns_pkt_tsig(query);
  if (tsig == nullptr) return TsigVerdict::kUnsigned;
  if (ldns_rr_rd_count(tsig) < 7 || !SameName(ldns_rr_owner(tsig), key.name) ||
      !SameName(ldns_rr_rdf(tsig, 0), AlgorithmName(key.algorithm))) {
    return TsigVerdict::kBadKey;
  }
  // ldns_pkt_tsig_verify detaches the record while it computes and, on an internal error,
  // returns without putting it back: then it is ours to free.
  const bool verified =
      ldns_pkt_tsig_verify(query, wire, length, key.name.c_str(), key.secret.c_str(), nullptr);
  if (ldns_pkt_tsig(query) == nullptr) {
    ldns_rr_free(tsig);
    return TsigVerdict::kBadSig;
  }
  if (!verified) return TsigVerdict::kBadSig;
  const uint64_t signed_at = TimeValue(ldns_rr_rdf(tsig, 1));
  const uint64_t fudge = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 2));
  const uint64_t t = static_cast<uint64_t>(now);
  if ((signed_at > t ? signed_at - t : t - signed_at) > fudge) return TsigVerdict::kBadTime;
  *request_mac = RdfPtr(ldns_rdf_clone(ldns_rr_rdf(tsig, 3)));
  return *request_mac ? TsigVerdict::kValid : TsigVerdict::kBadSig;
}

TsigSigner::TsigSigner(const TsigKey& key, RdfPtr request_mac)
    : key_(key),
      algorithm_name_(AlgorithmName(key.algorithm)),
      previous_mac_(std::move(request_mac)) {}

bool TsigSigner::Sign(ldns_pkt* message) {
  const ldns_status status =
      ldns_pkt_tsig_sign_next(message, key_.name.c_str(), key_.secret.c_str(), kFudge,
                              algorithm_name_.c_str(), previous_mac_.get(), first_ ? 0 : 1);
  if (status != LDNS_STATUS_OK) return false;
  const ldns_rr* tsig = ldns_pkt_tsig(message);
  if (tsig == nullptr || ldns_rr_rd_count(tsig) < 4) return false;
  previous_mac_ = RdfPtr(ldns_rdf_clone(ldns_rr_rdf(tsig, 3)));
  first_ = false;
  return previous_mac_ != nullptr;
}

void SetTsigError(const ldns_pkt* query, ldns_pkt* reply, TsigVerdict error, time_t now) {
  const ldns_rr* request = ldns_pkt_tsig(query);
  if (request == nullptr || ldns_rr_rd_count(request) < 1) return;
  const uint16_t code = error == TsigVerdict::kBadKey    ? kBadKey
                        : error == TsigVerdict::kBadTime ? kBadTime
                                                         : kBadSig;
  RrPtr rr(ldns_rr_new());
  if (!rr) return;
  ldns_rr_set_owner(rr.get(), ldns_rdf_clone(ldns_rr_owner(request)));
  ldns_rr_set_type(rr.get(), LDNS_RR_TYPE_TSIG);
  ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_ANY);
  ldns_rr_set_ttl(rr.get(), 0);
  RdfPtr parts[] = {RdfPtr(ldns_rdf_clone(ldns_rr_rdf(request, 0))),
                    TimeRdf(now),
                    Int16Rdf(kFudge),
                    EmptyInt16Data(),
                    Int16Rdf(ldns_pkt_id(query)),
                    Int16Rdf(code),
                    EmptyInt16Data()};
  for (RdfPtr& part : parts) {
    if (!part) return;
  }
  for (RdfPtr& part : parts) ldns_rr_push_rdf(rr.get(), part.release());
  ldns_pkt_set_tsig(reply, rr.release());
}

}  // namespace dnswire
}  // namespace pdnsd
