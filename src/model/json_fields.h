// Field readers for the JSON bodies on the bus, so every decoder reports problems alike
// ("missing field \"zone\"", "field \"only_soa\" is not a boolean"), and the one encoder every
// JSON body goes through. Only for .cc files that read or write JSON: it pulls in nlohmann::json.
#pragma once

#include <cstdint>
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

// A required unsigned integer field of at most `max` (a JSON number without sign, fraction or
// exponent); negative, fractional, too large or absent is InvalidArgument naming the field.
Status ReadUintField(const nlohmann::json& doc, const char* field, uint64_t max, uint64_t* out);

// Encodes `doc` (compact, or pretty with `indent` spaces). Never throws: invalid UTF-8 in a
// string (a peer's text, say PowerDNS's error answer) becomes U+FFFD. nlohmann::json's plain
// dump() throws type_error 316 instead, which on a worker thread ends the process.
std::string EncodeJson(const nlohmann::json& doc, int indent = -1);

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a UTF-8
// sequence, so that cutting a peer's text keeps it valid UTF-8 if it was.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

}  // namespace pdnsd
