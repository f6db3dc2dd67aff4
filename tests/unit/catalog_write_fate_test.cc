// What ZoneCatalog::Publish makes of an entry write (src/distribution/catalog.h,
// DecideEntryWriteFate), as a table: the write's outcome x the entry read back after an
// ambiguous one -> stored (keep the new chunks, purge the previous version's), not stored
// (purge the new chunks) or unknown (purge nothing).
#include <gtest/gtest.h>

#include <string>

#include "distribution/catalog.h"

namespace pdnsd::distribution {
namespace {

TEST(EntryWriteFate, ReadBackDecidesAfterAnAmbiguousWrite) {
  const std::string written = "newVersion123";
  struct Row {
    const char* name;
    Status write;
    StatusOr<std::string> read_back;
    EntryWriteFate fate;
  };
  const Row rows[] = {
      {"written", Status::Ok(), Status::Internal("not read"), EntryWriteFate::kStored},
      {"stale writer", Status::Conflict("wrong last sequence"), Status::Internal("not read"),
       EntryWriteFate::kNotStored},
      {"refused input", Status::InvalidArgument("bad key"), Status::Internal("not read"),
       EntryWriteFate::kNotStored},
      // The reply was lost but the broker applied the write: the entry names the new version,
      // whose chunks must stay (else every reader of the entry finds them gone).
      {"timeout, stored", Status::Timeout("no reply"), StatusOr<std::string>(written),
       EntryWriteFate::kStored},
      {"timeout, another version", Status::Timeout("no reply"),
       StatusOr<std::string>(std::string("previousVersion")), EntryWriteFate::kNotStored},
      {"timeout, no entry", Status::Timeout("no reply"), Status::NotFound("no entry"),
       EntryWriteFate::kNotStored},
      {"timeout, cannot read back", Status::Timeout("no reply"), Status::Timeout("no reply"),
       EntryWriteFate::kUnknown},
      {"disconnected, stored", Status::Unavailable("connection closed"),
       StatusOr<std::string>(written), EntryWriteFate::kStored},
      {"disconnected, cannot read back", Status::Unavailable("connection closed"),
       Status::Unavailable("not connected"), EntryWriteFate::kUnknown},
      {"timeout, undecodable entry", Status::Timeout("no reply"),
       Status::InvalidArgument("catalog entry of example.org.: bad"), EntryWriteFate::kUnknown},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(DecideEntryWriteFate(row.write, row.read_back, written), row.fate) << row.name;
  }
}

TEST(EntryWriteFate, OnlyTimeoutAndUnavailableAreAmbiguous) {
  EXPECT_TRUE(EntryWriteIsAmbiguous(StatusCode::kTimeout));
  EXPECT_TRUE(EntryWriteIsAmbiguous(StatusCode::kUnavailable));
  for (const StatusCode code : {StatusCode::kOk, StatusCode::kConflict,
                                StatusCode::kInvalidArgument, StatusCode::kNotFound}) {
    EXPECT_FALSE(EntryWriteIsAmbiguous(code)) << static_cast<int>(code);
  }
}

}  // namespace
}  // namespace pdnsd::distribution
