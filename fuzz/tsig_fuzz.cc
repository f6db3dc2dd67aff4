// Fuzz target: TSIG (dns/tsig_wire.h) as the SOA/AXFR endpoint meets it, and the key
// validation of the config (dns/tsig.h). The first byte picks the mode:
//  0 (mod 4): the rest is a request in wire format, checked against the endpoint's key as it
//     arrives (a forged or broken TSIG record in a hostile query); whatever the verdict, the
//     error answer of RFC 8945 5.3.2 encodes and parses again;
//  1: a query signed with the key, its name and type taken from the rest ("name\ntype\n"),
//     then damaged by the (offset, xor) byte pairs that follow: unharmed it must verify, at the
//     wrong time it is BADTIME, under another key BADKEY, with another secret BADSIG; damaged,
//     any verdict, but a request that verifies gets answers (an AXFR of 1-4 messages signed by
//     TsigSigner) that verify in order with ldns as a secondary checks them;
//  2: the rest is "name\nalgorithm\nsecret" for ValidateTsigKey: an accepted key has a
//     normalised name and validates again unchanged;
//  3: like 1 without damage but with the fuzzer's own bytes as the answer's records.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "dns/tsig.h"
#include "dns/tsig_wire.h"
#include "dns/wire.h"
#include "fuzz_input.h"

namespace {

using pdnsd::TsigKey;
using pdnsd::dnswire::PktPtr;
using pdnsd::dnswire::RdfPtr;
using pdnsd::dnswire::TsigVerdict;
using pdnsd::fuzz::Check;
using pdnsd::fuzz::Take;

const TsigKey& EndpointKey() {
  static const TsigKey key = *pdnsd::ValidateTsigKey(
      {"fuzz.", "hmac-sha256", "a2V5LWZvci10ZXN0cy1vbmx5LTMyLW9jdGV0cy1sb25nISE="});
  return key;
}

TsigVerdict VerdictOf(const std::string& wire, const TsigKey& key, time_t now, RdfPtr* mac) {
  auto packet =
      pdnsd::dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  if (!packet) return TsigVerdict::kUnsigned;
  return pdnsd::dnswire::CheckRequestTsig(
      packet.get(), reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), key, now, mac);
}

// A hostile request: whatever its TSIG, the verdict is one of the five and the error answer
// is a well-formed message.
void CheckHostileRequest(std::string_view bytes) {
  auto query =
      pdnsd::dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!query) return;
  RdfPtr mac;
  const time_t now = 1'700'000'000;
  const TsigVerdict verdict =
      pdnsd::dnswire::CheckRequestTsig(query.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                       bytes.size(), EndpointKey(), now, &mac);
  if (verdict == TsigVerdict::kValid) Check(mac != nullptr);
  if (verdict == TsigVerdict::kUnsigned || verdict == TsigVerdict::kValid) return;
  PktPtr reply(ldns_pkt_new());
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(query.get()));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_rcode(reply.get(), LDNS_RCODE_NOTAUTH);
  pdnsd::dnswire::SetTsigError(query.get(), reply.get(), verdict, now);
  const std::string wire = pdnsd::dnswire::PacketToWire(reply.get());
  if (wire.empty()) return;  // ldns refused to render a record it was given (a huge name)
  Check(pdnsd::dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) !=
        nullptr);
}

// Signs the answers to a verified request and checks each as a secondary does (RFC 8945
// 5.3.1: the first with the request's MAC, the later ones with the previous MAC, timers only).
void CheckSignedAnswers(RdfPtr request_mac, int messages, std::string_view record_text) {
  const TsigKey& key = EndpointKey();
  RdfPtr previous(ldns_rdf_clone(request_mac.get()));
  pdnsd::dnswire::TsigSigner signer(key, std::move(request_mac));
  for (int i = 0; i < messages; ++i) {
    PktPtr answer(ldns_pkt_new());
    ldns_pkt_set_qr(answer.get(), true);
    ldns_pkt_set_id(answer.get(), 4711);
    ldns_rr* rr = nullptr;
    // One line, as the zone server hands ldns its records (ForEachRecord in
    // src/dns/zone_server.cc): libldns 1.8.3's tokenizer writes one byte past its buffer on a
    // newline inside parentheses (fuzz/README.md), which no record of ours can contain.
    const std::string text =
        record_text.empty() ? std::string("www.example. 60 IN A 192.0.2.") + std::to_string(i + 1)
                            : std::string(record_text.substr(0, record_text.find('\n')));
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK) {
      ldns_pkt_push_rr(answer.get(), LDNS_SECTION_ANSWER, rr);
    }
    if (!signer.Sign(answer.get())) return;  // ldns could not sign (e.g. a record it renders not)
    const std::string wire = pdnsd::dnswire::PacketToWire(answer.get());
    auto received =
        pdnsd::dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
    Check(received != nullptr);
    ldns_rr* tsig = ldns_pkt_tsig(received.get());
    Check(tsig != nullptr && ldns_rr_rd_count(tsig) >= 4);
    RdfPtr mac(ldns_rdf_clone(ldns_rr_rdf(tsig, 3)));
    Check(ldns_pkt_tsig_verify_next(received.get(), reinterpret_cast<const uint8_t*>(wire.data()),
                                    wire.size(), key.name.c_str(), key.secret.c_str(),
                                    previous.get(), i == 0 ? 0 : 1));
    previous = std::move(mac);
  }
}

