// Framing (src/bus/framing.h) without a broker: the writer's frames go to memory, the reader
// takes them from there, in any order. The wire format is docs/architecture.md (d).
#include "bus/framing.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pdnsd::framing {
namespace {

constexpr size_t kMaxMessage = 16 * 1024;  // a small broker limit keeps the payloads small
constexpr size_t kLimit = kMaxMessage - 4 * 1024;

// A frame that owns its bytes, as a test keeps what the writer emitted.
struct OwnedFrame {
  std::optional<std::string> chunk = std::nullopt;
  std::optional<std::string> encoding = std::nullopt;
  std::string body = {};

  Frame view() const {
    Frame frame{.body = body};
    if (chunk) frame.chunk = *chunk;
    if (encoding) frame.encoding = *encoding;
    return frame;
  }
};

std::vector<OwnedFrame> Write(std::string_view payload, size_t max_message = kMaxMessage) {
  std::vector<OwnedFrame> frames;
  const Status status = WriteFrames(payload, max_message, [&](const Frame& frame) {
    OwnedFrame owned{.body = std::string(frame.body)};
    if (frame.chunk) owned.chunk = std::string(*frame.chunk);
    if (frame.encoding) owned.encoding = std::string(*frame.encoding);
    frames.push_back(std::move(owned));
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return frames;
}

// The payload, or the reader's error; "incomplete" as Unavailable when frames are missing.
StatusOr<std::string> Read(const std::vector<OwnedFrame>& frames,
                           size_t max_payload = kDefaultMaxPayloadBytes) {
  FrameReader reader(max_payload);
  for (const OwnedFrame& frame : frames) {
    if (Status s = reader.Add(frame.view()); !s.ok()) return s;
  }
  if (!reader.done()) return Status::Unavailable("incomplete");
  return reader.TakePayload();
}

std::string Incompressible(size_t size) {
  std::string out(size, '\0');
  uint32_t state = 12345;
  for (char& c : out) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 16);
  }
  return out;
}

std::string Compressible(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i / 7) % 26);
  return out;
}

std::string Zstd(std::string_view data, bool with_content_size = true) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, with_content_size ? 1 : 0);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

TEST(FramingTest, ChunkBodyLimitLeavesRoomForHeaders) {
  EXPECT_EQ(ChunkBodyLimit(1024 * 1024), 1024u * 1024u - 4096u);
  EXPECT_EQ(ChunkBodyLimit(kMaxMessage), kLimit);
  EXPECT_EQ(ChunkBodyLimit(0), 512u * 1024u);  // limit unknown
  EXPECT_EQ(ChunkBodyLimit(8 * 1024), 512u * 1024u);
}

// Sizes around the limit, and on both sides of the compression threshold: what goes on the
// wire (the number of frames, their headers) and that the reader gives the payload back.
TEST(FramingTest, RoundTripsAroundTheLimit) {
  struct Row {
    const char* name;
    std::string payload;
    size_t frames;  // 1 and not compressed: one plain message without headers
    bool compressed;
  };
  const std::vector<Row> rows = {
      {"empty", "", 1, false},
      {"one byte", "x", 1, false},
      {"limit - 1", Incompressible(kLimit - 1), 1, false},
      {"limit", Incompressible(kLimit), 1, false},
      {"limit + 1: two plain pieces", Incompressible(kLimit + 1), 2, false},
      {"2 * limit", Incompressible(2 * kLimit), 2, false},
      {"2 * limit + 1", Incompressible(2 * kLimit + 1), 3, false},
      {"64 KiB: not yet compressed", Incompressible(kCompressAbove),
       (kCompressAbove + kLimit - 1) / kLimit, false},
      {"compressible above 64 KiB: 1/1 compressed", Compressible(kCompressAbove + 1), 1, true},
      {"incompressible above 64 KiB: pieces, compressed", Incompressible(kCompressAbove + 1), 0,
       true},
      {"5 MiB incompressible", Incompressible(5 * 1024 * 1024), 0, true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const std::vector<OwnedFrame> frames = Write(row.payload);
    if (row.frames != 0) {
      EXPECT_EQ(frames.size(), row.frames);
    }
    if (frames.size() == 1 && !row.compressed) {
      EXPECT_FALSE(frames[0].chunk) << "a payload that fits must go as a plain message";
      EXPECT_FALSE(frames[0].encoding);
    } else {
      for (size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(frames[i].chunk, std::to_string(i + 1) + "/" + std::to_string(frames.size()));
        EXPECT_EQ(frames[i].encoding,
                  row.compressed ? std::optional<std::string>("zstd") : std::nullopt);
        EXPECT_LE(frames[i].body.size(), kLimit);
        EXPECT_FALSE(frames[i].body.empty());
      }
    }
    auto read = Read(frames);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_TRUE(*read == row.payload) << "size " << read->size() << " vs " << row.payload.size();
  }
}

TEST(FramingTest, PiecesInAnyOrder) {
  const std::string payload = Incompressible(5 * kLimit + 17);
  std::vector<OwnedFrame> frames = Write(payload);
  ASSERT_EQ(frames.size(), 6u);
  std::reverse(frames.begin(), frames.end());
  auto read = Read(frames);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == payload);
  std::swap(frames[1], frames[4]);
  std::swap(frames[0], frames[3]);
  read = Read(frames);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == payload);
}

