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

}  // namespace pdnsd
