// A real headless Chromium (Debian `chromium`) for tests of pages people look at: it loads a
// page and keeps it open, so a test sees what the page's own scripts make of the DOM as the
// system under it changes. Driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: NUL-terminated JSON on the child's descriptors 3 and 4), without a
// port or a WebSocket. Stopped by the destructor; its profile lives in a temporary directory.
//
//   pdnsd::testing::HeadlessBrowser browser;
//   PDNSD_ASSERT_OK(browser.Start());
//   PDNSD_ASSERT_OK(browser.Open("http://127.0.0.1:8080/"));
//   auto health = browser.Evaluate("document.querySelector('tr').dataset.health");
//   PDNSD_ASSERT_OK(browser.Screenshot("/tmp/page.png"));
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/status.h"
#include "support/processes.h"

namespace pdnsd::testing {

class HeadlessBrowser {
 public:
  HeadlessBrowser() = default;
  ~HeadlessBrowser() { Stop(); }
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Starts Chromium with a window of `width` x `height` CSS pixels and returns once it answers
  // on the pipe. NotFound when no chromium is installed.
  Status Start(int width = 1280, int height = 900);
  int Stop();

  // Opens `url` in a new tab (the one later calls talk to) and waits until its document has
  // loaded. A page that cannot load is an error naming what Chromium said.
  Status Open(const std::string& url);
  // Runs the JavaScript `expression` in the open page and returns its value as JSON text
  // ("\"red\"", "3", "null"); a thrown exception is an error with its text.
  StatusOr<std::string> Evaluate(const std::string& expression);
  // The value of `expression` as a string; "" when it is not a string (e.g. null).
  StatusOr<std::string> EvaluateString(const std::string& expression);
  // Polls `expression` until it evaluates to the string `expected`. On timeout the error names
  // the last value.
  Status WaitForString(const std::string& expression, const std::string& expected,
                       std::chrono::milliseconds timeout = kStartTimeout);
  // The open page, rendered now, as a PNG file at `path` (the whole page, not only the window).
  Status Screenshot(const std::string& path);

  std::string LogTail(int lines = 40) const { return process_.LogTail(lines); }

 private:
  // Sends one DevTools command (to the open page's session when `to_page`) and returns the
  // "result" member of its answer as JSON text; events read meanwhile are dropped.
  StatusOr<std::string> Command(const std::string& method, const std::string& params_json,
                                bool to_page, std::chrono::milliseconds timeout = kStartTimeout);
  // The next NUL-terminated message from Chromium, waiting at most until `deadline`.
  StatusOr<std::string> ReadMessage(std::chrono::steady_clock::time_point deadline);
  void ClosePipes();

  std::optional<TempDir> dir_;
  ChildProcess process_;
  int to_browser_ = -1;    // our end of the child's descriptor 3
  int from_browser_ = -1;  // our end of the child's descriptor 4
  std::string buffer_;     // read but not yet returned
  int next_id_ = 1;
  std::string session_id_;  // of the open page; "" before Open()
  int width_ = 0;
  int height_ = 0;
};

}  // namespace pdnsd::testing