// A query signed with the endpoint's key at `now`; empty when ldns cannot make it.
std::string SignedQuery(std::string_view name, std::string_view type_text, uint16_t id) {
  // ldns gives "TYPE25577777" as that number, out of the enum's range: read it as a number.
  const auto number =
      static_cast<uint32_t>(ldns_get_rr_type_by_name(std::string(type_text).c_str()));
  const ldns_rr_type type =
      number == 0 || number > 65535 ? LDNS_RR_TYPE_SOA : static_cast<ldns_rr_type>(number);
  auto query = pdnsd::dnswire::NewQuery(name.empty() ? "example." : name, type);
  if (!query.ok()) return "";
  ldns_pkt_set_id(query->get(), id);
  const TsigKey& key = EndpointKey();
  const std::string algorithm = key.algorithm + ".";
  if (ldns_pkt_tsig_sign(query->get(), key.name.c_str(), key.secret.c_str(), 300, algorithm.c_str(),
                         nullptr) != LDNS_STATUS_OK) {
    return "";
  }
  return pdnsd::dnswire::PacketToWire(query->get());
}

void CheckSignedRequest(std::string_view rest, bool damage) {
  const std::string_view name = Take(rest, '\n');
  const std::string_view type = Take(rest, '\n');
  const uint16_t id = rest.size() >= 2 ? static_cast<uint16_t>(rest[0] << 8 | rest[1]) : 1;
  std::string wire = SignedQuery(name, type, id);
  if (wire.empty()) return;
  const TsigKey& key = EndpointKey();
  const time_t now = std::time(nullptr);
  RdfPtr mac;
  Check(VerdictOf(wire, key, now, &mac) == TsigVerdict::kValid && mac != nullptr);
  if (!damage) {
    RdfPtr unused;
    Check(VerdictOf(wire, key, now + 3600, &unused) == TsigVerdict::kBadTime);
    TsigKey other_name = key;
    other_name.name = "other.";
    Check(VerdictOf(wire, other_name, now, &unused) == TsigVerdict::kBadKey);
    TsigKey other_algorithm = key;
    other_algorithm.algorithm = "hmac-sha512";
    Check(VerdictOf(wire, other_algorithm, now, &unused) == TsigVerdict::kBadKey);
    TsigKey other_secret = key;
    other_secret.secret = "b3RoZXItc2VjcmV0LWZvci10ZXN0cy0zMi1vY3RldHMhIQ==";
    Check(VerdictOf(wire, other_secret, now, &unused) == TsigVerdict::kBadSig);
    const int messages = 1 + (rest.size() > 2 ? rest[2] & 3 : 0);
    CheckSignedAnswers(std::move(mac), messages, rest.size() > 3 ? rest.substr(3) : "");
    return;
  }
  rest = rest.size() >= 2 ? rest.substr(2) : std::string_view();
  for (size_t i = 0; i + 1 < rest.size() && i < 16; i += 2) {
    wire[static_cast<uint8_t>(rest[i]) % wire.size()] ^= rest[i + 1];
  }
  RdfPtr damaged_mac;
  if (VerdictOf(wire, key, now, &damaged_mac) == TsigVerdict::kValid) {
    Check(damaged_mac != nullptr);
    CheckSignedAnswers(std::move(damaged_mac), 2, "");
  }
  CheckHostileRequest(wire);
}

void CheckKeyValidation(std::string_view rest) {
  TsigKey key;
  key.name = std::string(Take(rest, '\n'));
  key.algorithm = std::string(Take(rest, '\n'));
  key.secret = std::string(rest);
  auto valid = pdnsd::ValidateTsigKey(key);
  // ldns and the name parser read C strings: a NUL anywhere would cut a field short.
  if ((key.name + key.algorithm + key.secret).find('\0') != std::string::npos) {
    Check(!valid.ok());
  }
  if (!valid.ok()) {
    Check(valid.status().code() == pdnsd::StatusCode::kInvalidArgument);
    return;
  }
  Check(!valid->name.empty() && valid->name.back() == '.');
  Check(pdnsd::IsSupportedTsigAlgorithm(valid->algorithm));
  auto again = pdnsd::ValidateTsigKey(*valid);
  Check(again.ok() && again->name == valid->name && again->algorithm == valid->algorithm &&
        again->secret == valid->secret);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      CheckHostileRequest(rest);
      break;
    case 1:
      CheckSignedRequest(rest, true);
      break;
    case 2:
      CheckKeyValidation(rest);
      break;
    default:
      CheckSignedRequest(rest, false);
      break;
  }
  return 0;
}