TEST(FramingTest, MissingPieceLeavesTheReaderWaiting) {
  std::vector<OwnedFrame> frames = Write(Incompressible(3 * kLimit));
  ASSERT_EQ(frames.size(), 3u);
  frames.erase(frames.begin() + 1);
  EXPECT_EQ(Read(frames).status().code(), StatusCode::kUnavailable) << "must not be done";
}

TEST(FramingTest, WriterStopsAtTheSinksError) {
  int calls = 0;
  const Status status = WriteFrames(Incompressible(3 * kLimit), kMaxMessage, [&](const Frame&) {
    ++calls;
    return Status::Unavailable("broker gone");
  });
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
}

TEST(FramingTest, ChunkLabels) {
  struct Row {
    std::string text;
    std::optional<ChunkLabel> want;  // nullopt: InvalidArgument
  };
  const std::vector<Row> rows = {
      {"1/1", ChunkLabel{1, 1}},
      {"3/7", ChunkLabel{3, 7}},
      {"999999999/999999999", ChunkLabel{999999999, 999999999}},
      {"", std::nullopt},
      {"1", std::nullopt},
      {"1/", std::nullopt},
      {"/1", std::nullopt},
      {"/", std::nullopt},
      {"0/1", std::nullopt},
      {"1/0", std::nullopt},
      {"2/1", std::nullopt},
      {"01/2", std::nullopt},
      {"1/02", std::nullopt},
      {"+1/2", std::nullopt},
      {"-1/2", std::nullopt},
      {" 1/2", std::nullopt},
      {"1/2 ", std::nullopt},
      {"1 /2", std::nullopt},
      {"1/2/3", std::nullopt},
      {"1/2x", std::nullopt},
      {"a/b", std::nullopt},
      {"0x1/2", std::nullopt},
      {"1000000000/1000000000", std::nullopt},  // 10 digits
      {"1/99999999999999999999", std::nullopt},
      {std::string("1/2\0", 4), std::nullopt},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE("\"" + row.text + "\"");
    auto label = ParseChunkLabel(row.text);
    if (row.want) {
      ASSERT_TRUE(label.ok()) << label.status().ToString();
      EXPECT_EQ(*label, *row.want);
    } else {
      EXPECT_EQ(label.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

// Frames a peer could send that the reader must refuse, each with InvalidArgument.
TEST(FramingTest, BadFramesAreInvalidArgument) {
  const std::string zstd_body = Zstd("hello");
  const auto piece = [](std::string chunk, std::string body = "x",
                        std::optional<std::string> encoding = std::nullopt) {
    return OwnedFrame{
        .chunk = std::move(chunk), .encoding = std::move(encoding), .body = std::move(body)};
  };
  struct Row {
    const char* name;
    std::vector<OwnedFrame> frames;
    size_t max_payload = kDefaultMaxPayloadBytes;
  };
  const std::vector<Row> rows = {
      {"garbage chunk header", {piece("one/two")}},
      {"empty chunk header", {piece("")}},
      {"index above count", {piece("3/2")}},
      {"unknown encoding", {OwnedFrame{.encoding = "gzip", .body = "x"}}},
      {"empty encoding", {OwnedFrame{.encoding = "", .body = "x"}}},
      {"unknown encoding on a piece", {piece("1/1", "x", "br")}},
      {"zstd that is not zstd", {OwnedFrame{.encoding = "zstd", .body = "not zstd at all"}}},
      {"zstd piece that is not zstd", {piece("1/1", "garbage", "zstd")}},
      {"empty zstd body", {OwnedFrame{.encoding = "zstd", .body = ""}}},
      {"truncated zstd", {piece("1/1", zstd_body.substr(0, zstd_body.size() - 2), "zstd")}},
      {"zstd without content size",
       {piece("1/1", Zstd("hello", /*with_content_size=*/false), "zstd")}},
      {"zstd followed by garbage", {piece("1/1", zstd_body + "junk", "zstd")}},
      {"duplicate index", {piece("1/3"), piece("1/3")}},
      {"count changes", {piece("1/3"), piece("2/4")}},
      {"count changes to fewer", {piece("3/3"), piece("1/2")}},
      {"compressed after uncompressed", {piece("1/2"), piece("2/2", "x", "zstd")}},
      {"uncompressed after compressed", {piece("1/2", "x", "zstd"), piece("2/2")}},
      {"plain message among pieces", {piece("1/2"), OwnedFrame{.body = "x"}}},
      {"frame after the complete reply", {OwnedFrame{.body = "x"}, OwnedFrame{.body = "y"}}},
      {"piece after the complete reply", {piece("1/1"), piece("1/1")}},
      {"plain message above the maximum", {OwnedFrame{.body = std::string(11, 'x')}}, 10},
      {"pieces above the maximum",
       {piece("1/3", "xxxx"), piece("2/3", "xxxx"), piece("3/3", "xxxx")},
       10},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    auto read = Read(row.frames, row.max_payload);
    EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument) << read.status().ToString();
  }
}

TEST(FramingTest, AFailedReaderStaysFailed) {
  FrameReader reader;
  EXPECT_FALSE(reader.Add(Frame{.chunk = "x/y", .body = "a"}).ok());
  const Status again = reader.Add(Frame{.body = "fine"});
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(reader.done());
}

// A small frame that claims (and would expand to) far more than the reader accepts: refused
// from the frame's header, before anything of that size is allocated.
TEST(FramingTest, ZstdBombIsBoundedByTheMaximumPayload) {
  const std::string bomb = Zstd(std::string(64 * 1024 * 1024, '\0'));
  ASSERT_LT(bomb.size(), 64u * 1024u);
  auto read = Read({OwnedFrame{.chunk = "1/1", .encoding = "zstd", .body = bomb}},
                   /*max_payload=*/1024 * 1024);
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument) << read.status().ToString();
  // The same frame within the maximum is fine.
  read = Read({OwnedFrame{.chunk = "1/1", .encoding = "zstd", .body = bomb}},
              /*max_payload=*/64 * 1024 * 1024);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 64u * 1024u * 1024u);
}

// The form the original services never send but our older peers could: one compressed message
// with an encoding header and no chunk header.
TEST(FramingTest, CompressedMessageWithoutChunkHeader) {
  auto read = Read({OwnedFrame{.encoding = "zstd", .body = Zstd("hello")}});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "hello");
}

