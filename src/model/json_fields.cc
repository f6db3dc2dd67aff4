#include "model/json_fields.h"

namespace pdnsd {

using nlohmann::json;

StatusOr<json> ParseJsonObject(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("malformed JSON");
  if (!doc.is_object()) return Status::InvalidArgument("JSON body is not an object");
  return doc;
}

Status ReadStringField(const json& doc, const char* field, bool required, std::string* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string("missing field \"") + field + "\"");
    return Status::Ok();
  }
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("field \"") + field + "\" is not a string");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadBoolField(const json& doc, const char* field, bool* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) {
    return Status::InvalidArgument(std::string("field \"") + field + "\" is not a boolean");
  }
  *out = it->get<bool>();
  return Status::Ok();
}

Status ReadUintField(const json& doc, const char* field, uint64_t max, uint64_t* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) {
    return Status::InvalidArgument(std::string("missing field \"") + field + "\"");
  }
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    return Status::InvalidArgument(std::string("field \"") + field +
                                   "\" is not an integer from 0 to " + std::to_string(max));
  }
  *out = it->get<uint64_t>();
  return Status::Ok();
}

std::string EncodeJson(const json& doc, int indent) {
  return doc.dump(indent, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  // text[end] is the first byte left out; while it continues a sequence (10xxxxxx), the cut is
  // inside that sequence: move it back to before the sequence's lead byte (at most 3 steps, so
  // that text which is not UTF-8 is still cut near max_bytes).
  size_t end = max_bytes;
  for (int steps = 0; steps < 3 && end > 0; ++steps) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80) break;
    --end;
  }
  return std::string(text.substr(0, end));
}

}  // namespace pdnsd
