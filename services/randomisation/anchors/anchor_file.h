// The anchor file: audit-log heads kept outside Redis, one per line, appended by
// `fieldwork audit anchor` and read by `fieldwork audit verify` and `fieldwork-replay`.
//
// Format (UTF-8 text; fields separated by spaces or tabs; blank lines and lines starting with
// '#' are ignored):
//   RECORDED_AT TRIAL LENGTH SHA256
//   2026-12-03T23:40:00Z beneficiaries 1234
//   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
// RECORDED_AT is when the head was read (RFC 3339, UTC); LENGTH the log's entries then; SHA256
// the newest entry's hash. docs/audit-anchors.md says where to keep the file.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ANCHORS_ANCHOR_FILE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ANCHORS_ANCHOR_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

// The default anchor file of a trial, in the current directory: "<trial>.audit-anchors".
std::string DefaultAnchorPath(absl::string_view trial_id);

// The anchors of `trial_id` in `text` (the file's contents; `path` names it in messages), each
// with time = RECORDED_AT. Every bad line is reported, one per line of the INVALID_ARGUMENT
// message: "PATH:LINE: FIELD: REASON (\"VALUE\")". A line for another trial is an error (the
// wrong file, most likely).
absl::StatusOr<std::vector<fieldwork::v1::AuditHead>> ParseAnchors(absl::string_view text,
                                                                   absl::string_view path,
                                                                   absl::string_view trial_id);

// ParseAnchors over the file at `path`; NOT_FOUND when it does not exist.
absl::StatusOr<std::vector<fieldwork::v1::AuditHead>> ReadAnchorFile(const std::string& path,
                                                                     absl::string_view trial_id);

// One line of the file (with its newline); `head.time` is RECORDED_AT.
std::string FormatAnchor(absl::string_view trial_id, const fieldwork::v1::AuditHead& head);

// Appends `head` to the file at `path`, creating it with a comment naming the format.
absl::Status AppendAnchor(const std::string& path, absl::string_view trial_id,
                          const fieldwork::v1::AuditHead& head);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ANCHORS_ANCHOR_FILE_H_
