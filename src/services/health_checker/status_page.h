// The health-checker's status page for people: one HTML document (status_page.html, compiled in
// by src/services/CMakeLists.txt) that draws the fleet from GET /status by itself.
#pragma once

#include <string_view>

namespace pdnsd {

std::string_view StatusPageHtml();

}  // namespace pdnsd
