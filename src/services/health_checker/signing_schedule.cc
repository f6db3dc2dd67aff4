#include "services/health_checker/signing_schedule.h"

#include <cstdint>

namespace pdnsd {

std::chrono::system_clock::time_point NextSigningSync(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const sys_days today = floor<days>(now);  // floor, not truncation: correct before 1970 too
  // weekday subtraction is modulo 7, in [0, 6]: days from today to the coming Thursday.
  const days to_thursday = Thursday - weekday(today);
  system_clock::time_point next = today + to_thursday + hours(1);
  if (next <= now) next += weeks(1);
  return next;
}

std::chrono::milliseconds SpreadOffset(size_t index, size_t count,
                                       std::chrono::milliseconds window) {
  if (count == 0 || window.count() <= 0) return std::chrono::milliseconds(0);
  // index * window / count without overflowing index * window:
  // window = q * count + r, so index * window / count = index * q + index * r / count.
  const uint64_t w = static_cast<uint64_t>(window.count());
  const uint64_t n = count;
  const uint64_t i = index;
  const uint64_t q = w / n;
  const uint64_t r = w % n;
  return std::chrono::milliseconds(static_cast<int64_t>(i * q + i * r / n));
}

}  // namespace pdnsd
