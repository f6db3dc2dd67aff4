// The hostile-input suite's table (ctest -L hostile, issue 11): each hostile case a test runs
// adds one row of what it measured, and the test binary prints all rows as one aligned table
// at its end; with HOSTILE_REPORT=<file> set it also appends them there as a Markdown table.
//
//   const bool kHostileReport = pdnsd::testing::RegisterHostileReport("hostile_dns_test");
//   ...
//   ReportHostileCase({.input = "1,000 idle TCP connections", .outcome = "p99 3.1 ms",
//                      .alive = soa_ok, .alive_check = "SOA from 127.0.0.1: NOERROR",
//                      .lost = "none: the secondary serves serial 7, as the primary"});
//
// A row lives in the running test's result as properties "hostile.<n>.<field>" (so they are in
// --gtest_output=xml too) and is collected by a listener GoogleTest owns: no state of ours.
#pragma once

#include <string>

namespace pdnsd::testing {

struct HostileCase {
  std::string input;        // what the attacker sent or did
  std::string outcome;      // what the service did, as measured or asserted
  bool alive = false;       // the service answered a normal request after the case
  std::string alive_check;  // that request and its answer
  std::string lost;         // what was measured lost ("none: ..." and how it was compared)
};

// Adds `row` to the table of this test binary. Call from inside a test.
void ReportHostileCase(const HostileCase& row);

// Appends the listener that prints the table when the binary ends; `binary` heads the table.
// Returns true so that a test file can call it in a namespace-scope initializer.
bool RegisterHostileReport(const std::string& binary);

}  // namespace pdnsd::testing
