// The health-checker's status page (GET / on its [Service] URL) as a person sees it: loaded once
// in a real headless Chromium from the health-checker binary of a test cluster and left open,
// it shows both secondaries green; a frozen syncer (SIGSTOP: alive as a process, silent on
// NATS) turns its row red by the page's own refresh, and green again once it runs on.
//
// PDNSD_STATUS_PAGE_SCREENSHOT=<path>: the test also writes its screenshot of the page with the
// frozen secondary there (docs/status-page.png is made so, see docs/architecture.md).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/browser.h"
#include "support/cluster.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::seconds;

// JavaScript: the data-health of secondary `id`'s row ("" while it has none).
std::string RowHealth(const std::string& id) {
  return "(document.querySelector('#secondaries tr[data-secondary=\"" + id +
         "\"]') || {dataset: {}}).dataset.health || ''";
}

// JavaScript: the newest change row of `zone` (undefined while there is none).
std::string NewestChangeRow(const std::string& zone) {
  return "Array.from(document.querySelectorAll('#changes tr[data-change]'))"
         ".find((row) => row.cells[1].textContent === '" +
         zone + "')";
}

// JavaScript: that row's data-status ("" while there is none).
std::string ChangeStatus(const std::string& zone) {
  return "(" + NewestChangeRow(zone) + " || {dataset: {}}).dataset.status || ''";
}

// JavaScript: that row's list of secondaries ("" while there is none).
std::string ChangeSecondaries(const std::string& zone) {
  return "((" + NewestChangeRow(zone) + " || {cells: []}).cells[5] || {}).textContent || ''";
}

// Waits until the newest change row of `zone` lists every one of `parts` ("secondary-1 DOWN").
Status WaitForChangeShown(HeadlessBrowser& browser, const std::string& zone,
                          const std::vector<std::string>& parts) {
  std::string shown;
  const bool seen = WaitFor(
      [&] {
        auto text = browser.EvaluateString(ChangeSecondaries(zone));
        shown = text.ok() ? *text : text.status().ToString();
        for (const std::string& part : parts) {
          if (shown.find(part) == std::string::npos) return false;
        }
        return true;
      },
      seconds(60), std::chrono::milliseconds(100));
  return seen ? Status::Ok()
              : Status::Timeout("the newest change of " + zone + " shows \"" + shown + "\"");
}

// Resumes a stopped process when the test ends, also when an assertion ends it early.
class Thaw {
 public:
  explicit Thaw(ChildProcess& process) : process_(process) {}
  ~Thaw() { process_.Signal(SIGCONT); }
  Thaw(const Thaw&) = delete;
  Thaw& operator=(const Thaw&) = delete;

 private:
  ChildProcess& process_;
};

TEST(StatusPageTest, AFrozenSyncerTurnsItsSecondaryRedOnTheOpenPageAndGreenAgainWhenItRuns) {
  Cluster cluster;
  ClusterOptions options;
  options.health_checker = true;  // its default intervals
  options.service_binaries = PDNSD_BIN_DIR;
  PDNSD_ASSERT_OK(cluster.Start(options));
  const std::string zone = "status-page.example.";
  ASSERT_EQ(cluster.CreateZone(zone).status, 201);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));

  // The page itself: HTML that may load nothing from elsewhere; /status stays JSON.
  const HttpResponse page = HttpCall("GET", cluster.CheckerUrl() + "/");
  ASSERT_EQ(page.status, 200) << page.error;
  EXPECT_EQ(HeaderValue(page, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(HeaderValue(page, "Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_NE(page.body.find("<title>pdns-distribute status</title>"), std::string::npos);
  const HttpResponse status = HttpCall("GET", cluster.CheckerUrl() + "/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_TRUE(nlohmann::json::accept(status.body));

  HeadlessBrowser browser;
  PDNSD_ASSERT_OK(browser.Start());
  PDNSD_ASSERT_OK(browser.Open(cluster.CheckerUrl() + "/"));
  for (const char* id : {"secondary-0", "secondary-1"}) {
    PDNSD_EXPECT_OK(browser.WaitForString(RowHealth(id), "green", seconds(30)));
  }
  PDNSD_EXPECT_OK(browser.WaitForString(ChangeStatus(zone), "INSYNC", seconds(30)));
  // Offline: everything the page fetched came from the health-checker itself.
  auto foreign = browser.Evaluate(
      "performance.getEntriesByType('resource').map((r) => r.name)"
      ".filter((name) => !name.startsWith(location.origin)).length");
  PDNSD_ASSERT_OK(foreign.status());
  EXPECT_EQ(*foreign, "0");

  // Syncer 1 freezes: no heartbeat, no acknowledgement. Its row turns red with the page left
  // alone (no reload), and a change made meanwhile is not shown as live everywhere.
  ServiceProcess* syncer = cluster.FindServiceProcess("syncer1");
  ASSERT_NE(syncer, nullptr);
  syncer->process.Signal(SIGSTOP);
  Thaw thaw(syncer->process);
  const std::string reloads = "performance.getEntriesByType('navigation').length";
  const Status turned_red = browser.WaitForString(RowHealth("secondary-1"), "red", seconds(60));
  EXPECT_TRUE(turned_red.ok()) << turned_red.ToString() << "\n" << cluster.CheckerStatus();
  EXPECT_EQ(*browser.EvaluateString(RowHealth("secondary-0")), "green");
  ASSERT_EQ(cluster.SetARecord(zone, "www." + zone, "192.0.2.44").status, 204);
  // Live on every active secondary, and the frozen one is named as not having it.
  PDNSD_EXPECT_OK(WaitForChangeShown(browser, zone, {"secondary-0 INSYNC", "secondary-1 DOWN"}));
  auto down_card = browser.EvaluateString(
      "Array.from(document.querySelectorAll('#summary .card'))"
      ".find((c) => c.textContent.endsWith('down')).firstChild.textContent");
  EXPECT_EQ(*down_card, "1");
  EXPECT_EQ(*browser.Evaluate(reloads), "1");

  TempDir shots("pdnsd-status-page");
  const std::string shot = shots.File("status-page.png");
  PDNSD_ASSERT_OK(browser.Screenshot(shot));
  const std::string png = ReadFile(shot);
  ASSERT_GT(png.size(), 10000u) << "a screenshot of an empty page?";
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  if (const char* copy = std::getenv("PDNSD_STATUS_PAGE_SCREENSHOT"); copy && *copy) {
    PDNSD_EXPECT_OK(WriteFile(copy, png));
  }

  // It runs on: heartbeats resume, it catches up, and the page shows it.
  syncer->process.Signal(SIGCONT);
  const Status green_again = browser.WaitForString(RowHealth("secondary-1"), "green", seconds(60));
  EXPECT_TRUE(green_again.ok()) << green_again.ToString() << "\n" << cluster.CheckerStatus();
  PDNSD_EXPECT_OK(WaitForChangeShown(browser, zone, {"secondary-0 INSYNC", "secondary-1 INSYNC"}));
  PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));
  EXPECT_EQ(*browser.Evaluate(reloads), "1");
}

}  // namespace
}  // namespace pdnsd::testing
