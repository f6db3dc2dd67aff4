#include "core/digest.h"

#include <openssl/evp.h>

namespace pdnsd {
namespace {

std::string ToHex(const unsigned char* digest, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  return ToHex(digest, length);
}

struct Sha256Hasher::Context {
  struct Free {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> md;
};

Sha256Hasher::Sha256Hasher() : context_(std::make_unique<Context>()) {
  context_->md.reset(EVP_MD_CTX_new());
  failed_ = !context_->md || EVP_DigestInit_ex(context_->md.get(), EVP_sha256(), nullptr) != 1;
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::string_view piece) {
  if (failed_ || piece.empty()) return;
  failed_ = EVP_DigestUpdate(context_->md.get(), piece.data(), piece.size()) != 1;
}

std::string Sha256Hasher::FinishHex() {
  if (failed_) return "";
  failed_ = true;  // spent
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->md.get(), digest, &length) != 1) return "";
  return ToHex(digest, length);
}

}  // namespace pdnsd
