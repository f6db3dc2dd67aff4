// Fuzz target: the bus's frame reader (src/bus/framing.h), which takes the messages of a reply
// as a peer sends them — chunk and encoding headers and bodies, in any order.
//
// Input: frames separated by the byte 0x1e. A frame is
//   <flags><chunk header value> 0x1f <encoding header value> 0x1f <body>
// where bit 0 of the flags byte says the chunk header is present and bit 1 the encoding header
// (an absent header's field is still there, and ignored). Whatever the frames, the reader
// returns OK or InvalidArgument; a payload it yields is no larger than its maximum, and once it
// has failed it stays failed. A second reader with a small maximum (so that the size limit of
// plain pieces is reached by short inputs too) takes the same frames: it fails whenever the
// first does, and a payload it yields is the first reader's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bus/framing.h"
#include "fuzz_input.h"

namespace {

using pdnsd::fuzz::Check;
using pdnsd::fuzz::Take;

constexpr size_t kMaxPayload = 1024 * 1024;  // bounds zstd bombs within the fuzzer's memory
constexpr size_t kSmallMaxPayload = 512;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pdnsd;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  framing::FrameReader reader(kMaxPayload);
  framing::FrameReader small_reader(kSmallMaxPayload);
  bool failed = false;
  bool small_done = false;
  std::string small_payload;
  while (!input.empty()) {
    std::string_view record = Take(input, '\x1e');
    if (record.empty()) continue;
    const auto flags = static_cast<uint8_t>(record.front());
    record.remove_prefix(1);
    const std::string_view chunk = Take(record, '\x1f');
    const std::string_view encoding = Take(record, '\x1f');
    framing::Frame frame;
    if (flags & 1) frame.chunk = chunk;
    if (flags & 2) frame.encoding = encoding;
    frame.body = record;
    const Status status = reader.Add(frame);
    Check(status.ok() || status.code() == StatusCode::kInvalidArgument);
    Check(!failed || !status.ok());
    failed = failed || !status.ok();
    const Status small_status = small_reader.Add(frame);
    Check(small_status.ok() || small_status.code() == StatusCode::kInvalidArgument);
    Check(status.ok() || !small_status.ok());
    if (small_status.ok() && small_reader.done()) {
      small_done = true;
      small_payload = small_reader.TakePayload();
      Check(small_payload.size() <= kSmallMaxPayload);
    }
    if (status.ok() && reader.done()) {
      const std::string payload = reader.TakePayload();
      Check(payload.size() <= kMaxPayload);
      if (small_done) Check(small_payload == payload);
      break;
    }
  }
  return 0;
}
