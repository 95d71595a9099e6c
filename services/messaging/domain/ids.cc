#include "services/messaging/domain/ids.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fieldwork::messaging {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

bool IsValidId(absl::string_view id) {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), IsIdChar);
}

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", id.size(), " characters, more than the limit of ", kMaxIdLength));
  }
  auto bad = std::find_if_not(id.begin(), id.end(), IsIdChar);
  if (bad != id.end()) {
    size_t at = static_cast<size_t>(bad - id.begin());
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": character ", at + 1,
                     " is not allowed (ids use only letters, digits, '.', '_' and '-')"));
  }
  return absl::OkStatus();
}

}  // namespace fieldwork::messaging
