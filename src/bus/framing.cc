#include "bus/framing.h"

#include <zstd.h>

#include <utility>

namespace pdnsd::framing {
namespace {

constexpr size_t kChunkHeadroom = 4 * 1024;  // for headers and protocol overhead
constexpr size_t kFallbackChunkBody = 512 * 1024;
constexpr size_t kMaxLabelDigits = 9;  // fits an int; far above any real count

// A decimal integer of 1..kMaxLabelDigits digits without a leading zero; nullopt otherwise.
std::optional<int> ParsePositive(std::string_view text) {
  if (text.empty() || text.size() > kMaxLabelDigits || text.front() == '0') return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// For messages: control characters and overlong values are not echoed raw into a log line.
std::string Printable(std::string_view text) {
  constexpr size_t kMaxShown = 40;
  std::string out;
  for (const char c : text.substr(0, kMaxShown)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

}  // namespace

size_t ChunkBodyLimit(size_t max_message_bytes) {
  return max_message_bytes > 2 * kChunkHeadroom ? max_message_bytes - kChunkHeadroom
                                                : kFallbackChunkBody;
}

Status WriteFrames(std::string_view payload, size_t max_message_bytes, const FrameSink& sink) {
  const size_t chunk_body = ChunkBodyLimit(max_message_bytes);
  if (payload.size() <= chunk_body) return sink(Frame{.body = payload});
  std::optional<std::string> compressed;
  if (payload.size() > kCompressAbove) {
    compressed = ZstdCompress(payload);
    if (compressed) payload = *compressed;
  }
  const bool is_compressed = compressed.has_value();
  const size_t count = (payload.size() + chunk_body - 1) / chunk_body;
  for (size_t i = 0; i < count; ++i) {
    const std::string label = std::to_string(i + 1) + "/" + std::to_string(count);
    Frame frame{.chunk = label, .body = payload.substr(i * chunk_body, chunk_body)};
    if (is_compressed) frame.encoding = kZstdEncoding;
    if (Status s = sink(frame); !s.ok()) return s;
  }
  return Status::Ok();
}

std::optional<std::string> ZstdCompress(std::string_view data) {
  std::string compressed(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(compressed.data(), compressed.size(), data.data(), data.size(), 1);
  if (ZSTD_isError(n)) return std::nullopt;
  compressed.resize(n);
  return compressed;
}

struct ZstdFrameWriter::Context {
  struct Free {
    void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
  };
  std::unique_ptr<ZSTD_CCtx, Free> cctx;
  std::string out;  // zstd's output buffer
};

ZstdFrameWriter::ZstdFrameWriter() : context_(std::make_unique<Context>()) {
  context_->cctx.reset(ZSTD_createCCtx());
  if (!context_->cctx ||
      ZSTD_isError(ZSTD_CCtx_setParameter(context_->cctx.get(), ZSTD_c_compressionLevel, 1))) {
    failed_ = Status::Internal("zstd cannot make a compression context");
    return;
  }
  context_->out.resize(ZSTD_CStreamOutSize());
}

ZstdFrameWriter::~ZstdFrameWriter() = default;

Status ZstdFrameWriter::Add(std::string_view piece, const BodySink& sink) {
  content_bytes_ += piece.size();
  return Compress(piece, /*end=*/false, sink);
}

Status ZstdFrameWriter::Compress(std::string_view piece, bool end, const BodySink& sink) {
  if (!failed_.ok()) return failed_;
  ZSTD_inBuffer in{piece.data(), piece.size(), 0};
  for (;;) {
    ZSTD_outBuffer out{context_->out.data(), context_->out.size(), 0};
    const size_t left =
        ZSTD_compressStream2(context_->cctx.get(), &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) {
      failed_ = Status::Internal(std::string("zstd failed: ") + ZSTD_getErrorName(left));
      return failed_;
    }
    Take(std::string_view(context_->out.data(), out.pos), sink);
    if (end ? left == 0 : in.pos == in.size) return Status::Ok();
  }
}

void ZstdFrameWriter::Take(std::string_view output, const BodySink& sink) {
  // zstd's own header comes first; its length follows from its descriptor byte (RFC 8878
  // 3.1.1.1): magic 4, descriptor 1, window descriptor 0/1, dictionary id 0/1/2/4, content
  // size 0/1/2/4/8.
  constexpr size_t kDescriptorAt = 4;
  while (!output.empty() && (header_size_ == 0 || header_.size() < header_size_)) {
    header_ += output.front();
    output.remove_prefix(1);
    if (header_size_ == 0 && header_.size() == kDescriptorAt + 1) {
      const auto descriptor = static_cast<uint8_t>(header_[kDescriptorAt]);
      const bool single_segment = (descriptor >> 5) & 1;
      static constexpr size_t kDictionaryIdBytes[] = {0, 1, 2, 4};
      static constexpr size_t kContentSizeBytes[] = {0, 2, 4, 8};
      const int content_flag = descriptor >> 6;
      header_size_ = kDescriptorAt + 1 + (single_segment ? 0 : 1) +
                     kDictionaryIdBytes[descriptor & 3] +
                     (content_flag == 0 && single_segment ? 1 : kContentSizeBytes[content_flag]);
    }
  }
  if (!output.empty()) sink(output);
}

StatusOr<std::string> ZstdFrameWriter::Finish(const BodySink& sink) {
  // A first call with ZSTD_e_end would let zstd state the size itself (an empty payload): the
  // stream is begun without, so that the header below always has the one form.
  if (Status s = Compress({}, /*end=*/false, sink); !s.ok()) return s;
  if (Status s = Compress({}, /*end=*/true, sink); !s.ok()) return s;
  // Streamed, zstd states no content size (descriptor 0b00000?00: no content size, a window
  // descriptor, no dictionary): set the content size field to 8 bytes and append the size, so
  // that the frame is one ZstdDecompress accepts.
  constexpr size_t kStreamedHeaderBytes = 6;
  if (header_.size() != kStreamedHeaderBytes || header_size_ != kStreamedHeaderBytes ||
      (static_cast<uint8_t>(header_[4]) & 0xE3) != 0) {
    failed_ = Status::Internal("zstd wrote a frame header the frame writer cannot complete");
    return failed_;
  }
  std::string header = header_;
  header[4] = static_cast<char>(static_cast<uint8_t>(header[4]) | 0xC0);
  for (int i = 0; i < 8; ++i) header += static_cast<char>((content_bytes_ >> (8 * i)) & 0xff);
  failed_ = Status::Internal("zstd frame writer spent");
  return header;
}

StatusOr<std::string> ZstdDecompress(std::string_view frame, size_t max_bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Status::InvalidArgument("bad zstd frame");
  }
  if (size > max_bytes) {
    return Status::InvalidArgument("expands to " + std::to_string(size) + " bytes, more than " +
                                   std::to_string(max_bytes));
  }
  std::string out(static_cast<size_t>(size), '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != out.size()) return Status::InvalidArgument("bad zstd data");
  return out;
}

StatusOr<ChunkLabel> ParseChunkLabel(std::string_view text) {
  const size_t slash = text.find('/');
  const auto bad = [&] {
    return Status::InvalidArgument("bad chunk header \"" + Printable(text) + "\"");
  };
  if (slash == std::string_view::npos) return bad();
  const std::optional<int> index = ParsePositive(text.substr(0, slash));
  const std::optional<int> count = ParsePositive(text.substr(slash + 1));
  if (!index || !count || *index > *count) return bad();
  return ChunkLabel{*index, *count};
}

FrameReader::FrameReader(size_t max_payload_bytes) : max_payload_bytes_(max_payload_bytes) {}

Status FrameReader::Fail(std::string message) {
  failed_ = Status::InvalidArgument(std::move(message));
  pieces_.clear();
  return failed_;
}

Status FrameReader::Add(const Frame& frame) {
  if (!failed_.ok()) return failed_;
  if (done_) return Fail("frame after the complete reply");
  bool compressed = false;
  if (frame.encoding) {
    if (*frame.encoding != kZstdEncoding) {
      return Fail("unknown reply encoding \"" + Printable(*frame.encoding) + "\"");
    }
    compressed = true;
  }
  if (bytes_ + frame.body.size() > max_payload_bytes_) {
    return Fail("reply larger than " + std::to_string(max_payload_bytes_) + " bytes");
  }
  if (!frame.chunk) {
    if (count_ != 0) return Fail("plain message among the pieces of a chunked reply");
    compressed_ = compressed;
    return Finish(std::string(frame.body));
  }
  StatusOr<ChunkLabel> label = ParseChunkLabel(*frame.chunk);
  if (!label.ok()) return Fail(label.status().message());
  if (count_ != 0 && label->count != count_) {
    return Fail("chunk header \"" + Printable(*frame.chunk) + "\" in a reply of " +
                std::to_string(count_) + " pieces");
  }
  if (compressed_ && *compressed_ != compressed) {
    return Fail("compressed and uncompressed pieces in one reply");
  }
  if (!pieces_.emplace(label->index, std::string(frame.body)).second) {
    return Fail("chunk " + std::to_string(label->index) + " received twice");
  }
  count_ = label->count;
  compressed_ = compressed;
  bytes_ += frame.body.size();
  if (static_cast<int>(pieces_.size()) < count_) return Status::Ok();
  std::string joined;
  joined.reserve(bytes_);
  for (auto& [index, piece] : pieces_) joined += piece;
  pieces_.clear();
  return Finish(std::move(joined));
}

Status FrameReader::Finish(std::string joined) {
  if (!*compressed_) {
    payload_ = std::move(joined);
    done_ = true;
    return Status::Ok();
  }
  // The frame states its content size (ZstdCompress), which ZstdDecompress checks before it
  // allocates: a small frame that claims a huge payload is refused.
  StatusOr<std::string> out = ZstdDecompress(joined, max_payload_bytes_);
  if (!out.ok()) return Fail(out.status().message() + " in reply");
  payload_ = std::move(*out);
  done_ = true;
  return Status::Ok();
}

std::string FrameReader::TakePayload() { return std::move(payload_); }

}  // namespace pdnsd::framing
