// The proxy's TLS pair: configured paths that do not exist yet are generated there at first
// start and reused afterwards, as the original does (docs/configuration.md, pdns-api-proxy).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "services/api_proxy/tls_identity.h"
#include "support/processes.h"

namespace pdnsd {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

TEST(TlsIdentity, ConfiguredPathsThatDoNotExistAreGeneratedOnceWithKeyMode0600) {
  TempDir dir;
  const std::string cert = dir.File("cert.pem"), key = dir.File("key.pem");
  auto first = EnsureTlsIdentity(cert, key, dir.File("unused-state"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->cert_file, cert);
  EXPECT_EQ(first->key_file, key);
  struct stat key_stat {};
  ASSERT_EQ(stat(key.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  const std::string pem = ReadFile(cert);
  EXPECT_NE(pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(ReadFile(key).find("PRIVATE KEY"), std::string::npos);
  struct stat state_stat {};
  EXPECT_NE(stat(dir.File("unused-state").c_str(), &state_stat), 0) << "StateDir is not used";

  auto again = EnsureTlsIdentity(cert, key, dir.File("unused-state"));  // a restart
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->generated);
  EXPECT_EQ(ReadFile(cert), pem) << "the pair must be reused";
}

TEST(TlsIdentity, OnlyOneOfTheTwoFilesExistingIsAClearError) {
  TempDir dir;
  const std::string cert = dir.File("cert.pem"), key = dir.File("key.pem");
  ASSERT_TRUE(WriteFile(cert, "x").ok());
  auto identity = EnsureTlsIdentity(cert, key, dir.path());
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().message(),
            "[Service] Key " + key + " does not exist but " + cert +
                " does: give both files, or neither to have a new pair generated");
  EXPECT_EQ(ReadFile(cert), "x") << "an existing file is never overwritten";
}

TEST(TlsIdentity, ExistingButUnreadableFilesAreAClearError) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.File("file"), "x").ok());
  // Below a regular file: there is something, but it cannot be read (also as root).
  const std::string cert = dir.File("file/cert.pem"), key = dir.File("file/key.pem");
  auto identity = EnsureTlsIdentity(cert, key, dir.path());
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().message(), "cannot read certificate " + cert + ": Not a directory");
}

TEST(TlsIdentity, ADirectoryThatDoesNotExistIsNamed) {
  TempDir dir;
  const std::string key = dir.File("missing/key.pem");
  auto identity = EnsureTlsIdentity(dir.File("missing/cert.pem"), key, dir.path());
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().message(), "cannot create " + key + ": No such file or directory");
}

}  // namespace
}  // namespace pdnsd
