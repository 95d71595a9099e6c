// The checks of a submission that no instrument decides: its ids, the size of its answers,
// its progress and its times. Run on every submission and CSV row before the roster is asked.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_SUBMISSION_CHECKS_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_SUBMISSION_CHECKS_H_

#include <cstddef>
#include <vector>

#include "absl/time/time.h"
#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {

// The limits documented on Submission in survey_ingest.proto.
inline constexpr size_t kMaxSubmissionIdBytes = 128;
inline constexpr size_t kMaxAnswers = 1000;
inline constexpr size_t kMaxAnswerBytes = 10000;
// How far ahead of the service's clock a submission may say it was submitted. What is refused
// is a date that cannot be true — a mistyped year, seconds read as milliseconds — not a date
// days or weeks ahead: partners' clocks are set wrong, and a rehearsal or demo on the simulated
// clock imports a whole wave's answers before the clock has reached them.
inline constexpr absl::Duration kMaxFuture = absl::Hours(24 * 366);

// Every problem of `s` (field, reason and the value as sent: quote it short before showing it),
// `now` being the service's time of receipt. Empty when none.
std::vector<FieldError> CheckSubmission(const fieldwork::v1::Submission& s, absl::Time now);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_SUBMISSION_CHECKS_H_
