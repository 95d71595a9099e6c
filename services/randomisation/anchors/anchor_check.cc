#include "services/randomisation/anchors/anchor_check.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::AnchorCheck;
using fieldwork::v1::AuditEntry;
using fieldwork::v1::AuditHead;

// "an anchor recorded at 2026-12-03T23:40:00Z" or "an anchor" when it carries no time.
std::string Described(const AuditHead& anchor) {
  if (!anchor.has_time()) return "an anchor";
  return absl::StrCat("an anchor recorded at ",
                      google::protobuf::util::TimeUtil::ToString(anchor.time()));
}

}  // namespace

bool IsSha256Hex(absl::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

absl::Status ValidateAnchors(const google::protobuf::RepeatedPtrField<AuditHead>& anchors) {
  if (anchors.size() > kMaxAnchors) {
    return absl::InvalidArgumentError(
        absl::StrCat("anchors: at most ", kMaxAnchors, " per request, got ", anchors.size()));
  }
  for (int i = 0; i < anchors.size(); ++i) {
    const AuditHead& anchor = anchors[i];
    if (anchor.length() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "anchors[", i,
          "].length: must be at least 1 (a trial's log starts with its creation), got ",
          anchor.length()));
    }
    if (!IsSha256Hex(anchor.sha256())) {
      return absl::InvalidArgumentError(
          absl::StrCat("anchors[", i, "].sha256: must be 64 lower-case hex digits (got \"",
                       anchor.sha256(), "\")"));
    }
  }
  return absl::OkStatus();
}

AuditHead HeadOf(const std::vector<AuditEntry>& entries) {
  AuditHead head;
  head.set_length(static_cast<int64_t>(entries.size()));
  if (!entries.empty()) {
    head.set_sha256(entries.back().hash());
    *head.mutable_time() = entries.back().time();
  }
  return head;
}

void CheckAnchors(const std::vector<AuditEntry>& entries,
                  const google::protobuf::RepeatedPtrField<AuditHead>& anchors,
                  fieldwork::v1::VerifyAuditLogResponse& result) {
  *result.mutable_head() = HeadOf(entries);
  const auto length = static_cast<int64_t>(entries.size());
  // Entries before this sequence passed the chain check.
  const int64_t verified =
      (result.valid() || result.first_bad_sequence() < 0) ? length : result.first_bad_sequence();
  int earliest_failure = -1;  // index into result.anchors
  int64_t earliest_bad_sequence = -1;
  for (const AuditHead& anchor : anchors) {
    AnchorCheck* check = result.add_anchors();
    *check->mutable_anchor() = anchor;
    int64_t bad_sequence = -1;
    if (anchor.length() > length) {
      check->set_result(AnchorCheck::RESULT_TRUNCATED);
      check->set_reason(absl::StrCat("the log has ", length, " entries but ", Described(anchor),
                                     " has ", anchor.length(), ": entries ", length, " to ",
                                     anchor.length() - 1, " were cut off or rolled back"));
      bad_sequence = length;
    } else if (const AuditEntry& entry = entries[static_cast<size_t>(anchor.length() - 1)];
               entry.hash() != anchor.sha256()) {
      check->set_result(AnchorCheck::RESULT_REWRITTEN);
      check->set_reason(absl::StrCat("entry ", anchor.length() - 1, " has hash ", entry.hash(),
                                     " but ", Described(anchor), " has ", anchor.sha256(),
                                     ": the log was rewritten at or before entry ",
                                     anchor.length() - 1));
      bad_sequence = anchor.length() - 1;
    } else if (verified < anchor.length()) {
      check->set_result(AnchorCheck::RESULT_REWRITTEN);
      check->set_reason(absl::StrCat("entry ", verified, ", before the length ", anchor.length(),
                                     " of ", Described(anchor),
                                     ", fails the chain: ", result.reason()));
      bad_sequence = verified;
    } else {
      check->set_result(AnchorCheck::RESULT_MATCHED);
      continue;
    }
    if (earliest_failure < 0 ||
        anchor.length() < result.anchors(earliest_failure).anchor().length()) {
      earliest_failure = result.anchors_size() - 1;
      earliest_bad_sequence = bad_sequence;
    }
  }
  if (result.valid() && earliest_failure >= 0) {
    result.set_valid(false);
    result.set_first_bad_sequence(earliest_bad_sequence);
    result.set_reason(result.anchors(earliest_failure).reason());
  }
}

}  // namespace fieldwork::randomisation
