#include "support/browser.h"

#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

namespace pdnsd::testing {
namespace {

using nlohmann::json;

// Standard base64 (what DevTools sends a screenshot as) to bytes.
StatusOr<std::string> DecodeBase64(const std::string& text) {
  if (text.size() % 4 != 0) return Status::Internal("screenshot data is not base64");
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return Status::Internal("screenshot data is not base64");
  size_t length = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as data.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --length;
  out.resize(length);
  return out;
}

}  // namespace

Status HeadlessBrowser::Start(int width, int height) {
  if (process_.IsRunning()) return Status::Internal("chromium already running");
  dir_.emplace("pdnsd-chromium");
  width_ = width;
  height_ = height;
  // One socket for both of Chromium's pipe descriptors: it reads commands from 3 and writes
  // answers to 4; a socket (unlike a pipe) lets us write without SIGPIPE when it is gone.
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Status::Internal(std::string("socketpair: ") + std::strerror(errno));
  }
  const std::vector<std::string> argv = {
      "chromium",
      "--headless",
      "--no-sandbox",  // tests run as root in CI's container
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-sync",
      "--disable-component-update",
      "--mute-audio",
      "--hide-scrollbars",
      "--user-data-dir=" + dir_->File("profile"),
      "--window-size=" + std::to_string(width) + "," + std::to_string(height),
      "--remote-debugging-pipe",
      "about:blank"};
  Status started = process_.Start(argv, dir_->File("chromium.log"), {}, {pair[1], pair[1]});
  close(pair[1]);
  if (!started.ok()) {
    close(pair[0]);
    return started.code() == StatusCode::kNotFound
               ? Status::NotFound("chromium is not installed (scripts/setup installs it)")
               : started;
  }
  to_browser_ = pair[0];
  from_browser_ = pair[0];
  auto version = Command("Browser.getVersion", "{}", false);
  if (!version.ok()) {
    const Status failed = version.status();
    Stop();
    return Status::Internal("chromium did not answer: " + failed.message() + "\n" + LogTail());
  }
  return Status::Ok();
}

int HeadlessBrowser::Stop() {
  if (!process_.IsRunning()) {
    ClosePipes();
    return process_.Stop();
  }
  // Browser.close lets Chromium end its own child processes; SIGTERM after that.
  (void)Command("Browser.close", "{}", false, std::chrono::seconds(2));
  ClosePipes();
  return process_.Stop(std::chrono::seconds(3));
}

void HeadlessBrowser::ClosePipes() {
  if (to_browser_ >= 0) close(to_browser_);
  if (from_browser_ >= 0 && from_browser_ != to_browser_) close(from_browser_);
  to_browser_ = from_browser_ = -1;
  buffer_.clear();
  session_id_.clear();
}

Status HeadlessBrowser::Open(const std::string& url) {
  auto target = Command("Target.createTarget", json{{"url", "about:blank"}}.dump(), false);
  if (!target.ok()) return target.status();
  const std::string target_id = json::parse(*target).value("targetId", "");
  auto attached = Command("Target.attachToTarget",
                          json{{"targetId", target_id}, {"flatten", true}}.dump(), false);
  if (!attached.ok()) return attached.status();
  session_id_ = json::parse(*attached).value("sessionId", "");
  if (auto metrics = Command(
          "Emulation.setDeviceMetricsOverride",
          json{{"width", width_}, {"height", height_}, {"deviceScaleFactor", 1}, {"mobile", false}}
              .dump(),
          true);
      !metrics.ok()) {
    return metrics.status();
  }
  auto navigated = Command("Page.navigate", json{{"url", url}}.dump(), true);
  if (!navigated.ok()) return navigated.status();
  const json answer = json::parse(*navigated);
  if (answer.contains("errorText")) {
    return Status::Unavailable("chromium could not load " + url + ": " +
                               answer["errorText"].get<std::string>());
  }
  return WaitForString("document.readyState", "complete");
}

