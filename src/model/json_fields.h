// Field readers for the JSON bodies on the bus, so every decoder reports problems alike
// ("missing field \"zone\"", "field \"only_soa\" is not a boolean"). Only for .cc files that
// decode messages: it pulls in nlohmann::json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pdnsd {

// Malformed JSON or a body that is not an object: InvalidArgument.
StatusOr<nlohmann::json> ParseJsonObject(std::string_view text);

// A string field; absent or null is an error only when `required`.
Status ReadStringField(const nlohmann::json& doc, const char* field, bool required,
                       std::string* out);

// An optional boolean field (absent or null keeps *out).
Status ReadBoolField(const nlohmann::json& doc, const char* field, bool* out);

}  // namespace pdnsd
