#include "model/subjects.h"

#include "model/zone_name.h"

namespace pdnsd {

std::string PeerSubject(std::string_view prefix, std::string_view id) {
  std::string subject(prefix);
  if (!subject.empty() && subject.back() != '.') subject += '.';
  subject += id;
  return subject;
}

bool IsValidSubject(std::string_view subject) {
  size_t start = 0;
  while (true) {
    const size_t dot = subject.find('.', start);
    const std::string_view token =
        subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!IsValidSubjectToken(token)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace pdnsd
