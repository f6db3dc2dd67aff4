#include "support/hostile_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

namespace pdnsd::testing {
namespace {

constexpr char kPrefix[] = "hostile.";
constexpr size_t kColumns = 4;
using Row = std::array<std::string, kColumns>;
const std::array<std::string, kColumns> kHeader = {"input", "what happened", "service alive",
                                                   "anything lost"};

// Markdown cells cannot hold a '|' or a line break.
std::string Cell(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

class HostileReportPrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit HostileReportPrinter(std::string binary) : binary_(std::move(binary)) {}

  void OnTestEnd(const ::testing::TestInfo& info) override {
    // Properties "hostile.<n>.<field>", in the order they were recorded (n ascending).
    std::map<int, std::map<std::string, std::string>> rows;
    const ::testing::TestResult& result = *info.result();
    for (int i = 0; i < result.test_property_count(); ++i) {
      const ::testing::TestProperty& property = result.GetTestProperty(i);
      const std::string key = property.key();
      if (key.rfind(kPrefix, 0) != 0) continue;
      const size_t dot = key.find('.', sizeof kPrefix - 1);
      if (dot == std::string::npos) continue;
      rows[std::atoi(key.c_str() + sizeof kPrefix - 1)][key.substr(dot + 1)] = property.value();
    }
    for (auto& [index, fields] : rows) {
      rows_.push_back({fields["input"], fields["outcome"], fields["alive"], fields["lost"]});
      tests_.push_back(std::string(info.test_suite_name()) + "." + info.name());
    }
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (rows_.empty()) return;
    std::array<size_t, kColumns> width{};
    for (size_t c = 0; c < kColumns; ++c) width[c] = kHeader[c].size();
    for (const Row& row : rows_) {
      for (size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](const Row& row) {
      std::string out;
      for (size_t c = 0; c < kColumns; ++c) {
        out += (c == 0 ? "" : " | ") + row[c];
        if (c + 1 < kColumns) out += std::string(width[c] - row[c].size(), ' ');
      }
      return out;
    };
    // One write of the whole table: a child process forked meanwhile (the harness starts
    // some) must not inherit half of it in a stdio buffer.
    std::string table = "\nHostile input, " + binary_ + " (" + std::to_string(rows_.size()) +
                        " cases):\n" + line(kHeader) + "\n";
    for (size_t c = 0; c < kColumns; ++c) {
      table += (c == 0 ? "" : "-+-") + std::string(width[c], '-');
    }
    table += "\n";
    for (const Row& row : rows_) table += line(row) + "\n";
    std::cout << std::flush;
    std::fwrite(table.data(), 1, table.size(), stdout);
    std::fflush(stdout);

    const char* path = std::getenv("HOSTILE_REPORT");
    if (path == nullptr || *path == 0) return;
    std::ofstream out(path, std::ios::app);
    const std::time_t now = std::time(nullptr);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    out << "\n### " << binary_ << " (" << when << ")\n\n| test | input | what happened | service "
        << "alive | anything lost |\n|---|---|---|---|---|\n";
    for (size_t r = 0; r < rows_.size(); ++r) {
      out << "| " << tests_[r];
      for (const std::string& cell : rows_[r]) out << " | " << Cell(cell);
      out << " |\n";
    }
  }

 private:
  std::string binary_;
  std::vector<Row> rows_;
  std::vector<std::string> tests_;
};

}  // namespace

void ReportHostileCase(const HostileCase& row) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  // Each property added raises the count, so the count is a fresh row number.
  const std::string key =
      kPrefix + std::to_string(info != nullptr ? info->result()->test_property_count() : 0) + ".";
  ::testing::Test::RecordProperty(key + "input", row.input);
  ::testing::Test::RecordProperty(key + "outcome", row.outcome);
  ::testing::Test::RecordProperty(key + "alive", (row.alive ? "yes: " : "NO: ") + row.alive_check);
  ::testing::Test::RecordProperty(key + "lost", row.lost);
}

bool RegisterHostileReport(const std::string& binary) {
  ::testing::UnitTest::GetInstance()->listeners().Append(new HostileReportPrinter(binary));
  return true;
}

}  // namespace pdnsd::testing
