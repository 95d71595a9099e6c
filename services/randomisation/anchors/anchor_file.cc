#include "services/randomisation/anchors/anchor_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "services/randomisation/anchors/anchor_check.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::AuditHead;
using google::protobuf::util::TimeUtil;

constexpr char kHeader[] =
    "# fieldwork audit anchors: RECORDED_AT TRIAL LENGTH SHA256 (docs/audit-anchors.md)\n";

}  // namespace

std::string DefaultAnchorPath(absl::string_view trial_id) {
  return absl::StrCat(trial_id, ".audit-anchors");
}

absl::StatusOr<std::vector<AuditHead>> ParseAnchors(absl::string_view text, absl::string_view path,
                                                    absl::string_view trial_id) {
  std::vector<AuditHead> anchors;
  std::vector<std::string> errors;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto error = [&](absl::string_view field, absl::string_view reason, absl::string_view value) {
      errors.push_back(
          absl::StrCat(path, ":", line_number, ": ", field, ": ", reason, " (\"", value, "\")"));
    };
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 4) {
      error(
          "line",
          absl::StrCat("has ", fields.size(), " fields; expected RECORDED_AT TRIAL LENGTH SHA256"),
          line);
      continue;
    }
    const size_t before = errors.size();
    AuditHead anchor;
    absl::Time recorded;
    std::string parse_error;
    if (!absl::ParseTime(absl::RFC3339_full, fields[0], &recorded, &parse_error)) {
      error("recorded_at", "is not an RFC 3339 time", fields[0]);
    } else {
      *anchor.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(recorded));
    }
    if (fields[1] != trial_id) {
      error("trial", absl::StrCat("the anchor is for another trial than \"", trial_id, "\""),
            fields[1]);
    }
    int64_t length = 0;
    if (!absl::SimpleAtoi(fields[2], &length) || length < 1) {
      error("length", "is not a positive whole number", fields[2]);
    }
    anchor.set_length(length);
    anchor.set_sha256(std::string(fields[3]));
    if (!IsSha256Hex(fields[3])) error("sha256", "is not 64 lower-case hex digits", fields[3]);
    if (errors.size() == before) anchors.push_back(std::move(anchor));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return anchors;
}

absl::StatusOr<std::vector<AuditHead>> ReadAnchorFile(const std::string& path,
                                                      absl::string_view trial_id) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path))
      return absl::NotFoundError(absl::StrCat(path, ": no such anchor file"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseAnchors(text.str(), path, trial_id);
}

std::string FormatAnchor(absl::string_view trial_id, const AuditHead& head) {
  const absl::Time recorded = absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(head.time()));
  return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", recorded, absl::UTCTimeZone()), " ",
                      trial_id, " ", head.length(), " ", head.sha256(), "\n");
}

absl::Status AppendAnchor(const std::string& path, absl::string_view trial_id,
                          const AuditHead& head) {
  std::error_code ignored;
  const bool fresh =
      !std::filesystem::exists(path) || std::filesystem::file_size(path, ignored) == 0;
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (fresh) out << kHeader;
  out << FormatAnchor(trial_id, head);
  out.flush();
  if (!out) return absl::UnavailableError(absl::StrCat(path, ": could not append the anchor"));
  return absl::OkStatus();
}

}  // namespace fieldwork::randomisation
