// Framing: how one request/reply payload travels as NATS messages (docs/architecture.md (d)).
//
// The bus moves bytes; this module decides what the bytes of each message are. It knows
// nothing of NATS: a Frame is the body of one message plus the values of our two headers, and
// the bus copies them to and from nats.c messages. Modelled on LevelDB's log writer/reader
// (db/log_format.h): a writer that cuts, a reader that checks and joins, both tested without
// I/O (tests/unit/framing_test.cc) and fuzzed (fuzz/framing_fuzz.cc), because peers send this.
//
// The wire format (it must not change; peers that know nothing of it are the original Go
// services):
//  * A payload that fits in one message (ChunkBodyLimit) is one plain frame without headers.
//  * A larger one is compressed with zstd (level 1, a frame that states its content size) when
//    it is larger than 64 KiB, and cut into n pieces of at most ChunkBodyLimit bytes. Piece i
//    (1-based) carries "Pdnsd-Chunk: <i>/<n>" and, when compressed, "Pdnsd-Encoding: zstd".
//    A compressed payload that fits one piece still goes as "1/1".
//  * A frame without a chunk header but with "Pdnsd-Encoding: zstd" is one compressed piece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pdnsd::framing {

inline constexpr std::string_view kChunkHeader = "Pdnsd-Chunk";
inline constexpr std::string_view kEncodingHeader = "Pdnsd-Encoding";
inline constexpr std::string_view kZstdEncoding = "zstd";

// Payloads above this size are compressed before they are cut.
inline constexpr size_t kCompressAbove = 64 * 1024;

// The largest payload a FrameReader accepts by default, compressed or not: 1 GiB, the pending
// limit of the bus's reply inbox (bus.cc), so nothing larger could arrive anyway. It also
// bounds what a small zstd frame may claim to expand to.
inline constexpr size_t kDefaultMaxPayloadBytes = size_t{1} << 30;

// One message of a framed payload. A header that is absent is nullopt; a header that is present
// but empty is an empty view (and bad). The views must outlive the call they are passed to.
struct Frame {
  std::optional<std::string_view> chunk = std::nullopt;     // value of Pdnsd-Chunk: "<i>/<n>"
  std::optional<std::string_view> encoding = std::nullopt;  // value of Pdnsd-Encoding: "zstd"
  std::string_view body = {};
};

// The body limit of one piece for a broker that accepts messages of max_message_bytes
// (natsConnection_GetMaxPayload): 4 KiB less, for headers and protocol overhead; 512 KiB when
// the limit is unknown or tiny (8 KiB or less).
size_t ChunkBodyLimit(size_t max_message_bytes);

// Receives the frames of one payload, in order. A non-OK Status stops the writer, which
// returns it.
using FrameSink = std::function<Status(const Frame&)>;

// Cuts `payload` into frames for a broker limit of max_message_bytes and hands each to `sink`
// (the Frame's views are valid only during the call). A payload that zstd fails to compress
// goes out uncompressed, cut the same way.
Status WriteFrames(std::string_view payload, size_t max_message_bytes, const FrameSink& sink);

// The compression of compressed frames, for other layouts that carry compressed payloads
// (src/distribution/zone_version.h): zstd level 1, one frame that states its content size.
// nullopt when zstd fails (allocation).
std::optional<std::string> ZstdCompress(std::string_view data);

// ZstdCompress for a payload given in pieces (a zone as its transfer arrives): the same kind of
// frame (zstd level 1, stating its content size), holding zstd's window and never the payload
// or the whole frame. The content size is known only at the end, so the frame's header comes
// last: Add() and Finish() hand the frame's body to `sink` as zstd produces it, and Finish()
// returns the header, kHeaderBytes long; the frame is the header followed by the body. A caller
// that cuts the frame into pieces leaves room for the header at the front.
//
// Not thread-safe: one writer per frame.
class ZstdFrameWriter {
 public:
  // Magic number, frame header descriptor, window descriptor, an 8-byte content size.
  static constexpr size_t kHeaderBytes = 14;
  using BodySink = std::function<void(std::string_view)>;

  ZstdFrameWriter();
  ~ZstdFrameWriter();
  ZstdFrameWriter(const ZstdFrameWriter&) = delete;
  ZstdFrameWriter& operator=(const ZstdFrameWriter&) = delete;

  // Compresses `piece`. Internal when zstd fails (allocation); every later call fails too.
  Status Add(std::string_view piece, const BodySink& sink);
  // Ends the frame and returns its header. REQUIRES: called once; Add() not called after.
  StatusOr<std::string> Finish(const BodySink& sink);
  uint64_t content_bytes() const { return content_bytes_; }  // given to Add() so far

 private:
  Status Compress(std::string_view piece, bool end, const BodySink& sink);
  void Take(std::string_view output, const BodySink& sink);

  struct Context;
  std::unique_ptr<Context> context_;
  Status failed_;
  uint64_t content_bytes_ = 0;
  std::string header_;      // zstd's own header, which states no content size, as it comes
  size_t header_size_ = 0;  // its length once known
};

// Decompresses one zstd frame made by ZstdCompress. InvalidArgument when `frame` is not one
// whole zstd frame that states its content size, or when that size exceeds max_bytes (checked
// before anything is allocated, so a small frame cannot claim a huge payload).
StatusOr<std::string> ZstdDecompress(std::string_view frame, size_t max_bytes);

struct ChunkLabel {
  int index = 0;  // 1-based
  int count = 0;
  friend bool operator==(const ChunkLabel&, const ChunkLabel&) = default;
};

// Parses a Pdnsd-Chunk value: "<i>/<n>", decimal without sign, space or leading zero, each at
// most 9 digits, 1 <= i <= n. Anything else is InvalidArgument.
StatusOr<ChunkLabel> ParseChunkLabel(std::string_view text);

// Collects the frames of one payload, in any order, and yields the payload.
//
// Add() returns OK while frames are missing and when the last one arrived (then done() is true
// and TakePayload() gives the payload). It returns InvalidArgument — and so do all later calls —
// for: a bad chunk header, an unknown encoding, a bad zstd frame, an index seen before, a count
// that differs from the first frame's, a compressed and an uncompressed piece in one payload, a
// plain frame after pieces, a frame after done(), and a payload (compressed or not) larger than
// max_payload_bytes. Memory held is bounded by max_payload_bytes plus the current frame.
//
// Not thread-safe: one reader per request.
class FrameReader {
 public:
  explicit FrameReader(size_t max_payload_bytes = kDefaultMaxPayloadBytes);

  Status Add(const Frame& frame);
  bool done() const { return done_; }
  // REQUIRES: done(). Moves the payload out; the reader is spent afterwards.
  std::string TakePayload();

 private:
  Status Fail(std::string message);
  Status Finish(std::string joined);

  const size_t max_payload_bytes_;
  Status failed_;  // OK until the first bad frame
  bool done_ = false;
  std::string payload_;
  std::optional<bool> compressed_;  // set by the first piece
  int count_ = 0;                   // n of the first piece; 0 before it
  size_t bytes_ = 0;                // sum of the pieces' bodies so far
  std::map<int, std::string> pieces_;
};

}  // namespace pdnsd::framing
