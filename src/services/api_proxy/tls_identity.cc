#include "services/api_proxy/tls_identity.h"

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace pdnsd {
namespace {

bool Readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// False only when nothing is there (a file that exists but cannot be looked at counts).
bool Exists(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 || errno != ENOENT;
}

std::string Cause() { return std::strerror(errno); }

Status WriteSelfSigned(const std::string& cert_file, const std::string& key_file) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) return Status::Internal("cannot generate an EC key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("pdns-api-proxy"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> san(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"),
      X509_EXTENSION_free);
  if (!san || !X509_add_ext(cert.get(), san.get(), -1)) return Status::Internal("cannot add SAN");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    return Status::Internal("cannot sign certificate");

  // The key is created with mode 0600 from the start: never readable by others, not even briefly.
  const int key_fd = open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (key_fd < 0) return Status::Unavailable("cannot create " + key_file + ": " + Cause());
  fchmod(key_fd, 0600);
  FILE* key_out = fdopen(key_fd, "w");
  const bool key_ok = key_out && PEM_write_PrivateKey(key_out, key.get(), nullptr, nullptr, 0,
                                                      nullptr, nullptr) == 1;
  if (key_out) fclose(key_out);
  if (!key_ok) return Status::Unavailable("cannot write " + key_file);

  FILE* cert_out = fopen(cert_file.c_str(), "w");
  if (cert_out == nullptr) {
    return Status::Unavailable("cannot create " + cert_file + ": " + Cause());
  }
  const bool cert_ok = PEM_write_X509(cert_out, cert.get()) == 1;
  fclose(cert_out);
  if (!cert_ok) return Status::Unavailable("cannot write " + cert_file);
  return Status::Ok();
}

}  // namespace

StatusOr<TlsIdentity> EnsureTlsIdentity(const std::string& cert_file, const std::string& key_file,
                                        const std::string& state_dir) {
  if (!cert_file.empty() || !key_file.empty()) {
    const bool have_cert = Exists(cert_file), have_key = Exists(key_file);
    if (!have_cert && !have_key) {  // first start: the original generates the pair there too
      if (Status s = WriteSelfSigned(cert_file, key_file); !s.ok()) return s;
      return TlsIdentity{cert_file, key_file, true};
    }
    if (have_cert != have_key) {
      const std::string& missing = have_cert ? key_file : cert_file;
      const std::string& present = have_cert ? cert_file : key_file;
      return Status::InvalidArgument(
          "[Service] " + std::string(have_cert ? "Key " : "Cert ") + missing +
          " does not exist but " + present +
          " does: give both files, or neither to have a new pair generated");
    }
    if (!Readable(cert_file)) {
      return Status::InvalidArgument("cannot read certificate " + cert_file + ": " + Cause());
    }
    if (!Readable(key_file)) {
      return Status::InvalidArgument("cannot read key " + key_file + ": " + Cause());
    }
    return TlsIdentity{cert_file, key_file, false};
  }
  TlsIdentity identity{state_dir + "/api-proxy.crt", state_dir + "/api-proxy.key", false};
  if (Readable(identity.cert_file) && Readable(identity.key_file)) return identity;
  if (mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Unavailable("cannot create state directory " + state_dir);
  }
  if (Status s = WriteSelfSigned(identity.cert_file, identity.key_file); !s.ok()) return s;
  identity.generated = true;
  return identity;
}

}  // namespace pdnsd
