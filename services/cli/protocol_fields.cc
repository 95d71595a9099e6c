#include "services/cli/protocol_fields.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace fieldwork::cli {

[[noreturn]] void Fail(const std::string& field, const std::string& reason) {
  throw ProtocolError{field, reason};
}

// Every key of a map must be one the format knows: a misspelt key ("reminders:" for
// "reminder:") would otherwise be silently ignored and change what the trial does.
void CheckKeys(const YAML::Node& node, const std::string& at, std::initializer_list<const char*> known) {
  if (!node || !node.IsMap()) return;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>("");
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) {
      std::string list;
      for (const char* k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", k);
      Fail(at.empty() ? key : at + "." + key, absl::StrCat("is not a known key (", list, ")"));
    }
  }
}

void RequireMap(const YAML::Node& node, const std::string& at) {
  if (node && !node.IsMap()) Fail(at, "must be a map of key: value");
}

void RequireList(const YAML::Node& node, const std::string& at) {
  if (node && !node.IsSequence()) Fail(at, "must be a list");
}

std::string Scalar(const YAML::Node& node, const std::string& field, bool required) {
  if (!node) {
    if (required) Fail(field, "is required");
    return "";
  }
  if (!node.IsScalar()) Fail(field, "must be a single value");
  return node.as<std::string>();
}

int64_t Integer(const YAML::Node& node, const std::string& field, int64_t fallback) {
  if (!node) return fallback;
  try {
    return node.as<int64_t>();
  } catch (const YAML::Exception&) {
    Fail(field, absl::StrCat("must be a whole number, got \"", node.as<std::string>(""), "\""));
  }
}

double Number(const YAML::Node& node, const std::string& field, double fallback) {
  if (!node) return fallback;
  try {
    return node.as<double>();
  } catch (const YAML::Exception&) {
    Fail(field, absl::StrCat("must be a number, got \"", node.as<std::string>(""), "\""));
  }
}

bool Boolean(const YAML::Node& node, const std::string& field) {
  if (!node) return false;
  try {
    return node.as<bool>();
  } catch (const YAML::Exception&) {
    Fail(field, "must be true or false");
  }
}

std::vector<std::string> Strings(const YAML::Node& node, const std::string& field) {
  std::vector<std::string> values;
  if (!node) return values;
  if (!node.IsSequence()) Fail(field, "must be a list");
  for (size_t i = 0; i < node.size(); ++i) values.push_back(Scalar(node[i], absl::StrCat(field, "[", i, "]")));
  return values;
}

google::protobuf::Timestamp Time(const YAML::Node& node, const std::string& field) {
  const std::string text = Scalar(node, field);
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    Fail(field, absl::StrCat("\"", text, "\" is not an RFC 3339 time such as 2021-01-04T09:00:00Z"));
  }
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

google::protobuf::Duration Duration(const YAML::Node& node, const std::string& field) {
  const std::string text = Scalar(node, field);
  auto bad = [&]() {
    Fail(field, absl::StrCat("\"", text, "\" is not a duration such as 7d, 36h, 1w, 1d12h or 0"));
  };
  int64_t seconds = 0;
  if (text != "0") {
    size_t i = 0;
    if (text.empty()) bad();
    while (i < text.size()) {
      size_t digits = i;
      while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
      if (digits == i || digits == text.size() || digits - i > 9) bad();
      const int64_t n = std::stoll(text.substr(i, digits - i));
      switch (text[digits]) {
        case 'w': seconds += n * 7 * 86400; break;
        case 'd': seconds += n * 86400; break;
        case 'h': seconds += n * 3600; break;
        case 'm': seconds += n * 60; break;
        case 's': seconds += n; break;
        default: bad();
      }
      i = digits + 1;
    }
  }
  google::protobuf::Duration duration;
  duration.set_seconds(seconds);
  return duration;
}

size_t OneOf(const YAML::Node& node, const std::string& field, const std::vector<std::string>& names) {
  const std::string value = Scalar(node, field);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == value) return i;
  }
  Fail(field, absl::StrCat("\"", value, "\" must be one of ", absl::StrJoin(names, ", ")));
}

}  // namespace fieldwork::cli
