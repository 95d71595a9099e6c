#include "services/randomisation/engine/ids.h"

#include "absl/strings/str_cat.h"
#include "services/common/quote.h"

namespace fieldwork::randomisation {

bool ValidTrialId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxTrialIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool ValidParticipantId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxParticipantIdLength) return false;
  // The same alphabet the messaging service accepts in its keys and links.
  for (char c : id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

absl::Status CheckTrialId(absl::string_view id) {
  if (ValidTrialId(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "trial_id: must be 1-", kMaxTrialIdLength, " characters of a-z, 0-9 and '-' (got ",
      Excerpt(id), ")"));
}

absl::Status CheckParticipantId(absl::string_view id, absl::string_view field) {
  if (ValidParticipantId(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": must be 1-", kMaxParticipantIdLength,
      " characters of A-Z, a-z, 0-9, '.', '_' or '-' (got ", Excerpt(id), ")"));
}

}  // namespace fieldwork::randomisation
