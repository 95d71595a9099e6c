// The rule that decides which of a participant's responses to one wave counts.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_RESPONSE_SELECTION_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_RESPONSE_SELECTION_H_

#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fieldwork::survey_ingest {

enum class CountingRule {
  kFirstComplete,  // the earliest complete response counts; later ones are kept as history
  kLastComplete,   // the latest complete response counts (a correction replaces the original)
};

// "first_complete" / "last_complete": the protocol-file spelling.
absl::string_view CountingRuleName(CountingRule rule);
absl::StatusOr<CountingRule> ParseCountingRule(absl::string_view name);

// One response by one participant to one wave, as far as the rule is concerned.
struct ResponseCandidate {
  std::string submission_id;
  absl::Time submitted;   // when the respondent finished (EndDate, else RecordedDate, else
                          // the time it was received)
  bool complete = false;  // finished, not partial, and valid
};

// The index in `candidates` of the response that counts: among the complete ones, the
// first or the last by `submitted`, ties broken by submission_id (so the choice never depends
// on the order responses arrived in). nullopt when none is complete: a partial response never
// counts in place of a complete one, and with no complete response the participant has not
// responded to the wave.
std::optional<size_t> SelectCountingResponse(std::span<const ResponseCandidate> candidates,
                                             CountingRule rule);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_RESPONSE_SELECTION_H_
