// GoogleTest assertions for a pdnsd::Status (or anything with ok() and ToString()):
//   PDNSD_ASSERT_OK(nats.Start(NatsOptions()));
// The only GoogleTest part of tests/support: the launchers and the cluster do not depend on it,
// so that the benchmark (bench/) links them without GoogleTest.
#pragma once

#include <gtest/gtest.h>

#include "core/status.h"

#define PDNSD_ASSERT_OK(expr)                                    \
  do {                                                           \
    const auto& pdnsd_status_ = (expr);                          \
    ASSERT_TRUE(pdnsd_status_.ok()) << pdnsd_status_.ToString(); \
  } while (0)
#define PDNSD_EXPECT_OK(expr)                                    \
  do {                                                           \
    const auto& pdnsd_status_ = (expr);                          \
    EXPECT_TRUE(pdnsd_status_.ok()) << pdnsd_status_.ToString(); \
  } while (0)

namespace pdnsd::testing {

// The status of a StatusOr, by value: PDNSD_ASSERT_OK binds a reference, and the status of a
// temporary StatusOr would dangle.
//   PDNSD_ASSERT_OK(StatusOf(bus));
template <typename T>
Status StatusOf(const StatusOr<T>& result) {
  return result.status();
}

}  // namespace pdnsd::testing
