// One HTTP(S) request, as the project's clients make it (cpp-httplib behind this header, so that
// the header-only library stays out of the files that include this). The tools
// (src/tools/change_wait.h) and the test harness (tests/support/processes.h) use it.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace pdnsd {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;    // 0: no HTTP answer at all, see `error`
  std::string body;  // de-chunked, decompressed
  HttpHeaders headers;
  std::string error;  // transport error when status == 0
};

struct HttpClientTls {
  bool verify = true;   // check the server's certificate and name
  std::string ca_file;  // PEM file of the CAs to trust; empty: the system's
};

// `url` is "http(s)://host:port/path?query" (IPv6 hosts in brackets). One request per call, on a
// new connection. A body gets Content-Length; add a Content-Type header yourself (cpp-httplib
// defaults to text/plain). An IP address is not sent as TLS server name (RFC 6066 section 3).
HttpResponse HttpCall(const std::string& method, const std::string& url, const HttpHeaders& headers,
                      const std::string& body, std::chrono::milliseconds timeout,
                      const HttpClientTls& tls);

}  // namespace pdnsd
