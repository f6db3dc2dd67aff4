#include "services/health_checker/check_rules.h"

namespace pdnsd {

bool NeedsNsec3Param(const std::string& nsec3param, bool narrow) {
  return nsec3param != kWantedNsec3Param || narrow;
}

bool SignatureExpiresSoon(int64_t rrsig_expiration, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds window) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  if (rrsig_expiration == 0) return false;
  const int64_t limit = duration_cast<seconds>(now.time_since_epoch()).count() +
                        duration_cast<seconds>(window).count();
  return rrsig_expiration < limit;
}

bool PrimaryAnswerUsable(size_t listed, size_t unreadable) {
  return listed == 0 || unreadable * 10 <= listed;
}

}  // namespace pdnsd
