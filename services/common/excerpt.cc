#include "services/common/excerpt.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {

std::string Excerpt(absl::string_view value) {
  if (value.size() <= kExcerptBytes) return absl::StrCat("\"", absl::CHexEscape(value), "\"");
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kExcerptBytes)), "\"... (",
                      value.size(), " bytes)");
}

}  // namespace fieldwork
