// Fuzz target: the HTTPS listener's decision from a new connection's first bytes
// (ClassifyFirstBytes, core/http_listener.h): TLS for libmicrohttpd, plain HTTP for the 400,
// wait for more, or closed. The first byte of the input says whether FIONREAD is known (bit 0);
// the rest is what the client sent. The decision is made for every prefix of it, as the bytes
// would arrive.
// Checks: nothing sent is "closed" and only that; a first byte other than 0x16 is plain HTTP at
// once; TLS only with the whole first record (when its size is known); once a prefix is TLS or
// plain HTTP, every longer one is too (arriving bytes never undo a decision); and once the whole
// first record is there, the connection is never kept waiting (a complete ClientHello always
// reaches the TLS server).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/http_listener.h"
#include "fuzz_input.h"

using pdnsd::FirstBytesVerdict;
using pdnsd::fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool available_known = (data[0] & 1) != 0;
  const uint8_t* sent = data + 1;
  const size_t sent_size = size - 1;
  std::optional<FirstBytesVerdict> decided;
  for (size_t arrived = 0; arrived <= sent_size; ++arrived) {
    const size_t peeked = arrived < 5 ? arrived : 5;
    const std::optional<size_t> available =
        available_known ? std::optional<size_t>(arrived) : std::nullopt;
    const FirstBytesVerdict verdict = pdnsd::ClassifyFirstBytes(sent, peeked, available);
    Check((verdict == FirstBytesVerdict::kClosed) == (arrived == 0));
    if (arrived == 0) continue;
    if (sent[0] != 0x16) Check(verdict == FirstBytesVerdict::kPlainHttp);
    if (verdict == FirstBytesVerdict::kTls) {
      Check(sent[0] == 0x16 && peeked == 5);
      if (available_known) Check(arrived >= 5 + ((size_t{sent[3]} << 8) | sent[4]));
    }
    if (arrived >= 5 && sent[0] == 0x16) {
      const size_t record = 5 + ((size_t{sent[3]} << 8) | sent[4]);
      if (!available_known || arrived >= record) Check(verdict == FirstBytesVerdict::kTls);
    }
    if (decided) Check(verdict == *decided);
    if (verdict == FirstBytesVerdict::kTls || verdict == FirstBytesVerdict::kPlainHttp) {
      decided = verdict;
    }
  }
  return 0;
}
