// Raw sockets for tests that act as a hostile or slow client: malformed or partial messages,
// idle connections, a half-sent length prefix. Well-formed DNS and HTTP go through the
// product's clients (dns/soa_query.h, dns/axfr_client.h) and HttpCall (support/processes.h).
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>

#include "core/net.h"

namespace pdnsd::testing {

// A blocking socket (SOCK_STREAM or SOCK_DGRAM) connected to `server`, with a 5 s receive
// timeout; -1 on failure. The caller closes it.
int ConnectRaw(const HostPort& server, int type = SOCK_STREAM);
// The same from the local address `source` ("127.0.0.2": any of 127.0.0.0/8 works on Linux
// loopback), for tests that play a client at another address.
int ConnectRawFrom(const HostPort& server, const std::string& source, int type = SOCK_STREAM);

// Sends all of `data` in one send(); false when fewer bytes went out.
bool SendBytes(int fd, const std::string& data);

// `message` behind its two-octet length prefix (RFC 1035 4.2.2), to be sent as is or cut short.
std::string Framed(const std::string& message);

// One length-prefixed message (dnswire::ReadTcpMessage, 5 s); nullopt on EOF, error or timeout.
std::optional<std::string> RecvFramed(int fd);

// One UDP datagram `query` from the local address `source` and the datagram that answers it
// (5 s); nullopt when nothing came back.
std::optional<std::string> UdpExchange(const HostPort& server, const std::string& source,
                                       const std::string& query);

// True when the peer closed the connection (recv returns 0) within the receive timeout.
bool PeerClosed(int fd);

}  // namespace pdnsd::testing
