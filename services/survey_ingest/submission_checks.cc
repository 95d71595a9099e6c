#include "services/survey_ingest/submission_checks.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/quote.h"
#include "services/survey_ingest/domain/number_format.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;

// google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

// With the fraction of a second, so that a refused time is quoted exactly as it was sent.
std::string ExactTimeText(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

// The time `t` stands for, or an error when it stands for none.
std::optional<absl::Time> CheckTime(const google::protobuf::Timestamp& t, const char* field,
                                    std::vector<FieldError>& errors) {
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    errors.push_back({field, "nanos must be 0 to 999999999", absl::StrCat(t.nanos())});
    return std::nullopt;
  }
  if (t.seconds() < kMinSeconds || t.seconds() > kMaxSeconds) {
    errors.push_back({field, "outside the years 1 to 9999", absl::StrCat(t.seconds())});
    return std::nullopt;
  }
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Ids the randomisation service accepts (and survey-ingest keys on): 1-128 of A-Z a-z 0-9 . _ -
bool IsParticipantId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool HasControl(const std::string& text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return true;
  }
  return false;
}

// The shape of an online experiment's decisions; whether their items belong to the
// instrument is the Ingestor's to check.
void CheckDecisions(const v1::Submission& s, std::vector<FieldError>& errors) {
  if (static_cast<size_t>(s.decisions_size()) > kMaxAnswers) {
    errors.push_back({"decisions", absl::StrCat("more than ", kMaxAnswers, " decisions"),
                      absl::StrCat(s.decisions_size())});
    return;
  }
  std::set<std::string> items;
  std::set<std::pair<std::string, int>> places;
  for (const v1::Decision& d : s.decisions()) {
    const std::string at = absl::StrCat("decisions[", d.block(), " ", d.index(), "]");
    std::vector<const std::string*> texts = {&d.block(), &d.item_id(), &d.stimulus(),
                                             &d.stimulus_text()};
    for (const auto& [name, value] : d.attributes()) {
      texts.push_back(&name);
      texts.push_back(&value);
    }
    for (const std::string* text : texts) {
      if (text->size() > kMaxAnswerBytes || !IsUtf8(*text)) {
        errors.push_back({at, absl::StrCat("a text longer than ", kMaxAnswerBytes,
                                           " bytes or not UTF-8"), *text});
      }
    }
    if (d.index() < 1) errors.push_back({at, "index must be 1 or more", absl::StrCat(d.index())});
    if (d.item_id().empty()) errors.push_back({at, "item_id is required", ""});
    if (!d.item_id().empty() && !items.insert(d.item_id()).second) {
      errors.push_back({at, "item_id is named by another decision", d.item_id()});
    }
    if (!places.emplace(d.block(), d.index()).second) {
      errors.push_back({at, "another decision has this block and index", absl::StrCat(d.index())});
    }
  }
}

}  // namespace

std::vector<FieldError> CheckSubmission(const v1::Submission& s, absl::Time now) {
  std::vector<FieldError> errors;
  if (!s.participant_id().empty() && !IsParticipantId(s.participant_id())) {
    errors.push_back({"participant_id",
                      "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
                      s.participant_id()});
  }
  if (s.submission_id().size() > kMaxSubmissionIdBytes) {
    errors.push_back({"submission_id", absl::StrCat("longer than ", kMaxSubmissionIdBytes, " bytes"),
                      s.submission_id()});
  } else if (!IsUtf8(s.submission_id()) || HasControl(s.submission_id())) {
    errors.push_back({"submission_id", "holds control characters or bytes that are not UTF-8",
                      s.submission_id()});
  }
  if (static_cast<size_t>(s.answers_size()) > kMaxAnswers) {
    errors.push_back({"answers", absl::StrCat("more than ", kMaxAnswers, " answers"),
                      absl::StrCat(s.answers_size())});
  }
  for (const auto& [item, answer] : s.answers()) {
    if (answer.size() > kMaxAnswerBytes) {
      errors.push_back({item, absl::StrCat("answer longer than ", kMaxAnswerBytes, " bytes"),
                        answer});
    } else if (!IsUtf8(answer)) {
      errors.push_back({item, "answer is not UTF-8 text", answer});
    }
  }
  CheckDecisions(s, errors);
  const double progress = s.progress();
  if (std::isnan(progress)) {
    errors.push_back({"progress", "not a number", FormatNumber(progress)});
  } else if (progress < 0 || progress > 100) {
    errors.push_back({"progress", "must be 0 to 100 (percent)", FormatNumber(progress)});
  }
  std::optional<absl::Time> started, submitted;
  if (s.has_started_at()) started = CheckTime(s.started_at(), "started_at", errors);
  if (s.has_submitted_at()) submitted = CheckTime(s.submitted_at(), "submitted_at", errors);
  if (submitted.has_value() && *submitted > now + kMaxFuture) {
    errors.push_back({"submitted_at",
                      absl::StrCat("more than a year in the future (the service's time is ", ExactTimeText(now), ")"),
                      ExactTimeText(*submitted)});
  }
  if (started.has_value() && (submitted.has_value() || !s.has_submitted_at())) {
    const absl::Time end = submitted.value_or(now);
    if (*started > end) {
      errors.push_back({"started_at",
                        absl::StrCat(submitted.has_value() ? "after submitted_at " : "after its receipt at ",
                                     ExactTimeText(end)),
                        ExactTimeText(*started)});
    }
  }
  return errors;
}

}  // namespace fieldwork::survey_ingest
