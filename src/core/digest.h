// Digests: SHA-256 as lowercase hex (secondary IDs from host names, as the original derives
// them; content digests).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace pdnsd {

// SHA-256 of `text` as 64 lowercase hex digits ("" only if OpenSSL fails).
std::string Sha256Hex(std::string_view text);

// SHA-256 of a text given in pieces (a zone as its transfer arrives): Sha256Hex of the pieces
// joined, without holding them. Not thread-safe: one hasher per text.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view piece);
  // The digest of every piece given, as Sha256Hex; "" if OpenSSL failed. The hasher is spent:
  // later calls of Update() are ignored and FinishHex() returns "".
  std::string FinishHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
  bool failed_ = false;
};

}  // namespace pdnsd
