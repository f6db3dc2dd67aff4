// HttpListener: one HTTP(S) server bound to one address, on libmicrohttpd.
//
// Every HTTP endpoint of the services (the api-proxy, the metrics endpoints, the health-checker's
// status page) is served through this. The connection model (docs/architecture.md, "HTTP
// listeners: connection model"): one epoll thread owns every socket, idle or not, so an idle
// keep-alive connection or a stalled TLS handshake costs a socket and a small buffer, never a
// thread. A complete request is handed to a pool of `workers` threads (its connection suspended
// meanwhile), so a handler that waits (the proxy waits for PowerDNS) never holds up the others.
//
// Limits (HttpListenerOptions) hold whatever the framing: the body limit counts de-chunked bytes
// of Content-Length, chunked and length-less bodies alike. A body over the limit: 413 with a JSON
// body and Connection: close. With Content-Length it is refused before any body byte is read;
// a chunked one is read on and discarded (libmicrohttpd 0.9.75 cannot answer mid-upload) up to
// `max_discarded_bytes`, then the connection is closed without an answer.
//
// The bind is our own (SO_REUSEADDR only, never SO_REUSEPORT), so Start() fails with "address
// already in use" while any other socket listens there (docs/stack-notes.md).
//
// Threads: the epoll thread, the worker pool and, with TLS, the accept thread that tells TLS
// from plain HTTP by the first byte. Start() and Stop() are called from one thread; handlers run
// on the workers, concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/http_server.h"
#include "core/logging.h"
#include "core/net.h"
#include "core/status.h"

namespace pdnsd {

struct HttpTlsOptions {
  std::string cert_pem;  // the certificate chain, PEM
  std::string key_pem;   // its private key, PEM
  // GnuTLS priority string: TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy.
  std::string priorities =
      "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305:"
      "+AES-256-GCM:+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
      // X25519 first: the key share OpenSSL and curl clients send, so no HelloRetryRequest.
      "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE";
};

struct HttpListenerOptions {
  std::string what = "HTTP listener";  // names the endpoint in errors and logs
  // Request line plus header lines, and the number of header lines: over either, 431 (a
  // request target over max_target_bytes: 414). libmicrohttpd's own buffer per connection is
  // about twice max_header_bytes: past it, it answers 431 itself.
  size_t max_header_bytes = 16 * 1024;
  size_t max_headers = 100;
  size_t max_target_bytes = 8 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  std::string max_body_name;  // the setting behind max_body_bytes, named in the 413 ("" none)
  // Of a chunked body over the limit, read and discarded before the connection is closed
  // without an answer (see the header comment).
  uint64_t max_discarded_bytes = uint64_t{2} << 30;
  // From accept until a request's headers (with TLS: the first byte, then the handshake):
  // a client that sends nothing for this long is disconnected.
  std::chrono::seconds header_timeout{10};
  // A keep-alive connection without activity for this long is closed.
  std::chrono::seconds idle_timeout{30};
  unsigned max_connections = 8192;
  unsigned max_connections_per_client = 256;  // per client IP address
  int workers = 2;
  size_t max_queued_requests = 1024;  // waiting for a worker; more: 503
  std::optional<HttpTlsOptions> tls;
  // Called (on the epoll thread; keep it short) for each request the listener refuses itself:
  // 413, 414, 431, 503. The request has its method, target, path, headers and client address.
  std::function<void(const HttpRequest&, int status, const std::string& message)> on_refused;
};

class HttpListener {
 public:
  // REQUIRES: routes' handlers outlive the listener's Stop().
  HttpListener(HttpListenerOptions options, HttpRoutes routes, Logger logger);
  ~HttpListener();  // calls Stop()
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds `listen` (port 0: any free port) and serves. A port in use: Unavailable "cannot
  // listen for <what> on <address>: address already in use". Bad TLS material: InvalidArgument.
  // REQUIRES: not started yet.
  Status Start(const HostPort& listen);
  // Stops accepting, answers requests still waiting for a worker with 503, waits for the
  // running handlers, closes every connection and joins the threads. Idempotent.
  void Stop();
  // The bound address (after a successful Start()).
  HostPort address() const { return bound_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  HostPort bound_;
};

// What the TLS accept thread does with a new connection, from the bytes it has peeked: a TLS
// connection starts with a handshake record (first byte 0x16, then version, then a 2-octet
// length); libmicrohttpd gets it only once that whole first record (the ClientHello) has
// arrived, because it polls a half-received handshake in a busy loop. Any other first byte is
// a client speaking plain HTTP to the HTTPS port.
enum class FirstBytesVerdict {
  kClosed,       // nothing peeked: the client closed (or the peek failed)
  kWaitForMore,  // a TLS record header, but not the whole record yet
  kTls,          // hand the connection to libmicrohttpd
  kPlainHttp,    // answer the plain-HTTP 400
};
// `peeked`: the first `peeked_length` (0-5) bytes the client sent (MSG_PEEK);
// `available`: how many bytes are waiting in all (FIONREAD), or nullopt when that is unknown
// (then a complete record header counts as the whole record). Pure; any input is valid.
FirstBytesVerdict ClassifyFirstBytes(const unsigned char* peeked, size_t peeked_length,
                                     std::optional<size_t> available);

// Raises this process's soft limit of open files to its hard limit (idempotent): a listener
// holding thousands of idle connections needs more than the usual 1,024.
void RaiseOpenFileLimit();

}  // namespace pdnsd
