// Checks a trial's audit log against anchors: heads (length, hash) recorded outside Fieldwork.
// A hash chain shows that no entry was changed, removed or reordered, but a log cut back to an
// earlier head (a Redis rollback) is still a valid chain; only a head kept elsewhere shows it.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ANCHORS_ANCHOR_CHECK_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ANCHORS_ANCHOR_CHECK_H_

#include <vector>

#include <google/protobuf/repeated_field.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

// At most this many anchors per verification (each is a constant-time check, but a request
// should not be unbounded).
inline constexpr int kMaxAnchors = 10'000;

// 64 lower-case hex digits, as every hash of the audit log is written.
bool IsSha256Hex(absl::string_view text);

// INVALID_ARGUMENT naming the first bad anchor, e.g. "anchors[2].sha256: must be 64 lower-case
// hex digits (got \"xyz\")"; OK when every anchor has length >= 1 and a well-formed hash.
absl::Status ValidateAnchors(
    const google::protobuf::RepeatedPtrField<fieldwork::v1::AuditHead>& anchors);

// The head of `entries`: their number, and the newest entry's hash and time.
fieldwork::v1::AuditHead HeadOf(const std::vector<fieldwork::v1::AuditEntry>& entries);

// Sets result.head from `entries` and checks every anchor against them, appending one
// AnchorCheck per anchor to result.anchors. `result` holds the chain verification of
// `entries` (valid, first_bad_sequence): an entry before an anchor's length that failed it
// makes that anchor REWRITTEN. When the chain held and an anchor fails, result becomes invalid
// with the first_bad_sequence and reason of the failing anchor with the smallest length.
// Anchors must have passed ValidateAnchors.
void CheckAnchors(const std::vector<fieldwork::v1::AuditEntry>& entries,
                  const google::protobuf::RepeatedPtrField<fieldwork::v1::AuditHead>& anchors,
                  fieldwork::v1::VerifyAuditLogResponse& result);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ANCHORS_ANCHOR_CHECK_H_
