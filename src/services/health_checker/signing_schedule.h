// Signing sync calendar (docs/architecture.md, "Signing sync"): pure UTC calendar math, no clock.
//
// NextSigningSync(now) is the first Thursday 01:00:00 UTC strictly after `now`: at exactly
// Thursday 01:00:00 the next one is a week later. SpreadOffset places item `index` of `count`
// (zone × secondary pairs) evenly over `window`, so a sync does not fire all at once.
#pragma once

#include <chrono>
#include <cstddef>

namespace pdnsd {

std::chrono::system_clock::time_point NextSigningSync(std::chrono::system_clock::time_point now);

// index * window / count, rounded down; 0 when count is 0 or window is not positive.
// REQUIRES: index < count for offsets inside the window (larger indices extrapolate linearly).
std::chrono::milliseconds SpreadOffset(size_t index, size_t count,
                                       std::chrono::milliseconds window);

}  // namespace pdnsd
