#include "absl/strings/str_cat.h"
#include "services/analysis/sources.h"

namespace fieldwork::analysis {

std::string TrialDataVersions(const Sources& sources, const std::string& trial) {
  std::string versions;
  auto add = [&](auto* source) {
    if (source == nullptr) return true;  // not configured: nothing of it to change
    absl::StatusOr<std::string> version = source->DataVersion(trial);
    if (!version.ok() || version->empty()) return false;
    absl::StrAppend(&versions, version->size(), ":", *version, "|");
    return true;
  };
  if (!add(sources.allocations) || !add(sources.responses) || !add(sources.outcomes) ||
      !add(sources.engagement)) {
    return "";
  }
  return versions;
}

}  // namespace fieldwork::analysis