// Streamed in pieces of any size, the frame is one ZstdDecompress takes (it states its content
// size) and gives back the payload; the header is always kHeaderBytes.
TEST(ZstdFrameWriterTest, PiecesMakeOneFrameThatStatesItsSize) {
  const std::string big = Compressible(3 * 1024 * 1024) + Incompressible(300 * 1024);
  struct Row {
    const char* name;
    std::string payload;
    size_t piece;
  };
  const Row rows[] = {
      {"empty", "", 1},
      {"one byte", "x", 1},
      {"a line at a time", "example.org. 3600 IN SOA a. b. 1 2 3 4 5\nwww A 192.0.2.1\n", 9},
      {"large in small pieces", big, 4096},
      {"large in one piece", big, big.size()},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ZstdFrameWriter writer;
    std::string body;
    const auto sink = [&](std::string_view bytes) { body += bytes; };
    for (size_t at = 0; at < row.payload.size(); at += row.piece) {
      ASSERT_TRUE(writer.Add(std::string_view(row.payload).substr(at, row.piece), sink).ok());
    }
    EXPECT_EQ(writer.content_bytes(), row.payload.size());
    StatusOr<std::string> header = writer.Finish(sink);
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    EXPECT_EQ(header->size(), ZstdFrameWriter::kHeaderBytes);
    const std::string frame = *header + body;
    EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), row.payload.size());
    StatusOr<std::string> back = ZstdDecompress(frame, row.payload.size());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == row.payload);
    // A frame stating a larger size than the limit is refused before it is expanded.
    if (!row.payload.empty()) {
      EXPECT_EQ(ZstdDecompress(frame, row.payload.size() - 1).status().code(),
                StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace pdnsd::framing