StatusOr<std::string> HeadlessBrowser::Evaluate(const std::string& expression) {
  auto result = Command(
      "Runtime.evaluate",
      json{{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}.dump(),
      true);
  if (!result.ok()) return result.status();
  const json answer = json::parse(*result);
  if (answer.contains("exceptionDetails")) {
    const json& details = answer["exceptionDetails"];
    std::string text = details.value("text", "exception");
    if (details.contains("exception")) {
      text += " " + details["exception"].value("description", "");
    }
    return Status::InvalidArgument("the page threw evaluating " + expression + ": " + text);
  }
  const json& value = answer["result"];
  return value.contains("value") ? value["value"].dump() : std::string("null");
}

StatusOr<std::string> HeadlessBrowser::EvaluateString(const std::string& expression) {
  auto value = Evaluate(expression);
  if (!value.ok()) return value.status();
  const json parsed = json::parse(*value);
  return parsed.is_string() ? parsed.get<std::string>() : std::string();
}

Status HeadlessBrowser::WaitForString(const std::string& expression, const std::string& expected,
                                      std::chrono::milliseconds timeout) {
  std::string last;
  const bool seen = WaitFor(
      [&] {
        auto value = Evaluate(expression);
        last = value.ok() ? *value : value.status().message();
        return value.ok() && *value == json(expected).dump();
      },
      timeout, std::chrono::milliseconds(100));
  if (seen) return Status::Ok();
  return Status::Timeout("the page's " + expression + " is " + last + ", not \"" + expected +
                         "\" after " + std::to_string(timeout.count()) + " ms");
}

Status HeadlessBrowser::Screenshot(const std::string& path) {
  auto metrics = Command("Page.getLayoutMetrics", "{}", true);
  if (!metrics.ok()) return metrics.status();
  const json content = json::parse(*metrics).value("cssContentSize", json::object());
  const double height = std::max<double>(height_, content.value("height", 0.0));
  auto shot = Command(
      "Page.captureScreenshot",
      json{{"format", "png"},
           {"captureBeyondViewport", true},
           {"clip", {{"x", 0}, {"y", 0}, {"width", width_}, {"height", height}, {"scale", 1}}}}
          .dump(),
      true);
  if (!shot.ok()) return shot.status();
  auto png = DecodeBase64(json::parse(*shot).value("data", ""));
  if (!png.ok()) return png.status();
  return WriteFile(path, *png);
}

StatusOr<std::string> HeadlessBrowser::Command(const std::string& method,
                                               const std::string& params_json, bool to_page,
                                               std::chrono::milliseconds timeout) {
  if (to_browser_ < 0) return Status::Internal("chromium is not running");
  if (to_page && session_id_.empty()) return Status::Internal("no page is open");
  const int id = next_id_++;
  json message = {{"id", id}, {"method", method}, {"params", json::parse(params_json)}};
  if (to_page) message["sessionId"] = session_id_;
  std::string wire = message.dump();
  wire.push_back('\0');
  for (size_t sent = 0; sent < wire.size();) {
    const ssize_t n = send(to_browser_, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Unavailable("chromium's pipe is closed: " + LogTail(10));
    sent += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto text = ReadMessage(deadline);
    if (!text.ok()) return Status(text.status().code(), method + ": " + text.status().message());
    const json answer = json::parse(*text, nullptr, false);
    if (answer.is_discarded() || !answer.contains("id") || answer["id"] != id) continue;
    if (answer.contains("error")) {
      return Status::Internal(method + " failed: " + answer["error"].dump());
    }
    return answer.value("result", json::object()).dump();
  }
}

StatusOr<std::string> HeadlessBrowser::ReadMessage(std::chrono::steady_clock::time_point deadline) {
  while (true) {
    if (const size_t end = buffer_.find('\0'); end != std::string::npos) {
      std::string message = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return message;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Timeout("no answer from chromium");
    pollfd entry{from_browser_, POLLIN, 0};
    const int ready = poll(&entry, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the wait
    char chunk[65536];
    const ssize_t n = read(from_browser_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Unavailable("chromium closed its pipe: " + LogTail(10));
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace pdnsd::testing
