#include "core/http_client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>

#include "core/net.h"

namespace pdnsd {
namespace {

// cpp-httplib 0.11.4 names the host it connects to in the TLS server_name extension even when
// it is an IP address, which RFC 6066 3 forbids; GnuTLS (the api-proxy's TLS) refuses such a
// ClientHello ("::1": "received handshake message out of context"). curl, Go and Python send
// no server_name for an address; so does this client, cleared before the ClientHello is built.
void ClearAddressServerName(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0 || SSL_is_server(ssl)) return;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return;
  unsigned char address[sizeof(in6_addr)];
  if (inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1) {
    SSL_set_tlsext_host_name(const_cast<SSL*>(ssl), nullptr);
  }
}

}  // namespace

HttpResponse HttpCall(const std::string& method, const std::string& url, const HttpHeaders& headers,
                      const std::string& body, std::chrono::milliseconds timeout,
                      const HttpClientTls& tls) {
  HttpResponse response;
  auto parsed = ParseHttpUrl(url);
  if (!parsed.ok()) {
    response.error = parsed.status().ToString();
    return response;
  }
  httplib::Client client(parsed->Origin());
  client.enable_server_certificate_verification(tls.verify);
  if (!tls.ca_file.empty()) client.set_ca_cert_path(tls.ca_file.c_str());
  const auto seconds = timeout.count() / 1000;
  const auto micros = (timeout.count() % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  // As curl, Go's net/http and Python's urllib3 do. Without it a new TLS 1.3 connection to the
  // api-proxy waits ~40 ms for the proxy's delayed ACK before its request leaves: GnuTLS sends
  // nothing after the client's Finished (docs/stack-notes.md).
  client.set_tcp_nodelay(true);
  if (parsed->scheme == "https") {
    SSL_CTX_set_info_callback(client.ssl_context(), ClearAddressServerName);
  }
  httplib::Request request;
  request.method = method;
  request.path = parsed->path.empty() ? "/" : parsed->path;
  for (const auto& [name, value] : headers) request.headers.emplace(name, value);
  request.body = body;
  httplib::Result result = client.send(request);
  if (!result) {
    response.error = httplib::to_string(result.error());
    return response;
  }
  response.status = result->status;
  response.body = result->body;
  for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
  return response;
}

}  // namespace pdnsd
